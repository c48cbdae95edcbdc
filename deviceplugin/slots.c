/*
 * slots.c - device IDs of GPU slots and the advertised list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "slots.h"

int dp_slot_id(const char *uuid, unsigned slot, char out[DP_ID_MAX])
{
	int n = snprintf(out, DP_ID_MAX, "%s" DP_SLOT_SEP "%u", uuid, slot);

	return n > 0 && n < DP_ID_MAX ? 0 : -1;
}

int dp_slot_parse(const struct dp_gpus *g, unsigned slots, const char *id,
                  unsigned *slot)
{
	const char *sep = id ? strstr(id, DP_SLOT_SEP) : NULL;
	const char *num;
	char *end;
	unsigned long v;

	if (!sep)
		return -1;
	num = sep + strlen(DP_SLOT_SEP);
	/* digits only: no sign, no space, no leading zero but "0" */
	if (*num < '0' || *num > '9' || (num[0] == '0' && num[1]))
		return -1;
	v = strtoul(num, &end, 10);
	if (*end || v >= slots)
		return -1;
	for (int i = 0; i < g->n; i++) {
		size_t len = strlen(g->gpu[i].uuid);

		if ((size_t)(sep - id) == len &&
		    strncasecmp(id, g->gpu[i].uuid, len) == 0) {
			*slot = (unsigned)v;
			return i;
		}
	}
	return -1;
}

size_t dp_slots_list(const struct dp_gpus *g, unsigned slots,
                     struct dp_device *out)
{
	size_t n = 0;

	for (int i = 0; i < g->n; i++) {
		for (unsigned s = 0; s < slots; s++, n++) {
			dp_slot_id(g->gpu[i].uuid, s, out[n].id);
			out[n].healthy = g->gpu[i].healthy;
			out[n].numa = g->gpu[i].numa;
		}
	}
	return n;
}
