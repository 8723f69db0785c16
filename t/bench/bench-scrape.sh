#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One scrape round of 1,000 and of 10,000 simulated targets (fake-fleet,
# ~6 KB payloads) by periskop-scrape, next to curl --parallel fetching the
# same URLs with the same concurrency in the same run: wall time, CPU time
# and peak RSS, the best of a few runs each.  Then one hanging target
# among 1,000, which must delay no other.
# Output: "bench: NAME: value unit (ratio x reference)" lines.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
SCRAPE=$TOP/bin/periskop-scrape
FLEET=$TOP/build/t/helper/fake-fleet
J=${BENCH_J:-64}
RUNS=${BENCH_RUNS:-3}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/periskop-bench.XXXXXX")
FP=
cleanup() {
	[ -n "$FP" ] && kill "$FP" 2>/dev/null && wait "$FP" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for f in "$SCRAPE" "$FLEET"; do
	[ -x "$f" ] || { echo "bench: scrape: skipped, no $f (make all)"; exit 0; }
done
command -v curl >/dev/null || { echo "bench: scrape: skipped, no curl"; exit 0; }
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench: scrape: skipped, no GNU time"; exit 0; }

# fleet NADDRS [ARGS]: starts fake-fleet with NADDRS x 100 targets.
fleet() {
	n=$1; shift
	rm -f "$TMP/urls" "$TMP/ctl"
	"$FLEET" -A "$n" -n 100 -U "$TMP/urls" -C "$TMP/ctl" "$@" &
	FP=$!
	for _ in $(seq 100); do [ -s "$TMP/ctl" ] && break; sleep 0.1; done
	[ -s "$TMP/ctl" ] || { echo "bench: scrape: fake-fleet did not start"; exit 1; }
	awk 'BEGIN { printf "{\"type\":\"targets\",\"service\":\"bench\",\"endpoint\":\"/errors\",\"interval_s\":60,\"timeout_s\":2,\"targets\":[" }
	{ a = $1; sub("^http://", "", a); sub("/.*", "", a)
	  printf "%s{\"address\":\"%s\",\"url\":\"%s\",\"labels\":{\"instance\":\"%s\"}}", (NR > 1 ? "," : ""), a, $1, a }
	END { print "]}" }' "$TMP/urls" >"$TMP/targets"
	awk '{ print "url = \"" $1 "\""; print "output = \"/dev/null\"" }' \
	    "$TMP/urls" >"$TMP/curl.cfg"
}
unfleet() { kill "$FP" 2>/dev/null; wait "$FP" 2>/dev/null; FP=; }

# measure OUT CMD...: "wall user+sys maxrss_kib" of CMD into OUT.
measure() {
	out=$1; shift
	"$TIME" -f '%e %U %S %M' -o "$TMP/time" "$@" >"$TMP/stdout" 2>/dev/null
	awk '{ printf "%.3f %.3f %d\n", $1, $2 + $3, $4 }' "$TMP/time" >"$out"
}

# best NAME CMD...: the best wall (with its CPU and RSS) of RUNS runs.
best() {
	name=$1; shift
	: >"$TMP/$name.all"
	for _ in $(seq "$RUNS"); do
		measure "$TMP/one" "$@"
		cat "$TMP/one" >>"$TMP/$name.all"
	done
	sort -n "$TMP/$name.all" | head -n 1 >"$TMP/$name"
	# Peak RSS: the largest seen, so no lucky run hides it.
	rss=$(awk '$3 > m { m = $3 } END { print m }' "$TMP/$name.all")
	read -r w c _ <"$TMP/$name"
	echo "$w $c $rss" >"$TMP/$name"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

report() {	# report N
	read -r sw sc sr <"$TMP/scrape$1"
	read -r cw cc cr <"$TMP/curl$1"
	echo "bench: scrape-$1-wall: $sw s ($(ratio "$sw" "$cw") x curl --parallel)"
	echo "bench: scrape-$1-cpu: $sc s ($(ratio "$sc" "$cc") x curl --parallel)"
	echo "bench: scrape-$1-rss: $sr KiB ($(ratio "$sr" "$cr") x curl --parallel)"
	echo "bench: curl-parallel-$1-wall: $cw s (1.00 x curl --parallel)"
	echo "bench: curl-parallel-$1-cpu: $cc s (1.00 x curl --parallel)"
	echo "bench: curl-parallel-$1-rss: $cr KiB (1.00 x curl --parallel)"
}

for n in 10 100; do
	N=$((n * 100))
	fleet "$n"
	# Both clients once, so neither pays for a cold fleet.
	"$SCRAPE" --once -j "$J" <"$TMP/targets" >/dev/null 2>&1
	best "curl$N" curl -s --parallel --parallel-max "$J" -K "$TMP/curl.cfg"
	best "scrape$N" sh -c "exec '$SCRAPE' --once -j $J <'$TMP/targets'"
	ok=$(grep -c '"type":"scrape".*"ok":true' "$TMP/stdout")
	echo "bench: scrape-$N-ok: $ok targets (of $N)"
	report "$N"
	unfleet
done
read -r _ _ r1 <"$TMP/scrape1000"
read -r _ _ r10 <"$TMP/scrape10000"
echo "bench: scrape-rss-growth: $(ratio "$r10" "$r1") x (peak RSS at 10000 over 1000 targets; goal <= 1.5)"

# One hanging target among 1,000, timeout 2 s: nobody else waits for it.
fleet 10 -f hang:1
"$SCRAPE" --once -j "$J" <"$TMP/targets" >"$TMP/hang.out" 2>/dev/null
other=$(grep '"type":"scrape"' "$TMP/hang.out" | grep -v 'timeout after' |
    sed -n 's/.*"duration_ms":\([0-9.]*\).*/\1/p' | sort -n | tail -n 1)
round=$(sed -n 's/.*"type":"round".*"duration_ms":\([0-9.]*\).*/\1/p' \
    "$TMP/hang.out")
echo "bench: scrape-hang-slowest-other: $other ms ($(ratio "$other" 2000) x the 2 s timeout)"
echo "bench: scrape-hang-round: $round ms ($(ratio "$round" 2000) x the 2 s timeout)"
unfleet
