/* SPDX-License-Identifier: Apache-2.0 */
/* Writes rounds of scrape lines for tests and benchmarks of the aggregator. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * gen-scrapes [-t targets] [-k keys] [-r rounds] [-R first_round]
 *     [-s service] [-o first_target] [-T] [-S seconds] [-c percent]
 *
 * Target i of round r reports key j with the cumulative count
 * (r + 1) * (1 + (i + j) % 3), one occurrence per key and round (a new
 * uuid each time), so after rounds R..R+n-1 of targets A..B the exact
 * total of key j is the sum over targets of its last count.  With -T a
 * targets line comes first.  Times start at now - rounds * seconds.
 * With -c only the targets with i % 100 < percent report round r; the
 * others report round 0 again, word for word: a fleet of which that
 * share changed since round 0.
 */
static void
usage(void)
{
	fprintf(stderr, "usage: gen-scrapes [-T] [-t targets] [-k keys] "
	    "[-r rounds] [-R first_round] [-o first_target] [-s service] "
	    "[-S seconds] [-c percent]\n");
	exit(64);
}

static long
num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < 0)
		usage();
	return v;
}

static void
iso(char *out, size_t len, long long ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int
main(int argc, char *argv[])
{
	long targets = 10, keys = 20, rounds = 1, first = 0, off = 0, step = 60;
	long r, i, j, e, changed = 100;
	const char *svc = "bench";
	char at[64], ts[64];
	long long now, t0, when, ewhen;
	int ch, tline = 0;

	while ((ch = getopt(argc, argv, "c:k:o:R:r:S:s:Tt:")) != -1) {
		switch (ch) {
		case 'c':
			changed = num(optarg);
			break;
		case 'k':
			keys = num(optarg);
			break;
		case 'o':
			off = num(optarg);
			break;
		case 'R':
			first = num(optarg);
			break;
		case 'r':
			rounds = num(optarg);
			break;
		case 'S':
			step = num(optarg);
			break;
		case 's':
			svc = optarg;
			break;
		case 'T':
			tline = 1;
			break;
		case 't':
			targets = num(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	now = (long long)time(NULL) * 1000;
	t0 = now - (long long)(first + rounds) * step * 1000;
	if (tline) {
		printf("{\"type\":\"targets\",\"service\":\"%s\","
		    "\"endpoint\":\"/errors\",\"interval_s\":%ld,"
		    "\"timeout_s\":10,\"targets\":[", svc, step);
		for (i = off; i < off + targets; i++)
			printf("%s{\"address\":\"10.%ld.%ld.%ld:7777\","
			    "\"url\":\"http://10.%ld.%ld.%ld:7777/errors\","
			    "\"labels\":{}}", i > off ? "," : "",
			    i >> 16 & 255, i >> 8 & 255, i & 255,
			    i >> 16 & 255, i >> 8 & 255, i & 255);
		printf("]}\n");
	}
	for (r = first; r < first + rounds; r++) {
		when = t0 + (long long)r * step * 1000;
		iso(at, sizeof(at), when);
		for (i = off; i < off + targets; i++) {
			printf("{\"type\":\"scrape\",\"service\":\"%s\","
			    "\"target\":\"10.%ld.%ld.%ld:7777\","
			    "\"url\":\"http://10.%ld.%ld.%ld:7777/errors\","
			    "\"target_uuid\":\"t-%ld\",\"at\":\"%s\","
			    "\"duration_ms\":1.5,\"http_status\":200,"
			    "\"body_bytes\":1000,\"ok\":true,"
			    "\"aggregated_errors\":[", svc,
			    i >> 16 & 255, i >> 8 & 255, i & 255,
			    i >> 16 & 255, i >> 8 & 255, i & 255, i, at);
			e = i % 100 < changed ? r : 0;
			ewhen = t0 + (long long)e * step * 1000;
			for (j = 0; j < keys; j++) {
				iso(ts, sizeof(ts), ewhen - 1000 - i % 1000);
				printf("%s{\"aggregation_key\":\"Err%ld@k\","
				    "\"total_count\":%ld,\"severity\":\"error\","
				    "\"latest_errors\":[{\"error\":{\"class\":"
				    "\"Err%ld\",\"message\":\"boom\","
				    "\"stacktrace\":[\"main.go:1\"],"
				    "\"cause\":null},\"uuid\":\"%ld-%ld-%ld\","
				    "\"timestamp\":\"%s\",\"severity\":"
				    "\"error\"}]}", j > 0 ? "," : "", j,
				    (e + 1) * (1 + (i + j) % 3), j, i, j, e,
				    ts);
			}
			printf("]}\n");
		}
		printf("{\"type\":\"round\",\"service\":\"%s\",\"at\":\"%s\","
		    "\"duration_ms\":900.5,\"targets\":%ld,\"ok\":%ld,"
		    "\"failed\":0}\n", svc, at, targets, targets);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		return 74;
	return 0;
}
