/* SPDX-License-Identifier: Apache-2.0 */
/* The scrape engine: one libcurl multi handle, rounds, result lines. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "buf.h"
#include "duration.h"
#include "keytab.h"
#include "model.h"
#include "record.h"
#include "scrape.h"
#include "secret.h"
#include "timefmt.h"
#include "xalloc.h"

/* Secrets read from files are at most this long, as a sanity limit. */

struct svc_target {
	char	*address;
	char	*url;
};

/*
 * A service's target set with its settings.  A round holds a reference,
 * so new targets can arrive while it runs without pulling the strings
 * from under the transfers.
 */
struct tlist {
	int			 refs;
	struct svc_target	*t;
	size_t			 n;
	struct http_auth	 auth;
	struct targets_tls	 tls;
};

struct service {
	char			*name;
	struct tlist		*cur;		/* NULL: no targets */
	int64_t			 interval_ms;
	int64_t			 timeout_ms;
	int			 removed; /* freed when its round ends */
	int			 adhoc;		/* one round only */
	double			 due;		/* mono ms; < 0: no */
	int			 late;		/* due while running */
	/* The running round. */
	int			 running;
	struct tlist		*rl;
	size_t			 r_next;	/* next target to start */
	int64_t			 r_timeout_ms;
	int64_t			 r_at;
	double			 r_start;
	size_t			 r_targets, r_left, r_ok, r_failed;
	/* Credentials as read when the round started. */
	char			*r_user, *r_pass, *r_authz;
	char			*r_autherr;	/* every scrape fails with it */
	struct service		*next;
};

/*
 * One transfer.  Jobs exist only while in flight, so memory follows the
 * concurrency, not the size of the fleet.
 */
struct job {
	struct service	*svc;
	const char	*url;		/* borrowed from svc->rl */
	const char	*address;
	int64_t		 timeout_ms;
	int64_t		 at;
	double		 start;
	CURL		*easy;
	struct curl_slist *hdrs;
	struct curl_slist *connect_to;
	char		*url_sni;	/* the URL with tls server_name */
	struct buf	 body;
	size_t		 max_body;
	int64_t		 received;	/* body bytes, kept or not */
	int		 toobig;
	char		 errbuf[CURL_ERROR_SIZE];
	struct job	*next;
};

struct scraper {
	struct scrape_opts	 o;
	CURLM			*multi;
	struct service		*services;
	struct job		*active;	/* in the multi handle */
	size_t			 nactive;
	CURL			**idle;		/* to reuse */
	size_t			 nidle;
	/*
	 * Connections are kept between rounds when the cache can hold one
	 * for every target, up to SCRAPE_REUSE_MAX and the descriptors
	 * allowed: beyond that they would only churn it.
	 */
	int			 reuse;
	int			 draining;
	uint64_t		 nok, nfailed;
	/*
	 * Each service's and URL's last body reported in full: its hash,
	 * and when.
	 */
	struct keytab		*bodies;
};

static int curl_ready;


static void	lower_first(char *);

void
scrape_opts_init(struct scrape_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->concurrency = SCRAPE_CONCURRENCY;
	o->max_body = SCRAPE_MAX_BODY;
	o->timeout_ms = SCRAPE_TIMEOUT_MS;
}

static void
debugf(struct scraper *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
debugf(struct scraper *s, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	if (s->o.debug == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->o.debug(s->o.arg, msg);
}

struct scraper *
scraper_new(const struct scrape_opts *o, char *err, size_t errlen)
{
	struct scraper *s;

	/* Not thread-safe, but programs create their scraper before threads. */
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "libcurl: cannot initialise");
			return NULL;
		}
		curl_ready = 1;
	}
	s = xcalloc(1, sizeof(*s));
	s->bodies = keytab_new();
	s->o = *o;
	if (s->o.concurrency < 1)
		s->o.concurrency = 1;
	if (s->o.timeout_ms <= 0)
		s->o.timeout_ms = SCRAPE_TIMEOUT_MS;
	if (s->o.max_body == 0)
		s->o.max_body = SCRAPE_MAX_BODY;
	if ((s->multi = curl_multi_init()) == NULL) {
		snprintf(err, errlen, "libcurl: cannot create a multi handle");
		free(s);
		return NULL;
	}
	curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS,
	    (long)s->o.concurrency);
	s->idle = xcalloc((size_t)s->o.concurrency, sizeof(*s->idle));
	return s;
}

