/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the service discovery document parsers of lib/discover/sd.c. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "sd.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The first byte picks the parser; the rest is the document. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_consul_sd	 cf;
	struct sd_groups	 g;
	struct labelset		*ls;
	const char		*doc;
	char			 err[256], *dc = NULL, **names;
	char			*tags[] = { "a" };
	size_t			 len, n, i;

	if (size < 1)
		return 0;
	doc = (const char *)data + 1;
	len = size - 1;
	memset(&cf, 0, sizeof(cf));
	cf.tag_separator = ",";
	cf.tags = tags;
	cf.ntags = data[0] & 1;
	sd_groups_init(&g);
	switch (data[0] % 9) {
	case 0:
		sd_parse_file(doc, len, "f.json", &g, err, sizeof(err));
		break;
	case 1:
		sd_parse_file(doc, len, "f.yml", &g, err, sizeof(err));
		break;
	case 2:
		sd_parse_http(doc, len, "http://h/", &g, err, sizeof(err));
		break;
	case 3:
		if (sd_consul_datacenter(doc, len, &dc, err, sizeof(err)) == 0)
			free(dc);
		break;
	case 4:
		if (sd_consul_services(doc, len, &cf, &names, &n, err,
		    sizeof(err)) == 0)
			sd_strv_free(names, n);
		break;
	case 5:
		sd_consul_health(doc, len, "s", "dc", &cf, &g, err,
		    sizeof(err));
		break;
	case 6:
		sd_k8s_groups(K8S_POD, doc, len, NULL, 0, NULL, 0, &g, err,
		    sizeof(err));
		break;
	case 7:
		sd_k8s_groups(K8S_SERVICE, doc, len, NULL, 0, NULL, 0, &g,
		    err, sizeof(err));
		break;
	default:
		/* The same document as the endpoints, services and pods. */
		sd_k8s_groups(K8S_ENDPOINTS, doc, len, doc, len, doc, len, &g,
		    err, sizeof(err));
		break;
	}
	sd_groups_flatten(&g, &ls, &n);
	for (i = 0; i < n; i++)
		labels_release(&ls[i]);
	free(ls);
	sd_groups_release(&g);
	return 0;
}
