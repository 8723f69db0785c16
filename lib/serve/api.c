/* SPDX-License-Identifier: Apache-2.0 */
/* periskop-serve's routes: the original API, its additions, the UI's files. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api.h"
#include "httpd.h"
#include "buf.h"
#include "db.h"
#include "model.h"
#include "periskop.h"
#include "timefmt.h"
#include "urlenc.h"
#include "xalloc.h"

#define JSON_TYPE	"application/json"
#define TEXT_TYPE	"text/plain; charset=utf-8"
#define STATIC_MAX	(64 * 1024 * 1024)
#define LIMIT_MAX	1000000
#define METRICS_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define DAY_MS		(INT64_C(24) * 3600 * 1000)
#define MINUTE_MS	INT64_C(60000)
#define HOUR_MS		INT64_C(3600000)
#define CACHE_SLOTS	32
/* Bytes one cache may hold, so that query variations cannot exhaust memory. */
#define CACHE_BYTES	(32 * 1024 * 1024)

void
api_resp_init(struct api_resp *r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	buf_init(&r->body);
	for (i = 0; i < HTTPD_NSECURE; i++)
		api_resp_header(r, httpd_secure_headers[i][0],
		    httpd_secure_headers[i][1]);
}

void
api_resp_release(struct api_resp *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	buf_release(&r->body);
	api_blob_unref(r->blob);
	r->blob = NULL;
	r->headers = NULL;
	r->nheaders = 0;
}

const char *
api_resp_body(const struct api_resp *r, size_t *len)
{
	if (r->blob != NULL) {
		*len = r->blob->len;
		return r->blob->p;
	}
	*len = r->body.len;
	return r->body.p;
}

struct api_blob *
api_blob_ref(struct api_blob *b)
{
	__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	return b;
}

