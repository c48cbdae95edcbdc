/*
 * limit_change.h - every change of a client's quotas, whatever its source:
 * the limits a client reports (LIMITS: those of its environment, later
 * confirmations), and limits set live for one client or for every process
 * of a pod (nvsharectl's CTL_SET_CLIENT; a Kubernetes watcher would come
 * in the same way). quota.h decides which limits apply; this file keeps
 * the registry's view, tells the client (SET_LIMITS) and the billing.
 *
 * (Not "limits.h": the scheduler's folder is on the include path, and that
 * name would hide the C library's <limits.h>.)
 */
#ifndef NVSHARE_LIMIT_CHANGE_H
#define NVSHARE_LIMIT_CHANGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.h"
#include "proto.h"
#include "quota.h"

/* Sends the client the limits that now apply to it (its own, its pod's,
 * those set for it), if they differ from those in force, and lets the
 * billing know. */
void limit_change_apply(struct sched_core *core, struct sched_client *cl,
                        int64_t now);

/* The client's LIMITS: the limits in force there. The first are its own
 * (its environment, or after a scheduler restart those it had). */
void limit_change_reported(struct sched_core *core, struct sched_client *cl,
                           const struct nvs_limits *l, int64_t now);

/* A limit set for one client (m->client_id) or for every process of a
 * pod, present and future (m->pod_name), asked for by pid/uid (for the
 * log). The value is validated here, once. Writes the answer's text to
 * reply and returns 0, or the errno value to answer with (EINVAL, ENOENT,
 * ENOSPC), in which case nothing changed. */
int limit_change_set(struct sched_core *core,
                     const struct nvs_ctl_set_client *m, pid_t pid, uid_t uid,
                     int64_t now, char *reply, size_t len);

/* Who changes a pod's limit: nvsharectl (pod_uid NULL) or the annotations
 * of the pod with that UID. */
struct limit_source {
	enum quota_origin origin; /* QUOTA_FROM_POD_CTL or _ANNOTATION */
	const char *pod_uid;      /* for QUOTA_FROM_ANNOTATION */
};

/* Sets (value non-NULL) or clears a pod's limit of key: the one path of
 * nvsharectl set --pod and of the pod's annotations. A clear removes the
 * field only if the same source had set it (for annotations: the same pod
 * UID). Applies it to the pod's confirmed processes (counted in applied;
 * those that only claim the pod in unconfirmed). Returns 0, or ENOSPC
 * when no more pods can be kept. */
int limit_change_pod(struct sched_core *core, const char *pod_namespace,
                     const char *pod_name, uint32_t key, const uint64_t *value,
                     const struct limit_source *src, int64_t now,
                     size_t *applied, size_t *unconfirmed);

/* cl's memory changed, came or went: the other processes of its pod get
 * their share of the pod's memory limit again, if it has one. */
void limit_change_pod_moved(struct sched_core *core,
                            const struct sched_client *cl, int64_t now);

#endif /* NVSHARE_LIMIT_CHANGE_H */
