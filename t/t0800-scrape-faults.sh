#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Hostile targets through scrape | aggregate | serve: a never-ending body,
# one byte a second, invalid UTF-8, 10,000-deep nesting.  No crash, no hang,
# a clear error line for each, and the good data still counted exactly.
. "$(dirname "$0")/lib.sh"
for p in periskop-scrape periskop-aggregate periskop-serve fake-target; do
	command -v "$p" >/dev/null || skip_all "$p not built"
done
command -v jq >/dev/null || skip_all "jq not installed"
plan 17

W=$T_TMP/www
mkdir -p "$W"
LE='"uuid":"5d5b6a2e-0000-4000-8000-00000000000%s","timestamp":"2024-01-01T00:00:0%sZ","severity":"error"'
# Invalid UTF-8 in the key, class, message and a stack frame: read as
# U+FFFD each, as Go's decoder does, never dropped.
printf '{"aggregated_errors":[{"aggregation_key":"bad\377 key","total_count":2,"severity":"error","latest_errors":[{%s,"error":{"class":"C\303(","message":"m\355\240\200x","stacktrace":["a\370"],"cause":null}}]}]}' \
    "$(printf "$LE" 1 1)" >"$W/badutf8"
# cause chains: N deep.
deep() {
	perl -e 'my ($n, $le) = @ARGV;
	    my $c = q({"class":"C","message":"m","stacktrace":[],"cause":) x $n .
	    "null" . "}" x $n;
	    print qq({"aggregated_errors":[{"aggregation_key":"deep$n","total_count":3,"severity":"error","latest_errors":[{$le,"error":{"class":"Top","message":"top","stacktrace":[],"cause":$c}}]}]})' \
	    "$1" "$(printf "$LE" 2 2)"
}
deep 10 >"$W/deep10"
deep 10000 >"$W/deep10000"
perl -e 'print "[" x 10000, "]" x 10000' >"$W/nest"
perl -e 'print q({"aggregated_errors":[{"aggregation_key":"k","total_count":1,"latest_errors":[],"x":), "{\"a\":" x 10000, "1", "}" x 10000, "}]}"' >"$W/nestobj"

spawn target fake-target -P "$T_TMP/port" "$W"
wait_for 10 test -s "$T_TMP/port"
b=http://127.0.0.1:$(cat "$T_TMP/port")
endless="$b/x?huge=1000000000000&framing=chunked"
trickle="$b/deep10?trickle=1000"

start=$(date +%s)
with_timeout 30 periskop-scrape -t 3 -s hostile "$b/badutf8" "$b/deep10" \
    "$b/deep10000" "$b/nest" "$b/nestobj" "$endless" "$trickle" \
    >"$T_TMP/out" 2>"$T_TMP/err"
rc=$?
elapsed=$(( $(date +%s) - start ))
is "$rc" 69 "hostile targets: exit 69 (some failed), no crash"
ok $(( elapsed > 6 )) "the round is bounded by its 3 s timeout (${elapsed} s)"
line() { jq -c --arg u "$1" 'select(.type=="scrape" and .url==$u)' "$T_TMP/out"; }
err() { line "$1" | jq -r 'if .ok then "ok" else .error end'; }
is "$(err "$endless")" "body larger than 16 MiB" \
    "a never-ending body stops at the body limit"
is "$(err "$trickle")" "timeout after 3 s" \
    "one byte a second stops at the timeout"
is "$(err "$b/badutf8")" ok "invalid UTF-8 is accepted"
is "$(line "$b/badutf8" | jq -c '.aggregated_errors[0] |
    [.aggregation_key, .latest_errors[0].error.class,
    .latest_errors[0].error.message, .latest_errors[0].error.stacktrace[0]]')" \
    '["bad� key","C�(","m���x","a�"]' "... each bad byte read as U+FFFD"
is "$(err "$b/deep10")" ok "a cause chain 10 deep is fine"
like "$(err "$b/deep10000")" \
    '^not JSON at byte [0-9]+ \(line 1, column [0-9]+\): maximum parsing depth' \
    "a cause chain 10,000 deep: refused, with the byte offset"
like "$(err "$b/nest")" '^not JSON at byte 2048 .*maximum parsing depth' \
    "10,000 nested arrays: refused, with the byte offset"
like "$(err "$b/nestobj")" '^not JSON at byte [0-9]+ .*maximum parsing depth' \
    "10,000 nested objects: refused, with the byte offset"
is "$(jq -c 'select(.type=="round") | [.targets, .ok, .failed]' "$T_TMP/out")" \
    '[7,2,5]' "the round line counts them"

# A second round, the counts grown; both through aggregate.
sed -i 's/"total_count":2/"total_count":5/' "$W/badutf8"
with_timeout 30 periskop-scrape -t 3 -s hostile "$b/badutf8" "$b/deep10" \
    "$b/nest" >>"$T_TMP/out" 2>>"$T_TMP/err"
DB="sqlite:$T_TMP/db"
with_timeout 30 periskop-aggregate --db "$DB" <"$T_TMP/out" \
    >"$T_TMP/events" 2>"$T_TMP/agg.err"
is "$?" 0 "periskop-aggregate takes every line"
PORT=$(free_port)
spawn serve periskop-serve --db "$DB" -l "127.0.0.1:$PORT"
SERVE=$SPAWNED
wait_port "$PORT" 10
ok $? "periskop-serve listens"
curl -s --max-time 10 "http://127.0.0.1:$PORT/services/hostile/errors/" \
    >"$T_TMP/api.json"
is "$(jq -c '[.[] | [.aggregation_key, .total_count]] | sort' "$T_TMP/api.json")" \
    '[["bad� key",5],["deep10",3]]' "exact totals, no double count"
is "$(jq -r '.[] | select(.aggregation_key=="deep10") |
    [.latest_errors[0].error | recurse(.cause; . != null)] | length' \
    "$T_TMP/api.json")" 11 "the cause chain is kept whole"
enc=$(jq -rn '"bad� key" | @uri')
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    "http://127.0.0.1:$PORT/services/hostile/errors/$enc/")" 200 \
    "the repaired key has a detail page"

# The endless body is not held in memory: scrape's peak RSS stays small.
/usr/bin/time -f '%M' -o "$T_TMP/rss" timeout -k 2 20 periskop-scrape -t 2 \
    -s big "$endless" >/dev/null 2>&1
rss=$(tail -n 1 "$T_TMP/rss")
ok $(( rss >= 200000 )) "a never-ending body: peak RSS ${rss} kB (< 200 MB)"
stop "$SERVE"
done_testing
