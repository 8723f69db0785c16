#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-discover with dns_sd_configs against a real DNS server (dnsmasq)
# in a private network and mount namespace, through the system resolver.
if [ -z "${T_IN_NS:-}" ]; then
	if ! command -v dnsmasq >/dev/null 2>&1; then
		echo "1..0 # SKIP dnsmasq is not installed"; exit 0
	fi
	if ! unshare -m -n true 2>/dev/null; then
		echo "1..0 # SKIP unshare -m -n is not permitted"; exit 0
	fi
	T_IN_NS=1 exec unshare -m -n "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
plan 13

ip link set lo up || skip_all "cannot bring the loopback up"
echo "nameserver 127.0.0.1" >"$T_TMP/resolv.conf"
mount --bind "$T_TMP/resolv.conf" /etc/resolv.conf ||
    skip_all "cannot bind-mount resolv.conf"

mkdir -p "$T_TMP/hosts"
printf '127.0.0.7 web.example.test\nfd00::7 web.example.test\n' \
    >"$T_TMP/hosts/h"
cat >"$T_TMP/dnsmasq.conf" <<EOC
port=53
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
local=/example.test/
hostsdir=$T_TMP/hosts
srv-host=_api._tcp.example.test,h1.example.test,7001,0,0
srv-host=_api._tcp.example.test,h2.example.test,7002,0,0
mx-host=example.test,mail.example.test,10
EOC
dns_start() {
	spawn dnsmasq dnsmasq -k -u root -C "$T_TMP/dnsmasq.conf"
	DNS=$SPAWNED
	wait_for 10 getent hosts web.example.test
}
dns_start

cat >"$T_TMP/c.yaml" <<'YAML'
services:
  - name: srv
    dns_sd_configs: [{names: [_api._tcp.example.test]}]
    relabel_configs: [{action: labelmap, regex: '__meta_(.+)'}]
  - name: a
    dns_sd_configs: [{names: [web.example.test], type: A, port: 80}]
  - name: aaaa
    dns_sd_configs: [{names: [web.example.test], type: AAAA, port: 80}]
  - name: mx
    dns_sd_configs: [{names: [example.test], type: MX, port: 25}]
    relabel_configs: [{action: labelmap, regex: '__meta_(.+)'}]
  - name: nx
    dns_sd_configs: [{names: [nothere.example.test], type: A, port: 25}]
YAML
# The reference: promtool, through the same resolv.conf.
sed -e 's/^services:/scrape_configs:/' -e 's/- name:/- job_name:/' \
    "$T_TMP/c.yaml" >"$T_TMP/prom.yml"

out=$(with_timeout 20 periskop-discover --once -c "$T_TMP/c.yaml")
ok $? "--once exits 0"
addrs() { jq -r "select(.service == \"$1\") | [.targets[].address] | join(\" \")" <<<"$out"; }
is "$(addrs srv)" "h1.example.test:7001 h2.example.test:7002" "SRV targets"
is "$(addrs a)" "127.0.0.7:80" "A with the port"
is "$(addrs aaaa)" "[fd00::7]:80" "AAAA in brackets"
is "$(addrs mx)" "mail.example.test:25" "MX with the port"
is "$(addrs nx)" "" "NXDOMAIN: no targets"
norm='[.[] | del(.job)] | sort_by(.instance)'
for s in srv mx; do
	ours=$(jq -c "select(.service == \"$s\") | [.targets[].labels] | $norm" <<<"$out")
	ref=$(promtool check service-discovery --timeout=2s "$T_TMP/prom.yml" \
	    "$s" 2>/dev/null | jq -c "[.[].labels | with_entries(select(.key |
	    startswith(\"__\") | not))] | $norm")
	is "$ours" "$ref" "$s: the same meta labels as promtool"
done

# Long-running, refreshing every second.
sed 's/port: 80}/port: 80, refresh_interval: 1s}/' "$T_TMP/c.yaml" \
    >"$T_TMP/live.yaml"
spawn live periskop-discover -c "$T_TMP/live.yaml"
DISC=$SPAWNED
n_a() { test "$(grep -c '"service":"a"' "$T_TMP/live.out")" -ge "$1"; }
last_a() { grep '"service":"a"' "$T_TMP/live.out" | tail -n 1 |
    jq -r '[.targets[].address] | join(" ")'; }
wait_for 20 n_a 1
is "$(last_a)" "127.0.0.7:80" "the first A set"
printf '127.0.0.8 web.example.test\n' >"$T_TMP/hosts/h2"
wait_for 20 n_a 2
is "$(last_a)" "127.0.0.7:80 127.0.0.8:80" "a new record is picked up on refresh"

stop "$DNS"
wait_for 20 grep -q 'keeping the previous targets' "$T_TMP/live.err"
ok $? "a failed lookup is reported"
sleep 1.5
is "$(grep -c '"service":"a"' "$T_TMP/live.out")" 2 \
    "the server going away keeps the last targets"
dns_start
rm "$T_TMP/hosts/h2"
wait_for 20 n_a 3
is "$(last_a)" "127.0.0.7:80" "the server back: a removed record goes"
stop "$DISC" "$DNS"
done_testing
