/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for model: real client payloads, bad ones, and the normal form. */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "model.h"
#include "model_json.h"
#include "timefmt.h"
#include "xalloc.h"

/* make unit runs the tests from the top of the tree. */
#define FIXTURES	"t/fixtures/"

static char errbuf[512];

static struct payload *
parse(const char *s)
{
	errbuf[0] = '\0';
	return payload_parse(s, strlen(s), errbuf, sizeof(errbuf));
}

/* Asserts that s is rejected with exactly the message want. */
static void
reject(const char *s, const char *want)
{
	struct payload *p = parse(s);

	ck_assert_msg(p == NULL, "accepted: %s", s);
	ck_assert_str_eq(errbuf, want);
}

static char *
normal(const struct payload *p)
{
	struct buf b;

	buf_init(&b);
	payload_write_json(&b, p);
	return buf_detach(&b, NULL);
}

static char *
slurp(const char *name, size_t *len)
{
	char path[256];
	struct buf b;
	char tmp[8192];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), FIXTURES "%s", name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	buf_init(&b);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	return buf_detach(&b, len);
}

static struct payload *
fixture(const char *name)
{
	struct payload *p;
	size_t len;
	char *s;

	s = slurp(name, &len);
	errbuf[0] = '\0';
	p = payload_parse(s, len, errbuf, sizeof(errbuf));
	ck_assert_msg(p != NULL, "%s: %s", name, errbuf);
	free(s);
	return p;
}

/* Parse, write, parse, write: the two writes must be equal. */
static void
assert_fixed_point(const struct payload *p)
{
	struct payload *q;
	char *a, *b;

	a = normal(p);
	q = parse(a);
	ck_assert_msg(q != NULL, "own output rejected: %s", errbuf);
	b = normal(q);
	ck_assert_str_eq(a, b);
	payload_free(q);
	free(a);
	free(b);
}

static int64_t
ts(const char *s)
{
	int64_t ms;

	ck_assert_int_eq(time_parse(s, &ms), 0);
	return ms;
}

/* A payload of one aggregate with one occurrence around the given parts. */
#define OCC(extra) \
	"{\"aggregated_errors\":[{\"aggregation_key\":\"k\"," \
	"\"total_count\":1,\"latest_errors\":[{\"error\":{\"class\":\"C\"," \
	"\"message\":\"m\",\"stacktrace\":[],\"cause\":null},\"uuid\":\"u\"," \
	"\"timestamp\":\"2018-09-13T16:23:30.630Z\"" extra "}]}]}"
/* An occurrence at second t of 2018, with no error details. */
#define O(u, t) \
	"{\"error\":{},\"uuid\":\"" u "\",\"timestamp\":" \
	"\"2018-01-01T00:00:0" t "Z\"}"
#define AGG(fields) \
	"{\"aggregated_errors\":[{" fields "}]}"

START_TEST(test_severity)
{
	enum severity s = SEV_INFO;

	ck_assert_str_eq(severity_name(SEV_ERROR), "error");
	ck_assert_str_eq(severity_name(SEV_WARNING), "warning");
	ck_assert_str_eq(severity_name(SEV_INFO), "info");
	ck_assert_int_eq(severity_parse("error", &s), 0);
	ck_assert_int_eq(s, SEV_ERROR);
	ck_assert_int_eq(severity_parse("WARNING", &s), 0);
	ck_assert_int_eq(s, SEV_WARNING);
	ck_assert_int_eq(severity_parse("Info", &s), 0);
	ck_assert_int_eq(s, SEV_INFO);
	ck_assert_int_eq(severity_parse("fatal", &s), -1);
	ck_assert_int_eq(severity_parse("", &s), -1);
	ck_assert_int_eq(severity_parse(NULL, &s), -1);
	ck_assert_int_eq(s, SEV_INFO);
}
END_TEST

