/* SPDX-License-Identifier: Apache-2.0 */
/* The domain operations written once over the driver interface (sql.h). */
#ifndef PERISKOP_STORE_H
#define PERISKOP_STORE_H

#include "db.h"
#include "model.h"
#include "sql.h"

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

/* The statement slots of the store's SQL; fewer than SQL_SLOTS. */
enum store_slot {
	Q_SERVICES,
	Q_SERVICE_EXISTS,
	Q_ERRORS,
	Q_ERRORS_ALL,
	Q_ERROR_ONE,
	Q_OCCS,
	Q_TARGETS,
	Q_MINUTES,
	Q_MINUTES_KEY,
	Q_HOURS,
	Q_HOURS_KEY,
	Q_INSTANCES,
	Q_METRICS,
	Q_STATS,
	Q_RESOLVE,
	Q_SET_STATUS,
	Q_SERVICE_TOUCH,
	Q_TARGETS_MARK,
	Q_TARGET_PUT,
	Q_TARGETS_SWEEP,
	Q_ERROR_GET,
	Q_ERROR_PUT,
	Q_OCC_OLDEST,
	Q_OCC_TRIM,
	Q_MINUTE_ADD,
	Q_HOUR_ADD,
	Q_ROUND_PUT,
	Q_GENERATION,
	Q_BUMP,
	Q_PRUNE_OCC,
	Q_PRUNE_MIN,
	Q_PRUNE_HOUR,
	Q_COUNTS_NEWEST,
	Q_PRUNE_COUNTS_OLD,
	Q_PRUNE_COUNTS_DROP,
	Q_PRUNE_COUNTS_SET,
	Q_BASE_TRIM,
	Q_METRICS_SEVERITY,
	Q_PACK_CLEAR,
	Q_PACK_READ,
	Q_PRUNE_TARGETS,
	/* schema.c's. */
	Q_HAS_COLUMN,
	Q_HAS_INDEX,
	Q_VERSION,
	Q_VERSION_NEW,
	Q_VERSION_SET,
	/* batch.h's: six statements in six sizes. */
	Q_BATCH,
	Q_COUNT_ = Q_BATCH + 6 * 6
};
_Static_assert(Q_COUNT_ <= SQL_SLOTS, "more statements than slots");

/* The reads of db.h (db.c has cleared the outputs). */
int	store_services(struct db *, char ***, size_t *, char *, size_t);
int	store_service_exists(struct db *, const char *, char *, size_t);
int	store_errors(struct db *, const char *service, size_t nocc,
	    int with_resolved, struct db_error_list *, char *, size_t);
int	store_error_one(struct db *, const char *service, const char *key,
	    size_t nocc, struct db_error *, char *, size_t);
int	store_targets(struct db *, struct db_target_list *, char *, size_t);
/* Rows of error_minutes (hourly: error_hours) since since_ms. */
int	store_bucket_rows(struct db *, const char *service, const char *key,
	    int hourly, int64_t since_ms,
	    void (*fn)(int64_t start, int64_t count, void *), void *,
	    char *, size_t);
int	store_instances(struct db *, const char *, const char *,
	    struct db_instance **, size_t *, char *, size_t);
int	store_metrics(struct db *, int (*)(const struct db_metric *, void *),
	    void *, char *, size_t);
int	store_service_stats(struct db *, struct db_service_stats **, size_t *,
	    char *, size_t);

/*
 * The writes.  resolve and set_status run in their own transaction
 * unless one is open and bump the generation when they changed a row;
 * the others run inside the aggregator's (store.h tells what each
 * does).
 */
int	store_resolve(struct db *, const char *service, const char *key,
	    char *, size_t);
int	store_set_status(struct db *, const char *service, const char *key,
	    const char *status, char *, size_t);
int	store_service_touch(struct db *, const char *service, int64_t now,
	    char *, size_t);
