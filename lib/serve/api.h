/* SPDX-License-Identifier: Apache-2.0 */
/* periskop-serve's HTTP API as a pure function of the request. */
#ifndef PERISKOP_API_H
#define PERISKOP_API_H

#include <stddef.h>

#include "buf.h"
#include "db.h"

struct periskop_collector;

/*
 * Occurrences per error in the list: the original's
 * numberOfOccurrencesPerError, 100 since its December 2020 change.
 */
#define API_OCCURRENCES		100
/* Occurrences in the detail of one error. */
#define API_DETAIL_OCCURRENCES	100
/* Request bodies above this size are refused with 413. */
#define API_MAX_BODY		(1024 * 1024)

/* Settings, borrowed for the server's lifetime. */
struct api_conf {
	const char	*ui_dir;	/* static files; NULL: no UI folder */
	const char	*cors_origin;	/* NULL: no CORS headers */
	const char	*token;		/* NULL: writes from loopback only */
	int		 read_only;	/* refuse writes with 403 */
	int		 metrics_no_target; /* /metrics sums over targets */
	/* A file of metrics in Prometheus text added to /metrics (notify's). */
	const char	*extra_metrics;
	/*
	 * Where serve's own failures (5xx answers) are reported and what
	 * GET /errors exports; NULL: not recorded, /errors is empty.
	 */
	struct periskop_collector *self;
};

/* One request; everything borrowed. */
struct api_req {
	const char	*method;	/* "GET", "DELETE", ... */
	const char	*target;	/* raw path and query, still escaped */
	const char	*authorization;	/* the header, or NULL */
	int		 loopback;	/* the client is on loopback */
};

struct api_header {
	char	*name;
	char	*value;
};

/*
 * A rendered body shared by the cache and the responses in flight:
 * immutable once made, freed when the last reference goes.
 */
struct api_blob {
	char	*p;
	size_t	 len;
	long	 refs;
};

struct api_blob	*api_blob_ref(struct api_blob *);
/* Drops one reference; NULL is a no-op. */
void		 api_blob_unref(struct api_blob *);

/*
 * The answer.  content_type is a static string (NULL for an empty 204);
 * the body and the headers are owned by the response: api_resp_release.
 * When blob is not NULL it is the body (and body is empty): the response
 * holds one reference.  api_resp_body gives either.
 */
struct api_resp {
	int			 status;
	const char		*content_type;
	struct buf		 body;
	struct api_blob		*blob;
	struct api_header	*headers;
	size_t			 nheaders;
};

/* Starts a response with the security headers every response carries. */
void	api_resp_init(struct api_resp *);
void	api_resp_release(struct api_resp *);
/* Appends a header; name and value are copied. */
void	api_resp_header(struct api_resp *, const char *name,
	    const char *value);
/* The value of the first header called name (case-insensitive), or NULL. */
const char *api_resp_get(const struct api_resp *, const char *name);
/* The body's bytes (borrowed from the response) and their number. */
const char *api_resp_body(const struct api_resp *, size_t *len);

/*
 * Answers req into resp (initialised by the caller).  db may be NULL when
 * the database cannot be opened: the routes needing it answer 503.
 * Never fails: every problem is a status code and a text/plain message.
 */
void	api_handle(const struct api_conf *, struct db *,
	    const struct api_req *, struct api_resp *);

/*
 * Rendered JSON of the read routes (services, error lists, targets),
 * kept while db_generation says the database has not changed.  One cache
 * per database handle, used by one thread at a time: generations of
 * different SQLite connections are not comparable.
 */
struct api_cache;

struct api_cache *api_cache_new(void);
void	api_cache_free(struct api_cache *);
/* api_handle, answering from cache (NULL: none) when it can. */
void	api_handle_cached(const struct api_conf *, struct db *,
	    struct api_cache *, const struct api_req *, struct api_resp *);

/* The Content-Type for a file name, by its extension. */
const char *api_mime_type(const char *name);

#endif
