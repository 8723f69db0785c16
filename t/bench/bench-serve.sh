#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-serve against nginx: GET /services/{s}/errors/ for 1,000 errors
# x 10 occurrences, and nginx serving the same bytes as a static file on
# another loopback port, same wrk settings, same run; then 1,000
# concurrent connections on periskop-serve, with its memory before and
# after.  Prints "bench: NAME: value unit (ratio x reference)" lines.
. "$(dirname "$0")/../lib.sh"
# lib.sh expects to live one level up from its callers.
T_TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$T_TOP/bin
PATH=$BIN:$PATH

BENCH=serve
. "$(dirname "$0")/wrk.sh"
need wrk wrk
need nginx nginx-light
need perl perl
for p in periskop-serve periskop-aggregate; do
	[ -x "$BIN/$p" ] || { echo "bench: serve: skipped: bin/$p not built"; exit 0; }
done

DUR=${BENCH_SECONDS:-5}
THREADS=4
CONNS=64
DB=$T_TMP/bench.db

# One scrape of 1,000 keys, 10 occurrences each, like a busy service.
perl -e '
	# Times from the clock, a minute back: as a live client reports them.
	sub ts { my @t = gmtime($_[0]); sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0], $_[1]) }
	my $t0 = time - 60;
	my $now = ts($t0, 0);
	my @a;
	for my $k (1 .. 1000) {
		my @o;
		for my $i (1 .. 10) {
			push @o, sprintf(q({"error":{"class":"java.lang.IllegalStateException","message":"request %d failed: upstream answered 503 after 1234 ms","stacktrace":["com.example.Service.call(Service.java:%d)","com.example.Handler.handle(Handler.java:42)","org.eclipse.jetty.server.Server.handle(Server.java:516)"],"cause":{"class":"java.io.IOException","message":"connection reset","stacktrace":[],"cause":null}},"uuid":"%08d-0000-4000-8000-%012d","timestamp":"%s","severity":"error","http_context":{"request_method":"GET","request_url":"http://api.example/v1/items/%d","request_headers":{"Accept":"application/json"},"request_body":""}}),
			    $k, $k, $k, $i, ts($t0 + $i, $k % 1000), $k);
		}
		push @a, sprintf(q({"aggregation_key":"IllegalStateException@Service.call:%d","total_count":%d,"severity":"error","created_at":"%s","latest_errors":[%s]}),
		    $k, 10 + $k, $now, join(",", @o));
	}
	print q({"type":"targets","service":"bench","endpoint":"/errors","interval_s":10,"timeout_s":10,"targets":[{"address":"127.0.0.1:1","url":"http://127.0.0.1:1/errors","labels":{}}]}), "\n";
	print q({"type":"scrape","service":"bench","target":"127.0.0.1:1","url":"http://127.0.0.1:1/errors","target_uuid":"b-1","at":"), $now,
	    q(","duration_ms":1,"ok":true,"aggregated_errors":[), join(",", @a), "]}\n";
	print q({"type":"round","service":"bench","at":"), $now, q(","duration_ms":1,"targets":1,"ok":1,"failed":0}), "\n";
' >"$T_TMP/in.ndjson"
periskop-aggregate --db "$DB" <"$T_TMP/in.ndjson" >/dev/null 2>"$T_TMP/agg.err" ||
    { echo "bench: serve: failed: periskop-aggregate: $(tail -n 1 "$T_TMP/agg.err")"; exit 1; }

PORT=$(free_port)
spawn serve periskop-serve --db "$DB" -l "127.0.0.1:$PORT"
SERVE=$SPAWNED
wait_port "$PORT" 10 || { echo "bench: serve: failed: periskop-serve did not start"; exit 1; }
PATH_E=/services/bench/errors/
curl -s --max-time 30 -o "$T_TMP/errors.json" "http://127.0.0.1:$PORT$PATH_E"
BYTES=$(wc -c <"$T_TMP/errors.json" | tr -d ' ')

# nginx with a private prefix, in the foreground, stopped by PID.
NG=$T_TMP/nginx
# nginx's workers run as an unprivileged user when started by root.
chmod 755 "$T_TMP"
mkdir -p "$NG/www/services/bench/errors" "$NG/logs" "$NG/tmp"
cp "$T_TMP/errors.json" "$NG/www/services/bench/errors/index.json"
chmod -R a+rX "$NG/www"
NPORT=$(free_port)
cat >"$NG/nginx.conf" <<EOF
daemon off;
worker_processes $THREADS;
pid $NG/nginx.pid;
error_log $NG/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	client_body_temp_path $NG/tmp/body;
	proxy_temp_path $NG/tmp/proxy;
	fastcgi_temp_path $NG/tmp/fastcgi;
	uwsgi_temp_path $NG/tmp/uwsgi;
	scgi_temp_path $NG/tmp/scgi;
	types { application/json json; }
	server {
		listen 127.0.0.1:$NPORT;
		root $NG/www;
		index index.json;
	}
}
EOF
spawn nginx nginx -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log"
NGINX=$SPAWNED
wait_port "$NPORT" 10 || { echo "bench: serve: failed: nginx did not start: $(cat "$NG/logs/error.log")"; exit 1; }
NBYTES=$(curl -s --max-time 30 "http://127.0.0.1:$NPORT$PATH_E" | wc -c | tr -d ' ')
[ "$NBYTES" = "$BYTES" ] ||
    { echo "bench: serve: failed: nginx served $NBYTES bytes, periskop-serve $BYTES"; exit 1; }

