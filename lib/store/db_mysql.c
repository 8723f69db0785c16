/* SPDX-License-Identifier: Apache-2.0 */
/* The MySQL / MariaDB storage engine: libmariadb, prepared statements. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "sql.h"
#include "mysql_dsn.h"
#include "model.h"
#include "timefmt.h"
#include "urlenc.h"
#include "xalloc.h"

#define CONNECT_TIMEOUT	10
/* Longer than InnoDB's lock wait (50 s), so a wait ends as 1205. */
#define IO_TIMEOUT	120

struct my {
	struct db		 base;	/* first: the handle db.c sees */
	MYSQL			*c;
	struct db_mysql_dsn	 dsn;
	char			*name;	/* for messages, without a password */
	MYSQL_STMT		*qst[SQL_SLOTS];	/* the store's */
	struct sql_rows		*q[SQL_SLOTS];
	int			 in_txn;
	int			 in_read;	/* a read snapshot is open */
	int			 broken;	/* the connection is lost */
	char			 options[96];	/* of CREATE TABLE */
};

/* Statement parameters; strings are borrowed until the statement ran. */
struct pval {
	enum enum_field_types	 type;
	const char		*s;
	unsigned long		 len;
	long long		 i;
	double			 d;
};

struct params {
	struct pval	*v;
	size_t		 n, cap;
};

/* A result: nrows x ncols cells, each a string or NULL for SQL NULL. */
struct res {
	char			**cell;
	size_t			  nrows, ncols;
	unsigned long long	  affected;
};


static struct my *
MY(struct db *db)
{
	return (struct my *)db;
}

static struct pval *
p_next(struct params *p)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
	}
	memset(&p->v[p->n], 0, sizeof(p->v[0]));
	return &p->v[p->n++];
}

static void
p_text(struct params *p, const char *s)
{
	struct pval *v = p_next(p);

	if (s == NULL) {
		v->type = MYSQL_TYPE_NULL;
		return;
	}
	v->type = MYSQL_TYPE_STRING;
	v->s = s;
	v->len = (unsigned long)strlen(s);
}

static void
p_int(struct params *p, int64_t i)
{
	struct pval *v = p_next(p);

	v->type = MYSQL_TYPE_LONGLONG;
	v->i = i;
}


static void
p_double(struct params *p, double d)
{
	struct pval *v = p_next(p);

	v->type = MYSQL_TYPE_DOUBLE;
	v->d = d;
}

