#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-discover with http_sd_configs, consul_sd_configs and
# kubernetes_sd_configs against fake API servers (fake-target).
. "$(dirname "$0")/lib.sh"
plan 23

SD=$FIXTURES/sd
cp -R "$SD/http" "$T_TMP/http"
spawn http fake-target -P "$T_TMP/http.port" "$T_TMP/http"
HTTP=$SPAWNED
spawn consul fake-target -P "$T_TMP/consul.port" "$SD/consul"
CONSUL=$SPAWNED
spawn k8s fake-target -P "$T_TMP/k8s.port" "$SD/k8s"
K8S=$SPAWNED
wait_for 10 test -s "$T_TMP/http.port" -a -s "$T_TMP/consul.port" \
    -a -s "$T_TMP/k8s.port"
HP=$(cat "$T_TMP/http.port")
CP=$(cat "$T_TMP/consul.port")
KP=$(cat "$T_TMP/k8s.port")
LM="relabel_configs: [{action: labelmap, regex: '__meta_(.+)'}]"

# http_sd -------------------------------------------------------------
cat >"$T_TMP/h.yaml" <<YAML
services:
  - name: h
    http_sd_configs: [{url: "http://127.0.0.1:$HP/sd.json"}]
    $LM
  - name: bad
    http_sd_configs: [{url: "http://127.0.0.1:$HP/bad.json"}]
  - name: ctype
    http_sd_configs: [{url: "http://127.0.0.1:$HP/sd.json?ctype=text/plain"}]
  - name: gone
    http_sd_configs: [{url: "http://127.0.0.1:$HP/missing.json"}]
YAML
out=$(with_timeout 20 periskop-discover --once -c "$T_TMP/h.yaml" 2>"$T_TMP/h.err")
ok $? "--once exits 0"
svc() { jq -c "select(.service == \"$1\") | $2" <<<"$out"; }
is "$(svc h '[.targets[].address]')" \
    '["127.0.0.31:7001","127.0.0.32:80","127.0.0.33:7003"]' "http_sd targets"
is "$(svc h '.targets[0].labels | [.env, .zone, .url]')" \
    "[\"prod\",\"a\",\"http://127.0.0.1:$HP/sd.json\"]" \
    "group labels and __meta_url"
sed -e 's/^services:/scrape_configs:/' -e 's/- name:/- job_name:/' \
    "$T_TMP/h.yaml" >"$T_TMP/prom.yml"
norm='[.[] | del(.job)] | sort_by(.instance)'
ref=$(promtool check service-discovery --timeout=2s "$T_TMP/prom.yml" h \
    2>/dev/null | jq -c "[.[].labels | with_entries(select(.key |
    startswith(\"__\") | not))] | $norm")
is "$(svc h "[.targets[].labels] | $norm")" "$ref" \
    "the same labels as promtool check service-discovery"
is "$(svc bad '.targets | length')" 0 "a bad document: no targets"
like "$(cat "$T_TMP/h.err")" 'bad.json.*unknown field "lables"' \
    "a bad document: why"
like "$(cat "$T_TMP/h.err")" 'unsupported content type "text/plain"' \
    "a wrong content type is refused, as Prometheus does"
like "$(cat "$T_TMP/h.err")" 'missing.json.*HTTP status 404' "an HTTP error"

# Long-running: changes on refresh; failures keep the previous targets.
cat >"$T_TMP/live.yaml" <<YAML
services:
  - name: h
    http_sd_configs: [{url: "http://127.0.0.1:$HP/sd.json", refresh_interval: 1s}]
YAML
spawn live periskop-discover -c "$T_TMP/live.yaml"
DISC=$SPAWNED
n_lines() { wc -l <"$T_TMP/live.out"; }
has_lines() { test "$(n_lines)" -ge "$1"; }
last() { tail -n 1 "$T_TMP/live.out" | jq -r '[.targets[].address] | join(" ")'; }
wait_for 10 has_lines 1
cp "$T_TMP/http/sd2.json" "$T_TMP/http/sd.json"
wait_for 10 has_lines 2
is "$(last)" "127.0.0.34:7004" "a changed answer is picked up on refresh"
cp "$T_TMP/http/bad.json" "$T_TMP/http/sd.json"
wait_for 10 grep -q 'keeping the previous targets' "$T_TMP/live.err"
stop "$HTTP"
sleep 2
is "$(n_lines) $(last)" "2 127.0.0.34:7004" \
    "a bad answer and a server gone keep the previous targets"
stop "$DISC"

# Authentication: a server that records what it was sent.
cat >"$T_TMP/rec.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[2], "a") as f:
            f.write("%s %s\n" % (self.path, self.headers.get("Authorization")))
        body = b'[{"targets": ["127.0.0.40:1"]}]'
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.server_port)
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
spawn rec python3 "$T_TMP/rec.py" "$T_TMP/rec.port" "$T_TMP/rec.log"
REC=$SPAWNED
wait_for 10 test -s "$T_TMP/rec.port"
RP=$(cat "$T_TMP/rec.port")
printf ' s3cret\n' >"$T_TMP/pw"
printf 'tok-from-file\n' >"$T_TMP/tok"
cat >"$T_TMP/a.yaml" <<YAML
services:
  - name: basic
    http_sd_configs:
      - url: "http://127.0.0.1:$RP/basic"
        basic_auth: {username: u, password_file: pw}
  - name: bearer
    http_sd_configs:
      - {url: "http://127.0.0.1:$RP/bearer", bearer_token: tok}
  - name: authz
    http_sd_configs:
      - url: "http://127.0.0.1:$RP/authz"
        authorization: {type: Token, credentials_file: tok}
