/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for api: routes, status codes and JSON on a real SQLite db. */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "buf.h"
#include "db.h"
#include "store.h"
#include "model.h"
#include "periskop.h"
#include "timefmt.h"
#include "urlenc.h"
#include "xalloc.h"

/* A key with every character that makes routing awkward. */
#define AWKWARD	"GET /a/b c%d@e\"f\xc3\xa9"
#define T0	INT64_C(1764057600000)
/* Everything a metric label must escape, and an invalid UTF-8 byte. */
#define HOSTILE	"q\"b\\s\nn\xff"

static char		 tmpdir[] = "/tmp/check_api.XXXXXX";
static char		*dbpath, *uidir;
static struct db	*db;
static struct api_conf	 conf;
static struct api_resp	 resp;

static void
must(int rc, const char *err)
{
	if (rc == -1)
		ck_abort_msg("db: %s", err);
}

static void
put_error(const char *svc, const char *key, int64_t total,
    enum severity sev, int64_t created, int64_t last, const char *status)
{
	struct db_error_row row;
	char err[256];

	memset(&row, 0, sizeof(row));
	row.service = svc;
	row.key = key;
	row.total_count = total;
	row.severity = sev;
	row.created_at = created;
	row.first_seen = created;
	row.last_seen = last;
	row.inserted = T0;
	snprintf(row.status, sizeof(row.status), "%s", status);
	row.resolved_at = TIME_NONE;
	row.regressed_at = TIME_NONE;
	must(store_error_put(db, &row, total, err, sizeof(err)), err);
}

static void
put_occ(const char *svc, const char *key, const char *uuid, int64_t ts,
    enum severity sev, const char *ejson, const char *hjson)
{
	struct db_occurrence o;
	char err[256];

	o.uuid = (char *)uuid;
	o.timestamp = ts;
	o.severity = sev;
	o.error_json = (char *)ejson;
	o.http_json = (char *)hjson;
	must(store_occurrences_add(db, svc, key, &o, 1, err, sizeof(err)),
	    err);
}

