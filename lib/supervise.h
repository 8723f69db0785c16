/* SPDX-License-Identifier: Apache-2.0 */
/* Starting programs as children, alone or joined by pipes, for periskop-run. */
#ifndef PERISKOP_SUPERVISE_H
#define PERISKOP_SUPERVISE_H

#include <sys/types.h>

/*
 * Starts the n argument vectors as one pipeline: each child's stdout is
 * the next one's stdin; the first inherits stdin, the last stdout.  Every
 * other descriptor is close-on-exec, so no child holds a pipe end it does
 * not use (a pipe must see EOF when its writer dies).  Fills pids[n].
 * Returns 0, or -1 with a message in err (the children already started
 * are killed).
 */
int	supervise_spawn(char *const *argvs[], size_t n, pid_t pids[],
	    char *err, size_t errlen);
/* The exit code of a wait status: the code, or 128 + the signal. */
int	supervise_code(int status);

#endif
