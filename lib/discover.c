/* SPDX-License-Identifier: Apache-2.0 */
/* Static service discovery: config entries to targets records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discover.h"
#include "xalloc.h"

/* Targets with their config order, so sorting keeps the first of equals. */
struct ranked {
	struct target	t;
	size_t		rank;
};

static int
ranked_cmp(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	int c;

	if ((c = strcmp(x->t.address, y->t.address)) != 0)
		return c;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static void
sort_stable(struct target *v, size_t n)
{
	struct ranked *r;
	size_t i;

	r = xreallocarray(NULL, n, sizeof(*r));
	for (i = 0; i < n; i++) {
		r[i].t = v[i];
		r[i].rank = i;
	}
	qsort(r, n, sizeof(*r), ranked_cmp);
	for (i = 0; i < n; i++)
		v[i] = r[i].t;
	free(r);
}

/* Appends the default port when the address has none ("host", "[::1]"). */
static char *
with_port(const char *addr, const char *scheme)
{
	const char *port = strcmp(scheme, "https") == 0 ? "443" : "80";
	const char *close;

	if (addr[0] == '[') {
		close = strchr(addr, ']');
		if (close != NULL && close[1] == ':')
			return xstrdup(addr);
		return xasprintf("%s:%s", addr, port);
	}
	/* A bare IPv6 address has several colons and no brackets. */
	if (strchr(addr, ':') != NULL &&
	    strchr(addr, ':') == strrchr(addr, ':'))
		return xstrdup(addr);
	if (strchr(addr, ':') != NULL)
		return xasprintf("[%s]:%s", addr, port);
	return xasprintf("%s:%s", addr, port);
}

int
discover_service(const struct conf_service *svc, struct targets_rec *out,
    char *err, size_t errlen)
{
	const struct conf_static *sc;
	struct target *t;
	size_t i, j, n = 0, cap = 0, k;
	const char *unsupported = NULL;

	memset(out, 0, sizeof(*out));
	if (svc->nfile_sd_configs)
		unsupported = "file_sd_configs";
	else if (svc->ndns_sd_configs)
		unsupported = "dns_sd_configs";
	else if (svc->nhttp_sd_configs)
		unsupported = "http_sd_configs";
	else if (svc->nrelabel_configs)
		unsupported = "relabel_configs";
	if (unsupported != NULL) {
		snprintf(err, errlen, "service \"%s\": %s are not supported "
		    "yet", svc->name, unsupported);
		return -1;
	}
	out->service = xstrdup(svc->name);
	out->endpoint = xstrdup(svc->scraper.endpoint);
	out->interval_ms = svc->scraper.interval_ms;
	out->timeout_ms = svc->scraper.timeout_ms;
	for (i = 0; i < svc->nstatic_configs; i++) {
		sc = &svc->static_configs[i];
		for (j = 0; j < sc->ntargets; j++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				out->targets = xreallocarray(out->targets, cap,
				    sizeof(*out->targets));
			}
			t = &out->targets[n++];
			t->address = with_port(sc->targets[j],
			    svc->scraper.scheme);
			t->url = xasprintf("%s://%s%s", svc->scraper.scheme,
			    t->address, svc->scraper.endpoint);
			labels_copy(&t->labels, &sc->labels);
			labels_set(&t->labels, "instance", t->address);
		}
	}
	out->ntargets = n;
	if (n > 1)
		sort_stable(out->targets, n);
	/* One target per address: the first one the config names. */
	for (i = 1, k = 1; i < n; i++) {
		if (strcmp(out->targets[i].address,
		    out->targets[k - 1].address) == 0) {
			free(out->targets[i].address);
			free(out->targets[i].url);
			labels_release(&out->targets[i].labels);
			continue;
		}
		out->targets[k++] = out->targets[i];
	}
	if (n > 0)
		out->ntargets = k;
	return 0;
}

int
discover_same(const struct targets_rec *a, const struct targets_rec *b)
{
	size_t i;

	if (a->ntargets != b->ntargets || a->interval_ms != b->interval_ms ||
	    a->timeout_ms != b->timeout_ms ||
	    strcmp(a->endpoint, b->endpoint) != 0)
		return 0;
	for (i = 0; i < a->ntargets; i++)
		if (strcmp(a->targets[i].url, b->targets[i].url) != 0 ||
		    !labels_equal(&a->targets[i].labels, &b->targets[i].labels))
			return 0;
	return 1;
}
