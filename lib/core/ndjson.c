/* SPDX-License-Identifier: Apache-2.0 */
/* Line splitting for NDJSON input, with a bound on line length. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndjson.h"
#include "xalloc.h"

#define READ_CHUNK	(64 * 1024)

struct ndjson_reader {
	int		 fd;
	size_t		 maxline;
	char		*buf;
	size_t		 cap;
	size_t		 start;		/* first unconsumed byte */
	size_t		 end;		/* one past the last byte read */
	size_t		 scanned;	/* bytes after start known to hold no '\n' */
	int		 eof;
	int		 skipping;	/* inside a line over the bound */
	uint64_t	 consumed;	/* input offset of buf[0] */
	uint64_t	 lineno;	/* lines started so far */
	uint64_t	 line_offset;	/* offset of the last line returned */
	uint64_t	 line_no;	/* its number */
};

struct ndjson_reader *
ndjson_reader_new(int fd, size_t maxline)
{
	struct ndjson_reader *r;

	r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->maxline = maxline ? maxline : NDJSON_MAXLINE;
	r->cap = READ_CHUNK;
	r->buf = xmalloc(r->cap + 1);
	return r;
}

void
ndjson_reader_free(struct ndjson_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

int
ndjson_fill(struct ndjson_reader *r)
{
	ssize_t n;

	if (r->eof)
		return NDJSON_EOF;
	/* Move the unconsumed tail to the front before reading more. */
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->consumed += r->start;
		r->end -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end < READ_CHUNK / 4) {
		r->cap *= 2;
		r->buf = xreallocarray(r->buf, r->cap + 1, 1);
	}
	/* EINTR is returned, not retried: callers check their signal flags. */
	n = read(r->fd, r->buf + r->end, r->cap - r->end);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ?
		    NDJSON_AGAIN : NDJSON_ERROR;
	if (n == 0) {
		r->eof = 1;
		return NDJSON_EOF;
	}
	r->end += (size_t)n;
	return NDJSON_LINE;
}

/* Marks bytes [start, stop) as one line and consumes it with its newline. */
static void
take(struct ndjson_reader *r, size_t stop, size_t next)
{
	r->line_offset = r->consumed + r->start;
	r->line_no = ++r->lineno;
	r->buf[stop] = '\0';
	r->start = next;
	r->scanned = 0;
}

int
ndjson_next(struct ndjson_reader *r, const char **line, size_t *len)
{
	char *nl;
	size_t from, stop;

	for (;;) {
		from = r->start + r->scanned;
		nl = memchr(r->buf + from, '\n', r->end - from);
		if (nl == NULL) {
			r->scanned = r->end - r->start;
			if (r->scanned > r->maxline && !r->skipping) {
				/* Report once, then drop bytes until the newline. */
				r->skipping = 1;
				r->line_offset = r->consumed + r->start;
				r->line_no = ++r->lineno;
				r->consumed += r->end;
				r->start = r->end = r->scanned = 0;
				return NDJSON_TOOLONG;
			}
			if (r->skipping) {
				r->consumed += r->end;
				r->start = r->end = r->scanned = 0;
			}
			if (!r->eof)
				return NDJSON_AGAIN;
			if (r->start == r->end || r->skipping) {
				r->skipping = 0;
				return NDJSON_EOF;
			}
			from = r->start;
			stop = r->end;
			take(r, stop, r->end);
			if (stop > from && r->buf[stop - 1] == '\r')
				r->buf[--stop] = '\0';
			if (stop == from)
				continue;
			*line = r->buf + from;
			*len = stop - from;
			return NDJSON_LINE;
		}
		stop = (size_t)(nl - r->buf);
		if (r->skipping) {
			r->skipping = 0;
			r->start = stop + 1;
			r->scanned = 0;
			continue;
		}
		if (stop - r->start > r->maxline) {
			r->line_offset = r->consumed + r->start;
			r->line_no = ++r->lineno;
			r->start = stop + 1;
			r->scanned = 0;
			return NDJSON_TOOLONG;
		}
		from = r->start;
		take(r, stop, stop + 1);
		/* Tolerate CRLF line ends. */
		if (stop > from && r->buf[stop - 1] == '\r')
			r->buf[--stop] = '\0';
		if (stop == from)
			continue;
		*line = r->buf + from;
		*len = stop - from;
		return NDJSON_LINE;
	}
}

int
ndjson_read(struct ndjson_reader *r, const char **line, size_t *len)
{
	int rc;

	for (;;) {
		rc = ndjson_next(r, line, len);
		if (rc != NDJSON_AGAIN)
			return rc;
		rc = ndjson_fill(r);
		if (rc == NDJSON_ERROR || rc == NDJSON_AGAIN)
			return NDJSON_ERROR;	/* errno says why, EINTR too */
	}
}

uint64_t
ndjson_lineno(const struct ndjson_reader *r)
{
	return r->line_no;
}

uint64_t
ndjson_offset(const struct ndjson_reader *r)
{
	return r->line_offset;
}

int
ndjson_write(FILE *f, const char *line, size_t len)
{
	if (fwrite(line, 1, len, f) != len || putc('\n', f) == EOF)
		return -1;
	return 0;
}
