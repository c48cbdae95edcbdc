/*
 * plugin_core.h - the device plugin's state and its life: settings, the
 * GPUs and their health (a watcher thread over NVML), the allocations
 * handed out. plugin.c implements this and plugin.h (the transport's
 * view).
 */
#ifndef NVSHARE_DP_PLUGIN_CORE_H
#define NVSHARE_DP_PLUGIN_CORE_H

#include <limits.h>
#include <stdint.h>

#include "allocate.h"
#include "dp_types.h"
#include "placement.h"
#include "slots.h"

#define DP_DEFAULT_KUBELET_DIR "/var/lib/kubelet/device-plugins"
#define DP_DEFAULT_RESOURCE "nvshare.com/gpu"
#define DP_DEFAULT_ENDPOINT "nvshare-device-plugin.sock"
#define DP_DEFAULT_SLOTS 10u
#define DP_DEFAULT_HOST_LIB_DIR "/var/lib/nvshare/lib"
#define DP_DEFAULT_CONTAINER_LIB_DIR "/usr/local/nvshare/lib"
#define DP_DEFAULT_CONTAINER_SOCKET_DIR "/var/run/nvshare"
/* Virtual capacity: twice the physical memory (docs/kubernetes.md says
 * why). */
#define DP_DEFAULT_VMEM_RATIO_PCT 200u
/* A pending allocation whose container has not reached the scheduler
 * by then no longer counts (image pulls take that long, rarely more). */
#define DP_DEFAULT_PENDING_S 120u

struct dp_plugin;

struct dp_config {
	char kubelet_dir[PATH_MAX];
	char endpoint[64]; /* the plugin's socket, in kubelet_dir */
	char resource_name[128];
	char scheduler_socket[PATH_MAX];
	unsigned slots;          /* devices per GPU */
	char nvml_lib[PATH_MAX]; /* "libnvidia-ml.so.1" */
	/* Allocate's paths (see allocate.h) */
	char host_lib_dir[PATH_MAX];
	char container_lib_dir[PATH_MAX];
	char host_socket_dir[PATH_MAX];
	char container_socket_dir[PATH_MAX];
	char socket_name[PATH_MAX];
	char cdi_kind[128];
	/* virtual capacity per GPU: vmem_bytes if set, else vmem_ratio_pct
	 * percent of its physical memory */
	uint64_t vmem_bytes;
	unsigned vmem_ratio_pct;
	int64_t pending_timeout_ns;
	int64_t xid_hold_ns; /* 0: a critical XID holds until a reset */
};

/* The defaults, with the scheduler's socket at sock. */
void dp_config_defaults(struct dp_config *c);

/* Loads NVML, finds the GPUs and starts watching their health. NULL with
 * a reason in err. */
struct dp_plugin *dp_plugin_new(const struct dp_config *c, char *err,
                                size_t errlen);
void dp_plugin_free(struct dp_plugin *p);

/* The load of every GPU now (scheduler's report, pending allocations):
 * what placement gets. avail[0..navail): devices the kubelet offers as
 * free (their allocations ended), or none. Returns the GPU count;
 * *sched_ok says whether the scheduler answered. */
int dp_plugin_load(struct dp_plugin *p, const char *const *avail, size_t navail,
                   struct dp_gpu_load *load, int *sched_ok);

#endif /* NVSHARE_DP_PLUGIN_CORE_H */
