#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package, as an operator meets it: built with
# dpkg-buildpackage, checked by lintian, installed with apt, its systemd
# unit's ExecStart run as the periskop user against a demo target, its
# API read, then removed and purged with nothing left.  Run as root by
# make deb-check; it changes the machine (a package, a user).
T_TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$T_TOP/t/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "installs a package: run as root"
command -v dpkg-buildpackage >/dev/null || skip_all "dpkg-dev not installed"
command -v lintian >/dev/null || skip_all "lintian not installed"
[ -x "$HELPER/fake-target" ] || skip_all "build/t/helper/fake-target not built"

plan 18

OUT=$T_TOP/build/deb
make -s -C "$T_TOP" deb >"$T_TMP/build.log" 2>&1
ok $? "dpkg-buildpackage builds the packages" ||
    tail -n 20 "$T_TMP/build.log" | sed 's/^/# /'
DEB=$(ls "$OUT"/periskop_*.deb 2>/dev/null | head -n 1)
DEV=$(ls "$OUT"/libperiskop-dev_*.deb 2>/dev/null | head -n 1)
lintian --fail-on error,warning "$OUT"/periskop_*.changes \
    >"$T_TMP/lintian" 2>&1
ok $? "lintian: no error, no warning"
sed 's/^/# lintian: /' "$T_TMP/lintian"

# apt waits for the dpkg lock that another installer may hold.
apt() {
	DEBIAN_FRONTEND=noninteractive apt-get -y -q \
	    -o DPkg::Lock::Timeout=300 "$@"
}
# Whatever an earlier run left, so this one starts clean.
apt purge libperiskop-dev periskop >/dev/null 2>&1
apt install --no-install-recommends "$DEB" "$DEV" >"$T_TMP/install.log" 2>&1
ok $? "apt-get install ./periskop_*.deb ./libperiskop-dev_*.deb" ||
    tail -n 20 "$T_TMP/install.log" | sed 's/^/# /'
is "$(id -un periskop 2>/dev/null)/$(stat -c %U /var/lib/periskop 2>/dev/null)" \
    periskop/periskop "a periskop system user owns /var/lib/periskop"
like "$(dpkg-query -W -f='${Conffiles}' periskop)" "/etc/periskop/periskop.yaml" \
    "/etc/periskop/periskop.yaml is a conffile"
UNIT=/lib/systemd/system/periskop.service
grep -q '^ProtectSystem=strict' "$UNIT" && grep -q '^NoNewPrivileges=yes' "$UNIT" &&
    grep -q '^ReadWritePaths=/var/lib/periskop' "$UNIT"
ok $? "the unit is hardened (ProtectSystem=strict, NoNewPrivileges, ReadWritePaths)"
grep -q '^ExecStart=/usr/bin/periskop-pushgateway ' \
    /lib/systemd/system/periskop-pushgateway.service
ok $? "the push gateway has its unit"
test -f /usr/share/man/man8/periskop-run.8.gz && test -f /usr/share/man/man7/periskop.7.gz
ok $? "the man pages, in /usr/share/man"

# -- the unit's ExecStart, as the periskop user, on a demo target
mkdir -p "$T_TMP/demo"
cp "$FIXTURES/mocktarget-errors.json" "$T_TMP/demo/errors"
spawn demo fake-target -P "$T_TMP/demo.port" "$T_TMP/demo"
wait_for 10 test -s "$T_TMP/demo.port"
TPORT=$(cat "$T_TMP/demo.port")
PORT=$(free_port)
sed -i -e "s/\"127.0.0.1:7777\", \"127.0.0.1:7778\"/\"127.0.0.1:$TPORT\"/" \
    -e "s/listen: 127.0.0.1:8080/listen: 127.0.0.1:$PORT/" \
    /etc/periskop/periskop.yaml
EXEC=$(sed -n 's/^ExecStart=//p' "$UNIT")
is "$EXEC" "/usr/bin/periskop-run -c /etc/periskop/periskop.yaml" \
    "ExecStart runs periskop-run on /etc/periskop/periskop.yaml"
# setpriv execs the command itself, so the PID is periskop-run's.
spawn run setpriv --reuid=periskop --regid=periskop --init-groups \
    --reset-env $EXEC
RUN=$SPAWNED
wait_port "$PORT" 20
got() {
	curl -s --max-time 5 "http://127.0.0.1:$PORT/services/shop/errors/" |
	    jq -e 'length > 0' >/dev/null 2>&1
}
wait_for 30 got
ok $? "the installed chain serves the demo target's errors" ||
    sed 's/^/# run: /' "$T_TMP/run.err"
ui() {
	curl -s --max-time 5 "http://127.0.0.1:$PORT/" | grep -q '<title>Periskop</title>'
}
wait_for 10 ui
ok $? "the installed UI"
is "$(stat -c %U /var/lib/periskop/periskop.db 2>/dev/null)" periskop \
    "the database is the periskop user's, under /var/lib/periskop"
stop "$RUN"

# -- the client library, from libperiskop-dev
cat >"$T_TMP/c.c" <<'C'
#include <periskop.h>
int main(void) { return PERISKOP_VERSION[0] == '\0'; }
C
cc -o "$T_TMP/c" "$T_TMP/c.c" $(pkg-config --cflags --libs periskop) &&
    "$T_TMP/c"
ok $? "a program builds against libperiskop-dev with pkg-config"

# -- remove keeps the state and the config; purge takes everything
FILES=$(dpkg -L periskop libperiskop-dev | while read -r f; do
	[ -f "$f" ] && echo "$f"; done)
apt remove libperiskop-dev periskop >"$T_TMP/remove.log" 2>&1
ok $? "apt-get remove"
test -f /var/lib/periskop/periskop.db && test -f /etc/periskop/periskop.yaml
ok $? "remove keeps the database and the configuration"
# libperiskop-dev has no conffiles: remove took all of it.
apt purge periskop >>"$T_TMP/remove.log" 2>&1
ok $? "apt-get purge"
left=$(for f in $FILES /etc/periskop /var/lib/periskop; do
	[ -e "$f" ] && echo "$f"; done)
is "$left" "" "purge leaves no file of the packages, no /etc/periskop, no /var/lib/periskop"
is "$(dpkg-query -W -f='${Status}' periskop 2>/dev/null)" "" \
    "dpkg knows nothing of periskop any more"

done_testing
