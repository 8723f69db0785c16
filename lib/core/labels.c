/* SPDX-License-Identifier: Apache-2.0 */
/* Sorted label sets with owned strings. */
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "xalloc.h"

void
labels_init(struct labelset *ls)
{
	ls->v = NULL;
	ls->n = 0;
	ls->cap = 0;
}

void
labels_release(struct labelset *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++) {
		free(ls->v[i].name);
		free(ls->v[i].value);
	}
	free(ls->v);
	labels_init(ls);
}

void
labels_copy(struct labelset *dst, const struct labelset *src)
{
	size_t i;

	labels_init(dst);
	if (src->n == 0)
		return;
	dst->v = xreallocarray(NULL, src->n, sizeof(*dst->v));
	dst->cap = dst->n = src->n;
	for (i = 0; i < src->n; i++) {
		dst->v[i].name = xstrdup(src->v[i].name);
		dst->v[i].value = xstrdup(src->v[i].value);
	}
}

/* Binary search: returns the index of name, or where it would go. */
static size_t
find(const struct labelset *ls, const char *name, int *found)
{
	size_t lo = 0, hi = ls->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(ls->v[mid].name, name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
labels_set(struct labelset *ls, const char *name, const char *value)
{
	size_t i;
	int found;

	/* Prometheus treats an empty label value as an absent label. */
	if (value == NULL || *value == '\0') {
		labels_del(ls, name);
		return;
	}
	i = find(ls, name, &found);
	if (found) {
		free(ls->v[i].value);
		ls->v[i].value = xstrdup(value);
		return;
	}
	if (ls->n == ls->cap) {
		ls->cap = ls->cap ? ls->cap * 2 : 8;
		ls->v = xreallocarray(ls->v, ls->cap, sizeof(*ls->v));
	}
	memmove(ls->v + i + 1, ls->v + i, (ls->n - i) * sizeof(*ls->v));
	ls->v[i].name = xstrdup(name);
	ls->v[i].value = xstrdup(value);
	ls->n++;
}

void
labels_del(struct labelset *ls, const char *name)
{
	size_t i;
	int found;

	i = find(ls, name, &found);
	if (!found)
		return;
	free(ls->v[i].name);
	free(ls->v[i].value);
	memmove(ls->v + i, ls->v + i + 1, (ls->n - i - 1) * sizeof(*ls->v));
	ls->n--;
}

const char *
labels_get(const struct labelset *ls, const char *name)
{
	size_t i;
	int found;

	i = find(ls, name, &found);
	return found ? ls->v[i].value : NULL;
}

int
labels_equal(const struct labelset *a, const struct labelset *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, b->v[i].name) != 0 ||
		    strcmp(a->v[i].value, b->v[i].value) != 0)
			return 0;
	return 1;
}

int
labels_valid_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	    *s == '_'))
		return 0;
	for (s++; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}
