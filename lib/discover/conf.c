/* SPDX-License-Identifier: Apache-2.0 */
/* Reading periskop.yaml: YAML events into a small tree, then struct conf. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "conf.h"
#include "mysql_dsn.h"
#include "duration.h"
#include "labels.h"
#include "xalloc.h"
#include "yamltree.h"

/* Deeper than any real config, shallow enough that recursion is safe. */
#define MAX_DEPTH	64

struct ctx {
	const char	*name;
	const char	*dir;		/* the config's folder */
	char		*err;
	size_t		 errlen;
};

static int	cerr(struct ctx *, struct conf_pos, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static char	*join_dir(const struct ctx *, const char *);

static int
cerr(struct ctx *c, struct conf_pos pos, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (c->err == NULL || c->errlen == 0)
		return -1;
	n = snprintf(c->err, c->errlen, "%s:%d:%d: ", c->name, pos.line,
	    pos.col);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static const char *
tname(enum ytype t)
{
	switch (t) {
	case Y_NULL:
		return "null";
	case Y_STR:
		return "a string";
	case Y_SEQ:
		return "a list";
	default:
		return "a mapping";
	}
}

static const char *
nstr(const struct ynode *n)
{
	return n->s != NULL ? n->s : "";
}

static const struct ynode *
map_get(const struct ynode *m, const char *key)
{
	size_t	 i;

	for (i = 0; i + 1 < m->n; i += 2)
		if (strcmp(nstr(&m->kids[i]), key) == 0)
			return &m->kids[i + 1];
	return NULL;
}

static int
cmp_key(const void *a, const void *b)
{
	const struct ynode *const *x = a, *const *y = b;
	int	 r;

	if ((r = strcmp(nstr(*x), nstr(*y))) != 0)
		return r;
	return *x < *y ? -1 : *x > *y;
}

/* Sorting finds repeated keys in n log n even in a huge mapping. */
static int
check_dups(struct ctx *c, const struct ynode *m, const char *where)
{
	const struct ynode	**k;
	size_t			  i, nk = m->n / 2;
	int			  rc = 0;

	if (nk < 2)
		return 0;
	k = xreallocarray(NULL, nk, sizeof(*k));
	for (i = 0; i < nk; i++)
		k[i] = &m->kids[2 * i];
	qsort(k, nk, sizeof(*k), cmp_key);
	for (i = 1; i < nk; i++)
		if (strcmp(nstr(k[i - 1]), nstr(k[i])) == 0) {
			rc = cerr(c, k[i]->pos, "duplicate key \"%s\" %s "
			    "(first at %d:%d)", nstr(k[i]), where,
			    k[i - 1]->pos.line, k[i - 1]->pos.col);
			break;
		}
	free(k);
	return rc;
}

/* Every key must be one of keys (NULL-terminated), each at most once. */
static int
check_map(struct ctx *c, const struct ynode *m, const char *where,
    const char *const *keys)
{
	const char *const	*k;
	size_t			 i;

	for (i = 0; i + 1 < m->n; i += 2) {
		for (k = keys; *k != NULL; k++)
			if (strcmp(*k, nstr(&m->kids[i])) == 0)
				break;
		if (*k == NULL)
			return cerr(c, m->kids[i].pos, "unknown key \"%s\" %s",
			    nstr(&m->kids[i]), where);
	}
	return check_dups(c, m, where);
}

static int
want(struct ctx *c, const struct ynode *n, enum ytype t, const char *key,
    const char *where)
{
	if (n->type == t)
		return 0;
	return cerr(c, n->pos, "\"%s\" %s must be %s, not %s", key, where,
	    tname(t), tname(n->type));
}

/* An explicit null is the empty string, as Go's yaml.v2 decoded it. */
static int
get_str(struct ctx *c, const struct ynode *m, const char *key,
    const char *where, char **out)
{
	const struct ynode	*n;

	if ((n = map_get(m, key)) == NULL)
		return 0;
	if (n->type != Y_NULL && want(c, n, Y_STR, key, where) == -1)
		return -1;
	free(*out);
	*out = xstrdup(nstr(n));
	return 0;
}

/* An explicit null keeps the default. */
static int
get_dur(struct ctx *c, const struct ynode *m, const char *key,
    const char *where, int64_t *out)
{
	const struct ynode	*n;
	char			 derr[256];
	int64_t			 ms;

	if ((n = map_get(m, key)) == NULL || n->type == Y_NULL)
		return 0;
	if (want(c, n, Y_STR, key, where) == -1)
		return -1;
	if (duration_parse(n->s, &ms, derr, sizeof(derr)) == -1)
		return cerr(c, n->pos, "\"%s\" %s: %s", key, where, derr);
	if (ms <= 0)
		return cerr(c, n->pos, "\"%s\" %s must be greater than 0",
		    key, where);
	*out = ms;
	return 0;
}

static int
get_uint(struct ctx *c, const struct ynode *m, const char *key,
    const char *where, uint64_t max, uint64_t *out, int *present)
{
	const struct ynode	*n;
	const char		*p;
	uint64_t		 v = 0;

	if ((n = map_get(m, key)) == NULL || n->type == Y_NULL)
		return 0;
	if (want(c, n, Y_STR, key, where) == -1)
		return -1;
	p = n->s;
	if (*p == '+')
		p++;
	if (*p == '\0')
		goto bad;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return cerr(c, n->pos, "\"%s\" %s is out of range: %s",
			    key, where, n->s);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	if (present != NULL)
		*present = 1;
	return 0;
bad:
	return cerr(c, n->pos, "\"%s\" %s must be an unsigned integer, "
	    "not \"%s\"", key, where, n->s);
}

static void
strv_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * A list of strings; null is an empty list.  *pos_out, when not NULL,
 * receives the items' nodes for messages about one of them.
 */
static int
get_strlist(struct ctx *c, const struct ynode *m, const char *key,
    const char *where, char ***out, size_t *nout, const struct ynode **items)
{
	const struct ynode	*n;
	size_t			 i;

	if (items != NULL)
		*items = NULL;
	if ((n = map_get(m, key)) == NULL || n->type == Y_NULL)
		return 0;
	if (want(c, n, Y_SEQ, key, where) == -1)
		return -1;
	for (i = 0; i < n->n; i++)
		if (n->kids[i].type != Y_STR && n->kids[i].type != Y_NULL)
			return cerr(c, n->kids[i].pos, "items of \"%s\" %s "
			    "must be strings, not %s", key, where,
			    tname(n->kids[i].type));
	strv_free(*out, *nout);
	*out = xcalloc(n->n ? n->n : 1, sizeof(**out));
	for (i = 0; i < n->n; i++)
		(*out)[i] = xstrdup(nstr(&n->kids[i]));
	*nout = n->n;
	if (items != NULL)
		*items = n->kids;
	return 0;
}

/* A list of mappings; a single mapping is a list of one, as yaml.v2 allowed. */
static int
get_maps(struct ctx *c, const struct ynode *m, const char *key,
    const char *where, const struct ynode **items, size_t *n)
{
	const struct ynode	*v;
	size_t			 i;

	*items = NULL;
	*n = 0;
	if ((v = map_get(m, key)) == NULL || v->type == Y_NULL)
		return 0;
	if (v->type == Y_MAP) {
		*items = v;
		*n = 1;
		return 0;
	}
	if (want(c, v, Y_SEQ, key, where) == -1)
		return -1;
	for (i = 0; i < v->n; i++)
		if (v->kids[i].type != Y_MAP)
			return cerr(c, v->kids[i].pos, "items of \"%s\" %s "
			    "must be mappings, not %s", key, where,
			    tname(v->kids[i].type));
	*items = v->kids;
	*n = v->n;
	return 0;
}

static int
is_word(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_';
}

/*
 * What Prometheus 2.42 accepts as the target_label of replace, lowercase,
 * uppercase, keepequal and dropequal, and as a labelmap replacement: a
 * label name in which $1, $name and ${name} references may stand for
 * parts (its relabelTarget expression).
 */
static int
valid_relabel_target(const char *s)
{
	const char	*p = s;

	if (*p == '\0')
		return 0;
	if (*p != '$' && !((*p >= 'a' && *p <= 'z') ||
	    (*p >= 'A' && *p <= 'Z') || *p == '_'))
		return 0;
	while (*p != '\0') {
		if (*p != '$') {
			if (!is_word(*p))
				return 0;
			p++;
			continue;
		}
		p++;
		if (*p == '{') {
			p++;
			if (!is_word(*p))
				return 0;
			while (is_word(*p))
				p++;
			if (*p != '}')
				return 0;
			p++;
		} else {
			if (!is_word(*p))
				return 0;
			while (is_word(*p))
				p++;
		}
	}
	return 1;
}

static int
parse_labels(struct ctx *c, const struct ynode *m, struct labelset *ls)
{
	const struct ynode	*n, *v;
	size_t			 i;

	if ((n = map_get(m, "labels")) == NULL || n->type == Y_NULL)
		return 0;
	if (want(c, n, Y_MAP, "labels", "in static_configs") == -1)
		return -1;
	if (check_dups(c, n, "in labels") == -1)
		return -1;
	for (i = 0; i + 1 < n->n; i += 2) {
		v = &n->kids[i + 1];
		if (!labels_valid_name(nstr(&n->kids[i])))
			return cerr(c, n->kids[i].pos, "\"%s\" is not a valid "
			    "label name", nstr(&n->kids[i]));
		if (v->type != Y_STR && v->type != Y_NULL)
			return cerr(c, v->pos, "label \"%s\" must be a string, "
			    "not %s", nstr(&n->kids[i]), tname(v->type));
		labels_set(ls, nstr(&n->kids[i]), nstr(v));
	}
	return 0;
}

static int
parse_static(struct ctx *c, const struct ynode *m, struct conf_static *sc)
{
	static const char *const keys[] = { "targets", "labels", NULL };
	const char		*w = "in static_configs";
	const struct ynode	*items;
	size_t			 i;

	sc->pos = m->pos;
	labels_init(&sc->labels);
	if (check_map(c, m, w, keys) == -1 ||
	    get_strlist(c, m, "targets", w, &sc->targets, &sc->ntargets,
	    &items) == -1)
		return -1;
	for (i = 0; i < sc->ntargets; i++) {
		if (sc->targets[i][0] == '\0')
			return cerr(c, items[i].pos, "empty target");
		if (strchr(sc->targets[i], '/') != NULL)
			return cerr(c, items[i].pos, "\"%s\" is not a valid "
			    "hostname", sc->targets[i]);
	}
	return parse_labels(c, m, &sc->labels);
}

/*
 * Prometheus' rule: a known extension, and '*' only in the last path
 * element.
 */
static int
valid_sd_file(const char *s)
{
	static const char *const ext[] = { ".json", ".yml", ".yaml",
	    ".JSON", ".YML", ".YAML" };
	const char	*star = strchr(s, '*');
	size_t		 i, len = strlen(s), el;

	if (star != NULL && strchr(star, '/') != NULL)
		return 0;
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		el = strlen(ext[i]);
		if (len >= el && strcmp(s + len - el, ext[i]) == 0)
			return star == NULL || star < s + len - el;
	}
	return 0;
}

static int
parse_file_sd(struct ctx *c, const struct ynode *m, struct conf_file_sd *fs)
{
	static const char *const keys[] = { "files", "refresh_interval",
	    NULL };
	const char		*w = "in file_sd_configs";
	const struct ynode	*items;
	char			*joined;
	size_t			 i;

	fs->pos = m->pos;
	fs->refresh_ms = 5 * 60 * 1000;
	if (check_map(c, m, w, keys) == -1 ||
	    get_strlist(c, m, "files", w, &fs->files, &fs->nfiles,
	    &items) == -1 ||
	    get_dur(c, m, "refresh_interval", w, &fs->refresh_ms) == -1)
		return -1;
	if (fs->nfiles == 0)
		return cerr(c, m->pos, "file service discovery config must "
		    "contain at least one path name");
	for (i = 0; i < fs->nfiles; i++) {
		if (!valid_sd_file(fs->files[i]))
			return cerr(c, items[i].pos, "path name \"%s\" is not "
			    "valid for file discovery", fs->files[i]);
		joined = join_dir(c, fs->files[i]);
		free(fs->files[i]);
		fs->files[i] = joined;
	}
	return 0;
}

static int
parse_dns_sd(struct ctx *c, const struct ynode *m, struct conf_dns_sd *ds)
{
	static const char *const keys[] = { "names", "type", "port",
	    "refresh_interval", NULL };
	static const char *const types[] = { "SRV", "A", "AAAA", "MX" };
	const char		*w = "in dns_sd_configs";
	const struct ynode	*n;
	char			*type = NULL;
	uint64_t		 port = 0;
	size_t			 i;
	int			 have_port = 0;

	ds->pos = m->pos;
	ds->type = DNS_SRV;
	ds->refresh_ms = 30 * 1000;
	if (check_map(c, m, w, keys) == -1 ||
	    get_strlist(c, m, "names", w, &ds->names, &ds->nnames,
	    NULL) == -1 ||
	    get_dur(c, m, "refresh_interval", w, &ds->refresh_ms) == -1 ||
	    get_uint(c, m, "port", w, UINT64_MAX, &port, &have_port) == -1)
		return -1;
	if (have_port && (port < 1 || port > 65535))
		return cerr(c, map_get(m, "port")->pos, "invalid port %llu: "
		    "must be between 1 and 65535", (unsigned long long)port);
	ds->port = (int)port;
	if (ds->nnames == 0)
		return cerr(c, m->pos, "DNS-SD config must contain at least "
		    "one SRV record name");
	if ((n = map_get(m, "type")) != NULL && n->type != Y_NULL) {
		if (get_str(c, m, "type", w, &type) == -1)
			return -1;
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(type, types[i]) == 0)
				break;
		if (i == sizeof(types) / sizeof(types[0])) {
			cerr(c, n->pos, "invalid DNS-SD records type %s",
			    type);
			free(type);
			return -1;
		}
		free(type);
		ds->type = (enum dns_type)i;
	}
	if (ds->type != DNS_SRV && ds->port == 0)
		return cerr(c, m->pos, "a port is required in DNS-SD configs "
		    "for all record types except SRV");
	return 0;
}

