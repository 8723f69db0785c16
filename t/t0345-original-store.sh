#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The original server's scraper and repository tests (scraper_test.go,
# repository_test.go, memory_test.go, orm_test.go of periskop-dev/periskop
# at 4b3986e), through the real chain: fake targets serving the original's
# sample responses, periskop-discover | periskop-scrape |
# periskop-aggregate, then periskop-serve.  Each test is named after the
# case it comes from; where we differ on purpose (periskop(7), DIFFERENCES
# FROM THE ORIGINAL SERVER) it asserts our rule and says the original's.
. "$(dirname "$0")/lib.sh"

for p in periskop-discover periskop-scrape periskop-aggregate periskop-serve; do
	[ -x "$BIN/$p" ] || skip_all "bin/$p not built"
done
command -v curl >/dev/null || skip_all "curl not installed"
command -v jq >/dev/null || skip_all "jq not installed"

plan 21

DB=$T_TMP/p.db
KEY=com.soundcloud.Foon@e28e036e

# Targets a and b serve the original's two sample responses (one key, two
# occurrences each); c starts as a copy of the first and is edited between
# rounds; a and b also answer at /-/exceptions for the targets test.
for n in a b c d; do mkdir -p "$T_TMP/$n/-"; done
cp "$FIXTURES/sample-response1.json" "$T_TMP/a/errors"
cp "$FIXTURES/sample-response2.json" "$T_TMP/b/errors"
cp "$FIXTURES/sample-response1.json" "$T_TMP/a/-/exceptions"
cp "$FIXTURES/sample-response2.json" "$T_TMP/b/-/exceptions"
# count COUNT [SEVERITY]: target c's payload, with that count (and severity)
count() {
	jq -c --argjson n "$1" --arg s "${2:-error}" \
	    '.aggregated_errors[0].total_count = $n |
	     .aggregated_errors[0].severity = $s' \
	    "$FIXTURES/sample-response1.json" >"$T_TMP/c/errors.new" &&
	mv "$T_TMP/c/errors.new" "$T_TMP/c/errors"
}
count 2
# Target d: the shapes real clients send, for the original UI's test below:
# a cause with fields missing, an old client's string cause, a nested
# cause, an HTTP context with only a method, an error without occurrences.
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
o() { printf '{"error":{"class":"A","message":"m","cause":%s},"uuid":"%s","timestamp":"%s","severity":"error"%s}' "$1" "$2" "$NOW" "${3:-}"; }
printf '{"aggregated_errors":[%s,%s,%s,%s]}\n' \
    "{\"aggregation_key\":\"k1\",\"total_count\":1,\"severity\":\"error\",\"latest_errors\":[$(o '{"class":"B"}' u1)]}" \
    "{\"aggregation_key\":\"k2\",\"total_count\":1,\"severity\":\"info\",\"latest_errors\":[$(o '"an old string cause"' u2)]}" \
    "{\"aggregation_key\":\"k3\",\"total_count\":1,\"severity\":\"error\",\"latest_errors\":[$(o '{"message":"c","stacktrace":["x"],"cause":{"message":"deep"}}' u3 ',"http_context":{"request_method":"GET"}')]}" \
    '{"aggregation_key":"k4","total_count":1,"severity":"warning","latest_errors":[]}' \
    >"$T_TMP/d/errors"
for n in a b c d; do
	spawn "t-$n" fake-target -P "$T_TMP/$n.port" "$T_TMP/$n"
done
for n in a b c d; do
	wait_for 10 test -s "$T_TMP/$n.port"
done
A=127.0.0.1:$(cat "$T_TMP/a.port")
B=127.0.0.1:$(cat "$T_TMP/b.port")
C=127.0.0.1:$(cat "$T_TMP/c.port")
D=127.0.0.1:$(cat "$T_TMP/d.port")
cat >"$T_TMP/periskop.yaml" <<YAML
services:
  - name: test
    static_configs: [{targets: ["$A", "$B"]}]
  - name: one
    static_configs: [{targets: ["$C"]}]
  - name: test-service
    static_configs: [{targets: ["$A", "$B"]}]
    scraper: {endpoint: "/-/exceptions", refresh_interval: 10s}
  - name: shapes
    static_configs: [{targets: ["$D"]}]
repository: {type: sqlite, path: $DB}
YAML

# round: one pass of the chain, as cron would run it
round() {
	with_timeout 60 sh -c 'periskop-discover --once -c "$1" |
	    periskop-scrape --once | periskop-aggregate -c "$1"' sh \
	    "$T_TMP/periskop.yaml" >/dev/null 2>>"$T_TMP/chain.err"
}

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
spawn serve periskop-serve --db "$DB" -l "127.0.0.1:$PORT"
SERVE=$SPAWNED
wait_port "$PORT" 10
get() { curl -s --max-time 10 "$URL$1"; }
code() { curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }
# field SERVICE JQ: the key's error in that service's list, through JQ
field() {
	get "/services/$1/errors/" |
	    jq -c --arg k "$KEY" ".[] | select(.aggregation_key == \$k) | $2"
}
# keys SERVICE: how many errors the service lists
keys() { get "/services/$1/errors/" | jq length; }

