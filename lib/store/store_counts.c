/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A round's count baselines: each target's row read, the round's counts
 * merged in by key and the deltas taken, the row written back packed
 * (packed.h) only as it was read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "buf.h"
#include "packed.h"
#include "store.h"
#include "timefmt.h"
#include "xalloc.h"

/*
 * A row is written over only as it was read, the version one below the
 * new one: MySQL, with no condition on its upsert, keeps the row's own
 * values instead and counts it as found, not changed.
 */
#define UNCHANGED	"target_baselines.version = @new(version) - 1"
#define GUARDED(c) \
	c " = CASE WHEN " UNCHANGED " THEN @new(" c ")" \
	" ELSE target_baselines." c " END"

/*
 * The rows of a service's targets: an IN list of one column, which every
 * engine searches by key (of row values or an OR of pairs, PostgreSQL and
 * SQLite planned one search per row).
 */
static const struct batch_shape base_get = { "SELECT service, target_id,"
    " part, counts, version @SURROGATE(, id) FROM target_baselines"
    " WHERE @service = @? AND @target_id IN (", "@?", ", ", ")", 1, 1, 0 };
/*
 * The version last: MySQL's SET reads it after.  MySQL finds the row by
 * the id read with it: by the hashes, it first inserts a row and takes
 * it back, which took it twice as long.
 */
static const struct batch_shape base_put = { "INSERT INTO target_baselines"
    " (@SURROGATE(id, )service, target_id, part, target, counts, oldest,"
    " updated, version) VALUES ", "(@SURROGATE(?, )?, ?, ?, ?, ?, ?, ?, ?)",
    ", ", " @ON(service, target_id, part) " GUARDED("target") ","
    " " GUARDED("counts") ", " GUARDED("oldest") ","
    " " GUARDED("updated") ", " GUARDED("version")
    " @WHERE(target_baselines.version = excluded.version - 1)", 8, 0, 1 };
/*
 * A row not there when read: a second writer that read it as missing
 * too fails on the key and is tried again.
 */
static const struct batch_shape base_new = { "INSERT INTO target_baselines"
    " (service, target_id, part, target, counts, oldest, updated, version)"
    " VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?)", ", ", "", 8, 0, 0 };

/* One row of target_baselines to write. */
struct part {
	const char	*service, *target_id, *target;
	int64_t		 part, oldest, updated, version;
	int64_t		 id;		/* the surrogate key, where read */
	char		*counts;
	size_t		 len;
};

struct parts {
	struct part	*v;
	size_t		 n, cap;
};

static size_t
part_bytes(const void *arg, size_t i)
{
	const struct part *p = (const struct part *)arg + i;

	return p->len + strlen(p->service) + strlen(p->target_id) +
	    (p->target ? strlen(p->target) : 0) + 64;
}

