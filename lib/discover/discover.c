/* SPDX-License-Identifier: Apache-2.0 */
/* The discovery engine: a thread per mechanism, groups to targets records. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "discover.h"
#include "relabel.h"
#include "sd.h"
#include "secret.h"
#include "xalloc.h"

/* Bounds a discovery document, so a broken server cannot exhaust memory. */
#define MAX_BODY	(64L * 1024 * 1024)
#define MAX_MSGS	1000

enum mech { M_STATIC, M_FILE, M_DNS, M_HTTP, M_CONSUL, M_K8S };

static const char *const mech_name[] = { "static_configs", "file_sd_configs",
    "dns_sd_configs", "http_sd_configs", "consul_sd_configs",
    "kubernetes_sd_configs" };

/* The groups one source (a file, a name, a namespace...) gave last. */
struct source {
	char			*key;
	struct sd_groups	 groups;
	int			 seen;	/* in the refresh under way */
	char			*lasterr;	/* logged; NULL when ok */
};

struct prov {
	struct discovery	*d;
	size_t			 svc;
	enum mech		 kind;
	const void		*cfg;
	pthread_t		 thread;
	int			 started;
	/* Under d->mu: */
	int			 reported;
	struct sd_groups	 groups;
	/* The thread's own: */
	struct source		*srcs;
	size_t			 nsrcs;
	char			*dc;		/* consul: agent's */
	int			 ifd;		/* file: inotify */
};

struct dsvc {
	const struct conf_service	*svc;
	struct relabel_rules		*rules;
	int				 dirty;	/* under d->mu */
};

struct discovery {
	const struct conf	*conf;
	struct dsvc		*svcs;
	size_t			 nsvcs;
	struct prov		*provs;
	size_t			 nprovs;
	pthread_mutex_t		 mu;
	int			 stop_r, stop_w;
	volatile int		 stopping;
	int			 wakefd;
	int			 once;
	char			**msgs;		/* under mu */
	size_t			 nmsgs;
};

static void
wake(struct discovery *d)
{
	ssize_t	 n;

	if (d->wakefd != -1)
		n = write(d->wakefd, "x", 1);
	(void)n;
}

static void	pmsg(struct prov *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Queues a message for the program to log, prefixed by the service. */
static void
pmsg(struct prov *p, const char *fmt, ...)
{
	struct discovery	*d = p->d;
	va_list			 ap;
	char			 m[1024];

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&d->mu);
	if (d->nmsgs < MAX_MSGS) {
		d->msgs = xreallocarray(d->msgs, d->nmsgs + 1,
		    sizeof(*d->msgs));
		d->msgs[d->nmsgs++] = xasprintf("service \"%s\": %s: %s",
		    d->svcs[p->svc].svc->name, mech_name[p->kind], m);
	}
	pthread_mutex_unlock(&d->mu);
	wake(d);
}

static int
groups_equal(const struct sd_groups *a, const struct sd_groups *b)
{
	size_t	 i, j;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++) {
		if (a->v[i].ntargets != b->v[i].ntargets ||
		    !labels_equal(&a->v[i].labels, &b->v[i].labels))
			return 0;
		for (j = 0; j < a->v[i].ntargets; j++)
			if (!labels_equal(&a->v[i].targets[j],
			    &b->v[i].targets[j]))
				return 0;
	}
	return 1;
}

/* Publishes every source's groups as the mechanism's current ones. */
static void
post(struct prov *p)
{
	struct discovery	*d = p->d;
	struct sd_groups	 all, tmp;
	size_t			 i;
	int			 changed;

	sd_groups_init(&all);
	for (i = 0; i < p->nsrcs; i++) {
		sd_groups_copy(&tmp, &p->srcs[i].groups);
		sd_groups_move(&all, &tmp);
	}
	pthread_mutex_lock(&d->mu);
	changed = !p->reported || !groups_equal(&all, &p->groups);
	if (changed) {
		sd_groups_release(&p->groups);
		p->groups = all;
		p->reported = 1;
		d->svcs[p->svc].dirty = 1;
	}
	pthread_mutex_unlock(&d->mu);
	if (changed)
		wake(d);
	else
		sd_groups_release(&all);
}

/* Sources: a refresh marks what it saw; the rest is dropped. */
static void
src_begin(struct prov *p)
{
	size_t	 i;

	for (i = 0; i < p->nsrcs; i++)
		p->srcs[i].seen = 0;
}

static struct source *
src_get(struct prov *p, const char *key)
{
	struct source	*s;
	size_t		 i;

	for (i = 0; i < p->nsrcs; i++)
		if (strcmp(p->srcs[i].key, key) == 0) {
			p->srcs[i].seen = 1;
			return &p->srcs[i];
		}
	p->srcs = xreallocarray(p->srcs, p->nsrcs + 1, sizeof(*p->srcs));
	s = &p->srcs[p->nsrcs++];
	s->key = xstrdup(key);
	s->lasterr = NULL;
	sd_groups_init(&s->groups);
	s->seen = 1;
	return s;
}

/* Replaces a source's groups with g (taken over). */
static void
src_set(struct prov *p, const char *key, struct sd_groups *g)
{
	struct source	*s = src_get(p, key);

	sd_groups_release(&s->groups);
	s->groups = *g;
	sd_groups_init(g);
	free(s->lasterr);
	s->lasterr = NULL;
}

