/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: one NDJSON line through record_parse and the writers. */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record rec;
	struct buf b;
	char err[256];

	if (record_parse((const char *)data, size, &rec, err,
	    sizeof(err)) == -1)
		return 0;
	buf_init(&b);
	switch (rec.type) {
	case REC_TARGETS:
		record_write_targets(&b, &rec.u.targets);
		break;
	case REC_SCRAPE:
		record_write_scrape(&b, &rec.u.scrape);
		break;
	case REC_ROUND:
		record_write_round(&b, &rec.u.round);
		break;
	case REC_EVENT:
		record_write_event(&b, &rec.u.event);
		break;
	case REC_OTHER:
		break;
	}
	buf_release(&b);
	record_release(&rec);
	return 0;
}
