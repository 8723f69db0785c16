/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets read from files: passwords, bearer tokens, API tokens. */
#ifndef PERISKOP_SECRET_H
#define PERISKOP_SECRET_H

#include <stddef.h>

#define SECRET_MAX	65536	/* bytes; a larger file is not a secret */

/*
 * Reads the file at path as Prometheus reads its *_file secrets: whole,
 * with surrounding white space trimmed.  Returns a new string the caller
 * gives to secret_free, or NULL with "'PATH': reason" in err; err never
 * holds any of the file's content.  errno is 0 when the file was read
 * but its content is refused, so callers can tell 66 from 78.
 */
char	*secret_read(const char *path, char *err, size_t errlen);

/*
 * The same, for a token that requests must carry: one line, not empty,
 * no white space inside.  NULL with err when it is not that.
 */
char	*secret_read_token(const char *path, char *err, size_t errlen);

/* Overwrites s before freeing it; NULL is a no-op. */
void	 secret_free(char *s);

/*
 * The authentication part of Prometheus' http_config, as the
 * configuration and the targets lines carry it: basic auth when
 * username is set, else "Authorization: TYPE CREDENTIALS" when type is;
 * a *_file names a secret read at each use.
 */
struct http_auth {
	char	*username;
	char	*password;
	char	*password_file;
	char	*type;
	char	*credentials;
	char	*credentials_file;
};

/* What a request carries for it, the files read: secret_free each. */
struct http_creds {
	char	*user;		/* basic auth, or NULL */
	char	*pass;
	char	*header;	/* "Authorization: ...", or NULL */
};

/* 0, or -1 with err (which never holds a secret). */
int	 http_auth_resolve(const struct http_auth *, struct http_creds *,
	    char *err, size_t errlen);
void	 http_creds_release(struct http_creds *);
void	 http_auth_release(struct http_auth *);

#endif
