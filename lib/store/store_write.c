/* SPDX-License-Identifier: Apache-2.0 */
/* The writes of a round and of the API, in SQL every engine shares. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "model.h"
#include "packed.h"
#include "store.h"
#include "timefmt.h"
#include "xalloc.h"

/* Keeps the earlier (<) or later (>) of the stored and the new value. */
#define WIDEN(t, c, cmp) \
	c " = CASE WHEN " t "." c " IS NULL OR @new(" c ") " cmp " " t "." c \
	" THEN @new(" c ") ELSE " t "." c " END"

static const char *const sql[Q_COUNT_] = {
	[Q_RESOLVE] = "UPDATE errors SET status = 'resolved',"
	    " resolved_at = ? WHERE @service = @? AND @`key` = @?",
	[Q_SET_STATUS] = "UPDATE errors SET status = ?, resolved_at = ?,"
	    " regressed = CASE WHEN ? = 1 THEN regressed ELSE 0 END"
	    " WHERE @service = @? AND @`key` = @?",
	[Q_SERVICE_TOUCH] = "INSERT INTO services (name, created)"
	    " VALUES (?, ?) @IGNORE(name;created)",
	[Q_TARGETS_MARK] = "UPDATE targets SET seen_in_targets = 0"
	    " WHERE @service = @? AND shard = ?",
	[Q_TARGET_PUT] = "INSERT INTO targets (service, address, url,"
	    " endpoint, labels, seen_in_targets, shard)"
	    " VALUES (?, ?, ?, ?, ?, 1, ?) @ON(service, address)"
	    " url = @new(url), endpoint = @new(endpoint),"
	    " labels = @new(labels), seen_in_targets = 1,"
	    " shard = @new(shard)",
	[Q_TARGETS_SWEEP] = "DELETE FROM targets WHERE @service = @?"
	    " AND seen_in_targets = 0 AND shard = ?",
	/* The row lock makes the aggregator's read-modify-write exact. */
	[Q_ERROR_GET] = "SELECT total_count, severity, created_at,"
	    " first_seen, last_seen, inserted, status, resolved_at, regressed,"
	    " regressed_at, rounds FROM errors"
	    " WHERE @service = @? AND @`key` = @? @LOCK",
	[Q_ERROR_PUT] = "INSERT INTO errors (service, `key`, total_count,"
	    " severity, created_at, first_seen, last_seen, inserted, status,"
	    " resolved_at, regressed, regressed_at, rounds)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	    " @ON(service, `key`)"
	    " total_count = errors.total_count + @new(total_count),"
	    " severity = @new(severity), "
	    WIDEN("errors", "created_at", "<") ", "
	    WIDEN("errors", "first_seen", "<") ", "
	    WIDEN("errors", "last_seen", ">") ","
	    " status = @new(status), resolved_at = @new(resolved_at),"
	    " regressed = @new(regressed),"
	    " regressed_at = @new(regressed_at),"
	    " rounds = errors.rounds + @new(rounds) @RETURNING_INSERTED",
	/* Two steps: MySQL cannot delete from a table its subquery reads. */
	[Q_OCC_OLDEST] = "SELECT timestamp, uuid FROM occurrences"
	    " WHERE @service = @? AND @`key` = @?"
	    " ORDER BY timestamp DESC, uuid DESC LIMIT 1 OFFSET ?",
	[Q_OCC_TRIM] = "DELETE FROM occurrences WHERE @service = @?"
	    " AND @`key` = @? AND (timestamp < ? OR (timestamp = ?"
	    " AND uuid < ?))",
	[Q_MINUTE_ADD] = "INSERT INTO error_minutes (service, `key`, minute,"
	    " count) VALUES (?, ?, ?, ?) @ON(service, `key`, minute)"
	    " count = error_minutes.count + @new(count)",
	[Q_HOUR_ADD] = "INSERT INTO error_hours (service, `key`, hour,"
	    " count) VALUES (?, ?, ?, ?) @ON(service, `key`, hour)"
	    " count = error_hours.count + @new(count)",
	[Q_ROUND_PUT] = "INSERT INTO service_stats (service, rounds_total,"
	    " scrapes_total, scrape_failures_total, last_round_ms,"
	    " last_round_at) VALUES (?, 1, ?, ?, ?, ?) @ON(service)"
	    " rounds_total = service_stats.rounds_total + 1,"
	    " scrapes_total = service_stats.scrapes_total +"
	    "   @new(scrapes_total),"
	    " scrape_failures_total = service_stats.scrape_failures_total +"
	    "   @new(scrape_failures_total),"
	    " last_round_ms = @new(last_round_ms), "
	    WIDEN("service_stats", "last_round_at", ">"),
	[Q_GENERATION] = "SELECT generation FROM periskop_meta WHERE id = 1",
	[Q_BUMP] = "UPDATE periskop_meta SET generation = generation + 1"
	    " WHERE id = 1",
	[Q_PRUNE_OCC] = "DELETE FROM occurrences WHERE timestamp < ?",
	[Q_PRUNE_MIN] = "DELETE FROM error_minutes WHERE minute < ?",
	[Q_PRUNE_HOUR] = "DELETE FROM error_hours WHERE hour < ?",
	/*
	 * Each service's newest count, which silence is measured from,
	 * and its oldest, which tells whether its rows have anything to
	 * prune: one scan, so that no index on updated is needed, and
	 * updating it touches no index (PostgreSQL's HOT updates).
	 */
	[Q_COUNTS_NEWEST] = "SELECT MIN(service), MAX(updated), MIN(oldest)"
	    " FROM target_baselines GROUP BY @service",
	[Q_PRUNE_COUNTS_OLD] = "SELECT target_id, part, counts"
	    " FROM target_baselines WHERE @service = @? AND oldest < ? @LOCK",
	[Q_PRUNE_COUNTS_DROP] = "DELETE FROM target_baselines"
	    " WHERE @service = @? AND @target_id = @? AND part = ?",
	[Q_PRUNE_COUNTS_SET] = "UPDATE target_baselines SET counts = ?,"
	    " oldest = ?, updated = ?, version = version + 1"
	    " WHERE @service = @? AND @target_id = @? AND part = ?",
	[Q_PRUNE_TARGETS] = "DELETE FROM targets WHERE seen_in_targets = 0"
	    " AND COALESCE(updated, last_scrape, 0) < ?",
};

