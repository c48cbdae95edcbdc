/*
 * memory.h - device memory capacity and managed-memory residency of the
 * simulated GPUs, on the shared state (every function here expects the
 * state locked by the caller).
 *
 * Device memory (cuMemAlloc and friends) counts against a device's capacity
 * until freed and cannot move. Managed memory is host memory that becomes
 * resident on a device when a kernel touches it or it is prefetched; when
 * the device is full, the least recently used managed allocations of any
 * process (never those the current operation touches) are evicted to host.
 * The unit is the whole allocation. Each function reports the bytes it
 * moved so that the caller can charge their time (struct fc_move).
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
	FC_MEM_NO_ROOM = -1,     /* capacity exhausted (device memory) */
	FC_MEM_TABLE_FULL = -2,  /* too many allocations in the state */
	FC_MEM_NOT_MANAGED = -3, /* range is not (only) managed memory */
};

/* Records a device allocation of size bytes at addr, evicting managed
 * memory if that makes room. */
enum fc_mem_result fc_mem_add_device(struct fc_state *st, int slot, int dev,
                                     uint64_t addr, uint64_t size, int64_t now,
                                     struct fc_move *m);
/* Records a managed allocation (not resident anywhere yet). */
enum fc_mem_result fc_mem_add_managed(struct fc_state *st, int slot, int dev,
                                      uint64_t addr, uint64_t size);
/* Index of the caller's allocation holding [addr, addr+len), or -1. */
int fc_mem_lookup(const struct fc_state *st, int slot, uint64_t addr,
                  uint64_t len);
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
/* Bytes still free on dev (never negative). */
uint64_t fc_mem_free_bytes(const struct fc_state *st, int dev);

#endif /* FAKECUDA_MEMORY_H */
