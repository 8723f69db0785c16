/* SPDX-License-Identifier: Apache-2.0 */
/* periskop-notify: spools event lines and delivers them to Alertmanager, webhooks and commands. */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sysexits.h>

#include "backoff.h"
#include "buf.h"
#include "conf.h"
#include "fdio.h"
#include "log.h"
#include "notify.h"
#include "periskop.h"
#include "secret.h"
#include "spool.h"
#include "timefmt.h"
#include "xalloc.h"

#define INBUF		(1024 * 1024)	/* longest line read whole */
#define BATCH		500		/* events read back at once */
#define BACKOFF_MIN_MS	1000
#define DRAIN_MS	5000		/* delivery time left after EOF */
#define METRICS_MS	1000

/* One receiver and its delivery thread. */
struct rcv {
	const struct conf_receiver	*c;
	pthread_t	 th;
	uint64_t	 off;		/* delivered up to; under mu */
	CURL		*curl;
	char		*url;		/* where bodies go */
	struct sent	*sent;		/* last message per error and kind */
	size_t		 nsent, capsent;
	int		 attempts;	/* failures in a row */
	/* Counters, under mu. */
	uint64_t	 ok, retried, rejected, events, suppressed;
	uint64_t	 pending;	/* bytes, when metrics are written */
	double		 latency_ms;	/* of the last delivery */
};

struct sent {
	uint64_t	 h;
	int64_t		 at;
};

enum result { DELIVERED, RETRY, REJECTED };

static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 cv = PTHREAD_COND_INITIALIZER;
static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t quit;	/* stop deliveries in progress */
static int		 stopping, draining;	/* under mu */
static struct spool	*spool;
static struct conf	*conf;
static struct rcv	*rcvs;
static size_t		 nrcvs;
static uint64_t		 spooled, malformed;
static size_t		 nfinished;		/* threads; under mu */

static void __attribute__((noreturn))
usage(FILE *f, int code)
{
	fprintf(f, "usage: periskop-notify [-hnv] -c file [--spool dir]\n");
	exit(code);
}

static void
on_signal(int sig)
{
	stop_signal = sig;
}

/* Sleeps up to ms, or less when told to stop; under mu. */
static void
wait_ms_locked(double ms)
{
	struct timespec	 ts;
	double		 ns;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns = (double)ts.tv_nsec + ms * 1e6;
	ts.tv_sec += (time_t)(ns / 1e9);
	ts.tv_nsec = (long)(ns - (double)(time_t)(ns / 1e9) * 1e9);
	pthread_cond_timedwait(&cv, &mu, &ts);
}

static int
should_stop(void)
{
	return stopping || stop_signal;
}

static uint64_t
error_hash(const struct notify_event *ev)
{
	uint64_t	 h;

	h = spool_id(ev->kind, strlen(ev->kind) + 1);
	h ^= spool_id(ev->service, strlen(ev->service) + 1) * 31;
	h ^= spool_id(ev->key, strlen(ev->key)) * 131;
	return h;
}

static struct sent *
sent_find(struct rcv *r, uint64_t h)
{
	size_t	 i;

	for (i = 0; i < r->nsent; i++)
		if (r->sent[i].h == h)
			return &r->sent[i];
	return NULL;
}

/* At most one message per error and kind per interval, by event time. */
static int
suppressed(struct rcv *r, const struct notify_event *ev)
{
	struct sent	*s;

	if (!notify_is_error_event(ev))
		return 0;
	s = sent_find(r, error_hash(ev));
	return s != NULL && ev->at >= s->at && ev->at - s->at <
	    conf->notify.interval_ms;
}

/* The same error and kind again in one batch, within the interval. */
static int
batch_has(const struct notify_event *ev, size_t n,
    const struct notify_event *e)
{
	size_t	 i;

	if (!notify_is_error_event(e))
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(ev[i].kind, e->kind) == 0 &&
		    strcmp(ev[i].service, e->service) == 0 &&
		    strcmp(ev[i].key, e->key) == 0 && e->at >= ev[i].at &&
		    e->at - ev[i].at < conf->notify.interval_ms)
			return 1;
	return 0;
}

