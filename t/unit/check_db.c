/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the storage layer: URIs, migrations, concurrency, reads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "db.h"
#include "db_impl.h"

static char tmpdir[64];
static char err[512];

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_db.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *
tpath(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

/* Reads one integer with the sqlite3 library directly. */
static int
raw_int(const char *path, const char *q)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	int v = -1;

	ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, q, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static void
raw_exec(const char *path, const char *q)
{
	sqlite3 *h;

	ck_assert_int_eq(sqlite3_open(path, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, q, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

START_TEST(fresh_migrations)
{
	struct db *db;
	char *p = tpath("a.db");
	int tr = -1;

	db = db_open(p, &tr, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_str_eq(db_engine(db), "sqlite");
	db_close(db);
	ck_assert_int_eq(raw_int(p, "PRAGMA user_version"), 2);
	ck_assert_int_eq(raw_int(p, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name IN ('services', 'targets', "
	    "'errors', 'occurrences', 'target_counts', 'error_minutes')"), 6);
}
END_TEST

START_TEST(wal_mode)
{
	struct db *db;
	char *p = tpath("w.db");
	sqlite3 *h;
	sqlite3_stmt *st;

	db = db_open(p, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	db_close(db);
	ck_assert_int_eq(sqlite3_open(p, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st,
	    NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(h);
}
END_TEST

START_TEST(reopen_keeps_data)
{
	struct db *db;
	char **names;
	size_t n;
	char uri[160];

	snprintf(uri, sizeof(uri), "sqlite:%s", tpath("r.db"));
	db = db_open(uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(db->ops->begin(db, err, sizeof(err)), 0);
	ck_assert_int_eq(db->ops->service_touch(db, "zeta", 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(db->ops->service_touch(db, "alpha", 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(db->ops->service_touch(db, "alpha", 2, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(db->ops->commit(db, err, sizeof(err)), 0);
	db_close(db);

	db = db_open(uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(db_services(db, &names, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(names[0], "alpha");
	ck_assert_str_eq(names[1], "zeta");
	db_strings_free(names, n);
	ck_assert_int_eq(db_service_exists(db, "alpha", err, sizeof(err)), 1);
	ck_assert_int_eq(db_service_exists(db, "beta", err, sizeof(err)), 0);
	db_close(db);
	ck_assert_int_eq(raw_int(tpath("r.db"), "PRAGMA user_version"), 2);
}
END_TEST

START_TEST(concurrent_open)
{
	int round, i, fds[2], status, okcount;
	pid_t pid[4];
	char name[32], c;

	for (round = 0; round < 5; round++) {
		snprintf(name, sizeof(name), "c%d.db", round);
		ck_assert_int_eq(pipe(fds), 0);
		for (i = 0; i < 4; i++) {
			pid[i] = fork();
			ck_assert_int_ne(pid[i], -1);
			if (pid[i] == 0) {
				struct db *db;
				char e[256];

				close(fds[1]);
				/* The pipe closing starts all at once. */
				(void)read(fds[0], &c, 1);
				db = db_open(tpath(name), NULL, e, sizeof(e));
				if (db == NULL) {
					fprintf(stderr, "child: %s\n", e);
					_exit(1);
				}
				db_close(db);
				_exit(0);
			}
		}
		close(fds[0]);
		close(fds[1]);
		okcount = 0;
		for (i = 0; i < 4; i++) {
			ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				okcount++;
		}
		ck_assert_int_eq(okcount, 4);
		ck_assert_int_eq(raw_int(tpath(name), "PRAGMA user_version"),
		    2);
	}
}
END_TEST

START_TEST(newer_schema_refused)
{
	struct db *db;
	char *p = tpath("n.db");
	int tr = -1;

	db = db_open(p, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(db);
	db_close(db);
	raw_exec(p, "PRAGMA user_version = 99");
	db = db_open(p, &tr, err, sizeof(err));
	ck_assert_ptr_null(db);
	ck_assert_int_eq(tr, 0);
	ck_assert_msg(strstr(err, "schema version 99 is newer") != NULL, "%s",
	    err);
}
END_TEST

START_TEST(bad_uris)
{
	static const struct {
		const char	*uri;
		const char	*msg;
	} cases[] = {
		{ "", "empty database URI" },
		{ "mysql://h/db", "mysql: engine not available yet" },
		{ "redis://h", "'redis://h': unknown database engine 'redis'" },
		{ "sqlite:", "sqlite: empty path" },
	};
	size_t i;
	int tr;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tr = -1;
		ck_assert_ptr_null(db_open(cases[i].uri, &tr, err,
		    sizeof(err)));
		ck_assert_int_eq(tr, 0);
		ck_assert_str_eq(err, cases[i].msg);
	}
}
END_TEST

START_TEST(cannot_open)
{
	int tr = -1;

	errno = 0;
	ck_assert_ptr_null(db_open("/nonexistent-dir/x/y.db", &tr, err,
	    sizeof(err)));
	ck_assert_int_eq(tr, 0);
	ck_assert_int_ne(errno, 0);
	ck_assert_msg(strstr(err, "'/nonexistent-dir/x/y.db'") != NULL, "%s",
	    err);
}
END_TEST

START_TEST(not_a_database)
{
	FILE *f;
	int tr = -1;

	f = fopen(tpath("junk.db"), "w");
	ck_assert_ptr_nonnull(f);
	fputs("this is not an SQLite database, just some text long enough "
	    "to have a header of a hundred bytes or more, so it is junk\n", f);
	fclose(f);
	errno = 0;
	ck_assert_ptr_null(db_open(tpath("junk.db"), &tr, err, sizeof(err)));
	ck_assert_int_eq(tr, 0);
	ck_assert_int_ne(errno, 0);
}
END_TEST

START_TEST(memory_private)
{
	struct db *a, *b;
	char **names;
	size_t n;

	a = db_open("memory:", NULL, err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	b = db_open("memory:", NULL, err, sizeof(err));
	ck_assert_msg(b != NULL, "%s", err);
	ck_assert_int_eq(a->ops->begin(a, err, sizeof(err)), 0);
	ck_assert_int_eq(a->ops->service_touch(a, "s", 1, err, sizeof(err)),
	    0);
	ck_assert_int_eq(a->ops->commit(a, err, sizeof(err)), 0);
	ck_assert_int_eq(db_services(a, &names, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	db_strings_free(names, n);
	ck_assert_int_eq(db_services(b, &names, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 0);
	db_strings_free(names, n);
	db_close(a);
	db_close(b);
}
END_TEST

START_TEST(empty_reads)
{
	struct db *db;
	struct db_error_list el;
	struct db_target_list tl;

	db = db_open(tpath("e.db"), NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(db_errors(db, "nope", 10, 1, &el, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(el.n, 0);
	db_error_list_release(&el);
	ck_assert_int_eq(db_targets(db, &tl, err, sizeof(err)), 0);
	ck_assert_uint_eq(tl.n, 0);
	db_target_list_release(&tl);
	ck_assert_int_eq(db_resolve(db, "nope", "k", err, sizeof(err)), 0);
	db_close(db);
	db_close(NULL);
}
END_TEST

/* -- PostgreSQL, on scratch databases of the PERISKOP_TEST_PG server. */

static char pgname[64];
static char pguri[512];

static void
quiet(void *arg, const char *msg)
{
}

/* Runs q on a connection to uri; returns the first value as a number. */
static long long
pg_q(const char *uri, const char *q)
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
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

static void
setup_pg(void)
{
	const char *base = getenv("PERISKOP_TEST_PG");
	const char *slash = strrchr(base, '/');
	char q[128];

	snprintf(pgname, sizeof(pgname), "periskop_ck_db_%d", (int)getpid());
	snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s", pgname);
	pg_q(base, q);
	snprintf(q, sizeof(q), "CREATE DATABASE %s", pgname);
	pg_q(base, q);
	ck_assert_ptr_nonnull(slash);
	snprintf(pguri, sizeof(pguri), "%.*s/%s", (int)(slash - base), base,
	    pgname);
}

static void
teardown_pg(void)
{
	char q[128];

	snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
	    pgname);
	pg_q(getenv("PERISKOP_TEST_PG"), q);
}

START_TEST(pg_fresh_and_reopen)
{
	struct db *db;
	char **names;
	size_t n;

	db = db_open(pguri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_str_eq(db_engine(db), "postgres");
	ck_assert_int_eq(db->ops->begin(db, err, sizeof(err)), 0);
	ck_assert_int_eq(db->ops->service_touch(db, "zeta", 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(db->ops->service_touch(db, "Alpha", 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(db->ops->service_touch(db, "alpha", 2, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(db->ops->commit(db, err, sizeof(err)), 0);
	db_close(db);
	ck_assert_int_eq(pg_q(pguri, "SELECT version FROM periskop_schema"),
	    2);
	db = db_open(pguri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(db_services(db, &names, &n, err, sizeof(err)), 0);
	/* Bytewise order, as SQLite sorts. */
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(names[0], "Alpha");
	ck_assert_str_eq(names[1], "alpha");
	ck_assert_str_eq(names[2], "zeta");
	db_strings_free(names, n);
	ck_assert_int_eq(db_service_exists(db, "alpha", err, sizeof(err)), 1);
	ck_assert_int_eq(db_service_exists(db, "beta", err, sizeof(err)), 0);
	db_close(db);
}
END_TEST

START_TEST(pg_concurrent_open)
{
	int i, fds[2], status, okcount;
	pid_t pid[4];
	char c;

	ck_assert_int_eq(pipe(fds), 0);
	for (i = 0; i < 4; i++) {
		pid[i] = fork();
		ck_assert_int_ne(pid[i], -1);
		if (pid[i] == 0) {
			struct db *db;
			char e[256];

			close(fds[1]);
			(void)read(fds[0], &c, 1);
			db = db_open(pguri, NULL, e, sizeof(e));
			if (db == NULL) {
				fprintf(stderr, "child: %s\n", e);
				_exit(1);
			}
			db_close(db);
			_exit(0);
		}
	}
	close(fds[0]);
	close(fds[1]);
	okcount = 0;
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			okcount++;
	}
	ck_assert_int_eq(okcount, 4);
	ck_assert_int_eq(pg_q(pguri, "SELECT count(*) FROM periskop_schema"),
	    1);
	ck_assert_int_eq(pg_q(pguri, "SELECT version FROM periskop_schema"),
	    2);
}
END_TEST

START_TEST(pg_newer_schema_refused)
{
	struct db *db;
	int tr = -1;

	db = db_open(pguri, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(db);
	db_close(db);
	pg_q(pguri, "UPDATE periskop_schema SET version = 99");
	db = db_open(pguri, &tr, err, sizeof(err));
	ck_assert_ptr_null(db);
	ck_assert_int_eq(tr, 0);
	ck_assert_msg(strstr(err, "schema version 99 is newer") != NULL, "%s",
	    err);
}
END_TEST

START_TEST(pg_unreachable)
{
	struct db *db;
	int tr = -1;

	/* Port 1 on loopback: nothing listens there. */
	db = db_open("postgresql://u@127.0.0.1:1/x", &tr, err, sizeof(err));
	ck_assert_ptr_null(db);
	ck_assert_int_eq(tr, 1);
	ck_assert_msg(strncmp(err, "postgres: '127.0.0.1:1/x': cannot "
	    "connect: ", 41) == 0, "%s", err);
	db = db_open("host=127.0.0.1 port=1 dbname=x", &tr, err,
	    sizeof(err));
	ck_assert_ptr_null(db);
	ck_assert_int_eq(tr, 1);
	db = db_open("postgresql://u@127.0.0.1/x?bogus=1", &tr, err,
	    sizeof(err));
	ck_assert_ptr_null(db);
	ck_assert_int_eq(tr, 0);
	ck_assert_msg(strstr(err, "invalid URI query parameter") != NULL,
	    "%s", err);
}
END_TEST

START_TEST(pg_status_and_generation)
{
	struct db *db;
	struct db_error e;
	int64_t g0, g1;

	db = db_open(pguri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	pg_q(pguri, "INSERT INTO services VALUES ('s', 1);"
	    "INSERT INTO errors (service, key, severity, total_count, inserted)"
	    " VALUES ('s', 'k/ \u00e9', 'info', 4, 5)");
	ck_assert_int_eq(db_generation(db, &g0, err, sizeof(err)), 0);
	ck_assert_int_eq(db_set_status(db, "s", "k/ \u00e9", "ignored", err,
	    sizeof(err)), 1);
	ck_assert_int_eq(db_generation(db, &g1, err, sizeof(err)), 0);
	ck_assert_int_eq(g1, g0 + 1);
	ck_assert_int_eq(db_set_status(db, "s", "nokey", "ignored", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(db_generation(db, &g0, err, sizeof(err)), 0);
	ck_assert_int_eq(g0, g1);
	ck_assert_int_eq(db_resolve(db, "s", "k/ \u00e9", err, sizeof(err)),
	    1);
	ck_assert_int_eq(db_error_get(db, "s", "k/ \u00e9", 3, &e, err,
	    sizeof(err)), 1);
	ck_assert_str_eq(e.status, "resolved");
	ck_assert_int_eq(e.total_count, 4);
	ck_assert_int_eq(e.severity, SEV_INFO);
	ck_assert_int_eq(e.created_at, 5);
	ck_assert_uint_eq(e.nocc, 0);
	db_error_release(&e);
	db_close(db);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fresh_migrations);
	tcase_add_test(tc, wal_mode);
	tcase_add_test(tc, reopen_keeps_data);
	tcase_add_test(tc, concurrent_open);
	tcase_add_test(tc, newer_schema_refused);
	tcase_add_test(tc, bad_uris);
	tcase_add_test(tc, cannot_open);
	tcase_add_test(tc, not_a_database);
	tcase_add_test(tc, memory_private);
	tcase_add_test(tc, empty_reads);
	suite_add_tcase(s, tc);
	if (getenv("PERISKOP_TEST_PG") == NULL) {
		fprintf(stderr, "check_db: PERISKOP_TEST_PG unset: "
		    "PostgreSQL tests skipped\n");
		return s;
	}
	tc = tcase_create("postgres");
	tcase_add_checked_fixture(tc, setup_pg, teardown_pg);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pg_fresh_and_reopen);
	tcase_add_test(tc, pg_concurrent_open);
	tcase_add_test(tc, pg_newer_schema_refused);
	tcase_add_test(tc, pg_unreachable);
	tcase_add_test(tc, pg_status_and_generation);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(db_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
