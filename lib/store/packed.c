/* SPDX-License-Identifier: Apache-2.0 */
/* A target's count baselines packed into a JSON array per row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jdoc.h"
#include "packed.h"
#include "xalloc.h"

void
packed_init(struct packed *p)
{
	memset(p, 0, sizeof(*p));
}

void
packed_reset(struct packed *p)
{
	size_t i;

	for (i = 0; i < p->ndocs; i++)
		jdoc_free(p->docs[i]);
	p->ndocs = 0;
	p->n = 0;
}

void
packed_release(struct packed *p)
{
	packed_reset(p);
	free(p->v);
	free(p->docs);
	packed_init(p);
}

static int
bad(char *err, size_t errlen, const char *what, size_t i)
{
	snprintf(err, errlen, "element %zu: %s", i + 1, what);
	return -1;
}

int
packed_read(struct packed *p, const char *text, size_t len, char *err,
    size_t errlen)
{
	const struct jval *root, *a, *k;
	struct packed_count *c;
	struct jdoc *d;
	size_t i, j;
	int64_t x[4];

	if ((d = jdoc_parse(text, len, err, errlen)) == NULL)
		return -1;
	if (p->ndocs == p->capdocs) {
		p->capdocs = p->capdocs ? 2 * p->capdocs : 16;
		p->docs = xreallocarray(p->docs, p->capdocs, sizeof(*p->docs));
	}
	p->docs[p->ndocs++] = d;
	root = jdoc_root(d);
	if (root->type != J_ARRAY) {
		snprintf(err, errlen, "%s, not an array", jval_type_name(root));
		return -1;
	}
	for (i = 0; i < root->n; i++) {
		a = &root->u.v[i];
		if (a->type != J_ARRAY || a->n != 5)
			return bad(err, errlen, "not an array of five", i);
		k = &a->u.v[0];
		/* A key is a C string everywhere else. */
		if (k->type != J_STRING || strlen(k->u.s) != k->n)
			return bad(err, errlen, "a key that is not a string "
			    "without NUL", i);
		for (j = 0; j < 4; j++) {
			if (a->u.v[j + 1].type != J_INT)
				return bad(err, errlen, "not an integer", i);
			x[j] = a->u.v[j + 1].u.i;
		}
		if (p->n == p->cap) {
			p->cap = p->cap ? 2 * p->cap : 64;
			p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
		}
		c = &p->v[p->n++];
		c->key = k->u.s;
		c->last_raw = x[0];
		c->accumulated = x[1];
		c->last_delta = x[2];
		c->updated = x[3];
	}
	return 0;
}

int
packed_by_key(const void *x, const void *y)
{
	return strcmp(((const struct packed_count *)x)->key,
	    ((const struct packed_count *)y)->key);
}

void
packed_sort(struct packed *p)
{
	size_t i;

	/* Rows are written sorted: most of the time this is one pass. */
	for (i = 1; i < p->n; i++)
		if (strcmp(p->v[i - 1].key, p->v[i].key) > 0)
			break;
	if (i < p->n)
		qsort(p->v, p->n, sizeof(*p->v), packed_by_key);
}

void
packed_write(struct buf *b, const struct packed_count *v, size_t n)
{
	size_t i;

	buf_addc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_addc(b, '[');
		buf_addjstr(b, v[i].key);
		buf_addc(b, ',');
		buf_addjint(b, v[i].last_raw);
		buf_addc(b, ',');
		buf_addjint(b, v[i].accumulated);
		buf_addc(b, ',');
		buf_addjint(b, v[i].last_delta);
		buf_addc(b, ',');
		buf_addjint(b, v[i].updated);
		buf_addc(b, ']');
	}
	buf_addc(b, ']');
}

size_t
packed_row_take(const struct packed_count *v, size_t at, size_t n)
{
	size_t m, sum = 0;

	for (m = at; m < n; m++) {
		/* The key, its quotes and four numbers of at most 20. */
		sum += strlen(v[m].key) + 90;
		if (sum > PACKED_ROW_BYTES && m > at)
			break;
	}
	return m - at;
}
