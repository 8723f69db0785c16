/* SPDX-License-Identifier: Apache-2.0 */
/* A JSON reader that builds the whole document in a few blocks. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jdoc.h"
#include "xalloc.h"

/* Objects up to this size are checked for repeated keys pair by pair. */
#define SMALL_OBJECT	16

struct block {
	struct block	*next;
	size_t		 used;
	size_t		 cap;
	_Alignas(8) unsigned char mem[];
};

struct jdoc {
	struct block	*blocks;
	size_t		 next_cap;
	struct jval	 root;
};

/* An array or object not yet closed: its values wait on the stack. */
struct frame {
	size_t		 base;
	unsigned char	 type;
};

struct parser {
	const unsigned char	*s;
	size_t			 len;
	size_t			 i;
	struct jdoc		*d;
	struct jval		*stack;
	size_t			 nstack;
	size_t			 capstack;
	struct frame		 frames[JDOC_MAX_DEPTH];
	size_t			 nframes;
	int			 prefix;	/* stop after one value */
	char			*err;
	size_t			 errlen;
};

struct key_pos {
	const struct jval	*key;
	size_t			 pos;
};

static void *
arena_alloc(struct jdoc *d, size_t n)
{
	struct block *b = d->blocks;
	size_t cap;
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (b == NULL || b->cap - b->used < n) {
		cap = d->next_cap;
		if (cap < n)
			cap = n;
		b = xmalloc(sizeof(*b) + cap);
		b->cap = cap;
		b->used = 0;
		b->next = d->blocks;
		d->blocks = b;
		d->next_cap = cap * 2;
	}
	p = b->mem + b->used;
	b->used += n;
	return p;
}

static int	fail(struct parser *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

static int
fail(struct parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;
	size_t i, line = 1, bol = 0;
	int n;

	if (p->err == NULL || p->errlen == 0)
		return -1;
	for (i = 0; i < at && i < p->len; i++)
		if (p->s[i] == '\n') {
			line++;
			bol = i + 1;
		}
	n = snprintf(p->err, p->errlen, "not JSON at byte %zu (line %zu, "
	    "column %zu): ", at, line, at - bol + 1);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Fails naming the token at offset at: a word or number as far as it
 * goes (at most 32 bytes), else one byte; bytes that are not printable
 * ASCII are shown as \xNN so that the message is text.
 */
static int
is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

static int
fail_near(struct parser *p, size_t at, const char *what)
{
	char tok[32 * 4 + 1];
	size_t i, n = 0;
	unsigned char c;

	if (at >= p->len)
		return fail(p, at, "%s near end of file", what);
	for (i = at; i < p->len && i - at < 32; i++) {
		c = p->s[i];
		if (i > at && !(is_word(p->s[at]) && is_word(c)))
			break;
		if (c >= 0x20 && c < 0x7f && c != '\'')
			tok[n++] = (char)c;
		else
			n += (size_t)snprintf(tok + n, sizeof(tok) - n,
			    "\\x%02x", c);
	}
	tok[n] = '\0';
	return fail(p, at, "%s near '%s'", what, tok);
}

static void
skip_ws(struct parser *p)
{
	while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\n' ||
	    p->s[p->i] == '\r' || p->s[p->i] == '\t'))
		p->i++;
}

static void
push(struct parser *p, const struct jval *v)
{
	if (p->nstack == p->capstack) {
		p->capstack *= 2;
		p->stack = xreallocarray(p->stack, p->capstack,
		    sizeof(*p->stack));
	}
	p->stack[p->nstack++] = *v;
}

