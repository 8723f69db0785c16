/* SPDX-License-Identifier: Apache-2.0 */
/* The scrape engine: concurrent rounds of fetches, as NDJSON lines. */
#ifndef PERISKOP_SCRAPE_H
#define PERISKOP_SCRAPE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define SCRAPE_CONCURRENCY	64
#define SCRAPE_MAX_BODY		((size_t)16 * 1024 * 1024)
#define SCRAPE_TIMEOUT_MS	10000
/*
 * Connections are kept between rounds for up to this many targets, as
 * Prometheus keeps them: a connect costs the target and us more than the
 * cache's bookkeeping does at that size (bench-cpu: 0.11 ms of scrape CPU
 * per scrape of 2,000 targets instead of 0.24).
 */
#define SCRAPE_REUSE_MAX	4096
/* How long a body that did not change goes without being reported in full. */
#define SCRAPE_FULL_EVERY_MS	600000

struct scrape_opts {
	int		 concurrency;	/* transfers and connections */
	size_t		 max_body;	/* bytes, decoded */
	int64_t		 timeout_ms;	/* unless targets say */
	/*
	 * Once: a service's single round starts as soon as its targets
	 * arrive, instead of every interval_ms at a spread offset.
	 */
	int		 once;
	/*
	 * Full: every body is parsed and reported in full, even one the
	 * target answered at the last scrape (otherwise reported as
	 * "unchanged" for up to SCRAPE_FULL_EVERY_MS).
	 */
	int		 full;
	/*
	 * Called with every line to write, without its newline; kind is
	 * REC_SCRAPE or REC_ROUND.  The line is borrowed for the call.
	 */
	void		(*emit)(void *arg, enum record_type kind,
			    const char *line, size_t len);
	/* Called with debug messages (lowercase, no full stop); may be NULL. */
	void		(*debug)(void *arg, const char *msg);
	void		*arg;
};

struct scraper;

/* Fills o with the defaults above and no callbacks. */
void		 scrape_opts_init(struct scrape_opts *o);

/*
 * Returns a new engine (scraper_free), or NULL with a message in err when
 * libcurl cannot be set up.  Options are copied.
 */
struct scraper	*scraper_new(const struct scrape_opts *, char *err,
		    size_t errlen);
/* Abandons transfers in flight without writing their lines. */
void		 scraper_free(struct scraper *);

/*
 * Replaces the target set of t->service (copied; t stays the caller's).
 * No targets removes the service; a round already running still ends
 * with its round line.
 */
void		 scraper_set_targets(struct scraper *,
		    const struct targets_rec *t);

/*
 * Ad-hoc use: one round of service over the given URLs, starting now
 * (whatever the once option says); each target is the URL's host:port.
 * Returns 0, or -1 with err naming the URL that is not a valid one.
 */
int		 scraper_add_urls(struct scraper *, const char *service,
		    char *const *urls, size_t n, char *err, size_t errlen);

/*
 * One turn of the loop: starts the rounds and transfers that are due,
 * waits at most wait_ms (-1: until something happens) for network
 * activity or for one of fds (whose revents it fills in), then handles
 * the transfers that finished, calling emit for their lines.
 * Returns 0, or -1 with err when libcurl fails.
 */
int		 scraper_step(struct scraper *, struct pollfd *fds,
		    size_t nfds, int wait_ms, char *err, size_t errlen);

/*
 * Stops scheduling periodic rounds (stdin ended): rounds running, and
 * in once mode rounds already asked for, still run.
 */
void		 scraper_drain(struct scraper *);
/* Nonzero while a round runs or waits to start after scraper_drain. */
int		 scraper_busy(const struct scraper *);
/* Scrapes finished so far that succeeded and that failed. */
uint64_t	 scraper_nok(const struct scraper *);
uint64_t	 scraper_nfailed(const struct scraper *);

/*
 * Parses a size such as "16777216", "512k" or "16M" (binary units: k, M,
 * G, with an optional "iB" or "B").  Returns 0, or -1 with err.
 */
int		 scrape_parse_size(const char *s, size_t *out, char *err,
		    size_t errlen);
/* Parses a timeout: "10", "1.5" (seconds), "10s" or "500ms". */
int		 scrape_parse_timeout(const char *s, int64_t *ms, char *err,
		    size_t errlen);
/* The stable offset in [0, interval_ms) of a service's rounds. */
int64_t		 scrape_offset(const char *service, int64_t interval_ms,
		    int64_t now_ms);

#endif
