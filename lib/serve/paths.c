/* SPDX-License-Identifier: Apache-2.0 */
/* Finding share/ relative to the running executable. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"
#include "xalloc.h"

char *
paths_share(const char *sub)
{
	static const char *const tries[] = {
		"/../share/periskop/",	/* installed: PREFIX/bin */
		"/../share/",		/* the source tree's bin/ */
	};
	char exe[PATH_MAX], *slash, *p;
	struct stat st;
	ssize_t n;
	size_t i;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return NULL;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return NULL;
	*slash = '\0';
	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		p = xasprintf("%s%s%s", exe, tries[i], sub);
		if (stat(p, &st) == 0)
			return p;
		free(p);
	}
	return NULL;
}
