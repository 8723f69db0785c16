/* SPDX-License-Identifier: Apache-2.0 */
/* Starting programs as children, alone or joined by pipes, for periskop-run. */
#ifndef PERISKOP_SUPERVISE_H
#define PERISKOP_SUPERVISE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Starts the n argument vectors as one pipeline: each child's stdout is
 * the next one's stdin; the first's stdin is in, the last's stdout out
 * (-1: inherited; the caller keeps its descriptors open).  When
 * errfds is not NULL, child i's stderr is errfds[i] (-1: inherited).
 * Every other descriptor is close-on-exec, so no child holds a pipe end
 * it does not use (a pipe must see EOF when its writer dies).  Fills
 * pids[n].  Returns 0, or -1 with a message in err (the children already
 * started are killed).
 */
int	supervise_spawn(char *const *argvs[], size_t n, int in, int out,
	    const int *errfds, pid_t pids[], char *err, size_t errlen);
/* The exit code of a wait status: the code, or 128 + the signal. */
int	supervise_code(int status);

/*
 * Relays a child's stderr line by line to fd out, each line prefixed
 * with "name: " unless it already starts with it (our programs name
 * themselves; a crash message from the C library or a sanitizer does
 * not).  Lines longer than the buffer are cut into several lines.
 */
struct relay {
	const char	*name;		/* borrowed */
	char		 buf[4096];
	size_t		 len;
};

void	relay_init(struct relay *, const char *name);
/* Feeds n bytes; complete lines are written to out. */
void	relay_feed(struct relay *, const char *p, size_t n, int out);
/* Writes what is left of an unfinished last line. */
void	relay_flush(struct relay *, int out);

/*
 * Returns 1 when something accepts TCP connections at the listen address
 * ("host:port", "[v6]:port", ":port"; a wildcard host is tried on
 * loopback), 0 when not yet, -1 when the address is invalid.
 */
int	supervise_listening(const char *listen);

#endif
