#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A guard against a round that goes quadratic: 5,000 targets x 20 keys,
# stored once and then again with every count moved, on each engine, in
# a bound far above a round's time and far below a statement that scans
# the table for every batch (one such round took 180 s of 200,000 rows).
# make bench measures the speed; this only catches the cliff.
. "$(dirname "$0")/lib.sh"

plan 9

AGG=$BIN/periskop-aggregate
N=5000 K=20
# Milliseconds a round of N x K counts may store in; it takes about a
# second, and a scan per batch well over a minute.
BOUND=30000

gen-scrapes -T -t $N -k $K -r 1 -R 0 >"$T_TMP/r0" &&
    gen-scrapes -t $N -k $K -r 1 -R 1 >"$T_TMP/r1" || exit 1

# round ENGINE URI COUNT_QUERY: both rounds, the second's storing time in
# the bound, every count stored.
round() {
	with_timeout 120 "$AGG" --db "$2" <"$T_TMP/r0" >/dev/null 2>&1
	is $? 0 "$1: the first round is stored"
	with_timeout 120 "$AGG" -v --db "$2" <"$T_TMP/r1" >/dev/null \
	    2>"$T_TMP/$1.log"
	ms=$(sed -n 's/.*lines: parsing [0-9]* ms, storing \([0-9]*\) ms.*/\1/p' \
	    "$T_TMP/$1.log")
	diag "$1: storing $ms ms for $((N * K)) counts"
	ok "$([ -n "$ms" ] && [ "$ms" -lt $BOUND ]; echo $?)" \
	    "$1: the second round stores in under $BOUND ms"
	is "$($3 "SELECT COUNT(*) FROM target_counts_view WHERE last_raw > 0")" \
	    $((N * K)) "$1: every count is stored"
}

sq() { sqlite3 "$T_TMP/r.db" "$1"; }
round sqlite "$T_TMP/r.db" sq

if [ -n "${PERISKOP_TEST_PG:-}" ] && command -v psql >/dev/null; then
	pg_scratch PGURI
	pq() { psql -qAt "$PGURI" -c "$1"; }
	round postgres "$PGURI" pq
else
	for i in 1 2 3; do ok 0 "# SKIP PERISKOP_TEST_PG unset"; done
fi

if [ -n "${PERISKOP_TEST_MYSQL:-}" ] && command -v mariadb >/dev/null; then
	my_scratch MYURI
	mq() { my_cli "$MYURI" "$1"; }
	round mysql "$MYURI" mq
else
	for i in 1 2 3; do ok 0 "# SKIP PERISKOP_TEST_MYSQL unset"; done
fi

done_testing