/* YAML 1.1 booleans, as Go's yaml.v2 reads them. */
static int
get_bool(struct ctx *c, const struct ynode *m, const char *key,
    const char *where, int *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes",
	    "Yes", "YES", "on", "On", "ON", "y", "Y", NULL };
	static const char *const no[] = { "false", "False", "FALSE", "no",
	    "No", "NO", "off", "Off", "OFF", "n", "N", NULL };
	const struct ynode	*n;
	size_t			 i;

	if ((n = map_get(m, key)) == NULL || n->type == Y_NULL)
		return 0;
	if (want(c, n, Y_STR, key, where) == -1)
		return -1;
	for (i = 0; yes[i] != NULL; i++)
		if (strcmp(n->s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
	for (i = 0; no[i] != NULL; i++)
		if (strcmp(n->s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	return cerr(c, n->pos, "\"%s\" %s must be true or false, not \"%s\"",
	    key, where, n->s);
}

/*
 * Go's filepath.Clean, in place: no "." elements, no doubled slashes,
 * "x/.." folded away, "" as ".".
 */
static void
path_clean(char *p)
{
	char	*w = p, *r = p, *seg;
	int	 abs = *p == '/';
	size_t	 keep = abs;	/* bytes ".." may not remove */

	if (abs) {
		r++;
		w++;
	}
	while (*r != '\0') {
		if (*r == '/') {
			r++;
			continue;
		}
		if (r[0] == '.' && (r[1] == '/' || r[1] == '\0')) {
			r++;
			continue;
		}
		if (r[0] == '.' && r[1] == '.' && (r[2] == '/' ||
		    r[2] == '\0')) {
			r += 2;
			if ((size_t)(w - p) > keep) {
				/* Drop the last element written. */
				while ((size_t)(w - p) > keep && w[-1] != '/')
					w--;
				if ((size_t)(w - p) > keep)
					w--;
				continue;
			}
			if (abs)
				continue;
			/* A leading ".." stays and cannot be removed. */
			if (w != p)
				*w++ = '/';
			*w++ = '.';
			*w++ = '.';
			keep = (size_t)(w - p);
			continue;
		}
		if ((size_t)(w - p) > (size_t)abs)
			*w++ = '/';
		seg = r;
		while (*r != '\0' && *r != '/')
			*w++ = *r++;
		(void)seg;
	}
	if (w == p)
		*w++ = abs ? '/' : '.';
	*w = '\0';
}

/* A file name relative to the config's folder, as Prometheus' JoinDir. */
static char *
join_dir(const struct ctx *c, const char *path)
{
	char	*r;

	if (path[0] == '/' || path[0] == '\0' || c->dir == NULL)
		r = xstrdup(path);
	else
		r = xasprintf("%s/%s", c->dir, path);
	if (r[0] != '\0')
		path_clean(r);
	return r;
}

static int
get_file(struct ctx *c, const struct ynode *m, const char *key,
    const char *where, char **out)
{
	char	*s = NULL;

	if (get_str(c, m, key, where, &s) == -1)
		return -1;
	if (s == NULL)
		return 0;
	free(*out);
	*out = s[0] == '\0' ? NULL : join_dir(c, s);
	free(s);
	return 0;
}

/* The keys parse_auth reads, for the callers' lists of known keys. */
#define AUTH_KEYS	"basic_auth", "authorization", "bearer_token", \
			"bearer_token_file"

/* Prometheus' HTTPClientConfig authentication and its validation. */
static int
parse_auth(struct ctx *c, const struct ynode *m, const char *where,
    struct http_auth *a)
{
	static const char *const bkeys[] = { "username", "password",
	    "password_file", NULL };
	static const char *const akeys[] = { "type", "credentials",
	    "credentials_file", NULL };
	const struct ynode	*b, *au;
	char			*tok = NULL, *tokfile = NULL;
	int			 rc = -1;

	b = map_get(m, "basic_auth");
	au = map_get(m, "authorization");
	if (b != NULL && b->type == Y_NULL)
		b = NULL;
	if (au != NULL && au->type == Y_NULL)
		au = NULL;
	if (get_str(c, m, "bearer_token", where, &tok) == -1 ||
	    get_file(c, m, "bearer_token_file", where, &tokfile) == -1)
		goto out;
	if (tok != NULL && tok[0] == '\0') {
		free(tok);
		tok = NULL;
	}
	if (b != NULL) {
		if (want(c, b, Y_MAP, "basic_auth", where) == -1 ||
		    check_map(c, b, "in basic_auth", bkeys) == -1 ||
		    get_str(c, b, "username", "in basic_auth",
		    &a->username) == -1 ||
		    get_str(c, b, "password", "in basic_auth",
		    &a->password) == -1 ||
		    get_file(c, b, "password_file", "in basic_auth",
		    &a->password_file) == -1)
			goto out;
		if (a->username == NULL)
			a->username = xstrdup("");
		if (a->password != NULL && a->password[0] != '\0' &&
		    a->password_file != NULL) {
			cerr(c, b->pos, "at most one of basic_auth password & "
			    "password_file must be configured");
			goto out;
		}
	}
	if ((b != NULL) + (tok != NULL || tokfile != NULL) > 1) {
		cerr(c, m->pos, "at most one of basic_auth, oauth2, "
		    "bearer_token & bearer_token_file must be configured");
		goto out;
	}
	if (tok != NULL && tokfile != NULL) {
		cerr(c, m->pos, "at most one of bearer_token & "
		    "bearer_token_file must be configured");
		goto out;
	}
	if (au != NULL) {
		if (want(c, au, Y_MAP, "authorization", where) == -1 ||
		    check_map(c, au, "in authorization", akeys) == -1 ||
		    get_str(c, au, "type", "in authorization",
		    &a->type) == -1 ||
		    get_str(c, au, "credentials", "in authorization",
		    &a->credentials) == -1 ||
		    get_file(c, au, "credentials_file", "in authorization",
		    &a->credentials_file) == -1)
			goto out;
		if (tok != NULL || tokfile != NULL) {
			cerr(c, au->pos, "authorization is not compatible "
			    "with bearer_token & bearer_token_file");
			goto out;
		}
		if (b != NULL) {
			cerr(c, au->pos, "at most one of basic_auth, oauth2 & "
			    "authorization must be configured");
			goto out;
		}
		if (a->type == NULL || a->type[0] == '\0') {
			free(a->type);
			a->type = xstrdup("Bearer");
		}
		if (strcasecmp(a->type, "basic") == 0) {
			cerr(c, au->pos, "authorization type cannot be set to "
			    "\"basic\", use \"basic_auth\" instead");
			goto out;
		}
		if (a->credentials != NULL && a->credentials[0] != '\0' &&
		    a->credentials_file != NULL) {
			cerr(c, au->pos, "at most one of authorization "
			    "credentials & credentials_file must be "
			    "configured");
			goto out;
		}
	} else if (tok != NULL || tokfile != NULL) {
		a->type = xstrdup("Bearer");
		a->credentials = tok;
		a->credentials_file = tokfile;
		tok = tokfile = NULL;
	}
	rc = 0;
out:
	free(tok);
	free(tokfile);
	return rc;
}

static int
valid_url(struct ctx *c, const struct ynode *n, const char *url)
{
	const char	*host;

	if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return cerr(c, n->pos, "URL scheme must be 'http' or 'https'");
	if (*host == '\0' || *host == '/' || *host == '?' || *host == '#')
		return cerr(c, n->pos, "host is missing in URL");
	return 0;
}

static int
parse_http_sd(struct ctx *c, const struct ynode *m, struct conf_http_sd *hs)
{
	static const char *const keys[] = { "url", "refresh_interval",
	    AUTH_KEYS, NULL };
	const char		*w = "in http_sd_configs";

	hs->pos = m->pos;
	hs->refresh_ms = 60 * 1000;
	if (check_map(c, m, w, keys) == -1 ||
	    get_str(c, m, "url", w, &hs->url) == -1 ||
	    get_dur(c, m, "refresh_interval", w, &hs->refresh_ms) == -1 ||
	    parse_auth(c, m, w, &hs->auth) == -1)
		return -1;
	if (hs->url == NULL || hs->url[0] == '\0')
		return cerr(c, m->pos, "URL is missing");
	return valid_url(c, map_get(m, "url"), hs->url);
}

static int
parse_consul_sd(struct ctx *c, const struct ynode *m,
    struct conf_consul_sd *cs)
{
	static const char *const keys[] = { "server", "path_prefix", "token",
	    "datacenter", "namespace", "partition", "tag_separator", "scheme",
	    "username", "password", "allow_stale", "refresh_interval",
	    "services", "tags", "node_meta", AUTH_KEYS, NULL };
	const char		*w = "in consul_sd_configs";
	const struct ynode	*n, *v;
	char			*user = NULL, *pass = NULL;
	size_t			 i;
	int			 rc = -1;

	cs->pos = m->pos;
	cs->server = xstrdup("localhost:8500");
	cs->path_prefix = xstrdup("");
	cs->tag_separator = xstrdup(",");
	cs->scheme = xstrdup("http");
	cs->allow_stale = 1;
	cs->refresh_ms = 30 * 1000;
	labels_init(&cs->node_meta);
	if (check_map(c, m, w, keys) == -1 ||
	    get_str(c, m, "server", w, &cs->server) == -1 ||
	    get_str(c, m, "path_prefix", w, &cs->path_prefix) == -1 ||
	    get_str(c, m, "token", w, &cs->token) == -1 ||
	    get_str(c, m, "datacenter", w, &cs->datacenter) == -1 ||
	    get_str(c, m, "namespace", w, &cs->namespace) == -1 ||
	    get_str(c, m, "partition", w, &cs->partition) == -1 ||
	    get_str(c, m, "tag_separator", w, &cs->tag_separator) == -1 ||
	    get_str(c, m, "scheme", w, &cs->scheme) == -1 ||
	    get_str(c, m, "username", w, &user) == -1 ||
	    get_str(c, m, "password", w, &pass) == -1 ||
	    get_bool(c, m, "allow_stale", w, &cs->allow_stale) == -1 ||
	    get_dur(c, m, "refresh_interval", w, &cs->refresh_ms) == -1 ||
	    get_strlist(c, m, "services", w, &cs->services, &cs->nservices,
	    NULL) == -1 ||
	    get_strlist(c, m, "tags", w, &cs->tags, &cs->ntags, NULL) == -1 ||
	    parse_auth(c, m, w, &cs->auth) == -1)
		goto out;
	if ((n = map_get(m, "node_meta")) != NULL && n->type != Y_NULL) {
		if (want(c, n, Y_MAP, "node_meta", w) == -1 ||
		    check_dups(c, n, "in node_meta") == -1)
			goto out;
		for (i = 0; i + 1 < n->n; i += 2) {
			v = &n->kids[i + 1];
			if (v->type != Y_STR && v->type != Y_NULL) {
				cerr(c, v->pos, "node_meta \"%s\" must be a "
				    "string", nstr(&n->kids[i]));
				goto out;
			}
			labels_set(&cs->node_meta, nstr(&n->kids[i]), nstr(v));
		}
	}
	if (cs->server[strspn(cs->server, " \t\r\n")] == '\0') {
		cerr(c, m->pos, "consul SD configuration requires a server "
		    "address");
		goto out;
	}
	if (strcmp(cs->scheme, "http") != 0 &&
	    strcmp(cs->scheme, "https") != 0) {
		cerr(c, map_get(m, "scheme")->pos, "invalid scheme \"%s\": "
		    "must be http or https", cs->scheme);
		goto out;
	}
	if ((user != NULL && user[0] != '\0') ||
	    (pass != NULL && pass[0] != '\0')) {
		if (cs->auth.username != NULL || cs->auth.type != NULL) {
			cerr(c, m->pos, "at most one of consul SD "
			    "configuration username and password, basic "
			    "auth or authorization can be configured");
			goto out;
		}
		cs->auth.username = xstrdup(user != NULL ? user : "");
		cs->auth.password = xstrdup(pass != NULL ? pass : "");
	}
	if (cs->token != NULL && cs->token[0] != '\0' &&
	    cs->auth.type != NULL) {
		cerr(c, m->pos, "at most one of consul SD token, authorization "
		    "or oauth2 can be configured");
		goto out;
	}
	rc = 0;
out:
	free(user);
	free(pass);
	return rc;
}

static int
parse_k8s_sd(struct ctx *c, const struct ynode *m, struct conf_k8s_sd *ks)
{
	static const char *const keys[] = { "api_server", "role",
	    "namespaces", "refresh_interval", AUTH_KEYS, NULL };
	static const char *const nskeys[] = { "names", NULL };
	static const char *const roles[] = { "endpoints", "pod", "service",
	    NULL };
	const char		*w = "in kubernetes_sd_configs";
	const struct ynode	*n;
	char			*role = NULL;
	size_t			 i;

	ks->pos = m->pos;
	ks->refresh_ms = 30 * 1000;
	if (check_map(c, m, w, keys) == -1 ||
	    get_str(c, m, "api_server", w, &ks->api_server) == -1 ||
	    get_dur(c, m, "refresh_interval", w, &ks->refresh_ms) == -1 ||
	    parse_auth(c, m, w, &ks->auth) == -1)
		return -1;
	if ((n = map_get(m, "namespaces")) != NULL && n->type != Y_NULL) {
		if (want(c, n, Y_MAP, "namespaces", w) == -1 ||
		    check_map(c, n, "in namespaces", nskeys) == -1 ||
		    get_strlist(c, n, "names", "in namespaces",
		    &ks->namespaces, &ks->nnamespaces, NULL) == -1)
			return -1;
	}
	if ((n = map_get(m, "role")) == NULL || n->type == Y_NULL)
		return cerr(c, m->pos, "role missing (one of: pod, service, "
		    "endpoints, endpointslice, node, ingress)");
	if (get_str(c, m, "role", w, &role) == -1)
		return -1;
	for (i = 0; roles[i] != NULL; i++)
		if (strcmp(role, roles[i]) == 0)
			break;
	if (roles[i] == NULL) {
		if (strcmp(role, "endpointslice") == 0 ||
		    strcmp(role, "node") == 0 || strcmp(role, "ingress") == 0)
			cerr(c, n->pos, "role \"%s\" is not supported (use "
			    "pod, service or endpoints)", role);
		else
			cerr(c, n->pos, "unknown Kubernetes SD role \"%s\"",
			    role);
		free(role);
		return -1;
	}
	free(role);
	ks->role = (enum k8s_role)i;
	if (ks->api_server == NULL || ks->api_server[0] == '\0')
		return cerr(c, m->pos, "api_server is required: the "
		    "in-cluster configuration is not supported");
	return valid_url(c, map_get(m, "api_server"), ks->api_server);
}

static const char *const actions[] = {
	"replace", "keep", "drop", "hashmod", "labelmap", "labeldrop",
	"labelkeep", "lowercase", "uppercase", "keepequal", "dropequal"
};

static int
parse_relabel(struct ctx *c, const struct ynode *m, struct conf_relabel *r)
{
	static const char *const keys[] = { "source_labels", "separator",
	    "regex", "modulus", "target_label", "replacement", "action",
	    NULL };
	const char		*w = "in relabel_configs", *act;
	const struct ynode	*n, *items;
	char			*s = NULL;
	size_t			 i;
	int			 have_src;
	enum relabel_action	 a;

	r->pos = m->pos;
	r->separator = xstrdup(";");
	r->regex = xstrdup("(.*)");
	r->replacement = xstrdup("$1");
	r->action = RELABEL_REPLACE;
	if (check_map(c, m, w, keys) == -1 ||
	    get_strlist(c, m, "source_labels", w, &r->source_labels,
	    &r->nsource_labels, &items) == -1 ||
	    get_str(c, m, "separator", w, &r->separator) == -1 ||
	    get_str(c, m, "regex", w, &r->regex) == -1 ||
	    get_str(c, m, "target_label", w, &r->target_label) == -1 ||
	    get_str(c, m, "replacement", w, &r->replacement) == -1 ||
	    get_uint(c, m, "modulus", w, UINT64_MAX, &r->modulus, NULL) == -1)
		return -1;
	n = map_get(m, "source_labels");
	have_src = n != NULL && n->type != Y_NULL;
	for (i = 0; i < r->nsource_labels; i++)
		if (!labels_valid_name(r->source_labels[i]))
			return cerr(c, items[i].pos, "\"%s\" is not a valid "
			    "label name", r->source_labels[i]);
	if (r->target_label != NULL && r->target_label[0] == '\0') {
		free(r->target_label);
		r->target_label = NULL;
	}
	if ((n = map_get(m, "action")) != NULL) {
		if (n->type == Y_NULL)
			return cerr(c, n->pos, "relabel action cannot be "
			    "empty");
		if (get_str(c, m, "action", w, &s) == -1)
			return -1;
		for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
			if (strcasecmp(s, actions[i]) == 0)
				break;
		if (i == sizeof(actions) / sizeof(actions[0])) {
			cerr(c, n->pos, "unknown relabel action \"%s\"", s);
			free(s);
			return -1;
		}
		free(s);
		r->action = (enum relabel_action)i;
	}
	a = r->action;
	act = actions[a];
	if (a == RELABEL_HASHMOD && r->modulus == 0)
		return cerr(c, m->pos, "relabel configuration for hashmod "
		    "requires non-zero modulus");
	if ((a == RELABEL_REPLACE || a == RELABEL_HASHMOD ||
	    a == RELABEL_LOWERCASE || a == RELABEL_UPPERCASE ||
	    a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL) &&
	    r->target_label == NULL)
		return cerr(c, m->pos, "relabel configuration for %s action "
		    "requires 'target_label' value", act);
	if ((a == RELABEL_REPLACE || a == RELABEL_LOWERCASE ||
	    a == RELABEL_UPPERCASE || a == RELABEL_KEEPEQUAL ||
	    a == RELABEL_DROPEQUAL) && !valid_relabel_target(r->target_label))
		return cerr(c, m->pos, "\"%s\" is invalid 'target_label' for "
		    "%s action", r->target_label, act);
	if (a == RELABEL_HASHMOD && !labels_valid_name(r->target_label))
		return cerr(c, m->pos, "\"%s\" is invalid 'target_label' for "
		    "%s action", r->target_label, act);
	if ((a == RELABEL_LOWERCASE || a == RELABEL_UPPERCASE) &&
	    strcmp(r->replacement, "$1") != 0)
		return cerr(c, m->pos, "'replacement' can not be set for %s "
		    "action", act);
	if (a == RELABEL_LABELMAP && !valid_relabel_target(r->replacement))
		return cerr(c, m->pos, "\"%s\" is invalid 'replacement' for "
		    "%s action", r->replacement, act);
	if ((a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL) &&
	    (strcmp(r->regex, "(.*)") != 0 || r->modulus != 0 ||
	    strcmp(r->separator, ";") != 0 ||
	    strcmp(r->replacement, "$1") != 0))
		return cerr(c, m->pos, "%s action requires only "
		    "'source_labels' and `target_label`, and no other fields",
		    act);
	if ((a == RELABEL_LABELDROP || a == RELABEL_LABELKEEP) &&
	    (have_src || r->target_label != NULL || r->modulus != 0 ||
	    strcmp(r->separator, ";") != 0 ||
	    strcmp(r->replacement, "$1") != 0))
		return cerr(c, m->pos, "%s action requires only 'regex', and "
		    "no other fields", act);
	return 0;
}

/* Prometheus' TLSConfig, with its check that cert and key come together. */
static int
parse_tls(struct ctx *c, const struct ynode *m, struct conf_tls *t)
{
	static const char *const keys[] = { "ca_file", "cert_file",
	    "key_file", "server_name", "insecure_skip_verify", NULL };
	const char		*w = "in tls_config";
	const struct ynode	*n;

	if ((n = map_get(m, "tls_config")) == NULL || n->type == Y_NULL)
		return 0;
	if (want(c, n, Y_MAP, "tls_config", "in scraper") == -1 ||
	    check_map(c, n, w, keys) == -1 ||
	    get_file(c, n, "ca_file", w, &t->ca_file) == -1 ||
	    get_file(c, n, "cert_file", w, &t->cert_file) == -1 ||
	    get_file(c, n, "key_file", w, &t->key_file) == -1 ||
	    get_str(c, n, "server_name", w, &t->server_name) == -1 ||
	    get_bool(c, n, "insecure_skip_verify", w,
	    &t->insecure_skip_verify) == -1)
		return -1;
	if (t->server_name != NULL && t->server_name[0] == '\0') {
		free(t->server_name);
		t->server_name = NULL;
	}
	if (t->cert_file != NULL && t->key_file == NULL)
		return cerr(c, n->pos, "client cert file %s specified without "
		    "client key file", t->cert_file);
	if (t->key_file != NULL && t->cert_file == NULL)
		return cerr(c, n->pos, "client key file %s specified without "
		    "client cert file", t->key_file);
	return 0;
}

static void
tls_release(struct conf_tls *t)
{
	free(t->ca_file);
	free(t->cert_file);
	free(t->key_file);
	free(t->server_name);
}

/* What a service scrapes with when its config says nothing. */
static void
scraper_defaults(struct conf_scraper *sc, const char *endpoint)
{
	sc->endpoint = xstrdup(endpoint);
	sc->scheme = xstrdup("http");
	sc->interval_ms = 30 * 1000;
	sc->timeout_ms = 10 * 1000;
}

static int
parse_scraper(struct ctx *c, const struct ynode *svc, struct conf_scraper *sc)
{
	static const char *const keys[] = { "endpoint", "refresh_interval",
	    "timeout", "scheme", AUTH_KEYS, "tls_config", NULL };
	const char		*w = "in scraper";
	const struct ynode	*m, *n;

	scraper_defaults(sc, "/errors");
	if ((m = map_get(svc, "scraper")) == NULL || m->type == Y_NULL)
		return 0;
	if (want(c, m, Y_MAP, "scraper", "in service") == -1 ||
	    check_map(c, m, w, keys) == -1 ||
	    get_str(c, m, "endpoint", w, &sc->endpoint) == -1 ||
	    get_str(c, m, "scheme", w, &sc->scheme) == -1 ||
	    get_dur(c, m, "refresh_interval", w, &sc->interval_ms) == -1 ||
	    get_dur(c, m, "timeout", w, &sc->timeout_ms) == -1 ||
	    parse_auth(c, m, w, &sc->auth) == -1 ||
	    parse_tls(c, m, &sc->tls) == -1)
		return -1;
	if (sc->endpoint[0] != '/')
		return cerr(c, map_get(m, "endpoint")->pos, "endpoint \"%s\" "
		    "must start with '/'", sc->endpoint);
	if (strcmp(sc->scheme, "http") != 0 &&
	    strcmp(sc->scheme, "https") != 0) {
		n = map_get(m, "scheme");
		return cerr(c, n->pos, "invalid scheme \"%s\": must be http "
		    "or https", sc->scheme);
	}
	/* A scrape must end before the next one is due. */
	if (sc->timeout_ms > sc->interval_ms)
		sc->timeout_ms = sc->interval_ms;
	return 0;
}

/* Fills one list of sd configs: key, array and count, item parser. */
#define SD_LIST(key, arr, cnt, fn) do {					\
	if (get_maps(c, m, key, where, &items, &nitems) == -1)		\
		return -1;						\
	svc->arr = xcalloc(nitems ? nitems : 1, sizeof(*svc->arr));	\
	for (i = 0; i < nitems; i++) {					\
		svc->cnt++;						\
		if (fn(c, &items[i], &svc->arr[i]) == -1)		\
			return -1;					\
	}								\
} while (0)

static int
parse_service(struct ctx *c, const struct ynode *m, struct conf_service *svc)
{
	static const char *const keys[] = { "name", "static_configs",
	    "file_sd_configs", "dns_sd_configs", "http_sd_configs",
	    "consul_sd_configs", "kubernetes_sd_configs", "relabel_configs",
	    "scraper", NULL };
	const struct ynode	*n, *items;
	char			 where[128];
	size_t			 i, nitems;

	svc->pos = m->pos;
	n = map_get(m, "name");
	if (n != NULL && n->type == Y_STR)
		snprintf(where, sizeof(where), "in service \"%s\"", n->s);
	else
		snprintf(where, sizeof(where), "in service");
	if (check_map(c, m, where, keys) == -1)
		return -1;
	if (n == NULL)
		return cerr(c, m->pos, "missing key \"name\" in service");
	if (get_str(c, m, "name", where, &svc->name) == -1)
		return -1;
	if (svc->name[0] == '\0')
		return cerr(c, n->pos, "empty service name");
	SD_LIST("static_configs", static_configs, nstatic_configs,
	    parse_static);
	SD_LIST("file_sd_configs", file_sd_configs, nfile_sd_configs,
	    parse_file_sd);
	SD_LIST("dns_sd_configs", dns_sd_configs, ndns_sd_configs,
	    parse_dns_sd);
	SD_LIST("http_sd_configs", http_sd_configs, nhttp_sd_configs,
	    parse_http_sd);
	SD_LIST("consul_sd_configs", consul_sd_configs, nconsul_sd_configs,
	    parse_consul_sd);
	SD_LIST("kubernetes_sd_configs", kubernetes_sd_configs,
	    nkubernetes_sd_configs, parse_k8s_sd);
	if ((n = map_get(m, "relabel_configs")) != NULL &&
	    n->type != Y_NULL && want(c, n, Y_SEQ, "relabel_configs",
	    where) == -1)
		return -1;
	SD_LIST("relabel_configs", relabel_configs, nrelabel_configs,
	    parse_relabel);
	return parse_scraper(c, m, &svc->scraper);
}

static int
parse_repository(struct ctx *c, const struct ynode *top,
    struct conf_repository *r)
{
	static const char *const keys[] = { "type", "path", "dsn", NULL };
	static const char *const types[] = { "sqlite", "postgres",
	    "postgresql", "mysql", "memory", NULL };
	const char		*w = "in repository";
	const char *const	*t;
	const struct ynode	*m, *n;

	if ((m = map_get(top, "repository")) == NULL || m->type == Y_NULL)
		return 0;
	if (want(c, m, Y_MAP, "repository", "at the top level") == -1 ||
	    check_map(c, m, w, keys) == -1 ||
	    get_str(c, m, "type", w, &r->type) == -1 ||
	    get_str(c, m, "path", w, &r->path) == -1 ||
	    get_str(c, m, "dsn", w, &r->dsn) == -1)
		return -1;
	if ((n = map_get(m, "type")) != NULL) {
		for (t = types; *t != NULL; t++)
			if (strcmp(*t, r->type) == 0)
				break;
		if (*t == NULL)
			return cerr(c, n->pos, "unknown repository type \"%s\" "
			    "(want sqlite, postgres, mysql or memory)",
			    r->type);
	} else if (r->path != NULL) {
		r->type = xstrdup("sqlite");
	} else if (r->dsn != NULL) {
		return cerr(c, m->pos, "missing key \"type\" in repository");
	} else
		return 0;
	if (strcmp(r->type, "sqlite") == 0) {
		if (r->path == NULL)
			r->path = xstrdup("periskop.db");
		if (r->path[0] == '\0')
			return cerr(c, map_get(m, "path")->pos, "empty "
			    "repository path");
	} else if (strcmp(r->type, "memory") != 0 &&
	    (r->dsn == NULL || r->dsn[0] == '\0'))
		return cerr(c, m->pos, "repository type \"%s\" needs a "
		    "\"dsn\"", r->type);
	if (strcmp(r->type, "mysql") == 0) {
		/* A malformed DSN is a config error, found before any I/O. */
		char	 m2[256];

		if (db_mysql_dsn_check(r->dsn, m2, sizeof(m2)) == -1)
			return cerr(c, map_get(m, "dsn")->pos, "%s", m2);
	}
	return 0;
}

static int
valid_port(const char *p)
{
	long	 v = 0;

	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > 65535)
			return 0;
		v = v * 10 + (*p - '0');
	}
	return v >= 1 && v <= 65535;
}