START_TEST(test_mocktarget)
{
	struct payload *p = fixture("mocktarget-errors.json");
	const struct aggregate *a;
	const struct occurrence *o;
	const struct http_context *h;
	struct buf b;

	ck_assert_str_eq(p->target_uuid,
	    "8589E8C9-86B6-4B50-B70E-8ABFA4B588A3");
	ck_assert_uint_eq(p->naggs, 5);
	a = &p->aggs[0];
	ck_assert_str_eq(a->key, "java.lang.Run/ timeException@123");
	ck_assert_int_eq(a->total_count, 260);
	ck_assert_int_eq(a->severity, SEV_ERROR);
	ck_assert_int_eq(a->created_at, ts("2020-10-08T12:46:25.595Z"));
	ck_assert_uint_eq(a->nlatest, 2);
	o = &a->latest[0];
	ck_assert_str_eq(o->uuid, "e81e56ff-7f65-4279-817f-dd607585b9e0");
	ck_assert_int_eq(o->timestamp, ts("2020-10-09T12:46:25.595Z"));
	ck_assert_int_eq(o->severity, SEV_ERROR);
	ck_assert_ptr_null(o->http);
	ck_assert_str_eq(o->error.class, "java.lang.RuntimeException");
	ck_assert_str_eq(o->error.message, "Nooooes!");
	ck_assert_uint_eq(o->error.nstacktrace, 0);
	ck_assert_ptr_nonnull(o->error.cause);
	ck_assert_str_eq(o->error.cause->class, "java.lang.CauseException");
	ck_assert_str_eq(o->error.cause->message, "I caused this");
	ck_assert_ptr_null(o->error.cause->cause);
	o = &a->latest[1];
	ck_assert_str_eq(o->uuid, "7C49DB3E-8D61-457B-BCD8-10E86D4E014E");
	ck_assert_ptr_null(o->error.cause);
	h = o->http;
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(h->method, "GET");
	ck_assert_str_eq(h->url, "http://badrequest.org/another-endpoint");
	ck_assert_uint_eq(h->nheaders, 2);
	ck_assert_str_eq(h->headers[0].name, "accept");
	ck_assert_str_eq(h->headers[0].value, "application/json");
	ck_assert_str_eq(h->headers[1].name, "host");
	ck_assert_str_eq(h->headers[1].value, "badrequest.org");
	ck_assert_ptr_null(h->body);

	a = &p->aggs[1];
	ck_assert_str_eq(a->key, "java.lang.Exception@456");
	ck_assert_int_eq(a->total_count, 440);
	ck_assert_int_eq(a->severity, SEV_WARNING);
	/* The occurrence says error, which wins over the aggregate's. */
	ck_assert_int_eq(a->latest[0].severity, SEV_ERROR);
	ck_assert_str_eq(a->latest[0].http->body,
	    "{\"params\":[{\"param1\":\"true\"},{\"param2\":5}]}");

	a = &p->aggs[2];
	ck_assert_str_eq(a->key, "java.lang.Exception@496");
	ck_assert_int_eq(a->created_at, TIME_NONE);

	a = &p->aggs[3];
	ck_assert_str_eq(a->key, "java.lang.Exception@789");
	ck_assert_int_eq(a->total_count, 11);
	ck_assert_uint_eq(a->latest[0].http->nheaders, 0);

	a = &p->aggs[4];
	ck_assert_str_eq(a->key, "info-message");
	ck_assert_int_eq(a->severity, SEV_INFO);
	buf_init(&b);
	aggregates_write_json(&b, a, 1);
	ck_assert_str_eq(b.p, "[{\"aggregation_key\":\"info-message\","
	    "\"total_count\":1,\"severity\":\"info\","
	    "\"created_at\":\"2019-09-15T11:46:25.333Z\",\"latest_errors\":["
	    "{\"error\":{\"class\":\"\",\"message\":\"Something not so bad\","
	    "\"stacktrace\":null,\"cause\":null},"
	    "\"uuid\":\"e81e56ff-7f65-4279-1234-dd6075777777\","
	    "\"timestamp\":\"2019-09-15T11:46:25.333Z\",\"severity\":\"info\","
	    "\"http_context\":{\"request_method\":\"GET\","
	    "\"request_url\":\"http://notsobadrequest.org/third-endpoint\","
	    "\"request_headers\":null,\"request_body\":\"\"}}]}]");
	buf_reset(&b);
	aggregates_write_json(&b, &p->aggs[2], 1);
	/* No created_at to write. */
	ck_assert_ptr_null(strstr(b.p, "created_at"));
	buf_reset(&b);
	aggregates_write_json(&b, p->aggs, 0);
	ck_assert_str_eq(b.p, "[]");
	buf_release(&b);
	assert_fixed_point(p);
	payload_free(p);
}
END_TEST

START_TEST(test_mocktarget_normal_form)
{
	static const char head[] = "{\"target_uuid\":"
	    "\"8589E8C9-86B6-4B50-B70E-8ABFA4B588A3\",\"aggregated_errors\":["
	    "{\"aggregation_key\":\"java.lang.Run/ timeException@123\","
	    "\"total_count\":260,\"severity\":\"error\","
	    "\"created_at\":\"2020-10-08T12:46:25.595Z\",\"latest_errors\":["
	    "{\"error\":{\"class\":\"java.lang.RuntimeException\","
	    "\"message\":\"Nooooes!\",\"stacktrace\":[],\"cause\":"
	    "{\"class\":\"java.lang.CauseException\",\"message\":"
	    "\"I caused this\",\"stacktrace\":[],\"cause\":null}},"
	    "\"uuid\":\"e81e56ff-7f65-4279-817f-dd607585b9e0\","
	    "\"timestamp\":\"2020-10-09T12:46:25.595Z\","
	    "\"severity\":\"error\"},{\"error\":";
	struct payload *p = fixture("mocktarget-errors.json");
	char *s = normal(p);

	/* The head of the normal form, byte for byte. */
	ck_assert_int_eq(strncmp(s, head, strlen(head)), 0);
	ck_assert_ptr_nonnull(strstr(s, "\"request_headers\":{\"accept\":"
	    "\"application/json\",\"host\":\"badrequest.org\"},"
	    "\"request_body\":\"\"}}]}"));
	free(s);
	payload_free(p);
}
END_TEST

START_TEST(test_samples)
{
	struct payload *p1, *p2, *m;
	char *s1, *s2, *both;
	json_t *j1, *j2;

	p1 = fixture("sample-response1.json");
	p2 = fixture("sample-response2.json");
	ck_assert_ptr_null(p1->target_uuid);
	ck_assert_uint_eq(p1->naggs, 1);
	/* Newest first, whatever order the client used. */
	ck_assert_str_eq(p1->aggs[0].latest[0].uuid, "uuid2");
	ck_assert_str_eq(p1->aggs[0].latest[1].uuid, "uuid1");
	ck_assert_str_eq(p2->aggs[0].latest[0].uuid, "uuid4");
	ck_assert_str_eq(p2->aggs[0].latest[1].uuid, "uuid3");
	ck_assert_str_eq(p1->aggs[0].latest[0].http->headers[0].name, "Key");

	/* The two instances' aggregates in one payload merge. */
	s1 = normal(p1);
	s2 = normal(p2);
	j1 = json_loads(s1, 0, NULL);
	j2 = json_loads(s2, 0, NULL);
	ck_assert_ptr_nonnull(j1);
	ck_assert_ptr_nonnull(j2);
	json_array_extend(json_object_get(j1, "aggregated_errors"),
	    json_object_get(j2, "aggregated_errors"));
	both = json_dumps(j1, 0);
	m = parse(both);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->naggs, 1);
	ck_assert_int_eq(m->aggs[0].total_count, 4);
	ck_assert_int_eq(m->aggs[0].created_at,
	    ts("2018-09-13T15:23:30.630Z"));
	ck_assert_uint_eq(m->aggs[0].nlatest, 4);
	ck_assert_str_eq(m->aggs[0].latest[0].uuid, "uuid4");
	ck_assert_str_eq(m->aggs[0].latest[1].uuid, "uuid2");
	ck_assert_str_eq(m->aggs[0].latest[2].uuid, "uuid3");
	ck_assert_str_eq(m->aggs[0].latest[3].uuid, "uuid1");
	assert_fixed_point(p1);
	assert_fixed_point(p2);
	assert_fixed_point(m);
	json_decref(j1);
	json_decref(j2);
	free(both);
	free(s1);
	free(s2);
	payload_free(p1);
	payload_free(p2);
	payload_free(m);
}
END_TEST

