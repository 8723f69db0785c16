/* SPDX-License-Identifier: Apache-2.0 */
/* libyaml's events into a tree, with positions and limits. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "xalloc.h"
#include "yamltree.h"

struct yctx {
	const char	*buf;
	size_t		 len;
	int		 max_depth;
	char		*err;
	size_t		 errlen;
};

static int	yfail(struct yctx *, struct conf_pos, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
yfail(struct yctx *c, struct conf_pos pos, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (c->err == NULL || c->errlen == 0)
		return -1;
	n = snprintf(c->err, c->errlen, "%d:%d: ", pos.line, pos.col);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static struct conf_pos
mkpos(yaml_mark_t m)
{
	struct conf_pos	 p;

	p.line = (int)m.line + 1;
	p.col = (int)m.column + 1;
	return p;
}

/* The reader reports bytes, not marks: count lines and characters up to it. */
static struct conf_pos
offpos(const struct yctx *c, size_t off)
{
	struct conf_pos	 p = { 1, 1 };
	size_t		 i;

	for (i = 0; i < off && i < c->len; i++) {
		if (c->buf[i] == '\n') {
			p.line++;
			p.col = 1;
		} else if (((unsigned char)c->buf[i] & 0xc0) != 0x80)
			p.col++;
	}
	return p;
}

static int
yerr(struct yctx *c, const yaml_parser_t *yp)
{
	struct conf_pos	 start = { 1, 1 };

	if (yp->error == YAML_MEMORY_ERROR)
		return yfail(c, start, "out of memory parsing YAML");
	if (yp->error == YAML_READER_ERROR)
		return yfail(c, offpos(c, yp->problem_offset), "%s",
		    yp->problem ? yp->problem : "cannot read YAML");
	if (yp->context != NULL)
		return yfail(c, mkpos(yp->problem_mark), "%s (%s at %zu:%zu)",
		    yp->problem ? yp->problem : "invalid YAML", yp->context,
		    yp->context_mark.line + 1, yp->context_mark.column + 1);
	return yfail(c, mkpos(yp->problem_mark), "%s",
	    yp->problem ? yp->problem : "invalid YAML");
}

void
ytree_release(struct ynode *n)
{
	size_t	 i;

	for (i = 0; i < n->n; i++)
		ytree_release(&n->kids[i]);
	free(n->kids);
	free(n->s);
	memset(n, 0, sizeof(*n));
}

static int
is_null(const yaml_event_t *ev)
{
	const char	*v = (const char *)ev->data.scalar.value;
	const char	*tag = (const char *)ev->data.scalar.tag;

	if (tag != NULL)
		return strcmp(tag, YAML_NULL_TAG) == 0;
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Builds out from ev (a scalar or a collection start) and what follows it. */
static int
build(struct yctx *c, yaml_parser_t *yp, const yaml_event_t *ev,
    struct ynode *out, int depth)
{
	yaml_event_t	 kev;
	yaml_event_type_t end;
	struct ynode	*kid;
	int		 rc;

	memset(out, 0, sizeof(*out));
	out->pos = mkpos(ev->start_mark);
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return yfail(c, out->pos, "YAML aliases are not supported "
		    "(*%s)", (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		if (strlen((const char *)ev->data.scalar.value) !=
		    ev->data.scalar.length)
			return yfail(c, out->pos, "NUL character in a string");
		if (is_null(ev)) {
			out->type = Y_NULL;
			return 0;
		}
		out->type = Y_STR;
		out->s = xstrdup((const char *)ev->data.scalar.value);
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		out->type = Y_SEQ;
		end = YAML_SEQUENCE_END_EVENT;
		break;
	case YAML_MAPPING_START_EVENT:
		out->type = Y_MAP;
		end = YAML_MAPPING_END_EVENT;
		break;
	default:
		return yfail(c, out->pos, "unexpected YAML event");
	}
	if (depth >= c->max_depth)
		return yfail(c, out->pos, "nesting deeper than %d levels",
		    c->max_depth);
	for (;;) {
		if (!yaml_parser_parse(yp, &kev))
			return yerr(c, yp);
		if (kev.type == end) {
			yaml_event_delete(&kev);
			return 0;
		}
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 4;
			out->kids = xreallocarray(out->kids, out->cap,
			    sizeof(*out->kids));
		}
		kid = &out->kids[out->n++];
		rc = build(c, yp, &kev, kid, depth + 1);
		yaml_event_delete(&kev);
		if (rc == -1)
			return -1;
		if (out->type == Y_MAP && out->n % 2 == 1 &&
		    kid->type != Y_STR && kid->type != Y_NULL)
			return yfail(c, kid->pos, "mapping keys must be "
			    "strings");
	}
}

int
ytree_parse(const char *buf, size_t len, int max_depth, struct ynode *root,
    char *err, size_t errlen)
{
	struct yctx	 c = { buf, len, max_depth, err, errlen };
	yaml_parser_t	 yp;
	yaml_event_t	 ev;
	int		 rc = -1, state = 0;

	memset(root, 0, sizeof(*root));
	root->type = Y_NULL;
	root->pos.line = root->pos.col = 1;
	if (!yaml_parser_initialize(&yp))
		return yfail(&c, root->pos, "cannot initialise the YAML "
		    "parser");
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	for (;;) {
		if (!yaml_parser_parse(&yp, &ev)) {
			yerr(&c, &yp);
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			rc = 0;
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT && state == 2) {
			yfail(&c, mkpos(ev.start_mark), "more than one YAML "
			    "document");
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT)
			state = 1;
		else if (ev.type == YAML_DOCUMENT_END_EVENT)
			state = 2;
		else if (ev.type != YAML_STREAM_START_EVENT) {
			if (build(&c, &yp, &ev, root, 0) == -1) {
				yaml_event_delete(&ev);
				break;
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	if (rc == -1)
		ytree_release(root);
	return rc;
}