round
is "$?/$(cat "$T_TMP/chain.err")" "0/" "the first round stores three services"

# -- scraper_test.go
is "$(field test '[.latest_errors[].uuid] | join(" ")')" \
    '"uuid4 uuid2 uuid3 uuid1"' \
    "TestCombineLastErrorsSortsByTimestamp: the two targets' occurrences, newest first"
is "$(field test '.created_at | gmtime | .[3]')" 15 \
    "TestScapeCombineCreatedAt: created_at is the earlier target's, 15h"
is "$(field test .created_at)" \
    "$(date -u -d 2018-09-13T15:23:30Z +%s)" \
    "... to the second, in unix seconds"
is "$(field test .total_count)" 4 "two targets of 2 each: 4"
is "$(field one .total_count)" 2 "TestScrapeCombine: a target's first count, 2"
count 4
round
is "$(field one .total_count)" 4 "TestScrapeCombine: the count rises to 4, 4"
is "$(field one '.latest_errors | length')" 2 \
    "TestScrapeCombine: the same two occurrences again are still two (ours: de-duplicated by uuid; the original appends them: 4)"
count 1
round
is "$(field one .total_count)" 5 \
    "TestScapeCombineNotUpdate: 4 then 1 is a restart, 4 + 1 (ours: a counter reset; the original keeps 4)"

# -- repository_test.go
want=$(printf '%s\n' "$A" "$B" | LC_ALL=C sort | jq -Rsc \
    'split("\n")[:-1] | map({endpoint: (. + "/-/exceptions")})')
is "$(get /targets/ | jq -c '[."test-service"[] | {endpoint}]')" "$want" \
    "TestSetAndRetrieveTargets: each target's host:port and endpoint (ours: sorted by address; the original keeps the order of discovery)"

# -- orm_test.go and memory_test.go
count 6 warning
round
is "$(keys one)/$(field one '[.total_count, .severity]')" '1/[10,"warning"]' \
    "TestORMReplaceErrors: the same key again is one error, with the new severity and 5 + (6 - 1)"
is "$(get /services/)" '["one","shapes","test","test-service"]' \
    "TestORMGetServices: every service, sorted"
is "$(field one '.latest_errors[0] | [.error.class, .error.stacktrace, .severity]')" \
    '["com.soundcloud.Foo",["com.soundcloud.Bar"],"error"]' \
    "TestORMGetErrors: an occurrence as the client sent it"
is "$(code -X DELETE "$URL/services/one/errors/$KEY/")" 204 \
    "TestORMResolvedErrors: resolve answers 204"
is "$(keys one)" 0 "TestORMResolvedErrors: the resolved error is not listed"
is "$(keys test)" 1 \
    "TestORMSearchResolved: the same key in another service stays"
round
is "$(keys one)" 0 \
    "TestORMRemoveResolved: the same count again keeps it resolved (ours: it reopens only on new occurrences; the original shows it again at the next scrape)"
count 7 warning
round
is "$(field one '[.total_count, .status, .regressed]')" \
    '[11,"unresolved",true]' \
    "TestORMRemoveResolved: a new occurrence reopens it, marked regressed"

# -- the original web UI (web/src at 4b3986e) calls .trim() on class and
# message, .length on stacktrace (null allowed), renders a cause as an
# error, reads the HTTP context's fields, and does arithmetic on the
# times: each must be there, of that type, however the client sent it.
ui_ok='def inst: (.class | type == "string") and (.message | type == "string")
	and (.stacktrace == null or (.stacktrace | type == "array"))
	and (.cause == null or (.cause | inst));
    def ctx: . == null or ((.request_method | type == "string")
	and (.request_url | type == "string")
	and (.request_body | type == "string")
	and (.request_headers == null or (.request_headers | type == "object")));
    all(.[]; (.aggregation_key | type == "string")
	and (.total_count | type == "number") and (.severity | type == "string")
	and (.created_at | type == "number")
	and all(.latest_errors[]; (.error | inst) and (.http_context | ctx)
	    and (.timestamp | type == "number") and (.severity | type == "string")))'
is "$(get /services/shapes/errors/ | jq "[length, ($ui_ok)]" | tr -d ' \n')" \
    "[4,true]" "original UI: every field it reads, of the type it expects"
is "$(get /targets/ | jq 'all(.[][]; .endpoint | type == "string")')" true \
    "original UI: every target has a string endpoint"

# -- the original's config.dev.yaml, shape for shape
cat >"$T_TMP/dev.yaml" <<'YAML'
repository:
  type: memory
services:
- name: mock-target
  dns_sd_configs:
  - names:
    - localhost
    refresh_interval: 10s
    type: A
    port: 7778
  scraper:
    endpoint: "/errors"
    refresh_interval: 10s
- name: periskop
  static_configs:
  - targets:
    - localhost:7777
  scraper:
    endpoint: "/errors"
    refresh_interval: 10s
YAML
is "$(periskop-discover -n -c "$T_TMP/dev.yaml" 2>&1)" "configuration OK" \
    "config.dev.yaml: the original's development config loads"

stop "$SERVE"
done_testing
