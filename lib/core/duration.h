/* SPDX-License-Identifier: Apache-2.0 */
/* Durations in Prometheus' syntax: "10s", "1m30s", "1h", "500ms". */
#ifndef PERISKOP_DURATION_H
#define PERISKOP_DURATION_H

#include <stdint.h>

/*
 * Parses Prometheus' duration syntax (units y w d h m s ms, largest first,
 * each at most once, "0" alone allowed) and, as the original Periskop's
 * config (Go's time.ParseDuration) also allowed, fractions such as "1.5h"
 * and the units us/µs/ns.  Returns 0 and sets *ms, or -1 with a
 * message in err.
 */
int	 duration_parse(const char *s, int64_t *ms, char *err, size_t errlen);
/* Formats ms the way Prometheus prints durations: "1m30s", "0s". */
char	*duration_format(int64_t ms, char *buf, size_t len);

#endif