static int
hex4(const unsigned char *s, uint32_t *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		*v <<= 4;
		if (s[i] >= '0' && s[i] <= '9')
			*v |= (uint32_t)(s[i] - '0');
		else if (s[i] >= 'a' && s[i] <= 'f')
			*v |= (uint32_t)(s[i] - 'a' + 10);
		else if (s[i] >= 'A' && s[i] <= 'F')
			*v |= (uint32_t)(s[i] - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static size_t
put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The escapes, invalid UTF-8 and half surrogate pairs of the string body
 * s[from, to), written into o, which has room for three bytes a byte.
 */
static int
decode(struct parser *p, size_t from, size_t to, char *o, size_t *olen)
{
	static const char esc_in[] = "\"\\/bfnrt";
	static const char esc_out[] = "\"\\/\b\f\n\r\t";
	const unsigned char *s = p->s;
	const char *e;
	size_t j = from, n = 0, len;
	uint32_t cp, lo;

	while (j < to) {
		if (s[j] >= 0x80) {
			if ((len = buf_utf8_len(s + j, to - j, &cp)) == 0) {
				n += put_utf8(o + n, 0xfffd);
				j++;
			} else {
				memcpy(o + n, s + j, len);
				n += len;
				j += len;
			}
			continue;
		}
		if (s[j] != '\\') {
			o[n++] = (char)s[j++];
			continue;
		}
		if (j + 1 < to && s[j + 1] != 'u' && s[j + 1] != '\0' &&
		    (e = strchr(esc_in, s[j + 1])) != NULL) {
			o[n++] = esc_out[e - esc_in];
			j += 2;
			continue;
		}
		if (j + 6 > to || s[j + 1] != 'u' || hex4(s + j + 2, &cp) == -1)
			return fail_near(p, j, "invalid escape");
		j += 6;
		if (cp >= 0xd800 && cp <= 0xdbff && j + 6 <= to &&
		    s[j] == '\\' && s[j + 1] == 'u' &&
		    hex4(s + j + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			j += 6;
		} else if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd;
		n += put_utf8(o + n, cp);
	}
	*olen = n;
	return 0;
}

static int
string(struct parser *p, struct jval *v)
{
	const unsigned char *s = p->s;
	size_t start = p->i + 1, i = start, len = 0;
	uint32_t cp;
	int plain = 1;
	char *o;

	for (;;) {
		if (i >= p->len)
			return fail(p, start - 1, "unterminated string");
		if (s[i] == '"')
			break;
		if (s[i] == '\\') {
			plain = 0;
			i += 2;
		} else if (s[i] < 0x20)
			return fail(p, i, "control character 0x%02x in a "
			    "string", s[i]);
		else if (s[i] < 0x80)
			i++;
		else if ((len = buf_utf8_len(s + i, p->len - i, &cp)) == 0) {
			plain = 0;
			i++;
		} else
			i += len;
	}
	v->type = J_STRING;
	if (plain) {
		o = arena_alloc(p->d, i - start + 1);
		memcpy(o, s + start, i - start);
		len = i - start;
	} else {
		o = arena_alloc(p->d, 3 * (i - start) + 1);
		if (decode(p, start, i, o, &len) == -1)
			return -1;
	}
	o[len] = '\0';
	v->n = (uint32_t)len;
	v->u.s = o;
	p->i = i + 1;
	return 0;
}

static int
digits(struct parser *p)
{
	size_t from = p->i;

	while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9')
		p->i++;
	return p->i > from;
}

static int
number(struct parser *p, struct jval *v)
{
	const unsigned char *s = p->s;
	size_t start = p->i, i;
	uint64_t u = 0, max;
	char small[64], *t;
	int neg;

	neg = s[p->i] == '-';
	if (neg)
		p->i++;
	if (p->i < p->len && s[p->i] == '0')
		p->i++;
	else if (!digits(p))
		return fail_near(p, start, "invalid token");
	v->type = J_INT;
	if (p->i < p->len && s[p->i] == '.') {
		p->i++;
		if (!digits(p))
			return fail_near(p, start, "invalid token");
		v->type = J_REAL;
	}
	if (p->i < p->len && (s[p->i] == 'e' || s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->len && (s[p->i] == '+' || s[p->i] == '-'))
			p->i++;
		if (!digits(p))
			return fail_near(p, start, "invalid token");
		v->type = J_REAL;
	}
	if (v->type == J_INT) {
		max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		for (i = start + neg; i < p->i; i++) {
			if (u > (max - (uint64_t)(s[i] - '0')) / 10)
				return fail_near(p, start, "too big integer");
			u = u * 10 + (uint64_t)(s[i] - '0');
		}
		v->u.i = neg ? (int64_t)(0 - u) : (int64_t)u;
		return 0;
	}
	t = p->i - start < sizeof(small) ? small : xmalloc(p->i - start + 1);
	memcpy(t, s + start, p->i - start);
	t[p->i - start] = '\0';
	errno = 0;
	v->u.d = strtod(t, NULL);
	if (t != small)
		free(t);
	if (errno == ERANGE && isinf(v->u.d))
		return fail_near(p, start, "real number overflow");
	return 0;
}

static int
literal(struct parser *p, struct jval *v)
{
	static const struct {
		const char	*word;
		unsigned char	 type;
	} lits[] = { { "true", J_TRUE }, { "false", J_FALSE },
	    { "null", J_NULL } };
	size_t i, n;

	for (i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		n = strlen(lits[i].word);
		if (p->len - p->i >= n &&
		    memcmp(p->s + p->i, lits[i].word, n) == 0) {
			v->type = lits[i].type;
			p->i += n;
			return 0;
		}
	}
	return fail_near(p, p->i, "invalid token");
}

static int
same_key(const struct jval *a, const struct jval *b)
{
	return a->n == b->n && memcmp(a->u.s, b->u.s, a->n) == 0;
}

static int
key_pos_cmp(const void *a, const void *b)
{
	const struct key_pos *x = a, *y = b;
	int c;

	if (x->key->n != y->key->n)
		return x->key->n < y->key->n ? -1 : 1;
	if ((c = memcmp(x->key->u.s, y->key->u.s, x->key->n)) != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * A key given twice keeps its first place and its last value, as
 * jansson has it; returns the number of pairs left in kv.
 */
static size_t
dedupe(struct jval *kv, size_t m)
{
	struct key_pos *ref;
	unsigned char gone_small[SMALL_OBJECT], *gone = gone_small;
	size_t i, j, k, first;

	if (m < 2)
		return m;
	if (m <= SMALL_OBJECT) {
		memset(gone, 0, m);
		for (i = 0; i < m; i++)
			for (j = i + 1; !gone[i] && j < m; j++)
				if (!gone[j] &&
				    same_key(&kv[2 * i], &kv[2 * j])) {
					kv[2 * i + 1] = kv[2 * j + 1];
					gone[j] = 1;
				}
	} else {
		ref = xcalloc(m, sizeof(*ref));
		gone = xcalloc(m, 1);
		for (i = 0; i < m; i++) {
			ref[i].key = &kv[2 * i];
			ref[i].pos = i;
		}
		qsort(ref, m, sizeof(*ref), key_pos_cmp);
		for (first = 0, i = 1; i <= m; i++) {
			if (i < m && same_key(ref[i].key, ref[first].key))
				continue;
			if (i - first > 1) {
				kv[2 * ref[first].pos + 1] =
				    kv[2 * ref[i - 1].pos + 1];
				for (j = first + 1; j < i; j++)
					gone[ref[j].pos] = 1;
			}
			first = i;
		}
		free(ref);
	}
	for (i = k = 0; i < m; i++)
		if (!gone[i]) {
			kv[2 * k] = kv[2 * i];
			kv[2 * k + 1] = kv[2 * i + 1];
			k++;
		}
	if (gone != gone_small)
		free(gone);
	return k;
}

/* Ends the innermost array or object: its values move to the arena. */
static void
close_frame(struct parser *p, struct jval *v)
{
	struct frame *f = &p->frames[--p->nframes];
	size_t n = p->nstack - f->base;
	struct jval *kids;

	v->type = f->type;
	if (f->type == J_OBJECT)
		n = 2 * dedupe(p->stack + f->base, n / 2);
	kids = arena_alloc(p->d, n * sizeof(*kids) + 1);
	memcpy(kids, p->stack + f->base, n * sizeof(*kids));
	v->n = (uint32_t)(f->type == J_OBJECT ? n / 2 : n);
	v->u.v = kids;
	p->nstack = f->base;
}

/* The document, read iteratively: nesting costs no C stack. */
static int
parse(struct parser *p)
{
	struct frame *f;
	struct jval v;
	unsigned char c;
	size_t at;

value:
	skip_ws(p);
	if (p->i >= p->len)
		return fail_near(p, p->i, "unexpected token");
	memset(&v, 0, sizeof(v));
	switch ((c = p->s[p->i])) {
	case '{':
	case '[':
		if (p->nframes == JDOC_MAX_DEPTH)
			return fail_near(p, p->i,
			    "maximum parsing depth reached");
		f = &p->frames[p->nframes++];
		f->base = p->nstack;
		f->type = c == '{' ? J_OBJECT : J_ARRAY;
		p->i++;
		skip_ws(p);
		if (p->i < p->len && p->s[p->i] == (c == '{' ? '}' : ']')) {
			p->i++;
			close_frame(p, &v);
			break;
		}
		if (c == '{')
			goto key;
		goto value;
	case '"':
		if (string(p, &v) == -1)
			return -1;
		break;
	case 't':
	case 'f':
	case 'n':
		if (literal(p, &v) == -1)
			return -1;
		break;
	case ']':
	case '}':
	case ',':
	case ':':
		return fail_near(p, p->i, "unexpected token");
	default:
		if (c != '-' && (c < '0' || c > '9'))
			return fail_near(p, p->i, "invalid token");
		if (number(p, &v) == -1)
			return -1;
		break;
	}
	push(p, &v);
next:
	skip_ws(p);
	if (p->nframes == 0) {
		if (p->i < p->len && !p->prefix)
			return fail_near(p, p->i, "end of file expected");
		p->d->root = p->stack[0];
		return 0;
	}
	f = &p->frames[p->nframes - 1];
	c = f->type == J_OBJECT ? '}' : ']';
	if (p->i < p->len && p->s[p->i] == ',') {
		p->i++;
		if (f->type == J_OBJECT)
			goto key;
		goto value;
	}
	if (p->i >= p->len || p->s[p->i] != c)
		return fail_near(p, p->i, c == '}' ? "',' or '}' expected" :
		    "',' or ']' expected");
	p->i++;
	memset(&v, 0, sizeof(v));
	close_frame(p, &v);
	push(p, &v);
	goto next;
key:
	skip_ws(p);
	if (p->i >= p->len || p->s[p->i] != '"')
		return fail_near(p, p->i, "string or '}' expected");
	memset(&v, 0, sizeof(v));
	at = p->i;
	if (string(p, &v) == -1)
		return -1;
	if (memchr(v.u.s, '\0', v.n) != NULL)
		return fail(p, at, "NUL byte in object key not supported");
	push(p, &v);
	skip_ws(p);
	if (p->i >= p->len || p->s[p->i] != ':')
		return fail_near(p, p->i, "':' expected");
	p->i++;
	goto value;
}

static struct jdoc *
read_doc(const char *buf, size_t len, size_t *used, char *err,
    size_t errlen)
{
	struct parser *p;
	struct jdoc *d;
	int rc;

	d = xcalloc(1, sizeof(*d));
	/*
	 * Most documents fit the first block: their text, and as much; one
	 * value at the head of a long text starts small.
	 */
	d->next_cap = 2 * len + 256;
	if (used != NULL && d->next_cap > 16384)
		d->next_cap = 16384;
	p = xcalloc(1, sizeof(*p));
	p->s = (const unsigned char *)buf;
	p->len = len;
	p->d = d;
	p->prefix = used != NULL;
	p->capstack = 64;
	p->stack = xreallocarray(NULL, p->capstack, sizeof(*p->stack));
	p->err = err;
	p->errlen = errlen;
	if (len > UINT32_MAX)
		rc = fail(p, 0, "longer than %u bytes", UINT32_MAX);
	else
		rc = parse(p);
	if (used != NULL)
		*used = p->i;
	free(p->stack);
	free(p);
	if (rc == -1) {
		jdoc_free(d);
		return NULL;
	}
	return d;
}

struct jdoc *
jdoc_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	return read_doc(buf, len, NULL, err, errlen);
}

struct jdoc *
jdoc_parse_prefix(const char *buf, size_t len, size_t *used, char *err,
    size_t errlen)
{
	return read_doc(buf, len, used, err, errlen);
}

void
jdoc_free(struct jdoc *d)
{
	struct block *b, *next;

	if (d == NULL)
		return;
	for (b = d->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(d);
}

const struct jval *
jdoc_root(const struct jdoc *d)
{
	return &d->root;
}

const struct jval *
jval_get(const struct jval *v, const char *key)
{
	size_t i, n;

	if (v == NULL || v->type != J_OBJECT)
		return NULL;
	n = strlen(key);
	for (i = 0; i < v->n; i++)
		if (v->u.v[2 * i].n == n &&
		    memcmp(v->u.v[2 * i].u.s, key, n) == 0)
			return &v->u.v[2 * i + 1];
	return NULL;
}

const char *
jval_type_name(const struct jval *v)
{
	switch (v->type) {
	case J_OBJECT:
		return "an object";
	case J_ARRAY:
		return "an array";
	case J_STRING:
		return "a string";
	case J_INT:
	case J_REAL:
		return "a number";
	case J_TRUE:
	case J_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}
