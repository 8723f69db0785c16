/* SPDX-License-Identifier: Apache-2.0 */
/* The push gateway's state: pushers' cumulative counts turned into exact totals. */
#ifndef PERISKOP_PUSH_H
#define PERISKOP_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "model.h"

#define PUSH_MAX_PUSHERS	1000
#define PUSH_MAX_KEYS		1000	/* per pusher */
#define PUSH_MAX_LATEST		10	/* occurrences kept per key */
#define PUSH_TTL_MS		((int64_t)7 * 24 * 3600 * 1000)

struct push_limits {
	size_t	 max_pushers;
	size_t	 max_keys;
	size_t	 max_latest;
	int64_t	 ttl_ms;		/* idle pushers expire; 0: never */
};

struct push_state;

/* Fills l with the defaults above. */
void		 push_limits_init(struct push_limits *l);

/*
 * A new, empty state (push_free) with limits copied and a random
 * target_uuid, under which the gateway is scraped.
 */
struct push_state *push_new(const struct push_limits *);
void		 push_free(struct push_state *);

/*
 * Merges the cumulative payload p of one pusher, named by p's
 * target_uuid or, when it has none, by fallback (the remote address).
 * For each key the delta is count - last when count >= last, count when
 * it is smaller (a counter reset) or new; totals grow by the deltas and
 * never go down.  Occurrences are moved out of p (p is still the
 * caller's to free), merged newest first, de-duplicated by uuid and
 * bounded.  Returns 0, or -1 with err when a limit refuses the push, and
 * then the state is unchanged.
 */
int		 push_merge(struct push_state *, struct payload *p,
		    const char *fallback, int64_t now_ms, char *err,
		    size_t errlen);

/*
 * Forgets pushers idle for longer than the TTL; what they added stays in
 * the totals.  Returns how many went.
 */
size_t		 push_expire(struct push_state *, int64_t now_ms);

size_t		 push_npushers(const struct push_state *);
size_t		 push_nkeys(const struct push_state *);
/* The exposed total of key, or -1 when the key is unknown. */
int64_t		 push_total(const struct push_state *, const char *key);

/* The collected errors as a client payload, as periskop-scrape reads it. */
void		 push_write_payload(const struct push_state *, struct buf *);

/* The whole state as one JSON document, which push_load reads back. */
void		 push_write_state(const struct push_state *, struct buf *);
/*
 * Reads push_write_state's output (len bytes).  Returns a new state, or
 * NULL with err saying what is wrong and where.
 */
struct push_state *push_load(const char *buf, size_t len,
		    const struct push_limits *, char *err, size_t errlen);
/*
 * Writes the state to path atomically and durably: path.tmp, fsync,
 * rename, fsync of the folder.  Returns 0, or -1 with err.
 */
int		 push_save(const struct push_state *, const char *path,
		    char *err, size_t errlen);

#endif
