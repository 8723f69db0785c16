/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver interface: what an engine gives the store over its client
 * library, and the store's one way of running SQL through it.
 */
#ifndef PERISKOP_SQL_H
#define PERISKOP_SQL_H

#include <stddef.h>
#include <stdint.h>

/* A parameter's value; text is borrowed until the statement ran. */
enum sql_type { SQL_NULL, SQL_INT, SQL_DOUBLE, SQL_TEXT };

struct sql_value {
	enum sql_type	 type;
	int64_t		 i;
	double		 d;
	const char	*s;
};

/*
 * The schema's column types (schema.c): a text that identifies a row,
 * any text, a short word, an int, an int64_t, a double.
 */
enum sql_column { SQL_COL_ID, SQL_COL_TEXT, SQL_COL_WORD, SQL_COL_INT,
	SQL_COL_BIGINT, SQL_COL_REAL, SQL_COL_TYPES };

/* An executed statement's rows, the driver's own. */
struct sql_rows;

/*
 * Statement slots: a driver keeps what it prepared for slot i until the
 * connection is lost, so each statement is parsed once per connection.
 */
#define SQL_SLOTS	96

/*
 * Every engine's handle starts with this struct, so the store reaches
 * the engine's driver without knowing the engine.
 */
struct db {
	const struct sql_driver	*drv;
	const char		*name;	/* for messages, the driver's */
	char			*sql[SQL_SLOTS];	/* in drv's dialect */
	/*
	 * Set by the engine on every failure: 1 when the same transaction
	 * may succeed if tried again (lost connection, deadlock, busy).
	 */
	int			 transient;
	/*
	 * Set by an engine of files on every failure: the errno telling
	 * why its file cannot be used, or 0.
	 */
	int			 errnum;
	/*
	 * The shard this handle writes for ("" when none): a targets line
	 * replaces only the targets its own shard listed, so aggregators
	 * sharing one database do not delete each other's targets.
	 */
	char			 shard[64];
	/*
	 * The rows the store's writes sent or changed since open: each
	 * batched row, each error stored, the changes of other statements.
	 */
	int64_t			 written;
	/*
	 * The rows store_counts added since the engine last read the
	 * tables' statistics (store_analyze).
	 */
	int64_t			 fresh;
};

/*
 * Every function that can fail returns -1 with a message in err
 * ("ENGINE: 'NAME': WHAT: why") and sets the handle's transient flag.
 */