START_TEST(test_timestamps)
{
	static const char *forms[] = {
		"2018-09-13T16:23:30.630Z",
		"2018-09-13T16:23:30.630123456Z",
		"2018-09-13T18:23:30.630+02:00",
		"2018-09-13T10:53:30.63-05:30",
	};
	char doc[512];
	struct payload *p;
	char *s;
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(doc, sizeof(doc), AGG("\"aggregation_key\":\"k\","
		    "\"total_count\":1,\"created_at\":\"%s\","
		    "\"latest_errors\":[{\"error\":{},\"uuid\":\"u\","
		    "\"timestamp\":\"%s\"}]"), forms[i], forms[i]);
		p = parse(doc);
		ck_assert_msg(p != NULL, "%s", errbuf);
		ck_assert_int_eq(p->aggs[0].created_at, 1536855810630LL);
		ck_assert_int_eq(p->aggs[0].latest[0].timestamp,
		    1536855810630LL);
		s = normal(p);
		ck_assert_ptr_nonnull(strstr(s,
		    "\"timestamp\":\"2018-09-13T16:23:30.630Z\""));
		free(s);
		payload_free(p);
	}
	p = parse(OCC(""));
	ck_assert_ptr_nonnull(p);
	payload_free(p);
	/* No fraction at all. */
	snprintf(doc, sizeof(doc), AGG("\"aggregation_key\":\"k\","
	    "\"total_count\":1,\"latest_errors\":[{\"error\":{},"
	    "\"uuid\":\"u\",\"timestamp\":\"2018-09-13T16:23:30Z\"}]"));
	p = parse(doc);
	ck_assert_int_eq(p->aggs[0].latest[0].timestamp, 1536855810000LL);
	payload_free(p);
}
END_TEST

/*
 * The original's api_test sends zero values: "uuid":"".  Such occurrences
 * are kept, de-duplicated by content and time, and written as "".
 */
START_TEST(test_no_uuid)
{
	struct payload *p;
	const struct occurrence *o;
	char *s, *first;

	p = parse("{\"aggregated_errors\":[{\"aggregation_key\":\"k\","
	    "\"total_count\":3,\"latest_errors\":["
	    "{\"error\":{\"message\":\"a\"},\"uuid\":\"\","
	    "\"timestamp\":\"2018-09-13T16:23:30Z\"},"
	    "{\"error\":{\"message\":\"b\"},"
	    "\"timestamp\":\"2018-09-13T16:23:30Z\"},"
	    "{\"error\":{\"message\":\"a\"},\"uuid\":\"~periskop:spoof\","
	    "\"timestamp\":\"2018-09-13T16:23:30Z\"}]}]}");
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_uint_eq(p->aggs[0].nlatest, 2);
	o = p->aggs[0].latest;
	ck_assert(strncmp(o[0].uuid, UUID_STANDIN, strlen(UUID_STANDIN)) == 0);
	ck_assert(strncmp(o[1].uuid, UUID_STANDIN, strlen(UUID_STANDIN)) == 0);
	ck_assert_str_ne(o[0].uuid, o[1].uuid);
	ck_assert_str_eq(uuid_shown(o[0].uuid), "");
	ck_assert_str_eq(uuid_shown("u-1"), "u-1");
	s = normal(p);
	ck_assert_ptr_null(strstr(s, UUID_STANDIN));
	ck_assert_ptr_nonnull(strstr(s, "\"uuid\":\"\""));
	first = xstrdup(o[0].uuid);
	payload_free(p);
	/* The normal form parses back to the same stand-ins. */
	p = parse(s);
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_uint_eq(p->aggs[0].nlatest, 2);
	ck_assert(strcmp(p->aggs[0].latest[0].uuid, first) == 0 ||
	    strcmp(p->aggs[0].latest[1].uuid, first) == 0);
	free(first);
	free(s);
	payload_free(p);
}
END_TEST

