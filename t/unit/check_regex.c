/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the RE2-on-PCRE2 regular expressions. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "regex.h"

/* 1 when pattern compiles and matches the whole of s. */
static int
matches(const char *pattern, const char *s)
{
	struct regex *re;
	char err[256];
	int rc;

	re = regex_compile(pattern, err, sizeof(err));
	ck_assert_msg(re != NULL, "%s: %s", pattern, err);
	rc = regex_test(re, s, strlen(s));
	regex_free(re);
	return rc;
}

/* The compile error for pattern, which must be refused. */
static const char *
refused(const char *pattern)
{
	static char err[256];
	struct regex *re;

	err[0] = '\0';
	re = regex_compile(pattern, err, sizeof(err));
	ck_assert_msg(re == NULL, "%s: accepted", pattern);
	return err;
}

START_TEST(test_anchored)
{
	ck_assert_int_eq(matches("prod", "prod"), 1);
	ck_assert_int_eq(matches("prod", "production"), 0);
	ck_assert_int_eq(matches("prod", "preprod"), 0);
	ck_assert_int_eq(matches("prod|production", "production"), 1);
	ck_assert_int_eq(matches("a|b", "ab"), 0);
	ck_assert_int_eq(matches("(.*)", ""), 1);
	ck_assert_int_eq(matches("", ""), 1);
	ck_assert_int_eq(matches("", "x"), 0);
	/* $ only at the very end, no multi-line. */
	ck_assert_int_eq(matches("a$", "a\n"), 0);
	ck_assert_int_eq(matches("a.b", "a\nb"), 0);
	ck_assert_int_eq(matches("(?s)a.b", "a\nb"), 1);
	ck_assert_int_eq(matches("(?m)a$\nb", "a\nb"), 1);
}
END_TEST

START_TEST(test_translations)
{
	char err[256], *t;

	t = regex_translate("a\\vb\\s\\S[\\s]\\101\\0", err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t, "^(?:a\\x{0b}b[\\t\\n\\f\\r ][^\\t\\n\\f\\r ]"
	    "[\\t\\n\\f\\r ]\\x{41}\\x{0})$");
	free(t);
	t = regex_translate("\\Qa.b(\\E+x{2}{", err, sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t, "^(?:a\\.b\\(+x{2}\\{)$");
	free(t);
	/* RE2 repeats assertions; "-" after a class is a literal. */
	t = regex_translate("^*\\b+$?[\\w-z][[:digit:]-a](?P<1x>.)", err,
	    sizeof(err));
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t, "^(?:(?:^)*(?:\\b)+(?:$)?[\\w\\-z][[:digit:]\\-a]"
	    "(?P<n_1x>.))$");
	free(t);
	ck_assert_int_eq(matches("[\\s-z]+", " -z"), 1);
	ck_assert_int_eq(matches("[\\s-z]+", "a"), 0);
	/* \v is a vertical tab in Go, a class in PCRE2. */
	ck_assert_int_eq(matches("\\v", "\v"), 1);
	ck_assert_int_eq(matches("\\v", "\n"), 0);
	ck_assert_int_eq(matches("\\s", "\v"), 0);
	ck_assert_int_eq(matches("\\s+", " \t\n\f\r"), 1);
	ck_assert_int_eq(matches("\\101\\x42\\x{43}", "ABC"), 1);
	ck_assert_int_eq(matches("\\Qa.b\\E", "a.b"), 1);
	ck_assert_int_eq(matches("\\Qa.b\\E", "axb"), 0);
	ck_assert_int_eq(matches("[]a]+", "]a]"), 1);
	ck_assert_int_eq(matches("[[:digit:]-]+", "1-2"), 1);
	ck_assert_int_eq(matches("a{,2}", "a{,2}"), 1);
	ck_assert_int_eq(matches("(?i)straße", "STRASSE"), 0);
	ck_assert_int_eq(matches("(?i)abc", "aBC"), 1);
	ck_assert_int_eq(matches("\\pL+ \\p{N}+", "Łódź 12"), 1);
	ck_assert_int_eq(matches("...", "Łód"), 1);
}
END_TEST

