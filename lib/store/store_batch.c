/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The round's batched writes, many rows per statement, in SQL every
 * engine shares: the machinery (batch.h), the targets' health and the
 * errors' occurrences.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "buf.h"
#include "store.h"
#include "xalloc.h"

/*
 * Above this many bytes of values a statement takes fewer rows, far
 * below MySQL's 16 MB packet.
 */
#define BATCH_BYTES	(4 << 20)

const size_t batch_rows[BATCH_CLASSES] = { 512, 128, 32, 8, 2, 1 };

static const struct batch_shape health_get = { "SELECT service, address,"
    " prev_up FROM targets WHERE ", "(@service = @? AND @address = @?)",
    " OR ", "", 2, 0, 0 };
/*
 * The read as a row-value IN list, where the engine searches one by
 * key: an OR of 512 identities took MariaDB 23 ms to plan.
 */
static const struct batch_shape health_get_in = { "SELECT service, address,"
    " prev_up FROM targets WHERE (@service, @address) IN (", "(@?, @?)",
    ", ", ")", 2, 0, 0 };
/* prev_up is set before up, which MySQL's SET reads after. */
static const struct batch_shape health_put = { "INSERT INTO targets"
    " (service, address, url, endpoint, labels, last_scrape, duration_ms,"
    " up, last_error, updated) VALUES ", "(?, ?, ?, ?, '{}', ?, ?, ?, ?, ?)",
    ", ", " @ON(service, address) last_scrape = @new(last_scrape),"
    " duration_ms = @new(duration_ms), prev_up = targets.up,"
    " up = @new(up), last_error = @new(last_error),"
    " updated = @new(updated)"
    " @RETURNING(service, address, prev_up)", 9, 0, 0 };
/* An occurrence stored before (a replay) is left as it is. */
static const struct batch_shape occ_add = { "INSERT INTO occurrences"
    " (service, `key`, uuid, timestamp, severity, error_json, http_json)"
    " VALUES ", "(?, ?, ?, ?, ?, ?, ?)", ", ",
    " @IGNORE(service, `key`, uuid;uuid)", 7, 0, 0 };

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

/* Rows that come back are matched by binary search. */
void
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

int
batch_class(struct db *db, size_t n, size_t at,
    size_t (*bytes)(const void *, size_t), const void *arg)
{
	size_t m, sum;
	int c;

	for (c = 0; c < BATCH_CLASSES - 1; c++) {
		if (batch_rows[c] > n - at ||
		    batch_rows[c] > db->drv->batch_rows)
			continue;
		for (m = 0, sum = 0; m < batch_rows[c]; m++)
			sum += bytes(arg, at + m);
		if (sum <= BATCH_BYTES)
			break;
	}
	return c;
}

/* The size of the sorted rows' row i. */
static size_t
sorted_bytes(const void *arg, size_t i)
{
	const struct rows *r = arg;

	return row_bytes(r, r->idx[i]);
}

struct sql_rows *
batch_run(struct db *db, enum batch b, const struct batch_shape *sh, int c,
    const struct sql_value *v, char *err, size_t errlen, const char *what)
{
	int slot = Q_BATCH + (int)b * BATCH_CLASSES + c;
	struct sql_rows *res;
	struct buf q;
	size_t i, n;

	n = (size_t)sh->nhead + batch_rows[c] * (size_t)(sh->nvalues +
	    (db->drv->hashed_ids ? sh->nsurrogate : 0));
	if (sql_prepared(db, slot))
		return sql_runv(db, slot, NULL, v, n, err, errlen, what);
	buf_init(&q);
	buf_adds(&q, sh->head);
	for (i = 0; i < batch_rows[c]; i++) {
		if (i > 0)
			buf_adds(&q, sh->sep);
		buf_adds(&q, sh->row);
	}
	buf_adds(&q, sh->tail);
	res = sql_runv(db, slot, q.p, v, n, err, errlen, what);
	buf_release(&q);
	return res;
}

/*
 * Reads back the identities and a number per row into out[], matched to
 * the rows of idx[at..at+m): RETURNING's or a SELECT's rows, in any
 * order.
 */
static int
read_back(struct db *db, struct sql_rows *res, const struct rows *r,
    size_t at, size_t m, int ncols, int64_t *out, int nullable, char *err,
    size_t errlen, const char *what)
{
	const char *k[3];
	size_t j;
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
	}
	sql_done(db, res);
	return rc == -1 ? -1 : 0;
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
	val = xcalloc((n < BATCH_MAX ? n : BATCH_MAX) * 9, sizeof(*val));
	up = xreallocarray(NULL, n, sizeof(*up));
	for (i = 0; i < n; i++)
		up[i] = -1;
	for (at = 0; at < n; at += m) {
		cl = batch_class(db, n, at, sorted_bytes, &r);
		m = batch_rows[cl];
		for (i = 0, k = 0; i < m; i++) {
			h = &v[r.idx[at + i]];
			k += sql_values(&val[k], "ttttTditi", h->service,
			    h->address, h->url ? h->url : "", h->endpoint,
			    h->at, h->duration_ms, (int64_t)(h->up != 0),
			    h->up ? NULL : h->error ? h->error : "",
			    h->stored);
		}
		if ((res = batch_run(db, B_HEALTH_PUT, &health_put, cl, val, err,
		    errlen, "storing targets' health")) == NULL)
			goto out;
		db->written += (int64_t)m;
		if (!db->drv->returning) {
			sql_done(db, res);
			for (i = 0, k = 0; i < m; i++) {
				h = &v[r.idx[at + i]];
				k += sql_values(&val[k], "tt", h->service,
				    h->address);
			}
			if ((res = batch_run(db, B_HEALTH_GET,
			    db->drv->row_in ? &health_get_in : &health_get, cl,
			    val, err, errlen, "reading targets' health")) ==
			    NULL)
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

/* The occurrences of one key, for batch_class. */
struct occs {
	const char			*service, *key;
	const struct db_occurrence	*v;
};

static size_t
occ_bytes(const void *arg, size_t i)
{
	const struct occs *o = arg;
	const struct db_occurrence *c = &o->v[i];

	return strlen(o->service) + strlen(o->key) + strlen(c->uuid) +
	    strlen(c->error_json) + (c->http_json ? strlen(c->http_json) : 0) +
	    64;
}

int
store_occurrences_add(struct db *db, const char *service, const char *key,
    const struct db_occurrence *v, size_t n, char *err, size_t errlen)
{
	struct occs o = { service, key, v };
	const struct db_occurrence *c;
	struct sql_value *val;
	struct sql_rows *res;
	size_t at, m, i, k;
	int64_t got;
	int cl, rc = -1;

	if (n == 0)
		return 0;
	val = xcalloc((n < BATCH_MAX ? n : BATCH_MAX) * 7, sizeof(*val));
	for (at = 0; at < n; at += m) {
		cl = batch_class(db, n, at, occ_bytes, &o);
		m = batch_rows[cl];
		for (i = 0, k = 0; i < m; i++) {
			c = &v[at + i];
			k += sql_values(&val[k], "tttittt", service, key,
			    c->uuid, c->timestamp, severity_name(c->severity),
			    c->error_json, c->http_json);
		}
		if ((res = batch_run(db, B_OCC_ADD, &occ_add, cl, val, err,
		    errlen, "storing occurrences")) == NULL)
			goto out;
		if ((got = db->drv->changes(db, res)) > 0)
			db->written += got;
		sql_done(db, res);
	}
	rc = 0;
out:
	free(val);
	return rc;
}
