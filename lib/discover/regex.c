/* SPDX-License-Identifier: Apache-2.0 */
/* RE2 (Go regexp) syntax checked and translated, then matched by PCRE2. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "regex.h"
#include "xalloc.h"

/*
 * Backtracking is bounded so a hostile expression costs milliseconds:
 * RE2 never backtracks, so a config that works in Prometheus must not hang
 * here.  The DFA matcher answers yes/no questions past the limit.
 */
#define MATCH_LIMIT	1000000
#define DEPTH_LIMIT	10000
#define DFA_WORKSPACE	4096
/* RE2's largest repeat count. */
#define MAX_REPEAT	1000
/* Group names get it, since RE2 allows "(?P<1st>...)". */
#define NAME_PREFIX	"n_"
/* Length of the "^(?:" the translation starts with. */
#define PREFIX_LEN	4

struct regex {
	pcre2_code		*code;
	pcre2_match_context	*mctx;
	size_t			 ngroups;
	char			**names;	/* [ngroups + 1], or NULL */
};

static int	bad(char *, size_t, size_t, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static int
bad(char *err, size_t errlen, size_t off, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "offset %zu: %s", off, msg);
	return -1;
}

static unsigned long
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned long)(c - '0');
	return (unsigned long)(tolower((unsigned char)c) - 'a' + 10);
}

static int
isodigit(int c)
{
	return c >= '0' && c <= '7';
}

/* Reads "{n}", "{n,}" or "{n,m}" at p; returns its length or 0. */
static size_t
repeat_len(const char *p, long *min, long *max)
{
	const char *q = p + 1;
	char *end;

	if (!isdigit((unsigned char)*q))
		return 0;
	*min = strtol(q, &end, 10);
	q = end;
	*max = *min;
	if (*q == ',') {
		q++;
		*max = -1;
		if (isdigit((unsigned char)*q)) {
			*max = strtol(q, &end, 10);
			q = end;
		}
	}
	if (*q != '}')
		return 0;
	return (size_t)(q - p) + 1;
}

