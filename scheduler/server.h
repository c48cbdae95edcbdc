/*
 * server.h - the scheduler's event loop: one thread, one poll() over the
 * listening socket, a signalfd and every connection (conn.h).
 *
 * Input goes through each connection's struct nvs_reader and is handed,
 * message by message, to the lock protocol (lockproto.h) or the control
 * requests (control.h). A connection that fails is only marked dead while
 * events are handled and is torn down afterwards ("reaped"), so that
 * applying one decision never re-enters another. Policy deadlines decide
 * how long poll() may sleep.
 */
#ifndef NVSHARE_SERVER_H
#define NVSHARE_SERVER_H

#include "core.h"

/* How many connections it serves at once, and one uid's share of them:
 * conn_limit.h. */

/* Runs the scheduler until SIGTERM/SIGINT. Returns the exit status: 0 after
 * a clean shutdown, 1 if it could not start. */
int server_run(const struct sched_config *cfg);

#endif /* NVSHARE_SERVER_H */
