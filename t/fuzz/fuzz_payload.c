/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: a client's /errors body through parse and write. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct payload *p, *q;
	struct buf a, b;
	char err[256];

	if ((p = payload_parse((const char *)data, size, err,
	    sizeof(err))) == NULL)
		return 0;
	/* The normal form must parse again to itself. */
	buf_init(&a);
	buf_init(&b);
	payload_write_json(&a, p);
	if ((q = payload_parse(a.p, a.len, err, sizeof(err))) == NULL)
		abort();
	payload_write_json(&b, q);
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		abort();
	buf_release(&a);
	buf_release(&b);
	payload_free(p);
	payload_free(q);
	return 0;
}
