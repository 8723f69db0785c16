/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The schema, written once: the tables as they are now, rendered in each
 * engine's dialect, and the steps that bring any older database to them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "schema.h"
#include "store.h"
#include "timefmt.h"
#include "xalloc.h"

#define T_ID	SQL_COL_ID
#define T_TEXT	SQL_COL_TEXT
#define T_WORD	SQL_COL_WORD
#define T_INT	SQL_COL_INT
#define T_BIG	SQL_COL_BIGINT
#define T_REAL	SQL_COL_REAL

/* rest is the same SQL in every dialect: NOT NULL, DEFAULT, CHECK. */
struct column {
	const char	*name;
	enum sql_column	 type;
	const char	*rest;
};

struct table {
	const char		*name;
	const struct column	*columns;	/* up to a NULL name */
	const char		*key;		/* the row's identity */
	int			 unique;	/* a unique key, not primary */
	/*
	 * "(COLUMNS) REFERENCES TABLE (COLUMNS)": its rows go with the
	 * row they belong to.  Not where ids are hashed: a reference
	 * needs the whole text indexed.
	 */
	const char		*parent;
	/* Only where the driver tells no generation of its own. */
	int			 counter;
	/* Updated every round: the driver's churn options. */
	int			 churn;
};

static const struct column services[] = {
	{ "name", T_ID, "NOT NULL" },
	{ "created", T_BIG, "NOT NULL" },
	{ NULL, 0, NULL }
};

static const struct column targets[] = {
	{ "service", T_ID, "NOT NULL" },
	{ "address", T_ID, "NOT NULL" },
	{ "url", T_TEXT, "NOT NULL" },
	{ "endpoint", T_TEXT, "" },
	{ "labels", T_TEXT, "NOT NULL" },
	{ "last_scrape", T_BIG, "" },
	{ "duration_ms", T_REAL, "" },
	{ "up", T_INT, "" },
	{ "last_error", T_TEXT, "" },
	{ "seen_in_targets", T_INT, "NOT NULL DEFAULT 0" },
	{ "shard", T_WORD, "NOT NULL DEFAULT ''" },
	{ "updated", T_BIG, "" },
	/* up before the last health write: its upsert returns it. */
	{ "prev_up", T_INT, "" },
	{ NULL, 0, NULL }
};

static const struct column errors[] = {
	{ "service", T_ID, "NOT NULL" },
	{ "key", T_ID, "NOT NULL" },
	{ "severity", T_WORD, "NOT NULL" },
	{ "total_count", T_BIG, "NOT NULL DEFAULT 0" },
	{ "created_at", T_BIG, "" },
	{ "first_seen", T_BIG, "" },
	{ "last_seen", T_BIG, "" },
	{ "inserted", T_BIG, "NOT NULL" },
	{ "status", T_WORD, "NOT NULL DEFAULT 'unresolved' CHECK (status IN"
	    " ('unresolved', 'resolved', 'ignored'))" },
	{ "resolved_at", T_BIG, "" },
	{ "regressed", T_INT, "NOT NULL DEFAULT 0" },
	{ "regressed_at", T_BIG, "" },
	{ "rounds", T_BIG, "NOT NULL DEFAULT 0" },
	{ NULL, 0, NULL }
};

static const struct column occurrences[] = {
	{ "service", T_ID, "NOT NULL" },
	{ "key", T_ID, "NOT NULL" },
	{ "uuid", T_ID, "NOT NULL" },
	{ "timestamp", T_BIG, "NOT NULL" },
	{ "severity", T_WORD, "NOT NULL" },
	{ "error_json", T_TEXT, "NOT NULL" },
	{ "http_json", T_TEXT, "" },
	{ NULL, 0, NULL }
};

static const struct column target_counts[] = {
	{ "service", T_ID, "NOT NULL" },
	{ "target_id", T_ID, "NOT NULL" },
	{ "key", T_ID, "NOT NULL" },
	{ "target", T_ID, "" },
	{ "last_raw", T_BIG, "NOT NULL" },
	{ "accumulated", T_BIG, "NOT NULL" },
	{ "last_delta", T_BIG, "NOT NULL DEFAULT 0" },
	{ "updated", T_BIG, "" },
	{ NULL, 0, NULL }
};

