/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the storage layer: URIs, migrations, concurrency, reads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "db.h"
#include "store.h"
#include "mysql_dsn.h"
#include "schema.h"
#include "scratch.h"
#include "timefmt.h"

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

static long long
raw_ll(const char *path, const char *q)
{
	return raw_int(path, q);
}

/* The store's one SQL in each dialect: what each engine is sent. */
START_TEST(dialects)
{
	static const char q[] = "SELECT `key` FROM errors WHERE @service = @?"
	    " AND @`key` = @? @LOCK";
	static const char up[] = "INSERT INTO t (service, n) VALUES (?, ?)"
	    " @ON(service) n = t.n + @new(n) @RETURNING_INSERTED";
	static const char ign[] = "INSERT INTO o (service, uuid) VALUES"
	    " (?, ?) @IGNORE(service, uuid;uuid)";
	static const char ver[] = "INSERT INTO b (@SURROGATE(id, )s, v)"
	    " VALUES (@SURROGATE(?, )?, ?) @ON(s) v = @new(v)"
	    " @WHERE(b.v = excluded.v - 1)";
	struct sql_driver lite = { .name = "sqlite", .quote = '"' };
	struct sql_driver pg = { .name = "postgres", .quote = '"',
	    .numbered = 1, .row_locks = 1, .inserted = SQL_INSERTED_RETURNING };
	struct sql_driver my = { .name = "mysql", .quote = '`',
	    .hashed_ids = 1, .row_locks = 1 };
	const struct { const struct sql_driver *d; const char *sql, *want; }
	    c[] = {
		{ &lite, q, "SELECT \"key\" FROM errors WHERE service = ?"
		    " AND \"key\" = ? " },
		{ &pg, q, "SELECT \"key\" FROM errors WHERE service = $1"
		    " AND \"key\" = $2 FOR UPDATE" },
		{ &my, q, "SELECT `key` FROM errors WHERE service_h ="
		    " UNHEX(SHA2(?, 256)) AND key_h = UNHEX(SHA2(?, 256))"
		    " FOR UPDATE" },
		{ &lite, up, "INSERT INTO t (service, n) VALUES (?, ?)"
		    " ON CONFLICT (service) DO UPDATE SET n = t.n +"
		    " excluded.n " },
		{ &pg, up, "INSERT INTO t (service, n) VALUES ($1, $2)"
		    " ON CONFLICT (service) DO UPDATE SET n = t.n +"
		    " excluded.n RETURNING (xmax = 0)" },
		{ &my, up, "INSERT INTO t (service, n) VALUES (?, ?)"
		    " ON DUPLICATE KEY UPDATE n = t.n + VALUES(n) " },
		{ &pg, ign, "INSERT INTO o (service, uuid) VALUES ($1, $2)"
		    " ON CONFLICT (service, uuid) DO NOTHING" },
		{ &my, ign, "INSERT INTO o (service, uuid) VALUES (?, ?)"
		    " ON DUPLICATE KEY UPDATE uuid = uuid" },
		{ &pg, ver, "INSERT INTO b (s, v) VALUES ($1, $2)"
		    " ON CONFLICT (s) DO UPDATE SET v = excluded.v"
		    " WHERE b.v = excluded.v - 1" },
		{ &my, ver, "INSERT INTO b (id, s, v) VALUES (?, ?, ?)"
		    " ON DUPLICATE KEY UPDATE v = VALUES(v) " },
	};
	size_t i;
	char *got;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		got = sql_dialect(c[i].d, c[i].sql);
		ck_assert_msg(strcmp(got, c[i].want) == 0, "%s: %s\nwant %s",
		    c[i].d->name, got, c[i].want);
		free(got);
	}
}
END_TEST

/*
 * Schema 6's target_counts, as a database of before schema 7 holds it,
 * in place of target_baselines, with three counts of two targets.
 */
static const char old_counts_rows[] = "INSERT INTO target_counts (service,"
    " target_id, `key`, target, last_raw, accumulated, last_delta, updated)"
    " VALUES ('s', 't1', 'k1', 'a:1', 5, 7, 2, %lld),"
    " ('s', 't1', 'k2', 'a:1', 1, 1, 1, %lld),"
    " ('s', 't2', 'k1', 'a:2', 3, 30, 0, NULL)";

static void
old_counts(const char *uri, int64_t now)
{
	static const char *const ddl[] = {
		"DROP VIEW target_counts_view",
		"DROP TABLE target_baselines",
		NULL
	};
	char q[1024], *c;
	size_t i;

	for (i = 0; ddl[i] != NULL; i++)
		uri[0] == '/' ? raw_exec(uri, ddl[i]) :
		    (void)scratch_query(uri, ddl[i]);
	if (uri[0] == '/')
		raw_exec(uri, "CREATE TABLE target_counts (service TEXT"
		    " NOT NULL, target_id TEXT NOT NULL, key TEXT NOT NULL,"
		    " target TEXT,"
		    " last_raw INTEGER NOT NULL, accumulated INTEGER NOT NULL,"
		    " last_delta INTEGER NOT NULL DEFAULT 0, updated INTEGER,"
		    " PRIMARY KEY (service, target_id, key))");
	else if (strncmp(uri, "mysql", 5) == 0)
		scratch_query(uri, "CREATE TABLE target_counts (id BIGINT"
		    " AUTO_INCREMENT PRIMARY KEY, service MEDIUMTEXT NOT NULL,"
		    " service_h BINARY(32) AS (UNHEX(SHA2(service, 256)))"
		    " STORED,"
		    " target_id MEDIUMTEXT NOT NULL, target_id_h BINARY(32) AS"
		    " (UNHEX(SHA2(target_id, 256))) STORED, `key` MEDIUMTEXT"
		    " NOT NULL, key_h BINARY(32) AS (UNHEX(SHA2(`key`, 256)))"
		    " STORED, target MEDIUMTEXT, target_h BINARY(32) AS"
		    " (UNHEX(SHA2(target, 256))) STORED, last_raw BIGINT"
		    " NOT NULL,"
		    " accumulated BIGINT NOT NULL, last_delta BIGINT NOT NULL"
		    " DEFAULT 0, updated BIGINT, UNIQUE KEY target_counts_id"
		    " (service_h, target_id_h, key_h)) ENGINE=InnoDB");
	else
		scratch_query(uri, "CREATE TABLE target_counts (service TEXT"
		    " NOT NULL, target_id TEXT NOT NULL, key TEXT NOT NULL,"
		    " target TEXT, last_raw BIGINT NOT NULL, accumulated BIGINT"
		    " NOT NULL, last_delta BIGINT NOT NULL DEFAULT 0, updated"
		    " BIGINT, PRIMARY KEY (service, target_id, key))");
	snprintf(q, sizeof(q), old_counts_rows, (long long)now,
	    (long long)now);
	if (uri[0] == '/') {
		for (c = q; (c = strchr(c, '`')) != NULL; )
			*c = '"';
		raw_exec(uri, q);
	} else {
		for (c = q; strncmp(uri, "postgres", 8) == 0 &&
		    (c = strchr(c, '`')) != NULL; )
			*c = '"';
		scratch_query(uri, q);
	}
}