static void
p_release(struct params *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static const char *
cell(const struct res *r, size_t row, size_t col)
{
	return r->cell[row * r->ncols + col];
}

static void
res_release(struct res *r)
{
	size_t i;

	if (r->cell != NULL)
		for (i = 0; i < r->nrows * r->ncols; i++)
			free(r->cell[i]);
	free(r->cell);
	memset(r, 0, sizeof(*r));
}

static int64_t
get_int(const struct res *r, size_t row, size_t col)
{
	const char *v = cell(r, row, col);

	return v != NULL ? strtoll(v, NULL, 10) : 0;
}

/*
 * Whether the transaction may succeed when tried again: the connection
 * is gone or was refused, the server is shutting down or full, or
 * InnoDB chose this transaction as a deadlock victim or gave up waiting
 * for a row lock, or another writer inserted a row first (db_pg.c).
 */
static int
is_transient(unsigned int e)
{
	switch (e) {
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case ER_CON_COUNT_ERROR:
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case ER_QUERY_INTERRUPTED:
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_DUP_ENTRY:
		return 1;
	default:
		return 0;
	}
}

/* Errors after which the connection cannot be used any more. */
static int
is_lost(unsigned int e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST ||
	    e == CR_SERVER_LOST_EXTENDED || e == CR_CONNECTION_ERROR ||
	    e == CR_CONN_HOST_ERROR || e == ER_CONNECTION_KILLED ||
	    e == ER_SERVER_SHUTDOWN || e == CR_COMMANDS_OUT_OF_SYNC;
}

static int
fail_code(struct my *g, unsigned int code, const char *msg, char *err,
    size_t errlen, const char *what)
{
	snprintf(err, errlen, "mysql: '%s': %s: %s", g->name, what,
	    msg != NULL && *msg != '\0' ? msg : "unknown error");
	g->base.transient = is_transient(code);
	if (is_lost(code))
		g->broken = 1;
	return -1;
}

static int
fail_conn(struct my *g, char *err, size_t errlen, const char *what)
{
	if (g->c == NULL)
		return fail_code(g, CR_SERVER_GONE_ERROR, "not connected",
		    err, errlen, what);
	return fail_code(g, mysql_errno(g->c), mysql_error(g->c), err,
	    errlen, what);
}

static int
fail_stmt(struct my *g, MYSQL_STMT *st, char *err, size_t errlen,
    const char *what)
{
	return fail_code(g, mysql_stmt_errno(st), mysql_stmt_error(st), err,
	    errlen, what);
}

/* Constant SQL without values (transactions, the schema, settings). */
static int
simple(struct my *g, const char *q, char *err, size_t errlen,
    const char *what)
{
	MYSQL_RES *r;

	if (g->c == NULL || g->broken)
		return fail_code(g, CR_SERVER_GONE_ERROR, "connection lost",
		    err, errlen, what);
	if (mysql_real_query(g->c, q, (unsigned long)strlen(q)) != 0)
		return fail_conn(g, err, errlen, what);
	/* Drain any result, or the connection is out of sync. */
	if ((r = mysql_store_result(g->c)) != NULL)
		mysql_free_result(r);
	else if (mysql_field_count(g->c) != 0)
		return fail_conn(g, err, errlen, what);
	return 0;
}

static MYSQL_STMT *
prepare(struct my *g, const char *q, char *err, size_t errlen,
    const char *what)
{
	MYSQL_STMT *st;

	if (g->c == NULL || g->broken) {
		fail_code(g, CR_SERVER_GONE_ERROR, "connection lost", err,
		    errlen, what);
		return NULL;
	}
	if ((st = mysql_stmt_init(g->c)) == NULL) {
		fail_conn(g, err, errlen, what);
		return NULL;
	}
	if (mysql_stmt_prepare(st, q, (unsigned long)strlen(q)) != 0) {
		fail_stmt(g, st, err, errlen, what);
		mysql_stmt_close(st);
		return NULL;
	}
	return st;
}

/* Reads every row of the executed statement's result into r. */
static int
fetch(struct my *g, MYSQL_STMT *st, struct res *r, char *err, size_t errlen,
    const char *what)
{
	MYSQL_RES *meta;
	MYSQL_BIND *b = NULL, one;
	char (*small)[64] = NULL;
	unsigned long *len = NULL, l2;
	my_bool *nul = NULL, *trunc = NULL;
	size_t i, cap = 0;
	char *v;
	int rc, ret = -1;

	if ((meta = mysql_stmt_result_metadata(st)) == NULL)
		return 0;
	r->ncols = mysql_num_fields(meta);
	mysql_free_result(meta);
	if (mysql_stmt_store_result(st) != 0)
		return fail_stmt(g, st, err, errlen, what);
	b = xcalloc(r->ncols, sizeof(*b));
	small = xcalloc(r->ncols, sizeof(*small));
	len = xcalloc(r->ncols, sizeof(*len));
	nul = xcalloc(r->ncols, sizeof(*nul));
	trunc = xcalloc(r->ncols, sizeof(*trunc));
	for (i = 0; i < r->ncols; i++) {
		b[i].buffer_type = MYSQL_TYPE_STRING;
		b[i].buffer = small[i];
		b[i].buffer_length = sizeof(small[i]);
		b[i].length = &len[i];
		b[i].is_null = &nul[i];
		b[i].error = &trunc[i];
	}
	if (mysql_stmt_bind_result(st, b) != 0) {
		fail_stmt(g, st, err, errlen, what);
		goto out;
	}
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		if ((r->nrows + 1) * r->ncols > cap) {
			cap = cap ? 2 * cap : 16 * r->ncols;
			r->cell = xreallocarray(r->cell, cap, sizeof(*r->cell));
		}
		for (i = 0; i < r->ncols; i++) {
			if (nul[i])
				v = NULL;
			else if (len[i] < sizeof(small[i]))
				v = xstrndup(small[i], len[i]);
			else {
				/* Too long for the buffer: fetch it whole. */
				v = xmalloc(len[i] + 1);
				memset(&one, 0, sizeof(one));
				one.buffer_type = MYSQL_TYPE_STRING;
				one.buffer = v;
				one.buffer_length = len[i] + 1;
				one.length = &l2;
				if (mysql_stmt_fetch_column(st, &one,
				    (unsigned int)i, 0) != 0) {
					free(v);
					r->nrows++;
					for (; i < r->ncols; i++)
						r->cell[(r->nrows - 1) *
						    r->ncols + i] = NULL;
					fail_stmt(g, st, err, errlen, what);
					goto out;
				}
				v[len[i]] = '\0';
			}
			r->cell[r->nrows * r->ncols + i] = v;
		}
		r->nrows++;
	}
	if (rc != MYSQL_NO_DATA) {
		fail_stmt(g, st, err, errlen, what);
		goto out;
	}
	ret = 0;
out:
	mysql_stmt_free_result(st);
	free(b);
	free(small);
	free(len);
	free(nul);
	free(trunc);
	return ret;
}

