/* SPDX-License-Identifier: Apache-2.0 */
/* Reading and writing the NDJSON records of periskop-ndjson(5). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jdoc.h"
#include "model_json.h"
#include "record.h"
#include "timefmt.h"
#include "xalloc.h"

static int	fail(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* A required string member; copied. */
static int
get_str(const struct jval *o, const char *type, const char *key, char **out,
    char *err, size_t errlen)
{
	const struct jval *v;

	v = jval_get(o, key);
	if (v == NULL || v->type != J_STRING)
		return fail(err, errlen, "%s line: %s \"%s\"", type,
		    v == NULL ? "missing" : "not a string:", key);
	*out = xstrndup(v->u.s, v->n);
	return 0;
}

/* An optional string member: NULL when absent or null. */
static int
get_optstr(const struct jval *o, const char *type, const char *key, char **out,
    char *err, size_t errlen)
{
	const struct jval *v;

	*out = NULL;
	v = jval_get(o, key);
	if (v == NULL || v->type == J_NULL)
		return 0;
	if (v->type != J_STRING)
		return fail(err, errlen, "%s line: not a string: \"%s\"", type,
		    key);
	*out = xstrndup(v->u.s, v->n);
	return 0;
}

static int
get_num(const struct jval *o, const char *type, const char *key, int required,
    double *out, char *err, size_t errlen)
{
	const struct jval *v;

	*out = 0;
	v = jval_get(o, key);
	if (v == NULL || v->type == J_NULL) {
		if (required)
			return fail(err, errlen, "%s line: missing \"%s\"",
			    type, key);
		return 0;
	}
	/* Beyond 2^53 a double is no exact count, nor fits what it fills. */
	if (!JVAL_IS_NUMBER(v) || !isfinite(JVAL_NUMBER(v)) ||
	    JVAL_NUMBER(v) < 0 ||
	    JVAL_NUMBER(v) > 9007199254740992.0)
		return fail(err, errlen, "%s line: \"%s\" is not a number "
		    ">= 0", type, key);
	*out = JVAL_NUMBER(v);
	return 0;
}

static int
get_time(const struct jval *o, const char *type, const char *key, int64_t *out,
    char *err, size_t errlen)
{
	const struct jval *v;

	v = jval_get(o, key);
	if (v == NULL || v->type != J_STRING)
		return fail(err, errlen, "%s line: %s \"%s\"", type,
		    v == NULL ? "missing" : "not a string:", key);
	if (time_parse(v->u.s, out) == -1)
		return fail(err, errlen, "%s line: \"%s\": not an RFC 3339 "
		    "time: \"%.64s\"", type, key, v->u.s);
	return 0;
}

void
targets_rec_release(struct targets_rec *t)
{
	size_t i;

	free(t->service);
	free(t->endpoint);
	for (i = 0; i < t->ntargets; i++) {
		free(t->targets[i].address);
		free(t->targets[i].url);
		labels_release(&t->targets[i].labels);
	}
	free(t->targets);
	http_auth_release(&t->auth);
	free(t->tls.ca_file);
	free(t->tls.cert_file);
	free(t->tls.key_file);
	free(t->tls.server_name);
	memset(t, 0, sizeof(*t));
}

void
scrape_rec_release(struct scrape_rec *s)
{
	free(s->service);
	free(s->target);
	free(s->url);
	free(s->target_uuid);
	free(s->error);
	payload_free(s->payload);
	memset(s, 0, sizeof(*s));
}

/*
 * The object member name of a targets line, in which only keys may appear;
 * the string of keys[i] goes to *dst[i] when dst[i] is not NULL.  *out is
 * the object, or NULL when the member is absent or null.
 */
static int
parse_section(const struct jval *o, const char *name,
    const char *const keys[], char **const dst[], const struct jval **out,
    char *err, size_t errlen)
{
	const char *k;
	const struct jval *m;
	size_t i, j;

	*out = NULL;
	if ((m = jval_get(o, name)) == NULL || m->type == J_NULL)
		return 0;
	if (m->type != J_OBJECT)
		return fail(err, errlen, "targets line: \"%s\" is not an "
		    "object", name);
	for (j = 0; j < m->n; j++) {
		k = m->u.v[2 * j].u.s;
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (keys[i] == NULL)
			return fail(err, errlen, "targets line: unknown key "
			    "\"%s.%.64s\"", name, k);
	}
	for (i = 0; keys[i] != NULL; i++)
		if (dst[i] != NULL && get_optstr(m, "targets", keys[i],
		    dst[i], err, errlen) == -1)
			return -1;
	*out = m;
	return 0;
}

