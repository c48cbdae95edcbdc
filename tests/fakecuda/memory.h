/*
 * memory.h - device memory capacity and managed-memory residency of the
 * simulated GPUs, on the shared state (every function here expects the
 * state locked by the caller).
 *
 * Device memory (cuMemAlloc and friends, cuMemCreate physical memory,
 * arrays) counts against a device's capacity until freed and cannot move.
 * Managed memory is host memory that becomes resident on a device when a kernel
 * touches it or it is prefetched; when the device is full, the least recently
 * used managed allocations of any process (never those the current operation
 * touches) are evicted to host. The unit is the whole allocation. Each function
 * reports the bytes it moved so that the caller can charge their time (struct
 * fc_move).
 */
#ifndef FAKECUDA_MEMORY_H
#define FAKECUDA_MEMORY_H

#include <stdint.h>

#include "config.h"
#include "state.h"

/* Bytes an operation moved, by kind (each kind has its own bandwidth). */
struct fc_move {
	uint64_t fault;        /* faulted to the device by a kernel */
	uint64_t prefetch_in;  /* prefetched to the device */
	uint64_t evict;        /* evicted to host to make room */
	uint64_t prefetch_out; /* prefetched to host */
};

/* Time of the evictions, and of everything else, in a move. */
uint64_t fc_move_evict_ns(const struct fc_move *m, const struct fc_bw *bw);
uint64_t fc_move_rest_ns(const struct fc_move *m, const struct fc_bw *bw);

enum fc_mem_result {
	FC_MEM_OK = 0,
	FC_MEM_NO_ROOM = -1,      /* capacity exhausted (device memory) */
	FC_MEM_TABLE_FULL = -2,   /* too many allocations in the state */
	FC_MEM_NOT_MANAGED = -3,  /* range is not (only) managed memory */
	FC_MEM_NOT_FOUND = -4,    /* no such handle, or not whole mappings */
	FC_MEM_BUSY = -5,         /* the range is mapped already */
	FC_MEM_BAD_LOCATION = -6, /* host access to device memory */
};

/* Records a device allocation of size bytes at addr, evicting managed
 * memory if that makes room. */
enum fc_mem_result fc_mem_add_device(struct fc_state *st, int slot, int dev,
                                     uint64_t addr, uint64_t size, int64_t now,
                                     struct fc_move *m);
/* The same, from a memory pool (pool: its handle): refused if the pool's
 * allocations of the caller would exceed max_size (0: no limit). */
enum fc_mem_result fc_mem_add_pooled(struct fc_state *st, int slot, int dev,
                                     uint64_t addr, uint64_t size,
                                     uint64_t pool, uint64_t max_size,
                                     int64_t now, struct fc_move *m);
/* Bytes the caller holds from a pool. */
uint64_t fc_mem_pool_bytes(const struct fc_state *st, int slot, uint64_t pool);
/* Records an array (or mipmapped array) of size bytes, keyed by its
 * handle; charged like device memory. */
enum fc_mem_result fc_mem_add_array(struct fc_state *st, int slot, int dev,
                                    uint64_t handle, uint64_t size, int64_t now,
                                    struct fc_move *m);
/* Drops the caller's entry of that kind for a handle (an array). */
enum fc_mem_result fc_mem_remove_handle(struct fc_state *st, int slot,
                                        enum fc_alloc_kind kind,
                                        uint64_t handle);
/* Records a managed allocation (not resident anywhere yet). */
enum fc_mem_result fc_mem_add_managed(struct fc_state *st, int slot, int dev,
                                      uint64_t addr, uint64_t size);
/* What an access to memory needs (CU_MEM_ACCESS_FLAGS_PROT_* values). */
#define FC_NEED_READ 1u
#define FC_NEED_WRITE 3u
/* Index of the caller's allocation holding [addr, addr+len), or -1. The
 * range may also span adjacent VMM mappings (the index is the first's),
 * each granting need to some location. */
int fc_mem_lookup(const struct fc_state *st, int slot, uint64_t addr,
                  uint64_t len, unsigned need);
/* The widest access a mapping grants to any location (a PROT value). */
unsigned fc_mem_mapping_prot(const struct fc_alloc *a);
/* Makes the caller's managed allocations overlapping [addr, addr+len)
 * resident on dev, as a kernel touching them would. */
void fc_mem_touch(struct fc_state *st, int slot, int dev, uint64_t addr,
                  uint64_t len, int64_t now, struct fc_move *m);
/* Moves the managed allocations overlapping the range to loc (a device
 * ordinal or FC_LOC_HOST). FC_MEM_NOT_MANAGED if the range holds anything
 * but managed memory of the caller. */
enum fc_mem_result fc_mem_prefetch(struct fc_state *st, int slot, int loc,
                                   uint64_t addr, uint64_t len, int64_t now,
                                   struct fc_move *m);
/* Records the preferred location of the managed range (FC_LOC_NONE
 * clears it, FC_LOC_KEEP only checks that the range is managed). */
enum fc_mem_result fc_mem_advise(struct fc_state *st, int slot, uint64_t addr,
                                 uint64_t len, int preferred);
/*
 * Virtual memory management. fc_mem_vmm_create records physical memory of
 * size bytes under handle, on device loc (charged, evicting managed memory
 * if that makes room) or on the host (FC_LOC_HOST, charged nowhere).
 * fc_mem_vmm_map maps the live handle's first len bytes at addr:
 * FC_MEM_NOT_FOUND for a released or unknown handle or a len beyond it,
 * FC_MEM_BUSY if the range overlaps anything mapped or allocated.
 * fc_mem_vmm_unmap unmaps a range that is exactly a run of whole adjacent
 * mappings (else FC_MEM_NOT_FOUND); fc_mem_vmm_release kills the handle.
 * The memory is given back once the handle is released and unmapped
 * everywhere, whichever comes last.
 * fc_mem_vmm_set_access sets the access bits under mask (FC_ACCESS_SHIFT)
 * to bits on every mapping of such a run; access for the host only to
 * host memory (else FC_MEM_BAD_LOCATION).
 */
enum fc_mem_result fc_mem_vmm_create(struct fc_state *st, int slot, int loc,
                                     uint64_t handle, uint64_t size,
                                     int64_t now, struct fc_move *m);
enum fc_mem_result fc_mem_vmm_map(struct fc_state *st, int slot,
                                  uint64_t handle, uint64_t addr, uint64_t len);
enum fc_mem_result fc_mem_vmm_unmap(struct fc_state *st, int slot,
                                    uint64_t addr, uint64_t len);
enum fc_mem_result fc_mem_vmm_release(struct fc_state *st, int slot,
                                      uint64_t handle);
enum fc_mem_result fc_mem_vmm_set_access(struct fc_state *st, int slot,
                                         uint64_t addr, uint64_t len,
                                         uint64_t mask, uint64_t bits);

/* Bytes still free on dev (never negative). */
uint64_t fc_mem_free_bytes(const struct fc_state *st, int dev);

#endif /* FAKECUDA_MEMORY_H */
