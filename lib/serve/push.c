/* SPDX-License-Identifier: Apache-2.0 */
/* The push gateway's state: pushers' cumulative counts turned into exact totals. */
#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "model_json.h"
#include "push.h"
#include "timefmt.h"
#include "xalloc.h"

#define STATE_VERSION	1

/* One key as one pusher last reported it. */
struct push_count {
	char	*key;
	int64_t	 last;		/* the raw cumulative count */
	int64_t	 acc;		/* the sum of the deltas it gave */
};

struct pusher {
	char			*id;	/* target_uuid, or remote address */
	int64_t			 seen;	/* ms of its last push */
	struct push_count	*c;
	size_t			 n;
};

struct push_state {
	struct push_limits	 lim;
	/* What is exposed: totals are sums of deltas, so never go down. */
	struct payload		 exp;
	struct pusher		*p;
	size_t			 np;
};

void
push_limits_init(struct push_limits *l)
{
	l->max_pushers = PUSH_MAX_PUSHERS;
	l->max_keys = PUSH_MAX_KEYS;
	l->max_latest = PUSH_MAX_LATEST;
	l->ttl_ms = PUSH_TTL_MS;
}

static char *
uuid_new(void)
{
	unsigned char r[16];
	size_t got = 0;
	ssize_t n;

	/* Only unique names matter here, so a short read is retried. */
	while (got < sizeof(r)) {
		n = getrandom(r + got, sizeof(r) - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			break;
	}
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
	    r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

struct push_state *
push_new(const struct push_limits *l)
{
	struct push_state *s = xcalloc(1, sizeof(*s));

	s->lim = *l;
	s->exp.target_uuid = uuid_new();
	return s;
}

static void
pusher_release(struct pusher *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->c[i].key);
	free(p->c);
	free(p->id);
	memset(p, 0, sizeof(*p));
}

void
push_free(struct push_state *s)
{
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < s->np; i++)
		pusher_release(&s->p[i]);
	free(s->p);
	free(s->exp.target_uuid);
	for (i = 0; i < s->exp.naggs; i++) {
		free(s->exp.aggs[i].key);
		for (j = 0; j < s->exp.aggs[i].nlatest; j++)
			occurrence_release(&s->exp.aggs[i].latest[j]);
		free(s->exp.aggs[i].latest);
	}
	free(s->exp.aggs);
	free(s);
}

static struct pusher *
find_pusher(const struct push_state *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->np; i++)
		if (strcmp(s->p[i].id, id) == 0)
			return &s->p[i];
	return NULL;
}

static struct push_count *
find_count(const struct pusher *p, const char *key)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->c[i].key, key) == 0)
			return &p->c[i];
	return NULL;
}

static struct aggregate *
find_agg(const struct push_state *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->exp.naggs; i++)
		if (strcmp(s->exp.aggs[i].key, key) == 0)
			return &s->exp.aggs[i];
	return NULL;
}

/* Newest first; equal times by uuid, so the order does not depend on arrival. */
static int
occ_cmp(const void *a, const void *b)
{
	const struct occurrence *x = a, *y = b;

	if (x->timestamp != y->timestamp)
		return x->timestamp > y->timestamp ? -1 : 1;
	return strcmp(x->uuid, y->uuid);
}

static int
has_uuid(const struct aggregate *a, const char *uuid)
{
	size_t i;

	for (i = 0; i < a->nlatest; i++)
		if (strcmp(a->latest[i].uuid, uuid) == 0)
			return 1;
	return 0;
}

/* Moves from's occurrences into a, keeping the newest max of all. */
static void
merge_latest(struct aggregate *a, struct aggregate *from, size_t max)
{
	size_t i;

	a->latest = xreallocarray(a->latest, a->nlatest + from->nlatest + 1,
	    sizeof(*a->latest));
	for (i = 0; i < from->nlatest; i++) {
		if (has_uuid(a, from->latest[i].uuid)) {
			occurrence_release(&from->latest[i]);
			continue;
		}
		a->latest[a->nlatest++] = from->latest[i];
		memset(&from->latest[i], 0, sizeof(from->latest[i]));
	}
	free(from->latest);
	from->latest = NULL;
	from->nlatest = 0;
	qsort(a->latest, a->nlatest, sizeof(*a->latest), occ_cmp);
	while (a->nlatest > max)
		occurrence_release(&a->latest[--a->nlatest]);
}

