/* SPDX-License-Identifier: Apache-2.0 */
/* The PostgreSQL storage engine: libpq, prepared statements, one schema. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "buf.h"
#include "sql.h"
#include "model.h"
#include "timefmt.h"
#include "xalloc.h"

/* Any constant: the advisory lock every tool takes to migrate. */
#define MIGRATE_LOCK	"7170020501"
#define CONNECT_TIMEOUT	"10"

/*
 * The schema, one step per version, the same versions as SQLite's: the
 * first step creates what SQLite reached in two.  Text columns compare
 * bytewise (COLLATE "C") so sorting matches SQLite's.
 */
static const char *const migrations[] = {
	/* 0 -> 1 (and SQLite's 1 -> 2). */
	"CREATE TABLE services ("
	"  name TEXT COLLATE \"C\" PRIMARY KEY,"
	"  created BIGINT NOT NULL);"
	"CREATE TABLE targets ("
	"  service TEXT COLLATE \"C\" NOT NULL"
	"    REFERENCES services(name) ON DELETE CASCADE,"
	"  address TEXT COLLATE \"C\" NOT NULL,"
	"  url TEXT NOT NULL,"
	"  endpoint TEXT,"
	"  labels TEXT NOT NULL DEFAULT '{}',"
	"  last_scrape BIGINT,"
	"  duration_ms DOUBLE PRECISION,"
	"  up INTEGER,"
	"  last_error TEXT,"
	"  seen_in_targets INTEGER NOT NULL DEFAULT 0,"
	"  shard TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (service, address));"
	"CREATE TABLE errors ("
	"  service TEXT COLLATE \"C\" NOT NULL"
	"    REFERENCES services(name) ON DELETE CASCADE,"
	"  key TEXT COLLATE \"C\" NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  total_count BIGINT NOT NULL DEFAULT 0,"
	"  created_at BIGINT,"
	"  first_seen BIGINT,"
	"  last_seen BIGINT,"
	"  inserted BIGINT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'unresolved'"
	"    CHECK (status IN ('unresolved', 'resolved', 'ignored')),"
	"  resolved_at BIGINT,"
	"  regressed INTEGER NOT NULL DEFAULT 0,"
	"  regressed_at BIGINT,"
	"  rounds BIGINT NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (service, key));"
	"CREATE TABLE occurrences ("
	"  service TEXT COLLATE \"C\" NOT NULL,"
	"  key TEXT COLLATE \"C\" NOT NULL,"
	"  uuid TEXT COLLATE \"C\" NOT NULL,"
	"  timestamp BIGINT NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  error_json TEXT NOT NULL,"
	"  http_json TEXT,"
	"  UNIQUE (service, key, uuid),"
	"  FOREIGN KEY (service, key) REFERENCES errors(service, key)"
	"    ON DELETE CASCADE);"
	"CREATE INDEX occurrences_time"
	"  ON occurrences (service, key, timestamp);"
	"CREATE TABLE target_counts ("
	"  service TEXT COLLATE \"C\" NOT NULL,"
	"  target_id TEXT COLLATE \"C\" NOT NULL,"
	"  key TEXT COLLATE \"C\" NOT NULL,"
	"  target TEXT COLLATE \"C\","
	"  last_raw BIGINT NOT NULL,"
	"  accumulated BIGINT NOT NULL,"
	"  last_delta BIGINT NOT NULL DEFAULT 0,"
	"  updated BIGINT,"
	"  PRIMARY KEY (service, target_id, key));"
	"CREATE TABLE error_minutes ("
	"  service TEXT COLLATE \"C\" NOT NULL,"
	"  key TEXT COLLATE \"C\" NOT NULL,"
	"  minute BIGINT NOT NULL,"
	"  count BIGINT NOT NULL,"
	"  PRIMARY KEY (service, key, minute));"
	"CREATE TABLE error_hours ("
	"  service TEXT COLLATE \"C\" NOT NULL,"
	"  key TEXT COLLATE \"C\" NOT NULL,"
	"  hour BIGINT NOT NULL,"
	"  count BIGINT NOT NULL,"
	"  PRIMARY KEY (service, key, hour));"
	"CREATE TABLE service_stats ("
	"  service TEXT COLLATE \"C\" PRIMARY KEY,"
	"  rounds_total BIGINT NOT NULL DEFAULT 0,"
	"  scrapes_total BIGINT NOT NULL DEFAULT 0,"
	"  scrape_failures_total BIGINT NOT NULL DEFAULT 0,"
	"  last_round_ms DOUBLE PRECISION,"
	"  last_round_at BIGINT);"
	"CREATE TABLE periskop_meta ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  generation BIGINT NOT NULL);"
	"INSERT INTO periskop_meta VALUES (1, 0);"
	"CREATE INDEX target_counts_key ON target_counts (service, key);"
	"CREATE INDEX occurrences_age ON occurrences (timestamp);"
	"CREATE INDEX error_minutes_age ON error_minutes (minute);"
	"CREATE INDEX error_hours_age ON error_hours (hour);"
	"CREATE INDEX target_counts_age ON target_counts (updated);",
	/* 1 -> 2: SQLite's second step, already in the first here. */
	"SELECT 1",
	/* 2 -> 3: as SQLite's. */
	"ALTER TABLE targets ADD COLUMN updated BIGINT;"
	"CREATE INDEX target_counts_service_age"
	"  ON target_counts (service, updated);",
};
#define SCHEMA_VERSION	((int)(sizeof(migrations) / sizeof(migrations[0])))