/* The three counts of old_counts, packed by schema 7. */
static void
old_counts_packed(const char *uri)
{
	long long (*q)(const char *, const char *) = uri[0] == '/' ?
	    raw_ll : scratch_query;

	ck_assert_int_eq(q(uri, "SELECT count(*) FROM target_baselines"), 2);
	ck_assert_int_eq(q(uri, "SELECT count(*) FROM target_counts_view"), 3);
	ck_assert_int_eq(q(uri, "SELECT sum(accumulated) FROM"
	    " target_counts_view"), 38);
	ck_assert_int_eq(q(uri, "SELECT sum(last_raw) FROM target_counts_view"
	    " WHERE target = 'a:1'"), 6);
	/* A row of before schema 2 counts as just seen, as schema 2 did. */
	ck_assert_int_eq(q(uri, "SELECT count(*) FROM target_counts_view"
	    " WHERE updated IS NULL OR updated < 1000"), 0);
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
	ck_assert_int_eq(raw_int(p, "PRAGMA user_version"), SCHEMA_VERSION);
	ck_assert_int_eq(raw_int(p, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name IN ('services', 'targets', "
	    "'errors', 'occurrences', 'target_baselines', 'error_minutes')"),
	    6);
	ck_assert_int_eq(raw_int(p, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'target_counts'"), 0);
}
END_TEST

/*
 * A database of schema 2 (before targets.updated): upgraded, and its
 * targets aged by last_scrape until the aggregator stores them again.
 */
START_TEST(schema2_upgraded)
{
	struct db_retention r;
	struct db *db;
	char *p = tpath("s2.db"), q[512];
	int64_t now = time_now();

	db = db_open(p, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	db_close(db);
	old_counts(p, now);
	snprintf(q, sizeof(q), "ALTER TABLE targets DROP COLUMN updated;"
	    "CREATE INDEX target_counts_age ON target_counts (updated);"
	    "PRAGMA user_version = 2;"
	    "INSERT INTO services VALUES ('s', 1);"
	    "INSERT INTO targets (service, address, url, labels, last_scrape)"
	    " VALUES ('s', 'recent', 'u', '{}', %lld), ('s', 'old', 'u', '{}',"
	    " 1)",
	    (long long)(now - 86400000LL));
	raw_exec(p, q);
	db = db_open(p, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(raw_int(p, "PRAGMA user_version"), SCHEMA_VERSION);
	ck_assert_int_eq(raw_int(p, "SELECT count(*) FROM"
	    " pragma_table_info('targets') WHERE name = 'updated'"), 1);
	ck_assert_int_eq(raw_int(p, "SELECT count(*) FROM sqlite_master"
	    " WHERE name LIKE 'target_counts_%age'"), 0);
	ck_assert_int_eq(raw_int(p, "SELECT count(*) FROM sqlite_master"
	    " WHERE name = 'target_counts'"), 0);
	old_counts_packed(p);
	memset(&r, 0, sizeof(r));
	r.targets_ms = 7 * 86400000LL;
	ck_assert_msg(db_prune(db, &r, now, err, sizeof(err)) == 0, "%s", err);
	db_close(db);
	ck_assert_int_eq(raw_int(p, "SELECT count(*) FROM targets"
	    " WHERE address = 'recent'"), 1);
	ck_assert_int_eq(raw_int(p, "SELECT count(*) FROM targets"), 1);
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
	ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(db, "zeta", 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(db, "alpha", 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(db, "alpha", 2, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_commit(db, err, sizeof(err)), 0);
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
	ck_assert_int_eq(raw_int(tpath("r.db"), "PRAGMA user_version"), SCHEMA_VERSION);
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
		    SCHEMA_VERSION);
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
		{ "mysql:u:p@tcp(h:3306)", "mysql: bad data source name: "
		    "no '/dbname': want user:password@tcp(host:port)/dbname" },
		{ "redis://u:secret@h", "unknown database engine 'redis'" },
		{ "u:p@tcp(h:3306)", "mysql: bad data source name: "
		    "no '/dbname': want user:password@tcp(host:port)/dbname" },
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
	ck_assert_int_eq(store_begin(a, err, sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(a, "s", 1, err, sizeof(err)),
	    0);
	ck_assert_int_eq(store_commit(a, err, sizeof(err)), 0);
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

/*
 * -- The server engines, each test on a scratch database of the server
 * PERISKOP_TEST_PG or PERISKOP_TEST_MYSQL names.
 */

static const char *srv_env;
static char srv_name[64];
static char srv_uri[512];

static void
setup_server(const char *env)
{
	srv_env = env;
	scratch_create(env, "periskop_ck_db", srv_name, sizeof(srv_name),
	    srv_uri, sizeof(srv_uri));
}

static void
setup_pg(void)
{
	setup_server("PERISKOP_TEST_PG");
}

static void
setup_my(void)
{
	setup_server("PERISKOP_TEST_MYSQL");
}

static void
teardown_server(void)
{
	scratch_drop(srv_env, srv_name);
}

START_TEST(pg_fresh_and_reopen)
{
	struct db *db;
	char **names;
	size_t n;

	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_str_eq(db_engine(db), "postgres");
	ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(db, "zeta", 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(db, "Alpha", 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(db, "alpha", 2, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_commit(db, err, sizeof(err)), 0);
	db_close(db);
	ck_assert_int_eq(scratch_query(srv_uri, "SELECT version FROM periskop_schema"),
	    SCHEMA_VERSION);
	db = db_open(srv_uri, NULL, err, sizeof(err));
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

/* A slot of the store's that its own statements leave free. */
#define T_SLOT	(SQL_SLOTS - 1)
_Static_assert(Q_COUNT_ <= T_SLOT, "no slot left for the tests");

/*
 * A connection lost inside a read snapshot fails the reads that follow
 * there, each: made again, it would let them see another snapshot.  The
 * next snapshot connects again.
 */
START_TEST(server_snapshot_kept)
{
	struct sql_rows *r;
	struct db *db;
	long long self;
	char q[64];
	int own, my = strncmp(srv_uri, "mysql", 5) == 0, i;
	char **names;
	size_t n;

	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(db->drv->read_begin(db, &own, err, sizeof(err)), 0);
	ck_assert_int_eq(own, 1);
	r = sql_run(db, T_SLOT, my ? "SELECT CONNECTION_ID()" :
	    "SELECT pg_backend_pid()", err, sizeof(err), "test", "");
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(sql_next(db, r, err, sizeof(err), "test"), 1);
	self = sql_int(db, r, 0);
	sql_done(db, r);
	snprintf(q, sizeof(q), my ? "KILL %lld" :
	    "SELECT pg_terminate_backend(%lld)", self);
	scratch_query(srv_uri, q);
	for (i = 0; i < 2; i++) {
		r = sql_run(db, T_SLOT, NULL, err, sizeof(err), "test", "");
		ck_assert_msg(r == NULL, "read %d went on in a new connection",
		    i);
		ck_assert_int_eq(db->transient, 1);
	}
	db->drv->read_end(db, own, 0);
	ck_assert_msg(db_services(db, &names, &n, err, sizeof(err)) == 0,
	    "%s", err);
	db_strings_free(names, n);
	db_close(db);
}
END_TEST

/*
 * A read-only connection, as a replica gives, opens a database that is
 * up to date and reads it; one that would need a migration is refused
 * with the server's reason.
 */
START_TEST(pg_read_only_open)
{
	struct db *db;
	char ro[600], **names;
	size_t n;

	snprintf(ro, sizeof(ro), "%s?options=-c%%20default_transaction_"
	    "read_only%%3Don", srv_uri);
	db = db_open(ro, NULL, err, sizeof(err));
	ck_assert_ptr_null(db);
	ck_assert_msg(strstr(err, "read-only transaction") != NULL, "%s", err);
	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(db, "shop", 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_commit(db, err, sizeof(err)), 0);
	db_close(db);
	db = db_open(ro, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(db_services(db, &names, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], "shop");
	db_strings_free(names, n);
	db_close(db);
}
END_TEST

/* Tools starting at once: one migrates, the others wait, all open. */
START_TEST(server_concurrent_open)
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
			db = db_open(srv_uri, NULL, e, sizeof(e));
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
	ck_assert_int_eq(scratch_query(srv_uri,
	    "SELECT count(*) FROM periskop_schema"), 1);
	ck_assert_int_eq(scratch_query(srv_uri,
	    "SELECT version FROM periskop_schema"), SCHEMA_VERSION);
	ck_assert_int_eq(scratch_query(srv_uri,
	    "SELECT count(*) FROM periskop_meta"), 1);
}
END_TEST

START_TEST(server_newer_schema_refused)
{
	struct db *db;
	int tr = -1;

	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(db);
	db_close(db);
	scratch_query(srv_uri, "UPDATE periskop_schema SET version = 99");
	db = db_open(srv_uri, &tr, err, sizeof(err));
	ck_assert_ptr_null(db);
	ck_assert_int_eq(tr, 0);
	ck_assert_msg(strstr(err, "schema version 99 is newer") != NULL, "%s",
	    err);
}
END_TEST

/*
 * A database of schema 2 (before targets.updated, with the index on
 * target_counts.updated that schema 4 drops) is upgraded.
 */
START_TEST(server_schema2_upgraded)
{
	struct db *db;

	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	db_close(db);
	old_counts(srv_uri, time_now());
	scratch_query(srv_uri, "ALTER TABLE targets DROP COLUMN updated");
	scratch_query(srv_uri, "CREATE INDEX target_counts_age"
	    " ON target_counts (updated)");
	scratch_query(srv_uri, "UPDATE periskop_schema SET version = 2");
	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	db_close(db);
	ck_assert_int_eq(scratch_query(srv_uri,
	    "SELECT version FROM periskop_schema"), SCHEMA_VERSION);
	/* MySQL's catalogue holds every database's tables. */
	ck_assert_int_eq(scratch_query(srv_uri, strncmp(srv_uri, "mysql", 5) ==
	    0 ? "SELECT count(*) FROM information_schema.columns WHERE"
	    " table_schema = DATABASE() AND table_name = 'targets'"
	    " AND column_name = 'updated'" : "SELECT count(*) FROM"
	    " information_schema.columns WHERE table_name = 'targets'"
	    " AND column_name = 'updated'"), 1);
	ck_assert_int_eq(scratch_query(srv_uri, strncmp(srv_uri, "mysql", 5) ==
	    0 ? "SELECT count(DISTINCT index_name) FROM"
	    " information_schema.statistics WHERE table_schema = DATABASE()"
	    " AND index_name LIKE 'target_counts_%age'" :
	    "SELECT count(*) FROM pg_indexes"
	    " WHERE indexname LIKE 'target_counts_%age'"), 0);
	old_counts_packed(srv_uri);
}
END_TEST

/*
 * DDL commits by itself in MySQL: a crash after the step's ALTER but
 * before the version is written leaves the column there; the step is
 * redone without an error.
 */
START_TEST(my_schema_step_redone)
{
	struct db *db;

	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	db_close(db);
	old_counts(srv_uri, time_now());
	scratch_query(srv_uri, "UPDATE periskop_schema SET version = 2");
	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	db_close(db);
	ck_assert_int_eq(scratch_query(srv_uri,
	    "SELECT version FROM periskop_schema"), SCHEMA_VERSION);
	old_counts_packed(srv_uri);
	/* Step 7 again, as after a crash before its version: the same. */
	scratch_query(srv_uri, "UPDATE periskop_schema SET version = 6");
	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	db_close(db);
	old_counts_packed(srv_uri);
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

	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	scratch_query(srv_uri, "INSERT INTO services VALUES ('s', 1);"
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

START_TEST(my_fresh_and_reopen)
{
	struct db *db;
	char **names;
	size_t n;

	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_str_eq(db_engine(db), "mysql");
	ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(db, "zeta", 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(db, "Alpha", 1, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(db, "alpha", 2, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(db, "alpha ", 2, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(store_commit(db, err, sizeof(err)), 0);
	db_close(db);
	ck_assert_int_eq(scratch_query(srv_uri, "SELECT version FROM periskop_schema"),
	    SCHEMA_VERSION);
	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(db_services(db, &names, &n, err, sizeof(err)), 0);
	/* Bytewise order and no padding, as SQLite sorts and compares. */
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(names[0], "Alpha");
	ck_assert_str_eq(names[1], "alpha");
	ck_assert_str_eq(names[2], "alpha ");
	ck_assert_str_eq(names[3], "zeta");
	db_strings_free(names, n);
	ck_assert_int_eq(db_service_exists(db, "alpha", err, sizeof(err)), 1);
	ck_assert_int_eq(db_service_exists(db, "ALPHA", err, sizeof(err)), 0);
	ck_assert_int_eq(db_service_exists(db, "zeta ", err, sizeof(err)), 0);
	db_close(db);
}
END_TEST

START_TEST(my_unreachable)
{
	struct db *db;
	int tr = -1;

	/* Port 1 on loopback: nothing listens there. */
	db = db_open("mysql://u:secret@127.0.0.1:1/x", &tr, err, sizeof(err));
	ck_assert_ptr_null(db);
	ck_assert_int_eq(tr, 1);
	ck_assert_msg(strncmp(err, "mysql: 'u@127.0.0.1:1/x': cannot "
	    "connect: ", 36) == 0, "%s", err);
	ck_assert_ptr_null(strstr(err, "secret"));
	db = db_open("mysql:u:secret@tcp(127.0.0.1:1)/x?parseTime=True", &tr,
	    err, sizeof(err));
	ck_assert_ptr_null(db);
	ck_assert_int_eq(tr, 1);
	ck_assert_ptr_null(strstr(err, "secret"));
}
END_TEST

START_TEST(my_bad_login)
{
	char uri[600];
	const char *at = strchr(getenv("PERISKOP_TEST_MYSQL"), '@');
	int tr = -1;

	ck_assert_ptr_nonnull(at);
	snprintf(uri, sizeof(uri), "mysql://periskop:wrong-secret%s", at);
	ck_assert_ptr_null(db_open(uri, &tr, err, sizeof(err)));
	ck_assert_int_eq(tr, 0);
	ck_assert_msg(strstr(err, "Access denied") != NULL, "%s", err);
	ck_assert_ptr_null(strstr(err, "wrong-secret"));
}
END_TEST

START_TEST(my_status_and_generation)
{
	struct db *db;
	struct db_error e;
	int64_t g0, g1;

	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	scratch_query(srv_uri, "INSERT INTO services (name, created) VALUES ('s', 1)");
	scratch_query(srv_uri, "INSERT INTO errors (service, `key`, severity, "
	    "total_count, inserted) VALUES ('s', 'k/ \u00e9', 'info', 4, 5)");
	scratch_query(srv_uri, "INSERT INTO errors (service, `key`, severity, "
	    "total_count, inserted) VALUES ('s', 'K/ \u00e9', 'info', 7, 5)");
	ck_assert_int_eq(db_generation(db, &g0, err, sizeof(err)), 0);
	ck_assert_int_eq(db_set_status(db, "s", "k/ \u00e9", "ignored", err,
	    sizeof(err)), 1);
	ck_assert_int_eq(db_generation(db, &g1, err, sizeof(err)), 0);
	ck_assert_int_eq(g1, g0 + 1);
	ck_assert_int_eq(db_set_status(db, "s", "nokey", "ignored", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(db_set_status(db, "s", "k/ \u00e9 ", "ignored", err,
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
	ck_assert_int_eq(db_error_get(db, "s", "K/ \u00e9", 3, &e, err,
	    sizeof(err)), 1);
	ck_assert_str_eq(e.status, "unresolved");
	ck_assert_int_eq(e.total_count, 7);
	db_error_release(&e);
	db_close(db);
}
END_TEST

/* One target's counts of n keys of service "s", through store_counts. */
static int
put_counts(struct db *db, const char *const *keys, const int64_t *raw,
    size_t n, int64_t stored, int64_t *delta)
{
	struct db_count_row rows[8];
	size_t i;

	ck_assert_uint_le(n, 8);
	for (i = 0; i < n; i++) {
		rows[i].service = "s";
		rows[i].target_id = "t";
		rows[i].target = "t";
		rows[i].key = keys[i];
		rows[i].raw = raw[i];
		rows[i].stored = stored;
	}
	return store_counts(db, rows, n, delta, err, sizeof(err));
}

/* Keys far longer than an index entry, equal but for their last byte. */
START_TEST(my_long_keys)
{
	struct db *db;
	struct db_error_list el;
	char *k1, *k2;
	const char *keys[2];
	int64_t raw[2] = { 3, 5 }, delta[2];
	size_t len = 20000;

	k1 = malloc(len + 1);
	k2 = malloc(len + 1);
	memset(k1, 'x', len);
	memset(k2, 'x', len);
	k1[len] = k2[len] = '\0';
	k2[len - 1] = 'y';
	keys[0] = k1;
	keys[1] = k2;
	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
	ck_assert_int_eq(store_service_touch(db, "s", 1, err,
	    sizeof(err)), 0);
	ck_assert_msg(put_counts(db, keys, raw, 2, 1, delta) == 0, "%s", err);
	ck_assert_int_eq(delta[0], 3);
	ck_assert_int_eq(delta[1], 5);
	raw[0] = 4;
	raw[1] = 2;
	ck_assert_msg(put_counts(db, keys, raw, 2, 2, delta) == 0, "%s", err);
	ck_assert_int_eq(delta[0], 1);
	ck_assert_int_eq(delta[1], 2);
	ck_assert_int_eq(store_commit(db, err, sizeof(err)), 0);
	ck_assert_int_eq(scratch_query(srv_uri,
	    "SELECT count(*) FROM target_counts_view"), 2);
	ck_assert_int_eq(scratch_query(srv_uri, "SELECT max(length(`key`)) FROM "
	    "target_counts_view"), 20000);
	ck_assert_int_eq(db_errors(db, "s", 1, 1, &el, err, sizeof(err)), 0);
	ck_assert_uint_eq(el.n, 0);
	db_error_list_release(&el);
	db_close(db);
	free(k1);
	free(k2);
}
END_TEST

/* A batch longer than a packet: split by size, every row stored. */
START_TEST(my_batch_of_long_keys)
{
	struct db *db;
	struct db_count_row rows[6];
	int64_t delta[6];
	char *keys[6];
	size_t i, len = 3 << 20;

	for (i = 0; i < 6; i++) {
		keys[i] = malloc(len + 1);
		memset(keys[i], 'k', len);
		keys[i][len] = '\0';
		keys[i][0] = (char)('a' + i);
		rows[i].service = "s";
		rows[i].target_id = "t";
		rows[i].target = "t";
		rows[i].key = keys[i];
		rows[i].raw = (int64_t)i + 1;
		rows[i].stored = 1;
	}
	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
	ck_assert_msg(store_counts(db, rows, 6, delta, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(store_commit(db, err, sizeof(err)), 0);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(delta[i], (int64_t)i + 1);
	ck_assert_int_eq(scratch_query(srv_uri,
	    "SELECT count(*) FROM target_counts_view"), 6);
	ck_assert_int_eq(scratch_query(srv_uri, "SELECT sum(last_raw) FROM "
	    "target_counts_view"), 21);
	db_close(db);
	for (i = 0; i < 6; i++)
		free(keys[i]);
}
END_TEST

START_TEST(my_dsn_forms)
{
	static const struct {
		const char	*dsn;
		const char	*want;	/* user|password|host|socket|db|port */
	} ok[] = {
		{ "periskop:pass@tcp(127.0.0.1:3306)/periskop?charset=utf8mb4"
		    "&parseTime=True&loc=Local",
		    "periskop|pass|127.0.0.1|-|periskop|3306" },
		{ "mysql:u:p@w:rd@tcp(db.example:3307)/x",
		    "u|p@w:rd|db.example|-|x|3307" },
		{ "u@unix(/run/mysqld/mysqld.sock)/x",
		    "u|-|-|/run/mysqld/mysqld.sock|x|0" },
		{ "/x", "root|-|127.0.0.1|-|x|3306" },
		{ "u:p@tcp([::1]:3309)/x", "u|p|::1|-|x|3309" },
		{ "mysql://us%40er:p%2Fw%3A@127.0.0.1/d%20b",
		    "us@er|p/w:|127.0.0.1|-|d b|3306" },
		{ "mariadb://u@h:13306/x?tls=false", "u|-|h|-|x|13306" },
	};
	static const struct {
		const char	*dsn;
		const char	*msg;
	} bad[] = {
		{ "u:p@tcp(h:99999)/x", "bad port '99999': want 1 to 65535" },
		{ "u:p@tcp(h:3306/x", "unclosed '(' in the address" },
		{ "u:p@udp(h)/x", "unknown network 'udp': want tcp or unix" },
		{ "u:p@tcp(h)/", "empty database name after '/'" },
		{ "u:p@tcp(h)/x?parseTime", "bad parameter 'parseTime': want "
		    "name=value" },
		{ "u:p@tcp(h)/x?charset=latin1", "charset 'latin1': only "
		    "utf8mb4 is supported" },
		{ "mysql://u:p%zz@h/x", "password: bad %-escape" },
		{ "mysql://u:p@h:3306", "no database name: want "
		    "mysql://user:password@host:port/dbname" },
		{ "", "empty data source name" },
	};
	struct db_mysql_dsn d;
	char got[512], want[512];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(db_mysql_dsn_parse(ok[i].dsn, &d, err,
		    sizeof(err)) == 0, "%s: %s", ok[i].dsn, err);
		snprintf(got, sizeof(got), "%s|%s|%s|%s|%s|%u", d.user,
		    d.password ? d.password : "-", d.host ? d.host : "-",
		    d.socket ? d.socket : "-", d.dbname, d.port);
		ck_assert_str_eq(got, ok[i].want);
		db_mysql_dsn_release(&d);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(db_mysql_dsn_parse(bad[i].dsn, &d, err,
		    sizeof(err)), -1);
		snprintf(want, sizeof(want), "mysql: %s%s", i + 1 <
		    sizeof(bad) / sizeof(bad[0]) ? "bad data source name: " :
		    "", bad[i].msg);
		ck_assert_str_eq(err, want);
	}
}
END_TEST

START_TEST(uri_redacted)
{
	static const char *const cases[][2] = {
		{ "postgresql://u:secret@h:5432/db?sslmode=require",
		    "postgresql://u:xxx@h:5432/db?sslmode=require" },
		{ "postgres://u@h/db?sslmode=require&password=secret&x=1",
		    "postgres://u@h/db?sslmode=require&password=xxx&x=1" },
		{ "host=h user=u password=secret dbname=d",
		    "host=h user=u password=xxx dbname=d" },
		{ "host=h password='se \\' cret' dbname=d",
		    "host=h password=xxx dbname=d" },
		{ "mysql://u:p%40ss@127.0.0.1:3306/db",
		    "mysql://u:xxx@127.0.0.1:3306/db" },
		{ "mysql:u:p@w:rd@tcp(db.example:3307)/x",
		    "mysql:u:xxx@tcp(db.example:3307)/x" },
		{ "periskop:pass@tcp(127.0.0.1:3306)/periskop?parseTime=True",
		    "periskop:xxx@tcp(127.0.0.1:3306)/periskop?parseTime=True" },
		{ "u@unix(/run/mysqld/mysqld.sock)/x",
		    "u@unix(/run/mysqld/mysqld.sock)/x" },
		{ "postgresql://h/db", "postgresql://h/db" },
		{ "/data/a:b@c/p.db", "/data/a:b@c/p.db" },
		{ "sqlite:/x:y@z.db", "sqlite:/x:y@z.db" },
	};
	char *got;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = db_uri_redacted(cases[i][0]);
		ck_assert_str_eq(got, cases[i][1]);
		free(got);
	}
}
END_TEST

/*
 * Batches of every statement size, rows in no order, new, grown, reset
 * and unchanged baselines: each delta and each state before as one row
 * at a time would give them.
 */
START_TEST(batch_exact)
{
	enum { NT = 700, NK = 3 };
	static struct db_count_row rows[NT * NK];
	static struct db_health h[NT];
	static char ids[NT][16], keys[NK][8];
	static int64_t delta[NT * NK], want[NT * NK], last[NT * NK];
	static int prev[NT];
	const char *uri = srv_uri[0] != '\0' ? srv_uri : tpath("b.db");
	struct db *db;
	size_t i, j, n;
	int round;
	int64_t sum = 0;

	db = db_open(uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	for (j = 0; j < NK; j++)
		snprintf(keys[j], sizeof(keys[j]), "k%zu", j);
	for (round = 0; round < 3; round++) {
		ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
		ck_assert_int_eq(store_service_touch(db, "s", 1, err,
		    sizeof(err)), 0);
		for (i = 0; i < NT; i++) {
			/* Backwards, so no statement sees its rows in order. */
			n = NT - 1 - i;
			snprintf(ids[n], sizeof(ids[n]), "10.0.%zu.%zu", n / 256,
			    n % 256);
			memset(&h[i], 0, sizeof(h[i]));
			h[i].service = "s";
			h[i].address = ids[n];
			h[i].url = "http://x/errors";
			h[i].endpoint = "/errors";
			h[i].at = round;
			h[i].stored = round;
			h[i].up = (n + (size_t)round) % 3 != 0;
			h[i].error = h[i].up ? NULL : "down";
		}
		/* Round 0 stores half the targets only. */
		n = round == 0 ? NT / 2 : NT;
		ck_assert_msg(store_health(db, h + (round == 0 ? NT / 2 : 0),
		    n, prev, err, sizeof(err)) == 0, "%s", err);
		for (i = 0; i < n; i++) {
			size_t t = NT - 1 - (i + (round == 0 ? NT / 2 : 0));

			if (round == 0)
				ck_assert_int_eq(prev[i], -1);
			else if (round == 1 && t >= NT / 2)
				ck_assert_int_eq(prev[i], -1);
			else
				ck_assert_int_eq(prev[i], (t + (size_t)round -
				    1) % 3 != 0);
		}
		for (i = 0; i < NT * NK; i++) {
			struct db_count_row *c = &rows[i];
			int64_t raw;

			c->service = "s";
			c->target_id = ids[i / NK];
			c->target = ids[i / NK];
			c->key = keys[(i * 7) % NK];
			/* Grows, stays, or goes down (a restart). */
			raw = round == 0 ? (int64_t)(i % 50) :
			    round == 1 ? (int64_t)(i % 50) + (int64_t)(i % 3) :
			    (int64_t)(i % 5);
			c->raw = raw;
			c->stored = round;
			want[i] = round == 0 || raw < last[i] ? raw :
			    raw - last[i];
			last[i] = raw;
			sum += want[i];
		}
		ck_assert_msg(store_counts(db, rows, NT * NK, delta, err,
		    sizeof(err)) == 0, "%s", err);
		ck_assert_int_eq(store_commit(db, err, sizeof(err)), 0);
		for (i = 0; i < NT * NK; i++)
			ck_assert_msg(delta[i] == want[i], "round %d row %zu: "
			    "%lld for %lld", round, i, (long long)delta[i],
			    (long long)want[i]);
	}
	db_close(db);
	if (srv_uri[0] != '\0') {
		ck_assert_int_eq(scratch_query(srv_uri, "SELECT count(*) FROM "
		    "target_counts_view"), NT * NK);
		ck_assert_int_eq(scratch_query(srv_uri, "SELECT sum(accumulated)"
		    " FROM target_counts_view"), sum);
		ck_assert_int_eq(scratch_query(srv_uri, "SELECT count(*) FROM "
		    "targets"), NT);
	} else {
		ck_assert_int_eq(raw_int(uri, "SELECT count(*) FROM "
		    "target_counts_view"), NT * NK);
		ck_assert_int_eq(raw_int(uri, "SELECT sum(accumulated) FROM "
		    "target_counts_view"), sum);
		ck_assert_int_eq(raw_int(uri, "SELECT count(*) FROM targets"),
		    NT);
	}
}
END_TEST

/*
 * Whether another connection waits for a lock this one holds: MySQL
 * shows InnoDB's waits to PROCESS only, but a user its own statements,
 * and the second writer's insert cannot end before the first commits.
 */
static int
lock_waited(void)
{
	return scratch_query(srv_uri, strncmp(srv_uri, "mysql", 5) == 0 ?
	    "SELECT count(*) FROM information_schema.processlist"
	    " WHERE info LIKE 'INSERT INTO target_baselines%'" :
	    "SELECT count(*) FROM pg_stat_activity"
	    " WHERE datname = current_database() AND wait_event_type = 'Lock'")
	    > 0;
}

/* The metrics db_metrics called back with, as "service target key n;". */
static char metric_seen[256];

static int
metric_line(const struct db_metric *m, void *arg)
{
	size_t n = strlen(metric_seen);

	snprintf(metric_seen + n, sizeof(metric_seen) - n, "%s %s %s %lld;",
	    m->service, m->target, m->key, (long long)m->count);
	return 0;
}

/*
 * Two writers of one target's counts (two aggregators given one target):
 * the one that read the counts before the other's write committed fails,
 * transient, and tried again adds only what it saw the count grow by.
 * First both find no row, then both find one.
 */
START_TEST(server_counts_race)
{
	struct db_count_row row = { "s", "t", "a:1", "k", 0, 1 };
	static const int64_t raw_a[2] = { 5, 9 }, raw_b[2] = { 7, 12 };
	struct db_instance *in = NULL;
	struct db *a, *b;
	size_t n = 0;
	int64_t d;
	pid_t pid;
	int status, round, i;

	for (round = 0; round < 2; round++) {
		a = db_open(srv_uri, NULL, err, sizeof(err));
		ck_assert_msg(a != NULL, "%s", err);
		ck_assert_int_eq(store_begin(a, err, sizeof(err)), 0);
		row.raw = raw_a[round];
		ck_assert_msg(store_counts(a, &row, 1, &d, err,
		    sizeof(err)) == 0, "%s", err);
		ck_assert_int_eq(d, round == 0 ? 5 : 9 - 7);
		if ((pid = fork()) == 0) {
			if ((b = db_open(srv_uri, NULL, err,
			    sizeof(err))) == NULL ||
			    store_begin(b, err, sizeof(err)) == -1)
				_exit(3);
			row.raw = raw_b[round];
			if (store_counts(b, &row, 1, &d, err,
			    sizeof(err)) == 0 || !b->transient)
				_exit(4);
			store_rollback(b);
			if (store_begin(b, err, sizeof(err)) == -1 ||
			    store_counts(b, &row, 1, &d, err, sizeof(err)) ==
			    -1 || store_commit(b, err, sizeof(err)) == -1)
				_exit(5);
			_exit(d == raw_b[round] - raw_a[round] ? 0 : 6);
		}
		ck_assert_int_ge(pid, 0);
		for (i = 0; i < 200 && !lock_waited(); i++)
			usleep(50000);
		ck_assert_msg(i < 200, "the second writer never waited");
		ck_assert_int_eq(store_commit(a, err, sizeof(err)), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_int_eq(WEXITSTATUS(status), 0);
		db_close(a);
	}
	/* 5, 7 - 5, 9 - 7, 12 - 9: each growth once. */
	ck_assert_int_eq(scratch_query(srv_uri, "SELECT accumulated FROM"
	    " target_counts_view"), 12);
	ck_assert_int_eq(scratch_query(srv_uri, "SELECT last_raw FROM"
	    " target_counts_view"), 12);
	/* And what periskop-serve reads of them. */
	scratch_query(srv_uri, "INSERT INTO services (name, created)"
	    " VALUES ('s', 1)");
	scratch_query(srv_uri, strncmp(srv_uri, "mysql", 5) == 0 ?
	    "INSERT INTO errors (service, `key`, severity, total_count,"
	    " inserted) VALUES ('s', 'k', 'info', 12, 5)" :
	    "INSERT INTO errors (service, key, severity, total_count,"
	    " inserted) VALUES ('s', 'k', 'info', 12, 5)");
	a = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_msg(db_instances(a, "s", "k", &in, &n, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(in[0].target, "a:1");
	ck_assert_int_eq(in[0].count, 12);
	ck_assert_int_eq(in[0].last_raw, 12);
	db_instances_free(in, n);
	metric_seen[0] = '\0';
	ck_assert_msg(db_metrics(a, metric_line, NULL, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_str_eq(metric_seen, "s a:1 k 12;");
	db_close(a);
}
END_TEST

/*
 * A key that is not UTF-8, which no reader hands on but the store takes:
 * found again as its row's JSON keeps it, counted once.
 */
START_TEST(counts_key_not_utf8)
{
	struct db_count_row row = { "s", "t", "a:1", "k\xff", 3, 1 };
	const char *uri = srv_uri[0] != '\0' ? srv_uri : tpath("u.db");
	struct db_instance *in = NULL;
	struct db *db;
	size_t n = 0;
	int64_t d;
	int round;

	db = db_open(uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	for (round = 0; round < 2; round++) {
		row.raw = round == 0 ? 3 : 5;
		ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
		ck_assert_msg(store_counts(db, &row, 1, &d, err,
		    sizeof(err)) == 0, "%s", err);
		ck_assert_int_eq(store_commit(db, err, sizeof(err)), 0);
		ck_assert_int_eq(d, round == 0 ? 3 : 2);
	}
	ck_assert_msg(db_instances(db, "s", "k\xff", &in, &n, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(in[0].count, 5);
	db_instances_free(in, n);
	db_close(db);
}
END_TEST

/*
 * PostgreSQL reads the statistics once a round added enough new count
 * rows, so that the next round finds them by key (without, it read all
 * of a service's rows for each lookup).
 */
START_TEST(pg_analyze_after_new_rows)
{
	enum { N = 1200 };
	static struct db_count_row rows[N];
	static char ids[N][16];
	static int64_t delta[N];
	struct db *db;
	size_t i;

	db = db_open(srv_uri, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	for (i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "t%zu", i);
		rows[i].service = "s";
		rows[i].target_id = ids[i];
		rows[i].target = ids[i];
		rows[i].key = "k";
		rows[i].raw = 1;
		rows[i].stored = 1;
	}
	ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
	ck_assert_msg(store_counts(db, rows, N / 2, delta, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(store_commit(db, err, sizeof(err)), 0);
	ck_assert_int_eq(store_analyze(db, 1000, err, sizeof(err)), 0);
	ck_assert_int_eq(scratch_query(srv_uri, "SELECT count(*) FROM"
	    " pg_stat_user_tables WHERE relname = 'target_baselines'"
	    " AND last_analyze IS NOT NULL"), 0);
	ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
	ck_assert_msg(store_counts(db, rows + N / 2, N / 2, delta, err,
	    sizeof(err)) == 0, "%s", err);
	/* Not inside the transaction, which would hold it to its end. */
	ck_assert_int_eq(store_analyze(db, 1000, err, sizeof(err)), 0);
	ck_assert_int_eq(store_commit(db, err, sizeof(err)), 0);
	ck_assert_msg(store_analyze(db, 1000, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(scratch_query(srv_uri, "SELECT reltuples FROM"
	    " pg_class WHERE relname = 'target_baselines'"), N);
	db_close(db);
}
END_TEST

/*
 * A row whose counts are not what the store writes (edited by hand, cut
 * short): the round and the reads fail with what and where, and the row
 * is left as it is.
 */
START_TEST(counts_row_malformed)
{
	struct db_count_row row = { "s", "t", "a:1", "k", 3, 1 };
	const char *p = tpath("m.db");
	struct db_retention ret;
	struct db_instance *in = NULL;
	struct db *db;
	size_t n = 0;
	int64_t d;

	db = db_open(p, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
	ck_assert_int_eq(store_counts(db, &row, 1, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(store_commit(db, err, sizeof(err)), 0);
	raw_exec(p, "UPDATE target_baselines SET counts = '[[\"k\", 3, 3'");
	ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
	ck_assert_int_eq(store_counts(db, &row, 1, &d, err, sizeof(err)), -1);
	store_rollback(db);
	ck_assert_msg(strstr(err, "service 's', target 't', part 0: counts: "
	    "not JSON at byte 11") != NULL, "%s", err);
	ck_assert_int_eq(db->transient, 0);
	ck_assert_int_eq(db_instances(db, "s", "k", &in, &n, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "listing instances: service 's', target "
	    "'a:1', part 0: counts: not JSON at byte 11") != NULL, "%s", err);
	raw_exec(p, "UPDATE target_baselines SET counts = '[[\"k\", 3, 3, 1]]'");
	ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
	ck_assert_int_eq(store_counts(db, &row, 1, &d, err, sizeof(err)), -1);
	store_rollback(db);
	ck_assert_msg(strstr(err, "counts: element 1: not an array of five")
	    != NULL, "%s", err);
	/* Pruning leaves it, and prunes the others. */
	ck_assert_int_eq(store_begin(db, err, sizeof(err)), 0);
	row.target_id = "old";
	ck_assert_int_eq(store_counts(db, &row, 1, &d, err, sizeof(err)), 0);
	row.target_id = "new";
	row.stored = time_now();
	ck_assert_int_eq(store_counts(db, &row, 1, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(store_commit(db, err, sizeof(err)), 0);
	memset(&ret, 0, sizeof(ret));
	ret.targets_ms = 7 * 86400000LL;
	ck_assert_msg(db_prune(db, &ret, time_now(), err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(raw_int(p, "SELECT count(*) FROM target_baselines"
	    " WHERE target_id IN ('t', 'new')"), 2);
	ck_assert_int_eq(raw_int(p, "SELECT count(*) FROM target_baselines"),
	    2);
	db_close(db);
	ck_assert_int_eq(raw_int(p, "SELECT count(*) FROM target_baselines"
	    " WHERE counts = '[[\"k\", 3, 3, 1]]'"), 1);
}
END_TEST

static Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, dialects);
	tcase_add_test(tc, fresh_migrations);
	tcase_add_test(tc, schema2_upgraded);
	tcase_add_test(tc, wal_mode);
	tcase_add_test(tc, reopen_keeps_data);
	tcase_add_test(tc, concurrent_open);
	tcase_add_test(tc, newer_schema_refused);
	tcase_add_test(tc, bad_uris);
	tcase_add_test(tc, cannot_open);
	tcase_add_test(tc, not_a_database);
	tcase_add_test(tc, memory_private);
	tcase_add_test(tc, empty_reads);
	tcase_add_test(tc, my_dsn_forms);
	tcase_add_test(tc, uri_redacted);
	tcase_add_test(tc, batch_exact);
	tcase_add_test(tc, counts_key_not_utf8);
	tcase_add_test(tc, counts_row_malformed);
	suite_add_tcase(s, tc);
	if (getenv("PERISKOP_TEST_MYSQL") != NULL) {
		tc = tcase_create("mysql");
		tcase_add_checked_fixture(tc, setup_my, teardown_server);
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, my_fresh_and_reopen);
		tcase_add_test(tc, server_snapshot_kept);
		tcase_add_test(tc, server_concurrent_open);
		tcase_add_test(tc, server_newer_schema_refused);
		tcase_add_test(tc, server_schema2_upgraded);
		tcase_add_test(tc, my_schema_step_redone);
		tcase_add_test(tc, my_unreachable);
		tcase_add_test(tc, my_bad_login);
		tcase_add_test(tc, my_status_and_generation);
		tcase_add_test(tc, my_long_keys);
		tcase_add_test(tc, my_batch_of_long_keys);
		tcase_add_test(tc, batch_exact);
		tcase_add_test(tc, server_counts_race);
		suite_add_tcase(s, tc);
	} else
		fprintf(stderr, "check_db: PERISKOP_TEST_MYSQL unset: "
		    "MySQL tests skipped\n");
	if (getenv("PERISKOP_TEST_PG") == NULL) {
		fprintf(stderr, "check_db: PERISKOP_TEST_PG unset: "
		    "PostgreSQL tests skipped\n");
		return s;
	}
	tc = tcase_create("postgres");
	tcase_add_checked_fixture(tc, setup_pg, teardown_server);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pg_fresh_and_reopen);
	tcase_add_test(tc, pg_read_only_open);
	tcase_add_test(tc, server_snapshot_kept);
	tcase_add_test(tc, server_concurrent_open);
	tcase_add_test(tc, server_newer_schema_refused);
	tcase_add_test(tc, server_schema2_upgraded);
	tcase_add_test(tc, pg_unreachable);
	tcase_add_test(tc, pg_status_and_generation);
	tcase_add_test(tc, batch_exact);
	tcase_add_test(tc, server_counts_race);
	tcase_add_test(tc, pg_analyze_after_new_rows);
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
