/*
 * kube_pods.h - what the scheduler's loop makes of its node's pods: the
 * map from a pod UID (which the kernel gives for a process, see
 * peer_identity.h) to the pod's namespace and name, and the pod's limits
 * from its annotations, validated here and set through the same path as
 * `nvsharectl set --pod` (limit_change.h). Changes come from the watcher
 * (kube_watch.h), already decoded; nothing here waits on the API server.
 */
#ifndef NVSHARE_KUBE_PODS_H
#define NVSHARE_KUBE_PODS_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "kube_watch.h"

/* At HELLO: cl's pod from the kernel's pod UID (cl->pod_uid) if the watch
 * cache has it, replacing what cl declared (then pod_verified is 1; a
 * declared pod that differs is kept in claimed_* and logged). A process
 * whose pod is not in the cache yet is bound when the pod arrives. */
void kube_pods_identify(struct sched_core *core, struct sched_client *cl);

/* Applies changes taken from the watcher at now. */
void kube_pods_apply(struct sched_core *core, const struct kube_change *ch,
                     size_t n, int64_t now);

#endif /* NVSHARE_KUBE_PODS_H */
