/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: HTTP request lines through periskop-serve's router. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "db.h"
#include "periskop.h"
#include "xalloc.h"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct db *db;
static struct api_conf conf;
static struct api_cache *cache;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/periskop-fuzz-ui.XXXXXX";
	char err[256], *p;
	FILE *f;

	if ((db = db_open("memory:", NULL, err, sizeof(err))) == NULL)
		abort();
	if (mkdtemp(dir) == NULL)
		abort();
	p = xasprintf("%s/index.html", dir);
	if ((f = fopen(p, "w")) == NULL)
		abort();
	fputs("<!DOCTYPE html>\n", f);
	fclose(f);
	free(p);
	conf.ui_dir = dir;
	/* Serve's own failures and the cache take part, as in the server. */
	conf.self = periskop_collector_new();
	cache = api_cache_new();
	return 0;
}

/* The first byte picks the method and the client; the rest is the target. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "DELETE", "OPTIONS",
	    "POST", "HEAD", "PUT" };
	struct api_req req;
	struct api_resp resp;
	char *target;

	if (size < 1)
		return 0;
	target = xstrndup((const char *)data + 1, size - 1);
	memset(&req, 0, sizeof(req));
	req.method = methods[data[0] % 6];
	req.loopback = data[0] & 0x80;
	req.authorization = data[0] & 0x40 ? "Bearer x" : NULL;
	req.target = target;
	api_resp_init(&resp);
	api_handle_cached(&conf, db, data[0] & 0x20 ? cache : NULL, &req,
	    &resp);
	if (resp.status < 100 || resp.status > 599)
		abort();
	api_resp_release(&resp);
	free(target);
	return 0;
}