static void	src_fail(struct prov *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * A failed refresh of key keeps what it gave before; the message is
 * logged once, not at every refresh while the failure lasts.
 */
static void
src_fail(struct prov *p, const char *key, const char *fmt, ...)
{
	struct source	*s = src_get(p, key);
	va_list		 ap;
	char		 m[1024];

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	if (s->lasterr != NULL && strcmp(s->lasterr, m) == 0)
		return;
	free(s->lasterr);
	s->lasterr = xstrdup(m);
	pmsg(p, "%s", m);
}

/* A refresh cut short by stopping keeps what key gave before. */
static void
src_keep(struct prov *p, const char *key)
{
	size_t	 i;

	for (i = 0; i < p->nsrcs; i++)
		if (strcmp(p->srcs[i].key, key) == 0)
			p->srcs[i].seen = 1;
}

static void
src_free(struct source *s)
{
	free(s->key);
	free(s->lasterr);
	sd_groups_release(&s->groups);
}

static void
src_end(struct prov *p)
{
	size_t	 i, k = 0;

	for (i = 0; i < p->nsrcs; i++) {
		if (p->srcs[i].seen) {
			p->srcs[k++] = p->srcs[i];
			continue;
		}
		src_free(&p->srcs[i]);
	}
	p->nsrcs = k;
}

static char *
read_all(const char *path, size_t *len, char *err, size_t errlen)
{
	struct buf	 b;
	char		 tmp[8192];
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || b.len > (size_t)MAX_BODY) {
			snprintf(err, errlen, "%s", n == -1 ? strerror(errno) :
			    "file too large");
			close(fd);
			buf_release(&b);
			return NULL;
		}
		buf_add(&b, tmp, (size_t)n);
	}
	close(fd);
	return buf_detach(&b, len);
}

/* file_sd ------------------------------------------------------------- */

static void
file_watch(struct prov *p)
{
	const struct conf_file_sd	*fs = p->cfg;
	char				*dir, *slash;
	size_t				 i;

	if (p->ifd == -1)
		return;
	for (i = 0; i < fs->nfiles; i++) {
		dir = xstrdup(fs->files[i]);
		if ((slash = strrchr(dir, '/')) == NULL) {
			free(dir);
			dir = xstrdup(".");
		} else if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		/* The folder shows renames over and re-created files. */
		inotify_add_watch(p->ifd, dir, IN_CREATE | IN_DELETE |
		    IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_MODIFY |
		    IN_DELETE_SELF | IN_MOVE_SELF);
		free(dir);
	}
}

static void
file_refresh(struct prov *p)
{
	const struct conf_file_sd	*fs = p->cfg;
	struct sd_groups		 g;
	glob_t				 gl;
	size_t				 i, j, len;
	char				*buf, err[512];
	int				 rc;

	file_watch(p);
	src_begin(p);
	for (i = 0; i < fs->nfiles; i++) {
		memset(&gl, 0, sizeof(gl));
		rc = glob(fs->files[i], GLOB_PERIOD, NULL, &gl);
		if (rc != 0 && rc != GLOB_NOMATCH)
			pmsg(p, "'%s': cannot expand the pattern",
			    fs->files[i]);
		for (j = 0; rc == 0 && j < gl.gl_pathc; j++) {
			const char *path = gl.gl_pathv[j];

			sd_groups_init(&g);
			if ((buf = read_all(path, &len, err, sizeof(err))) ==
			    NULL) {
				src_fail(p, path, "'%s': %s", path, err);
				continue;
			}
			if (sd_parse_file(buf, len, path, &g, err,
			    sizeof(err)) == -1)
				src_fail(p, path, "%s:%s%s; keeping its "
				    "previous targets", path, err[0] >= '0' &&
				    err[0] <= '9' ? "" : " ", err);
			else
				src_set(p, path, &g);
			free(buf);
		}
		globfree(&gl);
	}
	src_end(p);
	post(p);
}

/* dns_sd -------------------------------------------------------------- */

static const int dns_qtype[] = { ns_t_srv, ns_t_a, ns_t_aaaa, ns_t_mx };

/* Go's net.JoinHostPort with an integer port. */
static char *
host_port(const char *host, int port)
{
	if (strchr(host, ':') != NULL)
		return xasprintf("[%s]:%d", host, port);
	return xasprintf("%s:%d", host, port);
}