/* Translates the escape at pat[i] (a backslash); returns its length or 0. */
static size_t
escape(struct buf *b, const char *pat, size_t i, int in_class, char *err,
    size_t errlen)
{
	unsigned char c = pat[i + 1];
	size_t j, k;
	unsigned long v;

	if (c == '\0') {
		bad(err, errlen, i, "trailing backslash at end of expression");
		return 0;
	}
	if (c == '0' || (c >= '1' && c <= '7' && isodigit(pat[i + 2]))) {
		/* Go reads three octal digits; PCRE2 might see a group. */
		v = 0;
		for (j = i + 1; j < i + 4 && isodigit(pat[j]); j++)
			v = v * 8 + (unsigned long)(pat[j] - '0');
		buf_addf(b, "\\x{%lx}", v);
		return j - i;
	}
	if (c >= '1' && c <= '9') {
		bad(err, errlen, i, "backreference \"\\%c\" is not supported "
		    "by RE2", c);
		return 0;
	}
	switch (c) {
	case 'a': case 'f': case 't': case 'n': case 'r':
	case 'd': case 'D': case 'w': case 'W':
		buf_addc(b, '\\');
		buf_addc(b, (char)c);
		return 2;
	case 'v':
		/* Go's \v is the vertical tab; PCRE2's is a class. */
		buf_adds(b, "\\x{0b}");
		return 2;
	case 's':
		/* Go's \s is [\t\n\f\r ]; PCRE2's adds the vertical tab. */
		buf_adds(b, in_class ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]");
		return 2;
	case 'S':
		buf_adds(b, in_class ? "\\S" : "[^\\t\\n\\f\\r ]");
		return 2;
	case 'x':
		if (pat[i + 2] == '{') {
			v = 0;
			for (j = i + 3; isxdigit((unsigned char)pat[j]); j++)
				if (v <= 0x10ffff)
					v = v * 16 + hexval(pat[j]);
			if (j == i + 3 || pat[j] != '}' || v > 0x10ffff)
				break;
			buf_add(b, pat + i, j + 1 - i);
			return j + 1 - i;
		}
		if (!isxdigit((unsigned char)pat[i + 2]) ||
		    !isxdigit((unsigned char)pat[i + 3]))
			break;
		buf_add(b, pat + i, 4);
		return 4;
	case 'p': case 'P':
		if (pat[i + 2] == '{') {
			k = strcspn(pat + i + 2, "}");
			if (pat[i + 2 + k] != '}')
				break;
			buf_add(b, pat + i, k + 3);
			return k + 3;
		}
		if (!isalpha((unsigned char)pat[i + 2]))
			break;
		buf_add(b, pat + i, 3);
		return 3;
	case 'A': case 'z': case 'b': case 'B':
		if (in_class)
			break;
		/* RE2 repeats an assertion, PCRE2 only a group. */
		if (strchr("*+?{", pat[i + 2]) != NULL && pat[i + 2] != '\0')
			buf_addf(b, "(?:\\%c)", c);
		else
			buf_addf(b, "\\%c", c);
		return 2;
	case 'k': case 'g':
		bad(err, errlen, i, "backreference \"\\%c\" is not supported "
		    "by RE2", c);
		return 0;
	case 'K': case 'G': case 'Z': case 'C': case 'R': case 'X':
	case 'N': case 'h': case 'H': case 'V': case 'e': case 'c':
	case 'o': case 'E': case 'Q': case 'u': case 'U': case 'l':
	case 'L':
		bad(err, errlen, i, "escape \"\\%c\" is not supported by RE2",
		    c);
		return 0;
	default:
		if (c < 0x80 && !isalnum(c)) {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
			return 2;
		}
		break;
	}
	if (c < 0x80)
		bad(err, errlen, i, "invalid escape \"\\%c\"", c);
	else
		bad(err, errlen, i, "invalid escape");
	return 0;
}

/* Checks a "(?" group opening at pat[i]; returns its length or 0. */
static size_t
group(struct buf *b, const char *pat, size_t i, int *flagsonly, char *err,
    size_t errlen)
{
	const char *p = pat + i + 2;
	size_t j;
	int minus = 0, before = 0, after = 0;

	*flagsonly = 0;
	switch (*p) {
	case ':':
		buf_adds(b, "(?:");
		return 3;
	case 'P':
		if (p[1] == '<') {
			/* RE2 names may start with a digit; PCRE2's not. */
			buf_adds(b, "(?P<" NAME_PREFIX);
			return 4;
		}
		if (p[1] == '=') {
			bad(err, errlen, i, "backreference \"(?P=\" is not "
			    "supported by RE2");
			return 0;
		}
		if (p[1] == '>') {
			bad(err, errlen, i, "recursion \"(?P>\" is not "
			    "supported by RE2");
			return 0;
		}
		bad(err, errlen, i, "invalid named capture");
		return 0;
	case '=': case '!':
		bad(err, errlen, i, "lookahead \"(?%c\" is not supported by "
		    "RE2", *p);
		return 0;
	case '<':
		if (p[1] == '=' || p[1] == '!') {
			bad(err, errlen, i, "lookbehind \"(?<%c\" is not "
			    "supported by RE2", p[1]);
			return 0;
		}
		bad(err, errlen, i, "named group \"(?<name>\" is not "
		    "supported by RE2 as Prometheus 2.42 has it; use "
		    "\"(?P<name>\"");
		return 0;
	case '>':
		bad(err, errlen, i, "atomic group \"(?>\" is not supported "
		    "by RE2");
		return 0;
	case '(':
		bad(err, errlen, i, "conditional \"(?(\" is not supported by "
		    "RE2");
		return 0;
	case 'R': case '&': case '+':
	case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		bad(err, errlen, i, "recursion \"(?%c\" is not supported by "
		    "RE2", *p);
		return 0;
	case '-':
		if (isdigit((unsigned char)p[1])) {
			bad(err, errlen, i, "recursion \"(?-\" is not "
			    "supported by RE2");
			return 0;
		}
		break;
	default:
		break;
	}
	/* Flags: RE2 knows i, m, s and U, optionally negated once. */
	for (j = 0; p[j] != ':' && p[j] != ')'; j++) {
		if (p[j] == '-' && !minus) {
			minus = 1;
			continue;
		}
		if (p[j] == 'i' || p[j] == 'm' || p[j] == 's' ||
		    p[j] == 'U') {
			if (minus)
				after++;
			else
				before++;
			continue;
		}
		if (p[j] == '\0') {
			bad(err, errlen, i, "missing closing )");
			return 0;
		}
		bad(err, errlen, i + 2 + j, "group or flag \"(?%.*s\" is not "
		    "supported by RE2", (int)(j + 1), p);
		return 0;
	}
	if ((minus && after == 0) || (!minus && before == 0)) {
		bad(err, errlen, i, "invalid or missing flags in \"(?%.*s\"",
		    (int)(j + 1), p);
		return 0;
	}
	*flagsonly = p[j] == ')';
	buf_add(b, pat + i, j + 3);
	return j + 3;
}

