/* SPDX-License-Identifier: Apache-2.0 */
/* The storage layer: one schema, several engines, named by a URI. */
#ifndef PERISKOP_DB_H
#define PERISKOP_DB_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct db;

/*
 * Opens the database a URI names: a plain path or "sqlite:PATH" for
 * SQLite (created if missing, WAL mode, busy timeout), "postgres://...",
 * "postgresql://..." or a libpq "host=... dbname=..." string for
 * PostgreSQL.  Applies pending schema migrations, safely when several
 * tools start at once.  Returns NULL with a message in err; *transient
 * (when not NULL) is set to 1 when trying again later may help (server
 * down, database locked) and 0 when it will not (bad URI, newer schema).
 * When the file itself is unusable (missing folder, not a database, no
 * permission) errno is nonzero, else 0: programs exit 66 or 78 on it.
 * "memory:" is an in-memory SQLite database private to the process.
 */
struct db	*db_open(const char *uri, int *transient, char *err,
		    size_t errlen);
void		 db_close(struct db *);
/*
 * The environment variable that names the database when --db does not, in
 * every program; it comes before a configuration's repository block.
 */
#define DB_URI_ENV	"PERISKOP_DB"
/* Its value, or NULL when it is unset or empty. */
const char	*db_uri_from_env(void);
/*
 * The rule of every program: the flag's URI, else PERISKOP_DB's, else
 * the configuration's repository (conf may be NULL), else NULL.  A new
 * string the caller frees.
 */
struct conf;
char		*db_uri_choose(const char *flag, const struct conf *conf);
/*
 * The exit status of a program whose db_open failed, errno as db_open
 * left it: 69 (EX_UNAVAILABLE) when trying later may help, 66
 * (EX_NOINPUT) when the file is unusable, 78 (EX_CONFIG) otherwise.
 */
int		 db_open_status(int transient);
/*
 * A copy of uri fit for a log: the password of a PostgreSQL or MySQL URI,
 * DSN or conninfo string replaced by "xxx".  The caller frees it.
 */
char		*db_uri_redacted(const char *uri);
/* "sqlite", "postgres" or "mysql". */
const char	*db_engine(const struct db *);
/* The rows written through the handle since it was opened (sql.h). */
int64_t		 db_rows_written(const struct db *);

/* -- Reading, for periskop-serve.  Everything returned is owned by the caller. */

struct db_occurrence {
	char		*uuid;
	int64_t		 timestamp;	/* ms */
	enum severity	 severity;
	char		*error_json;	/* error_info_write_json's text */
	char		*http_json;	/* http_context_write_json's, or NULL */
};

struct db_error {
	char			*key;
	int64_t			 total_count;
	enum severity		 severity;
	int64_t			 created_at;	/* ms: the API's created_at */
	int64_t			 first_seen;	/* ms: oldest occurrence stored */
	int64_t			 last_seen;	/* ms: newest occurrence */
	char			*status;	/* unresolved, resolved, ignored */
	int			 regressed;
	int64_t			 regressed_at;	/* ms, or TIME_NONE */
	struct db_occurrence	*occ;		/* newest first */
	size_t			 nocc;
};

struct db_error_list {
	struct db_error	*v;
	size_t		 n;
};

struct db_target_info {
	char	*service;
	char	*address;
	char	*url;
	char	*endpoint;	/* the service's scrape path, "/errors" */
	int	 up;		/* -1: not scraped yet */
	int64_t	 last_scrape;	/* ms, or TIME_NONE */
	double	 duration_ms;
	char	*last_error;	/* NULL when the last scrape was ok */
};

struct db_target_list {
	struct db_target_info	*v;
	size_t			 n;
};

/* Every known service, sorted by name.  Free with db_strings_free. */
int	db_services(struct db *, char ***names, size_t *n, char *err,
	    size_t errlen);
void	db_strings_free(char **, size_t);
/* 1 when the service is known, 0 when not, -1 on error. */
int	db_service_exists(struct db *, const char *service, char *err,
	    size_t errlen);
/*
 * The service's errors that are not resolved (with_resolved: all of
 * them), each with at most nocc occurrences, newest first; the list is
 * sorted by last_seen, newest first, then by key.
 */
int	db_errors(struct db *, const char *service, size_t nocc,
	    int with_resolved, struct db_error_list *, char *err,
	    size_t errlen);
void	db_error_list_release(struct db_error_list *);
/* 1: resolved, 0: no such service or key, -1: error. */
int	db_resolve(struct db *, const char *service, const char *key,
	    char *err, size_t errlen);
/* Every current target, sorted by service then address. */
int	db_targets(struct db *, struct db_target_list *, char *err,
	    size_t errlen);
