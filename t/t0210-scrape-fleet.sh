#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-scrape against fake-fleet: a few hundred targets on several
# addresses, good and faulty mixed; exact payloads, error lines, counters
# that grow between rounds, bounded rounds, a closed stdout.
. "$(dirname "$0")/lib.sh"

spawn fleet fake-fleet -A 4 -n 50 -S 300 -f slow:3 -f hang:2 -f garbage:2 \
    -f huge:2 -f reset:2 -f refuse:2 -f status:2 -U "$T_TMP/urls" \
    -C "$T_TMP/ctl"
FLEET=$SPAWNED
wait_for 10 test -s "$T_TMP/ctl"
ok $? "fake-fleet is up"
CTL=http://127.0.0.1:$(cat "$T_TMP/ctl")
is "$(wc -l <"$T_TMP/urls")" 200 "200 targets"
is "$(cut -d' ' -f1 "$T_TMP/urls" | sed 's|^http://||; s|:.*||' |
    sort -u | wc -l)" 4 "on 4 addresses"

# The targets line of the whole fleet, with a 2 s timeout.
tline() {
	awk -v svc="$1" 'BEGIN { printf "{\"type\":\"targets\",\"service\":\"%s\",\"endpoint\":\"/errors\",\"interval_s\":60,\"timeout_s\":2,\"targets\":[", svc }
	{ a = $1; sub("^http://", "", a); sub("/.*", "", a)
	  printf "%s{\"address\":\"%s\",\"url\":\"%s\",\"labels\":{}}", (NR > 1 ? "," : ""), a, $1 }
	END { print "]}" }' "$T_TMP/urls"
}
tline fleet >"$T_TMP/in"

# kind KIND: the URLs of that kind.
kind() { awk -v k="$1" '$2 == k { print $1 }' "$T_TMP/urls"; }
# errs KIND: the distinct errors (or "ok") of that kind's scrape lines.
errs() {
	kind "$1" | jq -R . | jq -s . >"$T_TMP/k.json"
	jq -r --slurpfile u "$T_TMP/k.json" 'select(.type == "scrape" and
	    (.url as $x | $u[0] | index($x)))
	    | if .ok then "ok" else .error end' "$T_TMP/out" | sort -u |
	    tr '\n' '|'
}

round() {
	start=$(date +%s%N)
	with_timeout 30 periskop-scrape --once -j 32 -m 1M <"$T_TMP/in" \
	    >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
}

round
is "$rc" 0 "round 1: exit 0"
is "$(jq -c 'select(.type == "round") | [.service, .targets, .ok, .failed]' \
    "$T_TMP/out")" '["fleet",200,188,12]' "round 1: one round line, counts"
is "$(grep -c '"type":"scrape"' "$T_TMP/out")" 200 "a scrape line per target"
is "$(errs hang)" "timeout after 2 s|" "hanging targets: timeout"
like "$(errs garbage)" "^not JSON at byte 0 [^|]*\|$" "garbage: not JSON"
is "$(errs huge)" "body larger than 1 MiB|" "huge: body limit"
is "$(errs reset)" "recv: connection reset by peer|" "reset"
is "$(errs refuse)" "connect: connection refused|" "refused"
is "$(errs status)" "HTTP 500|" "HTTP 500"
is "$(errs slow)" "ok|" "slow targets within the timeout succeed"
is "$(errs good)" "ok|" "every good target succeeds"
is "$(jq -r 'select(.type == "scrape" and .ok) | [.http_status,
    (.body_bytes > 5000), (.aggregated_errors | length),
    ([.aggregated_errors[].total_count] | tostring)] | @csv' "$T_TMP/out" |
    sort | uniq -c | sed 's/^ *//')" '188 200,true,3,"[1,2,3]"' \
    "good payloads: status, size, keys, counts"
is "$(jq -s '[.[] | select(.type == "scrape" and .ok) |
    .aggregated_errors[].total_count] | add' "$T_TMP/out")" $((188 * 6)) \
    "total of all counts"

# Exact payloads: the scrape line against what the fleet served.
NORM='{target_uuid, aggregated_errors}'
bad=0
for i in 1 57 123 199; do
	u=$(sed -n "$((i + 1))p" "$T_TMP/urls" | cut -d' ' -f1)
	got=$(jq -cS --arg u "$u" "select(.type == \"scrape\" and .url == \$u)
	    | $NORM" "$T_TMP/out")
	want=$(curl -s "$CTL/payload?i=$i&n=1" | jq -cS "$NORM")
	[ -n "$want" ] && [ "$got" = "$want" ] || { bad=1; diag "target $i differs"; }
done
ok $bad "payloads complete and exact"

# The hanging targets end the round at their timeout and delay no one.
ok $(( elapsed < 6000 ? 0 : 1 )) "the round is bounded (${elapsed} ms)"
is "$(jq -s '[.[] | select(.type == "scrape" and
    (.error // "" | test("timeout") | not)) | select(.duration_ms >= 2000)]
    | length' "$T_TMP/out")" 0 "no other target waits for the hanging ones"
is "$(jq -r 'select(.type == "scrape") | .url' "$T_TMP/out" | tail -n 2 |
    sort | tr '\n' ' ')" "$(kind hang | sort | tr '\n' ' ')" \
    "the hanging targets come last"

# Round 2: the counters have grown.
round
is "$rc" 0 "round 2: exit 0"
is "$(jq -r 'select(.type == "scrape" and .ok) |
    [.aggregated_errors[].total_count] | tostring' "$T_TMP/out" |
    sort | uniq -c | sed 's/^ *//')" '188 [2,4,6]' "round 2: counts doubled"
curl -s "$CTL/counts" >"$T_TMP/counts"
is "$(awk '$2 == "good" || $2 == "slow" { print $4 }' "$T_TMP/counts" |
    sort -u)" 2 "the fleet served each good target twice"

# Two services at once: both rounds complete, each with its own line.
{ tline one; tline two; } >"$T_TMP/in2"
with_timeout 30 periskop-scrape --once -j 16 -m 1M <"$T_TMP/in2" \
    >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "two services: exit 0"
is "$(jq -c 'select(.type == "round") | [.service, .targets, .ok]' \
    "$T_TMP/out" | sort | tr '\n' ' ')" \
    '["one",200,188] ["two",200,188] ' "two services: two round lines"

# A closed stdout ends it at once, by SIGPIPE, without waiting for a round.
start=$(date +%s%N)
( with_timeout 30 periskop-scrape --once <"$T_TMP/in" 2>"$T_TMP/err" |
    head -c 100 >/dev/null; echo "${PIPESTATUS[0]}" >"$T_TMP/rc" )
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
is "$(cat "$T_TMP/rc")" 141 "a closed stdout: SIGPIPE"
ok $(( elapsed < 1900 ? 0 : 1 )) "before the hanging targets time out (${elapsed} ms)"

stop "$FLEET"
plan "$T_NUM"
done_testing