/* The optional "auth" and "tls" members of a targets line. */
static int
parse_settings(const struct jval *o, struct targets_rec *t, char *err,
    size_t errlen)
{
	static const char *const akeys[] = { "username", "password",
	    "password_file", "type", "credentials", "credentials_file", NULL };
	static const char *const tkeys[] = { "ca_file", "cert_file",
	    "key_file", "server_name", "insecure_skip_verify", NULL };
	struct http_auth *a = &t->auth;
	struct targets_tls *s = &t->tls;
	char **const adst[] = { &a->username, &a->password,
	    &a->password_file, &a->type, &a->credentials,
	    &a->credentials_file };
	char **const tdst[] = { &s->ca_file, &s->cert_file, &s->key_file,
	    &s->server_name, NULL };
	const struct jval *m, *v;

	if (parse_section(o, "auth", akeys, adst, &m, err, errlen) == -1 ||
	    parse_section(o, "tls", tkeys, tdst, &m, err, errlen) == -1)
		return -1;
	if (m != NULL) {
		v = jval_get(m, "insecure_skip_verify");
		if (v != NULL && v->type != J_NULL && v->type != J_TRUE &&
		    v->type != J_FALSE)
			return fail(err, errlen, "targets line: "
			    "\"tls.insecure_skip_verify\" is not a boolean");
		s->insecure_skip_verify = v != NULL && v->type == J_TRUE;
	}
	return 0;
}

/* Everything of a targets line but its "targets" array. */
static int
parse_targets_head(const struct jval *o, struct targets_rec *t, char *err,
    size_t errlen)
{
	double d;

	if (get_str(o, "targets", "service", &t->service, err, errlen) == -1 ||
	    get_optstr(o, "targets", "endpoint", &t->endpoint, err, errlen) ==
	    -1 ||
	    get_num(o, "targets", "interval_s", 0, &d, err, errlen) == -1)
		return -1;
	t->interval_ms = (int64_t)llround(d * 1000);
	if (get_num(o, "targets", "timeout_s", 0, &d, err, errlen) == -1)
		return -1;
	t->timeout_ms = (int64_t)llround(d * 1000);
	if (t->endpoint == NULL)
		t->endpoint = xstrdup("/errors");
	return parse_settings(o, t, err, errlen);
}

/* Element i of the "targets" array, appended to t (room made by caller). */
static int
parse_target(const struct jval *el, size_t i, struct targets_rec *t,
    char *err, size_t errlen)
{
	const struct jval *labels, *v;
	const char *name;
	size_t j;
	struct target *tg;

	tg = &t->targets[t->ntargets];
	memset(tg, 0, sizeof(*tg));
	labels_init(&tg->labels);
	t->ntargets++;
	if (el->type != J_OBJECT)
		return fail(err, errlen, "targets line: targets[%zu] "
		    "is not an object", i);
	if (get_str(el, "targets", "address", &tg->address, err,
	    errlen) == -1 ||
	    get_str(el, "targets", "url", &tg->url, err, errlen) == -1)
		return -1;
	labels = jval_get(el, "labels");
	if (labels == NULL || labels->type == J_NULL)
		return 0;
	if (labels->type != J_OBJECT)
		return fail(err, errlen, "targets line: targets[%zu]."
		    "labels is not an object", i);
	for (j = 0; j < labels->n; j++) {
		name = labels->u.v[2 * j].u.s;
		v = &labels->u.v[2 * j + 1];
		if (v->type != J_STRING)
			return fail(err, errlen, "targets line: "
			    "targets[%zu].labels.%s is not a string",
			    i, name);
		labels_set(&tg->labels, name, v->u.s);
	}
	return 0;
}

