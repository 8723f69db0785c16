/* SPDX-License-Identifier: Apache-2.0 */
/* Whole writes to a descriptor. */
#ifndef PERISKOP_FDIO_H
#define PERISKOP_FDIO_H

#include <stddef.h>

/* Writes all n bytes, again after EINTR.  0, or -1 with errno. */
int	fd_write_all(int fd, const void *p, size_t n);

#endif
