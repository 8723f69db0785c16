#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Relabelling parity with Prometheus 2.42: every job of every config in
# t/fixtures/promtool/ is run through `promtool check service-discovery`
# and, written as a periskop.yaml service, through relabel-dump (static and
# file SD targets straight through relabel_target) and through
# periskop-discover --once; the final targets must be the same.
#
# Corpus format, so the configs convert with a few lines of perl: a
# top-level `scrape_configs:` of jobs `  - job_name: NAME`; the keys
# scrape_interval, scrape_timeout, metrics_path and scheme, when present,
# written on one line each at four spaces; everything else (static_configs,
# file_sd_configs with paths relative to the folder, relabel_configs) is
# the same in both formats and copied as is.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null 2>&1 || skip_all "promtool not installed"
command -v jq >/dev/null 2>&1 || skip_all "jq not installed"
DUMP=$HELPER/relabel-dump
[ -x "$DUMP" ] || skip_all "build/t/helper/relabel-dump not built"

# A copy in the scratch folder: both sides then see the same file SD paths.
cp -R "$FIXTURES/promtool" "$T_TMP/corpus"
CORPUS=$T_TMP/corpus

# The Prometheus config as a periskop.yaml, Prometheus' defaults explicit.
to_periskop() {
	perl -ne '
	sub flush {
		return unless %sc;
		print "    scraper:\n";
		print "      $_: $sc{$_}\n" for sort keys %sc;
		%sc = ();
	}
	if (/^scrape_configs:/) { print "services:\n"; next }
	if (/^  - job_name:\s*(.*)$/) {
		flush();
		%sc = (refresh_interval => "1m", timeout => "10s",
		    endpoint => "/metrics", scheme => "http");
		print "  - name: $1\n"; next;
	}
	if (/^    scrape_interval:\s*(.*)$/) { $sc{refresh_interval} = $1;
		next }
	if (/^    scrape_timeout:\s*(.*)$/) { $sc{timeout} = $1; next }
	if (/^    metrics_path:\s*(.*)$/) { $sc{endpoint} = $1; next }
	if (/^    scheme:\s*(.*)$/) { $sc{scheme} = $1; next }
	print;
	END { flush() }' "$1"
}

# promtool's kept targets, as relabel-dump prints them: address, URL (built
# as Prometheus does; the corpus keeps __param_ values free of spaces) and
# the labels without the "__" ones, sorted.
PROM_JQ='[.[] | select(.labels != {} and (has("error") | not)) | .labels as $l
  | {address: $l.__address__,
     url: ($l.__scheme__ + "://" + $l.__address__ + $l.__metrics_path__ +
       ([$l | to_entries[] | select(.key | startswith("__param_"))
         | (.key[8:] + "=" + (.value | @uri))]
        | if length > 0 then "?" + join("&") else "" end)),
     labels: ($l | with_entries(select(.key | startswith("__") | not)))}]
  | unique'
