/* SPDX-License-Identifier: Apache-2.0 */
/* The C client library: exceptions collected in process, as Periskop JSON. */
#ifndef PERISKOP_H
#define PERISKOP_H

/*
 * An application reports each exception it handles to a collector; the
 * collector keeps, per aggregation key, the number of occurrences since
 * the process started and the last PERISKOP_KEEP of them.  The
 * application serves periskop_export's text at an HTTP endpoint (by
 * convention GET /errors) where a Periskop server scrapes it.
 *
 *	struct periskop_collector *c = periskop_collector_new();
 *	struct periskop_exception e = { "io.Timeout", "read took 3 s" };
 *
 *	periskop_report(c, "io.Timeout@fetch", &e, PERISKOP_SEV_ERROR, NULL);
 *	body = periskop_export(c, &len);	(serve it, then free(body))
 *	periskop_collector_free(c);
 *
 * Every function may be called from any thread at any time: a collector
 * has its own lock.  Memory is bounded by the number of keys times
 * PERISKOP_KEEP occurrences.  Nothing here prints or exits; the only
 * fatal error is running out of memory (the process aborts).
 *
 * Link with the output of `pkg-config --libs periskop`.
 */

#include <stddef.h>
#include <stdint.h>

#define PERISKOP_VERSION	"0.1.0"
/* Occurrences kept per key, as the other Periskop client libraries. */
#define PERISKOP_KEEP		10

/* The values and the order of the server's severities. */
enum periskop_severity {
	PERISKOP_SEV_ERROR = 0,
	PERISKOP_SEV_WARNING,
	PERISKOP_SEV_INFO
};

struct periskop_header {
	const char	*name;
	const char	*value;
};

/* The request being served when the exception happened; all borrowed. */
struct periskop_http_context {
	const char			*method;	/* "GET"; NULL: "" */
	const char			*url;		/* NULL: "" */
	const struct periskop_header	*headers;	/* nheaders of them */
	size_t				 nheaders;
	const char			*body;		/* NULL: none */
};

/*
 * One exception and what caused it.  Everything is borrowed and copied
 * by periskop_report, so stack buffers are fine.  NULL strings are
 * reported as "".  Cause chains deeper than 64 are cut.
 */
struct periskop_exception {
	const char				*class;
	const char				*message;
	const char *const			*stacktrace;	/* frames */
	size_t					 nstacktrace;
	const struct periskop_exception		*cause;		/* or NULL */
};

struct periskop_collector;

/* A new, empty collector; free it with periskop_collector_free. */
struct periskop_collector *periskop_collector_new(void);
/* Frees the collector and all it holds; NULL is a no-op. */
void	periskop_collector_free(struct periskop_collector *);

/*
 * Counts one occurrence of e under key and keeps it (the oldest of the
 * key's PERISKOP_KEEP goes).  A NULL or empty key becomes
 * "class@hash-of-the-stack-trace", so the same failure at the same place
 * aggregates.  http may be NULL.  The key's severity becomes sev.
 * Returns 0, or -1 when c or e is NULL or sev is out of range.
 */
int	periskop_report(struct periskop_collector *c, const char *key,
	    const struct periskop_exception *e, enum periskop_severity sev,
	    const struct periskop_http_context *http);

/*
 * The collector's state in the Periskop JSON format, the body of
 * GET /errors: {"target_uuid":"...","aggregated_errors":[...]} with
 * RFC 3339 UTC timestamps, keys in the order first reported.  Returns a
 * NUL-terminated string the caller frees (its length in *len when len is
 * not NULL).
 */
char	*periskop_export(struct periskop_collector *c, size_t *len);

/* The total count of key so far, 0 when never reported. */
int64_t	periskop_count(struct periskop_collector *c, const char *key);

/*
 * Calls fn for each key, in the order first reported, with its total and
 * severity, under the collector's lock (fn must not call back into c).
 * Stops early and returns fn's value when it is not 0; else returns 0.
 */
int	periskop_foreach(struct periskop_collector *c,
	    int (*fn)(const char *key, enum periskop_severity sev,
	    int64_t total, void *arg), void *arg);

/*
 * This process's target_uuid: random (version 4), made once per
 * process, the same for every collector.  A static string.
 */
const char *periskop_target_uuid(void);

/*
 * Sends the collector's payload, as periskop_export makes it, to a push
 * gateway: POST gateway/errors (gateway is its base URL, such as
 * "http://127.0.0.1:7878", as the other client libraries take it; a URL
 * already ending in /errors is kept), with "Authorization: Bearer token"
 * when token is not NULL, within timeout_ms (10 s when 0 or less).
 * Counts are cumulative, so pushing again, or retrying a failed push,
 * never counts anything twice.  For short-lived programs: call it before
 * exit.  Returns 0 once the gateway answered 2xx (it has stored the
 * push), else -1 with what failed in err (the URL, the transport error
 * or the status and the first line of the gateway's answer).  The
 * process must link libcurl; it calls curl_global_init, which is not
 * thread-safe before libcurl 7.84.
 */
int	periskop_push(struct periskop_collector *c, const char *gateway,
	    const char *token, long timeout_ms, char *err, size_t errlen);

#endif