/* One name's records, as Prometheus' dns SD turns them into targets. */
static int
dns_lookup(const struct conf_dns_sd *ds, const char *name,
    struct sd_groups *out, char *err, size_t errlen)
{
	struct __res_state	 rs;
	unsigned char		 ans[65536];
	char			 host[NS_MAXDNAME], addr[INET6_ADDRSTRLEN];
	char			 port[16], *target, *dot;
	struct sd_group		*g;
	struct labelset		*t;
	ns_msg			 msg;
	ns_rr			 rr;
	const unsigned char	*rd;
	int			 n, i, type, h;

	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) == -1) {
		snprintf(err, errlen, "cannot initialise the resolver");
		return -1;
	}
	n = res_nsearch(&rs, name, ns_c_in, dns_qtype[ds->type], ans,
	    sizeof(ans));
	h = rs.res_h_errno;
	res_nclose(&rs);
	g = sd_groups_add(out);
	if (n < 0) {
		/* No such name, or no such records: an empty group. */
		if (h == HOST_NOT_FOUND || h == NO_DATA)
			return 0;
		sd_groups_release(out);
		snprintf(err, errlen, "could not resolve \"%s\": %s", name,
		    h == TRY_AGAIN ? "no answer from the servers" :
		    hstrerror(h));
		return -1;
	}
	if (n > (int)sizeof(ans))
		n = (int)sizeof(ans);
	if (ns_initparse(ans, n, &msg) == -1) {
		sd_groups_release(out);
		snprintf(err, errlen, "\"%s\": malformed DNS answer", name);
		return -1;
	}
	for (i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			break;
		type = ns_rr_type(rr);
		rd = ns_rr_rdata(rr);
		target = NULL;
		t = NULL;
		if (type == ns_t_srv && ds->type == DNS_SRV &&
		    ns_rr_rdlen(rr) > 6 && ns_name_uncompress(ns_msg_base(msg),
		    ns_msg_end(msg), rd + 6, host, sizeof(host)) != -1) {
			snprintf(port, sizeof(port), "%u",
			    (unsigned)ns_get16(rd + 4));
			t = sd_group_add_target(g);
			/* The record keeps its final dot; the address not. */
			target = xasprintf("%s.", strcmp(host, ".") == 0 ?
			    "" : host);
			labels_set(t, "__meta_dns_srv_record_target", target);
			labels_set(t, "__meta_dns_srv_record_port", port);
			if ((dot = strrchr(target, '.')) != NULL)
				*dot = '\0';
			free(target);
			target = host_port(host[0] == '.' ? "" : host,
			    ns_get16(rd + 4));
		} else if (type == ns_t_mx && ds->type == DNS_MX &&
		    ns_rr_rdlen(rr) > 2 && ns_name_uncompress(ns_msg_base(msg),
		    ns_msg_end(msg), rd + 2, host, sizeof(host)) != -1) {
			t = sd_group_add_target(g);
			target = xasprintf("%s.", strcmp(host, ".") == 0 ?
			    "" : host);
			labels_set(t, "__meta_dns_mx_record_target", target);
			free(target);
			target = host_port(host[0] == '.' ? "" : host,
			    ds->port);
		} else if (type == ns_t_a && ds->type == DNS_A &&
		    ns_rr_rdlen(rr) == 4) {
			inet_ntop(AF_INET, rd, addr, sizeof(addr));
			t = sd_group_add_target(g);
			target = host_port(addr, ds->port);
		} else if (type == ns_t_aaaa && ds->type == DNS_AAAA &&
		    ns_rr_rdlen(rr) == 16) {
			inet_ntop(AF_INET6, rd, addr, sizeof(addr));
			t = sd_group_add_target(g);
			target = host_port(addr, ds->port);
		}
		if (t == NULL)
			continue;
		labels_set(t, "__address__", target);
		labels_set(t, "__meta_dns_name", name);
		free(target);
	}
	return 0;
}

static void
dns_refresh(struct prov *p)
{
	const struct conf_dns_sd	*ds = p->cfg;
	struct sd_groups		 g;
	size_t				 i;
	char				 err[512];

	src_begin(p);
	for (i = 0; i < ds->nnames && !p->d->stopping; i++) {
		sd_groups_init(&g);
		if (dns_lookup(ds, ds->names[i], &g, err, sizeof(err)) == -1) {
			src_fail(p, ds->names[i], "%s; keeping the previous "
			    "targets", err);
			continue;
		}
		src_set(p, ds->names[i], &g);
	}
	if (p->d->stopping)
		for (; i < ds->nnames; i++)
			src_keep(p, ds->names[i]);
	src_end(p);
	post(p);
}

/* HTTP ---------------------------------------------------------------- */

struct fetch {
	struct discovery	*d;
	struct buf		 body;
	int			 toolarge;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fetch	*f = arg;
	size_t		 n = size * nmemb;

	if (f->body.len + n > (size_t)MAX_BODY) {
		f->toolarge = 1;
		return 0;
	}
	buf_add(&f->body, ptr, n);
	return n;
}

/* Stopping aborts a transfer under way. */
static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct fetch	*f = arg;

	return f->d->stopping;
}

/*
 * GET url into body.  Returns 0 on 200, -1 with a message otherwise.
 * json: also check Content-Type as Prometheus' HTTP SD does.
 */
static int
fetch(struct discovery *d, const char *url, const struct http_auth *a,
    struct curl_slist *hdrs, int64_t timeout_ms, int json, struct buf *body,
    char *err, size_t errlen)
{
	struct fetch	 f;
	CURL		*c;
	CURLcode	 cc;
	struct http_creds cr;
	char		*ct = NULL;
	long		 status = 0;
	int		 rc = -1;
	const char	*p;

	memset(&cr, 0, sizeof(cr));
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "libcurl: cannot create a handle");
		return -1;
	}
	memset(&f, 0, sizeof(f));
	f.d = d;
	buf_init(&f.body);
	if (a != NULL && http_auth_resolve(a, &cr, err, errlen) == -1)
		goto out;
	if (cr.user != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, cr.user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cr.pass);
	} else if (cr.header != NULL)
		hdrs = curl_slist_append(hdrs, cr.header);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "periskop-discover");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &f);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		if (f.toolarge)
			snprintf(err, errlen, "'%s': answer larger than %ld "
			    "bytes", url, MAX_BODY);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			snprintf(err, errlen, "'%s': timeout after %lld ms",
			    url, (long long)timeout_ms);
		else
			snprintf(err, errlen, "'%s': %s", url,
			    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(err, errlen, "'%s': server returned HTTP status %ld",
		    url, status);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	if (json) {
		/* ^(?i:application/json(;\s*charset=("utf-8"|utf-8))?)$ */
		p = ct != NULL ? ct : "";
		if (strncasecmp(p, "application/json", 16) != 0)
			goto badct;
		p += 16;
		if (*p == ';') {
			p++;
			p += strspn(p, " \t\r\n\f\v");
			if (strcasecmp(p, "charset=utf-8") != 0 &&
			    strcasecmp(p, "charset=\"utf-8\"") != 0)
				goto badct;
		} else if (*p != '\0')
			goto badct;
	}
	*body = f.body;
	buf_init(&f.body);
	rc = 0;
	goto out;
badct:
	snprintf(err, errlen, "'%s': unsupported content type \"%s\"", url,
	    ct != NULL ? ct : "");
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	buf_release(&f.body);
	http_creds_release(&cr);
	return rc;
}

