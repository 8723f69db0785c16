/* SPDX-License-Identifier: Apache-2.0 */
/* The aggregation rules over the engine table: deltas, totals, events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aggregate.h"
#include "backoff.h"
#include "baseline.h"
#include "buf.h"
#include "store.h"
#include "model.h"
#include "record.h"
#include "spike.h"
#include "timefmt.h"
#include "xalloc.h"

/* Bounds on one transaction when no round line comes to end it. */
#define TXN_MAX_SCRAPES	20000
#define TXN_MAX_MS	4000.0
#define MINUTE_MS	60000
#define HOUR_MS		3600000
#define PRUNE_EVERY_MS	600000
#define RETRY_MS	60000
/* How long counts stored unchanged go without being written again. */
#define REFRESH_MS	3600000
/*
 * Scrapes and count rows sent to the engine in one call: the scrapes'
 * health and their targets' counts fill a statement of the largest size
 * (batch.h) each; at 200, MariaDB's round took 10% longer.
 */
#define BATCH_SCRAPES	512
#define BATCH_ROWS	10240
/* New count rows after which the engine's statistics are read again. */
#define FRESH_ROWS	1000

struct pend_min {
	int64_t	minute;
	int64_t	delta;
};

/*
 * What one transaction does to one error, gathered while the scrapes
 * stream by and written at commit time in (service, key) order: rows
 * shared between aggregators are locked in one order, so several of
 * them on one PostgreSQL never deadlock, and memory grows with the keys,
 * never with the targets.
 */
struct pend {
	char		*service;
	char		*key;
	uint64_t	 hash;
	int64_t		 delta;
	enum severity	 severity;
	int64_t		 created_at;
	int64_t		 first_seen;
	int64_t		 last_seen;
	int64_t		 first_at;	/* the first scrape's time */
	int64_t		 last_at;	/* the last scrape with a delta */
	struct db_occurrence *occ;	/* newest first, at most max_occ */
	size_t		 nocc;
	struct pend_min	*min;
	size_t		 nmin;
	size_t		 capmin;
};

/* A scrape's count rows in the batch, and their digest. */
struct scrape_rows {
	size_t		 first, n;
	uint64_t	 digest;
	int		 sent;		/* to the engine, not skipped */
};

/* Scrapes waiting to be sent to the engine, with owned copies. */
struct batch {
	struct db_health	*h;		/* one per scrape */
	char			**tid;		/* its target_id, or NULL */
	struct scrape_rows	*sr;
	size_t			 nh;
	struct db_count_row	*c;		/* one per scrape and key */
	struct pend		**cp;		/* the error each row feeds */
	int64_t			*at;		/* each row's scrape time */
	size_t			 nc;
	size_t			 capc;
	int64_t			*delta;
	int			*up;
};

struct pend_round {
	char	*service;
	int64_t	 at;
	double	 duration_ms;
	int64_t	 targets;
	int64_t	 failed;
};

struct aggregator {
	struct db		*db;
	size_t			 max_occ;
	struct db_retention	 ret;
	int64_t			 prune_every;
	int64_t			 retry_ms;
	void			(*on_retry)(const char *, int64_t);
	int64_t			(*clock)(void);
	int64_t			 last_prune;	/* time_mono_ms */
	int			 committed;	/* since last_prune */
	agg_event_fn		 fn;
	void			*arg;
	int			 in_txn;
	size_t			 nscrapes;
	double			 began;		/* time_mono_ms at BEGIN */
	struct event_rec	*ev;		/* waiting for the commit */
	size_t			 nev;
	size_t			 evcap;
	/* The errors of this transaction: a hash table, then a list. */
	struct pend		**tab;
	size_t			 tabcap;
	struct pend		**pl;
	size_t			 npl;
	size_t			 plcap;
	struct batch		 b;
	struct pend_round	*rounds;
	size_t			 nrounds;
	char			**touched;	/* services stored this txn */
	size_t			 ntouched;
	/* The records of the open transaction, to replay it. */
	FILE			*spool;
	int			 replaying;
	struct buf		 tmp;
	struct spike		*spike;		/* the threshold rule, or NULL */
	/* What was stored of each target, and how long it is trusted (ms). */
	struct baseline		*base;
	int64_t			 refresh_ms;
	struct db_count_row	*wc;		/* the counts to write */
	size_t			*wi;		/* their rows in the batch */
	int64_t			*wd;		/* and their deltas */
	size_t			 wcap;
};

static int	apply_record(struct aggregator *, const struct record *,
		    char *, size_t);

