/* SPDX-License-Identifier: Apache-2.0 */
/* periskop-aggregate: scrape lines into the database, change events out. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sysexits.h>

#include "aggregate.h"
#include "buf.h"
#include "conf.h"
#include "db.h"
#include "duration.h"
#include "log.h"
#include "ndjson.h"
#include "spike.h"
#include "spool.h"
#include "record.h"
#include "timefmt.h"
#include "xalloc.h"

#define MAX_FAILED_COMMITS	5
#define IDLE_FLUSH_MS		200	/* commit when input pauses */
#define OUTBOX_BYTES		(512 * 1024)	/* keeps the last 128 KiB */

static volatile sig_atomic_t stopping;

static void
usage(FILE *f)
{
	fprintf(f, "usage: periskop-aggregate [-nv] [-m max_occurrences] "
	    "[-r kind=age,...] [-s shard]\n"
	    "                          [--spike count/duration] "
	    "[--outbox dir]\n"
	    "                          [--db URI | -c file]\n");
}

static void
on_signal(int sig)
{
	stopping = 1;
}

static void
write_out(const char *line, size_t len)
{
	if (ndjson_write(stdout, line, len) == -1)
		fatal(EX_IOERR, "stdout");
}

/*
 * The event lines of the last commit, and the outbox they go to before
 * they go out: a spool (spool.h) that keeps the last ones, so that a
 * chain killed before periskop-notify spooled them hears them again.
 */
static struct buf	 events;
static struct spool	*outbox;

/* Writes the committed events, to the outbox (durably) first. */
static void
flush_out(void)
{
	const char *p, *e, *q;
	char err[512];

	if (events.len > 0 && outbox != NULL) {
		for (p = events.p, e = p + events.len; p < e; p = q + 1) {
			q = memchr(p, '\n', (size_t)(e - p));
			if (spool_append(outbox, p, (size_t)(q - p), err,
			    sizeof(err)) == -1)
				fatalx(EX_IOERR, "%s", err);
		}
		if (spool_sync(outbox, err, sizeof(err)) == -1 ||
		    spool_compact(outbox, spool_end(outbox), err,
		    sizeof(err)) == -1)
			fatalx(EX_IOERR, "%s", err);
	}
	if (events.len > 0 && fwrite(events.p, 1, events.len, stdout) !=
	    events.len)
		fatal(EX_IOERR, "stdout");
	buf_reset(&events);
	if (fflush(stdout) == EOF || ferror(stdout))
		fatal(EX_IOERR, "stdout");
}

/* At start: what the outbox keeps, again; notify skips what it has. */
static void
resend_outbox(void)
{
	struct spool_line l[256];
	uint64_t off = spool_begin(outbox);
	char err[512];
	long n, i;

	while ((n = spool_read(outbox, off, 256, l, err, sizeof(err))) > 0) {
		for (i = 0; i < n; i++)
			write_out(l[i].line, l[i].len);
		off = l[n - 1].next;
		spool_lines_free(l, (size_t)n);
	}
	if (n == -1)
		fatalx(EX_IOERR, "%s", err);
	if (fflush(stdout) == EOF || ferror(stdout))
		fatal(EX_IOERR, "stdout");
}

static void
on_event(const struct event_rec *ev, void *arg)
{
	struct buf *b = arg;

	buf_reset(b);
	record_write_event(b, ev);
	buf_add(&events, b->p, b->len);
	buf_addc(&events, '\n');
}

struct state {
	struct aggregator	*agg;
	struct db		*db;
	int			 fails;	/* consecutive failed transactions */
	uint64_t		 lines;
	double			 parse_ms;	/* for -v: where the time goes */
	double			 store_ms;
	int64_t			 written;	/* rows, at the last commit */
	double			 committed_ms;	/* store_ms, then */
	double			 idle_ms;	/* housekeeping */
};

/* Counts a failed transaction; too many in a row means the database is gone. */
static void
failed(struct state *st, const char *err)
{
	log_warnx("%s", err);
	if (++st->fails >= MAX_FAILED_COMMITS)
		fatalx(EX_TEMPFAIL, "%d transactions failed in a row, giving up",
		    st->fails);
}

static void
on_retry(const char *err, int64_t wait_ms)
{
	log_warnx("%s; retrying in %lld ms", err, (long long)wait_ms);
}

static void
flush(struct state *st)
{
	char err[1024];
	int was = aggregator_pending(st->agg), rc;
	double t0 = time_mono_ms();

	rc = aggregator_flush(st->agg, err, sizeof(err));
	st->store_ms += time_mono_ms() - t0;
	if (rc == -1)
		failed(st, err);
	else if (was)
		st->fails = 0;
	flush_out();
}

static void
housekeep(struct state *st)
{
	double t0 = time_mono_ms();

	aggregator_idle(st->agg);
	st->idle_ms += time_mono_ms() - t0;
}

