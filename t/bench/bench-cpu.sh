#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# CPU per scrape of the whole chain (periskop-discover | periskop-scrape |
# periskop-aggregate on SQLite) against Prometheus scraping the same
# fleet, one after the other in the same run: 2,000 targets on loopback
# addresses served by nginx, payloads of ~8.5 KB (Prometheus text for
# Prometheus; 9 keys x 3 occurrences for us, a tenth of the targets
# reporting a new error each round), a 5 s interval, CPU read from /proc
# over the same window.  Prints "bench: NAME: value unit (ratio x
# reference)" lines.
. "$(dirname "$0")/../lib.sh"
T_TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$T_TOP/bin
PATH=$BIN:$PATH

BENCH=cpu
. "$(dirname "$0")/wrk.sh"
need nginx nginx-light
need prometheus prometheus
need perl perl
need sqlite3 sqlite3
for p in periskop-discover periskop-scrape periskop-aggregate; do
	[ -x "$BIN/$p" ] || { echo "bench: cpu: skipped: bin/$p not built"; exit 0; }
done

N=${BENCH_TARGETS:-2000}
WINDOW=${BENCH_SECONDS:-30}
INTERVAL=5
TICK=$(getconf CLK_TCK)
NG=$T_TMP/nginx
chmod 755 "$T_TMP"
mkdir -p "$NG/www" "$NG/logs" "$NG/tmp"
NPORT=$(free_port)

# addr I: target I's loopback address.
addrs() { awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "127.1.%d.%d\n", int(i / 200), i % 200 + 1 }'; }
addrs >"$T_TMP/addrs"

# The Prometheus text every target serves: ~8.5 KB of counters.
perl -e 'print "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n";
	for my $i (1 .. 112) { printf "http_requests_total{method=\"GET\",code=\"%d\",handler=\"/api/v1/items/%d\"} %d\n", 200 + $i % 3, $i, 1000 + $i * 7 }' \
    >"$NG/metrics.txt"

