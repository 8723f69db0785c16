#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SIGTERM to periskop-run in the middle of a round: the round is finished
# and committed whole, never half of it.
. "$(dirname "$0")/lib.sh"
plan 3

mkdir -p "$T_TMP/t"
cp "$FIXTURES/sample-response1.json" "$T_TMP/t/errors"
spawn fast fake-target -P "$T_TMP/p1" "$T_TMP/t"
spawn slow fake-target -P "$T_TMP/p2" "$T_TMP/t"
wait_for 10 test -s "$T_TMP/p1" && wait_for 10 test -s "$T_TMP/p2"
p1=$(cat "$T_TMP/p1"); p2=$(cat "$T_TMP/p2")
# fake-target reads ?delay=MS: the second instance answers late.
cat >"$T_TMP/periskop.yaml" <<YAML
services:
  - name: fast
    static_configs: [{targets: ["127.0.0.1:$p1"]}]
    scraper: {refresh_interval: 3s, timeout: 3s}
  - name: both
    static_configs: [{targets: ["127.0.0.1:$p1", "127.0.0.1:$p2"]}]
    relabel_configs:
      - source_labels: [__address__]
        regex: "127.0.0.1:$p2"
        target_label: __param_delay
        replacement: "2000"
    scraper: {refresh_interval: 3s, timeout: 3s}
repository: {type: sqlite, path: periskop.db}
server: {listen: "127.0.0.1:$(free_port)"}
YAML
spawn run periskop-run -c "$T_TMP/periskop.yaml"
RUN=$SPAWNED
# Catch the first round of "both" between its two answers.
started() {
	sqlite3 "$T_TMP/periskop.db" \
	    "select count(*) from targets where service='both' and up is not null" \
	    2>/dev/null | grep -qx 1
}
if wait_for 20 started; then
	kill -TERM "$RUN"
	wait "$RUN"
	is "$?" 0 "SIGTERM mid-round: exit 0"
	is "$(sqlite3 "$T_TMP/periskop.db" "select count(*) from targets where service='both' and up = 1")" \
	    2 "both scrapes of the round were committed"
	is "$(sqlite3 "$T_TMP/periskop.db" "select total_count from errors where service='both'")" \
	    4 "with both instances' counts"
else
	ok 1 "the round of 'both' never started"; ok 1 "-"; ok 1 "-"
fi
done_testing
