/* SPDX-License-Identifier: Apache-2.0 */
/* The Periskop payload: lenient checks of clients' JSON, and a normal form. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
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

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
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
jstr_dup(const json_t *v)
{
	return str_copy(json_string_value(v), json_string_length(v));
}

/*
 * An optional string member: absent or null gives NULL in *out (the
 * caller picks the default); another type is an error.
 */
static int
get_str(struct walk *w, const json_t *obj, const char *key, char **out)
{
	json_t *v;
	size_t old;

	*out = NULL;
	v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		old = walk_push(w, "%s%s", w->plen ? "." : "", key);
		walk_fail(w, "expected a string, got %s", type_name(v));
		walk_pop(w, old);
		return -1;
	}
	*out = jstr_dup(v);
	return 0;
}

/* An optional string member that defaults to "". */
static int
get_str_def(struct walk *w, const json_t *obj, const char *key, char **out)
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
get_time(struct walk *w, const json_t *obj, const char *key, int required,
    int64_t *out)
{
	json_t *v;
	size_t old;
	char *q;

	*out = TIME_NONE;
	v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v) ||
	    (!required && json_is_string(v) && json_string_length(v) == 0)) {
		if (!required)
			return 0;
		walk_fail(w, "missing \"%s\"", key);
		return -1;
	}
	old = walk_push(w, "%s%s", w->plen ? "." : "", key);
	if (!json_is_string(v)) {
		walk_fail(w, "expected an RFC 3339 time string, got %s",
		    type_name(v));
		walk_pop(w, old);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v) ||
	    time_parse(json_string_value(v), out) == -1) {
		q = show(json_string_value(v));
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
get_severity(struct walk *w, const json_t *obj, enum severity def,
    enum severity *out)
{
	json_t *v;
	size_t old;

	*out = def;
	v = json_object_get(obj, "severity");
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		old = walk_push(w, ".severity");
		walk_fail(w, "expected a string, got %s", type_name(v));
		walk_pop(w, old);
		return -1;
	}
	if (severity_parse(json_string_value(v), out) == -1)
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
parse_stacktrace(struct walk *w, const json_t *obj, struct error_info *e)
{
	json_t *v, *f;
	size_t i, old;

	v = json_object_get(obj, "stacktrace");
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		/* A client that sent the trace as one text. */
		e->stacktrace = xcalloc(1, sizeof(char *));
		e->stacktrace[0] = jstr_dup(v);
		e->nstacktrace = 1;
		return 0;
	}
	old = walk_push(w, ".stacktrace");
	if (!json_is_array(v)) {
		walk_fail(w, "expected an array of strings, got %s",
		    type_name(v));
		walk_pop(w, old);
		return -1;
	}
	e->stacktrace = xcalloc(json_array_size(v) + 1, sizeof(char *));
	json_array_foreach(v, i, f) {
		if (json_is_null(f))
			e->stacktrace[i] = xstrdup("");
		else if (json_is_string(f))
			e->stacktrace[i] = jstr_dup(f);
		else {
			walk_push(w, "[%zu]", i);
			walk_fail(w, "expected a string, got %s",
			    type_name(f));
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
parse_error_info(struct walk *w, const json_t *obj, struct error_info *top)
{
	struct error_info *e = top;
	const json_t *cause;
	size_t old = w->plen;
	int depth;

	for (depth = 0; ; depth++) {
		if (get_str_def(w, obj, "class", &e->class) == -1 ||
		    get_str_def(w, obj, "message", &e->message) == -1 ||
		    parse_stacktrace(w, obj, e) == -1)
			goto fail;
		cause = json_object_get(obj, "cause");
		if (cause == NULL || json_is_null(cause))
			break;
		if (depth + 1 >= MODEL_MAX_DEPTH) {
			walk_fail(w, "cause chain deeper than %d",
			    MODEL_MAX_DEPTH);
			goto fail;
		}
		walk_push(w, ".cause");
		e->cause = xcalloc(1, sizeof(*e->cause));
		e = e->cause;
		if (json_is_string(cause)) {
			/* Very old clients sent the cause as its message. */
			e->class = xstrdup("");
			e->message = jstr_dup(cause);
			break;
		}
		if (!json_is_object(cause)) {
			walk_fail(w, "expected an object, got %s",
			    type_name(cause));
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

static int
header_cmp(const void *a, const void *b)
{
	return strcmp(((const struct header *)a)->name,
	    ((const struct header *)b)->name);
}

static int
parse_headers(struct walk *w, const json_t *v, struct http_context *h)
{
	const char *key;
	void *it;
	json_t *val;
	size_t old, n;
	char *q;

	if (v == NULL || json_is_null(v))
		return 0;
	old = walk_push(w, ".request_headers");
	if (!json_is_object(v)) {
		walk_fail(w, "expected an object, got %s", type_name(v));
		walk_pop(w, old);
		return -1;
	}
	h->headers = xcalloc(json_object_size(v) + 1, sizeof(*h->headers));
	for (it = json_object_iter((json_t *)v); it != NULL;
	    it = json_object_iter_next((json_t *)v, it)) {
		key = json_object_iter_key(it);
		val = json_object_iter_value(it);
		n = h->nheaders;
		if (json_is_string(val))
			h->headers[n].value = jstr_dup(val);
		else if (json_is_null(val))
			h->headers[n].value = xstrdup("");
		else if (json_is_number(val) || json_is_boolean(val))
			h->headers[n].value = json_dumps(val,
			    JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
		else {
			q = show(key);
			walk_push(w, "[%s]", q);
			free(q);
			walk_fail(w, "expected a string, got %s",
			    type_name(val));
			walk_pop(w, old);
			return -1;
		}
		if (h->headers[n].value == NULL)
			h->headers[n].value = xstrdup("");
		h->headers[n].name = str_copy(key,
		    json_object_iter_key_len(it));
		h->nheaders++;
	}
	qsort(h->headers, h->nheaders, sizeof(*h->headers), header_cmp);
	walk_pop(w, old);
	return 0;
}

static int
parse_http(struct walk *w, const json_t *v, struct http_context **out)
{
	struct http_context *h;
	size_t old;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	old = walk_push(w, ".http_context");
	if (!json_is_object(v)) {
		walk_fail(w, "expected an object, got %s", type_name(v));
		walk_pop(w, old);
		return -1;
	}
	*out = h = xcalloc(1, sizeof(*h));
	if (get_str_def(w, v, "request_method", &h->method) == -1 ||
	    get_str_def(w, v, "request_url", &h->url) == -1 ||
	    parse_headers(w, json_object_get(v, "request_headers"), h) == -1 ||
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
parse_occurrence(struct walk *w, const json_t *v, enum severity def,
    struct occurrence *o)
{
	const json_t *e;
	size_t old;

	if (!json_is_object(v)) {
		walk_fail(w, "expected an object, got %s", type_name(v));
		return -1;
	}
	e = json_object_get(v, "error");
	if (e == NULL || json_is_null(e)) {
		walk_fail(w, "missing \"error\"");
		return -1;
	}
	old = walk_push(w, ".error");
	if (!json_is_object(e)) {
		walk_fail(w, "expected an object, got %s", type_name(e));
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
	    parse_http(w, json_object_get(v, "http_context"), &o->http) == -1)
		return -1;
	if (o->uuid == NULL || o->uuid[0] == '\0' ||
	    strncmp(o->uuid, UUID_STANDIN, sizeof(UUID_STANDIN) - 1) == 0) {
		free(o->uuid);
		o->uuid = uuid_standin(o);
	}
	return 0;
}

static int
parse_count(struct walk *w, const json_t *obj, int64_t *out)
{
	json_t *v;
	size_t old;
	double d;
	int rc = -1;

	v = json_object_get(obj, "total_count");
	if (v == NULL || json_is_null(v)) {
		walk_fail(w, "missing \"total_count\"");
		return -1;
	}
	old = walk_push(w, ".total_count");
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		if (*out < 0)
			walk_fail(w, "negative");
		else
			rc = 0;
	} else if (json_is_real(v)) {
		/* 5.0 is how some JSON encoders write an integer. */
		d = json_real_value(v);
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
		walk_fail(w, "expected an integer, got %s", type_name(v));
	walk_pop(w, old);
	return rc;
}

static int
parse_aggregate(struct walk *w, const json_t *v, struct aggregate *a)
{
	const json_t *l, *o;
	size_t i, old, lold;

	if (!json_is_object(v)) {
		walk_fail(w, "expected an object, got %s", type_name(v));
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
	l = json_object_get(v, "latest_errors");
	if (l == NULL || json_is_null(l))
		return 0;
	old = walk_push(w, ".latest_errors");
	lold = w->plen;
	if (!json_is_array(l)) {
		walk_fail(w, "expected an array, got %s", type_name(l));
		walk_pop(w, old);
		return -1;
	}
	a->latest = xcalloc(json_array_size(l) + 1, sizeof(*a->latest));
	json_array_foreach(l, i, o) {
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
payload_from_json(json_t *root, char *err, size_t errlen)
{
	struct walk w;
	struct payload *p;
	json_t *l, *v;
	size_t i;

	memset(&w, 0, sizeof(w));
	w.err = err;
	w.errlen = errlen;
	l = json_is_object(root) ?
	    json_object_get(root, "aggregated_errors") : NULL;
	if (l == NULL) {
		walk_fail(&w, "missing \"aggregated_errors\"");
		return NULL;
	}
	if (!json_is_array(l)) {
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
	p->aggs = xcalloc(json_array_size(l) + 1, sizeof(*p->aggs));
	json_array_foreach(l, i, v) {
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

/*
 * Returns the length of the valid UTF-8 sequence at s, or 0: the same
 * rules as Go's decoder (no overlong forms, surrogates or values above
 * U+10FFFF).
 */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (len > n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/*
 * Returns the offset of the first invalid UTF-8 byte, or n when there is
 * none.  ASCII runs, the common case, are skipped a byte at a time
 * without the full decoder.
 */
static size_t
utf8_check(const unsigned char *s, size_t n)
{
	size_t i = 0, len;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((len = utf8_seq(s + i, n - i)) == 0)
			return i;
		i += len;
	}
	return n;
}

/* A copy of s with each invalid byte from offset bad on made U+FFFD. */
static char *
utf8_repair(const unsigned char *s, size_t n, size_t bad, size_t *outlen)
{
	struct buf b;
	size_t i, len;

	buf_init(&b);
	buf_add(&b, s, bad);
	for (i = bad; i < n; ) {
		len = s[i] < 0x80 ? 1 : utf8_seq(s + i, n - i);
		if (len == 0) {
			buf_add(&b, "\xef\xbf\xbd", 3);
			i++;
		} else {
			buf_add(&b, s + i, len);
			i += len;
		}
	}
	return buf_detach(&b, outlen);
}

static int
hex4(const char *s, unsigned *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		*v <<= 4;
		if (s[i] >= '0' && s[i] <= '9')
			*v |= (unsigned)(s[i] - '0');
		else if (s[i] >= 'a' && s[i] <= 'f')
			*v |= (unsigned)(s[i] - 'a' + 10);
		else if (s[i] >= 'A' && s[i] <= 'F')
			*v |= (unsigned)(s[i] - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/*
 * Finds the first "\uD800"-style escape, from offset i on, that is half a
 * surrogate pair without its other half; returns its offset, or n.
 * Backslashes only occur inside strings in valid JSON, so no string
 * tracking is needed: elsewhere the parser rejects the text anyway.
 */
static size_t
lone_surrogate(const char *s, size_t n, size_t i)
{
	const char *p;
	unsigned v, w;

	while ((p = memchr(s + i, '\\', n - i)) != NULL) {
		i = (size_t)(p - s);
		if (i + 1 >= n)
			break;
		if (s[i + 1] != 'u' || i + 6 > n || hex4(s + i + 2, &v) == -1) {
			i += 2;
			continue;
		}
		if (v >= 0xdc00 && v <= 0xdfff)
			return i;
		if (v >= 0xd800 && v <= 0xdbff) {
			if (i + 12 > n || s[i + 6] != '\\' ||
			    s[i + 7] != 'u' || hex4(s + i + 8, &w) == -1 ||
			    w < 0xdc00 || w > 0xdfff)
				return i;
			i += 12;
			continue;
		}
		i += 6;
	}
	return n;
}

/*
 * Maps an offset in the repaired text back to the client's bytes: each
 * U+FFFD the repair wrote stands for one byte of the original.
 */
static size_t
utf8_orig_offset(const unsigned char *s, size_t n, size_t pos)
{
	size_t i, j, len, w;

	for (i = j = 0; i < n; i += len ? len : 1, j += w) {
		len = s[i] < 0x80 ? 1 : utf8_seq(s + i, n - i);
		w = len ? len : 3;
		if (j + w > pos)
			return i;
	}
	return n;
}

struct payload *
payload_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	struct payload *p;
	json_error_t je;
	json_t *root;
	const char *orig = buf;
	char *fixed = NULL;
	size_t bad, utf8bad, origlen = len, pos;

	/* Go's decoder reads invalid UTF-8 as U+FFFD; so do we. */
	bad = utf8bad = utf8_check((const unsigned char *)buf, len);
	if (bad < len) {
		fixed = utf8_repair((const unsigned char *)buf, len, bad,
		    &len);
		buf = fixed;
	}
	/*
	 * And half a surrogate pair ("\udc80", as Python writes undecodable
	 * bytes) too, where jansson would reject the document: the escape
	 * is rewritten in place as "\ufffd", so offsets do not move.
	 */
	if ((bad = lone_surrogate(buf, len, 0)) < len) {
		if (fixed == NULL) {
			fixed = xmalloc(len);
			memcpy(fixed, buf, len);
			buf = fixed;
		}
		do
			memcpy(fixed + bad + 2, "fffd", 4);
		while ((bad = lone_surrogate(fixed, len, bad + 6)) < len);
	}
	root = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	free(fixed);
	if (root == NULL) {
		/* jansson counts the bytes read, up to the bad token's end. */
		pos = je.position > 0 ? (size_t)je.position - 1 : 0;
		if (utf8bad < origlen)
			pos = utf8_orig_offset((const unsigned char *)orig,
			    origlen, pos);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen,
			    "not JSON at byte %zu (line %d, column %d): %s",
			    pos, je.line, je.column, je.text);
		return NULL;
	}
	p = payload_from_json(root, err, errlen);
	json_decref(root);
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
