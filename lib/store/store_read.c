/* SPDX-License-Identifier: Apache-2.0 */
/* The reads periskop-serve makes, in SQL every engine shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "packed.h"
#include "store.h"
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
	[Q_INSTANCES] = "SELECT COALESCE(target, target_id), counts, part"
	    " FROM target_baselines WHERE @service = @?",
	[Q_METRICS_SEVERITY] = "SELECT service, `key`, severity FROM errors",
	[Q_METRICS] = "SELECT service, COALESCE(target, target_id), counts,"
	    " part FROM target_baselines ORDER BY service, 2",
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
store_packed_read(struct db *db, struct packed *p, const char *what,
    const char *service, const char *target, int64_t part, const char *text,
    char *err, size_t errlen)
{
	char why[256];

	if (packed_read(p, text, strlen(text), why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s: service '%s', target '%s', part %lld:"
	    " counts: %s", db->drv->name, what, service, target,
	    (long long)part, why);
	db->transient = 0;
	return -1;
}

/* One target's entry of the key, for store_instances. */
struct seen {
	char	*target;
	int64_t	 count, last_raw, updated;
};

static int
by_target(const void *x, const void *y)
{
	return strcmp(((const struct seen *)x)->target,
	    ((const struct seen *)y)->target);
}

/*
 * A target's count is the sum over its rows, and its last_raw its most
 * recently stored row's: two target ids may carry one address.
 */
int
store_instances(struct db *db, const char *service, const char *key,
    struct db_instance **v, size_t *n, char *err, size_t errlen)
{
	static const char what[] = "listing instances";
	struct seen *s = NULL;
	struct packed p;
	struct sql_rows *r;
	struct buf kb;
	const char *t, *text;
	size_t ns = 0, cap = 0, i, j;
	int rc;

	if ((r = RUN(db, Q_INSTANCES, what, "t", service)) == NULL)
		return -1;
	/* As the rows' JSON keeps it. */
	buf_init(&kb);
	key = buf_utf8_clean(&kb, key);
	packed_init(&p);
	while ((rc = sql_next(db, r, err, errlen, what)) == 1) {
		if ((t = sql_text(db, r, 0)) == NULL ||
		    (text = sql_text(db, r, 1)) == NULL)
			continue;
		packed_reset(&p);
		if (store_packed_read(db, &p, what, service, t,
		    sql_int(db, r, 2), text, err, errlen) == -1) {
			rc = -1;
			break;
		}
		for (i = 0; i < p.n; i++) {
			if (strcmp(p.v[i].key, key) != 0)
				continue;
			if (ns == cap) {
				cap = cap ? cap * 2 : 16;
				s = xreallocarray(s, cap, sizeof(*s));
			}
			s[ns].target = xstrdup(t);
			s[ns].count = p.v[i].accumulated;
			s[ns].last_raw = p.v[i].last_raw;
			s[ns++].updated = p.v[i].updated;
		}
	}
	packed_release(&p);
	buf_release(&kb);
	if (finish(db, r, rc) == 0) {
		if (ns > 1)
			qsort(s, ns, sizeof(*s), by_target);
		*v = xreallocarray(NULL, ns + 1, sizeof(**v));
		for (i = 0; i < ns; i = j) {
			(*v)[*n].target = s[i].target;
			(*v)[*n].count = s[i].count;
			(*v)[*n].last_raw = s[i].last_raw;
			for (j = i + 1; j < ns &&
			    strcmp(s[j].target, s[i].target) == 0; j++) {
				(*v)[*n].count += s[j].count;
				if (s[j].updated > s[i].updated) {
					(*v)[*n].last_raw = s[j].last_raw;
					s[i].updated = s[j].updated;
				}
				free(s[j].target);
			}
			(*n)++;
		}
		free(s);
		return 0;
	}
	for (i = 0; i < ns; i++)
		free(s[i].target);
	free(s);
	return -1;
}

/* An error's severity, which the metrics are labelled with. */
struct sev {
	char		*service, *key;
	enum severity	 severity;
};

