#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# periskop-aggregate: one round of 10,000 scrapes x 20 keys into SQLite,
# PostgreSQL and MySQL, each against a plain bulk load of the same rows;
# the rows a round writes when 0%, 10% and 100% of the fleet changed;
# peak RSS from 100 to 10,000 targets.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
AGG=$top/bin/periskop-aggregate
GEN=$top/build/t/helper/gen-scrapes
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-aggregate.XXXXXX")
pgdb="" mydb=""

# my_cli URI [ARG...]: the mariadb client on the server and database of a
# mysql:// (or mariadb://) URI.
my_cli() {
	u=${1#*://}; shift
	case $u in
	*@*) cred=${u%%@*} hp=${u#*@} ;;
	*) cred="" hp=$u ;;
	esac
	hp=${hp%%/*} d=${u#*/}; d=${d%%\?*}
	user=${cred%%:*} pw="" port=3306
	case $cred in *:*) pw=-p${cred#*:} ;; esac
	case $hp in *:*) port=${hp##*:} hp=${hp%:*} ;; esac
	mariadb -N -B -h "$hp" -P "$port" ${user:+-u "$user"} ${pw:+"$pw"} \
	    "$@" "$d"
}

cleanup() {
	rm -rf "$tmp"
	[ -n "$pgdb" ] && psql -q "$PERISKOP_TEST_PG" \
	    -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1
	[ -n "$mydb" ] && my_cli "$PERISKOP_TEST_MYSQL" \
	    -e "DROP DATABASE IF EXISTS $mydb" >/dev/null 2>&1
	true
}
trap cleanup EXIT
T=10000 K=20

now_ms() { date +%s%3N; }

# The storing time periskop-aggregate -v reports (parsing is the same for
# every engine and belongs to the line format, not the database).
store_ms() { sed -n 's/.*parsing \([0-9]*\) ms, storing \([0-9]*\) ms.*/\2/p' "$1"; }
parse_ms() { sed -n 's/.*parsing \([0-9]*\) ms, storing \([0-9]*\) ms.*/\1/p' "$1"; }
# Retention's pruning, when the input has ended: after the round, not in it.
prune_s() { secs "$(sed -n 's/.*lines: .*housekeeping \([0-9]*\) ms.*/\1/p' "$1")"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
secs() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1000 }'; }

"$GEN" -T -t $T -k $K -r 1 -R 0 >"$tmp/r0" || exit 1
"$GEN" -t $T -k $K -r 1 -R 1 >"$tmp/r1" || exit 1
# The reference: the rows the round writes, one per target and key.
awk -v t=$T -v k=$K 'BEGIN { for (i = 0; i < t; i++) for (j = 0; j < k; j++)
	printf "bench,t-%d,Err%d@k,10.0.0.%d:7777,%d,%d\n", i, j, i % 256,
	    2 * (1 + (i + j) % 3), 1 + (i + j) % 3 }' >"$tmp/rows.csv"

# -- SQLite
db=$tmp/b.db
"$AGG" --db "$db" <"$tmp/r0" >/dev/null 2>&1 || { echo "bench: aggregate-sqlite: failed"; exit 1; }
"$AGG" -v --db "$db" <"$tmp/r1" >/dev/null 2>"$tmp/sq.log" || { echo "bench: aggregate-sqlite: failed"; exit 1; }
s=$(store_ms "$tmp/sq.log")
p=$(parse_ms "$tmp/sq.log")
t0=$(now_ms)
sqlite3 "$tmp/ref.db" "CREATE TABLE c (service TEXT, target_id TEXT, key TEXT, target TEXT, last_raw INTEGER, accumulated INTEGER, PRIMARY KEY (service, target_id, key));" \
    ".mode csv" ".import $tmp/rows.csv c" || exit 1
ref=$(( $(now_ms) - t0 ))
echo "bench: aggregate-sqlite-round: $(secs "$s") s ($(ratio "$s" "$ref") x reference $(secs "$ref") s; pruning after it $(prune_s "$tmp/sq.log") s)"
echo "bench: aggregate-parse-round: $(secs "$p") s (line format, any engine)"

