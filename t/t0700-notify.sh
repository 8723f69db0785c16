#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-notify: events reach a real Alertmanager, a loopback webhook
# that fails, hangs or is down, and a command; routing, the per-error
# interval, digests, a bounded spool, kill -9, and the supervised chain.
. "$(dirname "$0")/lib.sh"

for p in periskop-notify periskop-run periskop-pushgateway; do
	[ -x "$BIN/$p" ] || skip_all "bin/$p not built"
done
[ -x "$HELPER/fake-hook" ] || skip_all "fake-hook not built"
command -v curl >/dev/null || skip_all "curl not installed"
command -v jq >/dev/null || skip_all "jq not installed"
AM_BIN=$(command -v prometheus-alertmanager || command -v alertmanager) ||
	skip_all "prometheus-alertmanager not installed"

plan 71

# Alertmanager is Go: it reads the clock without the C library, so under
# libfaketime (make timeshift) our events' times are years from its own.
if [ -n "${FAKETIME:-}" ]; then AM_CLOCK=faked; else AM_CLOCK=same; fi
# am_ok STATUS DESCRIPTION: a check of what Alertmanager shows as active
am_ok() {
	if [ "$AM_CLOCK" = same ]; then ok "$1" "$2"; else
		T_NUM=$((T_NUM + 1))
		echo "ok $T_NUM # SKIP $2: Alertmanager's clock is not faked"
	fi
}

# iso SECONDS: the time SECONDS from now, as events carry it.
iso() { date -u -d "@$(( $(date +%s) + $1 ))" +%Y-%m-%dT%H:%M:%S.000Z; }
# ev KIND SERVICE KEY SEVERITY COUNT AT: an error event line
ev() {
	printf '{"type":"event","kind":"%s","service":"%s","key":"%s","severity":"%s","count":%s,"at":"%s"}\n' \
	    "$@"
}
# tev KIND SERVICE TARGET AT: a target event line
tev() {
	printf '{"type":"event","kind":"%s","service":"%s","target":"%s","at":"%s"}\n' \
	    "$@"
}
HPORT=$(free_port)
HOOK=$T_TMP/hook.out
start_hook() {
	spawn hook fake-hook "$HPORT" "$HOOK" "$@" 7>&-
	HOOKPID=$SPAWNED
	wait_port "$HPORT" 10
}
# conf NAME [KEYS]: a config of one webhook receiver with extra notify keys
conf() {
	cat >"$T_TMP/$1.yaml" <<YAML
notify:
  spool: $1.spool
  group_wait: 100ms
  max_backoff: 1s
${2:-}
  receivers:
  - name: hook
    webhook: {url: "http://127.0.0.1:$HPORT/hook"${3:-}}
YAML
	echo "$T_TMP/$1.yaml"
}
hooked() { [ -f "$HOOK" ] && wc -l <"$HOOK" || echo 0; }
# keys: the keys of the events the hook received, in order
keys() { jq -r '.events[].key' "$HOOK" | tr '\n' ' '; }

# --- configuration
CF=$(conf ok)
out=$(periskop-notify -n -c "$CF" 2>&1)
is "$?:$out" "0:configuration OK" "-n: a good configuration"
printf 'notify:\n  receivers:\n  - name: a\n    webhook: {headers: {X: y}}\n' \
    >"$T_TMP/bad.yaml"
out=$(periskop-notify -n -c "$T_TMP/bad.yaml" 2>&1); rc=$?
is "$rc" 78 "a webhook without url: exit 78"
like "$out" "bad.yaml:4:14: missing key \"url\" in receiver \"a\"" \
    "the message says where (file:line:col)"
printf 'notify:\n  receivers:\n  - name: ../x\n    command: "true"\n' \
    >"$T_TMP/bad2.yaml"
out=$(periskop-notify -n -c "$T_TMP/bad2.yaml" 2>&1); rc=$?
like "$rc:$out" "^78:.*bad2.yaml:3:11: receiver name \"../x\" may hold only" \
    "a receiver name that is a path: refused"
printf 'notify:\n  receivers:\n  - name: a\n    command: "true"\n    kinds: [new_eror]\n' \
    >"$T_TMP/bad3.yaml"
out=$(periskop-notify -n -c "$T_TMP/bad3.yaml" 2>&1); rc=$?
like "$rc:$out" "^78:.*bad3.yaml:5:13: unknown event kind \"new_eror\"" \
    "an unknown event kind: refused"
