/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: RE2 checks, matching, relabelling and target labels. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "labels.h"
#include "record.h"
#include "relabel.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * Input: an action byte, a modulus byte, then newline-separated fields:
 * regex, replacement, target_label, the values of labels a and b, and
 * the __address__.  Source labels are a and b.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[] = "a", b[] = "b";
	struct relabel_rules *rs;
	struct conf_relabel c;
	struct conf_service svc;
	struct labelset ls;
	struct target t;
	char *f[6] = { NULL }, *src[2] = { a, b }, err[512];
	const char *p, *end, *nl;
	size_t i;
	int rc;

	if (size < 2)
		return 0;
	p = (const char *)data + 2;
	end = (const char *)data + size;
	for (i = 0; i < 6; i++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		f[i] = xstrndup(p, (size_t)(nl - p));
		p = nl < end ? nl + 1 : end;
	}
	memset(&c, 0, sizeof(c));
	c.action = (enum relabel_action)(data[0] % 11);
	c.modulus = data[1] ? data[1] : 1;
	c.regex = f[0];
	c.replacement = f[1];
	c.target_label = f[2][0] != '\0' ? f[2] : (char *)"t";
	c.separator = (char *)";";
	c.source_labels = src;
	c.nsource_labels = 2;
	if ((rs = relabel_compile(&c, 1, err, sizeof(err))) == NULL)
		goto out;
	memset(&svc, 0, sizeof(svc));
	svc.name = (char *)"fuzz";
	svc.scraper.endpoint = (char *)"/errors";
	svc.scraper.scheme = (char *)"http";
	svc.scraper.interval_ms = 30000;
	svc.scraper.timeout_ms = 10000;
	labels_init(&ls);
	labels_set(&ls, "a", f[3]);
	labels_set(&ls, "b", f[4]);
	labels_set(&ls, "__address__", f[5]);
	rc = relabel_target(rs, &svc, &ls, &t, err, sizeof(err));
	if (rc == 1) {
		/* What a kept target must look like. */
		if (t.address == NULL || t.address[0] == '\0' ||
		    t.url == NULL || strchr(t.address, '/') != NULL)
			abort();
		for (i = 0; i < t.labels.n; i++)
			if (strncmp(t.labels.v[i].name, "__", 2) == 0 ||
			    t.labels.v[i].value[0] == '\0')
				abort();
		if (labels_get(&t.labels, "instance") == NULL)
			abort();
		free(t.address);
		free(t.url);
		labels_release(&t.labels);
	}
	labels_release(&ls);
	relabel_rules_free(rs);
out:
	for (i = 0; i < 6; i++)
		free(f[i]);
	return 0;
}
