/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer, and the JSON text writing every module shares. */
#ifndef PERISKOP_BUF_H
#define PERISKOP_BUF_H

#include <stddef.h>
#include <stdint.h>

/*
 * The buffer owns p; p is always NUL-terminated (after buf_init too), so
 * it can be handed to functions taking a C string.  A zeroed struct is
 * NOT valid: call buf_init first.
 */
struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

void	 buf_init(struct buf *);
void	 buf_release(struct buf *);
void	 buf_reset(struct buf *);		/* len = 0, keeps memory */
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_adds(struct buf *, const char *);
void	 buf_addc(struct buf *, char);
void	 buf_addf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Detaches and returns p (the caller frees it); the buffer is reset. */
char	*buf_detach(struct buf *, size_t *);

/*
 * Appends s as a quoted JSON string, escaped the way Go's encoding/json
 * does it (the original Periskop server's output): control characters,
 * '"' and '\\' escaped, '<', '>', '&', U+2028 and U+2029 as \u escapes,
 * and every invalid UTF-8 byte replaced by U+FFFD.  A NULL s appends null.
 */
void	 buf_addjstr(struct buf *, const char *);
void	 buf_addjstrn(struct buf *, const char *, size_t);
/* Appends an integer / a number with up to 3 decimals, as JSON. */
/* Writes v in decimal and a NUL into out (21 bytes); its length. */
size_t	 int64_text(char *out, int64_t v);
void	 buf_addjint(struct buf *, int64_t);
void	 buf_addjdouble(struct buf *, double);

/*
 * Returns the length of the valid UTF-8 sequence at s (at most n > 0
 * bytes) and its code point in *cp, or 0 when the bytes there are not
 * one: overlong forms, surrogates and code points above U+10FFFF are
 * invalid, as Go's decoder has them.
 */
size_t	 buf_utf8_len(const unsigned char *s, size_t n, uint32_t *cp);
/*
 * s, or s with each byte that is not UTF-8 read as U+FFFD, the way the
 * JSON writers and readers take it, written in b.
 */
const char *buf_utf8_clean(struct buf *b, const char *s);

#endif
