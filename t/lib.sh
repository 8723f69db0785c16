# SPDX-License-Identifier: Apache-2.0
# Shared shell helpers for the integration scripts: TAP output, a scratch
# folder, free ports, and processes started and stopped by PID.
# Usage: . "$(dirname "$0")/lib.sh"  then  plan N  ...  done_testing

set -u
T_TOP=${T_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${T_BIN:-$T_TOP/bin}
HELPER=$T_TOP/build/t/helper
FIXTURES=$T_TOP/t/fixtures
T_NAME=$(basename "$0" .sh)
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/periskop-$T_NAME.XXXXXX")
T_NUM=0
T_FAILED=0
T_PIDS=""
export PATH="$BIN:$HELPER:$PATH"
# The tests name their databases themselves.
unset PERISKOP_DB

plan() { echo "1..$1"; }

ok() {	# ok STATUS DESCRIPTION
	T_NUM=$((T_NUM + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_NUM - $2"
	else
		echo "not ok $T_NUM - $2"
		T_FAILED=$((T_FAILED + 1))
	fi
}

# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}

# like GOT PATTERN DESCRIPTION (a grep -E pattern)
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   got:  %s\n#   want match: %s\n' "$1" "$2"
	fi
}

diag() { printf '# %s\n' "$*"; }

skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# A TCP port nobody listens on now, on 127.0.0.1.
free_port() {
	python3 - 2>/dev/null <<'PY' || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

# spawn NAME CMD...: starts CMD in the background, stdout and stderr into
# $T_TMP/NAME.out and NAME.err; sets SPAWNED to its PID.
spawn() {
	name=$1; shift
	"$@" >"$T_TMP/$name.out" 2>"$T_TMP/$name.err" &
	SPAWNED=$!
	T_PIDS="$T_PIDS $SPAWNED"
}

# stop PID...: SIGTERM, then SIGKILL after 5 s; waits for each.
stop() {
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null || continue
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	return 0
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
	i=0; lim=$(( ${2:-10} * 10 ))
	while [ $i -lt $lim ]; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
	lim=$(( $1 * 10 )); shift; i=0
	while [ $i -lt $lim ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# wait_exit PID SECONDS: until PID has ended.  kill -0 is not enough: it
# succeeds on our own children that ended but were not yet waited for.
wait_exit() {
	lim=$(( $2 * 10 )); i=0
	while [ $i -lt $lim ]; do
		st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 0
		case $st in Z*|X*|'') return 0 ;; esac
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# my_cli URI SQL: runs SQL with mariadb's client on the database of a
# mysql://user:password@host:port/db URI.
my_cli() {
	u=${1#mysql://}; cred=${u%%@*}; hp=${u#*@}; hp=${hp%%/*}
	mariadb -N -B -h "${hp%:*}" -P "${hp##*:}" -u "${cred%%:*}" \
	    -p"${cred#*:}" "${u##*/}" -e "$2"
}

# pg_scratch VAR and my_scratch VAR [OPTIONS]: a new database on the
# server of PERISKOP_TEST_PG or PERISKOP_TEST_MYSQL, its URI in VAR,
# dropped when the script ends, however it ends.  Names start with
# periskop_, which the MariaDB test user may create.
T_PGDBS="" T_MYDBS="" T_NDBS=0
scratch_name() {
	T_NDBS=$((T_NDBS + 1))
	T_DB=periskop_${T_NAME%%-*}_$$_$T_NDBS
}
pg_scratch() {
	scratch_name
	psql -q "$PERISKOP_TEST_PG" -c "CREATE DATABASE $T_DB" >/dev/null ||
	    return 1
	T_PGDBS="$T_PGDBS $T_DB"
	eval "$1=\${PERISKOP_TEST_PG%/*}/$T_DB"
}
my_scratch() {
	scratch_name
	my_cli "$PERISKOP_TEST_MYSQL" "CREATE DATABASE $T_DB ${2:-}" ||
	    return 1
	T_MYDBS="$T_MYDBS $T_DB"
	eval "$1=\${PERISKOP_TEST_MYSQL%/*}/$T_DB"
}

# clock_ahead DAYS CMD...: runs CMD with the clock DAYS days ahead of
# this script's, which may itself run under libfaketime (make timeshift):
# a faketime inside another would count from the real clock.
clock_ahead() {
	off=$(( $1 * 86400 )); shift
	case ${FAKETIME:-} in
	'') ;;
	[+-]*[0-9]) off=$(( off + ${FAKETIME#+} )) ;;
	*)	echo "# clock_ahead: FAKETIME='$FAKETIME' is not an offset" >&2
		return 70 ;;
	esac
	# The library itself, not the faketime wrapper: the wrapper's
	# semaphore is named by its PID and fails when a killed run left
	# one of that name behind.
	lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
	if [ -n "$lib" ]; then
		env -u FAKETIME_SHARED LD_PRELOAD="$lib" \
		    FAKETIME="$(printf '%+d' "$off")" "$@"
	else
		env -u LD_PRELOAD -u FAKETIME -u FAKETIME_SHARED \
		    faketime -f "$(printf '%+d' "$off")" "$@"
	fi
}

# with_timeout SECONDS CMD...: runs CMD, killed after SECONDS.
with_timeout() { t=$1; shift; timeout -k 2 "$t" "$@"; }

# Every script is bounded in time: after T_LIMIT seconds (600) the
# watchdog ends it, and its EXIT trap stops what it started.  The watchdog
# and its sleep are a process group of their own, so that one kill ends
# both, whenever it comes.
T_LIMIT=${T_LIMIT:-600}
setsid sh -c 'sleep "$1" && echo "# $2: still running after $1 s, stopped" >&2 &&
    kill -TERM "$3"' sh "$T_LIMIT" "$T_NAME" $$ >/dev/null &
T_WATCHDOG=$!

t_cleanup() {
	kill -TERM "-$T_WATCHDOG" "$T_WATCHDOG" 2>/dev/null
	for p in $T_PIDS; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for d in $T_PGDBS; do
		psql -q "$PERISKOP_TEST_PG" \
		    -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1
	done
	for d in $T_MYDBS; do
		my_cli "$PERISKOP_TEST_MYSQL" "DROP DATABASE IF EXISTS $d" \
		    >/dev/null 2>&1
	done
	if [ "$T_FAILED" -eq 0 ] && [ -z "${T_KEEP:-}" ]; then
		rm -rf "$T_TMP"
	else
		echo "# scratch kept in $T_TMP" >&2
	fi
}
trap t_cleanup EXIT
trap 'exit 1' INT TERM

done_testing() {
	[ "$T_FAILED" -eq 0 ]
	exit $?
}
