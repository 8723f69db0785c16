/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the HTTP servers (periskop-serve, periskop-pushgateway) share
 * around libmicrohttpd: the listening socket, the security headers on
 * every answer, and a deadline for each request against slow clients.
 */
#ifndef PERISKOP_HTTPD_H
#define PERISKOP_HTTPD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#include <microhttpd.h>

#define HTTPD_BACKLOG	1024

/* Sent with every answer, ours and libmicrohttpd's own. */
#define HTTPD_NSECURE	3
extern const char *const httpd_secure_headers[HTTPD_NSECURE][2];

/*
 * Binds and listens on "addr:port" ("[v6]:port", ":port" for every
 * address).  Returns the descriptor (non-blocking, close-on-exec), -1
 * with err when the address cannot be used (EX_UNAVAILABLE), or -2 when
 * spec is not an address (EX_USAGE).
 */
int	httpd_listen(const char *spec, char *err, size_t errlen);

/*
 * libmicrohttpd answers a malformed request (400), an unknown HTTP
 * version (505) and an overflowing request line or headers (414, 431)
 * itself, with no option to add headers.  It queues those answers
 * through its exported MHD_queue_response, and the dynamic linker binds
 * that call to the program's definition first, which is here: every
 * answer gets the security headers.  Call once before the daemon starts;
 * -1 when libmicrohttpd's own function cannot be found.  A build of the
 * library that binds the call inside itself (-Bsymbolic) would lose the
 * headers on its own answers, and t0820 says so.
 */
int	httpd_secure_init(void);

/*
 * The deadline: a connection has seconds from its start, or from the end
 * of its last answer, until httpd_deadline_met says its request is in;
 * then it is shut down.  libmicrohttpd's own timeout only closes idle
 * connections, and a client that sends a byte every few seconds is never
 * idle.  Start the watchdog thread before the daemon, stop it after.
 */
int	httpd_deadline_start(unsigned int seconds);
void	httpd_deadline_stop(void);
/* For MHD_OPTION_NOTIFY_CONNECTION. */
void	httpd_deadline_notify(void *cls, struct MHD_Connection *,
	    void **socket_context, enum MHD_ConnectionNotificationCode);
/* The request is in: off the clock until the answer is sent. */
void	httpd_deadline_met(struct MHD_Connection *);
/* The answer is sent (from MHD_OPTION_NOTIFY_COMPLETED): on again. */
void	httpd_deadline_rearm(struct MHD_Connection *);

/* libmicrohttpd's messages, as one log_debug line each. */
void	httpd_log(void *cls, const char *fmt, va_list ap);

/* A server of ours: what differs between periskop-serve and the gateway. */
struct httpd_conf {
	const char			*listen;	/* "addr:port" */
	int				 verbose;	/* libmicrohttpd's log */
	MHD_AccessHandlerCallback	 handler;
	MHD_RequestCompletedCallback	 completed;	/* or NULL */
	unsigned int			 threads;
	unsigned int			 idle_s;	/* an idle connection */
	unsigned int			 request_s;	/* the deadline */
	size_t				 conn_memory;
	const struct MHD_OptionItem	*extra;		/* or NULL */
};

/*
 * Runs the server until SIGTERM or SIGINT: blocks them for sigwait
 * (call it before any thread is started), makes libmicrohttpd's answers
 * secure, listens, starts the daemon and the deadline, logs "listening
 * on", waits, and stops it all.  Returns the signal; a failure to start
 * ends the program with its status (EX_USAGE for a bad address,
 * EX_UNAVAILABLE for one that cannot be used).
 */
int	httpd_run(const struct httpd_conf *);

#endif
