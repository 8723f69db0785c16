/* SPDX-License-Identifier: Apache-2.0 */
/* Regular expressions meaning what they mean in Go (RE2), run by PCRE2. */
#ifndef PERISKOP_REGEX_H
#define PERISKOP_REGEX_H

#include <stddef.h>

/* An offset of a group that did not take part in the match. */
#define REGEX_UNSET	((size_t)-1)

/* A compiled, anchored expression; read-only after compiling. */
struct regex;

/*
 * Checks pattern against RE2's syntax and rewrites what PCRE2 reads
 * differently (\v, \s, octal escapes, \Q...\E).  Returns a new string, the
 * PCRE2 pattern anchored as ^(?:...)$, which the caller frees; or NULL
 * with a message naming the byte offset in the pattern, for syntax RE2
 * rejects: backreferences, lookaround, possessive quantifiers, atomic
 * groups, recursion, conditionals, \K, \G, \Z, \C, (?<name>...) and the
 * like.  PCRE2 itself finds the remaining errors when compiling.
 */
char		*regex_translate(const char *pattern, char *err,
		    size_t errlen);

/*
 * Compiles pattern (regex_translate, then PCRE2 in UTF mode, $ only at the
 * end, JIT when available, a match and depth limit).  Returns a new regex
 * (regex_free), or NULL with a message in err.
 */
struct regex	*regex_compile(const char *pattern, char *err,
		    size_t errlen);
/* regex_free(NULL) is a no-op. */
void		 regex_free(struct regex *);

/* The number of capturing groups. */
size_t		 regex_ngroups(const struct regex *);
/* The name of group i, or NULL (borrowed). */
const char	*regex_name(const struct regex *, size_t i);
/* The number of the first group named name (len bytes), or -1. */
int		 regex_group(const struct regex *, const char *name,
		    size_t len);

/*
 * Matches the whole of s (len bytes; invalid UTF-8 never matches a
 * character).  Returns 1 and fills ovec with npairs start/end pairs
 * (group 0 first; REGEX_UNSET for groups that did not match, and for
 * pairs beyond the pattern's groups), 0 when it does not match, -1 when
 * the match limit was reached.
 */
int		 regex_match(const struct regex *, const char *s, size_t len,
		    size_t *ovec, size_t npairs);
/*
 * 1 when the whole of s matches, else 0.  When backtracking reaches the
 * limit, the answer comes from PCRE2's DFA matcher, which does not
 * backtrack, so a hostile expression cannot hang it.
 */
int		 regex_test(const struct regex *, const char *s, size_t len);

#endif