/* A slot's result, and the row sql_next reached. */
struct sql_rows {
	PGresult	*r;
	int		 row;
};

struct pg {
	struct db	 base;		/* first: the handle db.c sees */
	PGconn		*c;
	char		*conninfo;
	char		*name;		/* for messages, without a password */
	char		 qprepared[SQL_SLOTS];
	struct sql_rows	 q[SQL_SLOTS];
	int		 in_txn;
};


static struct pg *
PG(struct db *db)
{
	return (struct pg *)db;
}

/*
 * Whether the transaction may succeed when tried again: the connection
 * is gone, the server is shutting down or starting, or PostgreSQL chose
 * this transaction as a deadlock or serialization victim.
 */
static int
is_transient(struct pg *g, const PGresult *r)
{
	const char *state;

	if (PQstatus(g->c) != CONNECTION_OK)
		return 1;
	state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (state == NULL)
		return 1;	/* no answer from the server at all */
	return strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0 ||
	    strcmp(state, "53300") == 0;
}

/* The first line of libpq's message, without the "ERROR:  " noise. */
static void
pg_msg(char *out, size_t outlen, const char *m)
{
	size_t n;

	if (m == NULL || *m == '\0')
		m = "unknown error";
	if (strncmp(m, "ERROR:  ", 8) == 0)
		m += 8;
	n = strcspn(m, "\n");
	snprintf(out, outlen, "%.*s", (int)n, m);
}

static int
fail(struct pg *g, const PGresult *r, char *err, size_t errlen,
    const char *what)
{
	char m[512];

	pg_msg(m, sizeof(m), r != NULL && PQresultErrorMessage(r)[0] != '\0' ?
	    PQresultErrorMessage(r) : PQerrorMessage(g->c));
	snprintf(err, errlen, "postgres: '%s': %s: %s", g->name, what, m);
	g->base.transient = is_transient(g, r);
	return -1;
}

/*
 * Runs q as the statement name, prepared first when *prepared is 0 on
 * this connection; its result, or NULL with a message in err.
 */