static char *
dupnull(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static struct tlist *
tlist_new(void)
{
	struct tlist *l;

	l = xcalloc(1, sizeof(*l));
	l->refs = 1;
	return l;
}

static void
tlist_unref(struct tlist *l)
{
	size_t i;

	if (l == NULL || --l->refs > 0)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->t[i].address);
		free(l->t[i].url);
	}
	free(l->t);
	free(l->auth.username);
	free(l->auth.password);
	free(l->auth.password_file);
	free(l->auth.type);
	free(l->auth.credentials);
	free(l->auth.credentials_file);
	free(l->tls.ca_file);
	free(l->tls.cert_file);
	free(l->tls.key_file);
	free(l->tls.server_name);
	free(l);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	curl_slist_free_all(j->hdrs);
	curl_slist_free_all(j->connect_to);
	free(j->url_sni);
	buf_release(&j->body);
	free(j);
}

static void
round_creds_release(struct service *v)
{
	secret_free(v->r_user);
	secret_free(v->r_pass);
	secret_free(v->r_authz);
	free(v->r_autherr);
	v->r_user = v->r_pass = v->r_authz = v->r_autherr = NULL;
}

static void
service_free(struct service *v)
{
	tlist_unref(v->cur);
	tlist_unref(v->rl);
	round_creds_release(v);
	free(v->name);
	free(v);
}

void
scraper_free(struct scraper *s)
{
	struct service *v, *vn;
	struct job *j, *jn;
	size_t i;

	if (s == NULL)
		return;
	for (j = s->active; j != NULL; j = jn) {
		jn = j->next;
		curl_multi_remove_handle(s->multi, j->easy);
		curl_easy_cleanup(j->easy);
		job_free(j);
	}
	for (i = 0; i < s->nidle; i++)
		curl_easy_cleanup(s->idle[i]);
	free(s->idle);
	for (v = s->services; v != NULL; v = vn) {
		vn = v->next;
		service_free(v);
	}
	curl_multi_cleanup(s->multi);
	keytab_free(s->bodies);
	free(s);
}

uint64_t
scraper_nok(const struct scraper *s)
{
	return s->nok;
}

uint64_t
scraper_nfailed(const struct scraper *s)
{
	return s->nfailed;
}

/* FNV-1a: stable across runs and hosts, unlike a seeded hash. */
static uint64_t
hash_name(const char *p)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *p != '\0'; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * As Prometheus does, a service's rounds happen where wall-clock time
 * modulo the interval equals its hash modulo the interval: services are
 * spread over the interval, and the phase survives a restart.
 */
int64_t
scrape_offset(const char *service, int64_t interval_ms, int64_t now_ms)
{
	int64_t base, off;

	if (interval_ms <= 0)
		return 0;
	base = (int64_t)(hash_name(service) % (uint64_t)interval_ms);
	off = (base - now_ms % interval_ms) % interval_ms;
	if (off < 0)
		off += interval_ms;
	return off;
}

