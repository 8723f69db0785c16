/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of relabelling; expected values as promtool 2.42 gives them. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "labels.h"
#include "record.h"
#include "relabel.h"

/* Fills c; srcs is comma-separated; NULL arguments take the defaults. */
static void
entry(struct conf_relabel *c, char **srcv, enum relabel_action a,
    const char *srcs, const char *sep, const char *regex, uint64_t mod,
    const char *target, const char *repl)
{
	static char store[8][256];
	static size_t next;
	char *buf = store[next++ % 8], *p, *save = NULL;
	size_t n = 0;

	memset(c, 0, sizeof(*c));
	if (srcs != NULL) {
		snprintf(buf, 256, "%s", srcs);
		for (p = strtok_r(buf, ",", &save); p != NULL;
		    p = strtok_r(NULL, ",", &save))
			srcv[n++] = p;
	}
	c->source_labels = srcv;
	c->nsource_labels = n;
	c->separator = (char *)(sep != NULL ? sep : ";");
	c->regex = (char *)(regex != NULL ? regex : "(.*)");
	c->modulus = mod;
	c->target_label = (char *)target;
	c->replacement = (char *)(repl != NULL ? repl : "$1");
	c->action = a;
}

static struct relabel_rules *
one(enum relabel_action a, const char *srcs, const char *sep,
    const char *regex, uint64_t mod, const char *target, const char *repl)
{
	struct relabel_rules *rs;
	struct conf_relabel c;
	char *srcv[8], err[256];

	entry(&c, srcv, a, srcs, sep, regex, mod, target, repl);
	rs = relabel_compile(&c, 1, err, sizeof(err));
	ck_assert_msg(rs != NULL, "%s", err);
	return rs;
}

/* "a=x,b=y" into a label set. */
static void
parse(struct labelset *ls, const char *s)
{
	char buf[512], *p, *save = NULL, *eq;

	labels_init(ls);
	snprintf(buf, sizeof(buf), "%s", s);
	for (p = strtok_r(buf, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		eq = strchr(p, '=');
		*eq = '\0';
		labels_set(ls, p, eq + 1);
	}
}

static char *
show(const struct labelset *ls)
{
	static char out[1024];
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < ls->n; i++)
		buf_addf(&b, "%s%s=%s", i ? "," : "", ls->v[i].name,
		    ls->v[i].value);
	snprintf(out, sizeof(out), "%s", b.p);
	buf_release(&b);
	return out;
}

/* Applies rs to labels; "DROPPED" when dropped; frees rs. */
static char *
run(struct relabel_rules *rs, const char *labels)
{
	static char out[1024];
	struct labelset ls;

	parse(&ls, labels);
	if (relabel_apply(rs, &ls))
		snprintf(out, sizeof(out), "%s", show(&ls));
	else
		snprintf(out, sizeof(out), "DROPPED");
	labels_release(&ls);
	relabel_rules_free(rs);
	return out;
}

