/*
 * mem.h - accounting of the device memory this process holds, per GPU.
 *
 * Every allocation hook records (pointer -> bytes, device) here and every
 * free removes it, so the per-device totals are exact and O(1) per call.
 */
#ifndef NVSHARE_LIB_MEM_H
#define NVSHARE_LIB_MEM_H

#include "gate.h"

/* Records an allocation of bytes at ptr on d (managed: Unified Memory,
 * which the swap path may move). Returns 0, -1 if out of memory for the
 * table (the allocation then simply goes unaccounted). */
int mem_track(struct gate_dev *d, CUdeviceptr ptr, uint64_t bytes, int managed);

/* One managed allocation. */
struct mem_range {
	CUdeviceptr ptr; /* start */
	uint64_t bytes;  /* length */
};

/* A snapshot of d's managed allocations in *out (malloc'd, *n entries;
 * the caller frees it). Returns 0, or -1 if out of memory. */
int mem_managed_of(struct gate_dev *d, struct mem_range **out, size_t *n);
/* Forgets ptr; returns 1 if it was tracked. */
int mem_untrack(CUdeviceptr ptr);

#endif /* NVSHARE_LIB_MEM_H */
