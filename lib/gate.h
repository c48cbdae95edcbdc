/*
 * gate.h - the per-GPU gate every piece of GPU work passes.
 *
 * Each GPU the process touches has a struct gate_dev. `open` is 1 while the
 * process may submit work there: it holds the scheduler's lock, or nvshare
 * is not managing it (no scheduler, or scheduling switched off). A gated
 * call increments `inflight`, reads `open` and, if open, goes straight to the
 * driver: no mutex, no system call, no allocation. Closing the gate is the
 * mirror image: the link thread clears `open`, then waits for `inflight` to
 * reach zero. Both sides use sequentially consistent atomics, so either the
 * caller sees the gate closed or the closer sees the caller in flight.
 *
 * A caller that finds the gate closed goes to the slow path (gate_wait): it
 * asks the link thread to request the lock and sleeps on a condition
 * variable until the gate opens.
 */
#ifndef NVSHARE_LIB_GATE_H
#define NVSHARE_LIB_GATE_H

#include "ctxstate.h"
#include "driver.h"
#include "flow.h"
#include "proto.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define GATE_MAX_DEVICES 32
#define GATE_MAX_CONTEXTS 16

/* What the link thread should do for a device; bits in gate_dev.todo. */
enum gate_todo {
	GATE_TODO_REGISTER = 1u << 0, /* send REGISTER_GPU */
	GATE_TODO_REQUEST = 1u << 1,  /* send REQ_LOCK */
	GATE_TODO_MEMORY = 1u << 2,   /* send MEM_UPDATE */
};

struct gate_dev {
	/* Hot fields, read on every gated call. */
	atomic_int open;      /* 1: submissions may proceed */
	atomic_long inflight; /* gated calls currently inside the driver */
	atomic_ulong submits; /* gated calls completed (idle detection) */
	char pad[64];         /* keep the hot fields on their own line */

	/* Identity, fixed once the device is known. */
	int ordinal;              /* CUdevice */
	char uuid[NVS_UUID_SIZE]; /* "GPU-..." */
	uint64_t total_bytes;     /* what the driver reports */

	/* Below: protected by mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv; /* signalled when open or capacity changes */
	unsigned todo;     /* enum gate_todo bits for the link thread */
	int holding;       /* the scheduler granted us the lock */
	int requested;     /* REQ_LOCK sent, LOCK_OK not yet seen */
	int accepted;      /* GPU_ACCEPTED received since connecting */
	uint64_t
	    capacity_bytes; /* memory to honour (scheduler's or driver's) */
	uint64_t allocated_bytes; /* this process's allocations on the device */
	uint64_t pinned_bytes;    /* the part no swap can move (grant.h) */
	uint64_t granted_bytes;   /* what the scheduler lets us back there */
	uint64_t mem_seq;         /* seq of the last MEM_UPDATE sent */
	int grant_waiters;        /* threads waiting for a grant (grant.h) */
	uint64_t awaiting_bytes;  /* charged, not made yet (mem.c) */
	int short_grant;          /* holding, but the grant does not cover
	                             memory made while waiting: gate shut */
	int ran_unmanaged; /* made memory ungated since it last registered:
	                      only then does its first MEM_UPDATE claim what
	                      it holds (a managed process holds nothing
	                      before its first grant) */
	CUcontext
	    ctxs[GATE_MAX_CONTEXTS]; /* contexts seen, drained on release */
	int nctxs;
	int swapped_out;         /* our memory was moved to the host */
	int unplaced;            /* managed memory allocated since the last
	                            placement on the GPU (mu) */
	CUstream swap_stream;    /* link thread's stream for moving memory */
	unsigned long idle_mark; /* submits value at the last idle check */
	long long idle_since_ns; /* when submits last changed */

	/* Compute quotas (usage.h). */
	atomic_int syncing; /* threads waiting in a synchronize call */
	struct flow_tail tails[FLOW_TAILS]; /* each stream's latest flow
	                                       checkpoint (flow.h) */
	int throttled;             /* the scheduler paused our launches (mu) */
	int meter;                 /* the scheduler wants USAGE reports (mu) */
	struct usage_meter *usage; /* link thread's measurement, or NULL */
};

/* Devices known so far (index < gate_ndevs). */
extern struct gate_dev gate_devs[GATE_MAX_DEVICES];
extern atomic_int gate_ndevs;

/* Slow paths, in gate.c. */
struct gate_dev *gate_lookup(CUcontext ctx);
/* Waits until d is open. Returns 1 if the call may proceed ungated
 * instead (its stream is capturing, so it submits no work now). */
int gate_wait(struct gate_dev *d, CUstream stream);
/* 1 if stream (not NVS_NO_STREAM) is capturing into a graph: work there
 * is recorded, not run, and memory allocated there is a graph node. */
int gate_stream_capturing(CUstream stream);

/* Per-thread cache of the last context -> device mapping. */
extern __thread CUcontext gate_tls_ctx
    __attribute__((tls_model("initial-exec")));
