/*
 * client.h - the link between this process and nvshare-scheduler.
 *
 * A background thread owns the socket: it registers the GPUs the process
 * uses, requests and returns their locks, drains work on DROP_LOCK and
 * releases idle locks early. If the scheduler is missing or goes away the
 * process runs unmanaged (every gate open) and the thread keeps trying to
 * reconnect; it never stops the application.
 */
#ifndef NVSHARE_LIB_CLIENT_H
#define NVSHARE_LIB_CLIENT_H

/* Starts the link thread if needed and waits (at most about 2 s) until the
 * first connection attempt has an outcome, so that a process starting under
 * a scheduler has its first kernel wait for the lock. */
void client_start(void);

/* Wakes the link thread (starting it on first use) so that it acts on the
 * devices' todo bits. Safe from any thread. */
void client_notify(void);

/* 1 while connected to a scheduler that manages this process. The caller
 * must hold gate_registry_mu (see gate.c) for the answer to stay true. */
int client_is_managed(void);

/* Tunables, read once from the environment (client.c). */
struct client_config {
	unsigned idle_release_ms; /* NVSHARE_IDLE_RELEASE_MS: idle time after
	                             which a held lock is returned */
	int single_oversub;       /* NVSHARE_SINGLE_OVERSUB: a process may
	                             allocate more than the GPU has */
	int swap_unified;         /* NVSHARE_SWAP=unified: cuMemAlloc gives
	                             Unified Memory, not remappable blocks */
	unsigned grant_wait_ms;   /* NVSHARE_GRANT_WAIT_MS: how long an
	                             allocation waits for room on the GPU */
};
const struct client_config *client_config(void);

#endif /* NVSHARE_LIB_CLIENT_H */