START_TEST(test_old_clients)
{
	struct payload *p;
	char *s;

	/* No target_uuid, created_at, severity, latest_errors. */
	p = parse(AGG("\"aggregation_key\":\"k\",\"total_count\":3"));
	ck_assert_ptr_nonnull(p);
	s = normal(p);
	ck_assert_str_eq(s, "{\"aggregated_errors\":[{\"aggregation_key\":"
	    "\"k\",\"total_count\":3,\"severity\":\"error\","
	    "\"latest_errors\":[]}]}");
	free(s);
	payload_free(p);

	/* Nulls everywhere something optional may be. */
	p = parse("{\"target_uuid\":null,\"aggregated_errors\":["
	    "{\"aggregation_key\":\"k\",\"total_count\":1,\"severity\":null,"
	    "\"created_at\":null,\"latest_errors\":[{\"error\":{\"class\":null,"
	    "\"message\":null,\"stacktrace\":null,\"cause\":null},"
	    "\"uuid\":\"u\",\"timestamp\":\"2018-09-13T16:23:30.630Z\","
	    "\"severity\":null,\"http_context\":{\"request_method\":null,"
	    "\"request_url\":null,\"request_headers\":null,"
	    "\"request_body\":null}}]}]}");
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_ptr_null(p->target_uuid);
	ck_assert_ptr_null(p->aggs[0].latest[0].http->body);
	ck_assert_ptr_null(p->aggs[0].latest[0].http->headers);
	s = normal(p);
	ck_assert_str_eq(s, "{\"aggregated_errors\":[{\"aggregation_key\":"
	    "\"k\",\"total_count\":1,\"severity\":\"error\","
	    "\"latest_errors\":[{\"error\":{\"class\":\"\",\"message\":\"\","
	    "\"stacktrace\":null,\"cause\":null},\"uuid\":\"u\","
	    "\"timestamp\":\"2018-09-13T16:23:30.630Z\",\"severity\":\"error\","
	    "\"http_context\":{\"request_method\":\"\",\"request_url\":\"\","
	    "\"request_headers\":null,\"request_body\":\"\"}}]}]}");
	free(s);
	payload_free(p);

	/* A cause as a plain string; a trace as one string. */
	p = parse(AGG("\"aggregation_key\":\"k\",\"total_count\":1,"
	    "\"latest_errors\":[{\"error\":{\"class\":\"E\",\"message\":\"m\","
	    "\"stacktrace\":\"at a\\nat b\",\"cause\":\"disk full\"},"
	    "\"uuid\":\"u\",\"timestamp\":\"2018-09-13T16:23:30Z\"}]"));
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_uint_eq(p->aggs[0].latest[0].error.nstacktrace, 1);
	ck_assert_str_eq(p->aggs[0].latest[0].error.stacktrace[0],
	    "at a\nat b");
	s = normal(p);
	ck_assert_ptr_nonnull(strstr(s, "{\"error\":{\"class\":\"E\","
	    "\"message\":\"m\",\"stacktrace\":[\"at a\\nat b\"],\"cause\":"
	    "{\"class\":\"\",\"message\":\"disk full\",\"stacktrace\":null,"
	    "\"cause\":null}}"));
	free(s);
	assert_fixed_point(p);
	payload_free(p);

	/* An empty target_uuid names nothing. */
	p = parse("{\"target_uuid\":\"\",\"aggregated_errors\":[]}");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(p->target_uuid);
	ck_assert_uint_eq(p->naggs, 0);
	payload_free(p);
}
END_TEST

START_TEST(test_lenient)
{
	struct payload *p;
	char *s;

	/* Unknown fields anywhere, a count written as a real, odd severity. */
	p = parse("{\"x\":[1,{}],\"target_uuid\":\"t\",\"aggregated_errors\":"
	    "[{\"aggregation_key\":\"a\",\"total_count\":5.0,"
	    "\"severity\":\"WARNING\",\"extra\":true},"
	    "{\"aggregation_key\":\"b\",\"total_count\":1e2,"
	    "\"severity\":\"fatal\"},"
	    "{\"aggregation_key\":\"c\",\"total_count\":0,\"severity\":\"\","
	    "\"created_at\":\"\",\"latest_errors\":[{\"error\":{\"z\":1},"
	    "\"uuid\":\"u\",\"timestamp\":\"2018-09-13T16:23:30Z\","
	    "\"severity\":\"Info\",\"more\":null}]},"
	    "{\"aggregation_key\":\"d\",\"total_count\":1,"
	    "\"severity\":\"info\",\"latest_errors\":[{\"error\":{},"
	    "\"uuid\":\"v\",\"timestamp\":\"2018-09-13T16:23:30Z\"},"
	    "{\"error\":{},\"uuid\":\"w\",\"severity\":\"bogus\","
	    "\"timestamp\":\"2018-09-13T16:23:30Z\"}]}]}");
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_uint_eq(p->naggs, 4);
	ck_assert_int_eq(p->aggs[0].total_count, 5);
	ck_assert_int_eq(p->aggs[0].severity, SEV_WARNING);
	ck_assert_int_eq(p->aggs[1].total_count, 100);
	ck_assert_int_eq(p->aggs[1].severity, SEV_ERROR);
	ck_assert_int_eq(p->aggs[2].total_count, 0);
	ck_assert_int_eq(p->aggs[2].severity, SEV_ERROR);
	ck_assert_int_eq(p->aggs[2].created_at, TIME_NONE);
	ck_assert_int_eq(p->aggs[2].latest[0].severity, SEV_INFO);
	/* Occurrences default to their aggregate's severity. */
	ck_assert_int_eq(p->aggs[3].latest[0].severity, SEV_INFO);
	ck_assert_int_eq(p->aggs[3].latest[1].severity, SEV_INFO);
	assert_fixed_point(p);
	payload_free(p);

	/* Header values that are not strings, sorted in byte order. */
	p = parse(OCC(",\"http_context\":{\"request_headers\":{\"b\":1,"
	    "\"a\":true,\"B\":null,\"c\":\"x\",\"d\":2.5,\"e\":false}}"));
	ck_assert_msg(p != NULL, "%s", errbuf);
	s = normal(p);
	ck_assert_ptr_nonnull(strstr(s, "\"request_headers\":{\"B\":\"\","
	    "\"a\":\"true\",\"b\":\"1\",\"c\":\"x\",\"d\":\"2.5\","
	    "\"e\":\"false\"}"));
	free(s);
	payload_free(p);

	/* Real numbers as jansson writes them with 17 digits. */
	{
		static const char *const reals[] = { "2.5", "100.0", "1e300",
		    "-1E-7", "0.1", "123456789012345678.0", "5e-324" };
		json_t *j;
		char *want, *doc;
		size_t k;

		for (k = 0; k < sizeof(reals) / sizeof(reals[0]); k++) {
			j = json_loads(reals[k], JSON_DECODE_ANY, NULL);
			ck_assert_ptr_nonnull(j);
			want = json_dumps(j, JSON_ENCODE_ANY |
			    JSON_REAL_PRECISION(17));
			doc = xasprintf(OCC(",\"http_context\":{"
			    "\"request_headers\":{\"r\":%s}}"), reals[k]);
			p = parse(doc);
			ck_assert_msg(p != NULL, "%s", errbuf);
			ck_assert_str_eq(p->aggs[0].latest[0].http->
			    headers[0].value, want);
			payload_free(p);
			free(doc);
			free(want);
			json_decref(j);
		}
	}

	/* Null entries in a stack trace are empty lines. */
	p = parse(OCC(",\"error\":{\"stacktrace\":[\"a\",null,\"b\"]}"));
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_uint_eq(p->aggs[0].latest[0].error.nstacktrace, 3);
	ck_assert_str_eq(p->aggs[0].latest[0].error.stacktrace[1], "");
	payload_free(p);

	/* A duplicated member: the last wins, as in Go. */
	p = parse(AGG("\"aggregation_key\":\"k\",\"total_count\":1,"
	    "\"total_count\":7"));
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_int_eq(p->aggs[0].total_count, 7);
	payload_free(p);
}
END_TEST

