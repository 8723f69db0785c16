/* SPDX-License-Identifier: Apache-2.0 */
/* Turning a service's config into its current target set. */
#ifndef PERISKOP_DISCOVER_H
#define PERISKOP_DISCOVER_H

#include <stddef.h>

#include "conf.h"
#include "record.h"

/*
 * Fills *out (release with targets_rec_release) with the targets the
 * service's static_configs name: one per distinct address, sorted by
 * address, labels from the config plus "instance" (the address), the URL
 * built from the scraper's scheme and endpoint.  An address without a
 * port gets the scheme's default, as Prometheus does.  Returns 0, or -1
 * with a message in err when the service uses a mechanism not supported.
 */
int	discover_service(const struct conf_service *, struct targets_rec *out,
	    char *err, size_t errlen);
/* 1 when a and b name the same targets with the same labels and settings. */
int	discover_same(const struct targets_rec *a, const struct targets_rec *b);

#endif