/*
 * Parses "kind=age,..." (kinds: occurrences, minutes, hours, targets;
 * ages in Prometheus' syntax, 0 keeping forever) into r.  0 or -1.
 */
static int
parse_retention(const char *arg, struct db_retention *r)
{
	char *copy, *item, *save, *eq, err[256];
	int64_t ms, *slot;
	int rc = 0;

	copy = xstrdup(arg);
	for (item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
	    item = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(item, '=')) == NULL) {
			log_warnx("'%s': -r wants kind=age", item);
			rc = -1;
			break;
		}
		*eq++ = '\0';
		if (strcmp(item, "occurrences") == 0)
			slot = &r->occurrences_ms;
		else if (strcmp(item, "minutes") == 0)
			slot = &r->minutes_ms;
		else if (strcmp(item, "hours") == 0)
			slot = &r->hours_ms;
		else if (strcmp(item, "targets") == 0)
			slot = &r->targets_ms;
		else {
			log_warnx("'%s': unknown retention kind: want "
			    "occurrences, minutes, hours or targets", item);
			rc = -1;
			break;
		}
		if (duration_parse(eq, &ms, err, sizeof(err)) == -1) {
			log_warnx("'%s': %s", eq, err);
			rc = -1;
			break;
		}
		*slot = ms;
	}
	free(copy);
	return rc;
}

static void
handle_line(struct state *st, uint64_t lineno, const char *line, size_t len)
{
	struct record rec;
	char err[1024];
	int rc, was;
	double t0 = time_mono_ms(), t1;

	st->lines++;
	rc = record_parse(line, len, &rec, err, sizeof(err));
	t1 = time_mono_ms();
	st->parse_ms += t1 - t0;
	if (rc == -1) {
		log_warnx("stdin:%llu: %s", (unsigned long long)lineno, err);
		return;
	}
	switch (rec.type) {
	case REC_TARGETS:
	case REC_SCRAPE:
	case REC_ROUND:
		was = aggregator_pending(st->agg);
		rc = aggregator_apply_line(st->agg, &rec, line, len, err,
		    sizeof(err));
		st->store_ms += time_mono_ms() - t1;
		if (rc == -1)
			failed(st, err);
		else if (!aggregator_pending(st->agg) &&
		    (was || rec.type != REC_ROUND)) {
			/* Something was committed: the events are out. */
			st->fails = 0;
			flush_out();
			log_debug("stdin:%llu: committed, %lld rows written, "
			    "storing %.0f ms", (unsigned long long)lineno,
			    (long long)(db_rows_written(st->db) - st->written),
			    st->store_ms - st->committed_ms);
			st->written = db_rows_written(st->db);
			st->committed_ms = st->store_ms;
		}
		break;
	default:
		/* Not ours: the next stage may want it, byte for byte. */
		write_out(line, len);
		break;
	}
	record_release(&rec);
}