/* Binds p, executes st and reads its result into r (when not NULL). */
static int
execute(struct my *g, MYSQL_STMT *st, const struct params *p, struct res *r,
    char *err, size_t errlen, const char *what)
{
	MYSQL_BIND *b = NULL;
	struct res dummy;
	size_t i, n = p != NULL ? p->n : 0;
	int rc = -1;

	if (r == NULL)
		r = &dummy;
	memset(r, 0, sizeof(*r));
	if (mysql_stmt_param_count(st) != n) {
		snprintf(err, errlen, "mysql: '%s': %s: %lu parameters for %zu "
		    "values", g->name, what, mysql_stmt_param_count(st), n);
		g->base.transient = 0;
		return -1;
	}
	if (n > 0) {
		b = xcalloc(n, sizeof(*b));
		for (i = 0; i < n; i++) {
			b[i].buffer_type = p->v[i].type;
			switch (p->v[i].type) {
			case MYSQL_TYPE_STRING:
				b[i].buffer = (void *)p->v[i].s;
				b[i].buffer_length = p->v[i].len;
				b[i].length = &p->v[i].len;
				break;
			case MYSQL_TYPE_LONGLONG:
				b[i].buffer = &p->v[i].i;
				break;
			case MYSQL_TYPE_DOUBLE:
				b[i].buffer = &p->v[i].d;
				break;
			default:
				break;
			}
		}
		if (mysql_stmt_bind_param(st, b) != 0) {
			fail_stmt(g, st, err, errlen, what);
			goto out;
		}
	}
	if (mysql_stmt_execute(st) != 0) {
		fail_stmt(g, st, err, errlen, what);
		goto out;
	}
	r->affected = mysql_stmt_affected_rows(st);
	if (fetch(g, st, r, err, errlen, what) == -1) {
		res_release(r);
		goto out;
	}
	rc = 0;
out:
	free(b);
	if (r == &dummy)
		res_release(r);
	return rc;
}

/*
 * Closes the connection and the statements prepared on it.  A broken
 * connection is closed first: the statements it leaves behind are then
 * freed without asking a server that is gone.
 */
static void
disconnect(struct my *g)
{
	size_t i;

	if (g->broken && g->c != NULL) {
		mysql_close(g->c);
		g->c = NULL;
	}
	for (i = 0; i < SQL_SLOTS; i++) {
		if (g->qst[i] != NULL)
			mysql_stmt_close(g->qst[i]);
		g->qst[i] = NULL;
	}
	if (g->c != NULL)
		mysql_close(g->c);
	g->c = NULL;
}

/* -- Connecting, and the schema lock. */