static struct service *
service_find(struct scraper *s, const char *name, int adhoc)
{
	struct service *v;

	for (v = s->services; v != NULL; v = v->next)
		if (v->adhoc == adhoc && strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

static struct service *
service_add(struct scraper *s, const char *name, int adhoc)
{
	struct service *v, **pp;

	v = xcalloc(1, sizeof(*v));
	v->name = xstrdup(name);
	v->adhoc = adhoc;
	v->due = -1;
	/* At the end, so services take their turns in order of arrival. */
	for (pp = &s->services; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = v;
	return v;
}

static void
service_unlink(struct scraper *s, struct service *v)
{
	struct service **pp;

	for (pp = &s->services; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == v) {
			*pp = v->next;
			service_free(v);
			return;
		}
	}
}

/* Whether every target of every service fits in the connection cache. */
static void
update_reuse(struct scraper *s)
{
	struct service *v;
	struct rlimit rl;
	size_t n = 0;

	for (v = s->services; v != NULL; v = v->next)
		if (v->cur != NULL)
			n += v->cur->n;
	/* Each kept connection holds a descriptor until the next round. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		rl.rlim_cur = 1024;
	s->reuse = n <= SCRAPE_REUSE_MAX &&
	    n + (size_t)s->o.concurrency + 64 <= rl.rlim_cur;
	if (s->reuse && n > (size_t)s->o.concurrency)
		curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)n);
}

void
scraper_set_targets(struct scraper *s, const struct targets_rec *t)
{
	struct service *v;
	struct tlist *l;
	int64_t old_interval;
	size_t i;

	v = service_find(s, t->service, 0);
	if (t->ntargets == 0) {
		if (v == NULL)
			return;
		if (v->running) {
			tlist_unref(v->cur);
			v->cur = NULL;
			v->removed = 1;
			v->due = -1;
			v->late = 0;
		} else
			service_unlink(s, v);
		update_reuse(s);
		return;
	}
	if (v == NULL)
		v = service_add(s, t->service, 0);
	old_interval = v->removed ? -1 : v->interval_ms;
	v->removed = 0;
	l = tlist_new();
	l->t = xcalloc(t->ntargets, sizeof(*l->t));
	for (i = 0; i < t->ntargets; i++) {
		l->t[i].address = xstrdup(t->targets[i].address ?
		    t->targets[i].address : "");
		l->t[i].url = xstrdup(t->targets[i].url ?
		    t->targets[i].url : "");
	}
	l->n = t->ntargets;
	l->auth.username = dupnull(t->auth.username);
	l->auth.password = dupnull(t->auth.password);
	l->auth.password_file = dupnull(t->auth.password_file);
	l->auth.type = dupnull(t->auth.type);
	l->auth.credentials = dupnull(t->auth.credentials);
	l->auth.credentials_file = dupnull(t->auth.credentials_file);
	l->tls.ca_file = dupnull(t->tls.ca_file);
	l->tls.cert_file = dupnull(t->tls.cert_file);
	l->tls.key_file = dupnull(t->tls.key_file);
	l->tls.server_name = dupnull(t->tls.server_name);
	l->tls.insecure_skip_verify = t->tls.insecure_skip_verify;
	tlist_unref(v->cur);
	v->cur = l;
	update_reuse(s);
	v->interval_ms = t->interval_ms > 0 ? t->interval_ms : 0;
	v->timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : s->o.timeout_ms;
	/* A scrape must end before the next one is due. */
	if (v->interval_ms > 0 && v->timeout_ms > v->interval_ms)
		v->timeout_ms = v->interval_ms;
	if (s->o.once || v->interval_ms == 0) {
		/* One round per targets line: now, or after this one. */
		if (v->running)
			v->late = 1;
		else
			v->due = time_mono_ms();
	} else if (old_interval != v->interval_ms || v->due < 0) {
		v->due = time_mono_ms() +
		    (double)scrape_offset(v->name, v->interval_ms, time_now());
		debugf(s, "service '%s': first round in %.3f s", v->name,
		    (v->due - time_mono_ms()) / 1000.0);
	}
}

/* The host:port of a URL, the port filled in from the scheme. */
static char *
url_address(const char *url, char *err, size_t errlen)
{
	CURLU *u;
	char *host = NULL, *port = NULL, *out = NULL;

	if ((u = curl_url()) == NULL) {
		snprintf(err, errlen, "libcurl: out of memory");
		return NULL;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		snprintf(err, errlen, "'%s': not a valid URL", url);
	else
		out = xasprintf("%s:%s", host, port);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

int
scraper_add_urls(struct scraper *s, const char *service,
    char *const *urls, size_t n, char *err, size_t errlen)
{
	struct service *v;
	struct tlist *l;
	size_t i;

	l = tlist_new();
	l->t = xcalloc(n ? n : 1, sizeof(*l->t));
	for (i = 0; i < n; i++) {
		if ((l->t[i].address = url_address(urls[i], err, errlen)) ==
		    NULL) {
			tlist_unref(l);
			return -1;
		}
		l->t[i].url = xstrdup(urls[i]);
		l->n = i + 1;
	}
	v = service_add(s, service, 1);
	v->cur = l;
	v->timeout_ms = s->o.timeout_ms;
	v->due = time_mono_ms();
	update_reuse(s);
	return 0;
}

/* Reads the round's credentials; a failure fails each of its scrapes. */
static void
round_creds(struct service *v)
{
	struct http_creds cr;
	char err[512];

	round_creds_release(v);
	if (http_auth_resolve(&v->rl->auth, &cr, err, sizeof(err)) == -1) {
		v->r_autherr = xasprintf("auth: %s", err);
		return;
	}
	v->r_user = cr.user;
	v->r_pass = cr.pass;
	v->r_authz = cr.header;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct job *j = arg;
	size_t n = size * nmemb;
	long status = 0;

	j->received += (int64_t)n;
	/* An error page is not parsed: count it, do not keep it. */
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299)
		return n;
	if (j->body.len + n > j->max_body) {
		j->toobig = 1;
		return 0;	/* libcurl aborts: CURLE_WRITE_ERROR */
	}
	buf_add(&j->body, p, n);
	return n;
}

static CURL *
easy_get(struct scraper *s)
{
	CURL *e;

	if (s->nidle > 0) {
		e = s->idle[--s->nidle];
		curl_easy_reset(e);
		return e;
	}
	return curl_easy_init();
}

static void
easy_put(struct scraper *s, CURL *e)
{
	if (s->nidle < (size_t)s->o.concurrency)
		s->idle[s->nidle++] = e;
	else
		curl_easy_cleanup(e);
}

/*
 * tls_config's server_name: libcurl takes the name for SNI and the
 * certificate check from the URL, so the URL names server_name, the
 * connection goes to the target's own host and port, and the Host header
 * keeps naming the target.
 */
static void
job_server_name(struct job *j, const char *name)
{
	CURLU *u;
	char *host = NULL, *port = NULL, *scheme = NULL, *url = NULL, *h;

	if ((u = curl_url()) == NULL)
		return;
	if (curl_url_set(u, CURLUPART_URL, j->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    strcmp(scheme, "https") != 0 ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, name, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
		goto out;
	j->url_sni = xstrdup(url);
	h = xasprintf("%s:%s:%s:%s", name, port, host, port);
	j->connect_to = curl_slist_append(NULL, h);
	free(h);
	h = xasprintf("Host: %s", j->address);
	j->hdrs = curl_slist_append(j->hdrs, h);
	free(h);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
}

static void finish(struct scraper *, struct job *, CURLcode);

static void
job_start(struct scraper *s, struct job *j)
{
	const struct targets_tls *tls = &j->svc->rl->tls;
	struct service *v = j->svc;
	CURL *e;
	CURLMcode mc;

	j->at = time_now();
	j->start = time_mono_ms();
	if (v->r_autherr != NULL) {
		snprintf(j->errbuf, sizeof(j->errbuf), "%s", v->r_autherr);
		finish(s, j, CURLE_LOGIN_DENIED);
		return;
	}
	if ((e = easy_get(s)) == NULL) {
		snprintf(j->errbuf, sizeof(j->errbuf), "out of memory");
		finish(s, j, CURLE_OUT_OF_MEMORY);
		return;
	}
	j->easy = e;
	if (tls->server_name != NULL)
		job_server_name(j, tls->server_name);
	curl_easy_setopt(e, CURLOPT_URL, j->url_sni ? j->url_sni : j->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)j->timeout_ms);
	/* "" offers every encoding this libcurl decodes (gzip, deflate). */
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)j->max_body);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "periskop-scrape");
	/*
	 * A fleet's addresses are each looked up once a round: caching
	 * them saves nothing, and libcurl prunes its DNS cache by walking
	 * all of it at every transfer.
	 */
	curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, s->reuse ? 0L : 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (v->r_user != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, v->r_user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, v->r_pass);
	}
	if (v->r_authz != NULL)
		j->hdrs = curl_slist_append(j->hdrs, v->r_authz);
	if (j->hdrs != NULL)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs);
	if (j->connect_to != NULL)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, j->connect_to);
	if (tls->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, tls->ca_file);
	if (tls->cert_file != NULL)
		curl_easy_setopt(e, CURLOPT_SSLCERT, tls->cert_file);
	if (tls->key_file != NULL)
		curl_easy_setopt(e, CURLOPT_SSLKEY, tls->key_file);
	if (tls->insecure_skip_verify) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	j->errbuf[0] = '\0';
	if ((mc = curl_multi_add_handle(s->multi, e)) != CURLM_OK) {
		snprintf(j->errbuf, sizeof(j->errbuf), "%s",
		    curl_multi_strerror(mc));
		finish(s, j, CURLE_FAILED_INIT);
		return;
	}
	j->next = s->active;
	s->active = j;
	s->nactive++;
}