static int
parse_targets(const struct jval *o, struct targets_rec *t, char *err,
    size_t errlen)
{
	const struct jval *arr;
	size_t i;

	if (parse_targets_head(o, t, err, errlen) == -1)
		return -1;
	arr = jval_get(o, "targets");
	if (arr == NULL || arr->type != J_ARRAY)
		return fail(err, errlen, "targets line: \"targets\" is %s",
		    arr == NULL ? "missing" : "not an array");
	if (arr->n == 0)
		return 0;
	t->targets = xcalloc(arr->n, sizeof(*t->targets));
	for (i = 0; i < arr->n; i++)
		if (parse_target(&arr->u.v[i], i, t, err, errlen) == -1)
			return -1;
	return 0;
}

/* Lines this long are parsed a target at a time (parse_targets_stream). */
#define STREAM_MIN	(64 * 1024)

static size_t
skip_ws(const char *p, size_t i, size_t len)
{
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' ||
	    p[i] == '\r'))
		i++;
	return i;
}

/* One JSON value at p[*i]; *i moves past it and the space after it. */
static struct jdoc *
load_one(const char *p, size_t *i, size_t len)
{
	struct jdoc *d;
	size_t used;

	if ((d = jdoc_parse_prefix(p + *i, len - *i, &used, NULL, 0)) != NULL)
		*i += used;
	return d;
}

/*
 * A large targets line, its "targets" array read one element at a time:
 * a fleet's line would otherwise be held as a document of several times
 * its size at once.  The rest of the line is read again without the
 * array.  Returns 0, -1 with err, or 1 when the line is anything but a
 * well-formed targets line: the caller then parses it whole, which finds
 * the same error a smaller line would give.
 */
static int
parse_targets_stream(const char *p, size_t len, struct targets_rec *t,
    char *err, size_t errlen)
{
	struct jdoc *k, *v, *head = NULL;
	const struct jval *type;
	size_t i, n, cap = 0, from = 0, to = 0;
	char *rest = NULL;
	int have = 0, rc = 1;

	memset(t, 0, sizeof(*t));
	i = skip_ws(p, 0, len);
	if (i == len || p[i] != '{')
		return 1;
	i = skip_ws(p, i + 1, len);
	if (i < len && p[i] == '}')
		goto out;
	for (;;) {
		if ((k = load_one(p, &i, len)) == NULL ||
		    jdoc_root(k)->type != J_STRING || i == len || p[i] != ':') {
			jdoc_free(k);
			goto out;
		}
		i = skip_ws(p, i + 1, len);
		if (strcmp(jdoc_root(k)->u.s, "targets") == 0) {
			jdoc_free(k);
			if (have || i == len || p[i] != '[')
				goto out;
			have = 1;
			from = i;
			i = skip_ws(p, i + 1, len);
			for (n = 0; i < len && p[i] != ']'; n++) {
				if ((v = load_one(p, &i, len)) == NULL)
					goto out;
				if (t->ntargets == cap) {
					cap = cap ? cap * 2 : 256;
					t->targets = xreallocarray(t->targets,
					    cap, sizeof(*t->targets));
				}
				if (parse_target(jdoc_root(v), n, t, err,
				    errlen) == -1) {
					jdoc_free(v);
					goto out;
				}
				jdoc_free(v);
				if (i < len && p[i] == ',')
					i = skip_ws(p, i + 1, len);
				else if (i == len || p[i] != ']')
					goto out;
			}
			if (i == len)
				goto out;
			to = ++i;
		} else {
			jdoc_free(k);
			if ((v = load_one(p, &i, len)) == NULL)
				goto out;
			jdoc_free(v);
		}
		i = skip_ws(p, i, len);
		if (i < len && p[i] == ',') {
			i = skip_ws(p, i + 1, len);
			continue;
		}
		if (i < len && p[i] == '}')
			break;
		goto out;
	}
	if (skip_ws(p, i + 1, len) != len || !have)
		goto out;
	rest = xasprintf("%.*s[]%.*s", (int)from, p, (int)(len - to), p + to);
	if ((head = jdoc_parse(rest, strlen(rest), NULL, 0)) == NULL)
		goto out;
	type = jval_get(jdoc_root(head), "type");
	if (type == NULL || type->type != J_STRING ||
	    strcmp(type->u.s, "targets") != 0)
		goto out;
	rc = parse_targets_head(jdoc_root(head), t, err, errlen) == -1 ?
	    -1 : 0;
out:
	jdoc_free(head);
	free(rest);
	if (rc != 0)
		targets_rec_release(t);
	return rc;
}

