/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for jdoc: values, refusals with their place, jansson's rules. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jdoc_ref.h"

static char errbuf[256];

static struct jdoc *
parse(const char *s)
{
	errbuf[0] = '\0';
	return jdoc_parse(s, strlen(s), errbuf, sizeof(errbuf));
}

static void
reject(const char *s, const char *want)
{
	struct jdoc *d = parse(s);

	ck_assert_msg(d == NULL, "accepted: %s", s);
	ck_assert_str_eq(errbuf, want);
}

START_TEST(test_values)
{
	const struct jval *r, *v;
	struct jdoc *d;

	d = parse(" {\"a\": [1, -9223372036854775808, 2.5e1, true, false,"
	    " null, \"x\\u00e9\\ud83d\\ude00\\n\"], \"b\": {}} ");
	ck_assert_msg(d != NULL, "%s", errbuf);
	r = jdoc_root(d);
	ck_assert_int_eq(r->type, J_OBJECT);
	ck_assert_uint_eq(r->n, 2);
	v = jval_get(r, "a");
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->type, J_ARRAY);
	ck_assert_uint_eq(v->n, 7);
	ck_assert_int_eq(v->u.v[0].type, J_INT);
	ck_assert_int_eq(v->u.v[0].u.i, 1);
	ck_assert_int_eq(v->u.v[1].u.i, INT64_MIN);
	ck_assert_int_eq(v->u.v[2].type, J_REAL);
	ck_assert(v->u.v[2].u.d == 25.0);
	ck_assert_int_eq(v->u.v[3].type, J_TRUE);
	ck_assert_int_eq(v->u.v[4].type, J_FALSE);
	ck_assert_int_eq(v->u.v[5].type, J_NULL);
	ck_assert_str_eq(v->u.v[6].u.s, "x\xc3\xa9\xf0\x9f\x98\x80\n");
	ck_assert_uint_eq(v->u.v[6].n, 8);
	ck_assert_int_eq(jval_get(r, "b")->type, J_OBJECT);
	ck_assert_ptr_null(jval_get(r, "c"));
	ck_assert_ptr_null(jval_get(v, "a"));
	ck_assert_str_eq(jval_type_name(v), "an array");
	jdoc_free(d);
	jdoc_free(NULL);
}
END_TEST

START_TEST(test_strings_repaired)
{
	static const char doc[] = "[\"a\xff" "b\xe2\x82" "c\",\"\\ud800x"
	    "\\udc80\",\"n\\u0000m\"]";
	const struct jval *r;
	struct jdoc *d;

	d = jdoc_parse(doc, sizeof(doc) - 1, errbuf, sizeof(errbuf));
	ck_assert_msg(d != NULL, "%s", errbuf);
	r = jdoc_root(d);
	ck_assert_str_eq(r->u.v[0].u.s,
	    "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c");
	ck_assert_str_eq(r->u.v[1].u.s, "\xef\xbf\xbdx\xef\xbf\xbd");
	/* An escaped NUL stays: n counts it. */
	ck_assert_uint_eq(r->u.v[2].n, 3);
	ck_assert_int_eq(memcmp(r->u.v[2].u.s, "n\0m", 4), 0);
	jdoc_free(d);
}
END_TEST

START_TEST(test_duplicate_keys)
{
	const struct jval *r;
	struct buf b;
	struct jdoc *d;
	int i;

	/* The first place, the last value, as jansson keeps them. */
	d = parse("{\"a\":1,\"b\":2,\"a\":3,\"a\":4}");
	r = jdoc_root(d);
	ck_assert_uint_eq(r->n, 2);
	ck_assert_str_eq(r->u.v[0].u.s, "a");
	ck_assert_int_eq(r->u.v[1].u.i, 4);
	ck_assert_str_eq(r->u.v[2].u.s, "b");
	jdoc_free(d);
	/* And in an object too large to compare pair by pair. */
	buf_init(&b);
	buf_addc(&b, '{');
	for (i = 0; i < 1000; i++)
		buf_addf(&b, "%s\"k%d\":%d", i ? "," : "", i % 300, i);
	buf_addc(&b, '}');
	d = jdoc_parse(b.p, b.len, errbuf, sizeof(errbuf));
	r = jdoc_root(d);
	ck_assert_uint_eq(r->n, 300);
	ck_assert_str_eq(r->u.v[2 * 7].u.s, "k7");
	ck_assert_int_eq(jval_get(r, "k7")->u.i, 907);
	ck_assert_int_eq(jval_get(r, "k299")->u.i, 899);
	jdoc_free(d);
	buf_release(&b);
}
END_TEST