/* How long one request may take: its refresh interval, within bounds. */
static int64_t
req_timeout(int64_t refresh_ms)
{
	if (refresh_ms < 1000)
		return 1000;
	return refresh_ms > 60000 ? 60000 : refresh_ms;
}

static void
http_refresh(struct prov *p)
{
	const struct conf_http_sd	*hs = p->cfg;
	struct curl_slist		*h = NULL;
	struct sd_groups		 g;
	struct buf			 body;
	char				 err[1024], hdr[128];

	snprintf(hdr, sizeof(hdr), "X-Prometheus-Refresh-Interval-Seconds: "
	    "%g", (double)hs->refresh_ms / 1000);
	h = curl_slist_append(h, hdr);
	src_begin(p);
	sd_groups_init(&g);
	if (fetch(p->d, hs->url, &hs->auth, h, req_timeout(hs->refresh_ms), 1,
	    &body, err, sizeof(err)) == -1) {
		src_fail(p, hs->url, "%s; keeping the previous targets", err);
	} else {
		if (sd_parse_http(body.p, body.len, hs->url, &g, err,
		    sizeof(err)) == -1)
			src_fail(p, hs->url, "'%s': %s; keeping the previous "
			    "targets", hs->url, err);
		else
			src_set(p, hs->url, &g);
		buf_release(&body);
	}
	src_end(p);
	post(p);
}

/* consul_sd ----------------------------------------------------------- */

static void
query_add(struct buf *q, CURL *c, const char *k, const char *v)
{
	char	*e;

	buf_addc(q, q->len == 0 ? '?' : '&');
	buf_adds(q, k);
	if (v == NULL)
		return;
	buf_addc(q, '=');
	e = curl_easy_escape(c, v, 0);
	buf_adds(q, e);
	curl_free(e);
}

static char *
consul_url(const struct conf_consul_sd *cs, const char *path,
    const char *dc, int tags)
{
	struct buf	 q;
	CURL		*c = curl_easy_init();
	char		*url, *kv;
	size_t		 i;

	buf_init(&q);
	if (dc != NULL && dc[0] != '\0')
		query_add(&q, c, "dc", dc);
	if (cs->allow_stale)
		query_add(&q, c, "stale", NULL);
	if (cs->namespace != NULL && cs->namespace[0] != '\0')
		query_add(&q, c, "ns", cs->namespace);
	if (cs->partition != NULL && cs->partition[0] != '\0')
		query_add(&q, c, "partition", cs->partition);
	for (i = 0; i < cs->node_meta.n; i++) {
		kv = xasprintf("%s:%s", cs->node_meta.v[i].name,
		    cs->node_meta.v[i].value);
		query_add(&q, c, "node-meta", kv);
		free(kv);
	}
	for (i = 0; tags && i < cs->ntags; i++)
		query_add(&q, c, "tag", cs->tags[i]);
	url = xasprintf("%s://%s%s%s%s", cs->scheme, cs->server,
	    cs->path_prefix, path, q.p);
	buf_release(&q);
	curl_easy_cleanup(c);
	return url;
}

static int
consul_get(struct prov *p, const char *url, struct buf *body, char *err,
    size_t errlen)
{
	const struct conf_consul_sd	*cs = p->cfg;
	struct curl_slist		*h = NULL;
	char				*tok;

	if (cs->token != NULL && cs->token[0] != '\0') {
		tok = xasprintf("X-Consul-Token: %s", cs->token);
		h = curl_slist_append(h, tok);
		free(tok);
	}
	return fetch(p->d, url, &cs->auth, h, req_timeout(cs->refresh_ms), 0,
	    body, err, errlen);
}