struct aggregator *
aggregator_new(struct db *db, const struct agg_options *opt, agg_event_fn fn,
    void *arg)
{
	struct aggregator *a;

	a = xcalloc(1, sizeof(*a));
	a->db = db;
	a->max_occ = opt != NULL && opt->max_occurrences > 0 ?
	    opt->max_occurrences : 100;
	if (opt != NULL)
		a->ret = opt->retention;
	a->prune_every = opt != NULL && opt->prune_every_ms > 0 ?
	    opt->prune_every_ms : PRUNE_EVERY_MS;
	a->retry_ms = opt != NULL && opt->retry_ms > 0 ? opt->retry_ms :
	    RETRY_MS;
	a->on_retry = opt != NULL ? opt->on_retry : NULL;
	a->clock = opt != NULL && opt->clock != NULL ? opt->clock : time_now;
	a->last_prune = (int64_t)time_mono_ms() - a->prune_every;
	a->fn = fn;
	a->arg = arg;
	if (opt != NULL && opt->spike_threshold > 0)
		a->spike = spike_new(opt->spike_threshold,
		    opt->spike_window_ms);
	/*
	 * Counts stored again unchanged rewrite only their storing time,
	 * which retention ages them by: they are written once per
	 * refresh_ms, well inside the targets' retention, and skipped in
	 * between.
	 */
	a->base = baseline_new();
	a->refresh_ms = REFRESH_MS;
	if (a->ret.targets_ms > 0 && a->ret.targets_ms / 4 < a->refresh_ms)
		a->refresh_ms = a->ret.targets_ms / 4;
	/* Without a spool file a lost transaction is reported, not replayed. */
	if (a->db->drv->replay)
		a->spool = tmpfile();
	buf_init(&a->tmp);
	return a;
}

static void
pend_free(struct pend *p)
{
	size_t i;

	for (i = 0; i < p->nocc; i++) {
		free(p->occ[i].uuid);
		free(p->occ[i].error_json);
		free(p->occ[i].http_json);
	}
	free(p->occ);
	free(p->min);
	free(p->service);
	free(p->key);
	free(p);
}

static void
batch_clear(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->nh; i++) {
		free((char *)b->h[i].service);
		free((char *)b->h[i].address);
		free((char *)b->h[i].url);
		free((char *)b->h[i].endpoint);
		free((char *)b->h[i].error);
		free(b->tid[i]);
	}
	b->nh = 0;
	for (i = 0; i < b->nc; i++)
		free((char *)b->c[i].key);
	b->nc = 0;
}

/* Forgets everything of the transaction but the spool. */
static void
drop_state(struct aggregator *a)
{
	size_t i;

	batch_clear(&a->b);
	baseline_discard(a->base);
	for (i = 0; i < a->nev; i++)
		event_rec_release(&a->ev[i]);
	a->nev = 0;
	for (i = 0; i < a->npl; i++)
		pend_free(a->pl[i]);
	a->npl = 0;
	if (a->tab != NULL)
		memset(a->tab, 0, a->tabcap * sizeof(*a->tab));
	for (i = 0; i < a->nrounds; i++)
		free(a->rounds[i].service);
	a->nrounds = 0;
	for (i = 0; i < a->ntouched; i++)
		free(a->touched[i]);
	a->ntouched = 0;
	a->nscrapes = 0;
}

static void
spool_reset(struct aggregator *a)
{
	if (a->spool == NULL)
		return;
	rewind(a->spool);
	if (ftruncate(fileno(a->spool), 0) == -1)
		clearerr(a->spool);
}

void
aggregator_free(struct aggregator *a)
{
	if (a == NULL)
		return;
	if (a->in_txn)
		store_rollback(a->db);
	drop_state(a);
	spike_free(a->spike);
	baseline_free(a->base);
	free(a->wc);
	free(a->wi);
	free(a->wd);
	free(a->ev);
	free(a->tab);
	free(a->pl);
	free(a->rounds);
	free(a->touched);
	free(a->b.h);
	free(a->b.tid);
	free(a->b.sr);
	free(a->b.c);
	free(a->b.cp);
	free(a->b.at);
	free(a->b.delta);
	free(a->b.up);
	if (a->spool != NULL)
		fclose(a->spool);
	buf_release(&a->tmp);
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
		store_rollback(a->db);
	a->in_txn = 0;
	drop_state(a);
	spool_reset(a);
}

static int
ensure_txn(struct aggregator *a, char *err, size_t errlen)
{
	if (a->in_txn)
		return 0;
	a->db->transient = 0;
	if (store_begin(a->db, err, errlen) == -1)
		return -1;
	a->in_txn = 1;
	a->nscrapes = 0;
	a->began = time_mono_ms();
	return 0;
}

/* -- The errors of the transaction. */

static uint64_t
hash2(const char *s, const char *k)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (; *k != '\0'; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return h;
}

