/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MySQL data source names taken apart, without connecting: the syntax
 * only, so the configuration checks one without depending on storage.
 */
#ifndef PERISKOP_MYSQL_DSN_H
#define PERISKOP_MYSQL_DSN_H

#include <stddef.h>

struct db_mysql_dsn {
	char		*user;		/* "root" when none is given */
	char		*password;	/* NULL when none is given */
	char		*host;		/* NULL with a socket */
	char		*socket;	/* unix(PATH), or NULL */
	char		*dbname;
	unsigned int	 port;		/* 3306 unless given */
};

/*
 * Parses "mysql://user:pass@host:port/dbname" (user and password
 * %-decoded) or the Go driver's "user:pass@tcp(host:port)/dbname?..."
 * or "user:pass@unix(/path)/dbname" (optionally after "mysql:"); the Go
 * parameters are checked for form and ignored.  0, or -1 with a message
 * that never holds the password.  Release with db_mysql_dsn_release.
 */
int	db_mysql_dsn_parse(const char *dsn, struct db_mysql_dsn *, char *err,
	    size_t errlen);
void	db_mysql_dsn_release(struct db_mysql_dsn *);
/* Only whether it parses: 0, or -1 with why in err. */
int	db_mysql_dsn_check(const char *dsn, char *err, size_t errlen);

#endif