static void
parts_release(struct parts *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		free(ps->v[i].counts);
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

/* The rows read of a chunk's targets. */
struct stored {
	struct packed	 p;		/* their entries */
	size_t		*owner;		/* the target of p.v[i] */
	size_t		 capowner;
	struct version {
		size_t	 owner;
		int64_t	 part, version, id;
	}		*ver;		/* each row's, sorted */
	size_t		 nver, capver;
};

static int
by_part(const void *x, const void *y)
{
	const struct version *a = x, *b = y;

	if (a->owner != b->owner)
		return a->owner < b->owner ? -1 : 1;
	return a->part < b->part ? -1 : a->part > b->part;
}

/*
 * Adds a target's entries, sorted by key, as the rows they fill: part
 * 0, 1, ... of PACKED_ROW_BYTES each, to put where the row was read
 * (s, the target's owner there), to add where not.  The number of rows.
 */
static int64_t
parts_add(struct parts *put, struct parts *add, const struct stored *s,
    size_t owner, const struct db_count_row *c, const struct packed_count *v,
    size_t n)
{
	struct version key = { owner, 0, 0, 0 }, *was;
	struct parts *ps;
	struct part *p;
	struct buf b;
	size_t at, m, i;
	int64_t np = 0;

	for (at = 0; at < n; at += m, np++) {
		m = packed_row_take(v, at, n);
		key.part = np;
		was = s == NULL || s->nver == 0 ? NULL : bsearch(&key, s->ver,
		    s->nver, sizeof(*s->ver), by_part);
		ps = was != NULL ? put : add;
		if (ps->n == ps->cap) {
			ps->cap = ps->cap ? 2 * ps->cap : 64;
			ps->v = xreallocarray(ps->v, ps->cap, sizeof(*ps->v));
		}
		p = &ps->v[ps->n++];
		p->service = c->service;
		p->target_id = c->target_id;
		p->target = c->target;
		p->part = np;
		p->version = was != NULL ? was->version + 1 : 1;
		p->id = was != NULL ? was->id : 0;
		p->oldest = p->updated = v[at].updated;
		for (i = at + 1; i < at + m; i++) {
			if (v[i].updated < p->oldest)
				p->oldest = v[i].updated;
			if (v[i].updated > p->updated)
				p->updated = v[i].updated;
		}
		buf_init(&b);
		packed_write(&b, v + at, m);
		p->counts = buf_detach(&b, &p->len);
	}
	return np;
}

/*
 * Writes the rows with statement b (B_BASE_PUT or B_BASE_NEW).  A row
 * put that another writer changed since it was read is left as it is,
 * and the transaction fails, to be tried again.
 */
static int
parts_write(struct db *db, enum batch b, const struct parts *ps, char *err,
    size_t errlen)
{
	struct sql_value *val;
	const struct part *p;
	struct sql_rows *res;
	size_t at, m, i, k;
	int64_t got, want;
	int cl, rc = -1;

	val = xcalloc((ps->n < BATCH_MAX ? ps->n : BATCH_MAX) * 9 + 1,
	    sizeof(*val));
	for (at = 0; at < ps->n; at += m) {
		cl = batch_class(db, ps->n, at, part_bytes, ps->v);
		m = batch_rows[cl];
		for (i = 0, k = 0; i < m; i++) {
			p = &ps->v[at + i];
			if (b == B_BASE_PUT && db->drv->hashed_ids)
				k += sql_values(&val[k], "i", p->id);
			k += sql_values(&val[k], "ttittiii", p->service,
			    p->target_id, p->part, p->target, p->counts,
			    p->oldest, p->updated, p->version);
		}
		if ((res = batch_run(db, b, b == B_BASE_PUT ? &base_put :
		    &base_new, cl, val, err, errlen, "storing counts")) == NULL)
			goto out;
		got = db->drv->changes(db, res);
		sql_done(db, res);
		want = (int64_t)m * (b == B_BASE_PUT &&
		    db->drv->inserted == SQL_INSERTED_CHANGES ? 2 : 1);
		if (got != want) {
			snprintf(err, errlen, "%s: storing counts: another "
			    "writer changed the counts of service '%s' since "
			    "they were read", db->drv->name, ps->v[at].service);
			db->transient = 1;
			goto out;
		}
		db->written += (int64_t)m;
		if (b == B_BASE_NEW)
			db->fresh += (int64_t)m;
	}
	rc = 0;
out:
	free(val);
	return rc;
}

/* A target of a round: its rows in the sorted rows, what it had stored. */
struct target {
	size_t		 first, n;	/* r.idx[first..first+n) */
	size_t		 old, nold;	/* its entries in ord[old..old+nold) */
	int64_t		 parts;		/* rows stored, 0 when new */
};

static int
by_owner(const void *x, const void *y, void *arg)
{
	const struct stored *s = arg;
	size_t i = *(const size_t *)x, j = *(const size_t *)y;

	if (s->owner[i] != s->owner[j])
		return s->owner[i] < s->owner[j] ? -1 : 1;
	return strcmp(s->p.v[i].key, s->p.v[j].key);
}

static int
target_cmp(const struct rows *r, const struct target *t, const char *service,
    const char *target_id)
{
	const struct db_count_row *c;
	int x;

	c = (const struct db_count_row *)r->v + r->idx[t->first];
	if ((x = strcmp(service, c->service)) != 0)
		return x;
	return strcmp(target_id, c->target_id);
}

/*
 * Reads the stored rows of targets t[0..m), all of one service, into s,
 * and each target's number of rows.
 */
static int
read_stored(struct db *db, const struct rows *r, struct target *t, size_t m,
    int cl, struct stored *s, char *err, size_t errlen)
{
	static const char what[] = "reading counts";
	struct sql_value val[BATCH_MAX + 1];
	const struct db_count_row *c;
	const char *service, *target_id, *text;
	struct sql_rows *res;
	size_t i, k, lo, hi, mid = 0, from;
	int rc, x;

	c = (const struct db_count_row *)r->v + r->idx[t[0].first];
	k = sql_values(val, "t", c->service);
	for (i = 0; i < m; i++) {
		c = (const struct db_count_row *)r->v + r->idx[t[i].first];
		k += sql_values(&val[k], "t", c->target_id);
	}
	if ((res = batch_run(db, B_BASE_GET, &base_get, cl, val, err, errlen,
	    what)) == NULL)
		return -1;
	while ((rc = sql_next(db, res, err, errlen, what)) == 1) {
		service = sql_text(db, res, 0);
		target_id = sql_text(db, res, 1);
		if (service == NULL || target_id == NULL ||
		    (text = sql_text(db, res, 3)) == NULL)
			continue;
		for (lo = 0, hi = m; lo < hi; ) {
			mid = lo + (hi - lo) / 2;
			if ((x = target_cmp(r, &t[mid], service,
			    target_id)) == 0)
				break;
			if (x < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (lo >= hi)
			continue;
		from = s->p.n;
		if (store_packed_read(db, &s->p, what, service, target_id,
		    sql_int(db, res, 2), text, err, errlen) == -1) {
			rc = -1;
			break;
		}
		if (s->p.n > s->capowner) {
			s->capowner = s->p.cap;
			s->owner = xreallocarray(s->owner, s->capowner,
			    sizeof(*s->owner));
		}
		for (i = from; i < s->p.n; i++)
			s->owner[i] = mid;
		if (s->nver == s->capver) {
			s->capver = s->capver ? 2 * s->capver : 64;
			s->ver = xreallocarray(s->ver, s->capver,
			    sizeof(*s->ver));
		}
		s->ver[s->nver].owner = mid;
		s->ver[s->nver].part = sql_int(db, res, 2);
		s->ver[s->nver].version = sql_int(db, res, 4);
		s->ver[s->nver++].id = db->drv->hashed_ids ?
		    sql_int(db, res, 5) : 0;
		if (sql_int(db, res, 2) + 1 > t[mid].parts)
			t[mid].parts = sql_int(db, res, 2) + 1;
	}
	sql_done(db, res);
	if (s->nver > 0)
		qsort(s->ver, s->nver, sizeof(*s->ver), by_part);
	return rc == -1 ? -1 : 0;
}
/*
 * What a count grew by since last, or all of it when it went down: the
 * instance restarted from zero.  A row edited to a negative count does
 * not overflow it.
 */
static int64_t
grew(int64_t raw, int64_t last)
{
	return raw < last || last < 0 ? raw : raw - last;
}

static int64_t
add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

/*
 * The target's entries after the round: its stored ones, and its rows'
 * counts merged in by key, each row's delta into delta[].  How many.
 */
static size_t
merge(const struct rows *r, const struct target *t, const struct stored *s,
    const size_t *ord, struct packed_count *out, int64_t *delta)
{
	const struct db_count_row *c = NULL;
	const struct packed_count *o = NULL;
	size_t i = 0, j = 0, k = 0, ri = 0;
	int64_t d;
	int x;

	while (i < t->n || j < t->nold) {
		if (i < t->n) {
			ri = r->idx[t->first + i];
			c = (const struct db_count_row *)r->v + ri;
		}
		if (j < t->nold)
			o = &s->p.v[ord[t->old + j]];
		x = i == t->n ? 1 : j == t->nold ? -1 : strcmp(c->key, o->key);
		if (x > 0) {
			out[k++] = *o;
		} else {
			d = x < 0 ? c->raw : grew(c->raw, o->last_raw);
			out[k].key = c->key;
			out[k].last_raw = c->raw;
			out[k].accumulated = x < 0 ? d :
			    add_sat(o->accumulated, d);
			out[k].last_delta = d;
			out[k++].updated = c->stored;
			delta[ri] = d;
			i++;
		}
		/* One entry per key, whatever an edited row held. */
		if (x >= 0)
			for (j++; j < t->nold && strcmp(s->p.v[ord[t->old +
			    j]].key, o->key) == 0; j++)
				;
	}
	return k;
}

struct round {
	const struct rows	*r;
	const struct target	*t;
};

static size_t
target_bytes(const void *arg, size_t i)
{
	const struct round *x = arg;
	const struct db_count_row *c;

	c = (const struct db_count_row *)x->r->v + x->r->idx[x->t[i].first];
	return strlen(c->service) + strlen(c->target_id) + 16;
}

/* Deletes the rows of a target past the ones it fills now. */
static int
trim(struct db *db, const char *service, const char *target_id,
    int64_t parts, char *err, size_t errlen)
{
	return sql_exec(db, Q_BASE_TRIM, "DELETE FROM target_baselines"
	    " WHERE @service = @? AND @target_id = @? AND part >= ?", err,
	    errlen, "storing counts", "tti", service, target_id, parts) ==
	    -1 ? -1 : 0;
}

/*
 * The targets of m rows sorted by identity, each its rows' first and
 * number.
 */
static struct target *
targets_of(const struct rows *r, size_t *nt)
{
	const struct db_count_row *c;
	struct target *t = NULL;
	size_t i, n = 0, cap = 0;

	for (i = 0; i < r->n; i++) {
		c = (const struct db_count_row *)r->v + r->idx[i];
		if (n == 0 || target_cmp(r, &t[n - 1], c->service,
		    c->target_id) != 0) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				t = xreallocarray(t, cap, sizeof(*t));
			}
			memset(&t[n], 0, sizeof(t[n]));
			t[n++].first = i;
		}
		t[n - 1].n++;
	}
	*nt = n;
	return t;
}

/*
 * The rows with their keys as a row's JSON keeps them, where one is not
 * UTF-8 (a reader's never is): NULL when all are, else a copy to free
 * with rows_free.
 */
static struct db_count_row *
rows_clean(const struct db_count_row *v, size_t n)
{
	struct db_count_row *c = NULL;
	struct buf b;
	const char *k;
	size_t i, j;

	buf_init(&b);
	for (i = 0; i < n; i++) {
		if ((k = buf_utf8_clean(&b, v[i].key)) == v[i].key && c == NULL)
			continue;
		if (c == NULL) {
			c = xreallocarray(NULL, n, sizeof(*c));
			memcpy(c, v, n * sizeof(*c));
			for (j = 0; j < i; j++)
				c[j].key = xstrdup(v[j].key);
		}
		c[i].key = xstrdup(k);
	}
	buf_release(&b);
	return c;
}

static void
rows_free(struct db_count_row *c, size_t n)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < n; i++)
		free((char *)c[i].key);
	free(c);
}