START_TEST(test_order_and_dedup)
{
	struct payload *p;

	p = parse(AGG("\"aggregation_key\":\"k\",\"total_count\":5,"
	    "\"latest_errors\":["
	    O("a", "1") ","
	    O("b", "3") ","
	    O("c", "1") ","
	    O("a", "0") ","
	    O("d", "2") ","
	    O("e", "1")
	    "]"));
	ck_assert_msg(p != NULL, "%s", errbuf);
	/* Newest first; equal times keep the client's order; "a" once. */
	ck_assert_uint_eq(p->aggs[0].nlatest, 5);
	ck_assert_str_eq(p->aggs[0].latest[0].uuid, "b");
	ck_assert_str_eq(p->aggs[0].latest[1].uuid, "d");
	ck_assert_str_eq(p->aggs[0].latest[2].uuid, "a");
	ck_assert_str_eq(p->aggs[0].latest[3].uuid, "c");
	ck_assert_str_eq(p->aggs[0].latest[4].uuid, "e");
	ck_assert_int_eq(p->aggs[0].latest[2].timestamp,
	    ts("2018-01-01T00:00:01Z"));
	assert_fixed_point(p);
	payload_free(p);

	/* Same key three times among others: merged where it first was. */
	p = parse("{\"aggregated_errors\":["
	    "{\"aggregation_key\":\"x\",\"total_count\":1,"
	    "\"severity\":\"info\","
	    "\"latest_errors\":[{\"error\":{},\"uuid\":\"1\","
	    "\"timestamp\":\"2018-01-01T00:00:01Z\"}]},"
	    "{\"aggregation_key\":\"y\",\"total_count\":2},"
	    "{\"aggregation_key\":\"x\",\"total_count\":3,"
	    "\"created_at\":\"2017-01-01T00:00:00Z\",\"latest_errors\":["
	    O("2", "2") ","
	    O("1", "1")
	    "]},"
	    "{\"aggregation_key\":\"x\",\"total_count\":4,"
	    "\"created_at\":\"2016-01-01T00:00:00Z\"}]}");
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_uint_eq(p->naggs, 2);
	ck_assert_str_eq(p->aggs[0].key, "x");
	ck_assert_int_eq(p->aggs[0].total_count, 8);
	ck_assert_int_eq(p->aggs[0].severity, SEV_INFO);
	ck_assert_int_eq(p->aggs[0].created_at, ts("2016-01-01T00:00:00Z"));
	ck_assert_uint_eq(p->aggs[0].nlatest, 2);
	ck_assert_str_eq(p->aggs[0].latest[0].uuid, "2");
	ck_assert_str_eq(p->aggs[0].latest[1].uuid, "1");
	ck_assert_str_eq(p->aggs[1].key, "y");
	ck_assert_int_eq(p->aggs[1].total_count, 2);
	assert_fixed_point(p);
	payload_free(p);
}
END_TEST

START_TEST(test_not_json)
{
	struct payload *p;

	reject("", "not JSON at byte 0 (line 1, column 1): "
	    "unexpected token near end of file");
	/* The byte is the 0-based offset where the bad token starts. */
	reject("{\"aggregated_errors\":}", "not JSON at byte 21 "
	    "(line 1, column 22): unexpected token near '}'");
	reject("{\"aggregated_errors\":[]}x", "not JSON at byte 24 "
	    "(line 1, column 25): end of file expected near 'x'");
	reject("{\n\"a\": tru}", "not JSON at byte 7 (line 2, column 6): "
	    "invalid token near 'tru'");
	reject("{\"aggregated_errors\":[{\"aggregation_key\":\"k\","
	    "\"total_count\":99999999999999999999}]}", "not JSON at byte 59 "
	    "(line 1, column 60): too big integer near "
	    "'99999999999999999999'");
	reject(AGG("\"aggregation_key\":\"k\",\"total_count\":1e300"),
	    "not a Periskop payload: aggregated_errors[0].total_count: "
	    "too big: 1e+300");
	/* A body cut short. */
	p = parse("{\"aggregated_errors\":[{\"aggregation_key\":\"k\"");
	ck_assert_ptr_null(p);
	ck_assert_int_eq(strncmp(errbuf, "not JSON at byte ", 17), 0);
}
END_TEST

