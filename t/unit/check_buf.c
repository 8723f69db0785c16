/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for buf: growth, and JSON strings escaped as Go escapes them. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* buf_addjstr's output for s, in a static buffer for short asserts. */
static const char *
js(const char *s)
{
	static char out[4096];
	struct buf b;

	buf_init(&b);
	buf_addjstr(&b, s);
	ck_assert_uint_lt(b.len, sizeof(out));
	memcpy(out, b.p, b.len + 1);
	buf_release(&b);
	return out;
}

static const char *
jsn(const char *s, size_t n)
{
	static char out[4096];
	struct buf b;

	buf_init(&b);
	buf_addjstrn(&b, s, n);
	memcpy(out, b.p, b.len + 1);
	buf_release(&b);
	return out;
}

START_TEST(test_basics)
{
	struct buf b;
	char *p;
	size_t n = 99, i;

	buf_init(&b);
	ck_assert_str_eq(b.p, "");
	ck_assert_uint_eq(b.len, 0);
	buf_adds(&b, "ab");
	buf_addc(&b, 'c');
	buf_add(&b, "dexx", 2);
	buf_addf(&b, "-%d-%s", 42, "z");
	ck_assert_str_eq(b.p, "abcde-42-z");
	ck_assert_uint_eq(b.len, 10);
	buf_reset(&b);
	ck_assert_str_eq(b.p, "");
	ck_assert_uint_eq(b.len, 0);
	for (i = 0; i < 10000; i++)
		buf_addc(&b, (char)('a' + i % 26));
	ck_assert_uint_eq(b.len, 10000);
	ck_assert_uint_eq(strlen(b.p), 10000);
	ck_assert_int_eq(b.p[9999], 'a' + 9999 % 26);
	p = buf_detach(&b, &n);
	ck_assert_uint_eq(n, 10000);
	ck_assert_str_eq(b.p, "");
	ck_assert_uint_eq(b.len, 0);
	free(p);
	/* Detaching an empty buffer still gives a string to free. */
	p = buf_detach(&b, &n);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(n, 0);
	free(p);
	buf_release(&b);
	buf_release(&b);
}
END_TEST

START_TEST(test_numbers)
{
	struct buf b;

	buf_init(&b);
	buf_addjint(&b, 0);
	buf_addc(&b, ' ');
	buf_addjint(&b, -5);
	buf_addc(&b, ' ');
	buf_addjint(&b, INT64_MIN);
	buf_addc(&b, ' ');
	buf_addjint(&b, INT64_MAX);
	ck_assert_str_eq(b.p,
	    "0 -5 -9223372036854775808 9223372036854775807");
	buf_reset(&b);
	buf_addjdouble(&b, 3.0);
	buf_addc(&b, ' ');
	buf_addjdouble(&b, 3.1);
	buf_addc(&b, ' ');
	buf_addjdouble(&b, 3.14159);
	buf_addc(&b, ' ');
	buf_addjdouble(&b, 0.0);
	buf_addc(&b, ' ');
	buf_addjdouble(&b, 1200.0);
	buf_addc(&b, ' ');
	buf_addjdouble(&b, NAN);
	buf_addc(&b, ' ');
	buf_addjdouble(&b, INFINITY);
	ck_assert_str_eq(b.p, "3 3.1 3.142 0 1200 null null");
	buf_release(&b);
}
END_TEST

START_TEST(test_plain)
{
	ck_assert_str_eq(js(""), "\"\"");
	ck_assert_str_eq(js("hello world"), "\"hello world\"");
	ck_assert_str_eq(js(NULL), "null");
	/* '/', DEL and the rest of printable ASCII stay as they are. */
	ck_assert_str_eq(js("a/b\x7f~'"), "\"a/b\x7f~'\"");
}
END_TEST

