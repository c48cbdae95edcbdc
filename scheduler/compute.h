/*
 * compute.h - compute quotas in the scheduler: USAGE reports in, THROTTLE
 * out, one bill per GPU (billing.h decides; this file carries out).
 *
 * A GPU is metered while any client on it has a core limit: every client
 * on it is then asked to report its busy time, because co-tenants' work is
 * what a limited client's share is measured against.
 */
#ifndef NVSHARE_COMPUTE_H
#define NVSHARE_COMPUTE_H

#include <stdint.h>

#include "core.h"
#include "proto.h"

/* A client registered g (after the policy accepted it). */
void compute_attach(struct sched_core *core, struct sched_client *cl,
                    struct sched_gpu *g, int64_t now);
/* A client is gone: its bills go. */
void compute_client_gone(struct sched_core *core, struct sched_client *cl);
/* The client's core limit may have changed (cl->limits). */
void compute_limits_changed(struct sched_core *core, struct sched_client *cl,
                            int64_t now);
/* A USAGE report of a registered GPU; reports for ticks not begun by now
 * are refused. */
void compute_usage(struct sched_client *cl, struct sched_client_gpu *e,
                   const struct nvs_usage *u, int64_t now);
/* Bills closed ticks and starts windows on every GPU; returns the earliest
 * next deadline. */
int64_t compute_tick(struct sched_core *core, int64_t now);

#endif /* NVSHARE_COMPUTE_H */