/* The store's notation of packed.h's rows. */
static const struct column target_baselines[] = {
	{ "service", T_ID, "NOT NULL" },
	{ "target_id", T_ID, "NOT NULL" },
	{ "part", T_INT, "NOT NULL" },
	{ "target", T_ID, "" },
	{ "counts", T_TEXT, "NOT NULL" },
	{ "oldest", T_BIG, "NOT NULL" },
	{ "updated", T_BIG, "NOT NULL" },
	{ "version", T_BIG, "NOT NULL" },
	{ NULL, 0, NULL }
};

static const struct column error_minutes[] = {
	{ "service", T_ID, "NOT NULL" },
	{ "key", T_ID, "NOT NULL" },
	{ "minute", T_BIG, "NOT NULL" },
	{ "count", T_BIG, "NOT NULL" },
	{ NULL, 0, NULL }
};

static const struct column error_hours[] = {
	{ "service", T_ID, "NOT NULL" },
	{ "key", T_ID, "NOT NULL" },
	{ "hour", T_BIG, "NOT NULL" },
	{ "count", T_BIG, "NOT NULL" },
	{ NULL, 0, NULL }
};

static const struct column service_stats[] = {
	{ "service", T_ID, "NOT NULL" },
	{ "rounds_total", T_BIG, "NOT NULL DEFAULT 0" },
	{ "scrapes_total", T_BIG, "NOT NULL DEFAULT 0" },
	{ "scrape_failures_total", T_BIG, "NOT NULL DEFAULT 0" },
	{ "last_round_ms", T_REAL, "" },
	{ "last_round_at", T_BIG, "" },
	{ NULL, 0, NULL }
};

static const struct column periskop_meta[] = {
	{ "id", T_INT, "NOT NULL CHECK (id = 1)" },
	{ "generation", T_BIG, "NOT NULL" },
	{ NULL, 0, NULL }
};

static const struct table tables[] = {
	{ "services", services, "name", 0, NULL, 0, 0 },
	{ "targets", targets, "service, address", 0,
	    "(`service`) REFERENCES `services` (`name`)", 0, 1 },
	{ "errors", errors, "service, key", 0,
	    "(`service`) REFERENCES `services` (`name`)", 0, 0 },
	{ "occurrences", occurrences, "service, key, uuid", 1,
	    "(`service`, `key`) REFERENCES `errors` (`service`, `key`)", 0,
	    0 },
	{ "target_counts", target_counts, "service, target_id, key", 0, NULL,
	    0, 1 },
	{ "target_baselines", target_baselines, "service, target_id, part", 0,
	    NULL, 0, 1 },
	{ "error_minutes", error_minutes, "service, key, minute", 0, NULL, 0,
	    0 },
	{ "error_hours", error_hours, "service, key, hour", 0, NULL, 0, 0 },
	{ "service_stats", service_stats, "service", 0, NULL, 0, 0 },
	{ "periskop_meta", periskop_meta, "id", 0, NULL, 1, 0 },
};

struct index {
	const char	*name;
	const char	*table;
	const char	*columns;
};

static const struct index indexes[] = {
	{ "occurrences_time", "occurrences", "service, key, timestamp" },
	{ "target_counts_key", "target_counts", "service, key" },
	{ "occurrences_age", "occurrences", "timestamp" },
	{ "error_minutes_age", "error_minutes", "minute" },
	{ "error_hours_age", "error_hours", "hour" },
	{ "target_counts_age", "target_counts", "updated" },
	{ "target_counts_service_age", "target_counts", "service, updated" },
};

/*
 * The versions.  Step i takes a database from version i to i + 1; each
 * of its operations first asks the catalogue and does only what is
 * missing, so a step is safe to redo (MySQL commits each DDL statement
 * by itself) and a database that already holds the later form of a
 * table passes through the steps that built it.  A table is created as
 * it is now, the columns later steps add included.  Released steps are
 * never edited; a change is a new step at the end.
 */
enum op { OP_END, OP_TABLE, OP_COLUMN, OP_INDEX, OP_DROP_INDEX, OP_CHURN,
	OP_PACK, OP_DROP_TABLE, OP_COUNTS_VIEW };

