#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Hostile clients against periskop-serve: slowloris connections that
# trickle their headers, requests libmicrohttpd refuses by itself, and
# 10,000 requests with random methods, paths, queries and headers.  No
# crash, no hang, no 5xx, no descriptor leak, the security headers on every
# answer, the stored counts unchanged, and honest clients served throughout.
. "$(dirname "$0")/lib.sh"
for p in periskop-serve periskop-aggregate; do
	command -v "$p" >/dev/null || skip_all "$p not built"
done
command -v curl >/dev/null || skip_all "curl not installed"
command -v jq >/dev/null || skip_all "jq not installed"
plan 22

DB=sqlite:$T_TMP/db
now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
for k in 1 2 3; do
	printf '{"aggregation_key":"key %s","total_count":%s,"severity":"error","latest_errors":[{"uuid":"u-%s","timestamp":"%s","severity":"error","error":{"class":"E","message":"m","stacktrace":[],"cause":null}}]}\n' \
	    "$k" $((k * 10)) "$k" "$now"
done | jq -sc --arg at "$now" '{type:"scrape",service:"api",
    target:"127.0.0.1:1",url:"http://127.0.0.1:1/errors",target_uuid:"t-1",
    at:$at,duration_ms:1,ok:true,aggregated_errors:.},
    {type:"round",service:"api",at:$at,duration_ms:1,targets:1,ok:1,
    failed:0}' | with_timeout 30 periskop-aggregate --db "$DB" >/dev/null
is "$?" 0 "three errors stored"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
# Writes need a token the random clients cannot guess, so their DELETEs
# are refused and the totals must stay as they are.
echo "t0820-$$-secret" >"$T_TMP/token"
spawn serve periskop-serve --db "$DB" -l "127.0.0.1:$PORT" --timeout 2 \
    --token-file "$T_TMP/token"
SERVE=$SPAWNED
wait_port "$PORT" 10
ok $? "periskop-serve listens"
totals() { curl -s --max-time 10 "$URL/services/api/errors/" |
    jq -c '[.[] | [.aggregation_key, .total_count]] | sort'; }
BEFORE=$(totals)
is "$BEFORE" '[["key 1",10],["key 2",20],["key 3",30]]' "the totals, before"
# Sockets only: each worker thread opens the database on its first
# request, and those descriptors are no leak.
fds() { ls -l "/proc/$SERVE/fd" | grep -c 'socket:'; }
FDS=$(fds)

# -- slowloris: 200 connections sending a header byte every 300 ms -------
cat >"$T_TMP/slow.pl" <<'EOF'
use strict; use warnings; use IO::Socket::INET; use IO::Select;
my ($port, $n, $secs) = @ARGV;
$SIG{PIPE} = 'IGNORE';
my @s;
for (1 .. $n) {
	my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
	    Blocking => 1) or die "connect: $!";
	print $c "GET /services/ HTTP/1.1\r\nHost: x\r\n";
	push @s, $c;
}
my ($t0, %closed) = (time);
while (time - $t0 < $secs && keys %closed < $n) {
	for my $i (0 .. $#s) {
		next if $closed{$i};
		my $c = $s[$i];
		if (IO::Select->new($c)->can_read(0)) {
			my $r = sysread($c, my $b, 4096);
			if (!defined $r || $r == 0) { $closed{$i} = time - $t0; next }
		}
		$closed{$i} = time - $t0 unless defined syswrite($c, "X");
	}
	select(undef, undef, undef, 0.3);
}
my $max = 0;
for (values %closed) { $max = $_ if $_ > $max }
printf "%d %d\n", scalar(keys %closed), $max;
EOF
perl "$T_TMP/slow.pl" "$PORT" 200 12 >"$T_TMP/slow.out" 2>"$T_TMP/slow.err" &
SLOW=$!
T_PIDS="$T_PIDS $SLOW"
sleep 1
t0=$(date +%s%N)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/services/")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$code" 200 "an honest client is served during the attack"
[ "$ms" -lt 1000 ]
ok $? "... at once (${ms} ms)"
wait "$SLOW"
read -r closed last <"$T_TMP/slow.out"
is "$closed" 200 "every slow connection is closed by the server"
[ "${last:-99}" -le 5 ]
ok $? "... within the 2 s request deadline (last after ${last} s)"
like "$(cat "$T_TMP/serve.err")" \
    "periskop-serve: closed [0-9]+ connections whose request took over 2 s to arrive" \
    "... and logged"

