/* SPDX-License-Identifier: Apache-2.0 */
/* MySQL data source names taken apart: the Go driver's form, or a URI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_dsn.h"
#include "urlenc.h"
#include "xalloc.h"

void
db_mysql_dsn_release(struct db_mysql_dsn *d)
{
	if (d == NULL)
		return;
	free(d->user);
	if (d->password != NULL)
		explicit_bzero(d->password, strlen(d->password));
	free(d->password);
	free(d->host);
	free(d->socket);
	free(d->dbname);
	memset(d, 0, sizeof(*d));
}

static int
parse_port(const char *s, size_t n, unsigned int *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned int)v;
	return 0;
}

/* host, host:port, [v6] or [v6]:port. */
static int
parse_hostport(struct db_mysql_dsn *d, const char *s, size_t n, char *err,
    size_t errlen)
{
	const char *colon;

	d->port = 3306;
	if (n > 0 && s[0] == '[') {
		colon = memchr(s, ']', n);
		if (colon == NULL) {
			snprintf(err, errlen, "unclosed '[' in the address");
			return -1;
		}
		d->host = xstrndup(s + 1, (size_t)(colon - s - 1));
		colon++;
		if (colon < s + n && *colon != ':') {
			snprintf(err, errlen, "junk after ']' in the address");
			return -1;
		}
	} else {
		colon = memchr(s, ':', n);
		d->host = xstrndup(s, colon ? (size_t)(colon - s) : n);
	}
	if (d->host[0] == '\0') {
		free(d->host);
		d->host = xstrdup("127.0.0.1");
	}
	if (colon != NULL && colon < s + n && parse_port(colon + 1,
	    (size_t)(s + n - colon - 1), &d->port) == -1) {
		snprintf(err, errlen, "bad port '%.*s': want 1 to 65535",
		    (int)(s + n - colon - 1), colon + 1);
		return -1;
	}
	return 0;
}

/*
 * The query part: key=value pairs joined by '&'.  The Go driver's
 * parameters (charset, parseTime, loc, timeouts, ...) configure the Go
 * side only; they are checked for form and otherwise ignored.
 */
static int
parse_query(const char *q, char *err, size_t errlen)
{
	const char *p, *end, *eq;

	for (p = q; *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL || eq == p) {
			snprintf(err, errlen, "bad parameter '%.*s': want "
			    "name=value", (int)(end - p), p);
			return -1;
		}
		if ((size_t)(eq - p) == 7 && strncmp(p, "charset", 7) == 0 &&
		    strncmp(eq + 1, "utf8", 4) != 0) {
			snprintf(err, errlen, "charset '%.*s': only utf8mb4 "
			    "is supported", (int)(end - eq - 1), eq + 1);
			return -1;
		}
	}
	return 0;
}

/* mysql://user:password@host:port/dbname?params, %-escapes decoded. */
static int
parse_uri(const char *s, struct db_mysql_dsn *d, char *err, size_t errlen)
{
	const char *auth, *at, *colon, *slash, *q;
	char m[128];
	size_t n;

	auth = strstr(s, "://") + 3;
	n = strcspn(auth, "/?");
	slash = auth + n;
	at = NULL;
	for (q = auth; q < slash; q++)
		if (*q == '@')
			at = q;
	if (at != NULL) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		if ((d->user = urlenc_decode(auth, colon ? (size_t)(colon -
		    auth) : (size_t)(at - auth), NULL, m, sizeof(m))) == NULL) {
			snprintf(err, errlen, "user name: %s", m);
			return -1;
		}
		if (colon != NULL && (d->password = urlenc_decode(colon + 1,
		    (size_t)(at - colon - 1), NULL, m, sizeof(m))) == NULL) {
			snprintf(err, errlen, "password: bad %%-escape");
			return -1;
		}
		auth = at + 1;
	}
	if (parse_hostport(d, auth, (size_t)(slash - auth), err,
	    errlen) == -1)
		return -1;
	if (*slash != '/' || slash[1] == '\0' || slash[1] == '?') {
		snprintf(err, errlen, "no database name: want "
		    "mysql://user:password@host:port/dbname");
		return -1;
	}
	n = strcspn(slash + 1, "?");
	if ((d->dbname = urlenc_decode(slash + 1, n, NULL, m,
	    sizeof(m))) == NULL) {
		snprintf(err, errlen, "database name: %s", m);
		return -1;
	}
	q = slash + 1 + n;
	return *q == '?' ? parse_query(q + 1, err, errlen) : 0;
}