static void
put_file(const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static void
fill(void)
{
	const char *ej = "{\"class\":\"E\",\"message\":\"boom\","
	    "\"stacktrace\":[],\"cause\":null}";
	char err[256], uuid[32];
	int i;

	must(store_begin(db, err, sizeof(err)), err);
	must(store_service_touch(db, "api", T0, err, sizeof(err)), err);
	must(store_service_touch(db, "web", T0, err, sizeof(err)), err);
	put_error("api", "k1", 12, SEV_ERROR, T0, T0 + 11000, "unresolved");
	for (i = 0; i < 12; i++) {
		snprintf(uuid, sizeof(uuid), "u-%02d", i);
		put_occ("api", "k1", uuid, T0 + i * 1000, SEV_ERROR, ej, NULL);
	}
	put_error("api", "warn1", 3, SEV_WARNING, T0 + 999, T0 + 1500,
	    "unresolved");
	put_occ("api", "warn1", "u-w", T0 + 1500, SEV_WARNING,
	    "{\"class\":\"W\",\"message\":\"m \\u003cb\\u003e\","
	    "\"stacktrace\":[\"f:1\"],\"cause\":null}",
	    "{\"request_method\":\"GET\",\"request_url\":\"http://x/\","
	    "\"request_headers\":{\"a\":\"b\"},\"request_body\":null}");
	put_error("api", AWKWARD, 1, SEV_ERROR, T0, T0 + 500, "unresolved");
	put_occ("api", AWKWARD, "u-a", T0 + 500, SEV_ERROR, ej, NULL);
	put_error("api", "slash/", 1, SEV_ERROR, T0, T0 + 400, "unresolved");
	put_error("api", "res1", 1, SEV_INFO, T0, T0 + 300, "resolved");
	put_error("api", "ign1", 1, SEV_INFO, T0, T0 + 200, "ignored");
	must(store_targets_mark(db, "api", err, sizeof(err)), err);
	must(store_target_put(db, "api", "10.0.0.2:7777",
	    "http://10.0.0.2:7777/errors", "/errors", "{}", err, sizeof(err)),
	    err);
	must(store_target_put(db, "api", "10.0.0.1:7777",
	    "http://10.0.0.1:7777/errors", "/errors", "{}", err, sizeof(err)),
	    err);
	must(store_target_put(db, "web", "10.0.0.3:8080",
	    "http://10.0.0.3:8080/debug/errors", "/debug/errors", "{}", err,
	    sizeof(err)), err);
	must(store_commit(db, err, sizeof(err)), err);
}

static void
setup(void)
{
	char err[256], *p;

	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	dbpath = xasprintf("%s/test.db", tmpdir);
	db = db_open(dbpath, NULL, err, sizeof(err));
	if (db == NULL)
		ck_abort_msg("db_open: %s", err);
	fill();
	uidir = xasprintf("%s/ui", tmpdir);
	ck_assert_int_eq(mkdir(uidir, 0755), 0);
	p = xasprintf("%s/ui/sub", tmpdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	put_file("ui/index.html", "<!doctype html>\n");
	put_file("ui/app.js", "let x;\n");
	put_file("ui/style.css", "p{}\n");
	put_file("ui/sub/x.svg", "<svg/>");
	put_file("ui/.hidden", "secret");
	put_file("secret.txt", "outside");
	p = xasprintf("%s/ui/link.txt", tmpdir);
	ck_assert_int_eq(symlink("../secret.txt", p), 0);
	free(p);
	memset(&conf, 0, sizeof(conf));
	conf.ui_dir = uidir;
	api_resp_init(&resp);
}

static void
teardown(void)
{
	char *cmd;

	api_resp_release(&resp);
	db_close(db);
	cmd = xasprintf("rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(dbpath);
	free(uidir);
	strcpy(tmpdir, "/tmp/check_api.XXXXXX");
}

/* Runs one request into resp; returns the status. */
static int
req(const char *method, const char *target, const char *auth, int loopback)
{
	struct api_req rq;

	api_resp_release(&resp);
	api_resp_init(&resp);
	rq.method = method;
	rq.target = target;
	rq.authorization = auth;
	rq.loopback = loopback;
	api_handle(&conf, db, &rq, &resp);
	return resp.status;
}

static int
get(const char *target)
{
	return req("GET", target, NULL, 1);
}

static char *
key_path(const char *svc, const char *key)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "/services/");
	buf_adds(&b, svc);
	buf_adds(&b, "/errors/");
	urlenc_encode(&b, key, strlen(key));
	buf_addc(&b, '/');
	return buf_detach(&b, NULL);
}

START_TEST(test_services)
{
	ck_assert_int_eq(get("/services/"), 200);
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert_str_eq(resp.body.p, "[\"api\",\"web\"]\n");
	ck_assert_int_eq(req("POST", "/services/", NULL, 1), 405);
	ck_assert_str_eq(api_resp_get(&resp, "Allow"), "GET, HEAD, OPTIONS");
	ck_assert_int_eq(req("HEAD", "/services/", NULL, 1), 200);
	ck_assert_int_eq(get("/services"), 404);
}
END_TEST

START_TEST(test_errors_exact)
{
	ck_assert_int_eq(get("/services/api/errors/?severity=warning"), 200);
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert_str_eq(resp.body.p,
	    "[{\"aggregation_key\":\"warn1\",\"total_count\":3,"
	    "\"severity\":\"warning\",\"latest_errors\":[{\"error\":"
	    "{\"class\":\"W\",\"message\":\"m \\u003cb\\u003e\","
	    "\"stacktrace\":[\"f:1\"],\"cause\":null},\"uuid\":\"u-w\","
	    "\"timestamp\":1764057601,\"severity\":\"warning\","
	    "\"http_context\":{\"request_method\":\"GET\","
	    "\"request_url\":\"http://x/\",\"request_headers\":{\"a\":\"b\"},"
	    "\"request_body\":null}}],\"created_at\":1764057600,"
	    "\"first_seen\":1764057600,\"last_seen\":1764057601,"
	    "\"status\":\"unresolved\",\"regressed\":false,"
	    "\"regressed_at\":null}]\n");
}
END_TEST

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

START_TEST(test_errors_list)
{
	ck_assert_int_eq(get("/services/api/errors/"), 200);
	/* Newest first; resolved and ignored hidden. */
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 4);
	ck_assert_ptr_nonnull(strstr(resp.body.p,
	    "[{\"aggregation_key\":\"k1\",\"total_count\":12,"));
	ck_assert_ptr_null(strstr(resp.body.p, "res1"));
	ck_assert_ptr_null(strstr(resp.body.p, "\"ign1\""));
	ck_assert_ptr_nonnull(strstr(resp.body.p,
	    "\"GET /a/b c%d@e\\\"f\xc3\xa9\""));
	/* k1 has 12 occurrences, all shown (up to 100), the newest first. */
	ck_assert_int_eq(count(resp.body.p, "\"uuid\":\"u-"), 12 + 1 + 1);
	ck_assert_ptr_nonnull(strstr(resp.body.p,
	    "\"latest_errors\":[{\"error\":{\"class\":\"E\",\"message\":"
	    "\"boom\",\"stacktrace\":[],\"cause\":null},\"uuid\":\"u-11\","
	    "\"timestamp\":1764057611,\"severity\":\"error\","
	    "\"http_context\":null},"));
	ck_assert_ptr_nonnull(strstr(resp.body.p, "\"u-00\""));
	ck_assert_ptr_nonnull(strstr(resp.body.p, "\"u-01\""));
	ck_assert(resp.body.p[resp.body.len - 1] == '\n');

	ck_assert_int_eq(get("/services/api/errors/?status=resolved"), 200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 1);
	ck_assert_ptr_nonnull(strstr(resp.body.p,
	    "\"status\":\"resolved\""));
	ck_assert_int_eq(get("/services/api/errors/?status=all"), 200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 6);
	ck_assert_int_eq(get("/services/api/errors/?status=ignored"), 200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 1);
	ck_assert_int_eq(get("/services/api/errors/?status=all&severity=INFO"),
	    200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 2);
	ck_assert_int_eq(get("/services/api/errors/?limit=2&x=y&&z"), 200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 2);

	ck_assert_int_eq(get("/services/web/errors/"), 200);
	ck_assert_str_eq(resp.body.p, "[]\n");
}
END_TEST

