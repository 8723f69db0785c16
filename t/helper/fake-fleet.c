/* SPDX-License-Identifier: Apache-2.0 */
/* fake-fleet: one process that serves thousands of simulated targets. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "timefmt.h"
#include "xalloc.h"

#define MAXREQ		8192
#define FILLER		(64 * 1024)
#define HUGE_LEN	(1024LL * 1024 * 1024)
#define MAXFAULTS	16

/* What a target does with a request. */
enum kind { K_GOOD, K_SLOW, K_HANG, K_GARBAGE, K_HUGE, K_RESET, K_REFUSE,
	K_STATUS, K_NKINDS };

static const char *const kind_name[K_NKINDS] = { "good", "slow", "hang",
	"garbage", "huge", "reset", "refuse", "status" };

enum { T_LISTEN, T_CONN };
enum { C_READ, C_WAIT, C_WRITE, C_HANG };

struct target {
	int		 type;		/* T_LISTEN: epoll's data points here */
	int		 fd;
	uint32_t	 addr;		/* host order */
	int		 port;
	enum kind	 kind;
	uint64_t	 served;	/* payloads sent: the counters' clock */
	uint64_t	 requests;
};

struct conn {
	int		 type;		/* T_CONN */
	int		 fd;
	struct target	*t;		/* NULL: the control listener's */
	int		 state;
	char		 in[MAXREQ];
	size_t		 inlen;
	struct buf	 out;
	size_t		 outoff;
	long long	 huge_left;
	int		 close_after;
	double		 due;
	size_t		 widx;		/* in the waiting list, when C_WAIT */
};

static struct target	*targets;
static size_t		 ntargets;
static struct target	 control = { T_LISTEN, -1, 0, 0, K_GOOD, 0, 0 };
static struct conn	**waiting;
static size_t		 nwaiting, capwaiting;
static int		 ep;
static volatile sig_atomic_t got_term;
/*
 * As a real client's, the target's uuid is new each time the process
 * starts: that is how the aggregator tells a restart from a count that
 * went on growing while it was not looking.
 */
static uint32_t		 incarnation;
/* When this fleet started, to the second: its errors' first occurrence. */
static int64_t		 started_ms;
/* Frozen: payloads repeat the last counts, so a test can wait for them. */
static int		 frozen;

/* Settings. */
static size_t		 payload_size = 6144;
static int		 nkeys = 3;
static long		 change_pct = 100;
static long		 latency_ms;
static long		 slow_ms = 3000;
static const char	*endpoint = "/errors";
static char		 filler[FILLER];

static void
on_term(int sig)
{
	got_term = 1;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/*
 * Whether the target's counts grow at this request: for change_pct of
 * the requests, spread over the fleet by a hash, so that each round a
 * different part of it reports new errors and the rest repeats itself.
 */
static int
changes(const struct target *t)
{
	uint64_t x = ((uint64_t)(t - targets) << 32) ^ t->requests;

	if (change_pct >= 100)
		return 1;
	/* splitmix64's finaliser */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (long)(x % 100) < change_pct;
}

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: fake-fleet [-a first_addr] [-A naddrs] [-n nports] "
	    "[-p base_port] [-c change_pct]\n"
	    "                  [-s payload_bytes] [-k keys] [-d latency_ms] "
	    "[-S slow_ms]\n"
	    "                  [-e endpoint] [-f kind:count]... "
	    "[-U urlfile] [-C ctlportfile]\n");
	exit(code);
}

static void __attribute__((noreturn))
die(int code, const char *what)
{
	fprintf(stderr, "fake-fleet: %s: %s\n", what, strerror(errno));
	exit(code);
}

static long
num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi) {
		fprintf(stderr, "fake-fleet: %s '%s': not a number from %ld "
		    "to %ld\n", what, s, lo, hi);
		usage(EX_USAGE);
	}
	return v;
}

static void
ep_add(int fd, void *p, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = p;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		die(EX_OSERR, "epoll_ctl");
}

