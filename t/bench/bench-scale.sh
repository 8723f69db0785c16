#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Scale: 100,000 simulated targets (fake-fleet processes on loopback
# addresses) x 10 keys, a tenth of them reporting new errors each round,
# a 60 s interval, two hashmod shards (two discover | scrape | aggregate
# chains) writing one PostgreSQL database.  Prints each shard's rounds
# (scrape and store times, against the interval), whether the stored
# totals equal what the fleet served, and each process's peak RSS.
# BENCH_SCALE_TARGETS, _ROUNDS and _INTERVAL make it smaller.
. "$(dirname "$0")/../lib.sh"
T_TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$T_TOP/bin
PATH=$BIN:$PATH
FLEET=$T_TOP/build/t/helper/fake-fleet

BENCH=scale
. "$(dirname "$0")/wrk.sh"
need psql postgresql-client
need jq jq
for f in "$BIN/periskop-discover" "$BIN/periskop-scrape" \
    "$BIN/periskop-aggregate" "$FLEET"; do
	[ -x "$f" ] || { echo "bench: scale: skipped: no $f (make all)"; exit 0; }
done
[ -n "${PERISKOP_TEST_PG:-}" ] ||
    { echo "bench: scale: skipped (PERISKOP_TEST_PG unset)"; exit 0; }

N=${BENCH_SCALE_TARGETS:-100000}
ROUNDS=${BENCH_SCALE_ROUNDS:-4}
INTERVAL=${BENCH_SCALE_INTERVAL:-60}
KEYS=10
# One fake-fleet process per 12,500 targets keeps each under the fd limit.
PER=12500
[ "$N" -lt "$PER" ] && PER=$(( (N + 99) / 100 * 100 ))
NFLEET=$(( (N + PER - 1) / PER ))
ulimit -n "$(ulimit -Hn)" 2>/dev/null

pgdb=periskop_scale_$$
psql -q "$PERISKOP_TEST_PG" -c "CREATE DATABASE $pgdb" >/dev/null 2>&1 ||
    { echo "bench: scale: failed: cannot create database $pgdb"; exit 1; }
