/* SPDX-License-Identifier: Apache-2.0 */
/* The aggregation rules over the engine table: deltas, totals, events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "buf.h"
#include "db_impl.h"
#include "model.h"
#include "record.h"
#include "timefmt.h"
#include "xalloc.h"

/* Bounds on one transaction when no round line comes to end it. */
#define TXN_MAX_SCRAPES	5000
#define TXN_MAX_MS	2000.0

struct aggregator {
	struct db		*db;
	const struct db_ops	*ops;
	size_t			 max_occ;
	agg_event_fn		 fn;
	void			*arg;
	int			 in_txn;
	size_t			 nscrapes;
	double			 began;		/* time_mono_ms at BEGIN */
	struct event_rec	*ev;		/* waiting for the commit */
	size_t			 nev;
	size_t			 evcap;
};

struct aggregator *
aggregator_new(struct db *db, const struct agg_options *opt, agg_event_fn fn,
    void *arg)
{
	struct aggregator *a;

	a = xcalloc(1, sizeof(*a));
	a->db = db;
	a->ops = db->ops;
	a->max_occ = opt != NULL && opt->max_occurrences > 0 ?
	    opt->max_occurrences : 100;
	a->fn = fn;
	a->arg = arg;
	return a;
}

static void
event_free(struct event_rec *e)
{
	free(e->kind);
	free(e->service);
	free(e->key);
	free(e->target);
	free(e->severity);
	free(e->error);
}

static void
drop_events(struct aggregator *a)
{
	size_t i;

	for (i = 0; i < a->nev; i++)
		event_free(&a->ev[i]);
	a->nev = 0;
}

void
aggregator_free(struct aggregator *a)
{
	if (a == NULL)
		return;
	if (a->in_txn)
		a->ops->rollback(a->db);
	drop_events(a);
	free(a->ev);
	free(a);
}

static struct event_rec *
event_add(struct aggregator *a, const char *kind, const char *service,
    int64_t at)
{
	struct event_rec *e;

	if (a->nev == a->evcap) {
		a->evcap = a->evcap ? a->evcap * 2 : 16;
		a->ev = xreallocarray(a->ev, a->evcap, sizeof(*a->ev));
	}
	e = &a->ev[a->nev++];
	memset(e, 0, sizeof(*e));
	e->kind = xstrdup(kind);
	e->service = xstrdup(service);
	e->at = at;
	return e;
}

static void
fail_txn(struct aggregator *a)
{
	if (a->in_txn)
		a->ops->rollback(a->db);
	a->in_txn = 0;
	a->nscrapes = 0;
	drop_events(a);
}

static int
ensure_txn(struct aggregator *a, char *err, size_t errlen)
{
	if (a->in_txn)
		return 0;
	if (a->ops->begin(a->db, err, errlen) == -1)
		return -1;
	a->in_txn = 1;
	a->nscrapes = 0;
	a->began = time_mono_ms();
	return 0;
}

int
aggregator_flush(struct aggregator *a, char *err, size_t errlen)
{
	size_t i;

	if (!a->in_txn)
		return 0;
	if (a->ops->commit(a->db, err, errlen) == -1) {
		fail_txn(a);
		return -1;
	}
	a->in_txn = 0;
	a->nscrapes = 0;
	/* Only now are the events true for every reader of the database. */
	for (i = 0; i < a->nev; i++)
		if (a->fn != NULL)
			a->fn(&a->ev[i], a->arg);
	drop_events(a);
	return 0;
}

static char *
labels_json(const struct labelset *l)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	buf_addc(&b, '{');
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			buf_addc(&b, ',');
		buf_addjstr(&b, l->v[i].name);
		buf_addc(&b, ':');
		buf_addjstr(&b, l->v[i].value);
	}
	buf_addc(&b, '}');
	return buf_detach(&b, NULL);
}

