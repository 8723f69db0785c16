#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-scrape against fake-target: every framing, every failure kind,
# targets lines from stdin, and how the tool ends.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T_TMP/www"
cp "$FIXTURES"/*.json "$T_TMP/www/"
printf 'garbage, not JSON\n' >"$T_TMP/www/garbage"
printf '{"foo":1}\n' >"$T_TMP/www/other.json"
spawn target fake-target -P "$T_TMP/port" "$T_TMP/www"
FT=$SPAWNED
wait_for 10 test -s "$T_TMP/port"
ok $? "fake-target writes its port file"
P=$(cat "$T_TMP/port")
base="http://127.0.0.1:$P"
DEAD=$(free_port)

# The fixture in the normal form: defaults filled in, occurrences sorted.
NORM='def e: if type == "object" then
	({class: "", message: "", stacktrace: null, cause: null} + .)
	| .cause |= e else . end;
    [.aggregated_errors[] | {aggregation_key, total_count, severity,
	created_at, latest_errors: ([.latest_errors[] | {uuid, timestamp,
	severity, error: (.error | e), http_context: (.http_context |
	if . == null then null else ({request_method: "", request_url: "",
	request_headers: null, request_body: ""} + .) end)}]
	| sort_by(.timestamp, .uuid))}]'

# line URL: the scrape line of URL in $T_TMP/out.
line() { jq -c --arg u "$1" 'select(.type=="scrape" and .url==$u)' "$T_TMP/out"; }

# Every fixture with every framing, and as text/plain, in one round.
urls=()
for f in "$FIXTURES"/*.json; do
	n=$(basename "$f")
	for q in framing=length framing=chunked framing=close ctype=text/plain; do
		urls+=("$base/$n?$q")
	done
done
with_timeout 20 periskop-scrape -s fixtures "${urls[@]}" >"$T_TMP/out" \
    2>"$T_TMP/err"
is "$?" 0 "every fixture, every framing: exit 0"
for u in "${urls[@]}"; do
	n=${u#"$base/"}; n=${n%%\?*}
	want=$(jq -cS "$NORM" "$FIXTURES/$n")
	got=$(line "$u" | jq -cS "$NORM")
	is "$(line "$u" | jq -c '[.ok, .http_status, .target, .service]')" \
	    "[true,200,\"127.0.0.1:$P\",\"fixtures\"]" "$n ${u#*\?}: ok"
	is "$got" "$want" "$n ${u#*\?}: the payload, complete and exact"
done
is "$(line "$base/mocktarget-errors.json?framing=close" | jq -r .target_uuid)" \
    "$(jq -r .target_uuid "$FIXTURES/mocktarget-errors.json")" \
    "target_uuid is carried"
is "$(line "$base/sample-response1.json?framing=chunked" | jq .body_bytes)" \
    "$(wc -c <"$FIXTURES/sample-response1.json")" "body_bytes"
is "$(line "$base/sample-response1.json?framing=chunked" |
    jq -r '[(.at | test("^[0-9-]{10}T[0-9:.]{12}Z$")), (.duration_ms >= 0)] | @csv')" \
    "true,true" "at and duration_ms"
is "$(jq -c 'select(.type=="round") | [.service, .targets, .ok, .failed]' \
    "$T_TMP/out")" '["fixtures",12,12,0]' "one round line with the counts"
is "$(tail -n 1 "$T_TMP/out" | jq -r .type)" round "the round line comes last"

# Each failure kind, its error line; the hanging target delays nobody.
start=$(date +%s%N)
with_timeout 20 periskop-scrape -t 1 -m 64k "http://127.0.0.1:$DEAD/errors" \
    "$base/sample-response1.json?status=500" "$base/garbage" \
    "$base/other.json" "$base/missing" "$base/x?huge=100000" \
    "$base/x?huge=100000&framing=chunked" "$base/sample-response1.json?hang=1" \
    "$base/sample-response1.json?reset=1" \
    "$base/sample-response2.json?delay=200" >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 69 "a failed scrape: exit 69"
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
err() { line "$1" | jq -r 'if .ok then "ok" else .error end'; }
is "$(err "http://127.0.0.1:$DEAD/errors")" "connect: connection refused" \
    "refused port"
is "$(err "$base/sample-response1.json?status=500")" "HTTP 500" "HTTP 500"
is "$(line "$base/sample-response1.json?status=500" | jq .http_status)" 500 \
    "its http_status"
like "$(err "$base/garbage")" "^not JSON at byte [0-9]+" "garbage"
like "$(err "$base/other.json")" "^not a Periskop payload: " \
    "JSON that is not a payload"
is "$(err "$base/missing")" "HTTP 404" "missing file"
is "$(err "$base/x?huge=100000")" "body larger than 64 KiB" "huge body"
is "$(err "$base/x?huge=100000&framing=chunked")" "body larger than 64 KiB" \
    "huge chunked body"
is "$(err "$base/sample-response1.json?hang=1")" "timeout after 1 s" "timeout"
is "$(err "$base/sample-response1.json?reset=1")" \
    "recv: connection reset by peer" "reset"
is "$(err "$base/sample-response2.json?delay=200")" ok \
    "a slow target still succeeds"
is "$(jq -c 'select(.type=="round") | [.targets, .ok, .failed]' "$T_TMP/out")" \
    '[10,1,9]' "round counts"
is "$(grep '"type":"scrape"' "$T_TMP/out" | tail -n 1 | jq -r .url)" \
    "$base/sample-response1.json?hang=1" "the hanging target is written last"
is "$(jq -s '[.[] | select(.type=="scrape" and (.url | test("hang") | not))
    | select(.duration_ms >= 1000)] | length' "$T_TMP/out")" 0 \
    "the others finish before its timeout"
ok $(( elapsed < 3000 ? 0 : 1 )) "the round ends at its timeout (${elapsed} ms)"

# Targets lines on stdin, --once.
tl() {	# tl SERVICE TIMEOUT_S URL...
	s=$1; t=$2; shift 2
	printf '{"type":"targets","service":"%s","endpoint":"/errors","interval_s":1,"timeout_s":%s,"targets":[' "$s" "$t"
	sep=
	for u in "$@"; do
		a=${u#http://}; a=${a%%/*}
		printf '%s{"address":"%s","url":"%s","labels":{}}' "$sep" "$a" "$u"
		sep=,
	done
	printf ']}\n'
}
tl api 5 "$base/sample-response1.json" "$base/sample-response2.json" \
    >"$T_TMP/in"
echo '{"type":"note","text":"passed along"}' >>"$T_TMP/in"
echo 'not json' >>"$T_TMP/in"
tl slow 1 "$base/sample-response1.json?hang=1" >>"$T_TMP/in"
tl gone 5 >>"$T_TMP/in"
with_timeout 20 periskop-scrape --once <"$T_TMP/in" >"$T_TMP/out" \
    2>"$T_TMP/err"
is "$?" 0 "--once: exit 0 at the end of input"
is "$(grep -c '"type":"targets"' "$T_TMP/out")" 3 "targets lines forwarded"
is "$(grep -vF -x -f "$T_TMP/out" "$T_TMP/in")" "not json" \
    "every valid line forwarded unchanged"
like "$(cat "$T_TMP/err")" "^periskop-scrape: stdin:3: " "a bad line: stdin:LINE"
is "$(jq -c 'select(.type=="round") | [.service, .targets, .ok, .failed]' \
    "$T_TMP/out" | sort | tr '\n' ' ')" \
    '["api",2,2,0] ["slow",1,0,1] ' "one round per service, with counts"
is "$(jq -r 'select(.type=="scrape" and .service=="slow") | .error' \
    "$T_TMP/out")" "timeout after 1 s" "the targets line's timeout is used"
is "$(jq -s '[.[] | select(.type=="scrape" and .service=="api")] | length' \
    "$T_TMP/out")" 2 "a scrape line per target"

# Without --once: rounds every interval; the end of input ends it.
{ tl api 5 "$base/sample-response1.json"; sleep 2.6; } |
    with_timeout 20 periskop-scrape >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "periodic: exit 0 at the end of input"
n=$(grep -c '"type":"round"' "$T_TMP/out")
ok $(( n >= 2 && n <= 3 ? 0 : 1 )) "periodic: a round every interval ($n)"

# A body answered again is reported as unchanged, not parsed; a changed
# one in full again; --full reports every one.
cp "$FIXTURES/sample-response1.json" "$T_TMP/www/live.json"
kinds() {	# F: in full, U: unchanged
	jq -r 'select(.type=="scrape") | if .unchanged then "U"
	    elif .aggregated_errors then "F" else "?" end' "$1" | tr -d '\n'
}
{ tl live 5 "$base/live.json"; sleep 3.3
  cp "$FIXTURES/sample-response2.json" "$T_TMP/www/live.new"
  mv "$T_TMP/www/live.new" "$T_TMP/www/live.json"; sleep 2.2; } |
    with_timeout 20 periskop-scrape >"$T_TMP/out" 2>"$T_TMP/err"
k=$(kinds "$T_TMP/out")
like "$k" "^FU+FU+$" "the same body again: unchanged; a new body: in full ($k)"
is "$(jq -c 'select(.type=="scrape" and .aggregated_errors)' "$T_TMP/out" |
    tail -n 1 | jq -cS "$NORM")"     "$(jq -cS "$NORM" "$FIXTURES/sample-response2.json")"     "the new body's payload, exact"
is "$(jq -r 'select(.type=="scrape" and .unchanged) | [.ok, .http_status,
    has("aggregated_errors")] | @csv' "$T_TMP/out" | sort -u)"     "true,200,false" "an unchanged line: ok, its status, no payload"
{ tl live 5 "$base/live.json"; sleep 2.2; } |
    with_timeout 20 periskop-scrape --full >"$T_TMP/out" 2>"$T_TMP/err"
like "$(kinds "$T_TMP/out")" "^FF+$" "--full: every body in full"
{ tl one 5 "$base/live.json"; tl two 5 "$base/live.json"; sleep 1.2; } |
    with_timeout 20 periskop-scrape >"$T_TMP/out" 2>"$T_TMP/err"
is "$(jq -r 'select(.type=="scrape") | "\(.service):\(if .unchanged then "U" else "F" end)"' \
    "$T_TMP/out" | sort -u | grep F | tr '\n' ' ')" "one:F two:F " \
    "a target two services list: in full for each"

# A closed stdout ends the tool; so does SIGTERM, promptly.
mkfifo "$T_TMP/fifo"
( periskop-scrape <"$T_TMP/fifo" | head -c 1 >/dev/null
  echo "${PIPESTATUS[0]}" >"$T_TMP/pipe.rc" ) &
T_PIDS="$T_PIDS $!"
exec 3>"$T_TMP/fifo"
tl api 5 "$base/sample-response1.json" >&3
wait_for 10 test -s "$T_TMP/pipe.rc"
ok $? "a closed stdout ends periskop-scrape"
is "$(cat "$T_TMP/pipe.rc" 2>/dev/null)" 141 "by SIGPIPE"
exec 3>&-

# Read-write, so opening the fifo does not wait for a reader.
mkfifo "$T_TMP/fifo2"
exec 3<>"$T_TMP/fifo2"
# Not through spawn: a background job's stdin would be /dev/null.
periskop-scrape <&3 >"$T_TMP/term.out" 2>"$T_TMP/term.err" &
SC=$!
T_PIDS="$T_PIDS $SC"
tl hang 30 "$base/sample-response1.json?hang=1" >&3
sleep 1.2
kill -TERM "$SC"
ok $? "still running while its target hangs"
wait_for 2 sh -c "! kill -0 $SC"
ok $? "SIGTERM ends it promptly, transfers in flight abandoned"
wait "$SC"
is "$?" 0 "and it exits 0"
exec 3>&-

# Usage.
periskop-scrape -h >"$T_TMP/out"
is "$?:$(head -c 22 "$T_TMP/out")" "0:usage: periskop-scrape" "-h: usage, exit 0"
periskop-scrape -X 2>/dev/null
is "$?" 64 "a bad flag: exit 64"
periskop-scrape -m lots "$base/x" 2>/dev/null
is "$?" 64 "a bad -m: exit 64"

stop "$FT"
plan "$T_NUM"
done_testing
