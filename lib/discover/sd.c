/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing file, HTTP, Consul and Kubernetes SD documents into target groups. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "jdoc.h"
#include "sd.h"
#include "xalloc.h"
#include "yamltree.h"

#define MAX_DEPTH	32

static int	fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void
sd_groups_init(struct sd_groups *g)
{
	memset(g, 0, sizeof(*g));
}

static void
group_release(struct sd_group *g)
{
	size_t	 i;

	labels_release(&g->labels);
	for (i = 0; i < g->ntargets; i++)
		labels_release(&g->targets[i]);
	free(g->targets);
	memset(g, 0, sizeof(*g));
}

void
sd_groups_release(struct sd_groups *g)
{
	size_t	 i;

	for (i = 0; i < g->n; i++)
		group_release(&g->v[i]);
	free(g->v);
	sd_groups_init(g);
}

struct sd_group *
sd_groups_add(struct sd_groups *g)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 4;
		g->v = xreallocarray(g->v, g->cap, sizeof(*g->v));
	}
	memset(&g->v[g->n], 0, sizeof(g->v[g->n]));
	return &g->v[g->n++];
}

struct labelset *
sd_group_add_target(struct sd_group *g)
{
	if (g->ntargets == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 4;
		g->targets = xreallocarray(g->targets, g->cap,
		    sizeof(*g->targets));
	}
	labels_init(&g->targets[g->ntargets]);
	return &g->targets[g->ntargets++];
}

void
sd_groups_move(struct sd_groups *dst, struct sd_groups *src)
{
	size_t	 i;

	for (i = 0; i < src->n; i++)
		*sd_groups_add(dst) = src->v[i];
	free(src->v);
	sd_groups_init(src);
}

void
sd_groups_copy(struct sd_groups *dst, const struct sd_groups *src)
{
	struct sd_group	*g;
	size_t		 i, j;

	sd_groups_init(dst);
	for (i = 0; i < src->n; i++) {
		g = sd_groups_add(dst);
		labels_copy(&g->labels, &src->v[i].labels);
		for (j = 0; j < src->v[i].ntargets; j++)
			labels_copy(sd_group_add_target(g),
			    &src->v[i].targets[j]);
	}
}

void
sd_groups_flatten(const struct sd_groups *gs, struct labelset **out,
    size_t *nout)
{
	const struct sd_group	*g;
	struct labelset		*ls;
	size_t			 i, j, k, n = 0;

	for (i = 0; i < gs->n; i++)
		n += gs->v[i].ntargets;
	*out = xcalloc(n ? n : 1, sizeof(**out));
	*nout = n;
	n = 0;
	for (i = 0; i < gs->n; i++) {
		g = &gs->v[i];
		for (j = 0; j < g->ntargets; j++) {
			ls = &(*out)[n++];
			labels_copy(ls, &g->targets[j]);
			for (k = 0; k < g->labels.n; k++)
				if (labels_get(ls, g->labels.v[k].name) == NULL)
					labels_set(ls, g->labels.v[k].name,
					    g->labels.v[k].value);
		}
	}
}

char *
sd_sanitize(const char *s)
{
	char	*r = xstrdup(s), *p;

	for (p = r; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) || (unsigned char)*p > 127)
			if (*p != '_')
				*p = '_';
	return r;
}

void
sd_strv_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* JSON ---------------------------------------------------------------- */

/* A string member, or "" when absent, null or not a string. */
static const char *
jstr(const struct jval *o, const char *key)
{
	const struct jval	*v = jval_get(o, key);

	return v != NULL && v->type == J_STRING ? v->u.s : "";
}

static const struct jval *
jobj(const struct jval *o, const char *key)
{
	const struct jval	*v = jval_get(o, key);

	return v != NULL && v->type == J_OBJECT ? v : NULL;
}

static const struct jval *
jarr(const struct jval *o, const char *key)
{
	const struct jval	*v = jval_get(o, key);

	return v != NULL && v->type == J_ARRAY ? v : NULL;
}

/*
 * The elements of a, 0 when NULL: a member that is missing or no array
 * loops as an empty one, as json_array_foreach looped over it.
 */
static size_t
jlen(const struct jval *a)
{
	return a != NULL ? a->n : 0;
}

/*
 * An integer member, 0 when absent or anything else, a real included, as
 * json_integer_value read it: endpoint ports are matched this way.
 */
static long long
jinteger(const struct jval *o, const char *key)
{
	const struct jval	*v = jval_get(o, key);

	return v != NULL && v->type == J_INT ? (long long)v->u.i : 0;
}