/* "addr:port" or "[v6]:port", as the servers' listen options take it. */
static int
check_listen(struct ctx *c, const struct ynode *n, const char *l)
{
	const char	*port, *why = NULL;

	if (l[0] == '[') {
		port = strchr(l, ']');
		if (port == NULL)
			why = "missing ']'";
		else if (port == l + 1)
			why = "empty host in brackets";
		else if (port[1] != ':')
			why = "missing port";
		else
			port += 2;
	} else if ((port = strrchr(l, ':')) == NULL)
		why = "missing port";
	else if (memchr(l, ':', (size_t)(port - l)) != NULL)
		why = "IPv6 addresses go in brackets: [ADDRESS]:PORT";
	else
		port++;
	if (why == NULL && !valid_port(port))
		why = "port must be between 1 and 65535";
	if (why != NULL)
		return cerr(c, n->pos, "invalid listen address \"%s\": %s", l,
		    why);
	return 0;
}

static int
parse_server(struct ctx *c, const struct ynode *top, struct conf_server *sv)
{
	static const char *const keys[] = { "listen", NULL };
	const struct ynode	*m, *n;

	sv->listen = xstrdup("127.0.0.1:8080");
	if ((m = map_get(top, "server")) == NULL || m->type == Y_NULL)
		return 0;
	if (want(c, m, Y_MAP, "server", "at the top level") == -1 ||
	    check_map(c, m, "in server", keys) == -1 ||
	    get_str(c, m, "listen", "in server", &sv->listen) == -1)
		return -1;
	if ((n = map_get(m, "listen")) == NULL)
		return 0;
	return check_listen(c, n, sv->listen);
}

