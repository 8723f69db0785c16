#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `make run`: two demo services that keep failing, and the whole chain
# watching them, in the foreground until Ctrl-C.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$top/var"
"$top/build/t/helper/demo-app" 7777 & a=$!
"$top/build/t/helper/demo-app" 7778 & b=$!
r=
# Ctrl-C reaches every process of the terminal's group; a SIGTERM sent to
# this script alone must stop the chain too.
trap 'kill $a $b $r 2>/dev/null; wait $a $b $r 2>/dev/null' EXIT
trap 'exit 0' INT TERM
echo "periskop: open http://127.0.0.1:8080 (Ctrl-C stops everything)"
"$top/bin/periskop-run" -c "$top/etc/periskop.yaml" \
    --db "sqlite:$top/var/periskop.db" & r=$!
wait $r