#define R(a, srcs, regex, target, repl) \
	one(RELABEL_##a, srcs, NULL, regex, 0, target, repl)

START_TEST(test_replace_defaults)
{
	ck_assert_str_eq(run(R(REPLACE, "a", NULL, "copy", NULL), "a=x"),
	    "a=x,copy=x");
	ck_assert_str_eq(run(R(REPLACE, "a,b", NULL, "j", NULL),
	    "a=x,b=y"), "a=x,b=y,j=x;y");
	ck_assert_str_eq(run(one(RELABEL_REPLACE, "a,b,c", "-", NULL, 0, "j",
	    NULL), "a=x,b=y"), "a=x,b=y,j=x-y-");
	/* No source labels: the regex sees "", the replacement is literal. */
	ck_assert_str_eq(run(R(REPLACE, NULL, NULL, "t", "lit"), "a=x"),
	    "a=x,t=lit");
	/* Anchored: "prod" does not match "production". */
	ck_assert_str_eq(run(R(REPLACE, "e", "prod", "t", "yes"),
	    "e=production"), "e=production");
	ck_assert_str_eq(run(R(REPLACE, "e", "prod|production", "t", "yes"),
	    "e=production"), "e=production,t=yes");
	/* An empty result deletes the target label. */
	ck_assert_str_eq(run(R(REPLACE, "a", NULL, "b", ""), "a=x,b=y"),
	    "a=x");
	ck_assert_str_eq(run(R(REPLACE, "none", NULL, "b", NULL), "b=y"), "");
	/* No match, no change, even with an empty replacement. */
	ck_assert_str_eq(run(R(REPLACE, "a", "nomatch", "a", ""), "a=x"),
	    "a=x");
	/* A target expanding to an invalid name is skipped. */
	ck_assert_str_eq(run(R(REPLACE, "a", "(x)", "${2}", "v"), "a=x"),
	    "a=x");
	ck_assert_str_eq(run(R(REPLACE, "a", "(.*)", "t_$1", "v"), "a=x"),
	    "a=x,t_x=v");
	ck_assert_str_eq(run(R(REPLACE, "a", "(.*)", "$1", "v"), "a=1x"),
	    "a=1x");
}
END_TEST

START_TEST(test_expansion)
{
	const char *re = "(a)(b)(c)";

	ck_assert_str_eq(run(R(REPLACE, "v", re, "t", "$1x"), "v=abc"),
	    "v=abc");
	ck_assert_str_eq(run(R(REPLACE, "v", re, "t", "${1}x"), "v=abc"),
	    "t=ax,v=abc");
	ck_assert_str_eq(run(R(REPLACE, "v", re, "t", "$$1 costs $$"),
	    "v=abc"), "t=$1 costs $,v=abc");
	ck_assert_str_eq(run(R(REPLACE, "v", re, "t", "x${}y${1z$-$"),
	    "v=abc"), "t=x${}y${1z$-$,v=abc");
	ck_assert_str_eq(run(R(REPLACE, "v", re, "t", "[$9][$01][$0]"),
	    "v=abc"), "t=[][][abc],v=abc");
	ck_assert_str_eq(run(R(REPLACE, "v", re, "t", "end$"), "v=abc"),
	    "t=end$,v=abc");
	ck_assert_str_eq(run(R(REPLACE, "v", re, "t", "$1_$2_$3"), "v=abc"),
	    "t=c,v=abc");
	ck_assert_str_eq(run(R(REPLACE, "v", re, "t", "$3$2$1"), "v=abc"),
	    "t=cba,v=abc");
	ck_assert_str_eq(run(R(REPLACE, "v", "(a)(x)?(.*)", "t", "<$2><$3>"),
	    "v=abc"), "t=<><bc>,v=abc");
	ck_assert_str_eq(run(R(REPLACE, "v", "(?P<first>a)(?P<rest>.*)", "t",
	    "${rest}-$first-$nope"), "v=abc"), "t=bc-a-,v=abc");
	ck_assert_str_eq(run(R(REPLACE, "v", "(?P<first>a).*", "t",
	    "$firstx|${first}x"), "v=abc"), "t=|ax,v=abc");
	/* Go: the first group of that name that matched; digits first. */
	ck_assert_str_eq(run(R(REPLACE, "v", "(?P<x>q)?(?P<x>a)(?P<1st>.*)",
	    "t", "<$x|${1st}>"), "v=abc"), "t=<a|bc>,v=abc");
}
END_TEST

START_TEST(test_keep_drop)
{
	ck_assert_str_eq(run(R(KEEP, "t", "a", NULL, NULL), "t=a"), "t=a");
	ck_assert_str_eq(run(R(KEEP, "t", "a", NULL, NULL), "t=ab"),
	    "DROPPED");
	ck_assert_str_eq(run(R(KEEP, "t", "", NULL, NULL), "u=1"), "u=1");
	ck_assert_str_eq(run(R(DROP, "t", "a.*", NULL, NULL), "t=ab"),
	    "DROPPED");
	ck_assert_str_eq(run(R(DROP, "t", "a", NULL, NULL), "t=ab"), "t=ab");
	ck_assert_str_eq(run(R(DROP, NULL, NULL, NULL, NULL), "t=ab"),
	    "DROPPED");
	ck_assert_str_eq(run(R(KEEPEQUAL, "a", NULL, "b", NULL),
	    "a=s,b=s"), "a=s,b=s");
	ck_assert_str_eq(run(R(KEEPEQUAL, "a", NULL, "b", NULL),
	    "a=s,b=o"), "DROPPED");
	ck_assert_str_eq(run(R(KEEPEQUAL, "a", NULL, "b", NULL), "c=1"),
	    "c=1");
	ck_assert_str_eq(run(R(DROPEQUAL, "a", NULL, "b", NULL),
	    "a=s,b=s"), "DROPPED");
	ck_assert_str_eq(run(R(DROPEQUAL, "a", NULL, "b", NULL),
	    "a=s,b=o"), "a=s,b=o");
	ck_assert_str_eq(run(R(DROPEQUAL, "a", NULL, "b", NULL), "c=1"),
	    "DROPPED");
}
END_TEST

START_TEST(test_hashmod)
{
	/* Values promtool 2.42 gives (t/fixtures/promtool/04-hashmod.yaml). */
	ck_assert_str_eq(run(one(RELABEL_HASHMOD, "a", NULL, NULL, 1000, "h",
	    NULL), "a=127.0.0.1:7777"), "a=127.0.0.1:7777,h=152");
	ck_assert_str_eq(run(one(RELABEL_HASHMOD, "a", NULL, NULL, 1000, "h",
	    NULL), "a=127.0.0.2:7777"), "a=127.0.0.2:7777,h=649");
	ck_assert_str_eq(run(one(RELABEL_HASHMOD, "a", NULL, NULL, 3, "h",
	    NULL), "a=127.0.0.7:8080"), "a=127.0.0.7:8080,h=0");
	ck_assert_str_eq(run(one(RELABEL_HASHMOD, "a", NULL, NULL, 97, "h",
	    NULL), "b=1"), "b=1,h=43");
	ck_assert_str_eq(run(one(RELABEL_HASHMOD, "s,a", "/", NULL,
	    UINT64_MAX, "h", NULL), "a=127.0.0.1:7777,s=api"),
	    "a=127.0.0.1:7777,h=4812453498918112118,s=api");
}
END_TEST

START_TEST(test_md5)
{
	static const struct {
		const char *in, *hex;
	} v[] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz",
		    "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789", "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "1234567890123456789012345678901234567890"
		    "1234567890123456789012345678901234567890",
		    "57edf4a22be3c955ac49da2e2107b67a" },
	};
	unsigned char sum[16];
	char hex[33];
	size_t i, j;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		relabel_md5(v[i].in, strlen(v[i].in), sum);
		for (j = 0; j < 16; j++)
			snprintf(hex + 2 * j, 3, "%02x", sum[j]);
		ck_assert_str_eq(hex, v[i].hex);
	}
}
END_TEST

