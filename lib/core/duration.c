/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus-style durations, with the fractions and small units Go allowed. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

#define NS_PER_MS	INT64_C(1000000)

/* Largest first: a unit only follows a larger one, so none repeats. */
static const struct unit {
	const char	*name;
	int64_t		 ms;	/* 0 for the units below a millisecond */
	int64_t		 ns;	/* only for those */
} units[] = {
	{ "y",		INT64_C(365) * 24 * 3600 * 1000, 0 },
	{ "w",		INT64_C(7) * 24 * 3600 * 1000, 0 },
	{ "d",		INT64_C(24) * 3600 * 1000, 0 },
	{ "h",		INT64_C(3600) * 1000, 0 },
	{ "m",		INT64_C(60) * 1000, 0 },
	{ "s",		INT64_C(1000), 0 },
	{ "ms",		INT64_C(1), 0 },
	{ "us",		0, 1000 },
	{ "\xc2\xb5s",	0, 1000 },	/* U+00B5 micro sign, as Go */
	{ "\xce\xbcs",	0, 1000 },	/* U+03BC Greek mu, as Go */
	{ "ns",		0, 1 }
};
#define NUNITS	(sizeof(units) / sizeof(units[0]))

/* The three spellings of microseconds share one place in the order. */
static size_t
unit_rank(size_t i)
{
	if (i == 8 || i == 9)
		return 7;
	if (i == 10)
		return 8;
	return i;
}

static int
fail(char *err, size_t errlen, const char *s, const char *why)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "invalid duration \"%s\": %s", s, why);
	return -1;
}

int
duration_parse(const char *s, int64_t *ms, char *err, size_t errlen)
{
	const char	*p = s;
	int64_t		 total = 0, sub_ns = 0, whole, part, fms;
	long double	 frac_ns;
	size_t		 i, ulen, last = 0;
	int		 first = 1, digits, fdigits;
	uint64_t	 fnum, fscale;

	if (*s == '\0')
		return fail(err, errlen, s, "empty");
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	if (*s == '-')
		return fail(err, errlen, s,
		    "negative durations are not allowed");
	while (*p != '\0') {
		whole = 0;
		digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (whole > (INT64_MAX - (*p - '0')) / 10)
				return fail(err, errlen, s, "out of range");
			whole = whole * 10 + (*p - '0');
			digits++;
			p++;
		}
		fnum = 0;
		fscale = 1;
		fdigits = 0;
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9') {
				/* Digits past 18 cannot change whole ms. */
				if (fscale < UINT64_C(1000000000000000000)) {
					fnum = fnum * 10 + (uint64_t)(*p - '0');
					fscale *= 10;
				}
				fdigits++;
				p++;
			}
			if (digits == 0 && fdigits == 0)
				return fail(err, errlen, s, "bad number");
		} else if (digits == 0)
			return fail(err, errlen, s, "expected a number");
		for (ulen = 0; p[ulen] != '\0' && p[ulen] != '.' &&
		    (p[ulen] < '0' || p[ulen] > '9'); ulen++)
			;
		if (ulen == 0)
			return fail(err, errlen, s, "missing unit");
		for (i = 0; i < NUNITS; i++)
			if (strlen(units[i].name) == ulen &&
			    strncmp(units[i].name, p, ulen) == 0)
				break;
		if (i == NUNITS)
			return fail(err, errlen, s, "unknown unit");
		if (!first && unit_rank(i) <= last)
			return fail(err, errlen, s, unit_rank(i) == last ?
			    "unit repeated" : "units must go from largest "
			    "to smallest");
		last = unit_rank(i);
		first = 0;
		p += ulen;

		if (units[i].ms > 0) {
			if (whole > INT64_MAX / units[i].ms)
				return fail(err, errlen, s, "out of range");
			part = whole * units[i].ms;
			frac_ns = (long double)fnum * units[i].ms * NS_PER_MS /
			    fscale;
		} else {
			if (whole > INT64_MAX / units[i].ns)
				return fail(err, errlen, s, "out of range");
			part = 0;
			frac_ns = (long double)whole * units[i].ns +
			    (long double)fnum * units[i].ns / fscale;
		}
		/* Whole milliseconds of the fraction; the rest carries over. */
		fms = (int64_t)(frac_ns / NS_PER_MS);
		if (part > INT64_MAX - fms)
			return fail(err, errlen, s, "out of range");
		part += fms;
		sub_ns += (int64_t)(frac_ns - (long double)fms * NS_PER_MS);
		if (total > INT64_MAX - part)
			return fail(err, errlen, s, "out of range");
		total += part;
		if (sub_ns >= NS_PER_MS) {
			if (total == INT64_MAX)
				return fail(err, errlen, s, "out of range");
			total += sub_ns / NS_PER_MS;
			sub_ns %= NS_PER_MS;
		}
	}
	*ms = total;
	return 0;
}

char *
duration_format(int64_t ms, char *buf, size_t len)
{
	/* Years and weeks only when exact: 90d reads better than 12w6d. */
	static const struct {
		const char	*name;
		int64_t		 ms;
		int		 exact;
	} f[] = {
		{ "y", INT64_C(365) * 24 * 3600 * 1000, 1 },
		{ "w", INT64_C(7) * 24 * 3600 * 1000, 1 },
		{ "d", INT64_C(24) * 3600 * 1000, 0 },
		{ "h", INT64_C(3600) * 1000, 0 },
		{ "m", INT64_C(60) * 1000, 0 },
		{ "s", INT64_C(1000), 0 },
		{ "ms", 1, 0 }
	};
	uint64_t	 v, rest;
	size_t		 i, off = 0;
	int		 n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	if (ms < 0) {
		snprintf(buf, len, "-");
		off = 1;
		rest = (uint64_t)-(ms + 1) + 1;
	} else
		rest = (uint64_t)ms;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].exact && rest % (uint64_t)f[i].ms != 0)
			continue;
		v = rest / (uint64_t)f[i].ms;
		if (v == 0)
			continue;
		rest -= v * (uint64_t)f[i].ms;
		if (off >= len)
			break;
		n = snprintf(buf + off, len - off, "%llu%s",
		    (unsigned long long)v, f[i].name);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf;
}
