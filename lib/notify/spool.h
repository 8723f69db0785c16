/* SPDX-License-Identifier: Apache-2.0 */
/*
 * periskop-notify's spool: an append-only file of event lines, fsync'd
 * before they are acknowledged, and one offset file per receiver saying
 * how far it has been delivered.  Offsets are absolute byte positions in
 * the stream of all lines ever spooled; the file's first line says where
 * it starts, so dropping a delivered prefix never rewrites an offset.
 * Not thread-safe: the caller serialises calls.
 */
#ifndef PERISKOP_SPOOL_H
#define PERISKOP_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

/* One line read back: its bytes (no newline) and the offset after it. */
struct spool_line {
	char		*line;
	size_t		 len;
	uint64_t	 next;
};

/*
 * Opens or creates DIR/events (DIR made when missing); a line cut short
 * by a crash is dropped with a warning.  NULL with a message naming the
 * file (and the byte offset for a damaged one) in err; errno is 0 when
 * the file exists but is not a spool.
 */
struct spool	*spool_open(const char *dir, uint64_t max_bytes, char *err,
		    size_t errlen);
void		 spool_close(struct spool *);

/* The 64-bit FNV-1a of a line: its stable id, for deduplication. */
uint64_t	 spool_id(const char *line, size_t len);

/*
 * Appends one line (without newline).  1: appended; 0: a line of this id
 * is among the last ones spooled (a replay), skipped; -2: the spool is
 * full, dropped; -1: write error (err).  Durable only after spool_sync.
 */
int		 spool_append(struct spool *, const char *line, size_t len,
		    char *err, size_t errlen);
int		 spool_sync(struct spool *, char *err, size_t errlen);

uint64_t	 spool_begin(const struct spool *);
uint64_t	 spool_end(const struct spool *);
uint64_t	 spool_dropped(const struct spool *);

/*
 * Reads up to max lines from offset off (clamped into the spool).
 * Returns how many, each line malloc'd for the caller (spool_lines_free),
 * or -1 with err.
 */
long		 spool_read(struct spool *, uint64_t off, size_t max,
		    struct spool_line *out, char *err, size_t errlen);
void		 spool_lines_free(struct spool_line *, size_t);

/* A receiver's offset: missing files start at the spool's end. */
int		 spool_offset_load(struct spool *, const char *name,
		    uint64_t *off, char *err, size_t errlen);
int		 spool_offset_save(struct spool *, const char *name,
		    uint64_t off, char *err, size_t errlen);

/*
 * Drops the lines before off (the lowest offset of all receivers) when
 * they are at least half of the file, but for a delivered tail (a
 * quarter of the limit, up to 256 KiB) whose ids skip a replay after a
 * restart: a new file is written, fsync'd and renamed over the old one.
 */
int		 spool_compact(struct spool *, uint64_t off, char *err,
		    size_t errlen);

#endif
