/*
 * mailbox.h - what the application's threads and the scheduler link
 * thread (client.c) share, so that the layers below the link (the gate,
 * memory accounting, grants, blocks) need not call into it: whether the
 * process is managed now, the doorbell that wakes the link thread (the
 * work itself is in each device's todo bits, gate.h), and the first
 * connection's start.
 */
#ifndef NVSHARE_LIB_MAILBOX_H
#define NVSHARE_LIB_MAILBOX_H

/* 1 while connected to a scheduler that manages this process. It may
 * change at any moment; a caller that needs it to stay true holds
 * gate_registry_mu (gate.h), which the link thread takes to change it. */
int mailbox_managed(void);

/* The link thread's side: sets what mailbox_managed() answers. */
void mailbox_set_managed(int managed);

/* Starts the link thread if needed and waits (about 2 s at most) until
 * the first connection attempt has an outcome, so that a process starting
 * under a scheduler has its first kernel wait for the lock. */
void mailbox_start(void);

/* Wakes the link thread (starting it on first use) so that it acts on the
 * devices' todo bits. Safe from any thread. */
void mailbox_notify(void);

/* The link (client.c) registers how to start and wake it, when the
 * library is loaded; before that both do nothing. */
void mailbox_connect(void (*start)(void), void (*notify)(void));

#endif /* NVSHARE_LIB_MAILBOX_H */