struct step {
	enum op		 op;
	const char	*table;		/* OP_TABLE, OP_COLUMN, OP_CHURN,
					   OP_DROP_TABLE */
	const char	*name;		/* OP_COLUMN, OP_*INDEX */
	int		 now;		/* OP_COLUMN: rows before get the clock */
};

static const struct step step1[] = {
	{ OP_TABLE, "services", NULL, 0 },
	{ OP_TABLE, "targets", NULL, 0 },
	{ OP_TABLE, "errors", NULL, 0 },
	{ OP_TABLE, "occurrences", NULL, 0 },
	{ OP_TABLE, "target_counts", NULL, 0 },
	{ OP_TABLE, "error_minutes", NULL, 0 },
	{ OP_TABLE, "periskop_meta", NULL, 0 },
	{ OP_INDEX, NULL, "occurrences_time", 0 },
	{ OP_END, NULL, NULL, 0 }
};

/* Hours, round statistics, deltas, shards, retention. */
static const struct step step2[] = {
	{ OP_TABLE, "error_hours", NULL, 0 },
	{ OP_TABLE, "service_stats", NULL, 0 },
	{ OP_COLUMN, "errors", "rounds", 0 },
	{ OP_COLUMN, "target_counts", "last_delta", 0 },
	/* Rows from before count as just seen, so retention spares them. */
	{ OP_COLUMN, "target_counts", "updated", 1 },
	{ OP_COLUMN, "targets", "shard", 0 },
	{ OP_INDEX, NULL, "target_counts_key", 0 },
	{ OP_INDEX, NULL, "occurrences_age", 0 },
	{ OP_INDEX, NULL, "error_minutes_age", 0 },
	{ OP_INDEX, NULL, "error_hours_age", 0 },
	{ OP_INDEX, NULL, "target_counts_age", 0 },
	{ OP_END, NULL, NULL, 0 }
};

/*
 * When the aggregator last stored a target's health, which retention
 * ages it by (rows from before fall back to last_scrape), and each
 * service's newest count, which it measures silence from.
 */
static const struct step step3[] = {
	{ OP_COLUMN, "targets", "updated", 0 },
	{ OP_INDEX, NULL, "target_counts_service_age", 0 },
	{ OP_END, NULL, NULL, 0 }
};

/*
 * The two indexes on updated go: they made every count's update touch
 * four indexes, where PostgreSQL could keep it in its page, and pruning
 * (the only reader) scans the table once instead.
 */
static const struct step step4[] = {
	{ OP_DROP_INDEX, NULL, "target_counts_age", 0 },
	{ OP_DROP_INDEX, NULL, "target_counts_service_age", 0 },
	{ OP_END, NULL, NULL, 0 }
};

/*
 * A health write hands back the up it replaced, so that no locking read
 * goes before it.
 */
static const struct step step5[] = {
	{ OP_COLUMN, "targets", "prev_up", 0 },
	{ OP_END, NULL, NULL, 0 }
};

/*
 * The tables updated every round get the driver's churn parameters
 * that they were created without (PostgreSQL's fillfactor 70 before);
 * pages written from then on have the room.
 */
static const struct step step6[] = {
	{ OP_CHURN, "targets", NULL, 0 },
	{ OP_CHURN, "target_counts", NULL, 0 },
	{ OP_END, NULL, NULL, 0 }
};

/*
 * A target's counts become one row (packed.h) instead of one per key: a
 * round of 200,000 counts updated as many rows, which took PostgreSQL
 * and MariaDB longer than loading them into an empty table.
 */
static const struct step step7[] = {
	{ OP_TABLE, "target_baselines", NULL, 0 },
	{ OP_PACK, NULL, NULL, 0 },
	{ OP_DROP_TABLE, "target_counts", NULL, 0 },
	{ OP_COUNTS_VIEW, NULL, NULL, 0 },
	{ OP_END, NULL, NULL, 0 }
};

static const struct step *const steps[] = { step1, step2, step3, step4,
    step5, step6, step7 };
_Static_assert(sizeof(steps) / sizeof(steps[0]) == SCHEMA_VERSION,
    "one step per version");

static const struct table *
table_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (strcmp(tables[i].name, name) == 0)
			return &tables[i];
	abort();	/* the schema's own description is wrong */
}