static void
tab_put(struct aggregator *a, struct pend *p)
{
	size_t i;

	for (i = p->hash & (a->tabcap - 1); a->tab[i] != NULL;
	    i = (i + 1) & (a->tabcap - 1))
		;
	a->tab[i] = p;
}

static struct pend *
pend_get(struct aggregator *a, const char *service, const char *key,
    int64_t at)
{
	struct pend *p;
	uint64_t h = hash2(service, key);
	size_t i;

	if (a->tabcap > 0)
		for (i = h & (a->tabcap - 1); (p = a->tab[i]) != NULL;
		    i = (i + 1) & (a->tabcap - 1))
			if (p->hash == h && strcmp(p->key, key) == 0 &&
			    strcmp(p->service, service) == 0)
				return p;
	/* Half full at most, so probes stay short. */
	if ((a->npl + 1) * 2 > a->tabcap) {
		free(a->tab);
		a->tabcap = a->tabcap ? a->tabcap * 2 : 64;
		a->tab = xcalloc(a->tabcap, sizeof(*a->tab));
		for (i = 0; i < a->npl; i++)
			tab_put(a, a->pl[i]);
	}
	if (a->npl == a->plcap) {
		a->plcap = a->plcap ? a->plcap * 2 : 64;
		a->pl = xreallocarray(a->pl, a->plcap, sizeof(*a->pl));
	}
	p = xcalloc(1, sizeof(*p));
	p->service = xstrdup(service);
	p->key = xstrdup(key);
	p->hash = h;
	p->created_at = p->first_seen = p->last_seen = TIME_NONE;
	p->first_at = p->last_at = at;
	a->pl[a->npl++] = p;
	tab_put(a, p);
	return p;
}

static void
pend_minute(struct pend *p, int64_t at, int64_t delta)
{
	int64_t m = at - ((at % MINUTE_MS) + MINUTE_MS) % MINUTE_MS;
	size_t i;

	for (i = p->nmin; i > 0; i--)
		if (p->min[i - 1].minute == m) {
			p->min[i - 1].delta += delta;
			return;
		}
	if (p->nmin == p->capmin) {
		p->capmin = p->capmin ? p->capmin * 2 : 4;
		p->min = xreallocarray(p->min, p->capmin, sizeof(*p->min));
	}
	p->min[p->nmin].minute = m;
	p->min[p->nmin++].delta = delta;
}

/* Keeps the newest max occurrences of the round, each uuid once. */
static void
pend_occurrence(struct aggregator *a, struct pend *p,
    const struct occurrence *oc)
{
	struct db_occurrence *o;
	size_t i, at;

	if (p->nocc == a->max_occ &&
	    oc->timestamp <= p->occ[p->nocc - 1].timestamp)
		return;
	for (i = 0; i < p->nocc; i++)
		if (strcmp(p->occ[i].uuid, oc->uuid) == 0)
			return;
	for (at = 0; at < p->nocc && p->occ[at].timestamp >= oc->timestamp;
	    at++)
		;
	if (p->nocc == a->max_occ) {
		o = &p->occ[--p->nocc];
		free(o->uuid);
		free(o->error_json);
		free(o->http_json);
	} else if (p->occ == NULL)
		p->occ = xcalloc(a->max_occ, sizeof(*p->occ));
	memmove(&p->occ[at + 1], &p->occ[at], (p->nocc - at) *
	    sizeof(*p->occ));
	p->nocc++;
	o = &p->occ[at];
	o->uuid = xstrdup(oc->uuid);
	o->timestamp = oc->timestamp;
	o->severity = oc->severity;
	buf_reset(&a->tmp);
	error_info_write_json(&a->tmp, &oc->error);
	o->error_json = xstrndup(a->tmp.p, a->tmp.len);
	o->http_json = NULL;
	if (oc->http != NULL) {
		buf_reset(&a->tmp);
		http_context_write_json(&a->tmp, oc->http);
		o->http_json = xstrndup(a->tmp.p, a->tmp.len);
	}
}

/* -- Streaming: what only this aggregator's targets touch. */

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

/* Stores the service once per transaction. */
static int
touch(struct aggregator *a, const char *service, int64_t at, char *err,
    size_t errlen)
{
	size_t i;

	for (i = 0; i < a->ntouched; i++)
		if (strcmp(a->touched[i], service) == 0)
			return 0;
	if (store_service_touch(a->db, service, at, err, errlen) == -1)
		return -1;
	if (a->ntouched % 8 == 0)
		a->touched = xreallocarray(a->touched, a->ntouched + 8,
		    sizeof(*a->touched));
	a->touched[a->ntouched++] = xstrdup(service);
	return 0;
}

