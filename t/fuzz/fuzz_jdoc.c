/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: jdoc reads every input as jansson does, or both refuse. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../unit/jdoc_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[512];

	if (!jdoc_agrees((const char *)data, size, why, sizeof(why))) {
		fprintf(stderr, "%s\n", why);
		abort();
	}
	return 0;
}