static int
parse_pushgateway(struct ctx *c, const struct ynode *top,
    struct conf_pushgateway *pg)
{
	static const char *const keys[] = { "listen", "service", "state",
	    "token_file", "max_body", "max_pushers", "max_keys",
	    "max_latest", "ttl", NULL };
	const char		*w = "in pushgateway";
	const struct ynode	*m, *n;
	char			*state = NULL;

	if ((m = map_get(top, "pushgateway")) == NULL)
		return 0;
	pg->enabled = 1;
	pg->pos = m->pos;
	pg->listen = xstrdup("127.0.0.1:7878");
	pg->service = xstrdup("pushgateway");
	if (m->type != Y_NULL && (want(c, m, Y_MAP, "pushgateway",
	    "at the top level") == -1 || check_map(c, m, w, keys) == -1 ||
	    get_str(c, m, "listen", w, &pg->listen) == -1 ||
	    get_str(c, m, "service", w, &pg->service) == -1 ||
	    get_str(c, m, "state", w, &state) == -1 ||
	    get_file(c, m, "token_file", w, &pg->token_file) == -1 ||
	    get_uint(c, m, "max_body", w, UINT32_MAX, &pg->max_body,
	    NULL) == -1 ||
	    get_uint(c, m, "max_pushers", w, 100000000, &pg->max_pushers,
	    NULL) == -1 ||
	    get_uint(c, m, "max_keys", w, 100000000, &pg->max_keys,
	    NULL) == -1 ||
	    get_uint(c, m, "max_latest", w, 100000000, &pg->max_latest,
	    NULL) == -1 ||
	    get_dur(c, m, "ttl", w, &pg->ttl_ms) == -1)) {
		free(state);
		return -1;
	}
	pg->state = join_dir(c, state != NULL && state[0] != '\0' ? state :
	    "pushgateway.state");
	free(state);
	if (m->type == Y_NULL)
		return 0;
	if ((n = map_get(m, "listen")) != NULL &&
	    check_listen(c, n, pg->listen) == -1)
		return -1;
	if ((n = map_get(m, "service")) != NULL && pg->service[0] == '\0')
		return cerr(c, n->pos, "empty service name");
	return 0;
}