char *
regex_translate(const char *pat, char *err, size_t errlen)
{
	enum { NONE, ATOM, QUANT, LAZY } last = NONE;
	struct buf b;
	size_t i = 0, n, k, class_first = 0, depth = 0, e;
	long min, max;
	int in_class = 0, flagsonly;
	unsigned char c;

	buf_init(&b);
	buf_adds(&b, "^(?:");
	while (pat[i] != '\0') {
		c = pat[i];
		if (in_class) {
			if (c == ']' && i > class_first) {
				in_class = 0;
				last = ATOM;
				buf_addc(&b, ']');
				i++;
			} else if (c == '[' && pat[i + 1] == ':' &&
			    (e = strcspn(pat + i + 2, "]")) > 0 &&
			    pat[i + 1 + e] == ':' && pat[i + 2 + e] == ']') {
				/* A POSIX class such as [:alpha:]. */
				buf_add(&b, pat + i, e + 3);
				i += e + 3;
				if (pat[i] == '-' && pat[i + 1] != ']') {
					buf_adds(&b, "\\-");
					i++;
				}
			} else if (c == '[') {
				buf_adds(&b, "\\[");
				i++;
			} else if (c == '\\') {
				if ((k = escape(&b, pat, i, 1, err,
				    errlen)) == 0)
					goto fail;
				/* In RE2 "-" after a class is literal. */
				if (strchr("dDsSwWpP", pat[i + 1]) != NULL &&
				    pat[i + k] == '-' && pat[i + k + 1] != ']') {
					buf_adds(&b, "\\-");
					k++;
				}
				i += k;
			} else {
				buf_addc(&b, (char)c);
				i++;
			}
			continue;
		}
		switch (c) {
		case '[':
			buf_addc(&b, '[');
			i++;
			if (pat[i] == '^')
				buf_addc(&b, pat[i++]);
			class_first = i;
			in_class = 1;
			continue;
		case '\\':
			if (pat[i + 1] == 'Q') {
				/*
				 * Quoted text, escaped here.  Without \E it
				 * would quote Prometheus' closing ")$" too,
				 * so Prometheus refuses it.
				 */
				if (strstr(pat + i + 2, "\\E") == NULL) {
					bad(err, errlen, i, "\\Q without \\E "
					    "(missing closing ) in Prometheus' "
					    "^(?:...)$)");
					goto fail;
				}
				k = i + 2;
				while (pat[k] != '\0' && !(pat[k] == '\\' &&
				    pat[k + 1] == 'E')) {
					c = pat[k++];
					if (c < 0x80 && !isalnum(c))
						buf_addc(&b, '\\');
					buf_addc(&b, (char)c);
					last = ATOM;
				}
				i = pat[k] == '\0' ? k : k + 2;
				continue;
			}
			if ((k = escape(&b, pat, i, 0, err, errlen)) == 0)
				goto fail;
			i += k;
			last = ATOM;
			continue;
		case '(':
			if (pat[i + 1] == '*') {
				bad(err, errlen, i, "\"(*\" verbs are not "
				    "supported by RE2");
				goto fail;
			}
			if (pat[i + 1] == '?') {
				if ((k = group(&b, pat, i, &flagsonly, err,
				    errlen)) == 0)
					goto fail;
				i += k;
				if (!flagsonly)
					depth++;
			} else {
				buf_addc(&b, '(');
				i++;
				depth++;
			}
			last = NONE;
			continue;
		case ')':
			if (depth == 0) {
				bad(err, errlen, i, "unexpected )");
				goto fail;
			}
			depth--;
			buf_addc(&b, ')');
			i++;
			last = ATOM;
			continue;
		case '|':
			buf_addc(&b, '|');
			i++;
			last = NONE;
			continue;
		case '{':
			if ((k = repeat_len(pat + i, &min, &max)) == 0) {
				buf_adds(&b, "\\{");
				i++;
				last = ATOM;
				continue;
			}
			if (min > MAX_REPEAT || max > MAX_REPEAT ||
			    (max >= 0 && max < min)) {
				bad(err, errlen, i, "invalid repeat count "
				    "\"%.*s\"", (int)k, pat + i);
				goto fail;
			}
			break;
		case '*': case '+': case '?':
			k = 1;
			break;
		case '^': case '$':
			if (pat[i + 1] != '\0' &&
			    strchr("*+?{", pat[i + 1]) != NULL)
				buf_addf(&b, "(?:%c)", c);
			else
				buf_addc(&b, (char)c);
			i++;
			last = ATOM;
			continue;
		default:
			buf_addc(&b, (char)c);
			i++;
			last = ATOM;
			continue;
		}
		/* A quantifier of k bytes at pat[i]. */
		if (last == QUANT && c == '?' && k == 1) {
			last = LAZY;
		} else if ((last == QUANT || last == LAZY) && c == '+' &&
		    k == 1) {
			bad(err, errlen, i, "possessive quantifier (\"+\" "
			    "after a repetition) is not supported by RE2");
			goto fail;
		} else if (last == QUANT || last == LAZY) {
			bad(err, errlen, i, "invalid nested repetition "
			    "operator \"%.*s\"", (int)k, pat + i);
			goto fail;
		} else if (last == NONE) {
			bad(err, errlen, i, "missing argument to repetition "
			    "operator \"%.*s\"", (int)k, pat + i);
			goto fail;
		} else {
			last = QUANT;
		}
		buf_add(&b, pat + i, k);
		i += k;
	}
	if (in_class) {
		bad(err, errlen, class_first, "missing closing ]");
		goto fail;
	}
	if (depth > 0) {
		bad(err, errlen, i, "missing closing )");
		goto fail;
	}
	buf_adds(&b, ")$");
	n = b.len;
	return buf_detach(&b, &n);
fail:
	buf_release(&b);
	return NULL;
}

