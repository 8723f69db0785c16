/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A YAML document as a tree of nulls, strings, sequences and mappings,
 * each node with where it starts: what the configuration and file_sd
 * read, with what both refuse (aliases, which can multiply a small file
 * into a huge tree; NUL bytes; a second document; deep nesting) written
 * once.
 */
#ifndef PERISKOP_YAMLTREE_H
#define PERISKOP_YAMLTREE_H

#include <stddef.h>

/* Where an element was written, for messages: 1-based. */
struct conf_pos {
	int	line;
	int	col;
};

enum ytype { Y_NULL, Y_STR, Y_SEQ, Y_MAP };

/* Mappings hold key, value, key, value... in kids. */
struct ynode {
	enum ytype	 type;
	char		*s;		/* Y_STR */
	struct conf_pos	 pos;
	struct ynode	*kids;
	size_t		 n;
	size_t		 cap;
};

/*
 * Parses the one document of buf (an empty stream is a null root).
 * Scalars are null as Go's yaml.v2 reads them: plain "", "~", "null",
 * "Null", "NULL", or the !!null tag.  0, or -1 with "LINE:COL: message"
 * in err; root is released either way on failure.
 */
int	ytree_parse(const char *buf, size_t len, int max_depth,
	    struct ynode *root, char *err, size_t errlen);
void	ytree_release(struct ynode *);

#endif
