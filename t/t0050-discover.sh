#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-discover with static_configs: output, -n, exit codes, SIGHUP.
. "$(dirname "$0")/lib.sh"
plan 14

cat >"$T_TMP/a.yaml" <<'YAML'
services:
  - name: api
    static_configs:
      - targets: ["127.0.0.1:7001", "127.0.0.2:7002", "127.0.0.1:7001"]
        labels: {env: prod}
      - targets: ["localhost"]
    scraper: {endpoint: /errs, refresh_interval: 15s, timeout: 3s}
  - name: web
    static_configs:
      - targets: ["127.0.0.3:80"]
YAML
out=$(with_timeout 10 periskop-discover --once -c "$T_TMP/a.yaml")
ok $? "--once exits 0"
is "$(printf '%s\n' "$out" | wc -l)" 2 "one targets line per service"
first=$(printf '%s\n' "$out" | head -n 1)
is "$(jq -r '[.type, .service, .endpoint, .interval_s, .timeout_s] | join(" ")' <<<"$first")" \
    "targets api /errs 15 3" "service settings carried on the line"
is "$(jq -r '[.targets[].address] | join(",")' <<<"$first")" \
    "127.0.0.1:7001,127.0.0.2:7002,localhost:80" \
    "targets sorted, de-duplicated, default port added"
is "$(jq -r '.targets[0].url' <<<"$first")" "http://127.0.0.1:7001/errs" \
    "the scrape URL"
is "$(jq -c '.targets[0].labels' <<<"$first")" \
    '{"env":"prod","instance":"127.0.0.1:7001","job":"api"}' \
    "labels, with instance and job"
is "$(printf '%s\n' "$out" | tail -n 1 | jq -r '.targets[0].url')" \
    "http://127.0.0.3:80/errors" "the default endpoint"

is "$(periskop-discover -n -c "$T_TMP/a.yaml")" "configuration OK" "-n"
printf 'services:\n  - name: x\n    bogus: 1\n' >"$T_TMP/bad.yaml"
err=$(periskop-discover -n -c "$T_TMP/bad.yaml" 2>&1 >/dev/null)
is "$?" 78 "a config error exits 78"
like "$err" "bad.yaml:3:5: .*bogus" "the error says file:line:col"
periskop-discover -c "$T_TMP/missing.yaml" 2>/dev/null
is "$?" 66 "a missing config exits 66"
periskop-discover -x 2>/dev/null
is "$?" 64 "a bad flag exits 64"

# Long-running: SIGHUP with a broken config keeps the old one; a good one
# that drops a service prints an empty target set for it.
cp "$T_TMP/a.yaml" "$T_TMP/live.yaml"
spawn live periskop-discover -c "$T_TMP/live.yaml"
DISC=$SPAWNED
has_lines() { test "$(wc -l <"$T_TMP/live.out")" -ge "$1"; }
wait_for 10 has_lines 2
cp "$T_TMP/bad.yaml" "$T_TMP/live.yaml"
kill -HUP "$DISC"
wait_for 10 grep -q "keeping the previous" "$T_TMP/live.err"
ok $? "SIGHUP with a broken config keeps the previous one"
printf 'services:\n  - name: api\n    static_configs: [{targets: ["127.0.0.1:7001"]}]\n    scraper: {endpoint: /errs, refresh_interval: 15s, timeout: 3s}\n' \
    >"$T_TMP/live.yaml"
kill -HUP "$DISC"
wait_for 10 has_lines 4
is "$(tail -n 2 "$T_TMP/live.out" | jq -r '"\(.service):\(.targets | length)"' | sort | tr '\n' ' ')" \
    "api:1 web:0 " "a good reload prints the changed and the removed services"
stop "$DISC"
done_testing
