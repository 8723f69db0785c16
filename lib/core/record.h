/* SPDX-License-Identifier: Apache-2.0 */
/* The NDJSON line records the tools exchange (periskop-ndjson(5)). */
#ifndef PERISKOP_RECORD_H
#define PERISKOP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "labels.h"
#include "model.h"
#include "secret.h"	/* struct http_auth */

enum record_type {
	REC_OTHER = 0,	/* a valid object of a type the reader does not know */
	REC_TARGETS,
	REC_SCRAPE,
	REC_ROUND,
	REC_EVENT
};

struct target {
	char		*address;	/* "10.0.0.7:7777" */
	char		*url;		/* "http://10.0.0.7:7777/errors" */
	struct labelset	 labels;	/* final labels after relabelling */
};

/* TLS settings for https targets; NULL and 0 when absent. */
struct targets_tls {
	char		*ca_file;
	char		*cert_file;
	char		*key_file;
	char		*server_name;	/* for SNI and the certificate check */
	int		 insecure_skip_verify;
};

/* The full current target set of one service. */
struct targets_rec {
	char		*service;
	char		*endpoint;	/* "/errors" */
	int64_t		 interval_ms;
	int64_t		 timeout_ms;
	struct target	*targets;
	size_t		 ntargets;
	struct http_auth auth;	/* the optional "auth" member */
	struct targets_tls tls;		/* the optional "tls" member */
};

/* One scrape of one target. */
struct scrape_rec {
	char		*service;
	char		*target;	/* the address */
	char		*url;
	char		*target_uuid;	/* from the payload; NULL when absent */
	int64_t		 at;		/* ms since the epoch: when it started */
	double		 duration_ms;
	int		 http_status;	/* 0: no HTTP answer */
	int64_t		 body_bytes;
	int		 ok;
	/*
	 * ok: the target answered the body it answered last time, already
	 * reported in full; payload is NULL.
	 */
	int		 unchanged;
	char		*error;		/* !ok: what went wrong */
	struct payload	*payload;	/* ok: the normalised payload */
};

/* The end of one service's scrape round. */
struct round_rec {
	char		*service;
	int64_t		 at;		/* ms: when the round started */
	double		 duration_ms;
	int64_t		 targets;
	int64_t		 ok;
	int64_t		 failed;
};

/* Something the aggregator noticed. */
struct event_rec {
	char		*kind;		/* new_error, regression, target_down, target_up */
	char		*service;
	char		*key;		/* error events; NULL otherwise */
	char		*target;	/* target events; NULL otherwise */
	char		*severity;	/* error events; NULL otherwise */
	int64_t		 count;		/* error events: the delta that came in */
	char		*error;		/* target_down: why; NULL otherwise */
	int64_t		 at;		/* ms */
};

struct record {
	enum record_type	type;
	union {
		struct targets_rec	targets;
		struct scrape_rec	scrape;
		struct round_rec	round;
		struct event_rec	event;
	} u;
};

/*
 * Parses one line (len bytes, without the newline).  Returns 0 and fills
 * *rec (release it with record_release), or -1 with a message in err
 * ("not JSON at byte N: ...", "targets line: missing \"service\"", ...).
 * A valid object whose "type" is unknown gives REC_OTHER: forward it.
 */
int	record_parse(const char *line, size_t len, struct record *rec,
	    char *err, size_t errlen);
void	record_release(struct record *);

/* Each appends one line of JSON without the trailing newline. */
void	record_write_targets(struct buf *, const struct targets_rec *);
void	record_write_scrape(struct buf *, const struct scrape_rec *);
void	record_write_round(struct buf *, const struct round_rec *);
void	record_write_event(struct buf *, const struct event_rec *);

void	targets_rec_release(struct targets_rec *);
void	scrape_rec_release(struct scrape_rec *);
void	event_rec_release(struct event_rec *);

#endif
