#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The database misbehaves under periskop-aggregate: the SQLite file locked
# by another writer, the disk full, MariaDB and PostgreSQL stopped and started.  A clear
# message each time, no crash, and once the fault is gone the totals are
# exact (clients' counts are cumulative: a lost round is made up).
. "$(dirname "$0")/lib.sh"
command -v periskop-aggregate >/dev/null || skip_all "not built"
command -v sqlite3 >/dev/null || skip_all "sqlite3 not installed"
plan 23

# sc ROUND COUNT [OCCURRENCES [SERVICE]]: one scrape line and its round
# line, stamped ROUND minutes after an hour ago by the clock; each
# occurrence carries 2 kB of message.
sc() {
	perl -e 'my ($r, $n, $k, $s) = @ARGV;
	    my @t = gmtime(time - 3600 + 60 * $r);
	    my $at = sprintf "%04d-%02d-%02dT%02d:%02d:%02dZ", $t[5] + 1900,
	        $t[4] + 1, @t[3, 2, 1, 0];
	    my @le = map { sprintf q({"uuid":"u-%d-%d","timestamp":"%s","severity":"error","error":{"class":"C","message":"%s","stacktrace":[],"cause":null}}), $r, $_, $at, "x" x 2000 } 1 .. $k;
	    print qq({"type":"scrape","service":"$s","target":"127.0.0.1:1","url":"http://127.0.0.1:1/errors","target_uuid":"t-1","at":"$at","duration_ms":1,"ok":true,"aggregated_errors":[{"aggregation_key":"k","total_count":$n,"severity":"error","latest_errors":[), join(",", @le), qq(]}]}\n{"type":"round","service":"$s","at":"$at","duration_ms":1,"targets":1,"ok":1,"failed":0}\n)' \
	    "$1" "$2" "${3:-0}" "${4:-s}"
}
total() { sqlite3 "$1" "select total_count from errors where key='k'"; }

# -- SQLite locked by another writer ----------------------------------
DB=$T_TMP/lock.db
sc 1 2 | periskop-aggregate --db "sqlite:$DB" >/dev/null 2>"$T_TMP/l1.err"
is "$?" 0 "round 1 stored"
mkfifo "$T_TMP/sqlin"
sqlite3 "$DB" <"$T_TMP/sqlin" >/dev/null 2>&1 &
HOLDER=$!
T_PIDS="$T_PIDS $HOLDER"
exec 7>"$T_TMP/sqlin"
echo 'BEGIN EXCLUSIVE; SELECT 1;' >&7
sleep 0.3
sc 2 5 | with_timeout 20 periskop-aggregate --db "sqlite:$DB" >/dev/null \
    2>"$T_TMP/l2.err"
is "$?" 75 "locked by another writer: exit 75 (try again later)"
is "$(sort -u "$T_TMP/l2.err")" \
    "periskop-aggregate: sqlite: '$DB': begin: database is locked" \
    "... saying so, with the file"
# A lock released within the busy timeout is simply waited for.
( sleep 1; echo 'COMMIT; BEGIN EXCLUSIVE; SELECT 1;' >&7; sleep 1;
    echo 'COMMIT;' >&7 ) &
sleep 1.3
sc 3 7 | with_timeout 20 periskop-aggregate --db "sqlite:$DB" >/dev/null \
    2>"$T_TMP/l3.err"
is "$?" 0 "a lock held for a second is waited for"
exec 7>&-
wait "$HOLDER"
is "$(total "$DB")" 7 "the total is exact after the lock"

# -- the disk full (a small tmpfs in a private mount namespace) -------
if unshare -m true 2>/dev/null; then
	FULL=$T_TMP/full
	mkdir -p "$FULL"
	export -f sc total
	with_timeout 60 unshare -m bash -c '
	    set -u; D=$1
	    mount -t tmpfs -o size=2m tmpfs "$D" || exit 9
	    sc 1 2 1 | periskop-aggregate --db "sqlite:$D/db" >/dev/null \
		2>"$D.e1"; echo "$?" >"$D.r1"
	    # Nearly full: the round does not fit.
	    avail=$(df -k --output=avail "$D" | tail -n 1)
	    dd if=/dev/zero of="$D/fill" bs=4k count=$((avail / 4 - 16)) \
		2>/dev/null
	    sc 2 150 100 | periskop-aggregate --db "sqlite:$D/db" >/dev/null \
		2>"$D.e2"; echo "$?" >"$D.r2"
	    # Completely full.
	    dd if=/dev/zero of="$D/fill2" bs=4k 2>/dev/null
	    sc 3 155 100 | periskop-aggregate --db "sqlite:$D/db" >/dev/null \
		2>"$D.e3"; echo "$?" >"$D.r3"
	    rm -f "$D/fill" "$D/fill2"
	    sc 4 160 1 | periskop-aggregate --db "sqlite:$D/db" >/dev/null \
		2>"$D.e4"; echo "$?" >"$D.r4"
	    total "$D/db" >"$D.total"
	' sh "$FULL"
	is "$(cat "$FULL.r1")" 0 "disk: a first round fits"
	is "$(cat "$FULL.r2")" 75 "disk nearly full: exit 75"
	is "$(cat "$FULL.e2")" \
	    "periskop-aggregate: sqlite: '$FULL/db': commit: database or disk is full" \
	    "... saying so, with the file"
	r3=$(cat "$FULL.r3")
	ok $(( r3 == 0 || r3 >= 128 )) "disk completely full: a clean failure (exit $r3)"
	like "$(cat "$FULL.e3")" "^periskop-aggregate: sqlite: '$FULL/db': " \
	    "... with a message naming the file"
	is "$(cat "$FULL.r4")/$(cat "$FULL.total")" 0/160 \
	    "space back: the next round is exact"
