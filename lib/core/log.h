/* SPDX-License-Identifier: Apache-2.0 */
/* Diagnostics on stderr, one line each, prefixed by the program's name. */
#ifndef PERISKOP_LOG_H
#define PERISKOP_LOG_H

/*
 * Only programs call these; library code returns errors instead.
 * Verbosity 0 prints warnings and informational lines, 1 (-v) adds
 * debug lines, -1 (-q) prints warnings only.
 */
void	log_init(const char *progname, int verbosity);
const char *log_progname(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Log like log_warnx / log_warn, then exit(code). */
void	fatalx(int code, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	fatal(int code, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#endif
