/* SPDX-License-Identifier: Apache-2.0 */
/* The last bodies reported in full: an open-addressing hash table. */
#include <stdlib.h>
#include <string.h>

#include "bodies.h"
#include "xalloc.h"

struct entry {
	uint64_t	u1, u2;		/* the URL's hashes; u1 == 0: free */
	uint64_t	body;
	double		at;
};

struct bodies {
	struct entry	*tab;
	size_t		 cap;		/* a power of two */
	size_t		 n;
};

#define FNV_BASIS	14695981039346656037ULL
#define FNV_PRIME	1099511628211ULL

uint64_t
bodies_hash(const char *body, size_t len)
{
	const unsigned char *p = (const unsigned char *)body;
	uint64_t h = FNV_BASIS ^ (uint64_t)len;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h != 0 ? h : 1;
}

/* FNV-1a and a multiply-xorshift mix of the URL. */
static void
url_hash(const char *url, uint64_t *u1, uint64_t *u2)
{
	const unsigned char *p;
	uint64_t a = FNV_BASIS, b = 0x9e3779b97f4a7c15ULL;

	for (p = (const unsigned char *)url; *p != '\0'; p++) {
		a = (a ^ *p) * FNV_PRIME;
		b = (b ^ *p) * 0xff51afd7ed558ccdULL;
		b ^= b >> 29;
	}
	*u1 = a != 0 ? a : 1;
	*u2 = b;
}

struct bodies *
bodies_new(void)
{
	return xcalloc(1, sizeof(struct bodies));
}

void
bodies_free(struct bodies *b)
{
	if (b == NULL)
		return;
	free(b->tab);
	free(b);
}

static struct entry *
slot(const struct bodies *b, uint64_t u1, uint64_t u2)
{
	size_t i;

	for (i = u1 & (b->cap - 1);; i = (i + 1) & (b->cap - 1))
		if (b->tab[i].u1 == 0 ||
		    (b->tab[i].u1 == u1 && b->tab[i].u2 == u2))
			return &b->tab[i];
}

int
bodies_same(const struct bodies *b, const char *url, uint64_t hash,
    double since)
{
	const struct entry *e;
	uint64_t u1, u2;

	if (b->n == 0)
		return 0;
	url_hash(url, &u1, &u2);
	e = slot(b, u1, u2);
	return e->u1 != 0 && e->body == hash && e->at >= since;
}

/* A table of cap slots with the old one's bodies reported at forget or later. */
static void
rebuild(struct bodies *b, size_t cap, double forget)
{
	struct entry *old = b->tab, *e;
	size_t oldcap = b->cap, i;

	b->tab = xcalloc(cap, sizeof(*b->tab));
	b->cap = cap;
	b->n = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].u1 == 0 || old[i].at < forget)
			continue;
		e = slot(b, old[i].u1, old[i].u2);
		*e = old[i];
		b->n++;
	}
	free(old);
}

void
bodies_put(struct bodies *b, const char *url, uint64_t hash, double at,
    double forget)
{
	struct entry *e;
	uint64_t u1, u2;
	size_t cap;

	/* At most half full, so that probes stay short. */
	if (2 * (b->n + 1) > b->cap) {
		cap = b->cap ? b->cap : 256;
		rebuild(b, cap, forget);
		while (2 * (b->n + 1) > cap)
			cap *= 2;
		if (cap != b->cap)
			rebuild(b, cap, forget);
	}
	url_hash(url, &u1, &u2);
	e = slot(b, u1, u2);
	if (e->u1 == 0)
		b->n++;
	e->u1 = u1;
	e->u2 = u2;
	e->body = hash;
	e->at = at;
}
