/* SPDX-License-Identifier: Apache-2.0 */
/* The schema, written once for every engine, and its migrations. */
#ifndef PERISKOP_SCHEMA_H
#define PERISKOP_SCHEMA_H

#include <stddef.h>

#include "sql.h"

/* The version a database reaches when schema_migrate has run. */
#define SCHEMA_VERSION	7

/*
 * Brings the database of a freshly opened handle to SCHEMA_VERSION,
 * under the driver's schema lock: a second tool waits, then finds the
 * work done.  A database newer than this program is refused (not
 * transient).  -1 with a message in err and db->transient set.
 */
int	schema_migrate(struct db *, char *err, size_t errlen);

#endif