/* An integer member as text, "0" when absent, as Go prints an int. */
static void
jint(const struct jval *o, const char *key, char *out, size_t len)
{
	const struct jval	*v = jval_get(o, key);

	if (v != NULL && v->type == J_INT)
		snprintf(out, len, "%lld", (long long)v->u.i);
	else if (v != NULL && v->type == J_REAL && v->u.d > -9.2e18 &&
	    v->u.d < 9.2e18)
		/* Converting a double out of range is undefined: 7.7e79. */
		snprintf(out, len, "%lld", (long long)v->u.d);
	else
		snprintf(out, len, "0");
}

/* One Prometheus targetgroup.Group in JSON, with DisallowUnknownFields. */
static int
json_group(const struct jval *item, size_t idx, struct sd_group *g,
    char *err, size_t errlen)
{
	const struct jval	*v, *t, *ls;
	const char		*k;
	size_t			 i;

	if (item->type == J_NULL)
		return fail(err, errlen, "nil target group item found");
	if (item->type != J_OBJECT)
		return fail(err, errlen, "group %zu: expected an object", idx);
	for (i = 0; i < item->n; i++) {
		k = item->u.v[2 * i].u.s;
		if (strcmp(k, "targets") != 0 && strcmp(k, "labels") != 0)
			return fail(err, errlen, "group %zu: unknown field "
			    "\"%s\"", idx, k);
	}
	t = jval_get(item, "targets");
	if (t != NULL && t->type != J_NULL) {
		if (t->type != J_ARRAY)
			return fail(err, errlen, "group %zu: \"targets\" must "
			    "be a list of strings", idx);
		for (i = 0; i < t->n; i++) {
			v = &t->u.v[i];
			if (v->type != J_STRING && v->type != J_NULL)
				return fail(err, errlen, "group %zu: target "
				    "%zu is not a string", idx, i);
			labels_set(sd_group_add_target(g), "__address__",
			    v->type == J_STRING ? v->u.s : "");
		}
	}
	ls = jval_get(item, "labels");
	if (ls != NULL && ls->type != J_NULL) {
		if (ls->type != J_OBJECT)
			return fail(err, errlen, "group %zu: \"labels\" must "
			    "be an object", idx);
		for (i = 0; i < ls->n; i++) {
			k = ls->u.v[2 * i].u.s;
			v = &ls->u.v[2 * i + 1];
			if (!labels_valid_name(k))
				return fail(err, errlen, "group %zu: \"%s\" is "
				    "not a valid label name", idx, k);
			if (v->type != J_STRING && v->type != J_NULL)
				return fail(err, errlen, "group %zu: label "
				    "\"%s\" is not a string", idx, k);
			labels_set(&g->labels, k, v->type == J_STRING ?
			    v->u.s : "");
		}
	}
	return 0;
}

/* A JSON list of groups; meta=value is set on each group. */
static int
json_groups(const char *buf, size_t len, const char *meta,
    const char *value, struct sd_groups *out, char *err, size_t errlen)
{
	struct sd_groups	 gs;
	const struct jval	*j;
	struct jdoc		*d;
	size_t			 i;
	int			 rc = 0;

	if ((d = jdoc_parse(buf, len, err, errlen)) == NULL)
		return -1;
	j = jdoc_root(d);
	sd_groups_init(&gs);
	if (j->type == J_ARRAY) {
		for (i = 0; i < j->n; i++) {
			if ((rc = json_group(&j->u.v[i], i, sd_groups_add(&gs),
			    err, errlen)) == -1)
				break;
			labels_set(&gs.v[gs.n - 1].labels, meta, value);
		}
	} else if (j->type != J_NULL)
		rc = fail(err, errlen, "expected a list of target groups");
	jdoc_free(d);
	if (rc == -1)
		sd_groups_release(&gs);
	else
		sd_groups_move(out, &gs);
	return rc;
}

/* YAML ---------------------------------------------------------------- */

