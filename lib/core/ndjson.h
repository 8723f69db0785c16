/* SPDX-License-Identifier: Apache-2.0 */
/* Reading newline-delimited JSON from a file descriptor, with bounded lines. */
#ifndef PERISKOP_NDJSON_H
#define PERISKOP_NDJSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define NDJSON_MAXLINE	(64u * 1024 * 1024)	/* the default bound */

enum {
	NDJSON_EOF = 0,		/* end of input */
	NDJSON_LINE,		/* *line holds one line */
	NDJSON_TOOLONG,		/* a line over the bound was skipped */
	NDJSON_AGAIN,		/* ndjson_next: read more first */
	NDJSON_ERROR		/* read(2) failed; errno says why */
};

struct ndjson_reader;

/* The reader borrows fd; it never closes it. */
struct ndjson_reader	*ndjson_reader_new(int fd, size_t maxline);
void			 ndjson_reader_free(struct ndjson_reader *);

/*
 * Blocking: returns NDJSON_LINE with the next line (NUL-terminated, without
 * its newline, borrowed until the next call), NDJSON_TOOLONG, NDJSON_EOF
 * or NDJSON_ERROR (errno set; EINTR when a signal interrupted the read,
 * so the caller can check its flags and call again).  Empty lines are
 * skipped; a last line without a newline is still a line.
 */
int	 ndjson_read(struct ndjson_reader *, const char **line, size_t *len);

/*
 * Non-blocking use, for a caller that polls fd itself: ndjson_fill does
 * one read(2) and returns NDJSON_LINE when it got bytes (call ndjson_next
 * until NDJSON_AGAIN), NDJSON_AGAIN when fd had none, NDJSON_EOF or
 * NDJSON_ERROR.  After NDJSON_EOF, ndjson_next returns what is left and
 * then NDJSON_EOF.
 */
int	 ndjson_fill(struct ndjson_reader *);
int	 ndjson_next(struct ndjson_reader *, const char **line, size_t *len);

/* Where the last returned (or skipped) line started: for messages. */
uint64_t ndjson_lineno(const struct ndjson_reader *);
uint64_t ndjson_offset(const struct ndjson_reader *);

/*
 * Writes len bytes and a newline to f.  Returns 0, or -1 with errno set
 * (EPIPE when the reader went away).
 */
int	 ndjson_write(FILE *f, const char *line, size_t len);

#endif