static void
ep_mod(struct conn *c, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* A listener on addr:port, or -1 with errno. */
static int
listen_at(uint32_t addr, int port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(addr);
	sin.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 128) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static const char *
addr_str(uint32_t a, char *b, size_t len)
{
	struct in_addr in;

	in.s_addr = htonl(a);
	return inet_ntop(AF_INET, &in, b, (socklen_t)len);
}

/*
 * The payload of target t at its n-th scrape: deterministic, so tests can
 * compute what each scrape line must hold.  Key k counts n * (k + 1); its
 * occurrence is n seconds after the fleet started, as a live client's.
 */
static void
payload(struct buf *b, size_t ti, uint64_t n)
{
	size_t start = b->len, per, line;
	char created[TIME_BUFSZ], ts[TIME_BUFSZ];
	int k;

	time_format(started_ms, created);
	time_format(started_ms + (int64_t)n * 1000, ts);

	buf_addf(b, "{\"target_uuid\":\"%08" PRIx32 "-0000-4000-8000-%012zx\","
	    "\"aggregated_errors\":[", incarnation, ti);
	/* Each key's stack trace takes its share of the size asked for. */
	per = payload_size > 80 ? (payload_size - 80) / (size_t)nkeys : 0;
	for (k = 0; k < nkeys; k++) {
		buf_addf(b, "%s{\"aggregation_key\":\"fleet.Error%d@%x\","
		    "\"total_count\":%" PRIu64 ",\"severity\":\"%s\","
		    "\"created_at\":\"%s\","
		    "\"latest_errors\":[{\"error\":{\"class\":"
		    "\"fleet.Error%d\",\"message\":\"target %zu key %d\","
		    "\"stacktrace\":[", k ? "," : "", k, 0x1000 + k,
		    n * (uint64_t)(k + 1), k == 0 ? "error" :
		    k == 1 ? "warning" : "info", created, k, ti, k);
		for (line = 0; line == 0 || b->len - start + 320 <
		    (size_t)(k + 1) * per; line++)
			buf_addf(b, "%s\"at fleet.pkg.Class%d.method%zu("
			    "Source%d.java:%zu)\"", line ? "," : "", k, line,
			    k, 100 + line);
		buf_addf(b, "],\"cause\":null},\"uuid\":"
		    "\"%08zx-%04x-4%03" PRIx32 "-8000-%012" PRIx64 "\","
		    "\"timestamp\":\"%s\",\"severity\":\"%s\","
		    "\"http_context\":{\"request_method\":\"GET\","
		    "\"request_url\":\"http://fleet/%zu\","
		    "\"request_headers\":{\"Accept\":\"*/*\"},"
		    "\"request_body\":\"\"}}]}", ti, k, incarnation & 0xfff, n,
		    ts, k == 0 ? "error" : k == 1 ? "warning" : "info", ti);
	}
	buf_adds(b, "]}");
}

static void
waiting_add(struct conn *c, double due)
{
	c->state = C_WAIT;
	c->due = due;
	if (nwaiting == capwaiting) {
		capwaiting = capwaiting ? capwaiting * 2 : 64;
		waiting = xreallocarray(waiting, capwaiting, sizeof(*waiting));
	}
	c->widx = nwaiting;
	waiting[nwaiting++] = c;
}

static void
waiting_del(struct conn *c)
{
	if (c->state != C_WAIT)
		return;
	waiting[c->widx] = waiting[--nwaiting];
	waiting[c->widx]->widx = c->widx;
}

static void
conn_close(struct conn *c, int reset)
{
	struct linger lg = { 1, 0 };

	waiting_del(c);
	if (reset)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c->fd);	/* also leaves the epoll set */
	buf_release(&c->out);
	free(c);
}

static void
head(struct conn *c, int status, const char *ctype, long long len)
{
	buf_addf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %lld\r\n%s\r\n", status,
	    status == 200 ? "OK" : status == 404 ? "Not Found" :
	    "Internal Server Error", ctype, len,
	    c->close_after ? "Connection: close\r\n" : "");
}

static void
body_text(struct conn *c, int status, const char *ctype, const char *s)
{
	head(c, status, ctype, (long long)strlen(s));
	buf_adds(&c->out, s);
}

/*
 * The control endpoint: what each target served, exact payloads, and
 * freezing the counters (/freeze, /thaw).
 */
static void
respond_control(struct conn *c, const char *path)
{
	struct buf b;
	char a[INET_ADDRSTRLEN];
	const char *q;
	size_t i;
	long n;

	buf_init(&b);
	if (strcmp(path, "/freeze") == 0 || strcmp(path, "/thaw") == 0) {
		frozen = path[1] == 'f';
		buf_adds(&b, frozen ? "frozen\n" : "thawed\n");
		head(c, 200, "text/plain", (long long)b.len);
	} else if (strcmp(path, "/counts") == 0) {
		for (i = 0; i < ntargets; i++)
			buf_addf(&b, "%s:%d %s %" PRIu64 " %" PRIu64 "\n",
			    addr_str(targets[i].addr, a, sizeof(a)),
			    targets[i].port, kind_name[targets[i].kind],
			    targets[i].requests, targets[i].served);
		head(c, 200, "text/plain", (long long)b.len);
	} else if (strncmp(path, "/payload?", 9) == 0 &&
	    (q = strstr(path, "i=")) != NULL &&
	    (i = strtoul(q + 2, NULL, 10)) < ntargets &&
	    (q = strstr(path, "n=")) != NULL &&
	    (n = strtol(q + 2, NULL, 10)) >= 0) {
		payload(&b, i, (uint64_t)n);
		head(c, 200, "application/json", (long long)b.len);
	} else {
		buf_adds(&b, "404 Not Found\n");
		head(c, 404, "text/plain", (long long)b.len);
	}
	buf_add(&c->out, b.p, b.len);
	buf_release(&b);
}

