/* SPDX-License-Identifier: Apache-2.0 */
/* periskop-scrape: targets lines (or URLs) in, scrape and round lines out. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "ndjson.h"
#include "record.h"
#include "scrape.h"
#include "timefmt.h"

#define FLUSH_MS	100

static volatile sig_atomic_t got_term;
static int sigpipe[2] = { -1, -1 };

/* Lines written to stdout but not flushed yet, and since when. */
static int pending;
static double pending_since;

static void
on_signal(int sig)
{
	int saved = errno;

	got_term = 1;
	if (write(sigpipe[1], "x", 1) == -1) {
		/* The pipe is full: a wakeup is already pending. */
	}
	errno = saved;
}

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: periskop-scrape [-v] [-j concurrency] [-m max_body] "
	    "[-t timeout] [-s service]\n"
	    "                       [--once] [--full] [URL ...]\n");
	exit(code);
}

static void
out_flush(void)
{
	if (fflush(stdout) == EOF)
		fatal(EX_IOERR, "stdout");
	pending = 0;
}

static void
out_line(const char *line, size_t len, int flush)
{
	if (ndjson_write(stdout, line, len) == -1)
		fatal(EX_IOERR, "stdout");
	if (flush)
		out_flush();
	else if (!pending) {
		pending = 1;
		pending_since = time_mono_ms();
	}
}

static void
on_emit(void *arg, enum record_type kind, const char *line, size_t len)
{
	out_line(line, len, kind == REC_ROUND);
}

static void
on_debug(void *arg, const char *msg)
{
	log_debug("%s", msg);
}

/* How long the loop may sleep before pending lines must be flushed. */
static int
flush_wait(void)
{
	double left;

	if (!pending)
		return -1;
	left = FLUSH_MS - (time_mono_ms() - pending_since);
	return left <= 0 ? 0 : (int)left + 1;
}

static void
flush_due(void)
{
	if (pending && time_mono_ms() - pending_since >= FLUSH_MS)
		out_flush();
}

static void
handle_line(struct scraper *s, struct ndjson_reader *r, const char *line,
    size_t len)
{
	struct record rec;
	char err[1024];

	if (record_parse(line, len, &rec, err, sizeof(err)) == -1) {
		log_warnx("stdin:%" PRIu64 ": %s", ndjson_lineno(r), err);
		return;
	}
	if (rec.type == REC_TARGETS) {
		log_debug("service '%s': %zu targets", rec.u.targets.service,
		    rec.u.targets.ntargets);
		scraper_set_targets(s, &rec.u.targets);
	}
	/* The aggregator needs targets lines too; others are not ours. */
	out_line(line, len, 0);
	record_release(&rec);
}

/* Reads what stdin has; returns 1 at its end. */
static int
read_stdin(struct scraper *s, struct ndjson_reader *r)
{
	const char *line;
	size_t len;
	int rc, fills;

	for (fills = 0; fills < 16; fills++) {
		rc = ndjson_fill(r);
		if (rc == NDJSON_AGAIN)
			return 0;
		if (rc == NDJSON_ERROR) {
			if (errno == EINTR)
				return 0;
			fatal(EX_IOERR, "stdin");
		}
		for (;;) {
			rc = ndjson_next(r, &line, &len);
			if (rc == NDJSON_LINE)
				handle_line(s, r, line, len);
			else if (rc == NDJSON_TOOLONG)
				log_warnx("stdin:%" PRIu64 ": line longer than "
				    "%u MiB, skipped", ndjson_lineno(r),
				    NDJSON_MAXLINE / (1024 * 1024));
			else if (rc == NDJSON_EOF)
				return 1;
			else
				break;
		}
	}
	return 0;
}

static void
drain_sigpipe(void)
{
	char b[64];

	while (read(sigpipe[0], b, sizeof(b)) > 0)
		;
}