static int64_t
sat_add(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

int
push_merge(struct push_state *s, struct payload *pl, const char *fallback,
    int64_t now_ms, char *err, size_t errlen)
{
	struct pusher *p;
	struct push_count *c;
	struct aggregate *a, *in;
	const char *id;
	size_t i, fresh = 0, have = 0;
	int64_t delta;

	id = pl->target_uuid != NULL ? pl->target_uuid : fallback;
	if (id == NULL)
		id = "";
	/* Every limit is checked before anything changes. */
	if ((p = find_pusher(s, id)) == NULL && s->np >= s->lim.max_pushers) {
		snprintf(err, errlen, "too many pushers: the limit is %zu",
		    s->lim.max_pushers);
		return -1;
	}
	for (i = 0; i < pl->naggs; i++)
		if (p == NULL || find_count(p, pl->aggs[i].key) == NULL)
			fresh++;
	if (p != NULL)
		have = p->n;
	if (have + fresh > s->lim.max_keys) {
		snprintf(err, errlen, "too many aggregation keys for pusher "
		    "'%s': %zu, the limit is %zu", id, have + fresh,
		    s->lim.max_keys);
		return -1;
	}

	if (p == NULL) {
		s->p = xreallocarray(s->p, s->np + 1, sizeof(*s->p));
		p = &s->p[s->np++];
		memset(p, 0, sizeof(*p));
		p->id = xstrdup(id);
	}
	p->seen = now_ms;
	for (i = 0; i < pl->naggs; i++) {
		in = &pl->aggs[i];
		if ((c = find_count(p, in->key)) == NULL) {
			p->c = xreallocarray(p->c, p->n + 1, sizeof(*p->c));
			c = &p->c[p->n++];
			c->key = xstrdup(in->key);
			c->last = c->acc = 0;
		}
		/* A smaller count than last time: the client restarted. */
		delta = in->total_count >= c->last ?
		    in->total_count - c->last : in->total_count;
		c->last = in->total_count;
		c->acc = sat_add(c->acc, delta);
		if ((a = find_agg(s, in->key)) == NULL) {
			s->exp.aggs = xreallocarray(s->exp.aggs,
			    s->exp.naggs + 1, sizeof(*s->exp.aggs));
			a = &s->exp.aggs[s->exp.naggs++];
			memset(a, 0, sizeof(*a));
			a->key = xstrdup(in->key);
			a->created_at = TIME_NONE;
		}
		a->total_count = sat_add(a->total_count, delta);
		a->severity = in->severity;
		if (in->created_at != TIME_NONE && (a->created_at ==
		    TIME_NONE || in->created_at < a->created_at))
			a->created_at = in->created_at;
		merge_latest(a, in, s->lim.max_latest);
	}
	return 0;
}

size_t
push_expire(struct push_state *s, int64_t now_ms)
{
	size_t i, k, gone = 0;

	if (s->lim.ttl_ms <= 0)
		return 0;
	for (i = k = 0; i < s->np; i++) {
		if (now_ms - s->p[i].seen > s->lim.ttl_ms) {
			pusher_release(&s->p[i]);
			gone++;
		} else
			s->p[k++] = s->p[i];
	}
	s->np = k;
	return gone;
}

size_t
push_npushers(const struct push_state *s)
{
	return s->np;
}

size_t
push_nkeys(const struct push_state *s)
{
	return s->exp.naggs;
}

int64_t
push_total(const struct push_state *s, const char *key)
{
	const struct aggregate *a = find_agg(s, key);

	return a != NULL ? a->total_count : -1;
}

void
push_write_payload(const struct push_state *s, struct buf *b)
{
	payload_write_json(b, &s->exp);
}

void
push_write_state(const struct push_state *s, struct buf *b)
{
	size_t i, j;

	buf_addf(b, "{\"version\":%d,\"payload\":", STATE_VERSION);
	payload_write_json(b, &s->exp);
	buf_adds(b, ",\"pushers\":[");
	for (i = 0; i < s->np; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_adds(b, "{\"id\":");
		buf_addjstr(b, s->p[i].id);
		buf_adds(b, ",\"seen\":");
		buf_addjint(b, s->p[i].seen);
		buf_adds(b, ",\"counts\":[");
		for (j = 0; j < s->p[i].n; j++) {
			if (j > 0)
				buf_addc(b, ',');
			buf_addc(b, '[');
			buf_addjstr(b, s->p[i].c[j].key);
			buf_addc(b, ',');
			buf_addjint(b, s->p[i].c[j].last);
			buf_addc(b, ',');
			buf_addjint(b, s->p[i].c[j].acc);
			buf_addc(b, ']');
		}
		buf_adds(b, "]}");
	}
	buf_adds(b, "]}\n");
}

/* Whether v is an integer >= 0. */
static int
is_count(const struct jval *v)
{
	return v != NULL && v->type == J_INT && v->u.i >= 0;
}

static int
load_pusher(struct pusher *p, const struct jval *v, size_t i, char *err,
    size_t errlen)
{
	const struct jval *id, *seen, *counts, *c;
	size_t j;

	id = jval_get(v, "id");
	seen = jval_get(v, "seen");
	counts = jval_get(v, "counts");
	if (id == NULL || id->type != J_STRING || seen == NULL ||
	    seen->type != J_INT || counts == NULL ||
	    counts->type != J_ARRAY) {
		snprintf(err, errlen, "pushers[%zu]: want an object with id, "
		    "seen and counts", i);
		return -1;
	}
	p->id = xstrdup(id->u.s);
	p->seen = seen->u.i;
	p->c = xcalloc(counts->n + 1, sizeof(*p->c));
	for (j = 0; j < counts->n; j++) {
		c = &counts->u.v[j];
		if (c->type != J_ARRAY || c->n != 3 ||
		    c->u.v[0].type != J_STRING || !is_count(&c->u.v[1]) ||
		    !is_count(&c->u.v[2])) {
			snprintf(err, errlen, "pushers[%zu].counts[%zu]: want "
			    "[key, last, accumulated]", i, j);
			return -1;
		}
		p->c[j].key = xstrdup(c->u.v[0].u.s);
		p->c[j].last = c->u.v[1].u.i;
		p->c[j].acc = c->u.v[2].u.i;
		p->n = j + 1;
	}
	return 0;
}

struct push_state *
push_load(const char *buf, size_t len, const struct push_limits *l,
    char *err, size_t errlen)
{
	struct push_state *s = NULL;
	struct payload *pl;
	const struct jval *root, *ver, *ps, *v;
	struct jdoc *d;
	char msg[512];
	size_t i;

	if ((d = jdoc_parse(buf, len, err, errlen)) == NULL)
		return NULL;
	root = jdoc_root(d);
	ver = jval_get(root, "version");
	ps = jval_get(root, "pushers");
	if (ver == NULL || ver->type != J_INT || ver->u.i != STATE_VERSION) {
		snprintf(err, errlen, "not a state of version %d",
		    STATE_VERSION);
		goto fail;
	}
	if (ps == NULL || ps->type != J_ARRAY) {
		snprintf(err, errlen, "\"pushers\" is not an array");
		goto fail;
	}
	if ((pl = payload_from_jval(jval_get(root, "payload"), msg,
	    sizeof(msg))) == NULL) {
		snprintf(err, errlen, "payload: %s", msg);
		goto fail;
	}
	s = xcalloc(1, sizeof(*s));
	s->lim = *l;
	s->exp = *pl;
	free(pl);
	if (s->exp.target_uuid == NULL)
		s->exp.target_uuid = uuid_new();
	s->p = xcalloc(ps->n + 1, sizeof(*s->p));
	for (i = 0; i < ps->n; i++) {
		v = &ps->u.v[i];
		s->np = i + 1;
		if (v->type != J_OBJECT) {
			snprintf(err, errlen, "pushers[%zu]: not an object", i);
			goto fail;
		}
		if (load_pusher(&s->p[i], v, i, err, errlen) == -1)
			goto fail;
	}
	jdoc_free(d);
	return s;
fail:
	push_free(s);
	jdoc_free(d);
	return NULL;
}

int
push_save(const struct push_state *s, const char *path, char *err,
    size_t errlen)
{
	struct buf b;
	char *tmp, *dir, *slash;
	size_t off = 0;
	ssize_t n;
	int fd, dfd, e;

	buf_init(&b);
	push_write_state(s, &b);
	tmp = xasprintf("%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "'%s': %s", tmp, strerror(errno));
		goto fail;
	}
	while (off < b.len) {
		if ((n = write(fd, b.p + off, b.len - off)) == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			snprintf(err, errlen, "'%s': %s", tmp, strerror(e));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		e = errno;
		snprintf(err, errlen, "'%s': fsync: %s", tmp, strerror(e));
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "'%s': rename: %s", path,
		    strerror(errno));
		goto fail;
	}
	/* The rename itself is durable only once the folder is synced. */
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	else
		strcpy(dir, ".");
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		snprintf(err, errlen, "'%s': fsync: %s", dir, strerror(errno));
		if (dfd != -1)
			close(dfd);
		free(dir);
		goto fail;
	}
	close(dfd);
	free(dir);
	free(tmp);
	buf_release(&b);
	return 0;
fail:
	free(tmp);
	buf_release(&b);
	return -1;
}
