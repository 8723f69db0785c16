/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the push gateway's state: deltas, resets, expiry, limits, save and load. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "model.h"
#include "push.h"
#include "timefmt.h"

#define NOW	time_now()

/*
 * A payload of one key with count n and one occurrence per uuid in
 * uuids (comma-separated), at times from the clock, so no retention or
 * window ever overtakes them.
 */
static struct payload *
mk(const char *target, const char *key, long long n, const char *uuids)
{
	struct payload *p;
	struct buf b;
	char err[256], tbuf[TIME_BUFSZ], *list, *u, *save = NULL;
	int64_t t = time_now() - 60000;
	int first = 1;

	buf_init(&b);
	buf_adds(&b, "{");
	if (target != NULL)
		buf_addf(&b, "\"target_uuid\":\"%s\",", target);
	buf_addf(&b, "\"aggregated_errors\":[{\"aggregation_key\":\"%s\","
	    "\"total_count\":%lld,\"severity\":\"error\",\"latest_errors\":[",
	    key, n);
	list = strdup(uuids);
	for (u = strtok_r(list, ",", &save); u != NULL;
	    u = strtok_r(NULL, ",", &save)) {
		buf_addf(&b, "%s{\"error\":{\"class\":\"E\",\"message\":\"m\"},"
		    "\"uuid\":\"%s\",\"timestamp\":\"%s\",\"severity\":"
		    "\"error\"}", first ? "" : ",", u,
		    time_format(t += 1000, tbuf));
		first = 0;
	}
	free(list);
	buf_adds(&b, "]}]}");
	p = payload_parse(b.p, b.len, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	buf_release(&b);
	return p;
}

/* Merges and frees; asserts the merge is accepted. */
static void
merge(struct push_state *s, struct payload *p, const char *from, int64_t now)
{
	char err[256];

	ck_assert_msg(push_merge(s, p, from, now, err, sizeof(err)) == 0,
	    "%s", err);
	payload_free(p);
}

static struct push_state *
fresh(void)
{
	struct push_limits l;

	push_limits_init(&l);
	return push_new(&l);
}

START_TEST(test_repeat_adds_nothing)
{
	struct push_state *s = fresh();

	merge(s, mk("a", "k", 5, "u1"), NULL, NOW);
	ck_assert_int_eq(push_total(s, "k"), 5);
	merge(s, mk("a", "k", 5, "u1"), NULL, NOW);
	ck_assert_int_eq(push_total(s, "k"), 5);
	merge(s, mk("a", "k", 7, "u1,u2"), NULL, NOW);
	ck_assert_int_eq(push_total(s, "k"), 7);
	ck_assert_int_eq(push_total(s, "none"), -1);
	push_free(s);
}
END_TEST

START_TEST(test_reset)
{
	struct push_state *s = fresh();

	merge(s, mk("a", "k", 10, "u1"), NULL, NOW);
	/* The job restarted: 3 is three new errors, not minus seven. */
	merge(s, mk("a", "k", 3, "u2"), NULL, NOW);
	ck_assert_int_eq(push_total(s, "k"), 13);
	merge(s, mk("a", "k", 4, "u2"), NULL, NOW);
	ck_assert_int_eq(push_total(s, "k"), 14);
	push_free(s);
}
END_TEST

START_TEST(test_pushers_add_up)
{
	struct push_state *s = fresh();

	merge(s, mk("a", "k", 2, "u1"), NULL, NOW);
	merge(s, mk("b", "k", 3, "u2"), NULL, NOW);
	/* No target_uuid: the remote address names the pusher. */
	merge(s, mk(NULL, "k", 4, "u3"), "10.0.0.1", NOW);
	merge(s, mk(NULL, "k", 4, "u3"), "10.0.0.1", NOW);
	merge(s, mk(NULL, "k", 1, "u4"), "10.0.0.2", NOW);
	ck_assert_int_eq(push_total(s, "k"), 10);
	ck_assert_uint_eq(push_npushers(s), 4);
	ck_assert_uint_eq(push_nkeys(s), 1);
	push_free(s);
}
END_TEST

START_TEST(test_expire_keeps_totals)
{
	struct push_state *s = fresh();
	struct push_limits l;
	int64_t now = NOW;

	push_free(s);
	push_limits_init(&l);
	l.ttl_ms = 1000;
	s = push_new(&l);
	merge(s, mk("a", "k", 5, "u1"), NULL, now);
	merge(s, mk("b", "k", 1, "u2"), NULL, now + 900);
	ck_assert_uint_eq(push_expire(s, now + 1500), 1);
	ck_assert_uint_eq(push_npushers(s), 1);
	ck_assert_int_eq(push_total(s, "k"), 6);
	/* Back after expiry: a new pusher, its count all new. */
	merge(s, mk("a", "k", 5, "u1"), NULL, now + 1600);
	ck_assert_int_eq(push_total(s, "k"), 11);
	push_free(s);
}
END_TEST

START_TEST(test_latest_bounded_newest_first)
{
	struct push_limits l;
	struct push_state *s;
	struct buf b;

	push_limits_init(&l);
	l.max_latest = 3;
	s = push_new(&l);
	merge(s, mk("a", "k", 2, "u1,u2"), NULL, NOW);
	merge(s, mk("b", "k", 3, "u2,v1,v2"), NULL, NOW);
	buf_init(&b);
	push_write_payload(s, &b);
	/* u2 once; three kept; the newest of each pusher's come first. */
	ck_assert_ptr_nonnull(strstr(b.p, "\"u2\""));
	ck_assert_ptr_null(strstr(strstr(b.p, "\"u2\"") + 1, "\"u2\""));
	ck_assert_ptr_nonnull(strstr(b.p, "\"v2\""));
	ck_assert_ptr_null(strstr(b.p, "\"u1\""));
	ck_assert(strstr(b.p, "\"v2\"") < strstr(b.p, "\"v1\""));
	buf_release(&b);
	push_free(s);
}
END_TEST

START_TEST(test_limits_leave_state)
{
	struct push_limits l;
	struct push_state *s;
	struct payload *p;
	struct buf a, b;
	char err[256];

	push_limits_init(&l);
	l.max_pushers = 1;
	s = push_new(&l);
	merge(s, mk("a", "k", 2, "u1"), NULL, NOW);
	buf_init(&a);
	buf_init(&b);
	push_write_state(s, &a);
	p = mk("b", "k", 9, "u9");
	ck_assert_int_eq(push_merge(s, p, NULL, NOW, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too many pushers"));
	payload_free(p);
	push_write_state(s, &b);
	ck_assert_str_eq(a.p, b.p);
	buf_release(&a);
	buf_release(&b);
	push_free(s);

	l.max_pushers = 10;
	l.max_keys = 1;
	s = push_new(&l);
	merge(s, mk("a", "k", 2, "u1"), NULL, NOW);
	p = mk("a", "other", 1, "u2");
	ck_assert_int_eq(push_merge(s, p, NULL, NOW, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "too many aggregation keys"));
	payload_free(p);
	ck_assert_uint_eq(push_nkeys(s), 1);
	push_free(s);
}
END_TEST

START_TEST(test_save_load)
{
	struct push_limits l;
	struct push_state *s, *t;
	struct buf a, b;
	char err[256], path[] = "/tmp/check_push.XXXXXX", *file;
	FILE *f;
	char chunk[4096];
	size_t n;

	push_limits_init(&l);
	s = push_new(&l);
	merge(s, mk("a", "k", 4, "u1"), NULL, NOW);
	merge(s, mk(NULL, "k2", 1, "u2"), "127.0.0.1", NOW);
	ck_assert_ptr_nonnull(mkdtemp(path));
	file = malloc(strlen(path) + 8);
	sprintf(file, "%s/state", path);
	ck_assert_msg(push_save(s, file, err, sizeof(err)) == 0, "%s", err);
	buf_init(&a);
	buf_init(&b);
	push_write_state(s, &a);
	ck_assert_ptr_nonnull(f = fopen(file, "r"));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	t = push_load(b.p, b.len, &l, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	buf_reset(&b);
	push_write_state(t, &b);
	ck_assert_str_eq(a.p, b.p);
	/* The loaded state goes on counting where it stopped. */
	merge(t, mk("a", "k", 4, "u1"), NULL, NOW);
	ck_assert_int_eq(push_total(t, "k"), 4);
	ck_assert_ptr_null(push_load("{\"version\":1}", 13, &l, err,
	    sizeof(err)));
	ck_assert_ptr_null(push_load("{nope", 5, &l, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not JSON at byte"));
	buf_release(&a);
	buf_release(&b);
	push_free(s);
	push_free(t);
	unlink(file);
	rmdir(path);
	free(file);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("push");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 nfail;

	tcase_add_test(tc, test_repeat_adds_nothing);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_pushers_add_up);
	tcase_add_test(tc, test_expire_keeps_totals);
	tcase_add_test(tc, test_latest_bounded_newest_first);
	tcase_add_test(tc, test_limits_leave_state);
	tcase_add_test(tc, test_save_load);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
