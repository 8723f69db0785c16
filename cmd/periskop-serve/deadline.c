/* SPDX-License-Identifier: Apache-2.0 */
/* Closes connections whose request takes too long to arrive (slowloris). */
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <microhttpd.h>

#include "deadline.h"
#include "log.h"
#include "xalloc.h"

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
 * closed (deadline_notify), so fd is never a reused number here.
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
deadline_start(unsigned int seconds)
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
deadline_stop(void)
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
deadline_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
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
deadline_met(struct MHD_Connection *c)
{
	set_since(c, 0);
}

void
deadline_rearm(struct MHD_Connection *c)
{
	set_since(c, now_ms());
}