/*
 * The gateway as a scrape target: its listen address, where a wildcard
 * host is reached on loopback.
 */
static char *
pushgateway_target(const char *listen)
{
	const char	*port = strrchr(listen, ':');
	size_t		 hlen = (size_t)(port - listen);

	if (hlen == 0 || (hlen == 7 && strncmp(listen, "0.0.0.0", 7) == 0))
		return xasprintf("127.0.0.1%s", port);
	if (hlen == 4 && strncmp(listen, "[::]", 4) == 0)
		return xasprintf("[::1]%s", port);
	return xstrdup(listen);
}

static void
add_pushgateway(struct conf *cf)
{
	struct conf_pushgateway	*pg = &cf->pushgateway;
	struct conf_service	*svc = NULL;
	struct conf_static	*sc;
	size_t			 i;

	for (i = 0; i < cf->nservices; i++)
		if (strcmp(cf->services[i].name, pg->service) == 0)
			svc = &cf->services[i];
	if (svc == NULL) {
		cf->services = xreallocarray(cf->services, cf->nservices + 1,
		    sizeof(*cf->services));
		svc = &cf->services[cf->nservices++];
		memset(svc, 0, sizeof(*svc));
		svc->name = xstrdup(pg->service);
		svc->pos = pg->pos;
		scraper_defaults(&svc->scraper, "/-/errors/");
	}
	svc->static_configs = xreallocarray(svc->static_configs,
	    svc->nstatic_configs + 1, sizeof(*svc->static_configs));
	sc = &svc->static_configs[svc->nstatic_configs++];
	memset(sc, 0, sizeof(*sc));
	sc->pos = pg->pos;
	sc->targets = xcalloc(1, sizeof(*sc->targets));
	sc->targets[0] = pushgateway_target(pg->listen);
	sc->ntargets = 1;
	labels_init(&sc->labels);
	labels_set(&sc->labels, "__metrics_path__", "/-/errors/");
}

