/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The last body each target's URL answered, by hash, so that a body the
 * scraper reported in full a moment ago is not parsed and written again.
 */
#ifndef PERISKOP_BODIES_H
#define PERISKOP_BODIES_H

#include <stddef.h>
#include <stdint.h>

struct bodies;

struct bodies	*bodies_new(void);
void		 bodies_free(struct bodies *);
/* The hash of a body. */
uint64_t	 bodies_hash(const char *body, size_t len);
/*
 * 1 when url's last body reported in full had this hash and was reported
 * at or after since (time_mono_ms).
 */
int		 bodies_same(const struct bodies *, const char *url,
		    uint64_t hash, double since);
/*
 * Notes that url's body with this hash was reported in full at at; hash 0
 * forgets url's body (it could not be read).  Bodies reported before
 * forget may be dropped to make room.
 */
void		 bodies_put(struct bodies *, const char *url, uint64_t hash,
		    double at, double forget);

#endif
