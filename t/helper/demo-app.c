/* SPDX-License-Identifier: Apache-2.0 */
/* demo-app: a pretend service that keeps failing, serving its errors at /errors. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "model.h"
#include "timefmt.h"
#include "xalloc.h"

#define KEEP	10	/* occurrences kept per key, as the client libraries */

/* The failures this pretend service has, and how often (per minute). */
static const struct kind {
	const char	*key;
	const char	*class;
	const char	*message;
	const char	*cause;
	enum severity	 severity;
	int		 per_min;
	const char	*method;
	const char	*url;
} kinds[] = {
	{ "db.Timeout@checkout/pay", "db.TimeoutError",
	    "query exceeded 2000 ms", "net.ReadTimeout: read tcp 10.0.0.9:5432",
	    SEV_ERROR, 20, "POST", "http://shop.example/checkout/pay" },
	{ "NullPointerException@CartService.total", "java.lang.NullPointerException",
	    "cart.items is null", NULL, SEV_ERROR, 6, "GET",
	    "http://shop.example/cart" },
	{ "slow request /search", "app.SlowRequest",
	    "GET /search took 3.2 s (budget 1 s)", NULL, SEV_WARNING, 12,
	    "GET", "http://shop.example/search?q=<script>alert(1)</script>" },
	{ "cache miss storm", "cache.MissStorm",
	    "hit ratio fell to 12 %", NULL, SEV_INFO, 3, NULL, NULL },
};
#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))

static struct aggregate aggs[NKINDS];
static char target_uuid[40];
static unsigned long seq;
static int64_t last_tick;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	quit = 1;
}

static void
fake_uuid(char out[40])
{
	snprintf(out, 40, "%08lx-%04x-4%03x-a%03x-%012lx",
	    (unsigned long)random(), (unsigned)(random() & 0xffff),
	    (unsigned)(random() & 0xfff), (unsigned)(random() & 0xfff),
	    (unsigned long)random());
}

static void
occur(size_t k, int64_t now)
{
	struct aggregate *a = &aggs[k];
	struct occurrence *o;
	char id[40];

	a->total_count++;
	if (a->created_at == TIME_NONE)
		a->created_at = now;
	if (a->nlatest == KEEP) {
		/* Drop the oldest, which is last. */
		o = &a->latest[KEEP - 1];
		free(o->uuid);
		free(o->error.message);
		a->nlatest--;
	}
	memmove(a->latest + 1, a->latest, a->nlatest * sizeof(*a->latest));
	o = &a->latest[0];
	a->nlatest++;
	fake_uuid(id);
	o->uuid = xstrdup(id);
	o->timestamp = now;
	o->severity = kinds[k].severity;
	o->error.message = xasprintf("%s (#%lu)", kinds[k].message, ++seq);
}

/* Errors happen as time passes: each kind at its own rate. */
static void
tick(void)
{
	int64_t now = time_now();
	size_t k;
	long n;

	if (last_tick == 0)
		last_tick = now - 60000;
	for (; last_tick + 1000 <= now; last_tick += 1000)
		for (k = 0; k < NKINDS; k++) {
			n = random() % 60;
			if (n < kinds[k].per_min)
				occur(k, last_tick);
		}
}

static void
init(void)
{
	static char *stack[] = { "app.db.Pool.query(Pool.java:88)",
	    "app.checkout.Pay.run(Pay.java:41)", "app.http.Server.serve(Server.java:120)" };
	static struct header headers[] = { { "accept", "application/json" },
	    { "user-agent", "demo/1.0" } };
	static struct error_info causes[NKINDS];
	static struct http_context https[NKINDS];
	size_t k, i;

	srandom((unsigned)(time_now() ^ getpid()));
	fake_uuid(target_uuid);
	for (k = 0; k < NKINDS; k++) {
		aggs[k].key = (char *)kinds[k].key;
		aggs[k].severity = kinds[k].severity;
		aggs[k].created_at = TIME_NONE;
		aggs[k].latest = xcalloc(KEEP, sizeof(struct occurrence));
		for (i = 0; i < KEEP; i++) {
			struct occurrence *o = &aggs[k].latest[i];

			o->error.class = (char *)kinds[k].class;
			o->error.stacktrace = stack;
			o->error.nstacktrace = 3;
			if (kinds[k].cause != NULL) {
				causes[k].class = "";
				causes[k].message = (char *)kinds[k].cause;
				o->error.cause = &causes[k];
			}
			if (kinds[k].method != NULL) {
				https[k].method = (char *)kinds[k].method;
				https[k].url = (char *)kinds[k].url;
				https[k].headers = headers;
				https[k].nheaders = 2;
				https[k].body = k == 0 ?
				    "{\"amount\":42,\"currency\":\"EUR\"}" :
				    NULL;
				o->http = &https[k];
			}
		}
	}
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *uplen, void **state)
{
	struct MHD_Response *r;
	struct payload p;
	struct buf b;
	enum MHD_Result ret;
	char *body;
	size_t len;

	if (strcmp(method, "GET") != 0 || strcmp(url, "/errors") != 0) {
		r = MHD_create_response_from_buffer(10, "not found\n",
		    MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(c, MHD_HTTP_NOT_FOUND, r);
		MHD_destroy_response(r);
		return ret;
	}
	buf_init(&b);
	pthread_mutex_lock(&lock);
	tick();
	p.target_uuid = target_uuid;
	p.aggs = aggs;
	p.naggs = NKINDS;
	payload_write_json(&b, &p);
	pthread_mutex_unlock(&lock);
	body = buf_detach(&b, &len);
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int
main(int argc, char *argv[])
{
	struct MHD_Daemon *d;
	struct sockaddr_in sin;
	int port;

	log_init("demo-app", 0);
	if (argc != 2 || (port = atoi(argv[1])) <= 0 || port > 65535) {
		fprintf(stderr, "usage: demo-app port\n");
		return EX_USAGE;
	}
	init();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port,
	    NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sin,
	    MHD_OPTION_END);
	if (d == NULL)
		fatalx(EX_UNAVAILABLE, "cannot listen on 127.0.0.1:%d", port);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	log_info("serving errors at http://127.0.0.1:%d/errors", port);
	while (!quit)
		pause();
	MHD_stop_daemon(d);
	return 0;
}
