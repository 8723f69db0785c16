#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The soak test (make soak, not part of make check): the whole chain under
# periskop-run against fake-fleet, thousands of targets whose counters grow
# every scrape, some of them faulty; at random moments a child of
# periskop-run is killed or the whole fleet restarts (every counter back to
# zero); periskop-serve under continuous wrk load all along.  At the end:
# the totals equal what the fleet really counted, no process grew in memory
# or descriptors, and wrk saw no failed request.
#
# SOAK_SECONDS (default 300), SOAK_TARGETS (default 2000, a multiple of
# 100), SOAK_FAULT_EVERY (seconds between faults, default 15).
T_TOP=$(cd "$(dirname "$0")/../.." && pwd)
T_LIMIT=$(( ${SOAK_SECONDS:-300} + 900 ))
. "$T_TOP/t/lib.sh"
SECS=${SOAK_SECONDS:-300}
NT=${SOAK_TARGETS:-2000}
EVERY=${SOAK_FAULT_EVERY:-15}
KEYS=5
for p in periskop-run fake-fleet; do
	command -v "$p" >/dev/null || skip_all "$p not built"
done
for p in wrk curl jq sqlite3; do
	command -v "$p" >/dev/null || skip_all "$p not installed"
done
plan 13

# -- the fleet: NT targets on NT/100 addresses, 25 of them faulty ---------
FAULTS="-f hang:5 -f garbage:5 -f reset:5 -f status:5 -f refuse:5"
start_fleet() {	# start_fleet [BASE_PORT]
	rm -f "$T_TMP/ctl"
	spawn fleet fake-fleet -A $((NT / 100)) -n 100 ${1:+-p "$1"} -k $KEYS \
	    -s 2048 $FAULTS -U "$T_TMP/urls" -C "$T_TMP/ctl"
	FLEET=$SPAWNED
	wait_for 30 test -s "$T_TMP/ctl" || return 1
	CTL=http://127.0.0.1:$(cat "$T_TMP/ctl")
}
start_fleet
ok $? "fake-fleet serves $NT targets"
BASE=$(head -n 1 "$T_TMP/urls" | sed 's|^http://[^:]*:||; s|/.*||')
sed 's|^http://||; s|/.*||' "$T_TMP/urls" | jq -R . | jq -sc \
    '[{targets: ., labels: {env: "soak"}}]' >"$T_TMP/targets.json"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
cat >"$T_TMP/periskop.yaml" <<YAML
services:
  - name: fleet
    file_sd_configs: [{files: [targets.json], refresh_interval: 1m}]
    scraper: {refresh_interval: 5s, timeout: 2s}
repository: {type: sqlite, path: soak.db}
server: {listen: "127.0.0.1:$PORT"}
YAML
DB=$T_TMP/soak.db
spawn run periskop-run -c "$T_TMP/periskop.yaml"
RUN=$SPAWNED
wait_port "$PORT" 30
ok $? "periskop-run: serve listens"

# key K's count on a target is its payloads served times K + 1.
key() { printf 'fleet.Error%d@%x' "$1" $((0x1000 + $1)); }
served() {	# the payloads the good targets served, all together
	curl -sS --max-time 20 --retry 3 -o "$T_TMP/counts" "$CTL/counts" ||
	    diag "$CTL/counts: no answer" >&2
	awk '$2 == "good" { s += $4 } END { print s + 0 }' "$T_TMP/counts"
}
# reporting: the good targets that served at least once, in the counts
# that served() fetched last.
reporting() {
	awk '$2 == "good" && $4 > 0 { n++ } END { print n + 0 }' "$T_TMP/counts"
}
stored() {	# the last raw count of key 0, all targets together
	sqlite3 "$DB" "SELECT COALESCE(SUM(last_raw), 0) FROM target_counts_view
	    WHERE key = '$(key 0)'" 2>/dev/null
}
# settle: freezes the fleet's counters and waits until the database holds
# each target's last count; prints the payloads this incarnation of the
# fleet served.  A restarted fleet has new target uuids, so the earlier
# incarnations' rows stay as they were: $EXPECT.
settle() {
	curl -sS --max-time 20 --retry 3 "$CTL/freeze" >/dev/null
	now=$(served)
	want=$((EXPECT + now))
	i=0
	until [ "$(stored)" = "$want" ] || [ $i -ge 600 ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ "$(stored)" = "$want" ] ||
	    diag "settle: stored $(stored), served $want" >&2
	echo "$now"
}
wait_for 60 sh -c "[ \"\$(sqlite3 '$DB' 'SELECT count(*) FROM errors' 2>/dev/null)\" = $KEYS ]"
ok $? "the first round is stored"

EXPECT=0	# payloads served by earlier incarnations of the fleet
ROWS=0		# their targets that served at least once

# -- samples of every process: role pid rss_kB fds, every 3 s (not the
# scrape interval, so the samples fall at every phase of a round) --------
sample() {
	while :; do
		for pid in $RUN $(pgrep -P "$RUN"); do
			role=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
			    awk '{ sub(".*/", "", $1); print $1 }')
			rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
			fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
			[ -n "$rss" ] && echo "$(date +%s) $role $pid $rss $fds"
		done
		sleep 3
	done
}
sample >"$T_TMP/samples" &
SAMPLER=$!
T_PIDS="$T_PIDS $SAMPLER"

