/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A table of 64-bit values, each with a time, keyed by strings that are
 * never stored: two independent 64-bit hashes stand for them, so an
 * entry takes 32 bytes whatever the strings' length.
 */
#ifndef PERISKOP_KEYTAB_H
#define PERISKOP_KEYTAB_H

#include <stddef.h>
#include <stdint.h>

struct keytab_key {
	uint64_t	h1, h2;
};

struct keytab;

/* The key of the n strings s[0..n): ("ab", "c") is not ("a", "bc"). */
void		 keytab_key(struct keytab_key *, const char *const *s,
		    size_t n);
/* FNV-1a: h (0 to start) with the n bytes of p mixed in. */
uint64_t	 keytab_mix(uint64_t h, const void *p, size_t n);

struct keytab	*keytab_new(void);
void		 keytab_free(struct keytab *);
/* 1 with *value and *at filled when the key is in the table, else 0. */
int		 keytab_get(const struct keytab *, const struct keytab_key *,
		    uint64_t *value, int64_t *at);
/*
 * Sets the key's value and time.  Entries whose time is before forget may
 * be dropped to make room.
 */
void		 keytab_put(struct keytab *, const struct keytab_key *,
		    uint64_t value, int64_t at, int64_t forget);
/* The entries held. */
size_t		 keytab_count(const struct keytab *);

#endif