static void
consul_refresh(struct prov *p)
{
	const struct conf_consul_sd	*cs = p->cfg;
	struct sd_groups		 g;
	struct buf			 body;
	char				 err[1024], **names = NULL;
	char				*url, *esc;
	const char			*dc = cs->datacenter;
	size_t				 n = 0, i;
	CURL				*c;

	if (dc == NULL || dc[0] == '\0') {
		if (p->dc == NULL) {
			url = consul_url(cs, "/v1/agent/self", NULL, 0);
			if (consul_get(p, url, &body, err, sizeof(err)) == 0) {
				if (sd_consul_datacenter(body.p, body.len,
				    &p->dc, err, sizeof(err)) == -1)
					pmsg(p, "'%s': %s", url, err);
				buf_release(&body);
			} else
				pmsg(p, "%s", err);
			free(url);
		}
		if ((dc = p->dc) == NULL)
			goto out;
	}
	if (cs->nservices > 0 && cs->ntags == 0) {
		names = xcalloc(cs->nservices, sizeof(*names));
		for (n = 0; n < cs->nservices; n++)
			names[n] = xstrdup(cs->services[n]);
	} else {
		url = consul_url(cs, "/v1/catalog/services", dc, 0);
		if (consul_get(p, url, &body, err, sizeof(err)) == -1) {
			pmsg(p, "%s; keeping the previous targets", err);
			free(url);
			goto out;
		}
		if (sd_consul_services(body.p, body.len, cs, &names, &n, err,
		    sizeof(err)) == -1) {
			pmsg(p, "'%s': %s; keeping the previous targets", url,
			    err);
			free(url);
			buf_release(&body);
			goto out;
		}
		free(url);
		buf_release(&body);
	}
	src_begin(p);
	c = curl_easy_init();
	for (i = 0; i < n; i++) {
		char *path;

		esc = curl_easy_escape(c, names[i], 0);
		path = xasprintf("/v1/health/service/%s", esc);
		curl_free(esc);
		url = consul_url(cs, path, dc, 1);
		free(path);
		sd_groups_init(&g);
		if (consul_get(p, url, &body, err, sizeof(err)) == -1) {
			src_fail(p, names[i], "%s; keeping the previous "
			    "targets", err);
		} else {
			if (sd_consul_health(body.p, body.len, names[i], dc,
			    cs, &g, err, sizeof(err)) == -1)
				src_fail(p, names[i], "'%s': %s", url, err);
			else
				src_set(p, names[i], &g);
			buf_release(&body);
		}
		free(url);
	}
	curl_easy_cleanup(c);
	src_end(p);
out:
	sd_strv_free(names, n);
	post(p);
}

/* kubernetes_sd ------------------------------------------------------- */

static char *
k8s_url(const struct conf_k8s_sd *ks, const char *ns, const char *res)
{
	const char	*base = ks->api_server;
	size_t		 bl = strlen(base);

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (ns[0] == '\0')
		return xasprintf("%.*s/api/v1/%s", (int)bl, base, res);
	return xasprintf("%.*s/api/v1/namespaces/%s/%s", (int)bl, base, ns,
	    res);
}

static int
k8s_get(struct prov *p, const char *ns, const char *res, struct buf *body,
    char *err, size_t errlen)
{
	const struct conf_k8s_sd	*ks = p->cfg;
	char				*url = k8s_url(ks, ns, res);
	int				 rc;

	rc = fetch(p->d, url, &ks->auth, NULL, req_timeout(ks->refresh_ms), 0,
	    body, err, errlen);
	free(url);
	return rc;
}

static void
k8s_refresh(struct prov *p)
{
	static const char *const res[] = { "endpoints", "pods", "services" };
	const struct conf_k8s_sd	*ks = p->cfg;
	struct sd_groups		 g;
	struct buf			 lst, svcs, pods;
	size_t				 i, nns = ks->nnamespaces;
	const char			*ns;
	char				 err[1024];
	int				 hl, hs, hp;

	src_begin(p);
	for (i = 0; i < (nns ? nns : 1); i++) {
		ns = nns ? ks->namespaces[i] : "";
		hs = hp = 0;
		hl = k8s_get(p, ns, res[ks->role], &lst, err,
		    sizeof(err)) == 0;
		/* Endpoints take labels from their service and pods. */
		if (hl && ks->role == K8S_ENDPOINTS)
			hs = k8s_get(p, ns, "services", &svcs, err,
			    sizeof(err)) == 0;
		if (hs)
			hp = k8s_get(p, ns, "pods", &pods, err,
			    sizeof(err)) == 0;
		sd_groups_init(&g);
		if (!hl || (ks->role == K8S_ENDPOINTS && !hp))
			src_fail(p, ns, "%s; keeping the previous targets",
			    err);
		else if (sd_k8s_groups(ks->role, lst.p, lst.len,
		    hs ? svcs.p : NULL, hs ? svcs.len : 0, hp ? pods.p : NULL,
		    hp ? pods.len : 0, &g, err, sizeof(err)) == -1)
			src_fail(p, ns, "namespace \"%s\": %s; keeping the "
			    "previous targets", ns, err);
		else
			src_set(p, ns, &g);
		if (hl)
			buf_release(&lst);
		if (hs)
			buf_release(&svcs);
		if (hp)
			buf_release(&pods);
	}
	src_end(p);
	post(p);
}

/* The threads --------------------------------------------------------- */

static int64_t
prov_refresh_ms(const struct prov *p)
{
	switch (p->kind) {
	case M_FILE:
		return ((const struct conf_file_sd *)p->cfg)->refresh_ms;
	case M_DNS:
		return ((const struct conf_dns_sd *)p->cfg)->refresh_ms;
	case M_HTTP:
		return ((const struct conf_http_sd *)p->cfg)->refresh_ms;
	case M_CONSUL:
		return ((const struct conf_consul_sd *)p->cfg)->refresh_ms;
	case M_K8S:
		return ((const struct conf_k8s_sd *)p->cfg)->refresh_ms;
	default:
		return 0;
	}
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Reads the pending inotify events: 1 when one concerns a file the
 * patterns match (or the queue overflowed), so other files written in
 * the same folders, logs say, do not cause refreshes.
 */
static int
file_events(struct prov *p)
{
	const struct conf_file_sd	*fs = p->cfg;
	const struct inotify_event	*ev;
	char				 b[8192]
					    __attribute__((aligned(8)));
	const char			*base;
	ssize_t				 n, off;
	size_t				 i;
	int				 hit = 0, first = 1;

	for (;;) {
		if ((n = read(p->ifd, b, sizeof(b))) <= 0) {
			if (!hit || !first)
				return hit;
			/* Let a burst of events settle, then read it all. */
			poll(NULL, 0, 50);
			first = 0;
			continue;
		}
		for (off = 0; off + (ssize_t)sizeof(*ev) <= n;
		    off += (ssize_t)sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(b + off);
			if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF |
			    IN_MOVE_SELF | IN_IGNORED) || ev->len == 0) {
				hit = 1;
				continue;
			}
			for (i = 0; i < fs->nfiles; i++) {
				base = strrchr(fs->files[i], '/');
				base = base != NULL ? base + 1 : fs->files[i];
				if (fnmatch(base, ev->name, 0) == 0)
					hit = 1;
			}
		}
	}
}