#define EXEC(db, q, what, ...) \
	sql_exec(db, q, sql[q], err, errlen, what, __VA_ARGS__)

/*
 * Runs an API write in its own transaction (or the open one) and bumps
 * the generation when it changed a row: 1 changed, 0 not, -1.
 */
int
store_begin(struct db *db, char *err, size_t errlen)
{
	return db->drv->begin(db, err, errlen);
}

int
store_commit(struct db *db, char *err, size_t errlen)
{
	return db->drv->commit(db, err, errlen);
}

void
store_rollback(struct db *db)
{
	db->drv->rollback(db);
}

int
store_bump(struct db *db, char *err, size_t errlen)
{
	/* The engine's own number already says it. */
	if (db->drv->generation != NULL)
		return 0;
	return EXEC(db, Q_BUMP, "bumping the generation", "") == -1 ? -1 : 0;
}

int
store_generation(struct db *db, int64_t *gen, char *err, size_t errlen)
{
	static const char what[] = "reading the generation";
	struct sql_rows *r;
	int rc;

	if (db->drv->generation != NULL)
		return db->drv->generation(db, gen, err, errlen);
	if ((r = sql_run(db, Q_GENERATION, sql[Q_GENERATION], err, errlen,
	    what, "")) == NULL)
		return -1;
	*gen = 0;
	if ((rc = sql_next(db, r, err, errlen, what)) == 1)
		*gen = sql_int(db, r, 0);
	sql_done(db, r);
	return rc == -1 ? -1 : 0;
}

/* A row of target_baselines that holds something to prune. */
struct old_row {
	char	*target_id, *counts;
	int64_t	 part;
};

/*
 * Drops the entries of one row stored before cut.  A row that is not
 * what the store writes is left as it is: the round that reads it says
 * so, and the other rows are pruned.
 */
