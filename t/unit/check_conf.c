/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the periskop.yaml loader: good files, and each error. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define FIX	"t/fixtures/conf/"

static struct conf *
load_ok(const char *path)
{
	char		 err[512] = "";
	struct conf	*cf;

	cf = conf_load(path, err, sizeof(err));
	ck_assert_msg(cf != NULL, "%s: %s", path, err);
	return cf;
}

static struct conf *
parse_ok(const char *text)
{
	char		 err[512] = "";
	struct conf	*cf;

	cf = conf_parse(text, strlen(text), "periskop.yaml", err, sizeof(err));
	ck_assert_msg(cf != NULL, "%s", err);
	return cf;
}

START_TEST(test_original_dev)
{
	struct conf		*cf = load_ok(FIX "good-original-dev.yaml");
	struct conf_service	*s;

	ck_assert_str_eq(cf->path, FIX "good-original-dev.yaml");
	ck_assert_str_eq(cf->dir, "t/fixtures/conf");
	ck_assert_uint_eq(cf->nservices, 1);
	s = &cf->services[0];
	ck_assert_str_eq(s->name, "mock-target");
	ck_assert_int_eq(s->pos.line, 2);
	ck_assert_int_eq(s->pos.col, 5);
	/* A single mapping where a list belongs is a list of one. */
	ck_assert_uint_eq(s->ndns_sd_configs, 1);
	ck_assert_uint_eq(s->dns_sd_configs[0].nnames, 1);
	ck_assert_str_eq(s->dns_sd_configs[0].names[0], "localhost");
	ck_assert_int_eq(s->dns_sd_configs[0].type, DNS_A);
	ck_assert_int_eq(s->dns_sd_configs[0].port, 7778);
	ck_assert_int_eq(s->dns_sd_configs[0].refresh_ms, 45000);
	ck_assert_int_eq(s->dns_sd_configs[0].pos.line, 4);
	ck_assert_int_eq(s->dns_sd_configs[0].pos.col, 7);
	ck_assert_uint_eq(s->nstatic_configs, 0);
	ck_assert_uint_eq(s->nfile_sd_configs, 0);
	ck_assert_uint_eq(s->nhttp_sd_configs, 0);
	ck_assert_uint_eq(s->nrelabel_configs, 0);
	ck_assert_str_eq(s->scraper.endpoint, "/errors");
	ck_assert_str_eq(s->scraper.scheme, "http");
	ck_assert_int_eq(s->scraper.interval_ms, 10000);
	ck_assert_int_eq(s->scraper.timeout_ms, 10000);
	ck_assert_ptr_null(cf->repository.type);
	ck_assert_ptr_null(conf_db_uri(cf));
	ck_assert_str_eq(cf->server.listen, "127.0.0.1:8080");
	conf_free(cf);
}
END_TEST

START_TEST(test_original_docker)
{
	struct conf		*cf = load_ok(FIX "good-original-docker.yaml");
	struct conf_service	*s;
	char			*uri;

	ck_assert_uint_eq(cf->nservices, 2);
	ck_assert_str_eq(cf->services[0].name, "mock-target");
	ck_assert_uint_eq(cf->services[0].ndns_sd_configs, 1);
	ck_assert_str_eq(cf->services[0].dns_sd_configs[0].names[0],
	    "mock-target");
	s = &cf->services[1];
	ck_assert_str_eq(s->name, "periskop");
	ck_assert_int_eq(s->pos.line, 14);
	ck_assert_int_eq(s->pos.col, 3);
	ck_assert_uint_eq(s->nstatic_configs, 1);
	ck_assert_uint_eq(s->static_configs[0].ntargets, 1);
	ck_assert_str_eq(s->static_configs[0].targets[0], "api:7777");
	ck_assert_uint_eq(s->static_configs[0].labels.n, 0);
	ck_assert_str_eq(cf->repository.type, "memory");
	uri = conf_db_uri(cf);
	ck_assert_str_eq(uri, "memory:");
	free(uri);
	conf_free(cf);
}
END_TEST