static void
sent_mark(struct rcv *r, const struct notify_event *ev)
{
	struct sent	*s;
	uint64_t	 h;

	if (!notify_is_error_event(ev))
		return;
	h = error_hash(ev);
	if ((s = sent_find(r, h)) == NULL) {
		if (r->nsent == r->capsent) {
			r->capsent = r->capsent ? r->capsent * 2 : 64;
			r->sent = xreallocarray(r->sent, r->capsent,
			    sizeof(*r->sent));
		}
		s = &r->sent[r->nsent++];
		s->h = h;
	}
	s->at = ev->at;
}

static int
progress(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	return stop_signal != 0 || quit != 0;
}

/* What a receiver answers is not ours to forward. */
static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

static enum result
post(struct rcv *r, const struct buf *body, const char *msgid)
{
	struct curl_slist	*h = NULL;
	char			 err[CURL_ERROR_SIZE], serr[256], *tok, *line;
	CURLcode		 cc;
	long			 status = 0;
	size_t			 i;

	h = curl_slist_append(h, "Content-Type: application/json");
	line = xasprintf("X-Periskop-Message-Id: %s", msgid);
	h = curl_slist_append(h, line);
	free(line);
	for (i = 0; i < r->c->nheaders; i++)
		h = curl_slist_append(h, r->c->headers[i]);
	if (r->c->token_file != NULL) {
		/* Read at each delivery, so a rotated token is picked up. */
		if ((tok = secret_read_token(r->c->token_file, serr,
		    sizeof(serr))) == NULL) {
			log_warnx("%s: %s", r->c->name, serr);
			curl_slist_free_all(h);
			return RETRY;
		}
		line = xasprintf("Authorization: Bearer %s", tok);
		secret_free(tok);
		h = curl_slist_append(h, line);
		secret_free(line);
	}
	curl_easy_setopt(r->curl, CURLOPT_URL, r->url);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body->p);
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE, (long)body->len);
	curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, (long)r->c->timeout_ms);
	curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, err);
	err[0] = '\0';
	cc = curl_easy_perform(r->curl);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	if (cc != CURLE_OK) {
		log_warnx("%s: POST %s: %s", r->c->name, r->url,
		    err[0] ? err : curl_easy_strerror(cc));
		return RETRY;
	}
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return DELIVERED;
	log_warnx("%s: POST %s: HTTP %ld", r->c->name, r->url, status);
	if (status == 408 || status == 429 || status >= 500)
		return RETRY;
	return REJECTED;
}

/*
 * A command gets the message on stdin (a sealed memory file, so a command
 * that never reads cannot block us) and its stdout goes to our stderr,
 * not into the stream we forward.  75 (EX_TEMPFAIL), a signal or the
 * timeout mean try again; another non-zero status, given up.
 */
static enum result
run_command(struct rcv *r, const struct buf *body, const char *msgid)
{
	double	 deadline;
	pid_t	 pid;
	int	 fd, status, code;

	if ((fd = memfd_create("periskop-notify", MFD_CLOEXEC)) == -1 ||
	    write(fd, body->p, body->len) != (ssize_t)body->len ||
	    write(fd, "\n", 1) != 1 || lseek(fd, 0, SEEK_SET) == -1) {
		log_warn("%s: message file", r->c->name);
		if (fd != -1)
			close(fd);
		return RETRY;
	}
	if ((pid = fork()) == -1) {
		log_warn("%s: fork", r->c->name);
		close(fd);
		return RETRY;
	}
	if (pid == 0) {
		sigset_t	 none;

		setpgid(0, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(fd, STDIN_FILENO) == -1 ||
		    dup2(STDERR_FILENO, STDOUT_FILENO) == -1)
			_exit(EX_OSERR);
		setenv("PERISKOP_MESSAGE_ID", msgid, 1);
		setenv("PERISKOP_RECEIVER", r->c->name, 1);
		execl("/bin/sh", "sh", "-c", r->c->command, (char *)NULL);
		_exit(127);
	}
	close(fd);
	deadline = time_mono_ms() + (double)r->c->timeout_ms;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (time_mono_ms() > deadline || stop_signal || quit) {
			log_warnx("%s: command still running after %" PRId64
			    " ms; killed", r->c->name, r->c->timeout_ms);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return RETRY;
		}
		usleep(5000);
	}
	if (WIFEXITED(status) && (code = WEXITSTATUS(status)) != 0) {
		log_warnx("%s: command exited with %d", r->c->name, code);
		return code == EX_TEMPFAIL ? RETRY : REJECTED;
	}
	if (WIFSIGNALED(status)) {
		log_warnx("%s: command killed by signal %d", r->c->name,
		    WTERMSIG(status));
		return RETRY;
	}
	return DELIVERED;
}