else
	for i in 1 2 3 4 5 6; do ok 0 "# SKIP unshare -m not permitted"; done
fi

# outage NAME LABEL URI SHOWN START HALT TOTAL: periskop-aggregate on URI
# while the server is halted (HALT) and started again (START); TOTAL
# prints the stored total of key k, SHOWN is the database as the log names
# it.  Five tests.
outage() {
	name=$1 label=$2 uri=$3 shown=$4 start=$5 halt=$6 total=$7
	mkfifo "$T_TMP/$name.in"
	periskop-aggregate --db "$uri" <"$T_TMP/$name.in" \
	    >"$T_TMP/$name.events" 2>"$T_TMP/$name.err" &
	AGG=$!
	T_PIDS="$T_PIDS $AGG"
	exec 8>"$T_TMP/$name.in"
	sc 1 2 0 "$name" >&8
	wait_for 10 grep -q new_error "$T_TMP/$name.events"
	ok $? "round 1 through $label"
	$halt
	sc 2 5 0 "$name" >&8
	sleep 1
	kill -0 "$AGG" 2>/dev/null
	ok $? "$label stopped: periskop-aggregate keeps running"
	like "$(head -n 1 "$T_TMP/$name.err")" \
	    "^periskop-aggregate: $shown: .*; retrying in 50 ms$" \
	    "... and logs the outage while it retries"
	$start
	sc 3 9 0 "$name" >&8
	i=0
	until [ "$($total 2>/dev/null)" = 9 ] || [ $i -ge 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	is "$($total)" 9 "$label back: the next round is stored, the total exact (9)"
	exec 8>&-
	wait_exit "$AGG" 10
	ok $? "the end of input ends it"
	stop "$AGG"
	$halt
}

# -- MariaDB stopped and started --------------------------------------
MYBIN=$(command -v mariadbd || echo /usr/sbin/mariadbd)
if [ ! -x "$MYBIN" ] || ! command -v mariadb-install-db >/dev/null ||
    ! command -v mariadb >/dev/null || ! id mysql >/dev/null 2>&1 ||
    [ "$(id -u)" != 0 ]; then
	for i in 1 2 3 4 5 6; do ok 0 "# SKIP no MariaDB server (or not root)"; done
else
	MYD=$T_TMP/my
	mkdir -p "$MYD/data"
	chown -R mysql "$MYD"
	chmod 755 "$T_TMP"
	mariadb-install-db --no-defaults --user=mysql --datadir="$MYD/data" \
	    --skip-test-db >"$T_TMP/my-install.log" 2>&1 ||
	    diag "mariadb-install-db failed"
	MYPORT=$(free_port)
	# Grant tables skipped: any user may log in, on loopback only.
	mystart() {
		"$MYBIN" --no-defaults --user=mysql --datadir="$MYD/data" \
		    --socket="$MYD/sock" --pid-file="$MYD/pid" \
		    --port="$MYPORT" --bind-address=127.0.0.1 \
		    --skip-grant-tables --skip-log-bin \
		    --innodb-buffer-pool-size=16M >>"$T_TMP/my.log" 2>&1 8>&- &
		MY=$!
		T_PIDS="$T_PIDS $MY"
		wait_port "$MYPORT" 30
	}
	myhalt() { kill -TERM "$MY"; wait "$MY" 2>/dev/null; }
	mytotal() {
		mariadb -N -B -h 127.0.0.1 -P "$MYPORT" -u periskop periskop \
		    -e "select total_count from errors where \`key\`='k'"
	}
	mystart
	ok $? "a private MariaDB is up"
	mariadb -h 127.0.0.1 -P "$MYPORT" -u periskop -e "CREATE DATABASE periskop"
	outage my MariaDB "mysql://periskop@127.0.0.1:$MYPORT/periskop" \
	    "mysql: 'periskop@127.0.0.1:$MYPORT/periskop'" mystart myhalt mytotal
fi

# -- PostgreSQL stopped and started -----------------------------------
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] || ! id postgres >/dev/null 2>&1 ||
    ! command -v setpriv >/dev/null; then
	for i in 1 2 3 4 5 6; do ok 0 "# SKIP no PostgreSQL server"; done
	done_testing
fi
PGD=$T_TMP/pg
mkdir -p "$PGD"
chown postgres "$PGD" "$T_TMP"
chmod 755 "$T_TMP"
setpriv --reuid=postgres --regid=postgres --init-groups -- "$PGBIN/initdb" -A trust -U periskop -D "$PGD/data" \
    >"$T_TMP/initdb.log" 2>&1 || { diag "initdb failed"; exit 1; }
PGPORT=$(free_port)
pgstart() {
	setpriv --reuid=postgres --regid=postgres --init-groups -- \
	    "$PGBIN/postgres" -D "$PGD/data" -p "$PGPORT" \
	    -k "$PGD" -c listen_addresses=127.0.0.1 -c fsync=off \
	    >>"$T_TMP/pg.log" 2>&1 8>&- &
	PG=$!
	T_PIDS="$T_PIDS $PG"
	wait_port "$PGPORT" 15
}
pghalt() { kill -INT "$PG"; wait "$PG" 2>/dev/null; }
PSQL=$(command -v psql || echo "$PGBIN/psql")
pgtotal() {
	"$PSQL" -h 127.0.0.1 -p "$PGPORT" -U periskop -d postgres \
	    -Atc "select total_count from errors where key='k'"
}
pgstart
ok $? "a private PostgreSQL is up"
outage pg PostgreSQL "postgresql://periskop@127.0.0.1:$PGPORT/postgres" \
    "postgres: 'periskop@127.0.0.1:$PGPORT/postgres'" pgstart pghalt pgtotal
done_testing
