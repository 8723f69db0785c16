/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for periskop-notify's spool (append, replay, offsets, torn lines, compaction, bound) and messages. */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "notify.h"
#include "spike.h"
#include "spool.h"
#include "timefmt.h"

static char dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_notify.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* An event line at the clock's time plus off ms. */
static char *
line(const char *kind, const char *key, int64_t off)
{
	char	 t[TIME_BUFSZ], *s;

	ck_assert_int_ne(asprintf(&s, "{\"type\":\"event\",\"kind\":\"%s\","
	    "\"service\":\"shop\",\"key\":\"%s\",\"severity\":\"error\","
	    "\"count\":2,\"at\":\"%s\"}", kind, key,
	    time_format(time_now() + off, t)), -1);
	return s;
}

static struct spool *
open_spool(uint64_t max)
{
	struct spool	*s;
	char		 err[512];

	s = spool_open(dir, max, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	return s;
}

static void
append(struct spool *s, const char *l, int want)
{
	char	 err[512];

	ck_assert_int_eq(spool_append(s, l, strlen(l), err, sizeof(err)),
	    want);
}

START_TEST(test_append_read_reopen)
{
	struct spool		*s;
	struct spool_line	 l[8];
	char			*a = line("new_error", "A", 0);
	char			*b = line("new_error", "B", 0);
	char			 err[512];
	uint64_t		 off;
	long			 n;

	s = open_spool(1 << 20);
	ck_assert_int_eq(spool_offset_load(s, "r", &off, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(off, 0);
	append(s, a, 1);
	append(s, b, 1);
	append(s, a, 0);	/* a replay */
	ck_assert_int_eq(spool_sync(s, err, sizeof(err)), 0);
	n = spool_read(s, off, 8, l, err, sizeof(err));
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(l[0].line, a);
	ck_assert_str_eq(l[1].line, b);
	ck_assert_uint_eq(l[1].next, spool_end(s));
	ck_assert_int_eq(spool_offset_save(s, "r", l[0].next, err,
	    sizeof(err)), 0);
	off = l[0].next;
	spool_lines_free(l, 2);
	spool_close(s);

	/* Reopened: the offset, the rest, and the ids of a replay. */
	s = open_spool(1 << 20);
	ck_assert_int_eq(spool_offset_load(s, "r", &off, err, sizeof(err)),
	    0);
	n = spool_read(s, off, 8, l, err, sizeof(err));
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(l[0].line, b);
	spool_lines_free(l, 1);
	append(s, b, 0);
	spool_close(s);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_torn_line_dropped)
{
	struct spool		*s;
	struct spool_line	 l[4];
	char			*a = line("new_error", "A", 0), path[128], err[512];
	int			 fd;

	s = open_spool(1 << 20);
	append(s, a, 1);
	spool_close(s);
	snprintf(path, sizeof(path), "%s/events", dir);
	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "{\"type\":\"ev", 11), 11);
	close(fd);
	s = open_spool(1 << 20);
	ck_assert_int_eq(spool_read(s, 0, 4, l, err, sizeof(err)), 1);
	ck_assert_str_eq(l[0].line, a);
	ck_assert_uint_eq(l[0].next, spool_end(s));
	spool_lines_free(l, 1);
	spool_close(s);
	free(a);
}
END_TEST

START_TEST(test_damaged_refused)
{
	char		 path[128], err[512];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/events", dir);
	fp = fopen(path, "w");
	fputs("hello\n", fp);
	fclose(fp);
	ck_assert_ptr_null(spool_open(dir, 1 << 20, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "byte 0: not a periskop-notify "
	    "spool"));
}
END_TEST

START_TEST(test_compact_keeps_offsets)
{
	struct spool		*s;
	struct spool_line	 l[1];
	char			*x, err[512];
	uint64_t		 mid = 0, end, off;
	int			 i;

	s = open_spool(4 * 4096);
	for (i = 0; i < 100; i++) {
		char	 k[16];

		snprintf(k, sizeof(k), "K%d", i);
		x = line("new_error", k, 0);
		append(s, x, 1);
		free(x);
		if (i == 89)
			mid = spool_end(s);
	}
	end = spool_end(s);
	ck_assert_msg(mid > 0, "mid %ju end %ju", (uintmax_t)mid, (uintmax_t)end);
	ck_assert_int_eq(spool_compact(s, mid, err, sizeof(err)), 0);
	ck_assert_msg(spool_begin(s) > 0, "begin %ju mid %ju end %ju",
	    (uintmax_t)spool_begin(s), (uintmax_t)mid, (uintmax_t)end);
	ck_assert_uint_le(spool_begin(s), mid);
	ck_assert_uint_eq(spool_end(s), end);
	/* The same absolute offset reads the same line. */
	ck_assert_int_eq(spool_read(s, mid, 1, l, err, sizeof(err)), 1);
	ck_assert_ptr_nonnull(strstr(l[0].line, "\"K90\""));
	spool_lines_free(l, 1);
	spool_close(s);
	s = open_spool(4 * 4096);
	ck_assert_uint_eq(spool_end(s), end);
	ck_assert_int_eq(spool_offset_save(s, "r", 1, err, sizeof(err)), 0);
	ck_assert_int_eq(spool_offset_load(s, "r", &off, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(off, spool_begin(s));	/* clamped */
	spool_close(s);
}
END_TEST

START_TEST(test_bounded)
{
	struct spool	*s;
	char		*x;
	int		 i, full = 0;

	s = open_spool(4096);
	for (i = 0; i < 100; i++) {
		char	 k[16];
		char	 err[512];
		int	 rc;

		snprintf(k, sizeof(k), "K%d", i);
		x = line("new_error", k, 0);
		rc = spool_append(s, x, strlen(x), err, sizeof(err));
		ck_assert(rc == 1 || rc == -2);
		full += rc == -2;
		free(x);
	}
	ck_assert_int_gt(full, 0);
	ck_assert_uint_eq(spool_dropped(s), (uint64_t)full);
	ck_assert_uint_le(spool_end(s) - spool_begin(s), 4096);
	spool_close(s);
}
END_TEST

START_TEST(test_messages)
{
	struct conf_notify	 nf;
	struct notify_event	 ev[2], other;
	struct buf		 b;
	json_error_t		 je;
	json_t			*j, *a;
	char			*l1 = line("regression", "E@<x>", 0), err[256];
	const char		*l2 = "{\"type\":\"event\",\"kind\":\"target_up\","
	    "\"service\":\"api\",\"target\":\"10.0.0.1:80\",\"at\":"
	    "\"2026-01-02T03:04:05Z\"}";

	memset(&nf, 0, sizeof(nf));
	nf.ui_url = "http://ui:8080/";
	nf.alert_ttl_ms = 3600000;
	ck_assert_int_eq(notify_event_parse(l1, strlen(l1), &ev[0], err,
	    sizeof(err)), 1);
	ck_assert_int_eq(notify_event_parse(l2, strlen(l2), &ev[1], err,
	    sizeof(err)), 1);
	ck_assert_int_eq(notify_event_parse("{\"type\":\"round\"}", 16, &other,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(notify_event_parse("{\"type\":\"event\"}", 16,
	    &other, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "event with no \"kind\"");

	buf_init(&b);
	notify_alerts_json(&b, &nf, ev, 2);
	j = json_loadb(b.p, b.len, 0, &je);
	ck_assert_ptr_nonnull(j);
	a = json_array_get(j, 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a,
	    "labels"), "alertname")), "PeriskopRegression");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a,
	    "labels"), "aggregation_key")), "E@<x>");
	ck_assert_str_eq(json_string_value(json_object_get(a,
	    "generatorURL")), "http://ui:8080/#/shop/errors/E%40%3Cx%3E");
	a = json_array_get(j, 1);
	/* target_up: the alert of going down, ended now. */
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a,
	    "labels"), "alertname")), "PeriskopTargetDown");
	ck_assert_str_eq(json_string_value(json_object_get(a, "endsAt")),
	    "2026-01-02T03:04:05.000Z");
	json_decref(j);

	buf_reset(&b);
	notify_webhook_json(&b, &nf, "hook", ev, 2);
	j = json_loadb(b.p, b.len, 0, &je);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "text")),
	    "2 periskop events:\n- Regression in shop: E@<x> (error, 2 "
	    "occurrences)\n- Target up in api: 10.0.0.1:80");
	ck_assert_int_eq(json_array_size(json_object_get(j, "events")), 2);
	json_decref(j);
	/* The id of one event is its line's; of two, stable and other. */
	ck_assert_uint_eq(notify_message_id(ev, 1), spool_id(l1, strlen(l1)));
	ck_assert_uint_ne(notify_message_id(ev, 2), notify_message_id(ev, 1));
	ck_assert_uint_eq(notify_message_id(ev, 2), notify_message_id(ev, 2));
	buf_release(&b);
	notify_event_release(&ev[0]);
	notify_event_release(&ev[1]);
	free(l1);
}
END_TEST