static char *
display_name(const struct db_mysql_dsn *d)
{
	if (d->socket != NULL)
		return xasprintf("%s@unix(%s)/%s", d->user, d->socket,
		    d->dbname);
	if (strchr(d->host, ':') != NULL)
		return xasprintf("%s@[%s]:%u/%s", d->user, d->host, d->port,
		    d->dbname);
	return xasprintf("%s@%s:%u/%s", d->user, d->host, d->port,
	    d->dbname);
}

static int
connect_server(struct my *g, char *err, size_t errlen)
{
	static const char *const session[] = {
		"SET SESSION sql_mode = 'STRICT_ALL_TABLES,"
		"NO_ENGINE_SUBSTITUTION'",
		/* No gap locks: concurrent inserts of new keys do not
		 * deadlock; the upserts keep the counts exact. */
		"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
		/*
		 * Sorting on 8 kB of a text, not 1 kB: rows are grouped
		 * by the hashes, so only the order of texts that share
		 * their first 8 kB is left to chance.
		 */
		"SET SESSION max_sort_length = 8192",
		"SET SESSION sort_buffer_size = 8388608",
		"SET SESSION group_concat_max_len = 1048576",
		NULL
	};
	unsigned int t = CONNECT_TIMEOUT, io = IO_TIMEOUT, proto;
	my_bool off = 0;
	size_t i;

	g->broken = 0;
	g->in_txn = 0;
	if ((g->c = mysql_init(NULL)) == NULL) {
		snprintf(err, errlen, "mysql: '%s': out of memory", g->name);
		g->base.transient = 0;
		return -1;
	}
	mysql_options(g->c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(g->c, MYSQL_OPT_CONNECT_TIMEOUT, &t);
	mysql_options(g->c, MYSQL_OPT_READ_TIMEOUT, &io);
	mysql_options(g->c, MYSQL_OPT_WRITE_TIMEOUT, &io);
	/* Reconnecting is ours to do: a silent one would lose a txn. */
	mysql_options(g->c, MYSQL_OPT_RECONNECT, &off);
	mysql_options(g->c, MYSQL_OPT_LOCAL_INFILE, &off);
	if (g->dsn.socket == NULL) {
		/* "localhost" would otherwise mean the socket. */
		proto = MYSQL_PROTOCOL_TCP;
		mysql_options(g->c, MYSQL_OPT_PROTOCOL, &proto);
	}
	if (mysql_real_connect(g->c, g->dsn.socket ? "localhost" :
	    g->dsn.host, g->dsn.user, g->dsn.password ? g->dsn.password : "",
	    g->dsn.dbname, g->dsn.socket ? 0 : g->dsn.port, g->dsn.socket,
	    CLIENT_FOUND_ROWS) == NULL) {
		fail_code(g, mysql_errno(g->c), mysql_error(g->c), err, errlen,
		    "cannot connect");
		mysql_close(g->c);
		g->c = NULL;
		g->broken = 1;
		return -1;
	}
	for (i = 0; session[i] != NULL; i++)
		if (simple(g, session[i], err, errlen, "setting up") == -1)
			return -1;
	return 0;
}

/*
 * Not inside a transaction or a read snapshot: a connection made again
 * there would go on outside it.
 */
static int
may_reconnect(const struct my *g)
{
	return !g->in_txn && !g->in_read;
}

/*
 * Outside a transaction a lost connection is re-established before the
 * statement; inside one the transaction is lost anyway, and the caller
 * retries it whole.
 */
static int
ensure_conn(struct my *g, char *err, size_t errlen)
{
	if (g->c != NULL && !g->broken)
		return 0;
	disconnect(g);
	if (connect_server(g, err, errlen) == -1) {
		if (g->c != NULL) {
			mysql_close(g->c);
			g->c = NULL;
		}
		g->broken = 1;
		/* A server that answered once is expected back. */
		g->base.transient = 1;
		return -1;
	}
	return 0;
}

/* Runs constant SQL that returns rows, through a one-off statement. */
static int
run_const(struct my *g, const char *q, struct res *r, char *err,
    size_t errlen, const char *what)
{
	MYSQL_STMT *st;
	int rc;

	if ((st = prepare(g, q, err, errlen, what)) == NULL)
		return -1;
	rc = execute(g, st, NULL, r, err, errlen, what);
	mysql_stmt_close(st);
	return rc;
}

/*
 * InnoDB, and the binary, no-pad collation (MariaDB's, else MySQL 8's),
 * so text columns sort as SQLite and PostgreSQL (COLLATE "C") sort.
 */
static const char *
table_options(struct db *db, char *err, size_t errlen)
{
	static const char *const q = "SELECT COLLATION_NAME FROM"
	    " information_schema.COLLATIONS WHERE COLLATION_NAME IN"
	    " ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')"
	    " ORDER BY COLLATION_NAME DESC";
	struct my *g = MY(db);
	struct res r;

	if (g->options[0] != '\0')
		return g->options;
	if (run_const(g, q, &r, err, errlen, "migrating") == -1)
		return NULL;
	if (r.nrows == 0) {
		snprintf(err, errlen, "mysql: '%s': the server has no binary "
		    "no-pad utf8mb4 collation: MariaDB 10.2 or MySQL 8 "
		    "needed", g->name);
		g->base.transient = 0;
		res_release(&r);
		return NULL;
	}
	snprintf(g->options, sizeof(g->options), " ENGINE=InnoDB DEFAULT"
	    " CHARSET=utf8mb4 COLLATE=%s", strcmp(cell(&r, 0, 0),
	    "utf8mb4_nopad_bin") == 0 ? "utf8mb4_nopad_bin" :
	    "utf8mb4_0900_bin");
	res_release(&r);
	return g->options;
}

static int
drv_exec(struct db *db, const char *q, char *err, size_t errlen,
    const char *what)
{
	struct my *g = MY(db);

	if (may_reconnect(g) && ensure_conn(g, err, errlen) == -1)
		return -1;
	return simple(g, q, err, errlen, what);
}

/*
 * DDL commits by itself in MySQL, so a transaction cannot hold the
 * migration: a named lock per database does.  While it is held the
 * connection is not made again, which would drop the lock.
 */
static int
schema_lock(struct db *db, char *err, size_t errlen)
{
	struct my *g = MY(db);
	struct res r;
	int got;

	if (run_const(g, "SELECT GET_LOCK(CONCAT('periskop-migrate:',"
	    " SHA1(DATABASE())), 60)", &r, err, errlen,
	    "locking the schema") == -1)
		return -1;
	got = r.nrows > 0 && cell(&r, 0, 0) != NULL &&
	    strcmp(cell(&r, 0, 0), "1") == 0;
	res_release(&r);
	if (!got) {
		snprintf(err, errlen, "mysql: '%s': locking the schema: "
		    "another tool held the lock for 60 s", g->name);
		g->base.transient = 1;
		return -1;
	}
	g->in_txn = 1;
	return 0;
}

static int
schema_unlock(struct db *db, int ok, char *err, size_t errlen)
{
	struct my *g = MY(db);
	struct res r;

	(void)ok;	/* what ran is committed already */
	g->in_txn = 0;
	if (g->broken || run_const(g, "SELECT RELEASE_LOCK(CONCAT("
	    "'periskop-migrate:', SHA1(DATABASE())))", &r, err, errlen,
	    "unlocking the schema") == -1)
		return ok ? -1 : 0;
	res_release(&r);
	return 0;
}

static void
my_close(struct db *db)
{
	struct my *g = MY(db);
	size_t i;

	disconnect(g);
	for (i = 0; i < SQL_SLOTS; i++)
		free(g->q[i]);
	db_mysql_dsn_release(&g->dsn);
	free(g->name);
	free(g);
}

static const struct sql_driver sql_mariadb;

static struct db *
db_mysql_open(const char *dsn, int *transient, char *err, size_t errlen)
{
	struct my *g;
	int dummy;

	if (transient == NULL)
		transient = &dummy;
	*transient = 0;
	g = xcalloc(1, sizeof(*g));
	g->base.drv = &sql_mysql;
	if (db_mysql_dsn_parse(dsn, &g->dsn, err, errlen) == -1) {
		free(g);
		errno = 0;
		return NULL;
	}
	g->name = display_name(&g->dsn);
	g->base.name = g->name;
	if (connect_server(g, err, errlen) == -1) {
		*transient = g->base.transient;
		my_close(&g->base);
		errno = 0;
		return NULL;
	}
	/*
	 * Chosen once: the statements are written for it, and a server
	 * that comes back is taken to be the same kind.
	 */
	if (strstr(mysql_get_server_info(g->c), "MariaDB") != NULL &&
	    mysql_get_server_version(g->c) >= 100500)
		g->base.drv = &sql_mariadb;
	errno = 0;
	return &g->base;
}

/* -- Reading. */

static void
quiet_rollback(struct my *g)
{
	if (g->c != NULL && !g->broken &&
	    mysql_real_query(g->c, "ROLLBACK", 8) != 0)
		g->broken = 1;
}

/* One snapshot for reads that take several statements. */
static int
read_begin(struct my *g, int *own, char *err, size_t errlen)
{
	*own = 0;
	if (g->in_txn)
		return 0;
	if (ensure_conn(g, err, errlen) == -1 ||
	    simple(g, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", err,
	    errlen, "begin") == -1 ||
	    simple(g, "START TRANSACTION READ ONLY", err, errlen,
	    "begin") == -1)
		return -1;
	*own = 1;
	g->in_read = 1;
	return 0;
}

static void
read_end(struct my *g, int own)
{
	if (own && g->c != NULL && !g->broken &&
	    mysql_real_query(g->c, "COMMIT", 6) != 0)
		g->broken = 1;
}

/* -- Writing, for the aggregator. */

static int
my_begin(struct db *db, char *err, size_t errlen)
{
	struct my *g = MY(db);

	if (ensure_conn(g, err, errlen) == -1 ||
	    simple(g, "START TRANSACTION", err, errlen, "begin") == -1)
		return -1;
	g->in_txn = 1;
	return 0;
}

static int
my_commit(struct db *db, char *err, size_t errlen)
{
	struct my *g = MY(db);

	g->in_txn = 0;
	return simple(g, "COMMIT", err, errlen, "commit");
}

static void
my_rollback(struct db *db)
{
	struct my *g = MY(db);

	g->in_txn = 0;
	quiet_rollback(g);
}



















/* -- The driver of the store (sql.h). */

/* A URI, or the Go driver's DSN as the original's config holds it. */
static int
my_claims(const char *uri)
{
	return strncmp(uri, "mysql:", 6) == 0 ||
	    strncmp(uri, "mariadb:", 8) == 0 ||
	    strstr(uri, "@tcp(") != NULL || strstr(uri, "@unix(") != NULL;
}


/* A slot's result, read whole, and the row sql_next reached. */
struct sql_rows {
	struct res	r;
	size_t		row;
};

static struct sql_rows *
drv_run(struct db *db, int slot, const char *q, const struct sql_value *v,
    size_t n, char *err, size_t errlen, const char *what)
{
	struct my *g = MY(db);
	struct params p = { 0 };
	struct sql_rows *rows;
	size_t i;
	int rc;

	if (may_reconnect(g) && ensure_conn(g, err, errlen) == -1)
		return NULL;
	if (g->qst[slot] == NULL &&
	    (g->qst[slot] = prepare(g, q, err, errlen, what)) == NULL)
		return NULL;
	if ((rows = g->q[slot]) == NULL)
		rows = g->q[slot] = xcalloc(1, sizeof(*rows));
	for (i = 0; i < n; i++) {
		switch (v[i].type) {
		case SQL_NULL:
			p_text(&p, NULL);
			break;
		case SQL_INT:
			p_int(&p, v[i].i);
			break;
		case SQL_DOUBLE:
			p_double(&p, v[i].d);
			break;
		case SQL_TEXT:
			p_text(&p, v[i].s);
			break;
		}
	}
	rc = execute(g, g->qst[slot], &p, &rows->r, err, errlen, what);
	p_release(&p);
	if (rc == -1)
		return NULL;
	rows->row = 0;
	return rows;
}

static int
drv_next(struct db *db, struct sql_rows *r, char *err, size_t errlen,
    const char *what)
{
	if (r->row >= r->r.nrows)
		return 0;
	r->row++;
	return 1;
}

static const char *
drv_text(struct sql_rows *r, int i)
{
	return cell(&r->r, r->row - 1, (size_t)i);
}

static int
drv_null(struct sql_rows *r, int i)
{
	return drv_text(r, i) == NULL;
}

static int64_t
drv_integer(struct sql_rows *r, int i)
{
	return get_int(&r->r, r->row - 1, (size_t)i);
}

static double
drv_real(struct sql_rows *r, int i)
{
	const char *v = drv_text(r, i);

	return v != NULL ? strtod(v, NULL) : 0;
}

static int64_t
drv_changes(struct db *db, struct sql_rows *r)
{
	return (int64_t)r->r.affected;
}

static void
drv_done(struct db *db, struct sql_rows *r)
{
	res_release(&r->r);
}

static int
drv_read_begin(struct db *db, int *own, char *err, size_t errlen)
{
	return read_begin(MY(db), own, err, errlen);
}

static void
drv_read_end(struct db *db, int own, int ok)
{
	if (ok)
		read_end(MY(db), own);
	else if (own)
		quiet_rollback(MY(db));
	if (own)
		MY(db)->in_read = 0;
}

static int
drv_in_txn(struct db *db)
{
	return MY(db)->in_txn;
}

/* Every fact of the driver but how it reads an upsert's rows back. */
#define MY_DRIVER \
	.name = "mysql", \
	.hashed_ids = 1, \
	.quote = '`', \
	.row_locks = 1, \
	.row_in = 1, \
	.inserted = SQL_INSERTED_CHANGES, \
	.batch_rows = 512, \
	.replay = 1, \
	/* InnoDB cannot index a long text whole: ids are hashed. */ \
	.types = { "MEDIUMTEXT", "MEDIUMTEXT", "VARCHAR(64)", "INTEGER", \
	    "BIGINT", "DOUBLE" }, \
	.drop_index_on = 1, \
	.has_column = "SELECT count(*) FROM information_schema.columns" \
	    " WHERE table_schema = DATABASE() AND table_name = ?" \
	    " AND column_name = ?", \
	.counts_view = "SELECT b.service, b.target_id, j.`key`, b.target," \
	    " j.last_raw, j.accumulated, j.last_delta, j.updated" \
	    " FROM target_baselines b, JSON_TABLE(b.counts, '$[*]' COLUMNS" \
	    " (`key` MEDIUMTEXT PATH '$[0]', last_raw BIGINT PATH '$[1]'," \
	    " accumulated BIGINT PATH '$[2]', last_delta BIGINT PATH '$[3]'," \
	    " updated BIGINT PATH '$[4]')) AS j", \
	.has_index = "SELECT count(DISTINCT index_name) FROM" \
	    " information_schema.statistics WHERE table_schema = DATABASE()" \
	    " AND index_name = ?", \
	.claims = my_claims, \
	.open = db_mysql_open, \
	.schema_lock = schema_lock, \
	.schema_unlock = schema_unlock, \
	.table_options = table_options, \
	.exec = drv_exec, \
	.close = my_close, \
	.run = drv_run, \
	.next = drv_next, \
	.null = drv_null, \
	.text = drv_text, \
	.integer = drv_integer, \
	.real = drv_real, \
	.changes = drv_changes, \
	.done = drv_done, \
	.read_begin = drv_read_begin, \
	.read_end = drv_read_end, \
	.begin = my_begin, \
	.commit = my_commit, \
	.rollback = my_rollback, \
	.in_txn = drv_in_txn

/* MySQL has no RETURNING: an upsert's rows are read after it. */
const struct sql_driver sql_mysql = {
	MY_DRIVER,
	.returning = 0,
};

/*
 * MariaDB 10.5 and later return an upsert's rows: half a round of
 * 200,000 counts went to reading them back (10.0 s, 5.0 s without).
 */
static const struct sql_driver sql_mariadb = {
	MY_DRIVER,
	.returning = 1,
};

