#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# periskop-scrape's scraper settings: basic and bearer auth (secrets from
# files, never logged), TLS with a CA, server_name, client certificates and
# insecure_skip_verify against openssl s_server, gzip; and periskop.yaml's
# scraper keys carried by periskop-discover's targets line.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || skip_all "no openssl"

mkdir -p "$T_TMP/www"
cp "$FIXTURES/sample-response1.json" "$T_TMP/www/p.json"
gzip -k "$T_TMP/www/p.json"
spawn target fake-target -P "$T_TMP/port" "$T_TMP/www"
FT=$SPAWNED
wait_for 10 test -s "$T_TMP/port"
ok $? "fake-target is up"
base="http://127.0.0.1:$(cat "$T_TMP/port")"

# tl SERVICE URL [MEMBERS]: a targets line with one target.
tl() {
	a=${2#*://}; a=${a%%/*}
	printf '{"type":"targets","service":"%s","interval_s":60,"timeout_s":5,"targets":[{"address":"%s","url":"%s"}]%s}\n' \
	    "$1" "$a" "$2" "${3:+,$3}"
}
# res SERVICE: "ok" or the error of SERVICE's scrape line in $T_TMP/out.
res() {
	jq -r --arg s "$1" 'select(.type == "scrape" and .service == $s) |
	    if .ok then "ok" else .error end' "$T_TMP/out"
}

# Basic and bearer auth; "dTpzZWNyZXQ=" is base64 of "u:secret".
printf 'secret\n' >"$T_TMP/pw"
printf '  tok123  \n' >"$T_TMP/tok"
B="$base/p.json?auth=Basic%20dTpzZWNyZXQ="
T="$base/p.json?auth=Bearer%20tok123"
{
	tl basic "$B" '"auth":{"username":"u","password":"secret"}'
	tl basicfile "$B" "\"auth\":{\"username\":\"u\",\"password_file\":\"$T_TMP/pw\"}"
	tl wrong "$B" '"auth":{"username":"u","password":"nope"}'
	tl none "$B"
	tl bearer "$T" '"auth":{"type":"Bearer","credentials":"tok123"}'
	tl bearerfile "$T" "\"auth\":{\"type\":\"Bearer\",\"credentials_file\":\"$T_TMP/tok\"}"
	tl nofile "$T" "\"auth\":{\"type\":\"Bearer\",\"credentials_file\":\"$T_TMP/missing\"}"
	tl gzip "$base/p.json?gzip=1&framing=chunked"
} >"$T_TMP/in"
with_timeout 20 periskop-scrape -v --once <"$T_TMP/in" >"$T_TMP/out" \
    2>"$T_TMP/err"
is "$?" 0 "auth: exit 0"
is "$(res basic)" ok "basic auth"
is "$(res basicfile)" ok "basic auth, password_file (trimmed)"
is "$(res wrong)" "HTTP 401" "a wrong password: HTTP 401"
is "$(res none)" "HTTP 401" "no credentials: HTTP 401"
is "$(res bearer)" ok "bearer credentials"
is "$(res bearerfile)" ok "bearer credentials_file (trimmed)"
is "$(res nofile)" "auth: '$T_TMP/missing': no such file or directory" \
    "an unreadable credentials file: its error line"
is "$(jq -r 'select(.type == "scrape" and .service == "gzip") |
    [.ok, .body_bytes, (.aggregated_errors | length)] | @csv' "$T_TMP/out")" \
    "true,$(wc -c <"$FIXTURES/sample-response1.json"),1" \
    "gzip: decoded, body_bytes counts decoded bytes"
ok $(grep -c -e secret -e tok123 "$T_TMP/err") "no secret in the log"

# TLS.  The server's certificate names only periskop.test.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" -days 2 \
    -subj /CN=periskop.test -addext subjectAltName=DNS:periskop.test \
    2>/dev/null
ok $? "a self-signed server certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -keyout "$T_TMP/ckey.pem" -out "$T_TMP/ccert.pem" -days 2 \
    -subj /CN=periskop-client 2>/dev/null
ok $? "a client certificate"

# sserver NAME [ARGS]: openssl s_server -WWW on a free port; sets SP.
sserver() {
	n=$1; shift
	SP=$(free_port)
	spawn "$n" sh -c "cd '$T_TMP/www' && exec openssl s_server -quiet \
	    -WWW -accept 127.0.0.1:$SP -cert '$T_TMP/cert.pem' \
	    -key '$T_TMP/key.pem' $*"
	SPID=$SPAWNED
	wait_port "$SP" 10
}
sserver tls
ok $? "s_server is up"
S1=$SPID
U="https://127.0.0.1:$SP/p.json"
sserver mtls "-Verify 1 -verify_return_error -CAfile '$T_TMP/ccert.pem'"
ok $? "s_server that wants a client certificate is up"
S2=$SPID
M="https://127.0.0.1:$SP/p.json"
CA="\"ca_file\":\"$T_TMP/cert.pem\",\"server_name\":\"periskop.test\""
{
	tl noca "$U"
	tl ca "$U" "\"tls\":{$CA}"
	tl noname "$U" "\"tls\":{\"ca_file\":\"$T_TMP/cert.pem\"}"
	tl insecure "$U" '"tls":{"insecure_skip_verify":true}'
	tl nocert "$M" "\"tls\":{$CA}"
	tl cert "$M" "\"tls\":{$CA,\"cert_file\":\"$T_TMP/ccert.pem\",\"key_file\":\"$T_TMP/ckey.pem\"}"
} >"$T_TMP/in"
# s_server answers one connection at a time: one transfer at a time.
with_timeout 30 periskop-scrape -j 1 --once <"$T_TMP/in" >"$T_TMP/out" \
    2>"$T_TMP/err"
is "$?" 0 "tls: exit 0"
like "$(res noca)" "^tls: SSL certificate problem: self.signed" \
    "an unknown CA: a tls error"
is "$(res ca)" ok "the CA and server_name"
like "$(res noname)" "^tls: " "the CA but the wrong name: a tls error"
is "$(res insecure)" ok "insecure_skip_verify"
like "$(res nocert)" "^(tls|recv|http): " "no client certificate: refused"
is "$(res cert)" ok "a client certificate"
is "$(jq -r 'select(.type == "scrape" and .service == "ca") | .url' \
    "$T_TMP/out")" "$U" "the scrape line names the target's own URL"

# From periskop.yaml through periskop-discover.
cat >"$T_TMP/periskop.yaml" <<EOF
services:
  - name: conf-tls
    static_configs:
      - targets: ["127.0.0.1:$(echo "$U" | sed 's|.*:\([0-9]*\)/.*|\1|')"]
    scraper:
      scheme: https
      endpoint: /p.json
      tls_config:
        ca_file: cert.pem
        server_name: periskop.test
  - name: conf-auth
    static_configs:
      - targets: ["127.0.0.1:$(cat "$T_TMP/port")"]
    scraper:
      endpoint: /p.json
      basic_auth:
        username: u
        password_file: pw
EOF
periskop-discover --once -c "$T_TMP/periskop.yaml" >"$T_TMP/tl" \
    2>"$T_TMP/err"
is "$?" 0 "discover: exit 0"
is "$(jq -c 'select(.service == "conf-tls") | .tls' "$T_TMP/tl")" \
    "{\"ca_file\":\"$T_TMP/cert.pem\",\"server_name\":\"periskop.test\"}" \
    "the targets line carries tls_config, paths resolved"
is "$(jq -c 'select(.service == "conf-auth") | .auth' "$T_TMP/tl")" \
    "{\"username\":\"u\",\"password_file\":\"$T_TMP/pw\"}" \
    "the targets line carries basic_auth"
# fake-target checks no auth on plain paths: point conf-auth at ?auth=.
sed 's|"url":"\(http://[^"]*p.json\)"|"url":"\1?auth=Basic%20dTpzZWNyZXQ="|' \
    "$T_TMP/tl" | with_timeout 30 periskop-scrape -j 1 --once \
    >"$T_TMP/out" 2>"$T_TMP/err"
is "$?" 0 "discover | scrape: exit 0"
is "$(res conf-tls)" ok "tls_config from the config works"
is "$(res conf-auth)" ok "basic_auth from the config works"

printf 'services:\n  - name: x\n    scraper:\n      tls_config:\n        cert_file: c.pem\n' \
    >"$T_TMP/bad.yaml"
periskop-discover --once -c "$T_TMP/bad.yaml" >/dev/null 2>"$T_TMP/err"
is "$?" 78 "a cert without a key: exit 78"
like "$(cat "$T_TMP/err")" "bad.yaml:5:9: client cert file .* without client key file" \
    "with file:line:col"
printf 'services:\n  - name: x\n    scraper:\n      basic_auth: {username: u}\n      bearer_token: t\n' \
    >"$T_TMP/bad.yaml"
periskop-discover --once -c "$T_TMP/bad.yaml" >/dev/null 2>"$T_TMP/err"
is "$?" 78 "basic_auth and bearer_token: exit 78"

stop "$S1" "$S2" "$FT"
plan "$T_NUM"
done_testing
