/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The round's batched writes, many rows per statement: the targets'
 * health and the count baselines, in SQL every engine shares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store.h"
#include "timefmt.h"
#include "xalloc.h"

/*
 * A statement holds 512, 128, 32, 8, 2 or 1 rows, so a batch of any
 * length is a few statements of six shapes, each prepared once per
 * connection.  A server spends far more per statement than per row:
 * MariaDB took 17 s for a round of 200,000 counts at 100 rows per
 * statement and 10 s at 500.
 */
#define CLASSES		6
#define CLASS_MAX	512
/*
 * Above this many bytes of values a statement takes fewer rows, far
 * below MySQL's 16 MB packet.
 */
#define BATCH_BYTES	(4 << 20)

enum batch { B_COUNTS_PUT, B_COUNTS_GET, B_HEALTH_GET, B_HEALTH_PUT };

/*
 * The delta of a baseline: what the count grew by, or the whole count
 * when it went down (the instance restarted from zero).  Every engine
 * computes it in the upsert, under the row's lock, from the old row:
 * last_raw is set after what reads it (MySQL runs SET left to right).
 */
#define DELTA \
	"CASE WHEN @new(last_raw) >= target_counts.last_raw" \
	" THEN @new(last_raw) - target_counts.last_raw" \
	" ELSE @new(last_raw) END"

struct shape {
	const char	*head, *row, *sep, *tail;
	int		 nvalues;
};

static const struct shape shape[] = {
	[B_COUNTS_PUT] = { "INSERT INTO target_counts (service, target_id,"
	    " `key`, target, last_raw, accumulated, last_delta, updated)"
	    " VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?)", ", ",
	    " @ON(service, target_id, `key`) last_delta = " DELTA ","
	    " accumulated = target_counts.accumulated + " DELTA ","
	    " target = @new(target), last_raw = @new(last_raw),"
	    " updated = @new(updated)"
	    " @RETURNING(service, target_id, `key`, last_delta)", 8 },
	/*
	 * Where no RETURNING reads the rows back, they are read after the
	 * upsert: they are ours until commit.  Each row's identity in an
	 * OR, which every engine searches by key.
	 */
	[B_COUNTS_GET] = { "SELECT service, target_id, `key`, last_delta"
	    " FROM target_counts WHERE ", "(@service = @? AND"
	    " @target_id = @? AND @`key` = @?)", " OR ", "", 3 },
	[B_HEALTH_GET] = { "SELECT service, address, prev_up FROM targets"
	    " WHERE ", "(@service = @? AND @address = @?)", " OR ", "", 2 },
	/* prev_up is set before up, which MySQL's SET reads after. */
	[B_HEALTH_PUT] = { "INSERT INTO targets (service, address, url,"
	    " endpoint, labels, last_scrape, duration_ms, up, last_error,"
	    " updated) VALUES ", "(?, ?, ?, ?, '{}', ?, ?, ?, ?, ?)", ", ",
	    " @ON(service, address) last_scrape = @new(last_scrape),"
	    " duration_ms = @new(duration_ms), prev_up = targets.up,"
	    " up = @new(up), last_error = @new(last_error),"
	    " updated = @new(updated)"
	    " @RETURNING(service, address, prev_up)", 9 },
};

/*
 * The reads as a row-value IN list, where the engine searches one by
 * key: an OR of 512 identities took MariaDB 23 ms to plan.
 */
static const struct shape in_shape[] = {
	[B_COUNTS_GET] = { "SELECT service, target_id, `key`, last_delta"
	    " FROM target_counts WHERE (@service, @target_id, @`key`) IN (",
	    "(@?, @?, @?)", ", ", ")", 3 },
	[B_HEALTH_GET] = { "SELECT service, address, prev_up FROM targets"
	    " WHERE (@service, @address) IN (", "(@?, @?)", ", ", ")", 2 },
};

static const size_t class_rows[CLASSES] = { 512, 128, 32, 8, 2, 1 };

/* A row's identity as strings, and the rows it is compared with. */
struct rows {
	const void	*v;
	int		 health;	/* struct db_health, or db_count_row */
	size_t		*idx;		/* the rows sorted by identity */
	size_t		 n;
};

static int
cmp_key(const struct rows *r, const char *const *k, size_t i)
{
	const struct db_count_row *c;
	const struct db_health *h;
	int x;

	if (r->health) {
		h = (const struct db_health *)r->v + i;
		if ((x = strcmp(k[0], h->service)) != 0)
			return x;
		return strcmp(k[1], h->address);
	}
	c = (const struct db_count_row *)r->v + i;
	if ((x = strcmp(k[0], c->service)) != 0 ||
	    (x = strcmp(k[1], c->target_id)) != 0)
		return x;
	return strcmp(k[2], c->key);
}