static int
apply_targets(struct aggregator *a, const struct targets_rec *t, char *err,
    size_t errlen)
{
	char *labels;
	size_t i;
	int rc;

	if (touch(a, t->service, a->clock(), err, errlen) == -1 ||
	    store_targets_mark(a->db, t->service, err, errlen) == -1)
		return -1;
	for (i = 0; i < t->ntargets; i++) {
		labels = labels_json(&t->targets[i].labels);
		rc = store_target_put(a->db, t->service, t->targets[i].address,
		    t->targets[i].url, t->endpoint, labels, err, errlen);
		free(labels);
		if (rc == -1)
			return -1;
	}
	return store_targets_sweep(a->db, t->service, err, errlen);
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

static const struct aggregate *sort_aggs;

static int
by_key(const void *x, const void *y)
{
	return strcmp(sort_aggs[*(const size_t *)x].key,
	    sort_aggs[*(const size_t *)y].key);
}

/*
 * Folds one aggregate of a scrape into the transaction's errors; its
 * delta comes when the batch has been sent.
 */
static struct pend *
gather(struct aggregator *a, const struct scrape_rec *sc,
    const struct aggregate *ag)
{
	struct pend *p;
	const struct occurrence *oc;
	int64_t oldest;
	size_t i;

	p = pend_get(a, sc->service, ag->key, sc->at);
	/* The latest report wins; scrapes arrive in time order. */
	p->severity = ag->severity;
	if (ag->created_at != TIME_NONE && (p->created_at == TIME_NONE ||
	    ag->created_at < p->created_at))
		p->created_at = ag->created_at;
	oldest = a->ret.occurrences_ms > 0 ? a->clock() -
	    a->ret.occurrences_ms : INT64_MIN;
	for (i = 0; i < ag->nlatest; i++) {
		oc = &ag->latest[i];
		if (p->first_seen == TIME_NONE || oc->timestamp < p->first_seen)
			p->first_seen = oc->timestamp;
		if (p->last_seen == TIME_NONE || oc->timestamp > p->last_seen)
			p->last_seen = oc->timestamp;
		/* Pruned ones would come back with every scrape otherwise. */
		if (oc->timestamp >= oldest)
			pend_occurrence(a, p, oc);
	}
	return p;
}

/*
 * Stores the counts of the batch's targets whose counts changed, or were
 * last stored more than refresh_ms ago; the others' deltas are 0 without
 * a word to the engine.  The engine computes every delta it is sent.
 */
static int
counts_send(struct aggregator *a, int64_t now, char *err, size_t errlen)
{
	struct batch *b = &a->b;
	struct scrape_rows *r;
	size_t i, k, m = 0;

	if (a->wcap < b->nc) {
		a->wcap = b->capc;
		a->wc = xreallocarray(a->wc, a->wcap, sizeof(*a->wc));
		a->wi = xreallocarray(a->wi, a->wcap, sizeof(*a->wi));
		a->wd = xreallocarray(a->wd, a->wcap, sizeof(*a->wd));
	}
	for (i = 0; i < b->nc; i++)
		b->delta[i] = 0;
	for (i = 0; i < b->nh; i++) {
		r = &b->sr[i];
		r->sent = r->n > 0 && !baseline_same(a->base, b->h[i].service,
		    b->tid[i], r->digest, now - a->refresh_ms);
		if (!r->sent)
			continue;
		for (k = r->first; k < r->first + r->n; k++) {
			a->wc[m] = b->c[k];
			a->wi[m++] = k;
		}
	}
	if (store_counts(a->db, a->wc, m, a->wd, err, errlen) == -1)
		return -1;
	for (i = 0; i < m; i++)
		b->delta[a->wi[i]] = a->wd[i];
	for (i = 0; i < b->nh; i++)
		if (b->sr[i].sent)
			baseline_stage(a->base, b->h[i].service, b->tid[i],
			    b->sr[i].digest, now);
	return 0;
}

/* Sends the waiting scrapes to the engine and folds in what came back. */
static int
batch_send(struct aggregator *a, char *err, size_t errlen)
{
	struct batch *b = &a->b;
	struct event_rec *e;
	struct db_health *h;
	struct pend *p;
	int64_t now;
	size_t i;

	if (b->nh == 0)
		return 0;
	/*
	 * Retention ages what it keeps by when we stored it: the times in
	 * the input are the scrapes', and an archive replayed a month later
	 * must still find the baselines it wrote.
	 */
	now = a->clock();
	for (i = 0; i < b->nh; i++)
		b->h[i].stored = now;
	for (i = 0; i < b->nc; i++)
		b->c[i].stored = now;
	b->up = xreallocarray(b->up, b->nh, sizeof(*b->up));
	if (store_health(a->db, b->h, b->nh, b->up, err,
	    errlen) == -1)
		return -1;
	for (i = 0; i < b->nh; i++) {
		h = &b->h[i];
		if (!h->up && b->up[i] != 0) {
			e = event_add(a, "target_down", h->service, h->at);
			e->target = xstrdup(h->address);
			e->error = xstrdup(h->error ? h->error : "");
		} else if (h->up && b->up[i] == 0) {
			e = event_add(a, "target_up", h->service, h->at);
			e->target = xstrdup(h->address);
		}
	}
	if (b->nc > 0) {
		b->delta = xreallocarray(b->delta, b->capc,
		    sizeof(*b->delta));
		if (counts_send(a, now, err, errlen) == -1)
			return -1;
	}
	for (i = 0; i < b->nc; i++) {
		p = b->cp[i];
		p->delta += b->delta[i];
		if (b->delta[i] > 0) {
			if (b->at[i] > p->last_at)
				p->last_at = b->at[i];
			pend_minute(p, b->at[i], b->delta[i]);
		}
	}
	batch_clear(b);
	return 0;
}

/* Whether the batch already holds this target (rows must be unique). */
static int
batch_has(const struct batch *b, const char *service, const char *address,
    const char *tid)
{
	size_t i;

	for (i = 0; i < b->nh; i++)
		if (strcmp(b->h[i].service, service) == 0 &&
		    (strcmp(b->h[i].address, address) == 0 ||
		    (tid != NULL && b->tid[i] != NULL &&
		    strcmp(b->tid[i], tid) == 0)))
			return 1;
	return 0;
}

static int
apply_scrape(struct aggregator *a, const struct scrape_rec *sc, char *err,
    size_t errlen)
{
	struct batch *b = &a->b;
	const struct aggregate *aggs;
	struct db_health *h;
	struct db_count_row *c;
	const char *target_id = NULL;
	size_t i, n, *idx;

	if (touch(a, sc->service, sc->at, err, errlen) == -1)
		return -1;
	if (sc->ok && sc->payload != NULL && sc->payload->naggs > 0) {
		target_id = sc->target_uuid;
		if (target_id == NULL)
			target_id = sc->payload->target_uuid;
		if (target_id == NULL)
			target_id = sc->url != NULL ? sc->url : sc->target;
	}
	n = target_id != NULL ? sc->payload->naggs : 0;
	if (b->nh >= BATCH_SCRAPES || b->nc + n > BATCH_ROWS ||
	    batch_has(b, sc->service, sc->target, target_id))
		if (batch_send(a, err, errlen) == -1)
			return -1;
	if (b->nh % 16 == 0) {
		b->h = xreallocarray(b->h, b->nh + 16, sizeof(*b->h));
		b->tid = xreallocarray(b->tid, b->nh + 16, sizeof(*b->tid));
		b->sr = xreallocarray(b->sr, b->nh + 16, sizeof(*b->sr));
	}
	b->sr[b->nh].first = b->nc;
	b->sr[b->nh].n = 0;
	b->sr[b->nh].digest = 0;
	h = &b->h[b->nh];
	b->tid[b->nh++] = target_id != NULL ? xstrdup(target_id) : NULL;
	h->service = xstrdup(sc->service);
	h->address = xstrdup(sc->target);
	h->url = xstrdup(sc->url ? sc->url : "");
	h->endpoint = url_path(sc->url);
	h->at = sc->at;
	h->duration_ms = sc->duration_ms;
	h->up = sc->ok != 0;
	h->error = sc->ok ? NULL : xstrdup(sc->error ? sc->error : "");
	if (n == 0)
		return 0;

	/* Sorted by key, each key once. */
	aggs = sc->payload->aggs;
	idx = xreallocarray(NULL, n, sizeof(*idx));
	for (i = 0; i < n; i++)
		idx[i] = i;
	sort_aggs = aggs;
	qsort(idx, n, sizeof(*idx), by_key);
	if (b->nc + n > b->capc) {
		b->capc = b->nc + n > BATCH_ROWS ? b->nc + n : BATCH_ROWS;
		b->c = xreallocarray(b->c, b->capc, sizeof(*b->c));
		b->cp = xreallocarray(b->cp, b->capc, sizeof(*b->cp));
		b->at = xreallocarray(b->at, b->capc, sizeof(*b->at));
	}
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(aggs[idx[i - 1]].key,
		    aggs[idx[i]].key) == 0)
			continue;
		/* The batch's own copies of the scrape's strings serve. */
		c = &b->c[b->nc];
		c->service = h->service;
		c->target_id = b->tid[b->nh - 1];
		c->target = h->address;
		c->key = xstrdup(aggs[idx[i]].key);
		c->raw = aggs[idx[i]].total_count;
		b->at[b->nc] = sc->at;
		b->cp[b->nc++] = gather(a, sc, &aggs[idx[i]]);
		b->sr[b->nh - 1].n++;
		b->sr[b->nh - 1].digest = baseline_mix(b->sr[b->nh - 1].digest,
		    c->key, c->raw);
	}
	free(idx);
	return 0;
}

