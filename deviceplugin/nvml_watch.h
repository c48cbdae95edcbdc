/*
 * nvml_watch.h - the node's GPUs through NVML, loaded at run time
 * (libnvidia-ml.so.1 from the driver, or the simulated one in tests):
 * discovery, XID events, whether a GPU still answers.
 */
#ifndef NVSHARE_DP_NVML_WATCH_H
#define NVSHARE_DP_NVML_WATCH_H

#include <stddef.h>

#include "slots.h"

struct dp_nvml;

/* Loads NVML (lib: a path or soname) and initialises it. NULL with a
 * reason in err. */
struct dp_nvml *dp_nvml_open(const char *lib, char *err, size_t errlen);
void dp_nvml_close(struct dp_nvml *n);

/* Every GPU, all healthy. Returns 0, or -1 with a reason (none found). */
int dp_nvml_discover(struct dp_nvml *n, struct dp_gpus *out, char *err,
                     size_t errlen);

/* Waits up to timeout_ms for an XID event on a discovered GPU: 1 with
 * *gpu (index in the discovered list) and *xid set, 0 if none came.
 * Without event support it just sleeps. */
int dp_nvml_wait_xid(struct dp_nvml *n, const struct dp_gpus *g, int timeout_ms,
                     int *gpu, unsigned long long *xid);

/* 1 if NVML still reaches the GPU of this UUID, 0 if it is lost. */
int dp_nvml_present(struct dp_nvml *n, const char *uuid);

#endif /* NVSHARE_DP_NVML_WATCH_H */