static void
round_start(struct scraper *s, struct service *v)
{
	v->running = 1;
	v->late = 0;
	tlist_unref(v->rl);
	v->rl = v->cur;
	v->rl->refs++;
	v->r_next = 0;
	v->r_timeout_ms = v->timeout_ms;
	v->r_at = time_now();
	v->r_start = time_mono_ms();
	v->r_targets = v->r_left = v->rl->n;
	v->r_ok = v->r_failed = 0;
	round_creds(v);
}

static void
round_end(struct scraper *s, struct service *v)
{
	struct round_rec r;
	struct buf b;
	double now;

	now = time_mono_ms();
	memset(&r, 0, sizeof(r));
	r.service = v->name;
	r.at = v->r_at;
	r.duration_ms = now - v->r_start;
	r.targets = (int64_t)v->r_targets;
	r.ok = (int64_t)v->r_ok;
	r.failed = (int64_t)v->r_failed;
	buf_init(&b);
	record_write_round(&b, &r);
	if (s->o.emit != NULL)
		s->o.emit(s->o.arg, REC_ROUND, b.p, b.len);
	buf_release(&b);
	v->running = 0;
	tlist_unref(v->rl);
	v->rl = NULL;
	round_creds_release(v);
	if (v->removed || v->adhoc) {
		service_unlink(s, v);
		update_reuse(s);
		return;
	}
	if (v->late) {
		debugf(s, "service '%s': round took %.3f s, the next one "
		    "starts now", v->name, r.duration_ms / 1000.0);
		v->late = 0;
		v->due = now;
	}
}