static int
prune_row(struct db *db, const char *service, const struct old_row *o,
    int64_t cut, struct packed *p, struct buf *b, char *err, size_t errlen)
{
	char why[256];
	int64_t oldest = INT64_MAX, newest = INT64_MIN;
	size_t i, k;

	packed_reset(p);
	if (packed_read(p, o->counts, strlen(o->counts), why,
	    sizeof(why)) == -1)
		return 0;
	for (i = 0, k = 0; i < p->n; i++) {
		if (p->v[i].updated < cut)
			continue;
		if (p->v[i].updated < oldest)
			oldest = p->v[i].updated;
		if (p->v[i].updated > newest)
			newest = p->v[i].updated;
		p->v[k++] = p->v[i];
	}
	if (k == 0)
		return EXEC(db, Q_PRUNE_COUNTS_DROP, "pruning", "tti", service,
		    o->target_id, o->part) == -1 ? -1 : 0;
	buf_reset(b);
	packed_write(b, p->v, k);
	return EXEC(db, Q_PRUNE_COUNTS_SET, "pruning", "tiitti", b->p, oldest,
	    newest, service, o->target_id, o->part) == -1 ? -1 : 0;
}

/* The counts of one service stored before cut. */
static int
prune_service(struct db *db, const char *service, int64_t cut, char *err,
    size_t errlen)
{
	struct old_row *o = NULL;
	struct packed p;
	struct sql_rows *r;
	struct buf b;
	size_t n = 0, cap = 0, i;
	int rc;

	if ((r = sql_run(db, Q_PRUNE_COUNTS_OLD, sql[Q_PRUNE_COUNTS_OLD], err,
	    errlen, "pruning", "ti", service, cut)) == NULL)
		return -1;
	/* All of them first: a connection runs one statement at a time. */
	while ((rc = sql_next(db, r, err, errlen, "pruning")) == 1) {
		if (sql_null(db, r, 0) || sql_null(db, r, 2))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			o = xreallocarray(o, cap, sizeof(*o));
		}
		o[n].target_id = sql_strdup(db, r, 0);
		o[n].part = sql_int(db, r, 1);
		o[n++].counts = sql_strdup(db, r, 2);
	}
	sql_done(db, r);
	packed_init(&p);
	buf_init(&b);
	for (i = 0; rc == 0 && i < n; i++)
		if (prune_row(db, service, &o[i], cut, &p, &b, err,
		    errlen) == -1)
			rc = -1;
	packed_release(&p);
	buf_release(&b);
	for (i = 0; i < n; i++) {
		free(o[i].target_id);
		free(o[i].counts);
	}
	free(o);
	return rc;
}

/*
 * The counts of each service's targets not stored since target_before
 * nor in the target_ms before the service's newest count.
 */
static int
prune_counts(struct db *db, int64_t target_before, int64_t target_ms,
    char *err, size_t errlen)
{
	struct sql_rows *r;
	char **svc = NULL;
	int64_t *before = NULL, t;
	size_t n = 0, cap = 0, i;
	int rc;

	if ((r = sql_run(db, Q_COUNTS_NEWEST, sql[Q_COUNTS_NEWEST], err,
	    errlen, "pruning", "")) == NULL)
		return -1;
	while ((rc = sql_next(db, r, err, errlen, "pruning")) == 1) {
		if (sql_null(db, r, 1))
			continue;
		t = sql_int(db, r, 1) - target_ms;
		if (t > target_before)
			t = target_before;
		/* Nothing that old: reading its rows would only scan. */
		if (sql_int(db, r, 2) >= t)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			svc = xreallocarray(svc, cap, sizeof(*svc));
			before = xreallocarray(before, cap, sizeof(*before));
		}
		svc[n] = sql_strdup(db, r, 0);
		before[n++] = t;
	}
	sql_done(db, r);
	for (i = 0; rc == 0 && i < n; i++)
		if (prune_service(db, svc[i], before[i], err, errlen) == -1)
			rc = -1;
	for (i = 0; i < n; i++)
		free(svc[i]);
	free(svc);
	free(before);
	return rc;
}

int
store_analyze(struct db *db, int64_t min, char *err, size_t errlen)
{
	if (db->fresh < min || db->drv->in_txn(db))
		return 0;
	db->fresh = 0;
	if (db->drv->analyze == NULL)
		return 0;
	return db->drv->exec(db, db->drv->analyze, err, errlen,
	    "reading statistics");
}

