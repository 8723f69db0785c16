/* SPDX-License-Identifier: Apache-2.0 */
/* Where an installed or an uninstalled program finds its data files. */
#ifndef PERISKOP_PATHS_H
#define PERISKOP_PATHS_H

/*
 * Returns the path of sub (e.g. "ui") under the data folder: next to
 * the running program, PREFIX/share/periskop/sub when installed
 * (PREFIX/bin/prog), or share/sub of the source tree when run from its
 * bin/.  NULL when neither exists.  The caller frees the result.
 */
char	*paths_share(const char *sub);

#endif
