/*
 * mem.h - accounting of the device memory this process holds, per GPU, and
 * enforcement of its memory limit.
 *
 * Every allocation is charged to its device before (or, where the driver
 * decides the size, right after) the driver makes it, and refused when it
 * would take the device's total above the process's ceiling: its memory
 * limit, or without one the GPU's capacity. One table maps what the
 * program holds (device pointers, arrays, physical VMM allocations and
 * their mappings) to what was charged, so frees give back exactly that.
 * Table operations are O(1) on average.
 */
#ifndef NVSHARE_LIB_MEM_H
#define NVSHARE_LIB_MEM_H

#include "gate.h"

/* What a table entry stands for; the key's meaning depends on it. */
enum mem_kind {
	MEM_PTR = 1,     /* device pointer (cuMemAlloc family) */
	MEM_ARRAY = 2,   /* CUarray / CUmipmappedArray handle */
	MEM_HANDLE = 3,  /* cuMemCreate physical allocation: freed when
	                    released and unmapped everywhere */
	MEM_MAPPING = 4, /* cuMemMap: virtual address -> handle (charges
	                    nothing itself) */
};

/* How the swap path can move an allocation. */
enum mem_move {
	MEM_MOVE_BLOCK = 0,   /* a remappable block (remap.h) */
	MEM_MOVE_UNIFIED = 1, /* Unified Memory (swap.c) */
	MEM_MOVE_PINNED = 2,  /* not at all: it stays on the GPU */
};

/* Charges bytes to d, or returns -1 (nothing charged) if that would take
 * d above the ceiling; api names the call for the log. pinned: memory no
 * swap can move (MEM_MOVE_PINNED), reported apart to the scheduler. */
int mem_charge(struct gate_dev *d, uint64_t bytes, int pinned, const char *api);
void mem_uncharge(struct gate_dev *d, uint64_t bytes, int pinned);

/* Charges bytes to d (as mem_charge) and waits until the scheduler's grant
 * covers them (grant.h); undoes the charge when it does not in time. 0: go
 * ahead and make the memory; 1: make it unbacked (deferrable memory, the
 * process does not hold the GPU); -1: CUDA_ERROR_OUT_OF_MEMORY. */
int mem_charge_granted(struct gate_dev *d, uint64_t bytes, enum mem_move move,
                       const char *api);

/* Records an allocation already charged (bytes to d, moved as move). If
 * the table cannot grow, the charge is given back (the allocation goes
 * unaccounted) and -1 returned. */
int mem_record(struct gate_dev *d, enum mem_kind kind, uint64_t key,
               uint64_t bytes, enum mem_move move);
/* Forgets a MEM_PTR or MEM_ARRAY entry and gives back its charge; returns
 * 1 if it was tracked. */
int mem_forget(enum mem_kind kind, uint64_t key);

/* Physical VMM memory: cuMemMap of a tracked handle at va (size bytes),
 * cuMemUnmap of [va, va + size), cuMemRelease of a handle. The charge goes
 * when every reference to the handle is released and no mapping of it
 * remains. */
void mem_vmm_mapped(uint64_t va, uint64_t size, uint64_t handle);
void mem_vmm_unmapped(uint64_t va, uint64_t size);
void mem_vmm_released(uint64_t handle);
/* cuMemRetainAllocationHandle handed out the handle once more: one more
 * cuMemRelease is owed before the memory goes. */
void mem_vmm_retained(uint64_t handle);

/* Everything allocated on d is gone (its primary context was reset): the
 * entries go, nothing is charged any more. */
void mem_forget_device(struct gate_dev *d);

/* The memory the process may hold on d (0: no ceiling), and what it holds
 * there now: what cuMemGetInfo and NVML report. */
uint64_t mem_ceiling(struct gate_dev *d);
uint64_t mem_used(struct gate_dev *d);

/* One managed allocation. */
struct mem_range {
	CUdeviceptr ptr; /* start */
	uint64_t bytes;  /* length */
};

/* A snapshot of d's managed allocations in *out (malloc'd, *n entries;
 * the caller frees it). Returns 0, or -1 if out of memory. */
int mem_managed_of(struct gate_dev *d, struct mem_range **out, size_t *n);

#endif /* NVSHARE_LIB_MEM_H */