START_TEST(test_refused)
{
	struct buf b;
	struct jdoc *d;
	int i;

	reject("", "not JSON at byte 0 (line 1, column 1): "
	    "unexpected token near end of file");
	reject("{\"a\":}", "not JSON at byte 5 (line 1, column 6): "
	    "unexpected token near '}'");
	reject("[] x", "not JSON at byte 3 (line 1, column 4): "
	    "end of file expected near 'x'");
	reject("{\n\"a\": tru}", "not JSON at byte 7 (line 2, column 6): "
	    "invalid token near 'tru'");
	reject("[99999999999999999999]", "not JSON at byte 1 (line 1, "
	    "column 2): too big integer near '99999999999999999999'");
	reject("[-9223372036854775809]", "not JSON at byte 1 (line 1, "
	    "column 2): too big integer near '-9223372036854775809'");
	reject("[1e400]", "not JSON at byte 1 (line 1, column 2): "
	    "real number overflow near '1e400'");
	reject("[1,]", "not JSON at byte 3 (line 1, column 4): "
	    "unexpected token near ']'");
	reject("{\"a\":1,}", "not JSON at byte 7 (line 1, column 8): "
	    "string or '}' expected near '}'");
	reject("{\"a\" 1}", "not JSON at byte 5 (line 1, column 6): "
	    "':' expected near '1'");
	reject("[1 2]", "not JSON at byte 3 (line 1, column 4): "
	    "',' or ']' expected near '2'");
	reject("[01]", "not JSON at byte 2 (line 1, column 3): "
	    "',' or ']' expected near '1'");
	reject("[\"a\nb\"]", "not JSON at byte 3 (line 1, column 4): "
	    "control character 0x0a in a string");
	reject("[\"a\\x\"]", "not JSON at byte 3 (line 1, column 4): "
	    "invalid escape near '\\'");
	/* jansson skips a raw NUL after a number; JSON has no place for it. */
	ck_assert_ptr_null(jdoc_parse("[1\0]", 4, errbuf, sizeof(errbuf)));
	reject("[\"abc", "not JSON at byte 1 (line 1, column 2): "
	    "unterminated string");
	reject("{\"a\\u0000\":1}", "not JSON at byte 1 (line 1, "
	    "column 2): NUL byte in object key not supported");
	reject("\xff", "not JSON at byte 0 (line 1, column 1): "
	    "invalid token near '\\xff'");
	/* As deep as jansson goes, and one more. */
	buf_init(&b);
	for (i = 0; i < JDOC_MAX_DEPTH; i++)
		buf_addc(&b, '[');
	for (i = 0; i < JDOC_MAX_DEPTH; i++)
		buf_addc(&b, ']');
	d = jdoc_parse(b.p, b.len, errbuf, sizeof(errbuf));
	ck_assert_msg(d != NULL, "%s", errbuf);
	jdoc_free(d);
	buf_reset(&b);
	for (i = 0; i < 10000; i++)
		buf_addc(&b, '[');
	ck_assert_ptr_null(jdoc_parse(b.p, b.len, errbuf, sizeof(errbuf)));
	ck_assert_str_eq(errbuf, "not JSON at byte 2048 (line 1, "
	    "column 2049): maximum parsing depth reached near '['");
	buf_release(&b);
	/* A short buffer gets a cut message; none at all is fine. */
	ck_assert_ptr_null(jdoc_parse("x", 1, errbuf, 10));
	ck_assert_str_eq(errbuf, "not JSON ");
	ck_assert_ptr_null(jdoc_parse("x", 1, NULL, 0));
}
END_TEST