START_TEST(test_errors_bad)
{
	static const char *const bad[] = {
		"?limit=0", "?limit=x", "?limit=-1", "?limit=1x",
		"?limit=", "?limit=99999999999999999999999", "?status=bogus",
		"?severity=fatal", "?sev%zzerity=info", "?status=%00",
	};
	char *t;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = xasprintf("/services/api/errors/%s", bad[i]);
		ck_assert_msg(get(t) == 400, "%s: %d", t, resp.status);
		ck_assert_str_eq(resp.content_type,
		    "text/plain; charset=utf-8");
		free(t);
	}
	ck_assert_int_eq(get("/services/nope/errors/"), 404);
	ck_assert_str_eq(resp.content_type, "text/plain; charset=utf-8");
	ck_assert_str_eq(resp.body.p, "service not found\n");
	ck_assert_int_eq(get("/services/api/errors"), 404);
	ck_assert_int_eq(get("/services/api/oops/"), 404);
	ck_assert_int_eq(get("/services//errors/"), 404);
	ck_assert_int_eq(get("/services/a%zz/errors/"), 400);
	ck_assert_int_eq(get("/services/a%00/errors/"), 400);
	ck_assert_int_eq(req("DELETE", "/services/api/errors/", NULL, 1), 405);
}
END_TEST

START_TEST(test_delete_awkward)
{
	char *p = key_path("api", AWKWARD);

	ck_assert_int_eq(req("OPTIONS", p, NULL, 1), 204);
	ck_assert_str_eq(api_resp_get(&resp, "Allow"),
	    "GET, HEAD, POST, DELETE, OPTIONS");
	ck_assert_ptr_null(api_resp_get(&resp,
	    "Access-Control-Allow-Origin"));
	ck_assert_int_eq(get("/services/api/errors/"), 200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 4);
	ck_assert_int_eq(req("PUT", p, NULL, 1), 405);
	ck_assert_str_eq(api_resp_get(&resp, "Allow"),
	    "GET, HEAD, POST, DELETE, OPTIONS");

	ck_assert_int_eq(req("DELETE", p, NULL, 1), 204);
	ck_assert_ptr_null(resp.content_type);
	ck_assert_uint_eq(resp.body.len, 0);
	ck_assert_int_eq(get("/services/api/errors/"), 200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 3);
	ck_assert_ptr_null(strstr(resp.body.p, "GET /a/b"));
	free(p);

	/* Unescaped slashes are part of the key too, up to the last one. */
	ck_assert_int_eq(req("DELETE", "/services/api/errors/slash//", NULL,
	    1), 204);
	ck_assert_int_eq(get("/services/api/errors/"), 200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 2);

	/* The original's TestResolveErrorsReturnsSuccess: 204. */
	ck_assert_int_eq(req("DELETE", "/services/api/errors/nope/", NULL,
	    1), 204);
	ck_assert_int_eq(req("DELETE", "/services/nope/errors/k1/", NULL, 1),
	    404);
	ck_assert_int_eq(req("DELETE", "/services/api/errors/k1%00/", NULL,
	    1), 400);
	ck_assert_int_eq(req("DELETE", "/services/api/errors/k1%2/", NULL,
	    1), 400);
	ck_assert_int_eq(req("DELETE", "/services/api/errors/k1", NULL, 1),
	    404);
	/* '+' is a plus, so this key does not exist (POST says so). */
	ck_assert_int_eq(req("POST",
	    "/services/api/errors/k+1/?action=resolve", NULL, 1), 404);
}
END_TEST

