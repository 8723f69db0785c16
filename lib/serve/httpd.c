/* SPDX-License-Identifier: Apache-2.0 */
/* The frame our HTTP servers share around libmicrohttpd. */
#include <sys/socket.h>

#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"
#include "log.h"
#include "xalloc.h"

const char *const httpd_secure_headers[HTTPD_NSECURE][2] = {
	{ "X-Content-Type-Options", "nosniff" },
	{ "Content-Security-Policy", "default-src 'self'; "
	    "img-src 'self' data:; style-src 'self'; script-src 'self'; "
	    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'" },
	{ "Referrer-Policy", "no-referrer" },
};

int
httpd_listen(const char *spec, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char *host, *port;
	int fd = -1, one = 1, e;

	host = xstrdup(spec);
	if ((port = strrchr(host, ':')) == NULL || port[1] == '\0') {
		snprintf(err, errlen, "'%s': want address:port", spec);
		free(host);
		return -2;
	}
	*port++ = '\0';
	if (host[0] == '[' && port - host >= 3 && port[-2] == ']') {
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints,
	    &res)) != 0) {
		snprintf(err, errlen, "'%s': %s", spec, gai_strerror(e));
		free(host);
		return -1;
	}
	e = 0;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, HTTPD_BACKLOG) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	free(host);
	if (fd == -1)
		snprintf(err, errlen, "'%s': %s", spec, strerror(e));
	return fd;
}

/* Security headers ---------------------------------------------------- */

static enum MHD_Result (*lib_queue_response)(struct MHD_Connection *,
    unsigned int, struct MHD_Response *);

int
httpd_secure_init(void)
{
	void *f;

	if ((f = dlsym(RTLD_NEXT, "MHD_queue_response")) == NULL)
		return -1;
	/* POSIX's way from dlsym's object pointer to a function pointer. */
	memcpy(&lib_queue_response, &f, sizeof(f));
	return 0;
}

/*
 * Every answer passes here (see httpd.h): ours carry the headers already
 * and go out unchanged; libmicrohttpd's get them, and the type of their
 * fixed HTML body.  Each of those is a new response, so adding to it
 * races with nothing.
 */
enum MHD_Result
MHD_queue_response(struct MHD_Connection *c, unsigned int status,
    struct MHD_Response *r)
{
	size_t i;

	if (lib_queue_response == NULL && httpd_secure_init() == -1)
		return MHD_NO;
	if (r != NULL &&
	    MHD_get_response_header(r, httpd_secure_headers[0][0]) == NULL) {
		if (MHD_get_response_header(r,
		    MHD_HTTP_HEADER_CONTENT_TYPE) == NULL)
			MHD_add_response_header(r,
			    MHD_HTTP_HEADER_CONTENT_TYPE,
			    "text/html; charset=utf-8");
		for (i = 0; i < HTTPD_NSECURE; i++)
			MHD_add_response_header(r, httpd_secure_headers[i][0],
			    httpd_secure_headers[i][1]);
	}
	return lib_queue_response(c, status, r);
}

/* Deadline ------------------------------------------------------------ */

struct watched {
	struct watched	*prev, *next;
	int		 fd;
	int64_t		 since;		/* ms; 0: a request is being served */
};

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 wake = PTHREAD_COND_INITIALIZER;
static struct watched	*head;
static pthread_t	 thread;
static int64_t		 limit_ms;
static int		 running;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * shutdown(2) rather than close(2): the descriptor stays libmicrohttpd's,
 * whose next read sees the end and closes the connection in its own
 * thread.  The entry is removed under the lock before the descriptor is
 * closed (httpd_deadline_notify), so fd is never a reused number here.
 */
