#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-serve on a free port, over a database periskop-aggregate filled:
# every endpoint, status code, header and the exact JSON of the original API.
. "$(dirname "$0")/lib.sh"

[ -x "$BIN/periskop-serve" ] && [ -x "$BIN/periskop-aggregate" ] ||
	skip_all "bin/periskop-serve or bin/periskop-aggregate not built"
command -v curl >/dev/null || skip_all "curl not installed"

plan 70

DB=$T_TMP/p.db
# The awkward key, as JSON and percent-encoded for a path.
AWK_ENC='a%2Fb%20c%25d%40e%22f%C3%A9'

cat >"$T_TMP/in.ndjson" <<'EOF'
{"type":"targets","service":"api","endpoint":"/errors","interval_s":10,"timeout_s":10,"targets":[{"address":"127.0.0.1:2","url":"http://127.0.0.1:2/errors","labels":{}},{"address":"127.0.0.1:1","url":"http://127.0.0.1:1/errors","labels":{}}]}
{"type":"targets","service":"web","endpoint":"/debug/errors","interval_s":10,"timeout_s":10,"targets":[{"address":"127.0.0.1:3","url":"http://127.0.0.1:3/debug/errors","labels":{}}]}
{"type":"scrape","service":"api","target":"127.0.0.1:1","url":"http://127.0.0.1:1/errors","at":"2026-11-25T08:00:00.000Z","duration_ms":1,"http_status":200,"body_bytes":10,"ok":true,"aggregated_errors":[{"aggregation_key":"k1","total_count":2,"severity":"error","created_at":"2026-11-25T07:59:59.500Z","latest_errors":[{"error":{"class":"E","message":"bad <input>","stacktrace":["f.c:1"],"cause":{"class":"C","message":"root","stacktrace":[],"cause":null}},"uuid":"u-k1","timestamp":"2026-11-25T07:59:59.750Z","severity":"error","http_context":{"request_method":"GET","request_url":"http://x/y","request_headers":{"Accept":"*/*"},"request_body":"q=1"}}]},{"aggregation_key":"a/b c%d@e\"f\u00e9","total_count":1,"severity":"warning","created_at":"2026-11-25T07:59:58.000Z","latest_errors":[{"error":{"class":"W","message":"w","stacktrace":[],"cause":null},"uuid":"u-w","timestamp":"2026-11-25T07:59:58.001Z","severity":"warning","http_context":null}]}]}
{"type":"round","service":"api","at":"2026-11-25T08:00:00.000Z","duration_ms":1,"targets":2,"ok":1,"failed":0}
{"type":"round","service":"web","at":"2026-11-25T08:00:00.000Z","duration_ms":1,"targets":1,"ok":0,"failed":0}
EOF

with_timeout 30 periskop-aggregate --db "$DB" <"$T_TMP/in.ndjson" \
    >"$T_TMP/agg.out" 2>"$T_TMP/agg.err"
is "$?" 0 "periskop-aggregate fills the database"

UI=$T_TMP/ui
mkdir -p "$UI/sub"
printf '<!doctype html>\n' >"$UI/index.html"
printf 'let x;\n' >"$UI/app.js"
printf 'secret\n' >"$UI/.hidden"
printf 'outside\n' >"$T_TMP/secret.txt"
ln -s ../secret.txt "$UI/link.txt"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
spawn serve periskop-serve --db "$DB" --listen "127.0.0.1:$PORT" --ui "$UI"
SERVE=$SPAWNED
wait_port "$PORT" 10
ok $? "periskop-serve listens on 127.0.0.1:$PORT"

# fetch METHOD PATH [CURL ARGS]: sets CODE; the body is in $T_TMP/body,
# the headers in $T_TMP/hdrs.
fetch() {
	m=$1; p=$2; shift 2
	CODE=$(curl -s -g --path-as-is --max-time 10 -X "$m" -o "$T_TMP/body" \
	    -D "$T_TMP/hdrs" -w '%{http_code}' "$@" "$URL$p")
}
# header NAME: the value of a response header of the last fetch.
header() {
	tr -d '\r' <"$T_TMP/hdrs" | grep -i "^$1:" | head -n 1 |
	    sed 's/^[^:]*: *//'
}
# same_body TEXT DESCRIPTION: the body is TEXT and a newline, exactly.
same_body() {
	printf '%s\n' "$1" >"$T_TMP/want"
	if cmp -s "$T_TMP/body" "$T_TMP/want"; then
		ok 0 "$2"
	else
		ok 1 "$2"
		diag "got:  $(cat "$T_TMP/body")"
		diag "want: $1"
	fi
}
secure() {	# secure DESCRIPTION
	is "$(header X-Content-Type-Options)|$(header Referrer-Policy)|$(header Content-Security-Policy)" \
	    "nosniff|no-referrer|default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'" \
	    "security headers: $1"
}
nkeys() { grep -o '"aggregation_key"' "$T_TMP/body" | wc -l | tr -d ' '; }

