/* SPDX-License-Identifier: Apache-2.0 */
/* Occurrences per error in a sliding window, for the spike threshold. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "spike.h"
#include "xalloc.h"

struct win {
	uint64_t	 h;		/* 0: a free slot */
	int64_t		 last;		/* newest bucket's number */
	uint64_t	 n[SPIKE_BUCKETS];
};

struct spike {
	uint64_t	 threshold;
	int64_t		 width;		/* of a bucket, ms */
	struct win	*w;
	size_t		 cap, used;
};

static uint64_t
hash(const char *service, const char *key)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;
	const char	*p;

	for (p = service; *p != '\0'; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ULL;
	}
	h ^= 0xff;	/* between the two, so "a","bc" is not "ab","c" */
	h *= 0x100000001b3ULL;
	for (p = key; *p != '\0'; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ULL;
	}
	return h != 0 ? h : 1;
}

struct spike *
spike_new(uint64_t threshold, int64_t window_ms)
{
	struct spike	*s;

	s = xcalloc(1, sizeof(*s));
	s->threshold = threshold;
	s->width = window_ms / SPIKE_BUCKETS > 0 ? window_ms / SPIKE_BUCKETS :
	    1;
	s->cap = 64;
	s->w = xcalloc(s->cap, sizeof(*s->w));
	return s;
}

void
spike_free(struct spike *s)
{
	if (s == NULL)
		return;
	free(s->w);
	free(s);
}

/* Moves w's window to end at bucket b, dropping what fell out. */
static void
slide(struct win *w, int64_t b)
{
	int64_t	 i;

	if (b <= w->last)
		return;
	if (b - w->last >= SPIKE_BUCKETS)
		memset(w->n, 0, sizeof(w->n));
	else
		for (i = w->last + 1; i <= b; i++)
			w->n[i % SPIKE_BUCKETS] = 0;
	w->last = b;
}

static uint64_t
sum(const struct win *w)
{
	uint64_t	 t = 0;
	size_t		 i;

	for (i = 0; i < SPIKE_BUCKETS; i++)
		t += w->n[i];
	return t;
}

static struct win *
find(struct spike *s, uint64_t h)
{
	size_t	 i = (size_t)h & (s->cap - 1);

	while (s->w[i].h != 0 && s->w[i].h != h)
		i = (i + 1) & (s->cap - 1);
	return &s->w[i];
}

/* Doubles the table, leaving out windows that are empty now. */
static void
grow(struct spike *s, int64_t b)
{
	struct win	*old = s->w, *w;
	size_t		 oldcap = s->cap, i;

	s->cap *= 2;
	s->w = xcalloc(s->cap, sizeof(*s->w));
	s->used = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].h == 0)
			continue;
		slide(&old[i], b);
		if (sum(&old[i]) == 0)
			continue;
		w = find(s, old[i].h);
		*w = old[i];
		s->used++;
	}
	free(old);
}

uint64_t
spike_add(struct spike *s, const char *service, const char *key, int64_t at,
    uint64_t n, int *crossed)
{
	struct win	*w;
	uint64_t	 h = hash(service, key), before;
	int64_t		 b = at / s->width;

	*crossed = 0;
	if (s->used * 2 >= s->cap)
		grow(s, b);
	w = find(s, h);
	if (w->h == 0) {
		w->h = h;
		w->last = b;
		s->used++;
	}
	/* An occurrence older than the window adds nothing to it. */
	if (b <= w->last - SPIKE_BUCKETS)
		return sum(w);
	slide(w, b);
	before = sum(w);
	w->n[b % SPIKE_BUCKETS] += n;
	*crossed = before < s->threshold && before + n >= s->threshold;
	return before + n;
}

int
spike_parse(const char *str, uint64_t *threshold, int64_t *window_ms,
    char *err, size_t errlen)
{
	const char	*slash = strchr(str, '/');
	char		*end, derr[128];

	errno = 0;
	if (slash == NULL || *str < '1' || *str > '9' ||
	    (*threshold = strtoull(str, &end, 10), end != slash) ||
	    errno != 0) {
		snprintf(err, errlen, "'%s': want COUNT/DURATION, such as "
		    "100/5m", str);
		return -1;
	}
	if (duration_parse(slash + 1, window_ms, derr, sizeof(derr)) == -1) {
		snprintf(err, errlen, "'%s': %s", str, derr);
		return -1;
	}
	if (*window_ms < SPIKE_BUCKETS) {
		snprintf(err, errlen, "'%s': the window must be at least %d ms",
		    str, SPIKE_BUCKETS);
		return -1;
	}
	return 0;
}
