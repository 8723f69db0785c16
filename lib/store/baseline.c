/* SPDX-License-Identifier: Apache-2.0 */
/* What an aggregator stored of each target: a key table and a staging list. */
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "keytab.h"
#include "xalloc.h"

struct staged {
	struct keytab_key	k;
	uint64_t		digest;
	int64_t			stored;
};

struct baseline {
	struct keytab	*known;
	struct staged	*staged;
	size_t		 nstaged, capstaged;
};

static void
key(struct keytab_key *k, const char *service, const char *target_id)
{
	const char *s[2] = { service, target_id };

	keytab_key(k, s, 2);
}

uint64_t
baseline_mix(uint64_t d, const char *key, int64_t raw)
{
	unsigned char v[8];
	uint64_t u = (uint64_t)raw;
	int i;

	/* The key with its end, then the count's eight bytes. */
	d = keytab_mix(d, key, strlen(key) + 1);
	for (i = 0; i < 8; i++, u >>= 8)
		v[i] = (unsigned char)(u & 0xff);
	return keytab_mix(d, v, sizeof(v));
}

struct baseline *
baseline_new(void)
{
	struct baseline *b = xcalloc(1, sizeof(*b));

	b->known = keytab_new();
	return b;
}

void
baseline_free(struct baseline *b)
{
	if (b == NULL)
		return;
	keytab_free(b->known);
	free(b->staged);
	free(b);
}

int
baseline_same(const struct baseline *b, const char *service,
    const char *target_id, uint64_t digest, int64_t since)
{
	struct keytab_key k;
	uint64_t d;
	int64_t at;

	key(&k, service, target_id);
	return keytab_get(b->known, &k, &d, &at) && d == digest &&
	    at >= since;
}

void
baseline_stage(struct baseline *b, const char *service,
    const char *target_id, uint64_t digest, int64_t stored)
{
	struct staged *s;

	if (b->nstaged == b->capstaged) {
		b->capstaged = b->capstaged ? 2 * b->capstaged : 256;
		b->staged = xreallocarray(b->staged, b->capstaged,
		    sizeof(*b->staged));
	}
	s = &b->staged[b->nstaged++];
	key(&s->k, service, target_id);
	s->digest = digest;
	s->stored = stored;
}

void
baseline_commit(struct baseline *b, int64_t forget)
{
	size_t i;

	for (i = 0; i < b->nstaged; i++)
		keytab_put(b->known, &b->staged[i].k, b->staged[i].digest,
		    b->staged[i].stored, forget);
	b->nstaged = 0;
}

void
baseline_discard(struct baseline *b)
{
	b->nstaged = 0;
}
