/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the waits between tries and periskop-run's restart policy. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "backoff.h"

START_TEST(test_doubling_capped)
{
	ck_assert_int_eq(backoff_ms(0, 1000, 60000), 1000);
	ck_assert_int_eq(backoff_ms(1, 1000, 60000), 1000);
	ck_assert_int_eq(backoff_ms(2, 1000, 60000), 2000);
	ck_assert_int_eq(backoff_ms(6, 1000, 60000), 32000);
	ck_assert_int_eq(backoff_ms(7, 1000, 60000), 60000);
	ck_assert_int_eq(backoff_ms(1000000, 1000, 60000), 60000);
	ck_assert_int_eq(backoff_ms(3, 50, 5000), 200);
	ck_assert_int_eq(backoff_ms(3, 5000, 1000), 1000);
}
END_TEST

START_TEST(test_jitter_bounds)
{
	int64_t	 lo = INT64_MAX, hi = 0, j;
	int	 i;

	srandom(7);
	for (i = 0; i < 10000; i++) {
		j = backoff_jitter(1000);
		lo = j < lo ? j : lo;
		hi = j > hi ? j : hi;
	}
	ck_assert_int_ge(lo, 500);
	ck_assert_int_lt(hi, 1500);
	/* Spread over the range, not stuck at one value. */
	ck_assert_int_lt(lo, 600);
	ck_assert_int_gt(hi, 1400);
}
END_TEST

START_TEST(test_restart_policy)
{
	struct restart	 r = { 1000, 60000, 60000, 0 };

	/* Dying at once, again and again: 1 s, 2 s, 4 s, ... up to 60 s. */
	ck_assert_int_eq(restart_delay(&r, 0, 10), 1000);
	ck_assert_int_eq(restart_delay(&r, 1010, 1020), 2000);
	ck_assert_int_eq(restart_delay(&r, 3020, 3030), 4000);
	for (int i = 0; i < 10; i++)
		restart_delay(&r, 0, 10);
	ck_assert_int_eq(restart_delay(&r, 0, 10), 60000);
	/* A run of a minute starts over. */
	ck_assert_int_eq(restart_delay(&r, 100000, 160000), 1000);
	ck_assert_int_eq(restart_delay(&r, 161000, 161500), 2000);

	ck_assert(restart_hopeless(64));
	ck_assert(restart_hopeless(78));
	ck_assert(!restart_hopeless(0));
	ck_assert(!restart_hopeless(1));
	ck_assert(!restart_hopeless(69));
	ck_assert(!restart_hopeless(137));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("backoff");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 nfail;

	tcase_add_test(tc, test_doubling_capped);
	tcase_add_test(tc, test_jitter_bounds);
	tcase_add_test(tc, test_restart_policy);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