static const struct column *
column_of(const struct table *t, const char *name, size_t n)
{
	const struct column *c;

	for (c = t->columns; c->name != NULL; c++)
		if (strlen(c->name) == n && strncmp(c->name, name, n) == 0)
			return c;
	abort();
}

/*
 * The next column of list ("a, b") from *p on, or NULL at its end; *p
 * moves past it.
 */
static const struct column *
next_column(const struct table *t, const char **p)
{
	const char *s = *p, *e;

	if (*s == '\0')
		return NULL;
	if ((e = strchr(s, ',')) == NULL)
		e = s + strlen(s);
	*p = *e != '\0' ? e + 2 : e;
	return column_of(t, s, (size_t)(e - s));
}

/*
 * Appends the columns of list, each as the identity it is found by: its
 * hash column where ids are hashed.
 */
static void
add_identity(struct buf *b, const struct sql_driver *d,
    const struct table *t, const char *list)
{
	const struct column *c;
	const char *p = list, *sep = "";

	while ((c = next_column(t, &p)) != NULL) {
		buf_addf(b, "%s`%s%s`", sep, c->name,
		    d->hashed_ids && c->type == T_ID ? "_h" : "");
		sep = ", ";
	}
}

static int
key_is_hashed(const struct sql_driver *d, const struct table *t)
{
	const struct column *c;
	const char *p = t->key;

	if (!d->hashed_ids)
		return 0;
	while ((c = next_column(t, &p)) != NULL)
		if (c->type == T_ID)
			return 1;
	return 0;
}

static void
add_column(struct buf *b, const struct sql_driver *d, const struct column *c)
{
	buf_addf(b, "`%s` %s%s%s", c->name, d->types[c->type],
	    *c->rest != '\0' ? " " : "", c->rest);
	if (d->hashed_ids && c->type == T_ID)
		buf_addf(b, ", `%s_h` BINARY(32) AS (UNHEX(SHA2(`%s`, 256)))"
		    " STORED", c->name, c->name);
}

/*
 * CREATE TABLE in the store's notation.  Where ids are hashed, a
 * table found by text has a surrogate primary key and its identity as
 * a unique key of the hash columns.
 */
static char *
create_table(const struct sql_driver *d, const struct table *t,
    const char *options)
{
	const struct column *c;
	struct buf b;
	int surrogate = key_is_hashed(d, t);

	buf_init(&b);
	buf_addf(&b, "CREATE TABLE IF NOT EXISTS `%s` (", t->name);
	if (surrogate)
		buf_adds(&b, "`id` BIGINT AUTO_INCREMENT PRIMARY KEY, ");
	for (c = t->columns; c->name != NULL; c++) {
		add_column(&b, d, c);
		buf_adds(&b, ", ");
	}
	if (surrogate)
		buf_addf(&b, "UNIQUE KEY `%s_id` (", t->name);
	else
		buf_adds(&b, t->unique ? "UNIQUE (" : "PRIMARY KEY (");
	add_identity(&b, d, t, t->key);
	buf_addc(&b, ')');
	if (t->parent != NULL && !d->hashed_ids)
		buf_addf(&b, ", FOREIGN KEY %s ON DELETE CASCADE", t->parent);
	buf_addc(&b, ')');
	if (t->churn && d->churn != NULL)
		buf_addf(&b, " WITH (%s)", d->churn);
	buf_adds(&b, options);
	return buf_detach(&b, NULL);
}

/* Runs DDL written in the store's notation. */
static int
exec(struct db *db, const char *q, char *err, size_t errlen)
{
	char *s = sql_dialect(db->drv, q);
	int rc;

	rc = db->drv->exec(db, s, err, errlen, "migrating");
	free(s);
	return rc;
}

/* The count a catalogue query returned, or -1. */
static int64_t
count(struct db *db, struct sql_rows *r, char *err, size_t errlen)
{
	int64_t n = -1;
	int rc;

	if (r == NULL)
		return -1;
	if ((rc = sql_next(db, r, err, errlen, "reading the catalogue")) == 1)
		n = sql_int(db, r, 0);
	else if (rc == 0)
		snprintf(err, errlen, "reading the catalogue: no row");
	sql_done(db, r);
	return n;
}

