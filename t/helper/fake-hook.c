/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fake-hook: a webhook receiver for the tests, on 127.0.0.1.  Appends
 * each POST body it accepts as one line to FILE, and "ID AUTH" to
 * FILE.headers; can fail the first N calls, answer late, or never.
 * usage: fake-hook PORT FILE [fail=N] [delay=MS] [hang=1] [status=CODE]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "xalloc.h"

static const char	*file;
static long		 fail, delay_ms, hang, status = 500;
static long		 calls;
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;

static enum MHD_Result
answer(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data,
    size_t *size, void **state)
{
	struct MHD_Response	*resp;
	struct buf		*b = *state;
	const char		*id, *auth;
	enum MHD_Result		 rc;
	long			 n;
	FILE			*fp;
	char			*hp;
	int			 code = 200;

	if (b == NULL) {
		b = xmalloc(sizeof(*b));
		buf_init(b);
		*state = b;
		return MHD_YES;
	}
	if (*size > 0) {
		buf_add(b, data, *size);
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&mu);
	n = ++calls;
	pthread_mutex_unlock(&mu);
	if (hang)
		sleep(3600);
	if (delay_ms > 0)
		usleep((useconds_t)delay_ms * 1000);
	if (n <= fail)
		code = (int)status;
	else {
		id = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    "X-Periskop-Message-Id");
		auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    "Authorization");
		pthread_mutex_lock(&mu);
		if ((fp = fopen(file, "a")) != NULL) {
			fprintf(fp, "%s\n", b->p);
			fclose(fp);
		}
		hp = xasprintf("%s.headers", file);
		if ((fp = fopen(hp, "a")) != NULL) {
			fprintf(fp, "%s %s\n", id ? id : "-",
			    auth ? auth : "-");
			fclose(fp);
		}
		free(hp);
		pthread_mutex_unlock(&mu);
	}
	resp = MHD_create_response_from_buffer(3, "ok\n",
	    MHD_RESPMEM_PERSISTENT);
	rc = MHD_queue_response(c, (unsigned)code, resp);
	MHD_destroy_response(resp);
	return rc;
}

static void
done(void *cls, struct MHD_Connection *c, void **state,
    enum MHD_RequestTerminationCode toe)
{
	struct buf	*b = *state;

	if (b != NULL) {
		buf_release(b);
		free(b);
	}
}

int
main(int argc, char *argv[])
{
	struct MHD_Daemon	*d;
	struct sockaddr_in	 sa;
	sigset_t		 set;
	int			 i, sig;

	if (argc < 3) {
		fprintf(stderr, "usage: fake-hook PORT FILE [fail=N] "
		    "[delay=MS] [hang=1] [status=CODE]\n");
		return 64;
	}
	file = argv[2];
	for (i = 3; i < argc; i++) {
		if (strncmp(argv[i], "fail=", 5) == 0)
			fail = atol(argv[i] + 5);
		else if (strncmp(argv[i], "delay=", 6) == 0)
			delay_ms = atol(argv[i] + 6);
		else if (strncmp(argv[i], "hang=", 5) == 0)
			hang = atol(argv[i] + 5);
		else if (strncmp(argv[i], "status=", 7) == 0)
			status = atol(argv[i] + 7);
		else
			return 64;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, answer, NULL,
	    MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, done,
	    NULL, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "fake-hook: cannot listen on %s\n", argv[1]);
		return 69;
	}
	sigwait(&set, &sig);
	/* Hanging handlers never end: no MHD_stop_daemon. */
	_exit(0);
}
