#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# make valgrind: the end-to-end tests with every program under valgrind's
# memcheck.  Each program in bin/ gets a wrapper in build/valgrind/bin that
# the tests find first (T_BIN and PATH); periskop-run's children are
# followed.  Every process must end with "ERROR SUMMARY: 0 errors", leaks
# (definite and indirect) counted as errors.
# Usage: t/valgrind/run.sh [TEST...]   (default: the end-to-end chain,
# periskop-run, and each program's own tests whose timing allows it)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
vg=$top/build/valgrind
rm -rf "$vg"
mkdir -p "$vg/bin" "$vg/log"
for p in "$top"/bin/periskop-*; do
	n=${p##*/}
	cat >"$vg/bin/$n" <<SH
#!/bin/sh
exec valgrind --leak-check=full --show-leak-kinds=definite,indirect \\
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \\
    --trace-children=yes --trace-children-skip='/bin/*,/usr/*' \\
    --log-file="$vg/log/%p.log" "$p" "\$@"
SH
	chmod +x "$vg/bin/$n"
done
[ $# -gt 0 ] || set -- t/t0050-discover.sh t/t0100-chain.sh t/t0110-run.sh \
    t/t0300-serve.sh t/t0310-serve-api.sh t/t0400-aggregate.sh \
    t/t0500-pushgateway.sh t/t0700-notify.sh
cd "$top" || exit 1
T_VALGRIND=1 T_BIN=$vg/bin PATH=$vg/bin:$PATH prove -f "$@"
rc=$?

# One log per process: the program, and its error summary.
n=0 bad=0
for f in "$vg"/log/*.log; do
	[ -e "$f" ] || continue
	prog=$(sed -n 's|^==[0-9]*== Command: \([^ ]*\).*|\1|p' "$f" | head -n 1)
	case $prog in */periskop-*) ;; *) continue ;; esac
	sum=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f")
	# A child forked by a program we follow, which then exec'd a shell
	# or a tool valgrind does not follow (periskop-notify's commands).
	ppid=$(sed -n 's/^==[0-9]*== Parent PID: \([0-9]*\)/\1/p' "$f")
	if [ -z "$sum" ] && [ -n "$ppid" ] && [ -e "$vg/log/$ppid.log" ] &&
	    grep -q "^==$ppid== Command: $prog" "$vg/log/$ppid.log"; then
		continue
	fi
	n=$((n + 1))
	if [ "$sum" != 0 ]; then
		bad=$((bad + 1))
		echo "valgrind: ${prog##*/}: ${sum:-no summary (killed?)} errors: $f"
	fi
done
echo "valgrind: $n processes checked, $bad with errors"
progs=$(grep -h '^==[0-9]*== Command: ' "$vg"/log/*.log | awk '{ print $3 }' |
    sed 's|.*/||' | grep '^periskop-' | sort | uniq -c | awk '{ printf "%s %s; ", $2, $1 }')
echo "valgrind: by program: $progs"
[ $rc -eq 0 ] && [ $bad -eq 0 ] && [ $n -gt 0 ]
