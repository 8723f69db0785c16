#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The whole chain on the reference payloads: discover | scrape | aggregate
# into SQLite, then the original Periskop API checked field by field.
. "$(dirname "$0")/lib.sh"
plan 36

# Three instances: two of one service (the reference pair), one demo target.
for n in 1 2 3; do mkdir -p "$T_TMP/t$n"; done
cp "$FIXTURES/sample-response1.json" "$T_TMP/t1/errors"
cp "$FIXTURES/sample-response2.json" "$T_TMP/t2/errors"
cp "$FIXTURES/mocktarget-errors.json" "$T_TMP/t3/errors"
for n in 1 2 3; do
	spawn "target$n" fake-target -P "$T_TMP/port$n" "$T_TMP/t$n"
done
wait_for 10 test -s "$T_TMP/port3" && wait_for 10 test -s "$T_TMP/port1" &&
    wait_for 10 test -s "$T_TMP/port2"
p1=$(cat "$T_TMP/port1"); p2=$(cat "$T_TMP/port2"); p3=$(cat "$T_TMP/port3")

cat >"$T_TMP/periskop.yaml" <<YAML
services:
  - name: api
    static_configs:
      - targets: ["127.0.0.1:$p1", "127.0.0.1:$p2"]
    scraper: {endpoint: /errors, refresh_interval: 1s, timeout: 5s}
  - name: mock-target
    static_configs:
      - targets: ["127.0.0.1:$p3"]
    scraper: {endpoint: /errors, refresh_interval: 1s, timeout: 5s}
YAML
DB="sqlite:$T_TMP/periskop.db"

round() {
	with_timeout 30 periskop-discover --once -c "$T_TMP/periskop.yaml" |
	    with_timeout 30 periskop-scrape --once |
	    with_timeout 30 periskop-aggregate --db "$DB" >"$T_TMP/events" \
	    2>>"$T_TMP/chain.err"
	rc="${PIPESTATUS[*]}"
	[ "$rc" = "0 0 0" ] || { diag "round: exit statuses $rc"; return 1; }
}
round
ok $? "one cron-style round of the chain succeeds"
is "$(jq -r 'select(.kind=="new_error") | .key' "$T_TMP/events" | sort | head -n 1)" \
    "com.soundcloud.Foon@e28e036e" "new_error events name the new keys"
is "$(jq -s '[.[] | select(.kind=="new_error")] | length' "$T_TMP/events")" 6 \
    "one new_error event per key"

port=$(free_port)
spawn serve periskop-serve --db "$DB" --listen "127.0.0.1:$port"
SERVE=$SPAWNED
wait_port "$port" 10
ok $? "periskop-serve listens"
api="http://127.0.0.1:$port"
get() { curl -s --max-time 10 "$api$1"; }

is "$(get /services/)" '["api","mock-target"]' "GET /services/ lists both"
is "$(curl -s -o /dev/null -w '%{http_code}' "$api/services/nope/errors/")" \
    404 "an unknown service is 404"

get /services/api/errors/ >"$T_TMP/api.json"
is "$(jq length "$T_TMP/api.json")" 1 "api: one aggregate"
is "$(jq -r '.[0].aggregation_key' "$T_TMP/api.json")" \
    "com.soundcloud.Foon@e28e036e" "api: its key"
is "$(jq '.[0].total_count' "$T_TMP/api.json")" 4 \
    "api: the counts of both instances add up"
is "$(jq -r '.[0].severity' "$T_TMP/api.json")" error "api: severity"
is "$(jq '.[0].created_at' "$T_TMP/api.json")" 1536852210 \
    "api: created_at is the earlier instance's, in unix seconds"
is "$(jq -r '[.[0].latest_errors[].uuid] | join(",")' "$T_TMP/api.json")" \
    "uuid4,uuid2,uuid3,uuid1" "api: occurrences merged, newest first"
is "$(jq '.[0].latest_errors[0].timestamp' "$T_TMP/api.json")" \
    "$(date -u -d 2018-09-13T16:26:30Z +%s)" "api: timestamps in unix seconds"
