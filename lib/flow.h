/*
 * flow.h - flow control: a bound on the GPU work a thread has queued.
 *
 * A drain (on DROP_LOCK) waits for everything already submitted, so the
 * switch to the next client costs as much GPU time as is queued. Without a
 * bound a launch-happy program queues a thousand kernels and every switch
 * waits for them. Each application thread therefore drops a timed event
 * into its stream now and then (a checkpoint), learns from completed
 * checkpoints how much GPU time its launches take, and before queueing
 * more waits for the oldest checkpoint whenever its estimated queued GPU
 * time exceeds the window (NVSHARE_QUEUE_WINDOW_MS). The checkpoint cadence
 * adapts so that about four checkpoints fit in a window.
 *
 * No synchronization ever happens while a stream capture runs in the
 * process, and captured launches are never checkpointed.
 */
#ifndef NVSHARE_LIB_FLOW_H
#define NVSHARE_LIB_FLOW_H

#include "driver.h"

#include <stdint.h>

/* Launches since this thread's last checkpoint, and the current cadence. */
extern __thread unsigned flow_tls_since
    __attribute__((tls_model("initial-exec")));
extern __thread unsigned flow_tls_every
    __attribute__((tls_model("initial-exec")));

/* A device keeps the latest checkpoint of each stream, so that work
 * queued on one stream is seen while another's has ended: threads that
 * launch on streams of their own must all be billed for. A slot is
 * claimed by its stream's key (the stream; for the per-thread default
 * stream, which is one stream per thread, the thread), found by open
 * addressing, and freed by the meter once its checkpoint is complete.
 * With every slot taken, the stream's first slot is overwritten. */
#define FLOW_TAILS 32
struct flow_tail {
	_Atomic(uintptr_t) key; /* 0: free */
	_Atomic(CUevent) ev;    /* the stream's latest checkpoint, or NULL */
};

/* Slow path, taken every flow_tls_every launches (see gate_exit). The
 * event recorded goes to the stream's slot of tails. */
void flow_checkpoint(CUstream stream, struct flow_tail *tails);

/* Set while some device's GPU time is metered (compute quotas): then
 * checkpoints come every FLOW_METER_NS of GPU work or so, so that the meter
 * sees queued work end precisely. */
extern atomic_int flow_metering;
#define FLOW_METER_NS 2000000.0
/* A process with a core limit keeps at most this much GPU time queued, so
 * that a throttle stops its work within milliseconds (queued work still
 * runs, and is billed as debt). */
#define FLOW_LIMITED_WINDOW_NS 10000000LL

/* Window in ns from NVSHARE_QUEUE_WINDOW_MS (0 disables flow control). */
long long flow_window_ns(void);

#endif /* NVSHARE_LIB_FLOW_H */
