/* SPDX-License-Identifier: Apache-2.0 */
/* fake-target: a test HTTP server; queries pick framing and faults. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"

#define MAXLISTEN	16
#define MAXREQ		(16 * 1024)
#define FILLER_PIECE	(64 * 1024)

enum { C_READ, C_WAIT, C_WRITE, C_HANG };

struct conn {
	int		 fd;
	int		 state;
	char		 in[MAXREQ];
	size_t		 inlen;
	struct buf	 out;
	size_t		 outoff;
	long long	 filler_left;	/* huge=: bytes still to come */
	long long	 filler_pos;
	int		 chunked;	/* frame produced bytes as chunks */
	int		 close_after;
	int		 trickle_ms;
	double		 due;		/* answer, next byte */
};

static struct conn	**conns;
static size_t		 nconns, capconns;
static volatile sig_atomic_t got_term;
static const char	*root;

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

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: fake-target [-l addr:port]... [-P portfile] dir\n");
	exit(code);
}

static int
listen_on(const char *spec)
{
	struct sockaddr_in sin;
	char host[64], *colon;
	long port;
	int fd, one = 1;

	if (strlen(spec) >= sizeof(host))
		return -1;
	strcpy(host, spec);
	if ((colon = strrchr(host, ':')) == NULL)
		return -1;
	*colon = '\0';
	port = strtol(colon + 1, NULL, 10);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	if (port < 0 || port > 65535 ||
	    inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 512) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
conn_close(size_t i)
{
	struct conn *c = conns[i];

	close(c->fd);
	buf_release(&c->out);
	free(c);
	conns[i] = conns[--nconns];
}

/* Closes with SO_LINGER 0, so the peer sees a reset, not an end of file. */
static void
conn_reset(size_t i)
{
	struct linger l = { 1, 0 };

	setsockopt(conns[i]->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	conn_close(i);
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/* Byte i of the huge= filler: an endless JSON-looking array. */
static char
filler_byte(long long i)
{
	static const char head[] = "{\"aggregated_errors\":[";
	static const char body[] = "{\"aggregation_key\":\"filler\","
	    "\"total_count\":1},";

	if (i < (long long)sizeof(head) - 1)
		return head[i];
	i -= (long long)sizeof(head) - 1;
	return body[i % ((long long)sizeof(body) - 1)];
}

/* Appends produced body bytes, framed as a chunk when chunked. */
static void
add_body(struct conn *c, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (c->chunked)
		buf_addf(&c->out, "%zx\r\n", n);
	buf_add(&c->out, p, n);
	if (c->chunked)
		buf_adds(&c->out, "\r\n");
}

static void
produce_filler(struct conn *c)
{
	char piece[FILLER_PIECE];
	size_t n, k;

	n = c->filler_left > FILLER_PIECE ? FILLER_PIECE :
	    (size_t)c->filler_left;
	for (k = 0; k < n; k++)
		piece[k] = filler_byte(c->filler_pos + (long long)k);
	c->filler_pos += (long long)n;
	c->filler_left -= (long long)n;
	add_body(c, piece, n);
	if (c->filler_left == 0 && c->chunked)
		buf_adds(&c->out, "0\r\n\r\n");
}

static char *
read_file(const char *path, size_t *len)
{
	struct stat st;
	struct buf b;
	char tmp[8192];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	buf_init(&b);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)n);
	close(fd);
	return buf_detach(&b, len);
}

/* A query parameter's value (copied into val), or NULL when absent. */
static const char *
query_get(const char *q, const char *name, char *val, size_t len)
{
	size_t nl = strlen(name), vl;
	const char *p = q, *amp;

	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			vl = (amp ? (size_t)(amp - p) : strlen(p)) - nl - 1;
			if (vl >= len)
				vl = len - 1;
			memcpy(val, p + nl + 1, vl);
			val[vl] = '\0';
			return val;
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

static long long
query_num(const char *q, const char *name, long long def)
{
	char v[64];

	if (query_get(q, name, v, sizeof(v)) == NULL)
		return def;
	return strtoll(v, NULL, 10);
}

/* Whether the request's Authorization header is want, %20 meaning ' '. */
static int
auth_ok(const char *headers, const char *want)
{
	char exp[512], *w;
	const char *h, *e;
	size_t i;

	for (i = 0, w = exp; want[i] != '\0' && w < exp + sizeof(exp) - 1;) {
		if (strncmp(want + i, "%20", 3) == 0) {
			*w++ = ' ';
			i += 3;
		} else
			*w++ = want[i++];
	}
	*w = '\0';
	if ((h = strcasestr(headers, "\nauthorization:")) == NULL)
		return 0;
	h += 15;
	h += strspn(h, " \t");
	e = h + strcspn(h, "\r\n");
	return (size_t)(e - h) == strlen(exp) && strncmp(h, exp,
	    strlen(exp)) == 0;
}

/*
 * Handles the request in c->in (hlen bytes with its blank line).
 * Returns -1 when the connection must be reset at once.
 */
static int
respond(struct conn *c, size_t hlen)
{
	char line[2048], path[PATH_MAX], framing[32], ctype[128], want[512];
	char *method, *target, *version, *query, *sp, *body = NULL;
	const char *q;
	size_t blen = 0, ll;
	long long huge, delay;
	int status, http10, conn_close_hdr, missing = 0, bad = 0, gz;

	ll = strcspn(c->in, "\r\n");
	if (ll >= sizeof(line))
		ll = sizeof(line) - 1;
	memcpy(line, c->in, ll);
	line[ll] = '\0';
	c->in[hlen - 1] = '\0';
	conn_close_hdr = strcasestr(c->in + ll, "\nconnection: close") != NULL;

	method = line;
	target = version = NULL;
	if ((sp = strchr(method, ' ')) != NULL) {
		*sp = '\0';
		target = sp + 1;
		if ((sp = strchr(target, ' ')) != NULL) {
			*sp = '\0';
			version = sp + 1;
		}
	}
	if (target == NULL || version == NULL || *target != '/')
		bad = 1;
	http10 = version != NULL && strcmp(version, "HTTP/1.0") == 0;
	query = "";
	if (!bad && (sp = strchr(target, '?')) != NULL) {
		*sp = '\0';
		query = sp + 1;
	}
	q = query;
	if (query_num(q, "reset", 0))
		return -1;
	if (query_num(q, "hang", 0)) {
		c->state = C_HANG;
		return 0;
	}
	if (query_get(q, "framing", framing, sizeof(framing)) == NULL)
		strcpy(framing, "length");
	if (query_get(q, "ctype", ctype, sizeof(ctype)) == NULL)
		strcpy(ctype, "application/json");
	status = (int)query_num(q, "status", 200);
	want[0] = '\0';
	huge = query_num(q, "huge", -1);
	delay = query_num(q, "delay", 0);
	c->trickle_ms = (int)query_num(q, "trickle", 0);
	/* gzip=1: FILE.gz, made by the test, served as FILE gzip-encoded. */
	gz = (int)query_num(q, "gzip", 0);
	/* auth=VALUE (%20 for spaces): 401 unless Authorization is VALUE. */
	if (query_get(q, "auth", want, sizeof(want)) != NULL &&
	    !auth_ok(c->in + ll, want))
		status = 401;

	if (!bad && (strcmp(target, "/..") == 0 ||
	    strstr(target, "/../") != NULL ||
	    (strlen(target) >= 3 &&
	    strcmp(target + strlen(target) - 3, "/..") == 0)))
		bad = 1;
	if (bad)
		status = 400;
	else if (strcmp(method, "GET") != 0)
		status = 405;
	else if (status == 401)
		;
	else if (huge < 0) {
		snprintf(path, sizeof(path), "%s%s%s", root, target,
		    gz ? ".gz" : "");
		if ((body = read_file(path, &blen)) == NULL) {
			missing = 1;
			status = 404;
		}
	}
	if (status >= 400 && body == NULL && huge < 0) {
		body = xasprintf("%d %s\n", status, reason(status));
		blen = strlen(body);
		if (missing || bad)
			strcpy(ctype, "text/plain");
	}

	c->close_after = http10 || conn_close_hdr;
	c->chunked = 0;
	buf_reset(&c->out);
	c->outoff = 0;
	if (strcmp(framing, "close") == 0) {
		c->close_after = 1;
		buf_addf(&c->out, "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
		    "%s\r\n", status, reason(status), ctype,
		    gz && !missing ? "Content-Encoding: gzip\r\n" : "");
	} else {
		buf_addf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s",
		    status, reason(status), ctype,
		    gz && !missing ? "Content-Encoding: gzip\r\n" : "");
		if (strcmp(framing, "chunked") == 0 && !http10) {
			c->chunked = 1;
			buf_adds(&c->out, "Transfer-Encoding: chunked\r\n");
		} else
			buf_addf(&c->out, "Content-Length: %lld\r\n",
			    huge >= 0 && body == NULL ? huge :
			    (long long)blen);
		if (c->close_after)
			buf_adds(&c->out, "Connection: close\r\n");
		buf_adds(&c->out, "\r\n");
	}
	if (body != NULL || huge < 0) {
		add_body(c, body, blen);
		if (c->chunked)
			buf_adds(&c->out, "0\r\n\r\n");
		c->filler_left = 0;
	} else {
		c->filler_left = huge;
		c->filler_pos = 0;
		if (huge == 0 && c->chunked)
			buf_adds(&c->out, "0\r\n\r\n");
	}
	free(body);

	/* Keep what a pipelining client sent after this request. */
	memmove(c->in, c->in + hlen, c->inlen - hlen);
	c->inlen -= hlen;
	if (delay > 0) {
		c->state = C_WAIT;
		c->due = now_ms() + (double)delay;
	} else {
		c->state = C_WRITE;
		c->due = now_ms();
	}
	return 0;
}

/* The length of a complete request head in c->in, or 0. */
static size_t
head_len(struct conn *c)
{
	char *e;

	c->in[c->inlen] = '\0';
	if ((e = strstr(c->in, "\r\n\r\n")) != NULL)
		return (size_t)(e - c->in) + 4;
	if ((e = strstr(c->in, "\n\n")) != NULL)
		return (size_t)(e - c->in) + 2;
	return 0;
}

/* Returns -1 when the connection is gone (closed, or to close). */
static int
on_readable(size_t i)
{
	struct conn *c = conns[i];
	char discard[4096];
	ssize_t n;
	size_t h;

	if (c->state == C_HANG) {
		n = read(c->fd, discard, sizeof(discard));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		return 0;
	}
	n = read(c->fd, c->in + c->inlen, MAXREQ - 1 - c->inlen);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (n > 0)
		c->inlen += (size_t)n;
	if ((h = head_len(c)) > 0)
		return respond(c, h) == -1 ? -2 : 0;
	if (c->inlen >= MAXREQ - 1)
		return -1;
	return 0;
}

/* Returns -1 when the connection is to be closed. */
static int
on_writable(size_t i)
{
	struct conn *c = conns[i];
	size_t want;
	ssize_t n;
	double now;

	for (;;) {
		if (c->outoff == c->out.len) {
			buf_reset(&c->out);
			c->outoff = 0;
			if (c->filler_left > 0) {
				produce_filler(c);
				continue;
			}
			if (c->close_after) {
				shutdown(c->fd, SHUT_WR);
				return -1;
			}
			c->state = C_READ;
			if (c->inlen > 0 && head_len(c) > 0)
				return respond(c, head_len(c)) == -1 ? -2 : 0;
			return 0;
		}
		want = c->out.len - c->outoff;
		if (c->trickle_ms > 0) {
			now = now_ms();
			if (now < c->due)
				return 0;
			want = 1;
			c->due = now + c->trickle_ms;
		}
		n = write(c->fd, c->out.p + c->outoff, want);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->outoff += (size_t)n;
		if (c->trickle_ms > 0)
			return 0;
	}
}

static void
accept_all(int lfd)
{
	struct conn *c;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) !=
	    -1) {
		if (nconns == capconns) {
			capconns = capconns ? capconns * 2 : 64;
			conns = xreallocarray(conns, capconns, sizeof(*conns));
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->state = C_READ;
		buf_init(&c->out);
		conns[nconns++] = c;
	}
}