START_TEST(test_full)
{
	struct conf		*cf = load_ok(FIX "good-full.yaml");
	struct conf_service	*s;
	struct conf_relabel	*r;
	char			*uri;

	ck_assert_uint_eq(cf->nservices, 2);
	s = &cf->services[0];
	ck_assert_str_eq(s->name, "api");
	ck_assert_uint_eq(s->nstatic_configs, 2);
	ck_assert_uint_eq(s->static_configs[0].ntargets, 2);
	ck_assert_str_eq(s->static_configs[0].targets[1], "127.0.0.2:7777");
	ck_assert_uint_eq(s->static_configs[0].labels.n, 2);
	ck_assert_str_eq(labels_get(&s->static_configs[0].labels, "env"),
	    "prod");
	ck_assert_str_eq(labels_get(&s->static_configs[0].labels, "team"),
	    "core");
	ck_assert_int_eq(s->static_configs[1].pos.line, 7);
	ck_assert_int_eq(s->static_configs[1].pos.col, 9);

	ck_assert_uint_eq(s->nfile_sd_configs, 1);
	ck_assert_uint_eq(s->file_sd_configs[0].nfiles, 2);
	/* Joined to the config's folder, as Prometheus does. */
	ck_assert_str_eq(s->file_sd_configs[0].files[0],
	    "t/fixtures/conf/targets/*.json");
	ck_assert_str_eq(s->file_sd_configs[0].files[1],
	    "t/fixtures/conf/more.yml");
	ck_assert_int_eq(s->file_sd_configs[0].refresh_ms, 60000);

	ck_assert_uint_eq(s->ndns_sd_configs, 2);
	ck_assert_int_eq(s->dns_sd_configs[0].type, DNS_SRV);
	ck_assert_int_eq(s->dns_sd_configs[0].port, 0);
	ck_assert_int_eq(s->dns_sd_configs[0].refresh_ms, 120000);
	ck_assert_int_eq(s->dns_sd_configs[1].type, DNS_AAAA);
	ck_assert_int_eq(s->dns_sd_configs[1].port, 7778);
	ck_assert_int_eq(s->dns_sd_configs[1].refresh_ms, 30000);
	ck_assert_uint_eq(s->dns_sd_configs[1].nnames, 2);
	ck_assert_str_eq(s->dns_sd_configs[1].names[1], "b.example.org");

	ck_assert_uint_eq(s->nhttp_sd_configs, 1);
	ck_assert_str_eq(s->http_sd_configs[0].url, "http://127.0.0.1:9000/sd");
	ck_assert_int_eq(s->http_sd_configs[0].refresh_ms, 90000);

	ck_assert_uint_eq(s->nrelabel_configs, 5);
	r = &s->relabel_configs[0];
	ck_assert_int_eq(r->action, RELABEL_REPLACE);
	ck_assert_uint_eq(r->nsource_labels, 2);
	ck_assert_str_eq(r->source_labels[0], "__address__");
	ck_assert_str_eq(r->source_labels[1], "env");
	ck_assert_str_eq(r->separator, "/");
	ck_assert_str_eq(r->regex, "(.+)/prod");
	ck_assert_str_eq(r->target_label, "host");
	ck_assert_str_eq(r->replacement, "${1}");
	ck_assert_int_eq(r->pos.line, 22);
	ck_assert_int_eq(r->pos.col, 9);
	r = &s->relabel_configs[1];
	ck_assert_int_eq(r->action, RELABEL_HASHMOD);
	ck_assert_uint_eq(r->modulus, 4);
	ck_assert_str_eq(r->target_label, "__tmp_hash");
	ck_assert_str_eq(r->separator, ";");
	ck_assert_str_eq(r->regex, "(.*)");
	ck_assert_str_eq(r->replacement, "$1");
	r = &s->relabel_configs[2];
	ck_assert_int_eq(r->action, RELABEL_LABELMAP);
	ck_assert_ptr_null(r->target_label);
	ck_assert_str_eq(r->replacement, "m_$1");
	ck_assert_int_eq(s->relabel_configs[3].action, RELABEL_LABELDROP);
	ck_assert_str_eq(s->relabel_configs[3].regex, "team");
	ck_assert_int_eq(s->relabel_configs[4].action, RELABEL_KEEPEQUAL);

	ck_assert_str_eq(s->scraper.endpoint, "/-/errors");
	ck_assert_str_eq(s->scraper.scheme, "https");
	ck_assert_int_eq(s->scraper.interval_ms, 90000);
	ck_assert_int_eq(s->scraper.timeout_ms, 5000);

	s = &cf->services[1];
	ck_assert_str_eq(s->name, "worker");
	ck_assert_str_eq(s->scraper.endpoint, "/errors");
	ck_assert_str_eq(s->scraper.scheme, "http");
	ck_assert_int_eq(s->scraper.interval_ms, 30000);
	ck_assert_int_eq(s->scraper.timeout_ms, 10000);

	ck_assert_str_eq(cf->repository.type, "sqlite");
	ck_assert_str_eq(cf->repository.path, "data/periskop.db");
	uri = conf_db_uri(cf);
	ck_assert_str_eq(uri, "sqlite:t/fixtures/conf/data/periskop.db");
	free(uri);
	ck_assert_str_eq(cf->server.listen, "[::1]:9090");
	conf_free(cf);
}
END_TEST