/* Each item of a filter list must be one of the known words. */
static int
check_words(struct ctx *c, const struct ynode *items, char **v, size_t n,
    const char *what, const char *const *known)
{
	size_t	 i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; known[k] != NULL; k++)
			if (strcmp(v[i], known[k]) == 0)
				break;
		if (known[k] == NULL)
			return cerr(c, items[i].pos, "unknown %s \"%s\"", what,
			    v[i]);
	}
	return 0;
}

/* A receiver's name is a file name in the spool folder. */
static int
valid_receiver_name(const char *s)
{
	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_word(*s) && *s != '-' && *s != '.')
			return 0;
	return 1;
}

static int
parse_headers(struct ctx *c, const struct ynode *m, struct conf_receiver *r)
{
	const struct ynode	*n, *k, *v;
	size_t			 i;

	if ((n = map_get(m, "headers")) == NULL || n->type == Y_NULL)
		return 0;
	if (want(c, n, Y_MAP, "headers", "in webhook") == -1 ||
	    check_dups(c, n, "in headers") == -1)
		return -1;
	r->headers = xcalloc(n->n / 2 + 1, sizeof(*r->headers));
	for (i = 0; i + 1 < n->n; i += 2) {
		k = &n->kids[i];
		v = &n->kids[i + 1];
		if (nstr(k)[0] == '\0' || strpbrk(nstr(k), ": \t\r\n") != NULL)
			return cerr(c, k->pos, "\"%s\" is not a valid header "
			    "name", nstr(k));
		if (v->type != Y_STR && v->type != Y_NULL)
			return cerr(c, v->pos, "header \"%s\" must be a string, "
			    "not %s", nstr(k), tname(v->type));
		if (strpbrk(nstr(v), "\r\n") != NULL)
			return cerr(c, v->pos, "header \"%s\" holds a line "
			    "break", nstr(k));
		r->headers[r->nheaders++] = xasprintf("%s: %s", nstr(k),
		    nstr(v));
	}
	return 0;
}

