/* SPDX-License-Identifier: Apache-2.0 */
/* The reads periskop-serve makes, in SQL every engine shares. */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "model.h"
#include "xalloc.h"

/* An error's columns as the API shows them, and the list's order. */
#define ERROR_COLS \
	"`key`, total_count, severity, " \
	"COALESCE(created_at, first_seen, inserted), " \
	"COALESCE(last_seen, created_at, first_seen, inserted), " \
	"status, regressed, regressed_at, " \
	"COALESCE(first_seen, created_at, inserted) "
#define ERROR_ORDER \
	" ORDER BY COALESCE(last_seen, created_at, first_seen, inserted)" \
	" DESC, `key`"

static const char *const sql[Q_COUNT_] = {
	[Q_SERVICES] = "SELECT name FROM services ORDER BY name",
	[Q_SERVICE_EXISTS] = "SELECT 1 FROM services WHERE @name = @?",
	[Q_ERRORS] = "SELECT " ERROR_COLS "FROM errors WHERE @service = @?"
	    " AND status <> 'resolved'" ERROR_ORDER,
	[Q_ERRORS_ALL] = "SELECT " ERROR_COLS "FROM errors"
	    " WHERE @service = @?" ERROR_ORDER,
	[Q_ERROR_ONE] = "SELECT " ERROR_COLS "FROM errors"
	    " WHERE @service = @? AND @`key` = @?",
	[Q_OCCS] = "SELECT uuid, timestamp, severity, error_json, http_json"
	    " FROM occurrences WHERE @service = @? AND @`key` = @?"
	    " ORDER BY timestamp DESC, uuid DESC LIMIT ?",
	[Q_TARGETS] = "SELECT service, address, url, endpoint, up,"
	    " last_scrape, duration_ms, last_error FROM targets"
	    " ORDER BY service, address",
	[Q_MINUTES] = "SELECT minute, SUM(count) FROM error_minutes"
	    " WHERE @service = @? AND minute >= ? GROUP BY minute",
	[Q_MINUTES_KEY] = "SELECT minute, count FROM error_minutes"
	    " WHERE @service = @? AND minute >= ? AND @`key` = @?",
	[Q_HOURS] = "SELECT hour, SUM(count) FROM error_hours"
	    " WHERE @service = @? AND hour >= ? GROUP BY hour",
	[Q_HOURS_KEY] = "SELECT hour, count FROM error_hours"
	    " WHERE @service = @? AND hour >= ? AND @`key` = @?",
	/* A target's last_raw is its most recently stored row's. */
	[Q_INSTANCES] = "SELECT x.t, x.s, (SELECT l.last_raw"
	    " FROM target_counts l WHERE l.@service = @? AND l.@`key` = @?"
	    " AND COALESCE(l.target, l.target_id) = x.t"
	    " ORDER BY COALESCE(l.updated, 0) DESC LIMIT 1)"
	    " FROM (SELECT COALESCE(target, target_id) AS t,"
	    " SUM(accumulated) AS s FROM target_counts"
	    " WHERE @service = @? AND @`key` = @?"
	    " GROUP BY COALESCE(@target, @target_id)) x ORDER BY x.t",
	[Q_METRICS] = "SELECT c.service, COALESCE(c.target, c.target_id),"
	    " c.`key`, e.severity, SUM(c.accumulated) FROM target_counts c"
	    " JOIN errors e ON e.@service = c.@service"
	    " AND e.@`key` = c.@`key`"
	    " GROUP BY c.@service, COALESCE(c.@target, c.@target_id),"
	    " c.@`key`, e.severity ORDER BY 1, 2, 3",
	[Q_STATS] = "SELECT s.name,"
	    " (SELECT COUNT(*) FROM targets t WHERE t.@service = s.@name),"
	    " (SELECT COUNT(*) FROM targets t WHERE t.@service = s.@name"
	    "   AND t.up = 1),"
	    " COALESCE(st.rounds_total, 0), COALESCE(st.scrapes_total, 0),"
	    " COALESCE(st.scrape_failures_total, 0),"
	    " COALESCE(st.last_round_ms, 0), st.last_round_at"
	    " FROM services s LEFT JOIN service_stats st"
	    " ON st.@service = s.@name ORDER BY s.name",
};

#define RUN(db, q, what, ...) \
	sql_run(db, q, sql[q], err, errlen, what, __VA_ARGS__)

static enum severity
col_severity(struct db *db, struct sql_rows *r, int i)
{
	enum severity sev = SEV_ERROR;
	const char *v;

	if ((v = sql_text(db, r, i)) != NULL)
		severity_parse(v, &sev);
	return sev;
}

/* Ends r: 0, or -1 when its last sql_next (rc) failed. */
static int
finish(struct db *db, struct sql_rows *r, int rc)
{
	sql_done(db, r);
	return rc == -1 ? -1 : 0;
}