/* Sends one message of n events. */
static enum result
deliver(struct rcv *r, const struct notify_event *ev, size_t n)
{
	struct buf	 body;
	enum result	 res;
	char		 id[17];
	double		 t0 = time_mono_ms();

	buf_init(&body);
	snprintf(id, sizeof(id), "%016" PRIx64, notify_message_id(ev, n));
	if (r->c->type == NOTIFY_ALERTMANAGER)
		notify_alerts_json(&body, &conf->notify, ev, n);
	else
		notify_webhook_json(&body, &conf->notify, r->c->name, ev, n);
	res = r->c->type == NOTIFY_COMMAND ? run_command(r, &body, id) :
	    post(r, &body, id);
	buf_release(&body);
	pthread_mutex_lock(&mu);
	r->latency_ms = time_mono_ms() - t0;
	if (res == DELIVERED) {
		r->ok++;
		r->events += n;
	} else if (res == RETRY)
		r->retried++;
	else
		r->rejected++;
	pthread_mutex_unlock(&mu);
	if (res == REJECTED)
		log_warnx("%s: message %s of %zu event%s given up", r->c->name,
		    id, n, n == 1 ? "" : "s");
	return res;
}

/*
 * Delivers what the lines hold from r->off; returns the offset after the
 * last line done (delivered, given up, not wanted or suppressed), and
 * whether a delivery has to be tried again.
 */
static uint64_t
deliver_lines(struct rcv *r, struct spool_line *l, size_t n, int *retry)
{
	struct notify_event	*ev;
	uint64_t		*next, done = r->off;
	size_t			 i, nev = 0, nsupp = 0;
	char			 err[256];
	enum result		 res;

	*retry = 0;
	ev = xcalloc(n, sizeof(*ev));
	next = xcalloc(n, sizeof(*next));
	for (i = 0; i < n; i++) {
		if (notify_event_parse(l[i].line, l[i].len, &ev[nev], err,
		    sizeof(err)) != 1)
			continue;
		if (!notify_wanted(r->c, &ev[nev])) {
			notify_event_release(&ev[nev]);
			continue;
		}
		if (suppressed(r, &ev[nev]) || batch_has(ev, nev, &ev[nev])) {
			nsupp++;
			notify_event_release(&ev[nev]);
			continue;
		}
		next[nev++] = l[i].next;
	}
	pthread_mutex_lock(&mu);
	r->suppressed += nsupp;
	pthread_mutex_unlock(&mu);
	if (nev == 0)
		done = l[n - 1].next;
	else if (r->c->type == NOTIFY_ALERTMANAGER ||
	    nev > conf->notify.digest) {
		/* Alertmanager groups alerts itself; others get a digest. */
		if ((res = deliver(r, ev, nev)) == RETRY)
			*retry = 1;
		else {
			for (i = 0; i < nev; i++)
				sent_mark(r, &ev[i]);
			done = l[n - 1].next;
		}
	} else {
		for (i = 0; i < nev; i++) {
			if ((res = deliver(r, &ev[i], 1)) == RETRY) {
				*retry = 1;
				break;
			}
			sent_mark(r, &ev[i]);
			done = next[i];
		}
		if (i == nev)
			done = l[n - 1].next;
	}
	for (i = 0; i < nev; i++)
		notify_event_release(&ev[i]);
	free(ev);
	free(next);
	return done;
}

static uint64_t
min_offset_locked(void)
{
	uint64_t	 m = spool_end(spool);
	size_t		 i;

	for (i = 0; i < nrcvs; i++)
		if (rcvs[i].off < m)
			m = rcvs[i].off;
	return m;
}