static int
yaml_group(const struct ynode *m, struct sd_group *g, char *err,
    size_t errlen)
{
	const struct ynode	*k, *v;
	size_t			 i, j;
	int			 seen_t = 0, seen_l = 0;

	if (m->type == Y_NULL)
		return fail(err, errlen, "%d:%d: nil target group item found",
		    m->pos.line, m->pos.col);
	if (m->type != Y_MAP)
		return fail(err, errlen, "%d:%d: a target group must be a "
		    "mapping", m->pos.line, m->pos.col);
	for (i = 0; i + 1 < m->n; i += 2) {
		k = &m->kids[i];
		v = &m->kids[i + 1];
		if (k->type != Y_STR || (strcmp(k->s, "targets") != 0 &&
		    strcmp(k->s, "labels") != 0))
			return fail(err, errlen, "%d:%d: unknown field \"%s\" "
			    "in a target group", k->pos.line, k->pos.col,
			    k->s ? k->s : "");
		if ((strcmp(k->s, "targets") == 0 && seen_t++) ||
		    (strcmp(k->s, "labels") == 0 && seen_l++))
			return fail(err, errlen, "%d:%d: duplicate key "
			    "\"%s\"", k->pos.line, k->pos.col, k->s);
		if (v->type == Y_NULL)
			continue;
		if (strcmp(k->s, "targets") == 0) {
			if (v->type != Y_SEQ)
				return fail(err, errlen, "%d:%d: \"targets\" "
				    "must be a list of strings", v->pos.line,
				    v->pos.col);
			for (j = 0; j < v->n; j++) {
				if (v->kids[j].type == Y_SEQ ||
				    v->kids[j].type == Y_MAP)
					return fail(err, errlen, "%d:%d: a "
					    "target must be a string",
					    v->kids[j].pos.line, v->kids[j].pos.col);
				labels_set(sd_group_add_target(g),
				    "__address__", v->kids[j].s ?
				    v->kids[j].s : "");
			}
			continue;
		}
		if (v->type != Y_MAP)
			return fail(err, errlen, "%d:%d: \"labels\" must be a "
			    "mapping", v->pos.line, v->pos.col);
		for (j = 0; j + 1 < v->n; j += 2) {
			k = &v->kids[j];
			if (k->type != Y_STR || !labels_valid_name(k->s))
				return fail(err, errlen, "%d:%d: \"%s\" is not "
				    "a valid label name", k->pos.line, k->pos.col,
				    k->s ? k->s : "");
			if (v->kids[j + 1].type == Y_SEQ ||
			    v->kids[j + 1].type == Y_MAP)
				return fail(err, errlen, "%d:%d: label \"%s\" "
				    "must be a string", v->kids[j + 1].pos.line,
				    v->kids[j + 1].pos.col, k->s);
			labels_set(&g->labels, k->s, v->kids[j + 1].s);
		}
	}
	return 0;
}

static int
yaml_groups(const char *buf, size_t len, const char *meta,
    const char *value, struct sd_groups *out, char *err, size_t errlen)
{
	struct sd_groups	 gs;
	struct ynode		 root;
	size_t			 i;
	int			 rc = 0;

	if (ytree_parse(buf, len, MAX_DEPTH, &root, err, errlen) == -1) {
		ytree_release(&root);
		return -1;
	}
	sd_groups_init(&gs);
	if (root.type == Y_SEQ) {
		for (i = 0; i < root.n; i++) {
			if ((rc = yaml_group(&root.kids[i], sd_groups_add(&gs),
			    err, errlen)) == -1)
				break;
			labels_set(&gs.v[gs.n - 1].labels, meta, value);
		}
	} else if (root.type != Y_NULL)
		rc = fail(err, errlen, "%d:%d: expected a list of target "
		    "groups", root.pos.line, root.pos.col);
	ytree_release(&root);
	if (rc == -1)
		sd_groups_release(&gs);
	else
		sd_groups_move(out, &gs);
	return rc;
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t	 n = strlen(s), m = strlen(suf);

	return n >= m && strcasecmp(s + n - m, suf) == 0;
}

int
sd_parse_file(const char *buf, size_t len, const char *path,
    struct sd_groups *out, char *err, size_t errlen)
{
	if (has_suffix(path, ".yml") || has_suffix(path, ".yaml"))
		return yaml_groups(buf, len, "__meta_filepath", path, out,
		    err, errlen);
	return json_groups(buf, len, "__meta_filepath", path, out, err,
	    errlen);
}

int
sd_parse_http(const char *buf, size_t len, const char *url,
    struct sd_groups *out, char *err, size_t errlen)
{
	return json_groups(buf, len, "__meta_url", url, out, err, errlen);
}

/* Consul -------------------------------------------------------------- */

int
sd_consul_datacenter(const char *buf, size_t len, char **dc, char *err,
    size_t errlen)
{
	const struct jval	*d;
	struct jdoc		*j;
	int			 rc = 0;

	if ((j = jdoc_parse(buf, len, err, errlen)) == NULL)
		return -1;
	d = jval_get(jobj(jdoc_root(j), "Config"), "Datacenter");
	if (d == NULL || d->type != J_STRING)
		rc = fail(err, errlen, "invalid value for Config.Datacenter");
	else
		*dc = xstrdup(d->u.s);
	jdoc_free(j);
	return rc;
}