struct sql_driver {
	const char	*name;		/* "sqlite", "postgres", "mysql" */
	/*
	 * 1 when every text that identifies a row is found by a hash
	 * column beside it (COLUMN_h = UNHEX(SHA2(value, 256))): InnoDB
	 * cannot index a long text whole.
	 */
	int		 hashed_ids;
	/* The identifier quote of the SQL the store writes with '`'. */
	char		 quote;
	/* 1 when parameters are numbered ("$1", "$2", ...), not '?'. */
	int		 numbered;
	/* 1 when SELECT ... FOR UPDATE locks rows (not SQLite's). */
	int		 row_locks;
	/*
	 * 1 when a row-value IN list, "(a, b) IN ((?, ?), ...)", is
	 * searched by key; SQLite scans the table for one.
	 */
	int		 row_in;
	/*
	 * How an upsert tells an insert from an update: the caller's read
	 * (one writer at a time), RETURNING (xmax = 0) or its changes (1
	 * inserted, 2 updated).
	 */
	enum { SQL_INSERTED_BY_READ, SQL_INSERTED_RETURNING,
	    SQL_INSERTED_CHANGES } inserted;
	/*
	 * 1 when an upsert's RETURNING is the cheapest way to read back
	 * the rows it wrote (SQLite buffers them; MySQL has none).
	 */
	int		 returning;
	/* The most rows one statement of a batch may carry. */
	size_t		 batch_rows;
	/*
	 * 1 when a failed transaction should be replayed from the spool:
	 * a server may lose the connection mid-transaction.
	 */
	int		 replay;
	/* The schema's column types, by enum sql_column. */
	const char	*types[SQL_COL_TYPES];
	/*
	 * Catalogue queries, each a count: of the column (second value)
	 * of the table (first), of the index (the value).
	 */
	const char	*has_column;
	const char	*has_index;
	/* 1 when DROP INDEX names the index's table (MySQL). */
	int		 drop_index_on;
	/*
	 * The storage parameters of a table whose rows are updated every
	 * round (NULL when the engine has none), written WITH (...) when it
	 * is created and SET (...) on an older one: room in each page for a
	 * new version of every row in it, so that a round's updates, which
	 * change no indexed column, stay in their pages and touch no index
	 * (PostgreSQL's HOT updates).
	 */
	const char	*churn;
	/*
	 * The SELECT of the view target_counts_view: target_baselines'
	 * packed rows (packed.h) as a row per target and key, read with
	 * the engine's JSON functions, for operators and tests.
	 */
	const char	*counts_view;
	/*
	 * What reads the statistics of the tables a round finds rows in by
	 * key, where the engine's planner needs them (NULL: it does not or
	 * keeps them itself): PostgreSQL, not knowing a new table's rows,
	 * read all of a service's to find 25 of them.
	 */
	const char	*analyze;
	/*
	 * 1 when the schema version is the file's user_version (SQLite),
	 * 0 when it is the periskop_schema table's.
	 */
	int		 user_version;
	/*
	 * Whether uri names this engine (db_open asks each driver in
	 * turn; SQLite takes the paths no other driver claims).
	 */
	int		 (*claims)(const char *uri);
	/*
	 * Connects and returns the handle (db_open then migrates it);
	 * NULL with a message in err, *transient 1 when trying again later
	 * may succeed, errno set where a file could not be opened.
	 */
	struct db	*(*open)(const char *uri, int *transient, char *err,
			    size_t errlen);
	/*
	 * Holds the schema while schema.c reads and migrates it: a second
	 * tool waits.  unlock commits what a transaction held when ok.
	 */
	int		 (*schema_lock)(struct db *, char *err, size_t errlen);
	int		 (*schema_unlock)(struct db *, int ok, char *err,
			    size_t errlen);
	/* What follows each CREATE TABLE (""); NULL on failure. */
	const char	*(*table_options)(struct db *, char *err,
			    size_t errlen);
	/* Runs constant SQL that has no values and returns no rows. */
	int		 (*exec)(struct db *, const char *sql, char *err,
			    size_t errlen, const char *what);
	/* Closes the connection and frees the handle. */
	void		 (*close)(struct db *);
	/*
	 * Runs sql (in the driver's dialect) in slot with the n values;
	 * NULL on failure.  Outside a transaction a lost connection is
	 * made again first.
	 */
	struct sql_rows	*(*run)(struct db *, int slot, const char *sql,
			    const struct sql_value *, size_t n, char *err,
			    size_t errlen, const char *what);
	/* 1: a row is there, 0: no more, -1: failure. */
	int		 (*next)(struct db *, struct sql_rows *, char *err,
			    size_t errlen, const char *what);
	/* The current row's column i; text is NULL for SQL NULL. */
	int		 (*null)(struct sql_rows *, int i);
	const char	*(*text)(struct sql_rows *, int i);
	int64_t		 (*integer)(struct sql_rows *, int i);
	double		 (*real)(struct sql_rows *, int i);
	/* Rows the statement changed. */
	int64_t		 (*changes)(struct db *, struct sql_rows *);
	/* Ends the rows (they need not all have been read). */
	void		 (*done)(struct db *, struct sql_rows *);
	/*
	 * One snapshot for reads of several statements: *own is 1 when
	 * this call opened it (a write transaction may already be open).
	 */
	int		 (*read_begin)(struct db *, int *own, char *err,
			    size_t errlen);
	void		 (*read_end)(struct db *, int own, int ok);
	/* Transactions: begin takes the write lock at once. */
	int		 (*begin)(struct db *, char *err, size_t errlen);
	int		 (*commit)(struct db *, char *err, size_t errlen);
	void		 (*rollback)(struct db *);
	int		 (*in_txn)(struct db *);
	/*
	 * A number that changes with every commit of any connection, when
	 * the engine tells one (SQLite's data_version); NULL: the store
	 * keeps a counter row, periskop_meta, that every change bumps.
	 */
	int		 (*generation)(struct db *, int64_t *, char *err,
			    size_t errlen);
};