START_TEST(test_write_access)
{
	ck_assert_int_eq(req("DELETE", "/services/api/errors/k1/", NULL, 0),
	    403);
	conf.read_only = 1;
	ck_assert_int_eq(req("DELETE", "/services/api/errors/k1/", NULL, 1),
	    403);
	ck_assert_int_eq(req("OPTIONS", "/services/api/errors/k1/", NULL, 1),
	    204);
	conf.read_only = 0;
	conf.token = "s3cret";
	ck_assert_int_eq(req("DELETE", "/services/api/errors/k1/", NULL, 1),
	    401);
	ck_assert_str_eq(api_resp_get(&resp, "WWW-Authenticate"), "Bearer");
	ck_assert_int_eq(req("DELETE", "/services/api/errors/k1/",
	    "Bearer s3cre", 1), 401);
	ck_assert_int_eq(req("DELETE", "/services/api/errors/k1/",
	    "Bearer s3cretX", 1), 401);
	ck_assert_int_eq(req("DELETE", "/services/api/errors/k1/",
	    "Basic s3cret", 1), 401);
	ck_assert_int_eq(get("/services/api/errors/"), 200);
	ck_assert_ptr_nonnull(strstr(resp.body.p, "\"k1\""));
	/* With a token, any client holding it may write. */
	ck_assert_int_eq(req("DELETE", "/services/api/errors/k1/",
	    "Bearer s3cret", 0), 204);
	ck_assert_int_eq(get("/services/api/errors/"), 200);
	ck_assert_ptr_null(strstr(resp.body.p, "\"k1\""));
}
END_TEST

START_TEST(test_cors)
{
	conf.cors_origin = "https://ui.example";
	ck_assert_int_eq(req("OPTIONS", "/services/api/errors/k1/", NULL, 0),
	    204);
	ck_assert_str_eq(api_resp_get(&resp, "Access-Control-Allow-Origin"),
	    "https://ui.example");
	ck_assert_ptr_nonnull(api_resp_get(&resp,
	    "Access-Control-Allow-Methods"));
	ck_assert_int_eq(get("/services/"), 200);
	ck_assert_str_eq(api_resp_get(&resp, "Access-Control-Allow-Origin"),
	    "https://ui.example");
	ck_assert_int_eq(get("/services/api/errors/"), 200);
	ck_assert_ptr_nonnull(strstr(resp.body.p, "\"k1\""));
}
END_TEST

START_TEST(test_targets_health)
{
	ck_assert_int_eq(get("/targets/"), 200);
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert_str_eq(resp.body.p,
	    "{\"api\":[{\"endpoint\":\"10.0.0.1:7777/errors\",\"url\":"
	    "\"http://10.0.0.1:7777/errors\",\"up\":null,\"last_scrape\":"
	    "null,\"duration_ms\":0,\"last_error\":null},"
	    "{\"endpoint\":\"10.0.0.2:7777/errors\",\"url\":"
	    "\"http://10.0.0.2:7777/errors\",\"up\":null,\"last_scrape\":"
	    "null,\"duration_ms\":0,\"last_error\":null}],"
	    "\"web\":[{\"endpoint\":\"10.0.0.3:8080/debug/errors\",\"url\":"
	    "\"http://10.0.0.3:8080/debug/errors\",\"up\":null,"
	    "\"last_scrape\":null,\"duration_ms\":0,\"last_error\":null}]}\n");
	ck_assert_int_eq(get("/-/health"), 200);
	ck_assert_str_eq(resp.body.p, "OK");
	ck_assert_str_eq(resp.content_type, "text/plain; charset=utf-8");
	ck_assert_int_eq(req("DELETE", "/-/health", NULL, 1), 405);
}
END_TEST

START_TEST(test_no_db)
{
	struct api_req rq = { "GET", "/-/health", NULL, 1 };

	api_resp_release(&resp);
	api_resp_init(&resp);
	api_handle(&conf, NULL, &rq, &resp);
	ck_assert_int_eq(resp.status, 503);
	api_resp_release(&resp);
	api_resp_init(&resp);
	rq.target = "/app.js";
	api_handle(&conf, NULL, &rq, &resp);
	ck_assert_int_eq(resp.status, 200);
}
END_TEST

/* Counts, instances and round statistics for the detail and /metrics. */
static int64_t	now_min, now_hour;

static void
fill_counts(void)
{
	struct db_count_row counts[] = {
		{ "api", "uuid-1", "10.0.0.1:7777", "k1", 7, 0 },
		{ "api", "uuid-2", "10.0.0.2:7777", "k1", 5, 0 },
		{ "api", "uuid-2", "10.0.0.2:7777", HOSTILE, 2, 0 },
	};
	char err[256];
	struct db_health h;
	int64_t delta[3];
	size_t i;
	int prev;

	now_min = time_now() / 60000 * 60000;
	now_hour = now_min / 3600000 * 3600000;
	must(store_begin(db, err, sizeof(err)), err);
	put_error("api", HOSTILE, 2, SEV_INFO, T0, T0 + 100, "unresolved");
	for (i = 0; i < 3; i++)
		counts[i].stored = now_min;
	must(store_counts(db, counts, 3, delta, err, sizeof(err)), err);
	must(store_minute_add(db, "api", "k1", now_min, 5, err,
	    sizeof(err)), err);
	must(store_minute_add(db, "api", "warn1", now_min, 3, err,
	    sizeof(err)), err);
	must(store_hour_add(db, "api", "k1", now_hour, 12, err,
	    sizeof(err)), err);
	memset(&h, 0, sizeof(h));
	h.service = "api";
	h.address = "10.0.0.1:7777";
	h.url = "http://10.0.0.1:7777/errors";
	h.endpoint = "/errors";
	h.at = T0;
	h.duration_ms = 2.5;
	h.up = 0;
	h.error = "connect: connection refused";
	must(store_health(db, &h, 1, &prev, err, sizeof(err)), err);
	must(store_round_put(db, "api", T0, 1500, 2, 1, err, sizeof(err)),
	    err);
	must(store_commit(db, err, sizeof(err)), err);
}

