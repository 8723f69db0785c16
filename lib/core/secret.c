/* SPDX-License-Identifier: Apache-2.0 */
/* Reads secrets from files, so they stay out of configs and process lists. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "secret.h"
#include "xalloc.h"

/* "'PATH': no such file or directory", as every tool words it. */
static void
os_error(const char *path, int e, char *err, size_t errlen)
{
	char reason[256];

	snprintf(reason, sizeof(reason), "%s", strerror(e));
	reason[0] = (char)tolower((unsigned char)reason[0]);
	snprintf(err, errlen, "'%s': %s", path, reason);
}

static void
wipe(struct buf *b)
{
	if (b->p != NULL)
		explicit_bzero(b->p, b->cap);
	buf_release(b);
}

char *
secret_read(const char *path, char *err, size_t errlen)
{
	struct buf b;
	char chunk[4096];
	ssize_t n;
	size_t i;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		os_error(path, errno, err, errlen);
		return NULL;
	}
	buf_init(&b);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			os_error(path, errno, err, errlen);
			goto fail;
		}
		buf_add(&b, chunk, (size_t)n);
		if (b.len > SECRET_MAX) {
			snprintf(err, errlen, "'%s': larger than %d bytes",
			    path, SECRET_MAX);
			errno = 0;
			goto fail;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	while (b.len > 0 && isspace((unsigned char)b.p[b.len - 1]))
		b.p[--b.len] = '\0';
	for (i = 0; i < b.len && isspace((unsigned char)b.p[i]); i++)
		continue;
	memmove(b.p, b.p + i, b.len - i + 1);
	return buf_detach(&b, NULL);
fail:
	e = errno;
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	wipe(&b);
	errno = e;
	return NULL;
}

char *
secret_read_token(const char *path, char *err, size_t errlen)
{
	char *s, *p;

	if ((s = secret_read(path, err, errlen)) == NULL)
		return NULL;
	if (*s == '\0') {
		snprintf(err, errlen, "'%s': no token in the file", path);
		secret_free(s);
		errno = 0;
		return NULL;
	}
	for (p = s; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) {
			snprintf(err, errlen, "'%s': the token has white "
			    "space or control characters in it", path);
			secret_free(s);
			errno = 0;
			return NULL;
		}
	return s;
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

int
http_auth_resolve(const struct http_auth *a, struct http_creds *c, char *err,
    size_t errlen)
{
	char	*secret = NULL;

	memset(c, 0, sizeof(*c));
	if (a->username != NULL) {
		if (a->password_file != NULL && (secret = secret_read(
		    a->password_file, err, errlen)) == NULL)
			return -1;
		c->user = xstrdup(a->username);
		c->pass = secret != NULL ? secret :
		    xstrdup(a->password != NULL ? a->password : "");
	} else if (a->type != NULL) {
		if (a->credentials_file != NULL && (secret = secret_read(
		    a->credentials_file, err, errlen)) == NULL)
			return -1;
		c->header = xasprintf("Authorization: %s %s", a->type,
		    secret != NULL ? secret : a->credentials != NULL ?
		    a->credentials : "");
		secret_free(secret);
	}
	return 0;
}

void
http_creds_release(struct http_creds *c)
{
	secret_free(c->user);
	secret_free(c->pass);
	secret_free(c->header);
	memset(c, 0, sizeof(*c));
}

void
http_auth_release(struct http_auth *a)
{
	free(a->username);
	secret_free(a->password);
	free(a->password_file);
	free(a->type);
	secret_free(a->credentials);
	free(a->credentials_file);
	memset(a, 0, sizeof(*a));
}