START_TEST(test_label_actions)
{
	ck_assert_str_eq(run(R(LABELMAP, NULL, "__meta_(.+)", NULL, NULL),
	    "__meta_x=1,__meta_y_z=2,a=3"),
	    "__meta_x=1,__meta_y_z=2,a=3,x=1,y_z=2");
	ck_assert_str_eq(run(R(LABELMAP, NULL, "foo_(.*)", NULL, "bar_$1"),
	    "foo_a=fa,bar_a=old"), "bar_a=fa,foo_a=fa");
	/* Names, not values; the whole name. */
	ck_assert_str_eq(run(R(LABELMAP, NULL, "a", NULL, "b"), "xa=a,a=v"),
	    "a=v,b=v,xa=a");
	ck_assert_str_eq(run(R(LABELDROP, NULL, "tmp_.*", NULL, NULL),
	    "tmp_a=1,tmp_b=2,tmp=3,keep=4"), "keep=4,tmp=3");
	ck_assert_str_eq(run(R(LABELKEEP, NULL, "__.*|a", NULL, NULL),
	    "a=1,b=2,__address__=h,ab=3"), "__address__=h,a=1");
}
END_TEST

START_TEST(test_case)
{
	ck_assert_str_eq(run(R(LOWERCASE, "n", NULL, "l", NULL),
	    "n=MiXeD Case"), "l=mixed case,n=MiXeD Case");
	ck_assert_str_eq(run(R(UPPERCASE, "n", NULL, "u", NULL),
	    "n=MiXeD Case"), "n=MiXeD Case,u=MIXED CASE");
	/* Go's strings.ToLower/ToUpper: simple Unicode mappings. */
	ck_assert_str_eq(run(R(LOWERCASE, "n", NULL, "n", NULL),
	    "n=ÄÖÜ Straße ǅ Ωμέγα"), "n=äöü straße ǆ ωμέγα");
	ck_assert_str_eq(run(R(UPPERCASE, "n", NULL, "n", NULL),
	    "n=äöü straße ǆ ωμέγα"), "n=ÄÖÜ STRAßE Ǆ ΩΜΈΓΑ");
	/* An invalid byte becomes U+FFFD, as in Go. */
	ck_assert_str_eq(run(R(UPPERCASE, "n", NULL, "n", NULL),
	    "n=a\xff" "b"), "n=A\xef\xbf\xbd" "B");
	/* An empty source deletes the target. */
	ck_assert_str_eq(run(R(UPPERCASE, "none", NULL, "n", NULL), "n=x"),
	    "");
}
END_TEST

