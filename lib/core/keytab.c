/* SPDX-License-Identifier: Apache-2.0 */
/* The key table: open addressing, linear probing, at most half full. */
#include <stdlib.h>
#include <string.h>

#include "keytab.h"
#include "xalloc.h"

#define FNV_BASIS	14695981039346656037ULL
#define FNV_PRIME	1099511628211ULL

struct entry {
	struct keytab_key	k;	/* k.h1 == 0: the slot is free */
	uint64_t		value;
	int64_t			at;
};

struct keytab {
	struct entry	*tab;
	size_t		 cap;		/* a power of two */
	size_t		 n;
};

uint64_t
keytab_mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	if (h == 0)
		h = FNV_BASIS;
	for (i = 0; i < n; i++)
		h = (h ^ c[i]) * FNV_PRIME;
	return h;
}

void
keytab_key(struct keytab_key *k, const char *const *s, size_t n)
{
	const unsigned char *p;
	uint64_t a = FNV_BASIS, b = 0x9e3779b97f4a7c15ULL;
	size_t i;

	/* FNV-1a and a multiply-xorshift mix, each string then a separator. */
	for (i = 0; i < n; i++) {
		for (p = (const unsigned char *)s[i]; *p != '\0'; p++) {
			a = (a ^ *p) * FNV_PRIME;
			b = (b ^ *p) * 0xff51afd7ed558ccdULL;
			b ^= b >> 29;
		}
		a = (a ^ 0x100) * FNV_PRIME;
		b = (b ^ 0x100) * 0xff51afd7ed558ccdULL;
		b ^= b >> 29;
	}
	k->h1 = a != 0 ? a : 1;
	k->h2 = b;
}

struct keytab *
keytab_new(void)
{
	return xcalloc(1, sizeof(struct keytab));
}

void
keytab_free(struct keytab *t)
{
	if (t == NULL)
		return;
	free(t->tab);
	free(t);
}

static struct entry *
slot(const struct keytab *t, const struct keytab_key *k)
{
	size_t i;

	for (i = k->h1 & (t->cap - 1);; i = (i + 1) & (t->cap - 1))
		if (t->tab[i].k.h1 == 0 || (t->tab[i].k.h1 == k->h1 &&
		    t->tab[i].k.h2 == k->h2))
			return &t->tab[i];
}

int
keytab_get(const struct keytab *t, const struct keytab_key *k,
    uint64_t *value, int64_t *at)
{
	const struct entry *e;

	if (t->n == 0)
		return 0;
	e = slot(t, k);
	if (e->k.h1 == 0)
		return 0;
	*value = e->value;
	*at = e->at;
	return 1;
}

/* A table of cap slots holding the old one's entries of forget or later. */
static void
rebuild(struct keytab *t, size_t cap, int64_t forget)
{
	struct entry *old = t->tab;
	size_t oldcap = t->cap, i;

	t->tab = xcalloc(cap, sizeof(*t->tab));
	t->cap = cap;
	t->n = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].k.h1 == 0 || old[i].at < forget)
			continue;
		*slot(t, &old[i].k) = old[i];
		t->n++;
	}
	free(old);
}

void
keytab_put(struct keytab *t, const struct keytab_key *k, uint64_t value,
    int64_t at, int64_t forget)
{
	struct entry *e;
	size_t cap;

	if (2 * (t->n + 1) > t->cap) {
		/* Forgetting first may make room without growing. */
		cap = t->cap ? t->cap : 256;
		rebuild(t, cap, forget);
		while (2 * (t->n + 1) > cap)
			cap *= 2;
		if (cap != t->cap)
			rebuild(t, cap, forget);
	}
	e = slot(t, k);
	if (e->k.h1 == 0)
		t->n++;
	e->k = *k;
	e->value = value;
	e->at = at;
}

size_t
keytab_count(const struct keytab *t)
{
	return t->n;
}