START_TEST(test_empty)
{
	static const char *const files[] = { FIX "good-empty.yaml",
	    FIX "good-comments.yaml" };
	struct conf	*cf;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		cf = load_ok(files[i]);
		ck_assert_uint_eq(cf->nservices, 0);
		ck_assert_ptr_null(cf->repository.type);
		ck_assert_str_eq(cf->server.listen, "127.0.0.1:8080");
		conf_free(cf);
	}
	cf = parse_ok("services:\nrepository:\nserver:\n");
	ck_assert_uint_eq(cf->nservices, 0);
	ck_assert_ptr_null(conf_db_uri(cf));
	ck_assert_str_eq(cf->server.listen, "127.0.0.1:8080");
	ck_assert_str_eq(cf->dir, ".");
	conf_free(cf);
}
END_TEST

START_TEST(test_scraper_defaults)
{
	struct conf	*cf;

	/* The default timeout is cut to a shorter interval... */
	cf = parse_ok("services:\n  - name: a\n    scraper:\n"
	    "      refresh_interval: 5s\n");
	ck_assert_int_eq(cf->services[0].scraper.interval_ms, 5000);
	ck_assert_int_eq(cf->services[0].scraper.timeout_ms, 5000);
	conf_free(cf);
	/* ...and so is one written out. */
	cf = parse_ok("services:\n  - name: a\n    scraper:\n"
	    "      refresh_interval: 10s\n      timeout: 1m\n");
	ck_assert_int_eq(cf->services[0].scraper.timeout_ms, 10000);
	conf_free(cf);
	/* Null values keep the defaults for durations. */
	cf = parse_ok("services:\n  - name: a\n    scraper:\n"
	    "      refresh_interval:\n      timeout: ~\n");
	ck_assert_int_eq(cf->services[0].scraper.interval_ms, 30000);
	ck_assert_int_eq(cf->services[0].scraper.timeout_ms, 10000);
	conf_free(cf);
	cf = parse_ok("services:\n  - name: a\n    scraper:\n"
	    "      timeout: 1.5s\n");
	ck_assert_int_eq(cf->services[0].scraper.timeout_ms, 1500);
	conf_free(cf);
}
END_TEST

START_TEST(test_relabel_misc)
{
	struct conf		*cf;
	struct conf_relabel	*r;

	cf = parse_ok("services:\n  - name: a\n    relabel_configs:\n"
	    "      - target_label: \"${1}_x\"\n"
	    "      - action: UpperCase\n        target_label: up\n"
	    "      - action: labelmap\n        replacement: \"$1\"\n"
	    "      - action: labelkeep\n        regex: \"a|b\"\n"
	    "      - action: replace\n        target_label: t\n"
	    "        replacement:\n        separator: ''\n");
	ck_assert_uint_eq(cf->services[0].nrelabel_configs, 5);
	r = cf->services[0].relabel_configs;
	ck_assert_str_eq(r[0].target_label, "${1}_x");
	ck_assert_int_eq(r[1].action, RELABEL_UPPERCASE);
	ck_assert_int_eq(r[2].action, RELABEL_LABELMAP);
	ck_assert_int_eq(r[3].action, RELABEL_LABELKEEP);
	/* An explicit null is the empty string, as in Prometheus. */
	ck_assert_str_eq(r[4].replacement, "");
	ck_assert_str_eq(r[4].separator, "");
	conf_free(cf);

	/*
	 * Prometheus 2.42's relabel_test.go: these target labels are valid
	 * for the case and equality actions, not only for replace.
	 */
	cf = parse_ok("services:\n  - name: a\n    relabel_configs:\n"
	    "      - {action: lowercase, target_label: \"${3}\"}\n"
	    "      - {action: uppercase, target_label: \"a${1}b\"}\n"
	    "      - {action: keepequal, source_labels: [a],"
	    " target_label: \"$x_1\"}\n");
	ck_assert_uint_eq(cf->services[0].nrelabel_configs, 3);
	conf_free(cf);
}
END_TEST

