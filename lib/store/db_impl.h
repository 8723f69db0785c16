/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engines' handle, and the batched fast paths each engine still
 * fills; everything else goes through the driver of sql.h.
 */
#ifndef PERISKOP_DB_IMPL_H
#define PERISKOP_DB_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "model.h"
#include "sql.h"

/*
 * Every engine's handle starts with this struct, so the store reaches
 * the engine's driver without knowing the engine.
 */
struct db {
	const struct sql_driver	*drv;
	char			*sql[SQL_SLOTS];	/* in drv's dialect */
	/*
	 * Set by the engine on every failure: 1 when the same transaction
	 * may succeed if tried again (lost connection, deadlock, busy).
	 */
	int			 transient;
	/*
	 * The shard this handle writes for ("" when none): a targets line
	 * replaces only the targets its own shard listed, so aggregators
	 * sharing one database do not delete each other's targets.
	 */
	char			 shard[64];
};

/* One row of the errors table, as the aggregator reads and writes it. */
struct db_error_row {
	const char	*service;	/* borrowed */
	const char	*key;		/* borrowed */
	int64_t		 total_count;
	enum severity	 severity;
	int64_t		 created_at;	/* ms a client reported, or TIME_NONE */
	int64_t		 first_seen;	/* ms: oldest occurrence or TIME_NONE */
	int64_t		 last_seen;	/* ms: newest occurrence or TIME_NONE */
	int64_t		 inserted;	/* ms: when the row was first stored */
	char		 status[16];	/* unresolved, resolved, ignored */
	int64_t		 resolved_at;	/* ms, or TIME_NONE */
	int		 regressed;
	int64_t		 regressed_at;	/* ms, or TIME_NONE */
	int64_t		 rounds;	/* transactions that reported it */
};

/*
 * One target's count of one key, for store_counts.  stored is the
 * aggregator's clock when it writes the row, never a time from the
 * input: retention ages a baseline by it, so an archived round replayed
 * any time later still finds its baselines and counts nothing twice.
 */
struct db_count_row {
	const char	*service;
	const char	*target_id;
	const char	*target;
	const char	*key;
	int64_t		 raw;
	int64_t		 stored;	/* ms */
};

/* A target's health after one scrape. */
struct db_health {
	const char	*service;
	const char	*address;
	const char	*url;
	const char	*endpoint;	/* used when the row is new */
	int64_t		 at;		/* ms: the scrape's time */
	int64_t		 stored;	/* ms: the aggregator's clock */
	double		 duration_ms;
	int		 up;
	const char	*error;		/* NULL when up */
};

/* Adds one bucket row to the buckets db_counts returns (db.c). */
struct db_bucket_acc {
	struct db_bucket	*v;
	size_t			 n;
	int64_t			 since;
	int64_t			 width;
};
void	db_bucket_acc_add(int64_t start, int64_t count, void *acc);

/* The engines' constructors; path is the URI without its scheme. */
struct db	*db_sqlite_open(const char *path, int *transient, char *err,
		    size_t errlen);
struct db	*db_pg_open(const char *conninfo, int *transient, char *err,
		    size_t errlen);
/* dsn: "mysql://...", "mariadb://..." or the Go driver's form. */
struct db	*db_mysql_open(const char *dsn, int *transient, char *err,
		    size_t errlen);

#endif
