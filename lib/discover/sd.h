/* SPDX-License-Identifier: Apache-2.0 */
/* Service discovery documents turned into Prometheus target groups. */
#ifndef PERISKOP_SD_H
#define PERISKOP_SD_H

#include <stddef.h>

#include "conf.h"
#include "labels.h"

/*
 * One target group as Prometheus' discovery produces it: labels common
 * to its targets, and each target's own labels (at least __address__;
 * they win over the group's).  Owns everything.
 */
struct sd_group {
	struct labelset	 labels;
	struct labelset	*targets;
	size_t		 ntargets;
	size_t		 cap;
};

struct sd_groups {
	struct sd_group	*v;
	size_t		 n;
	size_t		 cap;
};

void		 sd_groups_init(struct sd_groups *);
void		 sd_groups_release(struct sd_groups *);
/* Appends an empty group and returns it (valid until the next add). */
struct sd_group	*sd_groups_add(struct sd_groups *);
/* Appends an empty target to g and returns it. */
struct labelset	*sd_group_add_target(struct sd_group *);
/* Appends src's groups to dst, leaving src empty. */
void		 sd_groups_move(struct sd_groups *dst,
		    struct sd_groups *src);
void		 sd_groups_copy(struct sd_groups *dst,
		    const struct sd_groups *src);
/* Every target's labels with its group's added under them, in order. */
void		 sd_groups_flatten(const struct sd_groups *,
		    struct labelset **out, size_t *nout);

/* Prometheus' strutil.SanitizeLabelName: every invalid byte to '_'. */
char		*sd_sanitize(const char *);

/*
 * Parsers: each returns 0 and appends to *out, or -1 with a message in
 * err (then *out is unchanged).  Positions are "LINE:COL: " when known.
 *
 * sd_parse_file: a file SD file, YAML when path ends in .yml or .yaml,
 * JSON otherwise; every group gets __meta_filepath = path.
 */
int	sd_parse_file(const char *buf, size_t len, const char *path,
	    struct sd_groups *out, char *err, size_t errlen);
/* An HTTP SD answer (JSON); every group gets __meta_url = url. */
int	sd_parse_http(const char *buf, size_t len, const char *url,
	    struct sd_groups *out, char *err, size_t errlen);

/* Consul /v1/agent/self: the agent's datacenter (the caller frees it). */
int	sd_consul_datacenter(const char *buf, size_t len, char **dc,
	    char *err, size_t errlen);
/*
 * Consul /v1/catalog/services: the names of the services the config
 * wants (its services, all of its tags), sorted; free with sd_strv_free.
 */
int	sd_consul_services(const char *buf, size_t len,
	    const struct conf_consul_sd *, char ***names, size_t *n,
	    char *err, size_t errlen);
/* Consul /v1/health/service/NAME: one group with the __meta_consul_* labels. */
int	sd_consul_health(const char *buf, size_t len, const char *name,
	    const char *dc, const struct conf_consul_sd *,
	    struct sd_groups *out, char *err, size_t errlen);
void	sd_strv_free(char **, size_t);

/*
 * Kubernetes list answers (PodList, ServiceList, EndpointsList) to the
 * groups of role: one per object, with the __meta_kubernetes_* labels.
 * The endpoints role also reads the services and pods lists (NULL when
 * not fetched) for their labels.
 */
int	sd_k8s_groups(enum k8s_role, const char *list, size_t len,
	    const char *services, size_t slen, const char *pods, size_t plen,
	    struct sd_groups *out, char *err, size_t errlen);

#endif