START_TEST(test_html)
{
	/* Go escapes these so JSON can sit inside HTML. */
	ck_assert_str_eq(js("<script>&"), "\"\\u003cscript\\u003e\\u0026\"");
	ck_assert_str_eq(js("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c"),
	    "\"a\\u2028b\\u2029c\"");
}
END_TEST

START_TEST(test_controls)
{
	ck_assert_str_eq(js("\"q\" \\"), "\"\\\"q\\\" \\\\\"");
	ck_assert_str_eq(js("a\nb\rc\td"), "\"a\\nb\\rc\\td\"");
	/* Go before 1.22, the original server's, writes \b and \f as \u. */
	ck_assert_str_eq(js("\b\f"), "\"\\u0008\\u000c\"");
	ck_assert_str_eq(js("\x01\x1f\x1b"), "\"\\u0001\\u001f\\u001b\"");
	ck_assert_str_eq(jsn("a\0b", 3), "\"a\\u0000b\"");
}
END_TEST

START_TEST(test_utf8)
{
	/* Valid UTF-8 of every length passes unchanged. */
	ck_assert_str_eq(js("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	    "\"\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	ck_assert_str_eq(js("\xef\xbf\xbd"), "\"\xef\xbf\xbd\"");
	ck_assert_str_eq(js("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"");
}
END_TEST

START_TEST(test_invalid_utf8)
{
	/* Each byte that starts no valid sequence becomes one U+FFFD. */
	ck_assert_str_eq(js("a\xff" "b"), "\"a\\ufffdb\"");
	ck_assert_str_eq(js("\xc3"), "\"\\ufffd\"");
	ck_assert_str_eq(js("\xe2\x82"), "\"\\ufffd\\ufffd\"");
	ck_assert_str_eq(js("\xe2\x82x"), "\"\\ufffd\\ufffdx\"");
	ck_assert_str_eq(js("\x80"), "\"\\ufffd\"");
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	ck_assert_str_eq(js("\xc0\x80"), "\"\\ufffd\\ufffd\"");
	ck_assert_str_eq(js("\xe0\x80\xaf"), "\"\\ufffd\\ufffd\\ufffd\"");
	ck_assert_str_eq(js("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	ck_assert_str_eq(js("\xf4\x90\x80\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	ck_assert_str_eq(js("\xf8\x88\x80\x80\x80"),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* A cut sequence does not swallow the valid one after it. */
	ck_assert_str_eq(js("\xe2\xc3\xa9"), "\"\\ufffd\xc3\xa9\"");
}
END_TEST

/* The text the JSON writer keeps of a string, as UTF-8 (the store's keys). */
START_TEST(test_utf8_clean)
{
	static const char ok[] = "k \xc3\xa9";
	struct buf b;

	buf_init(&b);
	ck_assert_ptr_eq(buf_utf8_clean(&b, ok), ok);
	ck_assert_str_eq(buf_utf8_clean(&b, "a\xff" "b"), "a\xef\xbf\xbd" "b");
	ck_assert_str_eq(buf_utf8_clean(&b, "\xe2\xc3\xa9\xed\xa0\x80"),
	    "\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert_str_eq(buf_utf8_clean(&b, ""), "");
	buf_release(&b);
}
END_TEST

START_TEST(test_long)
{
	struct buf b;
	size_t n = 1000000, i;
	char *s;

	s = malloc(n + 1);
	for (i = 0; i < n; i++)
		s[i] = i % 1000 == 999 ? '<' : 'x';
	s[n] = '\0';
	buf_init(&b);
	buf_addjstr(&b, s);
	/* 1000 '<' grow by five bytes each, plus the quotes. */
	ck_assert_uint_eq(b.len, n + 1000 * 5 + 2);
	ck_assert_int_eq(memcmp(b.p + b.len - 7, "\\u003c\"", 7), 0);
	buf_release(&b);
	free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_basics);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_html);
	tcase_add_test(tc, test_controls);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_utf8_clean);
	tcase_add_test(tc, test_long);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