/* The spike rule of the configuration, unless the command line gave one. */
static struct conf *
from_conf(const char *file, struct agg_options *opt)
{
	struct conf *conf;
	char err[1024];

	errno = 0;
	if ((conf = conf_load(file, err, sizeof(err))) == NULL)
		fatalx(errno != 0 ? EX_NOINPUT : EX_CONFIG, "%s", err);
	if (opt->spike_threshold == 0 && conf->notify.spike_count > 0) {
		opt->spike_threshold = conf->notify.spike_count;
		opt->spike_window_ms = conf->notify.spike_window_ms;
	}
	return conf;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "retention", required_argument, NULL, 'r' },
		{ "shard", required_argument, NULL, 's' },
		{ "spike", required_argument, NULL, 'S' },
		{ "outbox", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 }
	};
	struct agg_options opt;
	struct ndjson_reader *rd;
	static const struct timespec idle = { IDLE_FLUSH_MS / 1000,
	    IDLE_FLUSH_MS % 1000 * 1000000L };
	struct sigaction sa;
	sigset_t block, waiting;
	struct pollfd pfd;
	struct state st;
	struct buf evbuf;
	struct db *db;
	const char *line;
	struct conf *conf;
	char *uri, *conffile = NULL, *shown, *end, err[1024];
	const char *outbox_dir = NULL;
	const char *dbarg = NULL;
	const char *shard = NULL;
	size_t len;
	unsigned long v;
	int ch, verbose = 0, check = 0, transient, rc, eof = 0, n;

	log_init("periskop-aggregate", 0);
	memset(&opt, 0, sizeof(opt));
	opt.max_occurrences = 100;
	opt.on_retry = on_retry;
	opt.retention.occurrences_ms = DB_RETAIN_OCCURRENCES;
	opt.retention.minutes_ms = DB_RETAIN_MINUTES;
	opt.retention.hours_ms = DB_RETAIN_HOURS;
	opt.retention.targets_ms = DB_RETAIN_TARGETS;
	while ((ch = getopt_long(argc, argv, "c:d:hm:nr:s:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		case 'd':
			dbarg = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'm':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0' ||
			    errno != 0 || v == 0 || v > 1000000) {
				log_warnx("'%s': -m wants a number from 1 to "
				    "1000000", optarg);
				usage(stderr);
				return EX_USAGE;
			}
			opt.max_occurrences = v;
			break;
		case 'n':
			check = 1;
			break;
		case 'r':
			if (parse_retention(optarg, &opt.retention) == -1) {
				usage(stderr);
				return EX_USAGE;
			}
			break;
		case 's':
			if (strlen(optarg) > 63) {
				log_warnx("'%s': shard name longer than 63 "
				    "bytes", optarg);
				usage(stderr);
				return EX_USAGE;
			}
			shard = optarg;
			break;
		case 'O':
			outbox_dir = optarg;
			break;
		case 'S':
			if (spike_parse(optarg, &opt.spike_threshold,
			    &opt.spike_window_ms, err, sizeof(err)) == -1) {
				log_warnx("--spike: %s", err);
				usage(stderr);
				return EX_USAGE;
			}
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc || (dbarg != NULL && conffile != NULL) ||
	    (check && conffile == NULL)) {
		usage(stderr);
		return EX_USAGE;
	}
	log_init("periskop-aggregate", verbose);
	conf = conffile != NULL ? from_conf(conffile, &opt) : NULL;
	uri = db_uri_choose(dbarg, conf);
	conf_free(conf);
	if (check) {
		free(uri);
		return conf_check_ok();
	}
	if (uri == NULL && conffile != NULL)
		fatalx(EX_CONFIG, "'%s': no repository block", conffile);
	if (uri == NULL) {
		usage(stderr);
		return EX_USAGE;
	}

	if ((db = db_open(uri, &transient, err, sizeof(err))) == NULL)
		fatalx(db_open_status(transient), "%s", err);
	shown = db_uri_redacted(uri);
	log_debug("'%s': %s database open", shown, db_engine(db));
	free(shown);
	if (shard != NULL)
		db_set_shard(db, shard);

	/*
	 * Signals are blocked but inside ppoll: one that came between the
	 * flag's check and a plain poll would be missed until more input.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waiting);
	sigdelset(&waiting, SIGTERM);
	sigdelset(&waiting, SIGINT);

	buf_init(&evbuf);
	buf_init(&events);
	if (outbox_dir != NULL) {
		errno = 0;
		if ((outbox = spool_open(outbox_dir, OUTBOX_BYTES, err,
		    sizeof(err))) == NULL)
			fatalx(errno ? EX_CANTCREAT : EX_DATAERR, "%s", err);
		resend_outbox();
	}
	st.db = db;
	st.agg = aggregator_new(db, &opt, on_event, &evbuf);
	st.fails = 0;
	st.lines = 0;
	st.parse_ms = st.store_ms = st.committed_ms = st.idle_ms = 0;
	st.written = 0;
	rd = ndjson_reader_new(STDIN_FILENO, 0);
	while (!stopping) {
		while (!stopping &&
		    ((rc = ndjson_next(rd, &line, &len)) == NDJSON_LINE ||
		    rc == NDJSON_TOOLONG)) {
			if (rc == NDJSON_TOOLONG)
				log_warnx("stdin:%llu: line too long, skipped",
				    (unsigned long long)ndjson_lineno(rd));
			else
				handle_line(&st, ndjson_lineno(rd), line, len);
		}
		if (stopping || eof)
			break;
		flush_out();
		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		/* Nothing to read and nothing pending: housekeeping's turn. */
		if (!aggregator_pending(st.agg) && poll(&pfd, 1, 0) == 0)
			housekeep(&st);
		n = ppoll(&pfd, 1, aggregator_pending(st.agg) ? &idle : NULL,
		    &waiting);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal(EX_OSERR, "poll");
		}
		if (n == 0) {
			flush(&st);
			continue;
		}
		rc = ndjson_fill(rd);
		if (rc == NDJSON_EOF)
			eof = 1;
		else if (rc == NDJSON_ERROR && errno != EINTR)
			fatal(EX_IOERR, "stdin");
	}
	if (stopping)
		log_debug("signal received, committing and stopping");
	flush(&st);
	if (!stopping)
		housekeep(&st);
	log_debug("stdin: %llu lines: parsing %.0f ms, storing %.0f ms, "
	    "%lld rows written, housekeeping %.0f ms",
	    (unsigned long long)st.lines, st.parse_ms, st.store_ms,
	    (long long)db_rows_written(db), st.idle_ms);
	aggregator_free(st.agg);
	ndjson_reader_free(rd);
	buf_release(&evbuf);
	db_close(db);
	free(uri);
	flush_out();
	buf_release(&events);
	spool_close(outbox);
	return st.fails > 0 ? EX_TEMPFAIL : 0;
}
