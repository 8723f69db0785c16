#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Many clients read periskop-serve while periskop-aggregate writes the same
# database: every answer is a 200 with valid JSON, and the totals agree at
# the end (SQLite WAL: readers never wait for the writer).
. "$(dirname "$0")/lib.sh"

for p in periskop-serve periskop-aggregate; do
	[ -x "$BIN/$p" ] || skip_all "bin/$p not built"
done
command -v curl >/dev/null || skip_all "curl not installed"
command -v jq >/dev/null || skip_all "jq not installed"

plan 8

DB=$T_TMP/p.db
ROUNDS=60
CLIENTS=8
REQS=40

# round N: one scrape of 20 keys, each at count N, then the round line.
round() {
	now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
	printf '{"type":"scrape","service":"api","target":"127.0.0.1:1","url":"http://127.0.0.1:1/errors","target_uuid":"t-1","at":"%s","duration_ms":1,"ok":true,"aggregated_errors":[' "$now"
	for k in $(seq 1 20); do
		[ "$k" -gt 1 ] && printf ','
		printf '{"aggregation_key":"key %d/\\"x\\"","total_count":%d,"severity":"error","latest_errors":[{"error":{"class":"E","message":"m","stacktrace":[],"cause":null},"uuid":"u-%d-%d","timestamp":"%s","severity":"error","http_context":null}]}' \
		    "$k" "$1" "$k" "$1" "$now"
	done
	printf ']}\n{"type":"round","service":"api","at":"%s","duration_ms":1,"targets":1,"ok":1,"failed":0}\n' "$now"
}
round 1 | with_timeout 30 periskop-aggregate --db "$DB" >/dev/null 2>&1
is "$?" 0 "the first round is stored"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
spawn serve periskop-serve --db "$DB" -l "127.0.0.1:$PORT"
SERVE=$SPAWNED
wait_port "$PORT" 10
ok $? "periskop-serve listens"

# The writer: a round every 50 ms.
(
	for n in $(seq 2 $ROUNDS); do
		round "$n"
		sleep 0.05
	done
) | periskop-aggregate --db "$DB" >/dev/null 2>"$T_TMP/agg.err" &
WRITER=$!
T_PIDS="$T_PIDS $WRITER"

# client N: REQS requests over the read routes; one line per answer.
client() {
	for i in $(seq 1 $REQS); do
		case $((i % 4)) in
		0) p=/services/api/errors/ ;;
		1) p='/services/api/errors/key%203%2F%22x%22/' ;;
		2) p=/metrics ;;
		3) p=/targets/ ;;
		esac
		code=$(curl -s --max-time 10 -o "$T_TMP/c$1.body" \
		    -w '%{http_code}' "$URL$p")
		if [ "$p" = /metrics ]; then
			grep -q '^periskop_build_info' "$T_TMP/c$1.body" &&
			    valid=yes || valid=no
		else
			# jq -e succeeds on empty input: test the size too.
			[ -s "$T_TMP/c$1.body" ] &&
			    jq -e . "$T_TMP/c$1.body" >/dev/null 2>&1 &&
			    valid=yes || valid=no
		fi
		echo "$code $valid $p"
	done
}
pids=""
for c in $(seq 1 $CLIENTS); do
	client "$c" >"$T_TMP/client$c.out" &
	pids="$pids $!"
done
T_PIDS="$T_PIDS $pids"
for p in $pids; do
	wait "$p"
done
wait "$WRITER"
is "$?" 0 "the aggregator wrote every round"

cat "$T_TMP"/client*.out >"$T_TMP/all.out"
is "$(wc -l <"$T_TMP/all.out" | tr -d ' ')" $((CLIENTS * REQS)) \
    "every request was answered"
is "$(grep -cv '^200 yes ' "$T_TMP/all.out")" 0 \
    "every answer is a 200 with a valid body"
grep -v '^200 yes ' "$T_TMP/all.out" | head -n 5 | while read -r l; do
	diag "$l"
done

curl -s --max-time 10 "$URL/services/api/errors/" >"$T_TMP/final"
is "$(jq '[.[].total_count]|add' "$T_TMP/final")" $((20 * ROUNDS)) \
    "the totals agree after the last round"
is "$(jq 'length' "$T_TMP/final")" 20 "all 20 keys are listed"
kill -0 "$SERVE"
ok $? "periskop-serve is still running"
stop "$SERVE"

done_testing
