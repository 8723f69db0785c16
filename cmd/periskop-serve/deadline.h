/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A deadline for each request's line and headers, against slow clients:
 * libmicrohttpd's timeout only closes idle connections, and a client that
 * sends one byte every few seconds is never idle.
 */
#ifndef DEADLINE_H
#define DEADLINE_H

#include <microhttpd.h>

/* Starts the watchdog thread; a request has seconds to arrive whole. */
int	deadline_start(unsigned int seconds);
void	deadline_stop(void);

/* For MHD_OPTION_NOTIFY_CONNECTION. */
void	deadline_notify(void *cls, struct MHD_Connection *,
	    void **socket_context, enum MHD_ConnectionNotificationCode);
/* The request's headers are in: off the clock until the response is done. */
void	deadline_met(struct MHD_Connection *);
/* The response is sent: the clock runs again for the next request. */
void	deadline_rearm(struct MHD_Connection *);

#endif
