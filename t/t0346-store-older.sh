#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Databases an older periskop made (t/fixtures/store-v3, schema version 3),
# on every engine, and SQLite's first schema (t/fixtures/store-v1): this
# build opens them, serves what they hold and goes on counting from their
# last counts, exactly.
. "$(dirname "$0")/lib.sh"

for p in periskop-aggregate periskop-serve; do
	[ -x "$BIN/$p" ] || skip_all "bin/$p not built"
done
command -v curl >/dev/null || skip_all "curl not installed"
command -v jq >/dev/null || skip_all "jq not installed"
FX=$FIXTURES/store-v3
# The version this build migrates to.
SV=$(sed -n 's/^#define SCHEMA_VERSION[[:space:]]*//p' "$T_TOP/lib/store/schema.h")

plan 22

# totals URI: the keys and totals periskop-serve lists for service shop
totals() {
	port=$(free_port)
	spawn serve periskop-serve --db "$1" -l "127.0.0.1:$port"
	pid=$SPAWNED
	wait_port "$port" 10
	curl -sf "http://127.0.0.1:$port/services/shop/errors/" |
	    jq -r 'sort_by(.aggregation_key) | map("\(.aggregation_key)=\(.total_count)") | join(" ")'
	stop "$pid"
}

# older ENGINE URI VERSION_SQL [VERSION]: the checks on one loaded database,
# whose schema was VERSION (3); this build's is $SV
older() {
	is "$(totals "$2")" "Err0@k=21 Err1@k=24 Err2@k=27" \
	    "$1: the older database's errors served as stored"
	# Rounds 3 and 4 of the same fleet: 5 rounds in all, if and only
	# if every last count of the older rounds was found.
	gen-scrapes -R 3 -r 2 -t 4 -k 3 -s shop |
	    with_timeout 60 periskop-aggregate -d "$2" >/dev/null \
	    2>"$T_TMP/$1.err"
	ok $? "$1: aggregate goes on writing into it"
	is "$(totals "$2")" "Err0@k=35 Err1@k=40 Err2@k=45" \
	    "$1: counted on from the older last counts, nothing twice"
	is "$($3)" "$SV" "$1: schema version $SV after opening (was ${4:-3})"
}

sqlite3 "$T_TMP/old.db" <"$FX/sqlite.sql"
ok $? "sqlite: the older database loaded"
sqv() { sqlite3 "$T_TMP/old.db" "PRAGMA user_version"; }
older sqlite "$T_TMP/old.db" sqv

# Schema 1 gains its later columns; the counts it had are not aged out.
sqlite3 "$T_TMP/v1.db" <"$FIXTURES/store-v1/sqlite.sql"
ok $? "sqlite: the schema 1 database loaded"
v1v() { sqlite3 "$T_TMP/v1.db" "PRAGMA user_version"; }
older sqlite-v1 "$T_TMP/v1.db" v1v 1

# columns DB: each table's columns with their types, and each index
columns() {
	sqlite3 "$1" "SELECT m.name || '.' || p.name || ' ' || p.type FROM
	    sqlite_master m, pragma_table_info(m.name) p WHERE m.type =
	    'table' UNION ALL SELECT name FROM sqlite_master WHERE type =
	    'index' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY 1"
}
echo | periskop-aggregate -d "$T_TMP/new.db"
is "$(columns "$T_TMP/v1.db")" "$(columns "$T_TMP/new.db")" \
    "sqlite-v1: the upgraded schema has a new database's columns and indexes"

if [ -n "${PERISKOP_TEST_PG:-}" ] && command -v psql >/dev/null; then
	pg_scratch PGURI
	psql -q -v ON_ERROR_STOP=1 "$PGURI" <"$FX/pg.sql" >/dev/null \
	    2>"$T_TMP/pg-load.err"
	ok $? "postgres: the older database loaded"
	pgv() { psql -qAt "$PGURI" -c "SELECT version FROM periskop_schema"; }
	older postgres "$PGURI" pgv
	# Created without room in their pages, the churned tables get it.
	is "$(psql -qAt "$PGURI" -c "SELECT relname || ' ' || array_to_string(reloptions, ',') FROM pg_class WHERE relname IN ('targets', 'target_baselines') ORDER BY 1")" \
	    "$(printf 'target_baselines fillfactor=45\ntargets fillfactor=45')" \
	    "postgres: the tables updated every round have fillfactor 45"
else
	for i in 1 2 3 4 5 6; do ok 0 "# SKIP PERISKOP_TEST_PG unset"; done
fi

if [ -n "${PERISKOP_TEST_MYSQL:-}" ] && command -v mariadb >/dev/null; then
	my_scratch MYURI "CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
	my_cli "$MYURI" "source $FX/mysql.sql" 2>"$T_TMP/my-load.err"
	ok $? "mysql: the older database loaded"
	myv() { my_cli "$MYURI" "SELECT version FROM periskop_schema"; }
	older mysql "$MYURI" myv
else
	for i in 1 2 3 4 5; do ok 0 "# SKIP PERISKOP_TEST_MYSQL unset"; done
fi

done_testing