START_TEST(test_search_sort)
{
	const char *b;

	ck_assert_int_eq(get("/services/api/errors/?q=BOOM"), 200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 2);
	ck_assert_ptr_nonnull(strstr(resp.body.p, "\"k1\""));
	/* The message is matched decoded: "<b>" is stored as \u003cb\u003e. */
	ck_assert_int_eq(get("/services/api/errors/?q=%3Cb%3E"), 200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 1);
	ck_assert_ptr_nonnull(strstr(resp.body.p, "\"warn1\""));
	ck_assert_int_eq(get("/services/api/errors/?q=SLASH%2F"), 200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 1);
	ck_assert_int_eq(get("/services/api/errors/?q=nothing+like+it"), 200);
	ck_assert_str_eq(resp.body.p, "[]\n");
	ck_assert_int_eq(get("/services/api/errors/?q=%C3%A9"), 200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 1);

	ck_assert_int_eq(get("/services/api/errors/?sort=count"), 200);
	b = resp.body.p;
	ck_assert_ptr_eq(strstr(b, "\"k1\""), b + 20);
	ck_assert(strstr(b, "\"warn1\"") < strstr(b, "GET /a/b"));
	ck_assert(strstr(b, "GET /a/b") < strstr(b, "\"slash/\""));
	ck_assert_int_eq(get("/services/api/errors/?sort=first&limit=1"),
	    200);
	ck_assert_ptr_nonnull(strstr(resp.body.p, "[{\"aggregation_key\":"
	    "\"warn1\""));
	ck_assert_int_eq(get("/services/api/errors/?sort=latest&limit=1"),
	    200);
	ck_assert_ptr_nonnull(strstr(resp.body.p, "[{\"aggregation_key\":"
	    "\"k1\""));
	ck_assert_int_eq(get("/services/api/errors/?sort=bogus"), 400);
	ck_assert_str_eq(resp.body.p,
	    "bad sort: want latest, count or first\n");
}
END_TEST

START_TEST(test_detail)
{
	char *p = key_path("api", "k1"), *want;

	fill_counts();
	ck_assert_int_eq(get(p), 200);
	ck_assert_str_eq(resp.content_type, "application/json");
	/* Every stored occurrence (12), not only the list's 10. */
	ck_assert_int_eq(count(resp.body.p, "\"uuid\":\"u-"), 12);
	ck_assert_ptr_nonnull(strstr(resp.body.p,
	    "{\"aggregation_key\":\"k1\",\"total_count\":12,"));
	ck_assert_ptr_nonnull(strstr(resp.body.p,
	    "\"status\":\"unresolved\",\"regressed\":false,"
	    "\"regressed_at\":null,\"instances\":["
	    "{\"target\":\"10.0.0.1:7777\",\"count\":7,\"last_raw\":7},"
	    "{\"target\":\"10.0.0.2:7777\",\"count\":5,\"last_raw\":5}],"
	    "\"counts\":{\"day\":[["));
	want = xasprintf("[%lld,5]],\"fortnight\":[[",
	    (long long)(now_min / 1000));
	ck_assert_ptr_nonnull(strstr(resp.body.p, want));
	free(want);
	want = xasprintf("[%lld,12]]}}\n", (long long)(now_hour / 1000));
	ck_assert_ptr_nonnull(strstr(resp.body.p, want));
	free(want);
	ck_assert_int_eq(count(resp.body.p, "],["), 1439 + 335);
	free(p);

	ck_assert_int_eq(get("/services/api/errors/res1/"), 200);
	ck_assert_ptr_nonnull(strstr(resp.body.p, "\"status\":\"resolved\""));
	ck_assert_int_eq(get("/services/api/errors/nope/"), 404);
	ck_assert_str_eq(resp.body.p, "error not found\n");
	ck_assert_int_eq(get("/services/nope/errors/k1/"), 404);
	ck_assert_str_eq(resp.body.p, "service not found\n");
	ck_assert_int_eq(req("HEAD", "/services/api/errors/k1/", NULL, 0),
	    200);

	ck_assert_int_eq(get("/services/api/counts/"), 200);
	ck_assert_ptr_eq(strstr(resp.body.p, "{\"day\":[["), resp.body.p);
	want = xasprintf("[%lld,8]],\"fortnight\":[[",
	    (long long)(now_min / 1000));
	ck_assert_ptr_nonnull(strstr(resp.body.p, want));
	free(want);
	ck_assert_int_eq(get("/services/nope/counts/"), 404);
	ck_assert_int_eq(req("DELETE", "/services/api/counts/", NULL, 1), 405);
	ck_assert_int_eq(get("/services/api/counts/x/"), 404);
}
END_TEST

