/* SPDX-License-Identifier: Apache-2.0 */
/* Label sets, as Prometheus' discovery and relabelling use them. */
#ifndef PERISKOP_LABELS_H
#define PERISKOP_LABELS_H

#include <stddef.h>

struct label {
	char	*name;
	char	*value;
};

/* Owns its names and values; kept sorted by name, names unique. */
struct labelset {
	struct label	*v;
	size_t		 n;
	size_t		 cap;
};

void		 labels_init(struct labelset *);
void		 labels_release(struct labelset *);
void		 labels_copy(struct labelset *dst, const struct labelset *src);
/* Sets name to value (copied); an empty value removes the label. */
void		 labels_set(struct labelset *, const char *name,
		    const char *value);
void		 labels_del(struct labelset *, const char *name);
/* Returns the value, or NULL when absent (borrowed). */
const char	*labels_get(const struct labelset *, const char *name);
int		 labels_equal(const struct labelset *, const struct labelset *);
/* Whether s is a Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*. */
int		 labels_valid_name(const char *s);

#endif
