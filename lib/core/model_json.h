/* SPDX-License-Identifier: Apache-2.0 */
/* Internal: the payload model read from an already parsed JSON document. */
#ifndef PERISKOP_MODEL_JSON_H
#define PERISKOP_MODEL_JSON_H

#include "jdoc.h"

#include "model.h"

/*
 * Validates and normalises root exactly as payload_parse does, for a
 * document parsed elsewhere (the "aggregated_errors" of an NDJSON scrape
 * line).  root is borrowed; the result is the caller's (payload_free).
 * Accepts payload_write_json's output, and writing what it returns gives
 * that output back unchanged.
 */
struct payload	*payload_from_jval(const struct jval *root, char *err,
		    size_t errlen);

#endif