START_TEST(test_post_actions)
{
	ck_assert_int_eq(req("POST", "/services/api/errors/k1/?action=ignore",
	    NULL, 1), 204);
	ck_assert_int_eq(get("/services/api/errors/"), 200);
	ck_assert_ptr_null(strstr(resp.body.p, "\"k1\""));
	ck_assert_int_eq(get("/services/api/errors/?status=ignored"), 200);
	ck_assert_int_eq(count(resp.body.p, "\"aggregation_key\""), 2);
	ck_assert_ptr_nonnull(strstr(resp.body.p, "\"k1\""));
	ck_assert_int_eq(req("POST", "/services/api/errors/k1/?action=reopen",
	    NULL, 1), 204);
	ck_assert_int_eq(get("/services/api/errors/"), 200);
	ck_assert_ptr_nonnull(strstr(resp.body.p, "\"k1\""));
	ck_assert_int_eq(req("POST",
	    "/services/api/errors/k1/?x=1&action=resolve", NULL, 1), 204);
	ck_assert_int_eq(get("/services/api/errors/?status=resolved"), 200);
	ck_assert_ptr_nonnull(strstr(resp.body.p, "\"k1\""));

	ck_assert_int_eq(req("POST", "/services/api/errors/k1/", NULL, 1),
	    400);
	ck_assert_str_eq(resp.body.p,
	    "bad action: want ?action=resolve, ignore or reopen\n");
	ck_assert_int_eq(req("POST", "/services/api/errors/k1/?action=x",
	    NULL, 1), 400);
	ck_assert_int_eq(req("POST", "/services/api/errors/nope/"
	    "?action=ignore", NULL, 1), 404);
	ck_assert_int_eq(req("POST", "/services/nope/errors/k1/"
	    "?action=ignore", NULL, 1), 404);
	/* The same write rules as DELETE. */
	ck_assert_int_eq(req("POST", "/services/api/errors/k1/?action=reopen",
	    NULL, 0), 403);
	conf.token = "t0k";
	ck_assert_int_eq(req("POST", "/services/api/errors/k1/?action=reopen",
	    NULL, 1), 401);
	ck_assert_int_eq(req("POST", "/services/api/errors/k1/?action=reopen",
	    "Bearer t0k", 0), 204);
	conf.read_only = 1;
	ck_assert_int_eq(req("POST", "/services/api/errors/k1/?action=reopen",
	    "Bearer t0k", 1), 403);
	ck_assert_int_eq(req("POST", "/services/api/errors/", NULL, 1), 405);
}
END_TEST

START_TEST(test_metrics)
{
	const char *b;

	fill_counts();
	ck_assert_int_eq(get("/metrics"), 200);
	ck_assert_str_eq(resp.content_type,
	    "text/plain; version=0.0.4; charset=utf-8");
	b = resp.body.p;
	ck_assert_ptr_nonnull(strstr(b,
	    "# HELP periskop_error_occurrences Number of occurrences per "
	    "service, error type and severity.\n"
	    "# TYPE periskop_error_occurrences untyped\n"
	    "periskop_error_occurrences{service_name=\"api\","
	    "severity=\"error\",target=\"10.0.0.1:7777\","
	    "aggregation_key=\"k1\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(b,
	    "periskop_error_occurrences{service_name=\"api\","
	    "severity=\"info\",target=\"10.0.0.2:7777\","
	    "aggregation_key=\"q\\\"b\\\\s\\nn\xef\xbf\xbd\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b,
	    "periskop_scrapes_total{service_name=\"api\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b,
	    "periskop_scrape_failures_total{service_name=\"api\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b,
	    "periskop_scrape_duration_seconds{service_name=\"api\"} "
	    "1.500000\n"));
	ck_assert_ptr_nonnull(strstr(b, "periskop_database_up 1\n"));
	ck_assert_ptr_nonnull(strstr(b, "periskop_build_info{version=\""
	    PERISKOP_VERSION "\"} 1\n"));
	ck_assert_ptr_null(strstr(b, "application_errors_total{"));

	conf.metrics_no_target = 1;
	ck_assert_int_eq(get("/metrics"), 200);
	ck_assert_ptr_nonnull(strstr(resp.body.p,
	    "periskop_error_occurrences{service_name=\"api\","
	    "severity=\"error\",aggregation_key=\"k1\"} 12\n"));
	ck_assert_ptr_null(strstr(resp.body.p, "target=\""));
	ck_assert_int_eq(req("POST", "/metrics", NULL, 1), 405);
}
END_TEST