struct regex *
regex_compile(const char *pattern, char *err, size_t errlen)
{
	pcre2_compile_context *cctx;
	struct regex *re;
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE eoff;
	PCRE2_SPTR table;
	uint32_t count, nnames, entry, i, num;
	char *t;
	int ecode;
	size_t off;

	if ((t = regex_translate(pattern, err, errlen)) == NULL)
		return NULL;
	cctx = pcre2_compile_context_create(NULL);
	pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
	re = xcalloc(1, sizeof(*re));
	re->code = pcre2_compile((PCRE2_SPTR)t, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C |
	    PCRE2_MATCH_INVALID_UTF | PCRE2_DUPNAMES, &ecode, &eoff, cctx);
	pcre2_compile_context_free(cctx);
	if (re->code == NULL) {
		pcre2_get_error_message(ecode, msg, sizeof(msg));
		/* The offset is in the translation: near enough. */
		off = eoff > PREFIX_LEN ? eoff - PREFIX_LEN : 0;
		if (off > strlen(pattern))
			off = strlen(pattern);
		snprintf(err, errlen, "offset %zu: %s", off, (char *)msg);
		free(t);
		free(re);
		return NULL;
	}
	free(t);
	/* Without JIT the interpreter runs the same expression. */
	(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	re->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(re->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(re->mctx, DEPTH_LIMIT);
	pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &count);
	re->ngroups = count;
	re->names = xcalloc((size_t)count + 1, sizeof(*re->names));
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &nnames);
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
	pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
	for (i = 0; i < nnames; i++) {
		num = (uint32_t)table[i * entry] << 8 | table[i * entry + 1];
		if (num <= count && re->names[num] == NULL)
			re->names[num] = xstrdup((const char *)table +
			    i * entry + 2 + strlen(NAME_PREFIX));
	}
	return re;
}

