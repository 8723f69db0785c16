/* SPDX-License-Identifier: Apache-2.0 */
/* Event lines to Alertmanager alerts, webhook bodies and text. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jdoc.h"
#include "notify.h"
#include "spool.h"
#include "timefmt.h"
#include "urlenc.h"
#include "xalloc.h"

#define DIGEST_LINES	20	/* events named in a digest's text */

static char *
dup_str(const struct jval *o, const char *key)
{
	const struct jval	*v = jval_get(o, key);

	return v != NULL && v->type == J_STRING ? xstrdup(v->u.s) : NULL;
}

static int
known_kind(const char *k)
{
	static const char *const kinds[] = { "new_error", "regression",
	    "spike", "target_down", "target_up", NULL };
	size_t	 i;

	for (i = 0; kinds[i] != NULL; i++)
		if (strcmp(k, kinds[i]) == 0)
			return 1;
	return 0;
}

int
notify_event_parse(const char *line, size_t len, struct notify_event *ev,
    char *err, size_t errlen)
{
	const struct jval	*o, *v;
	struct jdoc		*d;
	const char		*what = NULL;
	int64_t			 at;

	memset(ev, 0, sizeof(*ev));
	/* Cheap test first: most lines a pipeline carries are not events. */
	if (memmem(line, len, "\"event\"", 7) == NULL)
		return 0;
	if ((d = jdoc_parse(line, len, err, errlen)) == NULL)
		return -1;
	o = jdoc_root(d);
	v = jval_get(o, "type");
	if (v == NULL || v->type != J_STRING || strcmp(v->u.s, "event") != 0) {
		jdoc_free(d);
		return 0;
	}
	ev->id = spool_id(line, len);
	ev->kind = dup_str(o, "kind");
	ev->service = dup_str(o, "service");
	ev->key = dup_str(o, "key");
	ev->severity = dup_str(o, "severity");
	ev->target = dup_str(o, "target");
	ev->error = dup_str(o, "error");
	v = jval_get(o, "count");
	ev->count = v != NULL && v->type == J_INT ? v->u.i : 0;
	v = jval_get(o, "at");
	if (ev->kind == NULL)
		what = "no \"kind\"";
	else if (!known_kind(ev->kind))
		what = "an unknown \"kind\"";
	else if (ev->service == NULL)
		what = "no \"service\"";
	else if (v == NULL || v->type != J_STRING ||
	    time_parse(v->u.s, &at) == -1)
		what = "no RFC 3339 \"at\"";
	else if (notify_is_error_event(ev) && ev->key == NULL)
		what = "no \"key\"";
	else if (!notify_is_error_event(ev) && ev->target == NULL)
		what = "no \"target\"";
	jdoc_free(d);
	if (what != NULL) {
		snprintf(err, errlen, "event with %s", what);
		notify_event_release(ev);
		return -1;
	}
	ev->at = at;
	if (ev->severity == NULL && notify_is_error_event(ev))
		ev->severity = xstrdup("error");
	return 1;
}

void
notify_event_release(struct notify_event *ev)
{
	free(ev->kind);
	free(ev->service);
	free(ev->key);
	free(ev->severity);
	free(ev->target);
	free(ev->error);
	memset(ev, 0, sizeof(*ev));
}

int
notify_is_error_event(const struct notify_event *ev)
{
	return ev->kind != NULL && strncmp(ev->kind, "target_", 7) != 0;
}