int	store_targets_mark(struct db *, const char *service, char *, size_t);
int	store_target_put(struct db *, const char *service,
	    const char *address, const char *url, const char *endpoint,
	    const char *labels_json, char *, size_t);
int	store_targets_sweep(struct db *, const char *service, char *, size_t);
/* 1 and *row filled (service and key left alone) or 0 when new. */
int	store_error_get(struct db *, const char *service, const char *key,
	    struct db_error_row *row, char *, size_t);
/*
 * Inserts the row, or adds delta to the stored total (commutative, so
 * two writers racing to insert one key still add up), widens created_at
 * / first_seen / last_seen, adds rounds and overwrites severity and the
 * status columns.  row->total_count is ignored.  1 when the row was
 * inserted, 0 when it was updated.
 */
int	store_error_put(struct db *, const struct db_error_row *,
	    int64_t delta, char *, size_t);
/* Stores the n occurrences of a key but those whose uuid it has. */
int	store_occurrences_add(struct db *, const char *service,
	    const char *key, const struct db_occurrence *, size_t n, char *,
	    size_t);
/* Keeps only the newest max occurrences of the key. */
int	store_occurrences_trim(struct db *, const char *service,
	    const char *key, size_t max, char *, size_t);
/* error_minutes[minute] += delta; error_hours[hour] += delta. */
int	store_minute_add(struct db *, const char *service, const char *key,
	    int64_t minute_ms, int64_t delta, char *, size_t);
int	store_hour_add(struct db *, const char *service, const char *key,
	    int64_t hour_ms, int64_t delta, char *, size_t);
/*
 * A round's counts and health, many rows per statement.  store_counts
 * stores last_raw = raw for each row, adds the delta to the accumulated
 * count and returns it in delta[i]: raw - the last raw, or raw when new
 * or when the count went down.  store_health stores each scrape's
 * outcome, creating the rows of targets never listed, and returns the
 * state before in prev_up[i]: 1, 0, or -1 when unknown.  No (service,
 * target_id, key) and no (service, address) twice in one call.
 */
int	store_counts(struct db *, const struct db_count_row *, size_t n,
	    int64_t *delta, char *, size_t);
int	store_health(struct db *, const struct db_health *, size_t n,
	    int *prev_up, char *, size_t);
/*
 * Appends the entries of a target_baselines row's counts (packed.h), or
 * -1 with a message naming the row: not what the store writes.
 */
struct packed;
int	store_packed_read(struct db *, struct packed *, const char *what,
	    const char *service, const char *target, int64_t part,
	    const char *text, char *, size_t);
/*
 * Packs the rows of schema 6's target_counts into target_baselines
 * (schema.c's step 7), writing over rows already there.
 */
int	store_counts_pack(struct db *, char *, size_t);
/* Adds one round line to the service's statistics. */
int	store_round_put(struct db *, const char *service, int64_t at,
	    double duration_ms, int64_t targets, int64_t failed, char *,
	    size_t);

/*
 * Has the engine read the statistics of the round's tables when it
 * needs them and store_counts added at least min rows since it last did
 * (outside a transaction).
 */
int	store_analyze(struct db *, int64_t min, char *, size_t);

/* Transactions, through the driver; begin takes the write lock. */
int	store_begin(struct db *, char *, size_t);
int	store_commit(struct db *, char *, size_t);
void	store_rollback(struct db *);
/* Marks the transaction as a change for db_generation. */
int	store_bump(struct db *, char *, size_t);
int	store_generation(struct db *, int64_t *, char *, size_t);
/*
 * Deletes occurrences older than occ_before, minute buckets older than
 * min_before, hour buckets older than hour_before (ms; 0 leaves that
 * kind alone), and, by their stored times, unlisted targets not stored
 * since target_before and the counts not stored since target_before
 * nor in the target_ms before their service's newest count.  Runs in
 * its own transaction.
 */
int	store_prune(struct db *, int64_t occ_before, int64_t min_before,
	    int64_t hour_before, int64_t target_before, int64_t target_ms,
	    char *, size_t);

#endif