int
store_services(struct db *db, char ***names, size_t *n, char *err,
    size_t errlen)
{
	static const char what[] = "listing services";
	struct sql_rows *r;
	size_t cap = 0;
	int rc;

	if ((r = RUN(db, Q_SERVICES, what, "")) == NULL)
		return -1;
	while ((rc = sql_next(db, r, err, errlen, what)) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*names = xreallocarray(*names, cap, sizeof(**names));
		}
		(*names)[(*n)++] = sql_strdup(db, r, 0);
	}
	if (finish(db, r, rc) == -1) {
		db_strings_free(*names, *n);
		*names = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int
store_service_exists(struct db *db, const char *service, char *err,
    size_t errlen)
{
	static const char what[] = "looking up a service";
	struct sql_rows *r;
	int rc;

	if ((r = RUN(db, Q_SERVICE_EXISTS, what, "t", service)) == NULL)
		return -1;
	rc = sql_next(db, r, err, errlen, what);
	sql_done(db, r);
	return rc;
}

static void
error_from(struct db *db, struct sql_rows *r, struct db_error *e)
{
	memset(e, 0, sizeof(*e));
	e->key = sql_strdup(db, r, 0);
	e->total_count = sql_int(db, r, 1);
	e->severity = col_severity(db, r, 2);
	e->created_at = sql_time(db, r, 3);
	e->last_seen = sql_time(db, r, 4);
	e->status = sql_strdup(db, r, 5);
	e->regressed = (int)sql_int(db, r, 6);
	e->regressed_at = sql_time(db, r, 7);
	e->first_seen = sql_time(db, r, 8);
}

static int
load_occurrences(struct db *db, const char *service, struct db_error *e,
    size_t nocc, char *err, size_t errlen)
{
	static const char what[] = "listing occurrences";
	struct db_occurrence *o;
	struct sql_rows *r;
	size_t cap = 0;
	int rc;

	if (nocc == 0)
		return 0;
	if ((r = RUN(db, Q_OCCS, what, "ttu", service, e->key, nocc)) == NULL)
		return -1;
	while ((rc = sql_next(db, r, err, errlen, what)) == 1) {
		if (e->nocc == cap) {
			cap = cap ? cap * 2 : 8;
			e->occ = xreallocarray(e->occ, cap, sizeof(*e->occ));
		}
		o = &e->occ[e->nocc++];
		o->uuid = sql_strdup(db, r, 0);
		o->timestamp = sql_int(db, r, 1);
		o->severity = col_severity(db, r, 2);
		o->error_json = sql_strdup(db, r, 3);
		o->http_json = sql_strdup(db, r, 4);
	}
	return finish(db, r, rc);
}

int
store_errors(struct db *db, const char *service, size_t nocc,
    int with_resolved, struct db_error_list *l, char *err, size_t errlen)
{
	static const char what[] = "listing errors";
	struct sql_rows *r;
	size_t cap = 0, i;
	int rc, own;

	/* One snapshot, so errors and occurrences agree. */
	if (db->drv->read_begin(db, &own, err, errlen) == -1)
		return -1;
	if ((r = RUN(db, with_resolved ? Q_ERRORS_ALL : Q_ERRORS, what, "t",
	    service)) == NULL)
		goto bad;
	while ((rc = sql_next(db, r, err, errlen, what)) == 1) {
		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			l->v = xreallocarray(l->v, cap, sizeof(*l->v));
		}
		error_from(db, r, &l->v[l->n++]);
	}
	if (finish(db, r, rc) == -1)
		goto bad;
	for (i = 0; i < l->n; i++)
		if (load_occurrences(db, service, &l->v[i], nocc, err,
		    errlen) == -1)
			goto bad;
	db->drv->read_end(db, own, 1);
	return 0;
bad:
	db->drv->read_end(db, own, 0);
	db_error_list_release(l);
	return -1;
}

int
store_error_one(struct db *db, const char *service, const char *key,
    size_t nocc, struct db_error *e, char *err, size_t errlen)
{
	static const char what[] = "reading an error";
	struct sql_rows *r;
	int own, found;

	memset(e, 0, sizeof(*e));
	if (db->drv->read_begin(db, &own, err, errlen) == -1)
		return -1;
	if ((r = RUN(db, Q_ERROR_ONE, what, "tt", service, key)) == NULL)
		goto bad;
	if ((found = sql_next(db, r, err, errlen, what)) == 1)
		error_from(db, r, e);
	sql_done(db, r);
	if (found == -1 || (found == 1 &&
	    load_occurrences(db, service, e, nocc, err, errlen) == -1))
		goto bad;
	db->drv->read_end(db, own, 1);
	return found;
bad:
	db->drv->read_end(db, own, 0);
	db_error_release(e);
	return -1;
}

