/* SPDX-License-Identifier: Apache-2.0 */
/* What an aggregator stored of each target: an open-addressing hash table. */
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "xalloc.h"

struct entry {
	uint64_t	h1, h2;		/* h1 == 0: the slot is free */
	uint64_t	digest;
	int64_t		stored;
};

struct baseline {
	struct entry	*tab;
	size_t		 cap;		/* a power of two */
	size_t		 n;
	struct entry	*staged;
	size_t		 nstaged, capstaged;
};

/* FNV-1a and a multiply-xorshift mix, each over the two strings. */
static void
hash(const char *service, const char *target_id, uint64_t *h1,
    uint64_t *h2)
{
	const char *s[2] = { service, target_id };
	const unsigned char *p;
	uint64_t a = 14695981039346656037ULL, b = 0x9e3779b97f4a7c15ULL;
	int i;

	for (i = 0; i < 2; i++) {
		for (p = (const unsigned char *)s[i]; *p != '\0'; p++) {
			a = (a ^ *p) * 1099511628211ULL;
			b = (b ^ *p) * 0xff51afd7ed558ccdULL;
			b ^= b >> 29;
		}
		/* The separator: ("ab", "c") is not ("a", "bc"). */
		a = (a ^ 0x100) * 1099511628211ULL;
		b = (b ^ 0x100) * 0xff51afd7ed558ccdULL;
		b ^= b >> 29;
	}
	*h1 = a != 0 ? a : 1;
	*h2 = b;
}

uint64_t
baseline_mix(uint64_t d, const char *key, int64_t raw)
{
	const unsigned char *p;
	uint64_t v = (uint64_t)raw;
	int i;

	if (d == 0)
		d = 14695981039346656037ULL;
	for (p = (const unsigned char *)key; *p != '\0'; p++)
		d = (d ^ *p) * 1099511628211ULL;
	/* The key's end, then the count's eight bytes. */
	d = (d ^ 0x100) * 1099511628211ULL;
	for (i = 0; i < 8; i++, v >>= 8)
		d = (d ^ (v & 0xff)) * 1099511628211ULL;
	return d;
}

struct baseline *
baseline_new(void)
{
	return xcalloc(1, sizeof(struct baseline));
}

void
baseline_free(struct baseline *b)
{
	if (b == NULL)
		return;
	free(b->tab);
	free(b->staged);
	free(b);
}

static struct entry *
slot(const struct baseline *b, uint64_t h1, uint64_t h2)
{
	size_t i;

	for (i = h1 & (b->cap - 1);; i = (i + 1) & (b->cap - 1))
		if (b->tab[i].h1 == 0 ||
		    (b->tab[i].h1 == h1 && b->tab[i].h2 == h2))
			return &b->tab[i];
}

int
baseline_same(const struct baseline *b, const char *service,
    const char *target_id, uint64_t digest, int64_t since)
{
	const struct entry *e;
	uint64_t h1, h2;

	if (b->n == 0)
		return 0;
	hash(service, target_id, &h1, &h2);
	e = slot(b, h1, h2);
	return e->h1 != 0 && e->digest == digest && e->stored >= since;
}

void
baseline_stage(struct baseline *b, const char *service,
    const char *target_id, uint64_t digest, int64_t stored)
{
	struct entry *e;

	if (b->nstaged == b->capstaged) {
		b->capstaged = b->capstaged ? 2 * b->capstaged : 256;
		b->staged = xreallocarray(b->staged, b->capstaged,
		    sizeof(*b->staged));
	}
	e = &b->staged[b->nstaged++];
	hash(service, target_id, &e->h1, &e->h2);
	e->digest = digest;
	e->stored = stored;
}

/* A table of cap slots holding the old one's rows stored at forget or after. */
static void
rebuild(struct baseline *b, size_t cap, int64_t forget)
{
	struct entry *old = b->tab, *e;
	size_t oldcap = b->cap, i;

	b->tab = xcalloc(cap, sizeof(*b->tab));
	b->cap = cap;
	b->n = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].h1 == 0 || old[i].stored < forget)
			continue;
		e = slot(b, old[i].h1, old[i].h2);
		*e = old[i];
		b->n++;
	}
	free(old);
}

void
baseline_commit(struct baseline *b, int64_t forget)
{
	struct entry *e;
	size_t i, cap;

	/* At most half full, so that probes stay short. */
	if (2 * (b->n + b->nstaged) > b->cap) {
		cap = b->cap ? b->cap : 1024;
		rebuild(b, cap, forget);
		while (2 * (b->n + b->nstaged) > cap)
			cap *= 2;
		if (cap != b->cap)
			rebuild(b, cap, forget);
	}
	for (i = 0; i < b->nstaged; i++) {
		e = slot(b, b->staged[i].h1, b->staged[i].h2);
		if (e->h1 == 0)
			b->n++;
		*e = b->staged[i];
	}
	b->nstaged = 0;
}

void
baseline_discard(struct baseline *b)
{
	b->nstaged = 0;
}

size_t
baseline_count(const struct baseline *b)
{
	return b->n;
}