/* The driver's table options ("" for none), or NULL with err filled. */
static const char *
options_of(struct db *db, char *err, size_t errlen)
{
	if (db->drv->table_options == NULL)
		return "";
	return db->drv->table_options(db, err, errlen);
}

static int
apply(struct db *db, const struct step *s, const char **options, char *err,
    size_t errlen)
{
	const struct sql_driver *d = db->drv;
	const struct table *t;
	const struct column *c;
	const struct index *ix = NULL;
	struct buf b;
	int64_t n;
	size_t i;
	char *q;
	int rc;

	if (*options == NULL &&
	    (*options = options_of(db, err, errlen)) == NULL)
		return -1;
	buf_init(&b);
	switch (s->op) {
	case OP_TABLE:
		t = table_of(s->table);
		if (t->counter && d->generation != NULL)
			return 0;
		q = create_table(d, t, *options);
		rc = exec(db, q, err, errlen);
		free(q);
		if (rc == 0 && t->counter)
			rc = exec(db, "INSERT INTO `periskop_meta` (`id`,"
			    " `generation`) VALUES (1, 0) @IGNORE(id;id)",
			    err, errlen);
		return rc;
	case OP_COLUMN:
		t = table_of(s->table);
		if ((n = count(db, sql_run(db, Q_HAS_COLUMN, d->has_column,
		    err, errlen, "reading the catalogue", "tt", s->table,
		    s->name), err, errlen)) != 0)
			return n > 0 ? 0 : -1;
		c = column_of(t, s->name, strlen(s->name));
		if (d->hashed_ids && c->type == T_ID)
			abort();	/* ADD COLUMN of a hash needs its own */
		buf_addf(&b, "ALTER TABLE `%s` ADD COLUMN ", t->name);
		add_column(&b, d, c);
		break;
	case OP_INDEX:
	case OP_DROP_INDEX:
		for (i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++)
			if (strcmp(indexes[i].name, s->name) == 0)
				ix = &indexes[i];
		if (ix == NULL)
			abort();
		n = count(db, sql_run(db, Q_HAS_INDEX, d->has_index, err,
		    errlen, "reading the catalogue", "t", ix->name), err,
		    errlen);
		if (n < 0)
			return -1;
		if (s->op == OP_DROP_INDEX) {
			if (n == 0)
				return 0;
			buf_addf(&b, "DROP INDEX `%s`", ix->name);
			if (d->drop_index_on)
				buf_addf(&b, " ON `%s`", ix->table);
			break;
		}
		if (n > 0)
			return 0;
		buf_addf(&b, "CREATE INDEX `%s` ON `%s` (", ix->name,
		    ix->table);
		add_identity(&b, d, table_of(ix->table), ix->columns);
		buf_addc(&b, ')');
		break;
	case OP_CHURN:
		t = table_of(s->table);
		if (!t->churn)
			abort();
		if (d->churn == NULL)
			return 0;
		buf_addf(&b, "ALTER TABLE `%s` SET (%s)", t->name, d->churn);
		break;
	case OP_PACK:
		/* Redone, it clears what it wrote and writes it again. */
		if ((n = count(db, sql_run(db, Q_HAS_COLUMN, d->has_column,
		    err, errlen, "reading the catalogue", "tt",
		    "target_counts", "key"), err, errlen)) <= 0)
			return n == 0 ? 0 : -1;
		return store_counts_pack(db, err, errlen);
	case OP_DROP_TABLE:
		buf_addf(&b, "DROP TABLE IF EXISTS `%s`", s->table);
		break;
	case OP_COUNTS_VIEW:
		if (exec(db, "DROP VIEW IF EXISTS `target_counts_view`", err,
		    errlen) == -1)
			return -1;
		buf_addf(&b, "CREATE VIEW `target_counts_view` AS %s",
		    d->counts_view);
		break;
	case OP_END:
		abort();
	}
	q = buf_detach(&b, NULL);
	rc = exec(db, q, err, errlen);
	free(q);
	if (rc == 0 && s->op == OP_COLUMN && s->now) {
		q = xasprintf("UPDATE `%s` SET `%s` = %lld", s->table,
		    s->name, (long long)time_now());
		rc = exec(db, q, err, errlen);
		free(q);
	}
	return rc;
}

