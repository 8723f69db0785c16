/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for urlenc: strict percent-decoding of path parts. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "urlenc.h"

static char errbuf[256];

static char *
dec(const char *s, size_t *n)
{
	errbuf[0] = '\0';
	return urlenc_decode(s, strlen(s), n, errbuf, sizeof(errbuf));
}

START_TEST(test_plain)
{
	size_t n = 99;
	char *p = dec("abc-._~", &n);

	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "abc-._~");
	ck_assert_uint_eq(n, 7);
	free(p);
	p = dec("", &n);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(n, 0);
	free(p);
}
END_TEST

START_TEST(test_escapes)
{
	size_t n;
	char *p;

	p = dec("a%2Fb%2fc%20d%25e%40f%22", &n);
	ck_assert_str_eq(p, "a/b/c d%e@f\"");
	ck_assert_uint_eq(n, 12);
	free(p);
	/* '+' is a plus in a path, not a space. */
	p = dec("a+b%2B", NULL);
	ck_assert_str_eq(p, "a+b+");
	free(p);
	/* A decoded '%' is not decoded again. */
	p = dec("%2541", NULL);
	ck_assert_str_eq(p, "%41");
	free(p);
}
END_TEST

START_TEST(test_utf8)
{
	char *p;

	p = dec("%C3%A9t%C3%A9%E2%82%AC", NULL);
	ck_assert_str_eq(p, "\xc3\xa9t\xc3\xa9\xe2\x82\xac");
	free(p);
	/* Raw UTF-8 passes through. */
	p = dec("\xc3\xa9", NULL);
	ck_assert_str_eq(p, "\xc3\xa9");
	free(p);
	/* Invalid UTF-8 is not this module's business. */
	p = dec("%FF", NULL);
	ck_assert_str_eq(p, "\xff");
	free(p);
}
END_TEST

START_TEST(test_invalid)
{
	ck_assert_ptr_null(dec("%", NULL));
	ck_assert_str_eq(errbuf, "invalid percent-escape at byte 0");
	ck_assert_ptr_null(dec("ab%4", NULL));
	ck_assert_str_eq(errbuf, "invalid percent-escape at byte 2");
	ck_assert_ptr_null(dec("ab%zz", NULL));
	ck_assert_str_eq(errbuf, "invalid percent-escape at byte 2");
	ck_assert_ptr_null(dec("%4g", NULL));
	ck_assert_ptr_null(dec("%%41", NULL));
	ck_assert_ptr_null(dec("x%-1", NULL));
}
END_TEST

START_TEST(test_nul)
{
	char *p;

	ck_assert_ptr_null(dec("a%00b", NULL));
	ck_assert_str_eq(errbuf, "NUL byte (%00) at byte 1");
	p = urlenc_decode("a\0b", 3, NULL, errbuf, sizeof(errbuf));
	ck_assert_ptr_null(p);
	ck_assert_str_eq(errbuf, "NUL byte at byte 1");
	/* Only len bytes are read: no terminator needed. */
	p = urlenc_decode("ab%41zzz", 5, NULL, errbuf, sizeof(errbuf));
	ck_assert_str_eq(p, "abA");
	free(p);
	p = urlenc_decode("ab%4", 4, NULL, errbuf, sizeof(errbuf));
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_encode_roundtrip)
{
	const char *key = "GET /a b%c@d\"e\xc3\xa9+f?g#h";
	struct buf b;
	char *p;

	buf_init(&b);
	urlenc_encode(&b, key, strlen(key));
	ck_assert_str_eq(b.p, "GET%20%2Fa%20b%25c%40d%22e%C3%A9%2Bf%3Fg%23h");
	p = dec(b.p, NULL);
	ck_assert_str_eq(p, key);
	free(p);
	buf_release(&b);
}
END_TEST

static Suite *
urlenc_suite(void)
{
	Suite *s = suite_create("urlenc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_encode_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(urlenc_suite());
	int nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