static int
apply_targets(struct aggregator *a, const struct targets_rec *t, char *err,
    size_t errlen)
{
	const struct db_ops *o = a->ops;
	char *labels;
	size_t i;
	int rc;

	if (o->service_touch(a->db, t->service, time_now(), err,
	    errlen) == -1 ||
	    o->targets_mark(a->db, t->service, err, errlen) == -1)
		return -1;
	for (i = 0; i < t->ntargets; i++) {
		labels = labels_json(&t->targets[i].labels);
		rc = o->target_put(a->db, t->service, t->targets[i].address,
		    t->targets[i].url, t->endpoint, labels, err, errlen);
		free(labels);
		if (rc == -1)
			return -1;
	}
	return o->targets_sweep(a->db, t->service, err, errlen);
}

/* The path part of a URL, for targets that no targets line listed. */
static char *
url_path(const char *url)
{
	const char *p;

	if (url == NULL || (p = strstr(url, "://")) == NULL)
		return xstrdup("/errors");
	if ((p = strchr(p + 3, '/')) == NULL)
		return xstrdup("/");
	return xstrndup(p, strcspn(p, "?#"));
}

static int
store_occurrences(struct aggregator *a, const char *service,
    const struct aggregate *ag, char *err, size_t errlen)
{
	struct db_occurrence o;
	const struct occurrence *oc;
	struct buf eb, hb;
	size_t i;
	int rc = 0;

	buf_init(&eb);
	buf_init(&hb);
	for (i = 0; i < ag->nlatest && rc == 0; i++) {
		oc = &ag->latest[i];
		buf_reset(&eb);
		buf_reset(&hb);
		error_info_write_json(&eb, &oc->error);
		if (oc->http != NULL)
			http_context_write_json(&hb, oc->http);
		o.uuid = oc->uuid;
		o.timestamp = oc->timestamp;
		o.severity = oc->severity;
		o.error_json = eb.p;
		o.http_json = oc->http != NULL ? hb.p : NULL;
		rc = a->ops->occurrence_add(a->db, service, ag->key, &o, err,
		    errlen);
	}
	buf_release(&eb);
	buf_release(&hb);
	if (rc == -1)
		return -1;
	if (ag->nlatest == 0)
		return 0;
	return a->ops->occurrences_trim(a->db, service, ag->key, a->max_occ,
	    err, errlen);
}

static int
apply_aggregate(struct aggregator *a, const struct scrape_rec *sc,
    const char *target_id, const struct aggregate *ag, char *err,
    size_t errlen)
{
	const struct db_ops *o = a->ops;
	struct db_error_row row;
	struct event_rec *e;
	int64_t last, delta;
	size_t i;
	int found, isnew;

	if ((found = o->count_get(a->db, sc->service, target_id, ag->key,
	    &last, err, errlen)) == -1)
		return -1;
	/* A count that went down means the instance restarted from zero. */
	if (!found || ag->total_count < last)
		delta = ag->total_count;
	else
		delta = ag->total_count - last;
	if (o->count_put(a->db, sc->service, target_id, sc->target, ag->key,
	    ag->total_count, delta, err, errlen) == -1)
		return -1;

	memset(&row, 0, sizeof(row));
	if ((found = o->error_get(a->db, sc->service, ag->key, &row, err,
	    errlen)) == -1)
		return -1;
	isnew = !found;
	if (isnew) {
		row.created_at = row.first_seen = row.last_seen = TIME_NONE;
		row.resolved_at = row.regressed_at = TIME_NONE;
		row.inserted = sc->at;
		snprintf(row.status, sizeof(row.status), "unresolved");
	}
	row.service = sc->service;
	row.key = ag->key;
	row.total_count += delta;
	row.severity = ag->severity;
	if (ag->created_at != TIME_NONE && (row.created_at == TIME_NONE ||
	    ag->created_at < row.created_at))
		row.created_at = ag->created_at;
	for (i = 0; i < ag->nlatest; i++) {
		if (row.first_seen == TIME_NONE ||
		    ag->latest[i].timestamp < row.first_seen)
			row.first_seen = ag->latest[i].timestamp;
		if (row.last_seen == TIME_NONE ||
		    ag->latest[i].timestamp > row.last_seen)
			row.last_seen = ag->latest[i].timestamp;
	}
	/* Only new occurrences reopen a resolved error, never a replay. */
	if (strcmp(row.status, "resolved") == 0 && delta > 0) {
		snprintf(row.status, sizeof(row.status), "unresolved");
		row.regressed = 1;
		row.regressed_at = sc->at;
		e = event_add(a, "regression", sc->service, sc->at);
		e->key = xstrdup(ag->key);
		e->severity = xstrdup(severity_name(ag->severity));
		e->count = delta;
	}
	if (o->error_put(a->db, &row, err, errlen) == -1)
		return -1;
	if (isnew) {
		e = event_add(a, "new_error", sc->service, sc->at);
		e->key = xstrdup(ag->key);
		e->severity = xstrdup(severity_name(ag->severity));
		e->count = delta;
	}
	if (store_occurrences(a, sc->service, ag, err, errlen) == -1)
		return -1;
	if (delta > 0 && o->minute_add(a->db, sc->service, ag->key,
	    sc->at - ((sc->at % 60000) + 60000) % 60000, delta, err,
	    errlen) == -1)
		return -1;
	return 0;
}