static int
strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
sd_consul_services(const char *buf, size_t len,
    const struct conf_consul_sd *cf, char ***names, size_t *n, char *err,
    size_t errlen)
{
	const struct jval	*o, *tags;
	const char		*name;
	struct jdoc		*j;
	size_t			 i, k, m, cnt = 0;
	int			 ok;

	*names = NULL;
	*n = 0;
	if ((j = jdoc_parse(buf, len, err, errlen)) == NULL)
		return -1;
	o = jdoc_root(j);
	if (o->type != J_OBJECT) {
		jdoc_free(j);
		return fail(err, errlen, "expected an object of services");
	}
	*names = xcalloc(o->n + 1, sizeof(**names));
	for (m = 0; m < o->n; m++) {
		name = o->u.v[2 * m].u.s;
		/* Tags that are not a list are no tags. */
		tags = o->u.v[2 * m + 1].type == J_ARRAY ? &o->u.v[2 * m + 1] :
		    NULL;
		ok = cf->nservices == 0;
		for (i = 0; i < cf->nservices && !ok; i++)
			ok = strcmp(cf->services[i], name) == 0;
		/* Every configured tag must be among the service's. */
		for (i = 0; i < cf->ntags && ok; i++) {
			ok = 0;
			for (k = 0; k < jlen(tags); k++)
				if (tags->u.v[k].type == J_STRING &&
				    strcmp(cf->tags[i], tags->u.v[k].u.s) == 0)
					ok = 1;
		}
		if (ok)
			(*names)[cnt++] = xstrdup(name);
	}
	jdoc_free(j);
	qsort(*names, cnt, sizeof(**names), strcmp_p);
	*n = cnt;
	return 0;
}

/* api.HealthChecks.AggregatedStatus of Consul's Go client. */
static const char *
consul_health(const struct jval *checks)
{
	const struct jval	*c;
	const char		*id, *st;
	size_t			 i;
	int			 pass = 0, warn = 0, crit = 0, maint = 0;

	for (i = 0; i < jlen(checks); i++) {
		c = &checks->u.v[i];
		id = jstr(c, "CheckID");
		st = jstr(c, "Status");
		if (strcmp(id, "_node_maintenance") == 0 ||
		    strncmp(id, "_service_maintenance:", 21) == 0) {
			maint = 1;
			continue;
		}
		if (strcmp(st, "passing") == 0)
			pass = 1;
		else if (strcmp(st, "warning") == 0)
			warn = 1;
		else if (strcmp(st, "critical") == 0)
			crit = 1;
		else
			return "";
	}
	if (maint)
		return "maintenance";
	if (crit)
		return "critical";
	if (warn)
		return "warning";
	(void)pass;
	return "passing";
}

/* Go's net.JoinHostPort: brackets around a host with a colon. */
static char *
join_host_port(const char *host, const char *port)
{
	if (strchr(host, ':') != NULL)
		return xasprintf("[%s]:%s", host, port);
	return xasprintf("%s:%s", host, port);
}

/* Sets PREFIX+sanitized(key) = value for each member of object o. */
static void
set_map(struct labelset *ls, const char *prefix, const struct jval *o,
    const char *present)
{
	const struct jval	*v;
	size_t			 i;
	char			*san, *name;

	if (o == NULL || o->type != J_OBJECT)
		return;
	for (i = 0; i < o->n; i++) {
		v = &o->u.v[2 * i + 1];
		san = sd_sanitize(o->u.v[2 * i].u.s);
		name = xasprintf("%s%s", prefix, san);
		labels_set(ls, name, v->type == J_STRING ? v->u.s : "");
		free(name);
		if (present != NULL) {
			name = xasprintf("%s%s", present, san);
			labels_set(ls, name, "true");
			free(name);
		}
		free(san);
	}
}