int
store_targets(struct db *db, struct db_target_list *l, char *err,
    size_t errlen)
{
	static const char what[] = "listing targets";
	struct db_target_info *t;
	struct sql_rows *r;
	size_t cap = 0;
	int rc;

	if ((r = RUN(db, Q_TARGETS, what, "")) == NULL)
		return -1;
	while ((rc = sql_next(db, r, err, errlen, what)) == 1) {
		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			l->v = xreallocarray(l->v, cap, sizeof(*l->v));
		}
		t = &l->v[l->n++];
		t->service = sql_strdup(db, r, 0);
		t->address = sql_strdup(db, r, 1);
		t->url = sql_strdup(db, r, 2);
		t->endpoint = sql_strdup(db, r, 3);
		if (t->endpoint == NULL)
			t->endpoint = xstrdup("/errors");
		t->up = sql_null(db, r, 4) ? -1 : sql_int(db, r, 4) != 0;
		t->last_scrape = sql_time(db, r, 5);
		t->duration_ms = sql_null(db, r, 6) ? 0 : sql_real(db, r, 6);
		t->last_error = sql_strdup(db, r, 7);
	}
	if (finish(db, r, rc) == -1) {
		db_target_list_release(l);
		return -1;
	}
	return 0;
}

int
store_bucket_rows(struct db *db, const char *service, const char *key,
    int hourly, int64_t since, void (*fn)(int64_t, int64_t, void *),
    void *arg, char *err, size_t errlen)
{
	static const char what[] = "reading counts over time";
	struct sql_rows *r;
	int q, rc;

	if (hourly)
		q = key != NULL ? Q_HOURS_KEY : Q_HOURS;
	else
		q = key != NULL ? Q_MINUTES_KEY : Q_MINUTES;
	if ((r = RUN(db, q, what, key != NULL ? "tit" : "ti", service, since,
	    key)) == NULL)
		return -1;
	while ((rc = sql_next(db, r, err, errlen, what)) == 1)
		fn(sql_int(db, r, 0), sql_int(db, r, 1), arg);
	return finish(db, r, rc);
}

int
store_instances(struct db *db, const char *service, const char *key,
    struct db_instance **v, size_t *n, char *err, size_t errlen)
{
	static const char what[] = "listing instances";
	struct sql_rows *r;
	size_t cap = 0;
	int rc;

	if ((r = RUN(db, Q_INSTANCES, what, "tttt", service, key, service,
	    key)) == NULL)
		return -1;
	while ((rc = sql_next(db, r, err, errlen, what)) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*v = xreallocarray(*v, cap, sizeof(**v));
		}
		(*v)[*n].target = sql_strdup(db, r, 0);
		(*v)[*n].count = sql_int(db, r, 1);
		(*v)[*n].last_raw = sql_int(db, r, 2);
		(*n)++;
	}
	if (finish(db, r, rc) == -1) {
		db_instances_free(*v, *n);
		*v = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int
store_metrics(struct db *db, int (*fn)(const struct db_metric *, void *),
    void *arg, char *err, size_t errlen)
{
	static const char what[] = "reading metrics";
	struct db_metric m;
	struct sql_rows *r;
	int rc;

	if ((r = RUN(db, Q_METRICS, what, "")) == NULL)
		return -1;
	while ((rc = sql_next(db, r, err, errlen, what)) == 1) {
		m.service = sql_text(db, r, 0);
		m.target = sql_text(db, r, 1);
		m.key = sql_text(db, r, 2);
		m.severity = col_severity(db, r, 3);
		m.count = sql_int(db, r, 4);
		if (fn(&m, arg) != 0)
			break;
	}
	return finish(db, r, rc);
}

int
store_service_stats(struct db *db, struct db_service_stats **v, size_t *n,
    char *err, size_t errlen)
{
	static const char what[] = "reading service statistics";
	struct db_service_stats *x;
	struct sql_rows *r;
	size_t cap = 0;
	int rc;

	if ((r = RUN(db, Q_STATS, what, "")) == NULL)
		return -1;
	while ((rc = sql_next(db, r, err, errlen, what)) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*v = xreallocarray(*v, cap, sizeof(**v));
		}
		x = &(*v)[(*n)++];
		x->service = sql_strdup(db, r, 0);
		x->targets = sql_int(db, r, 1);
		x->up = sql_int(db, r, 2);
		x->rounds_total = sql_int(db, r, 3);
		x->scrapes_total = sql_int(db, r, 4);
		x->scrape_failures_total = sql_int(db, r, 5);
		x->last_round_ms = sql_real(db, r, 6);
		x->last_round_at = sql_time(db, r, 7);
	}
	if (finish(db, r, rc) == -1) {
		db_service_stats_free(*v, *n);
		*v = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}