# -- PostgreSQL
if [ -n "${PERISKOP_TEST_PG:-}" ] && command -v psql >/dev/null; then
	pgdb=periskop_bench_$$
	psql -q "$PERISKOP_TEST_PG" -c "CREATE DATABASE $pgdb" >/dev/null 2>&1
	uri=${PERISKOP_TEST_PG%/*}/$pgdb
	"$AGG" --db "$uri" <"$tmp/r0" >/dev/null 2>&1 || { echo "bench: aggregate-postgres: failed"; exit 1; }
	"$AGG" -v --db "$uri" <"$tmp/r1" >/dev/null 2>"$tmp/pg.log" || { echo "bench: aggregate-postgres: failed"; exit 1; }
	s=$(store_ms "$tmp/pg.log")
	psql -q "$uri" -c "CREATE TABLE c (service TEXT, target_id TEXT, key TEXT, target TEXT, last_raw BIGINT, accumulated BIGINT, PRIMARY KEY (service, target_id, key))" >/dev/null
	t0=$(now_ms)
	psql -q "$uri" -c "\\copy c FROM '$tmp/rows.csv' WITH (FORMAT csv)" >/dev/null || exit 1
	ref=$(( $(now_ms) - t0 ))
	echo "bench: aggregate-postgres-round: $(secs "$s") s ($(ratio "$s" "$ref") x reference $(secs "$ref") s; pruning after it $(prune_s "$tmp/pg.log") s)"
else
	echo "bench: aggregate-postgres-round: skipped (PERISKOP_TEST_PG unset)"
fi

# -- MySQL / MariaDB
if [ -z "${PERISKOP_TEST_MYSQL:-}" ]; then
	echo "bench: aggregate-mysql-round: skipped (PERISKOP_TEST_MYSQL unset)"
elif ! command -v mariadb >/dev/null; then
	echo "bench: aggregate-mysql-round: skipped (no mariadb client)"
else
	mydb=periskop_bench_$$
	my_cli "$PERISKOP_TEST_MYSQL" -e "CREATE DATABASE $mydb" ||
	    { mydb=""; echo "bench: aggregate-mysql: failed"; exit 1; }
	uri=${PERISKOP_TEST_MYSQL%/*}/$mydb
	"$AGG" --db "$uri" <"$tmp/r0" >/dev/null 2>&1 || { echo "bench: aggregate-mysql: failed"; exit 1; }
	"$AGG" -v --db "$uri" <"$tmp/r1" >/dev/null 2>"$tmp/my.log" || { echo "bench: aggregate-mysql: failed"; exit 1; }
	s=$(store_ms "$tmp/my.log")
	# InnoDB cannot key a whole TEXT; these rows fit VARCHARs.
	my_cli "$uri" -e "CREATE TABLE c (service VARCHAR(255), target_id VARCHAR(255), \`key\` VARCHAR(255), target VARCHAR(255), last_raw BIGINT, accumulated BIGINT, PRIMARY KEY (service, target_id, \`key\`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" || exit 1
	how=""
	t0=$(now_ms)
	if ! my_cli "$uri" --local-infile=1 -e "LOAD DATA LOCAL INFILE '$tmp/rows.csv' INTO TABLE c FIELDS TERMINATED BY ','" 2>"$tmp/my-load.err"; then
		# Only a refused local file calls for the other reference.
		grep -q -E 'ERROR (1148|2068|3948|4166)' "$tmp/my-load.err" ||
		    { cat "$tmp/my-load.err" >&2; echo "bench: aggregate-mysql: failed"; exit 1; }
		# The same rows as INSERTs of 1,000 rows each, written out
		# before the clock starts.
		awk -F, -v q="'" '
		NR % 1000 == 1 { printf "%sINSERT INTO c VALUES\n", (NR > 1 ? ";\n" : "") }
		NR % 1000 != 1 { printf ",\n" }
		{ printf "(%s%s%s,%s%s%s,%s%s%s,%s%s%s,%s,%s)", q, $1, q, q, $2, q, q, $3, q, q, $4, q, $5, $6 }
		END { printf ";\n" }' "$tmp/rows.csv" >"$tmp/rows.sql"
		my_cli "$uri" -e "TRUNCATE TABLE c" || exit 1
		t0=$(now_ms)
		my_cli "$uri" <"$tmp/rows.sql" || exit 1
		how=", multi-row INSERTs: the server refuses LOAD DATA LOCAL INFILE"
	fi
	ref=$(( $(now_ms) - t0 ))
	echo "bench: aggregate-mysql-round: $(secs "$s") s ($(ratio "$s" "$ref") x reference $(secs "$ref") s$how; pruning after it $(prune_s "$tmp/my.log") s)"
fi

# -- Rows written per round as a share of the fleet changes: one process
# (the last counts it stored are what lets it skip), rounds in which 0%,
# 10% and 100% of the targets' counts moved.
"$GEN" -t $T -k $K -r 1 -R 1 -c 0 >"$tmp/c0" || exit 1
"$GEN" -t $T -k $K -r 1 -R 1 -c 10 >"$tmp/c10" || exit 1
"$GEN" -t $T -k $K -r 1 -R 2 -c 100 >"$tmp/c100" || exit 1
change() {	# change ENGINE URI
	cat "$tmp/r0" "$tmp/c0" "$tmp/c10" "$tmp/c100" |
	    "$AGG" -v --db "$2" 2>&1 >/dev/null |
	    sed -n 's/.*stdin:\([0-9]*\): committed, \([0-9]*\) rows written, storing \([0-9]*\) ms/\1 \2 \3/p' |
	    awk -v e="$1" -v n=$((T * K)) -v r0="$(wc -l <"$tmp/r0")" -v r="$(wc -l <"$tmp/c0")" '
	    # A commit belongs to the round its last line is in (a long
	    # round commits more than once).
	    { p = $1 <= r0 ? 0 : int(($1 - r0 - 1) / r) + 1; w[p] += $2; ms[p] += $3 }
	    END { printf "bench: aggregate-%s-change: rows written per round of %d counts: 0%%: %d, 10%%: %d, 100%%: %d (storing %.2f, %.2f, %.2f s)\n",
		e, n, w[1], w[2], w[3], ms[1] / 1000, ms[2] / 1000, ms[3] / 1000 }'
}
rm -f "$tmp/ch.db"*
change sqlite "$tmp/ch.db"
if [ -n "$pgdb" ]; then
	psql -q "$PERISKOP_TEST_PG" -c "CREATE DATABASE ${pgdb}_ch" >/dev/null 2>&1
	change postgres "${PERISKOP_TEST_PG%/*}/${pgdb}_ch"
	psql -q "$PERISKOP_TEST_PG" -c "DROP DATABASE IF EXISTS ${pgdb}_ch WITH (FORCE)" >/dev/null 2>&1
fi
if [ -n "$mydb" ]; then
	my_cli "$PERISKOP_TEST_MYSQL" -e "CREATE DATABASE ${mydb}_ch" &&
	    change mysql "${PERISKOP_TEST_MYSQL%/*}/${mydb}_ch"
	my_cli "$PERISKOP_TEST_MYSQL" -e "DROP DATABASE IF EXISTS ${mydb}_ch"
fi

# -- Peak RSS with 100 and with 10,000 targets, the same 20 keys
rss() {
	"$GEN" -t "$1" -k $K -r 3 >"$tmp/rss.in"
	rm -f "$tmp/rss.db"*
	/usr/bin/time -f %M "$AGG" --db "$tmp/rss.db" <"$tmp/rss.in" \
	    2>&1 >/dev/null | tail -n 1
}
if [ -x /usr/bin/time ]; then
	small=$(rss 100)
	big=$(rss $T)
	echo "bench: aggregate-rss-100-targets: $small KB"
	echo "bench: aggregate-rss-$T-targets: $big KB ($(ratio "$big" "$small") x 100 targets)"
else
	echo "bench: aggregate-rss: skipped (install the package time)"
fi
