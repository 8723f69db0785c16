/* SPDX-License-Identifier: Apache-2.0 */
/* The notify spool: append, fsync, read back from an offset, compact. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "fdio.h"
#include "spool.h"
#include "xalloc.h"

#define SPOOL_MAGIC	"{\"periskop_spool\":1,\"base\":"
#define RING		4096	/* recent ids kept to skip replays */
#define READ_CHUNK	(256 * 1024)
#define KEEP_TAIL	(256 * 1024)	/* delivered bytes kept, at most */

struct spool {
	char		*dir;
	char		*path;
	int		 fd;
	uint64_t	 base;		/* absolute offset of the first line */
	uint64_t	 hdrlen;	/* bytes of the header line */
	uint64_t	 end;		/* absolute offset after the last line */
	uint64_t	 max;
	uint64_t	 dropped;
	uint64_t	 ring[RING];
	size_t		 nring, ringpos;
};

uint64_t
spool_id(const char *line, size_t len)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)line[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
ring_add(struct spool *s, uint64_t id)
{
	s->ring[s->ringpos] = id;
	s->ringpos = (s->ringpos + 1) % RING;
	if (s->nring < RING)
		s->nring++;
}

static int
ring_has(const struct spool *s, uint64_t id)
{
	size_t	 i;

	for (i = 0; i < s->nring; i++)
		if (s->ring[i] == id)
			return 1;
	return 0;
}

static int
sync_dir(const char *dir)
{
	int	 fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Writes a new spool file holding header + bytes, durably, at path. */
static int
write_file(const char *dir, const char *path, uint64_t base, int src,
    off_t from, uint64_t len, char *err, size_t errlen)
{
	char	 hdr[64], *tmp, *chunk = NULL;
	ssize_t	 r;
	size_t	 want;
	int	 fd;

	tmp = xasprintf("%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		goto fail;
	snprintf(hdr, sizeof(hdr), SPOOL_MAGIC "%" PRIu64 "}\n", base);
	if (fd_write_all(fd, hdr, strlen(hdr)) == -1)
		goto fail;
	chunk = xmalloc(READ_CHUNK);
	while (len > 0) {
		want = len < READ_CHUNK ? (size_t)len : READ_CHUNK;
		if ((r = pread(src, chunk, want, from)) <= 0) {
			if (r == 0)
				errno = EIO;
			goto fail;
		}
		if (fd_write_all(fd, chunk, (size_t)r) == -1)
			goto fail;
		from += r;
		len -= (uint64_t)r;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1 || sync_dir(dir) == -1)
		goto fail;
	free(chunk);
	free(tmp);
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(chunk);
	free(tmp);
	return -1;
}

/* Reads the header and finds the end of the last whole line. */
static int
load(struct spool *s, char *err, size_t errlen)
{
	char		 hdr[64], *chunk, *p, *nl;
	struct stat	 st;
	ssize_t		 r;
	off_t		 pos, last;
	uint64_t	 id;

	if (fstat(s->fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	if ((r = pread(s->fd, hdr, sizeof(hdr) - 1, 0)) < 0) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	hdr[r] = '\0';
	errno = 0;
	if (strncmp(hdr, SPOOL_MAGIC, strlen(SPOOL_MAGIC)) != 0 ||
	    (nl = strchr(hdr, '\n')) == NULL || nl[-1] != '}') {
		snprintf(err, errlen, "%s: byte 0: not a periskop-notify "
		    "spool", s->path);
		return -1;
	}
	s->base = strtoull(hdr + strlen(SPOOL_MAGIC), &p, 10);
	if (p != nl - 1) {
		snprintf(err, errlen, "%s: byte %zu: bad spool header",
		    s->path, (size_t)(p - hdr));
		return -1;
	}
	s->hdrlen = (uint64_t)(nl - hdr) + 1;
	/* Every line, for the end and the ids of the last RING. */
	chunk = xmalloc(READ_CHUNK);
	last = pos = (off_t)s->hdrlen;
	id = 0xcbf29ce484222325ULL;
	while ((r = pread(s->fd, chunk, READ_CHUNK, pos)) > 0) {
		for (p = chunk; p < chunk + r; p++) {
			if (*p != '\n') {
				id ^= (unsigned char)*p;
				id *= 0x100000001b3ULL;
				continue;
			}
			ring_add(s, id);
			id = 0xcbf29ce484222325ULL;
			last = pos + (p - chunk) + 1;
		}
		pos += r;
	}
	free(chunk);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	if (last < st.st_size) {
		log_warnx("%s: byte %lld: dropping a line cut short (%lld "
		    "bytes)", s->path, (long long)last,
		    (long long)(st.st_size - last));
		if (ftruncate(s->fd, last) == -1 || fsync(s->fd) == -1) {
			snprintf(err, errlen, "%s: %s", s->path,
			    strerror(errno));
			return -1;
		}
	}
	s->end = s->base + (uint64_t)last - s->hdrlen;
	return 0;
}

struct spool *
spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
	struct spool	*s;

	s = xcalloc(1, sizeof(*s));
	s->dir = xstrdup(dir);
	s->path = xasprintf("%s/events", dir);
	s->max = max_bytes;
	s->fd = -1;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (access(s->path, F_OK) == -1 && errno == ENOENT &&
	    write_file(dir, s->path, 0, -1, 0, 0, err, errlen) == -1)
		goto fail;
	if ((s->fd = open(s->path, O_RDWR | O_APPEND | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		goto fail;
	}
	if (load(s, err, errlen) == -1)
		goto fail;
	return s;
fail:
	spool_close(s);
	return NULL;
}

void
spool_close(struct spool *s)
{
	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	free(s->dir);
	free(s->path);
	free(s);
}

int
spool_append(struct spool *s, const char *line, size_t len, char *err,
    size_t errlen)
{
	uint64_t	 id = spool_id(line, len);
	char		*tmp;
	int		 rc;

	if (ring_has(s, id))
		return 0;
	if (s->hdrlen + (s->end - s->base) + len + 1 > s->max) {
		s->dropped++;
		return -2;
	}
	tmp = xmalloc(len + 1);
	memcpy(tmp, line, len);
	tmp[len] = '\n';
	rc = fd_write_all(s->fd, tmp, len + 1);
	free(tmp);
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		/* A part written is cut off at the next start. */
		return -1;
	}
	s->end += len + 1;
	ring_add(s, id);
	return 1;
}

int
spool_sync(struct spool *s, char *err, size_t errlen)
{
	if (fdatasync(s->fd) == -1) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	return 0;
}

uint64_t
spool_begin(const struct spool *s)
{
	return s->base;
}

uint64_t
spool_end(const struct spool *s)
{
	return s->end;
}

uint64_t
spool_dropped(const struct spool *s)
{
	return s->dropped;
}

long
spool_read(struct spool *s, uint64_t off, size_t max, struct spool_line *out,
    char *err, size_t errlen)
{
	char	*chunk, *p, *q, *stop;
	ssize_t	 r;
	size_t	 n = 0, want;

	if (off < s->base)
		off = s->base;
	if (off >= s->end || max == 0)
		return 0;
	want = s->end - off < READ_CHUNK ? (size_t)(s->end - off) :
	    READ_CHUNK;
	chunk = xmalloc(want);
	if ((r = pread(s->fd, chunk, want, (off_t)(off - s->base +
	    s->hdrlen))) < 0) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		free(chunk);
		return -1;
	}
	stop = chunk + r;
	for (p = chunk; p < stop && n < max; p = q + 1) {
		if ((q = memchr(p, '\n', (size_t)(stop - p))) == NULL)
			break;
		out[n].len = (size_t)(q - p);
		out[n].line = xmalloc(out[n].len + 1);
		memcpy(out[n].line, p, out[n].len);
		out[n].line[out[n].len] = '\0';
		out[n].next = off + (uint64_t)(q + 1 - chunk);
		n++;
	}
	if (n == 0 && r > 0 && (size_t)r == READ_CHUNK) {
		/* A line longer than a chunk: skip it, it cannot be ours. */
		log_warnx("%s: byte %" PRIu64 ": line over %d bytes skipped",
		    s->path, off - s->base + s->hdrlen, READ_CHUNK);
		free(chunk);
		out[0].line = xstrdup("");
		out[0].len = 0;
		for (out[0].next = off + READ_CHUNK; out[0].next < s->end;) {
			char	 c;

			if (pread(s->fd, &c, 1, (off_t)(out[0].next - s->base +
			    s->hdrlen)) != 1)
				break;
			out[0].next++;
			if (c == '\n')
				break;
		}
		return 1;
	}
	free(chunk);
	return (long)n;
}

void
spool_lines_free(struct spool_line *l, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(l[i].line);
}

static char *
offset_path(const struct spool *s, const char *name)
{
	return xasprintf("%s/%s.offset", s->dir, name);
}

int
spool_offset_load(struct spool *s, const char *name, uint64_t *off,
    char *err, size_t errlen)
{
	char	*path, buf[32], *p;
	FILE	*fp;
	size_t	 n;

	path = offset_path(s, name);
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(path);
			return -1;
		}
		free(path);
		*off = s->end;
		return spool_offset_save(s, name, *off, err, errlen);
	}
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	errno = 0;
	*off = strtoull(buf, &p, 10);
	if (p == buf || (*p != '\n' && *p != '\0') || errno != 0) {
		snprintf(err, errlen, "%s: byte %zu: not an offset", path,
		    (size_t)(p - buf));
		free(path);
		errno = 0;
		return -1;
	}
	if (*off > s->end) {
		log_warnx("%s: offset %" PRIu64 " past the spool's end %"
		    PRIu64 "; starting there", path, *off, s->end);
		*off = s->end;
	} else if (*off < s->base) {
		log_warnx("%s: offset %" PRIu64 " before the spool's start %"
		    PRIu64 "; starting there", path, *off, s->base);
		*off = s->base;
	}
	free(path);
	return 0;
}

int
spool_offset_save(struct spool *s, const char *name, uint64_t off,
    char *err, size_t errlen)
{
	char	*path, *tmp, buf[32];
	int	 fd, n;

	path = offset_path(s, name);
	tmp = xasprintf("%s.new", path);
	n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", off);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || fd_write_all(fd, buf, (size_t)n) == -1 ||
	    fdatasync(fd) == -1 || close(fd) == -1 ||
	    (fd = -1, rename(tmp, path) == -1) || sync_dir(s->dir) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd != -1)
			close(fd);
		unlink(tmp);
		free(tmp);
		free(path);
		return -1;
	}
	free(tmp);
	free(path);
	return 0;
}