static int
parse_receiver(struct ctx *c, const struct ynode *m, struct conf_receiver *r)
{
	static const char *const keys[] = { "name", "alertmanager", "webhook",
	    "command", "kinds", "services", "severities", "timeout", NULL };
	static const char *const am_keys[] = { "url", NULL };
	static const char *const wh_keys[] = { "url", "headers", "token_file",
	    NULL };
	static const char *const kinds[] = { "new_error", "regression",
	    "spike", "target_down", "target_up", NULL };
	static const char *const sevs[] = { "info", "warning", "error", NULL };
	const char		*w = "in receiver";
	const struct ynode	*n, *items, *am, *wh, *cmd;
	int			 ntypes;

	r->pos = m->pos;
	r->timeout_ms = 10000;
	if (check_map(c, m, w, keys) == -1 ||
	    get_str(c, m, "name", w, &r->name) == -1)
		return -1;
	if (r->name == NULL)
		return cerr(c, m->pos, "missing key \"name\" in receiver");
	if (!valid_receiver_name(r->name))
		return cerr(c, map_get(m, "name")->pos, "receiver name \"%s\" "
		    "may hold only letters, digits, '_', '-' and '.'",
		    r->name);
	am = map_get(m, "alertmanager");
	wh = map_get(m, "webhook");
	cmd = map_get(m, "command");
	ntypes = (am != NULL) + (wh != NULL) + (cmd != NULL);
	if (ntypes != 1)
		return cerr(c, m->pos, "receiver \"%s\" needs exactly one of "
		    "\"alertmanager\", \"webhook\" and \"command\"", r->name);
	if (am != NULL) {
		r->type = NOTIFY_ALERTMANAGER;
		if (want(c, am, Y_MAP, "alertmanager", w) == -1 ||
		    check_map(c, am, "in alertmanager", am_keys) == -1 ||
		    get_str(c, am, "url", "in alertmanager", &r->url) == -1)
			return -1;
		n = am;
	} else if (wh != NULL) {
		r->type = NOTIFY_WEBHOOK;
		if (want(c, wh, Y_MAP, "webhook", w) == -1 ||
		    check_map(c, wh, "in webhook", wh_keys) == -1 ||
		    get_str(c, wh, "url", "in webhook", &r->url) == -1 ||
		    parse_headers(c, wh, r) == -1 ||
		    get_file(c, wh, "token_file", "in webhook",
		    &r->token_file) == -1)
			return -1;
		n = wh;
	} else {
		r->type = NOTIFY_COMMAND;
		if (want(c, cmd, Y_STR, "command", w) == -1)
			return -1;
		r->command = xstrdup(cmd->s);
		if (r->command[0] == '\0')
			return cerr(c, cmd->pos, "empty command");
		n = NULL;
	}
	if (n != NULL) {
		if (r->url == NULL)
			return cerr(c, n->pos, "missing key \"url\" in receiver "
			    "\"%s\"", r->name);
		if (valid_url(c, map_get(n, "url"), r->url) == -1)
			return -1;
	}
	if (get_strlist(c, m, "kinds", w, &r->kinds, &r->nkinds,
	    &items) == -1 ||
	    check_words(c, items, r->kinds, r->nkinds, "event kind",
	    kinds) == -1 ||
	    get_strlist(c, m, "services", w, &r->services, &r->nservices,
	    NULL) == -1 ||
	    get_strlist(c, m, "severities", w, &r->severities,
	    &r->nseverities, &items) == -1 ||
	    check_words(c, items, r->severities, r->nseverities, "severity",
	    sevs) == -1 ||
	    get_dur(c, m, "timeout", w, &r->timeout_ms) == -1)
		return -1;
	return 0;
}

/* spike: {count: N, window: DURATION}, the threshold rule of aggregate. */
static int
parse_spike(struct ctx *c, const struct ynode *m, struct conf_notify *nf)
{
	static const char *const keys[] = { "count", "window", NULL };
	const struct ynode	*n;
	int			 present = 0;

	nf->spike_window_ms = 300000;
	if ((n = map_get(m, "spike")) == NULL || n->type == Y_NULL)
		return 0;
	if (want(c, n, Y_MAP, "spike", "in notify") == -1 ||
	    check_map(c, n, "in spike", keys) == -1 ||
	    get_uint(c, n, "count", "in spike", UINT32_MAX, &nf->spike_count,
	    &present) == -1 ||
	    get_dur(c, n, "window", "in spike", &nf->spike_window_ms) == -1)
		return -1;
	if (!present || nf->spike_count == 0)
		return cerr(c, n->pos, "spike needs a \"count\" of at least 1");
	if (nf->spike_window_ms < 1000)
		return cerr(c, map_get(n, "window")->pos, "the spike window "
		    "must be at least 1s");
	return 0;
}

/* The UI's address for links: the server's, a wildcard host on loopback. */
static char *
ui_url_of(const char *listen)
{
	char	*t, *u;

	t = pushgateway_target(listen);
	u = xasprintf("http://%s", t);
	free(t);
	return u;
}

static int
parse_notify(struct ctx *c, const struct ynode *top, struct conf_notify *nf,
    const struct conf_server *sv)
{
	static const char *const keys[] = { "spool", "max_spool", "interval",
	    "digest", "group_wait", "max_backoff", "alert_ttl", "ui_url",
	    "spike", "receivers", NULL };
	const char		*w = "in notify";
	const struct ynode	*m, *items, *n;
	char			*spool = NULL;
	size_t			 i, j, nitems;

	if ((m = map_get(top, "notify")) == NULL)
		return 0;
	nf->enabled = 1;
	nf->pos = m->pos;
	nf->max_spool = 64 << 20;
	nf->interval_ms = 3600000;
	nf->digest = 5;
	nf->group_wait_ms = 1000;
	nf->max_backoff_ms = 60000;
	nf->alert_ttl_ms = 3600000;
	if (m->type != Y_NULL && (want(c, m, Y_MAP, "notify",
	    "at the top level") == -1 || check_map(c, m, w, keys) == -1 ||
	    get_str(c, m, "spool", w, &spool) == -1 ||
	    get_uint(c, m, "max_spool", w, UINT64_MAX / 2, &nf->max_spool,
	    NULL) == -1 ||
	    get_dur(c, m, "interval", w, &nf->interval_ms) == -1 ||
	    get_uint(c, m, "digest", w, 1000000, &nf->digest, NULL) == -1 ||
	    get_dur(c, m, "group_wait", w, &nf->group_wait_ms) == -1 ||
	    get_dur(c, m, "max_backoff", w, &nf->max_backoff_ms) == -1 ||
	    get_dur(c, m, "alert_ttl", w, &nf->alert_ttl_ms) == -1 ||
	    get_str(c, m, "ui_url", w, &nf->ui_url) == -1 ||
	    parse_spike(c, m, nf) == -1)) {
		free(spool);
		return -1;
	}
	nf->spool = join_dir(c, spool != NULL && spool[0] != '\0' ? spool :
	    "notify");
	free(spool);
	if (nf->ui_url == NULL || nf->ui_url[0] == '\0') {
		free(nf->ui_url);
		nf->ui_url = ui_url_of(sv->listen);
	} else if (valid_url(c, map_get(m, "ui_url"), nf->ui_url) == -1)
		return -1;
	if (m->type == Y_NULL)
		return cerr(c, m->pos, "notify needs \"receivers\"");
	if ((n = map_get(m, "max_spool")) != NULL && nf->max_spool < 4096)
		return cerr(c, n->pos, "\"max_spool\" in notify must be at "
		    "least 4096 bytes");
	if (get_maps(c, m, "receivers", w, &items, &nitems) == -1)
		return -1;
	if (nitems == 0)
		return cerr(c, m->pos, "notify needs \"receivers\"");
	nf->receivers = xcalloc(nitems, sizeof(*nf->receivers));
	for (i = 0; i < nitems; i++) {
		nf->nreceivers++;
		if (parse_receiver(c, &items[i], &nf->receivers[i]) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(nf->receivers[j].name,
			    nf->receivers[i].name) == 0)
				return cerr(c, nf->receivers[i].pos,
				    "duplicate receiver name \"%s\" (first at "
				    "%d:%d)", nf->receivers[i].name,
				    nf->receivers[j].pos.line,
				    nf->receivers[j].pos.col);
	}
	return 0;
}