START_TEST(test_db_uri)
{
	static const struct {
		const char	*name;
		const char	*text;
		const char	*uri;
	} t[] = {
		{ "/etc/periskop/periskop.yaml",
		    "repository: {path: errors.db}",
		    "sqlite:/etc/periskop/errors.db" },
		{ "/etc/periskop/periskop.yaml",
		    "repository: {type: sqlite}",
		    "sqlite:/etc/periskop/periskop.db" },
		{ "/periskop.yaml",
		    "repository: {type: sqlite}", "sqlite://periskop.db" },
		{ "etc/p.yaml",
		    "repository: {type: sqlite, path: /var/db/p.db}",
		    "sqlite:/var/db/p.db" },
		{ "p.yaml", "repository: {type: sqlite, path: p.db}",
		    "sqlite:p.db" },
		{ "p.yaml",
		    "repository: {type: postgres, dsn: 'postgres://u@h/db'}",
		    "postgres://u@h/db" },
		{ "p.yaml",
		    "repository: {type: postgresql, dsn: 'host=h dbname=p'}",
		    "host=h dbname=p" },
		{ "p.yaml", "repository: {type: mysql, dsn: 'u:p@tcp(h)/db'}",
		    "mysql:u:p@tcp(h)/db" },
		{ "p.yaml", "repository: {type: memory, path: ignored.db}",
		    "memory:" }
	};
	char		 err[512];
	struct conf	*cf;
	char		*uri;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cf = conf_parse(t[i].text, strlen(t[i].text), t[i].name, err,
		    sizeof(err));
		ck_assert_msg(cf != NULL, "%s", err);
		uri = conf_db_uri(cf);
		ck_assert_str_eq(uri, t[i].uri);
		free(uri);
		conf_free(cf);
	}
}
END_TEST

START_TEST(test_listen_ok)
{
	static const char *const ok[] = { ":8080", "0.0.0.0:80",
	    "[::]:65535", "localhost:1" };
	char		 text[128];
	struct conf	*cf;
	size_t		 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "server:\n  listen: \"%s\"\n",
		    ok[i]);
		cf = parse_ok(text);
		ck_assert_str_eq(cf->server.listen, ok[i]);
		conf_free(cf);
	}
}
END_TEST

START_TEST(test_load_errno)
{
	char		 err[512];

	errno = 0;
	ck_assert_ptr_null(conf_load(FIX "no-such-file.yaml", err,
	    sizeof(err)));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(err, FIX "no-such-file.yaml: No such file or "
	    "directory");
}
END_TEST

