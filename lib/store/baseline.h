/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The last counts an aggregator knows it stored, so that a round writes
 * only the counts that changed.
 */
#ifndef PERISKOP_BASELINE_H
#define PERISKOP_BASELINE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A (service, target_id, key) is known by two independent 64-bit hashes
 * of it, never by its strings: a few dozen bytes per count whatever the
 * key's length.  What a transaction stores is staged, and known only
 * once it commits.
 */
struct baseline;

struct baseline	*baseline_new(void);
void		 baseline_free(struct baseline *);
/*
 * 1 when the committed last count of the row is raw and was stored at or
 * after since (ms): the row need not be written again.
 */
int		 baseline_same(const struct baseline *, const char *service,
		    const char *target_id, const char *key, int64_t raw,
		    int64_t since);
/* Notes that the open transaction stored raw for the row at stored. */
void		 baseline_stage(struct baseline *, const char *service,
		    const char *target_id, const char *key, int64_t raw,
		    int64_t stored);
/*
 * The staged rows become known; rows stored before forget (ms) may be
 * dropped to make room, as they would be written again anyway.
 */
void		 baseline_commit(struct baseline *, int64_t forget);
/* Drops the staged rows: their transaction was rolled back. */
void		 baseline_discard(struct baseline *);
/* The rows known. */
size_t		 baseline_count(const struct baseline *);

#endif
