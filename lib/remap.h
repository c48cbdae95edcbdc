/*
 * remap.h - the device memory cuMemAlloc hands out under nvshare: ordinary
 * GPU memory whose bytes can leave the GPU and come back at the same
 * address.
 *
 * A block is an address range reserved with the virtual-memory-management
 * API and, while the process may be on the GPU, backed by physical memory
 * mapped there (cuMemCreate, cuMemMap). Swapping out copies the bytes to
 * host memory and gives the physical memory back (cuMemUnmap,
 * cuMemRelease); swapping in creates and maps new physical memory at the
 * same address and copies the bytes back. Both move at link speed, where
 * evicting Unified Memory runs at a sixth of it, and a resident block is
 * plain device memory: no page faults, nothing to place at a grant.
 *
 * Allocations that do not suit it (NVSHARE_SWAP=unified, no VMM on the
 * device, or more than an eighth lost to rounding up to the 2 MiB
 * granularity) stay Unified Memory (swap.c).
 */
#ifndef NVSHARE_LIB_REMAP_H
#define NVSHARE_LIB_REMAP_H

#include "gate.h"

/* 1 if an allocation of bytes on d should be a block, with *rounded the
 * block's size (what it occupies, and what is charged). */
int remap_suits(struct gate_dev *d, uint64_t bytes, uint64_t *rounded);

/* Makes a block of rounded bytes (from remap_suits) on d at *ptr, backed
 * at once if back_now (the grant covers it, grant.h) and the process may
 * be on the GPU; otherwise only the address is reserved and the next
 * grant backs it. CUDA_ERROR_OUT_OF_MEMORY, while managed, if d's blocks
 * would no longer fit its capacity together. Returns CUDA_SUCCESS, or the
 * driver's error with nothing made. */
CUresult remap_alloc(struct gate_dev *d, uint64_t rounded, int back_now,
                     CUdeviceptr *ptr);

/* Frees the block at ptr once the work queued before has finished, and
 * its charge (mem.h). Returns 1 if ptr was a block, 0 if it is not one of
 * ours. */
int remap_free(CUdeviceptr ptr);

/* The swap mechanism, run by the link thread with d's gate closed and its
 * work drained and a context of d current. Out: copies every backed block
 * of d to host memory on stream s and gives the physical memory back.
 * In: backs every block of d again and copies saved bytes back. Both wait
 * for their copies and add the bytes copied to *bytes, and the time spent
 * making host buffers (once per block, not a cost of later swaps) to
 * *setup_ns. Returns 0, or -1 if some block could not move (it stays where
 * it was; logged). */
int remap_move(struct gate_dev *d, int to_host, CUstream s, uint64_t *bytes,
               uint64_t *setup_ns);

/* A drop with d's memory moved out is planned (PREPARE_SWAP): makes the
 * host buffers of d's blocks now, on a thread of its own, so that the
 * swap-out only copies. Returns at once. */
void remap_prepare(struct gate_dev *d);

/* The process gave d's GPU back (its blocks may stay there): blocks made
 * from now on wait for the next grant. */
void remap_left(struct gate_dev *d);

/* Bytes of d's blocks without GPU memory now (a grant or swap-in backs
 * them). */
uint64_t remap_unbacked_bytes(struct gate_dev *d);

/* d's primary context was reset: its blocks are released, addresses and
 * host copies included. */
void remap_forget_device(struct gate_dev *d);

/* In a forked child: no blocks (the parent's are not ours). */
void remap_reset_after_fork(void);

#endif /* NVSHARE_LIB_REMAP_H */
