/* SPDX-License-Identifier: Apache-2.0 */
/* The Periskop payload: lenient checks of clients' JSON, and a normal form. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "jdoc.h"
#include "model.h"
#include "model_json.h"
#include "timefmt.h"
#include "xalloc.h"

#define PREFIX		"not a Periskop payload: "
/* Longer paths are cut: they only label errors. */
#define PATH_MAX_LEN	1024
#define SHOW_MAX	64	/* bytes of a bad value an error quotes */

/* Where the walk is in the document, so that errors can name the place. */
struct walk {
	char	 path[PATH_MAX_LEN];
	size_t	 plen;
	char	*err;
	size_t	 errlen;
};

static const char *const sevnames[] = {
	[SEV_ERROR] = "error",
	[SEV_WARNING] = "warning",
	[SEV_INFO] = "info"
};

const char *
severity_name(enum severity s)
{
	if ((unsigned)s >= sizeof(sevnames) / sizeof(sevnames[0]))
		return "error";
	return sevnames[s];
}

int
severity_parse(const char *s, enum severity *sev)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(sevnames) / sizeof(sevnames[0]); i++)
		if (strcasecmp(s, sevnames[i]) == 0) {
			*sev = (enum severity)i;
			return 0;
		}
	return -1;
}

/* Appends to the path; returns the old length for walk_pop. */
static size_t	walk_push(struct walk *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
static void	walk_fail(struct walk *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

static size_t
walk_push(struct walk *w, const char *fmt, ...)
{
	size_t old = w->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(w->path + w->plen, sizeof(w->path) - w->plen, fmt, ap);
	va_end(ap);
	if (n > 0)
		w->plen += (size_t)n;
	if (w->plen >= sizeof(w->path))
		w->plen = sizeof(w->path) - 1;
	return old;
}

static void
walk_pop(struct walk *w, size_t old)
{
	w->plen = old;
	w->path[old] = '\0';
}

static void
walk_fail(struct walk *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->err == NULL || w->errlen == 0)
		return;
	n = snprintf(w->err, w->errlen, PREFIX "%s%s", w->path,
	    w->plen ? ": " : "");
	if (n < 0 || (size_t)n >= w->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * A copy of a JSON string as a C string.  An escaped NUL ("\u0000") would
 * silently cut the string short, so it becomes U+FFFD instead.
 */
static char *
str_copy(const char *s, size_t n)
{
	static const char repl[] = "\xef\xbf\xbd";
	struct buf b;
	const char *nul;

	if ((nul = memchr(s, '\0', n)) == NULL)
		return xstrndup(s, n);
	buf_init(&b);
	while (nul != NULL) {
		buf_add(&b, s, (size_t)(nul - s));
		buf_add(&b, repl, 3);
		n -= (size_t)(nul - s) + 1;
		s = nul + 1;
		nul = memchr(s, '\0', n);
	}
	buf_add(&b, s, n);
	return buf_detach(&b, NULL);
}

static char *
jstr_dup(const struct jval *v)
{
	return str_copy(v->u.s, v->n);
}

/*
 * An optional string member: absent or null gives NULL in *out (the
 * caller picks the default); another type is an error.
 */
static int
get_str(struct walk *w, const struct jval *obj, const char *key, char **out)
{
	const struct jval *v;
	size_t old;

	*out = NULL;
	v = jval_get(obj, key);
	if (v == NULL || v->type == J_NULL)
		return 0;
	if (v->type != J_STRING) {
		old = walk_push(w, "%s%s", w->plen ? "." : "", key);
		walk_fail(w, "expected a string, got %s", jval_type_name(v));
		walk_pop(w, old);
		return -1;
	}
	*out = jstr_dup(v);
	return 0;
}

/* An optional string member that defaults to "". */
static int
get_str_def(struct walk *w, const struct jval *obj, const char *key, char **out)
{
	if (get_str(w, obj, key, out) == -1)
		return -1;
	if (*out == NULL)
		*out = xstrdup("");
	return 0;
}

/* Quotes at most SHOW_MAX bytes of s, JSON-escaped, for an error. */
static char *
show(const char *s)
{
	struct buf b;
	size_t n;

	n = strlen(s);
	buf_init(&b);
	buf_addjstrn(&b, s, n > SHOW_MAX ? SHOW_MAX : n);
	if (n > SHOW_MAX)
		buf_adds(&b, "...");
	return buf_detach(&b, NULL);
}

/*
 * A time member.  Absent, null (and "" unless required) give TIME_NONE;
 * "required" makes those an error.
 */
static int
get_time(struct walk *w, const struct jval *obj, const char *key, int required,
    int64_t *out)
{
	const struct jval *v;
	size_t old;
	char *q;

	*out = TIME_NONE;
	v = jval_get(obj, key);
	if (v == NULL || v->type == J_NULL ||
	    (!required && v->type == J_STRING && v->n == 0)) {
		if (!required)
			return 0;
		walk_fail(w, "missing \"%s\"", key);
		return -1;
	}
	old = walk_push(w, "%s%s", w->plen ? "." : "", key);
	if (v->type != J_STRING) {
		walk_fail(w, "expected an RFC 3339 time string, got %s",
		    jval_type_name(v));
		walk_pop(w, old);
		return -1;
	}
	if (strlen(v->u.s) != v->n ||
	    time_parse(v->u.s, out) == -1) {
		q = show(v->u.s);
		walk_fail(w, "not an RFC 3339 time: %s", q);
		free(q);
		walk_pop(w, old);
		return -1;
	}
	walk_pop(w, old);
	return 0;
}

/*
 * A severity member.  Clients only ever mean error, warning or info; an
 * unknown word is taken as absent rather than losing the whole payload.
 */
static int
get_severity(struct walk *w, const struct jval *obj, enum severity def,
    enum severity *out)
{
	const struct jval *v;
	size_t old;

	*out = def;
	v = jval_get(obj, "severity");
	if (v == NULL || v->type == J_NULL)
		return 0;
	if (v->type != J_STRING) {
		old = walk_push(w, ".severity");
		walk_fail(w, "expected a string, got %s", jval_type_name(v));
		walk_pop(w, old);
		return -1;
	}
	if (severity_parse(v->u.s, out) == -1)
		*out = def;
	return 0;
}

static void
error_info_release(struct error_info *e)
{
	struct error_info *c, *next;
	size_t i;

	/* The cause chain is freed iteratively: it may be long. */
	for (c = e; c != NULL; c = next) {
		free(c->class);
		free(c->message);
		for (i = 0; i < c->nstacktrace; i++)
			free(c->stacktrace[i]);
		free(c->stacktrace);
		next = c->cause;
		if (c != e)
			free(c);
	}
	memset(e, 0, sizeof(*e));
}

static void
http_context_free(struct http_context *h)
{
	size_t i;

	if (h == NULL)
		return;
	free(h->method);
	free(h->url);
	for (i = 0; i < h->nheaders; i++) {
		free(h->headers[i].name);
		free(h->headers[i].value);
	}
	free(h->headers);
	free(h->body);
	free(h);
}

void
occurrence_release(struct occurrence *o)
{
	error_info_release(&o->error);
	free(o->uuid);
	http_context_free(o->http);
	memset(o, 0, sizeof(*o));
}

static void
aggregate_release(struct aggregate *a)
{
	size_t i;

	free(a->key);
	for (i = 0; i < a->nlatest; i++)
		occurrence_release(&a->latest[i]);
	free(a->latest);
	memset(a, 0, sizeof(*a));
}

void
payload_free(struct payload *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->target_uuid);
	for (i = 0; i < p->naggs; i++)
		aggregate_release(&p->aggs[i]);
	free(p->aggs);
	free(p);
}

static int
parse_stacktrace(struct walk *w, const struct jval *obj, struct error_info *e)
{
	const struct jval *v, *f;
	size_t i, old;

	v = jval_get(obj, "stacktrace");
	if (v == NULL || v->type == J_NULL)
		return 0;
	if (v->type == J_STRING) {
		/* A client that sent the trace as one text. */
		e->stacktrace = xcalloc(1, sizeof(char *));
		e->stacktrace[0] = jstr_dup(v);
		e->nstacktrace = 1;
		return 0;
	}
	old = walk_push(w, ".stacktrace");
	if (v->type != J_ARRAY) {
		walk_fail(w, "expected an array of strings, got %s",
		    jval_type_name(v));
		walk_pop(w, old);
		return -1;
	}
	e->stacktrace = xcalloc(v->n + 1, sizeof(char *));
	for (i = 0; i < v->n; i++) {
		f = &v->u.v[i];
		if (f->type == J_NULL)
			e->stacktrace[i] = xstrdup("");
		else if (f->type == J_STRING)
			e->stacktrace[i] = jstr_dup(f);
		else {
			walk_push(w, "[%zu]", i);
			walk_fail(w, "expected a string, got %s",
			    jval_type_name(f));
			walk_pop(w, old);
			return -1;
		}
		e->nstacktrace = i + 1;
	}
	walk_pop(w, old);
	return 0;
}

/* One error object and its cause chain, walked as a loop, not recursion. */
static int
parse_error_info(struct walk *w, const struct jval *obj, struct error_info *top)
{
	struct error_info *e = top;
	const struct jval *cause;
	size_t old = w->plen;
	int depth;

	for (depth = 0; ; depth++) {
		if (get_str_def(w, obj, "class", &e->class) == -1 ||
		    get_str_def(w, obj, "message", &e->message) == -1 ||
		    parse_stacktrace(w, obj, e) == -1)
			goto fail;
		cause = jval_get(obj, "cause");
		if (cause == NULL || cause->type == J_NULL)
			break;
		if (depth + 1 >= MODEL_MAX_DEPTH) {
			walk_fail(w, "cause chain deeper than %d",
			    MODEL_MAX_DEPTH);
			goto fail;
		}
		walk_push(w, ".cause");
		e->cause = xcalloc(1, sizeof(*e->cause));
		e = e->cause;
		if (cause->type == J_STRING) {
			/* Very old clients sent the cause as its message. */
			e->class = xstrdup("");
			e->message = jstr_dup(cause);
			break;
		}
		if (cause->type != J_OBJECT) {
			walk_fail(w, "expected an object, got %s",
			    jval_type_name(cause));
			goto fail;
		}
		obj = cause;
	}
	walk_pop(w, old);
	return 0;
fail:
	walk_pop(w, old);
	return -1;
}

/*
 * A number as jansson writes it with 17 digits, as header values were
 * always shown: "%.17g", with ".0" when it would read as an integer and
 * the exponent without '+' or leading zeros.
 */
static char *
real_text(double d)
{
	char s[64], *e, *z;

	snprintf(s, sizeof(s), "%.17g", d);
	if (strchr(s, '.') == NULL && strchr(s, 'e') == NULL)
		strcat(s, ".0");
	if ((e = strchr(s, 'e')) != NULL) {
		e++;
		if (*e == '-')
			e++;
		else if (*e == '+')
			memmove(e, e + 1, strlen(e + 1) + 1);
		for (z = e; *z == '0'; z++)
			;
		memmove(e, z, strlen(z) + 1);
	}
	return xstrdup(s);
}

static int
header_cmp(const void *a, const void *b)
{
	return strcmp(((const struct header *)a)->name,
	    ((const struct header *)b)->name);
}

static int
parse_headers(struct walk *w, const struct jval *v, struct http_context *h)
{
	const struct jval *key, *val;
	size_t i, old, n;
	char *q;

	if (v == NULL || v->type == J_NULL)
		return 0;
	old = walk_push(w, ".request_headers");
	if (v->type != J_OBJECT) {
		walk_fail(w, "expected an object, got %s", jval_type_name(v));
		walk_pop(w, old);
		return -1;
	}
	h->headers = xcalloc(v->n + 1, sizeof(*h->headers));
	for (i = 0; i < v->n; i++) {
		key = &v->u.v[2 * i];
		val = &v->u.v[2 * i + 1];
		n = h->nheaders;
		if (val->type == J_STRING)
			h->headers[n].value = jstr_dup(val);
		else if (val->type == J_NULL)
			h->headers[n].value = xstrdup("");
		else if (val->type == J_INT)
			h->headers[n].value = xasprintf("%lld",
			    (long long)val->u.i);
		else if (val->type == J_REAL)
			h->headers[n].value = real_text(val->u.d);
		else if (val->type == J_TRUE || val->type == J_FALSE)
			h->headers[n].value = xstrdup(val->type == J_TRUE ?
			    "true" : "false");
		else {
			q = show(key->u.s);
			walk_push(w, "[%s]", q);
			free(q);
			walk_fail(w, "expected a string, got %s",
			    jval_type_name(val));
			walk_pop(w, old);
			return -1;
		}
		h->headers[n].name = jstr_dup(key);
		h->nheaders++;
	}
	qsort(h->headers, h->nheaders, sizeof(*h->headers), header_cmp);
	walk_pop(w, old);
	return 0;
}

static int
parse_http(struct walk *w, const struct jval *v, struct http_context **out)
{
	struct http_context *h;
	size_t old;

	*out = NULL;
	if (v == NULL || v->type == J_NULL)
		return 0;
	old = walk_push(w, ".http_context");
	if (v->type != J_OBJECT) {
		walk_fail(w, "expected an object, got %s", jval_type_name(v));
		walk_pop(w, old);
		return -1;
	}
	*out = h = xcalloc(1, sizeof(*h));
	if (get_str_def(w, v, "request_method", &h->method) == -1 ||
	    get_str_def(w, v, "request_url", &h->url) == -1 ||
	    parse_headers(w, jval_get(v, "request_headers"), h) == -1 ||
	    get_str(w, v, "request_body", &h->body) == -1) {
		walk_pop(w, old);
		return -1;
	}
	walk_pop(w, old);
	return 0;
}

/*
 * The stand-in uuid: FNV-1a over the occurrence's normal form, which the
 * same occurrence has in every scrape, from every instance.
 */
static char *
uuid_standin(const struct occurrence *o)
{
	struct buf b;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;
	char *s;

	buf_init(&b);
	buf_addf(&b, "%lld %s ", (long long)o->timestamp,
	    severity_name(o->severity));
	error_info_write_json(&b, &o->error);
	http_context_write_json(&b, o->http);
	for (i = 0; i < b.len; i++) {
		h ^= (unsigned char)b.p[i];
		h *= 0x100000001b3ULL;
	}
	buf_release(&b);
	s = xasprintf("%s%016llx", UUID_STANDIN, (unsigned long long)h);
	return s;
}

const char *
uuid_shown(const char *uuid)
{
	if (uuid == NULL ||
	    strncmp(uuid, UUID_STANDIN, sizeof(UUID_STANDIN) - 1) == 0)
		return "";
	return uuid;
}

static int
parse_occurrence(struct walk *w, const struct jval *v, enum severity def,
    struct occurrence *o)
{
	const struct jval *e;
	size_t old;

	if (v->type != J_OBJECT) {
		walk_fail(w, "expected an object, got %s", jval_type_name(v));
		return -1;
	}
	e = jval_get(v, "error");
	if (e == NULL || e->type == J_NULL) {
		walk_fail(w, "missing \"error\"");
		return -1;
	}
	old = walk_push(w, ".error");
	if (e->type != J_OBJECT) {
		walk_fail(w, "expected an object, got %s", jval_type_name(e));
		walk_pop(w, old);
		return -1;
	}
	if (parse_error_info(w, e, &o->error) == -1) {
		walk_pop(w, old);
		return -1;
	}
	walk_pop(w, old);
	if (get_str(w, v, "uuid", &o->uuid) == -1)
		return -1;
	if (get_time(w, v, "timestamp", 1, &o->timestamp) == -1 ||
	    get_severity(w, v, def, &o->severity) == -1 ||
	    parse_http(w, jval_get(v, "http_context"), &o->http) == -1)
		return -1;
	if (o->uuid == NULL || o->uuid[0] == '\0' ||
	    strncmp(o->uuid, UUID_STANDIN, sizeof(UUID_STANDIN) - 1) == 0) {
		free(o->uuid);
		o->uuid = uuid_standin(o);
	}
	return 0;
}

static int
parse_count(struct walk *w, const struct jval *obj, int64_t *out)
{
	const struct jval *v;
	size_t old;
	double d;
	int rc = -1;

	v = jval_get(obj, "total_count");
	if (v == NULL || v->type == J_NULL) {
		walk_fail(w, "missing \"total_count\"");
		return -1;
	}
	old = walk_push(w, ".total_count");
	if (v->type == J_INT) {
		*out = v->u.i;
		if (*out < 0)
			walk_fail(w, "negative");
		else
			rc = 0;
	} else if (v->type == J_REAL) {
		/* 5.0 is how some JSON encoders write an integer. */
		d = v->u.d;
		if (d < 0)
			walk_fail(w, "negative");
		else if (d >= 9223372036854775807.0)
			walk_fail(w, "too big: %g", d);
		else if (d != floor(d))
			walk_fail(w, "not an integer: %g", d);
		else {
			*out = (int64_t)d;
			rc = 0;
		}
	} else
		walk_fail(w, "expected an integer, got %s", jval_type_name(v));
	walk_pop(w, old);
	return rc;
}

static int
parse_aggregate(struct walk *w, const struct jval *v, struct aggregate *a)
{
	const struct jval *l, *o;
	size_t i, old, lold;

	if (v->type != J_OBJECT) {
		walk_fail(w, "expected an object, got %s", jval_type_name(v));
		return -1;
	}
	if (get_str(w, v, "aggregation_key", &a->key) == -1)
		return -1;
	if (a->key == NULL || a->key[0] == '\0') {
		walk_fail(w, "missing \"aggregation_key\"");
		return -1;
	}
	if (parse_count(w, v, &a->total_count) == -1 ||
	    get_severity(w, v, SEV_ERROR, &a->severity) == -1 ||
	    get_time(w, v, "created_at", 0, &a->created_at) == -1)
		return -1;
	l = jval_get(v, "latest_errors");
	if (l == NULL || l->type == J_NULL)
		return 0;
	old = walk_push(w, ".latest_errors");
	lold = w->plen;
	if (l->type != J_ARRAY) {
		walk_fail(w, "expected an array, got %s", jval_type_name(l));
		walk_pop(w, old);
		return -1;
	}
	a->latest = xcalloc(l->n + 1, sizeof(*a->latest));
	for (i = 0; i < l->n; i++) {
		o = &l->u.v[i];
		walk_push(w, "[%zu]", i);
		a->nlatest = i + 1;
		if (parse_occurrence(w, o, a->severity, &a->latest[i]) == -1) {
			walk_pop(w, old);
			return -1;
		}
		walk_pop(w, lold);
	}
	walk_pop(w, old);
	return 0;
}

/* Stable merge sort, newest first: equal timestamps keep their order. */
static void
sort_newest(struct occurrence *o, size_t n, struct occurrence *tmp)
{
	size_t mid, i, j, k;

	if (n < 2)
		return;
	mid = n / 2;
	sort_newest(o, mid, tmp);
	sort_newest(o + mid, n - mid, tmp);
	if (o[mid - 1].timestamp >= o[mid].timestamp)
		return;
	memcpy(tmp, o, n * sizeof(*o));
	for (i = 0, j = mid, k = 0; i < mid && j < n; )
		o[k++] = tmp[j].timestamp > tmp[i].timestamp ?
		    tmp[j++] : tmp[i++];
	while (i < mid)
		o[k++] = tmp[i++];
	while (j < n)
		o[k++] = tmp[j++];
}

struct uuid_ref {
	const char	*uuid;
	size_t		 pos;
};

static int
uuid_ref_cmp(const void *a, const void *b)
{
	const struct uuid_ref *x = a, *y = b;
	int c;

	if ((c = strcmp(x->uuid, y->uuid)) != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * Sorts an aggregate's occurrences newest first and keeps only the first
 * (newest) of each uuid, in O(n log n) however many a client sends.
 */
static void
normalise_latest(struct aggregate *a)
{
	struct occurrence *tmp;
	struct uuid_ref *refs;
	unsigned char *drop;
	size_t i, k, n = a->nlatest;

	if (n < 2)
		return;
	tmp = xcalloc(n, sizeof(*tmp));
	sort_newest(a->latest, n, tmp);
	free(tmp);
	refs = xcalloc(n, sizeof(*refs));
	drop = xcalloc(n, 1);
	for (i = 0; i < n; i++) {
		refs[i].uuid = a->latest[i].uuid;
		refs[i].pos = i;
	}
	qsort(refs, n, sizeof(*refs), uuid_ref_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(refs[i].uuid, refs[i - 1].uuid) == 0)
			drop[refs[i].pos] = 1;
	for (i = k = 0; i < n; i++) {
		if (drop[i])
			occurrence_release(&a->latest[i]);
		else
			a->latest[k++] = a->latest[i];
	}
	a->nlatest = k;
	free(refs);
	free(drop);
}

struct key_ref {
	const char	*key;
	size_t		 pos;
};

static int
key_ref_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c;

	if ((c = strcmp(x->key, y->key)) != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Moves b's counts and occurrences into a, which keeps its severity. */
static void
aggregate_merge(struct aggregate *a, struct aggregate *b)
{
	if (a->total_count > INT64_MAX - b->total_count)
		a->total_count = INT64_MAX;
	else
		a->total_count += b->total_count;
	if (a->created_at == TIME_NONE || (b->created_at != TIME_NONE &&
	    b->created_at < a->created_at))
		a->created_at = b->created_at;
	if (b->nlatest > 0) {
		a->latest = xreallocarray(a->latest, a->nlatest + b->nlatest,
		    sizeof(*a->latest));
		memcpy(a->latest + a->nlatest, b->latest,
		    b->nlatest * sizeof(*b->latest));
		a->nlatest += b->nlatest;
		free(b->latest);
		b->latest = NULL;
		b->nlatest = 0;
	}
	aggregate_release(b);
}

/*
 * Two aggregates with one key in a payload are one error: they are merged
 * into the first, keeping the order in which keys first appear.
 */
static void
merge_same_keys(struct payload *p)
{
	struct key_ref *refs;
	unsigned char *gone;
	size_t i, first, k, n = p->naggs;

	if (n < 2)
		return;
	refs = xcalloc(n, sizeof(*refs));
	gone = xcalloc(n, 1);
	for (i = 0; i < n; i++) {
		refs[i].key = p->aggs[i].key;
		refs[i].pos = i;
	}
	qsort(refs, n, sizeof(*refs), key_ref_cmp);
	for (first = 0, i = 1; i < n; i++) {
		if (strcmp(refs[i].key, refs[first].key) != 0) {
			first = i;
			continue;
		}
		aggregate_merge(&p->aggs[refs[first].pos],
		    &p->aggs[refs[i].pos]);
		gone[refs[i].pos] = 1;
	}
	for (i = k = 0; i < n; i++)
		if (!gone[i])
			p->aggs[k++] = p->aggs[i];
	p->naggs = k;
	free(refs);
	free(gone);
}

struct payload *
payload_from_jval(const struct jval *root, char *err, size_t errlen)
{
	struct walk w;
	struct payload *p;
	const struct jval *l, *v;
	size_t i;

	memset(&w, 0, sizeof(w));
	w.err = err;
	w.errlen = errlen;
	l = jval_get(root, "aggregated_errors");
	if (l == NULL) {
		walk_fail(&w, "missing \"aggregated_errors\"");
		return NULL;
	}
	if (l->type != J_ARRAY) {
		walk_fail(&w, "\"aggregated_errors\" is not an array");
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	if (get_str(&w, root, "target_uuid", &p->target_uuid) == -1)
		goto fail;
	if (p->target_uuid != NULL && p->target_uuid[0] == '\0') {
		/* An empty uuid would name no instance: treat it as absent. */
		free(p->target_uuid);
		p->target_uuid = NULL;
	}
	p->aggs = xcalloc(l->n + 1, sizeof(*p->aggs));
	for (i = 0; i < l->n; i++) {
		v = &l->u.v[i];
		walk_push(&w, "aggregated_errors[%zu]", i);
		p->naggs = i + 1;
		if (parse_aggregate(&w, v, &p->aggs[i]) == -1)
			goto fail;
		walk_pop(&w, 0);
	}
	merge_same_keys(p);
	for (i = 0; i < p->naggs; i++)
		normalise_latest(&p->aggs[i]);
	return p;
fail:
	payload_free(p);
	return NULL;
}

struct payload *
payload_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	struct payload *p;
	struct jdoc *d;

	/* jdoc reads invalid UTF-8 as U+FFFD, as Go's decoder does. */
	if ((d = jdoc_parse(buf, len, err, errlen)) == NULL)
		return NULL;
	p = payload_from_jval(jdoc_root(d), err, errlen);
	jdoc_free(d);
	return p;
}

void
http_context_write_json(struct buf *b, const struct http_context *h)
{
	size_t i;

	if (h == NULL) {
		buf_adds(b, "null");
		return;
	}
	buf_adds(b, "{\"request_method\":");
	buf_addjstr(b, h->method ? h->method : "");
	buf_adds(b, ",\"request_url\":");
	buf_addjstr(b, h->url ? h->url : "");
	/* Absent or null is null, as the original's nil map marshals. */
	buf_adds(b, ",\"request_headers\":");
	if (h->headers == NULL)
		buf_adds(b, "null");
	else {
		buf_addc(b, '{');
		for (i = 0; i < h->nheaders; i++) {
			if (i > 0)
				buf_addc(b, ',');
			buf_addjstr(b, h->headers[i].name);
			buf_addc(b, ':');
			buf_addjstr(b, h->headers[i].value ?
			    h->headers[i].value : "");
		}
		buf_addc(b, '}');
	}
	buf_adds(b, ",\"request_body\":");
	buf_addjstr(b, h->body ? h->body : "");
	buf_addc(b, '}');
}

void
error_info_write_json(struct buf *b, const struct error_info *e)
{
	const struct error_info *c;
	size_t i, depth = 0;

	/* Iterative, so that no cause chain can exhaust the stack. */
	for (c = e; c != NULL; c = c->cause, depth++) {
		buf_adds(b, "{\"class\":");
		buf_addjstr(b, c->class ? c->class : "");
		buf_adds(b, ",\"message\":");
		buf_addjstr(b, c->message ? c->message : "");
		/* Absent or null is null, as the original's nil slice. */
		buf_adds(b, ",\"stacktrace\":");
		if (c->stacktrace == NULL)
			buf_adds(b, "null");
		else {
			buf_addc(b, '[');
			for (i = 0; i < c->nstacktrace; i++) {
				if (i > 0)
					buf_addc(b, ',');
				buf_addjstr(b, c->stacktrace[i] ?
				    c->stacktrace[i] : "");
			}
			buf_addc(b, ']');
		}
		buf_adds(b, ",\"cause\":");
	}
	buf_adds(b, "null");
	while (depth-- > 0)
		buf_addc(b, '}');
}

static void
occurrence_write_json(struct buf *b, const struct occurrence *o)
{
	char tbuf[TIME_BUFSZ];

	buf_adds(b, "{\"error\":");
	error_info_write_json(b, &o->error);
	buf_adds(b, ",\"uuid\":");
	buf_addjstr(b, uuid_shown(o->uuid));
	buf_adds(b, ",\"timestamp\":\"");
	buf_adds(b, time_format(o->timestamp, tbuf));
	buf_adds(b, "\",\"severity\":\"");
	buf_adds(b, severity_name(o->severity));
	buf_addc(b, '"');
	if (o->http != NULL) {
		buf_adds(b, ",\"http_context\":");
		http_context_write_json(b, o->http);
	}
	buf_addc(b, '}');
}

void
aggregates_write_json(struct buf *b, const struct aggregate *a, size_t n)
{
	char tbuf[TIME_BUFSZ];
	size_t i, j;

	buf_addc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_adds(b, "{\"aggregation_key\":");
		buf_addjstr(b, a[i].key ? a[i].key : "");
		buf_adds(b, ",\"total_count\":");
		buf_addjint(b, a[i].total_count);
		buf_adds(b, ",\"severity\":\"");
		buf_adds(b, severity_name(a[i].severity));
		buf_addc(b, '"');
		if (a[i].created_at != TIME_NONE) {
			buf_adds(b, ",\"created_at\":\"");
			buf_adds(b, time_format(a[i].created_at, tbuf));
			buf_addc(b, '"');
		}
		buf_adds(b, ",\"latest_errors\":[");
		for (j = 0; j < a[i].nlatest; j++) {
			if (j > 0)
				buf_addc(b, ',');
			occurrence_write_json(b, &a[i].latest[j]);
		}
		buf_adds(b, "]}");
	}
	buf_addc(b, ']');
}

void
payload_write_json(struct buf *b, const struct payload *p)
{
	buf_addc(b, '{');
	if (p->target_uuid != NULL) {
		buf_adds(b, "\"target_uuid\":");
		buf_addjstr(b, p->target_uuid);
		buf_addc(b, ',');
	}
	buf_adds(b, "\"aggregated_errors\":");
	aggregates_write_json(b, p->aggs, p->naggs);
	buf_addc(b, '}');
}
