/* SPDX-License-Identifier: Apache-2.0 */
/* Running the store's SQL through an engine's driver, in its dialect. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sql.h"
#include "timefmt.h"
#include "xalloc.h"

#define MAX_VALUES	16

static int
is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* A parameter: "?", or "$N" where the driver numbers them. */
static void
add_param(struct buf *b, const struct sql_driver *d, int *n)
{
	if (d->numbered)
		buf_addf(b, "$%d", ++*n);
	else
		buf_addc(b, '?');
}

/* Appends n bytes of p with '`' as the driver's quote. */
static void
add_quoted(struct buf *b, const struct sql_driver *d, const char *p,
    size_t n)
{
	for (; n > 0; p++, n--)
		buf_addc(b, *p == '`' ? d->quote : *p);
}

/* The "(...)" after a token: its inside and where the text goes on. */
static const char *
argument(const char *p, const char **in, size_t *n)
{
	const char *e;

	if (*p != '(' || (e = strchr(p, ')')) == NULL)
		abort();	/* the store's own SQL is wrong */
	*in = p + 1;
	*n = (size_t)(e - p - 1);
	return e + 1;
}

static int
token(const char **p, const char *t)
{
	size_t n = strlen(t);

	if (strncmp(*p, t, n) != 0 || (is_word(t[0]) && is_word((*p)[n])))
		return 0;
	*p += n;
	return 1;
}

char *
sql_dialect(const struct sql_driver *d, const char *sql)
{
	struct buf b;
	const char *p = sql, *w, *semi;
	size_t n;
	int params = 0;

	/* The store's SQL has no '?' and no '@' inside a string literal. */
	buf_init(&b);
	while (*p != '\0') {
		if (*p == '?') {
			add_param(&b, d, &params);
			p++;
			continue;
		}
		if (*p != '@') {
			buf_addc(&b, *p == '`' ? d->quote : *p);
			p++;
			continue;
		}
		p++;
		if (token(&p, "?")) {
			if (d->hashed_ids)
				buf_adds(&b, "UNHEX(SHA2(");
			add_param(&b, d, &params);
			if (d->hashed_ids)
				buf_adds(&b, ", 256))");
		} else if (token(&p, "ON")) {
			p = argument(p, &w, &n);
			if (d->hashed_ids)
				buf_adds(&b, "ON DUPLICATE KEY UPDATE");
			else {
				buf_adds(&b, "ON CONFLICT (");
				add_quoted(&b, d, w, n);
				buf_adds(&b, ") DO UPDATE SET");
			}
		} else if (token(&p, "IGNORE")) {
			p = argument(p, &w, &n);
			if ((semi = memchr(w, ';', n)) == NULL)
				abort();
			if (d->hashed_ids) {
				buf_adds(&b, "ON DUPLICATE KEY UPDATE ");
				add_quoted(&b, d, semi + 1, n - (size_t)(semi -
				    w) - 1);
				buf_adds(&b, " = ");
				add_quoted(&b, d, semi + 1, n - (size_t)(semi -
				    w) - 1);
			} else {
				buf_adds(&b, "ON CONFLICT (");
				add_quoted(&b, d, w, (size_t)(semi - w));
				buf_adds(&b, ") DO NOTHING");
			}
		} else if (token(&p, "SURROGATE")) {
			/*
			 * Text for the table's surrogate key, where a table
			 * found by hashed ids has one: an upsert that names it
			 * finds the row by it, not by the unique key.
			 */
			p = argument(p, &w, &n);
			for (; d->hashed_ids && n > 0; w++, n--)
				if (*w == '?')
					add_param(&b, d, &params);
				else
					buf_addc(&b, *w == '`' ? d->quote : *w);
		} else if (token(&p, "WHERE")) {
			/* An upsert's condition, where it may have one. */
			p = argument(p, &w, &n);
			if (!d->hashed_ids) {
				buf_adds(&b, "WHERE ");
				add_quoted(&b, d, w, n);
			}
		} else if (token(&p, "new")) {
			p = argument(p, &w, &n);
			buf_adds(&b, d->hashed_ids ? "VALUES(" : "excluded.");
			add_quoted(&b, d, w, n);
			if (d->hashed_ids)
				buf_addc(&b, ')');
		} else if (token(&p, "LOCK")) {
			if (d->row_locks)
				buf_adds(&b, "FOR UPDATE");
		} else if (token(&p, "RETURNING")) {
			p = argument(p, &w, &n);
			if (d->returning) {
				buf_adds(&b, "RETURNING ");
				add_quoted(&b, d, w, n);
			}
		} else if (token(&p, "RETURNING_INSERTED")) {
			if (d->inserted == SQL_INSERTED_RETURNING)
				buf_adds(&b, "RETURNING (xmax = 0)");
		} else if (*p == '`') {
			/* "@`key`": a quoted column's identity. */
			for (w = ++p; *p != '\0' && *p != '`'; p++)
				;
			if (d->hashed_ids)
				buf_addf(&b, "%.*s_h", (int)(p - w), w);
			else
				buf_addf(&b, "%c%.*s%c", d->quote,
				    (int)(p - w), w, d->quote);
			if (*p == '`')
				p++;
		} else {
			for (w = p; is_word(*p); p++)
				;
			buf_addf(&b, "%.*s%s", (int)(p - w), w,
			    d->hashed_ids ? "_h" : "");
		}
	}
	return buf_detach(&b, NULL);
}

