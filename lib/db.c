/* SPDX-License-Identifier: Apache-2.0 */
/* The storage front: picks the engine a URI names and dispatches to it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_impl.h"

static int
has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

struct db *
db_open(const char *uri, int *transient, char *err, size_t errlen)
{
	const char *colon, *slash;
	int dummy;

	if (transient == NULL)
		transient = &dummy;
	*transient = 0;
	errno = 0;
	if (uri == NULL || *uri == '\0') {
		snprintf(err, errlen, "empty database URI");
		return NULL;
	}
	if (has_prefix(uri, "postgres://") ||
	    has_prefix(uri, "postgresql://") || has_prefix(uri, "postgres:") ||
	    strstr(uri, "host=") != NULL || strstr(uri, "dbname=") != NULL) {
		snprintf(err, errlen, "postgres: engine not available yet");
		return NULL;
	}
	if (has_prefix(uri, "mysql:") || has_prefix(uri, "mariadb:")) {
		snprintf(err, errlen, "mysql: engine not available yet");
		return NULL;
	}
	if (strcmp(uri, "memory:") == 0 || strcmp(uri, "memory") == 0 ||
	    strcmp(uri, "sqlite::memory:") == 0)
		return db_sqlite_open(":memory:", transient, err, errlen);
	if (has_prefix(uri, "sqlite://"))
		uri += strlen("sqlite://");
	else if (has_prefix(uri, "sqlite:"))
		uri += strlen("sqlite:");
	else {
		/*
		 * Any other "scheme:" before the first '/' names an engine we
		 * do not have; a path with a colon further on is still a path.
		 */
		colon = strchr(uri, ':');
		slash = strchr(uri, '/');
		if (colon != NULL && colon > uri &&
		    (slash == NULL || colon < slash) &&
		    strspn(uri, "abcdefghijklmnopqrstuvwxyz0123456789+.-") ==
		    (size_t)(colon - uri)) {
			snprintf(err, errlen, "'%s': unknown database engine "
			    "'%.*s'", uri, (int)(colon - uri), uri);
			return NULL;
		}
	}
	if (*uri == '\0') {
		snprintf(err, errlen, "sqlite: empty path");
		return NULL;
	}
	return db_sqlite_open(uri, transient, err, errlen);
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	db->ops->close(db);
}

const char *
db_engine(const struct db *db)
{
	return db->ops->name;
}

int
db_services(struct db *db, char ***names, size_t *n, char *err, size_t errlen)
{
	return db->ops->services(db, names, n, err, errlen);
}

void
db_strings_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
db_service_exists(struct db *db, const char *service, char *err,
    size_t errlen)
{
	return db->ops->service_exists(db, service, err, errlen);
}

int
db_errors(struct db *db, const char *service, size_t nocc, int with_resolved,
    struct db_error_list *l, char *err, size_t errlen)
{
	l->v = NULL;
	l->n = 0;
	return db->ops->errors(db, service, nocc, with_resolved, l, err,
	    errlen);
}

void
db_error_list_release(struct db_error_list *l)
{
	size_t i, j;
	struct db_error *e;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		e = &l->v[i];
		free(e->key);
		free(e->status);
		for (j = 0; j < e->nocc; j++) {
			free(e->occ[j].uuid);
			free(e->occ[j].error_json);
			free(e->occ[j].http_json);
		}
		free(e->occ);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
db_resolve(struct db *db, const char *service, const char *key, char *err,
    size_t errlen)
{
	return db->ops->resolve(db, service, key, err, errlen);
}

int
db_targets(struct db *db, struct db_target_list *l, char *err, size_t errlen)
{
	l->v = NULL;
	l->n = 0;
	return db->ops->targets(db, l, err, errlen);
}

void
db_target_list_release(struct db_target_list *l)
{
	size_t i;
	struct db_target_info *t;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		t = &l->v[i];
		free(t->service);
		free(t->address);
		free(t->url);
		free(t->endpoint);
		free(t->last_error);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