/*
 * The store's SQL, written once: the driver's dialect is applied to it
 * the first time slot is used on the handle.  In the text, "@NAME" is
 * the identity column of NAME (NAME, or NAME_h when hashed), "@?" a
 * parameter compared with one ("?" or its hash), and '`' the driver's
 * identifier quote.  "@ON(COLUMNS)" begins an upsert's update list
 * ("ON CONFLICT (COLUMNS) DO UPDATE SET" or "ON DUPLICATE KEY UPDATE"),
 * "@new(C)" is the value the upsert proposed for C, "@IGNORE(COLUMNS;C)"
 * makes a conflicting insert do nothing, "@LOCK" is "FOR UPDATE" where
 * rows can be locked and "@RETURNING_INSERTED" the RETURNING clause of
 * SQL_INSERTED_RETURNING.  "@RETURNING(COLUMNS)" is a RETURNING clause
 * where the driver reads rows back that way (nothing elsewhere).
 *
 * sql_run binds the values fmt names, one letter each: 't' a string
 * (NULL is SQL NULL), 'i' an int64_t, 'T' a time in ms (TIME_NONE is
 * NULL), 'd' a double, 'u' a size_t.
 */
struct sql_rows	*sql_run(struct db *, int slot, const char *sql,
		    char *err, size_t errlen, const char *what,
		    const char *fmt, ...);
/* sql_run for a statement whose rows do not matter: changes, or -1. */
int64_t		 sql_exec(struct db *, int slot, const char *sql,
		    char *err, size_t errlen, const char *what,
		    const char *fmt, ...);
/*
 * Fills v[0..strlen(fmt)) with the values fmt names, in sql_run's
 * letters; how many (text borrowed, as sql_run's).
 */
size_t		 sql_values(struct sql_value *v, const char *fmt, ...);
/*
 * sql_run with n values already made; sql may be NULL when the slot was
 * used before on this handle (sql_prepared).
 */
struct sql_rows	*sql_runv(struct db *, int slot, const char *sql,
		    const struct sql_value *, size_t n, char *err,
		    size_t errlen, const char *what);
int		 sql_prepared(struct db *, int slot);
int		 sql_next(struct db *, struct sql_rows *, char *err,
		    size_t errlen, const char *what);
void		 sql_done(struct db *, struct sql_rows *);
const char	*sql_text(struct db *, struct sql_rows *, int i);
char		*sql_strdup(struct db *, struct sql_rows *, int i);
int64_t		 sql_int(struct db *, struct sql_rows *, int i);
/* TIME_NONE for NULL. */
int64_t		 sql_time(struct db *, struct sql_rows *, int i);
double		 sql_real(struct db *, struct sql_rows *, int i);
int		 sql_null(struct db *, struct sql_rows *, int i);
/* The driver's dialect applied to sql (a new string). */
char		*sql_dialect(const struct sql_driver *, const char *sql);
/* Forgets the handle's dialected statements (at close). */
void		 sql_forget(struct db *);

/* The engines' drivers (db_sqlite.c, db_pg.c, db_mysql.c). */
extern const struct sql_driver sql_sqlite, sql_postgres, sql_mysql;

#endif
