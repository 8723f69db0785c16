#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# periskop-aggregate killed mid-round and restarted, on SQLite, and two
# aggregators sharing one PostgreSQL or MySQL database: totals stay exact.
. "$(dirname "$0")/lib.sh"

plan 17

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
is "$(sqlite3 "$DB" "SELECT count(*) FROM target_counts_view WHERE accumulated <> last_raw")" 0 \
    "sqlite: each instance's accumulated count is its last count"

# -- two shards of one service on one server database, one killed and
# restarted: shards ENGINE URI QUERY-FUNCTION
shards() {
	eng=$1 URI=$2 eq=$3
	H=$((T / 2))
	"$GEN" -T -t $H -o 0 -k $K -r 10 >"$T_TMP/s1a.in"
	"$GEN" -t $H -o 0 -k $K -r 4 -R 10 >"$T_TMP/s1b.in"
	"$GEN" -T -t $H -o $H -k $K -r 14 >"$T_TMP/s2.in"
	spawn_in "${eng}1" "$T_TMP/s1a.in" "$AGG" --shard one --db "$URI"
	p1=$SPAWNED
	spawn_in "${eng}2" "$T_TMP/s2.in" "$AGG" --shard two --db "$URI"
	p2=$SPAWNED
	# $eq is a function of this shell: poll here, for up to 30 s.
	i=0
	until [ "$($eq 'SELECT rounds_total FROM service_stats' 2>/dev/null)" -ge 2 ] 2>/dev/null ||
	    [ $i -ge 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -KILL "$p1" 2>/dev/null; wait "$p1" 2>/dev/null; rc=$?
	is "$rc" 137 "$eng: shard one killed mid-run"
	with_timeout 60 "$AGG" --shard one --db "$URI" <"$T_TMP/s1b.in" >/dev/null 2>"$T_TMP/$eng.err"
	is $? 0 "$eng: shard one restarted and done"
	wait "$p2"; rc=$?
	is "$rc" 0 "$eng: shard two done beside it, no deadlock"
	is "$($eq "SELECT CONCAT(\`key\`, ' ', total_count) FROM errors ORDER BY \`key\`" 2>/dev/null ||
	    $eq "SELECT key || ' ' || total_count FROM errors ORDER BY key")" \
	    "$(expect 14 0 $T)" "$eng: totals of both shards exact"
	is "$($eq "SELECT count(*) FROM targets")" "$T" \
	    "$eng: each shard keeps its own targets"
	is "$($eq "SELECT count(*) FROM target_counts_view WHERE accumulated <> last_raw")" 0 \
	    "$eng: no instance counted twice"
}
if [ -n "${PERISKOP_TEST_PG:-}" ]; then
	pg_scratch PGURI
	pq() { psql -qAt -F ' ' "$PGURI" -c "$1"; }
	shards postgres "$PGURI" pq
else
	for i in 1 2 3 4 5 6; do ok 0 "# SKIP PERISKOP_TEST_PG unset"; done
fi
if [ -n "${PERISKOP_TEST_MYSQL:-}" ]; then
	my_scratch MYURI
	mq() { my_cli "$MYURI" "$1"; }
	shards mysql "$MYURI" mq
else
	for i in 1 2 3 4 5 6; do ok 0 "# SKIP PERISKOP_TEST_MYSQL unset"; done
fi
done_testing