/*
 * Sleeps until the next refresh is due, a watched folder changes (file
 * SD) or the discovery stops.  Returns 0 to refresh, -1 to stop.
 */
static int
prov_sleep(struct prov *p, int64_t due)
{
	struct pollfd	 pfd[2];
	int64_t		 left;
	int		 n;

	for (;;) {
		left = due - now_ms();
		if (left <= 0)
			return 0;
		pfd[0].fd = p->d->stop_r;
		pfd[0].events = POLLIN;
		pfd[1].fd = p->ifd;
		pfd[1].events = POLLIN;
		n = poll(pfd, p->ifd != -1 ? 2 : 1, left > 60000 ? 60000 :
		    (int)left);
		if (p->d->stopping || (n > 0 && pfd[0].revents != 0))
			return -1;
		if (n > 0 && p->ifd != -1 && pfd[1].revents != 0 &&
		    file_events(p))
			return 0;
	}
}

static void *
prov_main(void *arg)
{
	struct prov	*p = arg;
	int64_t		 due;

	for (;;) {
		due = now_ms() + prov_refresh_ms(p);
		switch (p->kind) {
		case M_FILE:
			file_refresh(p);
			break;
		case M_DNS:
			dns_refresh(p);
			break;
		case M_HTTP:
			http_refresh(p);
			break;
		case M_CONSUL:
			consul_refresh(p);
			break;
		case M_K8S:
			k8s_refresh(p);
			break;
		default:
			break;
		}
		if (p->d->once || p->d->stopping || prov_sleep(p, due) == -1)
			break;
	}
	return NULL;
}

/* The static configs as Prometheus' groups: one per entry. */
static void
static_groups(const struct conf_service *svc, struct sd_groups *out)
{
	const struct conf_static	*sc;
	struct sd_group			*g;
	size_t				 i, j;

	sd_groups_init(out);
	for (i = 0; i < svc->nstatic_configs; i++) {
		sc = &svc->static_configs[i];
		g = sd_groups_add(out);
		labels_copy(&g->labels, &sc->labels);
		for (j = 0; j < sc->ntargets; j++)
			labels_set(sd_group_add_target(g), "__address__",
			    sc->targets[j]);
	}
}

static void
add_prov(struct discovery *d, size_t svc, enum mech kind, const void *cfg)
{
	struct prov	*p = &d->provs[d->nprovs++];

	memset(p, 0, sizeof(*p));
	p->d = d;
	p->svc = svc;
	p->kind = kind;
	p->cfg = cfg;
	p->ifd = -1;
	sd_groups_init(&p->groups);
	if (kind == M_STATIC) {
		static_groups(d->svcs[svc].svc, &p->groups);
		p->reported = 1;
	}
}

/* Compiles rules; on failure, names the first entry that fails alone. */
static struct relabel_rules *
compile(const struct conf *conf, const struct conf_service *svc, char *err,
    size_t errlen)
{
	struct relabel_rules	*r;
	struct conf_pos		 pos = svc->pos;
	char			 e[512], e1[512];
	size_t			 k;

	if ((r = relabel_compile(svc->relabel_configs, svc->nrelabel_configs,
	    e, sizeof(e))) != NULL)
		return r;
	for (k = 0; k < svc->nrelabel_configs; k++) {
		if ((r = relabel_compile(&svc->relabel_configs[k], 1, e1,
		    sizeof(e1))) == NULL) {
			pos = svc->relabel_configs[k].pos;
			break;
		}
		relabel_rules_free(r);
	}
	snprintf(err, errlen, "%s:%d:%d: %s", conf->path, pos.line, pos.col,
	    e);
	return NULL;
}

struct discovery *
discovery_new(const struct conf *conf, char *err, size_t errlen)
{
	const struct conf_service	*svc;
	struct discovery		*d;
	size_t				 i, j, n = 0;

	d = xcalloc(1, sizeof(*d));
	d->conf = conf;
	d->stop_r = d->stop_w = d->wakefd = -1;
	pthread_mutex_init(&d->mu, NULL);
	d->svcs = xcalloc(conf->nservices + 1, sizeof(*d->svcs));
	for (i = 0; i < conf->nservices; i++) {
		svc = &conf->services[i];
		n += 1 + svc->nfile_sd_configs + svc->ndns_sd_configs +
		    svc->nhttp_sd_configs + svc->nconsul_sd_configs +
		    svc->nkubernetes_sd_configs;
	}
	d->provs = xcalloc(n + 1, sizeof(*d->provs));
	for (i = 0; i < conf->nservices; i++) {
		svc = &conf->services[i];
		d->svcs[i].svc = svc;
		d->nsvcs++;
		if ((d->svcs[i].rules = compile(conf, svc, err,
		    errlen)) == NULL) {
			discovery_free(d);
			return NULL;
		}
		add_prov(d, i, M_STATIC, NULL);
		for (j = 0; j < svc->nfile_sd_configs; j++)
			add_prov(d, i, M_FILE, &svc->file_sd_configs[j]);
		for (j = 0; j < svc->ndns_sd_configs; j++)
			add_prov(d, i, M_DNS, &svc->dns_sd_configs[j]);
		for (j = 0; j < svc->nhttp_sd_configs; j++)
			add_prov(d, i, M_HTTP, &svc->http_sd_configs[j]);
		for (j = 0; j < svc->nconsul_sd_configs; j++)
			add_prov(d, i, M_CONSUL, &svc->consul_sd_configs[j]);
		for (j = 0; j < svc->nkubernetes_sd_configs; j++)
			add_prov(d, i, M_K8S, &svc->kubernetes_sd_configs[j]);
		d->svcs[i].dirty = 1;
	}
	return d;
}

