/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an aggregator knows it stored of each target's counts, so that a
 * round writes only the targets whose counts changed.
 */
#ifndef PERISKOP_BASELINE_H
#define PERISKOP_BASELINE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A (service, target_id) is known by two independent 64-bit hashes of
 * it, never by its strings, and its counts by a digest of its keys and
 * counts: 32 bytes per target whatever its keys.  What a transaction
 * stores is staged, and known only once it commits.
 */
struct baseline;

struct baseline	*baseline_new(void);
void		 baseline_free(struct baseline *);
/* A digest of a target's counts: mixed in key by key, in key order. */
uint64_t	 baseline_mix(uint64_t digest, const char *key, int64_t raw);
/*
 * 1 when the target's committed counts have this digest and were stored
 * at or after since (ms): they need not be written again.
 */
int		 baseline_same(const struct baseline *, const char *service,
		    const char *target_id, uint64_t digest, int64_t since);
/* Notes that the open transaction stored the target's counts at stored. */
void		 baseline_stage(struct baseline *, const char *service,
		    const char *target_id, uint64_t digest, int64_t stored);
/*
 * The staged targets become known; targets stored before forget (ms)
 * may be dropped to make room, as they would be written again anyway.
 */
void		 baseline_commit(struct baseline *, int64_t forget);
/* Drops the staged rows: their transaction was rolled back. */
void		 baseline_discard(struct baseline *);

#endif
