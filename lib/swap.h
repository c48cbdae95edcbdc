/*
 * swap.h - moving a process's GPU memory to the host and back.
 *
 * The one small interface behind which the mechanism sits. Today it is
 * Unified Memory: set the preferred location and prefetch. A faster one
 * (remapping with the virtual-memory-management API, which evicts at link
 * speed) can replace swap.c without touching its callers.
 *
 * Called only by the link thread, with the device's gate closed and its
 * work drained, so nothing of ours runs on the GPU meanwhile.
 */
#ifndef NVSHARE_LIB_SWAP_H
#define NVSHARE_LIB_SWAP_H

#include "gate.h"

struct swap_stats {
	uint64_t bytes; /* bytes asked to move */
	uint64_t ns;    /* wall time of the move, synchronized */
};

/* Moves every managed allocation of d to the host (NVS_SWAP_OUT) or to the
 * GPU (NVS_SWAP_IN) and waits for the move. Returns 0, or -1 if the driver
 * refused (the data stays valid either way: Unified Memory faults it in). */
int swap_move(struct gate_dev *d, enum nvs_swap_direction dir,
              struct swap_stats *st);

#endif /* NVSHARE_LIB_SWAP_H */
