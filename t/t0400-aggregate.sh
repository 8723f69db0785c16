#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# periskop-aggregate end to end: NDJSON in, database rows and events out,
# on SQLite, then the same round on PostgreSQL and on MySQL.
. "$(dirname "$0")/lib.sh"

plan 63

AGG=$BIN/periskop-aggregate
DB=$T_TMP/p.db

q() { sqlite3 "$DB" "$1"; }
# stamp SECONDS_AGO: an RFC 3339 time that long before the clock.
stamp() { date -u -d "@$(( $(date +%s) - $1 ))" +%Y-%m-%dT%H:%M:%S.000Z; }

# -- flags
out=$("$AGG" -h 2>/dev/null); rc=$?
is "$rc" 0 "-h exits 0"
like "$out" '^usage: periskop-aggregate \[-nv\] \[-m max_occurrences\]' \
    "-h prints the synopsis on stdout"
"$AGG" </dev/null >/dev/null 2>&1; is $? 64 "no database: usage, 64"
"$AGG" -x --db "$DB" </dev/null >/dev/null 2>&1; is $? 64 "bad flag: 64"
"$AGG" -m 0 --db "$DB" </dev/null >/dev/null 2>&1; is $? 64 "-m 0: 64"
"$AGG" -d "$DB" -c /dev/null </dev/null >/dev/null 2>&1
is $? 64 "both --db and -c: 64"

# -- database URIs
port=$(free_port)
err=$("$AGG" --db "postgresql://u@127.0.0.1:$port/periskop" </dev/null \
    2>&1 >/dev/null); rc=$?
is "$rc" 69 "postgres server down: 69"
like "$err" "^periskop-aggregate: postgres: '127.0.0.1:$port/periskop': cannot connect: " \
    "postgres server down: message"
"$AGG" -r bogus=1d --db "$DB" </dev/null >/dev/null 2>&1
is $? 64 "-r with an unknown kind: 64"
"$AGG" -r minutes=soon --db "$DB" </dev/null >/dev/null 2>&1
is $? 64 "-r with a bad age: 64"
"$AGG" -s "$(printf '%070d' 0)" --db "$DB" </dev/null >/dev/null 2>&1
is $? 64 "-s with a long name: 64"
"$AGG" --db "$T_TMP/no/such/dir/x.db" </dev/null >/dev/null 2>&1
is $? 66 "database in a missing folder: 66"
"$AGG" -c "$T_TMP/missing.yaml" </dev/null >/dev/null 2>&1
is $? 66 "missing config: 66"
printf 'services: []\n' >"$T_TMP/norepo.yaml"
err=$("$AGG" -c "$T_TMP/norepo.yaml" </dev/null 2>&1 >/dev/null); rc=$?
is "$rc" 78 "config without repository: 78"

