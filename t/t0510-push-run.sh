#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Push mode through the whole supervised chain: periskop-run starts the
# gateway its pushgateway block names, 100 pushers x 50 cumulative pushes
# reach periskop-serve exactly, and a gateway killed with -9 is restarted
# with nothing lost.
. "$(dirname "$0")/lib.sh"

for p in periskop-run periskop-pushgateway periskop-serve; do
	[ -x "$BIN/$p" ] || skip_all "bin/$p not built"
done
command -v curl >/dev/null || skip_all "curl not installed"
command -v jq >/dev/null || skip_all "jq not installed"

plan 7

GWPORT=$(free_port)
PORT=$(free_port)
GW=http://127.0.0.1:$GWPORT
API=http://127.0.0.1:$PORT
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat >"$T_TMP/periskop.yaml" <<YAML
services:
  - name: batch
    scraper: {refresh_interval: 1s, timeout: 1s}
repository: {type: sqlite, path: periskop.db}
server: {listen: "127.0.0.1:$PORT"}
pushgateway:
  listen: "127.0.0.1:$GWPORT"
  service: batch
  state: gw.state
YAML
# payload PUSHER KEY COUNT: a job's cumulative payload
payload() {
	printf '{"target_uuid":"%s","aggregated_errors":[{"aggregation_key":"%s","total_count":%s,"severity":"error","created_at":"%s","latest_errors":[{"error":{"class":"E","message":"m","stacktrace":[],"cause":null},"uuid":"%s-%s","timestamp":"%s","severity":"error"}]}]}' \
	    "$1" "$2" "$3" "$NOW" "$1" "$3" "$NOW"
}
served() {
	curl -s --max-time 5 "$API/services/batch/errors/" | jq -r --arg k "$1" \
	    '[.[] | select(.aggregation_key == $k) | .total_count] | add // 0'
}

spawn run periskop-run -c "$T_TMP/periskop.yaml"
RUN=$SPAWNED
wait_port "$GWPORT" 20 && wait_port "$PORT" 20
ok $? "periskop-run starts the gateway its pushgateway block names"

# The original README's example push, then the scrape behind it.
curl -s -o /dev/null --max-time 5 -X POST -H 'Content-Type: application/json' \
    --data-binary "$(payload 5d9893c6-51d6-11ea-8aad-f894c260afe5 test 1)" "$GW/errors"
wait_for 20 sh -c "[ \"\$(curl -s $API/services/batch/errors/ | jq -r '.[0].aggregation_key')\" = test ]"
ok $? "a push reaches periskop-serve through the chain"

# 100 jobs at once, each pushing its growing count 50 times (one curl a
# job, 50 requests on it, so the gateway and not fork is what is timed).
pids=""
for j in $(seq 1 100); do
	args=()
	for i in $(seq 1 50); do
		[ "$i" -gt 1 ] && args+=(--next)
		args+=(-s -o /dev/null -w '%{http_code}\n' -X POST
		    -H 'Content-Type: application/json'
		    --data-binary "$(payload "job-$j" many "$i")" "$GW/errors")
	done
	curl --max-time 120 "${args[@]}" >"$T_TMP/codes.$j" &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
is "$(cat "$T_TMP"/codes.* | sort | uniq -c | awk '{print $2 "x" $1}')" "200x5000" \
    "100 pushers x 50 pushes: every one answered 200"
wait_for 20 sh -c "[ \"\$(curl -s $API/services/batch/errors/ | jq -r '.[] | select(.aggregation_key == \"many\") | .total_count')\" = 5000 ]"
is "$(served many)" 5000 "... and periskop-serve shows exactly 100 x 50 = 5000"

# kill -9 of the gateway: periskop-run restarts it on the same state.
gw=$(pgrep -P "$RUN" -f periskop-pushgateway)
kill -KILL "$gw"
wait_for 20 sh -c "pgrep -P $RUN -f periskop-pushgateway | grep -vx $gw"
ok $? "the gateway killed with -9 is restarted"
wait_port "$GWPORT" 20
curl -s -o /dev/null --max-time 5 -X POST -H 'Content-Type: application/json' \
    --data-binary "$(payload job-1 many 50)" "$GW/errors"
curl -s -o /dev/null --max-time 5 -X POST -H 'Content-Type: application/json' \
    --data-binary "$(payload job-1 many 53)" "$GW/errors"
wait_for 20 sh -c "[ \"\$(curl -s $API/services/batch/errors/ | jq -r '.[] | select(.aggregation_key == \"many\") | .total_count')\" = 5003 ]"
is "$(served many)" 5003 "... with every acknowledged push: a repeat adds nothing, 50 to 53 adds 3"

kill -TERM "$RUN"
with_timeout 15 sh -c "while kill -0 $RUN 2>/dev/null; do sleep 0.1; done"
! pgrep -f "periskop-pushgateway -c $T_TMP/periskop.yaml" >/dev/null
ok $? "SIGTERM stops the gateway with the rest"
done_testing