static void
key_of(const struct rows *r, size_t i, const char **k)
{
	const struct db_count_row *c;
	const struct db_health *h;

	if (r->health) {
		h = (const struct db_health *)r->v + i;
		k[0] = h->service;
		k[1] = h->address;
	} else {
		c = (const struct db_count_row *)r->v + i;
		k[0] = c->service;
		k[1] = c->target_id;
		k[2] = c->key;
	}
}

static int
by_key(const void *x, const void *y, void *arg)
{
	const char *k[3];

	key_of(arg, *(const size_t *)x, k);
	return cmp_key(arg, k, *(const size_t *)y);
}

/*
 * Rows go to the engine sorted by identity, so that two writers take
 * their row locks in one order, and come back matched by binary search.
 */
static void
rows_sort(struct rows *r)
{
	size_t i;

	r->idx = xreallocarray(NULL, r->n, sizeof(*r->idx));
	for (i = 0; i < r->n; i++)
		r->idx[i] = i;
	qsort_r(r->idx, r->n, sizeof(*r->idx), by_key, r);
}

/* The position in idx[lo..hi) of the row with identity k, or hi. */
static size_t
rows_find(const struct rows *r, size_t lo, size_t hi, const char *const *k)
{
	size_t mid, end = hi;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = cmp_key(r, k, r->idx[mid])) == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return end;
}

static size_t
row_bytes(const struct rows *r, size_t i)
{
	const struct db_count_row *c;
	const struct db_health *h;

	if (r->health) {
		h = (const struct db_health *)r->v + i;
		return strlen(h->service) + strlen(h->address) +
		    strlen(h->endpoint) + (h->url ? strlen(h->url) : 0) +
		    (h->error ? strlen(h->error) : 0) + 64;
	}
	c = (const struct db_count_row *)r->v + i;
	return strlen(c->service) + strlen(c->target_id) + strlen(c->key) +
	    (c->target ? strlen(c->target) : 0) + 64;
}

/*
 * The class of the statement for the rows from at: the largest shape
 * the rows left fill, that the engine takes, and whose values fit in
 * BATCH_BYTES (one row always goes).
 */
static int
chunk_class(struct db *db, const struct rows *r, size_t at)
{
	size_t m, sum;
	int c;

	for (c = 0; c < CLASSES - 1; c++) {
		if (class_rows[c] > r->n - at ||
		    class_rows[c] > db->drv->batch_rows)
			continue;
		for (m = 0, sum = 0; m < class_rows[c]; m++)
			sum += row_bytes(r, r->idx[at + m]);
		if (sum <= BATCH_BYTES)
			break;
	}
	return c;
}

static struct sql_rows *
run_chunk(struct db *db, enum batch b, int c, const struct sql_value *v,
    char *err, size_t errlen, const char *what)
{
	int slot = Q_BATCH + (int)b * CLASSES + c;
	const struct shape *sh = &shape[b];
	struct sql_rows *res;
	struct buf q;
	size_t i;

	if (db->drv->row_in && (b == B_COUNTS_GET || b == B_HEALTH_GET))
		sh = &in_shape[b];
	if (sql_prepared(db, slot))
		return sql_runv(db, slot, NULL, v, class_rows[c] *
		    (size_t)sh->nvalues, err, errlen, what);
	buf_init(&q);
	buf_adds(&q, sh->head);
	for (i = 0; i < class_rows[c]; i++) {
		if (i > 0)
			buf_adds(&q, sh->sep);
		buf_adds(&q, sh->row);
	}
	buf_adds(&q, sh->tail);
	res = sql_runv(db, slot, q.p, v, class_rows[c] *
	    (size_t)sh->nvalues, err, errlen, what);
	buf_release(&q);
	return res;
}

/*
 * Reads back the identities and a number per row into out[], matched to
 * the rows of idx[at..at+m): RETURNING's or a SELECT's rows, in any
 * order.  -1 when a row is missing.
 */
