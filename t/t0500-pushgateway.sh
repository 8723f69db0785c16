#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-pushgateway: the original README's push, exact totals from
# cumulative pushes (repeats, resets, many pushers at once), the real
# chain behind it, kill -9 and a restart, and bad input refused with
# nothing changed.
. "$(dirname "$0")/lib.sh"

for p in periskop-pushgateway periskop-scrape periskop-aggregate; do
	[ -x "$BIN/$p" ] || skip_all "bin/$p not built"
done
command -v curl >/dev/null || skip_all "curl not installed"
command -v jq >/dev/null || skip_all "jq not installed"
command -v sqlite3 >/dev/null || skip_all "sqlite3 not installed"

plan 35

STATE=$T_TMP/gw.state
PORT=$(free_port)
GW=http://127.0.0.1:$PORT
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)

start_gw() {
	spawn gw periskop-pushgateway -l "127.0.0.1:$PORT" --state "$STATE" \
	    --max-body 64k "$@"
	GWPID=$SPAWNED
	wait_port "$PORT" 10
}
# payload PUSHER KEY COUNT OCCURRENCE: a client's cumulative payload
payload() {
	printf '{"target_uuid":"%s","aggregated_errors":[{"aggregation_key":"%s","total_count":%s,"severity":"error","created_at":"%s","latest_errors":[{"error":{"class":"E","message":"m","stacktrace":[],"cause":null},"uuid":"%s","timestamp":"%s","severity":"error"}]}]}' \
	    "$1" "$2" "$3" "$NOW" "$4" "$NOW"
}
# push BODY [CURL ARGS]: prints the status code
push() {
	b=$1; shift
	curl -s -o "$T_TMP/resp" -w '%{http_code}' --max-time 10 -X POST \
	    -H 'Content-Type: application/json' "$@" --data-binary "$b" \
	    "$GW/errors"
}
total() {
	curl -s --max-time 10 "$GW/-/errors/" | jq -r --arg k "$1" \
	    '[.aggregated_errors[] | select(.aggregation_key == $k) |
	      .total_count] | add // 0'
}
snapshot() { curl -s --max-time 10 "$GW/-/errors/" | jq -Sc .; }

start_gw
ok $? "the gateway listens on 127.0.0.1"

# The original README's example: curl -X POST with a JSON body.
is "$(push "$(payload 5d9893c6-51d6-11ea-8aad-f894c260afe5 test 1 u-0)")" 200 \
    "the original README's push: 200"
is "$(wc -c <"$T_TMP/resp")" 0 "... with an empty body, as the original"
is "$(total test)" 1 "... and GET /-/errors/ has it"

# Cumulative counts, per pusher.
push "$(payload job-a k 5 a1)" >/dev/null
is "$(push "$(payload job-a k 5 a1)")/$(total k)" 200/5 \
    "the same payload again adds nothing: 5"
push "$(payload job-a k 8 a2)" >/dev/null
is "$(total k)" 8 "a count growing 5 to 8: 8"
push "$(payload job-a k 2 a3)" >/dev/null
is "$(total k)" 10 "a smaller count is a counter reset: 8 + 2"
push "$(payload job-b k 4 b1)" >/dev/null
is "$(total k)" 14 "another pusher's count adds: 14"
is "$(curl -s "$GW/-/errors/" | jq -r '.aggregated_errors[] |
    select(.aggregation_key == "k") | [.latest_errors[].uuid] | sort | join(" ")')" \
    "a1 a2 a3 b1" "occurrences merged, de-duplicated by uuid"
push "$(printf '{"aggregated_errors":[{"aggregation_key":"anon","total_count":3,"severity":"warning","latest_errors":[]}]}')" >/dev/null
push "$(printf '{"aggregated_errors":[{"aggregation_key":"anon","total_count":3,"severity":"warning","latest_errors":[]}]}')" >/dev/null
is "$(total anon)" 3 "without a target_uuid, the address names the pusher"
# periskop-python's push: requests.post(addr + "/errors", json_text), no
# Content-Type at all.
is "$(push "$(payload py-job py 2 p1)" -H 'Content-Type:')/$(total py)" 200/2 \
    "periskop-python's push, without a content type: 200"

# Twenty jobs at once, each pushing its growing count ten times.
pids=""
for j in $(seq 1 20); do
	( for i in $(seq 1 10); do
		push "$(payload "batch-$j" many "$i" "o-$j-$i")" >/dev/null
	  done ) &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
is "$(total many)" 200 "20 concurrent pushers x 10 pushes of a growing count: 200"

# Bad input: refused, and the state is unchanged.
before=$(snapshot)
is "$(push 'not json')" 400 "not JSON: 400"
like "$(cat "$T_TMP/resp")" "byte" "... saying where"
is "$(push '{"foo":1}')" 400 "not a Periskop payload: 400"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
    -H 'Content-Type: multipart/form-data' --data-binary "$(payload big k 1 x)" \
    "$GW/errors")" 415 \
    "another content type: 415"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T_TMP/big"
is "$(push @"$T_TMP/big")" 413 "a body over --max-body: 413"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
    -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T_TMP/big" "$GW/errors")" 413 \
    "a chunked body over --max-body: 413"
sum_before=$(md5sum <"$STATE")
push 'not json' >/dev/null
push '{"aggregated_errors":[{"aggregation_key":"k","total_count":-1}]}' >/dev/null
is "$(md5sum <"$STATE")" "$sum_before" "... and the state file is byte for byte the same"
is "$(snapshot)" "$before" "none of them changed anything"