# -- serve under load all along ------------------------------------------
# Each connection pauses 5 ms between requests: a steady load that leaves
# the chain its share of this machine's CPUs.
WRK_SECS=$((SECS + 10))
echo 'function delay() return 5 end' >"$T_TMP/pace.lua"
WRK=
for path in /services/fleet/errors/ /services/ /metrics /targets/; do
	wrk -t1 -c2 -d"${WRK_SECS}s" --timeout 5s -s "$T_TMP/pace.lua" "$URL$path" \
	    >"$T_TMP/wrk.$(echo "$path" | tr -dc a-z)" 2>&1 &
	WRK="$WRK $!"
done
T_PIDS="$T_PIDS $WRK"

# -- faults until the time is up ----------------------------------------
end=$(( $(date +%s) + SECS ))
kills=0 restarts=0
while [ "$(date +%s)" -lt $((end - EVERY)) ]; do
	sleep $((RANDOM % EVERY + 1))
	case $((RANDOM % 4)) in
	0)	s=$(settle)
		EXPECT=$((EXPECT + s))
		ROWS=$((ROWS + $(reporting)))
		kill -TERM "$FLEET"; wait "$FLEET" 2>/dev/null
		start_fleet "$BASE" || diag "the fleet did not come back"
		restarts=$((restarts + 1))
		;;
	*)	victim=$(echo periskop-discover periskop-scrape \
		    periskop-aggregate | tr ' ' '\n' | shuf -n 1)
		pid=$(pgrep -P "$RUN" -f "^([^ ]*/)?$victim( |\$)" | head -n 1)
		if [ -n "$pid" ]; then
			kill -KILL "$pid"
			kills=$((kills + 1))
		fi
		;;
	esac
done
sleep $(( end > $(date +%s) ? end - $(date +%s) : 0 ))
s=$(settle)
EXPECT=$((EXPECT + s))
ROWS=$((ROWS + $(reporting)))
diag "$SECS s: $kills children killed, $restarts fleet restarts, $EXPECT payloads counted"
[ $((kills + restarts)) -gt 0 ]
ok $? "faults happened"

# -- totals --------------------------------------------------------------
want=$(for k in $(seq 0 $((KEYS - 1))); do
	echo "$(key $k) $((EXPECT * (k + 1)))"; done | sort)
got=$(curl -s --max-time 30 "$URL/services/fleet/errors/" |
    jq -r '.[] | "\(.aggregation_key) \(.total_count)"' | sort)
is "$got" "$want" "each key's total equals the fleet's real count"
# A fleet restarted before its next round was never scraped: only the
# targets that served at least once count, each incarnation its own (one
# first scraped while frozen reports zeros).
is "$(sqlite3 "$DB" "SELECT count(*) FROM target_counts_view WHERE key = '$(key 0)'
    AND last_raw > 0")" \
    "$ROWS" "each target of each incarnation counted once"
[ "$ROWS" -ge $((NT - 25)) ]
ok $? "... and every good target reported ($ROWS rows)"

# -- wrk: nothing failed ------------------------------------------------
wait $WRK
fail=0 total=0
for f in "$T_TMP"/wrk.*; do
	n=$(awk '/requests in/ { print $1 }' "$f")
	total=$((total + ${n:-0}))
	grep -Eq 'Non-2xx|Socket errors' "$f" && { fail=1; diag "$(cat "$f")"; }
	[ -n "$n" ] || { fail=1; diag "$f: $(cat "$f")"; }
done
diag "wrk: $total requests in $WRK_SECS s"
ok $fail "no request failed ($total requests)"
[ "$total" -gt 0 ]
ok $? "requests were served"

# -- memory and descriptors flat: the last quarter against the earlier ---
kill "$SAMPLER"
t0=$(head -n 1 "$T_TMP/samples" | cut -d' ' -f1)
t1=$(tail -n 1 "$T_TMP/samples" | cut -d' ' -f1)
# flat_rss: the roles whose peak resident memory grew, as "role a->b".
flat_rss() {
	awk -v t0="$t0" -v t1="$t1" '
	{ q = (t1 > t0) ? int(4 * ($1 - t0) / (t1 - t0 + 1)) : 0
	  if (q == 1 && $4 > mid[$2]) mid[$2] = $4
	  if (q == 3 && $4 > last[$2]) last[$2] = $4 }
	END { for (r in last)
		if ((r in mid) && last[r] > mid[r] * 1.1 + 1024)
			printf "%s %d->%d ", r, mid[r], last[r] }' "$T_TMP/samples"
}
# flat_fds: the roles whose descriptors grew, as "role a->b": the floor of
# the last quarter against the higher floor of the first two.  Not the
# peak: scrape's rise and fall with the transfers in flight.  Not one
# quarter alone: run's dip while it restarts the chain may fill it.  A
# leak lifts the floor above both.
flat_fds() {
	awk -v t0="$t0" -v t1="$t1" '
	{ q = (t1 > t0) ? int(4 * ($1 - t0) / (t1 - t0 + 1)) : 0
	  k = $2 SUBSEP q
	  if (!(k in lo) || $5 < lo[k]) lo[k] = $5
	  roles[$2] = 1 }
	END { for (r in roles) {
		if (!((r SUBSEP 3) in lo))
			continue
		a = -1
		for (q = 0; q < 2; q++)
			if ((r SUBSEP q) in lo && lo[r SUBSEP q] > a)
				a = lo[r SUBSEP q]
		b = lo[r SUBSEP 3]
		if (a >= 0 && b > a + 2)
			printf "%s %d->%d ", r, a, b
	} }' "$T_TMP/samples"
}
is "$(flat_rss)" "" "resident memory flat for every process"
is "$(flat_fds)" "" "descriptors flat for every process"

kill -TERM "$RUN"
wait_exit "$RUN" 20
ok $? "periskop-run stops on SIGTERM"
stop "$FLEET"
wait_exit "$FLEET" 10
ok $? "the fleet stops"
done_testing
