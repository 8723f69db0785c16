# SPDX-License-Identifier: Apache-2.0
# Shared by the benchmarks that drive wrk: sourced after t/lib.sh, with
# BENCH naming the benchmark in their messages.

# need COMMAND PACKAGE: installs PACKAGE when root and COMMAND is missing;
# skips the benchmark when it is still missing.
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		    --no-install-recommends "$2" >/dev/null 2>&1 ||
		    { apt-get update -q >/dev/null 2>&1 &&
		      DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		      --no-install-recommends "$2" >/dev/null 2>&1; }
	fi
	command -v "$1" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "bench: $BENCH: skipped: $1 missing (apt-get install $2)"
	exit 0
}

# wrk_stats FILE: requests/s, p99 (ms) and error count of wrk --latency's
# output in FILE.
wrk_stats() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return v / 1000;
		if (v ~ /ms$/) return v + 0;
		if (v ~ /s$/) return v * 1000;
		return v;
	}
	/Requests\/sec:/ { rps = $2 }
	/^ +99%/ { p99 = ms($2) }
	/Socket errors:/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
	/Non-2xx/ { err += $NF }
	END { printf "%.0f %.2f %d\n", rps, p99, err }
	' "$1"
}
