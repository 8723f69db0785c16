/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the aggregation rules, on SQLite, PostgreSQL and MySQL. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <sqlite3.h>
#include <unistd.h>

#include "aggregate.h"
#include "buf.h"
#include "db.h"
#include "store.h"
#include "model.h"
#include "record.h"
#include "scratch.h"
#include "sql.h"
#include "timefmt.h"
#include "xalloc.h"

#define T0	1700000000000LL	/* a scrape time, ms: data, not a clock */
#define DAY	86400000LL

/* The aggregator's clock: the real one at setup, moved by the tests. */
static int64_t clock_ms;

static char tmpdir[64];
static char dbpath[512];
/* The environment variable naming the server; NULL on SQLite. */
static const char *server;
static char scratch[64];	/* the scratch database on that server */
static char err[512];
static struct db *db;
static struct aggregator *ag;
static struct db_error_list errs;	/* what get() read last */
static char events[64][256];
static int nev;
/*
 * 1: the handle uses MySQL's driver whatever the server, which reads an
 * upsert's rows back after it where MariaDB returns them.
 */
static int read_back;

static void
on_event(const struct event_rec *e, void *arg)
{
	ck_assert_int_lt(nev, 64);
	snprintf(events[nev++], sizeof(events[0]), "%s %s %s %lld%s%s",
	    e->kind, e->service, e->key ? e->key : e->target,
	    (long long)e->count, e->error ? " " : "", e->error ? e->error : "");
}

static int64_t
test_clock(void)
{
	return clock_ms;
}

/* The aggregator with these options, on the test's clock. */
static void
open_agg_with(const struct agg_options *with)
{
	struct agg_options o = *with;

	o.retry_ms = 20000;
	o.clock = test_clock;
	db = db_open(dbpath, NULL, err, sizeof(err));
	ck_assert_msg(db != NULL, "%s", err);
	if (read_back)
		db->drv = &sql_mysql;
	ag = aggregator_new(db, &o, on_event, NULL);
}

static void
open_agg(size_t max_occ)
{
	struct agg_options o;

	memset(&o, 0, sizeof(o));
	o.max_occurrences = max_occ;
	open_agg_with(&o);
}

static void
close_agg(void)
{
	aggregator_free(ag);
	db_close(db);
	ag = NULL;
	db = NULL;
}

static void
setup_sqlite(void)
{
	server = NULL;
	read_back = 0;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_agg.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/p.db", tmpdir);
	nev = 0;
	clock_ms = time_now();
	open_agg(0);
}

/* A scratch database per test on the server that env names. */
static void
setup_server(const char *env)
{
	server = env;
	tmpdir[0] = '\0';
	scratch_create(env, "periskop_ck_agg", scratch, sizeof(scratch),
	    dbpath, sizeof(dbpath));
	nev = 0;
	clock_ms = time_now();
	open_agg(0);
}

static void
setup_pg(void)
{
	read_back = 0;
	setup_server("PERISKOP_TEST_PG");
}

static void
setup_mysql(void)
{
	read_back = 0;
	setup_server("PERISKOP_TEST_MYSQL");
}

static void
setup_mysql_read_back(void)
{
	read_back = 1;
	setup_server("PERISKOP_TEST_MYSQL");
}