START_TEST(test_not_periskop)
{
	reject("null", "not a Periskop payload: "
	    "missing \"aggregated_errors\"");
	reject("[]", "not a Periskop payload: missing \"aggregated_errors\"");
	reject("{}", "not a Periskop payload: missing \"aggregated_errors\"");
	reject("\"x\"", "not a Periskop payload: "
	    "missing \"aggregated_errors\"");
	reject("{\"aggregated_errors\":{}}", "not a Periskop payload: "
	    "\"aggregated_errors\" is not an array");
	reject("{\"aggregated_errors\":null}", "not a Periskop payload: "
	    "\"aggregated_errors\" is not an array");
	reject("{\"target_uuid\":5,\"aggregated_errors\":[]}",
	    "not a Periskop payload: target_uuid: expected a string, "
	    "got a number");
	reject("{\"aggregated_errors\":[1]}", "not a Periskop payload: "
	    "aggregated_errors[0]: expected an object, got a number");
	reject(AGG("\"total_count\":1"), "not a Periskop payload: "
	    "aggregated_errors[0]: missing \"aggregation_key\"");
	reject(AGG("\"aggregation_key\":\"\",\"total_count\":1"),
	    "not a Periskop payload: "
	    "aggregated_errors[0]: missing \"aggregation_key\"");
	reject(AGG("\"aggregation_key\":[],\"total_count\":1"),
	    "not a Periskop payload: aggregated_errors[0].aggregation_key: "
	    "expected a string, got an array");
	reject(AGG("\"aggregation_key\":\"k\""), "not a Periskop payload: "
	    "aggregated_errors[0]: missing \"total_count\"");
	reject(AGG("\"aggregation_key\":\"k\",\"total_count\":-1"),
	    "not a Periskop payload: aggregated_errors[0].total_count: "
	    "negative");
	reject(AGG("\"aggregation_key\":\"k\",\"total_count\":-1.0"),
	    "not a Periskop payload: aggregated_errors[0].total_count: "
	    "negative");
	reject(AGG("\"aggregation_key\":\"k\",\"total_count\":1.5"),
	    "not a Periskop payload: aggregated_errors[0].total_count: "
	    "not an integer: 1.5");
	reject(AGG("\"aggregation_key\":\"k\",\"total_count\":\"5\""),
	    "not a Periskop payload: aggregated_errors[0].total_count: "
	    "expected an integer, got a string");
	reject(AGG("\"aggregation_key\":\"k\",\"total_count\":true"),
	    "not a Periskop payload: aggregated_errors[0].total_count: "
	    "expected an integer, got a boolean");
	reject(AGG("\"aggregation_key\":\"k\",\"total_count\":1,"
	    "\"severity\":1"), "not a Periskop payload: "
	    "aggregated_errors[0].severity: expected a string, got a number");
	reject(AGG("\"aggregation_key\":\"k\",\"total_count\":1,"
	    "\"created_at\":\"2018-02-30T00:00:00Z\""),
	    "not a Periskop payload: aggregated_errors[0].created_at: "
	    "not an RFC 3339 time: \"2018-02-30T00:00:00Z\"");
	reject(AGG("\"aggregation_key\":\"k\",\"total_count\":1,"
	    "\"created_at\":1536855810"), "not a Periskop payload: "
	    "aggregated_errors[0].created_at: expected an RFC 3339 time "
	    "string, got a number");
	reject(AGG("\"aggregation_key\":\"k\",\"total_count\":1,"
	    "\"latest_errors\":{}"), "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors: expected an array, "
	    "got an object");
}
END_TEST

START_TEST(test_bad_occurrences)
{
	reject(OCC(",\"timestamp\":\"yesterday\""), "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].timestamp: "
	    "not an RFC 3339 time: \"yesterday\"");
	reject(OCC(",\"timestamp\":\"2018-09-13T25:00:00Z\""),
	    "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].timestamp: "
	    "not an RFC 3339 time: \"2018-09-13T25:00:00Z\"");
	reject(OCC(",\"timestamp\":\"\""), "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].timestamp: "
	    "not an RFC 3339 time: \"\"");
	reject(OCC(",\"timestamp\":null"), "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0]: missing \"timestamp\"");
	/* A quoted value is escaped and cut. */
	reject(OCC(",\"timestamp\":\"<\\\"\\n"
	    "01234567890123456789012345678901234567890123456789012345678912\""),
	    "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].timestamp: "
	    "not an RFC 3339 time: \"\\u003c\\\"\\n"
	    "0123456789012345678901234567890123456789012345678901234567891\""
	    "...");
	reject(OCC(",\"uuid\":7"), "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].uuid: "
	    "expected a string, got a number");
	reject(OCC(",\"error\":null"), "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0]: missing \"error\"");
	reject(OCC(",\"error\":\"boom\""), "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].error: "
	    "expected an object, got a string");
	reject(OCC(",\"error\":{\"message\":{}}"), "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].error.message: "
	    "expected a string, got an object");
	reject(OCC(",\"error\":{\"stacktrace\":[\"a\",5]}"),
	    "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].error.stacktrace[1]: "
	    "expected a string, got a number");
	reject(OCC(",\"error\":{\"stacktrace\":{}}"),
	    "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].error.stacktrace: "
	    "expected an array of strings, got an object");
	reject(OCC(",\"error\":{\"cause\":{\"cause\":[]}}"),
	    "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].error.cause.cause: "
	    "expected an object, got an array");
	reject(OCC(",\"error\":{\"cause\":{\"class\":1}}"),
	    "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].error.cause.class: "
	    "expected a string, got a number");
	reject(OCC(",\"http_context\":[]"), "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].http_context: "
	    "expected an object, got an array");
	reject(OCC(",\"http_context\":{\"request_headers\":[]}"),
	    "not a Periskop payload: aggregated_errors[0].latest_errors[0]"
	    ".http_context.request_headers: expected an object, got an array");
	reject(OCC(",\"http_context\":{\"request_headers\":{\"a\":{}}}"),
	    "not a Periskop payload: aggregated_errors[0].latest_errors[0]"
	    ".http_context.request_headers[\"a\"]: expected a string, "
	    "got an object");
	reject(OCC(",\"http_context\":{\"request_body\":{}}"),
	    "not a Periskop payload: aggregated_errors[0].latest_errors[0]"
	    ".http_context.request_body: expected a string, got an object");
	reject("{\"aggregated_errors\":[{\"aggregation_key\":\"a\","
	    "\"total_count\":1},{\"aggregation_key\":\"b\",\"total_count\":1,"
	    "\"latest_errors\":[{\"error\":{},\"uuid\":\"u\","
	    "\"timestamp\":\"2018-01-01T00:00:00Z\"},7]}]}",
	    "not a Periskop payload: aggregated_errors[1].latest_errors[1]: "
	    "expected an object, got a number");
}
END_TEST

