/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the C client library: its JSON read back by payload_parse. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "periskop.h"
#include "timefmt.h"
#include "xalloc.h"

#define THREADS	8
#define ROUNDS	2000

static struct payload *
exported(struct periskop_collector *c)
{
	struct payload *p;
	char err[256], *s;
	size_t len;

	s = periskop_export(c, &len);
	ck_assert_uint_eq(strlen(s), len);
	p = payload_parse(s, len, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s: %s", err, s);
	free(s);
	return p;
}

static int
is_uuid4(const char *s)
{
	size_t i;

	if (strlen(s) != 36 || s[14] != '4' || strchr("89ab", s[19]) == NULL)
		return 0;
	for (i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' :
		    strchr("0123456789abcdef", s[i]) == NULL)
			return 0;
	return 1;
}

START_TEST(test_empty)
{
	struct periskop_collector *c = periskop_collector_new();
	char *s = periskop_export(c, NULL), *want;

	want = xasprintf("{\"target_uuid\":\"%s\",\"aggregated_errors\":[]}",
	    periskop_target_uuid());
	ck_assert_str_eq(s, want);
	ck_assert(is_uuid4(periskop_target_uuid()));
	ck_assert_ptr_eq(periskop_target_uuid(), periskop_target_uuid());
	free(s);
	free(want);
	periskop_collector_free(c);
	periskop_collector_free(NULL);
}
END_TEST

START_TEST(test_keep_ten)
{
	struct periskop_collector *c = periskop_collector_new();
	struct periskop_exception e;
	struct payload *p;
	char msg[32];
	int64_t before = time_now();
	size_t i;

	memset(&e, 0, sizeof(e));
	e.class = "io.Timeout";
	for (i = 0; i < 12; i++) {
		snprintf(msg, sizeof(msg), "m%zu", i);
		e.message = msg;
		ck_assert_int_eq(periskop_report(c, "k", &e, i == 11 ?
		    PERISKOP_SEV_WARNING : PERISKOP_SEV_ERROR, NULL), 0);
	}
	ck_assert_int_eq(periskop_count(c, "k"), 12);
	ck_assert_int_eq(periskop_count(c, "nope"), 0);
	p = exported(c);
	ck_assert_uint_eq(p->naggs, 1);
	ck_assert_str_eq(p->aggs[0].key, "k");
	ck_assert_int_eq(p->aggs[0].total_count, 12);
	ck_assert_int_eq(p->aggs[0].severity, SEV_WARNING);
	ck_assert(p->aggs[0].created_at >= before);
	ck_assert(p->aggs[0].created_at <= time_now());
	ck_assert_uint_eq(p->aggs[0].nlatest, PERISKOP_KEEP);
	/* Newest first: m11 down to m2. */
	ck_assert_str_eq(p->aggs[0].latest[0].error.message, "m11");
	ck_assert_int_eq(p->aggs[0].latest[0].severity, SEV_WARNING);
	ck_assert_str_eq(p->aggs[0].latest[9].error.message, "m2");
	ck_assert_int_eq(p->aggs[0].latest[9].severity, SEV_ERROR);
	ck_assert(is_uuid4(p->aggs[0].latest[0].uuid));
	ck_assert_str_ne(p->aggs[0].latest[0].uuid, p->aggs[0].latest[1].uuid);
	ck_assert_ptr_null(p->aggs[0].latest[0].http);
	ck_assert_str_eq(p->target_uuid, periskop_target_uuid());
	payload_free(p);
	periskop_collector_free(c);
}
END_TEST

START_TEST(test_full_error)
{
	static const char *const frames[] = { "main.c:10 main", "x.c:2 f" };
	static const char *const frames2[] = { "db.c:99 query" };
	static const struct periskop_header hdrs[] = {
		{ "X-B", "2" }, { "Accept", "*/*" },
	};
	struct periskop_collector *c = periskop_collector_new();
	struct periskop_exception root, mid, top;
	struct periskop_http_context h;
	struct payload *p;
	struct error_info *ei;

	memset(&root, 0, sizeof(root));
	root.class = "net.Refused";
	root.message = "connect: \"refused\" <10.0.0.9>";
	mid.class = "db.Error";
	mid.message = NULL;
	mid.stacktrace = frames2;
	mid.nstacktrace = 1;
	mid.cause = &root;
	top.class = "app.Failure";
	top.message = "checkout failed \xc3\xa9";
	top.stacktrace = frames;
	top.nstacktrace = 2;
	top.cause = &mid;
	memset(&h, 0, sizeof(h));
	h.method = "POST";
	h.url = "http://shop/pay?x=1";
	h.headers = hdrs;
	h.nheaders = 2;
	h.body = "{\"a\":1}";
	ck_assert_int_eq(periskop_report(c, "checkout/pay failed", &top,
	    PERISKOP_SEV_INFO, &h), 0);
	p = exported(c);
	ck_assert_uint_eq(p->naggs, 1);
	ck_assert_str_eq(p->aggs[0].key, "checkout/pay failed");
	ck_assert_int_eq(p->aggs[0].severity, SEV_INFO);
	ei = &p->aggs[0].latest[0].error;
	ck_assert_str_eq(ei->class, "app.Failure");
	ck_assert_str_eq(ei->message, "checkout failed \xc3\xa9");
	ck_assert_uint_eq(ei->nstacktrace, 2);
	ck_assert_str_eq(ei->stacktrace[1], "x.c:2 f");
	ck_assert_ptr_nonnull(ei->cause);
	ck_assert_str_eq(ei->cause->class, "db.Error");
	ck_assert_str_eq(ei->cause->message, "");
	ck_assert_str_eq(ei->cause->stacktrace[0], "db.c:99 query");
	ck_assert_str_eq(ei->cause->cause->message,
	    "connect: \"refused\" <10.0.0.9>");
	ck_assert_ptr_null(ei->cause->cause->cause);
	ck_assert_ptr_nonnull(p->aggs[0].latest[0].http);
	ck_assert_str_eq(p->aggs[0].latest[0].http->method, "POST");
	ck_assert_str_eq(p->aggs[0].latest[0].http->url,
	    "http://shop/pay?x=1");
	ck_assert_uint_eq(p->aggs[0].latest[0].http->nheaders, 2);
	ck_assert_str_eq(p->aggs[0].latest[0].http->headers[0].name,
	    "Accept");
	ck_assert_str_eq(p->aggs[0].latest[0].http->body, "{\"a\":1}");
	payload_free(p);
	periskop_collector_free(c);
}
END_TEST

START_TEST(test_default_key_and_args)
{
	static const char *const f1[] = { "a.c:1" }, *const f2[] = { "b.c:1" };
	struct periskop_collector *c = periskop_collector_new();
	struct periskop_exception e;
	struct payload *p;

	memset(&e, 0, sizeof(e));
	e.class = "E";
	e.stacktrace = f1;
	e.nstacktrace = 1;
	ck_assert_int_eq(periskop_report(c, NULL, &e, PERISKOP_SEV_ERROR,
	    NULL), 0);
	ck_assert_int_eq(periskop_report(c, "", &e, PERISKOP_SEV_ERROR,
	    NULL), 0);
	e.stacktrace = f2;
	ck_assert_int_eq(periskop_report(c, NULL, &e, PERISKOP_SEV_ERROR,
	    NULL), 0);
	ck_assert_int_eq(periskop_report(NULL, "k", &e, PERISKOP_SEV_ERROR,
	    NULL), -1);
	ck_assert_int_eq(periskop_report(c, "k", NULL, PERISKOP_SEV_ERROR,
	    NULL), -1);
	ck_assert_int_eq(periskop_report(c, "k", &e,
	    (enum periskop_severity)7, NULL), -1);
	p = exported(c);
	ck_assert_uint_eq(p->naggs, 2);
	ck_assert_int_eq(p->aggs[0].total_count, 2);
	ck_assert_int_eq(p->aggs[1].total_count, 1);
	ck_assert_int_eq(strncmp(p->aggs[0].key, "E@", 2), 0);
	ck_assert_uint_eq(strlen(p->aggs[0].key), 10);
	ck_assert_str_ne(p->aggs[0].key, p->aggs[1].key);
	payload_free(p);
	periskop_collector_free(c);
}
END_TEST

static struct periskop_collector *shared;

static void *
reporter(void *arg)
{
	struct periskop_exception e;
	char key[16];
	int i;

	memset(&e, 0, sizeof(e));
	e.class = "T";
	for (i = 0; i < ROUNDS; i++) {
		snprintf(key, sizeof(key), "key-%d", i % 50);
		e.message = key;
		periskop_report(shared, key, &e, PERISKOP_SEV_ERROR, NULL);
		if (i % 500 == 0)
			free(periskop_export(shared, NULL));
	}
	return arg;
}

static int
sum_cb(const char *key, enum periskop_severity sev, int64_t total,
    void *arg)
{
	*(int64_t *)arg += total;
	return 0;
}

static int
stop_cb(const char *key, enum periskop_severity sev, int64_t total,
    void *arg)
{
	return 7;
}

START_TEST(test_threads)
{
	pthread_t t[THREADS];
	struct payload *p;
	int64_t sum = 0;
	size_t i;

	shared = periskop_collector_new();
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, reporter, NULL),
		    0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(periskop_foreach(shared, sum_cb, &sum), 0);
	ck_assert_int_eq(sum, THREADS * ROUNDS);
	ck_assert_int_eq(periskop_foreach(shared, stop_cb, NULL), 7);
	ck_assert_int_eq(periskop_count(shared, "key-49"),
	    THREADS * ROUNDS / 50);
	p = exported(shared);
	ck_assert_uint_eq(p->naggs, 50);
	for (i = 0; i < p->naggs; i++)
		ck_assert_uint_eq(p->aggs[i].nlatest, PERISKOP_KEEP);
	payload_free(p);
	periskop_collector_free(shared);
}
END_TEST

static Suite *
client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_keep_ten);
	tcase_add_test(tc, test_full_error);
	tcase_add_test(tc, test_default_key_and_args);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(client_suite());
	int nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