static const struct {
	const char	*file;
	const char	*err;
} bad_files[] = {
	{ "bad-unknown-key.yaml", "7:7: unknown key \"refresh_intervall\" in "
	    "scraper" },
	{ "bad-duplicate-service.yaml", "4:5: duplicate service name \"api\" "
	    "(first at 2:5)" },
	{ "bad-duration.yaml", "4:25: \"refresh_interval\" in scraper: "
	    "invalid duration \"10\": missing unit" },
	{ "bad-type.yaml", "4:17: \"endpoint\" in scraper must be a string, "
	    "not a list" },
	{ "bad-empty-name.yaml", "2:11: empty service name" },
	{ "bad-scheme.yaml", "4:15: invalid scheme \"ftp\": must be http or "
	    "https" },
	{ "bad-port.yaml", "6:13: invalid port 70000: must be between 1 and "
	    "65535" },
	{ "bad-yaml.yaml", "4:1: did not find expected ',' or '}' (while "
	    "parsing a flow mapping at 3:14)" },
	{ "bad-alias.yaml", "5:14: YAML aliases are not supported (*base)" },
	{ "bad-laughs.yaml", "2:10: YAML aliases are not supported (*a0)" },
	{ "bad-relabel.yaml", "6:9: relabel configuration for hashmod action "
	    "requires 'target_label' value" },
	{ "bad-listen.yaml", "2:11: invalid listen address \"127.0.0.1\": "
	    "missing port" },
	{ "bad-repository.yaml", "2:3: repository type \"postgres\" needs a "
	    "\"dsn\"" }
};

START_TEST(test_bad_file)
{
	char		 path[256], want[512], err[512] = "";

	snprintf(path, sizeof(path), FIX "%s", bad_files[_i].file);
	snprintf(want, sizeof(want), "%s:%s", path, bad_files[_i].err);
	errno = EINVAL;
	ck_assert_ptr_null(conf_load(path, err, sizeof(err)));
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(errno, 0);
}
END_TEST