is "$(jq -c '.[0].latest_errors[0].error' "$T_TMP/api.json")" \
    '{"class":"com.soundcloud.Foo","message":"","stacktrace":["com.soundcloud.Bar"],"cause":null}' \
    "api: the error object, in the original's field order"
is "$(jq -c '.[0].latest_errors[0].http_context' "$T_TMP/api.json")" \
    '{"request_method":"GET","request_url":"http://url","request_headers":{"Key":"value"},"request_body":""}' \
    "api: the HTTP context"
is "$(jq -c '.[0] | keys_unsorted[:5]' "$T_TMP/api.json")" \
    '["aggregation_key","total_count","severity","latest_errors","created_at"]' \
    "api: the original's fields, in its order"
is "$(tail -c 1 "$T_TMP/api.json" | od -An -c | tr -d ' ')" '\n' \
    "api: the body ends with a newline, as the original's"

get /services/mock-target/errors/ >"$T_TMP/mock.json"
is "$(jq length "$T_TMP/mock.json")" 5 "mock: five aggregates"
key='java.lang.Run/ timeException@123'
sel() { jq -c --arg k "$1" ".[] | select(.aggregation_key==\$k) | $2" "$T_TMP/mock.json"; }
is "$(sel "$key" .total_count)" 260 "mock: the key with a slash and a space"
is "$(sel "$key" '.latest_errors[0].error.cause.class')" \
    '"java.lang.CauseException"' "mock: a nested cause"
is "$(sel "$key" '.latest_errors[1].http_context.request_headers.host')" \
    '"badrequest.org"' "mock: headers"
is "$(sel "$key" '.latest_errors[0].http_context')" null \
    "mock: no HTTP context is null"
is "$(sel 'java.lang.Exception@496' .created_at)" 1568202385 \
    "mock: no created_at reported: the earliest occurrence's"
is "$(sel 'java.lang.Exception@456' '.latest_errors[0].http_context.request_body')" \
    '"{\"params\":[{\"param1\":\"true\"},{\"param2\":5}]}"' "mock: request body"
is "$(sel info-message '[.severity, .latest_errors[0].error.class, .latest_errors[0].error.stacktrace]')" \
    '["info","",null]' "mock: an info error without class or stack trace (null, as the original)"

is "$(get /targets/ | jq -c '.api | map(.endpoint) | sort')" \
    "$(jq -cn --arg a "127.0.0.1:$p1/errors" --arg b "127.0.0.1:$p2/errors" '[$a, $b] | sort')" \
    "GET /targets/ in the original's shape"
is "$(get /-/health)" OK "GET /-/health"

enc='java.lang.Run%2F%20timeException%40123'
is "$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS \
    "$api/services/mock-target/errors/$enc/")" 204 "OPTIONS answers"
is "$(get /services/mock-target/errors/ | jq length)" 5 \
    "OPTIONS resolved nothing"
is "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE \
    "$api/services/mock-target/errors/$enc/")" 204 \
    "DELETE of the key with a slash and a space: 204"
is "$(get /services/mock-target/errors/ | jq -r '.[].aggregation_key' | grep -c Run/)" \
    0 "the resolved error is gone from the list"

round
ok $? "a second round"
is "$(get /services/mock-target/errors/ | jq length)" 4 \
    "no new occurrences: it stays resolved"
is "$(get /services/api/errors/ | jq '.[0].total_count')" 4 \
    "unchanged client counters add nothing"

# The client reports five more: the resolved error comes back.
jq '.aggregated_errors[0].total_count = 265' "$FIXTURES/mocktarget-errors.json" \
    >"$T_TMP/t3/errors.new" && mv "$T_TMP/t3/errors.new" "$T_TMP/t3/errors"
round
is "$(get /services/mock-target/errors/ | jq -c --arg k "$key" \
    '.[] | select(.aggregation_key==$k) | [.total_count, .regressed]')" \
    '[265,true]' "new occurrences reopen it as a regression, counted exactly"
is "$(jq -r 'select(.kind=="regression") | .key' "$T_TMP/events")" "$key" \
    "a regression event"

stop "$SERVE"
done_testing