# -- a round end to end, scraped just now
AT='"at":"'$(stamp 0)'","duration_ms":3.1'
OCC='{"error":{"class":"E","message":"boom","stacktrace":["f"],"cause":null},"uuid":"u1","timestamp":"'$(stamp 60)'","severity":"error"}'
cat >"$T_TMP/in1" <<IN
{"type":"targets","service":"api","endpoint":"/errors","interval_s":10,"timeout_s":10,"targets":[{"address":"127.0.0.1:1","url":"http://127.0.0.1:1/errors","labels":{"instance":"127.0.0.1:1"}},{"address":"127.0.0.1:2","url":"http://127.0.0.1:2/errors","labels":{}}]}
{not json
{"type":"hello","x":[1, 2]}
{"type":"scrape","service":"api","target":"127.0.0.1:1","url":"http://127.0.0.1:1/errors",$AT,"http_status":200,"body_bytes":10,"ok":true,"aggregated_errors":[{"aggregation_key":"E@1","total_count":2,"severity":"error","latest_errors":[$OCC]}]}
{"type":"scrape","service":"api","target":"127.0.0.1:2","url":"http://127.0.0.1:2/errors",$AT,"http_status":0,"body_bytes":0,"ok":false,"error":"connect: connection refused"}
{"type":"round","service":"api",$AT,"targets":2,"ok":1,"failed":1}
IN
with_timeout 20 "$AGG" --db "$DB" <"$T_TMP/in1" >"$T_TMP/out1" 2>"$T_TMP/err1"
is $? 0 "a round: exit 0"
like "$(cat "$T_TMP/err1")" '^periskop-aggregate: stdin:2: ' \
    "bad line reported with its line number"
is "$(sed -n 1p "$T_TMP/out1")" '{"type":"hello","x":[1, 2]}' \
    "unknown type forwarded unchanged"
is "$(jq -r 'select(.type == "event") | [.kind, .service, .key // .target, .count // "-"] | @tsv' "$T_TMP/out1" | tr '\t' ' ' | tr '\n' ';')" \
    'target_down api 127.0.0.1:2 -;new_error api E@1 2;' "events printed"
is "$(wc -l <"$T_TMP/out1" | tr -d ' ')" 3 "nothing else on stdout"
is "$(q "SELECT total_count || ' ' || status FROM errors")" "2 unresolved" \
    "error stored"
is "$(q "SELECT address || ' ' || ifnull(up, '-') FROM targets ORDER BY address" | tr '\n' ';')" \
    '127.0.0.1:1 1;127.0.0.1:2 0;' "targets and health stored"

# -- the same input again: exact, no events
with_timeout 20 "$AGG" --db "sqlite:$DB" <"$T_TMP/in1" >"$T_TMP/out2" 2>/dev/null
is $? 0 "replay: exit 0"
is "$(grep -c '"type":"event"' "$T_TMP/out2")" 0 "replay: no events"
is "$(q "SELECT total_count FROM errors")" 2 "replay: no double count"

# -- resolve, then a count that grows: a regression
q "UPDATE errors SET status = 'resolved'"
sed 's/"total_count":2/"total_count":5/' "$T_TMP/in1" >"$T_TMP/in3"
with_timeout 20 "$AGG" -m 1 --db "$DB" <"$T_TMP/in3" >"$T_TMP/out3" 2>/dev/null
is "$(jq -r 'select(.type == "event") | .kind + " " + (.count|tostring)' "$T_TMP/out3")" \
    "regression 3" "regression event after the count grew"
is "$(q "SELECT total_count || ' ' || status || ' ' || regressed FROM errors")" \
    "5 unresolved 1" "regression stored"

# -- an archive 400 days old: stored, then replayed 30 days later by the
# aggregator's clock, exact; a target silent for longer than the
# retention (7 days) while another reported loses its baseline and then
# counts in full.
# archive TARGETS...: a round of service "old", 400 days ago, in which
# each target reports key A@1 with the count 4.
archive() {
	at='"at":"'$(stamp $((400 * 86400)))'","duration_ms":1'
	printf '{"type":"targets","service":"old","endpoint":"/errors","interval_s":10,"timeout_s":10,"targets":[{"address":"127.0.0.1:3","url":"http://127.0.0.1:3/errors","labels":{}},{"address":"127.0.0.1:4","url":"http://127.0.0.1:4/errors","labels":{}}]}\n'
	for t in "$@"; do
		printf '{"type":"scrape","service":"old","target":"127.0.0.1:%s","url":"http://127.0.0.1:%s/errors","target_uuid":"t%s",%s,"ok":true,"aggregated_errors":[{"aggregation_key":"A@1","total_count":4,"severity":"error","latest_errors":[]}]}\n' \
		    "$t" "$t" "$t" "$at"
	done
	printf '{"type":"round","service":"old",%s,"targets":2,"ok":2,"failed":0}\n' "$at"
}
RDB=$T_TMP/archive.db
rq() { sqlite3 "$RDB" "$1"; }
archive 3 4 >"$T_TMP/arch34"
archive 3 >"$T_TMP/arch3"
archive 4 >"$T_TMP/arch4"
with_timeout 20 "$AGG" --db "$RDB" <"$T_TMP/arch34" >/dev/null 2>&1
with_timeout 20 "$AGG" --db "$RDB" <"$T_TMP/arch34" >"$T_TMP/arch.out" 2>&1
is "$?/$(grep -c '"type":"event"' "$T_TMP/arch.out")/$(rq "SELECT total_count FROM errors")" \
    0/0/8 "archive 400 days old, stored twice: exact"
if command -v faketime >/dev/null; then
	# A run whose input pauses prunes then, before its input ends.
	cp "$RDB" "$T_TMP/paused.db"
	mkfifo "$T_TMP/paused.in"
	# Not spawn: an asynchronous list's stdin would be /dev/null.
	clock_ahead 30 timeout -k 2 20 "$AGG" --db "$T_TMP/paused.db" \
	    <"$T_TMP/paused.in" >/dev/null 2>&1 &
	paused=$!
	T_PIDS="$T_PIDS $paused"
	exec 3>"$T_TMP/paused.in"
	cat "$T_TMP/arch3" >&3
	pruned() { [ "$(sqlite3 "$T_TMP/paused.db" "SELECT group_concat(DISTINCT target_id) FROM target_counts_view")" = t3 ]; }
	wait_for 10 pruned
	ok $? "a target silent for 30 days: its baseline pruned when the input pauses"
	exec 3>&-
	wait_exit "$paused" 10
	clock_ahead 30 timeout -k 2 20 "$AGG" --db "$RDB" <"$T_TMP/arch3" \
	    >"$T_TMP/arch.out" 2>&1
	is "$?/$(grep -c '"type":"event"' "$T_TMP/arch.out")/$(rq "SELECT total_count FROM errors")" \
	    0/0/8 "the same archive 30 days later: exact"
	# Pruning comes when a run's input ends.
	clock_ahead 30 timeout -k 2 20 "$AGG" --db "$RDB" <"$T_TMP/arch3" \
	    >/dev/null 2>&1
	is "$(rq "SELECT DISTINCT target_id FROM target_counts_view ORDER BY 1" | tr '\n' ' ')" \
	    "t3 " "a target silent for 30 days while another reported: its baseline pruned"
	is "$(rq "SELECT total_count FROM errors")" 8 "... and the total kept"
	clock_ahead 30 timeout -k 2 20 "$AGG" --db "$RDB" <"$T_TMP/arch4" \
	    >/dev/null 2>&1
	is "$(rq "SELECT total_count FROM errors")" 12 \
	    "back after the retention: its count anew, in full"
else
	for i in 1 2 3 4 5; do ok 0 "# SKIP faketime not installed"; done
fi

# -- SIGTERM: commits what was read, exits 0
mkfifo "$T_TMP/fifo"
# The child opens the fifo itself: opening it here would block.
spawn agg sh -c 'exec "$0" --db "$1" <"$2"' "$AGG" "$DB" "$T_TMP/fifo"
pid=$SPAWNED
exec 7>"$T_TMP/fifo"
sed -n 4p "$T_TMP/in1" | sed 's/"total_count":2/"total_count":9/' >&7
wait_for 10 sh -c "grep -q '\"type\":\"event\"' '$T_TMP/agg.out' ||
    [ \"\$(sqlite3 '$DB' 'SELECT total_count FROM errors' 2>/dev/null)\" = 9 ]"
# The signal comes just after the commit, between two waits for input:
# where a flag checked before a plain poll() used to be missed.
kill -TERM "$pid"
wait_exit "$pid" 10 || kill -KILL "$pid"
wait "$pid"; rc=$?
exec 7>&-
is "$rc" 0 "SIGTERM: exit 0"
is "$(q "SELECT total_count FROM errors")" 9 "SIGTERM: scrape committed"

# -- the config's repository block
printf 'services: []\nrepository:\n  type: sqlite\n  path: c.db\n' \
    >"$T_TMP/c.yaml"
with_timeout 20 "$AGG" -c "$T_TMP/c.yaml" <"$T_TMP/in1" >/dev/null 2>&1
is $? 0 "-c: exit 0"
is "$(sqlite3 "$T_TMP/c.db" 'SELECT count(*) FROM errors')" 1 \
    "-c: database of the repository block"

# -- PERISKOP_DB: after --db, before the config's repository block
with_timeout 20 env PERISKOP_DB="$T_TMP/env.db" "$AGG" <"$T_TMP/in1" >/dev/null 2>&1
is "$?/$(sqlite3 "$T_TMP/env.db" 'SELECT count(*) FROM errors')" 0/1 \
    "PERISKOP_DB names the database"
with_timeout 20 env PERISKOP_DB="$T_TMP/no/such/x.db" "$AGG" \
    --db "$T_TMP/env2.db" \
    <"$T_TMP/in1" >/dev/null 2>&1
is "$?/$(sqlite3 "$T_TMP/env2.db" 'SELECT count(*) FROM errors')" 0/1 \
    "--db comes before PERISKOP_DB"
with_timeout 20 env PERISKOP_DB="$T_TMP/env3.db" "$AGG" -c "$T_TMP/c.yaml" \
    <"$T_TMP/in1" >/dev/null 2>&1
is "$?/$(sqlite3 "$T_TMP/env3.db" 'SELECT count(*) FROM errors')" 0/1 \
    "PERISKOP_DB comes before the config's repository block"

# -- five failed transactions in a row: 75
q "CREATE TRIGGER boom BEFORE INSERT ON errors BEGIN SELECT RAISE(ABORT, 'boom'); END"
for i in 1 2 3 4 5 6; do
	sed -n 4p "$T_TMP/in1" | sed "s/E@1/F@$i/"
	sed -n 6p "$T_TMP/in1"
done >"$T_TMP/in5"
err=$(with_timeout 20 "$AGG" --db "$DB" <"$T_TMP/in5" 2>&1 >/dev/null); rc=$?
is "$rc" 75 "five failed commits: 75"
like "$err" "boom" "failed commit: the database's message logged"
q "DROP TRIGGER boom"

# -- a database locked by another process: 69
sqlite3 "$T_TMP/l.db" 'PRAGMA journal_mode = DELETE; CREATE TABLE x (a);' \
    >/dev/null
mkfifo "$T_TMP/lockfifo"
spawn locker sh -c 'exec sqlite3 "$0" <"$1"' "$T_TMP/l.db" "$T_TMP/lockfifo"
locker=$SPAWNED
exec 8>"$T_TMP/lockfifo"
printf 'PRAGMA locking_mode = EXCLUSIVE;\nBEGIN EXCLUSIVE;\nINSERT INTO x VALUES (1);\nSELECT 1;\n' >&8
wait_for 10 grep -q 1 "$T_TMP/locker.out"
with_timeout 20 "$AGG" --db "$T_TMP/l.db" </dev/null >/dev/null 2>&1
is $? 69 "locked database: 69"
exec 8>&-
stop "$locker"

# -- the same round on the server engines, in a scratch database each
engine_round() {	# engine_round NAME URI QUERY-FUNCTION
	name=$1 uri=$2 eq=$3
	with_timeout 30 "$AGG" -v --db "$uri" <"$T_TMP/in1" >"$T_TMP/$name.out1" \
	    2>"$T_TMP/$name.err1"
	is $? 0 "$name: a round: exit 0"
	pw=${uri#*://}; pw=${pw%%@*}; pw=${pw#*:}
	! grep -qF ":$pw@" "$T_TMP/$name.err1" &&
	    grep -qF ":xxx@" "$T_TMP/$name.err1"
	ok $? "$name: -v names the database, not its password"
	is "$(jq -r 'select(.type == "event") | .kind' "$T_TMP/$name.out1" | tr '\n' ';')" \
	    'target_down;new_error;' "$name: events printed"
	is "$($eq "SELECT CONCAT(total_count, ' ', status) FROM errors")" \
	    "2 unresolved" "$name: error stored"
	with_timeout 30 "$AGG" --db "$uri" <"$T_TMP/in1" >"$T_TMP/$name.out2" 2>/dev/null
	is "$(grep -c '"type":"event"' "$T_TMP/$name.out2")/$($eq "SELECT total_count FROM errors")" \
	    0/2 "$name: the same input again: no events, no double count"
	$eq "UPDATE errors SET status = 'resolved'" >/dev/null
	with_timeout 30 "$AGG" -m 1 --db "$uri" <"$T_TMP/in3" >"$T_TMP/$name.out3" 2>/dev/null
	is "$($eq "SELECT CONCAT(total_count, ' ', status, ' ', regressed) FROM errors")" \
	    "5 unresolved 1" "$name: regression stored"
	is "$($eq "SELECT CONCAT(address, ' ', COALESCE(up, -1)) FROM targets ORDER BY address" | tr '\n' ';')" \
	    '127.0.0.1:1 1;127.0.0.1:2 0;' "$name: targets and health stored"
	with_timeout 30 "$AGG" --db "$uri" <"$T_TMP/arch34" >/dev/null 2>&1
	if command -v faketime >/dev/null; then
		clock_ahead 30 timeout -k 2 30 "$AGG" --db "$uri" \
		    <"$T_TMP/arch34" >/dev/null 2>&1
	else
		with_timeout 30 "$AGG" --db "$uri" <"$T_TMP/arch34" \
		    >/dev/null 2>&1
	fi
	is "$($eq "SELECT total_count FROM errors WHERE service = 'old'")" 8 \
	    "$name: an archive 400 days old, replayed 30 days later: exact"
}
if [ -n "${PERISKOP_TEST_PG:-}" ] && command -v psql >/dev/null; then
	pg_scratch PGURI
	pq() { psql -qAt "$PGURI" -c "$1"; }
	engine_round postgres "$PGURI" pq
else
	for i in 1 2 3 4 5 6 7 8; do ok 0 "# SKIP PERISKOP_TEST_PG unset"; done
fi
if [ -n "${PERISKOP_TEST_MYSQL:-}" ] && command -v mariadb >/dev/null; then
	my_scratch MYURI
	mq() { my_cli "$MYURI" "$1"; }
	engine_round mysql "$MYURI" mq
	# The original's DSN form, in a config file.
	cred=${MYURI#mysql://}; cred=${cred%%@*}
	printf 'services: []\nrepository:\n  type: mysql\n  dsn: "%s@tcp(%s)/%s?charset=utf8mb4&parseTime=True&loc=Local"\n' \
	    "$cred" "$(echo "$MYURI" | sed 's|.*@||; s|/.*||')" "${MYURI##*/}" >"$T_TMP/my.yaml"
	with_timeout 30 "$AGG" -c "$T_TMP/my.yaml" <"$T_TMP/in3" >/dev/null 2>&1
	is "$?/$(mq "SELECT total_count FROM errors WHERE service = 'api'")" 0/5 \
	    "mysql: the Go driver's DSN in the repository block"
else
	for i in 1 2 3 4 5 6 7 8 9; do ok 0 "# SKIP PERISKOP_TEST_MYSQL unset"; done
fi
port=$(free_port)
err=$("$AGG" --db "mysql://u:secret@127.0.0.1:$port/periskop" </dev/null \
    2>&1 >/dev/null); rc=$?
is "$rc" 69 "mysql server down: 69"
like "$err" "^periskop-aggregate: mysql: 'u@127.0.0.1:$port/periskop': cannot connect: " \
    "mysql server down: message, without the password"
printf 'services: []\nrepository:\n  type: mysql\n  dsn: "u:p@tcp(127.0.0.1:3306)"\n' \
    >"$T_TMP/bad.yaml"
err=$("$AGG" -c "$T_TMP/bad.yaml" </dev/null 2>&1 >/dev/null); rc=$?
is "$rc" 78 "mysql: malformed DSN: 78"
like "$err" "bad\.yaml:4:8: mysql: bad data source name: no '/dbname'" \
    "mysql: malformed DSN: file:line:col"

done_testing
