/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: event lines read by periskop-notify, and the bodies made of them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAXEV	16

/* What we send must be JSON whatever the event held. */
static void
must_parse(const struct buf *b)
{
	json_error_t	 je;
	json_t		*j;

	if ((j = json_loadb(b->p, b->len, 0, &je)) == NULL)
		abort();
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_notify	 nf;
	struct conf_receiver	 r;
	struct notify_event	 ev[MAXEV];
	struct buf		 b;
	const char		*p = (const char *)data, *e = p + size, *q;
	char			 err[256], *kinds[] = { "new_error" };
	size_t			 n = 0, i;

	memset(&nf, 0, sizeof(nf));
	nf.ui_url = "http://127.0.0.1:8080/";
	nf.alert_ttl_ms = 3600000;
	memset(&r, 0, sizeof(r));
	r.kinds = kinds;
	r.nkinds = 1;
	/* One event per line. */
	for (; p < e && n < MAXEV; p = q + 1) {
		if ((q = memchr(p, '\n', (size_t)(e - p))) == NULL)
			q = e;
		if (notify_event_parse(p, (size_t)(q - p), &ev[n], err,
		    sizeof(err)) == 1) {
			(void)notify_wanted(&r, &ev[n]);
			n++;
		}
	}
	if (n == 0)
		return 0;
	buf_init(&b);
	notify_alerts_json(&b, &nf, ev, n);
	must_parse(&b);
	buf_reset(&b);
	notify_webhook_json(&b, &nf, "hook", ev, n);
	must_parse(&b);
	buf_reset(&b);
	notify_webhook_json(&b, &nf, "hook", ev, 1);
	must_parse(&b);
	buf_release(&b);
	for (i = 0; i < n; i++)
		notify_event_release(&ev[i]);
	return 0;
}