/*
 * Answers the request in c->in (hlen bytes with its blank line).
 * Returns -1 to reset the connection at once.
 */
static int
respond(struct conn *c, size_t hlen)
{
	struct target *t = c->t;
	char line[1024], *sp, *path;
	size_t ll;
	int http10, close_hdr;

	ll = strcspn(c->in, "\r\n");
	if (ll >= sizeof(line))
		ll = sizeof(line) - 1;
	memcpy(line, c->in, ll);
	line[ll] = '\0';
	c->in[hlen - 1] = '\0';
	close_hdr = strcasestr(c->in + ll, "\nconnection: close") != NULL;
	http10 = strstr(line, " HTTP/1.0") != NULL;
	memmove(c->in, c->in + hlen, c->inlen - hlen);
	c->inlen -= hlen;
	c->close_after = http10 || close_hdr;
	buf_reset(&c->out);
	c->outoff = 0;
	c->state = C_WRITE;
	path = (sp = strchr(line, ' ')) != NULL ? sp + 1 : line;
	if ((sp = strchr(path, ' ')) != NULL)
		*sp = '\0';
	if (t == NULL) {
		respond_control(c, path);
		return 0;
	}
	t->requests++;
	if (strncmp(path, endpoint, strlen(endpoint)) != 0 ||
	    (path[strlen(endpoint)] != '\0' &&
	    path[strlen(endpoint)] != '?')) {
		body_text(c, 404, "text/plain", "404 Not Found\n");
		return 0;
	}
	switch (t->kind) {
	case K_HANG:
		c->state = C_HANG;
		return 0;
	case K_RESET:
		return -1;
	case K_GARBAGE:
		body_text(c, 200, "application/json",
		    "<html>this is not JSON</html>\n");
		return 0;
	case K_STATUS:
		body_text(c, 500, "text/plain", "internal error\n");
		return 0;
	case K_HUGE:
		head(c, 200, "application/json", HUGE_LEN);
		c->huge_left = HUGE_LEN;
		return 0;
	default:
		break;
	}
	if (!frozen && (t->served == 0 || changes(t)))
		t->served++;
	{
		struct buf b;

		buf_init(&b);
		payload(&b, (size_t)(t - targets), t->served);
		head(c, 200, "application/json", (long long)b.len);
		buf_add(&c->out, b.p, b.len);
		buf_release(&b);
	}
	if (t->kind == K_SLOW)
		waiting_add(c, now_ms() + (double)slow_ms);
	else if (latency_ms > 0)
		waiting_add(c, now_ms() + (double)latency_ms);
	return 0;
}

static size_t
head_len(const struct conn *c)
{
	const char *e;

	e = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	return e == NULL ? 0 : (size_t)(e - c->in) + 4;
}

/* Returns -1 to close, -2 to reset. */
static int
on_writable(struct conn *c)
{
	size_t want;
	ssize_t n;
	size_t h;

	for (;;) {
		if (c->outoff == c->out.len) {
			buf_reset(&c->out);
			c->outoff = 0;
			if (c->huge_left > 0) {
				want = c->huge_left > FILLER ? FILLER :
				    (size_t)c->huge_left;
				buf_add(&c->out, filler, want);
				c->huge_left -= (long long)want;
				continue;
			}
			if (c->close_after) {
				shutdown(c->fd, SHUT_WR);
				return -1;
			}
			c->state = C_READ;
			ep_mod(c, EPOLLIN);
			if ((h = head_len(c)) > 0) {
				if (respond(c, h) == -1)
					return -2;
				continue;
			}
			return 0;
		}
		if (c->state != C_WRITE)
			return 0;
		want = c->out.len - c->outoff;
		n = write(c->fd, c->out.p + c->outoff, want);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				ep_mod(c, EPOLLOUT);
				return 0;
			}
			return -1;
		}
		c->outoff += (size_t)n;
	}
}

