/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the scrape engine's parsers, schedule and round lines. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "record.h"
#include "scrape.h"
#include "xalloc.h"

START_TEST(test_parse_size)
{
	char err[256];
	size_t v;

	ck_assert_int_eq(scrape_parse_size("16777216", &v, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(v, 16777216);
	ck_assert_int_eq(scrape_parse_size("512k", &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 512 * 1024);
	ck_assert_int_eq(scrape_parse_size("16MiB", &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 16 * 1024 * 1024);
	ck_assert_int_eq(scrape_parse_size("1GB", &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 1024UL * 1024 * 1024);
	ck_assert_int_eq(scrape_parse_size("0", &v, err, sizeof(err)), -1);
	ck_assert_int_eq(scrape_parse_size("-1", &v, err, sizeof(err)), -1);
	ck_assert_int_eq(scrape_parse_size("12q", &v, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "'12q': not a size (such as 512k or 16M)");
}
END_TEST

START_TEST(test_parse_timeout)
{
	char err[256];
	int64_t ms;

	ck_assert_int_eq(scrape_parse_timeout("10", &ms, err, sizeof(err)), 0);
	ck_assert_int_eq(ms, 10000);
	ck_assert_int_eq(scrape_parse_timeout("1.5", &ms, err, sizeof(err)),
	    0);
	ck_assert_int_eq(ms, 1500);
	ck_assert_int_eq(scrape_parse_timeout("500ms", &ms, err, sizeof(err)),
	    0);
	ck_assert_int_eq(ms, 500);
	ck_assert_int_eq(scrape_parse_timeout("1m30s", &ms, err, sizeof(err)),
	    0);
	ck_assert_int_eq(ms, 90000);
	ck_assert_int_eq(scrape_parse_timeout("0", &ms, err, sizeof(err)), -1);
	ck_assert_int_eq(scrape_parse_timeout("soon", &ms, err, sizeof(err)),
	    -1);
}
END_TEST

START_TEST(test_offset)
{
	int64_t a, b;

	/* Stable, within the interval, and the phase holds over time. */
	a = scrape_offset("api", 30000, 1000000);
	ck_assert(a >= 0 && a < 30000);
	b = scrape_offset("api", 30000, 1000000 + 30000);
	ck_assert_int_eq(a, b);
	b = scrape_offset("api", 30000, 1000000 + 1000);
	ck_assert_int_eq(b, (a - 1000 + 30000) % 30000);
	ck_assert_int_eq(scrape_offset("api", 0, 12345), 0);
	/* Different services land at different phases. */
	ck_assert_int_ne(scrape_offset("api", 30000, 0),
	    scrape_offset("web", 30000, 0));
}
END_TEST

/* A targets line of n targets, with auth and TLS settings. */
static void
make_line(struct buf *b, size_t n)
{
	struct targets_rec t;
	size_t i;

	memset(&t, 0, sizeof(t));
	t.service = "fleet";
	t.endpoint = "/errors";
	t.interval_ms = 15000;
	t.timeout_ms = 2500;
	t.auth.username = "u";
	t.auth.password_file = "/etc/pw";
	t.tls.ca_file = "/etc/ca.pem";
	t.tls.insecure_skip_verify = 1;
	t.targets = xcalloc(n, sizeof(*t.targets));
	t.ntargets = n;
	for (i = 0; i < n; i++) {
		t.targets[i].address = xasprintf("127.1.%zu.%zu:7777",
		    i / 250, i % 250 + 1);
		t.targets[i].url = xasprintf("http://%s/errors",
		    t.targets[i].address);
		labels_init(&t.targets[i].labels);
		labels_set(&t.targets[i].labels, "instance",
		    t.targets[i].address);
	}
	record_write_targets(b, &t);
	for (i = 0; i < n; i++) {
		free(t.targets[i].address);
		free(t.targets[i].url);
		labels_release(&t.targets[i].labels);
	}
	free(t.targets);
}

START_TEST(test_targets_line)
{
	struct record rec;
	struct buf b, again;
	char err[256], *want;
	size_t n = (size_t)_i;

	buf_init(&b);
	make_line(&b, n);
	ck_assert_int_eq(record_parse(b.p, b.len, &rec, err, sizeof(err)), 0);
	ck_assert_int_eq(rec.type, REC_TARGETS);
	ck_assert_str_eq(rec.u.targets.service, "fleet");
	ck_assert_int_eq(rec.u.targets.interval_ms, 15000);
	ck_assert_int_eq(rec.u.targets.timeout_ms, 2500);
	ck_assert_uint_eq(rec.u.targets.ntargets, n);
	ck_assert_str_eq(rec.u.targets.auth.username, "u");
	ck_assert_ptr_null(rec.u.targets.auth.password);
	ck_assert_str_eq(rec.u.targets.auth.password_file, "/etc/pw");
	ck_assert_str_eq(rec.u.targets.tls.ca_file, "/etc/ca.pem");
	ck_assert_int_eq(rec.u.targets.tls.insecure_skip_verify, 1);
	want = xasprintf("http://127.1.%zu.%zu:7777/errors", (n - 1) / 250,
	    (n - 1) % 250 + 1);
	ck_assert_str_eq(rec.u.targets.targets[n - 1].url, want);
	/* The instance label is the address: what follows "http://". */
	want[strlen(want) - strlen("/errors")] = '\0';
	ck_assert_str_eq(labels_get(&rec.u.targets.targets[n - 1].labels,
	    "instance"), want + strlen("http://"));
	free(want);
	/* Written again, the line is the same, byte for byte. */
	buf_init(&again);
	record_write_targets(&again, &rec.u.targets);
	ck_assert_uint_eq(again.len, b.len);
	ck_assert_int_eq(memcmp(again.p, b.p, b.len), 0);
	buf_release(&again);
	record_release(&rec);
	buf_release(&b);
}
END_TEST

/* Large lines are read a target at a time; errors stay the same. */
START_TEST(test_targets_errors)
{
	static const struct {
		const char *from, *to, *err;
	} cases[] = {
		{ "\"address\":\"127.1.3.4:7777\"", "\"address\":7",
		    "targets line: not a string: \"address\"" },
		{ "\"service\":\"fleet\"", "\"service\":null",
		    "targets line: not a string: \"service\"" },
		{ "\"insecure_skip_verify\":true", "\"insecure_skip_verify\":1",
		    "targets line: \"tls.insecure_skip_verify\" is not a "
		    "boolean" },
		{ "\"ca_file\"", "\"ca_fyle\"",
		    "targets line: unknown key \"tls.ca_fyle\"" },
		{ "\"password_file\"", "\"pasword_file\"",
		    "targets line: unknown key \"auth.pasword_file\"" },
		{ "\"username\":\"u\"", "\"username\":[]",
		    "targets line: not a string: \"username\"" },
		{ "\"type\":\"targets\"", "\"type\":\"other\"", NULL },
	};
	struct record rec;
	struct buf b;
	char err[256], *p, *line;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_init(&b);
		make_line(&b, 2000);
		p = strstr(b.p, cases[i].from);
		ck_assert_ptr_nonnull(p);
		line = xasprintf("%.*s%s%s", (int)(p - b.p), b.p, cases[i].to,
		    p + strlen(cases[i].from));
		err[0] = '\0';
		rc = record_parse(line, strlen(line), &rec, err, sizeof(err));
		if (cases[i].err == NULL) {
			ck_assert_int_eq(rc, 0);
			ck_assert_int_eq(rec.type, REC_OTHER);
			record_release(&rec);
		} else {
			ck_assert_int_eq(rc, -1);
			ck_assert_str_eq(err, cases[i].err);
		}
		free(line);
		buf_release(&b);
	}
	/* Cut short: not JSON, with the byte where it ends. */
	buf_init(&b);
	make_line(&b, 2000);
	ck_assert_int_eq(record_parse(b.p, b.len - 1, &rec, err, sizeof(err)),
	    -1);
	ck_assert_msg(strncmp(err, "not JSON at byte ", 17) == 0, "%s", err);
	buf_release(&b);
}
END_TEST

struct lines {
	struct buf	 all;
	int		 nscrape, nround;
};

static void
on_emit(void *arg, enum record_type kind, const char *line, size_t len)
{
	struct lines *l = arg;

	buf_add(&l->all, line, len);
	buf_addc(&l->all, '\n');
	if (kind == REC_SCRAPE)
		l->nscrape++;
	else if (kind == REC_ROUND)
		l->nround++;
}

/* A port on 127.0.0.1 that nobody listens on. */
static int
dead_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Runs s until it is idle, at most about 10 s. */
static void
run(struct scraper *s)
{
	char err[256];
	int i;

	for (i = 0; i < 1000 && scraper_busy(s); i++)
		ck_assert_int_eq(scraper_step(s, NULL, 0, 10, err,
		    sizeof(err)), 0);
	ck_assert(!scraper_busy(s));
}

START_TEST(test_round_lines)
{
	struct scrape_opts o;
	struct scraper *s;
	struct targets_rec t;
	struct target tg[3];
	struct lines l;
	char err[256], *urls[1];
	int port = dead_port();
	size_t i;

	memset(&l, 0, sizeof(l));
	buf_init(&l.all);
	scrape_opts_init(&o);
	o.once = 1;
	o.concurrency = 2;
	o.emit = on_emit;
	o.arg = &l;
	ck_assert_ptr_nonnull(s = scraper_new(&o, err, sizeof(err)));

	/* Three refused targets with two slots: three lines, then a round. */
	memset(&t, 0, sizeof(t));
	t.service = "svc";
	t.endpoint = "/errors";
	t.interval_ms = 1000;
	t.timeout_ms = 5000;	/* more than the interval: cut to it */
	t.targets = tg;
	t.ntargets = 3;
	for (i = 0; i < 3; i++) {
		memset(&tg[i], 0, sizeof(tg[i]));
		tg[i].address = xasprintf("127.0.0.1:%d", port);
		tg[i].url = xasprintf("http://127.0.0.1:%d/e%zu", port, i);
	}
	scraper_set_targets(s, &t);
	run(s);
	ck_assert_int_eq(l.nscrape, 3);
	ck_assert_int_eq(l.nround, 1);
	ck_assert_uint_eq(scraper_nfailed(s), 3);
	ck_assert_ptr_nonnull(strstr(l.all.p, "\"ok\":false,"
	    "\"error\":\"connect: connection refused\""));
	ck_assert_ptr_nonnull(strstr(l.all.p, "\"type\":\"round\","
	    "\"service\":\"svc\""));
	ck_assert_ptr_nonnull(strstr(l.all.p, "\"targets\":3,\"ok\":0,"
	    "\"failed\":3"));
	/* The round line comes last. */
	ck_assert_ptr_null(strstr(strstr(l.all.p, "\"type\":\"round\""),
	    "\"type\":\"scrape\""));

	/* A secret file that cannot be read fails each scrape, no fetch. */
	buf_reset(&l.all);
	l.nscrape = l.nround = 0;
	t.service = "auth";
	t.auth.type = "Bearer";
	t.auth.credentials_file = "/nonexistent/periskop-token";
	scraper_set_targets(s, &t);
	run(s);
	ck_assert_int_eq(l.nscrape, 3);
	ck_assert_ptr_nonnull(strstr(l.all.p, "\"error\":\"auth: "
	    "'/nonexistent/periskop-token': no such file or directory\""));
	ck_assert_ptr_null(strstr(l.all.p, "connection refused"));

	/* Ad hoc: a bad URL is refused up front. */
	urls[0] = "http://[::1";
	ck_assert_int_eq(scraper_add_urls(s, "adhoc", urls, 1, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "'http://[::1': not a valid URL");

	for (i = 0; i < 3; i++) {
		free(tg[i].address);
		free(tg[i].url);
	}
	scraper_free(s);
	buf_release(&l.all);
}
END_TEST

/* An unchanged scrape line: written without a payload, read back so. */
START_TEST(test_unchanged_lines)
{
	static const char bad[] = "{\"type\":\"scrape\",\"service\":\"s\","
	    "\"target\":\"a:1\",\"url\":\"http://a:1/errors\","
	    "\"at\":\"2026-01-01T00:00:00Z\",\"duration_ms\":1,"
	    "\"http_status\":200,\"body_bytes\":3,\"ok\":true,"
	    "\"unchanged\":1}";
	struct scrape_rec r;
	struct record rec;
	struct buf l;
	char err[256];

	memset(&r, 0, sizeof(r));
	r.service = "s";
	r.target = "a:1";
	r.url = "http://a:1/errors";
	r.at = 1767225600000LL;
	r.http_status = 200;
	r.body_bytes = 3;
	r.ok = 1;
	r.unchanged = 1;
	buf_init(&l);
	record_write_scrape(&l, &r);
	ck_assert_ptr_nonnull(strstr(l.p, "\"ok\":true,\"unchanged\":true}"));
	ck_assert_int_eq(record_parse(l.p, l.len, &rec, err, sizeof(err)), 0);
	ck_assert_int_eq(rec.type, REC_SCRAPE);
	ck_assert_int_eq(rec.u.scrape.ok, 1);
	ck_assert_int_eq(rec.u.scrape.unchanged, 1);
	ck_assert_ptr_null(rec.u.scrape.payload);
	record_release(&rec);
	buf_release(&l);
	ck_assert_int_eq(record_parse(bad, sizeof(bad) - 1, &rec, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "scrape line: \"unchanged\" is not a boolean");
}
END_TEST

static Suite *
scrape_suite(void)
{
	Suite *s = suite_create("scrape");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_parse_size);
	tcase_add_test(tc, test_unchanged_lines);
	tcase_add_test(tc, test_parse_timeout);
	tcase_add_test(tc, test_offset);
	tcase_add_loop_test(tc, test_targets_line, 1, 4);
	tcase_add_loop_test(tc, test_targets_line, 2000, 2001);
	tcase_add_test(tc, test_targets_errors);
	tcase_add_test(tc, test_round_lines);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(scrape_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
