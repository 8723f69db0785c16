/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: a target_baselines row's counts, and writing back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "packed.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct packed p, q;
	struct buf b;
	char err[256];
	size_t i;

	packed_init(&p);
	packed_init(&q);
	buf_init(&b);
	/* What reads must write back to the same entries. */
	if (packed_read(&p, (const char *)data, size, err, sizeof(err)) == 0) {
		packed_sort(&p);
		packed_write(&b, p.v, p.n);
		if (packed_read(&q, b.p, b.len, err, sizeof(err)) == -1 ||
		    q.n != p.n)
			abort();
		for (i = 0; i < p.n; i++)
			if (strcmp(p.v[i].key, q.v[i].key) != 0 ||
			    p.v[i].last_raw != q.v[i].last_raw ||
			    p.v[i].accumulated != q.v[i].accumulated ||
			    p.v[i].last_delta != q.v[i].last_delta ||
			    p.v[i].updated != q.v[i].updated)
				abort();
		(void)packed_row_take(p.v, 0, p.n);
	}
	packed_release(&p);
	packed_release(&q);
	buf_release(&b);
	return 0;
}