static void *
watchdog(void *arg)
{
	struct watched *w;
	struct timespec ts;
	int64_t t;
	unsigned long n;

	pthread_mutex_lock(&lock);
	while (running) {
		t = now_ms();
		n = 0;
		for (w = head; w != NULL; w = w->next)
			if (w->since != 0 && t - w->since > limit_ms &&
			    shutdown(w->fd, SHUT_RDWR) == 0) {
				w->since = 0;
				n++;
			}
		if (n > 0)
			log_info("closed %lu connections whose request took "
			    "over %lld s to arrive", n,
			    (long long)(limit_ms / 1000));
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&wake, &lock, &ts);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
httpd_deadline_start(unsigned int seconds)
{
	limit_ms = (int64_t)seconds * 1000;
	running = 1;
	if ((errno = pthread_create(&thread, NULL, watchdog, NULL)) != 0) {
		running = 0;
		return -1;
	}
	return 0;
}

void
httpd_deadline_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	running = 0;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
}

void
httpd_deadline_notify(void *cls, struct MHD_Connection *c,
    void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *ci;
	struct watched *w;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL)
			return;
		w = xcalloc(1, sizeof(*w));
		w->fd = ci->connect_fd;
		w->since = now_ms();
		pthread_mutex_lock(&lock);
		w->next = head;
		if (head != NULL)
			head->prev = w;
		head = w;
		pthread_mutex_unlock(&lock);
		*socket_context = w;
		return;
	}
	if ((w = *socket_context) == NULL)
		return;
	pthread_mutex_lock(&lock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&lock);
	free(w);
	*socket_context = NULL;
}

static void
set_since(struct MHD_Connection *c, int64_t since)
{
	const union MHD_ConnectionInfo *ci;
	struct watched *w;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci == NULL || (w = ci->socket_context) == NULL)
		return;
	pthread_mutex_lock(&lock);
	w->since = since;
	pthread_mutex_unlock(&lock);
}

void
httpd_deadline_met(struct MHD_Connection *c)
{
	set_since(c, 0);
}

void
httpd_deadline_rearm(struct MHD_Connection *c)
{
	set_since(c, now_ms());
}

void
httpd_log(void *cls, const char *fmt, va_list ap)
{
	/* libmicrohttpd's own format strings. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
#pragma GCC diagnostic pop
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_debug("libmicrohttpd: %s", msg);
}

int
httpd_run(const struct httpd_conf *hc)
{
	static const struct MHD_OptionItem none[] = {
		{ MHD_OPTION_END, 0, NULL }
	};
	struct MHD_Daemon	*d;
	char			 err[512];
	sigset_t		 sigs;
	unsigned int		 flags;
	int			 fd, sig;

	signal(SIGPIPE, SIG_IGN);
	/* Blocked before the workers start, so only sigwait sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if ((errno = pthread_sigmask(SIG_BLOCK, &sigs, NULL)) != 0)
		fatal(EX_OSERR, "pthread_sigmask");
	if (httpd_secure_init() == -1)
		fatalx(EX_SOFTWARE, "MHD_queue_response: not found in "
		    "libmicrohttpd");
	if ((fd = httpd_listen(hc->listen, err, sizeof(err))) < 0)
		fatalx(fd == -2 ? EX_USAGE : EX_UNAVAILABLE, "%s", err);
	flags = MHD_USE_INTERNAL_POLLING_THREAD;
	flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ?
	    MHD_USE_EPOLL : MHD_USE_POLL;
	if (hc->verbose)
		flags |= MHD_USE_ERROR_LOG;
	d = MHD_start_daemon(flags, 0, NULL, NULL, hc->handler, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, httpd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_THREAD_POOL_SIZE, hc->threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, hc->idle_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, hc->conn_memory,
	    MHD_OPTION_NOTIFY_COMPLETED, hc->completed, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, httpd_deadline_notify, NULL,
	    MHD_OPTION_ARRAY, hc->extra != NULL ? hc->extra : none,
	    MHD_OPTION_END);
	if (d == NULL)
		fatalx(EX_UNAVAILABLE, "'%s': cannot start the HTTP server",
		    hc->listen);
	if (httpd_deadline_start(hc->request_s) == -1)
		fatal(EX_OSERR, "pthread_create");
	log_info("listening on '%s'", hc->listen);
	while (sigwait(&sigs, &sig) != 0)
		;
	log_debug("signal %d: stopping", sig);
	httpd_deadline_stop();
	MHD_stop_daemon(d);
	close(fd);
	return sig;
}