YAML
with_timeout 20 periskop-discover --once -c "$T_TMP/a.yaml" >/dev/null
is "$(sort "$T_TMP/rec.log" | tr '\n' '|')" \
    "/authz Token tok-from-file|/basic Basic $(printf 'u:s3cret' | base64)|/bearer Bearer tok|" \
    "basic_auth, bearer_token and authorization headers"
stop "$REC"
printf 'services:\n  - name: x\n    http_sd_configs:\n      - {url: "http://h/", bearer_token: a, basic_auth: {username: u}}\n' \
    >"$T_TMP/auth-bad.yaml"
err=$(periskop-discover -n -c "$T_TMP/auth-bad.yaml" 2>&1)
is "$?" 78 "two kinds of authentication: a config error"
like "$err" "auth-bad.yaml:4:9: at most one of basic_auth" "why, and where"

# consul_sd -----------------------------------------------------------
cat >"$T_TMP/c.yaml" <<YAML
services:
  - name: one
    consul_sd_configs: [{server: "127.0.0.1:$CP", services: [api]}]
    $LM
  - name: tagged
    consul_sd_configs:
      - {server: "127.0.0.1:$CP", tags: [prod], datacenter: east, tag_separator: "|"}
    $LM
YAML
out=$(with_timeout 20 periskop-discover --once -c "$T_TMP/c.yaml")
is "$(svc one '[.targets[].address]')" '["127.0.0.21:7777","127.0.0.23:7778"]' \
    "consul: the service address wins over the node's"
is "$(svc one '.targets[0].labels | [.consul_dc, .consul_service, .consul_node, .consul_tags, .consul_health, .consul_service_id, .consul_service_port, .consul_metadata_rack, .consul_service_metadata_version, .consul_tagged_address_wan]')" \
    '["dc1","api","node1",",prod,v1,","warning","api-1","7777","r1","1.2","127.0.1.21"]' \
    "consul: meta labels, the datacenter from the agent"
is "$(svc one '.targets[1].labels | [.consul_address, .consul_service_address, .consul_health]')" \
    '["127.0.0.22","127.0.0.23","critical"]' "consul: node and service address"
is "$(svc tagged '[.targets[] | "\(.address) \(.labels.consul_service) \(.labels.consul_dc) \(.labels.consul_tags) \(.labels.consul_health)"]')" \
    '["127.0.0.21:7777 api east |prod|v1| warning","127.0.0.21:8080 web east |prod| maintenance","127.0.0.23:7778 api east |prod|v1| critical"]' \
    "consul: the catalog filtered by tags, the datacenter and separator set"

# kubernetes_sd -------------------------------------------------------
cat >"$T_TMP/k.yaml" <<YAML
services:
  - name: pod
    kubernetes_sd_configs:
      - {api_server: "http://127.0.0.1:$KP", role: pod, namespaces: {names: [default]}}
    $LM
  - name: service
    kubernetes_sd_configs: [{api_server: "http://127.0.0.1:$KP/", role: service}]
    $LM
  - name: endpoints
    kubernetes_sd_configs: [{api_server: "http://127.0.0.1:$KP", role: endpoints}]
    $LM
YAML
out=$(with_timeout 20 periskop-discover --once -c "$T_TMP/k.yaml")
is "$(svc pod '[.targets[].address]')" \
    '["127.0.0.11:7777","127.0.0.11:80","127.0.0.11:9090","127.0.0.12:7777"]' \
    "pod: one target per container port, one per port-less container"
is "$(svc pod '.targets[0].labels | [.kubernetes_namespace, .kubernetes_pod_name, .kubernetes_pod_ready, .kubernetes_pod_phase, .kubernetes_pod_controller_kind, .kubernetes_pod_label_app_kubernetes_io_name, .kubernetes_pod_labelpresent_app, .kubernetes_pod_annotation_prometheus_io_scrape, .kubernetes_pod_container_port_name, .kubernetes_pod_container_init]')" \
    '["default","api-1","true","Running","ReplicaSet","api","true","true","http","false"]' \
    "pod: meta labels"
is "$(svc service '[.targets[] | "\(.address) \(.labels.kubernetes_service_type) \(.labels.kubernetes_service_cluster_ip // .labels.kubernetes_service_external_name) \(.labels.kubernetes_service_loadbalancer_ip // "-")"]')" \
    '["api.default.svc:80 ClusterIP 10.0.0.1 -","ext.default.svc:443 ExternalName example.org -","lb.default.svc:53 LoadBalancer 10.0.0.3 127.0.0.50","lb.default.svc:8080 LoadBalancer 10.0.0.3 127.0.0.50"]' \
    "service: one target per port, type-specific labels"
is "$(svc endpoints '[.targets[] | "\(.address) \(.labels.kubernetes_endpoint_ready // "-") \(.labels.kubernetes_pod_name // "-") \(.labels.kubernetes_service_name)"]')" \
    '["127.0.0.11:7777 true api-1 api","127.0.0.11:9090 - api-1 api","127.0.0.12:7777 false api-2 api","127.0.0.13:7777 false - api"]' \
    "endpoints: ready and not ready addresses, pods' other ports, service labels"
stop "$CONSUL"
out=$(with_timeout 20 periskop-discover --once -c "$T_TMP/c.yaml" 2>"$T_TMP/c.err")
is "$(svc one '.targets | length')" 0 "consul down: no targets at start"
like "$(cat "$T_TMP/c.err")" "consul_sd_configs: .*127.0.0.1:$CP" "consul down: why"
stop "$K8S"
done_testing