/*
 * libcurl's messages start with a capital; ours do not.  An acronym
 * ("SSL certificate problem") keeps its capitals.
 */
static void
lower_first(char *p)
{
	if (p[0] != '\0' && !isupper((unsigned char)p[1]))
		p[0] = (char)tolower((unsigned char)p[0]);
}

/* Turns a finished transfer into its error message, or "" when it is fine. */
static void
describe(const struct job *j, CURLcode rc, long status, char *msg,
    size_t len)
{
	CURLU *u;
	char *host = NULL;
	long oserr = 0;
	size_t i;

	msg[0] = '\0';
	/* Whatever happened to the body, a status that is not 2xx says more. */
	if (status != 0 && (status < 200 || status > 299)) {
		snprintf(msg, len, "HTTP %ld", status);
		return;
	}
	switch (rc) {
	case CURLE_OK:
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
		if ((u = curl_url()) != NULL) {
			if (curl_url_set(u, CURLUPART_URL, j->url, 0) ==
			    CURLUE_OK)
				curl_url_get(u, CURLUPART_HOST, &host, 0);
			curl_url_cleanup(u);
		}
		snprintf(msg, len, "dns: could not resolve '%s'",
		    host != NULL ? host : j->url);
		curl_free(host);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		if (j->timeout_ms % 1000 == 0)
			snprintf(msg, len, "timeout after %" PRId64 " s",
			    j->timeout_ms / 1000);
		else
			snprintf(msg, len, "timeout after %g s",
			    (double)j->timeout_ms / 1000.0);
		return;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (rc == CURLE_FILESIZE_EXCEEDED || j->toobig) {
			if (j->max_body % (1024 * 1024) == 0)
				snprintf(msg, len, "body larger than %zu MiB",
				    j->max_body / (1024 * 1024));
			else if (j->max_body % 1024 == 0)
				snprintf(msg, len, "body larger than %zu KiB",
				    j->max_body / 1024);
			else
				snprintf(msg, len, "body larger than %zu "
				    "bytes", j->max_body);
			return;
		}
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		if (j->easy != NULL)
			curl_easy_getinfo(j->easy, CURLINFO_OS_ERRNO, &oserr);
		if (oserr != 0) {
			snprintf(msg, len, "%s: %s",
			    rc == CURLE_COULDNT_CONNECT ? "connect" :
			    rc == CURLE_RECV_ERROR ? "recv" : "send",
			    strerror((int)oserr));
			/* Our messages are lowercase; strerror's are not. */
			for (i = 0; msg[i] != ':'; i++)
				;
			if (msg[i + 1] == ' ')
				msg[i + 2] = (char)tolower(
				    (unsigned char)msg[i + 2]);
			return;
		}
		break;
	case CURLE_LOGIN_DENIED:
		/* The round's secret file could not be read. */
		if (j->easy == NULL) {
			snprintf(msg, len, "%s", j->errbuf);
			return;
		}
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
		snprintf(msg, len, "tls: %s", j->errbuf[0] != '\0' ?
		    j->errbuf : curl_easy_strerror(rc));
		lower_first(msg + 5);
		return;
	case CURLE_GOT_NOTHING:
		snprintf(msg, len, "http: connection closed without a "
		    "response");
		return;
	default:
		break;
	}
	snprintf(msg, len, "http: %s", j->errbuf[0] != '\0' ? j->errbuf :
	    curl_easy_strerror(rc));
	lower_first(msg + 6);
}