void
api_blob_unref(struct api_blob *b)
{
	if (b == NULL || __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(b->p);
	free(b);
}

void
api_resp_header(struct api_resp *r, const char *name, const char *value)
{
	r->headers = xreallocarray(r->headers, r->nheaders + 1,
	    sizeof(*r->headers));
	r->headers[r->nheaders].name = xstrdup(name);
	r->headers[r->nheaders].value = xstrdup(value);
	r->nheaders++;
}

const char *
api_resp_get(const struct api_resp *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* A plain-text answer; Go's http.Error ends its message with a newline too. */
static void
text(struct api_resp *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
text(struct api_resp *r, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = status;
	r->content_type = TEXT_TYPE;
	api_blob_unref(r->blob);
	r->blob = NULL;
	buf_reset(&r->body);
	buf_adds(&r->body, msg);
	buf_addc(&r->body, '\n');
}

static void
not_found(struct api_resp *r)
{
	/* The text Go's net/http answers for an unknown path. */
	text(r, 404, "404 page not found");
}

static void
not_allowed(struct api_resp *r, const char *allow)
{
	api_resp_header(r, "Allow", allow);
	text(r, 405, "method not allowed");
}

static void
db_failed(struct api_resp *r, const char *err)
{
	text(r, 503, "database unavailable: %s", err);
}

/* Unix seconds from milliseconds, rounded down as Go's Time.Unix does. */
static int64_t
unix_s(int64_t ms)
{
	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

static void
add_time_or_null(struct buf *b, int64_t ms)
{
	if (ms == TIME_NONE)
		buf_adds(b, "null");
	else
		buf_addjint(b, unix_s(ms));
}

/* Constant-time comparison, so a token cannot be guessed byte by byte. */
static int
token_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char diff = 0;
	size_t i;

	diff |= alen != blen;
	for (i = 0; i < blen; i++)
		diff |= (unsigned char)(i < alen ? a[i] : 0) ^
		    (unsigned char)b[i];
	return diff == 0;
}

/* 0 when the request may write; otherwise the error is in r. */
static int
may_write(const struct api_conf *conf, const struct api_req *req,
    struct api_resp *r)
{
	const char *h = req->authorization, *tok;

	if (conf->read_only) {
		text(r, 403, "read-only server: writes are refused");
		return -1;
	}
	if (conf->token != NULL) {
		if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
			goto unauthorized;
		for (tok = h + 7; *tok == ' '; tok++)
			continue;
		if (!token_eq(tok, strlen(tok), conf->token,
		    strlen(conf->token)))
			goto unauthorized;
		return 0;
	}
	if (!req->loopback) {
		text(r, 403, "writes are allowed from loopback clients only");
		return -1;
	}
	return 0;
unauthorized:
	api_resp_header(r, "WWW-Authenticate", "Bearer");
	text(r, 401, "a valid bearer token is required");
	return -1;
}

static void
cors(const struct api_conf *conf, struct api_resp *r)
{
	if (conf->cors_origin == NULL)
		return;
	api_resp_header(r, "Access-Control-Allow-Origin", conf->cors_origin);
	api_resp_header(r, "Access-Control-Allow-Methods",
	    "GET, HEAD, POST, DELETE, OPTIONS");
	api_resp_header(r, "Access-Control-Allow-Headers", "Authorization");
	api_resp_header(r, "Access-Control-Max-Age", "600");
	if (strcmp(conf->cors_origin, "*") != 0)
		api_resp_header(r, "Vary", "Origin");
}

static int
is_read(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/* 1 when method is one of the comma-separated list (GET allows HEAD). */
static int
method_in(const char *allow, const char *method)
{
	const char *p = allow;
	size_t n = strlen(method);

	if (strcmp(method, "HEAD") == 0) {
		method = "GET";
		n = 3;
	}
	while ((p = strstr(p, method)) != NULL) {
		if ((p == allow || p[-1] == ' ') &&
		    (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/*
 * Answers OPTIONS and wrong methods of an API route; returns 1 when it
 * did, 0 when the method is one of allow's and the route should run.
 */
static int
method_check(const struct api_conf *conf, const struct api_req *req,
    const char *allow, struct api_resp *r)
{
	if (strcmp(req->method, "OPTIONS") == 0) {
		api_resp_header(r, "Allow", allow);
		r->status = 204;
		return 1;
	}
	if (method_in(allow, req->method))
		return 0;
	not_allowed(r, allow);
	return 1;
}

static char *
decode(const char *s, size_t len, const char *what, struct api_resp *r)
{
	char err[128], *p;

	if ((p = urlenc_decode(s, len, NULL, err, sizeof(err))) == NULL)
		text(r, 400, "bad %s: %s", what, err);
	return p;
}

/* One decoded query parameter. */
struct qparam {
	char	*name;
	char	*val;
};

static void
qparams_free(struct qparam *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].val);
	}
	free(v);
}

/* Splits and decodes a raw query; -1 with the 400 answer in r. */
static int
parse_query(const char *q, struct qparam **out, size_t *nout,
    struct api_resp *r)
{
	const char *p, *amp, *eqs, *end;
	struct qparam *v = NULL;
	size_t n = 0;
	char *s;

	for (p = q; p != NULL && *p != '\0'; p = amp ? amp + 1 : NULL) {
		amp = strchr(p, '&');
		end = amp ? amp : p + strlen(p);
		if (end == p)
			continue;
		eqs = memchr(p, '=', (size_t)(end - p));
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n].val = NULL;
		if ((v[n].name = decode(p, (size_t)((eqs ? eqs : end) - p),
		    "query", r)) == NULL)
			goto bad;
		n++;
		if ((v[n - 1].val = eqs ? decode(eqs + 1,
		    (size_t)(end - eqs - 1), "query", r) : xstrdup("")) == NULL)
			goto bad;
		/* Query strings come from forms: '+' is a space there. */
		for (s = v[n - 1].val; *s != '\0'; s++)
			if (*s == '+')
				*s = ' ';
	}
	*out = v;
	*nout = n;
	return 0;
bad:
	qparams_free(v, n);
	return -1;
}

/* The last value of a parameter, or NULL. */
static const char *
qparam_get(const struct qparam *v, size_t n, const char *name)
{
	const char *val = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			val = v[i].val;
	return val;
}

enum status_filter {
	STATUS_DEFAULT,		/* unresolved: neither resolved nor ignored */
	STATUS_RESOLVED,
	STATUS_IGNORED,
	STATUS_ALL
};

enum sort_order {
	SORT_LATEST,
	SORT_COUNT,
	SORT_FIRST
};

/* The query of the errors list. */
struct errq {
	enum status_filter	 status;
	int			 has_severity;
	enum severity		 severity;
	const char		*q;		/* NULL: no search */
	enum sort_order		 sort;
	size_t			 limit;		/* 0: none */
	size_t			 occurrences;	/* per error */
};

/* A decimal number from min to max into *out, or -1. */
static int
parse_count_param(const char *val, unsigned long long min,
    unsigned long long max, size_t *out)
{
	unsigned long long num;
	char *s = (char *)val;

	errno = 0;
	num = val[0] >= '0' && val[0] <= '9' ? strtoull(val, &s, 10) : 0;
	if (s == val || *s != '\0' || errno != 0 || num < min || num > max)
		return -1;
	*out = (size_t)num;
	return 0;
}

static int
parse_errq(const struct qparam *v, size_t n, struct errq *eq,
    struct api_resp *r)
{
	const char *val;

	memset(eq, 0, sizeof(*eq));
	eq->occurrences = API_OCCURRENCES;
	if ((val = qparam_get(v, n, "status")) != NULL) {
		if (strcmp(val, "all") == 0)
			eq->status = STATUS_ALL;
		else if (strcmp(val, "resolved") == 0)
			eq->status = STATUS_RESOLVED;
		else if (strcmp(val, "ignored") == 0)
			eq->status = STATUS_IGNORED;
		else if (strcmp(val, "unresolved") == 0)
			eq->status = STATUS_DEFAULT;
		else {
			text(r, 400, "bad status: want unresolved, resolved, "
			    "ignored or all");
			return -1;
		}
	}
	if ((val = qparam_get(v, n, "severity")) != NULL) {
		if (severity_parse(val, &eq->severity) != 0) {
			text(r, 400, "bad severity: want error, warning or "
			    "info");
			return -1;
		}
		eq->has_severity = 1;
	}
	if ((val = qparam_get(v, n, "sort")) != NULL) {
		if (strcmp(val, "latest") == 0)
			eq->sort = SORT_LATEST;
		else if (strcmp(val, "count") == 0)
			eq->sort = SORT_COUNT;
		else if (strcmp(val, "first") == 0)
			eq->sort = SORT_FIRST;
		else {
			text(r, 400, "bad sort: want latest, count or first");
			return -1;
		}
	}
	if ((val = qparam_get(v, n, "q")) != NULL && val[0] != '\0')
		eq->q = val;
	if ((val = qparam_get(v, n, "limit")) != NULL &&
	    parse_count_param(val, 1, LIMIT_MAX, &eq->limit) == -1) {
		text(r, 400, "bad limit: want a number from 1 to %d",
		    LIMIT_MAX);
		return -1;
	}
	if ((val = qparam_get(v, n, "occurrences")) != NULL &&
	    parse_count_param(val, 0, API_DETAIL_OCCURRENCES,
	    &eq->occurrences) == -1) {
		text(r, 400, "bad occurrences: want a number from 0 to %d",
		    API_DETAIL_OCCURRENCES);
		return -1;
	}
	/* Other parameters (a cache buster, say) are ignored. */
	return 0;
}

/* Appends a code point as UTF-8. */
static void
add_utf8(struct buf *b, unsigned long cp)
{
	char u[4];

	if (cp < 0x80) {
		buf_addc(b, (char)cp);
		return;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		buf_add(b, u, 4);
	}
}

static long
hex4(const char *p)
{
	long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			v |= p[i] - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * Decodes the JSON string at *pp (its opening quote) into b and moves
 * *pp past it; -1 when it is not a well-formed string.
 */
static int
json_string(const char **pp, struct buf *b)
{
	const char *p = *pp;
	long cp, lo;

	if (*p++ != '"')
		return -1;
	for (; *p != '"'; p++) {
		if (*p == '\0')
			return -1;
		if (*p != '\\') {
			buf_addc(b, *p);
			continue;
		}
		switch (*++p) {
		case 'b': buf_addc(b, '\b'); break;
		case 'f': buf_addc(b, '\f'); break;
		case 'n': buf_addc(b, '\n'); break;
		case 'r': buf_addc(b, '\r'); break;
		case 't': buf_addc(b, '\t'); break;
		case 'u':
			if ((cp = hex4(p + 1)) == -1)
				return -1;
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && p[1] == '\\' &&
			    p[2] == 'u' && (lo = hex4(p + 3)) >= 0xdc00 &&
			    lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				p += 6;
			}
			add_utf8(b, (unsigned long)cp);
			break;
		case '\0':
			return -1;
		default:
			buf_addc(b, *p);
			break;
		}
	}
	*pp = p + 1;
	return 0;
}

/*
 * Whether q occurs, ignoring ASCII case, in the key or in the class or
 * message of the newest occurrence.  The error text is the one
 * error_info_write_json wrote, so class and message come first in it.
 */
static int
error_matches(const struct db_error *e, const char *q)
{
	const char *p;
	struct buf b;
	int hit = 0;

	if (strcasestr(e->key, q) != NULL)
		return 1;
	if (e->nocc == 0 || e->occ[0].error_json == NULL)
		return 0;
	buf_init(&b);
	p = e->occ[0].error_json;
	if (strncmp(p, "{\"class\":", 9) == 0) {
		p += 9;
		if (json_string(&p, &b) == 0) {
			hit = strcasestr(b.p, q) != NULL;
			buf_reset(&b);
			if (!hit && strncmp(p, ",\"message\":", 11) == 0) {
				p += 11;
				hit = json_string(&p, &b) == 0 &&
				    strcasestr(b.p, q) != NULL;
			}
		}
	}
	buf_release(&b);
	return hit;
}

static int
cmp_count(const void *a, const void *b)
{
	const struct db_error *x = a, *y = b;

	if (x->total_count != y->total_count)
		return x->total_count > y->total_count ? -1 : 1;
	if (x->last_seen != y->last_seen)
		return x->last_seen > y->last_seen ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int
cmp_first(const void *a, const void *b)
{
	const struct db_error *x = a, *y = b;

	if (x->first_seen != y->first_seen)
		return x->first_seen > y->first_seen ? -1 : 1;
	return strcmp(x->key, y->key);
}

static void
write_occurrence(struct buf *b, const struct db_occurrence *o)
{
	buf_adds(b, "{\"error\":");
	buf_adds(b, o->error_json != NULL ? o->error_json : "null");
	buf_adds(b, ",\"uuid\":");
	buf_addjstr(b, uuid_shown(o->uuid));
	buf_adds(b, ",\"timestamp\":");
	buf_addjint(b, unix_s(o->timestamp));
	buf_adds(b, ",\"severity\":");
	buf_addjstr(b, severity_name(o->severity));
	buf_adds(b, ",\"http_context\":");
	buf_adds(b, o->http_json != NULL ? o->http_json : "null");
	buf_addc(b, '}');
}

/* The error object without its closing brace, so the detail can add. */
static void
write_error_open(struct buf *b, const struct db_error *e, size_t maxocc)
{
	size_t i;

	buf_adds(b, "{\"aggregation_key\":");
	buf_addjstr(b, e->key);
	buf_adds(b, ",\"total_count\":");
	buf_addjint(b, e->total_count);
	buf_adds(b, ",\"severity\":");
	buf_addjstr(b, severity_name(e->severity));
	buf_adds(b, ",\"latest_errors\":[");
	for (i = 0; i < e->nocc && i < maxocc; i++) {
		if (i > 0)
			buf_addc(b, ',');
		write_occurrence(b, &e->occ[i]);
	}
	buf_adds(b, "],\"created_at\":");
	buf_addjint(b, e->created_at == TIME_NONE ? 0 : unix_s(e->created_at));
	buf_adds(b, ",\"first_seen\":");
	add_time_or_null(b, e->first_seen);
	buf_adds(b, ",\"last_seen\":");
	add_time_or_null(b, e->last_seen);
	buf_adds(b, ",\"status\":");
	buf_addjstr(b, e->status != NULL ? e->status : "unresolved");
	buf_adds(b, ",\"regressed\":");
	buf_adds(b, e->regressed ? "true" : "false");
	buf_adds(b, ",\"regressed_at\":");
	add_time_or_null(b, e->regressed_at);
}


static void
get_services(struct db *db, struct api_resp *r)
{
	char err[256], **names;
	size_t n, i;

	if (db_services(db, &names, &n, err, sizeof(err)) == -1) {
		db_failed(r, err);
		return;
	}
	buf_addc(&r->body, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&r->body, ',');
		buf_addjstr(&r->body, names[i]);
	}
	buf_adds(&r->body, "]\n");
	db_strings_free(names, n);
	r->status = 200;
	r->content_type = JSON_TYPE;
}

/* 1 when the service exists; otherwise the answer (404, 503) is in r. */
static int
service_known(struct db *db, const char *svc, struct api_resp *r)
{
	char err[256];

	switch (db_service_exists(db, svc, err, sizeof(err))) {
	case 1:
		return 1;
	case 0:
		text(r, 404, "service not found");
		return 0;
	default:
		db_failed(r, err);
		return 0;
	}
}

static int
status_shown(const struct errq *eq, const char *st)
{
	switch (eq->status) {
	case STATUS_ALL:
		return 1;
	case STATUS_RESOLVED:
		return strcmp(st, "resolved") == 0;
	case STATUS_IGNORED:
		return strcmp(st, "ignored") == 0;
	default:
		return strcmp(st, "resolved") != 0 &&
		    strcmp(st, "ignored") != 0;
	}
}

static void
get_errors(struct db *db, const char *svc, const char *query,
    struct api_resp *r)
{
	struct db_error_list list;
	struct qparam *qp = NULL;
	struct errq eq;
	char err[256];
	size_t i, n, nqp = 0;

	if (parse_query(query, &qp, &nqp, r) == -1)
		return;
	if (parse_errq(qp, nqp, &eq, r) == -1 || !service_known(db, svc, r))
		goto out;
	if (db_errors(db, svc, eq.occurrences, eq.status == STATUS_RESOLVED ||
	    eq.status == STATUS_ALL, &list, err, sizeof(err)) == -1) {
		db_failed(r, err);
		goto out;
	}
	if (eq.sort == SORT_COUNT)
		qsort(list.v, list.n, sizeof(*list.v), cmp_count);
	else if (eq.sort == SORT_FIRST)
		qsort(list.v, list.n, sizeof(*list.v), cmp_first);
	buf_addc(&r->body, '[');
	for (i = 0, n = 0; i < list.n; i++) {
		const struct db_error *e = &list.v[i];

		if (!status_shown(&eq, e->status != NULL ? e->status :
		    "unresolved"))
			continue;
		if (eq.has_severity && e->severity != eq.severity)
			continue;
		if (eq.q != NULL && !error_matches(e, eq.q))
			continue;
		if (eq.limit != 0 && n >= eq.limit)
			break;
		if (n++ > 0)
			buf_addc(&r->body, ',');
		write_error_open(&r->body, e, eq.occurrences);
		buf_addc(&r->body, '}');
	}
	buf_adds(&r->body, "]\n");
	db_error_list_release(&list);
	r->status = 200;
	r->content_type = JSON_TYPE;
out:
	qparams_free(qp, nqp);
}

/* [[unix_s,count],...] of the buckets since since_ms; -1 on error. */
static int
write_counts(struct buf *b, struct db *db, const char *svc, const char *key,
    int64_t since, int64_t bucket, char *err, size_t errlen)
{
	struct db_bucket *v = NULL;
	size_t n = 0, i;

	if (db_counts(db, svc, key, since, bucket, &v, &n, err, errlen) == -1)
		return -1;
	buf_addc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_addc(b, '[');
		buf_addjint(b, unix_s(v[i].start));
		buf_addc(b, ',');
		buf_addjint(b, v[i].count);
		buf_addc(b, ']');
	}
	buf_addc(b, ']');
	free(v);
	return 0;
}

/*
 * {"day":[...],"fortnight":[...]}: per minute for the last 24 hours and
 * per hour for the last 14 days, the current bucket last.
 */
static int
write_series(struct buf *b, struct db *db, const char *svc, const char *key,
    char *err, size_t errlen)
{
	int64_t now = time_now();

	buf_adds(b, "{\"day\":");
	if (write_counts(b, db, svc, key, now / MINUTE_MS * MINUTE_MS -
	    DAY_MS + MINUTE_MS, MINUTE_MS, err, errlen) == -1)
		return -1;
	buf_adds(b, ",\"fortnight\":");
	if (write_counts(b, db, svc, key, now / HOUR_MS * HOUR_MS -
	    14 * DAY_MS + HOUR_MS, HOUR_MS, err, errlen) == -1)
		return -1;
	buf_addc(b, '}');
	return 0;
}

static void
get_counts(struct db *db, const char *svc, struct api_resp *r)
{
	char err[256];

	if (!service_known(db, svc, r))
		return;
	if (write_series(&r->body, db, svc, NULL, err, sizeof(err)) == -1) {
		db_failed(r, err);
		return;
	}
	buf_addc(&r->body, '\n');
	r->status = 200;
	r->content_type = JSON_TYPE;
}

static void
get_error(struct db *db, const char *svc, const char *key,
    struct api_resp *r)
{
	struct db_instance *inst = NULL;
	struct db_error e;
	struct buf *b = &r->body;
	char err[256];
	size_t ninst = 0, i;
	int rc;

	if (!service_known(db, svc, r))
		return;
	memset(&e, 0, sizeof(e));
	rc = db_error_get(db, svc, key, API_DETAIL_OCCURRENCES, &e, err,
	    sizeof(err));
	if (rc == 0) {
		text(r, 404, "error not found");
		return;
	}
	if (rc == -1 || db_instances(db, svc, key, &inst, &ninst, err,
	    sizeof(err)) == -1) {
		if (rc == 1)
			db_error_release(&e);
		db_failed(r, err);
		return;
	}
	write_error_open(b, &e, API_DETAIL_OCCURRENCES);
	buf_adds(b, ",\"instances\":[");
	for (i = 0; i < ninst; i++) {
		if (i > 0)
			buf_addc(b, ',');
		buf_adds(b, "{\"target\":");
		buf_addjstr(b, inst[i].target);
		buf_adds(b, ",\"count\":");
		buf_addjint(b, inst[i].count);
		buf_adds(b, ",\"last_raw\":");
		buf_addjint(b, inst[i].last_raw);
		buf_addc(b, '}');
	}
	buf_adds(b, "],\"counts\":");
	db_instances_free(inst, ninst);
	db_error_release(&e);
	if (write_series(b, db, svc, key, err, sizeof(err)) == -1) {
		buf_reset(b);
		db_failed(r, err);
		return;
	}
	buf_adds(b, "}\n");
	r->status = 200;
	r->content_type = JSON_TYPE;
}

/* DELETE (the original's resolve: status NULL) and POST ?action=. */
static void
set_status(struct db *db, const char *svc, const char *key,
    const char *status, struct api_resp *r)
{
	char err[256];
	int rc;

	if (!service_known(db, svc, r))
		return;
	if (status == NULL || strcmp(status, "resolved") == 0)
		rc = db_resolve(db, svc, key, err, sizeof(err));
	else
		rc = db_set_status(db, svc, key, status, err, sizeof(err));
	switch (rc) {
	case 1:
		r->status = 204;
		break;
	case 0:
		/*
		 * The original answers its DELETE with 204 for a key it
		 * does not have (TestResolveErrorsReturnsSuccess); clients
		 * written for it may rely on that.
		 */
		if (status == NULL)
			r->status = 204;
		else
			text(r, 404, "error not found");
		break;
	default:
		db_failed(r, err);
		break;
	}
}

/* The status a POST's ?action= asks for, or NULL with a 400 in r. */
static const char *
post_action(const char *query, struct api_resp *r)
{
	struct qparam *qp = NULL;
	const char *a, *st = NULL;
	size_t nqp = 0;

	if (parse_query(query, &qp, &nqp, r) == -1)
		return NULL;
	if ((a = qparam_get(qp, nqp, "action")) == NULL)
		a = "";
	if (strcmp(a, "resolve") == 0)
		st = "resolved";
	else if (strcmp(a, "ignore") == 0)
		st = "ignored";
	else if (strcmp(a, "reopen") == 0)
		st = "unresolved";
	else
		text(r, 400, "bad action: want ?action=resolve, ignore or "
		    "reopen");
	qparams_free(qp, nqp);
	return st;
}

static void
get_targets(struct db *db, struct api_resp *r)
{
	struct db_target_list list;
	struct buf *b = &r->body;
	const char *prev = NULL;
	char err[256];
	size_t i;

	if (db_targets(db, &list, err, sizeof(err)) == -1) {
		db_failed(r, err);
		return;
	}
	buf_addc(b, '{');
	for (i = 0; i < list.n; i++) {
		const struct db_target_info *t = &list.v[i];
		char *ep;

		if (prev == NULL || strcmp(prev, t->service) != 0) {
			if (prev != NULL)
				buf_adds(b, "],");
			buf_addjstr(b, t->service);
			buf_adds(b, ":[");
			prev = t->service;
		} else
			buf_addc(b, ',');
		ep = xasprintf("%s%s", t->address,
		    t->endpoint != NULL ? t->endpoint : "/errors");
		buf_adds(b, "{\"endpoint\":");
		buf_addjstr(b, ep);
		free(ep);
		buf_adds(b, ",\"url\":");
		buf_addjstr(b, t->url);
		buf_adds(b, ",\"up\":");
		buf_adds(b, t->up < 0 ? "null" : t->up ? "true" : "false");
		buf_adds(b, ",\"last_scrape\":");
		add_time_or_null(b, t->last_scrape);
		buf_adds(b, ",\"duration_ms\":");
		buf_addjdouble(b, t->duration_ms);
		buf_adds(b, ",\"last_error\":");
		buf_addjstr(b, t->last_error);
		buf_addc(b, '}');
	}
	if (prev != NULL)
		buf_addc(b, ']');
	buf_adds(b, "}\n");
	db_target_list_release(&list);
	r->status = 200;
	r->content_type = JSON_TYPE;
}

static void
get_health(struct db *db, struct api_resp *r)
{
	char err[256];

	if (db_service_exists(db, "", err, sizeof(err)) == -1) {
		db_failed(r, err);
		return;
	}
	r->status = 200;
	r->content_type = TEXT_TYPE;
	buf_adds(&r->body, "OK");
}

/* GET /errors: serve's own failures, for Periskop to scrape itself. */
static void
get_self(const struct api_conf *conf, struct api_resp *r)
{
	char *p;
	size_t len;

	p = periskop_export(conf->self, &len);
	buf_add(&r->body, p, len);
	free(p);
	r->status = 200;
	r->content_type = JSON_TYPE;
}

/*
 * Appends a label value escaped as the text format wants (backslash,
 * double quote, line feed), with invalid UTF-8 bytes as U+FFFD so the
 * exposition stays valid whatever a client put in a key.
 */
static void
add_label(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i;

	for (; *p != '\0'; p += n) {
		n = 1;
		if (*p == '\\')
			buf_adds(b, "\\\\");
		else if (*p == '"')
			buf_adds(b, "\\\"");
		else if (*p == '\n')
			buf_adds(b, "\\n");
		else if (*p < 0x80)
			buf_addc(b, (char)*p);
		else {
			if (*p >= 0xc2 && *p <= 0xdf)
				n = 2;
			else if (*p >= 0xe0 && *p <= 0xef)
				n = 3;
			else if (*p >= 0xf0 && *p <= 0xf4)
				n = 4;
			else
				n = 0;
			for (i = 1; i < n; i++)
				if ((p[i] & 0xc0) != 0x80)
					break;
			/* Overlong and surrogate forms are not checked. */
			if (n == 0 || i < n) {
				buf_adds(b, "\xef\xbf\xbd");
				n = 1;
			} else
				buf_add(b, p, n);
		}
	}
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One periskop_error_occurrences sample, kept to sum over targets. */
struct msample {
	char		*service;
	char		*target;
	char		*key;
	enum severity	 severity;
	int64_t		 count;
};

struct mctx {
	struct buf	*b;
	int		 no_target;
	struct msample	*v;
	size_t		 n;
};

static void
occ_sample(struct buf *b, const char *svc, const char *sev,
    const char *target, const char *key, int64_t count)
{
	buf_adds(b, "periskop_error_occurrences{service_name=\"");
	add_label(b, svc);
	buf_adds(b, "\",severity=\"");
	buf_adds(b, sev);
	if (target != NULL) {
		buf_adds(b, "\",target=\"");
		add_label(b, target);
	}
	buf_adds(b, "\",aggregation_key=\"");
	add_label(b, key);
	buf_adds(b, "\"} ");
	buf_addjint(b, count);
	buf_addc(b, '\n');
}

static int
metric_cb(const struct db_metric *m, void *arg)
{
	struct mctx *c = arg;

	if (!c->no_target) {
		occ_sample(c->b, m->service, severity_name(m->severity),
		    m->target, m->key, m->count);
		return 0;
	}
	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	c->v[c->n].service = xstrdup(m->service);
	c->v[c->n].target = NULL;
	c->v[c->n].key = xstrdup(m->key);
	c->v[c->n].severity = m->severity;
	c->v[c->n].count = m->count;
	c->n++;
	return 0;
}

static int
msample_cmp(const void *a, const void *b)
{
	const struct msample *x = a, *y = b;
	int c;

	if ((c = strcmp(x->service, y->service)) != 0)
		return c;
	if ((c = strcmp(x->key, y->key)) != 0)
		return c;
	return (int)x->severity - (int)y->severity;
}

static int
self_cb(const char *key, enum periskop_severity sev, int64_t total,
    void *arg)
{
	struct buf *b = arg;

	buf_adds(b, "periskop_application_errors_total{type=\"");
	add_label(b, key);
	buf_adds(b, "\"} ");
	buf_addjint(b, total);
	buf_addc(b, '\n');
	return 0;
}

/* The database's part of /metrics into b; -1 on a database error. */
static int
metrics_db(const struct api_conf *conf, struct db *db, struct buf *b,
    char *err, size_t errlen)
{
	struct db_service_stats *st = NULL;
	struct mctx c;
	size_t nst = 0, i, j;
	int rc;

	/*
	 * Untyped, not counter: the original's name has no _total suffix,
	 * which promtool requires of counters, and the name must stay for
	 * the alerts written against the original.
	 */
	family(b, "periskop_error_occurrences", "untyped",
	    "Number of occurrences per service, error type and severity.");
	memset(&c, 0, sizeof(c));
	c.b = b;
	c.no_target = conf->metrics_no_target;
	rc = db_metrics(db, metric_cb, &c, err, errlen);
	if (rc != -1 && c.no_target) {
		qsort(c.v, c.n, sizeof(*c.v), msample_cmp);
		for (i = 0; i < c.n; i = j) {
			int64_t sum = 0;

			for (j = i; j < c.n && msample_cmp(&c.v[i],
			    &c.v[j]) == 0; j++)
				sum += c.v[j].count;
			occ_sample(b, c.v[i].service,
			    severity_name(c.v[i].severity), NULL, c.v[i].key,
			    sum);
		}
	}
	for (i = 0; i < c.n; i++) {
		free(c.v[i].service);
		free(c.v[i].key);
	}
	free(c.v);
	if (rc == -1 || db_service_stats(db, &st, &nst, err, errlen) == -1)
		return -1;

#define PER_SERVICE(name, type, help, fmt, expr) do {			\
	family(b, name, type, help);					\
	for (i = 0; i < nst; i++) {					\
		buf_adds(b, name "{service_name=\"");			\
		add_label(b, st[i].service);				\
		buf_addf(b, "\"} " fmt "\n", expr);			\
	}								\
} while (0)
	PER_SERVICE("periskop_instances_scraped", "gauge",
	    "Number of instances scraped in the last round.", "%lld",
	    (long long)st[i].targets);
	PER_SERVICE("periskop_instances_up", "gauge",
	    "Number of instances whose last scrape succeeded.", "%lld",
	    (long long)st[i].up);
	PER_SERVICE("periskop_scrape_duration_seconds", "gauge",
	    "Duration of the last scrape round.", "%.6f",
	    st[i].last_round_ms / 1000.0);
	PER_SERVICE("periskop_scrape_rounds_total", "counter",
	    "Total number of scrape rounds.", "%lld",
	    (long long)st[i].rounds_total);
	PER_SERVICE("periskop_scrapes_total", "counter",
	    "Total number of scrapes of instances.", "%lld",
	    (long long)st[i].scrapes_total);
	PER_SERVICE("periskop_scrape_failures_total", "counter",
	    "Total number of failed scrapes of instances.", "%lld",
	    (long long)st[i].scrape_failures_total);
#undef PER_SERVICE
	family(b, "periskop_last_scrape_timestamp_seconds", "gauge",
	    "When the last scrape round ended.");
	for (i = 0; i < nst; i++) {
		if (st[i].last_round_at == TIME_NONE)
			continue;
		buf_adds(b, "periskop_last_scrape_timestamp_seconds"
		    "{service_name=\"");
		add_label(b, st[i].service);
		buf_addf(b, "\"} %.3f\n", (double)st[i].last_round_at /
		    1000.0);
	}
	db_service_stats_free(st, nst);
	return 0;
}

/*
 * Appends a file another program writes whole (by rename), up to 1 MiB;
 * a missing one adds nothing.
 */
static void
add_file(struct buf *b, const char *path)
{
	char	 chunk[8192];
	size_t	 n, total = 0;
	FILE	*fp;

	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (total < 1024 * 1024 &&
	    (n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		buf_add(b, chunk, n);
		total += n;
	}
	fclose(fp);
	if (b->len > 0 && b->p[b->len - 1] != '\n')
		buf_addc(b, '\n');
}

/*
 * GET /metrics.  Answers 200 even when the database fails, with
 * periskop_database_up 0, so the failure itself can be alerted on.
 */
static void
get_metrics(const struct api_conf *conf, struct db *db, struct api_resp *r)
{
	struct buf *b = &r->body, part;
	char err[256];
	int up = 0;

	buf_init(&part);
	if (db != NULL && metrics_db(conf, db, &part, err,
	    sizeof(err)) == 0) {
		up = 1;
		buf_add(b, part.p, part.len);
	}
	buf_release(&part);
	family(b, "periskop_database_up", "gauge",
	    "Whether the last query of the database succeeded.");
	buf_addf(b, "periskop_database_up %d\n", up);
	family(b, "periskop_application_errors_total", "counter",
	    "Total number of errors in the Periskop service.");
	periskop_foreach(conf->self, self_cb, b);
	if (conf->extra_metrics != NULL)
		add_file(b, conf->extra_metrics);
	family(b, "periskop_build_info", "gauge",
	    "A metric with a constant '1' value labeled by the version.");
	buf_adds(b, "periskop_build_info{version=\"" PERISKOP_VERSION
	    "\"} 1\n");
	r->status = 200;
	r->content_type = METRICS_TYPE;
}

const char *
api_mime_type(const char *name)
{
	static const struct {
		const char	*ext;
		const char	*type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "htm", "text/html; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "json", "application/json" },
		{ "map", "application/json" },
		{ "webmanifest", "application/manifest+json" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "webp", "image/webp" },
		{ "ico", "image/x-icon" },
		{ "woff", "font/woff" },
		{ "woff2", "font/woff2" },
	};
	const char *dot, *slash;
	size_t i;

	dot = strrchr(name, '.');
	slash = strrchr(name, '/');
	if (dot == NULL || (slash != NULL && dot < slash))
		return "application/octet-stream";
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Reads a whole regular file into b; -1 on any failure. */
static int
slurp(const char *path, struct buf *b)
{
	char chunk[65536];
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > STATIC_MAX)
		goto out;
	for (;;) {
		if ((n = read(fd, chunk, sizeof(chunk))) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			break;
		buf_add(b, chunk, (size_t)n);
		if (b->len > STATIC_MAX)
			goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/*
 * A file under the UI folder.  Paths with ".." or hidden segments, and
 * files whose real path (symlinks followed) is outside the folder, are
 * answered 404 like missing files, so nothing else can be read.
 */
static void
get_static(const struct api_conf *conf, const char *rawpath,
    struct api_resp *r)
{
	char *path = NULL, *full = NULL, *real = NULL, *root = NULL;
	const char *seg, *rel;
	size_t rlen;

	if (conf->ui_dir == NULL || (root = realpath(conf->ui_dir,
	    NULL)) == NULL) {
		text(r, 404, "no UI folder: this server answers the API only");
		goto out;
	}
	if ((path = decode(rawpath, strlen(rawpath), "path", r)) == NULL)
		goto out;
	rel = strcmp(path, "/") == 0 ? "/index.html" : path;
	for (seg = rel; seg != NULL; seg = strchr(seg + 1, '/'))
		if (seg[1] == '.' || seg[1] == '\0' || seg[1] == '/' ||
		    strchr(seg, '\\') != NULL) {
			not_found(r);
			goto out;
		}
	full = xasprintf("%s%s", root, rel);
	rlen = strlen(root);
	if ((real = realpath(full, NULL)) == NULL ||
	    strncmp(real, root, rlen) != 0 || real[rlen] != '/' ||
	    slurp(real, &r->body) == -1) {
		buf_reset(&r->body);
		not_found(r);
		goto out;
	}
	r->status = 200;
	r->content_type = api_mime_type(real);
	api_resp_header(r, "Cache-Control", "no-cache");
out:
	free(root);
	free(path);
	free(full);
	free(real);
}

/* What a path under /services/{service}/ names. */
enum svc_route {
	SR_ERRORS,		/* errors/ */
	SR_ERROR,		/* errors/{key}/ */
	SR_COUNTS		/* counts/ */
};

/* "{service}/errors/[{key}/]" or "{service}/counts/": the raw parts. */
static int
split_service_path(const char *p, const char **svc, size_t *svclen,
    const char **key, size_t *keylen, enum svc_route *what)
{
	const char *slash;
	size_t n;

	if ((slash = strchr(p, '/')) == NULL || slash == p)
		return -1;
	*svc = p;
	*svclen = (size_t)(slash - p);
	*key = NULL;
	*keylen = 0;
	p = slash + 1;
	if (strcmp(p, "counts/") == 0) {
		*what = SR_COUNTS;
		return 0;
	}
	if (strncmp(p, "errors/", 7) != 0)
		return -1;
	p += 7;
	n = strlen(p);
	if (n == 0) {
		*what = SR_ERRORS;
		return 0;
	}
	/* The key is everything up to the final '/', slashes included. */
	if (n < 2 || p[n - 1] != '/')
		return -1;
	*key = p;
	*keylen = n - 1;
	*what = SR_ERROR;
	return 0;
}

static void
route_service(const struct api_conf *conf, struct db *db,
    const struct api_req *req, const char *rest, const char *query,
    struct api_resp *r)
{
	const char *rsvc, *rkey, *status = NULL;
	char *svc = NULL, *key = NULL;
	size_t svclen, keylen;
	enum svc_route what;
	int write;

	if (split_service_path(rest, &rsvc, &svclen, &rkey, &keylen,
	    &what) == -1) {
		not_found(r);
		return;
	}
	if (method_check(conf, req, what == SR_ERROR ?
	    "GET, HEAD, POST, DELETE, OPTIONS" : "GET, HEAD, OPTIONS", r))
		return;
	write = !is_read(req->method);
	if (write && may_write(conf, req, r) == -1)
		return;
	if (write && strcmp(req->method, "POST") == 0 &&
	    (status = post_action(query, r)) == NULL)
		return;
	if ((svc = decode(rsvc, svclen, "service", r)) == NULL)
		goto out;
	if (rkey != NULL && (key = decode(rkey, keylen, "key", r)) == NULL)
		goto out;
	if (db == NULL) {
		text(r, 503, "database unavailable");
		goto out;
	}
	if (what == SR_COUNTS)
		get_counts(db, svc, r);
	else if (what == SR_ERRORS)
		get_errors(db, svc, query, r);
	else if (!write)
		get_error(db, svc, key, r);
	else
		set_status(db, svc, key, status, r);
out:
	free(svc);
	free(key);
}

/* The API routes that only read the database: "GET, HEAD, OPTIONS". */
static const struct {
	const char	*path;
	void		(*fn)(struct db *, struct api_resp *);
} db_routes[] = {
	{ "/services/", get_services },
	{ "/targets/", get_targets },
	{ "/-/health", get_health },
};

static void
route(const struct api_conf *conf, struct db *db, const struct api_req *req,
    const char *path, const char *query, struct api_resp *r)
{
	size_t i;

	for (i = 0; i < sizeof(db_routes) / sizeof(db_routes[0]); i++) {
		if (strcmp(path, db_routes[i].path) != 0)
			continue;
		if (!method_check(conf, req, "GET, HEAD, OPTIONS", r)) {
			if (db == NULL)
				text(r, 503, "database unavailable");
			else
				db_routes[i].fn(db, r);
		}
		cors(conf, r);
		return;
	}
	if (strncmp(path, "/services/", 10) == 0) {
		route_service(conf, db, req, path + 10, query, r);
		cors(conf, r);
	} else if (strcmp(path, "/metrics") == 0) {
		if (!method_check(conf, req, "GET, HEAD, OPTIONS", r))
			get_metrics(conf, db, r);
	} else if (strcmp(path, "/errors") == 0) {
		if (!method_check(conf, req, "GET, HEAD, OPTIONS", r))
			get_self(conf, r);
	} else if (!is_read(req->method))
		not_allowed(r, "GET, HEAD");
	else
		get_static(conf, path, r);
}

/* The route's name without its variable parts, for grouping failures. */
static const char *
route_name(const char *path)
{
	const char *p;

	if (strncmp(path, "/services/", 10) != 0 || strlen(path) == 10)
		return path;
	if ((p = strchr(path + 10, '/')) == NULL)
		return "/services/{service}";
	if (strcmp(p, "/counts/") == 0)
		return "/services/{service}/counts/";
	if (strcmp(p, "/errors/") == 0)
		return "/services/{service}/errors/";
	return "/services/{service}/errors/{key}/";
}

/* Reports a 5xx answer to serve's own collector, for GET /errors. */
static void
report_self(const struct api_conf *conf, const struct api_req *req,
    const char *path, const struct api_resp *r)
{
	struct periskop_exception e;
	struct periskop_http_context h;
	char *key, *msg;
	size_t n;

	if (conf->self == NULL || r->status < 500 || r->blob != NULL)
		return;
	key = xasprintf("http_%d@%s %s", r->status, req->method,
	    route_name(path));
	n = r->body.len;
	while (n > 0 && r->body.p[n - 1] == '\n')
		n--;
	msg = xstrndup(r->body.p, n);
	memset(&e, 0, sizeof(e));
	memset(&h, 0, sizeof(h));
	e.class = r->status == 503 ? "periskop.DatabaseError" :
	    "periskop.ServerError";
	e.message = msg;
	h.method = req->method;
	h.url = req->target;
	periskop_report(conf->self, key, &e, PERISKOP_SEV_ERROR, &h);
	free(key);
	free(msg);
}

/* One rendered body of the cache, under the generation it was made at. */
struct cache_slot {
	char		*target;
	int64_t		 gen;
	const char	*content_type;
	struct api_blob	*blob;
};

struct api_cache {
	struct cache_slot	 v[CACHE_SLOTS];
	size_t			 next;		/* the slot replaced next */
	size_t			 bytes;		/* held by the slots */
};

struct api_cache *
api_cache_new(void)
{
	return xcalloc(1, sizeof(struct api_cache));
}

static void
slot_clear(struct api_cache *c, struct cache_slot *s)
{
	if (s->blob != NULL)
		c->bytes -= s->blob->len;
	free(s->target);
	api_blob_unref(s->blob);
	memset(s, 0, sizeof(*s));
}

void
api_cache_free(struct api_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		slot_clear(c, &c->v[i]);
	free(c);
}

/* The read routes whose answer depends on the database alone. */
static int
cacheable(const char *path)
{
	const char *p;

	if (strcmp(path, "/services/") == 0 || strcmp(path, "/targets/") == 0)
		return 1;
	if (strncmp(path, "/services/", 10) != 0 ||
	    (p = strchr(path + 10, '/')) == NULL)
		return 0;
	return strcmp(p, "/errors/") == 0;
}

/* Moves the response's body into a blob the cache shares. */
static void
cache_store(struct api_cache *c, const char *target, int64_t gen,
    struct api_resp *r)
{
	struct cache_slot *s;
	struct api_blob *b;
	size_t i;

	if (r->body.len > CACHE_BYTES)
		return;
	b = xcalloc(1, sizeof(*b));
	b->p = buf_detach(&r->body, &b->len);
	b->refs = 1;
	r->blob = b;
	/* Oldest first, until the new text fits. */
	for (i = 0; i < CACHE_SLOTS && c->bytes + b->len > CACHE_BYTES; i++)
		slot_clear(c, &c->v[(c->next + i) % CACHE_SLOTS]);
	s = &c->v[c->next];
	slot_clear(c, s);
	c->bytes += b->len;
	s->target = xstrdup(target);
	s->gen = gen;
	s->content_type = r->content_type;
	s->blob = api_blob_ref(b);
	c->next = (c->next + 1) % CACHE_SLOTS;
}

static struct cache_slot *
cache_find(struct api_cache *c, const char *target, int64_t gen)
{
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++) {
		if (c->v[i].target == NULL)
			continue;
		if (c->v[i].gen != gen)
			slot_clear(c, &c->v[i]);
		else if (strcmp(c->v[i].target, target) == 0)
			return &c->v[i];
	}
	return NULL;
}

void
api_handle_cached(const struct api_conf *conf, struct db *db,
    struct api_cache *cache, const struct api_req *req, struct api_resp *r)
{
	struct cache_slot *s;
	const char *q;
	char *path, err[256];
	int64_t gen = 0;
	int use;

	if (req->target == NULL || req->target[0] != '/') {
		text(r, 400, "bad request target: not a path");
		return;
	}
	/* Split the raw target before decoding: "%3F" belongs to the path. */
	q = strchr(req->target, '?');
	path = q != NULL ? xstrndup(req->target, (size_t)(q - req->target)) :
	    xstrdup(req->target);
	if (strchr(path, '#') != NULL)
		*strchr(path, '#') = '\0';
	use = cache != NULL && db != NULL && is_read(req->method) &&
	    cacheable(path) && db_generation(db, &gen, err, sizeof(err)) == 0;
	if (use && (s = cache_find(cache, req->target, gen)) != NULL) {
		r->status = 200;
		r->content_type = s->content_type;
		r->blob = api_blob_ref(s->blob);
		cors(conf, r);
	} else {
		route(conf, db, req, path, q != NULL ? q + 1 : NULL, r);
		if (use && r->status == 200)
			cache_store(cache, req->target, gen, r);
	}
	report_self(conf, req, path, r);
	free(path);
}

void
api_handle(const struct api_conf *conf, struct db *db,
    const struct api_req *req, struct api_resp *r)
{
	api_handle_cached(conf, db, NULL, req, r);
}