int
store_counts(struct db *db, const struct db_count_row *v0, size_t n,
    int64_t *delta, char *err, size_t errlen)
{
	struct db_count_row *clean = rows_clean(v0, n);
	const struct db_count_row *v = clean != NULL ? clean : v0;
	struct rows r = { .v = v, .health = 0, .n = n };
	struct parts put = { 0 }, add = { 0 };
	struct packed_count *out = NULL;
	const struct db_count_row *c;
	struct target *t, *tt;
	struct stored s = { 0 };
	struct round x;
	size_t nt, at, end, m, i, j, k, *ord = NULL, capout = 0;
	int64_t np;
	int cl, rc = -1;

	if (n == 0) {
		rows_free(clean, n);
		return 0;
	}
	rows_sort(&r);
	t = targets_of(&r, &nt);
	packed_init(&s.p);
	x.r = &r;
	x.t = t;
	for (at = 0; at < nt; at += m) {
		/* One statement reads targets of one service. */
		for (end = at + 1; end < nt &&
		    strcmp(v[r.idx[t[end].first]].service,
		    v[r.idx[t[at].first]].service) == 0; end++)
			;
		cl = batch_class(db, end, at, target_bytes, &x);
		m = batch_rows[cl];
		packed_reset(&s.p);
		s.nver = 0;
		if (read_stored(db, &r, t + at, m, cl, &s, err, errlen) == -1)
			goto out;
		ord = xreallocarray(ord, s.p.n + 1, sizeof(*ord));
		for (i = 0; i < s.p.n; i++)
			ord[i] = i;
		qsort_r(ord, s.p.n, sizeof(*ord), by_owner, &s);
		for (i = 0, j = 0; i < m; i++) {
			tt = &t[at + i];
			tt->old = j;
			while (j < s.p.n && s.owner[ord[j]] == i)
				j++;
			tt->nold = j - tt->old;
			if (tt->n + tt->nold > capout) {
				capout = tt->n + tt->nold;
				out = xreallocarray(out, capout, sizeof(*out));
			}
			k = merge(&r, tt, &s, ord, out, delta);
			c = &v[r.idx[tt->first]];
			np = parts_add(&put, &add, &s, i, c, out, k);
			if (tt->parts > np && trim(db, c->service,
			    c->target_id, np, err, errlen) == -1)
				goto out;
		}
		if (parts_write(db, B_BASE_PUT, &put, err, errlen) == -1 ||
		    parts_write(db, B_BASE_NEW, &add, err, errlen) == -1)
			goto out;
		parts_release(&put);
		parts_release(&add);
	}
	rc = 0;
out:
	parts_release(&put);
	parts_release(&add);
	packed_release(&s.p);
	free(s.owner);
	free(s.ver);
	free(ord);
	free(out);
	free(t);
	free(r.idx);
	rows_free(clean, n);
	return rc;
}