static void
finish(struct scraper *s, struct job *j, CURLcode rc)
{
	struct scrape_rec r;
	struct payload *p = NULL;
	struct service *v = j->svc;
	struct buf b;
	long status = 0;
	char msg[1024];
	struct keytab_key uk;
	const char *id[2];
	uint64_t hash = 0, last;
	int64_t now, at;
	int remember, same = 0;

	if (j->easy != NULL)
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	describe(j, rc, status, msg, sizeof(msg));
	/*
	 * A body the target answered last time, reported in full a moment
	 * ago, is neither parsed nor written again: the line says so.
	 */
	now = (int64_t)time_mono_ms();
	/* A single round never sees a body twice. */
	remember = msg[0] == '\0' && !s->o.full && !s->o.once && !v->adhoc;
	if (remember) {
		/* Never 0, which stands for a body that could not be read. */
		hash = keytab_mix(0, j->body.p, j->body.len) | 1;
		/* Per service: a target two services list is two targets. */
		id[0] = v->name;
		id[1] = j->url;
		keytab_key(&uk, id, 2);
		same = keytab_get(s->bodies, &uk, &last, &at) && last == hash &&
		    at >= now - SCRAPE_FULL_EVERY_MS;
	}
	if (msg[0] == '\0' && !same) {
		p = payload_parse(j->body.p, j->body.len, msg, sizeof(msg));
		if (remember)
			keytab_put(s->bodies, &uk, p != NULL ? hash : 0, now,
			    now - 2 * SCRAPE_FULL_EVERY_MS);
	}
	memset(&r, 0, sizeof(r));
	r.service = v->name;
	r.target = (char *)j->address;
	r.url = (char *)j->url;
	r.at = j->at;
	r.duration_ms = time_mono_ms() - j->start;
	r.http_status = (int)status;
	r.body_bytes = j->received;
	r.ok = p != NULL || same;
	r.unchanged = same;
	r.error = r.ok ? NULL : msg;
	r.payload = p;
	r.target_uuid = p != NULL ? p->target_uuid : NULL;
	if (r.ok) {
		v->r_ok++;
		s->nok++;
	} else {
		v->r_failed++;
		s->nfailed++;
	}
	buf_init(&b);
	record_write_scrape(&b, &r);
	payload_free(p);
	/* The body goes now: memory stays bounded by transfers in flight. */
	buf_release(&j->body);
	if (s->o.emit != NULL)
		s->o.emit(s->o.arg, REC_SCRAPE, b.p, b.len);
	buf_release(&b);
	if (j->easy != NULL)
		easy_put(s, j->easy);
	job_free(j);
	if (--v->r_left == 0)
		round_end(s, v);
}

