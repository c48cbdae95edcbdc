/*
 * mem.h - accounting of the device memory this process holds, per GPU.
 *
 * Every allocation hook records (pointer -> bytes, device) here and every
 * free removes it, so the per-device totals are exact and O(1) per call.
 */
#ifndef NVSHARE_LIB_MEM_H
#define NVSHARE_LIB_MEM_H

#include "gate.h"

/* Records an allocation of bytes at ptr on d. Returns 0, -1 if out of
 * memory for the table (the allocation then simply goes unaccounted). */
int mem_track(struct gate_dev *d, CUdeviceptr ptr, uint64_t bytes);
/* Forgets ptr; returns 1 if it was tracked. */
int mem_untrack(CUdeviceptr ptr);

#endif /* NVSHARE_LIB_MEM_H */
