/* SPDX-License-Identifier: Apache-2.0 */
/* The security headers on the answers libmicrohttpd gives by itself. */
#include <dlfcn.h>
#include <string.h>

#include <microhttpd.h>

#include "api.h"
#include "secure.h"

static enum MHD_Result (*lib_queue_response)(struct MHD_Connection *,
    unsigned int, struct MHD_Response *);

int
secure_init(void)
{
	void *f;

	if ((f = dlsym(RTLD_NEXT, "MHD_queue_response")) == NULL)
		return -1;
	/* POSIX's way from dlsym's object pointer to a function pointer. */
	memcpy(&lib_queue_response, &f, sizeof(f));
	return 0;
}

/*
 * libmicrohttpd answers a malformed request (400), an unknown HTTP version
 * (505) and a request line or headers that overflow the connection's
 * memory (414, 431) itself, and has no option to give those answers
 * headers.  It queues them through its exported MHD_queue_response,
 * though, and the dynamic linker binds that call to the program's own
 * definition first.  So every answer passes here: ours carry the security
 * headers already and go out unchanged; libmicrohttpd's get them, and the
 * type of their fixed HTML body.  Each of those is a new response, so
 * adding to it races with nothing.  t0820 fails if a build of the library
 * binds the call inside itself, as -Bsymbolic would.
 */
enum MHD_Result
MHD_queue_response(struct MHD_Connection *c, unsigned int status,
    struct MHD_Response *r)
{
	size_t i;

	if (r != NULL &&
	    MHD_get_response_header(r, api_secure_headers[0][0]) == NULL) {
		if (MHD_get_response_header(r,
		    MHD_HTTP_HEADER_CONTENT_TYPE) == NULL)
			MHD_add_response_header(r,
			    MHD_HTTP_HEADER_CONTENT_TYPE,
			    "text/html; charset=utf-8");
		for (i = 0; i < API_NSECURE; i++)
			MHD_add_response_header(r, api_secure_headers[i][0],
			    api_secure_headers[i][1]);
	}
	return lib_queue_response(c, status, r);
}
