/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of static discovery and of the targets line round trip. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "discover.h"
#include "record.h"

static struct conf *
parse(const char *yaml)
{
	struct conf *c;
	char err[512];

	c = conf_parse(yaml, strlen(yaml), "test.yaml", err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

START_TEST(test_static)
{
	struct conf *c;
	struct targets_rec t;
	char err[256];

	c = parse("services:\n"
	    "  - name: api\n"
	    "    static_configs:\n"
	    "      - targets: ['b:1', 'a:2', 'b:1']\n"
	    "        labels: {env: prod}\n"
	    "      - targets: ['[::1]', '::1', 'host']\n"
	    "        labels: {env: dev}\n"
	    "    scraper: {scheme: https, endpoint: /e}\n");
	ck_assert_int_eq(discover_service(&c->services[0], &t, err,
	    sizeof(err)), 0);
	/*
	 * As in Prometheus, "[::1]" gets the default port but "::1" cannot
	 * (a port after it would not parse): it stays as written.  "b:1"
	 * twice is one target, the first the config names.
	 */
	ck_assert_uint_eq(t.ntargets, 5);
	ck_assert_str_eq(t.targets[0].address, "::1");
	ck_assert_str_eq(t.targets[1].address, "[::1]:443");
	ck_assert_str_eq(t.targets[2].address, "a:2");
	ck_assert_str_eq(t.targets[3].address, "b:1");
	ck_assert_str_eq(t.targets[4].address, "host:443");
	ck_assert_str_eq(t.targets[3].url, "https://b:1/e");
	ck_assert_str_eq(labels_get(&t.targets[3].labels, "env"), "prod");
	ck_assert_str_eq(labels_get(&t.targets[3].labels, "instance"), "b:1");
	ck_assert_str_eq(labels_get(&t.targets[3].labels, "job"), "api");
	targets_rec_release(&t);
	conf_free(c);
}
END_TEST

START_TEST(test_roundtrip)
{
	struct conf *c;
	struct targets_rec t;
	struct record rec;
	struct buf b;
	char err[256];

	c = parse("services:\n"
	    "  - name: \"a \\\"q\\\" <svc>\"\n"
	    "    static_configs: [{targets: ['127.0.0.1:7'], "
	    "labels: {k: \"v\\u00e9\"}}]\n"
	    "    scraper: {refresh_interval: 1m30s, timeout: 2500ms}\n");
	ck_assert_int_eq(discover_service(&c->services[0], &t, err,
	    sizeof(err)), 0);
	buf_init(&b);
	record_write_targets(&b, &t);
	ck_assert_int_eq(record_parse(b.p, b.len, &rec, err, sizeof(err)), 0);
	ck_assert_int_eq(rec.type, REC_TARGETS);
	ck_assert_str_eq(rec.u.targets.service, "a \"q\" <svc>");
	ck_assert_int_eq(rec.u.targets.interval_ms, 90000);
	ck_assert_int_eq(rec.u.targets.timeout_ms, 2500);
	ck_assert_int_eq(discover_same(&t, &rec.u.targets), 1);
	ck_assert_str_eq(labels_get(&rec.u.targets.targets[0].labels, "k"),
	    "v\xc3\xa9");
	record_release(&rec);
	buf_release(&b);
	targets_rec_release(&t);
	conf_free(c);
}
END_TEST

START_TEST(test_unsupported)
{
	struct conf *c;
	struct targets_rec t;
	char err[256];

	c = parse("services:\n"
	    "  - name: api\n"
	    "    dns_sd_configs: [{names: [x], type: A, port: 80}]\n");
	ck_assert_int_eq(discover_service(&c->services[0], &t, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "service \"api\": dns_sd_configs need the "
	    "discovery engine (discovery_new)");
	conf_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("discover");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_static);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_unsupported);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