static int
apply_scrape(struct aggregator *a, const struct scrape_rec *sc, char *err,
    size_t errlen)
{
	const struct db_ops *o = a->ops;
	struct db_health h;
	struct event_rec *e;
	const char *target_id;
	char *endpoint;
	size_t i;
	int prev_up, rc;

	if (o->service_touch(a->db, sc->service, sc->at, err, errlen) == -1)
		return -1;
	endpoint = url_path(sc->url);
	h.service = sc->service;
	h.address = sc->target;
	h.url = sc->url;
	h.endpoint = endpoint;
	h.at = sc->at;
	h.duration_ms = sc->duration_ms;
	h.up = sc->ok != 0;
	h.error = sc->ok ? NULL : sc->error;
	rc = o->target_health(a->db, &h, &prev_up, err, errlen);
	free(endpoint);
	if (rc == -1)
		return -1;
	if (!sc->ok && prev_up != 0) {
		e = event_add(a, "target_down", sc->service, sc->at);
		e->target = xstrdup(sc->target);
		e->error = xstrdup(sc->error ? sc->error : "");
	} else if (sc->ok && prev_up == 0) {
		e = event_add(a, "target_up", sc->service, sc->at);
		e->target = xstrdup(sc->target);
	}
	if (!sc->ok || sc->payload == NULL)
		return 0;
	target_id = sc->target_uuid;
	if (target_id == NULL)
		target_id = sc->payload->target_uuid;
	if (target_id == NULL)
		target_id = sc->url != NULL ? sc->url : sc->target;
	for (i = 0; i < sc->payload->naggs; i++)
		if (apply_aggregate(a, sc, target_id, &sc->payload->aggs[i],
		    err, errlen) == -1)
			return -1;
	return 0;
}

int
aggregator_apply(struct aggregator *a, const struct record *rec, char *err,
    size_t errlen)
{
	int rc;

	switch (rec->type) {
	case REC_TARGETS:
		if (ensure_txn(a, err, errlen) == -1)
			return -1;
		rc = apply_targets(a, &rec->u.targets, err, errlen);
		break;
	case REC_SCRAPE:
		if (ensure_txn(a, err, errlen) == -1)
			return -1;
		rc = apply_scrape(a, &rec->u.scrape, err, errlen);
		a->nscrapes++;
		break;
	case REC_ROUND:
		return aggregator_flush(a, err, errlen);
	default:
		return 0;
	}
	if (rc == -1) {
		fail_txn(a);
		return -1;
	}
	/* Target sets are rare: commit them now rather than hold the lock. */
	if (rec->type == REC_TARGETS || a->nscrapes > TXN_MAX_SCRAPES ||
	    time_mono_ms() - a->began > TXN_MAX_MS)
		return aggregator_flush(a, err, errlen);
	return 0;
}

/* True while a transaction is open: the caller may flush when idle. */
int
aggregator_pending(const struct aggregator *a)
{
	return a->in_txn;
}