static int
sev_cmp(const void *x, const void *y)
{
	const struct sev *a = x, *b = y;
	int c;

	if ((c = strcmp(a->service, b->service)) != 0)
		return c;
	return strcmp(a->key, b->key);
}

static void
sevs_free(struct sev *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].service);
		free(v[i].key);
	}
	free(v);
}

static int
load_severities(struct db *db, struct sev **v, size_t *n, char *err,
    size_t errlen)
{
	static const char what[] = "reading metrics";
	struct sql_rows *r;
	struct buf kb;
	size_t cap = 0;
	int rc;

	if ((r = RUN(db, Q_METRICS_SEVERITY, what, "")) == NULL)
		return -1;
	buf_init(&kb);
	while ((rc = sql_next(db, r, err, errlen, what)) == 1) {
		if (sql_null(db, r, 0) || sql_null(db, r, 1))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*v = xreallocarray(*v, cap, sizeof(**v));
		}
		(*v)[*n].service = sql_strdup(db, r, 0);
		/* Found by the key as the rows' JSON keeps it. */
		(*v)[*n].key = xstrdup(buf_utf8_clean(&kb, sql_text(db, r, 1)));
		(*v)[(*n)++].severity = col_severity(db, r, 2);
	}
	buf_release(&kb);
	if (*n > 1)
		qsort(*v, *n, sizeof(**v), sev_cmp);
	return finish(db, r, rc);
}

/*
 * One target's series: the entries of its rows summed by key, each key
 * that is an error's.  fn's answer, when not 0.
 */
static int
emit_target(struct packed *p, const char *service, const char *target,
    const struct sev *sv, size_t nsv, int (*fn)(const struct db_metric *,
    void *), void *arg)
{
	struct db_metric m;
	struct sev want;
	const struct sev *e;
	size_t i, j;
	int x;

	packed_sort(p);
	m.service = service;
	m.target = target;
	want.service = (char *)service;
	for (i = 0; i < p->n; i = j) {
		m.count = p->v[i].accumulated;
		for (j = i + 1; j < p->n &&
		    strcmp(p->v[j].key, p->v[i].key) == 0; j++)
			m.count += p->v[j].accumulated;
		want.key = (char *)p->v[i].key;
		if ((e = bsearch(&want, sv, nsv, sizeof(*sv), sev_cmp)) ==
		    NULL)
			continue;
		m.key = p->v[i].key;
		m.severity = e->severity;
		if ((x = fn(&m, arg)) != 0)
			return x;
	}
	return 0;
}

int
store_metrics(struct db *db, int (*fn)(const struct db_metric *, void *),
    void *arg, char *err, size_t errlen)
{
	static const char what[] = "reading metrics";
	struct sev *sv = NULL;
	struct packed p;
	struct sql_rows *r;
	const char *s, *t, *text;
	char *service = NULL, *target = NULL;
	size_t nsv = 0;
	int rc, stop = 0;

	if (load_severities(db, &sv, &nsv, err, errlen) == -1) {
		sevs_free(sv, nsv);
		return -1;
	}
	if ((r = RUN(db, Q_METRICS, what, "")) == NULL) {
		sevs_free(sv, nsv);
		return -1;
	}
	packed_init(&p);
	while ((rc = sql_next(db, r, err, errlen, what)) == 1) {
		if ((s = sql_text(db, r, 0)) == NULL ||
		    (t = sql_text(db, r, 1)) == NULL ||
		    (text = sql_text(db, r, 2)) == NULL)
			continue;
		if (service == NULL || strcmp(s, service) != 0 ||
		    strcmp(t, target) != 0) {
			if (service != NULL && (stop = emit_target(&p, service,
			    target, sv, nsv, fn, arg)) != 0)
				break;
			free(service);
			free(target);
			service = xstrdup(s);
			target = xstrdup(t);
			packed_reset(&p);
		}
		if (store_packed_read(db, &p, what, s, t, sql_int(db, r, 3),
		    text, err, errlen) == -1) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && !stop && service != NULL)
		emit_target(&p, service, target, sv, nsv, fn, arg);
	packed_release(&p);
	free(service);
	free(target);
	sevs_free(sv, nsv);
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
