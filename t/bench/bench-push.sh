#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-pushgateway against Prometheus' pushgateway (Debian's
# prometheus-pushgateway): the same wrk load, 100 pushers each POSTing a
# body of the same size (a Periskop payload of 9 keys x 3 occurrences
# for ours, Prometheus text for theirs), both keeping state in a file on
# the same disk.  Ours answers once the push is fsync'd; theirs writes
# its --persistence.file every interval, so a crash loses what came
# since: the comparison is of a durable push against a cached one.
# Prints "bench: NAME: value unit (ratio x reference)" lines.
. "$(dirname "$0")/../lib.sh"
T_TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$T_TOP/bin
PATH=$BIN:$PATH

BENCH=push
. "$(dirname "$0")/wrk.sh"
need wrk wrk
need prometheus-pushgateway prometheus-pushgateway
need perl perl
[ -x "$BIN/periskop-pushgateway" ] ||
    { echo "bench: push: skipped: bin/periskop-pushgateway not built"; exit 0; }

DUR=${BENCH_SECONDS:-5}
THREADS=2
CONNS=32
PUSHERS=100

# The bodies: ours as the clients make them, theirs of the same size.
perl -e '
	my ($dir, $n) = @ARGV;
	my @t = gmtime(time - 60);
	my $now = sprintf("%04d-%02d-%02dT%02d:%02d:%02d.000Z",
	    $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0]);
	for my $p (1 .. $n) {
		my @a;
		for my $k (1 .. 9) {
			my @o;
			for my $i (1 .. 3) {
				push @o, sprintf(q({"error":{"class":"java.lang.IllegalStateException","message":"job %d step %d failed: upstream answered 503 after 1234 ms","stacktrace":["com.example.Job.run(Job.java:%d)","com.example.Main.main(Main.java:42)"],"cause":null},"uuid":"%08d-0000-4000-8000-%04d%04d%04d","timestamp":"%s","severity":"error","http_context":{"request_method":"POST","request_url":"http://batch.example/step/%d","request_headers":{"Accept":"application/json"},"request_body":""}}),
				    $p, $k, $k, $p, $k, $i, 0, $now, $k);
			}
			push @a, sprintf(q({"aggregation_key":"IllegalStateException@Job.run:%d","total_count":%d,"severity":"error","created_at":"%s","latest_errors":[%s]}),
			    $k, 3, $now, join(",", @o));
		}
		my $body = sprintf(q({"target_uuid":"%08d-1111-4000-8000-000000000000","aggregated_errors":[%s]}), $p, join(",", @a));
		open(my $f, ">", "$dir/ours.$p") or die; print $f $body; close($f);
		# One family, as a batch job has a few: the gateway checks every
		# push against all it holds, family by family.
		my $text = "# TYPE job_step_failures_total counter\n";
		my $m = 0;
		while (length($text) < length($body)) {
			$text .= sprintf("job_step_failures_total{step=\"%d\",reason=\"upstream answered 503 after 1234 ms\"} %d\n", $m, 3);
			$m++;
		}
		open($f, ">", "$dir/theirs.$p") or die; print $f $text; close($f);
	}
' "$T_TMP" "$PUSHERS"
BYTES=$(wc -c <"$T_TMP/ours.1" | tr -d ' ')
TBYTES=$(wc -c <"$T_TMP/theirs.1" | tr -d ' ')

# A wrk script that cycles through the pushers' bodies and paths.
cat >"$T_TMP/push.lua" <<EOF
local bodies, paths, i = {}, {}, 0
function init(args)
	for p = 1, $PUSHERS do
		local f = io.open(args[1] .. "." .. p, "rb")
		bodies[p] = f:read("*a")
		f:close()
		paths[p] = args[2] == "theirs" and
		    ("/metrics/job/bench/instance/" .. p) or "/errors"
	end
end
function request()
	i = i % $PUSHERS + 1
	return wrk.format("POST", paths[i],
	    { ["Content-Type"] = "application/json" }, bodies[i])
end
EOF
run_wrk() {	# NAME URL BODYPREFIX KIND: requests/s, p99 ms, errors
	wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --timeout 10s --latency \
	    -s "$T_TMP/push.lua" "$2" -- "$3" "$4" >"$T_TMP/$1.wrk" 2>&1
	wrk_stats "$T_TMP/$1.wrk"
}
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# State files on the tree's file system, not a tmpfs: fsync must cost
# what it costs on a disk.
mkdir -p "$T_TOP/build"
STATE_DIR=$(mktemp -d "$T_TOP/build/bench-push.XXXXXX")

PPORT=$(free_port)
spawn prom prometheus-pushgateway --web.listen-address="127.0.0.1:$PPORT" \
    --persistence.file="$STATE_DIR/prom.state" --persistence.interval=5s
PROM=$SPAWNED
wait_port "$PPORT" 10 ||
    { echo "bench: push: failed: prometheus-pushgateway did not start"; exit 1; }
read -r P_RPS P_P99 P_ERR <<<"$(run_wrk prom "http://127.0.0.1:$PPORT" "$T_TMP/theirs" theirs)"
P_HWM=$(hwm_kb "$PROM")
stop "$PROM"; [ -n "${BENCH_KEEP:-}" ] && cp "$T_TMP"/*.wrk "$BENCH_KEEP"

GPORT=$(free_port)
spawn gw periskop-pushgateway -l "127.0.0.1:$GPORT" \
    --state "$STATE_DIR/gw.state"
GW=$SPAWNED
wait_port "$GPORT" 10 ||
    { echo "bench: push: failed: periskop-pushgateway did not start"; exit 1; }
read -r G_RPS G_P99 G_ERR <<<"$(run_wrk gw "http://127.0.0.1:$GPORT" "$T_TMP/ours" ours)"
G_HWM=$(hwm_kb "$GW")
TOTAL=$(curl -s --max-time 10 "http://127.0.0.1:$GPORT/-/errors/" | wc -c | tr -d ' ')
stop "$GW"
rm -rf "$STATE_DIR"

RATIO=$(awk -v a="$G_RPS" -v b="$P_RPS" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
PRATIO=$(awk -v a="$G_P99" -v b="$P_P99" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "bench: push ($BYTES-byte payloads, $PUSHERS pushers, $CONNS conns): $G_RPS pushes/s ($RATIO x prometheus-pushgateway $P_RPS pushes/s of $TBYTES bytes; goal >= 1 x)"
echo "bench: push-p99: $G_P99 ms ($PRATIO x prometheus-pushgateway $P_P99 ms)"
echo "bench: push-peak-rss: $((G_HWM / 1024)) MB (prometheus-pushgateway $((P_HWM / 1024)) MB); exposes $TOTAL bytes"
[ "$G_ERR" = 0 ] && [ "$P_ERR" = 0 ] ||
    echo "bench: push-errors: $G_ERR (prometheus-pushgateway $P_ERR)"
