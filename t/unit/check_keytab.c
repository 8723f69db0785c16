/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for keytab: keys of strings, values with a time, forgetting. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "keytab.h"

static void
key1(struct keytab_key *k, const char *a)
{
	keytab_key(k, &a, 1);
}

START_TEST(test_keys)
{
	const char *ab_c[] = { "ab", "c" }, *a_bc[] = { "a", "bc" };
	struct keytab_key x, y;

	keytab_key(&x, ab_c, 2);
	keytab_key(&y, a_bc, 2);
	ck_assert(x.h1 != y.h1 || x.h2 != y.h2);
	keytab_key(&y, ab_c, 2);
	ck_assert(x.h1 == y.h1 && x.h2 == y.h2);
	ck_assert_uint_ne(x.h1, 0);
	ck_assert_uint_ne(keytab_mix(0, "abc", 3), keytab_mix(0, "abd", 3));
	ck_assert_uint_ne(keytab_mix(0, "abc", 3), keytab_mix(0, "abc", 2));
	/* Mixing in steps is mixing at once. */
	ck_assert_uint_eq(keytab_mix(keytab_mix(0, "ab", 2), "c", 1),
	    keytab_mix(0, "abc", 3));
}
END_TEST

START_TEST(test_get_put)
{
	struct keytab *t = keytab_new();
	struct keytab_key k, l;
	uint64_t v;
	int64_t at;

	key1(&k, "u1");
	key1(&l, "u2");
	ck_assert_int_eq(keytab_get(t, &k, &v, &at), 0);
	keytab_put(t, &k, 7, 100, 0);
	ck_assert_int_eq(keytab_get(t, &k, &v, &at), 1);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(at, 100);
	ck_assert_int_eq(keytab_get(t, &l, &v, &at), 0);
	keytab_put(t, &k, 8, 200, 0);
	ck_assert_int_eq(keytab_get(t, &k, &v, &at), 1);
	ck_assert_uint_eq(v, 8);
	ck_assert_uint_eq(keytab_count(t), 1);
	keytab_free(t);
	keytab_free(NULL);
}
END_TEST

/* Growth keeps every entry; entries older than forget make room. */
START_TEST(test_grow_forget)
{
	struct keytab *t = keytab_new();
	struct keytab_key k;
	char s[32];
	uint64_t v;
	int64_t at;
	int i;

	for (i = 0; i < 10000; i++) {
		snprintf(s, sizeof(s), "target-%d", i);
		key1(&k, s);
		keytab_put(t, &k, (uint64_t)i, i, 0);
	}
	ck_assert_uint_eq(keytab_count(t), 10000);
	for (i = 0; i < 10000; i++) {
		snprintf(s, sizeof(s), "target-%d", i);
		key1(&k, s);
		ck_assert_int_eq(keytab_get(t, &k, &v, &at), 1);
		ck_assert_uint_eq(v, (uint64_t)i);
	}
	/* Ten thousand more, forgetting all before 15000. */
	for (i = 10000; i < 20000; i++) {
		snprintf(s, sizeof(s), "target-%d", i);
		key1(&k, s);
		keytab_put(t, &k, (uint64_t)i, i, 15000);
	}
	/* Growing past half full rebuilt the table without the old ones. */
	ck_assert_uint_eq(keytab_count(t), 5000);
	key1(&k, "target-0");
	ck_assert_int_eq(keytab_get(t, &k, &v, &at), 0);
	for (i = 15000; i < 20000; i++) {
		snprintf(s, sizeof(s), "target-%d", i);
		key1(&k, s);
		ck_assert_int_eq(keytab_get(t, &k, &v, &at), 1);
	}
	keytab_free(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("keytab");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_get_put);
	tcase_add_test(tc, test_grow_forget);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
