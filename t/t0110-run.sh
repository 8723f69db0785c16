#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-run: the whole chain supervised, stopped cleanly; no restart
# loop on a config error.
. "$(dirname "$0")/lib.sh"
plan 8

mkdir -p "$T_TMP/t"
cp "$FIXTURES/mocktarget-errors.json" "$T_TMP/t/errors"
spawn target fake-target -P "$T_TMP/port" "$T_TMP/t"
wait_for 10 test -s "$T_TMP/port"
tport=$(cat "$T_TMP/port")
port=$(free_port)
cat >"$T_TMP/periskop.yaml" <<YAML
services:
  - name: mock
    static_configs: [{targets: ["127.0.0.1:$tport"]}]
    scraper: {refresh_interval: 1s, timeout: 1s}
repository: {type: sqlite, path: periskop.db}
server: {listen: "127.0.0.1:$port"}
YAML
spawn run periskop-run -c "$T_TMP/periskop.yaml"
RUN=$SPAWNED
# Not jq -e alone: it succeeds on empty input.
wait_for 30 sh -c "[ \"\$(curl -s http://127.0.0.1:$port/services/mock/errors/ | jq length)\" = 5 ]"
ok $? "errors reach the API through the supervised chain"
test -f "$T_TMP/periskop.db"
ok $? "the repository path is relative to the config's folder"
# A password in the database's URI would show in every process list.
agg=$(pgrep -P "$RUN" -f periskop-aggregate)
[ -n "$agg" ] && ! ps -o args= --ppid "$RUN" | grep -q periskop.db &&
    tr '\0' '\n' <"/proc/$agg/environ" |
    grep -qx "PERISKOP_DB=sqlite:$T_TMP/periskop.db"
ok $? "the children get the database in PERISKOP_DB, not on their command lines"
start=$(date +%s)
kill -TERM "$RUN"
wait "$RUN"
is "$?" 0 "SIGTERM: exit 0"
[ $(( $(date +%s) - start )) -le 12 ]
ok $? "... within the grace period"

# The database's password stays out of the log (nothing listens there).
# Not under valgrind: the children that fail and restart meanwhile are
# stopped while valgrind itself starts, and leave logs without a summary.
if [ -n "${T_VALGRIND:-}" ]; then
	ok 0 "# SKIP under valgrind"
else
	spawn pwrun periskop-run -c "$T_TMP/periskop.yaml" \
	    -d "postgresql://u:s3cret@127.0.0.1:$(free_port)/x"
	wait_for 20 grep -q "started; database" "$T_TMP/pwrun.err"
	stop "$SPAWNED"
	is "$(grep "started; database" "$T_TMP/pwrun.err" |
	    sed 's/127.0.0.1:[0-9]*/127.0.0.1:PORT/')" \
	    "periskop-run: started; database postgresql://u:xxx@127.0.0.1:PORT/x" \
	    "the database in the log, without its password"
fi

printf 'services:\n  - name: x\n    nope: 1\n' >"$T_TMP/bad.yaml"
with_timeout 20 periskop-run -c "$T_TMP/bad.yaml" 2>"$T_TMP/bad.err"
is "$?" 78 "a config error: exit 78 at once"
like "$(cat "$T_TMP/bad.err")" "bad.yaml:3:5" "with its position"
done_testing