static struct job *
job_new(struct scraper *s, struct service *v)
{
	struct job *j;
	size_t i = v->r_next++;

	j = xcalloc(1, sizeof(*j));
	j->svc = v;
	j->url = v->rl->t[i].url;
	j->address = v->rl->t[i].address;
	j->timeout_ms = v->r_timeout_ms;
	j->max_body = s->o.max_body;
	buf_init(&j->body);
	return j;
}

/*
 * Starts transfers while slots are free, one per service in turn, so a
 * large service does not hold back a small one.  A job that ends at once
 * may end its round and free its service: the next is taken first.
 */
static void
fill_slots(struct scraper *s)
{
	struct service *v, *vn;
	size_t max = (size_t)s->o.concurrency;
	int progress;

	do {
		progress = 0;
		for (v = s->services; v != NULL && s->nactive < max; v = vn) {
			vn = v->next;
			if (!v->running || v->rl == NULL ||
			    v->r_next >= v->rl->n)
				continue;
			job_start(s, job_new(s, v));
			progress = 1;
		}
	} while (progress && s->nactive < max);
}

/* Starts due rounds; returns ms until the next one is due, or -1. */
static double
start_due(struct scraper *s)
{
	struct service *v, *vn;
	double now, next = -1, left;

	now = time_mono_ms();
	for (v = s->services; v != NULL; v = vn) {
		vn = v->next;
		if (v->due < 0)
			continue;
		if (s->draining && !s->o.once && !v->adhoc) {
			v->due = -1;
			continue;
		}
		if (v->due <= now) {
			if (v->running) {
				if (!v->late)
					debugf(s, "service '%s': round still "
					    "running when the next is due; it "
					    "starts when this one ends",
					    v->name);
				v->late = 1;
				v->due = -1;
				continue;
			}
			if (s->o.once || v->adhoc || v->interval_ms <= 0)
				v->due = -1;
			else {
				/* Keep the phase; skip missed rounds. */
				v->due += (double)v->interval_ms;
				if (v->due <= now)
					v->due = now + (double)v->interval_ms;
			}
			if (v->cur != NULL && v->cur->n > 0)
				round_start(s, v);
		}
		if (v->due >= 0) {
			left = v->due - now;
			if (next < 0 || left < next)
				next = left;
		}
	}
	return next;
}

/* Finishes the completed transfers; returns how many there were. */
static int
reap(struct scraper *s)
{
	struct job **pp, *j;
	CURLMsg *m;
	CURLcode rc;
	int left, n = 0;

	while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		j = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		    (char **)&j);
		if (j == NULL)
			continue;
		for (pp = &s->active; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == j) {
				*pp = j->next;
				break;
			}
		}
		s->nactive--;
		/* m is invalid after remove_handle: read the result first. */
		rc = m->data.result;
		curl_multi_remove_handle(s->multi, j->easy);
		finish(s, j, rc);
		n++;
	}
	return n;
}