int
sd_consul_health(const char *buf, size_t len, const char *name,
    const char *dc, const struct conf_consul_sd *cf, struct sd_groups *out,
    char *err, size_t errlen)
{
	struct sd_group		*g;
	struct labelset		*t;
	struct buf		 tags;
	const struct jval	*j, *e, *node, *svc, *tv;
	const char		*addr, *sep = cf->tag_separator;
	struct jdoc		*d;
	size_t			 i, k;
	char			 port[32], *hp;

	if ((d = jdoc_parse(buf, len, err, errlen)) == NULL)
		return -1;
	j = jdoc_root(d);
	if (j->type != J_ARRAY) {
		jdoc_free(d);
		return fail(err, errlen, "expected a list of service entries");
	}
	g = sd_groups_add(out);
	labels_set(&g->labels, "__meta_consul_service", name);
	labels_set(&g->labels, "__meta_consul_dc", dc);
	buf_init(&tags);
	for (i = 0; i < j->n; i++) {
		e = &j->u.v[i];
		node = jobj(e, "Node");
		svc = jobj(e, "Service");
		if (node == NULL || svc == NULL)
			continue;
		/* Separators around the list spare regexes edge cases. */
		buf_reset(&tags);
		buf_adds(&tags, sep);
		tv = jarr(svc, "Tags");
		for (k = 0; k < jlen(tv); k++) {
			if (k > 0)
				buf_adds(&tags, sep);
			if (tv->u.v[k].type == J_STRING)
				buf_adds(&tags, tv->u.v[k].u.s);
		}
		buf_adds(&tags, sep);
		jint(svc, "Port", port, sizeof(port));
		addr = jstr(svc, "Address");
		if (*addr == '\0')
			addr = jstr(node, "Address");
		hp = join_host_port(addr, port);
		t = sd_group_add_target(g);
		labels_set(t, "__address__", hp);
		free(hp);
		labels_set(t, "__meta_consul_address", jstr(node, "Address"));
		labels_set(t, "__meta_consul_node", jstr(node, "Node"));
		labels_set(t, "__meta_consul_namespace", jstr(svc,
		    "Namespace"));
		labels_set(t, "__meta_consul_partition", jstr(svc,
		    "Partition"));
		labels_set(t, "__meta_consul_tags", tags.p);
		labels_set(t, "__meta_consul_service_address", jstr(svc,
		    "Address"));
		labels_set(t, "__meta_consul_service_port", port);
		labels_set(t, "__meta_consul_service_id", jstr(svc, "ID"));
		labels_set(t, "__meta_consul_health",
		    consul_health(jarr(e, "Checks")));
		set_map(t, "__meta_consul_metadata_", jval_get(node, "Meta"),
		    NULL);
		set_map(t, "__meta_consul_service_metadata_",
		    jval_get(svc, "Meta"), NULL);
		set_map(t, "__meta_consul_tagged_address_",
		    jval_get(node, "TaggedAddresses"), NULL);
	}
	buf_release(&tags);
	jdoc_free(d);
	return 0;
}

/* Kubernetes ---------------------------------------------------------- */

#define K8S	"__meta_kubernetes_"

/*
 * Reads a list object into a document the caller frees; *items is its
 * "items" array, or NULL when the member is absent or null, which reads
 * as an empty list.
 */
static struct jdoc *
k8s_items(const char *buf, size_t len, const char *what,
    const struct jval **items, char *err, size_t errlen)
{
	const struct jval	*root, *v = NULL;
	struct jdoc		*d;

	*items = NULL;
	if ((d = jdoc_parse(buf, len, err, errlen)) == NULL)
		return NULL;
	root = jdoc_root(d);
	if (root->type != J_OBJECT || ((v = jval_get(root, "items")) !=
	    NULL && v->type != J_ARRAY && v->type != J_NULL)) {
		jdoc_free(d);
		fail(err, errlen, "expected a %s list object", what);
		return NULL;
	}
	if (v != NULL && v->type == J_ARRAY)
		*items = v;
	return d;
}

/* Finds the item of list with metadata namespace and name. */
static const struct jval *
k8s_find(const struct jval *list, const char *ns, const char *name)
{
	const struct jval	*md;
	size_t			 i;

	for (i = 0; i < jlen(list); i++) {
		md = jobj(&list->u.v[i], "metadata");
		if (md != NULL && strcmp(jstr(md, "namespace"), ns) == 0 &&
		    strcmp(jstr(md, "name"), name) == 0)
			return &list->u.v[i];
	}
	return NULL;
}

static void
k8s_meta(struct labelset *ls, const struct jval *md, const char *role)
{
	char	*p, *pp;

	p = xasprintf(K8S "%s_label_", role);
	pp = xasprintf(K8S "%s_labelpresent_", role);
	set_map(ls, p, jval_get(md, "labels"), pp);
	free(p);
	free(pp);
	p = xasprintf(K8S "%s_annotation_", role);
	pp = xasprintf(K8S "%s_annotationpresent_", role);
	set_map(ls, p, jval_get(md, "annotations"), pp);
	free(p);
	free(pp);
}

/* The Ready condition's status in lower case, into low. */
static const char *
pod_ready(const struct jval *pod, char *low, size_t len)
{
	const struct jval	*cs, *c;
	const char		*s;
	size_t			 i, k;

	cs = jarr(jobj(pod, "status"), "conditions");
	for (i = 0; i < jlen(cs); i++) {
		c = &cs->u.v[i];
		if (strcmp(jstr(c, "type"), "Ready") != 0)
			continue;
		s = jstr(c, "status");
		for (k = 0; s[k] != '\0' && k < len - 1; k++)
			low[k] = (char)tolower((unsigned char)s[k]);
		low[k] = '\0';
		return low;
	}
	return "unknown";
}