/*
 * The Go driver's form, as the original's config has it:
 * [user[:password]@][net[(addr)]]/dbname[?param1=value1&...], net being
 * tcp (addr host:port) or unix (addr a socket path).
 */
static int
parse_go(const char *s, struct db_mysql_dsn *d, char *err, size_t errlen)
{
	const char *slash, *at, *colon, *net, *open, *q;
	size_t n;

	/* The last '/' before the parameters starts the database name. */
	n = strcspn(s, "?");
	for (slash = NULL, q = s; q < s + n; q++)
		if (*q == '/')
			slash = q;
	if (slash == NULL) {
		snprintf(err, errlen, "no '/dbname': want "
		    "user:password@tcp(host:port)/dbname");
		return -1;
	}
	for (at = NULL, q = s; q < slash; q++)
		if (*q == '@')
			at = q;
	net = s;
	if (at != NULL) {
		colon = memchr(s, ':', (size_t)(at - s));
		d->user = xstrndup(s, colon ? (size_t)(colon - s) :
		    (size_t)(at - s));
		if (colon != NULL)
			d->password = xstrndup(colon + 1,
			    (size_t)(at - colon - 1));
		net = at + 1;
	}
	open = memchr(net, '(', (size_t)(slash - net));
	if (open != NULL && slash[-1] != ')') {
		snprintf(err, errlen, "unclosed '(' in the address");
		return -1;
	}
	n = open != NULL ? (size_t)(open - net) : (size_t)(slash - net);
	if (n == 0 || (n == 3 && strncmp(net, "tcp", 3) == 0)) {
		if (open != NULL && parse_hostport(d, open + 1,
		    (size_t)(slash - 1 - open - 1), err, errlen) == -1)
			return -1;
		if (open == NULL) {
			d->host = xstrdup("127.0.0.1");
			d->port = 3306;
		}
	} else if (n == 4 && strncmp(net, "unix", 4) == 0) {
		if (open == NULL || slash - 1 == open + 1) {
			snprintf(err, errlen, "unix needs a socket path: "
			    "unix(/run/mysqld/mysqld.sock)");
			return -1;
		}
		d->socket = xstrndup(open + 1, (size_t)(slash - 1 - open - 1));
	} else {
		snprintf(err, errlen, "unknown network '%.*s': want tcp or "
		    "unix", (int)n, net);
		return -1;
	}
	n = strcspn(slash + 1, "?");
	if (n == 0) {
		snprintf(err, errlen, "empty database name after '/'");
		return -1;
	}
	d->dbname = xstrndup(slash + 1, n);
	q = slash + 1 + n;
	return *q == '?' ? parse_query(q + 1, err, errlen) : 0;
}

int
db_mysql_dsn_parse(const char *s, struct db_mysql_dsn *d, char *err,
    size_t errlen)
{
	char m[256];
	int rc;

	memset(d, 0, sizeof(*d));
	if (strncmp(s, "mysql:", 6) == 0 && strncmp(s, "mysql://", 8) != 0)
		s += 6;
	else if (strncmp(s, "mariadb:", 8) == 0 &&
	    strncmp(s, "mariadb://", 10) != 0)
		s += 8;
	if (*s == '\0') {
		snprintf(err, errlen, "mysql: empty data source name");
		return -1;
	}
	if (strncmp(s, "mysql://", 8) == 0 || strncmp(s, "mariadb://", 10) == 0)
		rc = parse_uri(s, d, m, sizeof(m));
	else
		rc = parse_go(s, d, m, sizeof(m));
	if (rc == -1) {
		snprintf(err, errlen, "mysql: bad data source name: %s", m);
		db_mysql_dsn_release(d);
		return -1;
	}
	if (d->user == NULL || d->user[0] == '\0') {
		free(d->user);
		d->user = xstrdup("root");
	}
	return 0;
}

int
db_mysql_dsn_check(const char *dsn, char *err, size_t errlen)
{
	struct db_mysql_dsn d;

	if (db_mysql_dsn_parse(dsn, &d, err, errlen) == -1)
		return -1;
	db_mysql_dsn_release(&d);
	return 0;
}
