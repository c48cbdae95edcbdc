/*
 * core.h - what the scheduler's message handlers (lockproto, compute,
 * limit_change, control) share: the flags it started with, the registry,
 * and the identity it checks control requests against. The event loop
 * (server.h) owns one and hands it to them, so that they need nothing of
 * the loop itself.
 */
#ifndef NVSHARE_CORE_H
#define NVSHARE_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gpu_inventory.h"
#include "policy.h"
#include "proto.h"
#include "registry.h"
#include "sock.h"
#include "sock_file.h"

struct kube_watch_config; /* kube_watch.h */

#define SCHED_MAX_OVERRIDES REGISTRY_MAX_GPUS /* --gpu-memory flags */

struct sched_gpu_override {
	char uuid[NVS_UUID_SIZE]; /* GPU the override is for */
	uint64_t bytes;           /* capacity to use instead of the driver's */
};

struct sched_config {
	char socket_path[NVS_SOCKET_PATH_MAX]; /* where to listen */
	enum policy_mode mode;                 /* initial mode of every GPU */
	uint32_t time_slice_ms;                /* initial time slice, or
	                                          REGISTRY_SLICE_AUTO */
	uint32_t max_run_ms;                   /* initial longest slice */
	uint32_t release_grace_ms;             /* time to answer DROP_LOCK */
	uint32_t core_window_ms;               /* compute-quota window */
	uint64_t host_swap_budget;             /* bytes all GPUs' clients may
	                                          have swapped out to the host;
	                                          0: no budget */
	struct sched_gpu_override overrides[SCHED_MAX_OVERRIDES]; /* flags */
	size_t noverrides;          /* entries used in overrides */
	int trust_pod_names;        /* limits set for a pod apply to declared,
	                               unconfirmed members too */
	struct gpu_inventory *gpus; /* the node's GPUs: NVML and overrides
	                               (main.c); rescanned by lockproto.c */
	const struct kube_watch_config *kube; /* the Kubernetes watcher's
	                                         settings (main.c); NULL:
	                                         no watcher */
};

struct kube_watch; /* kube_watch.h */

struct sched_core {
	const struct sched_config *cfg; /* flags */
	struct sched_registry reg;      /* GPUs, clients, settings */
	struct sock_file sock;          /* the socket file we bound */
	uid_t self_uid;                 /* our effective uid */
	struct kube_watch *kube;        /* the Kubernetes watcher, NULL when
	                                   off (server.c starts it) */
};

#endif /* NVSHARE_CORE_H */
