/*
 * swap.h - moving a process's GPU memory to the host and back.
 *
 * The one small interface behind which the mechanisms sit: remappable
 * blocks (remap.h: copy out, give the physical memory back, remap it at
 * the same address later), which is what cuMemAlloc gives, and Unified
 * Memory (preferred location and prefetch) for cuMemAllocManaged and
 * allocations a block does not suit.
 *
 * Called only by the link thread, with the device's gate closed and its
 * work drained, so nothing of ours runs on the GPU meanwhile.
 */
#ifndef NVSHARE_LIB_SWAP_H
#define NVSHARE_LIB_SWAP_H

#include "gate.h"

struct swap_stats {
	uint64_t bytes; /* bytes asked to move */
	uint64_t ns;    /* wall time of the move, synchronized (without the
	                   one-time making of host buffers) */
};

/* Moves all of d's movable memory to the host (NVS_SWAP_OUT) or to the
 * GPU (NVS_SWAP_IN) and waits for the move. Returns 0, or -1 if the driver
 * refused something (logged; Unified Memory stays valid either way and
 * faults in on use). */
int swap_move(struct gate_dev *d, enum nvs_swap_direction dir,
              struct swap_stats *st);

/* At a grant with nothing swapped out: backs the blocks made while the
 * process waited, and (unified set) places fresh Unified Memory on the
 * GPU with one prefetch. Returns 0 or -1 as swap_move. */
int swap_place(struct gate_dev *d, int unified);

#endif /* NVSHARE_LIB_SWAP_H */
