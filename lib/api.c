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
#include "buf.h"
#include "db.h"
#include "model.h"
#include "timefmt.h"
#include "urlenc.h"
#include "xalloc.h"

#define JSON_TYPE	"application/json"
#define TEXT_TYPE	"text/plain; charset=utf-8"
#define STATIC_MAX	(64 * 1024 * 1024)
#define LIMIT_MAX	1000000

static const char csp[] = "default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'";

void
api_resp_init(struct api_resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body);
	api_resp_header(r, "X-Content-Type-Options", "nosniff");
	api_resp_header(r, "Content-Security-Policy", csp);
	api_resp_header(r, "Referrer-Policy", "no-referrer");
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
	r->headers = NULL;
	r->nheaders = 0;
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
	    "GET, HEAD, DELETE, OPTIONS");
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
	if (is_read(req->method) && strncmp(allow, "GET", 3) == 0)
		return 0;
	if (strcmp(req->method, "DELETE") == 0 && strstr(allow, "DELETE"))
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

/* The query of the errors list. */
struct errq {
	int		 with_resolved;
	const char	*status;	/* NULL: everything but resolved */
	int		 has_severity;
	enum severity	 severity;
	size_t		 limit;		/* 0: none */
};

static int
parse_errq(const char *q, struct errq *eq, struct api_resp *r)
{
	const char *p, *amp, *eqs, *end;
	char *name = NULL, *val = NULL, *s;
	unsigned long long n;
	int rc = -1;

	memset(eq, 0, sizeof(*eq));
	for (p = q; p != NULL && *p != '\0'; p = amp ? amp + 1 : NULL) {
		amp = strchr(p, '&');
		end = amp ? amp : p + strlen(p);
		if (end == p)
			continue;
		eqs = memchr(p, '=', (size_t)(end - p));
		if ((name = decode(p, (size_t)((eqs ? eqs : end) - p),
		    "query", r)) == NULL)
			goto out;
		if ((val = eqs ? decode(eqs + 1, (size_t)(end - eqs - 1),
		    "query", r) : xstrdup("")) == NULL)
			goto out;
		/* Query strings come from forms: '+' is a space there. */
		for (s = val; *s != '\0'; s++)
			if (*s == '+')
				*s = ' ';
		if (strcmp(name, "status") == 0) {
			if (strcmp(val, "all") == 0) {
				eq->with_resolved = 1;
				eq->status = NULL;
			} else if (strcmp(val, "resolved") == 0) {
				eq->with_resolved = 1;
				eq->status = "resolved";
			} else if (strcmp(val, "ignored") == 0) {
				eq->with_resolved = 0;
				eq->status = "ignored";
			} else if (strcmp(val, "unresolved") == 0) {
				eq->with_resolved = 0;
				eq->status = "unresolved";
			} else {
				text(r, 400, "bad status: want unresolved, "
				    "resolved, ignored or all");
				goto out;
			}
		} else if (strcmp(name, "severity") == 0) {
			if (severity_parse(val, &eq->severity) != 0) {
				text(r, 400, "bad severity: want error, "
				    "warning or info");
				goto out;
			}
			eq->has_severity = 1;
		} else if (strcmp(name, "limit") == 0) {
			errno = 0;
			s = val;
			n = val[0] >= '0' && val[0] <= '9' ?
			    strtoull(val, &s, 10) : 0;
			if (n == 0 || *s != '\0' || errno != 0 ||
			    n > LIMIT_MAX) {
				text(r, 400, "bad limit: want a number from "
				    "1 to %d", LIMIT_MAX);
				goto out;
			}
			eq->limit = (size_t)n;
		}
		/* Other parameters (a cache buster, say) are ignored. */
		free(name);
		free(val);
		name = val = NULL;
	}
	rc = 0;
out:
	free(name);
	free(val);
	return rc;
}

static void
write_occurrence(struct buf *b, const struct db_occurrence *o)
{
	buf_adds(b, "{\"error\":");
	buf_adds(b, o->error_json != NULL ? o->error_json : "null");
	buf_adds(b, ",\"uuid\":");
	buf_addjstr(b, o->uuid);
	buf_adds(b, ",\"timestamp\":");
	buf_addjint(b, unix_s(o->timestamp));
	buf_adds(b, ",\"severity\":");
	buf_addjstr(b, severity_name(o->severity));
	buf_adds(b, ",\"http_context\":");
	buf_adds(b, o->http_json != NULL ? o->http_json : "null");
	buf_addc(b, '}');
}