/* The first line boundary at or after off. */
static uint64_t
line_start(struct spool *s, uint64_t off)
{
	char	 c;

	if (off <= s->base)
		return s->base;
	while (off < s->end) {
		if (pread(s->fd, &c, 1, (off_t)(off - 1 - s->base +
		    s->hdrlen)) != 1)
			return s->end;
		if (c == '\n')
			break;
		off++;
	}
	return off;
}

int
spool_compact(struct spool *s, uint64_t off, char *err, size_t errlen)
{
	int	 fd;

	uint64_t keep = s->max / 4 < KEEP_TAIL ? s->max / 4 : KEEP_TAIL;

	/* A delivered tail stays, for the ids of a replay after a restart. */
	if (s->end - off < keep)
		off = line_start(s, s->end > s->base + keep ? s->end - keep :
		    s->base);
	if (off <= s->base || off > s->end || (off - s->base) * 2 <
	    s->end - s->base)
		return 0;
	if (write_file(s->dir, s->path, off, s->fd, (off_t)(off - s->base +
	    s->hdrlen), s->end - off, err, errlen) == -1)
		return -1;
	if ((fd = open(s->path, O_RDWR | O_APPEND | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
		return -1;
	}
	close(s->fd);
	s->fd = fd;
	s->hdrlen = (uint64_t)snprintf(NULL, 0, SPOOL_MAGIC "%" PRIu64 "}\n",
	    off);
	s->base = off;
	return 0;
}