static const struct {
	const char	*text;
	const char	*err;
} bad[] = {
	/* Shape of the document. */
	{ "- a\n", "1:1: expected a mapping at the top level, not a list" },
	{ "foo: 1\n", "1:1: unknown key \"foo\" at the top level" },
	{ "services: []\nservices: []\n", "2:1: duplicate key \"services\" "
	    "at the top level (first at 1:1)" },
	{ "services: {name: a}\n", "1:11: \"services\" at the top level must "
	    "be a list, not a mapping" },
	{ "services:\n  -\n", "2:4: items of \"services\" at the top level "
	    "must be mappings, not null" },
	{ "services: []\n---\nservices: []\n", "2:1: more than one YAML "
	    "document" },
	{ "services: \"a\\0b\"\n", "1:11: NUL character in a string" },
	{ "? [a]\n: b\n", "1:3: mapping keys must be strings" },
	{ "services: \xff\n", "1:11: invalid leading UTF-8 octet" },
	{ "services:\n  - name: a\n\tscraper: {}\n", "3:1: found a tab "
	    "character that violates indentation (while scanning a plain "
	    "scalar at 2:11)" },
	{ "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[", "1:67: nesting deeper than 64 levels" },
	{ "x: &a [1]\ny: *a\n", "2:4: YAML aliases are not supported (*a)" },
	/* Services. */
	{ "services:\n  - scraper: {}\n", "2:5: missing key \"name\" in "
	    "service" },
	{ "services:\n  - name:\n", "2:10: empty service name" },
	{ "services:\n  - name: api\n    job_name: x\n", "3:5: unknown key "
	    "\"job_name\" in service \"api\"" },
	{ "services:\n  - name: api\n    name: web\n", "3:5: duplicate key "
	    "\"name\" in service \"api\" (first at 2:5)" },
	{ "services:\n  - name: [a]\n", "2:11: \"name\" in service must be a "
	    "string, not a list" },
	{ "services:\n  - name: a\n    scraper: [x]\n", "3:14: \"scraper\" in "
	    "service must be a mapping, not a list" },
	{ "services:\n  - name: a\n    scraper: {endpoint: errors}\n",
	    "3:25: endpoint \"errors\" must start with '/'" },
	{ "services:\n  - name: a\n    scraper: {timeout: 0s}\n",
	    "3:24: \"timeout\" in scraper must be greater than 0" },
	{ "services:\n  - name: a\n    scraper: {refresh_interval: 1m1m}\n",
	    "3:33: \"refresh_interval\" in scraper: invalid duration \"1m1m\": "
	    "unit repeated" },
	{ "services:\n  - name: a\n    scraper: {refresh_interval: -5s}\n",
	    "3:33: \"refresh_interval\" in scraper: invalid duration \"-5s\": "
	    "negative durations are not allowed" },
	/* static_configs. */
	{ "services:\n  - name: a\n    static_configs:\n      - targets: x\n",
	    "4:18: \"targets\" in static_configs must be a list, not a "
	    "string" },
	{ "services:\n  - name: a\n    static_configs:\n"
	    "      - targets: [[x]]\n", "4:19: items of \"targets\" in "
	    "static_configs must be strings, not a list" },
	{ "services:\n  - name: a\n    static_configs:\n"
	    "      - targets: [a/b]\n",
	    "4:19: \"a/b\" is not a valid hostname" },
	{ "services:\n  - name: a\n    static_configs:\n"
	    "      - labels: {a-b: x}\n", "4:18: \"a-b\" is not a valid label "
	    "name" },
	{ "services:\n  - name: a\n    static_configs:\n"
	    "      - labels: {a: [x]}\n", "4:21: label \"a\" must be a string, "
	    "not a list" },
	{ "services:\n  - name: a\n    static_configs:\n"
	    "      - labels: {a: x, a: y}\n", "4:24: duplicate key \"a\" in "
	    "labels (first at 4:18)" },
	{ "services:\n  - name: a\n    static_configs: [x]\n", "3:22: items of "
	    "\"static_configs\" in service \"a\" must be mappings, not a "
	    "string" },
	{ "services:\n  - name: a\n    static_configs:\n      - target: [x]\n",
	    "4:9: unknown key \"target\" in static_configs" },
	/* file_sd_configs. */
	{ "services:\n  - name: a\n    file_sd_configs:\n      - files: []\n",
	    "4:9: file service discovery config must contain at least one "
	    "path name" },
	{ "services:\n  - name: a\n    file_sd_configs:\n"
	    "      - files: [t.txt]\n",
	    "4:17: path name \"t.txt\" is not valid for file discovery" },
	{ "services:\n  - name: a\n    file_sd_configs:\n"
	    "      - files: [\"*/t.json\"]\n",
	    "4:17: path name \"*/t.json\" is not valid for file discovery" },
	/* dns_sd_configs. */
	{ "services:\n  - name: a\n    dns_sd_configs: {type: A, port: 1}\n",
	    "3:21: DNS-SD config must contain at least one SRV record name" },
	{ "services:\n  - name: a\n    dns_sd_configs: {names: [x], type: A}\n",
	    "3:21: a port is required in DNS-SD configs for all record types "
	    "except SRV" },
	{ "services:\n  - name: a\n    dns_sd_configs: {names: [x], "
	    "type: TXT}\n", "3:40: invalid DNS-SD records type TXT" },
	{ "services:\n  - name: a\n    dns_sd_configs: {names: [x], port: 0}\n",
	    "3:40: invalid port 0: must be between 1 and 65535" },
	{ "services:\n  - name: a\n    dns_sd_configs: {names: [x], port: x}\n",
	    "3:40: \"port\" in dns_sd_configs must be an unsigned integer, not "
	    "\"x\"" },
	/* http_sd_configs. */
	{ "services:\n  - name: a\n    http_sd_configs: [{}]\n", "3:23: URL is "
	    "missing" },
	{ "services:\n  - name: a\n    http_sd_configs: [{url: ftp://x}]\n",
	    "3:29: URL scheme must be 'http' or 'https'" },
	{ "services:\n  - name: a\n    http_sd_configs: [{url: http://}]\n",
	    "3:29: host is missing in URL" },
	/* relabel_configs. */
	{ "services:\n  - name: a\n    relabel_configs: {action: keep}\n",
	    "3:22: \"relabel_configs\" in service \"a\" must be a list, not a "
	    "mapping" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - action: hashmod\n        target_label: t\n",
	    "4:9: relabel configuration for hashmod requires non-zero "
	    "modulus" },
	{ "services:\n  - name: a\n    relabel_configs:\n      - regex: x\n",
	    "4:9: relabel configuration for replace action requires "
	    "'target_label' value" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - target_label: 1abc\n", "4:9: \"1abc\" is invalid "
	    "'target_label' for replace action" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - {action: lowercase, target_label: a, replacement: x}\n",
	    "4:9: 'replacement' can not be set for lowercase action" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - {action: uppercase, target_label: \"0$1\"}\n",
	    "4:9: \"0$1\" is invalid 'target_label' for uppercase action" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - {action: labelmap, replacement: \"m-$1\"}\n",
	    "4:9: \"m-$1\" is invalid 'replacement' for labelmap action" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - {action: labeldrop, source_labels: [a]}\n",
	    "4:9: labeldrop action requires only 'regex', and no other "
	    "fields" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - {action: LabelKeep, target_label: a}\n",
	    "4:9: labelkeep action requires only 'regex', and no other "
	    "fields" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - {action: keepequal, target_label: a, regex: x}\n",
	    "4:9: keepequal action requires only 'source_labels' and "
	    "`target_label`, and no other fields" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - {action: dropequal}\n", "4:9: relabel configuration for "
	    "dropequal action requires 'target_label' value" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - {action: rename}\n", "4:18: unknown relabel action "
	    "\"rename\"" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - {action: }\n", "4:18: relabel action cannot be empty" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - {source_labels: [ok, a.b], target_label: x}\n",
	    "4:30: \"a.b\" is not a valid label name" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - {modulus: -1, target_label: x}\n",
	    "4:19: \"modulus\" in relabel_configs must be an unsigned integer, "
	    "not \"-1\"" },
	{ "services:\n  - name: a\n    relabel_configs:\n"
	    "      - {replace: x}\n", "4:10: unknown key \"replace\" in "
	    "relabel_configs" },
	/* repository and server. */
	{ "repository: {type: redis}\n", "1:20: unknown repository type "
	    "\"redis\" (want sqlite, postgres, mysql or memory)" },
	{ "repository: {dsn: 'host=x'}\n", "1:13: missing key \"type\" in "
	    "repository" },
	{ "repository: {type: sqlite, path: ''}\n", "1:34: empty repository "
	    "path" },
	{ "repository: {type: mysql}\n", "1:13: repository type \"mysql\" "
	    "needs a \"dsn\"" },
	{ "repository: {url: x}\n", "1:14: unknown key \"url\" in "
	    "repository" },
	{ "repository: sqlite\n", "1:13: \"repository\" at the top level "
	    "must be a mapping, not a string" },
	{ "server: {listen: \"[::1]\"}\n", "1:18: invalid listen address "
	    "\"[::1]\": missing port" },
	{ "server: {listen: \"::1:80\"}\n", "1:18: invalid listen address "
	    "\"::1:80\": IPv6 addresses go in brackets: [ADDRESS]:PORT" },
	{ "server: {listen: \"h:0\"}\n", "1:18: invalid listen address "
	    "\"h:0\": port must be between 1 and 65535" },
	{ "server: {listen: \"h:65536\"}\n", "1:18: invalid listen address "
	    "\"h:65536\": port must be between 1 and 65535" },
	{ "server: {listen: \"h:http\"}\n", "1:18: invalid listen address "
	    "\"h:http\": port must be between 1 and 65535" },
	{ "server: {port: 80}\n", "1:10: unknown key \"port\" in server" }
};

START_TEST(test_bad_text)
{
	char		 want[512], err[512] = "";

	snprintf(want, sizeof(want), "periskop.yaml:%s", bad[_i].err);
	ck_assert_msg(conf_parse(bad[_i].text, strlen(bad[_i].text),
	    "periskop.yaml", err, sizeof(err)) == NULL, "accepted: %s",
	    bad[_i].text);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_small_err_buffer)
{
	char	 err[8];

	ck_assert_ptr_null(conf_parse("foo: 1\n", 7, "periskop.yaml", err,
	    sizeof(err)));
	ck_assert_str_eq(err, "perisko");
	ck_assert_ptr_null(conf_parse("foo: 1\n", 7, "periskop.yaml", NULL,
	    0));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 nfail;

	tcase_add_test(tc, test_original_dev);
	tcase_add_test(tc, test_original_docker);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_scraper_defaults);
	tcase_add_test(tc, test_relabel_misc);
	tcase_add_test(tc, test_db_uri);
	tcase_add_test(tc, test_listen_ok);
	tcase_add_test(tc, test_load_errno);
	tcase_add_loop_test(tc, test_bad_file, 0,
	    sizeof(bad_files) / sizeof(bad_files[0]));
	tcase_add_loop_test(tc, test_bad_text, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_small_err_buffer);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