static int
read_back(struct db *db, struct sql_rows *res, const struct rows *r,
    size_t at, size_t m, int ncols, int64_t *out, int nullable, char *err,
    size_t errlen, const char *what)
{
	const char *k[3];
	size_t j, got = 0;
	int rc, i;

	while ((rc = sql_next(db, res, err, errlen, what)) == 1) {
		for (i = 0; i < ncols; i++)
			k[i] = sql_text(db, res, i);
		if (k[0] == NULL || k[1] == NULL || (ncols > 2 && k[2] == NULL))
			continue;
		j = rows_find(r, at, at + m, k);
		if (j == at + m)
			continue;
		out[r->idx[j]] = nullable && sql_null(db, res, ncols) ? -1 :
		    sql_int(db, res, ncols);
		got++;
	}
	sql_done(db, res);
	if (rc == -1)
		return -1;
	if (!r->health && got != m) {
		snprintf(err, errlen, "%s: %s: %zu rows back for %zu",
		    db->drv->name, what, got, m);
		db->transient = 0;
		return -1;
	}
	return 0;
}

int
store_counts(struct db *db, const struct db_count_row *v, size_t n,
    int64_t *delta, char *err, size_t errlen)
{
	struct rows r = { .v = v, .health = 0, .n = n };
	struct sql_value *val;
	const struct db_count_row *c;
	struct sql_rows *res;
	size_t at, m, i, k;
	int cl, rc = -1;

	if (n == 0)
		return 0;
	rows_sort(&r);
	val = xcalloc(CLASS_MAX * 8, sizeof(*val));
	for (at = 0; at < n; at += m) {
		cl = chunk_class(db, &r, at);
		m = class_rows[cl];
		for (i = 0, k = 0; i < m; i++) {
			c = &v[r.idx[at + i]];
			k += sql_values(&val[k], "ttttiiii", c->service,
			    c->target_id, c->key, c->target, c->raw, c->raw,
			    c->raw, c->stored);
		}
		if ((res = run_chunk(db, B_COUNTS_PUT, cl, val, err, errlen,
		    "storing counts")) == NULL)
			goto out;
		db->written += (int64_t)m;
		if (!db->drv->returning) {
			sql_done(db, res);
			for (i = 0, k = 0; i < m; i++) {
				c = &v[r.idx[at + i]];
				k += sql_values(&val[k], "ttt", c->service,
				    c->target_id, c->key);
			}
			if ((res = run_chunk(db, B_COUNTS_GET, cl, val, err,
			    errlen, "reading counts")) == NULL)
				goto out;
		}
		if (read_back(db, res, &r, at, m, 3, delta, 0, err, errlen,
		    "storing counts") == -1)
			goto out;
	}
	rc = 0;
out:
	free(val);
	free(r.idx);
	return rc;
}

int
store_health(struct db *db, const struct db_health *v, size_t n,
    int *prev_up, char *err, size_t errlen)
{
	struct rows r = { .v = v, .health = 1, .n = n };
	struct sql_value *val;
	const struct db_health *h;
	struct sql_rows *res;
	int64_t *up;
	size_t at, m, i, k;
	int cl, rc = -1;

	if (n == 0)
		return 0;
	rows_sort(&r);
	val = xcalloc(CLASS_MAX * 9, sizeof(*val));
	up = xreallocarray(NULL, n, sizeof(*up));
	for (i = 0; i < n; i++)
		up[i] = -1;
	for (at = 0; at < n; at += m) {
		cl = chunk_class(db, &r, at);
		m = class_rows[cl];
		for (i = 0, k = 0; i < m; i++) {
			h = &v[r.idx[at + i]];
			k += sql_values(&val[k], "ttttTditi", h->service,
			    h->address, h->url ? h->url : "", h->endpoint,
			    h->at, h->duration_ms, (int64_t)(h->up != 0),
			    h->up ? NULL : h->error ? h->error : "",
			    h->stored);
		}
		if ((res = run_chunk(db, B_HEALTH_PUT, cl, val, err, errlen,
		    "storing targets' health")) == NULL)
			goto out;
		db->written += (int64_t)m;
		if (!db->drv->returning) {
			sql_done(db, res);
			for (i = 0, k = 0; i < m; i++) {
				h = &v[r.idx[at + i]];
				k += sql_values(&val[k], "tt", h->service,
				    h->address);
			}
			if ((res = run_chunk(db, B_HEALTH_GET, cl, val, err,
			    errlen, "reading targets' health")) == NULL)
				goto out;
		}
		/* A target new to the table has no prev_up: no event. */
		if (read_back(db, res, &r, at, m, 2, up, 1, err, errlen,
		    "storing targets' health") == -1)
			goto out;
	}
	for (i = 0; i < n; i++)
		prev_up[i] = up[i] < 0 ? -1 : up[i] != 0;
	rc = 0;
out:
	free(up);
	free(val);
	free(r.idx);
	return rc;
}