static int
parse_scrape(const struct jval *o, struct scrape_rec *s, char *err,
    size_t errlen)
{
	const struct jval *ok, *un;
	double d;
	char sub[512];

	if (get_str(o, "scrape", "service", &s->service, err, errlen) == -1 ||
	    get_str(o, "scrape", "target", &s->target, err, errlen) == -1 ||
	    get_str(o, "scrape", "url", &s->url, err, errlen) == -1 ||
	    get_optstr(o, "scrape", "target_uuid", &s->target_uuid, err,
	    errlen) == -1 ||
	    get_time(o, "scrape", "at", &s->at, err, errlen) == -1 ||
	    get_num(o, "scrape", "duration_ms", 0, &s->duration_ms, err,
	    errlen) == -1 ||
	    get_num(o, "scrape", "http_status", 0, &d, err, errlen) == -1)
		return -1;
	if (d > 999)
		return fail(err, errlen, "scrape line: \"http_status\" is not "
		    "an HTTP status");
	s->http_status = (int)d;
	if (get_num(o, "scrape", "body_bytes", 0, &d, err, errlen) == -1)
		return -1;
	s->body_bytes = (int64_t)d;
	ok = jval_get(o, "ok");
	if (ok == NULL || (ok->type != J_TRUE && ok->type != J_FALSE))
		return fail(err, errlen, "scrape line: \"ok\" is %s",
		    ok == NULL ? "missing" : "not a boolean");
	s->ok = ok->type == J_TRUE;
	if (!s->ok)
		return get_str(o, "scrape", "error", &s->error, err, errlen);
	un = jval_get(o, "unchanged");
	if (un != NULL && (un->type != J_TRUE && un->type != J_FALSE))
		return fail(err, errlen, "scrape line: \"unchanged\" is not "
		    "a boolean");
	if ((s->unchanged = un != NULL && un->type == J_TRUE))
		return 0;
	if ((s->payload = payload_from_jval(o, sub, sizeof(sub))) == NULL)
		return fail(err, errlen, "scrape line: %s", sub);
	return 0;
}

static int
parse_round(const struct jval *o, struct round_rec *r, char *err, size_t errlen)
{
	double d;

	if (get_str(o, "round", "service", &r->service, err, errlen) == -1 ||
	    get_time(o, "round", "at", &r->at, err, errlen) == -1 ||
	    get_num(o, "round", "duration_ms", 0, &r->duration_ms, err,
	    errlen) == -1 ||
	    get_num(o, "round", "targets", 0, &d, err, errlen) == -1)
		return -1;
	r->targets = (int64_t)d;
	if (get_num(o, "round", "ok", 0, &d, err, errlen) == -1)
		return -1;
	r->ok = (int64_t)d;
	if (get_num(o, "round", "failed", 0, &d, err, errlen) == -1)
		return -1;
	r->failed = (int64_t)d;
	return 0;
}

static int
parse_event(const struct jval *o, struct event_rec *e, char *err, size_t errlen)
{
	double d;

	if (get_str(o, "event", "kind", &e->kind, err, errlen) == -1 ||
	    get_str(o, "event", "service", &e->service, err, errlen) == -1 ||
	    get_optstr(o, "event", "key", &e->key, err, errlen) == -1 ||
	    get_optstr(o, "event", "target", &e->target, err, errlen) == -1 ||
	    get_optstr(o, "event", "severity", &e->severity, err, errlen) ==
	    -1 ||
	    get_optstr(o, "event", "error", &e->error, err, errlen) == -1 ||
	    get_num(o, "event", "count", 0, &d, err, errlen) == -1 ||
	    get_time(o, "event", "at", &e->at, err, errlen) == -1)
		return -1;
	e->count = (int64_t)d;
	return 0;
}

