/*
 * pending.h - allocations the plugin handed out, until their pod's
 * process shows up at the scheduler. Between Allocate and the first
 * HELLO a pod is invisible to the scheduler; counting it here keeps a
 * burst of pods from piling onto one GPU. An entry ends when its process,
 * once seen at the scheduler (from then on the scheduler counts it), is
 * gone; when the kubelet offers its devices as free again (the pod ended,
 * seen or not); or at the deadline (a pod that never started).
 */
#ifndef NVSHARE_DP_PENDING_H
#define NVSHARE_DP_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "slots.h"

/* An allocation id: 32 hex digits and a NUL. */
#define DP_ALLOC_ID_SIZE 33
/* Devices of an allocation remembered to see it released. */
#define DP_PENDING_DEVS 4

struct dp_pending {
	char id[DP_ALLOC_ID_SIZE];
	uint32_t gpus; /* bit i: GPU i of the plugin's list */
	int64_t at_ns; /* when Allocate handed it out */
	int linked;    /* a client with this id was seen */
	size_t ndev;   /* its first devices, at most DP_PENDING_DEVS */
	char dev[DP_PENDING_DEVS][DP_ID_MAX];
};

struct dp_pending_table {
	size_t n, cap;
	struct dp_pending *e;
};

/* Records an allocation of devs[0..ndev). Returns 0, or -1 if out of
 * memory. */
int dp_pending_add(struct dp_pending_table *t, const char *id, uint32_t gpus,
                   const char *const *devs, size_t ndev, int64_t now);

/* The kubelet offers avail[0..n) as free: an allocation holding one of
 * them has ended (its pod is gone, maybe before its process was ever
 * seen). Drops those; returns how many. */
size_t dp_pending_released(struct dp_pending_table *t, const char *const *avail,
                           size_t n);

/* Brings the table up to date with the ids of the live clients: seen
 * entries become linked, linked entries no longer seen are dropped (the
 * pod ended), unlinked ones older than timeout_ns expire. Counts what
 * went in *ended and *expired (either may be NULL). */
void dp_pending_refresh(struct dp_pending_table *t, const char *const *live_ids,
                        size_t nlive, int64_t now, int64_t timeout_ns,
                        size_t *ended, size_t *expired);

/* Unlinked entries per GPU, added to counts[0..DP_MAX_GPUS). */
void dp_pending_counts(const struct dp_pending_table *t, unsigned *counts);

/* The entry of id, or NULL. */
const struct dp_pending *dp_pending_find(const struct dp_pending_table *t,
                                         const char *id);

void dp_pending_free(struct dp_pending_table *t);

#endif /* NVSHARE_DP_PENDING_H */
