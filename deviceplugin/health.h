/*
 * health.h - whether a GPU's devices are healthy, from what NVML tells:
 * critical XID errors and the GPU disappearing. Pure: state, facts and
 * `now` in, a verdict out.
 *
 * A critical XID makes the GPU unhealthy until it is reset (seen lost,
 * then back) or, with a hold time, until that long has passed without
 * another. A lost GPU is unhealthy until it answers again.
 */
#ifndef NVSHARE_DP_HEALTH_H
#define NVSHARE_DP_HEALTH_H

#include <stdint.h>

struct dp_health {
	int lost;               /* NVML cannot reach it now */
	int xid_bad;            /* a critical XID since the last reset */
	unsigned long long xid; /* the last critical XID */
	int64_t xid_at_ns;      /* when it came */
};

/* 1 if the XID means the GPU (not one application) is in trouble. XIDs
 * an application causes by itself (13 graphics engine exception, 31
 * memory page fault, 43 stopped processing, 45 preemptive cleanup, 68
 * video processor exception, 109 context-switch timeout) only end that
 * application. */
int dp_xid_critical(unsigned long long xid);

/* An XID event. Returns 1 if it was critical (and so recorded). */
int dp_health_xid(struct dp_health *h, unsigned long long xid, int64_t now);

/* Whether NVML reaches the GPU now. Coming back after being lost is a
 * reset: it clears a critical XID. */
void dp_health_presence(struct dp_health *h, int present);

/* The verdict. hold_ns: how long a critical XID keeps the GPU unhealthy
 * when no reset comes (0: until a reset). */
int dp_health_ok(const struct dp_health *h, int64_t now, int64_t hold_ns);

#endif /* NVSHARE_DP_HEALTH_H */
