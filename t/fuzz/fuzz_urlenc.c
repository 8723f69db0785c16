/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: percent-decoding, and encoding back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "urlenc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b;
	char err[256], *dec, *again;
	size_t n, m;

	/* Whatever decodes must survive an encode/decode round trip. */
	if ((dec = urlenc_decode((const char *)data, size, &n, err,
	    sizeof(err))) == NULL)
		return 0;
	buf_init(&b);
	urlenc_encode(&b, dec, n);
	if ((again = urlenc_decode(b.p, b.len, &m, err, sizeof(err))) == NULL ||
	    m != n || memcmp(again, dec, n) != 0)
		abort();
	free(again);
	free(dec);
	buf_release(&b);
	return 0;
}
