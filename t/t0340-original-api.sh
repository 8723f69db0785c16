#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The original server's API contract, from its own tests (api/api_test.go
# of periskop-dev/periskop at 4b3986e) and code, through the real chain:
# fake targets, periskop-discover | periskop-scrape | periskop-aggregate,
# then periskop-serve.  Each test is named after the case it comes from.
. "$(dirname "$0")/lib.sh"

for p in periskop-discover periskop-scrape periskop-aggregate periskop-serve; do
	[ -x "$BIN/$p" ] || skip_all "bin/$p not built"
done
command -v curl >/dev/null || skip_all "curl not installed"
command -v jq >/dev/null || skip_all "jq not installed"

plan 17

DB=$T_TMP/p.db
NOW_S=$(date +%s)

# -- the targets: one directory each, its payload at /errors
mkdir -p "$T_TMP/zero" "$T_TMP/empty" "$T_TMP/many"
# The original's zero values: an ErrorInstance{}, no uuid, time 0.
cat >"$T_TMP/zero/errors" <<'JSON'
{"aggregated_errors":[{"aggregation_key":"key","total_count":0,"severity":"error","created_at":"1970-01-01T00:00:00Z","latest_errors":[{"error":{},"uuid":"","timestamp":"1970-01-01T00:00:00Z","severity":"error"}]}]}
JSON
echo '{"aggregated_errors":[]}' >"$T_TMP/empty/errors"
# Key "many": 150 occurrences a second apart, the newest a minute ago.
# Key "noid": three occurrences without a uuid, two of them the same.
perl -e '
	my $t0 = $ARGV[0] - 60;
	sub ts { my @t = gmtime($_[0]); sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ",
	    $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0]) }
	my @o = map { sprintf(q({"error":{"class":"E","message":"m%d","stacktrace":[],"cause":null},"uuid":"u-%03d","timestamp":"%s","severity":"error"}), $_, $_, ts($t0 - $_)) } 0 .. 149;
	my $n = q({"error":{"class":"N","message":"%s"},"timestamp":"%s","severity":"warning","http_context":{"request_method":"GET","request_url":"http://x/"}});
	my @n = (sprintf($n, "a", ts($t0)), sprintf($n, "b", ts($t0)), sprintf($n, "a", ts($t0)));
	printf q({"aggregated_errors":[{"aggregation_key":"many","total_count":150,"severity":"error","latest_errors":[%s]},{"aggregation_key":"noid","total_count":3,"severity":"warning","latest_errors":[%s]}]}) . "\n",
	    join(",", @o), join(",", @n);
' "$NOW_S" >"$T_TMP/many/errors"
for n in zero empty many; do
	spawn "t-$n" fake-target -P "$T_TMP/$n.port" "$T_TMP/$n"
done
for n in zero empty many; do
	wait_for 10 test -s "$T_TMP/$n.port"
done
cat >"$T_TMP/periskop.yaml" <<YAML
services:
  - name: api-test
    static_configs: [{targets: ["127.0.0.1:$(cat "$T_TMP/zero.port")"]}]
  - name: empty
    static_configs: [{targets: ["127.0.0.1:$(cat "$T_TMP/empty.port")"]}]
  - name: many
    static_configs: [{targets: ["127.0.0.1:$(cat "$T_TMP/many.port")"]}]
repository: {type: sqlite, path: $DB}
YAML

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
spawn serve periskop-serve --db "$DB" -l "127.0.0.1:$PORT"
SERVE=$SPAWNED
wait_port "$PORT" 10
get() { curl -s --max-time 10 "$URL$1"; }
code() { curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }

is "$(get /services/)" "[]" \
    "TestServicesWithEmptyRepoReturnsEmptyArray: []"

with_timeout 60 sh -c 'periskop-discover --once -c "$1" |
    periskop-scrape --once | periskop-aggregate -m 200 -c "$1"' sh \
    "$T_TMP/periskop.yaml" >/dev/null 2>"$T_TMP/chain.err"
is "$?" 0 "the chain stores the three services"
is "$(cat "$T_TMP/chain.err")" "" "... without a complaint"

is "$(get /services/)" '["api-test","empty","many"]' \
    "TestServicesWithNonEmptyRepoReturnsServiceNames"
is "$(code "$URL/services/api-test2/errors/")" 404 \
    "TestErrorsForUnknownServiceReturnsNotFound: 404"
is "$(code "$URL/services/empty/errors/")/$(get /services/empty/errors/)" \
    "200/[]" "TestErrorsForKnownServiceReturnsSuccess: 200, []"
# The original's fields, in its order; ours follow them.
is "$(get /services/api-test/errors/ | jq -c '[.[] | {aggregation_key,
    total_count, severity, latest_errors, created_at}]')" \
    '[{"aggregation_key":"key","total_count":0,"severity":"error","latest_errors":[{"error":{"class":"","message":"","stacktrace":null,"cause":null},"uuid":"","timestamp":0,"severity":"error","http_context":null}],"created_at":0}]' \
    "TestErrorsForKnownServiceReturnsErrors: the original's body"
like "$(get /services/api-test/errors/)" \
    '^\[\{"aggregation_key":"key","total_count":0,"severity":"error","latest_errors":\[\{"error":\{"class":"","message":"","stacktrace":null,"cause":null\},"uuid":"","timestamp":0,"severity":"error","http_context":null\}\],"created_at":0,' \
    "TestErrorsForKnownServiceReturnsErrors: to the byte, additions after"

is "$(code -X DELETE "$URL/services/api-test2/errors/test/")" 404 \
    "TestResolveErrorForUnknownServiceReturnsNotFound: 404"
is "$(code -X DELETE "$URL/services/empty/errors/test/")" 204 \
    "TestResolveErrorsReturnsSuccess: 204 for a key the service lacks"
is "$(code -X POST "$URL/services/empty/errors/test/?action=ignore")" 404 \
    "our POST ?action= still says 404 for an unknown key"

get /services/many/errors/ >"$T_TMP/many.json"
is "$(jq '.[] | select(.aggregation_key == "many") | .latest_errors | length' "$T_TMP/many.json")" \
    100 "numberOfOccurrencesPerError: 100 occurrences an error, as the original"
is "$(jq -r '.[] | select(.aggregation_key == "many") | [.latest_errors[0].uuid, .latest_errors[99].uuid] | join(" ")' "$T_TMP/many.json")" \
    "u-000 u-099" "... the newest first"
is "$(get '/services/many/errors/?occurrences=10' | jq '[.[].latest_errors | length] | max')" \
    10 "?occurrences=10: ten"
is "$(code "$URL/services/many/errors/?occurrences=101")" 400 \
    "?occurrences=101: 400"
is "$(jq -c '.[] | select(.aggregation_key == "noid") | [.latest_errors[] | [.uuid, .error.message]] | sort' "$T_TMP/many.json")" \
    '[["","a"],["","b"]]' \
    "occurrences without a uuid: kept, de-duplicated by content, shown as \"\""
is "$(jq -c '.[] | select(.aggregation_key == "noid") | .latest_errors[0] | [.error.stacktrace, .http_context.request_headers, .http_context.request_body]' "$T_TMP/many.json")" \
    '[null,null,""]' \
    "absent stacktrace and headers: null, as Go's nil; absent body: \"\", the original's string"

stop "$SERVE"
done_testing
