#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The service examples under etc/: runit scripts are valid sh, and the
# crontab line, run as written (config path swapped), counts exactly.
. "$(dirname "$0")/lib.sh"
plan 10

bad=""
for f in "$T_TOP"/etc/runit/*/run "$T_TOP"/etc/runit/*/log/run; do
	sh -n "$f" 2>/dev/null || bad="$bad $f"
	[ -x "$f" ] || bad="$bad $f(not executable)"
done
is "$bad" "" "runit run scripts are executable and valid sh"
grep -q '^RestartPreventExitStatus=64 78$' "$T_TOP/etc/systemd/periskop.service"
ok $? "the systemd unit does not restart after usage or config errors"
grep -q '^RestartPreventExitStatus=64 65 78$' "$T_TOP/etc/systemd/periskop-pushgateway.service"
ok $? "the gateway's unit does not restart after usage, state or config errors"

# -n on every program that reads a configuration.
{ cat "$T_TOP/etc/periskop.yaml"; printf 'pushgateway: {}\nnotify:\n  receivers: [{name: log, command: "true"}]\n'; } \
    >"$T_TMP/all.yaml"
printf 'services:\n  - name: api\n    scraper: {timeout: soon}\n' >"$T_TMP/bad.yaml"
good="" bad="" missing=""
for p in discover aggregate serve run pushgateway notify; do
	out=$("$BIN/periskop-$p" -n -c "$T_TMP/all.yaml" 2>&1)
	[ "$?:$out" = "0:configuration OK" ] || good="$good $p($out)"
	out=$("$BIN/periskop-$p" -n -c "$T_TMP/bad.yaml" 2>&1)
	case "$?:$out" in 78:*bad.yaml:3:*) ;; *) bad="$bad $p($out)" ;; esac
	"$BIN/periskop-$p" -n -c "$T_TMP/none.yaml" >/dev/null 2>&1
	[ $? = 66 ] || missing="$missing $p"
done
is "$good" "" "-n: every program accepts the example configuration"
is "$bad" "" "-n: every program refuses a bad one with 78 and file:line"
is "$missing" "" "-n: every program exits 66 on a missing one"

mkdir -p "$T_TMP/t"
cp "$FIXTURES/sample-response1.json" "$T_TMP/t/errors"
spawn target fake-target -P "$T_TMP/port" "$T_TMP/t"
wait_for 10 test -s "$T_TMP/port"
cat >"$T_TMP/p.yaml" <<YAML
services:
  - name: api
    static_configs: [{targets: ["127.0.0.1:$(cat "$T_TMP/port")"]}]
repository: {type: sqlite, path: cron.db}
YAML
# The command of the crontab line, minus the schedule, user and logger.
cmd=$(grep -v '^#' "$T_TOP/etc/cron/periskop" | grep periskop-discover |
    sed -e 's/^[^f]*flock/flock/' -e 's/ 2>&1 | logger.*$//' \
    -e "s|/run/lock/periskop.lock|$T_TMP/lock|" \
    -e "s|/usr/local/etc/periskop/periskop.yaml|$T_TMP/p.yaml|g")
like "$cmd" "^flock -n .*periskop-discover --once" "the cron command found"
with_timeout 30 sh -c "$cmd"
with_timeout 30 sh -c "$cmd"
is "$(sqlite3 "$T_TMP/cron.db" 'select total_count from errors')" 2 \
    "two cron runs over an unchanged client count it once"
exec 9>"$T_TMP/lock"
flock -n 9
with_timeout 30 sh -c "$cmd"
is "$?" 1 "a run while the lock is held is skipped"

# periskop(7)'s sharding example: three shards partition the targets.
all=""
for shard in 0 1 2; do
	cat >"$T_TMP/shard.yaml" <<YAML
services:
  - name: api
    static_configs:
      - targets: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3, 127.0.0.1:4, 127.0.0.1:5, 127.0.0.1:6, 127.0.0.1:7, 127.0.0.1:8]
    relabel_configs:
      - source_labels: [__address__]
        modulus: 3
        target_label: __tmp_shard
        action: hashmod
      - source_labels: [__tmp_shard]
        regex: "$shard"
        action: keep
YAML
	all="$all $(periskop-discover --once -c "$T_TMP/shard.yaml" |
	    jq -r '.targets[].address' | tr '\n' ' ')"
done
is "$(echo $all | tr ' ' '\n' | sort | uniq -c | awk '$1 != 1' | wc -l) $(echo $all | wc -w)" \
    "0 8" "hashmod shards: every target in exactly one shard"
done_testing
