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

#endif /* NVSHARE_LIMIT_CHANGE_H */
