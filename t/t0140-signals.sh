#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every tool's process behaviour: SIGTERM stops it cleanly, a closed
# stdout or stdin ends it.
. "$(dirname "$0")/lib.sh"
plan 7

cat >"$T_TMP/p.yaml" <<'YAML'
services:
  - name: api
    static_configs: [{targets: ["127.0.0.1:9"]}]
    scraper: {refresh_interval: 1s, timeout: 1s}
YAML

# stops NAME PID: SIGTERM, then its exit status within 5 s.
stops() {
	sleep 0.5
	if ! kill -0 "$2" 2>/dev/null; then
		ok 1 "$1: still running before SIGTERM"
		return
	fi
	kill -TERM "$2"
	i=0
	while kill -0 "$2" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
	wait "$2"
	is "$?" 0 "$1: SIGTERM, exit 0"
}

mkfifo "$T_TMP/in"
spawn discover periskop-discover -c "$T_TMP/p.yaml"
stops periskop-discover "$SPAWNED"
# Held open read-write here, the FIFO never reaches end of input.
exec 4<>"$T_TMP/in"
# Started here, not by spawn: an asynchronous command's stdin is
# /dev/null unless it is redirected on the command itself.
periskop-scrape <"$T_TMP/in" >"$T_TMP/scrape.out" 2>&1 &
T_PIDS="$T_PIDS $!"
stops periskop-scrape $!
periskop-aggregate --db "sqlite:$T_TMP/a.db" <"$T_TMP/in" \
    >"$T_TMP/aggregate.out" 2>&1 &
T_PIDS="$T_PIDS $!"
stops periskop-aggregate $!
port=$(free_port)
spawn serve periskop-serve --db "sqlite:$T_TMP/a.db" --listen "127.0.0.1:$port"
wait_port "$port" 10
stops periskop-serve "$SPAWNED"
exec 4>&-

# The reader of a long-running discoverer goes away: it ends.
with_timeout 10 sh -c "periskop-discover -c '$T_TMP/p.yaml' | head -c 1 >/dev/null"
ok $? "periskop-discover: a closed stdout ends it"
# The writer of the scraper's stdin goes away: it ends.
with_timeout 10 periskop-scrape <"$T_TMP/p.yaml" >/dev/null 2>&1
ok $? "periskop-scrape: the end of stdin ends it"
printf '' | with_timeout 10 periskop-aggregate --db "sqlite:$T_TMP/a.db"
ok $? "periskop-aggregate: the end of stdin ends it"
done_testing
