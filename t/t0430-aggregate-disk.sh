#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# periskop-aggregate on a full disk and on a read-only database: a clear
# error, a non-zero exit, and the data stored before left intact.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root for a private tmpfs"
unshare -m true 2>/dev/null || skip_all "no mount namespaces here"

plan 8

AGG=$BIN/periskop-aggregate
GEN=$HELPER/gen-scrapes

"$GEN" -T -t 20 -k 3 -r 1 >"$T_TMP/small.in"
"$GEN" -t 3000 -k 20 -r 1 -R 1 >"$T_TMP/big.in"

# Everything runs in a private mount namespace with a 1 MB tmpfs; the
# script prints the exit codes and the totals for the checks below.
cat >"$T_TMP/inner.sh" <<'EOF'
set -u
d=$1 agg=$2 tmp=$3
mount -t tmpfs -o size=1m periskop-test "$d" || exit 1
"$agg" --db "$d/p.db" <"$tmp/small.in" >/dev/null 2>"$tmp/small.err"
echo "small $?"
sqlite3 "$d/p.db" "SELECT sum(total_count) FROM errors" | sed 's/^/before /'
"$agg" --db "$d/p.db" <"$tmp/big.in" >/dev/null 2>"$tmp/full.err"
echo "full $?"
sqlite3 "$d/p.db" "SELECT sum(total_count) FROM errors" | sed 's/^/after /'
sqlite3 "$d/p.db" "PRAGMA integrity_check" | sed 's/^/check /'
mount -o remount,ro "$d" || exit 1
"$agg" --db "$d/p.db" <"$tmp/small.in" >/dev/null 2>"$tmp/ro.err"
echo "readonly $?"
sqlite3 "file:$d/p.db?immutable=1" "SELECT sum(total_count) FROM errors" | sed 's/^/ro /'
EOF
mkdir "$T_TMP/mnt"
with_timeout 120 unshare -m sh "$T_TMP/inner.sh" "$T_TMP/mnt" "$AGG" "$T_TMP" \
    >"$T_TMP/inner.out" 2>"$T_TMP/inner.err"
r() { sed -n "s/^$1 //p" "$T_TMP/inner.out"; }

is "$(r small)" 0 "a small round fits"
before=$(r before)
like "$(r full)" '^(74|75)$' "full disk: non-zero exit ($(r full))"
like "$(cat "$T_TMP/full.err")" "periskop-aggregate: sqlite: '.*p\\.db': .*(full|disk)" \
    "full disk: the error says so"
is "$(r after)" "$before" "full disk: the data stored before is intact"
is "$(r check)" ok "full disk: the file is consistent"
like "$(r readonly)" '^(66|69|74|75)$' "read-only: non-zero exit ($(r readonly))"
like "$(cat "$T_TMP/ro.err")" "periskop-aggregate: sqlite: '.*p\\.db': .*(read-only|readonly|unable to open)" \
    "read-only: the error says so"
is "$(r ro)" "$before" "read-only: the data is intact"
done_testing