static void
setup_signals(void)
{
	struct sigaction sa;

	if (pipe2(sigpipe, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal(EX_OSERR, "pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		fatal(EX_OSERR, "sigaction");
}

/*
 * Each transfer needs a descriptor, and so does each connection kept
 * between rounds: raise the soft limit to fit, as far as allowed.
 */
static void
fd_limit(int concurrency)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)concurrency + 64, want = need + SCRAPE_REUSE_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < need)
		log_warnx("-j %d: only %lu file descriptors allowed",
		    concurrency, (unsigned long)rl.rlim_cur);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "full", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct scrape_opts o;
	struct scraper *s;
	struct ndjson_reader *r = NULL;
	struct pollfd fds[2];
	const char *service = "adhoc";
	char err[1024], *end;
	long n;
	int ch, verbose = 0, adhoc, stdin_eof = 0, fl = -1;

	log_init("periskop-scrape", 0);
	scrape_opts_init(&o);
	while ((ch = getopt_long(argc, argv, "hj:m:s:t:v", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'j':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n < 1 ||
			    n > 100000) {
				log_warnx("-j '%s': not a number from 1 to "
				    "100000", optarg);
				usage(EX_USAGE);
			}
			o.concurrency = (int)n;
			break;
		case 'm':
			if (scrape_parse_size(optarg, &o.max_body, err,
			    sizeof(err)) == -1) {
				log_warnx("-m %s", err);
				usage(EX_USAGE);
			}
			break;
		case 's':
			if (*optarg == '\0') {
				log_warnx("-s: empty service name");
				usage(EX_USAGE);
			}
			service = optarg;
			break;
		case 't':
			if (scrape_parse_timeout(optarg, &o.timeout_ms, err,
			    sizeof(err)) == -1) {
				log_warnx("-t %s", err);
				usage(EX_USAGE);
			}
			break;
		case 'o':
			o.once = 1;
			break;
		case 'F':
			o.full = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(0);
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	log_init("periskop-scrape", verbose);
	adhoc = argc > 0;
	o.emit = on_emit;
	o.debug = on_debug;
	setup_signals();
	fd_limit(o.concurrency);

	if ((s = scraper_new(&o, err, sizeof(err))) == NULL)
		fatalx(EX_SOFTWARE, "%s", err);
	if (adhoc) {
		if (scraper_add_urls(s, service, argv, (size_t)argc, err,
		    sizeof(err)) == -1) {
			log_warnx("%s", err);
			scraper_free(s);
			return EX_USAGE;
		}
	} else {
		fl = fcntl(STDIN_FILENO, F_GETFL);
		if (fl == -1 || fcntl(STDIN_FILENO, F_SETFL,
		    fl | O_NONBLOCK) == -1)
			fatal(EX_OSERR, "stdin");
		r = ndjson_reader_new(STDIN_FILENO, 0);
	}

	while (!got_term) {
		if ((adhoc || stdin_eof) && !scraper_busy(s))
			break;
		fds[0].fd = sigpipe[0];
		fds[0].events = POLLIN;
		fds[1].fd = STDIN_FILENO;
		fds[1].events = POLLIN;
		if (scraper_step(s, fds, adhoc || stdin_eof ? 1 : 2,
		    flush_wait(), err, sizeof(err)) == -1)
			fatalx(EX_SOFTWARE, "%s", err);
		if (fds[0].revents)
			drain_sigpipe();
		/*
		 * stdin is tried on every turn: a pipe's writer going away
		 * shows as POLLHUP, which libcurl does not report.
		 */
		if (!adhoc && !stdin_eof && !got_term &&
		    read_stdin(s, r)) {
			stdin_eof = 1;
			scraper_drain(s);
			log_debug("stdin: end of input");
		}
		flush_due();
	}
	if (got_term)
		log_debug("signal: stopping");
	out_flush();
	/* stdin's file description may be a terminal the shell shares. */
	if (fl != -1)
		fcntl(STDIN_FILENO, F_SETFL, fl);
	ch = !got_term && adhoc && scraper_nfailed(s) > 0 ? EX_UNAVAILABLE : 0;
	scraper_free(s);
	ndjson_reader_free(r);
	return ch;
}