void
regex_free(struct regex *re)
{
	size_t i;

	if (re == NULL)
		return;
	for (i = 0; i <= re->ngroups; i++)
		free(re->names[i]);
	free(re->names);
	pcre2_match_context_free(re->mctx);
	pcre2_code_free(re->code);
	free(re);
}

size_t
regex_ngroups(const struct regex *re)
{
	return re->ngroups;
}

int
regex_group(const struct regex *re, const char *name, size_t len)
{
	size_t i;

	for (i = 1; i <= re->ngroups; i++)
		if (re->names[i] != NULL && strlen(re->names[i]) == len &&
		    memcmp(re->names[i], name, len) == 0)
			return (int)i;
	return -1;
}

const char *
regex_name(const struct regex *re, size_t i)
{
	return i >= 1 && i <= re->ngroups ? re->names[i] : NULL;
}

int
regex_match(const struct regex *re, const char *s, size_t len,
    size_t *ovec, size_t npairs)
{
	pcre2_match_data *md;
	PCRE2_SIZE *ov;
	size_t i;
	int rc;

	md = pcre2_match_data_create_from_pattern(re->code, NULL);
	if (md == NULL)
		abort();
	rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md, re->mctx);
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
		rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0,
		    PCRE2_NO_JIT, md, re->mctx);
	if (rc == PCRE2_ERROR_NOMATCH || (rc < 0 &&
	    rc != PCRE2_ERROR_MATCHLIMIT && rc != PCRE2_ERROR_DEPTHLIMIT &&
	    rc != PCRE2_ERROR_HEAPLIMIT && rc != PCRE2_ERROR_JIT_STACKLIMIT)) {
		pcre2_match_data_free(md);
		return 0;
	}
	if (rc < 0) {
		pcre2_match_data_free(md);
		return -1;
	}
	ov = pcre2_get_ovector_pointer(md);
	for (i = 0; i < npairs; i++) {
		if (i < (size_t)rc && ov[2 * i] != PCRE2_UNSET) {
			ovec[2 * i] = ov[2 * i];
			ovec[2 * i + 1] = ov[2 * i + 1];
		} else {
			ovec[2 * i] = ovec[2 * i + 1] = REGEX_UNSET;
		}
	}
	pcre2_match_data_free(md);
	return 1;
}

int
regex_test(const struct regex *re, const char *s, size_t len)
{
	pcre2_match_data *md;
	int *ws, rc;

	if ((rc = regex_match(re, s, len, NULL, 0)) >= 0)
		return rc;
	if ((md = pcre2_match_data_create(1, NULL)) == NULL)
		abort();
	ws = xcalloc(DFA_WORKSPACE, sizeof(*ws));
	rc = pcre2_dfa_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md,
	    re->mctx, ws, DFA_WORKSPACE);
	free(ws);
	pcre2_match_data_free(md);
	return rc >= 0;
}