OURS_JQ='[.[] | select(.type == "targets" and .service == $job)] | last
  | [(.targets // [])[] | {address, url, labels}] | unique'

jobs_of() { sed -n 's/^  - job_name:[[:space:]]*//p' "$1"; }

# Regular expressions both must refuse (RE2 syntax PCRE2 would take), and
# tricky ones both must accept; one per line.
REJECT='(a)\1
(?P<n>a)(?P=n)
a(?=b)
a(?!b)
(?<=a)b
(?<!a)b
a++
a*+
a?+
a{2}+
(?>a)
(a|(?R))
(a)(?1)
(?(1)a|b)
a\Kb
\Ga
a\Z
a\C
(?<n>a)
a**
(?x)a
(*FAIL)
a{1001}
\e
\8
a)
(a
[a
(?#c)a
\k<n>
\Qa.b
\E*'
ACCEPT='\z
(?i)a
(?P<n>a)
\Qa.b\E+
[[:digit:]]+
a{2,}?
\pL
\x{41}
\101
[\d\-]
(?:a|b)*
a{,3}
[]a]
\v
(?s-i:.)
a{2}?
^*
$+
\b*
(?P<1a>x)
(?P<a>x)(?P<a>y)
[\w-z]
[[:alpha:]-z]'

# regex_ok PATTERN: "yes" when promtool's and our config check accept it.
regex_ok() {
	{
		printf 'scrape_configs:\n  - job_name: r\n'
		printf '    static_configs:\n'
		printf '      - targets: [\x27127.0.0.1:1\x27]\n'
		printf '    relabel_configs:\n      - source_labels: [a]\n'
		printf '        regex: \x27%s\x27\n' "$1"
		printf '        target_label: b\n'
	} >"$T_TMP/re.prom.yaml"
	to_periskop "$T_TMP/re.prom.yaml" >"$T_TMP/re.periskop"
	p=no o=no
	promtool check config "$T_TMP/re.prom.yaml" >/dev/null 2>&1 && p=yes
	"$DUMP" -c "$T_TMP/re.periskop" >/dev/null 2>"$T_TMP/re.err" && o=yes
	echo "$p $o"
}

n=$(printf '%s\n%s\n' "$REJECT" "$ACCEPT" | wc -l)
for f in "$CORPUS"/*.yaml; do
	n=$((n + $(jobs_of "$f" | wc -l) * 3))
done
plan "$n"

for f in "$CORPUS"/*.yaml; do
	base=$(basename "$f" .yaml)
	# Beside the original, so relative file SD paths mean the same.
	p=$CORPUS/$base.periskop
	to_periskop "$f" >"$p"
	"$DUMP" -c "$p" >"$T_TMP/$base.ours" 2>"$T_TMP/$base.err"
	rc=$?
	[ $rc -eq 0 ] || diag "$base: relabel-dump: $(cat "$T_TMP/$base.err")"
	if [ -x "$BIN/periskop-discover" ]; then
		with_timeout 30 "$BIN/periskop-discover" --once -c "$p" \
		    >"$T_TMP/$base.disc" 2>"$T_TMP/$base.disc.err" ||
		    diag "$base: discover: $(cat "$T_TMP/$base.disc.err")"
	fi
	for job in $(jobs_of "$f"); do
		with_timeout 30 promtool check service-discovery --timeout=1s \
		    "$f" "$job" >"$T_TMP/$base.$job.prom" 2>/dev/null
		want=$(jq -c "$PROM_JQ" "$T_TMP/$base.$job.prom")
		got=$(jq -sc --arg job "$job" "$OURS_JQ" "$T_TMP/$base.ours")
		is "$got" "$want" "$base/$job: relabel-dump: same targets"
		if [ -x "$BIN/periskop-discover" ]; then
			got=$(jq -sc --arg job "$job" "$OURS_JQ" \
			    "$T_TMP/$base.disc")
			is "$got" "$want" \
			    "$base/$job: periskop-discover: same targets"
		else
			ok 0 "$base/$job: periskop-discover # SKIP not built"
		fi
		want=$(jq '[.[] | select(has("error"))] | length' \
		    "$T_TMP/$base.$job.prom")
		got=$(grep -c "service '$job':" "$T_TMP/$base.err")
		is "$got" "$want" "$base/$job: same number of refused targets"
	done
done

# lib.sh's ok() uses echo, which reads backslashes: double them.
quote() { printf '%s' "$1" | sed 's/\\/\\\\/g'; }
while IFS= read -r re; do
	is "$(regex_ok "$re")" "no no" "regex '$(quote "$re")' refused by both"
done <<EOF
$REJECT
EOF
while IFS= read -r re; do
	is "$(regex_ok "$re")" "yes yes" \
	    "regex '$(quote "$re")' accepted by both"
done <<EOF
$ACCEPT
EOF
done_testing