static PGresult *
exec_named(struct pg *g, const char *name, const char *q, char *prepared,
    int n, const char *const *v, char *err, size_t errlen, const char *what)
{
	PGresult *r;
	ExecStatusType s;

	if (!*prepared) {
		r = PQprepare(g->c, name, q, 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fail(g, r, err, errlen, what);
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		*prepared = 1;
	}
	r = PQexecPrepared(g->c, name, n, v, NULL, NULL, 0);
	s = PQresultStatus(r);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		fail(g, r, err, errlen, what);
		PQclear(r);
		return NULL;
	}
	return r;
}

/* Constant SQL without parameters (transactions, the schema). */
static int
simple(struct pg *g, const char *q, char *err, size_t errlen,
    const char *what)
{
	PGresult *r;
	ExecStatusType s;

	r = PQexec(g->c, q);
	s = PQresultStatus(r);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		fail(g, r, err, errlen, what);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}


/*
 * Outside a transaction a lost connection is re-established once before
 * the statement; inside one the transaction is lost anyway, and the
 * caller retries it whole.
 */
static int
ensure_conn(struct pg *g, char *err, size_t errlen)
{
	if (PQstatus(g->c) == CONNECTION_OK)
		return 0;
	PQreset(g->c);
	memset(g->qprepared, 0, sizeof(g->qprepared));
	g->in_txn = 0;
	if (PQstatus(g->c) == CONNECTION_OK)
		return 0;
	fail(g, NULL, err, errlen, "reconnecting");
	g->base.transient = 1;
	return -1;
}

/* -- Opening, and the migrations. */

static int
migrate(struct pg *g, char *err, size_t errlen)
{
	PGresult *r;
	int v, i;
	char q[96];

	if (simple(g, "BEGIN", err, errlen, "begin") == -1)
		return -1;
	/* Held until COMMIT: a second tool waits here, then sees the result. */
	if (simple(g, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", err,
	    errlen, "locking the schema") == -1 ||
	    simple(g, "SET LOCAL client_min_messages = warning", err, errlen,
	    "migrating") == -1 ||
	    simple(g, "CREATE TABLE IF NOT EXISTS periskop_schema"
	    " (version INTEGER NOT NULL)", err, errlen, "migrating") == -1)
		goto rollback;
	r = PQexec(g->c, "SELECT version FROM periskop_schema");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fail(g, r, err, errlen, "reading the schema version");
		PQclear(r);
		goto rollback;
	}
	v = PQntuples(r) > 0 ? atoi(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	if (v == -1) {
		if (simple(g, "INSERT INTO periskop_schema VALUES (0)", err,
		    errlen, "migrating") == -1)
			goto rollback;
		v = 0;
	}
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen, "postgres: '%s': schema version %d is "
		    "newer than this program's %d: upgrade periskop", g->name,
		    v, SCHEMA_VERSION);
		g->base.transient = 0;
		goto rollback;
	}
	for (i = v; i < SCHEMA_VERSION; i++)
		if (simple(g, migrations[i], err, errlen, "migrating") == -1)
			goto rollback;
	snprintf(q, sizeof(q), "UPDATE periskop_schema SET version = %d",
	    SCHEMA_VERSION);
	if (simple(g, q, err, errlen, "migrating") == -1 ||
	    simple(g, "COMMIT", err, errlen, "commit") == -1)
		goto rollback;
	return 0;
rollback:
	PQclear(PQexec(g->c, "ROLLBACK"));
	return -1;
}

static void
pg_close(struct db *db)
{
	struct pg *g = PG(db);

	PQfinish(g->c);
	free(g->conninfo);
	free(g->name);
	free(g);
}

/* The connection string for messages: user@host:port/dbname. */
static char *
display_name(PGconn *c, const char *conninfo)
{
	const char *h, *d;

	if (c == NULL || PQstatus(c) != CONNECTION_OK)
		return xstrdup(strncmp(conninfo, "postgres", 8) == 0 &&
		    strchr(conninfo, '@') != NULL ?
		    strchr(conninfo, '@') + 1 : conninfo);
	h = PQhost(c);
	d = PQdb(c);
	return xasprintf("%s@%s:%s/%s", PQuser(c), h ? h : "",
	    PQport(c), d ? d : "");
}