static void
pod_labels(struct labelset *ls, const struct jval *pod)
{
	const struct jval	*md = jobj(pod, "metadata");
	const struct jval	*spec = jobj(pod, "spec");
	const struct jval	*st = jobj(pod, "status");
	const struct jval	*refs, *o, *ctl;
	size_t			 i;
	char			 low[32];

	labels_set(ls, K8S "pod_name", jstr(md, "name"));
	labels_set(ls, K8S "pod_ip", jstr(st, "podIP"));
	labels_set(ls, K8S "pod_ready", pod_ready(pod, low, sizeof(low)));
	labels_set(ls, K8S "pod_phase", jstr(st, "phase"));
	labels_set(ls, K8S "pod_node_name", jstr(spec, "nodeName"));
	labels_set(ls, K8S "pod_host_ip", jstr(st, "hostIP"));
	labels_set(ls, K8S "pod_uid", jstr(md, "uid"));
	refs = jarr(md, "ownerReferences");
	for (i = 0; i < jlen(refs); i++) {
		o = &refs->u.v[i];
		ctl = jval_get(o, "controller");
		if (ctl == NULL || ctl->type != J_TRUE)
			continue;
		labels_set(ls, K8S "pod_controller_kind", jstr(o, "kind"));
		labels_set(ls, K8S "pod_controller_name", jstr(o, "name"));
		break;
	}
	k8s_meta(ls, md, "pod");
}

/*
 * The labels of container c's port cp, numbered number; the protocol is
 * the endpoint port's where one covers it.
 */
static void
container_labels(struct labelset *t, const struct jval *c,
    const struct jval *cp, const char *number, const char *protocol)
{
	labels_set(t, K8S "pod_container_name", jstr(c, "name"));
	labels_set(t, K8S "pod_container_image", jstr(c, "image"));
	labels_set(t, K8S "pod_container_port_name", jstr(cp, "name"));
	labels_set(t, K8S "pod_container_port_number", number);
	labels_set(t, K8S "pod_container_port_protocol", protocol);
}

static void
pod_group(const struct jval *pod, struct sd_groups *out)
{
	const struct jval	*md = jobj(pod, "metadata");
	const struct jval	*spec = jobj(pod, "spec");
	const struct jval	*cs, *c, *ports, *p;
	const char		*ip = jstr(jobj(pod, "status"), "podIP");
	const char		*lists[2] = { "containers", "initContainers" };
	struct sd_group		*g;
	struct labelset		*t;
	size_t			 l, i, k;
	char			 port[32], *hp;

	g = sd_groups_add(out);
	/* A starting or evicted pod has no IP yet: an empty group. */
	if (*ip == '\0')
		return;
	pod_labels(&g->labels, pod);
	labels_set(&g->labels, K8S "namespace", jstr(md, "namespace"));
	for (l = 0; l < 2; l++) {
		cs = jarr(spec, lists[l]);
		for (i = 0; i < jlen(cs); i++) {
			c = &cs->u.v[i];
			ports = jarr(c, "ports");
			if (jlen(ports) == 0) {
				t = sd_group_add_target(g);
				labels_set(t, "__address__", ip);
				labels_set(t, K8S "pod_container_name",
				    jstr(c, "name"));
				labels_set(t, K8S "pod_container_image",
				    jstr(c, "image"));
				labels_set(t, K8S "pod_container_init",
				    l ? "true" : "false");
				continue;
			}
			for (k = 0; k < ports->n; k++) {
				p = &ports->u.v[k];
				jint(p, "containerPort", port, sizeof(port));
				hp = join_host_port(ip, port);
				t = sd_group_add_target(g);
				labels_set(t, "__address__", hp);
				free(hp);
				container_labels(t, c, p, port,
				    jstr(p, "protocol"));
				labels_set(t, K8S "pod_container_init",
				    l ? "true" : "false");
			}
		}
	}
}

static void
service_labels(struct labelset *ls, const struct jval *svc)
{
	const struct jval	*md = jobj(svc, "metadata");

	labels_set(ls, K8S "service_name", jstr(md, "name"));
	labels_set(ls, K8S "namespace", jstr(md, "namespace"));
	k8s_meta(ls, md, "service");
}