# run_wrk NAME URL CONNS: wrk's requests/s, p99 (ms) and error count.
run_wrk() {
	wrk -t"$THREADS" -c"$3" -d"${DUR}s" --timeout 10s --latency "$2" \
	    >"$T_TMP/$1.wrk" 2>&1
	wrk_stats "$T_TMP/$1.wrk"
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

read -r N_RPS N_P99 N_ERR <<<"$(run_wrk nginx "http://127.0.0.1:$NPORT$PATH_E" $CONNS)"
read -r S_RPS S_P99 S_ERR <<<"$(run_wrk serve "http://127.0.0.1:$PORT$PATH_E" $CONNS)"
RATIO=$(awk -v a="$S_RPS" -v b="$N_RPS" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
PRATIO=$(awk -v a="$S_P99" -v b="$N_P99" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "bench: serve-errors-list ($BYTES bytes, $CONNS conns): $S_RPS req/s ($RATIO x nginx $N_RPS req/s; goal >= 0.5 x)"
echo "bench: serve-errors-list-p99: $S_P99 ms ($PRATIO x nginx $N_P99 ms)"
[ "$S_ERR" = 0 ] && [ "$N_ERR" = 0 ] ||
    echo "bench: serve-errors-list-errors: $S_ERR (nginx $N_ERR)"
stop "$NGINX"

RSS0=$(rss_kb "$SERVE")
read -r C_RPS C_P99 C_ERR <<<"$(run_wrk conns "http://127.0.0.1:$PORT$PATH_E" 1000)"
RSS1=$(rss_kb "$SERVE")
read -r C2_RPS C2_P99 C2_ERR <<<"$(run_wrk conns2 "http://127.0.0.1:$PORT$PATH_E" 1000)"
RSS2=$(rss_kb "$SERVE")
echo "bench: serve-1000-conns: $C_ERR errors, $C_RPS req/s, p99 $C_P99 ms; second run $C2_ERR errors (goal 0 errors)"
echo "bench: serve-1000-conns-rss: $((RSS1 / 1024)) MB after, $((RSS2 / 1024)) MB after a second run (from $((RSS0 / 1024)) MB; bounded when the two agree)"
kill -0 "$SERVE" 2>/dev/null ||
    echo "bench: serve: failed: periskop-serve died under load"
stop "$SERVE"
