/*
 * control.h - CTL_STATUS, CTL_SET and CTL_SET_CLIENT from nvsharectl. Any
 * connection may
 * send them (no HELLO needed); the peer's credentials decide whether they
 * are honoured (see perm.h), and every refusal is logged.
 */
#ifndef NVSHARE_CONTROL_H
#define NVSHARE_CONTROL_H

#include <stdint.h>

#include "conn.h"
#include "core.h"
#include "proto.h"

/* Handles one validated control message from c and queues the reply. */
void control_handle(struct sched_core *core, struct sched_conn *c,
                    const struct nvs_msg *m, int64_t now);

#endif /* NVSHARE_CONTROL_H */
