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
/* "sqlite" or "postgres". */
const char	*db_engine(const struct db *);

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

#endif
