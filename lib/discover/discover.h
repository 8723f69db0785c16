/* SPDX-License-Identifier: Apache-2.0 */
/* The services' configs to their current target sets, as they change. */
#ifndef PERISKOP_DISCOVER_H
#define PERISKOP_DISCOVER_H

#include <stddef.h>

#include "conf.h"
#include "labels.h"
#include "record.h"

/*
 * The discovery of every service of one config: each mechanism of each
 * service (file, dns, http, consul, kubernetes) runs in a thread of its
 * own, refreshing every refresh_interval (file SD also on inotify
 * events) and keeping its previous groups when a refresh fails.
 */
struct discovery;

/*
 * Compiles every service's relabel_configs.  Returns a new discovery,
 * or NULL with "FILE:LINE:COL: message" in err.  conf is borrowed and
 * must outlive it.
 */
struct discovery	*discovery_new(const struct conf *, char *err,
			    size_t errlen);
/*
 * Starts the mechanisms.  Each writes a byte to wakefd (non-blocking;
 * may be -1) when it has new groups or a message.  With once, each
 * refreshes once and stops: discovery_wait then returns when all are
 * done.  Returns 0, or -1 with a message in err.
 */
int			 discovery_start(struct discovery *, int once,
			    int wakefd, char *err, size_t errlen);
void			 discovery_wait(struct discovery *);
/* Stops and joins every mechanism, then frees; NULL is a no-op. */
void			 discovery_free(struct discovery *);

size_t			 discovery_nservices(const struct discovery *);
/*
 * When every mechanism of service i has reported at least once and
 * something arrived since the last call (or force is set), fills *out
 * (targets_rec_release) with its target set and returns 1; returns 0
 * otherwise.  Targets the relabelling rejects (no address, ...) are
 * left out with a message (discovery_message).
 */
int			 discovery_take(struct discovery *, size_t i,
			    int force, struct targets_rec *out);
/* The next warning the mechanisms left, or NULL; the caller frees it. */
char			*discovery_message(struct discovery *);

/*
 * A service's static_configs alone, relabelled, at once: the targets
 * sorted by address and URL, one per URL (the first the config names).
 * Returns 0, or -1 with a message in err when the service uses another
 * mechanism or its relabel_configs do not compile.
 */
int	discover_service(const struct conf_service *,
	    struct targets_rec *out, char *err, size_t errlen);
/*
 * Turns discovered label sets (each with __address__) into the
 * service's targets_rec through relabel_target; rules may be NULL.
 * Each rejected target calls warn (when not NULL) with why.
 */
struct relabel_rules;
void	discover_build(const struct conf_service *,
	    const struct relabel_rules *, const struct labelset *found,
	    size_t nfound, struct targets_rec *out,
	    void (*warn)(void *, const char *), void *arg);
/* 1 when a and b name the same targets with the same labels and settings. */
int	discover_same(const struct targets_rec *a,
	    const struct targets_rec *b);

#endif