int
record_parse(const char *line, size_t len, struct record *rec, char *err,
    size_t errlen)
{
	const struct jval *o, *type;
	struct jdoc *d;
	const char *t;
	int rc = 0;

	memset(rec, 0, sizeof(*rec));
	if (len >= STREAM_MIN && (rc = parse_targets_stream(line, len,
	    &rec->u.targets, err, errlen)) != 1) {
		rec->type = rc == 0 ? REC_TARGETS : REC_OTHER;
		return rc;
	}
	rc = 0;
	if ((d = jdoc_parse(line, len, err, errlen)) == NULL)
		return -1;
	o = jdoc_root(d);
	if (o->type != J_OBJECT) {
		jdoc_free(d);
		return fail(err, errlen, "not a JSON object");
	}
	type = jval_get(o, "type");
	if (type == NULL || type->type != J_STRING) {
		jdoc_free(d);
		return fail(err, errlen, "%s \"type\"",
		    type == NULL ? "missing" : "not a string:");
	}
	t = type->u.s;
	if (strcmp(t, "targets") == 0) {
		rec->type = REC_TARGETS;
		rc = parse_targets(o, &rec->u.targets, err, errlen);
	} else if (strcmp(t, "scrape") == 0) {
		rec->type = REC_SCRAPE;
		rc = parse_scrape(o, &rec->u.scrape, err, errlen);
	} else if (strcmp(t, "round") == 0) {
		rec->type = REC_ROUND;
		rc = parse_round(o, &rec->u.round, err, errlen);
	} else if (strcmp(t, "event") == 0) {
		rec->type = REC_EVENT;
		rc = parse_event(o, &rec->u.event, err, errlen);
	} else
		rec->type = REC_OTHER;
	jdoc_free(d);
	if (rc == -1)
		record_release(rec);
	return rc;
}

void
event_rec_release(struct event_rec *e)
{
	free(e->kind);
	free(e->service);
	free(e->key);
	free(e->target);
	free(e->severity);
	free(e->error);
	memset(e, 0, sizeof(*e));
}

void
record_release(struct record *rec)
{
	switch (rec->type) {
	case REC_TARGETS:
		targets_rec_release(&rec->u.targets);
		break;
	case REC_SCRAPE:
		scrape_rec_release(&rec->u.scrape);
		break;
	case REC_ROUND:
		free(rec->u.round.service);
		break;
	case REC_EVENT:
		event_rec_release(&rec->u.event);
		break;
	case REC_OTHER:
		break;
	}
	memset(rec, 0, sizeof(*rec));
}

static void
add_time(struct buf *b, const char *key, int64_t ms)
{
	char tbuf[TIME_BUFSZ];

	buf_addf(b, ",\"%s\":\"%s\"", key, time_format(ms, tbuf));
}

/* One "key":"value" member when value is set. */
static void
opt_member(struct buf *b, int *first, const char *key, const char *value)
{
	if (value == NULL)
		return;
	buf_adds(b, *first ? "\"" : ",\"");
	buf_adds(b, key);
	buf_adds(b, "\":");
	buf_addjstr(b, value);
	*first = 0;
}

/* The "auth" and "tls" members, each only when something is set. */
static void
write_settings(struct buf *b, const struct targets_rec *t)
{
	const struct http_auth *a = &t->auth;
	const struct targets_tls *s = &t->tls;
	int first;

	if (a->username != NULL || a->type != NULL) {
		buf_adds(b, ",\"auth\":{");
		first = 1;
		opt_member(b, &first, "username", a->username);
		opt_member(b, &first, "password", a->password);
		opt_member(b, &first, "password_file", a->password_file);
		opt_member(b, &first, "type", a->type);
		opt_member(b, &first, "credentials", a->credentials);
		opt_member(b, &first, "credentials_file", a->credentials_file);
		buf_adds(b, "}");
	}
	if (s->ca_file != NULL || s->cert_file != NULL ||
	    s->key_file != NULL || s->server_name != NULL ||
	    s->insecure_skip_verify) {
		buf_adds(b, ",\"tls\":{");
		first = 1;
		opt_member(b, &first, "ca_file", s->ca_file);
		opt_member(b, &first, "cert_file", s->cert_file);
		opt_member(b, &first, "key_file", s->key_file);
		opt_member(b, &first, "server_name", s->server_name);
		if (s->insecure_skip_verify)
			buf_adds(b, first ? "\"insecure_skip_verify\":true" :
			    ",\"insecure_skip_verify\":true");
		buf_adds(b, "}");
	}
}

