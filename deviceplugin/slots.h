/*
 * slots.h - the node's GPUs and the devices advertised for them: each
 * GPU offers slots-per-gpu devices, "<GPU UUID>::<slot>", so that a pod
 * asking for nvshare.com/gpu gets one share of one card.
 */
#ifndef NVSHARE_DP_SLOTS_H
#define NVSHARE_DP_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "dp_types.h"
#include "proto.h"

#define DP_MAX_GPUS 16
#define DP_MAX_SLOTS 100
#define DP_SLOT_SEP "::"

struct dp_gpu {
	char uuid[NVS_UUID_SIZE];
	uint64_t memory_bytes; /* physical memory */
	int numa;              /* NUMA node, -1 if unknown */
	int healthy;
};

struct dp_gpus {
	int n;
	struct dp_gpu gpu[DP_MAX_GPUS];
};

/* Writes the ID of slot of uuid into out. Returns 0, or -1 if too long. */
int dp_slot_id(const char *uuid, unsigned slot, char out[DP_ID_MAX]);

/* The GPU index of a device ID (with *slot set), -1 if it names no slot
 * of these GPUs (unknown UUID, slot >= slots, malformed). */
int dp_slot_parse(const struct dp_gpus *g, unsigned slots, const char *id,
                  unsigned *slot);

/* Every device, GPU by GPU: g->n * slots entries into out. */
size_t dp_slots_list(const struct dp_gpus *g, unsigned slots,
                     struct dp_device *out);

#endif /* NVSHARE_DP_SLOTS_H */
