#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The C client library as an application uses it: installed with its
# header and pkg-config file, linked into a program that reports from
# several threads, its /errors body read back by periskop-scrape.
. "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || skip_all "no C compiler"
command -v pkg-config >/dev/null || skip_all "pkg-config not installed"
command -v jq >/dev/null || skip_all "jq not installed"
[ -x "$BIN/periskop-scrape" ] && [ -x "$HELPER/fake-target" ] ||
	skip_all "bin/periskop-scrape or fake-target not built"

plan 13

dest=$T_TMP/root
make -s -C "$T_TOP" install DESTDIR="$dest" PREFIX=/opt/pk \
    >"$T_TMP/install.log" 2>&1
ok $? "make install"
test -f "$dest/opt/pk/include/periskop.h" &&
    test -f "$dest/opt/pk/lib/libperiskop.a"
ok $? "header and library installed"

export PKG_CONFIG_PATH=$dest/opt/pk/lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$dest
is "$(pkg-config --modversion periskop 2>&1)" \
    "$(sed -n 's/^#define PERISKOP_VERSION.*"\(.*\)"/\1/p' "$T_TOP/lib/client/periskop.h")" \
    "pkg-config knows periskop's version"

cat >"$T_TMP/app.c" <<'EOF'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <periskop.h>

static struct periskop_collector *c;

static void *
work(void *arg)
{
	static const char *const st[] = { "app.c:12 work", "app.c:40 main" };
	struct periskop_exception cause = { "io.Error", "disk full", NULL, 0,
	    NULL };
	struct periskop_exception e = { "app.SaveFailed", "cannot save",
	    st, 2, &cause };
	struct periskop_header h[] = { { "Accept", "*/*" } };
	struct periskop_http_context http = { "PUT", "http://app/doc/1", h,
	    1, "{}" };
	int i;

	for (i = 0; i < 1000; i++)
		periskop_report(c, i % 2 ? "save failed" : NULL, &e,
		    i % 3 ? PERISKOP_SEV_ERROR : PERISKOP_SEV_WARNING, &http);
	return arg;
}

int
main(void)
{
	pthread_t t[4];
	char *s;
	int i;

	c = periskop_collector_new();
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, work, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	s = periskop_export(c, NULL);
	fputs(s, stdout);
	free(s);
	periskop_collector_free(c);
	return 0;
}
EOF
# shellcheck disable=SC2046
cc -std=c11 -o "$T_TMP/app" "$T_TMP/app.c" \
    $(pkg-config --cflags --libs periskop) >"$T_TMP/cc.log" 2>&1
ok $? "an application compiles and links with pkg-config's flags"
[ -s "$T_TMP/cc.log" ] && diag "$(head -n 5 "$T_TMP/cc.log")"

mkdir -p "$T_TMP/www"
"$T_TMP/app" >"$T_TMP/www/errors"
ok $? "it runs"
[ -s "$T_TMP/www/errors" ] && jq -e . "$T_TMP/www/errors" >/dev/null 2>&1
ok $? "its export is JSON"

PORT=$(free_port)
spawn target fake-target -l "127.0.0.1:$PORT" "$T_TMP/www"
TARGET=$SPAWNED
wait_port "$PORT" 10
with_timeout 20 periskop-scrape --once -s app "http://127.0.0.1:$PORT/errors" \
    >"$T_TMP/scrape.ndjson" 2>"$T_TMP/scrape.err"
is "$?" 0 "periskop-scrape reads it"
is "$(jq -r 'select(.type == "scrape") | [.ok, (.aggregated_errors|length), ([.aggregated_errors[].total_count]|add), ([.aggregated_errors[].latest_errors|length]|max)]|@csv' "$T_TMP/scrape.ndjson")" \
    'true,2,4000,10' "two keys, every report counted, ten kept per key"
is "$(jq -r 'select(.type == "scrape") | .aggregated_errors[] | select(.aggregation_key == "save failed") | .latest_errors[0] | [.error.cause.message, .http_context.request_method, .http_context.request_headers.Accept]|@csv' "$T_TMP/scrape.ndjson")" \
    '"disk full","PUT","*/*"' "cause chain and HTTP context survive the trip"
stop "$TARGET"

# Push, from a short-lived program, to a real gateway.
cat >"$T_TMP/job.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <periskop.h>

int
main(int argc, char *argv[])
{
	struct periskop_collector *c = periskop_collector_new();
	struct periskop_exception e = { "job.Failed", "no input", NULL, 0,
	    NULL };
	char err[512];
	int i, r;

	if (argc != 4)
		return 2;
	for (i = 0; i < atoi(argv[3]); i++)
		periskop_report(c, "job failed", &e, PERISKOP_SEV_ERROR, NULL);
	r = periskop_push(c, argv[1], *argv[2] ? argv[2] : NULL, 5000, err,
	    sizeof(err));
	if (r == -1)
		fprintf(stderr, "%s\n", err);
	periskop_collector_free(c);
	return r == 0 ? 0 : 1;
}
EOF
# shellcheck disable=SC2046
cc -std=c11 -o "$T_TMP/job" "$T_TMP/job.c" \
    $(pkg-config --cflags --libs periskop) >"$T_TMP/cc.log" 2>&1
ok $? "a job that pushes links with pkg-config's flags"
GPORT=$(free_port)
printf 's3cret\n' >"$T_TMP/token"
spawn gw periskop-pushgateway -l "127.0.0.1:$GPORT" --state "$T_TMP/gw.state" \
    --token-file "$T_TMP/token"
GWPID=$SPAWNED
wait_port "$GPORT" 10
"$T_TMP/job" "http://127.0.0.1:$GPORT" s3cret 3 &&
    "$T_TMP/job" "http://127.0.0.1:$GPORT/" s3cret 4
is "$?/$(curl -s "http://127.0.0.1:$GPORT/-/errors/" | jq -r '.aggregated_errors[] | select(.aggregation_key == "job failed") | .total_count')" \
    0/7 "periskop_push: two short-lived jobs' pushes add up at the gateway"
"$T_TMP/job" "http://127.0.0.1:$GPORT/errors" nope 1 2>"$T_TMP/job.err"
like "$?:$(cat "$T_TMP/job.err")" "^1:POST http://127.0.0.1:$GPORT/errors: HTTP 401" \
    "... a refusal is -1 with the URL, the status and the gateway's reason"
stop "$GWPID"
"$T_TMP/job" "http://127.0.0.1:$GPORT" "" 1 2>"$T_TMP/job.err"
like "$?:$(cat "$T_TMP/job.err")" "^1:POST http://127.0.0.1:$GPORT/errors: Could" \
    "... and a gateway that is down is -1, said so"

make -s -C "$T_TOP" uninstall DESTDIR="$dest" PREFIX=/opt/pk \
    >>"$T_TMP/install.log" 2>&1
done_testing