int
scraper_step(struct scraper *s, struct pollfd *fds, size_t nfds,
    int wait_ms, char *err, size_t errlen)
{
	struct curl_waitfd wfd[8];
	CURLMcode mc;
	double next;
	size_t i;
	int running, w;

	if (nfds > sizeof(wfd) / sizeof(wfd[0])) {
		snprintf(err, errlen, "scraper_step: too many descriptors");
		return -1;
	}
	next = start_due(s);
	fill_slots(s);
	w = wait_ms;
	if (next >= 0 && (w < 0 || next < w))
		w = (int)next + 1;
	if (w < 0)
		w = 60 * 1000;
	for (i = 0; i < nfds; i++) {
		wfd[i].fd = fds[i].fd;
		wfd[i].events = 0;
		if (fds[i].events & POLLIN)
			wfd[i].events |= CURL_WAIT_POLLIN;
		if (fds[i].events & POLLOUT)
			wfd[i].events |= CURL_WAIT_POLLOUT;
		wfd[i].revents = 0;
	}
	if ((mc = curl_multi_perform(s->multi, &running)) != CURLM_OK) {
		snprintf(err, errlen, "libcurl: %s", curl_multi_strerror(mc));
		return -1;
	}
	/*
	 * What just finished may have ended a round, and so the caller's
	 * work: do not sleep on a wait computed before it did.
	 */
	if (reap(s) > 0)
		w = 0;
	fill_slots(s);
	mc = curl_multi_poll(s->multi, wfd, (unsigned)nfds, w, NULL);
	if (mc != CURLM_OK) {
		snprintf(err, errlen, "libcurl: %s", curl_multi_strerror(mc));
		return -1;
	}
	for (i = 0; i < nfds; i++) {
		fds[i].revents = 0;
		if (wfd[i].revents & CURL_WAIT_POLLIN)
			fds[i].revents |= POLLIN;
		if (wfd[i].revents & CURL_WAIT_POLLOUT)
			fds[i].revents |= POLLOUT;
		if (wfd[i].revents & CURL_WAIT_POLLPRI)
			fds[i].revents |= POLLPRI;
	}
	if ((mc = curl_multi_perform(s->multi, &running)) != CURLM_OK) {
		snprintf(err, errlen, "libcurl: %s", curl_multi_strerror(mc));
		return -1;
	}
	reap(s);
	return 0;
}

void
scraper_drain(struct scraper *s)
{
	s->draining = 1;
}

int
scraper_busy(const struct scraper *s)
{
	const struct service *v;

	for (v = s->services; v != NULL; v = v->next) {
		if (v->running || v->late)
			return 1;
		if (v->due >= 0 && (v->adhoc || s->o.once || !s->draining))
			return 1;
	}
	return 0;
}

int
scrape_parse_size(const char *s, size_t *out, char *err, size_t errlen)
{
	unsigned long long v, mul = 1;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		goto bad;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1024;
		end++;
		break;
	case 'm': case 'M':
		mul = 1024 * 1024;
		end++;
		break;
	case 'g': case 'G':
		mul = 1024 * 1024 * 1024;
		end++;
		break;
	default:
		goto bad;
	}
	if (mul > 1 && strcmp(end, "iB") == 0)
		end += 2;
	else if (mul > 1 && strcmp(end, "B") == 0)
		end += 1;
	if (*end != '\0' || v == 0 || v > SIZE_MAX / mul)
		goto bad;
	*out = (size_t)(v * mul);
	return 0;
bad:
	snprintf(err, errlen, "'%s': not a size (such as 512k or 16M)", s);
	return -1;
}

int
scrape_parse_timeout(const char *s, int64_t *ms, char *err, size_t errlen)
{
	double d;
	char *end;

	if (isdigit((unsigned char)*s) && strspn(s, "0123456789.") ==
	    strlen(s)) {
		errno = 0;
		d = strtod(s, &end);
		if (errno != 0 || *end != '\0' || d <= 0 || d > 86400.0)
			goto bad;
		*ms = (int64_t)(d * 1000.0 + 0.5);
		if (*ms == 0)
			goto bad;
		return 0;
	}
	if (duration_parse(s, ms, err, errlen) == -1)
		return -1;
	if (*ms <= 0)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "'%s': not a timeout (such as 10, 1.5 or 500ms)",
	    s);
	return -1;
}