START_TEST(test_compile)
{
	struct relabel_rules *rs;
	struct conf_relabel c[2];
	char *s0[8], *s1[8], err[256];

	rs = relabel_compile(NULL, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(rs);
	ck_assert_str_eq(run(rs, "a=1"), "a=1");
	entry(&c[0], s0, RELABEL_KEEP, "a", NULL, "x", 0, NULL, NULL);
	entry(&c[1], s1, RELABEL_KEEP, "a", NULL, "a(?=b)", 0, NULL, NULL);
	ck_assert_ptr_null(relabel_compile(c, 2, err, sizeof(err)));
	ck_assert_str_eq(err, "relabel_configs[1].regex: offset 1: "
	    "lookahead \"(?=\" is not supported by RE2");
	relabel_rules_free(NULL);
}
END_TEST

static struct conf_service *
service(const char *scheme)
{
	static struct conf_service svc;

	memset(&svc, 0, sizeof(svc));
	svc.name = "api";
	svc.scraper.endpoint = "/errors";
	svc.scraper.scheme = (char *)scheme;
	svc.scraper.interval_ms = 30000;
	svc.scraper.timeout_ms = 10000;
	return &svc;
}

/* relabel_target with rs (freed); "rc|address|url|labels" or "rc|err". */
static char *
target(struct relabel_rules *rs, const char *scheme, const char *labels)
{
	static char out[1024];
	struct labelset ls;
	struct target t;
	char err[256];
	int rc;

	parse(&ls, labels);
	err[0] = '\0';
	rc = relabel_target(rs, service(scheme), &ls, &t, err, sizeof(err));
	if (rc == 1) {
		snprintf(out, sizeof(out), "1|%s|%s|%s", t.address, t.url,
		    show(&t.labels));
		free(t.address);
		free(t.url);
		labels_release(&t.labels);
	} else {
		snprintf(out, sizeof(out), "%d|%s", rc, err);
	}
	labels_release(&ls);
	relabel_rules_free(rs);
	return out;
}

START_TEST(test_target)
{
	ck_assert_str_eq(target(NULL, "http",
	    "__address__=127.0.0.1,__meta_x=1,env=prod"),
	    "1|127.0.0.1:80|http://127.0.0.1:80/errors|"
	    "env=prod,instance=127.0.0.1:80,job=api");
	ck_assert_str_eq(target(NULL, "https", "__address__=127.0.0.1"),
	    "1|127.0.0.1:443|https://127.0.0.1:443/errors|"
	    "instance=127.0.0.1:443,job=api");
	ck_assert_str_eq(target(NULL, "http",
	    "__address__=127.0.0.1:7,job=mine,instance=me"),
	    "1|127.0.0.1:7|http://127.0.0.1:7/errors|instance=me,job=mine");
	/* An empty port is a port, as net.SplitHostPort has it. */
	ck_assert_str_eq(target(NULL, "http", "__address__=127.0.0.1:"),
	    "1|127.0.0.1:|http://127.0.0.1:/errors|"
	    "instance=127.0.0.1:,job=api");
	ck_assert_str_eq(target(NULL, "http", "__address__=[::1]"),
	    "1|[::1]:80|http://[::1]:80/errors|instance=[::1]:80,job=api");
	ck_assert_str_eq(target(R(REPLACE, NULL, NULL, "__param_q", "a b&c"),
	    "http", "__address__=h:1"),
	    "1|h:1|http://h:1/errors?q=a+b%26c|instance=h:1,job=api");
	ck_assert_str_eq(target(R(REPLACE, NULL, NULL, "__metrics_path__",
	    "/x y?"), "http", "__address__=h:1"),
	    "1|h:1|http://h:1/x%20y%3F|instance=h:1,job=api");
	ck_assert_str_eq(target(R(REPLACE, "__scrape_interval__", NULL, "iv",
	    NULL), "http", "__address__=h:1"),
	    "1|h:1|http://h:1/errors|instance=h:1,iv=30s,job=api");
	ck_assert_str_eq(target(R(DROP, NULL, NULL, NULL, NULL), "http",
	    "__address__=h:1"), "0|");
	ck_assert_str_eq(target(NULL, "http", "a=1"), "-1|no address");
	ck_assert_str_eq(target(NULL, "http", "__address__=h:1/x"),
	    "-1|\"h:1/x\" is not a valid hostname");
	ck_assert_str_eq(target(R(REPLACE, NULL, NULL, "__scheme__", "ftp"),
	    "http", "__address__=h"), "-1|invalid scheme: \"ftp\"");
	ck_assert_str_eq(target(R(REPLACE, NULL, NULL, "__scrape_timeout__",
	    "2m"), "http", "__address__=h:1"), "-1|scrape timeout cannot be "
	    "greater than scrape interval (\"2m\" > \"30s\")");
	ck_assert_str_eq(target(R(REPLACE, NULL, NULL, "__scrape_interval__",
	    "0s"), "http", "__address__=h:1"),
	    "-1|scrape interval cannot be 0");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("relabel");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_replace_defaults);
	tcase_add_test(tc, test_expansion);
	tcase_add_test(tc, test_keep_drop);
	tcase_add_test(tc, test_hashmod);
	tcase_add_test(tc, test_md5);
	tcase_add_test(tc, test_label_actions);
	tcase_add_test(tc, test_case);
	tcase_add_test(tc, test_compile);
	tcase_add_test(tc, test_target);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
