#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The browser UI end to end: Debian's Chromium, driven by playwright-core,
# against a real periskop-serve filled by the real discover | scrape |
# aggregate chain, including a hostile payload and a 5,000-error service.
. "$(dirname "$0")/lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
command -v node >/dev/null 2>&1 || skip_all "node is not installed"
command -v npm >/dev/null 2>&1 || skip_all "npm is not installed"
[ -x "$CHROMIUM" ] || skip_all "no chromium at $CHROMIUM"

# playwright-core from the npm registry, at the version the lock pins; it
# never downloads a browser.
NODE_DIR=$T_TOP/build/ui-node
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if ! cmp -s "$T_TOP/t/ui/package-lock.json" "$NODE_DIR/package-lock.json" ||
    [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
	mkdir -p "$NODE_DIR"
	cp "$T_TOP/t/ui/package.json" "$T_TOP/t/ui/package-lock.json" \
	    "$NODE_DIR/"
	with_timeout 300 npm ci --prefix "$NODE_DIR" --ignore-scripts \
	    --no-audit --no-fund --loglevel=error >"$T_TMP/npm.log" 2>&1 ||
	    { plan 1; ok 1 "npm ci installs playwright-core";
	      sed 's/^/# /' "$T_TMP/npm.log"; done_testing; }
fi

# The targets: the reference pair, the demo target, a hostile one, a big
# one, and one nobody answers at.
now=$(date +%s)
for n in 1 2 3 4 5; do mkdir -p "$T_TMP/t$n"; done
cp "$FIXTURES/sample-response1.json" "$T_TMP/t1/errors"
cp "$FIXTURES/sample-response2.json" "$T_TMP/t2/errors"
cp "$FIXTURES/mocktarget-errors.json" "$T_TMP/t3/errors"

# A hostile payload, and 5,000 aggregates.
jq -n --argjson now "$now" -f "$T_TOP/t/ui/hostile.jq" >"$T_TMP/t4/errors"
jq -n --argjson now "$now" -f "$T_TOP/t/ui/big.jq" >"$T_TMP/t5/errors"

for n in 1 2 3 4 5; do
	spawn "target$n" fake-target -P "$T_TMP/port$n" "$T_TMP/t$n"
done
for n in 1 2 3 4 5; do
	wait_for 10 test -s "$T_TMP/port$n" || break
done
p1=$(cat "$T_TMP/port1"); p2=$(cat "$T_TMP/port2"); p3=$(cat "$T_TMP/port3")
p4=$(cat "$T_TMP/port4"); p5=$(cat "$T_TMP/port5"); pdead=$(free_port)

cat >"$T_TMP/periskop.yaml" <<YAML
services:
  - name: api
    static_configs:
      - targets: ["127.0.0.1:$p1", "127.0.0.1:$p2"]
    scraper: {endpoint: /errors, refresh_interval: 1s, timeout: 5s}
  - name: mock-target
    static_configs:
      - targets: ["127.0.0.1:$p3", "127.0.0.1:$pdead"]
    scraper: {endpoint: /errors, refresh_interval: 1s, timeout: 5s}
  - name: evil
    static_configs:
      - targets: ["127.0.0.1:$p4"]
    scraper: {endpoint: /errors, refresh_interval: 1s, timeout: 5s}
  - name: big
    static_configs:
      - targets: ["127.0.0.1:$p5"]
    scraper: {endpoint: /errors, refresh_interval: 1s, timeout: 5s}
YAML
DB="sqlite:$T_TMP/periskop.db"
round() {
	with_timeout 60 periskop-discover --once -c "$T_TMP/periskop.yaml" |
	    with_timeout 60 periskop-scrape --once |
	    with_timeout 60 periskop-aggregate --db "$DB" >>"$T_TMP/events" \
	    2>>"$T_TMP/chain.err"
	rc="${PIPESTATUS[*]}"
	[ "$rc" = "0 0 0" ] && return 0
	plan 1
	ok 1 "the chain fills the database (exit statuses $rc)"
	sed 's/^/# /' "$T_TMP/chain.err"
	done_testing
}
round

port=$(free_port)
spawn serve periskop-serve --db "$DB" --listen "127.0.0.1:$port" \
    --ui "$T_TOP/share/ui"
SERVE=$SPAWNED
if ! wait_port "$port" 10; then
	plan 1
	ok 1 "periskop-serve listens"
	sed 's/^/# /' "$T_TMP/serve.err"
	done_testing
fi

# A regression: resolved, then the client counts one more.
api="http://127.0.0.1:$port"
curl -s --max-time 10 -o /dev/null -X DELETE \
    "$api/services/mock-target/errors/java.lang.Exception%40789/"
jq '(.aggregated_errors[] | select(.aggregation_key ==
    "java.lang.Exception@789") | .total_count) += 1' "$T_TMP/t3/errors" \
    >"$T_TMP/t3/errors.new" && mv "$T_TMP/t3/errors.new" "$T_TMP/t3/errors"
round

# The browser steps print their own TAP lines, plan included.
mkdir -p "$T_TOP/build/ui-screens"
BASE="http://127.0.0.1:$port" CHROMIUM="$CHROMIUM" \
    PROFILE="$T_TMP/chromium-profile" SCREENS="$T_TOP/build/ui-screens" \
    P1=$p1 P2=$p2 P3=$p3 P4=$p4 P5=$p5 PDEAD=$pdead \
    NODE_PATH="$NODE_DIR/node_modules" \
    with_timeout 240 node "$T_TOP/t/ui/ui-test.js"
rc=$?
[ $rc -eq 0 ] || T_FAILED=1
stop "$SERVE"
exit $rc
