/* SPDX-License-Identifier: Apache-2.0 */
/* The C client library's collector: bounded, thread-safe, model.h's JSON. */
#include <sys/random.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "model.h"
#include "periskop.h"
#include "timefmt.h"
#include "xalloc.h"

#define MAX_CAUSES	MODEL_MAX_DEPTH
#define UUID_LEN	36

struct periskop_collector {
	pthread_mutex_t		 lock;
	struct aggregate	*aggs;		/* the order first reported */
	size_t			 naggs;
	size_t			 cap;
	size_t			*buckets;	/* index + 1 of chain heads */
	size_t			*next;		/* index + 1, per aggregate */
	size_t			 nbuckets;
};

static pthread_once_t	 uuid_once = PTHREAD_ONCE_INIT;
static char		 target_uuid[UUID_LEN + 1];

/*
 * Random bytes for uuids.  getrandom never fails for small requests once
 * the pool is ready; if it does, the clock and a counter still make the
 * uuid unique within the process, which is what the server needs.
 */
static void
random_bytes(unsigned char *p, size_t n)
{
	static unsigned long ctr;
	unsigned long c;
	struct timespec ts;
	ssize_t r;
	size_t i;

	r = getrandom(p, n, GRND_NONBLOCK);
	if (r == (ssize_t)n)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	c = __atomic_add_fetch(&ctr, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(((uint64_t)ts.tv_nsec >> (i % 8 * 8)) ^
		    ((uint64_t)ts.tv_sec >> (i % 4 * 8)) ^
		    (c >> (i % 2 * 8)) ^ (uintptr_t)p ^ (i * 151));
}

static void
uuid4(char out[UUID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t i, o = 0;

	random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

static void
make_target_uuid(void)
{
	uuid4(target_uuid);
}

const char *
periskop_target_uuid(void)
{
	pthread_once(&uuid_once, make_target_uuid);
	return target_uuid;
}

static uint64_t
fnv1a(const char *s, uint64_t h)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}

#define FNV_BASIS	UINT64_C(14695981039346656037)

struct periskop_collector *
periskop_collector_new(void)
{
	struct periskop_collector *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	c->nbuckets = 64;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	return c;
}

void
periskop_collector_free(struct periskop_collector *c)
{
	size_t i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->naggs; i++) {
		for (j = 0; j < c->aggs[i].nlatest; j++)
			occurrence_release(&c->aggs[i].latest[j]);
		free(c->aggs[i].latest);
		free(c->aggs[i].key);
	}
	free(c->aggs);
	free(c->buckets);
	free(c->next);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static char *
dup_or_empty(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

static void
copy_one(struct error_info *to, const struct periskop_exception *e)
{
	size_t i;

	to->class = dup_or_empty(e->class);
	to->message = dup_or_empty(e->message);
	to->nstacktrace = e->stacktrace != NULL ? e->nstacktrace : 0;
	to->stacktrace = xcalloc(to->nstacktrace + 1, sizeof(char *));
	for (i = 0; i < to->nstacktrace; i++)
		to->stacktrace[i] = dup_or_empty(e->stacktrace[i]);
	to->cause = NULL;
}

static void
copy_exception(struct error_info *to, const struct periskop_exception *e)
{
	const struct periskop_exception *c;
	struct error_info *at = to;
	size_t depth = 1;

	copy_one(to, e);
	for (c = e->cause; c != NULL && depth < MAX_CAUSES; c = c->cause,
	    depth++) {
		at->cause = xcalloc(1, sizeof(*at->cause));
		at = at->cause;
		copy_one(at, c);
	}
}

static int
header_cmp(const void *a, const void *b)
{
	const struct header *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static struct http_context *
copy_http(const struct periskop_http_context *h)
{
	struct http_context *to;
	size_t i;

	if (h == NULL)
		return NULL;
	to = xcalloc(1, sizeof(*to));
	to->method = dup_or_empty(h->method);
	to->url = dup_or_empty(h->url);
	to->nheaders = h->headers != NULL ? h->nheaders : 0;
	to->headers = xcalloc(to->nheaders + 1, sizeof(*to->headers));
	for (i = 0; i < to->nheaders; i++) {
		to->headers[i].name = dup_or_empty(h->headers[i].name);
		to->headers[i].value = dup_or_empty(h->headers[i].value);
	}
	/* The model keeps headers sorted by name, as the server stores them. */
	qsort(to->headers, to->nheaders, sizeof(*to->headers), header_cmp);
	to->body = h->body != NULL ? xstrdup(h->body) : NULL;
	return to;
}

/* "class@" and 8 hex digits of the stack trace's hash, as periskop-go. */
static char *
default_key(const struct periskop_exception *e)
{
	uint64_t h = FNV_BASIS;
	size_t i;

	for (i = 0; e->stacktrace != NULL && i < e->nstacktrace; i++) {
		h = fnv1a(e->stacktrace[i] != NULL ? e->stacktrace[i] : "", h);
		h = fnv1a("\n", h);
	}
	return xasprintf("%s@%08x", e->class != NULL ? e->class : "",
	    (unsigned)(h ^ (h >> 32)));
}

static void
rehash(struct periskop_collector *c, size_t nbuckets)
{
	size_t i, b;

	free(c->buckets);
	c->nbuckets = nbuckets;
	c->buckets = xcalloc(nbuckets, sizeof(*c->buckets));
	for (i = 0; i < c->naggs; i++) {
		b = fnv1a(c->aggs[i].key, FNV_BASIS) % nbuckets;
		c->next[i] = c->buckets[b];
		c->buckets[b] = i + 1;
	}
}

/* The aggregate of key, created when new; called with the lock held. */
static struct aggregate *
lookup(struct periskop_collector *c, const char *key, int create)
{
	struct aggregate *a;
	size_t i, b;

	b = fnv1a(key, FNV_BASIS) % c->nbuckets;
	for (i = c->buckets[b]; i != 0; i = c->next[i - 1])
		if (strcmp(c->aggs[i - 1].key, key) == 0)
			return &c->aggs[i - 1];
	if (!create)
		return NULL;
	if (c->naggs == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->aggs = xreallocarray(c->aggs, c->cap, sizeof(*c->aggs));
		c->next = xreallocarray(c->next, c->cap, sizeof(*c->next));
	}
	a = &c->aggs[c->naggs];
	memset(a, 0, sizeof(*a));
	a->key = xstrdup(key);
	a->created_at = TIME_NONE;
	a->latest = xcalloc(PERISKOP_KEEP, sizeof(*a->latest));
	c->next[c->naggs] = c->buckets[b];
	c->buckets[b] = c->naggs + 1;
	c->naggs++;
	if (c->naggs > c->nbuckets * 2)
		rehash(c, c->nbuckets * 4);
	return a;
}

int
periskop_report(struct periskop_collector *c, const char *key,
    const struct periskop_exception *e, enum periskop_severity sev,
    const struct periskop_http_context *http)
{
	struct occurrence o;
	struct aggregate *a;
	char *dkey = NULL, uuid[UUID_LEN + 1];

	if (c == NULL || e == NULL || (unsigned)sev > PERISKOP_SEV_INFO) {
		errno = EINVAL;
		return -1;
	}
	if (key == NULL || key[0] == '\0')
		key = dkey = default_key(e);
	/* Copy outside the lock: reporting threads only wait for the list. */
	memset(&o, 0, sizeof(o));
	copy_exception(&o.error, e);
	uuid4(uuid);
	o.uuid = xstrdup(uuid);
	o.timestamp = time_now();
	o.severity = (enum severity)sev;
	o.http = copy_http(http);

	pthread_mutex_lock(&c->lock);
	a = lookup(c, key, 1);
	if (a->created_at == TIME_NONE)
		a->created_at = o.timestamp;
	if (a->total_count < INT64_MAX)
		a->total_count++;
	a->severity = (enum severity)sev;
	if (a->nlatest == PERISKOP_KEEP)
		occurrence_release(&a->latest[--a->nlatest]);
	memmove(&a->latest[1], &a->latest[0],
	    a->nlatest * sizeof(a->latest[0]));
	a->latest[0] = o;
	a->nlatest++;
	pthread_mutex_unlock(&c->lock);
	free(dkey);
	return 0;
}

char *
periskop_export(struct periskop_collector *c, size_t *len)
{
	struct payload p;
	struct buf b;

	buf_init(&b);
	memset(&p, 0, sizeof(p));
	p.target_uuid = (char *)periskop_target_uuid();
	if (c != NULL)
		pthread_mutex_lock(&c->lock);
	if (c != NULL) {
		p.aggs = c->aggs;
		p.naggs = c->naggs;
	}
	payload_write_json(&b, &p);
	if (c != NULL)
		pthread_mutex_unlock(&c->lock);
	return buf_detach(&b, len);
}

int64_t
periskop_count(struct periskop_collector *c, const char *key)
{
	struct aggregate *a;
	int64_t n;

	if (c == NULL || key == NULL)
		return 0;
	pthread_mutex_lock(&c->lock);
	a = lookup(c, key, 0);
	n = a != NULL ? a->total_count : 0;
	pthread_mutex_unlock(&c->lock);
	return n;
}

int
periskop_foreach(struct periskop_collector *c,
    int (*fn)(const char *, enum periskop_severity, int64_t, void *),
    void *arg)
{
	size_t i;
	int rc = 0;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->naggs && rc == 0; i++)
		rc = fn(c->aggs[i].key, (enum periskop_severity)
		    c->aggs[i].severity, c->aggs[i].total_count, arg);
	pthread_mutex_unlock(&c->lock);
	return rc;
}