int
discovery_start(struct discovery *d, int once, int wakefd, char *err,
    size_t errlen)
{
	static pthread_mutex_t	 init_mu = PTHREAD_MUTEX_INITIALIZER;
	static int		 curl_ready;
	struct prov		*p;
	int			 fds[2];
	size_t			 i;

	pthread_mutex_lock(&init_mu);
	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		curl_ready = 1;
	pthread_mutex_unlock(&init_mu);
	if (!curl_ready) {
		snprintf(err, errlen, "libcurl: cannot initialise");
		return -1;
	}
	if (pipe2(fds, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	d->stop_r = fds[0];
	d->stop_w = fds[1];
	d->once = once;
	d->wakefd = wakefd;
	for (i = 0; i < d->nprovs; i++) {
		p = &d->provs[i];
		if (p->kind == M_STATIC)
			continue;
		if (p->kind == M_FILE && !once)
			p->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if ((errno = pthread_create(&p->thread, NULL, prov_main,
		    p)) != 0) {
			snprintf(err, errlen, "cannot start a thread: %s",
			    strerror(errno));
			return -1;
		}
		p->started = 1;
	}
	return 0;
}

void
discovery_wait(struct discovery *d)
{
	size_t	 i;

	for (i = 0; i < d->nprovs; i++)
		if (d->provs[i].started) {
			pthread_join(d->provs[i].thread, NULL);
			d->provs[i].started = 0;
		}
}

void
discovery_free(struct discovery *d)
{
	struct prov	*p;
	size_t		 i, j;

	if (d == NULL)
		return;
	d->stopping = 1;
	if (d->stop_w != -1)
		close(d->stop_w);
	discovery_wait(d);
	if (d->stop_r != -1)
		close(d->stop_r);
	for (i = 0; i < d->nprovs; i++) {
		p = &d->provs[i];
		sd_groups_release(&p->groups);
		for (j = 0; j < p->nsrcs; j++)
			src_free(&p->srcs[j]);
		free(p->srcs);
		free(p->dc);
		if (p->ifd != -1)
			close(p->ifd);
	}
	for (i = 0; i < d->nsvcs; i++)
		relabel_rules_free(d->svcs[i].rules);
	for (i = 0; i < d->nmsgs; i++)
		free(d->msgs[i]);
	free(d->msgs);
	free(d->provs);
	free(d->svcs);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

size_t
discovery_nservices(const struct discovery *d)
{
	return d->nsvcs;
}

char *
discovery_message(struct discovery *d)
{
	char	*m = NULL;

	pthread_mutex_lock(&d->mu);
	if (d->nmsgs > 0) {
		m = d->msgs[0];
		memmove(d->msgs, d->msgs + 1, (d->nmsgs - 1) *
		    sizeof(*d->msgs));
		d->nmsgs--;
	}
	pthread_mutex_unlock(&d->mu);
	return m;
}

static void
take_warn(void *arg, const char *m)
{
	struct discovery	*d = arg;

	pthread_mutex_lock(&d->mu);
	if (d->nmsgs < MAX_MSGS) {
		d->msgs = xreallocarray(d->msgs, d->nmsgs + 1,
		    sizeof(*d->msgs));
		d->msgs[d->nmsgs++] = xstrdup(m);
	}
	pthread_mutex_unlock(&d->mu);
}

int
discovery_take(struct discovery *d, size_t i, int force,
    struct targets_rec *out)
{
	struct dsvc		*s = &d->svcs[i];
	struct sd_groups	 all, tmp;
	struct labelset		*found;
	size_t			 j, n;
	int			 ready = 1;

	pthread_mutex_lock(&d->mu);
	for (j = 0; j < d->nprovs; j++)
		if (d->provs[j].svc == i && !d->provs[j].reported)
			ready = 0;
	if (!ready || (!s->dirty && !force)) {
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	s->dirty = 0;
	sd_groups_init(&all);
	for (j = 0; j < d->nprovs; j++) {
		if (d->provs[j].svc != i)
			continue;
		sd_groups_copy(&tmp, &d->provs[j].groups);
		sd_groups_move(&all, &tmp);
	}
	pthread_mutex_unlock(&d->mu);
	sd_groups_flatten(&all, &found, &n);
	sd_groups_release(&all);
	discover_build(s->svc, s->rules, found, n, out, take_warn, d);
	for (j = 0; j < n; j++)
		labels_release(&found[j]);
	free(found);
	return 1;
}

/* Targets with their discovery order, so sorting keeps the first of equals. */
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
	if ((c = strcmp(x->t.url, y->t.url)) != 0)
		return c;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static char *
dupnull(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* The scraper's auth and TLS settings, which the targets line carries. */
static void
discover_settings(const struct conf_service *svc, struct targets_rec *out)
{
	const struct http_auth *a = &svc->scraper.auth;
	const struct conf_tls *t = &svc->scraper.tls;

	out->auth.username = dupnull(a->username);
	out->auth.password = dupnull(a->password);
	out->auth.password_file = dupnull(a->password_file);
	out->auth.type = dupnull(a->type);
	out->auth.credentials = dupnull(a->credentials);
	out->auth.credentials_file = dupnull(a->credentials_file);
	out->tls.ca_file = dupnull(t->ca_file);
	out->tls.cert_file = dupnull(t->cert_file);
	out->tls.key_file = dupnull(t->key_file);
	out->tls.server_name = dupnull(t->server_name);
	out->tls.insecure_skip_verify = t->insecure_skip_verify;
}

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

void
discover_build(const struct conf_service *svc,
    const struct relabel_rules *rules, const struct labelset *found,
    size_t nfound, struct targets_rec *out,
    void (*warn)(void *, const char *), void *arg)
{
	struct ranked	*r;
	size_t		 i, n = 0, k;
	char		 err[512], *m;
	int		 rc;

	memset(out, 0, sizeof(*out));
	out->service = xstrdup(svc->name);
	out->endpoint = xstrdup(svc->scraper.endpoint);
	out->interval_ms = svc->scraper.interval_ms;
	out->timeout_ms = svc->scraper.timeout_ms;
	discover_settings(svc, out);
	r = xcalloc(nfound ? nfound : 1, sizeof(*r));
	for (i = 0; i < nfound; i++) {
		memset(&r[n].t, 0, sizeof(r[n].t));
		rc = relabel_target(rules, svc, &found[i], &r[n].t, err,
		    sizeof(err));
		if (rc == 1) {
			r[n].rank = n;
			n++;
		} else if (rc == -1 && warn != NULL) {
			m = xasprintf("service \"%s\": target \"%s\": %s",
			    svc->name, labels_get(&found[i], "__address__") ?
			    labels_get(&found[i], "__address__") : "", err);
			warn(arg, m);
			free(m);
		}
	}
	if (n > 1)
		qsort(r, n, sizeof(*r), ranked_cmp);
	/* One target per URL: the first one discovered. */
	out->targets = xcalloc(n ? n : 1, sizeof(*out->targets));
	for (i = 0, k = 0; i < n; i++) {
		if (k > 0 && strcmp(r[i].t.url,
		    out->targets[k - 1].url) == 0) {
			free(r[i].t.address);
			free(r[i].t.url);
			labels_release(&r[i].t.labels);
			continue;
		}
		out->targets[k++] = r[i].t;
	}
	out->ntargets = k;
	free(r);
}

int
discover_service(const struct conf_service *svc, struct targets_rec *out,
    char *err, size_t errlen)
{
	struct relabel_rules	*rules;
	struct sd_groups	 g;
	struct labelset		*found;
	const char		*other = NULL;
	size_t			 i, n;

	memset(out, 0, sizeof(*out));
	if (svc->nfile_sd_configs)
		other = mech_name[M_FILE];
	else if (svc->ndns_sd_configs)
		other = mech_name[M_DNS];
	else if (svc->nhttp_sd_configs)
		other = mech_name[M_HTTP];
	else if (svc->nconsul_sd_configs)
		other = mech_name[M_CONSUL];
	else if (svc->nkubernetes_sd_configs)
		other = mech_name[M_K8S];
	if (other != NULL) {
		snprintf(err, errlen, "service \"%s\": %s need the discovery "
		    "engine (discovery_new)", svc->name, other);
		return -1;
	}
	if ((rules = relabel_compile(svc->relabel_configs,
	    svc->nrelabel_configs, err, errlen)) == NULL)
		return -1;
	static_groups(svc, &g);
	sd_groups_flatten(&g, &found, &n);
	sd_groups_release(&g);
	discover_build(svc, rules, found, n, out, NULL, NULL);
	for (i = 0; i < n; i++)
		labels_release(&found[i]);
	free(found);
	relabel_rules_free(rules);
	return 0;
}

int
discover_same(const struct targets_rec *a, const struct targets_rec *b)
{
	size_t i;

	if (a->ntargets != b->ntargets || a->interval_ms != b->interval_ms ||
	    a->timeout_ms != b->timeout_ms ||
	    strcmp(a->endpoint, b->endpoint) != 0 ||
	    !same_str(a->auth.username, b->auth.username) ||
	    !same_str(a->auth.password, b->auth.password) ||
	    !same_str(a->auth.password_file, b->auth.password_file) ||
	    !same_str(a->auth.type, b->auth.type) ||
	    !same_str(a->auth.credentials, b->auth.credentials) ||
	    !same_str(a->auth.credentials_file, b->auth.credentials_file) ||
	    !same_str(a->tls.ca_file, b->tls.ca_file) ||
	    !same_str(a->tls.cert_file, b->tls.cert_file) ||
	    !same_str(a->tls.key_file, b->tls.key_file) ||
	    !same_str(a->tls.server_name, b->tls.server_name) ||
	    a->tls.insecure_skip_verify != b->tls.insecure_skip_verify)
		return 0;
	for (i = 0; i < a->ntargets; i++)
		if (strcmp(a->targets[i].url, b->targets[i].url) != 0 ||
		    strcmp(a->targets[i].address,
		    b->targets[i].address) != 0 ||
		    !labels_equal(&a->targets[i].labels, &b->targets[i].labels))
			return 0;
	return 1;
}
