#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-serve's additions: error detail, states, counts, search and
# sort, /metrics under promtool, /errors read back by periskop-scrape, and
# the limits that protect it (header size, URL length, slow clients).
. "$(dirname "$0")/lib.sh"

for p in periskop-serve periskop-aggregate periskop-scrape; do
	[ -x "$BIN/$p" ] || skip_all "bin/$p not built"
done
command -v curl >/dev/null || skip_all "curl not installed"
command -v jq >/dev/null || skip_all "jq not installed"

plan 53

DB=$T_TMP/p.db
NOW_S=$(date +%s)
NOW=$(date -u -d "@$NOW_S" +%Y-%m-%dT%H:%M:%S.000Z)
# A key with everything the metrics text format must escape.
HOSTILE='q\"b\\s\nn'

# scrape COUNT_K1 COUNT_W: one round of service api, target 127.0.0.1:1.
scrape() {
	printf '{"type":"scrape","service":"api","target":"127.0.0.1:1","url":"http://127.0.0.1:1/errors","target_uuid":"t-1","at":"%s","duration_ms":1.5,"ok":true,"aggregated_errors":[{"aggregation_key":"k1","total_count":%d,"severity":"error","latest_errors":[{"error":{"class":"db.Timeout","message":"Query took 3 s","stacktrace":["f.c:1"],"cause":null},"uuid":"u-k1-%d","timestamp":"%s","severity":"error","http_context":null}]},{"aggregation_key":"w/x y","total_count":%d,"severity":"warning","latest_errors":[{"error":{"class":"W","message":"slow","stacktrace":[],"cause":null},"uuid":"u-w-%d","timestamp":"%s","severity":"warning","http_context":null}]},{"aggregation_key":"%s","total_count":1,"severity":"info","latest_errors":[]}]}\n' \
	    "$NOW" "$1" "$1" "$NOW" "$2" "$2" "$NOW" "$HOSTILE"
	printf '{"type":"round","service":"api","at":"%s","duration_ms":2.5,"targets":1,"ok":1,"failed":0}\n' "$NOW"
}
{
	printf '{"type":"targets","service":"api","endpoint":"/errors","interval_s":10,"timeout_s":10,"targets":[{"address":"127.0.0.1:1","url":"http://127.0.0.1:1/errors","labels":{}}]}\n'
	scrape 3 1
	scrape 5 1
} >"$T_TMP/in.ndjson"
with_timeout 30 periskop-aggregate --db "$DB" <"$T_TMP/in.ndjson" \
    >/dev/null 2>"$T_TMP/agg.err"
is "$?" 0 "periskop-aggregate fills the database"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
spawn serve periskop-serve --db "$DB" -l "127.0.0.1:$PORT" --timeout 2 \
    --cors https://ui.example
SERVE=$SPAWNED
wait_port "$PORT" 10
ok $? "periskop-serve listens"

fetch() {
	m=$1; p=$2; shift 2
	CODE=$(curl -s -g --path-as-is --max-time 10 -X "$m" -o "$T_TMP/body" \
	    -D "$T_TMP/hdrs" -w '%{http_code}' "$@" "$URL$p")
}
header() {
	tr -d '\r' <"$T_TMP/hdrs" | grep -i "^$1:" | head -n 1 |
	    sed 's/^[^:]*: *//'
}
jqb() { jq -r "$1" <"$T_TMP/body" 2>&1; }

# The detail of one error.
fetch GET /services/api/errors/k1/
is "$CODE" 200 "GET an error's detail: 200"
is "$(header Access-Control-Allow-Origin)" https://ui.example \
    "--cors: the origin on a GET"
is "$(jqb '[.aggregation_key,.total_count,.status,(.latest_errors|length)]|@csv')" \
    '"k1",5,"unresolved",2' "detail: key, total, status, every occurrence"
is "$(jqb '.instances|@json')" '[{"target":"127.0.0.1:1","count":5,"last_raw":5}]' \
    "detail: the instances with their counts"
