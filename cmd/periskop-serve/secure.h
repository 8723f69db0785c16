/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The security headers on the answers libmicrohttpd gives by itself, to
 * requests it cannot take in, before periskop-serve's handler runs.
 */
#ifndef SECURE_H
#define SECURE_H

/* Finds libmicrohttpd's own MHD_queue_response; -1 if it cannot. */
int	secure_init(void);

#endif