static int
apply_record(struct aggregator *a, const struct record *rec, char *err,
    size_t errlen)
{
	struct pend_round *r;

	if (rec->type != REC_SCRAPE && batch_send(a, err, errlen) == -1)
		return -1;
	switch (rec->type) {
	case REC_TARGETS:
		return apply_targets(a, &rec->u.targets, err, errlen);
	case REC_SCRAPE:
		a->nscrapes++;
		return apply_scrape(a, &rec->u.scrape, err, errlen);
	case REC_ROUND:
		if (a->nrounds % 4 == 0)
			a->rounds = xreallocarray(a->rounds, a->nrounds + 4,
			    sizeof(*a->rounds));
		r = &a->rounds[a->nrounds++];
		r->service = xstrdup(rec->u.round.service);
		r->at = rec->u.round.at;
		r->duration_ms = rec->u.round.duration_ms;
		r->targets = rec->u.round.targets;
		r->failed = rec->u.round.failed;
		return touch(a, r->service, r->at != TIME_NONE ? r->at :
		    a->clock(), err, errlen);
	default:
		return 0;
	}
}

/* -- Commit time: the shared rows, in (service, key) order. */

static int
by_service_key(const void *x, const void *y)
{
	const struct pend *p = *(struct pend *const *)x;
	const struct pend *q = *(struct pend *const *)y;
	int c;

	if ((c = strcmp(p->service, q->service)) != 0)
		return c;
	return strcmp(p->key, q->key);
}

