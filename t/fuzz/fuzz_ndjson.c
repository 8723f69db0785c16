/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the NDJSON reader over a pipe fed in random chunks. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * What the reader must return, computed the simple way: every segment
 * before a newline (and a last one without) is a line; over maxline bytes
 * it is TOOLONG; one trailing CR is dropped; empty lines are skipped.
 */
struct expect {
	const uint8_t	*data;
	size_t		 size;
	size_t		 pos;		/* start of the next segment */
	uint64_t	 seg;		/* segments passed */
	size_t		 maxline;
};

static int
expect_next(struct expect *e, const uint8_t **line, size_t *len,
    uint64_t *no, uint64_t *off)
{
	const uint8_t *nl;
	size_t start, stop, raw;

	while (e->pos < e->size) {
		start = e->pos;
		nl = memchr(e->data + start, '\n', e->size - start);
		stop = nl != NULL ? (size_t)(nl - e->data) : e->size;
		e->pos = nl != NULL ? stop + 1 : e->size;
		e->seg++;
		raw = stop - start;
		*no = e->seg;
		*off = start;
		if (raw > e->maxline)
			return NDJSON_TOOLONG;
		if (raw > 0 && e->data[stop - 1] == '\r')
			raw--;
		if (raw == 0)
			continue;
		*line = e->data + start;
		*len = raw;
		return NDJSON_LINE;
	}
	return NDJSON_EOF;
}

/* Takes every line the reader has now and checks it against e. */
static void
drain(struct ndjson_reader *r, struct expect *e, int until)
{
	const char *line;
	const uint8_t *want;
	size_t len, wlen;
	uint64_t no, off;
	int rc, wrc;

	for (;;) {
		rc = ndjson_next(r, &line, &len);
		if (rc == until)
			return;
		if (rc != NDJSON_LINE && rc != NDJSON_TOOLONG)
			abort();
		wrc = expect_next(e, &want, &wlen, &no, &off);
		if (rc != wrc || ndjson_lineno(r) != no ||
		    ndjson_offset(r) != off)
			abort();
		if (rc == NDJSON_LINE && (len != wlen ||
		    memcmp(line, want, len) != 0 || line[len] != '\0'))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ndjson_reader *r;
	struct expect e;
	const uint8_t *want;
	size_t off, n, wlen;
	uint64_t no, woff;
	unsigned seed;
	int fds[2];

	if (size < 2 || size > 60000)
		return 0;
	memset(&e, 0, sizeof(e));
	e.maxline = 1 + (size_t)data[0] * 4;
	seed = data[1];
	e.data = data + 2;
	e.size = size - 2;
	if (pipe(fds) == -1)
		abort();
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) == -1)
		abort();
	r = ndjson_reader_new(fds[0], e.maxline);
	for (off = 0; off < e.size; off += n) {
		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 300;
		if (n > e.size - off)
			n = e.size - off;
		if (write(fds[1], e.data + off, n) != (ssize_t)n)
			abort();
		while (ndjson_fill(r) == NDJSON_LINE)
			drain(r, &e, NDJSON_AGAIN);
	}
	close(fds[1]);
	while (ndjson_fill(r) != NDJSON_EOF)
		;
	drain(r, &e, NDJSON_EOF);
	if (expect_next(&e, &want, &wlen, &no, &woff) != NDJSON_EOF)
		abort();
	ndjson_reader_free(r);
	close(fds[0]);
	return 0;
}