static struct db *
db_pg_open(const char *uri, int *transient, char *err, size_t errlen)
{
	static const char *keys[] = { "dbname", "connect_timeout",
	    "application_name", NULL };
	const char *vals[4];
	struct pg *g;
	char m[512];
	int dummy;

	if (transient == NULL)
		transient = &dummy;
	*transient = 0;
	if (strncmp(uri, "postgres:", 9) == 0 &&
	    strncmp(uri, "postgres://", 11) != 0)
		uri += 9;
	g = xcalloc(1, sizeof(*g));
	g->base.drv = &sql_postgres;
	g->conninfo = xstrdup(uri);
	/* Later keywords win only when the string does not set them. */
	vals[0] = uri;
	vals[1] = CONNECT_TIMEOUT;
	vals[2] = "periskop";
	vals[3] = NULL;
	g->c = PQconnectdbParams(keys, vals, 1);
	if (g->c == NULL || PQstatus(g->c) != CONNECTION_OK) {
		g->name = display_name(NULL, uri);
		pg_msg(m, sizeof(m), g->c ? PQerrorMessage(g->c) : "no memory");
		snprintf(err, errlen, "postgres: '%s': cannot connect: %s",
		    g->name, m);
		/* A bad string will not get better; a server may come up. */
		*transient = g->c != NULL && strstr(m, "invalid") == NULL &&
		    strstr(m, "missing") == NULL &&
		    strstr(m, "password authentication") == NULL &&
		    strstr(m, "does not exist") == NULL;
		pg_close(&g->base);
		errno = 0;
		return NULL;
	}
	g->name = display_name(g->c, uri);
	PQclear(PQexec(g->c, "SET client_min_messages = warning"));
	if (migrate(g, err, errlen) == -1) {
		*transient = g->base.transient;
		pg_close(&g->base);
		errno = 0;
		return NULL;
	}
	errno = 0;
	return &g->base;
}

/* -- Reading. */

/* One snapshot for reads that take several statements. */
static int
read_begin(struct pg *g, int *own, char *err, size_t errlen)
{
	*own = 0;
	if (g->in_txn)
		return 0;
	if (ensure_conn(g, err, errlen) == -1 ||
	    simple(g, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err,
	    errlen, "begin") == -1)
		return -1;
	*own = 1;
	return 0;
}

/* -- Writing, for the aggregator. */

static int
pg_begin(struct db *db, char *err, size_t errlen)
{
	struct pg *g = PG(db);

	if (ensure_conn(g, err, errlen) == -1 ||
	    simple(g, "BEGIN", err, errlen, "begin") == -1)
		return -1;
	g->in_txn = 1;
	return 0;
}

static int
pg_commit(struct db *db, char *err, size_t errlen)
{
	struct pg *g = PG(db);
	PGresult *r;
	int rc = 0;

	g->in_txn = 0;
	r = PQexec(g->c, "COMMIT");
	/* A COMMIT of a failed transaction answers ROLLBACK: not a success. */
	if (PQresultStatus(r) != PGRES_COMMAND_OK ||
	    strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			snprintf(err, errlen, "postgres: '%s': commit: the "
			    "transaction was rolled back", g->name);
			g->base.transient = 1;
		} else
			fail(g, r, err, errlen, "commit");
		rc = -1;
	}
	PQclear(r);
	return rc;
}

static void
pg_rollback(struct db *db)
{
	struct pg *g = PG(db);

	g->in_txn = 0;
	if (PQstatus(g->c) == CONNECTION_OK &&
	    PQtransactionStatus(g->c) != PQTRANS_IDLE)
		PQclear(PQexec(g->c, "ROLLBACK"));
}

/* -- The driver of the store (sql.h). */