static int
on_readable(struct conn *c)
{
	char sink[4096];
	ssize_t n;
	size_t h;

	if (c->state == C_HANG) {
		n = read(c->fd, sink, sizeof(sink));
		return n == 0 || (n < 0 && errno != EAGAIN) ? -1 : 0;
	}
	n = read(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	if (c->state != C_READ)
		return 0;
	if ((h = head_len(c)) > 0) {
		if (respond(c, h) == -1)
			return -2;
		if (c->state == C_WRITE)
			return on_writable(c);
		return 0;
	}
	return c->inlen >= sizeof(c->in) - 1 ? -1 : 0;
}

static void
accept_all(struct target *t)
{
	struct conn *c;
	int fd;

	while ((fd = accept4(t->fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		c = xcalloc(1, sizeof(*c));
		c->type = T_CONN;
		c->fd = fd;
		c->t = t == &control ? NULL : t;
		c->state = C_READ;
		buf_init(&c->out);
		ep_add(fd, c, EPOLLIN);
	}
}

static void
write_file(const char *path, const struct buf *b)
{
	char *tmp;
	FILE *f;

	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL)
		die(EX_CANTCREAT, tmp);
	if (fwrite(b->p, 1, b->len, f) != b->len || fclose(f) == EOF ||
	    rename(tmp, path) == -1)
		die(EX_IOERR, path);
	free(tmp);
}

/* Binds every target; returns 0, or -1 when a port is taken. */
static int
bind_all(int base, int nports)
{
	size_t i;

	for (i = 0; i < ntargets; i++) {
		targets[i].port = base + (int)(i % (size_t)nports);
		if ((targets[i].fd = listen_at(targets[i].addr,
		    targets[i].port)) == -1) {
			if (errno != EADDRINUSE)
				die(EX_OSERR, "bind");
			while (i-- > 0)
				close(targets[i].fd);
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct epoll_event evs[256];
	struct sigaction sa;
	struct rlimit rl;
	struct in_addr first;
	struct buf b;
	sigset_t block, empty;
	const char *urlfile = NULL, *ctlfile = NULL;
	char a[INET_ADDRSTRLEN], *colon;
	long naddrs = 1, nports = 10, base = -1, nfault[K_NKINDS];
	size_t i, j, nbad, stride;
	double now, next;
	int ch, k, n, tries, w, rc;

	incarnation = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	started_ms = time_now() / 1000 * 1000;
	inet_pton(AF_INET, "127.1.0.1", &first);
	memset(nfault, 0, sizeof(nfault));
	while ((ch = getopt(argc, argv, "a:A:c:C:d:e:f:hk:n:p:s:S:U:")) != -1) {
		switch (ch) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &first) != 1 ||
			    (ntohl(first.s_addr) >> 24) != 127) {
				fprintf(stderr, "fake-fleet: -a '%s': not an "
				    "address in 127.0.0.0/8\n", optarg);
				usage(EX_USAGE);
			}
			break;
		case 'A':
			naddrs = num(optarg, 1, 60000, "-A");
			break;
		case 'c':
			change_pct = num(optarg, 0, 100, "-c");
			break;
		case 'C':
			ctlfile = optarg;
			break;
		case 'd':
			latency_ms = num(optarg, 0, 3600000, "-d");
			break;
		case 'e':
			endpoint = optarg;
			break;
		case 'f':
			if ((colon = strchr(optarg, ':')) == NULL)
				usage(EX_USAGE);
			*colon = '\0';
			for (k = 1; k < K_NKINDS; k++)
				if (strcmp(optarg, kind_name[k]) == 0)
					break;
			if (k == K_NKINDS) {
				fprintf(stderr, "fake-fleet: -f '%s': not a "
				    "fault kind\n", optarg);
				usage(EX_USAGE);
			}
			nfault[k] += num(colon + 1, 0, 1000000, "-f");
			break;
		case 'k':
			nkeys = (int)num(optarg, 1, 100, "-k");
			break;
		case 'n':
			nports = num(optarg, 1, 20000, "-n");
			break;
		case 'p':
			base = num(optarg, 1024, 65535, "-p");
			break;
		case 's':
			payload_size = (size_t)num(optarg, 0, 64 << 20, "-s");
			break;
		case 'S':
			slow_ms = num(optarg, 0, 3600000, "-S");
			break;
		case 'U':
			urlfile = optarg;
			break;
		case 'h':
			usage(0);
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc)
		usage(EX_USAGE);
	if (base > 0 && base + nports > 65536) {
		fprintf(stderr, "fake-fleet: ports beyond 65535\n");
		usage(EX_USAGE);
	}
	ntargets = (size_t)naddrs * (size_t)nports;
	for (nbad = 0, k = 1; k < K_NKINDS; k++)
		nbad += (size_t)nfault[k];
	if (nbad > ntargets) {
		fprintf(stderr, "fake-fleet: more faulty targets than "
		    "targets\n");
		usage(EX_USAGE);
	}
	/* Every target is a listener: take all the descriptors we may. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	targets = xcalloc(ntargets, sizeof(*targets));
	for (i = 0; i < ntargets; i++) {
		targets[i].type = T_LISTEN;
		targets[i].addr = ntohl(first.s_addr) +
		    (uint32_t)(i / (size_t)nports);
		targets[i].kind = K_GOOD;
	}
	/* Faulty ones spread evenly, in the order of the kinds. */
	stride = nbad > 0 ? ntargets / nbad : 1;
	for (j = 0, k = 1; k < K_NKINDS; k++)
		for (n = 0; n < nfault[k]; n++, j++)
			targets[j * stride].kind = (enum kind)k;
	for (i = 0; i < sizeof(filler); i++)
		filler[i] = "[0,1,2,3,4,5,6,7,8,9]"[i % 21];

	if (base > 0) {
		if (bind_all((int)base, (int)nports) == -1) {
			errno = EADDRINUSE;
			die(EX_UNAVAILABLE, "bind");
		}
	} else {
		/* Below the ephemeral range, so clients keep their ports. */
		srand((unsigned)getpid() ^ (unsigned)time(NULL));
		for (tries = 0;; tries++) {
			base = 10000 + rand() % (30000 - nports - 10000);
			if (bind_all((int)base, (int)nports) == 0)
				break;
			if (tries == 50) {
				errno = EADDRINUSE;
				die(EX_UNAVAILABLE, "bind");
			}
		}
	}
	for (i = 0; i < ntargets; i++)
		if (targets[i].kind == K_REFUSE) {
			close(targets[i].fd);
			targets[i].fd = -1;
		}
	if ((control.fd = listen_at(INADDR_LOOPBACK, 0)) == -1)
		die(EX_UNAVAILABLE, "control listener");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die(EX_OSERR, "epoll_create1");
	for (i = 0; i < ntargets; i++)
		if (targets[i].fd != -1)
			ep_add(targets[i].fd, &targets[i], EPOLLIN);
	ep_add(control.fd, &control, EPOLLIN);

	buf_init(&b);
	if (urlfile != NULL) {
		for (i = 0; i < ntargets; i++)
			buf_addf(&b, "http://%s:%d%s %s\n",
			    addr_str(targets[i].addr, a, sizeof(a)),
			    targets[i].port, endpoint,
			    kind_name[targets[i].kind]);
		write_file(urlfile, &b);
	}
	if (ctlfile != NULL) {
		struct sockaddr_in sin;
		socklen_t sl = sizeof(sin);

		getsockname(control.fd, (struct sockaddr *)&sin, &sl);
		buf_reset(&b);
		buf_addf(&b, "%d\n", ntohs(sin.sin_port));
		write_file(ctlfile, &b);
	}
	buf_release(&b);

	while (!got_term) {
		now = now_ms();
		next = -1;
		for (i = nwaiting; i-- > 0;) {
			struct conn *c = waiting[i];

			if (c->due <= now) {
				waiting_del(c);
				c->state = C_WRITE;
				if ((rc = on_writable(c)) < 0)
					conn_close(c, rc == -2);
			} else if (next < 0 || c->due < next)
				next = c->due;
		}
		w = next < 0 ? -1 : (int)(next - now) + 1;
		n = epoll_pwait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])),
		    w, &empty);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			die(EX_OSERR, "epoll_wait");
		}
		for (k = 0; k < n; k++) {
			int type = *(int *)evs[k].data.ptr;
			struct conn *c;

			if (type == T_LISTEN) {
				accept_all(evs[k].data.ptr);
				continue;
			}
			c = evs[k].data.ptr;
			rc = 0;
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR) &&
			    c->state != C_WRITE)
				rc = on_readable(c);
			else if (evs[k].events & (EPOLLOUT | EPOLLHUP |
			    EPOLLERR) && c->state == C_WRITE)
				rc = on_writable(c);
			else if (evs[k].events & (EPOLLHUP | EPOLLERR))
				rc = -1;
			if (rc < 0)
				conn_close(c, rc == -2);
		}
	}
	return 0;
}