/* The version the database has: SQLite's user_version, or a table's. */
static int
version_get(struct db *db, int64_t *v, char *err, size_t errlen)
{
	const char *options;
	struct sql_rows *r;
	char *q;
	int rc;

	if (db->drv->user_version) {
		*v = count(db, sql_run(db, Q_VERSION, "PRAGMA user_version",
		    err, errlen, "reading the schema version", ""), err,
		    errlen);
		return *v < 0 ? -1 : 0;
	}
	if ((options = options_of(db, err, errlen)) == NULL)
		return -1;
	q = xasprintf("CREATE TABLE IF NOT EXISTS periskop_schema"
	    " (version INTEGER NOT NULL)%s", options);
	rc = exec(db, q, err, errlen);
	free(q);
	if (rc == -1 || (r = sql_run(db, Q_VERSION, "SELECT version FROM"
	    " periskop_schema", err, errlen, "reading the schema version",
	    "")) == NULL)
		return -1;
	rc = sql_next(db, r, err, errlen, "reading the schema version");
	*v = rc == 1 ? sql_int(db, r, 0) : 0;
	sql_done(db, r);
	if (rc == 0)
		return sql_exec(db, Q_VERSION_NEW, "INSERT INTO periskop_schema"
		    " VALUES (0)", err, errlen, "migrating", "") < 0 ? -1 : 0;
	return rc < 0 ? -1 : 0;
}

static int
version_set(struct db *db, int v, char *err, size_t errlen)
{
	char q[64];

	if (db->drv->user_version) {
		snprintf(q, sizeof(q), "PRAGMA user_version = %d", v);
		return db->drv->exec(db, q, err, errlen, "migrating");
	}
	return sql_exec(db, Q_VERSION_SET, "UPDATE periskop_schema"
	    " SET version = ?", err, errlen, "migrating", "i",
	    (int64_t)v) < 0 ? -1 : 0;
}

static int
too_new(struct db *db, int64_t v, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: '%s': schema version %lld is newer than "
	    "this program's %d: upgrade periskop", db->drv->name, db->name,
	    (long long)v, SCHEMA_VERSION);
	db->transient = 0;
	return -1;
}

/*
 * The version as it stands, read without the lock or any DDL, so that a
 * read-only connection (a replica) opens a database that is up to date.
 * -1 where the table is not there yet.
 */
static int
version_peek(struct db *db, int64_t *v, char *err, size_t errlen)
{
	struct sql_rows *r;
	int rc;

	if ((r = sql_run(db, Q_VERSION, db->drv->user_version ?
	    "PRAGMA user_version" : "SELECT version FROM periskop_schema",
	    err, errlen, "reading the schema version", "")) == NULL)
		return -1;
	rc = sql_next(db, r, err, errlen, "reading the schema version");
	if (rc == 1)
		*v = sql_int(db, r, 0);
	sql_done(db, r);
	return rc == 1 ? 0 : -1;
}

int
schema_migrate(struct db *db, char *err, size_t errlen)
{
	const struct step *s;
	const char *options = NULL;
	char ignored[8];
	int64_t v;
	int i;

	if (version_peek(db, &v, err, errlen) == 0) {
		if (v == SCHEMA_VERSION)
			return 0;
		if (v > SCHEMA_VERSION)
			return too_new(db, v, err, errlen);
	} else if (db->drv->user_version)
		return -1;	/* a pragma that fails: the file is unusable */
	if (db->drv->schema_lock(db, err, errlen) == -1)
		return -1;
	if (version_get(db, &v, err, errlen) == -1)
		goto fail;
	if (v > SCHEMA_VERSION) {
		too_new(db, v, err, errlen);
		goto fail;
	}
	for (i = (int)v; i < SCHEMA_VERSION; i++) {
		for (s = steps[i]; s->op != OP_END; s++)
			if (apply(db, s, &options, err, errlen) == -1)
				goto fail;
		if (version_set(db, i + 1, err, errlen) == -1)
			goto fail;
	}
	return db->drv->schema_unlock(db, 1, err, errlen);
fail:
	db->drv->schema_unlock(db, 0, ignored, sizeof(ignored));
	return -1;
}
