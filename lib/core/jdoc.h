/* SPDX-License-Identifier: Apache-2.0 */
/* A JSON document read in one pass into one arena: the fast reader. */
#ifndef PERISKOP_JDOC_H
#define PERISKOP_JDOC_H

#include <stddef.h>
#include <stdint.h>

/*
 * jansson builds a tree of separately allocated, reference-counted nodes
 * with a hash table per object; a scrape reads each document once, front
 * to back, and drops it.  This reader puts the whole document in a few
 * large blocks instead, freed at once.  It accepts exactly what jansson
 * (JSON_DECODE_ANY | JSON_ALLOW_NUL) accepts once invalid UTF-8 and half
 * surrogate pairs are read as U+FFFD, the way Go's decoder reads them,
 * except a raw NUL byte after a number, which jansson skips and JSON does
 * not allow: t/fuzz/fuzz_jdoc.c holds it to that.
 */

#define JDOC_MAX_DEPTH	2048	/* arrays and objects, as jansson's */

enum jtype {
	J_NULL,
	J_FALSE,
	J_TRUE,
	J_INT,		/* a number written without '.', 'e' or 'E' */
	J_REAL,
	J_STRING,
	J_ARRAY,
	J_OBJECT
};

struct jval {
	unsigned char	 type;		/* enum jtype */
	/* J_STRING: bytes; J_ARRAY: elements; J_OBJECT: members. */
	uint32_t	 n;
	union {
		int64_t		 i;
		double		 d;
		/* NUL-terminated; an escaped NUL inside is kept (n counts). */
		const char	*s;
		/* J_ARRAY: n values; J_OBJECT: n pairs of key, value. */
		const struct jval *v;
	} u;
};

struct jdoc;

/*
 * Reads len bytes of buf.  Returns a document the caller frees with
 * jdoc_free, or NULL with a message in err such as "not JSON at byte 21
 * (line 1, column 22): unexpected token near '}'", the byte being the
 * 0-based offset in buf where the bad token starts.  An object keeps one
 * member per key, where the first one stood, with the last one's value.
 */
struct jdoc		*jdoc_parse(const char *buf, size_t len, char *err,
			    size_t errlen);
/*
 * The same for the one value at the start of buf, which may go on after
 * it: *used is where the value and the white space after it end.
 */
struct jdoc		*jdoc_parse_prefix(const char *buf, size_t len,
			    size_t *used, char *err, size_t errlen);
void			 jdoc_free(struct jdoc *);
const struct jval	*jdoc_root(const struct jdoc *);

/* The member key of an object, or NULL (absent, or v not an object). */
const struct jval	*jval_get(const struct jval *v, const char *key);
/* "an object", "a string", "a number", ... for messages. */
const char		*jval_type_name(const struct jval *);

#define JVAL_IS_NUMBER(v)	((v)->type == J_INT || (v)->type == J_REAL)
#define JVAL_NUMBER(v)	((v)->type == J_INT ? (double)(v)->u.i : (v)->u.d)

#endif