# -- requests libmicrohttpd answers by itself ----------------------------
# raw.pl PORT REQUEST: sends REQUEST (with Perl's escapes), closes its side
# and prints each answer's status, type, nosniff and CSP on one line.
cat >"$T_TMP/raw.pl" <<'EOF'
use strict; use warnings; use IO::Socket::INET;
my ($port, $req) = @ARGV;
$SIG{PIPE} = 'IGNORE';
my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
    or die "connect: $!\n";
syswrite($c, eval qq{"$req"});
shutdown($c, 1);
my ($resp, $b) = ('');
$resp .= $b while sysread($c, $b, 65536);
for my $head ($resp =~ m{(HTTP/1\.1 \d{3}.*?)\r\n\r\n}gs) {
	my ($code) = $head =~ m{^HTTP/1\.1 (\d{3})};
	my @h = map { $head =~ /^\Q$_\E: (.*?)\r$/mi ? $1 : '-' }
	    qw(Content-Type X-Content-Type-Options Content-Security-Policy);
	print join('|', $code, @h), "\n";
}
EOF
CSP="default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'"
HTML="text/html; charset=utf-8|nosniff|$CSP"
raw() { with_timeout 10 perl "$T_TMP/raw.pl" "$PORT" "$1"; }
BIG=$(printf '%070000d' 0)
is "$(raw 'GET /services/ HTTP/1.1 x\r\nHost: x\r\n\r\n')" "400|$HTML" \
    "a malformed request line: 400 with the security headers"
is "$(raw 'GET /services/ HTTP/7.0\r\nHost: x\r\n\r\n')" "505|$HTML" \
    "an unknown HTTP version: 505 with the security headers"
is "$(raw "GET /$BIG HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")" "414|$HTML" \
    "a 70 kB request line: 414 with the security headers"
is "$(raw "GET / HTTP/1.1\\r\\nHost: x\\r\\nX-Big: $BIG\\r\\n\\r\\n")" \
    "431|$HTML" "70 kB of headers: 431 with the security headers"
is "$(raw 'GET /services/ HTTP/1.1\r\n\r\n')" \
    "400|text/plain; charset=utf-8|nosniff|$CSP" \
    "HTTP/1.1 without a Host header: 400"
is "$(raw 'GET /services/ HTTP/1.0\r\n\r\n')" \
    "200|application/json|nosniff|$CSP" "HTTP/1.0 without a Host header: 200"
is "$(raw 'GET /services/ HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nBad\r\n\r\n')" \
    "200|application/json|nosniff|$CSP
400|$HTML" "a bad second request on a kept-alive connection: 400 with them"

# -- 10,000 random requests, four clients at once -----------------------
cat >"$T_TMP/rand.pl" <<'EOF'
use strict; use warnings; use IO::Socket::INET; use IO::Select;
my ($port, $n, $seed) = @ARGV;
srand($seed);
$SIG{PIPE} = 'IGNORE';
my @meth = qw(GET GET GET POST DELETE OPTIONS HEAD PUT PATCH BREW G\x00T);
my @seg = ('services', 'errors', 'targets', '-', 'health', 'metrics', 'api',
    '..', '%2e%2e', '%2F', '%00', '%', '%zz', '%C3%28', '.', '', 'key 1',
    'key%201', 'ui', 'index.html', 'app.js', '..%2f..%2fetc%2fpasswd',
    '//', '~', "\x7f", "\xff\xfe", 'a' x 5000);
my @q = ('', '?severity=warning', '?q=%', '?limit=-1', '?limit=99999999999999999999',
    '?status=bogus', '?sort=count', '?q=%ff', '?a&b&&=', '?' . ('x=y&' x 500));