static int
by_minute(const void *x, const void *y)
{
	const struct pend_min *p = x, *q = y;

	return p->minute < q->minute ? -1 : p->minute > q->minute;
}

static struct event_rec *
error_event(struct aggregator *a, const char *kind, const struct pend *p,
    int64_t at)
{
	struct event_rec *e;

	e = event_add(a, kind, p->service, at);
	e->key = xstrdup(p->key);
	e->severity = xstrdup(severity_name(p->severity));
	e->count = p->delta;
	return e;
}

/* Whether the time t would widen the stored one to the past, the future. */
static int
earlier(int64_t t, int64_t stored)
{
	return t != TIME_NONE && (stored == TIME_NONE || t < stored);
}

static int
later(int64_t t, int64_t stored)
{
	return t != TIME_NONE && (stored == TIME_NONE || t > stored);
}

static int
write_error(struct aggregator *a, struct pend *p, char *err, size_t errlen)
{
	struct db_error_row row;
	int64_t hour, hdelta;
	size_t i;
	int found, rc;

	memset(&row, 0, sizeof(row));
	if ((found = store_error_get(a->db, p->service, p->key, &row, err,
	    errlen)) == -1)
		return -1;
	/*
	 * Nothing counted and nothing the row keeps moved: it stays as it
	 * is.  A client's new occurrence always comes with a higher count,
	 * so there are none to store either.
	 */
	if (found && p->delta == 0 && row.severity == p->severity &&
	    !earlier(p->created_at, row.created_at) &&
	    !earlier(p->first_seen, row.first_seen) &&
	    !later(p->last_seen, row.last_seen))
		return 0;
	if (!found) {
		row.resolved_at = row.regressed_at = TIME_NONE;
		row.inserted = p->first_at;
		snprintf(row.status, sizeof(row.status), "unresolved");
	}
	/*
	 * A spike: far more than this error's average per transaction so
	 * far (doubles, so large counts cannot overflow the product).
	 */
	if (a->spike == NULL && found && row.rounds > 0 &&
	    p->delta >= AGG_SPIKE_MIN &&
	    (double)p->delta * (double)row.rounds >
	    (double)AGG_SPIKE_FACTOR * (double)row.total_count)
		error_event(a, "spike", p, p->last_at);
	/* Only new occurrences reopen a resolved error, never a replay. */
	if (strcmp(row.status, "resolved") == 0 && p->delta > 0) {
		snprintf(row.status, sizeof(row.status), "unresolved");
		row.resolved_at = TIME_NONE;
		row.regressed = 1;
		row.regressed_at = p->last_at;
		error_event(a, "regression", p, p->last_at);
	}
	row.service = p->service;
	row.key = p->key;
	row.severity = p->severity;
	row.created_at = p->created_at;
	row.first_seen = p->first_seen;
	row.last_seen = p->last_seen;
	row.rounds = 1;
	if ((rc = store_error_put(a->db, &row, p->delta, err, errlen)) == -1)
		return -1;
	/* Two aggregators may both have found no row: one inserted it. */
	if (!found && rc == 1)
		error_event(a, "new_error", p, p->first_at);
	if (store_occurrences_add(a->db, p->service, p->key, p->occ, p->nocc,
	    err, errlen) == -1)
		return -1;
	if (p->nocc > 0 && store_occurrences_trim(a->db, p->service, p->key,
	    a->max_occ, err, errlen) == -1)
		return -1;
	if (p->nmin > 1)
		qsort(p->min, p->nmin, sizeof(*p->min), by_minute);
	hour = 0;
	hdelta = 0;
	for (i = 0; i < p->nmin; i++) {
		if (store_minute_add(a->db, p->service, p->key, p->min[i].minute,
		    p->min[i].delta, err, errlen) == -1)
			return -1;
		if (hdelta > 0 && p->min[i].minute / HOUR_MS * HOUR_MS != hour) {
			if (store_hour_add(a->db, p->service, p->key, hour, hdelta,
			    err, errlen) == -1)
				return -1;
			hdelta = 0;
		}
		hour = p->min[i].minute - ((p->min[i].minute % HOUR_MS) +
		    HOUR_MS) % HOUR_MS;
		hdelta += p->min[i].delta;
	}
	if (hdelta > 0 && store_hour_add(a->db, p->service, p->key, hour, hdelta,
	    err, errlen) == -1)
		return -1;
	return 0;
}

