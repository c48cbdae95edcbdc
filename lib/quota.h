/*
 * quota.h - the quotas this process runs under.
 *
 * They come from the environment at start (NVSHARE_GPU_MEMORY_LIMIT,
 * NVSHARE_GPU_CORE_LIMIT) and from the scheduler while the process runs
 * (SET_LIMITS). Each applies to every GPU the process uses. Reads are
 * single atomic loads, so the allocation hooks check them without a lock.
 */
#ifndef NVSHARE_LIB_QUOTA_H
#define NVSHARE_LIB_QUOTA_H

#include "proto.h"

#include <stdint.h>

/* Device memory the process may hold per GPU; 0: no limit. */
uint64_t quota_memory_limit(void);

/* Share of a GPU's compute the process may use, 1..99; 0: no limit. */
unsigned quota_core_limit(void);

/* The limits in force, for LIMITS messages. */
void quota_current(struct nvs_limits *out);

/* Applies limits from the scheduler (already validated) and logs the
 * change. Existing allocations stay whatever the new limit. */
void quota_apply(const struct nvs_limits *l);

#endif /* NVSHARE_LIB_QUOTA_H */
