/* SPDX-License-Identifier: Apache-2.0 */
/* The C client library's push: the collector's payload POSTed to a push gateway. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "periskop.h"

#define ANSWER_MAX	512	/* of a refusal's body, kept for the message */

struct answer {
	char	 text[ANSWER_MAX];
	size_t	 len;
};

static size_t
keep_answer(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t room = sizeof(a->text) - 1 - a->len;

	if (room > size * n)
		room = size * n;
	memcpy(a->text + a->len, p, room);
	a->len += room;
	a->text[a->len] = '\0';
	return size * n;
}

static int	fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The gateway's base gets the original's path; a full URL is kept. */
static char *
push_url(const char *gateway)
{
	size_t n = strlen(gateway);
	char *u;

	while (n > 0 && gateway[n - 1] == '/')
		n--;
	if (n >= 7 && strncmp(gateway + n - 7, "/errors", 7) == 0)
		n -= 7;
	if ((u = malloc(n + sizeof("/errors"))) == NULL)
		return NULL;
	memcpy(u, gateway, n);
	memcpy(u + n, "/errors", sizeof("/errors"));
	return u;
}

int
periskop_push(struct periskop_collector *c, const char *gateway,
    const char *token, long timeout_ms, char *err, size_t errlen)
{
	struct curl_slist *h = NULL, *h2;
	struct answer a = { "", 0 };
	char *body = NULL, *url = NULL, *auth = NULL, *nl;
	size_t len;
	long status = 0;
	CURLcode rc;
	CURL *e;
	int r = -1;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fail(err, errlen, "curl_global_init failed");
	if ((e = curl_easy_init()) == NULL)
		return fail(err, errlen, "curl_easy_init failed");
	if ((url = push_url(gateway)) == NULL) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	body = periskop_export(c, &len);
	h2 = curl_slist_append(h, "Content-Type: application/json");
	if (h2 != NULL)
		h = h2;
	/* Without Expect, a body over 1 KiB would wait a second for 100. */
	if ((h2 = curl_slist_append(h, "Expect:")) != NULL)
		h = h2;
	if (token != NULL) {
		len = strlen(token);
		if ((auth = malloc(len + sizeof("Authorization: Bearer "))) ==
		    NULL) {
			fail(err, errlen, "out of memory");
			goto out;
		}
		snprintf(auth, len + sizeof("Authorization: Bearer "),
		    "Authorization: Bearer %s", token);
		if ((h2 = curl_slist_append(h, auth)) != NULL)
			h = h2;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(body));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms :
	    10000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &a);
	if ((rc = curl_easy_perform(e)) != CURLE_OK) {
		fail(err, errlen, "POST %s: %s", url, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		if ((nl = strchr(a.text, '\n')) != NULL)
			*nl = '\0';
		fail(err, errlen, "POST %s: HTTP %ld%s%s", url, status,
		    a.len > 0 ? ": " : "", a.text);
		goto out;
	}
	r = 0;
out:
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	if (auth != NULL) {
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	free(body);
	free(url);
	return r;
}
