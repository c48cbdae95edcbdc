/*
 * grant.h - the memory grant: how much this process may back on a GPU.
 *
 * The scheduler keeps every GPU's memory within its capacity by granting
 * each client the bytes it may have there (MEM_GRANT, before every LOCK_OK
 * and in answer to every MEM_UPDATE while the lock is held). The library
 * backs no byte beyond its grant: an allocation that would exceed it
 * while the process holds the GPU waits here until the scheduler has made
 * room (evicting idle clients, or ending the others' slices); one made
 * while the process does not hold the GPU is deferred where it can be
 * (remappable blocks and Unified Memory get their memory at the next
 * grant) and waits for the lock where it cannot (pitched, pool, array and
 * cuMemCreate memory is real the moment the driver makes it).
 *
 * A waiting thread holds no lock and nothing in flight: the link thread
 * still answers DROP_LOCK and drains the other threads' work meanwhile.
 * The wait is bounded (NVSHARE_GRANT_WAIT_MS, default 10 minutes), after
 * which the allocation fails with CUDA_ERROR_OUT_OF_MEMORY, logged.
 */
#ifndef NVSHARE_LIB_GRANT_H
#define NVSHARE_LIB_GRANT_H

#include "gate.h"

enum grant_wait {
	GRANT_GO = 0,      /* back the memory now */
	GRANT_DEFER = 1,   /* leave it unbacked: the next grant backs it */
	GRANT_REFUSED = -1 /* no room in time: fail the allocation */
};

/* Called after an allocation was charged (mem.h), before its memory is
 * made. deferrable: the memory can wait unbacked for the next grant. */
enum grant_wait grant_await(struct gate_dev *d, int deferrable,
                            const char *api);

/* With d->mu held: the grant covers everything charged on d (at most the
 * capacity: a process larger than the GPU runs alone on Unified Memory). */
int grant_covers(const struct gate_dev *d);

/* Link thread, with d->mu held: an update of allocated bytes goes out as
 * seq; the scheduler lowers the grant to it, and so do we. */
void grant_update_sent(struct gate_dev *d, uint64_t allocated, uint64_t seq);

/* Link thread: MEM_GRANT arrived. Returns 1 if it was taken (it answers
 * the last update sent), 0 if it was stale. Wakes waiting threads. */
int grant_received(struct gate_dev *d, uint64_t granted, uint64_t seq);

/* A new connection: the new scheduler has granted nothing yet. */
void grant_reset(struct gate_dev *d);

#endif /* NVSHARE_LIB_GRANT_H */
