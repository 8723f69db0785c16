/* SPDX-License-Identifier: Apache-2.0 */
/* Scratch databases on the test servers, for the unit tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>
#include <mysql.h>

#include "store.h"
#include "mysql_dsn.h"
#include "scratch.h"

static void
quiet(void *arg, const char *msg)
{
}

/* 0 when q ran, else -1 with the server's message in err. */
static int
pg_try(const char *uri, const char *q, char *err, size_t errlen)
{
	PGconn *c;
	PGresult *r;
	int rc;

	c = PQconnectdb(uri);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	r = PQexec(c, q);
	rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
	return rc;
}

static long long
pg_query(const char *uri, const char *q)
{
	PGconn *c;
	PGresult *r;
	long long v = -1;

	c = PQconnectdb(uri);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	r = PQexec(c, q);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q,
	    PQresultErrorMessage(r));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
	    !PQgetisnull(r, 0, 0))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

static long long
my_query(const char *uri, const char *q)
{
	struct db_mysql_dsn d;
	MYSQL *c;
	MYSQL_RES *r;
	MYSQL_ROW row;
	long long v = -1;
	char e[256];

	ck_assert_msg(db_mysql_dsn_parse(uri, &d, e, sizeof(e)) == 0, "%s", e);
	c = mysql_init(NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_msg(mysql_real_connect(c, d.host, d.user, d.password,
	    d.dbname, d.port, d.socket, 0) != NULL, "%s", mysql_error(c));
	ck_assert_msg(mysql_query(c, q) == 0, "%s: %s", q, mysql_error(c));
	if ((r = mysql_store_result(c)) != NULL) {
		if ((row = mysql_fetch_row(r)) != NULL && row[0] != NULL)
			v = strtoll(row[0], NULL, 10);
		mysql_free_result(r);
	}
	mysql_close(c);
	db_mysql_dsn_release(&d);
	return v;
}

static int
is_mysql(const char *uri)
{
	return strncmp(uri, "mysql:", 6) == 0 ||
	    strncmp(uri, "mariadb:", 8) == 0;
}

long long
scratch_query(const char *uri, const char *q)
{
	return is_mysql(uri) ? my_query(uri, q) : pg_query(uri, q);
}

void
scratch_create(const char *env, const char *prefix, char *name,
    size_t namelen, char *uri, size_t urilen)
{
	static int seq;
	const char *base = getenv(env), *slash;
	char q[128];

	ck_assert_ptr_nonnull(base);
	ck_assert_ptr_nonnull(slash = strrchr(base, '/'));
	snprintf(name, namelen, "%s_%d_%d", prefix, (int)getpid(), seq++);
	scratch_drop(env, name);
	snprintf(q, sizeof(q), "CREATE DATABASE %s", name);
	scratch_query(base, q);
	snprintf(uri, urilen, "%.*s/%s", (int)(slash - base), base, name);
}

void
scratch_drop(const char *env, const char *name)
{
	const char *base = getenv(env);
	char q[128], e[512];
	int i;

	/* A PostgreSQL database with sessions left cannot go otherwise. */
	snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s%s", name,
	    is_mysql(base) ? "" : " WITH (FORCE)");
	if (is_mysql(base)) {
		scratch_query(base, q);
		return;
	}
	/*
	 * FORCE may not end a worker of another role (autovacuum, after
	 * a test's big deletes): it goes by itself soon.
	 */
	for (i = 0; pg_try(base, q, e, sizeof(e)) == -1; i++) {
		ck_assert_msg(i < 100 && strstr(e, "must be a member") != NULL,
		    "%s: %s", q, e);
		usleep(100000);
	}
}