START_TEST(test_self_errors)
{
	struct api_req rq = { "GET", "/services/", NULL, 1 };
	struct payload *pl;
	char err[256];

	conf.self = periskop_collector_new();
	ck_assert_int_eq(get("/errors"), 200);
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert_ptr_nonnull(strstr(resp.body.p, "\"aggregated_errors\":[]"));
	api_resp_release(&resp);
	api_resp_init(&resp);
	api_handle(&conf, NULL, &rq, &resp);
	ck_assert_int_eq(resp.status, 503);
	rq.target = "/services/x%2Fy/errors/?limit=1";
	api_resp_release(&resp);
	api_resp_init(&resp);
	api_handle(&conf, NULL, &rq, &resp);
	ck_assert_int_eq(resp.status, 503);

	ck_assert_int_eq(get("/errors"), 200);
	pl = payload_parse(resp.body.p, resp.body.len, err, sizeof(err));
	ck_assert_msg(pl != NULL, "%s", err);
	ck_assert_str_eq(pl->target_uuid, periskop_target_uuid());
	ck_assert_uint_eq(pl->naggs, 2);
	ck_assert_str_eq(pl->aggs[0].key, "http_503@GET /services/");
	ck_assert_int_eq(pl->aggs[0].total_count, 1);
	ck_assert_str_eq(pl->aggs[0].latest[0].error.class,
	    "periskop.DatabaseError");
	ck_assert_str_eq(pl->aggs[0].latest[0].error.message,
	    "database unavailable");
	ck_assert_str_eq(pl->aggs[1].key,
	    "http_503@GET /services/{service}/errors/");
	ck_assert_str_eq(pl->aggs[1].latest[0].http->url,
	    "/services/x%2Fy/errors/?limit=1");
	payload_free(pl);
	ck_assert_int_eq(get("/metrics"), 200);
	ck_assert_ptr_nonnull(strstr(resp.body.p,
	    "periskop_application_errors_total{type=\"http_503@GET "
	    "/services/\"} 1\n"));
	api_resp_release(&resp);
	api_resp_init(&resp);
	rq.target = "/metrics";
	api_handle(&conf, NULL, &rq, &resp);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_ptr_nonnull(strstr(resp.body.p, "periskop_database_up 0\n"));
	ck_assert_ptr_null(strstr(resp.body.p, "periskop_scrapes_total"));
	periskop_collector_free(conf.self);
	conf.self = NULL;
}
END_TEST

/* One request through the cache. */
static int
creq(struct api_cache *c, struct db *d, const char *method,
    const char *target)
{
	struct api_req rq = { method, target, NULL, 1 };

	api_resp_release(&resp);
	api_resp_init(&resp);
	api_handle_cached(&conf, d, c, &rq, &resp);
	return resp.status;
}

START_TEST(test_cache)
{
	struct api_cache *c = api_cache_new();
	struct api_blob *b1;
	struct db *other;
	char err[256], *plain;
	const char *body;
	size_t len;

	ck_assert_int_eq(get("/services/api/errors/?limit=3"), 200);
	plain = xstrdup(resp.body.p);
	ck_assert_int_eq(creq(c, db, "GET", "/services/api/errors/?limit=3"),
	    200);
	ck_assert_ptr_nonnull(resp.blob);
	body = api_resp_body(&resp, &len);
	ck_assert_uint_eq(len, strlen(plain));
	ck_assert(memcmp(body, plain, len) == 0);
	b1 = api_blob_ref(resp.blob);
	ck_assert_int_eq(creq(c, db, "GET", "/services/api/errors/?limit=3"),
	    200);
	ck_assert_ptr_eq(resp.blob, b1);
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert_int_eq(creq(c, db, "GET", "/services/nope/errors/"), 404);
	ck_assert_ptr_null(resp.blob);

	/* This connection's write and another's both invalidate. */
	ck_assert_int_eq(creq(c, db, "DELETE", "/services/api/errors/k1/"),
	    204);
	ck_assert_int_eq(creq(c, db, "GET", "/services/api/errors/?limit=3"),
	    200);
	ck_assert_ptr_ne(resp.blob, b1);
	ck_assert_ptr_null(strstr(api_resp_body(&resp, &len), "\"k1\""));
	api_blob_unref(b1);
	b1 = api_blob_ref(resp.blob);
	other = db_open(dbpath, NULL, err, sizeof(err));
	ck_assert_msg(other != NULL, "%s", err);
	ck_assert_int_eq(db_set_status(other, "api", "warn1", "ignored", err,
	    sizeof(err)), 1);
	db_close(other);
	ck_assert_int_eq(creq(c, db, "GET", "/services/api/errors/?limit=3"),
	    200);
	ck_assert_ptr_ne(resp.blob, b1);
	ck_assert_ptr_null(strstr(api_resp_body(&resp, &len), "\"warn1\""));
	api_blob_unref(b1);
	free(plain);
	api_resp_release(&resp);
	api_resp_init(&resp);
	api_cache_free(c);
}
END_TEST