void	db_target_list_release(struct db_target_list *);

/* -- Additions for the API beyond the original (issue 5 implements them). */

/*
 * One error, with at most nocc occurrences, whatever its status.
 * 1: found (release with db_error_release), 0: unknown service or key,
 * -1: error.
 */
int	db_error_get(struct db *, const char *service, const char *key,
	    size_t nocc, struct db_error *out, char *err, size_t errlen);
void	db_error_release(struct db_error *);
/*
 * Sets an error's status: "unresolved" (reopen), "resolved" or "ignored"
 * (muted: keeps counting, hidden by default).  1 / 0 unknown / -1.
 */
int	db_set_status(struct db *, const char *service, const char *key,
	    const char *status, char *err, size_t errlen);

/* Counts over time: buckets of bucket_ms starting at start, oldest first. */
struct db_bucket {
	int64_t	start;		/* ms */
	int64_t	count;
};

/*
 * The occurrences counted since since_ms, in buckets of bucket_ms
 * (60000 for the last day, 3600000 for the last two weeks), for one key
 * or, with key NULL, the whole service.  Empty buckets are included, so
 * *n is (now - since) / bucket_ms rounded up.  0 or -1.
 */
int	db_counts(struct db *, const char *service, const char *key,
	    int64_t since_ms, int64_t bucket_ms, struct db_bucket **v,
	    size_t *n, char *err, size_t errlen);

/* Which targets reported an error, with their accumulated counts. */
struct db_instance {
	char	*target;	/* address */
	int64_t	 count;		/* accumulated */
	int64_t	 last_raw;	/* the client's last total_count */
};

int	db_instances(struct db *, const char *service, const char *key,
	    struct db_instance **v, size_t *n, char *err, size_t errlen);
void	db_instances_free(struct db_instance *, size_t);

/* One periskop_error_occurrences sample. */
struct db_metric {
	const char	*service;	/* borrowed for the callback's duration */
	const char	*target;
	const char	*key;
	enum severity	 severity;
	int64_t		 count;
};

/* Calls fn for every (service, target, key), sorted; stops when fn != 0. */
int	db_metrics(struct db *, int (*fn)(const struct db_metric *, void *),
	    void *arg, char *err, size_t errlen);

/* Scrape statistics per service, from the round lines. */
struct db_service_stats {
	char	*service;
	int64_t	 targets;		/* current targets */
	int64_t	 up;			/* of which the last scrape was ok */
	int64_t	 rounds_total;
	int64_t	 scrapes_total;
	int64_t	 scrape_failures_total;
	double	 last_round_ms;		/* duration of the last round */
	int64_t	 last_round_at;		/* ms, or TIME_NONE */
};

int	db_service_stats(struct db *, struct db_service_stats **v, size_t *n,
	    char *err, size_t errlen);
void	db_service_stats_free(struct db_service_stats *, size_t);

/*
 * A number that changes whenever any tool commits a change to the
 * database, cheap enough to ask on every request (SQLite: PRAGMA
 * data_version plus this connection's own commits; PostgreSQL: a counter
 * row bumped by every commit).  Serve caches rendered JSON under it.
 */
int	db_generation(struct db *, int64_t *gen, char *err, size_t errlen);

/*
 * Retention: what db_prune deletes, as ages in ms (0 keeps forever).
 * Occurrences older than occurrences_ms, minute buckets older than
 * minutes_ms (default a day), hour buckets older than hours_ms (default
 * 14 days), and the raw counts of targets the aggregator stored nothing
 * for in targets_ms, with the targets no targets line lists any more.
 */
struct db_retention {
	int64_t	occurrences_ms;
	int64_t	minutes_ms;
	int64_t	hours_ms;
	int64_t	targets_ms;
};

/*
 * Occurrences are kept by default: -m bounds them per key already, and
 * clients go on listing old ones, which the original keeps showing.
 */
#define DB_RETAIN_OCCURRENCES	0
#define DB_RETAIN_MINUTES	(86400000LL)
#define DB_RETAIN_HOURS		(14LL * 86400000)
#define DB_RETAIN_TARGETS	(7LL * 86400000)

/*
 * Deletes what is older than the retention allows at now (ms), in one
 * transaction.  Counts and targets age by when they were stored, buckets
 * and occurrences by their own times.
 */
int	db_prune(struct db *, const struct db_retention *, int64_t now,
	    char *err, size_t errlen);
/*
 * Names the shard this handle writes for (at most 63 bytes): a targets
 * line then replaces only the targets the same shard listed.
 */
void	db_set_shard(struct db *, const char *shard);

#endif
