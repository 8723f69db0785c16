/* SPDX-License-Identifier: Apache-2.0 */
/* Relabelling and target labels exactly as Prometheus 2.42 computes them. */
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "buf.h"
#include "duration.h"
#include "regex.h"
#include "relabel.h"
#include "xalloc.h"

struct rule {
	enum relabel_action	  action;
	char			**src;
	size_t			  nsrc;
	char			 *sep;
	struct regex		 *re;
	uint64_t		  modulus;
	char			 *target;
	char			 *replacement;
};

struct relabel_rules {
	struct rule	*v;
	size_t		 n;
};

/* MD5, RFC 1321: hashmod must pick the same shard as Prometheus. */
struct md5 {
	uint32_t	h[4];
	uint64_t	len;
	unsigned char	buf[64];
};

static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf,
	0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af,
	0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e,
	0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
	0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6,
	0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
	0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
	0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039,
	0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97,
	0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d,
	0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391
};

static const unsigned char md5_r[64] = {
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
	5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
	4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
	6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21
};

static void
md5_block(struct md5 *m, const unsigned char *p)
{
	uint32_t w[16], a, b, c, d, f, t;
	unsigned int i, g;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		    (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
	a = m->h[0];
	b = m->h[1];
	c = m->h[2];
	d = m->h[3];
	for (i = 0; i < 64; i++) {
		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		t = d;
		d = c;
		c = b;
		f += a + md5_k[i] + w[g];
		b += (f << md5_r[i]) | (f >> (32 - md5_r[i]));
		a = t;
	}
	m->h[0] += a;
	m->h[1] += b;
	m->h[2] += c;
	m->h[3] += d;
}

void
relabel_md5(const void *data, size_t len, unsigned char out[16])
{
	const unsigned char *p = data;
	struct md5 m = { { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 },
	    0, { 0 } };
	size_t i, fill;
	uint64_t bits;

	m.len = len;
	for (; len >= 64; p += 64, len -= 64)
		md5_block(&m, p);
	memcpy(m.buf, p, len);
	fill = len;
	m.buf[fill++] = 0x80;
	if (fill > 56) {
		memset(m.buf + fill, 0, 64 - fill);
		md5_block(&m, m.buf);
		fill = 0;
	}
	memset(m.buf + fill, 0, 56 - fill);
	bits = m.len * 8;
	for (i = 0; i < 8; i++)
		m.buf[56 + i] = (unsigned char)(bits >> (8 * i));
	md5_block(&m, m.buf);
	for (i = 0; i < 16; i++)
		out[i] = (unsigned char)(m.h[i / 4] >> (8 * (i % 4)));
}

/* UTF-8 as Go decodes it: an invalid byte is U+FFFD of width 1. */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *r)
{
	uint32_t c;
	size_t n, i;

	*r = 0xfffd;
	if (s[0] < 0x80) {
		*r = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 1;
	if (len < n)
		return 1;
	c = s[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 ||
	    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 1;
	*r = c;
	return n;
}

static void
utf8_encode(struct buf *b, uint32_t c)
{
	char s[4];

	if (c < 0x80) {
		buf_addc(b, (char)c);
	} else if (c < 0x800) {
		s[0] = (char)(0xc0 | c >> 6);
		s[1] = (char)(0x80 | (c & 0x3f));
		buf_add(b, s, 2);
	} else if (c < 0x10000) {
		s[0] = (char)(0xe0 | c >> 12);
		s[1] = (char)(0x80 | (c >> 6 & 0x3f));
		s[2] = (char)(0x80 | (c & 0x3f));
		buf_add(b, s, 3);
	} else {
		s[0] = (char)(0xf0 | c >> 18);
		s[1] = (char)(0x80 | (c >> 12 & 0x3f));
		s[2] = (char)(0x80 | (c >> 6 & 0x3f));
		s[3] = (char)(0x80 | (c & 0x3f));
		buf_add(b, s, 4);
	}
}

/*
 * Unicode case mapping and letter classes come from the C.UTF-8 locale,
 * used through a locale object so the process' locale is left alone.
 */
static locale_t		utf8_locale;
static pthread_once_t	utf8_once = PTHREAD_ONCE_INIT;

static void
utf8_locale_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static locale_t
utf8_loc(void)
{
	pthread_once(&utf8_once, utf8_locale_init);
	return utf8_locale;
}

/* Go's strings.ToLower / ToUpper: invalid bytes become U+FFFD. */
static char *
change_case(const char *s, int upper)
{
	struct buf b;
	locale_t loc = utf8_loc();
	size_t i = 0, n = strlen(s), k;
	uint32_t r;

	buf_init(&b);
	while (i < n) {
		k = utf8_decode((const unsigned char *)s + i, n - i, &r);
		if (r < 0x80) {
			if (upper && r >= 'a' && r <= 'z')
				r -= 'a' - 'A';
			else if (!upper && r >= 'A' && r <= 'Z')
				r += 'a' - 'A';
		} else if (loc != (locale_t)0) {
			r = upper ? (uint32_t)towupper_l((wint_t)r, loc) :
			    (uint32_t)towlower_l((wint_t)r, loc);
		}
		utf8_encode(&b, r);
		i += k;
	}
	return buf_detach(&b, &k);
}

/* Go's regexp.Expand names: letters, digits and '_' in Unicode's sense. */
static size_t
name_len(const char *s)
{
	locale_t loc = utf8_loc();
	size_t i = 0, n = strlen(s), k;
	uint32_t r;

	while (i < n) {
		k = utf8_decode((const unsigned char *)s + i, n - i, &r);
		if (r < 0x80) {
			if (!(r == '_' || (r >= '0' && r <= '9') ||
			    (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')))
				break;
		} else if (k == 1 || loc == (locale_t)0 ||
		    !iswalnum_l((wint_t)r, loc)) {
			break;
		}
		i += k;
	}
	return i;
}

/*
 * Go's regexp.Expand: "$$" is "$"; "$name" and "${name}" stand for a
 * group by number or name, and expand to "" when it did not match or does
 * not exist; a malformed reference leaves the "$" as text.
 */
static void
expand(struct buf *b, const char *tmpl, const struct regex *re,
    const char *src, const size_t *ov, size_t npairs)
{
	const char *p = tmpl, *d, *name, *gn;
	size_t nlen, i;
	long num;
	int brace;

	while ((d = strchr(p, '$')) != NULL) {
		buf_add(b, p, (size_t)(d - p));
		p = d + 1;
		if (*p == '$') {
			buf_addc(b, '$');
			p++;
			continue;
		}
		brace = *p == '{';
		name = p + brace;
		nlen = name_len(name);
		if (nlen == 0 || (brace && name[nlen] != '}')) {
			buf_addc(b, '$');
			continue;
		}
		p = name + nlen + brace;
		num = 0;
		for (i = 0; i < nlen; i++) {
			if (name[i] < '0' || name[i] > '9' ||
			    num >= 100000000) {
				num = -1;
				break;
			}
			num = num * 10 + (name[i] - '0');
		}
		if (name[0] == '0' && nlen > 1)
			num = -1;
		if (num >= 0 && (size_t)num < npairs &&
		    ov[2 * num] != REGEX_UNSET) {
			buf_add(b, src + ov[2 * num],
			    ov[2 * num + 1] - ov[2 * num]);
			continue;
		}
		/* With duplicate names, the first group that matched. */
		for (i = 1; num < 0 && i < npairs; i++)
			if ((gn = regex_name(re, i)) != NULL &&
			    strlen(gn) == nlen &&
			    memcmp(gn, name, nlen) == 0 &&
			    ov[2 * i] != REGEX_UNSET) {
				buf_add(b, src + ov[2 * i],
				    ov[2 * i + 1] - ov[2 * i]);
				break;
			}
	}
	buf_adds(b, p);
}

static int
valid_name(const char *s)
{
	size_t i;

	if (*s == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (i > 0 && s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static void
rule_release(struct rule *r)
{
	size_t i;

	for (i = 0; i < r->nsrc; i++)
		free(r->src[i]);
	free(r->src);
	free(r->sep);
	regex_free(r->re);
	free(r->target);
	free(r->replacement);
}

struct relabel_rules *
relabel_compile(const struct conf_relabel *c, size_t n, char *err,
    size_t errlen)
{
	struct relabel_rules *rs;
	struct rule *r;
	char msg[256];
	size_t i, j;

	rs = xcalloc(1, sizeof(*rs));
	if (n == 0)
		return rs;
	rs->v = xcalloc(n, sizeof(*rs->v));
	for (i = 0; i < n; i++) {
		r = &rs->v[i];
		r->re = regex_compile(c[i].regex != NULL ? c[i].regex : "(.*)",
		    msg, sizeof(msg));
		if (r->re == NULL) {
			snprintf(err, errlen, "relabel_configs[%zu].regex: %s",
			    i, msg);
			rs->n = i;
			relabel_rules_free(rs);
			return NULL;
		}
		rs->n = i + 1;
		r->action = c[i].action;
		r->nsrc = c[i].nsource_labels;
		r->src = xcalloc(r->nsrc + 1, sizeof(*r->src));
		for (j = 0; j < r->nsrc; j++)
			r->src[j] = xstrdup(c[i].source_labels[j]);
		r->sep = xstrdup(c[i].separator != NULL ? c[i].separator : ";");
		r->modulus = c[i].modulus;
		r->target = c[i].target_label != NULL ?
		    xstrdup(c[i].target_label) : NULL;
		r->replacement = xstrdup(c[i].replacement != NULL ?
		    c[i].replacement : "$1");
	}
	return rs;
}

void
relabel_rules_free(struct relabel_rules *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->n; i++)
		rule_release(&rs->v[i]);
	free(rs->v);
	free(rs);
}

static const char *
get(const struct labelset *ls, const char *name)
{
	const char *v;

	if (name == NULL)
		return "";
	v = labels_get(ls, name);
	return v != NULL ? v : "";
}

/* The target_label, or "" for the actions that have none. */
static const char *
target(const struct rule *r)
{
	return r->target != NULL ? r->target : "";
}

static void
do_replace(const struct rule *r, struct labelset *ls, const char *val)
{
	struct buf t, res;
	size_t np = regex_ngroups(r->re) + 1, *ov;

	ov = xreallocarray(NULL, np, 2 * sizeof(*ov));
	/* Past the match limit nothing is replaced: no match is known. */
	if (regex_match(r->re, val, strlen(val), ov, np) != 1) {
		free(ov);
		return;
	}
	buf_init(&t);
	buf_init(&res);
	expand(&t, target(r), r->re, val, ov, np);
	/* Prometheus deletes the label as written, not as expanded. */
	if (!valid_name(t.p)) {
		labels_del(ls, target(r));
	} else {
		expand(&res, r->replacement, r->re, val, ov, np);
		if (res.len == 0)
			labels_del(ls, target(r));
		else
			labels_set(ls, t.p, res.p);
	}
	buf_release(&t);
	buf_release(&res);
	free(ov);
}

static void
do_labels(const struct rule *r, struct labelset *ls)
{
	struct labelset orig;
	struct buf res;
	const char *name;
	size_t np = regex_ngroups(r->re) + 1, *ov, i;

	/* Like Prometheus, iterate over the labels as they were before. */
	labels_copy(&orig, ls);
	ov = xreallocarray(NULL, np, 2 * sizeof(*ov));
	buf_init(&res);
	for (i = 0; i < orig.n; i++) {
		name = orig.v[i].name;
		if (r->action == RELABEL_LABELDROP) {
			if (regex_test(r->re, name, strlen(name)))
				labels_del(ls, name);
		} else if (r->action == RELABEL_LABELKEEP) {
			if (!regex_test(r->re, name, strlen(name)))
				labels_del(ls, name);
		} else if (regex_match(r->re, name, strlen(name), ov,
		    np) == 1) {
			buf_reset(&res);
			expand(&res, r->replacement, r->re, name, ov, np);
			if (res.len > 0)
				labels_set(ls, res.p, orig.v[i].value);
		}
	}
	buf_release(&res);
	free(ov);
	labels_release(&orig);
}

int
relabel_apply(const struct relabel_rules *rs, struct labelset *ls)
{
	const struct rule *r;
	struct buf val;
	unsigned char sum[16];
	uint64_t h;
	char num[24], *s;
	size_t i, j;
	int keep = 1;

	if (rs == NULL)
		return 1;
	buf_init(&val);
	for (i = 0; i < rs->n && keep; i++) {
		r = &rs->v[i];
		buf_reset(&val);
		for (j = 0; j < r->nsrc; j++) {
			if (j > 0)
				buf_adds(&val, r->sep);
			buf_adds(&val, get(ls, r->src[j]));
		}
		switch (r->action) {
		case RELABEL_DROP:
			keep = !regex_test(r->re, val.p, val.len);
			break;
		case RELABEL_KEEP:
			keep = regex_test(r->re, val.p, val.len);
			break;
		case RELABEL_DROPEQUAL:
			keep = strcmp(get(ls, r->target), val.p) != 0;
			break;
		case RELABEL_KEEPEQUAL:
			keep = strcmp(get(ls, r->target), val.p) == 0;
			break;
		case RELABEL_REPLACE:
			do_replace(r, ls, val.p);
			break;
		case RELABEL_LOWERCASE:
		case RELABEL_UPPERCASE:
			s = change_case(val.p, r->action == RELABEL_UPPERCASE);
			labels_set(ls, target(r), s);
			free(s);
			break;
		case RELABEL_HASHMOD:
			/* The last 8 bytes of the sum, big-endian. */
			relabel_md5(val.p, val.len, sum);
			for (h = 0, j = 8; j < 16; j++)
				h = h << 8 | sum[j];
			snprintf(num, sizeof(num), "%llu",
			    (unsigned long long)(r->modulus ? h % r->modulus :
			    h));
			labels_set(ls, target(r), num);
			break;
		case RELABEL_LABELMAP:
		case RELABEL_LABELDROP:
		case RELABEL_LABELKEEP:
			do_labels(r, ls);
			break;
		}
	}
	buf_release(&val);
	return keep;
}

/*
 * Go's net.SplitHostPort, reduced to "does it split": the port is what
 * follows the last colon, possibly empty; a host with a colon must be
 * bracketed.
 */
static int
splits(const char *s)
{
	const char *colon = strrchr(s, ':'), *end;
	size_t j = 0, k = 0;

	if (colon == NULL)
		return 0;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return 0;
		if (end + 1 != colon)
			return 0;
		j = 1;
		k = (size_t)(end - s) + 1;
	} else if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
		return 0;
	}
	if (strchr(s + j, '[') != NULL || strchr(s + k, ']') != NULL)
		return 0;
	return 1;
}

/* Go's url escaping: path segments keep the reserved characters. */
static void
url_escape(struct buf *b, const char *s, int mode)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *keep;
	unsigned char c;

	/* 'p'ath, 'h'ost, 'q'uery component. */
	keep = mode == 'p' ? "-_.~$&+,/:;=@" : mode == 'h' ?
	    "-_.~!$&'()*+,;=:[]<>\"" : "-_.~";
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c < 0x80 && strchr(keep, c)))
			buf_addc(b, (char)c);
		else if (c == ' ' && mode == 'q')
			buf_addc(b, '+');
		else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
	}
}

/* What Prometheus' Target.URL() gives, as Go's url.URL prints it. */
static char *
build_url(const struct labelset *ls)
{
	static const char pfx[] = "__param_";
	const char *scheme = get(ls, "__scheme__");
	const char *host = get(ls, "__address__");
	const char *path = get(ls, "__metrics_path__");
	struct buf b;
	size_t i, len;
	int first = 1;

	buf_init(&b);
	if (*scheme != '\0') {
		buf_adds(&b, scheme);
		buf_addc(&b, ':');
	}
	if (*host != '\0' || *path != '\0')
		buf_adds(&b, "//");
	url_escape(&b, host, 'h');
	if (*path != '\0' && *path != '/' && *host != '\0')
		buf_addc(&b, '/');
	url_escape(&b, path, 'p');
	for (i = 0; i < ls->n; i++) {
		if (strncmp(ls->v[i].name, pfx, sizeof(pfx) - 1) != 0)
			continue;
		buf_addc(&b, first ? '?' : '&');
		first = 0;
		url_escape(&b, ls->v[i].name + sizeof(pfx) - 1, 'q');
		buf_addc(&b, '=');
		url_escape(&b, ls->v[i].value, 'q');
	}
	return buf_detach(&b, &len);
}

static int
valid_utf8(const char *s)
{
	size_t i = 0, n = strlen(s), k;
	uint32_t r;

	while (i < n) {
		k = utf8_decode((const unsigned char *)s + i, n - i, &r);
		if (r == 0xfffd && k == 1)
			return 0;
		i += k;
	}
	return 1;
}

/* Prometheus' checks of the (maybe relabelled) interval and timeout. */
static int
check_durations(const struct labelset *ls, char *err, size_t errlen)
{
	const char *iv = get(ls, "__scrape_interval__");
	const char *to = get(ls, "__scrape_timeout__");
	int64_t ivms, toms;
	char msg[128];

	if (duration_parse(iv, &ivms, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "error parsing scrape interval: %s", msg);
		return -1;
	}
	if (ivms == 0) {
		snprintf(err, errlen, "scrape interval cannot be 0");
		return -1;
	}
	if (duration_parse(to, &toms, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "error parsing scrape timeout: %s", msg);
		return -1;
	}
	if (toms == 0) {
		snprintf(err, errlen, "scrape timeout cannot be 0");
		return -1;
	}
	if (toms > ivms) {
		snprintf(err, errlen, "scrape timeout cannot be greater than "
		    "scrape interval (\"%s\" > \"%s\")", to, iv);
		return -1;
	}
	return 0;
}

int
relabel_target(const struct relabel_rules *rs, const struct conf_service *svc,
    const struct labelset *discovered, struct target *out, char *err,
    size_t errlen)
{
	struct labelset ls;
	char iv[64], to[64], *addr = NULL;
	const char *a, *scheme;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	duration_format(svc->scraper.interval_ms, iv, sizeof(iv));
	duration_format(svc->scraper.timeout_ms, to, sizeof(to));
	labels_copy(&ls, discovered);
	/* Only what discovery did not set; each checked against the input. */
	if (*get(discovered, "job") == '\0')
		labels_set(&ls, "job", svc->name);
	if (*get(discovered, "__scrape_interval__") == '\0')
		labels_set(&ls, "__scrape_interval__", iv);
	if (*get(discovered, "__scrape_timeout__") == '\0')
		labels_set(&ls, "__scrape_timeout__", to);
	if (*get(discovered, "__metrics_path__") == '\0')
		labels_set(&ls, "__metrics_path__", svc->scraper.endpoint);
	if (*get(discovered, "__scheme__") == '\0')
		labels_set(&ls, "__scheme__", svc->scraper.scheme);
	if (!relabel_apply(rs, &ls)) {
		rc = 0;
		goto done;
	}
	if (*(a = get(&ls, "__address__")) == '\0') {
		snprintf(err, errlen, "no address");
		goto done;
	}
	scheme = get(&ls, "__scheme__");
	if (splits(a)) {
		addr = xstrdup(a);
	} else {
		addr = xasprintf("%s:1234", a);
		i = (size_t)splits(addr);
		free(addr);
		if (!i) {
			/* A port would not help: kept as is, like Prometheus. */
			addr = xstrdup(a);
		} else if (*scheme == '\0' || strcmp(scheme, "http") == 0) {
			addr = xasprintf("%s:80", a);
		} else if (strcmp(scheme, "https") == 0) {
			addr = xasprintf("%s:443", a);
		} else {
			addr = NULL;
			snprintf(err, errlen, "invalid scheme: \"%s\"", scheme);
			goto done;
		}
		labels_set(&ls, "__address__", addr);
	}
	if (strchr(addr, '/') != NULL) {
		snprintf(err, errlen, "\"%s\" is not a valid hostname", addr);
		goto done;
	}
	if (check_durations(&ls, err, errlen) == -1)
		goto done;
	for (i = 0; i < ls.n; )
		if (strncmp(ls.v[i].name, "__meta_", 7) == 0)
			labels_del(&ls, ls.v[i].name);
		else
			i++;
	if (*get(&ls, "instance") == '\0')
		labels_set(&ls, "instance", addr);
	for (i = 0; i < ls.n; i++)
		if (!valid_utf8(ls.v[i].value)) {
			snprintf(err, errlen, "invalid label value for \"%s\"",
			    ls.v[i].name);
			goto done;
		}
	out->url = build_url(&ls);
	out->address = addr;
	addr = NULL;
	labels_init(&out->labels);
	for (i = 0; i < ls.n; i++)
		if (strncmp(ls.v[i].name, "__", 2) != 0)
			labels_set(&out->labels, ls.v[i].name, ls.v[i].value);
	rc = 1;
done:
	free(addr);
	labels_release(&ls);
	return rc;
}
