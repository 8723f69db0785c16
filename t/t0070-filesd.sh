#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-discover with file_sd_configs: JSON and YAML, globs, relative
# paths, and files edited, replaced, broken and deleted while it runs.
. "$(dirname "$0")/lib.sh"
plan 16

C=$T_TMP/conf
mkdir -p "$C/sd"
cat >"$C/sd/a.json" <<'JSON'
[{"targets": ["127.0.0.1:7001", "127.0.0.2"], "labels": {"env": "prod"}},
 {"targets": ["127.0.0.3:7003"]}]
JSON
cat >"$C/sd/b.yml" <<'YML'
- targets: ['127.0.0.4:7004']
  labels: {zone: a, env: dev}
YML
# Relabelling copies the discovered meta labels into the output.
cat >"$C/p.yaml" <<'YAML'
services:
  - name: f
    file_sd_configs:
      - files: ['sd/*.json', sd/b.yml]
        refresh_interval: 1h
    relabel_configs:
      - {action: labelmap, regex: '__meta_(.+)'}
YAML
# The same for promtool, the reference.
cat >"$C/prom.yml" <<'YAML'
scrape_configs:
  - job_name: f
    file_sd_configs:
      - files: ['sd/*.json', sd/b.yml]
    relabel_configs:
      - {action: labelmap, regex: '__meta_(.+)'}
YAML

# Labels without job, sorted by instance: what both sides must agree on.
norm='[.[] | del(.job)] | sort_by(.instance)'
out=$(with_timeout 10 periskop-discover --once -c "$C/p.yaml")
ok $? "--once exits 0"
is "$(jq -r '[.targets[].address] | join(" ")' <<<"$out")" \
    "127.0.0.1:7001 127.0.0.2:80 127.0.0.3:7003 127.0.0.4:7004" \
    "targets from a glob and a YAML file, default port added"
is "$(jq -r '.targets[0].labels.filepath' <<<"$out")" "$C/sd/a.json" \
    "__meta_filepath is the path joined to the config's folder"
is "$(jq -r '.targets[3].labels | "\(.env) \(.zone)"' <<<"$out")" "dev a" \
    "YAML group labels"
ours=$(jq -c "[.targets[].labels] | $norm" <<<"$out")
ref=$(cd / && promtool check service-discovery --timeout=1s "$C/prom.yml" f 2>/dev/null |
    jq -c "[.[].labels | with_entries(select(.key | startswith(\"__\") | not))] | $norm")
is "$ours" "$ref" "the same labels as promtool check service-discovery"

# Relative paths resolve against the config file, not the working folder.
out=$(cd / && with_timeout 10 periskop-discover --once -c "$C/p.yaml" |
    jq -r '.targets | length')
is "$out" 4 "relative file names resolve against the config's folder"

printf '[{"targets": ["127.0.0.9:9"], "bogus": 1}]\n' >"$C/bad.json"
printf 'services:\n  - name: f\n    file_sd_configs: [{files: [bad.json]}]\n' \
    >"$C/bad.yaml"
err=$(with_timeout 10 periskop-discover --once -c "$C/bad.yaml" 2>&1 >/dev/null)
like "$err" 'bad.json: group 0: unknown field "bogus"' \
    "a bad file: the file and the problem"

# Long-running: changes are seen through inotify, long before the 1h refresh.
spawn live periskop-discover -c "$C/p.yaml"
DISC=$SPAWNED
n_lines() { wc -l <"$T_TMP/live.out"; }
has_lines() { test "$(n_lines)" -ge "$1"; }
last() { tail -n 1 "$T_TMP/live.out" | jq -r '[.targets[].address] | join(" ")'; }
wait_for 10 has_lines 1
is "$(last)" "127.0.0.1:7001 127.0.0.2:80 127.0.0.3:7003 127.0.0.4:7004" \
    "the first set"

printf '[{"targets": ["127.0.0.1:7001"]}]\n' >"$C/sd/a.json"
wait_for 10 has_lines 2
is "$(last)" "127.0.0.1:7001 127.0.0.4:7004" "an edited file is re-read"

printf '[{"targets": ["127.0.0.5:7005"]}]\n' >"$C/sd/.a.tmp"
mv "$C/sd/.a.tmp" "$C/sd/a.json"
wait_for 10 has_lines 3
is "$(last)" "127.0.0.4:7004 127.0.0.5:7005" "an atomic rename is seen"

printf '[{"targets": \n' >"$C/sd/a.json"
wait_for 10 grep -q 'keeping its previous targets' "$T_TMP/live.err"
ok $? "a broken file is reported"
like "$(cat "$T_TMP/live.err")" \
    'sd/a.json: not JSON at byte 14 \(line 2, column 1\): .*keeping its' \
    "with file, byte, line and column"
is "$(n_lines)" 3 "a broken file keeps its previous targets"

printf '[{"targets": ["127.0.0.6:7006"]}]\n' >"$C/sd/c.json"
wait_for 10 has_lines 4
is "$(last)" "127.0.0.4:7004 127.0.0.5:7005 127.0.0.6:7006" \
    "a new file the glob matches is picked up"

rm "$C/sd/b.yml"
wait_for 10 has_lines 5
is "$(last)" "127.0.0.5:7005 127.0.0.6:7006" "a deleted file drops its targets"
stop "$DISC"
is "$(grep -c . "$T_TMP/live.err")" 1 "each problem is logged once"
done_testing