# payloads ROUND [STEP]: every STEP-th target's Periskop payload as of
# ROUND: 9 keys x 3 occurrences, the first key counting one more error
# each round (STEP 1: every target, for the first round).
payloads() {
	perl -e '
	my ($round, $step, $dir, @addrs) = @ARGV;
	my @t = gmtime(time - 60);
	my $ts = sprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0]);
	for (my $i = 0; $i < @addrs; $i += $step) {
		my @a;
		for my $k (0 .. 8) {
			my $n = $k == 0 ? 10 + $round : 10 + $k;
			my @o = map { sprintf(q({"error":{"class":"java.lang.IllegalStateException","message":"request failed: upstream answered 503","stacktrace":["com.example.Service.call(Service.java:%d)","com.example.Handler.handle(Handler.java:42)"],"cause":null},"uuid":"%08d-%04d-4000-8000-%012d","timestamp":"%s","severity":"error"}),
			    $k, $i, $k, $n - $_, $ts) } 0 .. 2;
			push @a, sprintf(q({"aggregation_key":"IllegalStateException@Service.call:%d","total_count":%d,"severity":"error","created_at":"%s","latest_errors":[%s]}),
			    $k, $n, $ts, join(",", @o));
		}
		my $d = "$dir/$addrs[$i]";
		mkdir $d;
		open(my $f, ">", "$d/errors.new") or die;
		print $f q({"target_uuid":"), sprintf("%08d-0000-4000-8000-000000000000", $i), q(","aggregated_errors":[), join(",", @a), "]}";
		close($f);
		rename("$d/errors.new", "$d/errors") or die;
	}' "$1" "${2:-1}" "$NG/www" $(cat "$T_TMP/addrs")
}
payloads 0
BYTES=$(wc -c <"$NG/www/127.1.0.1/errors" | tr -d ' ')

{
	echo "daemon off; worker_processes 1; pid $NG/nginx.pid;"
	echo "error_log $NG/logs/error.log warn;"
	echo "events { worker_connections 8192; }"
	echo "http { access_log off; sendfile on; keepalive_requests 1000000;"
	for d in body proxy fastcgi uwsgi scgi; do
		echo "${d}_temp_path $NG/tmp/$d;" | sed 's/^body_/client_body_/'
	done
	echo "types { application/json json; text/plain txt; }"
	echo "server {"
	sed "s/.*/listen &:$NPORT;/" "$T_TMP/addrs"
	echo "root $NG/www/\$server_addr; default_type application/json;"
	echo "location = /metrics { alias $NG/metrics.txt; default_type text/plain; }"
	echo "} }"
} >"$NG/nginx.conf"
ulimit -n 65536 2>/dev/null
spawn nginx nginx -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log"
NGINX=$SPAWNED
wait_for 10 curl -sf -o /dev/null "http://127.1.0.1:$NPORT/metrics" ||
    { echo "bench: cpu: failed: nginx did not start: $(tail -n 2 "$NG/logs/error.log")"; exit 1; }

# cpu PID...: their user + system CPU so far, in clock ticks.
cpu() {
	s=0
	for p in "$@"; do
		t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
		s=$((s + t))
	done
	echo "$s"
}
ms_per() { awk -v t="$1" -v hz="$TICK" -v n="$2" 'BEGIN { printf "%.3f", (n > 0 ? t * 1000 / hz / n : 0) }'; }

# -- Prometheus
PPORT=$(free_port)
{
	echo "global: {scrape_interval: ${INTERVAL}s, scrape_timeout: 4s}"
	echo "scrape_configs:"
	echo "  - job_name: fleet"
	echo "    static_configs:"
	echo "      - targets:"
	sed "s/.*/          - &:$NPORT/" "$T_TMP/addrs"
} >"$T_TMP/prometheus.yml"
spawn prometheus prometheus --config.file="$T_TMP/prometheus.yml" \
    --storage.tsdb.path="$T_TMP/prom" --web.listen-address="127.0.0.1:$PPORT"
PROM=$SPAWNED
wait_for 30 curl -sf -o /dev/null "http://127.0.0.1:$PPORT/-/ready" ||
    { echo "bench: cpu: failed: prometheus did not start"; exit 1; }
# Its own count of the scrapes it made (it does not scrape itself here).
pscrapes() {
	curl -s "http://127.0.0.1:$PPORT/metrics" |
	    awk '/^prometheus_target_interval_length_seconds_count/ { n += $2 } END { printf "%d\n", n }'
}
# Two rounds to warm up: every target scraped once, the TSDB head made.
sleep $((2 * INTERVAL))
c0=$(cpu "$PROM") s0=$(pscrapes)
sleep "$WINDOW"
c1=$(cpu "$PROM") s1=$(pscrapes)
P_TICKS=$((c1 - c0)) P_N=$((s1 - s0))
P_MS=$(ms_per "$P_TICKS" "$P_N")
up=$(curl -s "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode 'query=sum(up)' | jq -r '.data.result[0].value[1]')
stop "$PROM"
echo "bench: cpu-per-scrape-prometheus: $P_MS ms ($P_N scrapes in ${WINDOW} s, $up of $N up, $(wc -c <"$NG/metrics.txt" | tr -d ' ') bytes each)"

# -- periskop: discover | scrape | aggregate, each process measured
{
	echo "services:"
	echo "  - name: fleet"
	echo "    scraper: {endpoint: /errors, refresh_interval: ${INTERVAL}s}"
	echo "    static_configs:"
	echo "      - targets:"
	sed "s/.*/          - &:$NPORT/" "$T_TMP/addrs"
	echo "repository: {type: sqlite, path: $T_TMP/p.db}"
} >"$T_TMP/periskop.yaml"
mkfifo "$T_TMP/f1" "$T_TMP/f2"
periskop-discover -c "$T_TMP/periskop.yaml" >"$T_TMP/f1" 2>"$T_TMP/discover.err" &
DP=$!
periskop-scrape <"$T_TMP/f1" >"$T_TMP/f2" 2>"$T_TMP/scrape.err" &
SP=$!
periskop-aggregate -c "$T_TMP/periskop.yaml" <"$T_TMP/f2" >/dev/null 2>"$T_TMP/aggregate.err" &
AP=$!
T_PIDS="$T_PIDS $DP $SP $AP"
scrapes() { sqlite3 "$T_TMP/p.db" "SELECT coalesce(sum(scrapes_total), 0) FROM service_stats" 2>/dev/null || echo 0; }
# A tenth of the fleet reports a new error every round.
( r=1; while sleep "$INTERVAL"; do payloads "$r" 10; r=$((r + 1)); done ) &
CH=$!
T_PIDS="$T_PIDS $CH"
sleep $((2 * INTERVAL))
d0=$(cpu "$DP") k0=$(cpu "$SP") a0=$(cpu "$AP") s0=$(scrapes)
sleep "$WINDOW"
d1=$(cpu "$DP") k1=$(cpu "$SP") a1=$(cpu "$AP") s1=$(scrapes)
kill "$CH" 2>/dev/null
stop "$DP" "$SP" "$AP"
N_S=$((s1 - s0))
D_MS=$(ms_per $((d1 - d0)) "$N_S") K_MS=$(ms_per $((k1 - k0)) "$N_S") A_MS=$(ms_per $((a1 - a0)) "$N_S")
T_MS=$(ms_per $((d1 - d0 + k1 - k0 + a1 - a0)) "$N_S")
RATIO=$(awk -v a="$T_MS" -v b="$P_MS" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "bench: cpu-per-scrape-periskop: $T_MS ms: discover $D_MS + scrape $K_MS + aggregate $A_MS ($RATIO x prometheus $P_MS ms; goal <= 0.5 x; $N_S scrapes in ${WINDOW} s, $BYTES bytes each)"
for p in discover scrape aggregate; do
	[ -s "$T_TMP/$p.err" ] && echo "bench: cpu: $p said: $(tail -n 1 "$T_TMP/$p.err")"
done
stop "$NGINX"
done_testing