static int
listed(char *const *v, size_t n, const char *s)
{
	size_t	 i;

	if (n == 0)
		return 1;
	if (s == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

int
notify_wanted(const struct conf_receiver *r, const struct notify_event *ev)
{
	if (!listed(r->kinds, r->nkinds, ev->kind) ||
	    !listed(r->services, r->nservices, ev->service))
		return 0;
	/* Severities select errors; target events have none. */
	return !notify_is_error_event(ev) ||
	    listed(r->severities, r->nseverities, ev->severity);
}

uint64_t
notify_message_id(const struct notify_event *ev, size_t n)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;
	size_t		 i, b;

	if (n == 1)
		return ev[0].id;
	for (i = 0; i < n; i++)
		for (b = 0; b < 8; b++) {
			h ^= (ev[i].id >> (b * 8)) & 0xff;
			h *= 0x100000001b3ULL;
		}
	return h;
}

void
notify_link(struct buf *b, const struct conf_notify *nf,
    const struct notify_event *ev)
{
	size_t	 n = strlen(nf->ui_url);

	buf_add(b, nf->ui_url, n > 0 && nf->ui_url[n - 1] == '/' ? n - 1 : n);
	buf_adds(b, "/#/");
	urlenc_encode(b, ev->service, strlen(ev->service));
	if (notify_is_error_event(ev)) {
		buf_adds(b, "/errors/");
		urlenc_encode(b, ev->key, strlen(ev->key));
	} else
		buf_adds(b, "/errors/");
}

static const char *
title(const char *kind)
{
	if (strcmp(kind, "new_error") == 0)
		return "New error";
	if (strcmp(kind, "regression") == 0)
		return "Regression";
	if (strcmp(kind, "spike") == 0)
		return "Spike";
	if (strcmp(kind, "target_down") == 0)
		return "Target down";
	if (strcmp(kind, "target_up") == 0)
		return "Target up";
	return kind;
}

/* "PeriskopNewError" from "new_error". */
static void
alertname(struct buf *b, const char *kind)
{
	int	 up = 1;

	buf_adds(b, "Periskop");
	for (; *kind != '\0'; kind++) {
		if (*kind == '_') {
			up = 1;
			continue;
		}
		buf_addc(b, up && *kind >= 'a' && *kind <= 'z' ?
		    (char)(*kind - 'a' + 'A') : *kind);
		up = 0;
	}
}

static void
one_line(struct buf *b, const struct notify_event *ev)
{
	buf_addf(b, "%s in %s: ", title(ev->kind), ev->service);
	if (notify_is_error_event(ev))
		buf_addf(b, "%s (%s, %" PRId64 " occurrence%s)", ev->key,
		    ev->severity, ev->count, ev->count == 1 ? "" : "s");
	else if (ev->error != NULL)
		buf_addf(b, "%s: %s", ev->target, ev->error);
	else
		buf_adds(b, ev->target);
}

void
notify_text(struct buf *b, const struct conf_notify *nf,
    const struct notify_event *ev, size_t n)
{
	size_t	 i;

	if (n == 1) {
		one_line(b, ev);
		buf_addc(b, ' ');
		notify_link(b, nf, ev);
		return;
	}
	buf_addf(b, "%zu periskop events:", n);
	for (i = 0; i < n && i < DIGEST_LINES; i++) {
		buf_adds(b, "\n- ");
		one_line(b, &ev[i]);
	}
	if (n > DIGEST_LINES)
		buf_addf(b, "\n... and %zu more", n - DIGEST_LINES);
}

static void
jkey(struct buf *b, const char *k, const char *v, int *first)
{
	if (v == NULL)
		return;
	if (!*first)
		buf_addc(b, ',');
	*first = 0;
	buf_addjstr(b, k);
	buf_addc(b, ':');
	buf_addjstr(b, v);
}

static void
jtime(struct buf *b, const char *k, int64_t ms)
{
	char	 t[TIME_BUFSZ];

	buf_addf(b, ",\"%s\":", k);
	buf_addjstr(b, time_format(ms, t));
}

static void
alert_json(struct buf *b, const struct conf_notify *nf,
    const struct notify_event *ev)
{
	struct buf	 t;
	const char	*kind;
	int		 first = 1;
	int64_t		 ends;

	/*
	 * A target that is back resolves the alert of its going down: the
	 * same labels, endsAt now.
	 */
	kind = strcmp(ev->kind, "target_up") == 0 ? "target_down" : ev->kind;
	buf_init(&t);
	buf_adds(b, "{\"labels\":{");
	alertname(&t, kind);
	jkey(b, "alertname", t.p, &first);
	jkey(b, "service_name", ev->service, &first);
	jkey(b, "kind", kind, &first);
	if (notify_is_error_event(ev)) {
		jkey(b, "aggregation_key", ev->key, &first);
		jkey(b, "severity", ev->severity, &first);
	} else
		jkey(b, "target", ev->target, &first);
	buf_adds(b, "},\"annotations\":{");
	first = 1;
	buf_reset(&t);
	one_line(&t, ev);
	jkey(b, "summary", t.p, &first);
	buf_reset(&t);
	if (notify_is_error_event(ev))
		buf_addf(&t, "%s of %s in service %s: %" PRId64
		    " occurrence%s in one round.", title(ev->kind), ev->key,
		    ev->service, ev->count, ev->count == 1 ? "" : "s");
	else if (ev->error != NULL)
		buf_addf(&t, "Target %s of service %s cannot be scraped: %s",
		    ev->target, ev->service, ev->error);
	else
		buf_addf(&t, "Target %s of service %s is scraped again.",
		    ev->target, ev->service);
	jkey(b, "description", t.p, &first);
	buf_reset(&t);
	notify_link(&t, nf, ev);
	jkey(b, "url", t.p, &first);
	buf_adds(b, "},\"generatorURL\":");
	buf_addjstr(b, t.p);
	jtime(b, "startsAt", ev->at);
	/* Everything else is news that ends on its own. */
	ends = strcmp(ev->kind, "target_up") == 0 ? ev->at :
	    ev->at + nf->alert_ttl_ms;
	jtime(b, "endsAt", ends);
	buf_addc(b, '}');
	buf_release(&t);
}

void
notify_alerts_json(struct buf *b, const struct conf_notify *nf,
    const struct notify_event *ev, size_t n)
{
	size_t	 i;

	buf_addc(b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		alert_json(b, nf, &ev[i]);
	}
	buf_addc(b, ']');
}

static void
event_json(struct buf *b, const struct conf_notify *nf,
    const struct notify_event *ev)
{
	struct buf	 t;
	char		 id[17], at[TIME_BUFSZ];
	int		 first = 1;

	buf_init(&t);
	snprintf(id, sizeof(id), "%016" PRIx64, ev->id);
	buf_addc(b, '{');
	jkey(b, "id", id, &first);
	jkey(b, "kind", ev->kind, &first);
	jkey(b, "service", ev->service, &first);
	jkey(b, "key", ev->key, &first);
	jkey(b, "severity", ev->severity, &first);
	if (notify_is_error_event(ev))
		buf_addf(b, ",\"count\":%" PRId64, ev->count);
	jkey(b, "target", ev->target, &first);
	jkey(b, "error", ev->error, &first);
	jkey(b, "at", time_format(ev->at, at), &first);
	notify_link(&t, nf, ev);
	jkey(b, "url", t.p, &first);
	buf_addc(b, '}');
	buf_release(&t);
}

void
notify_webhook_json(struct buf *b, const struct conf_notify *nf,
    const char *receiver, const struct notify_event *ev, size_t n)
{
	struct buf	 t;
	char		 id[17];
	size_t		 i;

	buf_init(&t);
	snprintf(id, sizeof(id), "%016" PRIx64, notify_message_id(ev, n));
	notify_text(&t, nf, ev, n);
	buf_adds(b, "{\"version\":1,\"id\":");
	buf_addjstr(b, id);
	buf_adds(b, ",\"receiver\":");
	buf_addjstr(b, receiver);
	buf_adds(b, ",\"text\":");
	buf_addjstr(b, t.p);
	buf_adds(b, ",\"events\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		event_json(b, nf, &ev[i]);
	}
	buf_adds(b, "]}");
	buf_release(&t);
}