/* A URI, or a libpq conninfo string. */
static int
pg_claims(const char *uri)
{
	return strncmp(uri, "postgres://", 11) == 0 ||
	    strncmp(uri, "postgresql://", 13) == 0 ||
	    strncmp(uri, "postgres:", 9) == 0 ||
	    strstr(uri, "host=") != NULL || strstr(uri, "dbname=") != NULL;
}


static struct sql_rows *
drv_run(struct db *db, int slot, const char *q, const struct sql_value *v,
    size_t n, char *err, size_t errlen, const char *what)
{
	struct pg *g = PG(db);
	struct sql_rows *rows = &g->q[slot];
	const char **pv;
	char (*num)[32], name[16];
	PGresult *r;
	size_t i;

	if (!g->in_txn && ensure_conn(g, err, errlen) == -1)
		return NULL;
	if (n > 65535)
		abort();	/* the store's own call is wrong */
	snprintf(name, sizeof(name), "q%d", slot);
	/* libpq takes every parameter as text; NULL is SQL NULL. */
	pv = xcalloc(n + 1, sizeof(*pv));
	num = xcalloc(n + 1, sizeof(*num));
	for (i = 0; i < n; i++) {
		switch (v[i].type) {
		case SQL_NULL:
			break;
		case SQL_INT:
			snprintf(num[i], sizeof(num[i]), "%" PRId64, v[i].i);
			pv[i] = num[i];
			break;
		case SQL_DOUBLE:
			snprintf(num[i], sizeof(num[i]), "%.17g", v[i].d);
			pv[i] = num[i];
			break;
		case SQL_TEXT:
			pv[i] = v[i].s;
			break;
		}
	}
	r = exec_named(g, name, q, &g->qprepared[slot], (int)n, pv, err,
	    errlen, what);
	free(pv);
	free(num);
	if (r == NULL)
		return NULL;
	rows->r = r;
	rows->row = -1;
	return rows;
}

static int
drv_next(struct db *db, struct sql_rows *r, char *err, size_t errlen,
    const char *what)
{
	return ++r->row < PQntuples(r->r);
}

static int
drv_null(struct sql_rows *r, int i)
{
	return PQgetisnull(r->r, r->row, i);
}

static const char *
drv_text(struct sql_rows *r, int i)
{
	if (PQgetisnull(r->r, r->row, i))
		return NULL;
	return PQgetvalue(r->r, r->row, i);
}

static int64_t
drv_integer(struct sql_rows *r, int i)
{
	return strtoll(PQgetvalue(r->r, r->row, i), NULL, 10);
}

static double
drv_real(struct sql_rows *r, int i)
{
	return strtod(PQgetvalue(r->r, r->row, i), NULL);
}

static int64_t
drv_changes(struct db *db, struct sql_rows *r)
{
	return strtoll(PQcmdTuples(r->r), NULL, 10);
}

static void
drv_done(struct db *db, struct sql_rows *r)
{
	PQclear(r->r);
	r->r = NULL;
}

static int
drv_read_begin(struct db *db, int *own, char *err, size_t errlen)
{
	return read_begin(PG(db), own, err, errlen);
}

static void
drv_read_end(struct db *db, int own, int ok)
{
	if (own)
		PQclear(PQexec(PG(db)->c, ok ? "COMMIT" : "ROLLBACK"));
}

static int
drv_in_txn(struct db *db)
{
	return PG(db)->in_txn;
}

const struct sql_driver sql_postgres = {
	.name = "postgres",
	.hashed_ids = 0,
	.quote = '"',
	.numbered = 1,
	.row_locks = 1,
	.inserted = SQL_INSERTED_RETURNING,
	.returning = 1,
	.batch_rows = 512,
	.no_self_subquery = 0,
	.replay = 1,
	.claims = pg_claims,
	.open = db_pg_open,
	.close = pg_close,
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
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.in_txn = drv_in_txn,
};