# The minute of NOW, which need not be the last one by now.
MIN=$((NOW_S - NOW_S % 60))
is "$(jqb "[(.counts.day|length) >= 1439, ([.counts.day[][1]]|add),
    (.counts.day[] | select(.[0] == $MIN) | .[1])]|@csv")" \
    'true,5,5' "detail: per-minute counts of the last day"
is "$(jqb '[(.counts.fortnight|length) >= 335, ([.counts.fortnight[][1]]|add)]|@csv')" \
    'true,5' "detail: per-hour counts of the last two weeks"
is "$(jqb '(.counts.day[1][0] - .counts.day[0][0])')" 60 \
    "detail: minute buckets are 60 s apart"
fetch GET /services/api/errors/w%2Fx%20y/
is "$CODE|$(jqb .aggregation_key)" "200|w/x y" "detail of an awkward key"
fetch GET /services/api/errors/nope/
is "$CODE|$(cat "$T_TMP/body")" "404|error not found" "detail of an unknown key: 404"
fetch HEAD /services/api/errors/k1/
is "$CODE" 200 "HEAD on a detail: 200"

fetch GET /services/api/counts/
is "$CODE|$(jqb '[([.day[][1]]|add), ([.fortnight[][1]]|add)]|@csv')" \
    "200|7,7" "GET counts of a service: the sums of its errors"
fetch GET /services/nope/counts/
is "$CODE" 404 "counts of an unknown service: 404"

# Search and sort.
fetch GET '/services/api/errors/?q=query+TOOK'
is "$(jqb '[.[].aggregation_key]|@csv')" '"k1"' "?q= matches the message, any case"
fetch GET '/services/api/errors/?q=W%2FX'
is "$(jqb '[.[].aggregation_key]|@csv')" '"w/x y"' "?q= matches the key"
fetch GET '/services/api/errors/?sort=count&severity=info'
is "$(jqb 'length')" 1 "?severity=info"
fetch GET '/services/api/errors/?sort=count'
is "$(jqb '[.[].total_count]|@csv')" '5,1,1' "?sort=count: most first"
fetch GET '/services/api/errors/?sort=later'
is "$CODE" 400 "?sort=later: 400"

# States.
fetch POST '/services/api/errors/k1/?action=ignore'
is "$CODE" 204 "POST ?action=ignore: 204"
fetch GET /services/api/errors/
is "$(jqb '[.[].aggregation_key]|index("k1")')" null "an ignored error is hidden"
fetch GET '/services/api/errors/?status=ignored'
is "$(jqb '[.[].aggregation_key,.[].status]|@csv')" '"k1","ignored"' \
    "?status=ignored lists it"
fetch POST '/services/api/errors/k1/?action=reopen'
is "$CODE" 204 "POST ?action=reopen: 204"
fetch GET /services/api/errors/k1/
is "$(jqb .status)" unresolved "reopened"
fetch POST '/services/api/errors/k1/?action=resolve'
is "$CODE" 204 "POST ?action=resolve: 204"
fetch GET '/services/api/errors/?status=resolved'
is "$(jqb '[.[].aggregation_key]|@csv')" '"k1"' "?status=resolved lists it"
fetch POST '/services/api/errors/k1/?action=delete'
is "$CODE" 400 "POST with an unknown action: 400"
fetch POST '/services/api/errors/nope/?action=ignore'
is "$CODE" 404 "POST on an unknown key: 404"
fetch POST '/services/api/errors/k1/?action=reopen' -H 'Content-Length: 2000000' \
    --data-binary x
is "$CODE" 413 "POST with a body over 1 MiB: 413"

# /metrics
fetch GET /metrics
is "$CODE" 200 "GET /metrics: 200"
is "$(header Content-Type)" "text/plain; version=0.0.4; charset=utf-8" \
    "/metrics: text format 0.0.4"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T_TMP/body" >"$T_TMP/promtool.out" 2>&1
	ok $? "promtool check metrics: clean"
	[ -s "$T_TMP/promtool.out" ] && diag "$(cat "$T_TMP/promtool.out")"
else
	ok 0 "# SKIP promtool not installed"
fi
like "$(cat "$T_TMP/body")" \
    '^periskop_error_occurrences\{service_name="api",severity="error",target="127.0.0.1:1",aggregation_key="k1"\} 5$' \
    "/metrics: occurrences per target and key"
