/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation wrappers: allocation failure is the one error library code may not return. */
#ifndef PERISKOP_XALLOC_H
#define PERISKOP_XALLOC_H

#include <stddef.h>

/* Each aborts the process with a message on stderr when memory runs out. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
/* Returns a newly allocated formatted string; the caller frees it. */
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
