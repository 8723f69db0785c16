/* SPDX-License-Identifier: Apache-2.0 */
/* stderr logging for the programs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *progname = "periskop";
static int verbose;

void
log_init(const char *name, int verbosity)
{
	progname = name;
	verbose = verbosity;
}

const char *
log_progname(void)
{
	return progname;
}

static void	vlog(const char *, va_list, const char *)
	    __attribute__((format(printf, 1, 0)));

static void
vlog(const char *fmt, va_list ap, const char *why)
{
	char line[4096];
	int n;

	/* One write per line, so lines of concurrent writers never mix. */
	n = snprintf(line, sizeof(line), "%s: ", progname);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	if (why != NULL && n < (int)sizeof(line) - 2)
		n += snprintf(line + n, sizeof(line) - (size_t)n, ": %s", why);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
	fflush(stderr);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	char why[256];

	snprintf(why, sizeof(why), "%s", strerror(errno));
	va_start(ap, fmt);
	vlog(fmt, ap, why);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (verbose < 0)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
}

void
fatalx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap, NULL);
	va_end(ap);
	exit(code);
}

void
fatal(int code, const char *fmt, ...)
{
	va_list ap;
	char why[256];

	snprintf(why, sizeof(why), "%s", strerror(errno));
	va_start(ap, fmt);
	vlog(fmt, ap, why);
	va_end(ap);
	exit(code);
}