/* A cause chain n errors long, as a payload. */
static char *
cause_chain(int n)
{
	struct buf b;
	int i;

	buf_init(&b);
	buf_adds(&b, "{\"aggregated_errors\":[{\"aggregation_key\":\"k\","
	    "\"total_count\":1,\"latest_errors\":[{\"uuid\":\"u\","
	    "\"timestamp\":\"2018-01-01T00:00:00Z\",\"error\":");
	for (i = 0; i < n; i++)
		buf_addf(&b, "{\"class\":\"c%d\",\"cause\":", i);
	buf_adds(&b, "null");
	for (i = 0; i < n; i++)
		buf_addc(&b, '}');
	buf_adds(&b, "}]}]}");
	return buf_detach(&b, NULL);
}

START_TEST(test_depth)
{
	struct payload *p;
	struct buf b;
	const struct error_info *e;
	char *s;
	int i;

	s = cause_chain(MODEL_MAX_DEPTH);
	p = parse(s);
	free(s);
	ck_assert_msg(p != NULL, "%s", errbuf);
	for (i = 0, e = &p->aggs[0].latest[0].error; e; e = e->cause)
		i++;
	ck_assert_int_eq(i, MODEL_MAX_DEPTH);
	assert_fixed_point(p);
	payload_free(p);

	s = cause_chain(MODEL_MAX_DEPTH + 1);
	p = parse(s);
	free(s);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(strncmp(errbuf, "not a Periskop payload: "
	    "aggregated_errors[0].latest_errors[0].error.cause.cause.", 80),
	    0);
	ck_assert_ptr_nonnull(strstr(errbuf, ": cause chain deeper than 64"));

	/* 10,000 nested arrays: an error, not a stack overflow. */
	buf_init(&b);
	buf_adds(&b, "{\"aggregated_errors\":[],\"x\":");
	for (i = 0; i < 10000; i++)
		buf_addc(&b, '[');
	for (i = 0; i < 10000; i++)
		buf_addc(&b, ']');
	buf_addc(&b, '}');
	errbuf[0] = '\0';
	p = payload_parse(b.p, b.len, errbuf, sizeof(errbuf));
	ck_assert_ptr_null(p);
	ck_assert_str_eq(errbuf, "not JSON at byte 2075 (line 1, column 2076): "
	    "maximum parsing depth reached near '['");
	buf_release(&b);
}
END_TEST