like "$(cat "$T_TMP/body")" \
    'aggregation_key="q\\"b\\\\s\\nn"\} 1$' "/metrics: a hostile key escaped"
like "$(cat "$T_TMP/body")" '^periskop_scrapes_total\{service_name="api"\} 2$' \
    "/metrics: scrapes per service"
like "$(cat "$T_TMP/body")" '^periskop_build_info\{version="[0-9.]+"\} 1$' \
    "/metrics: build info"

# Limits.
BIG=$(head -c 100000 /dev/zero | tr '\0' a)
fetch GET /services/ -H "X-Big: $BIG"
is "$CODE" 431 "a 100 kB header: 431"
fetch GET "/services/$BIG/errors/"
is "$CODE" 414 "a 100 kB URL: 414"
start=$(date +%s)
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /services/ HTTP/1.1\r\n' >&3
with_timeout 10 cat <&3 >/dev/null
exec 3<&-
end=$(date +%s)
ok $(( end - start > 5 )) "a slow client is dropped after --timeout (took $(( end - start )) s)"
fetch GET /services/
is "$CODE" 200 "the server still answers"

# /errors: serve's own failures, in the Periskop format.
fetch GET /errors
is "$CODE|$(jqb '.aggregated_errors|length')" "200|0" "GET /errors: none yet"
sqlite3 "$DB" 'DROP TABLE occurrences' 2>"$T_TMP/sqlite.err"
ok $? "break the database under the server"
fetch GET /services/api/errors/
is "$CODE" 503 "a database failure: 503"
fetch GET /services/api/errors/?limit=2
is "$CODE" 503 "twice"
fetch GET /metrics
like "$(cat "$T_TMP/body")" '^periskop_application_errors_total\{type="http_503@GET /services/\{service\}/errors/"\} 2$' \
    "/metrics counts serve's own errors"
with_timeout 20 periskop-scrape --once -s self "$URL/errors" \
    >"$T_TMP/self.ndjson" 2>"$T_TMP/self.err"
is "$?" 0 "periskop-scrape reads GET /errors"
is "$(jq -r 'select(.type == "scrape") | [.ok, (.aggregated_errors|length), .aggregated_errors[0].aggregation_key, .aggregated_errors[0].total_count]|@csv' "$T_TMP/self.ndjson" | head -n 1)" \
    'true,1,"http_503@GET /services/{service}/errors/",2' \
    "the payload parses: one key, counted twice"
is "$(jq -r 'select(.type == "scrape") | .aggregated_errors[0].latest_errors[0].error.class' "$T_TMP/self.ndjson" | head -n 1)" \
    periskop.DatabaseError "with the failure's class"
like "$(jq -r 'select(.type == "scrape") | .target_uuid' "$T_TMP/self.ndjson" | head -n 1)" \
    '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' \
    "and a random target_uuid"
stop "$SERVE"

# --metrics-no-target, on a fresh copy of the data.
rm -f "$DB" "$DB-wal" "$DB-shm"
with_timeout 30 periskop-aggregate --db "$DB" <"$T_TMP/in.ndjson" \
    >/dev/null 2>>"$T_TMP/agg.err"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
spawn nt periskop-serve --db "$DB" -l "127.0.0.1:$PORT" --metrics-no-target
NT=$SPAWNED
wait_port "$PORT" 10
ok $? "a --metrics-no-target server listens"
fetch GET /metrics
like "$(cat "$T_TMP/body")" \
    '^periskop_error_occurrences\{service_name="api",severity="error",aggregation_key="k1"\} 5$' \
    "--metrics-no-target: no target label"
if command -v promtool >/dev/null; then
	promtool check metrics <"$T_TMP/body" >/dev/null 2>&1
	ok $? "promtool check metrics: clean without targets"
else
	ok 0 "# SKIP promtool not installed"
fi
stop "$NT"

periskop-serve --db "$DB" --timeout 0 >/dev/null 2>&1
is "$?" 64 "--timeout 0: exit 64"

done_testing