int
store_prune(struct db *db, int64_t occ_before, int64_t min_before,
    int64_t hour_before, int64_t target_before, int64_t target_ms,
    char *err, size_t errlen)
{
	static const int q[4] = { Q_PRUNE_OCC, Q_PRUNE_MIN, Q_PRUNE_HOUR,
	    Q_PRUNE_TARGETS };
	int64_t before[4];
	size_t i;

	before[0] = occ_before;
	before[1] = min_before;
	before[2] = hour_before;
	before[3] = target_before;
	if (store_begin(db, err, errlen) == -1)
		return -1;
	for (i = 0; i < 4; i++)
		if (before[i] > 0 &&
		    EXEC(db, q[i], "pruning", "i", before[i]) == -1)
			goto bad;
	if (target_before > 0 &&
	    prune_counts(db, target_before, target_ms, err, errlen) == -1)
		goto bad;
	if (store_bump(db, err, errlen) == -1 ||
	    store_commit(db, err, errlen) == -1)
		goto bad;
	return 0;
bad:
	store_rollback(db);
	return -1;
}

static int
changed(struct db *db, int q, char *err, size_t errlen, const char *what,
    const char *service, const char *key, const char *status,
    int64_t resolved_at, int keep_regressed)
{
	int64_t n;
	int own;

	own = !db->drv->in_txn(db);
	if (own && store_begin(db, err, errlen) == -1)
		return -1;
	if (q == Q_RESOLVE)
		n = EXEC(db, q, what, "itt", resolved_at, service, key);
	else
		n = EXEC(db, q, what, "tTitt", status, resolved_at,
		    (int64_t)keep_regressed, service, key);
	if (n == -1 || (n > 0 && store_bump(db, err, errlen) == -1)) {
		if (own)
			store_rollback(db);
		return -1;
	}
	if (own && store_commit(db, err, errlen) == -1)
		return -1;
	return n > 0;
}

int
store_resolve(struct db *db, const char *service, const char *key,
    char *err, size_t errlen)
{
	return changed(db, Q_RESOLVE, err, errlen, "resolving an error",
	    service, key, NULL, time_now(), 0);
}

int
store_set_status(struct db *db, const char *service, const char *key,
    const char *status, char *err, size_t errlen)
{
	return changed(db, Q_SET_STATUS, err, errlen,
	    "setting an error's status", service, key, status,
	    strcmp(status, "resolved") == 0 ? time_now() : TIME_NONE,
	    strcmp(status, "unresolved") == 0);
}

int
store_service_touch(struct db *db, const char *service, int64_t now,
    char *err, size_t errlen)
{
	return EXEC(db, Q_SERVICE_TOUCH, "storing a service", "ti", service,
	    now) == -1 ? -1 : 0;
}

int
store_targets_mark(struct db *db, const char *service, char *err,
    size_t errlen)
{
	return EXEC(db, Q_TARGETS_MARK, "marking targets", "tt", service,
	    db->shard) == -1 ? -1 : 0;
}

int
store_target_put(struct db *db, const char *service, const char *address,
    const char *url, const char *endpoint, const char *labels_json,
    char *err, size_t errlen)
{
	return EXEC(db, Q_TARGET_PUT, "storing a target", "tttttt", service,
	    address, url ? url : "", endpoint, labels_json ? labels_json : "{}",
	    db->shard) == -1 ? -1 : 0;
}

int
store_targets_sweep(struct db *db, const char *service, char *err,
    size_t errlen)
{
	return EXEC(db, Q_TARGETS_SWEEP, "deleting old targets", "tt",
	    service, db->shard) == -1 ? -1 : 0;
}

int
store_error_get(struct db *db, const char *service, const char *key,
    struct db_error_row *row, char *err, size_t errlen)
{
	static const char what[] = "reading an error";
	struct sql_rows *r;
	const char *v;
	int found;