# The real chain behind it: scrape the gateway, aggregate into SQLite.
printf '{"type":"targets","service":"batch","endpoint":"/-/errors/","interval_s":10,"timeout_s":5,"targets":[{"address":"127.0.0.1:%s","url":"%s/-/errors/","labels":{}}]}\n' \
    "$PORT" "$GW" >"$T_TMP/targets"
chain() {
	with_timeout 30 sh -c 'periskop-scrape --once <"$1" |
	    periskop-aggregate --db "sqlite:$2"' sh "$T_TMP/targets" \
	    "$T_TMP/p.db" >/dev/null 2>>"$T_TMP/chain.err"
}
chain; chain
is "$(sqlite3 "$T_TMP/p.db" "SELECT total_count FROM errors WHERE key = 'many'")" \
    200 "scraped twice through the chain: still 200"

# kill -9 after acknowledged pushes, then a restart on the same state.
push "$(payload job-a k 9 a4)" >/dev/null
before=$(snapshot)
kill -KILL "$GWPID"; wait "$GWPID" 2>/dev/null
# Under make valgrind, a process killed with -9 leaves no summary to check.
[ -n "${T_VALGRIND:-}" ] && rm -f "$T_BIN/../log/$GWPID.log"
start_gw
is "$(snapshot)" "$before" "kill -9 and a restart: every acknowledged push is there"
is "$(push "$(payload job-a k 9 a4)")/$(total k)" 200/21 \
    "... and the same push again still adds nothing: 21"

# A token.
stop "$GWPID"
printf 's3cret\n' >"$T_TMP/token"
start_gw --token-file "$T_TMP/token"
is "$(push "$(payload t k 1 t1)")/$(push "$(payload t k 1 t1)" -H 'Authorization: Bearer nope')/$(push "$(payload t k 1 t1)" -H 'Authorization: Bearer s3cret')" \
    401/401/200 "with --token-file: 401 without the token or with a wrong one, 200 with it"
stop "$GWPID"
if grep -q s3cret "$T_TMP"/gw.err; then leak=yes; else leak=no; fi
is "$leak" no "the token is not in the log"

# The gateway's own errors, refusals counted by reason, security headers.
start_gw
push 'not json' >/dev/null
push "$(head -c 70000 /dev/zero | tr '\0' ' ')" >/dev/null
is "$(curl -s --max-time 10 "$GW/errors" | jq -r '[.aggregated_errors[].aggregation_key] | sort | join(",")')" \
    "push_invalid@400,push_too_large@413" "GET /errors: the refusals, in the Periskop format"
is "$(curl -s --max-time 10 "$GW/errors" | jq -r '[.aggregated_errors[].latest_errors[0].http_context.request_headers // {} | keys[] | select(. == "Authorization")] | length')" \
    0 "... with request headers, never Authorization"
is "$(curl -sI --max-time 10 "$GW/-/health" | tr -d '\r' | grep -c '^X-Content-Type-Options: nosniff$')" 1 \
    "answers carry the security headers"
stop "$GWPID"

# A state file that is not one: exit 65, and the file is left for a look.
printf '{"pushers":[{' >"$T_TMP/bad.state"
with_timeout 10 periskop-pushgateway -l "127.0.0.1:$PORT" --state "$T_TMP/bad.state" \
    2>"$T_TMP/bad.err"
is "$?:$(cat "$T_TMP/bad.state")" '65:{"pushers":[{' "a corrupt state file: exit 65, the file untouched"
like "$(cat "$T_TMP/bad.err")" "bad.state': not a valid state" "... saying which file and why"

# A body trickled in: 408 once it took longer than --request-timeout,
# cut off when it is still coming at twice that.
start_gw --request-timeout 1s
slow() {
	python3 - "$PORT" "$1" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"POST /errors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: 22\r\n\r\n{\"aggregated")
time.sleep(float(sys.argv[2]))
try:
    s.sendall(b"_errors\":[]}")
    a = s.recv(4096)
    print(a.split(b" ")[1].decode() if a else "closed")
except OSError:
    print("closed")
PY
}
is "$(slow 1.5)" 408 "a slow body: 408"
is "$(slow 2.5)" closed "... and one slower than twice the limit: cut off"
stop "$GWPID"

# The pushgateway block of periskop.yaml: -n, and discover scrapes it.
printf 'pushgateway:\n  listen: 127.0.0.1:%s\n  service: batch\n  state: pg.state\n  max_keys: 1\n' \
    "$PORT" >"$T_TMP/pg.yaml"
is "$(periskop-pushgateway -n -c "$T_TMP/pg.yaml")" "configuration OK" "-n -c checks the pushgateway block"
is "$(periskop-discover --once -c "$T_TMP/pg.yaml" | jq -r 'select(.service == "batch") | .targets[0].url')" \
    "http://127.0.0.1:$PORT/-/errors/" "periskop-discover: the gateway is a target of its service"
spawn gwc periskop-pushgateway -c "$T_TMP/pg.yaml"
GWPID=$SPAWNED
wait_port "$PORT" 10
is "$(push "$(payload c k 1 c1)")/$(push "$(payload c2 k2 1 c2)" -H 'X-A: b')/$(push "$(payload c k3 1 c3)")" 200/200/429 \
    "-c: the block's limits apply (max_keys 1 per pusher)"
stop "$GWPID"

done_testing
