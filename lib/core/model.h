/* SPDX-License-Identifier: Apache-2.0 */
/* The Periskop payload: what a client serves at /errors, parsed and normalised. */
#ifndef PERISKOP_MODEL_H
#define PERISKOP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Limits that keep a hostile payload from exhausting memory or stack. */
#define MODEL_MAX_DEPTH		64	/* JSON nesting, cause chains included */

enum severity {
	SEV_ERROR = 0,		/* the default when a client sends none */
	SEV_WARNING,
	SEV_INFO
};

/* "error", "warning" or "info". */
const char	*severity_name(enum severity);
/* Returns 0 and sets *sev for a known name (case-insensitive), or -1. */
int		 severity_parse(const char *, enum severity *);

struct header {
	char	*name;
	char	*value;
};

struct http_context {
	char		*method;	/* request_method; "" when absent */
	char		*url;		/* request_url; "" when absent */
	struct header	*headers;	/* request_headers, sorted by name;
					   NULL (written null) when absent */
	size_t		 nheaders;
	char		*body;		/* request_body; NULL when absent */
};

struct error_info {
	char			*class;		/* "" when absent */
	char			*message;	/* "" when absent */
	char			**stacktrace;	/* NULL (written null) when
						   absent or null */
	size_t			 nstacktrace;
	struct error_info	*cause;		/* NULL: none */
};

/*
 * An occurrence without a uuid (absent or "", as the original's tests
 * send) gets a stand-in made of this prefix and a hash of its content and
 * time, so that it is de-duplicated like any other; every writer to the
 * outside shows it as the "" it came as (uuid_shown).
 */
#define UUID_STANDIN	"~periskop:"
/* The uuid as the client sent it: "" for a stand-in. */
const char	*uuid_shown(const char *uuid);

struct occurrence {
	struct error_info	 error;
	char			*uuid;		/* or a stand-in, never "" */
	int64_t			 timestamp;	/* ms since the epoch, UTC */
	enum severity		 severity;
	struct http_context	*http;		/* NULL when absent */
};

/* Frees what the occurrence owns (not the struct itself) and zeroes it. */
void	occurrence_release(struct occurrence *);

struct aggregate {
	char			*key;		/* aggregation_key */
	int64_t			 total_count;	/* >= 0 */
	enum severity		 severity;
	int64_t			 created_at;	/* ms, or TIME_NONE */
	struct occurrence	*latest;	/* latest_errors, newest first */
	size_t			 nlatest;
};

struct payload {
	char			*target_uuid;	/* NULL when absent */
	struct aggregate	*aggs;		/* aggregated_errors */
	size_t			 naggs;
};

/*
 * Parses, validates and normalises a client's /errors body (len bytes, no
 * NUL needed).  Accepts every variation real clients send (DESIGN.md,
 * "Testing against real references").  Returns a new payload owned by the
 * caller (payload_free), or NULL with a message in err such as
 * "not JSON at byte 17: ..." or
 * "not a Periskop payload: aggregated_errors[2].total_count: negative".
 */
struct payload	*payload_parse(const char *buf, size_t len, char *err,
		    size_t errlen);
void		 payload_free(struct payload *);

/*
 * Writers of the normal form (timestamps RFC 3339 UTC, every field
 * present, defaults filled in).  Strings are escaped with buf_addjstr.
 */
void	payload_write_json(struct buf *, const struct payload *);
/* Only the aggregated_errors array. */
void	aggregates_write_json(struct buf *, const struct aggregate *, size_t);
/* {"class","message","stacktrace","cause"} with the cause chain. */
void	error_info_write_json(struct buf *, const struct error_info *);
/* {"request_method","request_url","request_headers","request_body"}. */
void	http_context_write_json(struct buf *, const struct http_context *);

#endif
