/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for duration_parse and duration_format, table-driven. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

static const struct {
	const char	*in;
	int64_t		 ms;
} good[] = {
	{ "0", 0 },
	{ "0s", 0 },
	{ "10s", 10000 },
	{ "1m30s", 90000 },
	{ "1h", 3600000 },
	{ "500ms", 500 },
	{ "2d", 172800000 },
	{ "1w", 604800000 },
	{ "1y", INT64_C(31536000000) },
	{ "1y1w1d1h1m1s1ms", INT64_C(31536000000) + 604800000 + 86400000 +
	    3600000 + 60000 + 1000 + 1 },
	{ "1.5h", 5400000 },
	{ "0.5s", 500 },
	{ ".5s", 500 },
	{ "2.s", 2000 },
	{ "1.0001s", 1000 },
	{ "1500us", 1 },
	{ "1500\xc2\xb5s", 1 },
	{ "1500\xce\xbcs", 1 },
	{ "999999ns", 0 },
	{ "2000000ns", 2 },
	{ "1s500ms", 1500 },
	{ "1ms999us1000ns", 2 },
	{ "0.75ms250us", 1 },
	{ "45s", 45000 },
	{ "5m", 300000 },
	{ "106751991167d", INT64_C(106751991167) * 86400000 }
};

static const struct {
	const char	*in;
	const char	*err;
} bad[] = {
	{ "", "invalid duration \"\": empty" },
	{ "10", "invalid duration \"10\": missing unit" },
	{ "-5s", "invalid duration \"-5s\": negative durations are not "
	    "allowed" },
	{ "1s1m", "invalid duration \"1s1m\": units must go from largest to "
	    "smallest" },
	{ "1m1m", "invalid duration \"1m1m\": unit repeated" },
	{ "1us1\xc2\xb5s", "invalid duration \"1us1\xc2\xb5s\": unit "
	    "repeated" },
	{ "5x", "invalid duration \"5x\": unknown unit" },
	{ "s", "invalid duration \"s\": expected a number" },
	{ "1 s", "invalid duration \"1 s\": unknown unit" },
	{ " 1s", "invalid duration \" 1s\": expected a number" },
	{ ".s", "invalid duration \".s\": bad number" },
	{ "1.2.3s", "invalid duration \"1.2.3s\": missing unit" },
	{ "00", "invalid duration \"00\": missing unit" },
	{ "9223372036854775808ms", "invalid duration "
	    "\"9223372036854775808ms\": out of range" },
	{ "300000000y", "invalid duration \"300000000y\": out of range" },
	{ "106751991168d", "invalid duration \"106751991168d\": out of range" },
	{ "9223372036854775807ms1us", NULL },
	{ "abc", "invalid duration \"abc\": expected a number" }
};

START_TEST(test_parse_good)
{
	char	 err[256] = "";
	int64_t	 ms = -1;

	ck_assert_msg(duration_parse(good[_i].in, &ms, err, sizeof(err)) == 0,
	    "%s: %s", good[_i].in, err);
	ck_assert_msg(ms == good[_i].ms, "%s: got %lld want %lld",
	    good[_i].in, (long long)ms, (long long)good[_i].ms);
}
END_TEST

START_TEST(test_parse_bad)
{
	char	 err[256] = "";
	int64_t	 ms = 42;

	if (bad[_i].err == NULL) {
		/* A sub-millisecond tail below the limit stays in range. */
		ck_assert_int_eq(duration_parse(bad[_i].in, &ms, err,
		    sizeof(err)), 0);
		ck_assert(ms == INT64_MAX);
		return;
	}
	ck_assert_msg(duration_parse(bad[_i].in, &ms, err, sizeof(err)) == -1,
	    "%s accepted", bad[_i].in);
	ck_assert_str_eq(err, bad[_i].err);
	ck_assert(ms == 42);
}
END_TEST

static const struct {
	int64_t		 ms;
	const char	*out;
} fmt[] = {
	{ 0, "0s" },
	{ 90000, "1m30s" },
	{ 1500, "1s500ms" },
	{ 86400000, "1d" },
	{ 1, "1ms" },
	{ 3600000, "1h" },
	{ 604800000, "1w" },
	{ 7776000000LL, "90d" },
	{ INT64_C(31536000000), "1y" },
	{ INT64_C(31536000000) + 86400000, "366d" },
	{ 93784005, "1d2h3m4s5ms" },
	{ -1500, "-1s500ms" }
};

START_TEST(test_format)
{
	char	 buf[64];

	ck_assert_str_eq(duration_format(fmt[_i].ms, buf, sizeof(buf)),
	    fmt[_i].out);
}
END_TEST

START_TEST(test_format_small_buffer)
{
	char	 buf[4];

	duration_format(93784005, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1d2");
	duration_format(0, buf, 1);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_roundtrip)
{
	static const int64_t	 v[] = { 1, 999, 1000, 61001, 86400000,
	    INT64_C(31536000000) * 3, INT64_MAX };
	char			 buf[64], err[128];
	int64_t			 ms;
	size_t			 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		duration_format(v[i], buf, sizeof(buf));
		ck_assert_msg(duration_parse(buf, &ms, err, sizeof(err)) == 0,
		    "%s: %s", buf, err);
		ck_assert_msg(ms == v[i], "%s", buf);
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("duration");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 nfail;

	tcase_add_loop_test(tc, test_parse_good, 0,
	    sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_parse_bad, 0,
	    sizeof(bad) / sizeof(bad[0]));
	tcase_add_loop_test(tc, test_format, 0, sizeof(fmt) / sizeof(fmt[0]));
	tcase_add_test(tc, test_format_small_buffer);
	tcase_add_test(tc, test_roundtrip);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
