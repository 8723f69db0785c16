#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# periskop-aggregate killed mid-round and restarted, on SQLite, and two
# aggregators sharing one PostgreSQL database: totals stay exact.
. "$(dirname "$0")/lib.sh"

plan 11

AGG=$BIN/periskop-aggregate
GEN=$HELPER/gen-scrapes
T=1000 K=5

# The exact total of each key after the client counts of round r - 1
# (gen-scrapes: target i reports key j as r * (1 + (i + j) % 3)).
# spawn_in NAME FILE CMD...: spawn with stdin from FILE (an asynchronous
# command's stdin is otherwise /dev/null).
spawn_in() {
	n=$1 f=$2; shift 2
	spawn "$n" sh -c 'f=$1; shift; exec "$@" <"$f"' sh "$f" "$@"
}

expect() {	# expect ROUNDS FIRST_TARGET NTARGETS
	awk -v r="$1" -v o="$2" -v t="$3" -v k=$K 'BEGIN {
		for (j = 0; j < k; j++) { s = 0
			for (i = o; i < o + t; i++) s += r * (1 + (i + j) % 3)
			printf "Err%d@k %d\n", j, s } }'
}

# -- SQLite: kill -9 while rounds are being written, then go on
DB=$T_TMP/k.db
"$GEN" -T -t $T -k $K -r 12 >"$T_TMP/a.in"
"$GEN" -t $T -k $K -r 4 -R 12 >"$T_TMP/b.in"
spawn_in agg1 "$T_TMP/a.in" "$AGG" --db "$DB"
pid=$SPAWNED
wait_for 20 sh -c "[ \"\$(sqlite3 '$DB' 'SELECT rounds_total FROM service_stats' 2>/dev/null)\" -ge 2 ]"
kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rc=$?
is "$rc" 137 "sqlite: the aggregator was killed mid-run"
done_rounds=$(sqlite3 "$DB" "SELECT rounds_total FROM service_stats")
like "$done_rounds" '^([2-9]|1[01])$' "sqlite: some rounds committed, not all ($done_rounds)"
with_timeout 60 "$AGG" --db "$DB" <"$T_TMP/b.in" >/dev/null 2>"$T_TMP/agg2.err"
is $? 0 "sqlite: the restarted aggregator goes on"
is "$(sqlite3 -separator ' ' "$DB" "SELECT key, total_count FROM errors ORDER BY key")" \
    "$(expect 16 0 $T)" "sqlite: totals equal the clients' increments"
is "$(sqlite3 "$DB" "SELECT count(*) FROM target_counts WHERE accumulated <> last_raw")" 0 \
    "sqlite: each instance's accumulated count is its last count"

# -- PostgreSQL: two shards of one service, one killed and restarted
if [ -z "${PERISKOP_TEST_PG:-}" ]; then
	for i in 1 2 3 4 5 6; do ok 0 "# SKIP PERISKOP_TEST_PG unset"; done
	done_testing
fi
pgdb=periskop_t0410_$$
psql -q "$PERISKOP_TEST_PG" -c "CREATE DATABASE $pgdb" >/dev/null 2>&1
trap 'psql -q "$PERISKOP_TEST_PG" -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1; t_cleanup' EXIT
URI=${PERISKOP_TEST_PG%/*}/$pgdb
pq() { psql -qAt -F ' ' "$URI" -c "$1"; }
H=$((T / 2))
"$GEN" -T -t $H -o 0 -k $K -r 10 >"$T_TMP/s1a.in"
"$GEN" -t $H -o 0 -k $K -r 4 -R 10 >"$T_TMP/s1b.in"
"$GEN" -T -t $H -o $H -k $K -r 14 >"$T_TMP/s2.in"
spawn_in pg1 "$T_TMP/s1a.in" "$AGG" --shard one --db "$URI"
p1=$SPAWNED
spawn_in pg2 "$T_TMP/s2.in" "$AGG" --shard two --db "$URI"
p2=$SPAWNED
wait_for 30 sh -c "[ \"\$(psql -qAt '$URI' -c 'SELECT rounds_total FROM service_stats' 2>/dev/null)\" -ge 4 ]"
kill -KILL "$p1" 2>/dev/null; wait "$p1" 2>/dev/null; rc=$?
is "$rc" 137 "postgres: shard one killed mid-run"
with_timeout 60 "$AGG" --shard one --db "$URI" <"$T_TMP/s1b.in" >/dev/null 2>"$T_TMP/pg3.err"
is $? 0 "postgres: shard one restarted and done"
wait "$p2"; rc=$?
is "$rc" 0 "postgres: shard two done beside it, no deadlock"
is "$(pq "SELECT key, total_count FROM errors ORDER BY key")" \
    "$(expect 14 0 $T)" "postgres: totals of both shards exact"
is "$(pq "SELECT count(*) FROM targets")" "$T" \
    "postgres: each shard keeps its own targets"
is "$(pq "SELECT count(*) FROM target_counts WHERE accumulated <> last_raw")" 0 \
    "postgres: no instance counted twice"
done_testing
