/*
 * lockproto.h - the client side of the protocol in the scheduler: HELLO,
 * REGISTER_GPU, REQ_LOCK, LOCK_RELEASED, MEM_UPDATE, SWAP_REPORT, USAGE
 * (to compute.h) and LIMITS (to limit_change.h), and the application of
 * policy decisions (LOCK_OK, DROP_LOCK, EVICT, WAITING, forced releases)
 * to clients.
 *
 * It turns messages into calls of the pure policy and the policy's actions
 * into messages (conn.h), logs and counters; it owns no sockets (server.c
 * does).
 */
#ifndef NVSHARE_LOCKPROTO_H
#define NVSHARE_LOCKPROTO_H

#include <stdint.h>

#include "conn.h"
#include "core.h"
#include "policy.h"
#include "proto.h"

/* Handles one validated lock-protocol message from c. */
void lockproto_handle(struct sched_core *core, struct sched_conn *c,
                      const struct nvs_msg *m, int64_t now);

/* A client is gone: its locks and queue places go to the others at once. */
void lockproto_client_gone(struct sched_core *core, struct sched_client *cl,
                           int64_t now);

/* Acts on the passage of time on every GPU; returns the earliest deadline
 * (POLICY_NO_DEADLINE if none). */
int64_t lockproto_tick(struct sched_core *core, int64_t now);

/* Apply a new setting to every GPU (the next tick acts on it). A time
 * slice of REGISTRY_SLICE_AUTO derives it from the swap cost. */
void lockproto_set_time_slice(struct sched_core *core, uint32_t ms);
void lockproto_set_max_run(struct sched_core *core, uint32_t ms);
void lockproto_set_mode(struct sched_core *core, enum policy_mode mode);

/* Turns scheduling off (locks and queues cleared, clients told to run
 * ungated) or on again (clients told to ask for locks again). */
void lockproto_set_managed(struct sched_core *core, int managed);

#endif /* NVSHARE_LOCKPROTO_H */
