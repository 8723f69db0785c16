/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the service discovery document parsers (lib/discover/sd.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "sd.h"

static const char *
tget(const struct sd_groups *g, size_t gi, size_t ti, const char *name)
{
	const char	*v;

	ck_assert_uint_lt(gi, g->n);
	ck_assert_uint_lt(ti, g->v[gi].ntargets);
	v = labels_get(&g->v[gi].targets[ti], name);
	return v != NULL ? v : "(absent)";
}

static const char *
gget(const struct sd_groups *g, size_t gi, const char *name)
{
	const char	*v;

	ck_assert_uint_lt(gi, g->n);
	v = labels_get(&g->v[gi].labels, name);
	return v != NULL ? v : "(absent)";
}

START_TEST(test_file_json)
{
	static const char doc[] = "[{\"targets\": [\"a:1\", \"b\"], "
	    "\"labels\": {\"env\": \"prod\", \"empty\": \"\"}}, "
	    "{\"targets\": null, \"labels\": null}, {}]";
	struct sd_groups g;
	char err[256];

	sd_groups_init(&g);
	ck_assert_int_eq(sd_parse_file(doc, strlen(doc), "d/x.json", &g, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(g.n, 3);
	ck_assert_uint_eq(g.v[0].ntargets, 2);
	ck_assert_str_eq(tget(&g, 0, 1, "__address__"), "b");
	ck_assert_str_eq(gget(&g, 0, "env"), "prod");
	ck_assert_str_eq(gget(&g, 0, "empty"), "(absent)");
	ck_assert_str_eq(gget(&g, 2, "__meta_filepath"), "d/x.json");
	ck_assert_uint_eq(g.v[1].ntargets, 0);
	sd_groups_release(&g);
}
END_TEST

START_TEST(test_file_json_errors)
{
	static const struct {
		const char	*doc;
		const char	*err;
	} cases[] = {
		{ "[{\"targets\": [\"a\"], \"x\": 1}]",
		    "group 0: unknown field \"x\"" },
		{ "[null]", "nil target group item found" },
		{ "{\"targets\": []}", "expected a list of target groups" },
		{ "[{\"labels\": {\"a-b\": \"x\"}}]",
		    "group 0: \"a-b\" is not a valid label name" },
		{ "[{\"targets\": [1]}]", "group 0: target 0 is not a string" },
		{ "[{\"targets\": \n",
		    "not JSON at byte 14 (line 2, column 1): " },
	};
	struct sd_groups g;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sd_groups_init(&g);
		ck_assert_int_eq(sd_parse_file(cases[i].doc,
		    strlen(cases[i].doc), "x.json", &g, err, sizeof(err)), -1);
		ck_assert_msg(strncmp(err, cases[i].err,
		    strlen(cases[i].err)) == 0, "case %zu: %s", i, err);
		ck_assert_uint_eq(g.n, 0);
	}
}
END_TEST

START_TEST(test_file_yaml)
{
	static const char doc[] = "- targets: [a:1, 8080, ~]\n"
	    "  labels: {env: prod, n: 1}\n"
	    "- labels:\n    zone: b\n";
	static const char bad[] = "- targets: [a]\n  tags: [x]\n";
	static const char badname[] = "- labels:\n    0x: y\n";
	struct sd_groups g;
	char err[256];

	sd_groups_init(&g);
	ck_assert_int_eq(sd_parse_file(doc, strlen(doc), "x.YML", &g, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_uint_eq(g.v[0].ntargets, 3);
	ck_assert_str_eq(tget(&g, 0, 1, "__address__"), "8080");
	ck_assert_str_eq(tget(&g, 0, 2, "__address__"), "(absent)");
	ck_assert_str_eq(gget(&g, 0, "n"), "1");
	ck_assert_str_eq(gget(&g, 1, "zone"), "b");
	ck_assert_str_eq(gget(&g, 1, "__meta_filepath"), "x.YML");
	sd_groups_release(&g);
	ck_assert_int_eq(sd_parse_file(bad, strlen(bad), "x.yaml", &g, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "2:3: unknown field \"tags\" in a target group");
	ck_assert_int_eq(sd_parse_file(badname, strlen(badname), "x.yaml", &g,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "2:5: \"0x\" is not a valid label name");
	ck_assert_int_eq(sd_parse_file("", 0, "x.yaml", &g, err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(g.n, 0);
}
END_TEST

START_TEST(test_http)
{
	static const char doc[] = "[{\"targets\": [\"a:1\"]}]";
	struct sd_groups g;
	char err[256];

	sd_groups_init(&g);
	ck_assert_int_eq(sd_parse_http(doc, strlen(doc), "http://h/sd", &g,
	    err, sizeof(err)), 0);
	ck_assert_str_eq(gget(&g, 0, "__meta_url"), "http://h/sd");
	ck_assert_str_eq(tget(&g, 0, 0, "__address__"), "a:1");
	sd_groups_release(&g);
}
END_TEST

START_TEST(test_consul)
{
	static const char self[] = "{\"Config\": {\"Datacenter\": \"dc9\"}}";
	static const char cat[] = "{\"api\": [\"prod\", \"v1\"], "
	    "\"web\": [\"prod\"], \"db\": []}";
	static const char health[] = "[{\"Node\": {\"Node\": \"n1\", "
	    "\"Address\": \"10.0.0.1\", \"Meta\": {\"rack-id\": \"r1\"}, "
	    "\"TaggedAddresses\": {\"wan\": \"1.2.3.4\"}}, "
	    "\"Service\": {\"ID\": \"api-1\", \"Tags\": [\"a\", \"b\"], "
	    "\"Address\": \"\", \"Port\": 80, \"Meta\": {\"v\": \"2\"}}, "
	    "\"Checks\": [{\"CheckID\": \"c\", \"Status\": \"passing\"}, "
	    "{\"CheckID\": \"d\", \"Status\": \"warning\"}]}, "
	    "{\"Node\": {\"Node\": \"n2\", \"Address\": \"10.0.0.2\"}, "
	    "\"Service\": {\"ID\": \"api-2\", \"Address\": \"fd00::2\", "
	    "\"Port\": 81}, \"Checks\": []}]";
	struct conf_consul_sd cf;
	struct sd_groups g;
	char err[256], *dc = NULL, **names, *tags[] = { "prod" };
	size_t n;

	ck_assert_int_eq(sd_consul_datacenter(self, strlen(self), &dc, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(dc, "dc9");
	free(dc);
	memset(&cf, 0, sizeof(cf));
	cf.tag_separator = ",";
	ck_assert_int_eq(sd_consul_services(cat, strlen(cat), &cf, &names, &n,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(names[0], "api");
	ck_assert_str_eq(names[1], "db");
	sd_strv_free(names, n);
	cf.tags = tags;
	cf.ntags = 1;
	ck_assert_int_eq(sd_consul_services(cat, strlen(cat), &cf, &names, &n,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(names[1], "web");
	sd_strv_free(names, n);

	sd_groups_init(&g);
	ck_assert_int_eq(sd_consul_health(health, strlen(health), "api", "dc9",
	    &cf, &g, err, sizeof(err)), 0);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_str_eq(gget(&g, 0, "__meta_consul_service"), "api");
	ck_assert_str_eq(gget(&g, 0, "__meta_consul_dc"), "dc9");
	ck_assert_str_eq(tget(&g, 0, 0, "__address__"), "10.0.0.1:80");
	ck_assert_str_eq(tget(&g, 0, 0, "__meta_consul_tags"), ",a,b,");
	ck_assert_str_eq(tget(&g, 0, 0, "__meta_consul_health"), "warning");
	ck_assert_str_eq(tget(&g, 0, 0, "__meta_consul_metadata_rack_id"),
	    "r1");
	ck_assert_str_eq(tget(&g, 0, 0, "__meta_consul_service_metadata_v"),
	    "2");
	ck_assert_str_eq(tget(&g, 0, 0, "__meta_consul_tagged_address_wan"),
	    "1.2.3.4");
	ck_assert_str_eq(tget(&g, 0, 1, "__address__"), "[fd00::2]:81");
	ck_assert_str_eq(tget(&g, 0, 1, "__meta_consul_tags"), ",,");
	ck_assert_str_eq(tget(&g, 0, 1, "__meta_consul_health"), "passing");
	ck_assert_str_eq(tget(&g, 0, 1, "__meta_consul_service_address"),
	    "fd00::2");
	sd_groups_release(&g);
	ck_assert_int_eq(sd_consul_health("{}", 2, "api", "dc9", &cf, &g, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "expected a list of service entries");
}
END_TEST

START_TEST(test_k8s)
{
	static const char pods[] = "{\"items\": [{\"metadata\": {\"name\": "
	    "\"p\", \"namespace\": \"ns\", \"labels\": {\"app.k/n\": \"x\"}},"
	    " \"spec\": {\"containers\": [{\"name\": \"c\", \"image\": "
	    "\"img:1\", \"ports\": [{\"containerPort\": 80, \"name\": "
	    "\"web\", \"protocol\": \"UDP\"}, {\"containerPort\": 9090, "
	    "\"name\": \"m\", \"protocol\": \"SCTP\"}]}, {\"name\": "
	    "\"d\"}]}, \"status\": {\"podIP\": \"10.1.1.1\", \"conditions\": "
	    "[{\"type\": \"Ready\", \"status\": \"False\"}]}}, "
	    "{\"metadata\": {\"name\": \"q\", \"namespace\": \"ns\"}}]}";
	static const char svcs[] = "{\"items\": [{\"metadata\": {\"name\": "
	    "\"s\", \"namespace\": \"ns\"}, \"spec\": {\"type\": "
	    "\"ClusterIP\", "
	    "\"clusterIP\": \"10.0.0.1\", \"ports\": [{\"port\": 443, "
	    "\"protocol\": \"TCP\"}]}}]}";
	static const char eps[] = "{\"items\": [{\"metadata\": {\"name\": "
	    "\"s\", \"namespace\": \"ns\"}, \"subsets\": [{\"addresses\": "
	    "[{\"ip\": \"10.1.1.1\", \"targetRef\": {\"kind\": \"Pod\", "
	    "\"namespace\": \"ns\", \"name\": \"p\"}}], \"ports\": [{\"port\": "
	    "8080, \"name\": \"alt\"}, {\"port\": 9090, \"name\": \"m\", "
	    "\"protocol\": \"TCP\"}]}]}]}";
	struct sd_groups g;
	char err[256];

	sd_groups_init(&g);
	ck_assert_int_eq(sd_k8s_groups(K8S_POD, pods, strlen(pods), NULL, 0,
	    NULL, 0, &g, err, sizeof(err)), 0);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_uint_eq(g.v[0].ntargets, 3);
	ck_assert_uint_eq(g.v[1].ntargets, 0);
	ck_assert_str_eq(tget(&g, 0, 0, "__address__"), "10.1.1.1:80");
	ck_assert_str_eq(tget(&g, 0, 0, "__meta_kubernetes_pod_container_image"),
	    "img:1");
	ck_assert_str_eq(tget(&g, 0, 0,
	    "__meta_kubernetes_pod_container_port_number"), "80");
	ck_assert_str_eq(tget(&g, 0, 0,
	    "__meta_kubernetes_pod_container_port_protocol"), "UDP");
	ck_assert_str_eq(tget(&g, 0, 1, "__address__"), "10.1.1.1:9090");
	ck_assert_str_eq(tget(&g, 0, 2, "__address__"), "10.1.1.1");
	ck_assert_str_eq(gget(&g, 0, "__meta_kubernetes_pod_ready"), "false");
	ck_assert_str_eq(gget(&g, 0, "__meta_kubernetes_pod_label_app_k_n"),
	    "x");
	ck_assert_str_eq(gget(&g, 0,
	    "__meta_kubernetes_pod_labelpresent_app_k_n"), "true");
	sd_groups_release(&g);

	ck_assert_int_eq(sd_k8s_groups(K8S_SERVICE, svcs, strlen(svcs), NULL,
	    0, NULL, 0, &g, err, sizeof(err)), 0);
	ck_assert_str_eq(tget(&g, 0, 0, "__address__"), "s.ns.svc:443");
	ck_assert_str_eq(tget(&g, 0, 0, "__meta_kubernetes_service_cluster_ip"),
	    "10.0.0.1");
	sd_groups_release(&g);

	ck_assert_int_eq(sd_k8s_groups(K8S_ENDPOINTS, eps, strlen(eps), svcs,
	    strlen(svcs), pods, strlen(pods), &g, err, sizeof(err)), 0);
	ck_assert_uint_eq(g.n, 1);
	/*
	 * The endpoint's ports, then the pod's container port no endpoint
	 * covers.  A covered port's protocol is the endpoint's, as in
	 * Prometheus.
	 */
	ck_assert_uint_eq(g.v[0].ntargets, 3);
	ck_assert_str_eq(tget(&g, 0, 0, "__address__"), "10.1.1.1:8080");
	ck_assert_str_eq(tget(&g, 0, 0, "__meta_kubernetes_endpoint_ready"),
	    "true");
	ck_assert_str_eq(tget(&g, 0, 0, "__meta_kubernetes_pod_name"), "p");
	ck_assert_str_eq(tget(&g, 0, 0,
	    "__meta_kubernetes_pod_container_port_number"), "(absent)");
	ck_assert_str_eq(tget(&g, 0, 1, "__address__"), "10.1.1.1:9090");
	ck_assert_str_eq(tget(&g, 0, 1, "__meta_kubernetes_pod_container_image"),
	    "img:1");
	ck_assert_str_eq(tget(&g, 0, 1,
	    "__meta_kubernetes_pod_container_port_name"), "m");
	ck_assert_str_eq(tget(&g, 0, 1,
	    "__meta_kubernetes_pod_container_port_number"), "9090");
	ck_assert_str_eq(tget(&g, 0, 1,
	    "__meta_kubernetes_pod_container_port_protocol"), "TCP");
	ck_assert_str_eq(tget(&g, 0, 2, "__address__"), "10.1.1.1:80");
	ck_assert_str_eq(tget(&g, 0, 2,
	    "__meta_kubernetes_pod_container_port_name"), "web");
	ck_assert_str_eq(tget(&g, 0, 2,
	    "__meta_kubernetes_pod_container_port_protocol"), "UDP");
	ck_assert_str_eq(gget(&g, 0, "__meta_kubernetes_service_name"), "s");
	sd_groups_release(&g);
	ck_assert_int_eq(sd_k8s_groups(K8S_POD, "[]", 2, NULL, 0, NULL, 0, &g,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "expected a PodList list object");
}
END_TEST

START_TEST(test_flatten)
{
	static const char doc[] = "[{\"targets\": [\"a:1\"], \"labels\": "
	    "{\"__address__\": \"ignored\", \"k\": \"g\"}}]";
	struct sd_groups g;
	struct labelset *ls;
	char err[256], *s;
	size_t n;

	sd_groups_init(&g);
	ck_assert_int_eq(sd_parse_http(doc, strlen(doc), "u", &g, err,
	    sizeof(err)), 0);
	sd_groups_flatten(&g, &ls, &n);
	ck_assert_uint_eq(n, 1);
	/* The target's own labels win over its group's. */
	ck_assert_str_eq(labels_get(&ls[0], "__address__"), "a:1");
	ck_assert_str_eq(labels_get(&ls[0], "k"), "g");
	labels_release(&ls[0]);
	free(ls);
	sd_groups_release(&g);
	s = sd_sanitize("a.b-c/d_9");
	ck_assert_str_eq(s, "a_b_c_d_9");
	free(s);
}
END_TEST

START_TEST(test_conf)
{
	static const char good[] = "services:\n"
	    "  - name: c\n"
	    "    consul_sd_configs: [{services: [a], node_meta: {r: x}}]\n"
	    "    kubernetes_sd_configs:\n"
	    "      - {api_server: 'http://k', role: pod, "
	    "namespaces: {names: [n]}, bearer_token_file: tok}\n";
	static const struct {
		const char	*yaml;
		const char	*err;
	} bad[] = {
		{ "    kubernetes_sd_configs: [{api_server: 'http://k', "
		    "role: node}]\n", "x.yaml:3:60: role \"node\" is not "
		    "supported" },
		{ "    kubernetes_sd_configs: [{role: pod}]\n",
		    "x.yaml:3:29: api_server is required" },
		{ "    consul_sd_configs: [{server: ' '}]\n",
		    "x.yaml:3:25: consul SD configuration requires a server" },
		{ "    http_sd_configs: [{url: 'http://h', authorization: "
		    "{type: basic}}]\n", "x.yaml:3:56: authorization type "
		    "cannot be set to \"basic\"" },
		{ "    http_sd_configs: [{url: 'http://h', bearer_token: a, "
		    "bearer_token_file: b}]\n", "x.yaml:3:23: at most one of "
		    "bearer_token & bearer_token_file" },
	};
	const struct conf_consul_sd *cs;
	const struct conf_k8s_sd *ks;
	struct conf *c;
	char err[256], *y;
	size_t i;

	c = conf_parse(good, strlen(good), "d/x.yaml", err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	cs = &c->services[0].consul_sd_configs[0];
	ck_assert_str_eq(cs->server, "localhost:8500");
	ck_assert_str_eq(cs->tag_separator, ",");
	ck_assert_str_eq(cs->scheme, "http");
	ck_assert_int_eq(cs->allow_stale, 1);
	ck_assert_int_eq(cs->refresh_ms, 30000);
	ck_assert_str_eq(labels_get(&cs->node_meta, "r"), "x");
	ks = &c->services[0].kubernetes_sd_configs[0];
	ck_assert_int_eq(ks->role, K8S_POD);
	ck_assert_str_eq(ks->namespaces[0], "n");
	ck_assert_str_eq(ks->auth.type, "Bearer");
	ck_assert_str_eq(ks->auth.credentials_file, "d/tok");
	conf_free(c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		y = malloc(strlen(bad[i].yaml) + 64);
		ck_assert_ptr_nonnull(y);
		strcpy(y, "services:\n  - name: s\n");
		strcat(y, bad[i].yaml);
		c = conf_parse(y, strlen(y), "x.yaml", err, sizeof(err));
		ck_assert_ptr_null(c);
		ck_assert_msg(strncmp(err, bad[i].err, strlen(bad[i].err)) ==
		    0, "case %zu: %s", i, err);
		free(y);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sd");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_file_json);
	tcase_add_test(tc, test_file_json_errors);
	tcase_add_test(tc, test_file_yaml);
	tcase_add_test(tc, test_http);
	tcase_add_test(tc, test_consul);
	tcase_add_test(tc, test_k8s);
	tcase_add_test(tc, test_flatten);
	tcase_add_test(tc, test_conf);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