/* Fills v from the values fmt names; how many. */
static size_t
vvalues(struct sql_value *v, const char *fmt, va_list ap)
{
	size_t n = 0;
	const char *s;
	int64_t t;
	size_t z;

	for (; *fmt != '\0'; fmt++, n++) {
		memset(&v[n], 0, sizeof(v[n]));
		switch (*fmt) {
		case 't':
			s = va_arg(ap, const char *);
			v[n].type = s != NULL ? SQL_TEXT : SQL_NULL;
			v[n].s = s;
			break;
		case 'i':
			v[n].type = SQL_INT;
			v[n].i = va_arg(ap, int64_t);
			break;
		case 'T':
			t = va_arg(ap, int64_t);
			v[n].type = t != TIME_NONE ? SQL_INT : SQL_NULL;
			v[n].i = t;
			break;
		case 'u':
			z = va_arg(ap, size_t);
			v[n].type = SQL_INT;
			v[n].i = z > INT64_MAX ? INT64_MAX : (int64_t)z;
			break;
		case 'd':
			v[n].type = SQL_DOUBLE;
			v[n].d = va_arg(ap, double);
			break;
		default:
			abort();	/* the store's own call is wrong */
		}
	}
	return n;
}

size_t
sql_values(struct sql_value *v, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = vvalues(v, fmt, ap);
	va_end(ap);
	return n;
}

static struct sql_rows *
vrun(struct db *db, int slot, const char *sql, char *err, size_t errlen,
    const char *what, const char *fmt, va_list ap)
{
	struct sql_value v[MAX_VALUES];
	size_t n;

	if (db->sql[slot] == NULL)
		db->sql[slot] = sql_dialect(db->drv, sql);
	if (strlen(fmt) > MAX_VALUES)
		abort();	/* the store's own call is wrong */
	n = vvalues(v, fmt, ap);
	return db->drv->run(db, slot, db->sql[slot], v, n, err, errlen, what);
}

struct sql_rows *
sql_run(struct db *db, int slot, const char *sql, char *err, size_t errlen,
    const char *what, const char *fmt, ...)
{
	struct sql_rows *r;
	va_list ap;

	va_start(ap, fmt);
	r = vrun(db, slot, sql, err, errlen, what, fmt, ap);
	va_end(ap);
	return r;
}

int64_t
sql_exec(struct db *db, int slot, const char *sql, char *err, size_t errlen,
    const char *what, const char *fmt, ...)
{
	struct sql_rows *r;
	int64_t n;
	va_list ap;

	va_start(ap, fmt);
	r = vrun(db, slot, sql, err, errlen, what, fmt, ap);
	va_end(ap);
	if (r == NULL)
		return -1;
	n = db->drv->changes(db, r);
	db->drv->done(db, r);
	if (n > 0)
		db->written += n;
	return n;
}

struct sql_rows *
sql_runv(struct db *db, int slot, const char *sql, const struct sql_value *v,
    size_t n, char *err, size_t errlen, const char *what)
{
	if (db->sql[slot] == NULL) {
		if (sql == NULL)
			abort();	/* the store's own call is wrong */
		db->sql[slot] = sql_dialect(db->drv, sql);
	}
	return db->drv->run(db, slot, db->sql[slot], v, n, err, errlen, what);
}

int
sql_prepared(struct db *db, int slot)
{
	return db->sql[slot] != NULL;
}

int
sql_next(struct db *db, struct sql_rows *r, char *err, size_t errlen,
    const char *what)
{
	return db->drv->next(db, r, err, errlen, what);
}

void
sql_done(struct db *db, struct sql_rows *r)
{
	if (r != NULL)
		db->drv->done(db, r);
}

const char *
sql_text(struct db *db, struct sql_rows *r, int i)
{
	return db->drv->text(r, i);
}

char *
sql_strdup(struct db *db, struct sql_rows *r, int i)
{
	const char *s = db->drv->text(r, i);

	return s != NULL ? xstrdup(s) : NULL;
}

int
sql_null(struct db *db, struct sql_rows *r, int i)
{
	return db->drv->null(r, i);
}

int64_t
sql_int(struct db *db, struct sql_rows *r, int i)
{
	return db->drv->integer(r, i);
}

int64_t
sql_time(struct db *db, struct sql_rows *r, int i)
{
	return sql_null(db, r, i) ? TIME_NONE : db->drv->integer(r, i);
}

double
sql_real(struct db *db, struct sql_rows *r, int i)
{
	return db->drv->real(r, i);
}

void
sql_forget(struct db *db)
{
	size_t i;

	for (i = 0; i < SQL_SLOTS; i++) {
		free(db->sql[i]);
		db->sql[i] = NULL;
	}
}