void
record_write_targets(struct buf *b, const struct targets_rec *t)
{
	const struct target *tg;
	size_t i, j;

	buf_adds(b, "{\"type\":\"targets\",\"service\":");
	buf_addjstr(b, t->service);
	buf_adds(b, ",\"endpoint\":");
	buf_addjstr(b, t->endpoint ? t->endpoint : "/errors");
	buf_adds(b, ",\"interval_s\":");
	buf_addjdouble(b, (double)t->interval_ms / 1000);
	buf_adds(b, ",\"timeout_s\":");
	buf_addjdouble(b, (double)t->timeout_ms / 1000);
	buf_adds(b, ",\"targets\":[");
	for (i = 0; i < t->ntargets; i++) {
		tg = &t->targets[i];
		buf_adds(b, i ? ",{\"address\":" : "{\"address\":");
		buf_addjstr(b, tg->address);
		buf_adds(b, ",\"url\":");
		buf_addjstr(b, tg->url);
		buf_adds(b, ",\"labels\":{");
		for (j = 0; j < tg->labels.n; j++) {
			if (j)
				buf_addc(b, ',');
			buf_addjstr(b, tg->labels.v[j].name);
			buf_addc(b, ':');
			buf_addjstr(b, tg->labels.v[j].value);
		}
		buf_adds(b, "}}");
	}
	buf_adds(b, "]");
	write_settings(b, t);
	buf_adds(b, "}");
}

void
record_write_scrape(struct buf *b, const struct scrape_rec *s)
{
	buf_adds(b, "{\"type\":\"scrape\",\"service\":");
	buf_addjstr(b, s->service);
	buf_adds(b, ",\"target\":");
	buf_addjstr(b, s->target);
	buf_adds(b, ",\"url\":");
	buf_addjstr(b, s->url);
	if (s->target_uuid != NULL) {
		buf_adds(b, ",\"target_uuid\":");
		buf_addjstr(b, s->target_uuid);
	}
	add_time(b, "at", s->at);
	buf_adds(b, ",\"duration_ms\":");
	buf_addjdouble(b, s->duration_ms);
	buf_addf(b, ",\"http_status\":%d,\"body_bytes\":", s->http_status);
	buf_addjint(b, s->body_bytes);
	if (s->ok && s->unchanged) {
		buf_adds(b, ",\"ok\":true,\"unchanged\":true");
	} else if (s->ok && s->payload != NULL) {
		buf_adds(b, ",\"ok\":true,\"aggregated_errors\":");
		aggregates_write_json(b, s->payload->aggs, s->payload->naggs);
	} else {
		buf_adds(b, ",\"ok\":false,\"error\":");
		buf_addjstr(b, s->error ? s->error : "unknown error");
	}
	buf_addc(b, '}');
}

void
record_write_round(struct buf *b, const struct round_rec *r)
{
	buf_adds(b, "{\"type\":\"round\",\"service\":");
	buf_addjstr(b, r->service);
	add_time(b, "at", r->at);
	buf_adds(b, ",\"duration_ms\":");
	buf_addjdouble(b, r->duration_ms);
	buf_adds(b, ",\"targets\":");
	buf_addjint(b, r->targets);
	buf_adds(b, ",\"ok\":");
	buf_addjint(b, r->ok);
	buf_adds(b, ",\"failed\":");
	buf_addjint(b, r->failed);
	buf_addc(b, '}');
}

static void
add_optstr(struct buf *b, const char *key, const char *v)
{
	if (v == NULL)
		return;
	buf_addf(b, ",\"%s\":", key);
	buf_addjstr(b, v);
}

void
record_write_event(struct buf *b, const struct event_rec *e)
{
	buf_adds(b, "{\"type\":\"event\",\"kind\":");
	buf_addjstr(b, e->kind);
	buf_adds(b, ",\"service\":");
	buf_addjstr(b, e->service);
	add_optstr(b, "key", e->key);
	add_optstr(b, "severity", e->severity);
	if (e->key != NULL) {
		buf_adds(b, ",\"count\":");
		buf_addjint(b, e->count);
	}
	add_optstr(b, "target", e->target);
	add_optstr(b, "error", e->error);
	add_time(b, "at", e->at);
	buf_addc(b, '}');
}