static void
write_error(struct buf *b, const struct db_error *e)
{
	size_t i;

	buf_adds(b, "{\"aggregation_key\":");
	buf_addjstr(b, e->key);
	buf_adds(b, ",\"total_count\":");
	buf_addjint(b, e->total_count);
	buf_adds(b, ",\"severity\":");
	buf_addjstr(b, severity_name(e->severity));
	buf_adds(b, ",\"latest_errors\":[");
	for (i = 0; i < e->nocc && i < API_OCCURRENCES; i++) {
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
	buf_addc(b, '}');
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

static void
get_errors(struct db *db, const char *svc, const char *query,
    struct api_resp *r)
{
	struct db_error_list list;
	struct errq eq;
	char err[256];
	size_t i, n;

	if (parse_errq(query, &eq, r) == -1 || !service_known(db, svc, r))
		return;
	if (db_errors(db, svc, API_OCCURRENCES, eq.with_resolved, &list, err,
	    sizeof(err)) == -1) {
		db_failed(r, err);
		return;
	}
	buf_addc(&r->body, '[');
	for (i = 0, n = 0; i < list.n; i++) {
		const struct db_error *e = &list.v[i];
		const char *st = e->status != NULL ? e->status : "unresolved";

		if (eq.status != NULL && strcmp(st, eq.status) != 0)
			continue;
		if (eq.has_severity && e->severity != eq.severity)
			continue;
		if (eq.limit != 0 && n >= eq.limit)
			break;
		if (n++ > 0)
			buf_addc(&r->body, ',');
		write_error(&r->body, e);
	}
	buf_adds(&r->body, "]\n");
	db_error_list_release(&list);
	r->status = 200;
	r->content_type = JSON_TYPE;
}

static void
delete_error(struct db *db, const char *svc, const char *key,
    struct api_resp *r)
{
	char err[256];

	if (!service_known(db, svc, r))
		return;
	switch (db_resolve(db, svc, key, err, sizeof(err))) {
	case 1:
		r->status = 204;
		break;
	case 0:
		text(r, 404, "error not found");
		break;
	default:
		db_failed(r, err);
		break;
	}
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
		buf_addc(b, '}');
		free(ep);
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

/* "/services/{service}/errors/[{key}/]": the raw parts, or -1. */
static int
split_errors_path(const char *p, const char **svc, size_t *svclen,
    const char **key, size_t *keylen)
{
	const char *slash;
	size_t n;

	if ((slash = strchr(p, '/')) == NULL || slash == p)
		return -1;
	*svc = p;
	*svclen = (size_t)(slash - p);
	p = slash + 1;
	if (strncmp(p, "errors/", 7) != 0)
		return -1;
	p += 7;
	n = strlen(p);
	if (n == 0) {
		*key = NULL;
		*keylen = 0;
		return 0;
	}
	/* The key is everything up to the final '/', slashes included. */
	if (n < 2 || p[n - 1] != '/')
		return -1;
	*key = p;
	*keylen = n - 1;
	return 0;
}

static void
route(const struct api_conf *conf, struct db *db, const struct api_req *req,
    const char *path, const char *query, struct api_resp *r)
{
	const char *rsvc, *rkey;
	char *svc = NULL, *key = NULL;
	size_t svclen, keylen;
	int api = 1;

	if (strcmp(path, "/services/") == 0) {
		if (method_check(conf, req, "GET, HEAD, OPTIONS", r))
			goto out;
		if (db == NULL)
			goto nodb;
		get_services(db, r);
	} else if (strncmp(path, "/services/", 10) == 0) {
		if (split_errors_path(path + 10, &rsvc, &svclen, &rkey,
		    &keylen) == -1) {
			not_found(r);
			goto out;
		}
		if (method_check(conf, req, rkey == NULL ?
		    "GET, HEAD, OPTIONS" : "DELETE, OPTIONS", r))
			goto out;
		if (rkey != NULL && may_write(conf, req, r) == -1)
			goto out;
		if ((svc = decode(rsvc, svclen, "service", r)) == NULL)
			goto out;
		if (rkey != NULL &&
		    (key = decode(rkey, keylen, "key", r)) == NULL)
			goto out;
		if (db == NULL)
			goto nodb;
		if (rkey == NULL)
			get_errors(db, svc, query, r);
		else
			delete_error(db, svc, key, r);
	} else if (strcmp(path, "/targets/") == 0) {
		if (method_check(conf, req, "GET, HEAD, OPTIONS", r))
			goto out;
		if (db == NULL)
			goto nodb;
		get_targets(db, r);
	} else if (strcmp(path, "/-/health") == 0) {
		if (method_check(conf, req, "GET, HEAD, OPTIONS", r))
			goto out;
		if (db == NULL)
			goto nodb;
		get_health(db, r);
	} else {
		api = 0;
		if (!is_read(req->method)) {
			not_allowed(r, "GET, HEAD");
			goto out;
		}
		get_static(conf, path, r);
	}
	goto out;
nodb:
	text(r, 503, "database unavailable");
out:
	if (api)
		cors(conf, r);
	free(svc);
	free(key);
}

void
api_handle(const struct api_conf *conf, struct db *db,
    const struct api_req *req, struct api_resp *r)
{
	const char *q;
	char *path;

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
	route(conf, db, req, path, q != NULL ? q + 1 : NULL, r);
	free(path);
}
