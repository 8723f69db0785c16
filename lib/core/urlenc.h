/* SPDX-License-Identifier: Apache-2.0 */
/* Percent-decoding of URL parts, strict and safe on any input. */
#ifndef PERISKOP_URLENC_H
#define PERISKOP_URLENC_H

#include <stddef.h>

#include "buf.h"

/*
 * Decodes len bytes of s, where "%HH" (either case) stands for one byte;
 * '+' stays '+' (this is a path, not a form).  Returns a new
 * NUL-terminated string the caller frees (its length in *outlen when
 * outlen is not NULL), or NULL with a message in err naming the byte
 * offset when an escape is malformed ("%4", "%zz") or when the result
 * would hold a NUL byte (raw or "%00").  The decoded bytes are not
 * checked to be UTF-8.
 */
char	*urlenc_decode(const char *s, size_t len, size_t *outlen, char *err,
	    size_t errlen);

/*
 * Appends s percent-encoded for one path segment or query value: every
 * byte except the unreserved ones (ALPHA DIGIT "-._~") becomes "%HH".
 */
void	 urlenc_encode(struct buf *, const char *s, size_t len);

#endif
