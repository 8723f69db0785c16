#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make install / uninstall with PREFIX and DESTDIR; an installed program
# finds its data under PREFIX/share/periskop.
. "$(dirname "$0")/lib.sh"
plan 7

dest=$T_TMP/root
make -s -C "$T_TOP" install DESTDIR="$dest" PREFIX=/opt/pk >"$T_TMP/install.log" 2>&1
ok $? "make install"
for p in periskop-discover periskop-scrape periskop-aggregate periskop-serve periskop-run; do
	[ -x "$dest/opt/pk/bin/$p" ] || missing="${missing:-} $p"
done
is "${missing:-}" "" "every program in PREFIX/bin"
test -f "$dest/opt/pk/share/man/man7/periskop.7" &&
    test -f "$dest/opt/pk/share/man/man5/periskop.yaml.5"
ok $? "man pages in PREFIX/share/man"
test -f "$dest/opt/pk/share/periskop/ui/index.html" &&
    test -f "$dest/opt/pk/etc/periskop/periskop.yaml"
ok $? "UI and example config"

port=$(free_port)
spawn serve "$dest/opt/pk/bin/periskop-serve" --db "sqlite:$T_TMP/x.db" \
    --listen "127.0.0.1:$port"
wait_port "$port" 10
like "$(curl -s "http://127.0.0.1:$port/")" "<title>Periskop</title>" \
    "the installed server finds the installed UI"
stop "$SPAWNED"

make -s -C "$T_TOP" uninstall DESTDIR="$dest" PREFIX=/opt/pk >>"$T_TMP/install.log" 2>&1
ok $? "make uninstall"
is "$(find "$dest" -type f | wc -l)" 0 "uninstall removes every file"
done_testing