fetch GET /services/
is "$CODE" 200 "GET /services/: 200"
same_body '["api","web"]' "GET /services/: sorted names, trailing newline"
is "$(header Content-Type)" application/json "GET /services/: JSON"
secure "200"

K1='{"aggregation_key":"k1","total_count":2,"severity":"error","latest_errors":[{"error":{"class":"E","message":"bad \u003cinput\u003e","stacktrace":["f.c:1"],"cause":{"class":"C","message":"root","stacktrace":[],"cause":null}},"uuid":"u-k1","timestamp":1795593599,"severity":"error","http_context":{"request_method":"GET","request_url":"http://x/y","request_headers":{"Accept":"*/*"},"request_body":"q=1"}}],"created_at":1795593599,"first_seen":1795593599,"last_seen":1795593599,"status":"unresolved","regressed":false,"regressed_at":null}'
AWK='{"aggregation_key":"a/b c%d@e\"fé","total_count":1,"severity":"warning","latest_errors":[{"error":{"class":"W","message":"w","stacktrace":[],"cause":null},"uuid":"u-w","timestamp":1795593598,"severity":"warning","http_context":null}],"created_at":1795593598,"first_seen":1795593598,"last_seen":1795593598,"status":"unresolved","regressed":false,"regressed_at":null}'

fetch GET /services/api/errors/
is "$CODE" 200 "GET errors: 200"
same_body "[$K1,$AWK]" "GET errors: the original's fields in order, unix seconds"
is "$(header Content-Type)" application/json "GET errors: JSON"
fetch GET /services/web/errors/
same_body '[]' "GET errors of a service without errors: []"

fetch GET /services/nope/errors/
is "$CODE" 404 "unknown service: 404"
like "$(header Content-Type)" '^text/plain' "unknown service: plain text"
secure "404"
fetch GET '/services/api/errors/?limit=junk'
is "$CODE" 400 "?limit=junk: 400"
fetch GET '/services/api/errors/?status=bogus'
is "$CODE" 400 "?status=bogus: 400"
fetch GET '/services/api/errors/?severity=warning'
same_body "[$AWK]" "?severity=warning filters"
fetch GET '/services/api/errors/?limit=1'
same_body "[$K1]" "?limit=1 limits"

fetch OPTIONS "/services/api/errors/$AWK_ENC/"
is "$CODE" 204 "OPTIONS on an error: 204"
is "$(header Allow)" "GET, HEAD, POST, DELETE, OPTIONS" "OPTIONS: Allow"
is "$(header Access-Control-Allow-Origin)" "" "OPTIONS: no CORS by default"
secure "204"
fetch GET /services/api/errors/
is "$(nkeys)" 2 "OPTIONS changed nothing"
fetch PUT "/services/api/errors/$AWK_ENC/"
is "$CODE|$(header Allow)" "405|GET, HEAD, POST, DELETE, OPTIONS" \
    "PUT on an error: 405 with Allow"
fetch PUT /services/
is "$CODE|$(header Allow)" "405|GET, HEAD, OPTIONS" "PUT /services/: 405 with Allow"

fetch DELETE "/services/api/errors/$AWK_ENC/"
is "$CODE" 204 "DELETE an awkward key from loopback: 204"
fetch GET /services/api/errors/
same_body "[$K1]" "the resolved error is gone from the list"
fetch GET '/services/api/errors/?status=resolved'
like "$(cat "$T_TMP/body")" '"aggregation_key":"a/b c%d@e\\"fé".*"status":"resolved"' \
    "?status=resolved lists it"
fetch DELETE /services/api/errors/nope/
is "$CODE" 204 "DELETE an unknown key: 204, as the original"
fetch DELETE /services/nope/errors/k1/
is "$CODE" 404 "DELETE in an unknown service: 404"
fetch DELETE /services/api/errors/k1%00/
is "$CODE" 400 "DELETE with %00: 400"
fetch DELETE /services/api/errors/k1%4/
is "$CODE" 400 "DELETE with a bad escape: 400"

fetch GET /targets/
is "$CODE" 200 "GET /targets/: 200"
same_body '{"api":[{"endpoint":"127.0.0.1:1/errors","url":"http://127.0.0.1:1/errors","up":true,"last_scrape":1795593600,"duration_ms":1,"last_error":null},{"endpoint":"127.0.0.1:2/errors","url":"http://127.0.0.1:2/errors","up":null,"last_scrape":null,"duration_ms":0,"last_error":null}],"web":[{"endpoint":"127.0.0.1:3/debug/errors","url":"http://127.0.0.1:3/debug/errors","up":null,"last_scrape":null,"duration_ms":0,"last_error":null}]}' \
    "GET /targets/: the original's endpoints, then health per target"
