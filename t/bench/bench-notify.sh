#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-notify: events per second from stdin to a loopback webhook
# (spooled and fsync'd, then delivered as digests of a round), against
# curl POSTing the same number of bodies to the same hook over one
# kept-alive connection; the latency of one event from its line to the
# hook; and a 60 s outage of the hook with events arriving all along,
# every one delivered, in order, once it is back.
# Prints "bench: NAME: value unit (ratio x reference)" lines.
. "$(dirname "$0")/../lib.sh"
T_TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$T_TOP/bin
PATH=$BIN:$T_TOP/build/t/helper:$PATH

[ -x "$BIN/periskop-notify" ] && [ -x "$T_TOP/build/t/helper/fake-hook" ] ||
    { echo "bench: notify: skipped: not built"; exit 0; }
N=${BENCH_EVENTS:-20000}
OUTAGE=${BENCH_OUTAGE:-60}
HPORT=$(free_port)
HOOK=$T_TMP/hook.out
ms() { echo $(( $(date +%s%N) / 1000000 )); }
iso() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
ev() {
	printf '{"type":"event","kind":"new_error","service":"shop","key":"K%s","severity":"error","count":1,"at":"%s"}\n' \
	    "$1" "$2"
}
delivered() {
	[ -f "$HOOK" ] && jq -s '[.[].events | length] | add // 0' "$HOOK" ||
	    echo 0
}
conf() {
	cat >"$T_TMP/$1.yaml" <<YAML
notify:
  spool: $1.spool
  group_wait: ${2:-100ms}
  max_backoff: 2s
  digest: 100
  receivers:
  - name: hook
    webhook: {url: "http://127.0.0.1:$HPORT/hook"}
YAML
	echo "$T_TMP/$1.yaml"
}
spawn hook fake-hook "$HPORT" "$HOOK"
HOOKPID=$SPAWNED
wait_port "$HPORT" 10

# Throughput: N events of distinct errors, all at once.
AT=$(iso)
for i in $(seq 1 "$N"); do ev "$i" "$AT"; done >"$T_TMP/in.ndjson"
CF=$(conf rate)
t0=$(ms)
periskop-notify -c "$CF" <"$T_TMP/in.ndjson" >/dev/null 2>"$T_TMP/rate.err"
t1=$(ms)
got=$(delivered)
ours=$(( N * 1000 / (t1 - t0 > 0 ? t1 - t0 : 1) ))
# The reference: curl, one connection, one POST of one event per event.
body=$(jq -c '{version: 1, text: "x", events: [.]}' <<<"$(ev 1 "$AT")")
qbody=$(printf '%s' "$body" | sed 's/"/\\"/g')
for i in $(seq 1 2000); do
	[ "$i" -gt 1 ] && echo next
	printf 'url = "http://127.0.0.1:%s/ref"\ndata = "%s"\nheader = "Content-Type: application/json"\noutput = /dev/null\n' \
	    "$HPORT" "$qbody"
done >"$T_TMP/curl.cfg"
t0=$(ms)
curl -s -K "$T_TMP/curl.cfg"
t1=$(ms)
ref=$(( 2000 * 1000 / (t1 - t0 > 0 ? t1 - t0 : 1) ))
echo "bench: notify: events/s, stdin to webhook, spooled and fsync'd:" \
    "$ours/s for $N ($got delivered) (curl: $ref POSTs/s," \
    "$(awk -v a="$ours" -v b="$ref" 'BEGIN { printf "%.1f", a / b }')x)"

# Latency: one event at a time, its line to the hook, group_wait 1ms.
: >"$HOOK"
CF=$(conf lat 1ms)
mkfifo "$T_TMP/lat.fifo"
exec 7<>"$T_TMP/lat.fifo"
periskop-notify -c "$CF" <"$T_TMP/lat.fifo" >/dev/null 2>/dev/null 7>&- &
NPID=$!
T_PIDS="$T_PIDS $NPID"
sleep 0.5
lat=""
for i in $(seq 1 20); do
	t0=$(date +%s%N)
	ev "L$i" "$(iso)" >&7
	while ! grep -q "\"KL$i\"" "$HOOK" 2>/dev/null; do sleep 0.001; done
	lat="$lat $(( ($(date +%s%N) - t0) / 1000 ))"
done
exec 7>&-
wait "$NPID" 2>/dev/null
t0=$(date +%s%N)
curl -s -o /dev/null -H 'Content-Type: application/json' --data "$body" \
    "http://127.0.0.1:$HPORT/ref"
reflat=$(( ($(date +%s%N) - t0) / 1000 ))
p50=$(echo $lat | tr ' ' '\n' | sort -n | sed -n 10p)
p95=$(echo $lat | tr ' ' '\n' | sort -n | sed -n 19p)
echo "bench: notify: latency, event line to webhook: p50 $((p50 / 1000)).$(( (p50 % 1000) / 100 )) ms," \
    "p95 $((p95 / 1000)).$(( (p95 % 1000) / 100 )) ms (one curl POST:" \
    "$((reflat / 1000)).$(( (reflat % 1000) / 100 )) ms, a new process)"

# Outage: the hook down OUTAGE s, 5 events a second all along.
stop "$HOOKPID"
: >"$HOOK"
CF=$(conf out 1s)
mkfifo "$T_TMP/out.fifo"
exec 7<>"$T_TMP/out.fifo"
periskop-notify -c "$CF" <"$T_TMP/out.fifo" >/dev/null 2>"$T_TMP/out.err" 7>&- &
NPID=$!
T_PIDS="$T_PIDS $NPID"
sent=0
end=$(( $(date +%s) + OUTAGE ))
while [ "$(date +%s)" -lt "$end" ]; do
	for j in 1 2 3 4 5; do sent=$((sent + 1)); ev "O$sent" "$(iso)" >&7; done
	sleep 1
done
spawn hook fake-hook "$HPORT" "$HOOK" 7>&-
HOOKPID=$SPAWNED
t0=$(ms)
while [ "$(delivered)" -lt "$sent" ] && [ $(( $(ms) - t0 )) -lt 30000 ]; do
	sleep 0.2
done
back=$(( $(ms) - t0 ))
got=$(delivered)
inorder=$(jq -r '.events[].key' "$HOOK" | sed 's/^KO//' | sort -n -c 2>/dev/null &&
    echo "in order" || echo "NOT in order")
exec 7>&-
wait "$NPID" 2>/dev/null
echo "bench: notify: a ${OUTAGE} s outage of the webhook: $got of $sent" \
    "events kept and delivered, $inorder, $back ms after it was back" \
    "(retries: $(grep -c 'retrying in' "$T_TMP/out.err"))"
stop "$HOOKPID"