printf 'notify:\n  receivers:\n  - name: a\n    command: "true"\n    webhook: {url: "http://x"}\n' \
    >"$T_TMP/bad4.yaml"
out=$(periskop-notify -n -c "$T_TMP/bad4.yaml" 2>&1); rc=$?
like "$rc:$out" "^78:.*needs exactly one of" "two kinds of receiver: refused"
printf 'services: []\n' >"$T_TMP/none.yaml"
out=$(periskop-notify -n -c "$T_TMP/none.yaml" 2>&1); rc=$?
like "$rc:$out" "^78:.*no notify block" "no notify block: exit 78"
out=$(periskop-notify -c "$T_TMP/missing.yaml" 2>&1); rc=$?
is "$rc" 66 "a missing config: exit 66"
periskop-notify -x 2>/dev/null; is "$?" 64 "a bad flag: exit 64"

# --- a real Alertmanager
AMPORT=$(free_port)
printf 'route:\n  receiver: "null"\nreceivers:\n- name: "null"\n' \
    >"$T_TMP/am.yml"
spawn am "$AM_BIN" --config.file="$T_TMP/am.yml" \
    --storage.path="$T_TMP/am" --web.listen-address="127.0.0.1:$AMPORT" \
    --cluster.listen-address=
AMPID=$SPAWNED
wait_for 30 curl -sf "http://127.0.0.1:$AMPORT/-/ready"
ok $? "Alertmanager is up"
cat >"$T_TMP/am.yaml" <<YAML
server: {listen: "127.0.0.1:8089"}
notify:
  spool: am.spool
  group_wait: 100ms
  receivers:
  - name: team
    alertmanager: {url: "http://127.0.0.1:$AMPORT"}
YAML
AT=$(iso 0)
{
	ev new_error shop 'NullPointerException@Cart' error 3 "$AT"
	tev target_down shop 10.0.0.8:7777 "$AT"
} | with_timeout 20 periskop-notify -c "$T_TMP/am.yaml" >/dev/null \
    2>"$T_TMP/am-notify.err"