static int
by_round_service(const void *x, const void *y)
{
	return strcmp(((const struct pend_round *)x)->service,
	    ((const struct pend_round *)y)->service);
}

/* Writes what was gathered and commits; the transaction is gone after. */
static int
commit(struct aggregator *a, char *err, size_t errlen)
{
	struct pend_round *r;
	size_t i;

	if (batch_send(a, err, errlen) == -1)
		return -1;
	if (a->npl > 1)
		qsort(a->pl, a->npl, sizeof(*a->pl), by_service_key);
	for (i = 0; i < a->npl; i++)
		if (write_error(a, a->pl[i], err, errlen) == -1)
			return -1;
	if (a->nrounds > 1)
		qsort(a->rounds, a->nrounds, sizeof(*a->rounds),
		    by_round_service);
	for (i = 0; i < a->nrounds; i++) {
		r = &a->rounds[i];
		if (store_round_put(a->db, r->service, r->at, r->duration_ms,
		    r->targets, r->failed, err, errlen) == -1)
			return -1;
	}
	if (store_bump(a->db, err, errlen) == -1)
		return -1;
	if (store_commit(a->db, err, errlen) == -1)
		return -1;
	a->in_txn = 0;
	/* Forgotten after two refreshes: they are written again anyway. */
	baseline_commit(a->base, a->clock() - 2 * a->refresh_ms);
	return 0;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * After a transient failure: rolls back, waits, opens a new transaction
 * and applies the spooled records again, until that works, the failure
 * is not transient, or retry_ms is spent.  0 or -1.
 */
static int
replay(struct aggregator *a, char *err, size_t errlen)
{
	struct record rec;
	char *line = NULL, perr[256];
	size_t cap = 0;
	ssize_t len;
	double t0 = time_mono_ms();
	int64_t wait;
	int rc, tries = 0;

	for (;;) {
		if (!a->db->drv->replay || a->spool == NULL || !a->db->transient ||
		    time_mono_ms() - t0 > (double)a->retry_ms)
			break;
		if (a->in_txn)
			store_rollback(a->db);
		a->in_txn = 0;
		drop_state(a);
		wait = backoff_ms(++tries, 50, 5000);
		if (a->on_retry != NULL)
			a->on_retry(err, wait);
		sleep_ms(wait);
		if (ensure_txn(a, err, errlen) == -1)
			continue;
		if (fflush(a->spool) == EOF)
			break;
		rewind(a->spool);
		rc = 0;
		a->replaying = 1;
		while (rc == 0 && (len = getline(&line, &cap, a->spool)) > 0) {
			if (line[len - 1] == '\n')
				len--;
			if (record_parse(line, (size_t)len, &rec, perr,
			    sizeof(perr)) == -1)
				continue;
			rc = apply_record(a, &rec, err, errlen);
			record_release(&rec);
		}
		a->replaying = 0;
		fseek(a->spool, 0, SEEK_END);
		if (rc == 0) {
			free(line);
			return 0;
		}
	}
	free(line);
	return -1;
}

/* Prunes when it has not for the last every periods. */
static void
maybe_prune(struct aggregator *a, int64_t every)
{
	char err[256];

	if (a->ret.occurrences_ms == 0 && a->ret.minutes_ms == 0 &&
	    a->ret.hours_ms == 0 && a->ret.targets_ms == 0)
		return;
	if ((int64_t)time_mono_ms() - a->last_prune < every * a->prune_every)
		return;
	a->last_prune = (int64_t)time_mono_ms();
	a->committed = 0;
	/* Pruning is housekeeping: a failure now is retried next time. */
	db_prune(a->db, &a->ret, a->clock(), err, sizeof(err));
}

/* The threshold rule; the spike's count is the window's. */
static void
spike_check(struct aggregator *a, const struct pend *p)
{
	struct event_rec	*e;
	uint64_t		 n;
	int			 crossed;

	if (p->delta <= 0)
		return;
	n = spike_add(a->spike, p->service, p->key, p->last_at,
	    (uint64_t)p->delta, &crossed);
	if (crossed) {
		e = error_event(a, "spike", p, p->last_at);
		e->count = (int64_t)n;
	}
}

int
aggregator_flush(struct aggregator *a, char *err, size_t errlen)
{
	char ignored[256];
	size_t i;

	if (!a->in_txn)
		return 0;
	while (commit(a, err, errlen) == -1)
		if (replay(a, err, errlen) == -1) {
			fail_txn(a);
			return -1;
		}
	/*
	 * Counted only once committed: a transaction replayed after a
	 * failure must not count twice.
	 */
	for (i = 0; a->spike != NULL && i < a->npl; i++)
		spike_check(a, a->pl[i]);
	/* Only now are the events true for every reader of the database. */
	for (i = 0; i < a->nev; i++)
		if (a->fn != NULL)
			a->fn(&a->ev[i], a->arg);
	drop_state(a);
	spool_reset(a);
	a->committed = 1;
	/*
	 * A fleet's first round, or many new targets: the next round finds
	 * their rows by key only once the engine knows they are there.  A
	 * failure only leaves rounds slower until autovacuum does it.
	 */
	store_analyze(a->db, FRESH_ROWS, ignored, sizeof(ignored));
	/*
	 * Pruning scans tables, which no round should wait behind: it
	 * waits for a pause in the input (aggregator_idle), and only
	 * input that never pauses gets it here, one period late.
	 */
	maybe_prune(a, 2);
	return 0;
}

void
aggregator_idle(struct aggregator *a)
{
	if (!a->in_txn && a->committed)
		maybe_prune(a, 1);
}

static int
spool(struct aggregator *a, const struct record *rec, const char *line,
    size_t len)
{
	if (a->spool == NULL)
		return 0;
	if (line == NULL) {
		buf_reset(&a->tmp);
		switch (rec->type) {
		case REC_TARGETS:
			record_write_targets(&a->tmp, &rec->u.targets);
			break;
		case REC_SCRAPE:
			record_write_scrape(&a->tmp, &rec->u.scrape);
			break;
		case REC_ROUND:
			record_write_round(&a->tmp, &rec->u.round);
			break;
		default:
			return 0;
		}
		line = a->tmp.p;
		len = a->tmp.len;
	}
	if (fwrite(line, 1, len, a->spool) != len ||
	    putc('\n', a->spool) == EOF)
		return -1;
	return 0;
}

int
aggregator_apply_line(struct aggregator *a, const struct record *rec,
    const char *line, size_t len, char *err, size_t errlen)
{
	if (rec->type != REC_TARGETS && rec->type != REC_SCRAPE &&
	    rec->type != REC_ROUND)
		return 0;
	if (ensure_txn(a, err, errlen) == -1 &&
	    replay(a, err, errlen) == -1) {
		fail_txn(a);
		return -1;
	}
	if (spool(a, rec, line, len) == -1) {
		/* No spool, no replay: the transaction still works. */
		fclose(a->spool);
		a->spool = NULL;
	}
	if (apply_record(a, rec, err, errlen) == -1 &&
	    replay(a, err, errlen) == -1) {
		fail_txn(a);
		return -1;
	}
	/* Target sets are rare: commit them now rather than hold the lock. */
	if (rec->type != REC_SCRAPE || a->nscrapes > TXN_MAX_SCRAPES ||
	    time_mono_ms() - a->began > TXN_MAX_MS)
		return aggregator_flush(a, err, errlen);
	return 0;
}

int
aggregator_apply(struct aggregator *a, const struct record *rec, char *err,
    size_t errlen)
{
	return aggregator_apply_line(a, rec, NULL, 0, err, errlen);
}

/* True while a transaction is open: the caller may flush when idle. */
int
aggregator_pending(const struct aggregator *a)
{
	return a->in_txn;
}