static void
write_portfile(const char *path, const int *ports, size_t n)
{
	char *tmp;
	FILE *f;
	size_t i;

	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "fake-target: '%s': %s\n", tmp,
		    strerror(errno));
		exit(EX_CANTCREAT);
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%d\n", ports[i]);
	if (fclose(f) == EOF || rename(tmp, path) == -1) {
		fprintf(stderr, "fake-target: '%s': %s\n", path,
		    strerror(errno));
		exit(EX_IOERR);
	}
	free(tmp);
}

int
main(int argc, char *argv[])
{
	const char *specs[MAXLISTEN], *portfile = NULL;
	struct sockaddr_in sin;
	struct pollfd *pfd = NULL;
	struct sigaction sa;
	struct timespec ts, *tsp;
	sigset_t block, empty;
	socklen_t sl;
	size_t nspecs = 0, i, npfd, capfd = 0, nl;
	int lfd[MAXLISTEN], ports[MAXLISTEN], ch, rc;
	double now, next;

	while ((ch = getopt(argc, argv, "hl:P:")) != -1) {
		switch (ch) {
		case 'l':
			if (nspecs == MAXLISTEN)
				usage(EX_USAGE);
			specs[nspecs++] = optarg;
			break;
		case 'P':
			portfile = optarg;
			break;
		case 'h':
			usage(0);
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc - 1)
		usage(EX_USAGE);
	root = argv[optind];
	if (nspecs == 0)
		specs[nspecs++] = "127.0.0.1:0";

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Signals arrive only inside ppoll, so none is missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);

	for (i = 0; i < nspecs; i++) {
		if ((lfd[i] = listen_on(specs[i])) == -1) {
			fprintf(stderr, "fake-target: '%s': cannot listen: "
			    "%s\n", specs[i], strerror(errno));
			return EX_UNAVAILABLE;
		}
		sl = sizeof(sin);
		getsockname(lfd[i], (struct sockaddr *)&sin, &sl);
		ports[i] = ntohs(sin.sin_port);
	}
	if (portfile != NULL)
		write_portfile(portfile, ports, nspecs);

	while (!got_term) {
		if (capfd < nspecs + nconns) {
			capfd = (nspecs + nconns) * 2;
			pfd = xreallocarray(pfd, capfd, sizeof(*pfd));
		}
		npfd = 0;
		for (i = 0; i < nspecs; i++) {
			pfd[npfd].fd = lfd[i];
			pfd[npfd++].events = POLLIN;
		}
		now = now_ms();
		next = -1;
		nl = nconns;
		for (i = 0; i < nl; i++) {
			struct conn *c = conns[i];

			pfd[npfd].fd = c->fd;
			pfd[npfd].events = 0;
			if (c->state == C_READ || c->state == C_HANG)
				pfd[npfd].events = POLLIN;
			else if (c->state == C_WRITE &&
			    (c->trickle_ms == 0 || c->due <= now))
				pfd[npfd].events = POLLOUT;
			if (c->state == C_WAIT || (c->state == C_WRITE &&
			    c->trickle_ms > 0)) {
				if (next < 0 || c->due < next)
					next = c->due;
			}
			npfd++;
		}
		tsp = NULL;
		if (next >= 0) {
			double w = next - now;

			if (w < 0)
				w = 0;
			ts.tv_sec = (time_t)(w / 1000);
			ts.tv_nsec = (long)((w - ts.tv_sec * 1000.0) * 1e6);
			tsp = &ts;
		}
		rc = ppoll(pfd, npfd, tsp, &empty);
		if (rc == -1 && errno != EINTR) {
			fprintf(stderr, "fake-target: poll: %s\n",
			    strerror(errno));
			return EX_OSERR;
		}
		if (rc == -1)
			continue;
		for (i = 0; i < nspecs; i++)
			if (pfd[i].revents & POLLIN)
				accept_all(lfd[i]);
		now = now_ms();
		/* Backwards, so closing (swap with the last) skips nothing. */
		for (i = nl; i-- > 0;) {
			struct conn *c = conns[i];
			short re = pfd[nspecs + i].revents;

			rc = 0;
			if (c->state == C_WAIT && c->due <= now) {
				c->state = C_WRITE;
				c->due = now;
			}
			if ((re & (POLLIN | POLLHUP | POLLERR)) &&
			    (c->state == C_READ || c->state == C_HANG))
				rc = on_readable(i);
			else if (c->state == C_WRITE &&
			    (re & (POLLOUT | POLLERR | POLLHUP) ||
			    (c->trickle_ms > 0 && c->due <= now)))
				rc = on_writable(i);
			if (rc == 0 && c->state == C_WRITE &&
			    c->trickle_ms == 0 && re == 0 &&
			    pfd[nspecs + i].events == 0)
				rc = on_writable(i);
			if (rc == -2)
				conn_reset(i);
			else if (rc == -1)
				conn_close(i);
		}
	}
	for (i = nconns; i-- > 0;)
		conn_close(i);
	free(conns);
	free(pfd);
	return 0;
}
