#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-serve on a read-only PostgreSQL connection, as a streaming
# replica gives (default_transaction_read_only stands in for a standby):
# it serves what the primary stored, and refuses a resolve with 503.
. "$(dirname "$0")/lib.sh"

for p in periskop-aggregate periskop-serve gen-scrapes; do
	command -v "$p" >/dev/null || skip_all "$p not built"
done
command -v curl >/dev/null || skip_all "curl not installed"
command -v psql >/dev/null || skip_all "psql not installed"
command -v jq >/dev/null || skip_all "jq not installed"
[ -n "${PERISKOP_TEST_PG:-}" ] || skip_all "PERISKOP_TEST_PG unset"

plan 5

pg_scratch URI
RO="$URI?options=-c%20default_transaction_read_only%3Don"
gen-scrapes -T -t 2 -k 2 -r 2 -s shop |
    with_timeout 30 periskop-aggregate -d "$URI" >/dev/null 2>"$T_TMP/agg.err"
ok $? "the primary holds two rounds"

port=$(free_port)
spawn serve periskop-serve --db "$RO" -l "127.0.0.1:$port"
pid=$SPAWNED
wait_port "$port" 10
list() {
	curl -sf "http://127.0.0.1:$port/services/shop/errors/" |
	    jq -r 'sort_by(.aggregation_key) | map("\(.aggregation_key)=\(.total_count)") | join(" ")'
}
is "$(list)" "Err0@k=6 Err1@k=10" "the replica's serve lists what was stored"
code=$(curl -s -o "$T_TMP/del" -w '%{http_code}' -X DELETE \
    "http://127.0.0.1:$port/services/shop/errors/Err0@k/")
is "$code" 503 "a resolve on the replica is refused"
grep -q "read-only transaction" "$T_TMP/del"
ok $? "and says why: $(head -c 120 "$T_TMP/del")"
is "$(list)" "Err0@k=6 Err1@k=10" "the error is still listed"
stop "$pid"
done_testing
