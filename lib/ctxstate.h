/*
 * ctxstate.h - what every per-thread cache of the library checks about
 * the process's CUDA contexts: whether one may have gone since it was
 * filled, and whether a stream capture runs. A leaf: the gate and flow
 * control both read it, neither through the other.
 */
#ifndef NVSHARE_LIB_CTXSTATE_H
#define NVSHARE_LIB_CTXSTATE_H

#include <stdatomic.h>

/* Bumped when a context goes (or may have): invalidates the per-thread
 * device caches (gate.h) and every thread's flow-control events
 * (flow.c). */
extern atomic_uint ctx_generation;
/* Stream captures now running in this process: while any is, the link
 * thread must not synchronize (that would invalidate the capture), and
 * flow control records no checkpoints. */
extern atomic_int ctx_captures;

#endif /* NVSHARE_LIB_CTXSTATE_H */