START_TEST(test_re2_rejections)
{
	ck_assert_str_eq(refused("(a)\\1"),
	    "offset 3: backreference \"\\1\" is not supported by RE2");
	ck_assert_str_eq(refused("\\k<n>"),
	    "offset 0: backreference \"\\k\" is not supported by RE2");
	ck_assert_str_eq(refused("(?P<n>a)(?P=n)"),
	    "offset 8: backreference \"(?P=\" is not supported by RE2");
	ck_assert_str_eq(refused("a(?=b)"),
	    "offset 1: lookahead \"(?=\" is not supported by RE2");
	ck_assert_str_eq(refused("a(?!b)"),
	    "offset 1: lookahead \"(?!\" is not supported by RE2");
	ck_assert_str_eq(refused("(?<=a)b"),
	    "offset 0: lookbehind \"(?<=\" is not supported by RE2");
	ck_assert_str_eq(refused("(?<!a)b"),
	    "offset 0: lookbehind \"(?<!\" is not supported by RE2");
	ck_assert_str_eq(refused("a++"), "offset 2: possessive quantifier "
	    "(\"+\" after a repetition) is not supported by RE2");
	ck_assert_str_eq(refused("a*+"), "offset 2: possessive quantifier "
	    "(\"+\" after a repetition) is not supported by RE2");
	ck_assert_str_eq(refused("a?+"), "offset 2: possessive quantifier "
	    "(\"+\" after a repetition) is not supported by RE2");
	ck_assert_str_eq(refused("a{2}+"), "offset 4: possessive quantifier "
	    "(\"+\" after a repetition) is not supported by RE2");
	ck_assert_str_eq(refused("(?>a)"),
	    "offset 0: atomic group \"(?>\" is not supported by RE2");
	ck_assert_str_eq(refused("(a|(?R))"),
	    "offset 3: recursion \"(?R\" is not supported by RE2");
	ck_assert_str_eq(refused("(a)(?1)"),
	    "offset 3: recursion \"(?1\" is not supported by RE2");
	ck_assert_str_eq(refused("(?(1)a|b)"),
	    "offset 0: conditional \"(?(\" is not supported by RE2");
	ck_assert_str_eq(refused("a\\Kb"),
	    "offset 1: escape \"\\K\" is not supported by RE2");
	ck_assert_str_eq(refused("\\Ga"),
	    "offset 0: escape \"\\G\" is not supported by RE2");
	ck_assert_str_eq(refused("a\\Z"),
	    "offset 1: escape \"\\Z\" is not supported by RE2");
	ck_assert_str_eq(refused("\\C"),
	    "offset 0: escape \"\\C\" is not supported by RE2");
	ck_assert_str_eq(refused("(*FAIL)"),
	    "offset 0: \"(*\" verbs are not supported by RE2");
	ck_assert_str_eq(refused("(?x)a"),
	    "offset 2: group or flag \"(?x\" is not supported by RE2");
	ck_assert_str_eq(refused("a**"),
	    "offset 2: invalid nested repetition operator \"*\"");
	ck_assert_str_eq(refused("*a"),
	    "offset 0: missing argument to repetition operator \"*\"");
	ck_assert_str_eq(refused("a{1001}"),
	    "offset 1: invalid repeat count \"{1001}\"");
	ck_assert_str_eq(refused("a{3,2}"),
	    "offset 1: invalid repeat count \"{3,2}\"");
	ck_assert_str_eq(refused("a)"), "offset 1: unexpected )");
	ck_assert_str_eq(refused("(a"), "offset 2: missing closing )");
	ck_assert_str_eq(refused("[a"), "offset 1: missing closing ]");
	ck_assert_str_eq(refused("a\\"),
	    "offset 1: trailing backslash at end of expression");
	ck_assert_str_eq(refused("[\\b]"), "offset 1: invalid escape \"\\b\"");
	ck_assert_str_eq(refused("\\Qa"), "offset 0: \\Q without \\E "
	    "(missing closing ) in Prometheus' ^(?:...)$)");
	ck_assert_ptr_nonnull(strstr(refused("(?<n>a)"), "use \"(?P<name>\""));
	/* What only PCRE2 notices comes with PCRE2's words. */
	ck_assert_str_eq(refused("[z-a]"), "offset 3: range out of order in "
	    "character class");
	/* RE2 has \z, \A, lazy quantifiers and (?P<name>). */
	ck_assert_int_eq(matches("\\Aa+?\\z", "aa"), 1);
	ck_assert_int_eq(matches("(?P<x>a)b", "ab"), 1);
}
END_TEST

START_TEST(test_groups)
{
	struct regex *re;
	size_t ov[8];
	char err[256];

	re = regex_compile("(?P<host>[^:]+)(?::(\\d+))?(x)?", err,
	    sizeof(err));
	ck_assert_ptr_nonnull(re);
	ck_assert_uint_eq(regex_ngroups(re), 3);
	ck_assert_int_eq(regex_group(re, "host", 4), 1);
	ck_assert_int_eq(regex_group(re, "hos", 3), -1);
	ck_assert_str_eq(regex_name(re, 1), "host");
	ck_assert_ptr_null(regex_name(re, 2));
	ck_assert_ptr_null(regex_name(re, 4));
	ck_assert_int_eq(regex_match(re, "h:80", 4, ov, 4), 1);
	ck_assert_uint_eq(ov[0], 0);
	ck_assert_uint_eq(ov[1], 4);
	ck_assert_uint_eq(ov[2], 0);
	ck_assert_uint_eq(ov[3], 1);
	ck_assert_uint_eq(ov[4], 2);
	ck_assert_uint_eq(ov[5], 4);
	ck_assert_uint_eq(ov[6], REGEX_UNSET);
	ck_assert_uint_eq(ov[7], REGEX_UNSET);
	ck_assert_int_eq(regex_match(re, "h:8a", 4, ov, 4), 0);
	regex_free(re);
	regex_free(NULL);
}
END_TEST

START_TEST(test_catastrophic)
{
	struct regex *re;
	char err[256], *s;
	size_t n = 5000;
	clock_t t0;
	double secs;

	re = regex_compile("(a+)+$", err, sizeof(err));
	ck_assert_ptr_nonnull(re);
	s = malloc(n + 2);
	memset(s, 'a', n);
	s[n] = 'b';
	s[n + 1] = '\0';
	t0 = clock();
	/* Backtracking gives up at the limit; the DFA answers. */
	ck_assert_int_eq(regex_match(re, s, n + 1, NULL, 0), -1);
	ck_assert_int_eq(regex_test(re, s, n + 1), 0);
	ck_assert_int_eq(regex_test(re, s, n), 1);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	ck_assert_msg(secs < 5, "took %.1f s", secs);
	free(s);
	regex_free(re);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("regex");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_anchored);
	tcase_add_test(tc, test_translations);
	tcase_add_test(tc, test_re2_rejections);
	tcase_add_test(tc, test_groups);
	tcase_add_test(tc, test_catastrophic);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
