/* SPDX-License-Identifier: Apache-2.0 */
/* The domain operations written once over the driver interface (sql.h). */
#ifndef PERISKOP_STORE_H
#define PERISKOP_STORE_H

#include "db.h"
#include "sql.h"

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
	Q_COUNT_
};

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

#endif
