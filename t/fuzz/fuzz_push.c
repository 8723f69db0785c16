/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the push gateway's state file, and pushes merged into a state. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "model.h"
#include "push.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define SEP	"\n--\n"	/* between the pushes of one input */

/* Its state file must read back to itself. */
static void
round_trip(const struct push_state *s, const struct push_limits *lim)
{
	struct push_state *t;
	struct buf a, b;
	char err[256];

	buf_init(&a);
	buf_init(&b);
	push_write_state(s, &a);
	if ((t = push_load(a.p, a.len, lim, err, sizeof(err))) == NULL)
		abort();
	push_write_state(t, &b);
	if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		abort();
	push_free(t);
	buf_release(&a);
	buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const pushers[] = { "127.0.0.1", "::1" };
	const char *p = (const char *)data, *end = p + size, *next;
	struct push_limits lim;
	struct push_state *s;
	struct payload *pl, *back;
	struct buf out;
	char err[256];
	int64_t before;
	size_t i, k;

	push_limits_init(&lim);
	lim.max_pushers = 4;
	lim.max_keys = 8;
	lim.max_latest = 3;
	/* The input is a state file, or pushes that make one. */
	if ((s = push_load(p, size, &lim, err, sizeof(err))) != NULL) {
		round_trip(s, &lim);
		push_free(s);
		return 0;
	}
	s = push_new(&lim);
	for (i = 0; p < end; i++, p = next) {
		next = memmem(p, (size_t)(end - p), SEP, strlen(SEP));
		if (next == NULL)
			next = end;
		pl = payload_parse(p, (size_t)(next - p), err, sizeof(err));
		if (next < end)
			next += strlen(SEP);
		if (pl == NULL)
			continue;
		/* Totals never go down, whatever a push says. */
		before = pl->naggs > 0 ?
		    push_total(s, pl->aggs[0].key) : -1;
		push_merge(s, pl, pushers[i % 2], (int64_t)i * 1000, err,
		    sizeof(err));
		if (before >= 0 && push_total(s, pl->aggs[0].key) < before)
			abort();
		payload_free(pl);
	}
	push_expire(s, (int64_t)i * 1000 + lim.ttl_ms);
	/* What it exposes is a payload scrape reads. */
	buf_init(&out);
	push_write_payload(s, &out);
	if ((back = payload_parse(out.p, out.len, err, sizeof(err))) == NULL)
		abort();
	for (k = 0; k < back->naggs; k++)
		if (back->aggs[k].nlatest > lim.max_latest)
			abort();
	payload_free(back);
	buf_release(&out);
	round_trip(s, &lim);
	push_free(s);
	return 0;
}
