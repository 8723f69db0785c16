#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Which relabel rules load: periskop-discover -n against Prometheus 2.42's
# config loader (promtool check config), case by case.  The target labels
# are those of Prometheus' model/relabel/relabel_test.go (TestRelabelValidate)
# and a few more; each action must accept and refuse exactly the same.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null 2>&1 || skip_all "promtool not installed"
[ -x "$BIN/periskop-discover" ] || skip_all "bin/periskop-discover not built"

ACTIONS="replace lowercase uppercase keepequal dropequal hashmod"
LABELS='${3} $3 0${3} -${3} ${ $ ${} foo${ -foo${1}bar- bar.foo${1}bar
foo foo${1} ${1}foo a$1b _x 0x ab-c ${a-b} $$ x$'
plan 8

# rule ACTION LABEL: the relabel rule, as both formats write it.
rule() {
	printf '    relabel_configs:\n      - source_labels: [a]\n'
	printf '        action: %s\n' "$1"
	[ "$1" = hashmod ] && printf '        modulus: 2\n'
	printf "        target_label: '%s'\n" "$2"
}

for a in $ACTIONS; do
	diff=""
	for l in $LABELS; do
		{ printf 'scrape_configs:\n  - job_name: j\n'
		  printf '    static_configs: [{targets: ["127.0.0.1:1"]}]\n'
		  rule "$a" "$l"; } >"$T_TMP/prom.yml"
		{ printf 'services:\n  - name: j\n'
		  printf '    static_configs: [{targets: ["127.0.0.1:1"]}]\n'
		  rule "$a" "$l"; } >"$T_TMP/p.yaml"
		promtool check config "$T_TMP/prom.yml" >/dev/null 2>&1
		want=$?; [ "$want" -ne 0 ] && want=1
		periskop-discover -n -c "$T_TMP/p.yaml" >/dev/null \
		    2>"$T_TMP/err"
		got=$?
		case $got in 0) ;; 78) got=1 ;; *) got="exit $got" ;; esac
		[ "$got" = "$want" ] || diff="$diff $l(ours $got, 2.42 $want)"
	done
	is "$diff" "" "$a: the same target labels load as in Prometheus 2.42"
done

# The refusal names the file, line and column, and says why.
printf 'services:\n  - name: j\n    static_configs: [{targets: ["127.0.0.1:1"]}]\n' \
    >"$T_TMP/p.yaml"
rule replace '0${3}' >>"$T_TMP/p.yaml"
err=$(periskop-discover -n -c "$T_TMP/p.yaml" 2>&1 >/dev/null)
is "$?" 78 "a refused target_label: exit 78"
like "$err" "p\.yaml:[0-9]+:[0-9]+: \"0\\\$\{3\}\" is invalid 'target_label' for replace action" \
    "... with file:line:col and Prometheus' words"

done_testing