extern __thread struct gate_dev *gate_tls_dev
    __attribute__((tls_model("initial-exec")));
extern __thread unsigned gate_tls_gen
    __attribute__((tls_model("initial-exec")));

#define NVS_NO_STREAM ((CUstream)(uintptr_t)-1)
/* The stream a _ptsz entry point means by s. */
#define NVS_PT(s) ((s) ? (s) : NVS_CU_STREAM_PER_THREAD)

/* Enters the gate for a call on `stream` (NVS_NO_STREAM: synchronous).
 * Returns the device to pass to gate_exit(), or NULL if the call was not
 * counted (no context: the driver will reject it; or a capturing stream). */
static inline struct gate_dev *gate_enter(CUstream stream)
{
	CUcontext ctx = NULL;
	struct gate_dev *d;

	if (nvs_unlikely(!nvs_real_cuCtxGetCurrent ||
	                 nvs_real_cuCtxGetCurrent(&ctx) != CUDA_SUCCESS ||
	                 !ctx))
		return NULL;
	if (nvs_likely(ctx == gate_tls_ctx &&
	               gate_tls_gen ==
	                   atomic_load_explicit(&ctx_generation,
	                                        memory_order_relaxed)))
		d = gate_tls_dev;
	else
		d = gate_lookup(ctx);
	if (nvs_unlikely(!d))
		return NULL;
	for (;;) {
		atomic_fetch_add(&d->inflight, 1);
		if (nvs_likely(atomic_load(&d->open)))
			return d;
		atomic_fetch_sub(&d->inflight, 1);
		if (gate_wait(d, stream))
			return NULL;
	}
}

static inline void gate_exit(struct gate_dev *d, CUstream stream)
{
	if (!d)
		return;
	/* A plain increment: an occasional lost count only delays idle
	 * detection, and it keeps a locked instruction off the hot path. */
	atomic_store_explicit(
	    &d->submits,
	    atomic_load_explicit(&d->submits, memory_order_relaxed) + 1,
	    memory_order_relaxed);
	atomic_fetch_sub_explicit(&d->inflight, 1, memory_order_release);
	/* Asynchronous work only: a synchronous call has already waited. */
	if (nvs_unlikely(++flow_tls_since >= flow_tls_every) &&
	    stream != NVS_NO_STREAM)
		flow_checkpoint(stream, d->tails);
}

/* Used by the link thread (client.c). */
void gate_set_open(struct gate_dev *d, int open);
/* With d->mu held: opens the gate if the process may submit there now
 * (holding the lock and not throttled, or unmanaged), closes it else, and
 * wakes the waiters. */
void gate_update_open(struct gate_dev *d);
/* Closes the gate, waits for calls in flight, then synchronizes the
 * device's contexts. While a stream capture runs it reopens the gate and
 * waits; after 5 s it gives up synchronizing and returns -1 (gate closed,
 * work perhaps still queued). Returns 0 when drained. */
int gate_close_and_drain(struct gate_dev *d);
/* Synchronizes the first max contexts recorded for d (they cannot be
 * destroyed meanwhile). */
void gate_sync_contexts(struct gate_dev *d, int max);
/* 1 if work of ours is on d or on its way: a gated call inside the
 * driver, a thread waiting in a synchronize, or some stream's latest flow
 * checkpoint not reached yet. Link thread only (it queries events). */
int gate_work_pending(struct gate_dev *d);
/* 1 once the process has begun to exit (the driver may be going away). */
int gate_exiting(void);
/* Readers: code using recorded contexts; writer: cuCtxDestroy. */
extern pthread_rwlock_t gate_ctx_lock;
/* Device whose UUID is uuid, or NULL. */
struct gate_dev *gate_find_uuid(const char *uuid);
/* Device of CUDA ordinal dev seen so far, or NULL (one per ordinal). */
struct gate_dev *gate_find_ordinal(int dev);
/* Device for the calling thread's current context (registers it if new),
 * or NULL if there is no current context. */
struct gate_dev *gate_current(void);
/* Drops a destroyed context from every device and invalidates caches. */
void gate_forget_context(CUcontext ctx);
/* The primary context of device ordinal dev may be gone (released or
 * reset): its events are never queried again, the device's recorded
 * contexts are forgotten (each is recorded again at its next gated call)
 * and caches are invalidated. Returns the device, or NULL if it was never
 * seen (its memory, after a reset, is the caller's to forget). Call with
 * gate_ctx_lock held for writing. */
struct gate_dev *gate_forget_primary(int dev);
/* In a forked child: fresh locks, no lock held, gates open (the
 * child's link resets the layers above too). */
void gate_reset_after_fork(void);
/* Held while creating a device and while the link thread switches between
 * managed and unmanaged, so a new device starts in the right state. */
extern pthread_mutex_t gate_registry_mu;

#endif /* NVSHARE_LIB_GATE_H */