static void *
rcv_main(void *arg)
{
	struct rcv		*r = arg;
	struct spool_line	*l;
	char			 err[512];
	uint64_t		 done;
	double			 ms, until;
	long			 n;
	int			 retry;

	l = xcalloc(BATCH, sizeof(*l));
	for (;;) {
		pthread_mutex_lock(&mu);
		while (!should_stop() && r->off >= spool_end(spool) &&
		    !draining)
			wait_ms_locked(250);
		if (should_stop() || (draining && r->off >= spool_end(spool))) {
			pthread_mutex_unlock(&mu);
			break;
		}
		/* Let a round's events arrive, for one digest of them. */
		if (r->attempts == 0 && !draining) {
			until = time_mono_ms() +
			    (double)conf->notify.group_wait_ms;
			while (!should_stop() && !draining &&
			    time_mono_ms() < until)
				wait_ms_locked(until - time_mono_ms());
		}
		n = spool_read(spool, r->off, BATCH, l, err, sizeof(err));
		pthread_mutex_unlock(&mu);
		if (n == -1) {
			log_warnx("%s", err);
			pthread_mutex_lock(&mu);
			wait_ms_locked(BACKOFF_MIN_MS);
			pthread_mutex_unlock(&mu);
			continue;
		}
		if (n == 0)
			continue;
		done = deliver_lines(r, l, (size_t)n, &retry);
		spool_lines_free(l, (size_t)n);
		if (done > r->off) {
			if (spool_offset_save(spool, r->c->name, done, err,
			    sizeof(err)) == -1)
				log_warnx("%s", err);
			pthread_mutex_lock(&mu);
			r->off = done;
			if (spool_compact(spool, min_offset_locked(), err,
			    sizeof(err)) == -1)
				log_warnx("%s", err);
			pthread_mutex_unlock(&mu);
		}
		if (!retry) {
			r->attempts = 0;
			continue;
		}
		r->attempts++;
		ms = (double)backoff_jitter(backoff_ms(r->attempts,
		    BACKOFF_MIN_MS, conf->notify.max_backoff_ms));
		log_info("%s: retrying in %.0f ms (attempt %d)", r->c->name, ms,
		    r->attempts + 1);
		/* After EOF too, until the drain time is over. */
		pthread_mutex_lock(&mu);
		until = time_mono_ms() + ms;
		while (!should_stop() && time_mono_ms() < until)
			wait_ms_locked(until - time_mono_ms());
		pthread_mutex_unlock(&mu);
	}
	pthread_mutex_lock(&mu);
	nfinished++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	free(l);
	return NULL;
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample per receiver of the value at offset off in struct rcv. */
static void
per_receiver(struct buf *b, const char *name, const char *type,
    const char *help, size_t off)
{
	size_t	 i;

	family(b, name, type, help);
	for (i = 0; i < nrcvs; i++)
		buf_addf(b, "%s{receiver=\"%s\"} %" PRIu64 "\n", name,
		    rcvs[i].c->name, *(const uint64_t *)(const void *)
		    ((const char *)&rcvs[i] + off));
}

static void
metrics_write(const char *dir)
{
	static const char *const results[] = { "ok", "retry", "rejected" };
	struct buf	 b;
	char		*path, *tmp;
	size_t		 i, k;
	FILE		*fp;

	buf_init(&b);
	pthread_mutex_lock(&mu);
	for (i = 0; i < nrcvs; i++)
		rcvs[i].pending = spool_end(spool) - rcvs[i].off;
	family(&b, "periskop_notify_events_spooled_total", "counter",
	    "Event lines written to the spool.");
	buf_addf(&b, "periskop_notify_events_spooled_total %" PRIu64 "\n",
	    spooled);
	family(&b, "periskop_notify_events_dropped_total", "counter",
	    "Event lines dropped because the spool was full.");
	buf_addf(&b, "periskop_notify_events_dropped_total %" PRIu64 "\n",
	    spool_dropped(spool));
	family(&b, "periskop_notify_events_malformed_total", "counter",
	    "Event lines that could not be read.");
	buf_addf(&b, "periskop_notify_events_malformed_total %" PRIu64 "\n",
	    malformed);
	family(&b, "periskop_notify_spool_bytes", "gauge",
	    "Bytes of events in the spool.");
	buf_addf(&b, "periskop_notify_spool_bytes %" PRIu64 "\n",
	    spool_end(spool) - spool_begin(spool));
	family(&b, "periskop_notify_deliveries_total", "counter",
	    "Messages sent, by receiver and result.");
	for (i = 0; i < nrcvs; i++)
		for (k = 0; k < 3; k++)
			buf_addf(&b, "periskop_notify_deliveries_total{receiver="
			    "\"%s\",result=\"%s\"} %" PRIu64 "\n",
			    rcvs[i].c->name, results[k], k == 0 ? rcvs[i].ok :
			    k == 1 ? rcvs[i].retried : rcvs[i].rejected);
	per_receiver(&b, "periskop_notify_events_delivered_total", "counter",
	    "Events in messages sent.", offsetof(struct rcv, events));
	per_receiver(&b, "periskop_notify_events_suppressed_total", "counter",
	    "Events not sent: the same error within the interval.",
	    offsetof(struct rcv, suppressed));
	per_receiver(&b, "periskop_notify_pending_bytes", "gauge",
	    "Spooled bytes not yet delivered, by receiver.",
	    offsetof(struct rcv, pending));
	family(&b, "periskop_notify_delivery_seconds", "gauge",
	    "How long the last delivery took.");
	for (i = 0; i < nrcvs; i++)
		buf_addf(&b, "periskop_notify_delivery_seconds{receiver=\"%s\"} "
		    "%.3f\n", rcvs[i].c->name, rcvs[i].latency_ms / 1000);
	pthread_mutex_unlock(&mu);
	/* periskop-serve adds this file to its /metrics. */
	path = xasprintf("%s/metrics", dir);
	tmp = xasprintf("%s/metrics.new", dir);
	if ((fp = fopen(tmp, "we")) == NULL ||
	    fwrite(b.p, 1, b.len, fp) != b.len || fclose(fp) == EOF ||
	    rename(tmp, path) == -1)
		log_warn("%s", tmp);
	free(path);
	free(tmp);
	buf_release(&b);
}

static void
write_out(const char *p, size_t n)
{
	/* A reader that went away is not ours to die of. */
	if (fd_write_all(STDOUT_FILENO, p, n) == -1 && errno != EPIPE)
		fatal(EX_IOERR, "stdout");
}

/*
 * Spools the events among the whole lines of p[0..n), then forwards all
 * of them; returns 0, or -1 when the spool cannot be written.
 */
static int
take_lines(const char *p, size_t n, uint64_t *lineno)
{
	struct notify_event	 ev;
	const char		*q, *e = p + n;
	char			 err[512];
	int			 rc, added = 0;

	for (; p < e; p = q + 1) {
		q = memchr(p, '\n', (size_t)(e - p));
		(*lineno)++;
		rc = notify_event_parse(p, (size_t)(q - p), &ev, err,
		    sizeof(err));
		if (rc == -1) {
			log_warnx("stdin:%" PRIu64 ": %s; forwarded, not "
			    "delivered", *lineno, err);
			malformed++;
			continue;
		}
		if (rc == 0)
			continue;
		notify_event_release(&ev);
		pthread_mutex_lock(&mu);
		rc = spool_append(spool, p, (size_t)(q - p), err, sizeof(err));
		pthread_mutex_unlock(&mu);
		if (rc == -1) {
			log_warnx("%s", err);
			return -1;
		}
		if (rc == -2) {
			log_warnx("stdin:%" PRIu64 ": spool full (%" PRIu64
			    " bytes); event dropped (%" PRIu64 " so far)",
			    *lineno, conf->notify.max_spool,
			    spool_dropped(spool));
			continue;
		}
		if (rc == 1) {
			added++;
			spooled++;
		}
	}
	if (added) {
		/* Under the lock: a compaction may swap the spool's file. */
		pthread_mutex_lock(&mu);
		rc = spool_sync(spool, err, sizeof(err));
		pthread_mutex_unlock(&mu);
		if (rc == -1) {
			log_warnx("%s", err);
			return -1;
		}
		pthread_cond_broadcast(&cv);
	}
	return 0;
}

/*
 * Reads stdin to EOF.  From a socket (periskop-run's), lines are only
 * peeked at until they are spooled, so a kill -9 between the two loses
 * nothing: the next notify reads them again, and the spool's recent ids
 * skip what it already has.
 */
static int
read_input(const char *dir)
{
	struct stat	 st;
	struct pollfd	 pfd;
	char		*buf, *nl;
	size_t		 len = 0, take;
	ssize_t		 r;
	uint64_t	 lineno = 0;
	double		 last_metrics = 0;
	int		 sock, skipping = 0;

	sock = fstat(STDIN_FILENO, &st) == 0 && S_ISSOCK(st.st_mode);
	buf = xmalloc(INBUF + 1);	/* room for a last newline */
	pfd.fd = STDIN_FILENO;
	pfd.events = POLLIN | POLLRDHUP;
	for (;;) {
		if (time_mono_ms() - last_metrics >= METRICS_MS) {
			metrics_write(dir);
			last_metrics = time_mono_ms();
		}
		if (stop_signal)
			break;
		if (poll(&pfd, 1, METRICS_MS) == -1) {
			if (errno == EINTR)
				continue;
			fatal(EX_IOERR, "poll");
		}
		if (pfd.revents == 0)
			continue;
		if (sock)
			r = recv(STDIN_FILENO, buf, INBUF, MSG_PEEK);
		else
			r = read(STDIN_FILENO, buf + len, INBUF - len);
		if (r == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fatal(EX_IOERR, "stdin");
		}
		if (r == 0)
			break;
		if (!sock)
			len += (size_t)r;
		else
			len = (size_t)r;
		nl = memrchr(buf, '\n', len);
		take = nl != NULL ? (size_t)(nl - buf) + 1 : 0;
		if (take == 0 && len == INBUF) {
			/* A line longer than the buffer: not an event. */
			if (!skipping)
				log_warnx("stdin:%" PRIu64 ": line over %d "
				    "bytes forwarded, not read", lineno + 1,
				    INBUF);
			skipping = 1;
			write_out(buf, len);
			take = len;
		} else if (take > 0) {
			if (skipping) {
				/* The rest of the long line. */
				nl = memchr(buf, '\n', take);
				write_out(buf, (size_t)(nl - buf) + 1);
				lineno++;
				skipping = 0;
				if (take_lines(nl + 1, take - (size_t)(nl -
				    buf) - 1, &lineno) == -1)
					return -1;
				write_out(nl + 1, take - (size_t)(nl - buf) -
				    1);
			} else {
				if (take_lines(buf, take, &lineno) == -1)
					return -1;
				write_out(buf, take);
			}
		}
		if (sock) {
			if (take > 0 && recv(STDIN_FILENO, buf, take,
			    MSG_WAITALL) != (ssize_t)take)
				fatal(EX_IOERR, "stdin");
			len = 0;
		} else {
			memmove(buf, buf + take, len - take);
			len -= take;
		}
		if (take == 0 && sock && len > 0) {
			if (pfd.revents & (POLLRDHUP | POLLHUP)) {
				/* The writer is gone: its last line is whole. */
				if (!skipping) {
					buf[len] = '\n';
					if (take_lines(buf, len + 1,
					    &lineno) == -1)
						return -1;
					write_out(buf, len);
				}
				if (recv(STDIN_FILENO, buf, len,
				    MSG_WAITALL) != (ssize_t)len)
					fatal(EX_IOERR, "stdin");
				len = 0;
				break;
			}
			/* Only part of a line so far: wait for the rest. */
			usleep(1000);
		}
	}
	if (len > 0 && !sock && !skipping) {
		/* A last line without its newline. */
		buf[len] = '\n';
		if (take_lines(buf, len + 1, &lineno) == -1)
			return -1;
		write_out(buf, len);
	}
	free(buf);
	return 0;
}

static char *
am_url(const char *base)
{
	size_t	 n = strlen(base);

	if (n >= 14 && strcmp(base + n - 14, "/api/v2/alerts") == 0)
		return xstrdup(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	return xasprintf("%.*s/api/v2/alerts", (int)n, base);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction sa;
	const char	*cfile = NULL, *dir = NULL;
	char		 err[1024];
	size_t		 i;
	double		 until;
	int		 ch, check = 0, verbose = 0, rc = 0;

	while ((ch = getopt_long(argc, argv, "c:hnv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'h':
			usage(stdout, 0);
		case 'n':
			check = 1;
			break;
		case 's':
			dir = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage(stderr, EX_USAGE);
		}
	}
	if (optind != argc || cfile == NULL)
		usage(stderr, EX_USAGE);
	log_init("periskop-notify", verbose);
	errno = 0;
	if ((conf = conf_load(cfile, err, sizeof(err))) == NULL)
		fatalx(errno ? EX_NOINPUT : EX_CONFIG, "%s", err);
	if (!conf->notify.enabled)
		fatalx(EX_CONFIG, "%s: no notify block", cfile);
	if (check) {
		conf_free(conf);
		return conf_check_ok();
	}
	if (dir == NULL)
		dir = conf->notify.spool;
	errno = 0;
	if ((spool = spool_open(dir, conf->notify.max_spool, err,
	    sizeof(err))) == NULL)
		fatalx(errno ? EX_CANTCREAT : EX_DATAERR, "%s", err);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx(EX_SOFTWARE, "curl_global_init");

	nrcvs = conf->notify.nreceivers;
	rcvs = xcalloc(nrcvs, sizeof(*rcvs));
	for (i = 0; i < nrcvs; i++) {
		struct rcv	*r = &rcvs[i];

		r->c = &conf->notify.receivers[i];
		if (spool_offset_load(spool, r->c->name, &r->off, err,
		    sizeof(err)) == -1)
			fatalx(errno ? EX_CANTCREAT : EX_DATAERR, "%s", err);
		if (r->c->type != NOTIFY_COMMAND) {
			r->url = r->c->type == NOTIFY_ALERTMANAGER ?
			    am_url(r->c->url) : xstrdup(r->c->url);
			if ((r->curl = curl_easy_init()) == NULL)
				fatalx(EX_SOFTWARE, "curl_easy_init");
			curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION,
			    discard);
			curl_easy_setopt(r->curl, CURLOPT_NOPROGRESS, 0L);
			curl_easy_setopt(r->curl, CURLOPT_XFERINFOFUNCTION,
			    progress);
			curl_easy_setopt(r->curl, CURLOPT_USERAGENT,
			    "periskop-notify/" PERISKOP_VERSION);
			curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR,
			    "http,https");
		}
	}
	for (i = 0; i < nrcvs; i++)
		if (pthread_create(&rcvs[i].th, NULL, rcv_main, &rcvs[i]) != 0)
			fatalx(EX_OSERR, "pthread_create");
	log_info("spool %s: %" PRIu64 " bytes; %zu receiver%s", dir,
	    spool_end(spool) - spool_begin(spool), nrcvs,
	    nrcvs == 1 ? "" : "s");

	if (read_input(dir) == -1)
		rc = EX_IOERR;
	/* At EOF, a little time to deliver what is spooled. */
	pthread_mutex_lock(&mu);
	draining = 1;
	pthread_cond_broadcast(&cv);
	until = time_mono_ms() + DRAIN_MS;
	while (!stop_signal && rc == 0 && time_mono_ms() < until &&
	    nfinished < nrcvs)
		wait_ms_locked(100);
	stopping = 1;
	quit = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (i = 0; i < nrcvs; i++)
		pthread_join(rcvs[i].th, NULL);
	metrics_write(dir);
	for (i = 0; i < nrcvs; i++) {
		if (rcvs[i].curl != NULL)
			curl_easy_cleanup(rcvs[i].curl);
		free(rcvs[i].url);
		free(rcvs[i].sent);
	}
	free(rcvs);
	spool_close(spool);
	conf_free(conf);
	curl_global_cleanup();
	return rc;
}
