/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: a periskop.yaml through the config loader. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c;
	char err[512], *uri;

	if ((c = conf_parse((const char *)data, size, "fuzz.yaml", err,
	    sizeof(err))) == NULL)
		return 0;
	uri = conf_db_uri(c);
	free(uri);
	conf_free(c);
	return 0;
}
