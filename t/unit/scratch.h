/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scratch databases for the unit tests, on the servers that
 * PERISKOP_TEST_PG and PERISKOP_TEST_MYSQL name: one per test, so tests
 * stay independent and may run beside other test programs.
 */
#ifndef SCRATCH_H
#define SCRATCH_H

#include <stddef.h>

/*
 * Runs q on the database uri names (mysql: or a PostgreSQL URI) and
 * returns the first value of its answer as a number, -1 when there is
 * none.  An error fails the running test.
 */
long long	scratch_query(const char *uri, const char *q);

/*
 * Creates an empty database prefix_PID_N on the server of the URI in the
 * environment variable env; its name goes into name, its URI into uri.
 */
void		scratch_create(const char *env, const char *prefix, char *name,
		    size_t namelen, char *uri, size_t urilen);
void		scratch_drop(const char *env, const char *name);

#endif
