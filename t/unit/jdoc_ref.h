/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reference jdoc is held to: jansson, over the text with invalid
 * UTF-8 and half surrogate pairs made U+FFFD first, the way payloads
 * were read before jdoc.  Shared by check_jdoc and fuzz_jdoc.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jdoc.h"
#include "xalloc.h"

static int
ref_hex4(const char *s, unsigned *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		*v <<= 4;
		if (s[i] >= '0' && s[i] <= '9')
			*v |= (unsigned)(s[i] - '0');
		else if (s[i] >= 'a' && s[i] <= 'f')
			*v |= (unsigned)(s[i] - 'a' + 10);
		else if (s[i] >= 'A' && s[i] <= 'F')
			*v |= (unsigned)(s[i] - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* Rewrites each "\uD800"-style escape without its other half as \ufffd. */
static void
ref_lone_surrogates(char *s, size_t n)
{
	size_t i = 0;
	unsigned v, w;
	char *p;

	while ((p = memchr(s + i, '\\', n - i)) != NULL) {
		i = (size_t)(p - s);
		if (i + 1 >= n)
			break;
		if (s[i + 1] != 'u' || i + 6 > n ||
		    ref_hex4(s + i + 2, &v) == -1) {
			i += 2;
			continue;
		}
		if (v >= 0xd800 && v <= 0xdbff && i + 12 <= n &&
		    s[i + 6] == '\\' && s[i + 7] == 'u' &&
		    ref_hex4(s + i + 8, &w) == 0 && w >= 0xdc00 &&
		    w <= 0xdfff) {
			i += 12;
			continue;
		}
		if (v >= 0xd800 && v <= 0xdfff)
			memcpy(s + i + 2, "fffd", 4);
		i += 6;
	}
}

static json_t *
ref_parse(const char *buf, size_t len)
{
	struct buf b;
	json_error_t je;
	json_t *root;
	uint32_t cp;
	size_t i, n;

	buf_init(&b);
	for (i = 0; i < len; i += n) {
		n = buf_utf8_len((const unsigned char *)buf + i, len - i, &cp);
		if (n == 0) {
			buf_add(&b, "\xef\xbf\xbd", 3);
			n = 1;
		} else
			buf_add(&b, buf + i, n);
	}
	ref_lone_surrogates(b.p, b.len);
	root = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	buf_release(&b);
	return root;
}

/* Whether the two values are the same, members in the same order. */
static int
ref_same(const json_t *j, const struct jval *v)
{
	const char *k;
	json_t *m;
	void *it;
	size_t i;

	switch (v->type) {
	case J_NULL:
		return json_is_null(j);
	case J_TRUE:
		return json_is_true(j);
	case J_FALSE:
		return json_is_false(j);
	case J_INT:
		return json_is_integer(j) && json_integer_value(j) == v->u.i;
	case J_REAL:
		return json_is_real(j) && (json_real_value(j) == v->u.d ||
		    (json_real_value(j) != json_real_value(j) &&
		    v->u.d != v->u.d));
	case J_STRING:
		return json_is_string(j) && json_string_length(j) == v->n &&
		    memcmp(json_string_value(j), v->u.s, v->n) == 0 &&
		    v->u.s[v->n] == '\0';
	case J_ARRAY:
		if (!json_is_array(j) || json_array_size(j) != v->n)
			return 0;
		for (i = 0; i < v->n; i++)
			if (!ref_same(json_array_get(j, i), &v->u.v[i]))
				return 0;
		return 1;
	case J_OBJECT:
		if (!json_is_object(j) || json_object_size(j) != v->n)
			return 0;
		for (i = 0, it = json_object_iter((json_t *)j); i < v->n;
		    i++, it = json_object_iter_next((json_t *)j, it)) {
			if (it == NULL)
				return 0;
			k = json_object_iter_key(it);
			m = json_object_iter_value(it);
			if (strlen(k) != v->u.v[2 * i].n || memcmp(k,
			    v->u.v[2 * i].u.s, v->u.v[2 * i].n) != 0 ||
			    !ref_same(m, &v->u.v[2 * i + 1]) ||
			    jval_get(v, k) != &v->u.v[2 * i + 1])
				return 0;
		}
		return 1;
	}
	return 0;
}

/*
 * Returns 1 when jdoc and the reference agree on buf: both refuse it, or
 * both read the same document.  why says how they differ otherwise.
 */
static int
jdoc_agrees(const char *buf, size_t len, char *why, size_t whylen)
{
	struct jdoc *d;
	json_t *j;
	char err[256];
	int ok;

	err[0] = '\0';
	d = jdoc_parse(buf, len, err, sizeof(err));
	j = ref_parse(buf, len);
	if (d == NULL && j == NULL)
		ok = strncmp(err, "not JSON at byte ", 17) == 0;
	else if (memchr(buf, '\0', len) != NULL)
		/*
		 * jansson drops a raw NUL byte that follows a number ("[1\0]"
		 * is read as [1]); JSON has no place for one, and jdoc
		 * refuses every raw NUL.
		 */
		ok = d == NULL;
	else
		ok = d != NULL && j != NULL && ref_same(j, jdoc_root(d));
	snprintf(why, whylen, "jdoc %s, jansson %s", d != NULL ? "read it" :
	    err, j != NULL ? "read it" : "refused it");
	jdoc_free(d);
	json_decref(j);
	return ok;
}
