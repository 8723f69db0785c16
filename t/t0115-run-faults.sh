#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-run under faults: children killed at random moments are
# restarted and the totals stay exact; SIGHUP with a broken config keeps
# the old one; readiness on a descriptor; stderr lines carry their names;
# the cron mode gives the same totals.
. "$(dirname "$0")/lib.sh"
plan 12

# A client whose counter keeps growing: $T_TMP/count holds the truth.
mkdir -p "$T_TMP/t"
bump() {
	jq --argjson n "$1" '.aggregated_errors[0].total_count = $n' \
	    "$FIXTURES/sample-response1.json" >"$T_TMP/t/errors.new" &&
	    mv "$T_TMP/t/errors.new" "$T_TMP/t/errors"
	echo "$1" >"$T_TMP/count"
}
bump 2
spawn target fake-target -P "$T_TMP/port" "$T_TMP/t"
wait_for 10 test -s "$T_TMP/port"
tport=$(cat "$T_TMP/port")
port=$(free_port)
cat >"$T_TMP/periskop.yaml" <<YAML
services:
  - name: api
    static_configs: [{targets: ["127.0.0.1:$tport"]}]
    scraper: {refresh_interval: 1s, timeout: 1s}
repository: {type: sqlite, path: periskop.db}
server: {listen: "127.0.0.1:$port"}
YAML
cp "$T_TMP/periskop.yaml" "$T_TMP/good.yaml"

exec 3>"$T_TMP/ready"
spawn run periskop-run -r 3 -c "$T_TMP/periskop.yaml"
RUN=$SPAWNED
exec 3>&-
wait_for 10 test -s "$T_TMP/ready"
ok $? "readiness: a newline on the descriptor once serve listens"
total() {
	curl -s --max-time 5 "http://127.0.0.1:$port/services/api/errors/" |
	    jq '.[0].total_count // 0'
}
total_is() { test "$(total)" = "$1"; }
wait_for 15 total_is 2
ok $? "the first round arrives"

# Grow the counter while killing each child with SIGKILL in turn.
n=2 killed=
for victim in periskop-scrape periskop-aggregate periskop-discover \
    periskop-serve periskop-aggregate periskop-scrape; do
	for i in 1 2 3; do
		n=$((n + RANDOM % 7 + 1))
		bump "$n"
		sleep 0.$((RANDOM % 4 + 1))
	done
	# By command line: pgrep -x sees names cut to 15 characters.  The
	# previous victim's restart may still be in its backoff.
	wait_for 10 pgrep -P "$RUN" -f "^([^ ]*/)?$victim( |\$)"
	pid=$(pgrep -P "$RUN" -f "^([^ ]*/)?$victim( |\$)" | head -n 1)
	if [ -n "$pid" ]; then
		kill -KILL "$pid"
		killed="$killed $victim"
	fi
	sleep 0.$((RANDOM % 5))
done
bump $((n + 3)); n=$((n + 3))
wait_for 40 total_is "$n"
is "$killed" " periskop-scrape periskop-aggregate periskop-discover periskop-serve periskop-aggregate periskop-scrape" \
    "each child found and killed in turn"
is "$(total)" "$n" "after SIGKILLs of every child, the total is the client's exact count"
like "$(cat "$T_TMP/run.err")" "restarting in" "the killed parts were restarted"
grep -v '^periskop-[a-z]*: ' "$T_TMP/run.err" >"$T_TMP/unprefixed"
is "$(wc -l <"$T_TMP/unprefixed")" 0 "every stderr line carries its program's name"
like "$(cat "$T_TMP/run.err")" "^periskop-serve: " "children's lines relayed"

printf 'services:\n  - name: api\n    oops: 1\n' >"$T_TMP/periskop.yaml"
kill -HUP "$RUN"
wait_for 10 grep -q "keeping the running configuration" "$T_TMP/run.err"
ok $? "SIGHUP with a broken config: logged, old one kept"
bump $((n + 5)); n=$((n + 5))
wait_for 15 total_is "$n"
is "$(total)" "$n" "... and the chain keeps counting"

start=$(date +%s)
kill -TERM "$RUN"
wait "$RUN"
is "$?" 0 "SIGTERM: exit 0"
[ $(( $(date +%s) - start )) -le 12 ]
ok $? "... within the grace period"

# The same client through the cron mode: the same totals.
cp "$T_TMP/good.yaml" "$T_TMP/cron.yaml"
sed -i 's/path: periskop.db/path: cron.db/' "$T_TMP/cron.yaml"
for i in 1 2 3; do
	with_timeout 20 periskop-discover --once -c "$T_TMP/cron.yaml" |
	    with_timeout 20 periskop-scrape --once |
	    with_timeout 20 periskop-aggregate -c "$T_TMP/cron.yaml" >/dev/null
done
is "$(sqlite3 "$T_TMP/cron.db" 'select total_count from errors')" "$n" \
    "three cron runs count the client exactly as the supervised chain did"
done_testing