fetch GET /-/health
is "$CODE|$(cat "$T_TMP/body")" "200|OK" "GET /-/health: 200 OK"
like "$(header Content-Type)" '^text/plain' "health: plain text"

fetch GET /
is "$CODE|$(cat "$T_TMP/body")" "200|<!doctype html>" "GET /: index.html"
like "$(header Content-Type)" '^text/html' "GET /: text/html"
fetch GET /app.js
is "$CODE|$(header Content-Type)" "200|text/javascript; charset=utf-8" \
    "GET /app.js: JavaScript"
for p in /../secret.txt /%2e%2e/secret.txt /%2E%2E%2Fsecret.txt \
    /sub/../index.html /link.txt /.hidden /missing /sub/; do
	fetch GET "$p"
	is "$CODE" 404 "GET $p: 404"
done
secure "static 404"
fetch GET /index.html -H 'Content-Length: 2000000' --data-binary x
is "$CODE" 413 "a body over 1 MiB: 413"
head -c 1100000 /dev/zero >"$T_TMP/big"
fetch POST /services/ -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T_TMP/big"
is "$CODE" 413 "a chunked body over 1 MiB: 413"

# A database that cannot be opened: the same statuses as aggregate's.
P=$(free_port)
with_timeout 10 periskop-serve --db sqlite:/nonexistent/dir/x.db \
    -l "127.0.0.1:$P" 2>/dev/null
is "$?" 66 "a database file that cannot be opened: exit 66"
with_timeout 10 periskop-serve --db "postgresql://u@127.0.0.1:1/x" \
    -l "127.0.0.1:$P" 2>/dev/null
is "$?" 69 "a database server that is down: exit 69 (try later)"
with_timeout 10 periskop-serve --db "bogus:x" -l "127.0.0.1:$P" 2>/dev/null
is "$?" 78 "a URI that is not valid: exit 78"
# The port is taken: exit 69, naming the address.
with_timeout 10 periskop-serve --db "$DB" --listen "127.0.0.1:$PORT" \
    >/dev/null 2>"$T_TMP/busy.err"
is "$?" 69 "a busy listen address: exit 69"
like "$(cat "$T_TMP/busy.err")" "127\\.0\\.0\\.1:$PORT" "the message names it"

kill -TERM "$SERVE"
wait_for 5 sh -c "! kill -0 $SERVE"
kill -KILL "$SERVE" 2>/dev/null
wait "$SERVE"
is "$?" 0 "SIGTERM: exit 0"

# Read-only, with CORS.
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
spawn ro periskop-serve --db "$DB" -l "127.0.0.1:$PORT" --read-only \
    --cors https://ui.example --ui "$UI"
RO=$SPAWNED
wait_port "$PORT" 10
ok $? "read-only server listens"
fetch DELETE /services/api/errors/k1/
is "$CODE" 403 "--read-only: DELETE 403"
fetch OPTIONS /services/api/errors/k1/
is "$CODE|$(header Access-Control-Allow-Origin)" "204|https://ui.example" \
    "--cors: the preflight names the origin"
fetch GET /services/api/errors/
is "$(nkeys)" 1 "nothing was resolved"
stop "$RO"

# With a token file.
printf 's3cret\n' >"$T_TMP/token"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
spawn tok periskop-serve --db "$DB" -l "127.0.0.1:$PORT" \
    --token-file "$T_TMP/token" --ui "$UI"
TOK=$SPAWNED
wait_port "$PORT" 10
ok $? "token server listens"
fetch DELETE /services/api/errors/k1/
is "$CODE|$(header WWW-Authenticate)" "401|Bearer" \
    "--token-file: DELETE without a token 401"
fetch DELETE /services/api/errors/k1/ -H 'Authorization: Bearer nope'
is "$CODE" 401 "--token-file: a wrong token 401"
fetch GET /services/api/errors/
is "$(nkeys)" 1 "nothing was resolved"
fetch DELETE /services/api/errors/k1/ -H 'Authorization: Bearer s3cret'
is "$CODE" 204 "--token-file: the right token 204"
fetch GET /services/api/errors/
same_body '[]' "k1 is resolved"
stop "$TOK"

periskop-serve -h >"$T_TMP/h.out" 2>&1
is "$?" 0 "-h: exit 0"
like "$(cat "$T_TMP/h.out")" '^usage: periskop-serve' "-h: usage"
periskop-serve --bogus >/dev/null 2>&1
is "$?" 64 "a bad flag: exit 64"
periskop-serve >/dev/null 2>&1
is "$?" 64 "no database: exit 64"
periskop-serve --db "$DB" --ui "$T_TMP/nope" -l "127.0.0.1:$(free_port)" \
    >/dev/null 2>&1
is "$?" 66 "a missing --ui folder: exit 66"

done_testing
