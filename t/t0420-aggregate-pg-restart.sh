#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# periskop-aggregate on a private PostgreSQL that restarts mid-run: the
# open transaction is replayed after the reconnection, nothing is lost.
. "$(dirname "$0")/lib.sh"

PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/postgres" ] || skip_all "no PostgreSQL 15 server binaries"
[ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 ||
    skip_all "needs root and the postgres user to run a private server"

plan 5

AGG=$BIN/periskop-aggregate
GEN=$HELPER/gen-scrapes
T=300 K=5

chmod 711 "$T_TMP"
PGDATA=$T_TMP/pgdata
mkdir "$PGDATA" && chown postgres "$PGDATA"
su postgres -s /bin/sh -c "$PGBIN/initdb -D '$PGDATA' -A trust -U postgres" \
    >"$T_TMP/initdb.log" 2>&1 || { cat "$T_TMP/initdb.log" >&2; exit 1; }
PORT=$(free_port)

start_pg() {
	spawn "pg$1" su postgres -s /bin/sh -c "exec $PGBIN/postgres -D '$PGDATA' -p $PORT -k '$PGDATA' -c listen_addresses=127.0.0.1 -c fsync=off" 3>&-
	wait_for 30 "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"
}
# su runs postgres as its child: find the server by its pid file.
stop_pg() {
	pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -INT "$pid"
	wait_for 30 sh -c "! kill -0 $pid 2>/dev/null"
}
trap 'stop_pg; t_cleanup' EXIT

start_pg 1
ok $? "private server up on port $PORT"
URI="postgresql://postgres@127.0.0.1:$PORT/postgres"

# The aggregator reads from a FIFO, so its input can pause around the restart.
mkfifo "$T_TMP/in"
spawn agg sh -c 'exec "$0" -v --db "$1" <"$2"' "$AGG" "$URI" "$T_TMP/in"
apid=$SPAWNED
exec 3>"$T_TMP/in"
"$GEN" -T -t $T -k $K -r 3 >&3
wait_for 20 sh -c "[ \"\$(psql -qAt '$URI' -c 'SELECT rounds_total FROM service_stats' 2>/dev/null)\" = 3 ]"
ok $? "three rounds stored"

# Half a round, then the server goes away and comes back.
"$GEN" -t $T -k $K -r 1 -R 3 | head -n $((T / 2)) >&3
stop_pg
start_pg 2
"$GEN" -t $T -k $K -r 1 -R 3 | tail -n +$((T / 2 + 1)) >&3
"$GEN" -t $T -k $K -r 2 -R 4 >&3
exec 3>&-
wait "$apid"; rc=$?
is "$rc" 0 "the aggregator rode out the restart"
want=$(awk -v r=6 -v t=$T -v k=$K 'BEGIN { for (j = 0; j < k; j++) {
	s = 0; for (i = 0; i < t; i++) s += r * (1 + (i + j) % 3)
	printf "Err%d@k %d\n", j, s } }')
is "$(psql -qAt -F ' ' "$URI" -c "SELECT key, total_count FROM errors ORDER BY key")" \
    "$want" "totals exact after the restart"
is "$(psql -qAt "$URI" -c "SELECT rounds_total FROM service_stats")" 6 \
    "every round counted once"
done_testing