static void
service_group(const struct jval *svc, struct sd_groups *out)
{
	const struct jval	*md = jobj(svc, "metadata");
	const struct jval	*spec = jobj(svc, "spec");
	const struct jval	*ports, *p, *ings, *ing;
	const char		*type = jstr(spec, "type");
	struct sd_group		*g;
	struct labelset		*t;
	size_t			 i;
	char			 port[32], *host, *hp;

	g = sd_groups_add(out);
	service_labels(&g->labels, svc);
	host = xasprintf("%s.%s.svc", jstr(md, "name"), jstr(md,
	    "namespace"));
	/* The first ingress, whatever it is: jstr reads "" from the rest. */
	ings = jarr(jobj(jobj(svc, "status"), "loadBalancer"), "ingress");
	ing = jlen(ings) > 0 ? &ings->u.v[0] : NULL;
	ports = jarr(spec, "ports");
	for (i = 0; i < jlen(ports); i++) {
		p = &ports->u.v[i];
		jint(p, "port", port, sizeof(port));
		hp = join_host_port(host, port);
		t = sd_group_add_target(g);
		labels_set(t, "__address__", hp);
		free(hp);
		labels_set(t, K8S "service_port_name", jstr(p, "name"));
		labels_set(t, K8S "service_port_number", port);
		labels_set(t, K8S "service_port_protocol", jstr(p,
		    "protocol"));
		labels_set(t, K8S "service_type", type);
		if (strcmp(type, "ExternalName") == 0)
			labels_set(t, K8S "service_external_name",
			    jstr(spec, "externalName"));
		else
			labels_set(t, K8S "service_cluster_ip",
			    jstr(spec, "clusterIP"));
		if (strcmp(type, "LoadBalancer") == 0 && ing != NULL)
			labels_set(t, K8S "service_loadbalancer_ip",
			    jstr(ing, "ip"));
	}
	free(host);
}

/* The pods an endpoints object named, with the ports already covered. */
struct seen_pod {
	const struct jval	 *pod;
	long long		 *ports;
	size_t			  nports;
};

static void
endpoint_target(struct sd_group *g, const struct jval *addr,
    const struct jval *port, const char *ready, const struct jval *pods,
    struct seen_pod **seen, size_t *nseen)
{
	const struct jval	*ref = jobj(addr, "targetRef"), *pod = NULL;
	const struct jval	*cs, *c, *cps, *cp;
	struct labelset		*t;
	struct seen_pod		*sp = NULL;
	long long		 pn;
	size_t			 i, k, s;
	char			 ps[32], *hp;

	pn = jinteger(port, "port");
	snprintf(ps, sizeof(ps), "%lld", pn);
	hp = join_host_port(jstr(addr, "ip"), ps);
	t = sd_group_add_target(g);
	labels_set(t, "__address__", hp);
	free(hp);
	labels_set(t, K8S "endpoint_port_name", jstr(port, "name"));
	labels_set(t, K8S "endpoint_port_protocol", jstr(port, "protocol"));
	labels_set(t, K8S "endpoint_ready", ready);
	if (ref != NULL) {
		labels_set(t, K8S "endpoint_address_target_kind",
		    jstr(ref, "kind"));
		labels_set(t, K8S "endpoint_address_target_name",
		    jstr(ref, "name"));
	}
	labels_set(t, K8S "endpoint_node_name", jstr(addr, "nodeName"));
	labels_set(t, K8S "endpoint_hostname", jstr(addr, "hostname"));
	if (ref != NULL && strcmp(jstr(ref, "kind"), "Pod") == 0)
		pod = k8s_find(pods, jstr(ref, "namespace"), jstr(ref,
		    "name"));
	if (pod == NULL)
		return;
	for (s = 0; s < *nseen; s++)
		if ((*seen)[s].pod == pod)
			sp = &(*seen)[s];
	if (sp == NULL) {
		*seen = xreallocarray(*seen, *nseen + 1, sizeof(**seen));
		sp = &(*seen)[(*nseen)++];
		memset(sp, 0, sizeof(*sp));
		sp->pod = pod;
	}
	pod_labels(t, pod);
	cs = jarr(jobj(pod, "spec"), "containers");
	for (i = 0; i < jlen(cs); i++) {
		c = &cs->u.v[i];
		cps = jarr(c, "ports");
		for (k = 0; k < jlen(cps); k++) {
			cp = &cps->u.v[k];
			if (jinteger(cp, "containerPort") != pn)
				continue;
			container_labels(t, c, cp, ps, jstr(port, "protocol"));
			break;
		}
	}
	sp->ports = xreallocarray(sp->ports, sp->nports + 1,
	    sizeof(*sp->ports));
	sp->ports[sp->nports++] = pn;
}

