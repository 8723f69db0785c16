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
	int		 in_read;	/* a read snapshot is open */
};


static struct pg *
PG(struct db *db)
{
	return (struct pg *)db;
}

/*
 * Whether the transaction may succeed when tried again: the connection
 * is gone, the server is shutting down or starting, PostgreSQL chose
 * this transaction as a deadlock or serialization victim, or another
 * writer inserted a row first (every other insert of the store gives
 * way to a row there, so only two writers of one row meet on a key).
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
	    strcmp(state, "53300") == 0 || strcmp(state, "23505") == 0;
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
 * Not inside a transaction or a read snapshot: a connection made again
 * there would go on outside it.
 */
static int
may_reconnect(const struct pg *g)
{
	return !g->in_txn && !g->in_read;
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

/* -- Opening, and the schema lock. */

static int
drv_exec(struct db *db, const char *q, char *err, size_t errlen,
    const char *what)
{
	struct pg *g = PG(db);

	if (may_reconnect(g) && ensure_conn(g, err, errlen) == -1)
		return -1;
	return simple(g, q, err, errlen, what);
}

/* Held until COMMIT: a second tool waits here, then sees the result. */
static int
schema_lock(struct db *db, char *err, size_t errlen)
{
	struct pg *g = PG(db);

	if (simple(g, "BEGIN", err, errlen, "begin") == -1)
		return -1;
	g->in_txn = 1;
	if (simple(g, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", err,
	    errlen, "locking the schema") == 0)
		return 0;
	PQclear(PQexec(g->c, "ROLLBACK"));
	g->in_txn = 0;
	return -1;
}

static int
schema_unlock(struct db *db, int ok, char *err, size_t errlen)
{
	struct pg *g = PG(db);
	int rc = 0;

	if (ok)
		rc = simple(g, "COMMIT", err, errlen, "commit");
	if (!ok || rc == -1)
		PQclear(PQexec(g->c, "ROLLBACK"));
	g->in_txn = 0;
	return rc;
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
	g->base.name = g->name;
	PQclear(PQexec(g->c, "SET client_min_messages = warning"));
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
	g->in_read = 1;
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

	if (may_reconnect(g) && ensure_conn(g, err, errlen) == -1)
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
			int64_text(num[i], v[i].i);
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
	if (!own)
		return;
	PQclear(PQexec(PG(db)->c, ok ? "COMMIT" : "ROLLBACK"));
	PG(db)->in_read = 0;
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
	.row_in = 0,
	.inserted = SQL_INSERTED_RETURNING,
	.returning = 1,
	.batch_rows = 512,
	.replay = 1,
	.types = { "TEXT COLLATE \"C\"", "TEXT", "TEXT", "INTEGER", "BIGINT",
	    "DOUBLE PRECISION" },
	.has_column = "SELECT count(*) FROM information_schema.columns"
	    " WHERE table_schema = current_schema() AND table_name = ?"
	    " AND column_name = ?",
	/*
	 * A round updates every row of a page: at 70 only four in ten of
	 * those updates stayed in the page, and each of the others wrote
	 * both indexes too (an UPDATE of 200,000 counts: 2.0 s, at 45 1.2 s).
	 */
	.churn = "fillfactor = 45",
	.analyze = "ANALYZE target_baselines, targets",
	.counts_view = "SELECT b.service, b.target_id, j.e ->> 0 AS key,"
	    " b.target, (j.e ->> 1)::bigint AS last_raw,"
	    " (j.e ->> 2)::bigint AS accumulated,"
	    " (j.e ->> 3)::bigint AS last_delta,"
	    " (j.e ->> 4)::bigint AS updated FROM target_baselines b,"
	    " json_array_elements(b.counts::json) AS j(e)",
	.has_index = "SELECT count(*) FROM pg_indexes"
	    " WHERE schemaname = current_schema() AND indexname = ?",
	.claims = pg_claims,
	.open = db_pg_open,
	.schema_lock = schema_lock,
	.schema_unlock = schema_unlock,
	.exec = drv_exec,
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