sub rnd { $_[int(rand(@_))] }
sub junk { join '', map { chr(int(rand(256))) } 1 .. int(rand($_[0])) }
my %count;
for my $i (1 .. $n) {
	my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
	    Timeout => 5);
	unless ($c) { $count{connect_failed}++; next }
	my $path = join '/', map { rnd(@seg) } 0 .. int(rand(6));
	$path = "/$path" if rand() < 0.9;
	$path .= '/' if rand() < 0.5;
	my $req = rnd(@meth) . " $path" . rnd(@q) . ' ' .
	    rnd('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'FOO', '') . "\r\n";
	$req .= "Host: x\r\n" if rand() < 0.9;
	# A body as long as the headers announce: a client that announces
	# more and sends less is the slow client above, not this one.  A
	# body of unknown length (a transfer coding other than chunked) ends
	# when the client closes its side.
	my ($cl, $chunked, $te_n) = (0, 0, 0);
	for (1 .. int(rand(8))) {
		my $r = rand();
		my $v = rnd(0, 5, -1, 'x', '99999999999999999999');
		my $te = rnd('chunked', 'gzip', 'x');
		$cl = $v if $r >= 0.3 && $r < 0.4 && $v =~ /^\d$/;
		if ($r >= 0.4 && $r < 0.5) {
			$te_n++;
			$chunked = 1 if $te eq 'chunked';
		}
		$req .= $r < 0.3 ? "X-" . int(rand(1e6)) . ": " . junk(40) . "\r\n" :
		    $r < 0.4 ? "Content-Length: $v\r\n" :
		    $r < 0.5 ? "Transfer-Encoding: $te\r\n" :
		    $r < 0.6 ? "Authorization: Bearer " . junk(30) . "\r\n" :
		    $r < 0.7 ? "Origin: http://evil.example\r\n" :
		    $r < 0.8 ? "X-Big: " . ('b' x 70000) . "\r\n" :
		    $r < 0.9 ? junk(60) . "\r\n" :
		    "Accept-Encoding: gzip\r\n";
	}
	$req .= "Connection: close\r\n\r\n";
	$req .= $chunked ? "0\r\n\r\n" : 'b' x $cl;
	$req .= junk(100) if rand() < 0.2;
	syswrite($c, $req);
	shutdown($c, 1) if rand() < 0.3 || $te_n > $chunked;
	# The server's idle timeout is 2 s: an answer later than 5 s is a hang.
	my ($resp, $b, $late) = ('');
	my $sel = IO::Select->new($c);
	while (length($resp) < 65536) {
		unless ($sel->can_read(5)) { $late = 1; last }
		last unless sysread($c, $b, 65536);
		$resp .= $b;
	}
	close $c;
	# Every answer, ours or libmicrohttpd's, has the security headers;
	# only a 204 may go without a Content-Type.
	my ($head) = $resp =~ m{\A(.*?\r\n)\r\n}s;
	$count{bare}++ if defined $head && (
	    $head !~ /^X-Content-Type-Options: nosniff\r$/mi ||
	    $head !~ /^Content-Security-Policy: default-src 'self';/mi ||
	    ($head !~ /^Content-Type: \S/mi && $head !~ m{\AHTTP/1\.1 204 }));
	if ($late) { $count{timeout}++ }
	elsif ($resp =~ m{\AHTTP/1\.[01] (\d{3}) }) { $count{$1}++ }
	elsif ($resp eq '') { $count{none}++ }
	else { $count{garbled}++ }
}
print join(' ', map { "$_=$count{$_}" } sort keys %count), "\n";
EOF
RAND=
for s in 1 2 3 4; do
	with_timeout 150 perl "$T_TMP/rand.pl" "$PORT" 2500 "$s" \
	    >"$T_TMP/rand.$s" 2>"$T_TMP/rand.$s.err" &
	RAND="$RAND $!"
done
wait $RAND
codes=$(cat "$T_TMP"/rand.[1-4] | tr ' ' '\n' | awk -F= '
    { n[$1] += $2 } END { for (k in n) printf "%s=%d\n", k, n[k] }' | sort)
diag "answers: $(echo $codes)"
is "$(echo "$codes" | awk -F= '$1 != "bare" { s += $2 } END { print s }')" 10000 \
    "10,000 random requests, each counted"
is "$(echo "$codes" | grep -cE '^(50[0-4]|garbled|connect_failed|timeout)=')" 0 \
    "no server error, no garbled answer, no refused connection, no hang"
is "$(echo "$codes" | grep -c '^bare=')" 0 \
    "every answer has a Content-Type, nosniff and the CSP"
kill -0 "$SERVE"
ok $? "periskop-serve is still running"
is "$(totals)" "$BEFORE" "the stored totals are unchanged"
wait_for 10 sh -c "[ \$(ls -l /proc/$SERVE/fd | grep -c socket:) -le $FDS ]"
ok $? "no connection leaked ($(fds) sockets open, $FDS before)"
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$SERVE/status")
[ "$rss" -lt 100000 ]
ok $? "resident memory stays small (${rss} kB)"
stop "$SERVE"
done_testing