URI=${PERISKOP_TEST_PG%/*}/$pgdb
cleanup_db() {
	psql -q "$PERISKOP_TEST_PG" -c "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1
}

START=$(date +%s)
# -- The fleet: NFLEET processes, PER targets each, on 127.4.F.*
: >"$T_TMP/urls"
FLEETS=
for f in $(seq 0 $((NFLEET - 1))); do
	spawn fleet$f "$FLEET" -a "127.4.$f.1" -A $((PER / 100)) -n 100 \
	    -k $KEYS -s 2048 -c 10 -U "$T_TMP/urls.$f" -C "$T_TMP/ctl.$f"
	FLEETS="$FLEETS $SPAWNED"
done
for f in $(seq 0 $((NFLEET - 1))); do
	wait_for 30 test -s "$T_TMP/ctl.$f" ||
	    { echo "bench: scale: failed: fake-fleet $f did not start"; cleanup_db; exit 1; }
	cat "$T_TMP/urls.$f" >>"$T_TMP/urls"
done
head -n "$N" "$T_TMP/urls" | awk '
	BEGIN { printf "[{\"targets\":[" }
	{ a = $1; sub("^http://", "", a); sub("/.*", "", a)
	  printf "%s\"%s\"", (NR > 1 ? "," : ""), a }
	END { print "]}]" }' >"$T_TMP/targets.json"
N=$(jq '.[0].targets | length' "$T_TMP/targets.json")

# -- Two chains, each keeping its hashmod shard
for s in 0 1; do
	cat >"$T_TMP/shard$s.yaml" <<-EOF
	services:
	  - name: fleet
	    scraper: {endpoint: /errors, refresh_interval: ${INTERVAL}s, timeout: 10s}
	    file_sd_configs:
	      - files: [$T_TMP/targets.json]
	    relabel_configs:
	      - source_labels: [__address__]
	        modulus: 2
	        target_label: __tmp_shard
	        action: hashmod
	      - source_labels: [__tmp_shard]
	        regex: "$s"
	        action: keep
	EOF
	mkfifo "$T_TMP/d$s" "$T_TMP/k$s" "$T_TMP/s$s"
	periskop-discover -c "$T_TMP/shard$s.yaml" >"$T_TMP/d$s" \
	    2>"$T_TMP/discover$s.err" &
	eval "D$s=\$!"
	periskop-scrape <"$T_TMP/d$s" >"$T_TMP/k$s" 2>"$T_TMP/scrape$s.err" &
	eval "K$s=\$!"
	# The round lines, numbered as the aggregator numbers its input.
	tee <"$T_TMP/k$s" >(grep -n --line-buffered '"type":"round"' \
	    >"$T_TMP/rounds$s") >"$T_TMP/s$s" &
	eval "C$s=\$!"
	periskop-aggregate -v -s "$s" --db "$URI" <"$T_TMP/s$s" >/dev/null \
	    2>"$T_TMP/aggregate$s.err" &
	eval "A$s=\$!"
done
T_PIDS="$T_PIDS $D0 $D1 $K0 $K1 $C0 $C1 $A0 $A1"

# cpu_s PID...: their user + system CPU so far, in seconds.
cpu_s() {
	for p in "$@"; do
		awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null
	done | awk -v hz="$(getconf CLK_TCK)" '{ t += $1 } END { printf "%.1f", t / hz }'
}

# hwm PID: its peak RSS in KiB.
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# Each shard's rounds: ROUNDS of them, and the last one's commit.
deadline=$(( $(date +%s) + (ROUNDS + 2) * INTERVAL + 120 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
	r0=$(wc -l <"$T_TMP/rounds0") r1=$(wc -l <"$T_TMP/rounds1")
	[ "$r0" -ge "$ROUNDS" ] && [ "$r1" -ge "$ROUNDS" ] && break
	sleep 2
done
for p in $D0 $D1 $K0 $K1 $A0 $A1; do eval "H$p=$(hwm "$p")"; done

# The fleet stops counting; the next round stores what it served.
for f in $(seq 0 $((NFLEET - 1))); do
	curl -sf "http://127.0.0.1:$(cat "$T_TMP/ctl.$f")/freeze" >/dev/null
done
want=$(for f in $(seq 0 $((NFLEET - 1))); do
	curl -sf "http://127.0.0.1:$(cat "$T_TMP/ctl.$f")/counts"
done | head -n "$N" | awk -v k=$KEYS '{ s += $4 } END {
	for (i = 0; i < k; i++) printf "%d ", s * (i + 1) }')
got=
deadline=$(( $(date +%s) + 3 * INTERVAL + 60 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
	got=$(psql -qAt "$URI" -c "SELECT string_agg(total_count::text, ' '
	    ORDER BY total_count) FROM errors" 2>/dev/null)
	[ "$got " = "$want" ] && break
	sleep 5
done
for p in $D0 $D1 $K0 $K1 $A0 $A1; do
	h=$(hwm "$p")
	eval "[ \"$h\" -gt \"\${H$p:-0}\" ] && H$p=$h"
done
# The CPU each kind of process spent over the whole run.
PGPIDS=$(psql -qAt "$PERISKOP_TEST_PG" -c "SELECT pid FROM pg_stat_activity
    WHERE datname = '$pgdb' AND application_name = 'periskop'")
CPU_LINE="fleet $(cpu_s $FLEETS) s, discover $(cpu_s $D0 $D1) s, scrape $(cpu_s $K0 $K1) s, aggregate $(cpu_s $A0 $A1) s, postgres $(cpu_s $PGPIDS) s"
WALL=$(( $(date +%s) - START ))
stop $D0 $D1
stop $K0 $K1 $C0 $C1 $A0 $A1 $FLEETS

echo "bench: scale-targets: $N targets x $KEYS keys in $NFLEET fake-fleet processes, 10% changing per round, ${INTERVAL} s interval, 2 shards into one PostgreSQL"
for s in 0 1; do
	# A round's scrape time from its round line; its store time and
	# rows from the aggregator's commits up to that line, since the
	# round before (a long round commits more than once).
	awk -v s="$s" -v iv="$INTERVAL" -v max="$ROUNDS" '
	FNR == NR { n = $0; sub(":.*", "", n)
		d = $0; sub(".*\"duration_ms\":", "", d); sub("[,}].*", "", d)
		t = $0; sub(".*\"targets\":", "", t); sub("[,}].*", "", t)
		rn[++R] = n + 0; dur[R] = d; tg[R] = t; j = 1; next }
	/committed, / { match($0, /stdin:[0-9]+:/)
		n = substr($0, RSTART + 6, RLENGTH - 7) + 0
		while (j <= R && rn[j] < n) j++
		if (j > R) next
		r = $0; sub(".*committed, ", "", r); sub(" .*", "", r)
		ms[j] += $(NF - 1); rows[j] += r }
	END { for (i = 1; i <= R && i <= max; i++) {
		tot = (dur[i] + ms[i]) / 1000
		printf "bench: scale-shard%d-round%d: %.1f s (scrape %.1f s + store %.1f s, %d rows, %d targets; %s the %d s interval)\n",
		    s, i, tot, dur[i] / 1000, ms[i] / 1000, rows[i], tg[i], (tot < iv ? "inside" : "OUTSIDE"), iv } }
	' "$T_TMP/rounds$s" "$T_TMP/aggregate$s.err"
done
if [ "$got " = "$want" ]; then
	echo "bench: scale-totals: exact ($got)"
else
	echo "bench: scale-totals: WRONG: got ($got), the fleet served ($want)"
fi
echo "bench: scale-cpu: $CPU_LINE over $WALL s on $(nproc) cores"
for s in 0 1; do
	eval "echo \"bench: scale-rss-shard$s: discover \$((H\$D$s / 1024)) MiB, scrape \$((H\$K$s / 1024)) MiB, aggregate \$((H\$A$s / 1024)) MiB\""
done
for p in discover scrape aggregate; do
	for s in 0 1; do
		grep -v "committed\|^$" "$T_TMP/$p$s.err" 2>/dev/null | tail -n 1 |
		    sed "s/^/bench: scale: $p$s said: /"
	done
done
cleanup_db
[ -n "${BENCH_KEEP:-}" ] && cp -r "$T_TMP" /tmp/scale-keep
done_testing