	if ((r = sql_run(db, Q_ERROR_GET, sql[Q_ERROR_GET], err, errlen, what,
	    "tt", service, key)) == NULL)
		return -1;
	if ((found = sql_next(db, r, err, errlen, what)) == 1) {
		row->total_count = sql_int(db, r, 0);
		row->severity = SEV_ERROR;
		if ((v = sql_text(db, r, 1)) != NULL)
			severity_parse(v, &row->severity);
		row->created_at = sql_time(db, r, 2);
		row->first_seen = sql_time(db, r, 3);
		row->last_seen = sql_time(db, r, 4);
		row->inserted = sql_int(db, r, 5);
		v = sql_text(db, r, 6);
		snprintf(row->status, sizeof(row->status), "%s",
		    v != NULL ? v : "unresolved");
		row->resolved_at = sql_time(db, r, 7);
		row->regressed = (int)sql_int(db, r, 8);
		row->regressed_at = sql_time(db, r, 9);
		row->rounds = sql_int(db, r, 10);
	}
	sql_done(db, r);
	return found;
}

int
store_error_put(struct db *db, const struct db_error_row *row, int64_t delta,
    char *err, size_t errlen)
{
	static const char what[] = "storing an error";
	struct sql_rows *r;
	const char *v;
	int inserted = 1;

	if ((r = sql_run(db, Q_ERROR_PUT, sql[Q_ERROR_PUT], err, errlen, what,
	    "ttitTTTitTiTi", row->service, row->key, delta,
	    severity_name(row->severity), row->created_at, row->first_seen,
	    row->last_seen, row->inserted, row->status, row->resolved_at,
	    (int64_t)row->regressed, row->regressed_at, row->rounds)) == NULL)
		return -1;
	db->written++;
	switch (db->drv->inserted) {
	case SQL_INSERTED_BY_READ:
		/* One writer at a time: the caller's read says if it is new. */
		break;
	case SQL_INSERTED_RETURNING:
		if ((inserted = sql_next(db, r, err, errlen, what)) == 1)
			inserted = (v = sql_text(db, r, 0)) != NULL &&
			    v[0] == 't';
		break;
	case SQL_INSERTED_CHANGES:
		inserted = db->drv->changes(db, r) == 1;
		break;
	}
	sql_done(db, r);
	return inserted;
}

int
store_occurrences_trim(struct db *db, const char *service, const char *key,
    size_t max, char *err, size_t errlen)
{
	static const char what[] = "trimming occurrences";
	struct sql_rows *r;
	char *uuid = NULL;
	int64_t ts = 0;
	int rc;

	/* OFFSET max - 1 finds the oldest kept; older ones go. */
	if ((r = sql_run(db, Q_OCC_OLDEST, sql[Q_OCC_OLDEST], err, errlen,
	    what, "ttu", service, key, max == 0 ? 0 : max - 1)) == NULL)
		return -1;
	if ((rc = sql_next(db, r, err, errlen, what)) == 1) {
		ts = sql_int(db, r, 0);
		uuid = sql_strdup(db, r, 1);
	}
	sql_done(db, r);
	if (rc != 1 || uuid == NULL) {
		free(uuid);
		return rc == -1 ? -1 : 0;
	}
	rc = EXEC(db, Q_OCC_TRIM, what, "ttiit", service, key, ts, ts,
	    uuid) == -1 ? -1 : 0;
	free(uuid);
	return rc;
}

int
store_minute_add(struct db *db, const char *service, const char *key,
    int64_t minute, int64_t delta, char *err, size_t errlen)
{
	return EXEC(db, Q_MINUTE_ADD, "counting a minute", "ttii", service,
	    key, minute, delta) == -1 ? -1 : 0;
}

int
store_hour_add(struct db *db, const char *service, const char *key,
    int64_t hour, int64_t delta, char *err, size_t errlen)
{
	return EXEC(db, Q_HOUR_ADD, "counting an hour", "ttii", service, key,
	    hour, delta) == -1 ? -1 : 0;
}

int
store_round_put(struct db *db, const char *service, int64_t at,
    double duration_ms, int64_t targets, int64_t failed, char *err,
    size_t errlen)
{
	return EXEC(db, Q_ROUND_PUT, "storing round statistics", "tiidT",
	    service, targets, failed, duration_ms, at) == -1 ? -1 : 0;
}