static void
teardown(void)
{
	char cmd[128];

	db_error_list_release(&errs);
	close_agg();
	if (server != NULL) {
		scratch_drop(server, scratch);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/*
 * A payload of one aggregate; the variable arguments are uuid and
 * timestamp pairs of its occurrences, ended by NULL.
 */
static struct payload *
pl(const char *key, long long count, const char *created, ...)
{
	struct payload *p;
	struct buf b;
	const char *u, *ts;
	va_list ap;
	int first = 1;

	buf_init(&b);
	buf_adds(&b, "{\"aggregated_errors\":[{\"aggregation_key\":");
	buf_addjstr(&b, key);
	buf_addf(&b, ",\"total_count\":%lld,\"severity\":\"warning\"", count);
	if (created != NULL)
		buf_addf(&b, ",\"created_at\":\"%s\"", created);
	buf_adds(&b, ",\"latest_errors\":[");
	va_start(ap, created);
	while ((u = va_arg(ap, const char *)) != NULL) {
		ts = va_arg(ap, const char *);
		buf_addf(&b, "%s{\"error\":{\"class\":\"C\",\"message\":\"m\","
		    "\"stacktrace\":[\"f\"],\"cause\":null},\"uuid\":\"%s\","
		    "\"timestamp\":\"%s\",\"severity\":\"warning\"}",
		    first ? "" : ",", u, ts);
		first = 0;
	}
	va_end(ap);
	buf_adds(&b, "]}]}");
	p = payload_parse(b.p, b.len, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s: %s", b.p, err);
	buf_release(&b);
	return p;
}

static struct payload *
pl_file(const char *name)
{
	char path[256];
	FILE *f;
	char *text;
	long n;
	struct payload *p;

	snprintf(path, sizeof(path), "%s/%s",
	    getenv("FIXTURES") ? getenv("FIXTURES") : "t/fixtures", name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = xmalloc(n + 1);
	ck_assert_int_eq(fread(text, 1, n, f), n);
	fclose(f);
	p = payload_parse(text, n, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	free(text);
	return p;
}

/* Applies one scrape of target (an address) and frees p. */
static int
scrape_rc(const char *svc, const char *target, const char *tuuid, int64_t at,
    struct payload *p, const char *fail)
{
	struct record r;
	char *url;
	int rc;

	memset(&r, 0, sizeof(r));
	url = xasprintf("http://%s/errors", target);
	r.type = REC_SCRAPE;
	r.u.scrape.service = (char *)svc;
	r.u.scrape.target = (char *)target;
	r.u.scrape.url = url;
	r.u.scrape.target_uuid = (char *)tuuid;
	r.u.scrape.at = at;
	r.u.scrape.duration_ms = 1.5;
	r.u.scrape.ok = fail == NULL;
	r.u.scrape.error = (char *)fail;
	r.u.scrape.payload = p;
	rc = aggregator_apply(ag, &r, err, sizeof(err));
	free(url);
	payload_free(p);
	return rc;
}

static void
scrape(const char *svc, const char *target, const char *tuuid, int64_t at,
    struct payload *p)
{
	ck_assert_msg(scrape_rc(svc, target, tuuid, at, p, NULL) == 0, "%s",
	    err);
}

static int
round_rc(const char *svc)
{
	struct record r;

	memset(&r, 0, sizeof(r));
	r.type = REC_ROUND;
	r.u.round.service = (char *)svc;
	r.u.round.at = T0;
	return aggregator_apply(ag, &r, err, sizeof(err));
}

static void
round_end(const char *svc)
{
	ck_assert_msg(round_rc(svc) == 0, "%s", err);
}


static struct db_error *
get(const char *svc, const char *key)
{
	size_t i;

	db_error_list_release(&errs);
	ck_assert_msg(db_errors(db, svc, 100, 1, &errs, err, sizeof(err)) == 0,
	    "%s", err);
	for (i = 0; i < errs.n; i++)
		if (strcmp(errs.v[i].key, key) == 0)
			return &errs.v[i];
	return NULL;
}

static int64_t
ms(const char *ts)
{
	int64_t v;

	ck_assert_int_eq(time_parse(ts, &v), 0);
	return v;
}

/* Runs q on the test's database: its first value, -1 when none. */
static long long
raw_int(const char *q)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long long v = -1;

	if (server != NULL)
		return scratch_query(dbpath, q);
	ck_assert_int_eq(sqlite3_open(dbpath, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(h, q, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static void
raw_exec(const char *q)
{
	sqlite3 *h;

	if (server != NULL) {
		scratch_query(dbpath, q);
		return;
	}
	ck_assert_int_eq(sqlite3_open(dbpath, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, q, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

START_TEST(first_scrape)
{
	struct db_error *e;

	scrape("api", "a:1", NULL, T0, pl("k1", 3, "2020-01-01T00:00:00Z",
	    "u1", "2020-01-01T00:00:01Z", "u2", "2020-01-01T00:00:02.5Z",
	    NULL));
	ck_assert_int_eq(nev, 0);	/* not before the commit */
	round_end("api");
	ck_assert_int_eq(nev, 1);
	ck_assert_str_eq(events[0], "new_error api k1 3");
	e = get("api", "k1");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->total_count, 3);
	ck_assert_int_eq(e->severity, SEV_WARNING);
	ck_assert_int_eq(e->created_at, ms("2020-01-01T00:00:00Z"));
	ck_assert_int_eq(e->last_seen, ms("2020-01-01T00:00:02.5Z"));
	ck_assert_str_eq(e->status, "unresolved");
	ck_assert_int_eq(e->regressed, 0);
	ck_assert_uint_eq(e->nocc, 2);
	ck_assert_str_eq(e->occ[0].uuid, "u2");
	ck_assert_str_eq(e->occ[1].uuid, "u1");
	ck_assert_int_eq(e->occ[0].severity, SEV_WARNING);
	ck_assert_ptr_nonnull(strstr(e->occ[0].error_json, "\"class\":\"C\""));
	ck_assert_ptr_null(e->occ[0].http_json);
}
END_TEST

START_TEST(growth)
{
	scrape("api", "a:1", NULL, T0, pl("k", 3, NULL, NULL));
	round_end("api");
	scrape("api", "a:1", NULL, T0 + 60000, pl("k", 5, NULL, NULL));
	round_end("api");
	scrape("api", "a:1", NULL, T0 + 120000, pl("k", 5, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(get("api", "k")->total_count, 5);
	ck_assert_int_eq(nev, 1);
	ck_assert_int_eq(raw_int("SELECT sum(count) FROM error_minutes"), 5);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM error_minutes"), 2);
	ck_assert_int_eq(raw_int("SELECT accumulated FROM target_counts_view"),
	    5);
	ck_assert_int_eq(raw_int("SELECT last_raw FROM target_counts_view"), 5);
}
END_TEST

START_TEST(counter_reset)
{
	scrape("api", "a:1", NULL, T0, pl("k", 5, NULL, NULL));
	round_end("api");
	scrape("api", "a:1", NULL, T0 + 1, pl("k", 2, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(get("api", "k")->total_count, 7);
	scrape("api", "a:1", NULL, T0 + 2, pl("k", 4, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(get("api", "k")->total_count, 9);
}
END_TEST

START_TEST(two_instances)
{
	scrape("api", "a:1", "ua", T0, pl("k", 2, NULL, NULL));
	scrape("api", "b:1", "ub", T0, pl("k", 3, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(get("api", "k")->total_count, 5);
	scrape("api", "a:1", "ua", T0 + 1, pl("k", 4, NULL, NULL));
	scrape("api", "b:1", "ub", T0 + 1, pl("k", 3, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(get("api", "k")->total_count, 7);
	/* The same instance behind a new address is still one instance. */
	scrape("api", "c:1", "ua", T0 + 2, pl("k", 4, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(get("api", "k")->total_count, 7);
	ck_assert_int_eq(nev, 1);
}
END_TEST

START_TEST(resolved_stays_without_delta)
{
	struct db_error_list l;

	scrape("api", "a:1", NULL, T0, pl("k", 2, NULL,
	    "u1", "2020-01-01T00:00:01Z", NULL));
	round_end("api");
	ck_assert_int_eq(db_resolve(db, "api", "k", err, sizeof(err)), 1);
	ck_assert_int_eq(db_resolve(db, "api", "nokey", err, sizeof(err)), 0);
	ck_assert_int_eq(db_resolve(db, "nosvc", "k", err, sizeof(err)), 0);
	scrape("api", "a:1", NULL, T0 + 1, pl("k", 2, NULL,
	    "u1", "2020-01-01T00:00:01Z", NULL));
	round_end("api");
	ck_assert_int_eq(db_errors(db, "api", 10, 0, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 0);
	db_error_list_release(&l);
	ck_assert_str_eq(get("api", "k")->status, "resolved");
	ck_assert_int_eq(get("api", "k")->total_count, 2);
	ck_assert_int_eq(nev, 1);
}
END_TEST

START_TEST(resolved_reopens_on_delta)
{
	struct db_error *e;

	scrape("api", "a:1", NULL, T0, pl("k", 2, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(db_resolve(db, "api", "k", err, sizeof(err)), 1);
	scrape("api", "a:1", NULL, T0 + 5000, pl("k", 3, NULL,
	    "u9", "2020-01-01T00:00:09Z", NULL));
	round_end("api");
	e = get("api", "k");
	ck_assert_str_eq(e->status, "unresolved");
	ck_assert_int_eq(e->regressed, 1);
	ck_assert_int_eq(e->regressed_at, T0 + 5000);
	ck_assert_int_eq(e->total_count, 3);
	ck_assert_int_eq(nev, 2);
	ck_assert_str_eq(events[1], "regression api k 1");
}
END_TEST

START_TEST(occurrences_dedupe_cap)
{
	struct db_error *e;

	close_agg();
	open_agg(3);
	scrape("api", "a:1", NULL, T0, pl("k", 2, NULL,
	    "u1", "2020-01-01T00:00:01Z", "u2", "2020-01-01T00:00:02Z", NULL));
	round_end("api");
	e = get("api", "k");
	ck_assert_uint_eq(e->nocc, 2);
	scrape("api", "a:1", NULL, T0 + 1, pl("k", 6, NULL,
	    "u2", "2020-01-01T00:00:02Z", "u5", "2020-01-01T00:00:05Z",
	    "u3", "2020-01-01T00:00:03Z", "u4", "2020-01-01T00:00:04Z", NULL));
	round_end("api");
	e = get("api", "k");
	ck_assert_uint_eq(e->nocc, 3);
	ck_assert_str_eq(e->occ[0].uuid, "u5");
	ck_assert_str_eq(e->occ[1].uuid, "u4");
	ck_assert_str_eq(e->occ[2].uuid, "u3");
	ck_assert_int_eq(raw_int("SELECT count(*) FROM occurrences"), 3);
	/* An old occurrence coming back does not push a newer one out. */
	scrape("api", "b:1", NULL, T0 + 2, pl("k", 1, NULL,
	    "u0", "2019-01-01T00:00:00Z", NULL));
	round_end("api");
	e = get("api", "k");
	ck_assert_uint_eq(e->nocc, 3);
	ck_assert_str_eq(e->occ[2].uuid, "u3");
	ck_assert_int_eq(e->total_count, 7);
}
END_TEST

START_TEST(reference_pair)
{
	struct db_error *e;

	scrape("svc", "10.0.0.1:7777", NULL, T0,
	    pl_file("sample-response1.json"));
	scrape("svc", "10.0.0.2:7777", NULL, T0,
	    pl_file("sample-response2.json"));
	round_end("svc");
	e = get("svc", "com.soundcloud.Foon@e28e036e");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->total_count, 4);
	ck_assert_int_eq(e->created_at, ms("2018-09-13T15:23:30.630Z"));
	ck_assert_uint_eq(e->nocc, 4);
	ck_assert_str_eq(e->occ[0].uuid, "uuid4");
	ck_assert_str_eq(e->occ[1].uuid, "uuid2");
	ck_assert_str_eq(e->occ[2].uuid, "uuid3");
	ck_assert_str_eq(e->occ[3].uuid, "uuid1");
	ck_assert_ptr_nonnull(e->occ[0].http_json);
	ck_assert_ptr_nonnull(strstr(e->occ[0].http_json, "\"GET\""));
	ck_assert_int_eq(nev, 1);
}
END_TEST

START_TEST(created_at_from_occurrences)
{
	scrape("api", "a:1", NULL, T0, pl("k", 2, NULL,
	    "u2", "2020-01-01T00:00:02Z", "u1", "2020-01-01T00:00:01Z", NULL));
	round_end("api");
	ck_assert_int_eq(get("api", "k")->created_at,
	    ms("2020-01-01T00:00:01Z"));
	/* A reported created_at wins over occurrences, even a later one. */
	scrape("api", "b:1", NULL, T0, pl("k", 2, "2020-01-01T00:00:05Z",
	    NULL));
	round_end("api");
	ck_assert_int_eq(get("api", "k")->created_at,
	    ms("2020-01-01T00:00:05Z"));
}
END_TEST

START_TEST(restart_safety)
{
	scrape("api", "a:1", NULL, T0, pl("k", 3, NULL,
	    "u1", "2020-01-01T00:00:01Z", NULL));
	round_end("api");
	close_agg();
	open_agg(0);
	scrape("api", "a:1", NULL, T0 + 1, pl("k", 3, NULL,
	    "u1", "2020-01-01T00:00:01Z", NULL));
	round_end("api");
	ck_assert_int_eq(get("api", "k")->total_count, 3);
	ck_assert_uint_eq(get("api", "k")->nocc, 1);
	ck_assert_int_eq(nev, 1);
}
END_TEST

static void
targets_line(const char *svc, const char **addrs, size_t n)
{
	struct record r;
	struct target t[8];
	size_t i;

	memset(&r, 0, sizeof(r));
	memset(t, 0, sizeof(t));
	r.type = REC_TARGETS;
	r.u.targets.service = (char *)svc;
	r.u.targets.endpoint = (char *)"/errors";
	for (i = 0; i < n; i++) {
		t[i].address = (char *)addrs[i];
		t[i].url = xasprintf("http://%s/errors", addrs[i]);
		labels_init(&t[i].labels);
		labels_set(&t[i].labels, "instance", addrs[i]);
	}
	r.u.targets.targets = t;
	r.u.targets.ntargets = n;
	ck_assert_msg(aggregator_apply(ag, &r, err, sizeof(err)) == 0, "%s",
	    err);
	for (i = 0; i < n; i++) {
		free(t[i].url);
		labels_release(&t[i].labels);
	}
}

START_TEST(targets_replace)
{
	struct db_target_list l;
	const char *set1[] = { "b:1", "a:1" }, *set2[] = { "a:1", "c:1" };
	char **names;
	size_t n;

	targets_line("api", set1, 2);
	scrape("api", "a:1", NULL, T0, pl("k", 1, NULL, NULL));
	round_end("api");
	targets_line("api", set2, 2);
	targets_line("web", NULL, 0);
	ck_assert_int_eq(db_targets(db, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.v[0].service, "api");
	ck_assert_str_eq(l.v[0].address, "a:1");
	ck_assert_str_eq(l.v[0].url, "http://a:1/errors");
	ck_assert_str_eq(l.v[0].endpoint, "/errors");
	ck_assert_int_eq(l.v[0].up, 1);
	ck_assert_int_eq(l.v[0].last_scrape, T0);
	ck_assert_ptr_null(l.v[0].last_error);
	ck_assert_str_eq(l.v[1].address, "c:1");
	ck_assert_int_eq(l.v[1].up, -1);
	ck_assert_int_eq(l.v[1].last_scrape, TIME_NONE);
	db_target_list_release(&l);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM targets WHERE "
	    "labels = '{\"instance\":\"c:1\"}'"), 1);
	ck_assert_int_eq(db_services(db, &names, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(names[1], "web");
	db_strings_free(names, n);
}
END_TEST

START_TEST(target_events)
{
	struct db_target_list l;

	scrape("api", "a:1", NULL, T0, pl("k", 1, NULL, NULL));
	ck_assert_int_eq(scrape_rc("api", "b:1", NULL, T0, NULL,
	    "connect: connection refused"), 0);
	round_end("api");
	ck_assert_int_eq(nev, 2);
	/* Error events come at commit time, after the targets'. */
	ck_assert_str_eq(events[0],
	    "target_down api b:1 0 connect: connection refused");
	ck_assert_str_eq(events[1], "new_error api k 1");
	ck_assert_int_eq(scrape_rc("api", "a:1", NULL, T0 + 1, NULL,
	    "timeout"), 0);
	ck_assert_int_eq(scrape_rc("api", "b:1", NULL, T0 + 1, NULL,
	    "timeout"), 0);
	round_end("api");
	ck_assert_int_eq(nev, 3);
	ck_assert_str_eq(events[2], "target_down api a:1 0 timeout");
	ck_assert_int_eq(db_targets(db, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_int_eq(l.v[1].up, 0);
	ck_assert_str_eq(l.v[1].last_error, "timeout");
	db_target_list_release(&l);
	scrape("api", "b:1", NULL, T0 + 2, pl("k", 1, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(nev, 4);
	ck_assert_str_eq(events[3], "target_up api b:1 0");
	/* b:1 is a new instance (new URL): its first count is its delta. */
	ck_assert_int_eq(get("api", "k")->total_count, 2);
}
END_TEST

START_TEST(rollback_on_failure)
{
	struct db_error *e;

	scrape("api", "a:1", NULL, T0, pl("k", 2, NULL,
	    "u1", "2020-01-01T00:00:01Z", NULL));
	round_end("api");
	if (server != NULL)
		raw_exec("ALTER TABLE occurrences ADD CONSTRAINT boom "
		    "CHECK (uuid <> 'bad')");
	else
		raw_exec("CREATE TRIGGER boom BEFORE INSERT ON occurrences "
		    "WHEN NEW.uuid = 'bad' BEGIN SELECT RAISE(ABORT, 'boom'); "
		    "END");
	scrape("api", "b:1", NULL, T0 + 1, pl("other", 7, NULL, NULL));
	/* Occurrences are written at commit time: the round fails. */
	scrape("api", "a:1", NULL, T0 + 1, pl("k", 5, NULL,
	    "bad", "2020-01-01T00:00:03Z", NULL));
	ck_assert_int_eq(round_rc("api"), -1);
	ck_assert_ptr_nonnull(strstr(err, "boom"));
	ck_assert_int_eq(nev, 1);
	ck_assert_ptr_null(get("api", "other"));
	e = get("api", "k");
	ck_assert_int_eq(e->total_count, 2);
	ck_assert_uint_eq(e->nocc, 1);
	ck_assert_int_eq(raw_int("SELECT last_raw FROM target_counts_view"), 2);
	/* The next round is exact: nothing was lost or counted twice. */
	raw_exec(server != NULL ?
	    "ALTER TABLE occurrences DROP CONSTRAINT boom" :
	    "DROP TRIGGER boom");
	scrape("api", "a:1", NULL, T0 + 2, pl("k", 5, NULL,
	    "bad", "2020-01-01T00:00:03Z", NULL));
	round_end("api");
	e = get("api", "k");
	ck_assert_int_eq(e->total_count, 5);
	ck_assert_uint_eq(e->nocc, 2);
}
END_TEST

START_TEST(lock_held_elsewhere)
{
	sqlite3 *h;
	struct db_error *e;

	scrape("api", "a:1", NULL, T0, pl("k", 2, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(sqlite3_open(dbpath, &h), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(scrape_rc("api", "a:1", NULL, T0 + 1, pl("k", 4, NULL,
	    NULL), NULL), -1);
	ck_assert_ptr_nonnull(strstr(err, "locked"));
	sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(h);
	scrape("api", "a:1", NULL, T0 + 2, pl("k", 4, NULL, NULL));
	round_end("api");
	e = get("api", "k");
	ck_assert_int_eq(e->total_count, 4);
}
END_TEST


static int
metric_cb(const struct db_metric *m, void *arg)
{
	char *out = arg;
	size_t len = strlen(out);

	snprintf(out + len, 512 - len, "%s|%s|%s|%s|%lld\n", m->service,
	    m->target, m->key, severity_name(m->severity),
	    (long long)m->count);
	return 0;
}

START_TEST(api_reads)
{
	struct db_error e;
	struct db_bucket *b;
	struct db_instance *in;
	struct db_service_stats *ss;
	struct record r;
	char out[512] = "";
	int64_t g0, g1, now = time_now();
	size_t n, i;
	long long sum;

	ck_assert_int_eq(db_generation(db, &g0, err, sizeof(err)), 0);
	scrape("api", "a:1", "ua", now - 120000, pl("k", 2, NULL,
	    "u1", "2020-01-01T00:00:01Z", NULL));
	scrape("api", "b:1", "ub", now - 120000, pl("k", 3, NULL, NULL));
	memset(&r, 0, sizeof(r));
	r.type = REC_ROUND;
	r.u.round.service = "api";
	r.u.round.at = now - 120000;
	r.u.round.duration_ms = 12.5;
	r.u.round.targets = 2;
	r.u.round.ok = 2;
	ck_assert_msg(aggregator_apply(ag, &r, err, sizeof(err)) == 0, "%s",
	    err);
	scrape("api", "a:1", "ua", now - 1000, pl("k", 6, NULL, NULL));
	scrape_rc("api", "b:1", "ub", now - 1000, NULL, "refused");
	r.u.round.at = now - 1000;
	r.u.round.failed = 1;
	r.u.round.ok = 1;
	ck_assert_msg(aggregator_apply(ag, &r, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(db_generation(db, &g1, err, sizeof(err)), 0);
	ck_assert_int_gt(g1, g0);

	ck_assert_int_eq(db_error_get(db, "api", "k", 5, &e, err,
	    sizeof(err)), 1);
	ck_assert_int_eq(e.total_count, 9);
	ck_assert_uint_eq(e.nocc, 1);
	ck_assert_str_eq(e.occ[0].uuid, "u1");
	db_error_release(&e);
	ck_assert_int_eq(db_error_get(db, "api", "nokey", 5, &e, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(db_error_get(db, "nosvc", "k", 5, &e, err,
	    sizeof(err)), 0);

	ck_assert_int_eq(db_set_status(db, "api", "k", "ignored", err,
	    sizeof(err)), 1);
	ck_assert_int_eq(db_generation(db, &g0, err, sizeof(err)), 0);
	ck_assert_int_gt(g0, g1);
	ck_assert_str_eq(get("api", "k")->status, "ignored");
	ck_assert_int_eq(db_set_status(db, "api", "k", "bogus", err,
	    sizeof(err)), -1);
	ck_assert_int_eq(db_set_status(db, "api", "x", "resolved", err,
	    sizeof(err)), 0);
	ck_assert_int_eq(db_set_status(db, "api", "k", "unresolved", err,
	    sizeof(err)), 1);
	ck_assert_str_eq(get("api", "k")->status, "unresolved");

	ck_assert_int_eq(db_counts(db, "api", "k", now - 3600000, 60000, &b,
	    &n, err, sizeof(err)), 0);
	/* A millisecond may have passed since now: then one more bucket. */
	ck_assert(n == 60 || n == 61);
	for (i = 0, sum = 0; i < n; i++)
		sum += b[i].count;
	ck_assert_int_eq(sum, 9);
	ck_assert_int_eq(b[0].start, now - 3600000);
	ck_assert_int_eq(b[1].start, now - 3600000 + 60000);
	/*
	 * The count of now - 1000 is stored in its wall-clock minute, which
	 * falls in the last bucket or, in a minute's first second, the one
	 * before it.
	 */
	i = (size_t)(((now - 1000) / 60000 * 60000 - (now - 3600000)) / 60000);
	ck_assert_int_eq(b[i].count, 4);
	free(b);
	ck_assert_int_eq(db_counts(db, "api", NULL, now - 86400000, 3600000,
	    &b, &n, err, sizeof(err)), 0);
	ck_assert(n == 24 || n == 25);
	for (i = 0, sum = 0; i < n; i++)
		sum += b[i].count;
	ck_assert_int_eq(sum, 9);
	free(b);

	ck_assert_int_eq(db_instances(db, "api", "k", &in, &n, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(in[0].target, "a:1");
	ck_assert_int_eq(in[0].count, 6);
	ck_assert_int_eq(in[0].last_raw, 6);
	ck_assert_str_eq(in[1].target, "b:1");
	ck_assert_int_eq(in[1].count, 3);
	db_instances_free(in, n);

	ck_assert_msg(db_metrics(db, metric_cb, out, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_str_eq(out, "api|a:1|k|warning|6\napi|b:1|k|warning|3\n");

	ck_assert_int_eq(db_service_stats(db, &ss, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ss[0].service, "api");
	ck_assert_int_eq(ss[0].targets, 2);
	ck_assert_int_eq(ss[0].up, 1);
	ck_assert_int_eq(ss[0].rounds_total, 2);
	ck_assert_int_eq(ss[0].scrapes_total, 4);
	ck_assert_int_eq(ss[0].scrape_failures_total, 1);
	ck_assert(ss[0].last_round_ms == 12.5);
	ck_assert_int_eq(ss[0].last_round_at, now - 1000);
	db_service_stats_free(ss, n);
}
END_TEST

START_TEST(spike_and_ignored)
{
	int i;

	/* Five rounds growing by 2: an average of 2 per transaction. */
	for (i = 1; i <= 5; i++) {
		scrape("api", "a:1", "ua", T0 + i, pl("k", 2 * i, NULL, NULL));
		round_end("api");
	}
	ck_assert_int_eq(nev, 1);
	/* 20 is not more than 10 x 2. */
	scrape("api", "a:1", "ua", T0 + 6, pl("k", 30, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(nev, 1);
	/* 100 is more than 10 x the average (30 / 6 = 5). */
	scrape("api", "a:1", "ua", T0 + 7, pl("k", 130, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(nev, 2);
	ck_assert_str_eq(events[1], "spike api k 100");
	/* Ignored: keeps counting, stays ignored, no regression. */
	ck_assert_int_eq(db_set_status(db, "api", "k", "ignored", err,
	    sizeof(err)), 1);
	scrape("api", "a:1", "ua", T0 + 8, pl("k", 131, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(get("api", "k")->total_count, 131);
	ck_assert_str_eq(get("api", "k")->status, "ignored");
	ck_assert_int_eq(get("api", "k")->regressed, 0);
	ck_assert_int_eq(nev, 2);
	/* Resolved, then back: a regression with its time. */
	ck_assert_int_eq(db_resolve(db, "api", "k", err, sizeof(err)), 1);
	scrape("api", "a:1", "ua", T0 + 9, pl("k", 132, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(nev, 3);
	ck_assert_str_eq(events[2], "regression api k 1");
	ck_assert_str_eq(get("api", "k")->status, "unresolved");
	ck_assert_int_eq(get("api", "k")->regressed_at, T0 + 9);
}
END_TEST

START_TEST(retention)
{
	struct db_retention r;
	int64_t now = clock_ms;
	char recent[TIME_BUFSZ];

	time_format(now, recent);
	/* Scrape times are data: this one is three days old, as in an archive. */
	scrape("api", "a:1", "ua", now - 3 * DAY, pl("k", 2, NULL,
	    "u1", "2020-01-01T00:00:01Z", NULL));
	round_end("api");
	scrape("api", "b:1", "ub", now, pl("k", 3, NULL, "u2", recent, NULL));
	round_end("api");
	ck_assert_int_eq(raw_int("SELECT count(*) FROM error_minutes"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM error_hours"), 2);
	memset(&r, 0, sizeof(r));
	r.minutes_ms = DAY;
	r.hours_ms = 14 * DAY;
	r.targets_ms = 2 * DAY;
	ck_assert_msg(db_prune(db, &r, clock_ms, err, sizeof(err)) == 0, "%s",
	    err);
	/* Buckets age by the scrapes' times... */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM error_minutes"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM error_hours"), 2);
	/* ...baselines and targets by when they were stored: just now. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM target_counts_view"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM targets"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM occurrences"), 2);
	ck_assert_int_eq(get("api", "k")->total_count, 5);

	/*
	 * A month later by our clock, after a month when nothing was
	 * stored (the chain was stopped): no target was silent while
	 * others reported, so every baseline stays...
	 */
	clock_ms += 30 * DAY;
	r.targets_ms = 7 * DAY;
	ck_assert_msg(db_prune(db, &r, clock_ms, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM target_counts_view"), 2);
	/* ...and the same lines again are exact. */
	nev = 0;
	scrape("api", "a:1", "ua", now - 3 * DAY, pl("k", 2, NULL,
	    "u1", "2020-01-01T00:00:01Z", NULL));
	round_end("api");
	ck_assert_int_eq(nev, 0);
	ck_assert_int_eq(get("api", "k")->total_count, 5);

	/* Now b:1 has been silent 30 days longer than a:1: its baseline goes. */
	ck_assert_msg(db_prune(db, &r, clock_ms, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM target_counts_view"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM target_counts_view"
	    " WHERE target_id = 'ua'"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM targets"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM targets"
	    " WHERE address = 'a:1'"), 1);
	/* The total stays: retention forgets details, never counts. */
	ck_assert_int_eq(get("api", "k")->total_count, 5);
	/* Back after the retention, b:1's count is new again, in full. */
	scrape("api", "b:1", "ub", clock_ms, pl("k", 3, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(get("api", "k")->total_count, 8);

	/* Occurrences age by their own times: u1 is from 2020. */
	r.occurrences_ms = 31 * DAY;
	ck_assert_msg(db_prune(db, &r, clock_ms, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM occurrences"), 1);
}
END_TEST

/*
 * Pruning waits for the caller's pause (aggregator_idle) after a commit;
 * input that never pauses gets it after a commit twice the period late.
 */
START_TEST(pruning_waits_for_a_pause)
{
	struct agg_options o;
	struct timespec ts = { 2, 100 * 1000000L };

	close_agg();
	memset(&o, 0, sizeof(o));
	o.retention.minutes_ms = DAY;
	o.prune_every_ms = 1000;
	open_agg_with(&o);
	/* Minutes age by the scrapes' times: these are three days old. */
	scrape("api", "a:1", "ua", clock_ms - 3 * DAY, pl("k", 2, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(raw_int("SELECT count(*) FROM error_minutes"), 1);
	aggregator_idle(ag);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM error_minutes"), 0);
	scrape("api", "a:1", "ua", clock_ms - 3 * DAY + 60000,
	    pl("k", 3, NULL, NULL));
	round_end("api");
	aggregator_idle(ag);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM error_minutes"), 1);
	/* No pause for over twice the period: the next commit prunes. */
	nanosleep(&ts, NULL);
	scrape("api", "a:1", "ua", clock_ms - 3 * DAY + 120000,
	    pl("k", 4, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(raw_int("SELECT count(*) FROM error_minutes"), 0);
	ck_assert_int_eq(get("api", "k")->total_count, 4);
}
END_TEST

START_TEST(shards_keep_their_targets)
{
	struct record r;
	struct target t[2];
	struct db_target_list l;

	memset(&r, 0, sizeof(r));
	memset(t, 0, sizeof(t));
	r.type = REC_TARGETS;
	r.u.targets.service = "api";
	r.u.targets.endpoint = "/errors";
	r.u.targets.targets = t;
	r.u.targets.ntargets = 1;
	t[0].address = "a:1";
	t[0].url = "http://a:1/errors";
	db_set_shard(db, "one");
	ck_assert_msg(aggregator_apply(ag, &r, err, sizeof(err)) == 0, "%s",
	    err);
	t[0].address = "b:1";
	t[0].url = "http://b:1/errors";
	db_set_shard(db, "two");
	ck_assert_msg(aggregator_apply(ag, &r, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(db_targets(db, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 2);
	db_target_list_release(&l);
	/* Shard two's new list replaces only its own. */
	t[0].address = "c:1";
	t[0].url = "http://c:1/errors";
	ck_assert_msg(aggregator_apply(ag, &r, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(db_targets(db, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.v[0].address, "a:1");
	ck_assert_str_eq(l.v[1].address, "c:1");
	db_target_list_release(&l);
}
END_TEST

/*
 * A round in which nothing changed writes the targets' health and the
 * round's statistics only; the next change is counted exactly.
 */
START_TEST(unchanged_writes_nothing)
{
	int64_t w0, w1;
	long long upd;

	scrape("api", "a:1", "ta", T0, pl("k1", 3, NULL, "u1",
	    "2020-01-01T00:00:01Z", NULL));
	scrape("api", "b:1", "tb", T0, pl("k1", 4, NULL, "u2",
	    "2020-01-01T00:00:02Z", NULL));
	round_end("api");
	upd = raw_int("SELECT max(updated) FROM target_counts_view");
	w0 = db_rows_written(db);
	clock_ms += 60000;
	scrape("api", "a:1", "ta", T0 + 60000, pl("k1", 3, NULL, "u1",
	    "2020-01-01T00:00:01Z", NULL));
	scrape("api", "b:1", "tb", T0 + 60000, pl("k1", 4, NULL, "u2",
	    "2020-01-01T00:00:02Z", NULL));
	round_end("api");
	w1 = db_rows_written(db);
	/*
	 * Two health rows, the round's statistics and the generation (MySQL
	 * counts an upsert's updated row twice); the error row stays.
	 */
	ck_assert_int_le(w1 - w0, 6);
	ck_assert_int_eq(raw_int("SELECT rounds FROM errors"), 1);
	ck_assert_int_eq(raw_int("SELECT max(updated) FROM target_counts_view"),
	    upd);
	ck_assert_int_eq(raw_int("SELECT max(updated) FROM targets"),
	    clock_ms);
	ck_assert_int_eq(get("api", "k1")->total_count, 7);
	clock_ms += 60000;
	scrape("api", "a:1", "ta", T0 + 120000, pl("k1", 5, NULL, "u3",
	    "2020-01-01T00:00:03Z", NULL));
	scrape("api", "b:1", "tb", T0 + 120000, pl("k1", 4, NULL, "u2",
	    "2020-01-01T00:00:02Z", NULL));
	round_end("api");
	ck_assert_int_eq(get("api", "k1")->total_count, 9);
	ck_assert_uint_eq(errs.v[0].nocc, 3);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM target_counts_view WHERE "
	    "updated = (SELECT max(updated) FROM target_counts_view)"), 1);
}
END_TEST

/* A count stored unchanged is written again once an hour passed. */
START_TEST(unchanged_refreshed)
{
	scrape("api", "a:1", "ta", T0, pl("k1", 3, NULL, NULL));
	round_end("api");
	clock_ms += 30 * 60000;
	scrape("api", "a:1", "ta", T0 + 1, pl("k1", 3, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(raw_int("SELECT updated FROM target_counts_view"),
	    clock_ms - 30 * 60000);
	clock_ms += 31 * 60000;
	scrape("api", "a:1", "ta", T0 + 2, pl("k1", 3, NULL, NULL));
	round_end("api");
	ck_assert_int_eq(raw_int("SELECT updated FROM target_counts_view"),
	    clock_ms);
	ck_assert_int_eq(get("api", "k1")->total_count, 3);
}
END_TEST

/*
 * Many rounds of counts that grow, stay or restart, through one long-lived
 * aggregator (rows skipped) and against the rule: every total exact, and
 * a new aggregator (nothing known, every row written) agrees.
 */
START_TEST(unchanged_skips_are_exact)
{
	enum { NT = 6, NK = 4, NR = 30 };
	static const char *const keys[NK] = { "k0", "k1", "k2", "k3" };
	int64_t raw[NT][NK] = { { 0 } }, want[NK] = { 0 }, r;
	char target[16], tid[16];
	unsigned int seed = 7;
	int round, i, j;

	for (round = 0; round < NR; round++) {
		if (round == NR / 2) {
			/* Halfway, a new process: it knows nothing yet. */
			close_agg();
			open_agg(0);
		}
		clock_ms += 60000;
		for (i = 0; i < NT; i++) {
			snprintf(target, sizeof(target), "h%d:1", i);
			snprintf(tid, sizeof(tid), "t%d", i);
			for (j = 0; j < NK; j++) {
				r = raw[i][j];
				switch (rand_r(&seed) % 4) {
				case 0:
					r += rand_r(&seed) % 5 + 1;
					break;
				case 1:
					r = rand_r(&seed) % 3;	/* a restart */
					break;
				default:
					break;			/* unchanged */
				}
				want[j] += r >= raw[i][j] && round > 0 ?
				    r - raw[i][j] : r;
				raw[i][j] = r;
				scrape("api", target, tid, T0 + round * 60000,
				    pl(keys[j], (long long)r, NULL, NULL));
			}
		}
		round_end("api");
		for (j = 0; j < NK; j++)
			if (want[j] > 0)
				ck_assert_msg(get("api", keys[j]) != NULL &&
				    get("api", keys[j])->total_count == want[j],
				    "round %d %s: want %lld", round, keys[j],
				    (long long)want[j]);
	}
}
END_TEST

/* A MariaDB of 10.5 or later returns the upserts' rows; MySQL cannot. */
START_TEST(mysql_driver_by_server)
{
	long long returns;

	returns = scratch_query(dbpath, "SELECT VERSION() LIKE '%MariaDB%'"
	    " AND (0 + SUBSTRING_INDEX(VERSION(), '.', 1)) * 100 +"
	    " SUBSTRING_INDEX(SUBSTRING_INDEX(VERSION(), '.', 2), '.', -1)"
	    " >= 1005");
	ck_assert_int_eq(db->drv->returning, returns);
	ck_assert_str_eq(db_engine(db), "mysql");
}
END_TEST

static void
add_rules(TCase *tc)
{
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, first_scrape);
	tcase_add_test(tc, growth);
	tcase_add_test(tc, counter_reset);
	tcase_add_test(tc, two_instances);
	tcase_add_test(tc, resolved_stays_without_delta);
	tcase_add_test(tc, resolved_reopens_on_delta);
	tcase_add_test(tc, occurrences_dedupe_cap);
	tcase_add_test(tc, reference_pair);
	tcase_add_test(tc, created_at_from_occurrences);
	tcase_add_test(tc, restart_safety);
	tcase_add_test(tc, targets_replace);
	tcase_add_test(tc, target_events);
	tcase_add_test(tc, rollback_on_failure);
	tcase_add_test(tc, api_reads);
	tcase_add_test(tc, spike_and_ignored);
	tcase_add_test(tc, retention);
	tcase_add_test(tc, pruning_waits_for_a_pause);
	tcase_add_test(tc, shards_keep_their_targets);
	tcase_add_test(tc, unchanged_writes_nothing);
	tcase_add_test(tc, unchanged_refreshed);
	tcase_add_test(tc, unchanged_skips_are_exact);
}

static Suite *
aggregate_suite(void)
{
	Suite *s = suite_create("aggregate");
	TCase *tc = tcase_create("sqlite");

	tcase_add_checked_fixture(tc, setup_sqlite, teardown);
	add_rules(tc);
	tcase_add_test(tc, lock_held_elsewhere);
	suite_add_tcase(s, tc);
	if (getenv("PERISKOP_TEST_PG") != NULL) {
		tc = tcase_create("postgres");
		tcase_add_checked_fixture(tc, setup_pg, teardown);
		add_rules(tc);
		suite_add_tcase(s, tc);
	} else
		fprintf(stderr, "check_aggregate: PERISKOP_TEST_PG unset: "
		    "PostgreSQL tests skipped\n");
	if (getenv("PERISKOP_TEST_MYSQL") != NULL) {
		tc = tcase_create("mysql");
		tcase_add_checked_fixture(tc, setup_mysql, teardown);
		add_rules(tc);
		tcase_add_test(tc, mysql_driver_by_server);
		suite_add_tcase(s, tc);
		/*
		 * The rules that read counts and health back, as on a server
		 * without RETURNING.
		 */
		tc = tcase_create("mysql-read-back");
		tcase_add_checked_fixture(tc, setup_mysql_read_back, teardown);
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, first_scrape);
		tcase_add_test(tc, counter_reset);
		tcase_add_test(tc, two_instances);
		tcase_add_test(tc, restart_safety);
		tcase_add_test(tc, target_events);
		tcase_add_test(tc, unchanged_skips_are_exact);
		suite_add_tcase(s, tc);
	} else
		fprintf(stderr, "check_aggregate: PERISKOP_TEST_MYSQL unset: "
		    "MySQL tests skipped\n");
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(aggregate_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	db_error_list_release(&errs);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
