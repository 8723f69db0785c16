/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for timefmt: every RFC 3339 form clients send, and ours. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

static int64_t
parse(const char *s)
{
	int64_t ms = 42;

	if (time_parse(s, &ms) == -1)
		return TIME_NONE;
	return ms;
}

START_TEST(test_fractions)
{
	ck_assert_int_eq(parse("2018-09-13T16:23:30Z"), 1536855810000LL);
	ck_assert_int_eq(parse("2018-09-13T16:23:30.630Z"), 1536855810630LL);
	ck_assert_int_eq(parse("2018-09-13T16:23:30.6Z"), 1536855810600LL);
	ck_assert_int_eq(parse("2018-09-13T16:23:30.63Z"), 1536855810630LL);
	/* Below a millisecond is truncated, not rounded. */
	ck_assert_int_eq(parse("2018-09-13T16:23:30.630999999Z"),
	    1536855810630LL);
	ck_assert_int_eq(parse("2018-09-13T16:23:30.123456Z"),
	    1536855810123LL);
	ck_assert_int_eq(parse("2018-09-13T16:23:30.000000000Z"),
	    1536855810000LL);
}
END_TEST

START_TEST(test_offsets)
{
	ck_assert_int_eq(parse("2018-09-13T18:23:30.630+02:00"),
	    1536855810630LL);
	ck_assert_int_eq(parse("2018-09-13T10:53:30.630-05:30"),
	    1536855810630LL);
	ck_assert_int_eq(parse("2018-09-13T10:53:30.630-0530"),
	    1536855810630LL);
	ck_assert_int_eq(parse("2018-09-13T16:23:30.630+00:00"),
	    1536855810630LL);
	ck_assert_int_eq(parse("2018-09-13T16:23:30.630-00:00"),
	    1536855810630LL);
	/* An offset can move the time across a day and a year. */
	ck_assert_int_eq(parse("2019-01-01T01:00:00+02:00"),
	    parse("2018-12-31T23:00:00Z"));
	ck_assert_int_eq(parse("2018-09-13t16:23:30.630z"), 1536855810630LL);
	ck_assert_int_eq(parse("2018-09-13 16:23:30.630Z"), 1536855810630LL);
}
END_TEST

START_TEST(test_calendar)
{
	ck_assert_int_eq(parse("1970-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(parse("1969-12-31T23:59:59.999Z"), -1);
	ck_assert_int_eq(parse("2020-02-29T23:59:59.999Z"), 1583020799999LL);
	ck_assert_int_eq(parse("2000-02-29T00:00:00Z"), 951782400000LL);
	ck_assert_int_eq(parse("0001-01-01T00:00:00Z"), -62135596800000LL);
	ck_assert_int_eq(parse("9999-12-31T23:59:59.999Z"),
	    253402300799999LL);
}
END_TEST

START_TEST(test_invalid)
{
	static const char *bad[] = {
		"", "yesterday", "2018-02-30T00:00:00Z",
		"2019-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
		"2018-04-31T00:00:00Z", "2018-13-01T00:00:00Z",
		"2018-00-01T00:00:00Z", "2018-01-00T00:00:00Z",
		"2018-09-13T25:00:00Z", "2018-09-13T24:00:00Z",
		"2018-09-13T16:60:00Z", "2018-09-13T16:23:60Z",
		"2018-09-13T16:23:30", "2018-09-13T16:23:30.Z",
		"2018-09-13T16:23:30.630", "2018-09-13", "16:23:30Z",
		"2018-09-13T16:23Z", "2018-9-13T16:23:30Z",
		"2018-09-13X16:23:30Z", "2018-09-13T16:23:30Zjunk",
		"2018-09-13T16:23:30+2:00", "2018-09-13T16:23:30+24:00",
		"2018-09-13T16:23:30+02:60", "2018-09-13T16:23:30+02",
		"2018-09-13T16:23:30 Z", " 2018-09-13T16:23:30Z",
		"+2018-09-13T16:23:30Z", "2018-09-13T16:23:30.63a0Z",
		"1536855810630",
	};
	size_t i;
	int64_t ms;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 42;
		ck_assert_msg(time_parse(bad[i], &ms) == -1, "accepted '%s'",
		    bad[i]);
		ck_assert_int_eq(ms, 42);
	}
	ck_assert_int_eq(time_parse(NULL, &ms), -1);
}
END_TEST

START_TEST(test_format)
{
	char b[TIME_BUFSZ];

	ck_assert_str_eq(time_format(1536855810630LL, b),
	    "2018-09-13T16:23:30.630Z");
	ck_assert_str_eq(time_format(0, b), "1970-01-01T00:00:00.000Z");
	ck_assert_str_eq(time_format(-1, b), "1969-12-31T23:59:59.999Z");
	ck_assert_str_eq(time_format(1583020799999LL, b),
	    "2020-02-29T23:59:59.999Z");
	ck_assert_str_eq(time_format(-62135596800000LL, b),
	    "0001-01-01T00:00:00.000Z");
	ck_assert_str_eq(time_format(253402300799999LL, b),
	    "9999-12-31T23:59:59.999Z");
	ck_assert_ptr_eq(time_format(5, b), b);
}
END_TEST

START_TEST(test_format_extremes)
{
	char b[TIME_BUFSZ];

	/* Nonsense times, but never a crash or an overrun. */
	ck_assert_str_eq(time_format(INT64_MIN, b),
	    "-292275055-05-16T16:47:04.192Z");
	ck_assert_str_eq(time_format(INT64_MAX, b),
	    "292278994-08-17T07:12:55.807Z");
	ck_assert_str_eq(time_format(-62135596800001LL, b),
	    "0000-12-31T23:59:59.999Z");
	ck_assert_uint_lt(strlen(time_format(INT64_MIN + 1, b)), TIME_BUFSZ);
}
END_TEST

START_TEST(test_round_trip)
{
	static const int64_t v[] = {
		0, 1, 999, 1000, 1536855810630LL, 951782400000LL,
		-86400000LL, -62135596800000LL, 253402300799999LL
	};
	char b[TIME_BUFSZ];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ck_assert_int_eq(parse(time_format(v[i], b)), v[i]);
	/* Every day of four years, leap day included, both ways. */
	for (i = 0; i < 4 * 366; i++) {
		int64_t t = 946684800000LL + (int64_t)i * 86400000LL + 12345;

		ck_assert_int_eq(parse(time_format(t, b)), t);
	}
}
END_TEST

START_TEST(test_clocks)
{
	int64_t now = time_now();
	double a, c;

	/* After 2020-01-01 and before 2100-01-01. */
	ck_assert_int_gt(now, 1577836800000LL);
	ck_assert_int_lt(now, 4102444800000LL);
	a = time_mono_ms();
	c = time_mono_ms();
	ck_assert(a > 0);
	ck_assert(c >= a);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("timefmt");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_fractions);
	tcase_add_test(tc, test_offsets);
	tcase_add_test(tc, test_calendar);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_format_extremes);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_clocks);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
