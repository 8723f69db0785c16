/* SPDX-License-Identifier: Apache-2.0 */
/* Percent-decoding and -encoding of URL parts (RFC 3986, section 2.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "urlenc.h"
#include "xalloc.h"

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
urlenc_decode(const char *s, size_t len, size_t *outlen, char *err,
    size_t errlen)
{
	char *out;
	size_t i, o;
	int hi, lo;

	out = xmalloc(len + 1);
	for (i = 0, o = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			hi = i + 1 < len ? hexval((unsigned char)s[i + 1]) : -1;
			lo = i + 2 < len ? hexval((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				snprintf(err, errlen, "invalid percent-escape "
				    "at byte %zu", i);
				goto fail;
			}
			c = (unsigned char)(hi << 4 | lo);
			if (c == '\0') {
				snprintf(err, errlen, "NUL byte (%%00) at "
				    "byte %zu", i);
				goto fail;
			}
			i += 2;
		} else if (c == '\0') {
			snprintf(err, errlen, "NUL byte at byte %zu", i);
			goto fail;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return out;
fail:
	free(out);
	return NULL;
}

void
urlenc_encode(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			buf_addc(b, (char)c);
		} else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
	}
}
