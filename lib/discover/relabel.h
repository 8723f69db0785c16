/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus-compatible relabelling and target labels (periskop.yaml(5)). */
#ifndef PERISKOP_RELABEL_H
#define PERISKOP_RELABEL_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "labels.h"
#include "record.h"

/* A service's compiled relabel_configs; owns its regexes and strings. */
struct relabel_rules;

/*
 * Compiles a service's relabel_configs (n entries; n == 0 gives an empty
 * set).  Returns a new set (relabel_rules_free), or NULL with
 * "relabel_configs[2].regex: ..." in err; the caller prefixes the
 * file:line:col from conf_relabel.pos.  The rules do not borrow from c.
 */
struct relabel_rules	*relabel_compile(const struct conf_relabel *c,
			    size_t n, char *err, size_t errlen);
/* relabel_rules_free(NULL) is a no-op. */
void			 relabel_rules_free(struct relabel_rules *);

/*
 * Applies the rules to ls in place, as Prometheus' relabel.Process does.
 * Returns 1 when the target is kept, 0 when a rule dropped it (ls is then
 * left in an unspecified but valid state).
 */
int			 relabel_apply(const struct relabel_rules *,
			    struct labelset *ls);

/*
 * Prometheus 2.42's scrape.PopulateLabels for one discovered target: the
 * discovered labels (borrowed) plus job, __scheme__, __metrics_path__,
 * __scrape_interval__ and __scrape_timeout__ when not set, relabelled.
 * Returns 0 when the rules dropped the target; -1 with a message in err
 * when there is no address or it is invalid; 1 with *out filled: the
 * address (a default port added by scheme), the URL with __param_*
 * query parameters, and the final labels without "__" ones, instance
 * defaulting to the address.  The caller releases out->address, out->url
 * (free) and out->labels (labels_release).  rules may be NULL.
 */
int			 relabel_target(const struct relabel_rules *,
			    const struct conf_service *,
			    const struct labelset *discovered,
			    struct target *out, char *err, size_t errlen);

/* MD5 (RFC 1321) of len bytes into out: used by hashmod. */
void			 relabel_md5(const void *p, size_t len,
			    unsigned char out[16]);

#endif
