/* SPDX-License-Identifier: Apache-2.0 */
/* Growable buffers and Go-compatible JSON string escaping. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

static char empty[1];

void
buf_init(struct buf *b)
{
	b->p = empty;
	b->len = 0;
	b->cap = 0;
}

void
buf_release(struct buf *b)
{
	if (b->cap)
		free(b->p);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap)
		b->p[0] = '\0';
}

static void
grow(struct buf *b, size_t extra)
{
	size_t want, cap;

	want = b->len + extra + 1;
	if (want <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap < SIZE_MAX / 2 ? cap * 2 : want;
	if (b->cap == 0) {
		b->p = xmalloc(cap);
		b->p[0] = '\0';
	} else
		b->p = xreallocarray(b->p, cap, 1);
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	grow(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, char c)
{
	grow(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *
buf_detach(struct buf *b, size_t *len)
{
	char *p;

	if (len)
		*len = b->len;
	p = b->cap ? b->p : xstrdup("");
	buf_init(b);
	return p;
}

size_t
buf_utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
	    (len == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

const char *
buf_utf8_clean(struct buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, n = strlen(s), len;
	uint32_t cp;

	for (i = 0; i < n && (len = buf_utf8_len(u + i, n - i, &cp)) > 0;
	    i += len)
		;
	if (i == n)
		return s;
	buf_reset(b);
	for (i = 0; i < n; i += len)
		if ((len = buf_utf8_len(u + i, n - i, &cp)) > 0)
			buf_add(b, u + i, len);
		else {
			buf_adds(b, "\xef\xbf\xbd");
			len = 1;
		}
	return b->p;
}

void
buf_addjstrn(struct buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i, run, len;
	uint32_t cp;

	grow(b, n + 2);
	buf_addc(b, '"');
	for (i = 0; i < n; ) {
		/* Copy the longest run that needs no escaping in one go. */
		for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x80 &&
		    s[run] != '"' && s[run] != '\\' && s[run] != '<' &&
		    s[run] != '>' && s[run] != '&'; run++)
			;
		buf_add(b, s + i, run - i);
		if ((i = run) >= n)
			break;
		if (s[i] >= 0x80) {
			if ((len = buf_utf8_len(s + i, n - i, &cp)) == 0) {
				buf_adds(b, "\\ufffd");
				i++;
			} else if (cp == 0x2028 || cp == 0x2029) {
				buf_addf(b, "\\u%04x", (unsigned)cp);
				i += len;
			} else {
				buf_add(b, s + i, len);
				i += len;
			}
			continue;
		}
		switch (s[i]) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		default:
			buf_adds(b, "\\u00");
			buf_addc(b, hex[s[i] >> 4]);
			buf_addc(b, hex[s[i] & 0xf]);
			break;
		}
		i++;
	}
	buf_addc(b, '"');
}

void
buf_addjstr(struct buf *b, const char *s)
{
	if (s == NULL)
		buf_adds(b, "null");
	else
		buf_addjstrn(b, s, strlen(s));
}

size_t
int64_text(char *out, int64_t v)
{
	char tmp[20];
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	size_t n = 0, i = 0;

	/* printf's "%lld" parses its format each time: a round writes many. */
	do
		tmp[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		out[i++] = '-';
	while (n > 0)
		out[i++] = tmp[--n];
	out[i] = '\0';
	return i;
}

void
buf_addjint(struct buf *b, int64_t v)
{
	char tmp[21];

	buf_add(b, tmp, int64_text(tmp, v));
}

void
buf_addjdouble(struct buf *b, double v)
{
	char tmp[64], *e;

	if (!isfinite(v)) {
		buf_adds(b, "null");
		return;
	}
	snprintf(tmp, sizeof(tmp), "%.3f", v);
	/* Trim trailing zeros so 3.000 reads 3 and 3.100 reads 3.1. */
	e = tmp + strlen(tmp) - 1;
	while (*e == '0')
		*e-- = '\0';
	if (*e == '.')
		*e = '\0';
	buf_adds(b, tmp);
}