static char *
dir_of(const char *path)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static int
parse_conf(struct ctx *c, const struct ynode *root, struct conf *cf)
{
	static const char *const keys[] = { "services", "repository",
	    "server", "pushgateway", "notify", NULL };
	const struct ynode	*n, *items;
	size_t			 i, j, nitems;

	if (root->type == Y_NULL)
		return parse_server(c, root, &cf->server);
	if (root->type != Y_MAP)
		return cerr(c, root->pos, "expected a mapping at the top "
		    "level, not %s", tname(root->type));
	if (check_map(c, root, "at the top level", keys) == -1)
		return -1;
	if ((n = map_get(root, "services")) != NULL && n->type != Y_NULL &&
	    want(c, n, Y_SEQ, "services", "at the top level") == -1)
		return -1;
	if (get_maps(c, root, "services", "at the top level", &items,
	    &nitems) == -1)
		return -1;
	cf->services = xcalloc(nitems ? nitems : 1, sizeof(*cf->services));
	for (i = 0; i < nitems; i++) {
		cf->nservices++;
		if (parse_service(c, &items[i], &cf->services[i]) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(cf->services[j].name,
			    cf->services[i].name) == 0)
				return cerr(c, cf->services[i].pos,
				    "duplicate service name \"%s\" (first at "
				    "%d:%d)", cf->services[i].name,
				    cf->services[j].pos.line,
				    cf->services[j].pos.col);
	}
	if (parse_repository(c, root, &cf->repository) == -1 ||
	    parse_server(c, root, &cf->server) == -1 ||
	    parse_pushgateway(c, root, &cf->pushgateway) == -1 ||
	    parse_notify(c, root, &cf->notify, &cf->server) == -1)
		return -1;
	if (cf->pushgateway.enabled)
		add_pushgateway(cf);
	return 0;
}

struct conf *
conf_parse(const char *buf, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct ctx	 c;
	struct ynode	 root;
	struct conf	*cf;
	char		 yerr[512];
	int		 rc;

	cf = xcalloc(1, sizeof(*cf));
	cf->path = xstrdup(name);
	cf->dir = dir_of(name);
	c.name = name;
	c.dir = cf->dir;
	c.err = err;
	c.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((rc = ytree_parse(buf, len, MAX_DEPTH, &root, yerr,
	    sizeof(yerr))) == -1) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s:%s", name, yerr);
	} else
		rc = parse_conf(&c, &root, cf);
	ytree_release(&root);
	if (rc == -1) {
		conf_free(cf);
		/* Callers tell a bad file (78) from a missing one by errno. */
		errno = 0;
		return NULL;
	}
	return cf;
}

struct conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct conf	*cf;
	FILE		*fp;
	char		*buf = NULL;
	size_t		 len = 0, cap = 0, n;
	int		 saved;

	if ((fp = fopen(path, "r")) == NULL)
		goto fail;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = xreallocarray(buf, cap, 1);
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		saved = errno;
		fclose(fp);
		free(buf);
		errno = saved;
		goto fail;
	}
	fclose(fp);
	cf = conf_parse(buf, len, path, err, errlen);
	free(buf);
	return cf;
fail:
	saved = errno;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
	errno = saved;
	return NULL;
}

static void
service_release(struct conf_service *s)
{
	struct conf_consul_sd	*cs;
	size_t			 i;

	free(s->name);
	for (i = 0; i < s->nstatic_configs; i++) {
		strv_free(s->static_configs[i].targets,
		    s->static_configs[i].ntargets);
		labels_release(&s->static_configs[i].labels);
	}
	free(s->static_configs);
	for (i = 0; i < s->nfile_sd_configs; i++)
		strv_free(s->file_sd_configs[i].files,
		    s->file_sd_configs[i].nfiles);
	free(s->file_sd_configs);
	for (i = 0; i < s->ndns_sd_configs; i++)
		strv_free(s->dns_sd_configs[i].names,
		    s->dns_sd_configs[i].nnames);
	free(s->dns_sd_configs);
	for (i = 0; i < s->nhttp_sd_configs; i++) {
		free(s->http_sd_configs[i].url);
		http_auth_release(&s->http_sd_configs[i].auth);
	}
	free(s->http_sd_configs);
	for (i = 0; i < s->nconsul_sd_configs; i++) {
		cs = &s->consul_sd_configs[i];
		free(cs->server);
		free(cs->path_prefix);
		free(cs->token);
		free(cs->datacenter);
		free(cs->namespace);
		free(cs->partition);
		free(cs->tag_separator);
		free(cs->scheme);
		strv_free(cs->services, cs->nservices);
		strv_free(cs->tags, cs->ntags);
		labels_release(&cs->node_meta);
		http_auth_release(&cs->auth);
	}
	free(s->consul_sd_configs);
	for (i = 0; i < s->nkubernetes_sd_configs; i++) {
		free(s->kubernetes_sd_configs[i].api_server);
		strv_free(s->kubernetes_sd_configs[i].namespaces,
		    s->kubernetes_sd_configs[i].nnamespaces);
		http_auth_release(&s->kubernetes_sd_configs[i].auth);
	}
	free(s->kubernetes_sd_configs);
	for (i = 0; i < s->nrelabel_configs; i++) {
		strv_free(s->relabel_configs[i].source_labels,
		    s->relabel_configs[i].nsource_labels);
		free(s->relabel_configs[i].separator);
		free(s->relabel_configs[i].regex);
		free(s->relabel_configs[i].target_label);
		free(s->relabel_configs[i].replacement);
	}
	free(s->relabel_configs);
	free(s->scraper.endpoint);
	free(s->scraper.scheme);
	http_auth_release(&s->scraper.auth);
	tls_release(&s->scraper.tls);
}

static void
receiver_release(struct conf_receiver *r)
{
	free(r->name);
	free(r->url);
	free(r->command);
	strv_free(r->headers, r->nheaders);
	free(r->token_file);
	strv_free(r->kinds, r->nkinds);
	strv_free(r->services, r->nservices);
	strv_free(r->severities, r->nseverities);
}

void
conf_free(struct conf *cf)
{
	size_t	 i;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->nservices; i++)
		service_release(&cf->services[i]);
	free(cf->services);
	free(cf->repository.type);
	free(cf->repository.path);
	free(cf->repository.dsn);
	free(cf->server.listen);
	free(cf->pushgateway.listen);
	free(cf->pushgateway.service);
	free(cf->pushgateway.state);
	free(cf->pushgateway.token_file);
	for (i = 0; i < cf->notify.nreceivers; i++)
		receiver_release(&cf->notify.receivers[i]);
	free(cf->notify.receivers);
	free(cf->notify.spool);
	free(cf->notify.ui_url);
	free(cf->path);
	free(cf->dir);
	free(cf);
}

char *
conf_db_uri(const struct conf *cf)
{
	const struct conf_repository	*r = &cf->repository;

	if (r->type == NULL)
		return NULL;
	if (strcmp(r->type, "sqlite") == 0) {
		if (r->path[0] == '/' || strcmp(cf->dir, ".") == 0)
			return xasprintf("sqlite:%s", r->path);
		return xasprintf("sqlite:%s/%s", cf->dir, r->path);
	}
	if (strcmp(r->type, "memory") == 0)
		return xstrdup("memory:");
	if (strcmp(r->type, "mysql") == 0)
		return xasprintf("mysql:%s", r->dsn);
	return xstrdup(r->dsn);
}

int
conf_check_ok(void)
{
	printf("configuration OK\n");
	return fflush(stdout) == EOF || ferror(stdout) ? EX_IOERR : 0;
}