ok $? "notify delivers to Alertmanager and ends at EOF"
alerts() { curl -s "http://127.0.0.1:$AMPORT/api/v2/alerts"; }
a=$(alerts | jq -c '.[] | select(.labels.alertname == "PeriskopNewError") |
    [.labels.service_name, .labels.aggregation_key, .labels.severity,
     .labels.kind, .startsAt, .annotations.url]')
[ "$a" = "[\"shop\",\"NullPointerException@Cart\",\"error\",\"new_error\",\"$AT\",\"http://127.0.0.1:8089/#/shop/errors/NullPointerException%40Cart\"]" ]
am_ok $? "the alert: labels, startsAt and the UI's deep link ($a)"
a=$(alerts | jq -r '.[] | select(.labels.alertname == "PeriskopNewError") |
    .annotations.summary')
[ "$a" = "New error in shop: NullPointerException@Cart (error, 3 occurrences)" ]
am_ok $? "the alert's summary ($a)"
a=$(alerts | jq -r '.[] | select(.labels.alertname == "PeriskopTargetDown") |
    .labels.target')
[ "$a" = "10.0.0.8:7777" ]
am_ok $? "target_down: an alert with the target ($a)"
tev target_up shop 10.0.0.8:7777 "$(iso 0)" |
    with_timeout 20 periskop-notify -c "$T_TMP/am.yaml" >/dev/null 2>&1
a=$(alerts | jq '[.[] | select(.labels.alertname == "PeriskopTargetDown")] |
    length')
[ "$a" = 0 ]
am_ok $? "target_up resolves the target's alert ($a left)"

# --- a webhook: body, id, token, forwarding unchanged
start_hook
echo "s3cret-token" >"$T_TMP/token"
CF=$(conf wh "" ", headers: {X-Team: core}, token_file: token")
AT=$(iso 0)
{
	printf '{"type":"round","service":"shop","at":"%s"}\n' "$AT"
	ev new_error shop 'E@1' error 2 "$AT"
	echo 'not json at all'
	printf '{"type":"event","kind":"new_error"}\n'
	ev regression shop 'E@2' warning 1 "$AT"
} >"$T_TMP/in.ndjson"
with_timeout 20 periskop-notify -c "$CF" <"$T_TMP/in.ndjson" \
    >"$T_TMP/fwd.ndjson" 2>"$T_TMP/wh.err"
ok $? "notify ends at EOF after delivering"
cmp -s "$T_TMP/in.ndjson" "$T_TMP/fwd.ndjson"
ok $? "every line is forwarded unchanged"
like "$(cat "$T_TMP/wh.err")" "stdin:4: event with no \"service\"; forwarded" \
    "a malformed event line is named by line"
is "$(hooked)" 2 "two messages, one per event"
is "$(jq -r .text "$HOOK" | head -n 1)" \
    "New error in shop: E@1 (error, 2 occurrences) http://127.0.0.1:8080/#/shop/errors/E%401" \
    "a Slack-compatible text with the link"
is "$(jq -r '[.version, .receiver, .events[0].kind, .events[0].count] | @tsv' "$HOOK" | head -n 1)" \
    "$(printf '1\thook\tnew_error\t2')" "the body: version, receiver, event"
id=$(jq -r .id "$HOOK" | head -n 1)
is "$(head -n 1 "$HOOK.headers")" "$id Bearer s3cret-token" \
    "the message id is a header too; the token is sent as Bearer"
! grep -q s3cret "$T_TMP/wh.err"; ok $? "the token never in the log"
# The same lines again (a replay): nothing new is sent.
with_timeout 20 periskop-notify -c "$CF" <"$T_TMP/in.ndjson" >/dev/null 2>&1
is "$(hooked)" 2 "a replay of spooled lines sends nothing again"
stop "$HOOKPID"

# --- failing, down, rejecting, hanging receivers
rm -f "$HOOK" "$HOOK.headers"
start_hook fail=3
CF=$(conf fail)
AT=$(iso 0)
for i in 1 2 3 4 5; do ev new_error shop "F$i" error 1 "$AT"; done |
    with_timeout 30 periskop-notify -c "$CF" >/dev/null 2>"$T_TMP/fail.err"
is "$(keys)" "F1 F2 F3 F4 F5 " "a hook failing 3 times gets all 5, in order"
like "$(grep -c 'HTTP 500' "$T_TMP/fail.err")" "^3$" "each failure is logged"
like "$(cat "$T_TMP/fail.err")" "retrying in [0-9]+ ms \\(attempt 2\\)" \
    "retries back off"
stop "$HOOKPID"

# Down: events wait in the spool, in order, and all arrive when it is up.
rm -f "$HOOK" "$HOOK.headers"
CF=$(conf down)
mkfifo "$T_TMP/down.fifo"
exec 7<>"$T_TMP/down.fifo"
# Not spawn: a background job's stdin would be /dev/null.
periskop-notify -c "$CF" <"$T_TMP/down.fifo" >"$T_TMP/down.out" \
    2>"$T_TMP/down.err" 7>&- &
NPID=$!
T_PIDS="$T_PIDS $NPID"
AT=$(iso 0)
for i in $(seq 1 20); do ev new_error shop "D$i" error 1 "$AT"; done >&7
sleep 3
is "$(hooked)" 0 "the hook is down: nothing delivered yet"
start_hook
wait_for 15 sh -c "[ \$(jq -s '[.[].events | length] | add' '$HOOK') -eq 20 ]"
is "$(keys)" "$(for i in $(seq 1 20); do printf 'D%s ' $i; done)" \
    "back up: all 20 events, in order"
exec 7>&-
wait_exit "$NPID" 15
ok $? "EOF: notify ends"
stop "$HOOKPID"

# Rejected (400): given up, logged, the next ones go on.
rm -f "$HOOK" "$HOOK.headers"
start_hook fail=1 status=400
CF=$(conf rej)
for i in 1 2; do ev new_error shop "R$i" error 1 "$AT"; done |
    with_timeout 20 periskop-notify -c "$CF" >/dev/null 2>"$T_TMP/rej.err"
is "$(keys)" "R2 " "a 400 is not retried; the next event is delivered"
like "$(cat "$T_TMP/rej.err")" "message [0-9a-f]{16} of 1 event given up" \
    "the event given up is logged with its id"
grep -q 'result="rejected"} 1' "$T_TMP/rej.spool/metrics"
ok $? "and counted"
stop "$HOOKPID"

# Hanging: the timeout ends the call; kill -9 during it loses nothing.
rm -f "$HOOK" "$HOOK.headers"
start_hook hang=1
CF=$(conf hang "" ", headers: {}")
sed -i 's/^    webhook:.*/&\n    timeout: 1s/' "$CF"
mkfifo "$T_TMP/hang.fifo"
exec 7<>"$T_TMP/hang.fifo"
# Not spawn: a background job's stdin would be /dev/null.
periskop-notify -c "$CF" <"$T_TMP/hang.fifo" >"$T_TMP/hang.out" \
    2>"$T_TMP/hang.err" 7>&- &
NPID=$!
T_PIDS="$T_PIDS $NPID"
for i in 1 2 3; do ev new_error shop "H$i" error 1 "$AT"; done >&7
wait_for 10 grep -q "Timeout\|timed out" "$T_TMP/hang.err"
ok $? "a hanging hook: the call times out"
kill -9 "$NPID"; wait "$NPID" 2>/dev/null
[ -n "${T_VALGRIND:-}" ] && rm -f "$T_BIN/../log/$NPID.log"
exec 7>&-
stop "$HOOKPID"
start_hook
with_timeout 20 periskop-notify -c "$CF" </dev/null >/dev/null 2>&1
is "$(keys)" "H1 H2 H3 " "after kill -9 mid-delivery and a restart: all 3, once"

# Slow: an answer in 1.5 s is in time; one after the timeout is sent
# again, with the same id, so the receiver can tell (at least once).
stop "$HOOKPID"
rm -f "$HOOK" "$HOOK.headers"
start_hook delay=1500
CF=$(conf slow)
ev new_error shop W1 error 1 "$AT" |
    with_timeout 20 periskop-notify -c "$CF" >/dev/null 2>&1
is "$(keys)" "W1 " "a slow hook (1.5 s): delivered once"
stop "$HOOKPID"
rm -f "$HOOK" "$HOOK.headers"
start_hook delay=1500
CF=$(conf late)
sed -i 's/^    webhook:.*/&\n    timeout: 1s/' "$CF"
ev new_error shop W2 error 1 "$AT" |
    with_timeout 20 periskop-notify -c "$CF" >/dev/null 2>&1
ids=$(cut -d' ' -f1 "$HOOK.headers" | sort -u | wc -l)
n=$(wc -l <"$HOOK.headers")
[ "$n" -ge 2 ] && [ "$ids" -eq 1 ]
ok $? "an answer after the timeout: sent again ($n), always the same id"
stop "$HOOKPID"
start_hook

# --- routing, interval, digest
rm -f "$HOOK" "$HOOK.headers"
cat >"$T_TMP/route.yaml" <<YAML
notify:
  spool: route.spool
  group_wait: 100ms
  receivers:
  - name: hook
    webhook: {url: "http://127.0.0.1:$HPORT/hook"}
    kinds: [new_error, regression]
    services: [api]
    severities: [error]
YAML
{
	ev new_error shop S1 error 1 "$AT"
	ev new_error api S2 warning 1 "$AT"
	ev spike api S3 error 9 "$AT"
	ev regression api S4 error 1 "$AT"
	tev target_down api 10.0.0.1:80 "$AT"
} | with_timeout 20 periskop-notify -c "$T_TMP/route.yaml" >/dev/null 2>&1
is "$(keys)" "S4 " "kinds, services and severities select the events"

rm -f "$HOOK" "$HOOK.headers"
CF=$(conf ival "  interval: 1h")
{
	ev regression shop I1 error 1 "$(iso 0)"
	ev regression shop I1 error 4 "$(iso 60)"
	ev new_error shop I1 error 4 "$(iso 60)"
	ev regression shop I1 error 2 "$(iso 7300)"
} | with_timeout 20 periskop-notify -c "$CF" >/dev/null 2>&1
is "$(jq -r '.events[] | .kind + ":" + (.count | tostring)' "$HOOK" | tr '\n' ' ')" \
    "regression:1 new_error:4 regression:2 " \
    "one message per error and kind per interval"
grep -q 'suppressed_total{receiver="hook"} 1' "$T_TMP/ival.spool/metrics"
ok $? "the suppressed event is counted"

rm -f "$HOOK" "$HOOK.headers"
CF=$(conf dig "  digest: 5")
sed -i 's/group_wait: 100ms/group_wait: 1s/' "$CF"
for i in 1 2 3 4 5 6 7 8; do ev new_error shop "G$i" error 1 "$AT"; done |
    with_timeout 20 periskop-notify -c "$CF" >/dev/null 2>&1
is "$(hooked)" 1 "8 events of one round: one digest message"
is "$(jq -r '.events | length' "$HOOK")" 8 "the digest holds all 8"
like "$(jq -r .text "$HOOK")" "^8 periskop events:" "its text says how many"

# --- a command
cat >"$T_TMP/cmd.sh" <<'SH'
#!/bin/sh
# Fails with 75 (try again) the first time.
n=$(cat "$1.n" 2>/dev/null || echo 0); echo $((n + 1)) >"$1.n"
[ "$n" -eq 0 ] && exit 75
{ cat; echo "id=$PERISKOP_MESSAGE_ID"; } >>"$1"
SH
chmod +x "$T_TMP/cmd.sh"
cat >"$T_TMP/cmd.yaml" <<YAML
notify:
  spool: cmd.spool
  group_wait: 100ms
  receivers:
  - name: mail
    command: "$T_TMP/cmd.sh $T_TMP/cmd.out"
YAML
ev new_error shop C1 error 1 "$AT" |
    with_timeout 20 periskop-notify -c "$T_TMP/cmd.yaml" >"$T_TMP/cmd.fwd" \
    2>"$T_TMP/cmd.err"
is "$(head -n 1 "$T_TMP/cmd.out" | jq -r '.events[0].key')" C1 \
    "a command gets the message on stdin, after a 75 (try again)"
id=$(head -n 1 "$T_TMP/cmd.out" | jq -r .id)
is "$(sed -n 2p "$T_TMP/cmd.out")" "id=$id" "and its id in PERISKOP_MESSAGE_ID"
is "$(wc -l <"$T_TMP/cmd.fwd")" 1 "what a command prints is not forwarded"

# --- a bounded spool
stop "$HOOKPID"
rm -f "$HOOK" "$HOOK.headers"
CF=$(conf full "  max_spool: 4096")
for i in $(seq 1 100); do ev new_error shop "P$i" error 1 "$AT"; done |
    with_timeout 20 periskop-notify -c "$CF" >/dev/null 2>"$T_TMP/full.err"
like "$(cat "$T_TMP/full.err")" "stdin:[0-9]+: spool full \\(4096 bytes\\); event dropped" \
    "a full spool drops events and says so"
d=$(sed -n 's/^periskop_notify_events_dropped_total //p' "$T_TMP/full.spool/metrics")
s=$(sed -n 's/^periskop_notify_events_spooled_total //p' "$T_TMP/full.spool/metrics")
is "$((d + s)):$((d > 0))" "100:1" "spooled + dropped = 100 (dropped $d)"
start_hook
with_timeout 20 periskop-notify -c "$CF" </dev/null >/dev/null 2>&1
is "$(jq -s '[.[].events | length] | add' "$HOOK")" "$s" \
    "every spooled event is delivered at the next start"
stop "$HOOKPID"

# A damaged spool: refused, named, left as it was.
printf 'garbage\n' >"$T_TMP/full.spool/events"
out=$(periskop-notify -c "$CF" </dev/null 2>&1); rc=$?
like "$rc:$out" "^65:.*full.spool/events: byte 0: not a periskop-notify spool" \
    "a damaged spool: exit 65, named"
is "$(cat "$T_TMP/full.spool/events")" "garbage" "and left untouched"

# --- the supervised chain: a new error reaches Alertmanager and the hook
rm -f "$HOOK" "$HOOK.headers"
start_hook
GWPORT=$(free_port)
PORT=$(free_port)
cat >"$T_TMP/periskop.yaml" <<YAML
services:
  - name: batch
    scraper: {refresh_interval: 1s, timeout: 1s}
repository: {type: sqlite, path: periskop.db}
server: {listen: "127.0.0.1:$PORT"}
pushgateway: {listen: "127.0.0.1:$GWPORT", service: batch, state: gw.state}
notify:
  spool: chain.spool
  spike: {count: 10, window: 10m}
  group_wait: 100ms
  max_backoff: 1s
  receivers:
  - name: team
    alertmanager: {url: "http://127.0.0.1:$AMPORT"}
  - name: hook
    webhook: {url: "http://127.0.0.1:$HPORT/hook"}
YAML
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
push() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
	    --data-binary "{\"target_uuid\":\"job-$1\",\"aggregated_errors\":[{\"aggregation_key\":\"$1\",\"total_count\":${2:-1},\"severity\":\"error\",\"created_at\":\"$NOW\",\"latest_errors\":[{\"error\":{\"class\":\"E\",\"message\":\"m\",\"stacktrace\":[],\"cause\":null},\"uuid\":\"u-$1\",\"timestamp\":\"$NOW\",\"severity\":\"error\"}]}]}" \
	    "http://127.0.0.1:$GWPORT/errors"
}
spawn run periskop-run -c "$T_TMP/periskop.yaml"
RUNPID=$SPAWNED
wait_port "$GWPORT" 15 && wait_port "$PORT" 15
ok $? "periskop-run starts the chain with notify"
t0=$(date +%s%N)
is "$(push chain.K1)" 200 "a job pushes a new error"
wait_for 15 grep -q '"chain.K1"' "$HOOK"
ok $? "it reaches the webhook"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
diag "push to webhook: $ms ms (scrape interval 1 s)"
[ "$ms" -lt 5000 ]; ok $? "within a few rounds of 1 s ($ms ms)"
wait_for 10 sh -c "curl -s http://127.0.0.1:$AMPORT/api/v2/alerts |
    grep -q chain.K1"
am_ok $? "and the real Alertmanager"
# kill -9 notify: periskop-run restarts it; what aggregate wrote while
# it was down waits in the socket pair.
npid=$(pgrep -P "$RUNPID" -f periskop-notify)
kill -9 $npid
[ -n "${T_VALGRIND:-}" ] && rm -f "$T_BIN/../log/$npid.log"
is "$(push chain.K2)" 200 "a new error while notify is down"
wait_for 20 grep -q '"chain.K2"' "$HOOK"
ok $? "after the restart it is delivered"
# At least once: a kill -9 right after a delivery, before the offset is
# saved, sends it again, with the same id.
ids_per_key() {
	jq -r '.events[] | select(.kind == "new_error") | .key + " " + .id' \
	    "$HOOK" | sort -u | awk '{ n[$1]++ } END { for (k in n) if (n[k] > 1) print k }'
}
is "$(ids_per_key)" "" "each with one message id (sent again at most with the same)"
# The threshold rule: 1 then 12 more in the window reaches 10.
is "$(push chain.K1 13)" 200 "the same job's count grows by 12"
wait_for 15 grep -q '"kind":"spike","service":"batch","key":"chain.K1"' "$HOOK"
ok $? "a spike: the count in the window reached the threshold"
is "$(jq -r '.events[] | select(.kind == "spike") | .count' "$HOOK")" 13 \
    "the spike's count is the window's"
# kill -9 of the whole chain while an event is between aggregate and
# notify (notify stopped, so it is only in the socket pair): aggregate's
# outbox has it, and says it again when the chain is back.
npid=$(pgrep -P "$RUNPID" -f periskop-notify)
kill -STOP $npid
is "$(push chain.K3)" 200 "a new error while notify reads nothing"
wait_for 15 grep -q '"chain.K3"' "$T_TMP/chain.spool.outbox/events"
ok $? "aggregate wrote it to its outbox"
! grep -q '"chain.K3"' "$T_TMP/chain.spool/events"
ok $? "notify has not spooled it"
kids=$(pgrep -P "$RUNPID")
kill -9 "$RUNPID" $kids
wait "$RUNPID" 2>/dev/null
if [ -n "${T_VALGRIND:-}" ]; then
	for p in $RUNPID $kids; do rm -f "$T_BIN/../log/$p.log"; done
fi
spawn run2 periskop-run -c "$T_TMP/periskop.yaml"
RUNPID=$SPAWNED
wait_for 20 grep -q '"chain.K3"' "$HOOK"
ok $? "after kill -9 of the whole chain and a restart it is delivered"
sleep 2
is "$(ids_per_key)" "" "and what the outbox said again adds no new message"
wait_for 10 sh -c "curl -s http://127.0.0.1:$PORT/metrics |
    grep -q 'periskop_notify_deliveries_total{receiver=\"hook\",result=\"ok\"} [1-9]'"
ok $? "periskop-serve's /metrics shows deliveries by receiver"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T_TMP/chain.spool/metrics" >/dev/null 2>&1
	ok $? "notify's metrics pass promtool check metrics"
else
	T_NUM=$((T_NUM + 1)); echo "ok $T_NUM # SKIP promtool not installed"
fi
kill -TERM "$RUNPID"
wait_exit "$RUNPID" 20
ok $? "SIGTERM stops the chain, notify included"
! pgrep -f "periskop-notify -c $T_TMP/periskop.yaml" >/dev/null
ok $? "no notify left behind"
stop "$HOOKPID" "$AMPID"
done_testing
