/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite storage engine: one file in WAL mode, prepared statements only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "sql.h"
#include "model.h"
#include "timefmt.h"
#include "xalloc.h"

#define BUSY_TIMEOUT_MS	5000

enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_VERSION,
	ST_COUNT_
};

static const char *const sql[ST_COUNT_] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_VERSION] = "PRAGMA data_version",
};

/* A slot's statement, stepped once by run so that it has run. */
struct sql_rows {
	sqlite3_stmt	*st;
	int		 pending;	/* the first step's code, or 0 */
};

struct sq {
	struct db	 base;		/* first: the handle db.c sees */
	sqlite3		*h;
	char		*path;
	sqlite3_stmt	*st[ST_COUNT_];
	struct sql_rows	 q[SQL_SLOTS];	/* the store's statements */
	int64_t		 commits;	/* this connection's own changes */
};


static struct sq *
SQ(struct db *db)
{
	return (struct sq *)db;
}

/* Lets the caller tell an unusable file from a bad URI. */
static int
file_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return EACCES;
	case SQLITE_IOERR:
		return EIO;
	case SQLITE_NOTADB:
	case SQLITE_CANTOPEN:
		return EINVAL;
	}
	return 0;
}

static int
fail(struct sq *s, char *err, size_t errlen, const char *what)
{
	int rc = sqlite3_extended_errcode(s->h) & 0xff;

	snprintf(err, errlen, "sqlite: '%s': %s: %s", s->path, what,
	    sqlite3_errmsg(s->h));
	s->base.transient = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
	s->base.errnum = file_errno(rc);
	return -1;
}

/*
 * Returns statement id, prepared once and kept for the connection's
 * life, reset and with no bindings; NULL with a message on failure.
 */
