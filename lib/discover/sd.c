/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing file, HTTP, Consul and Kubernetes SD documents into target groups. */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
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

static json_t *
jparse(const char *buf, size_t len, char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*j;

	j = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (j == NULL)
		fail(err, errlen, "%d:%d: %s", je.line, je.column, je.text);
	return j;
}

/* A string member, or "" when absent, null or not a string. */
static const char *
jstr(const json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

static json_t *
jobj(const json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return json_is_object(v) ? v : NULL;
}

static json_t *
jarr(const json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return json_is_array(v) ? v : NULL;
}

/* An integer member as text, "0" when absent, as Go prints an int. */
static void
jint(const json_t *o, const char *key, char *out, size_t len)
{
	json_t	*v = json_object_get(o, key);

	if (json_is_integer(v))
		snprintf(out, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v) && json_real_value(v) > -9.2e18 &&
	    json_real_value(v) < 9.2e18)
		/* Converting a double out of range is undefined: 7.7e79. */
		snprintf(out, len, "%lld", (long long)json_real_value(v));
	else
		snprintf(out, len, "0");
}

/* One Prometheus targetgroup.Group in JSON, with DisallowUnknownFields. */
static int
json_group(json_t *item, size_t idx, struct sd_group *g, char *err,
    size_t errlen)
{
	const char	*k;
	json_t		*v, *t, *ls;
	size_t		 i;

	if (json_is_null(item))
		return fail(err, errlen, "nil target group item found");
	if (!json_is_object(item))
		return fail(err, errlen, "group %zu: expected an object", idx);
	json_object_foreach(item, k, v)
		if (strcmp(k, "targets") != 0 && strcmp(k, "labels") != 0)
			return fail(err, errlen, "group %zu: unknown field "
			    "\"%s\"", idx, k);
	t = json_object_get(item, "targets");
	if (t != NULL && !json_is_null(t)) {
		if (!json_is_array(t))
			return fail(err, errlen, "group %zu: \"targets\" must "
			    "be a list of strings", idx);
		json_array_foreach(t, i, v) {
			if (!json_is_string(v) && !json_is_null(v))
				return fail(err, errlen, "group %zu: target "
				    "%zu is not a string", idx, i);
			labels_set(sd_group_add_target(g), "__address__",
			    json_is_string(v) ? json_string_value(v) : "");
		}
	}
	ls = json_object_get(item, "labels");
	if (ls != NULL && !json_is_null(ls)) {
		if (!json_is_object(ls))
			return fail(err, errlen, "group %zu: \"labels\" must "
			    "be an object", idx);
		json_object_foreach(ls, k, v) {
			if (!labels_valid_name(k))
				return fail(err, errlen, "group %zu: \"%s\" is "
				    "not a valid label name", idx, k);
			if (!json_is_string(v) && !json_is_null(v))
				return fail(err, errlen, "group %zu: label "
				    "\"%s\" is not a string", idx, k);
			labels_set(&g->labels, k, json_is_string(v) ?
			    json_string_value(v) : "");
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
	json_t			*j, *item;
	size_t			 i;
	int			 rc = 0;

	if ((j = jparse(buf, len, err, errlen)) == NULL)
		return -1;
	sd_groups_init(&gs);
	if (json_is_array(j)) {
		json_array_foreach(j, i, item) {
			if ((rc = json_group(item, i, sd_groups_add(&gs), err,
			    errlen)) == -1)
				break;
			labels_set(&gs.v[gs.n - 1].labels, meta, value);
		}
	} else if (!json_is_null(j))
		rc = fail(err, errlen, "expected a list of target groups");
	json_decref(j);
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
	json_t	*j, *c, *d;
	int	 rc = 0;

	if ((j = jparse(buf, len, err, errlen)) == NULL)
		return -1;
	c = json_is_object(j) ? jobj(j, "Config") : NULL;
	d = c != NULL ? json_object_get(c, "Datacenter") : NULL;
	if (!json_is_string(d))
		rc = fail(err, errlen, "invalid value for Config.Datacenter");
	else
		*dc = xstrdup(json_string_value(d));
	json_decref(j);
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
	const char	*name;
	json_t		*j, *tags, *t;
	size_t		 i, k, cnt = 0;
	int		 ok;

	*names = NULL;
	*n = 0;
	if ((j = jparse(buf, len, err, errlen)) == NULL)
		return -1;
	if (!json_is_object(j)) {
		json_decref(j);
		return fail(err, errlen, "expected an object of services");
	}
	*names = xcalloc(json_object_size(j) + 1, sizeof(**names));
	json_object_foreach(j, name, tags) {
		ok = cf->nservices == 0;
		for (i = 0; i < cf->nservices && !ok; i++)
			ok = strcmp(cf->services[i], name) == 0;
		/* Every configured tag must be among the service's. */
		for (i = 0; i < cf->ntags && ok; i++) {
			ok = 0;
			json_array_foreach(tags, k, t)
				if (json_is_string(t) && strcmp(cf->tags[i],
				    json_string_value(t)) == 0)
					ok = 1;
		}
		if (ok)
			(*names)[cnt++] = xstrdup(name);
	}
	json_decref(j);
	qsort(*names, cnt, sizeof(**names), strcmp_p);
	*n = cnt;
	return 0;
}

/* api.HealthChecks.AggregatedStatus of Consul's Go client. */
static const char *
consul_health(const json_t *checks)
{
	const char	*id, *st;
	json_t		*c;
	size_t		 i;
	int		 pass = 0, warn = 0, crit = 0, maint = 0;

	json_array_foreach(checks, i, c) {
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

/* Sets PREFIX+sanitized(key) = value for each string member of o. */
static void
set_map(struct labelset *ls, const char *prefix, const json_t *o,
    const char *present)
{
	const char	*k;
	json_t		*v;
	char		*san, *name;

	if (!json_is_object(o))
		return;
	json_object_foreach((json_t *)o, k, v) {
		san = sd_sanitize(k);
		name = xasprintf("%s%s", prefix, san);
		labels_set(ls, name, json_is_string(v) ?
		    json_string_value(v) : "");
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
	struct sd_group	*g;
	struct labelset	*t;
	struct buf	 tags;
	const char	*addr, *sep = cf->tag_separator;
	json_t		*j, *e, *node, *svc, *tv;
	size_t		 i, k;
	char		 port[32], *hp;

	if ((j = jparse(buf, len, err, errlen)) == NULL)
		return -1;
	if (!json_is_array(j)) {
		json_decref(j);
		return fail(err, errlen, "expected a list of service entries");
	}
	g = sd_groups_add(out);
	labels_set(&g->labels, "__meta_consul_service", name);
	labels_set(&g->labels, "__meta_consul_dc", dc);
	buf_init(&tags);
	json_array_foreach(j, i, e) {
		node = jobj(e, "Node");
		svc = jobj(e, "Service");
		if (node == NULL || svc == NULL)
			continue;
		/* Separators around the list spare regexes edge cases. */
		buf_reset(&tags);
		buf_adds(&tags, sep);
		json_array_foreach(json_object_get(svc, "Tags"), k, tv) {
			if (k > 0)
				buf_adds(&tags, sep);
			if (json_is_string(tv))
				buf_adds(&tags, json_string_value(tv));
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
		    consul_health(json_object_get(e, "Checks")));
		set_map(t, "__meta_consul_metadata_", json_object_get(node,
		    "Meta"), NULL);
		set_map(t, "__meta_consul_service_metadata_",
		    json_object_get(svc, "Meta"), NULL);
		set_map(t, "__meta_consul_tagged_address_",
		    json_object_get(node, "TaggedAddresses"), NULL);
	}
	buf_release(&tags);
	json_decref(j);
	return 0;
}

/* Kubernetes ---------------------------------------------------------- */

#define K8S	"__meta_kubernetes_"

static json_t *
k8s_items(const char *buf, size_t len, const char *what, json_t **root,
    char *err, size_t errlen)
{
	json_t	*items;

	if ((*root = jparse(buf, len, err, errlen)) == NULL)
		return NULL;
	if (!json_is_object(*root) || ((items = json_object_get(*root,
	    "items")) != NULL && !json_is_array(items) &&
	    !json_is_null(items))) {
		json_decref(*root);
		*root = NULL;
		fail(err, errlen, "expected a %s list object", what);
		return NULL;
	}
	if (items == NULL || json_is_null(items)) {
		items = json_array();
		json_object_set_new(*root, "items", items);
	}
	return items;
}

/* Finds the item of list with metadata namespace and name. */
static json_t *
k8s_find(const json_t *list, const char *ns, const char *name)
{
	json_t	*it, *md;
	size_t	 i;

	if (list == NULL)
		return NULL;
	json_array_foreach(list, i, it) {
		md = jobj(it, "metadata");
		if (md != NULL && strcmp(jstr(md, "namespace"), ns) == 0 &&
		    strcmp(jstr(md, "name"), name) == 0)
			return it;
	}
	return NULL;
}

static void
k8s_meta(struct labelset *ls, const json_t *md, const char *role)
{
	char	*p, *pp;

	p = xasprintf(K8S "%s_label_", role);
	pp = xasprintf(K8S "%s_labelpresent_", role);
	set_map(ls, p, json_object_get(md, "labels"), pp);
	free(p);
	free(pp);
	p = xasprintf(K8S "%s_annotation_", role);
	pp = xasprintf(K8S "%s_annotationpresent_", role);
	set_map(ls, p, json_object_get(md, "annotations"), pp);
	free(p);
	free(pp);
}

/* The Ready condition's status in lower case, into low. */
static const char *
pod_ready(const json_t *pod, char *low, size_t len)
{
	json_t		*c;
	size_t		 i;
	const char	*s;

	json_array_foreach(json_object_get(jobj(pod, "status"), "conditions"),
	    i, c) {
		if (strcmp(jstr(c, "type"), "Ready") != 0)
			continue;
		s = jstr(c, "status");
		for (i = 0; s[i] != '\0' && i < len - 1; i++)
			low[i] = (char)tolower((unsigned char)s[i]);
		low[i] = '\0';
		return low;
	}
	return "unknown";
}

static void
pod_labels(struct labelset *ls, const json_t *pod)
{
	const json_t	*md = jobj(pod, "metadata");
	const json_t	*spec = jobj(pod, "spec");
	const json_t	*st = jobj(pod, "status");
	json_t		*o;
	size_t		 i;
	char		 low[32];

	labels_set(ls, K8S "pod_name", jstr(md, "name"));
	labels_set(ls, K8S "pod_ip", jstr(st, "podIP"));
	labels_set(ls, K8S "pod_ready", pod_ready(pod, low, sizeof(low)));
	labels_set(ls, K8S "pod_phase", jstr(st, "phase"));
	labels_set(ls, K8S "pod_node_name", jstr(spec, "nodeName"));
	labels_set(ls, K8S "pod_host_ip", jstr(st, "hostIP"));
	labels_set(ls, K8S "pod_uid", jstr(md, "uid"));
	json_array_foreach(json_object_get(md, "ownerReferences"), i, o) {
		if (!json_is_true(json_object_get(o, "controller")))
			continue;
		labels_set(ls, K8S "pod_controller_kind", jstr(o, "kind"));
		labels_set(ls, K8S "pod_controller_name", jstr(o, "name"));
		break;
	}
	k8s_meta(ls, md, "pod");
}

static void
pod_group(const json_t *pod, struct sd_groups *out)
{
	const json_t	*md = jobj(pod, "metadata");
	const json_t	*spec = jobj(pod, "spec");
	const char	*ip = jstr(jobj(pod, "status"), "podIP");
	const char	*lists[2] = { "containers", "initContainers" };
	struct sd_group	*g;
	struct labelset	*t;
	json_t		*c, *p;
	size_t		 l, i, k;
	char		 port[32], *hp;

	g = sd_groups_add(out);
	/* A starting or evicted pod has no IP yet: an empty group. */
	if (*ip == '\0')
		return;
	pod_labels(&g->labels, pod);
	labels_set(&g->labels, K8S "namespace", jstr(md, "namespace"));
	for (l = 0; l < 2; l++) {
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			json_t *ports = jarr(c, "ports");

			if (ports == NULL || json_array_size(ports) == 0) {
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
			json_array_foreach(ports, k, p) {
				jint(p, "containerPort", port, sizeof(port));
				hp = join_host_port(ip, port);
				t = sd_group_add_target(g);
				labels_set(t, "__address__", hp);
				free(hp);
				labels_set(t, K8S "pod_container_name",
				    jstr(c, "name"));
				labels_set(t, K8S "pod_container_image",
				    jstr(c, "image"));
				labels_set(t, K8S "pod_container_port_number",
				    port);
				labels_set(t, K8S "pod_container_port_name",
				    jstr(p, "name"));
				labels_set(t,
				    K8S "pod_container_port_protocol",
				    jstr(p, "protocol"));
				labels_set(t, K8S "pod_container_init",
				    l ? "true" : "false");
			}
		}
	}
}

static void
service_labels(struct labelset *ls, const json_t *svc)
{
	const json_t	*md = jobj(svc, "metadata");

	labels_set(ls, K8S "service_name", jstr(md, "name"));
	labels_set(ls, K8S "namespace", jstr(md, "namespace"));
	k8s_meta(ls, md, "service");
}

static void
service_group(const json_t *svc, struct sd_groups *out)
{
	const json_t	*md = jobj(svc, "metadata");
	const json_t	*spec = jobj(svc, "spec");
	const char	*type = jstr(spec, "type");
	struct sd_group	*g;
	struct labelset	*t;
	json_t		*p, *ing;
	size_t		 i;
	char		 port[32], *host, *hp;

	g = sd_groups_add(out);
	service_labels(&g->labels, svc);
	host = xasprintf("%s.%s.svc", jstr(md, "name"), jstr(md,
	    "namespace"));
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
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
		ing = json_array_get(json_object_get(jobj(svc, "status") ?
		    jobj(jobj(svc, "status"), "loadBalancer") : NULL,
		    "ingress"), 0);
		if (strcmp(type, "LoadBalancer") == 0 && ing != NULL)
			labels_set(t, K8S "service_loadbalancer_ip",
			    jstr(ing, "ip"));
	}
	free(host);
}

/* The pods an endpoints object named, with the ports already covered. */
struct seen_pod {
	const json_t	 *pod;
	long long	 *ports;
	size_t		  nports;
};

static void
endpoint_target(struct sd_group *g, const json_t *addr, const json_t *port,
    const char *ready, const json_t *pods, struct seen_pod **seen,
    size_t *nseen)
{
	const json_t	*ref = jobj(addr, "targetRef"), *pod = NULL;
	const json_t	*c, *cp;
	struct labelset	*t;
	struct seen_pod	*sp = NULL;
	long long	 pn;
	size_t		 i, k, s;
	char		 ps[32], *hp;

	pn = json_integer_value(json_object_get(port, "port"));
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
	json_array_foreach(json_object_get(jobj(pod, "spec"), "containers"),
	    i, c) {
		json_array_foreach(json_object_get(c, "ports"), k, cp) {
			if (json_integer_value(json_object_get(cp,
			    "containerPort")) != pn)
				continue;
			labels_set(t, K8S "pod_container_name", jstr(c,
			    "name"));
			labels_set(t, K8S "pod_container_image", jstr(c,
			    "image"));
			labels_set(t, K8S "pod_container_port_name", jstr(cp,
			    "name"));
			labels_set(t, K8S "pod_container_port_number", ps);
			labels_set(t, K8S "pod_container_port_protocol",
			    jstr(port, "protocol"));
			break;
		}
	}
	sp->ports = xreallocarray(sp->ports, sp->nports + 1,
	    sizeof(*sp->ports));
	sp->ports[sp->nports++] = pn;
}

static void
endpoints_group(const json_t *eps, const json_t *svcs, const json_t *pods,
    struct sd_groups *out)
{
	const json_t	*md = jobj(eps, "metadata"), *svc, *c, *cp;
	const char	*ns = jstr(md, "namespace"), *name = jstr(md, "name");
	struct sd_group	*g;
	struct labelset	*t;
	struct seen_pod	*seen = NULL;
	json_t		*ss, *port, *addr;
	size_t		 nseen = 0, i, j, k, s, q;
	long long	 pn;
	char		 ps[32], *hp;
	int		 covered;

	g = sd_groups_add(out);
	labels_set(&g->labels, K8S "namespace", ns);
	labels_set(&g->labels, K8S "endpoints_name", name);
	if ((svc = k8s_find(svcs, ns, name)) != NULL)
		service_labels(&g->labels, svc);
	set_map(&g->labels, K8S "endpoints_label_",
	    json_object_get(md, "labels"), K8S "endpoints_labelpresent_");
	json_array_foreach(json_object_get(eps, "subsets"), i, ss) {
		json_array_foreach(json_object_get(ss, "ports"), j, port) {
			json_array_foreach(json_object_get(ss, "addresses"),
			    k, addr)
				endpoint_target(g, addr, port, "true", pods,
				    &seen, &nseen);
			json_array_foreach(json_object_get(ss,
			    "notReadyAddresses"), k, addr)
				endpoint_target(g, addr, port, "false", pods,
				    &seen, &nseen);
		}
	}
	/* Container ports no endpoint covered get targets of their own. */
	for (s = 0; s < nseen; s++) {
		json_array_foreach(json_object_get(jobj(seen[s].pod, "spec"),
		    "containers"), i, c) {
			json_array_foreach(json_object_get(c, "ports"), k,
			    cp) {
				pn = json_integer_value(json_object_get(cp,
				    "containerPort"));
				covered = 0;
				for (q = 0; q < seen[s].nports; q++)
					if (seen[s].ports[q] == pn)
						covered = 1;
				if (covered)
					continue;
				snprintf(ps, sizeof(ps), "%lld", pn);
				hp = join_host_port(jstr(jobj(seen[s].pod,
				    "status"), "podIP"), ps);
				t = sd_group_add_target(g);
				labels_set(t, "__address__", hp);
				free(hp);
				labels_set(t, K8S "pod_container_name",
				    jstr(c, "name"));
				labels_set(t, K8S "pod_container_image",
				    jstr(c, "image"));
				labels_set(t, K8S "pod_container_port_name",
				    jstr(cp, "name"));
				labels_set(t, K8S "pod_container_port_number",
				    ps);
				labels_set(t,
				    K8S "pod_container_port_protocol",
				    jstr(cp, "protocol"));
				pod_labels(t, seen[s].pod);
			}
		}
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
	json_t			*root, *items, *sroot = NULL;
	json_t			*sitems = NULL;
	json_t			*proot = NULL, *pitems = NULL, *it;
	size_t			 i;
	int			 rc = -1;

	if ((items = k8s_items(list, len, what[role], &root, err,
	    errlen)) == NULL)
		return -1;
	if (role == K8S_ENDPOINTS && services != NULL &&
	    (sitems = k8s_items(services, slen, "ServiceList", &sroot, err,
	    errlen)) == NULL)
		goto out;
	if (role == K8S_ENDPOINTS && pods != NULL &&
	    (pitems = k8s_items(pods, plen, "PodList", &proot, err,
	    errlen)) == NULL)
		goto out;
	sd_groups_init(&gs);
	json_array_foreach(items, i, it) {
		if (!json_is_object(it))
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
	json_decref(root);
	json_decref(sroot);
	json_decref(proot);
	return rc;
}