/* xorshift64*: the same documents on every run. */
static uint64_t seed = 0x9e3779b97f4a7c15ULL;

static unsigned
rnd(unsigned n)
{
	seed ^= seed >> 12;
	seed ^= seed << 25;
	seed ^= seed >> 27;
	return (unsigned)((seed * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

static void
gen(struct buf *b, int depth)
{
	static const char *const atoms[] = { "0", "-0", "1", "-12", "3.5",
	    "1e5", "2E-3", "-0.0e+0", "9223372036854775807",
	    "-9223372036854775808", "9223372036854775808", "1e400", "1e-400",
	    "01", "1.", ".5", "-", "true", "false", "null", "tru", "nul",
	    "\"\"", "\"a\"", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\"",
	    "\"\\ud83d\\ude00\"", "\"\\ud800\\u0041\"", "\"\\\"\\\\\\/\\b\\f\\n"
	    "\\r\\t\"", "\"\xff\"", "\"\xc3\xa9\"", "\"\xe2\x82\"", "\"\xed"
	    "\xa0\x80\"", "\"\\x\"", "\"\\u12\"", "\"\x01\"", "\"\\ud800\\\"",
	    "\"\\\\ud800\"" };
	static const char *const keys[] = { "\"a\"", "\"b\"", "\"a\"",
	    "\"\"", "\"\\u0000\"", "\"\\u0061\"", "\"\xff\"", "\"\\ud800\"" };
	static const char *const ws[] = { "", "", "", " ", "\n", "\t\r", "\f" };
	unsigned i, n;

	buf_adds(b, ws[rnd(7)]);
	switch (depth > 6 ? 0 : rnd(4)) {
	case 0:
	case 1:
		buf_adds(b, atoms[rnd(sizeof(atoms) / sizeof(atoms[0]))]);
		break;
	case 2:
		buf_addc(b, '[');
		for (i = 0, n = rnd(5); i < n; i++) {
			if (i)
				buf_addc(b, ',');
			gen(b, depth + 1);
		}
		buf_addc(b, ']');
		break;
	default:
		buf_addc(b, '{');
		for (i = 0, n = rnd(5); i < n; i++) {
			if (i)
				buf_addc(b, ',');
			buf_adds(b, keys[rnd(sizeof(keys) / sizeof(keys[0]))]);
			buf_adds(b, ws[rnd(7)]);
			buf_addc(b, ':');
			gen(b, depth + 1);
		}
		buf_addc(b, '}');
	}
	buf_adds(b, ws[rnd(7)]);
}

/*
 * Many generated documents, some cut short or with one byte changed:
 * jdoc and the reference must agree on each.
 */
START_TEST(test_agrees_with_jansson)
{
	struct buf b;
	char why[512];
	int i, agree = 0, accepted = 0;

	buf_init(&b);
	for (i = 0; i < 200000; i++) {
		buf_reset(&b);
		gen(&b, 0);
		if (rnd(4) == 0 && b.len > 0)
			b.len = rnd((unsigned)b.len);
		else if (rnd(4) == 0 && b.len > 0)
			/* The 13th byte is the string's NUL. */
			b.p[rnd((unsigned)b.len)] =
			    "{}[],:\"\\ 0a\xff"[rnd(13)];
		if (jdoc_agrees(b.p, b.len, why, sizeof(why)))
			agree++;
		else
			ck_abort_msg("%s: %.*s", why, (int)b.len, b.p);
		if (strstr(why, "jdoc read it") != NULL)
			accepted++;
	}
	ck_assert_int_eq(agree, 200000);
	/* Both kinds were tried in numbers. */
	ck_assert_int_gt(accepted, 20000);
	ck_assert_int_lt(accepted, 180000);
	buf_release(&b);
}
END_TEST

static Suite *
jdoc_suite(void)
{
	Suite *s = suite_create("jdoc");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_strings_repaired);
	tcase_add_test(tc, test_duplicate_keys);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_agrees_with_jansson);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(jdoc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