static sqlite3_stmt *
stmt(struct sq *s, int id, char *err, size_t errlen)
{
	sqlite3_stmt *st;

	if ((st = s->st[id]) == NULL) {
		if (sqlite3_prepare_v3(s->h, sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
			fail(s, err, errlen, "prepare");
			return NULL;
		}
		s->st[id] = st;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}



/* Runs a statement that returns no rows. */
static int
exec_done(struct sq *s, sqlite3_stmt *st, char *err, size_t errlen,
    const char *what)
{
	int rc;

	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		fail(s, err, errlen, what);
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

/* -- Opening, and the schema lock. */

static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

static int
is_busy(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/*
 * Runs constant SQL (pragmas, the schema), retrying while another
 * connection holds a lock the busy handler does not wait for.
 */
static int
exec_retry(struct sq *s, const char *q, char *err, size_t errlen,
    const char *what)
{
	struct timespec t0, t;
	int rc;
	char *msg = NULL;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		rc = sqlite3_exec(s->h, q, NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
		/* The busy handler may have waited already: bound the total. */
		if (!is_busy(rc) || (t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000 >= BUSY_TIMEOUT_MS)
			break;
		sqlite3_free(msg);
		msg = NULL;
		sleep_ms(10);
	}
	snprintf(err, errlen, "sqlite: '%s': %s: %s", s->path, what,
	    msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	s->base.transient = is_busy(rc);
	s->base.errnum = file_errno(rc);
	return -1;
}

static int
drv_exec(struct db *db, const char *q, char *err, size_t errlen,
    const char *what)
{
	return exec_retry(SQ(db), q, err, errlen, what);
}

/* The write lock makes a second process wait, then see the new version. */
static int
schema_lock(struct db *db, char *err, size_t errlen)
{
	return exec_retry(SQ(db), "BEGIN IMMEDIATE", err, errlen,
	    "locking the schema");
}

static int
schema_unlock(struct db *db, int ok, char *err, size_t errlen)
{
	if (ok)
		return exec_retry(SQ(db), "COMMIT", err, errlen, "migrating");
	sqlite3_exec(SQ(db)->h, "ROLLBACK", NULL, NULL, NULL);
	return 0;
}

static void
sq_close(struct db *db)
{
	struct sq *s = SQ(db);
	int i;

	for (i = 0; i < ST_COUNT_; i++)
		sqlite3_finalize(s->st[i]);
	for (i = 0; i < SQL_SLOTS; i++)
		sqlite3_finalize(s->q[i].st);
	sqlite3_close(s->h);
	free(s->path);
	free(s);
}

static struct db *
db_sqlite_open(const char *uri, int *transient, char *err, size_t errlen)
{
	const char *path = uri;
	struct sq *s;
	int rc, dummy, memory, saved;

	if (transient == NULL)
		transient = &dummy;
	*transient = 0;
	if (strcmp(uri, "memory:") == 0 || strcmp(uri, "memory") == 0 ||
	    strcmp(uri, "sqlite::memory:") == 0)
		path = ":memory:";
	else if (strncmp(uri, "sqlite://", 9) == 0)
		path = uri + 9;
	else if (strncmp(uri, "sqlite:", 7) == 0)
		path = uri + 7;
	if (*path == '\0') {
		snprintf(err, errlen, "sqlite: empty path");
		return NULL;
	}
	memory = strcmp(path, ":memory:") == 0;
	s = xcalloc(1, sizeof(*s));
	s->base.drv = &sql_sqlite;
	s->path = xstrdup(memory ? "memory:" : path);
	s->base.name = s->path;
	rc = sqlite3_open_v2(path, &s->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		saved = errno ? errno : ENOENT;
		snprintf(err, errlen, "sqlite: '%s': cannot open: %s", path,
		    s->h ? sqlite3_errmsg(s->h) : sqlite3_errstr(rc));
		sq_close(&s->base);
		errno = saved;
		return NULL;
	}
	sqlite3_extended_result_codes(s->h, 1);
	sqlite3_busy_timeout(s->h, BUSY_TIMEOUT_MS);
	if (exec_retry(s, "PRAGMA foreign_keys = ON", err, errlen,
	    "setting up") == -1)
		goto bad;
	if (!memory && exec_retry(s, "PRAGMA journal_mode = WAL", err, errlen,
	    "setting up") == -1)
		goto bad;
	if (exec_retry(s, "PRAGMA synchronous = NORMAL", err, errlen,
	    "setting up") == -1)
		goto bad;
	/*
	 * A small page cache keeps memory flat whatever the number of
	 * targets; the operating system caches the file anyway.
	 */
	if (exec_retry(s, "PRAGMA cache_size = -1024", err, errlen,
	    "setting up") == -1)
		goto bad;
	errno = 0;
	return &s->base;
bad:
	*transient = s->base.transient;
	saved = s->base.errnum;
	sq_close(&s->base);
	errno = saved;
	return NULL;
}

/* -- Reading. */

/* -- Writing, for the aggregator. */

static int
run0(struct sq *s, int id, char *err, size_t errlen, const char *what)
{
	sqlite3_stmt *st;

	if ((st = stmt(s, id, err, errlen)) == NULL)
		return -1;
	return exec_done(s, st, err, errlen, what);
}

static int
sq_begin(struct db *db, char *err, size_t errlen)
{
	return run0(SQ(db), ST_BEGIN, err, errlen, "begin");
}

static int
sq_commit(struct db *db, char *err, size_t errlen)
{
	if (run0(SQ(db), ST_COMMIT, err, errlen, "commit") == -1)
		return -1;
	SQ(db)->commits++;
	return 0;
}

static void
sq_rollback(struct db *db)
{
	struct sq *s = SQ(db);
	char err[256];

	/* A failed statement may already have ended the transaction. */
	if (!sqlite3_get_autocommit(s->h))
		run0(s, ST_ROLLBACK, err, sizeof(err), "rollback");
}

/* -- The additions for the richer API. */

static int
sq_generation(struct db *db, int64_t *gen, char *err, size_t errlen)
{
	struct sq *s = SQ(db);
	sqlite3_stmt *st;
	int rc;

	if ((st = stmt(s, ST_VERSION, err, errlen)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	/* Other connections' commits, then ours, which data_version omits. */
	if (rc == SQLITE_ROW)
		*gen = sqlite3_column_int64(st, 0) + s->commits;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return fail(s, err, errlen, "reading the data version");
	return 0;
}

/* -- The driver of the store (sql.h). */

/* SQLite also opens the paths no driver claims (db.c). */
static int
sq_claims(const char *uri)
{
	return strcmp(uri, "memory:") == 0 || strcmp(uri, "memory") == 0 ||
	    strncmp(uri, "sqlite:", 7) == 0;
}


static struct sql_rows *
drv_run(struct db *db, int slot, const char *q, const struct sql_value *v,
    size_t n, char *err, size_t errlen, const char *what)
{
	struct sq *s = SQ(db);
	struct sql_rows *r = &s->q[slot];
	size_t i;
	int rc;

	if (r->st == NULL && sqlite3_prepare_v3(s->h, q, -1,
	    SQLITE_PREPARE_PERSISTENT, &r->st, NULL) != SQLITE_OK) {
		fail(s, err, errlen, what);
		return NULL;
	}
	sqlite3_reset(r->st);
	sqlite3_clear_bindings(r->st);
	for (i = 0; i < n; i++) {
		switch (v[i].type) {
		case SQL_NULL:
			break;
		case SQL_INT:
			sqlite3_bind_int64(r->st, (int)i + 1, v[i].i);
			break;
		case SQL_DOUBLE:
			sqlite3_bind_double(r->st, (int)i + 1, v[i].d);
			break;
		case SQL_TEXT:
			sqlite3_bind_text(r->st, (int)i + 1, v[i].s, -1,
			    SQLITE_STATIC);
			break;
		}
	}
	rc = sqlite3_step(r->st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fail(s, err, errlen, what);
		sqlite3_reset(r->st);
		return NULL;
	}
	r->pending = rc;
	return r;
}

static int
drv_next(struct db *db, struct sql_rows *r, char *err, size_t errlen,
    const char *what)
{
	int rc;

	if (r->pending != 0) {
		rc = r->pending;
		r->pending = 0;
	} else
		rc = sqlite3_step(r->st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(SQ(db), err, errlen, what);
}

static int
drv_null(struct sql_rows *r, int i)
{
	return sqlite3_column_type(r->st, i) == SQLITE_NULL;
}

static const char *
drv_text(struct sql_rows *r, int i)
{
	return (const char *)sqlite3_column_text(r->st, i);
}

static int64_t
drv_integer(struct sql_rows *r, int i)
{
	return sqlite3_column_int64(r->st, i);
}

static double
drv_real(struct sql_rows *r, int i)
{
	return sqlite3_column_double(r->st, i);
}

static int64_t
drv_changes(struct db *db, struct sql_rows *r)
{
	return sqlite3_changes64(SQ(db)->h);
}

static void
drv_done(struct db *db, struct sql_rows *r)
{
	/* Unbound too: the texts bound were the caller's, now gone. */
	sqlite3_reset(r->st);
	sqlite3_clear_bindings(r->st);
	r->pending = 0;
}

static int
drv_read_begin(struct db *db, int *own, char *err, size_t errlen)
{
	struct sq *s = SQ(db);

	*own = 0;
	if (!sqlite3_get_autocommit(s->h))
		return 0;
	if (sqlite3_exec(s->h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return fail(s, err, errlen, "begin");
	*own = 1;
	return 0;
}

static void
drv_read_end(struct db *db, int own, int ok)
{
	if (own)
		sqlite3_exec(SQ(db)->h, ok ? "COMMIT" : "ROLLBACK", NULL, NULL,
		    NULL);
}

static int
drv_in_txn(struct db *db)
{
	return !sqlite3_get_autocommit(SQ(db)->h);
}

const struct sql_driver sql_sqlite = {
	.name = "sqlite",
	.hashed_ids = 0,
	.quote = '"',
	.row_locks = 0,
	.row_in = 0,
	.inserted = SQL_INSERTED_BY_READ,
	.returning = 0,
	.batch_rows = 64,
	.replay = 0,
	.types = { "TEXT", "TEXT", "TEXT", "INTEGER", "INTEGER", "REAL" },
	.has_column = "SELECT count(*) FROM pragma_table_info(?)"
	    " WHERE name = ?",
	.counts_view = "SELECT b.service AS service, b.target_id AS target_id,"
	    " json_extract(j.value, '$[0]') AS key, b.target AS target,"
	    " json_extract(j.value, '$[1]') AS last_raw,"
	    " json_extract(j.value, '$[2]') AS accumulated,"
	    " json_extract(j.value, '$[3]') AS last_delta,"
	    " json_extract(j.value, '$[4]') AS updated"
	    " FROM target_baselines b, json_each(b.counts) j",
	.has_index = "SELECT count(*) FROM sqlite_master"
	    " WHERE type = 'index' AND name = ?",
	.user_version = 1,
	.claims = sq_claims,
	.open = db_sqlite_open,
	.schema_lock = schema_lock,
	.schema_unlock = schema_unlock,
	.exec = drv_exec,
	.close = sq_close,
	.run = drv_run,
	.next = drv_next,
	.null = drv_null,
	.text = drv_text,
	.integer = drv_integer,
	.real = drv_real,
	.changes = drv_changes,
	.done = drv_done,
	.read_begin = drv_read_begin,
	.read_end = drv_read_end,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.in_txn = drv_in_txn,
	.generation = sq_generation,
};

