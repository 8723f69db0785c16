/* SPDX-License-Identifier: Apache-2.0 */
/* The storage front: picks the engine a URI names and dispatches to it. */
#include <errno.h>
#include <sysexits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "db.h"
#include "schema.h"
#include "store.h"
#include "timefmt.h"
#include "xalloc.h"

static int
has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* The first is the default: a URI no driver claims is its path. */
static const struct sql_driver *const drivers[] = {
	&sql_sqlite, &sql_postgres, &sql_mysql,
};

/* db, just opened, with its schema brought up to date; or NULL. */
static struct db *
migrated(struct db *db, int *transient, char *err, size_t errlen)
{
	int e;

	if (db == NULL)
		return NULL;
	db->errnum = 0;
	if (schema_migrate(db, err, errlen) == 0) {
		errno = 0;
		return db;
	}
	*transient = db->transient;
	e = db->errnum;
	db_close(db);
	errno = e;
	return NULL;
}

/* The driver that claims uri, or NULL. */
static const struct sql_driver *
driver_of(const char *uri)
{
	size_t i;

	for (i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (drivers[i]->claims(uri))
			return drivers[i];
	return NULL;
}

struct db *
db_open(const char *uri, int *transient, char *err, size_t errlen)
{
	const struct sql_driver *d;
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
	if ((d = driver_of(uri)) != NULL)
		return migrated(d->open(uri, transient, err, errlen),
		    transient, err, errlen);
	/*
	 * Any other "scheme:" before the first '/' names an engine we do
	 * not have; a path with a colon further on is still a path.
	 */
	colon = strchr(uri, ':');
	slash = strchr(uri, '/');
	if (colon != NULL && colon > uri && (slash == NULL || colon < slash) &&
	    strspn(uri, "abcdefghijklmnopqrstuvwxyz0123456789+.-") ==
	    (size_t)(colon - uri)) {
		/* Not the whole URI: it may hold a password. */
		snprintf(err, errlen, "unknown database engine '%.*s'",
		    (int)(colon - uri), uri);
		return NULL;
	}
	return migrated(drivers[0]->open(uri, transient, err, errlen),
	    transient, err, errlen);
}

/*
 * Appends the string p to b, each value of a "password=" parameter (of a
 * URI's query or a conninfo string, quoted or not) replaced by "xxx".
 */
static void
add_without_passwords(struct buf *b, const char *p)
{
	const char *q;

	while ((q = strstr(p, "password=")) != NULL) {
		q += strlen("password=");
		buf_add(b, p, (size_t)(q - p));
		buf_adds(b, "xxx");
		if (*q == '\'') {
			for (q++; *q != '\0' && *q != '\''; q++)
				if (*q == '\\' && q[1] != '\0')
					q++;
			if (*q == '\'')
				q++;
		} else
			q += strcspn(q, "& \t\n");
		p = q;
	}
	buf_adds(b, p);
}

char *
db_uri_redacted(const char *uri)
{
	const char *auth = NULL, *end = NULL, *at = NULL, *colon, *p;
	const struct sql_driver *d = driver_of(uri);
	struct buf b;

	if (d == NULL || d == &sql_sqlite)
		return xstrdup(uri);
	/* user:password@ in a URI's authority, or before a DSN's last '/'. */
	if ((p = strstr(uri, "://")) != NULL) {
		auth = p + 3;
		end = auth + strcspn(auth, "/?#");
	} else if (d == &sql_mysql) {
		auth = uri;
		if (has_prefix(uri, "mysql:"))
			auth += strlen("mysql:");
		else if (has_prefix(uri, "mariadb:"))
			auth += strlen("mariadb:");
		if ((end = strrchr(auth, '/')) == NULL)
			end = auth + strlen(auth);
	}
	for (p = auth; p != NULL && p < end; p++)
		if (*p == '@')
			at = p;
	buf_init(&b);
	if (at != NULL &&
	    (colon = memchr(auth, ':', (size_t)(at - auth))) != NULL) {
		buf_add(&b, uri, (size_t)(colon + 1 - uri));
		buf_adds(&b, "xxx");
		uri = at;
	}
	add_without_passwords(&b, uri);
	return buf_detach(&b, NULL);
}

char *
db_uri_choose(const char *flag, const struct conf *conf)
{
	const char *env = db_uri_from_env();

	if (flag != NULL)
		return xstrdup(flag);
	if (env != NULL)
		return xstrdup(env);
	return conf != NULL ? conf_db_uri(conf) : NULL;
}

int
db_open_status(int transient)
{
	if (transient)
		return EX_UNAVAILABLE;
	return errno != 0 ? EX_NOINPUT : EX_CONFIG;
}

const char *
db_uri_from_env(void)
{
	const char *v = getenv(DB_URI_ENV);

	return v != NULL && *v != '\0' ? v : NULL;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	sql_forget(db);
	db->drv->close(db);
}

const char *
db_engine(const struct db *db)
{
	return db->drv->name;
}

int64_t
db_rows_written(const struct db *db)
{
	return db->written;
}

int
db_services(struct db *db, char ***names, size_t *n, char *err, size_t errlen)
{
	*names = NULL;
	*n = 0;
	return store_services(db, names, n, err, errlen);
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
	return store_service_exists(db, service, err, errlen);
}

int
db_errors(struct db *db, const char *service, size_t nocc, int with_resolved,
    struct db_error_list *l, char *err, size_t errlen)
{
	l->v = NULL;
	l->n = 0;
	return store_errors(db, service, nocc, with_resolved, l, err,
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
	return store_resolve(db, service, key, err, errlen);
}

int
db_targets(struct db *db, struct db_target_list *l, char *err, size_t errlen)
{
	l->v = NULL;
	l->n = 0;
	return store_targets(db, l, err, errlen);
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

void
db_error_release(struct db_error *e)
{
	size_t j;

	if (e == NULL)
		return;
	free(e->key);
	free(e->status);
	for (j = 0; j < e->nocc; j++) {
		free(e->occ[j].uuid);
		free(e->occ[j].error_json);
		free(e->occ[j].http_json);
	}
	free(e->occ);
	memset(e, 0, sizeof(*e));
}

int
db_error_get(struct db *db, const char *service, const char *key,
    size_t nocc, struct db_error *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	return store_error_one(db, service, key, nocc, out, err, errlen);
}

int
db_set_status(struct db *db, const char *service, const char *key,
    const char *status, char *err, size_t errlen)
{
	if (status == NULL || (strcmp(status, "unresolved") != 0 &&
	    strcmp(status, "resolved") != 0 &&
	    strcmp(status, "ignored") != 0)) {
		snprintf(err, errlen, "'%s': not a status: want unresolved, "
		    "resolved or ignored", status ? status : "");
		return -1;
	}
	return store_set_status(db, service, key, status, err, errlen);
}

/* The most buckets one call may ask for (a year of minutes and then some). */
#define DB_MAX_BUCKETS	600000

/* The buckets db_counts returns, one row added at a time. */
struct bucket_acc {
	struct db_bucket	*v;
	size_t			 n;
	int64_t			 since;
	int64_t			 width;
};

static void
bucket_acc_add(int64_t start, int64_t count, void *arg)
{
	struct bucket_acc *acc = arg;
	int64_t i;

	/* A source bucket that began before since still overlaps the first. */
	i = start < acc->since ? 0 : (start - acc->since) / acc->width;
	if (i >= 0 && (uint64_t)i < acc->n)
		acc->v[i].count += count;
}

int
db_counts(struct db *db, const char *service, const char *key,
    int64_t since_ms, int64_t bucket_ms, struct db_bucket **v, size_t *n,
    char *err, size_t errlen)
{
	struct bucket_acc acc;
	int64_t now, nb, i, from;
	int hourly;

	*v = NULL;
	*n = 0;
	if (bucket_ms <= 0) {
		snprintf(err, errlen, "bucket width %lld ms: must be positive",
		    (long long)bucket_ms);
		return -1;
	}
	now = time_now();
	if (since_ms > now)
		since_ms = now;
	nb = (now - since_ms + bucket_ms - 1) / bucket_ms;
	if (nb == 0)
		nb = 1;
	if (nb > DB_MAX_BUCKETS) {
		snprintf(err, errlen, "%lld buckets asked for: at most %d",
		    (long long)nb, DB_MAX_BUCKETS);
		return -1;
	}
	/*
	 * Whole hours come from the hourly table, which is kept longer;
	 * anything finer from the minutes.
	 */
	hourly = bucket_ms % 3600000 == 0;
	acc.v = xcalloc((size_t)nb, sizeof(*acc.v));
	acc.n = (size_t)nb;
	acc.since = since_ms;
	acc.width = bucket_ms;
	for (i = 0; i < nb; i++)
		acc.v[i].start = since_ms + i * bucket_ms;
	/* The source bucket that holds since counts in the first one. */
	from = since_ms - (hourly ? 3600000 : 60000) + 1;
	if (store_bucket_rows(db, service, key, hourly, from,
	    bucket_acc_add, &acc, err, errlen) == -1) {
		free(acc.v);
		return -1;
	}
	*v = acc.v;
	*n = acc.n;
	return 0;
}

int
db_instances(struct db *db, const char *service, const char *key,
    struct db_instance **v, size_t *n, char *err, size_t errlen)
{
	*v = NULL;
	*n = 0;
	return store_instances(db, service, key, v, n, err, errlen);
}

void
db_instances_free(struct db_instance *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i].target);
	free(v);
}

int
db_metrics(struct db *db, int (*fn)(const struct db_metric *, void *),
    void *arg, char *err, size_t errlen)
{
	return store_metrics(db, fn, arg, err, errlen);
}

int
db_service_stats(struct db *db, struct db_service_stats **v, size_t *n,
    char *err, size_t errlen)
{
	*v = NULL;
	*n = 0;
	return store_service_stats(db, v, n, err, errlen);
}

void
db_service_stats_free(struct db_service_stats *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i].service);
	free(v);
}

int
db_generation(struct db *db, int64_t *gen, char *err, size_t errlen)
{
	return store_generation(db, gen, err, errlen);
}

int
db_prune(struct db *db, const struct db_retention *r, int64_t now,
    char *err, size_t errlen)
{
	return store_prune(db,
	    r->occurrences_ms > 0 ? now - r->occurrences_ms : 0,
	    r->minutes_ms > 0 ? now - r->minutes_ms : 0,
	    r->hours_ms > 0 ? now - r->hours_ms : 0,
	    r->targets_ms > 0 ? now - r->targets_ms : 0, r->targets_ms, err,
	    errlen);
}

void
db_set_shard(struct db *db, const char *shard)
{
	snprintf(db->shard, sizeof(db->shard), "%s", shard ? shard : "");
}
