/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of label sets. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"

START_TEST(test_sorted_unique)
{
	struct labelset ls, cp;

	labels_init(&ls);
	labels_set(&ls, "job", "api");
	labels_set(&ls, "env", "prod");
	labels_set(&ls, "zone", "b");
	labels_set(&ls, "env", "dev");
	ck_assert_uint_eq(ls.n, 3);
	ck_assert_str_eq(ls.v[0].name, "env");
	ck_assert_str_eq(ls.v[0].value, "dev");
	ck_assert_str_eq(ls.v[2].name, "zone");
	ck_assert_str_eq(labels_get(&ls, "job"), "api");
	ck_assert_ptr_null(labels_get(&ls, "nope"));
	labels_copy(&cp, &ls);
	ck_assert_int_eq(labels_equal(&cp, &ls), 1);
	/* An empty value is an absent label, as in Prometheus. */
	labels_set(&ls, "job", "");
	ck_assert_uint_eq(ls.n, 2);
	ck_assert_ptr_null(labels_get(&ls, "job"));
	ck_assert_int_eq(labels_equal(&cp, &ls), 0);
	labels_del(&ls, "env");
	labels_del(&ls, "nope");
	ck_assert_uint_eq(ls.n, 1);
	ck_assert_str_eq(ls.v[0].name, "zone");
	labels_release(&ls);
	labels_release(&cp);
	ck_assert_uint_eq(ls.n, 0);
}
END_TEST

START_TEST(test_many)
{
	struct labelset ls;
	char name[16];
	int i;

	labels_init(&ls);
	for (i = 999; i >= 0; i--) {
		snprintf(name, sizeof(name), "l%04d", i);
		labels_set(&ls, name, "v");
	}
	ck_assert_uint_eq(ls.n, 1000);
	for (i = 1; i < 1000; i++)
		ck_assert_int_lt(strcmp(ls.v[i - 1].name, ls.v[i].name), 0);
	labels_release(&ls);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("labels");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_sorted_unique);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