START_TEST(test_spike_window)
{
	struct spike	*sp = spike_new(10, 60000);
	uint64_t	 n, th;
	int64_t		 t = time_now(), w;
	int		 crossed;
	char		 err[128];

	n = spike_add(sp, "s", "k", t, 4, &crossed);
	ck_assert(n == 4 && !crossed);
	n = spike_add(sp, "s", "other", t, 50, &crossed);
	ck_assert(n == 50 && crossed);
	n = spike_add(sp, "s", "k", t + 10000, 6, &crossed);
	ck_assert(n == 10 && crossed);
	/* Still over: no second spike. */
	n = spike_add(sp, "s", "k", t + 20000, 1, &crossed);
	ck_assert(n == 11 && !crossed);
	/* The window moved past the first 4: 7 left, below; 3 more reach it. */
	n = spike_add(sp, "s", "k", t + 65000, 3, &crossed);
	ck_assert_uint_eq(n, 10);
	ck_assert(crossed);
	/* Long after: below again, and a new spike. */
	n = spike_add(sp, "s", "k", t + 600000, 2, &crossed);
	ck_assert(n == 2 && !crossed);
	n = spike_add(sp, "s", "k", t + 601000, 9, &crossed);
	ck_assert(n == 11 && crossed);
	/* "a","bc" is not "ab","c". */
	n = spike_add(sp, "a", "bc", t, 1, &crossed);
	n = spike_add(sp, "ab", "c", t, 1, &crossed);
	ck_assert_uint_eq(n, 1);
	spike_free(sp);

	ck_assert_int_eq(spike_parse("100/5m", &th, &w, err, sizeof(err)), 0);
	ck_assert(th == 100 && w == 300000);
	ck_assert_int_eq(spike_parse("0/5m", &th, &w, err, sizeof(err)), -1);
	ck_assert_int_eq(spike_parse("5", &th, &w, err, sizeof(err)), -1);
	ck_assert_int_eq(spike_parse("5/x", &th, &w, err, sizeof(err)), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("notify");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 nfail;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_append_read_reopen);
	tcase_add_test(tc, test_torn_line_dropped);
	tcase_add_test(tc, test_damaged_refused);
	tcase_add_test(tc, test_compact_keeps_offsets);
	tcase_add_test(tc, test_bounded);
	tcase_add_test(tc, test_messages);
	tcase_add_test(tc, test_spike_window);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