START_TEST(test_static)
{
	static const char *const missing[] = {
		"/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt",
		"/sub/../index.html", "/sub/%2e%2e/index.html", "/.hidden",
		"/%2ehidden", "/link.txt", "/missing", "/sub", "/sub/",
		"//etc/passwd", "/sub//x.svg", "/..", "/%5c..%5csecret.txt",
	};
	size_t i;

	ck_assert_int_eq(get("/"), 200);
	ck_assert_str_eq(resp.content_type, "text/html; charset=utf-8");
	ck_assert_str_eq(resp.body.p, "<!doctype html>\n");
	ck_assert_int_eq(get("/index.html?x=1"), 200);
	ck_assert_int_eq(get("/app.js"), 200);
	ck_assert_str_eq(resp.content_type, "text/javascript; charset=utf-8");
	ck_assert_str_eq(resp.body.p, "let x;\n");
	ck_assert_int_eq(get("/style.css"), 200);
	ck_assert_str_eq(resp.content_type, "text/css; charset=utf-8");
	ck_assert_int_eq(get("/sub/x.svg"), 200);
	ck_assert_str_eq(resp.content_type, "image/svg+xml");
	ck_assert_int_eq(get("/s%75b/x.svg"), 200);
	for (i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
		ck_assert_msg(get(missing[i]) == 404, "%s: %d", missing[i],
		    resp.status);
	ck_assert_str_eq(resp.body.p, "404 page not found\n");
	ck_assert_int_eq(get("/a%zz"), 400);
	ck_assert_int_eq(req("DELETE", "/index.html", NULL, 1), 405);
	ck_assert_str_eq(api_resp_get(&resp, "Allow"), "GET, HEAD");
	ck_assert_int_eq(get("*"), 400);
	ck_assert_int_eq(get("http://x/"), 400);

	conf.ui_dir = NULL;
	ck_assert_int_eq(get("/"), 404);
	ck_assert_ptr_nonnull(strstr(resp.body.p, "no UI folder"));
	conf.ui_dir = "/nonexistent/ui";
	ck_assert_int_eq(get("/"), 404);
}
END_TEST

START_TEST(test_security_headers)
{
	static const char *const targets[] = {
		"/", "/services/", "/services/nope/errors/", "/missing",
		"/services/a%zz/errors/", "/-/health",
	};
	size_t i;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		get(targets[i]);
		ck_assert_str_eq(api_resp_get(&resp,
		    "X-Content-Type-Options"), "nosniff");
		ck_assert_str_eq(api_resp_get(&resp, "Referrer-Policy"),
		    "no-referrer");
		ck_assert_str_eq(api_resp_get(&resp,
		    "Content-Security-Policy"), "default-src 'self'; "
		    "img-src 'self' data:; style-src 'self'; "
		    "script-src 'self'; object-src 'none'; "
		    "frame-ancestors 'none'; base-uri 'none'");
	}
}
END_TEST

START_TEST(test_mime)
{
	ck_assert_str_eq(api_mime_type("a/b.HTML"),
	    "text/html; charset=utf-8");
	ck_assert_str_eq(api_mime_type("x.woff2"), "font/woff2");
	ck_assert_str_eq(api_mime_type("x.json"), "application/json");
	ck_assert_str_eq(api_mime_type("a.b/c"), "application/octet-stream");
	ck_assert_str_eq(api_mime_type("README"), "application/octet-stream");
}
END_TEST

static Suite *
api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_services);
	tcase_add_test(tc, test_errors_exact);
	tcase_add_test(tc, test_errors_list);
	tcase_add_test(tc, test_errors_bad);
	tcase_add_test(tc, test_delete_awkward);
	tcase_add_test(tc, test_write_access);
	tcase_add_test(tc, test_cors);
	tcase_add_test(tc, test_targets_health);
	tcase_add_test(tc, test_no_db);
	tcase_add_test(tc, test_search_sort);
	tcase_add_test(tc, test_detail);
	tcase_add_test(tc, test_post_actions);
	tcase_add_test(tc, test_metrics);
	tcase_add_test(tc, test_self_errors);
	tcase_add_test(tc, test_cache);
	tcase_add_test(tc, test_static);
	tcase_add_test(tc, test_security_headers);
	tcase_add_test(tc, test_mime);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(api_suite());
	int nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