/* A row of schema 6's target_counts. */
struct count_row {
	char			*service, *target_id, *target;
	struct packed_count	 c;
};

int
store_counts_pack(struct db *db, char *err, size_t errlen)
{
	static const char what[] = "packing counts";
	struct count_row *v = NULL;
	struct packed_count *e = NULL;
	struct parts ps = { 0 }, none = { 0 };
	struct db_count_row c;
	struct sql_rows *r;
	size_t n = 0, cap = 0, i, j, k;
	int64_t now = time_now();
	int rc;

	/* What an interrupted pack wrote: MySQL commits DDL as it goes. */
	if (sql_exec(db, Q_PACK_CLEAR, "DELETE FROM target_baselines", err,
	    errlen, what, "") == -1)
		return -1;

	/* Each target's rows together: by the hash, where ids are hashed. */
	if ((r = sql_run(db, Q_PACK_READ, "SELECT service, target_id, target,"
	    " `key`, last_raw, accumulated, last_delta, updated"
	    " FROM target_counts ORDER BY @service, @target_id", err, errlen,
	    what, "")) == NULL)
		return -1;
	while ((rc = sql_next(db, r, err, errlen, what)) == 1) {
		if (sql_null(db, r, 0) || sql_null(db, r, 1) ||
		    sql_null(db, r, 3))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n].service = sql_strdup(db, r, 0);
		v[n].target_id = sql_strdup(db, r, 1);
		v[n].target = sql_strdup(db, r, 2);
		v[n].c.key = sql_strdup(db, r, 3);
		v[n].c.last_raw = sql_int(db, r, 4);
		v[n].c.accumulated = sql_int(db, r, 5);
		v[n].c.last_delta = sql_int(db, r, 6);
		/* As schema 2 did: a row without a time was just seen. */
		v[n++].c.updated = sql_null(db, r, 7) ? now : sql_int(db, r, 7);
	}
	sql_done(db, r);
	e = xreallocarray(NULL, n + 1, sizeof(*e));
	for (i = 0; rc == 0 && i < n; i = j) {
		for (j = i, k = 0; j < n && strcmp(v[j].service,
		    v[i].service) == 0 && strcmp(v[j].target_id,
		    v[i].target_id) == 0; j++)
			e[k++] = v[j].c;
		qsort(e, k, sizeof(*e), packed_by_key);
		c.service = v[i].service;
		c.target_id = v[i].target_id;
		c.target = v[i].target;
		parts_add(&none, &ps, NULL, 0, &c, e, k);
	}
	if (rc == 0)
		rc = parts_write(db, B_BASE_NEW, &ps, err, errlen);
	parts_release(&ps);
	free(e);
	for (i = 0; i < n; i++) {
		free(v[i].service);
		free(v[i].target_id);
		free(v[i].target);
		free((char *)v[i].c.key);
	}
	free(v);
	return rc == -1 ? -1 : 0;
}