/* The container ports of a seen pod that no endpoint covered. */
static void
uncovered_targets(struct sd_group *g, const struct seen_pod *sp)
{
	const struct jval	*cs, *c, *cps, *cp;
	struct labelset		*t;
	long long		 pn;
	size_t			 i, k, q;
	char			 ps[32], *hp;
	int			 covered;

	cs = jarr(jobj(sp->pod, "spec"), "containers");
	for (i = 0; i < jlen(cs); i++) {
		c = &cs->u.v[i];
		cps = jarr(c, "ports");
		for (k = 0; k < jlen(cps); k++) {
			cp = &cps->u.v[k];
			pn = jinteger(cp, "containerPort");
			covered = 0;
			for (q = 0; q < sp->nports; q++)
				if (sp->ports[q] == pn)
					covered = 1;
			if (covered)
				continue;
			snprintf(ps, sizeof(ps), "%lld", pn);
			hp = join_host_port(jstr(jobj(sp->pod, "status"),
			    "podIP"), ps);
			t = sd_group_add_target(g);
			labels_set(t, "__address__", hp);
			free(hp);
			container_labels(t, c, cp, ps, jstr(cp, "protocol"));
			pod_labels(t, sp->pod);
		}
	}
}

static void
endpoints_group(const struct jval *eps, const struct jval *svcs,
    const struct jval *pods, struct sd_groups *out)
{
	const struct jval	*md = jobj(eps, "metadata"), *svc;
	const struct jval	*sss, *ss, *ports, *port, *addrs;
	const char		*ns = jstr(md, "namespace");
	const char		*name = jstr(md, "name");
	struct sd_group		*g;
	struct seen_pod		*seen = NULL;
	size_t			 nseen = 0, i, j, k, s;

	g = sd_groups_add(out);
	labels_set(&g->labels, K8S "namespace", ns);
	labels_set(&g->labels, K8S "endpoints_name", name);
	if ((svc = k8s_find(svcs, ns, name)) != NULL)
		service_labels(&g->labels, svc);
	set_map(&g->labels, K8S "endpoints_label_",
	    jval_get(md, "labels"), K8S "endpoints_labelpresent_");
	sss = jarr(eps, "subsets");
	for (i = 0; i < jlen(sss); i++) {
		ss = &sss->u.v[i];
		ports = jarr(ss, "ports");
		for (j = 0; j < jlen(ports); j++) {
			port = &ports->u.v[j];
			addrs = jarr(ss, "addresses");
			for (k = 0; k < jlen(addrs); k++)
				endpoint_target(g, &addrs->u.v[k], port,
				    "true", pods, &seen, &nseen);
			addrs = jarr(ss, "notReadyAddresses");
			for (k = 0; k < jlen(addrs); k++)
				endpoint_target(g, &addrs->u.v[k], port,
				    "false", pods, &seen, &nseen);
		}
	}
	/* Container ports no endpoint covered get targets of their own. */
	for (s = 0; s < nseen; s++) {
		uncovered_targets(g, &seen[s]);
		free(seen[s].ports);
	}
	free(seen);
}

int
sd_k8s_groups(enum k8s_role role, const char *list, size_t len,
    const char *services, size_t slen, const char *pods, size_t plen,
    struct sd_groups *out, char *err, size_t errlen)
{
	static const char *const what[] = { "EndpointsList", "PodList",
	    "ServiceList" };
	struct sd_groups	 gs;
	const struct jval	*items, *sitems = NULL, *pitems = NULL, *it;
	struct jdoc		*root, *sroot = NULL, *proot = NULL;
	size_t			 i;
	int			 rc = -1;

	if ((root = k8s_items(list, len, what[role], &items, err,
	    errlen)) == NULL)
		return -1;
	if (role == K8S_ENDPOINTS && services != NULL &&
	    (sroot = k8s_items(services, slen, "ServiceList", &sitems, err,
	    errlen)) == NULL)
		goto out;
	if (role == K8S_ENDPOINTS && pods != NULL &&
	    (proot = k8s_items(pods, plen, "PodList", &pitems, err,
	    errlen)) == NULL)
		goto out;
	sd_groups_init(&gs);
	for (i = 0; i < jlen(items); i++) {
		it = &items->u.v[i];
		if (it->type != J_OBJECT)
			continue;
		switch (role) {
		case K8S_POD:
			pod_group(it, &gs);
			break;
		case K8S_SERVICE:
			service_group(it, &gs);
			break;
		case K8S_ENDPOINTS:
			endpoints_group(it, sitems, pitems, &gs);
			break;
		}
	}
	sd_groups_move(out, &gs);
	rc = 0;
out:
	jdoc_free(root);
	jdoc_free(sroot);
	jdoc_free(proot);
	return rc;
}
