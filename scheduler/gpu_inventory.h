/*
 * gpu_inventory.h - the GPUs of this node as the node says: their UUIDs and
 * memory from NVML (libnvidia-ml.so.1, loaded at run time), each overridden
 * by the operator's --gpu-memory. A client may only register a GPU listed
 * here, and a GPU's capacity is what is listed here: a client's own
 * total_bytes is never believed (a client that said 1 byte once made every
 * allocation on the node fail).
 *
 * UUIDs are kept with their hex digits in lower case ("GPU-" as is) and
 * matched without regard to case, as NVML and the driver spell them
 * differently from an operator's flag.
 *
 * A GPU NVML does not list at start (hot-plug, rare) is found by a rescan
 * when a client registers a UUID not listed, at most one scan per
 * INVENTORY_RESCAN_NS so that made-up UUIDs cannot keep the event loop in
 * NVML.
 */
#ifndef NVSHARE_GPU_INVENTORY_H
#define NVSHARE_GPU_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define INVENTORY_MAX_GPUS 256 /* GPUs of one node, overrides included */
#define INVENTORY_NVML_LIB "libnvidia-ml.so.1"
#define INVENTORY_RESCAN_NS                                                    \
	(30LL * 1000000000LL) /* scans at most this                            \
	                         often after start */

struct inventory_gpu {
	char uuid[NVS_UUID_SIZE]; /* canonical spelling (lower-case hex) */
	uint64_t driver_bytes;    /* NVML's total memory; 0: NVML lacks it */
	uint64_t override_bytes;  /* --gpu-memory; 0: none */
};

struct gpu_inventory {
	struct inventory_gpu gpus[INVENTORY_MAX_GPUS]; /* known GPUs */
	size_t n;                                      /* entries used */
	const char *nvml_lib; /* what to dlopen (tests: a path) */
	void *dl;             /* its handle once loaded, kept open */
	int nvml_ok;          /* the last scan reached NVML */
	int64_t last_scan_ns; /* when NVML was last scanned */
	uint64_t scans;       /* NVML scans so far */
};

/* Empty, NVML to be loaded from nvml_lib (NULL: INVENTORY_NVML_LIB). */
void inventory_init(struct gpu_inventory *inv, const char *nvml_lib);

/* out = uuid with its hex digits in lower case (at most NVS_UUID_SIZE). */
void inventory_canonical(const char *uuid, char out[NVS_UUID_SIZE]);

/* The entry for uuid (any case), or NULL. */
const struct inventory_gpu *inventory_find(const struct gpu_inventory *inv,
                                           const char *uuid);

/* Records what NVML (driver_bytes) or the operator (override_bytes) says
 * of uuid; 0 leaves that field as it was. Returns 0, or -1 if the table is
 * full. */
int inventory_set(struct gpu_inventory *inv, const char *uuid,
                  uint64_t driver_bytes, uint64_t override_bytes);

/* Memory to honour on g: the override, else NVML's total. */
uint64_t inventory_capacity(const struct inventory_gpu *g);

/* Asks NVML for every GPU and records them. Returns the GPUs it listed,
 * or -1 with why set (no library, no driver). */
int inventory_scan(struct gpu_inventory *inv, int64_t now, char *why,
                   size_t whylen);

/* 1 if a rescan for an unknown UUID may run at now (rate limit). */
int inventory_rescan_due(const struct gpu_inventory *inv, int64_t now);

#endif /* NVSHARE_GPU_INVENTORY_H */