START_TEST(test_utf8)
{
	static const char doc[] = OCC(",\"error\":{\"message\":\"a\xff" "b"
	    "\xe2\x82" "c\xc3\xa9\",\"class\":\"\xed\xa0\x80\"}");
	struct payload *p;
	char *s;

	p = payload_parse(doc, sizeof(doc) - 1, errbuf, sizeof(errbuf));
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_str_eq(p->aggs[0].latest[0].error.message,
	    "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xc3\xa9");
	ck_assert_str_eq(p->aggs[0].latest[0].error.class,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	s = normal(p);
	ck_assert_ptr_nonnull(strstr(s, "\"message\":\"a\xef\xbf\xbd"
	    "b\xef\xbf\xbd\xef\xbf\xbd" "c\xc3\xa9\""));
	free(s);
	assert_fixed_point(p);
	payload_free(p);

	/* Escaped NULs and lone surrogates. */
	p = parse(OCC(",\"error\":{\"message\":\"a\\u0000b\\ud800c\"}"));
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_str_eq(p->aggs[0].latest[0].error.message,
	    "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c");
	payload_free(p);
	/* Invalid UTF-8 outside strings is still not JSON. */
	reject("\xff{}", "not JSON at byte 0 (line 1, column 1): "
	    "invalid token near '\\xff'");
	/* Offsets count the client's bytes, not the repaired ones. */
	reject("{\"a\":\"\xff\xff\"}x", "not JSON at byte 10 "
	    "(line 1, column 11): end of file expected near 'x'");
}
END_TEST

START_TEST(test_big)
{
	struct payload *p;
	struct buf b;
	size_t big = 10 * 1000 * 1000, i;
	char *msg, *s;

	/* One 10 MB message, in a 16 MiB payload with many occurrences. */
	msg = malloc(big + 1);
	for (i = 0; i < big; i++)
		msg[i] = (char)('a' + i % 26);
	msg[big] = '\0';
	buf_init(&b);
	buf_adds(&b, "{\"aggregated_errors\":[{\"aggregation_key\":\"k\","
	    "\"total_count\":1,\"latest_errors\":[{\"error\":{\"message\":\"");
	buf_adds(&b, msg);
	buf_adds(&b, "\"},\"uuid\":\"big\",\"timestamp\":"
	    "\"2017-01-01T00:00:00Z\"}");
	for (i = 0; b.len < 16 * 1024 * 1024 - 200; i++)
		buf_addf(&b, ",{\"error\":{\"message\":\"m\"},"
		    "\"uuid\":\"u%zu\","
		    "\"timestamp\":\"2018-01-01T00:%02zu:00Z\"}", i, i % 60);
	buf_adds(&b, "]}]}");
	ck_assert_uint_le(b.len, 16 * 1024 * 1024);
	p = payload_parse(b.p, b.len, errbuf, sizeof(errbuf));
	ck_assert_msg(p != NULL, "%s", errbuf);
	ck_assert_uint_eq(p->aggs[0].nlatest, i + 1);
	/* The big one is the oldest, so last. */
	ck_assert_str_eq(p->aggs[0].latest[i].uuid, "big");
	ck_assert_str_eq(p->aggs[0].latest[i].error.message, msg);
	ck_assert_str_eq(p->aggs[0].latest[0].uuid, "u59");
	s = normal(p);
	ck_assert_ptr_nonnull(strstr(s, msg));
	free(s);
	payload_free(p);
	buf_release(&b);
	free(msg);
}
END_TEST

/* A document read into a jdoc elsewhere. */
static struct payload *
from_jval(const char *s, struct jdoc **d)
{
	*d = jdoc_parse(s, strlen(s), errbuf, sizeof(errbuf));
	ck_assert_msg(*d != NULL, "%s", errbuf);
	return payload_from_jval(jdoc_root(*d), errbuf, sizeof(errbuf));
}

START_TEST(test_from_jval)
{
	struct payload *p;
	struct jdoc *d;
	char *a, *c;

	/* What record.c hands over: a document parsed elsewhere. */
	p = from_jval("{\"type\":\"scrape\",\"aggregated_errors\":[{"
	    "\"aggregation_key\":\"k\",\"total_count\":2,\"latest_errors\":"
	    "[{\"error\":{},\"uuid\":\"u\",\"timestamp\":"
	    "\"2018-09-13T18:23:30.630+02:00\"}]}]}", &d);
	ck_assert_msg(p != NULL, "%s", errbuf);
	a = normal(p);
	ck_assert_str_eq(a, "{\"aggregated_errors\":[{\"aggregation_key\":"
	    "\"k\",\"total_count\":2,\"severity\":\"error\",\"latest_errors\":"
	    "[{\"error\":{\"class\":\"\",\"message\":\"\",\"stacktrace\":null,"
	    "\"cause\":null},\"uuid\":\"u\","
	    "\"timestamp\":\"2018-09-13T16:23:30.630Z\","
	    "\"severity\":\"error\"}]}]}");
	payload_free(p);
	jdoc_free(d);

	/* Its own output is a fixed point. */
	p = from_jval(a, &d);
	c = normal(p);
	ck_assert_str_eq(a, c);
	payload_free(p);
	jdoc_free(d);
	free(a);
	free(c);

	ck_assert_ptr_null(payload_from_jval(NULL, errbuf, sizeof(errbuf)));
	ck_assert_str_eq(errbuf,
	    "not a Periskop payload: missing \"aggregated_errors\"");
	d = jdoc_parse("[]", 2, NULL, 0);
	ck_assert_ptr_null(payload_from_jval(jdoc_root(d), NULL, 0));
	jdoc_free(d);
}
END_TEST

START_TEST(test_errlen)
{
	char small[16];
	struct payload *p;

	memset(small, 'x', sizeof(small));
	p = payload_parse("[]", 2, small, sizeof(small));
	ck_assert_ptr_null(p);
	ck_assert_str_eq(small, "not a Periskop ");
	memset(small, 'x', sizeof(small));
	p = payload_parse("{", 1, small, sizeof(small));
	ck_assert_ptr_null(p);
	ck_assert_str_eq(small, "not JSON at byt");
	memset(small, 'x', sizeof(small));
	p = payload_parse(OCC(",\"uuid\":1"), strlen(OCC(",\"uuid\":1")),
	    small, sizeof(small));
	ck_assert_ptr_null(p);
	ck_assert_str_eq(small, "not a Periskop ");
	p = payload_parse("x", 1, NULL, 0);
	ck_assert_ptr_null(p);
	payload_free(NULL);
}
END_TEST

START_TEST(test_write_null_parts)
{
	struct buf b;
	struct error_info e;
	struct http_context h;
	struct header hd[1];

	buf_init(&b);
	http_context_write_json(&b, NULL);
	buf_addc(&b, ' ');
	error_info_write_json(&b, NULL);
	ck_assert_str_eq(b.p, "null null");
	buf_reset(&b);
	memset(&e, 0, sizeof(e));
	error_info_write_json(&b, &e);
	ck_assert_str_eq(b.p, "{\"class\":\"\",\"message\":\"\","
	    "\"stacktrace\":null,\"cause\":null}");
	buf_reset(&b);
	memset(&h, 0, sizeof(h));
	hd[0].name = "X-<a>";
	hd[0].value = "\xe2\x80\xa8";
	h.headers = hd;
	h.nheaders = 1;
	h.body = "b\"";
	http_context_write_json(&b, &h);
	ck_assert_str_eq(b.p, "{\"request_method\":\"\",\"request_url\":\"\","
	    "\"request_headers\":{\"X-\\u003ca\\u003e\":\"\\u2028\"},"
	    "\"request_body\":\"b\\\"\"}");
	buf_release(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_severity);
	tcase_add_test(tc, test_mocktarget);
	tcase_add_test(tc, test_mocktarget_normal_form);
	tcase_add_test(tc, test_samples);
	tcase_add_test(tc, test_timestamps);
	tcase_add_test(tc, test_no_uuid);
	tcase_add_test(tc, test_old_clients);
	tcase_add_test(tc, test_lenient);
	tcase_add_test(tc, test_order_and_dedup);
	tcase_add_test(tc, test_not_json);
	tcase_add_test(tc, test_not_periskop);
	tcase_add_test(tc, test_bad_occurrences);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_big);
	tcase_add_test(tc, test_from_jval);
	tcase_add_test(tc, test_errlen);
	tcase_add_test(tc, test_write_null_parts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
