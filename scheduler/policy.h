/*
 * policy.h - the scheduling decisions for one GPU, as pure functions.
 *
 * A struct policy_gpu holds the lock state of one GPU: who may submit work
 * now (the "running" set), who waits (a FIFO queue), the time slice and the
 * release grace period. Every entry point takes the current time and
 * appends to a struct policy_out the actions the caller must carry out:
 * grant the lock (LOCK_OK), ask for it back (DROP_LOCK), or take it away
 * from a holder that did not answer in time. Nothing here touches a socket,
 * a clock, a thread or a log, so every transition can be unit-tested with
 * exact times.
 *
 * The running set is an array so that memory-aware admission (several
 * clients running together when their memory fits) only needs a different
 * admission rule; today the rule is exclusive: at most one holder.
 */
#ifndef NVSHARE_POLICY_H
#define NVSHARE_POLICY_H

#include <stddef.h>
#include <stdint.h>

/* "No deadline": nothing will change on this GPU until an event comes. */
#define POLICY_NO_DEADLINE INT64_MAX
/* drop_sent_at_ns of a holder that has not been asked to release. */
#define POLICY_NEVER INT64_MIN
/* Room for actions in one call: a call yields at most a revoke, a grant
 * and a drop today; an out that fills up is continued by the next tick. */
#define POLICY_OUT_MAX 8

enum policy_kind {
	POLICY_GRANT = 1,   /* send LOCK_OK: the client now holds the lock */
	POLICY_CONFIRM = 2, /* send LOCK_OK again: a holder asked again */
	POLICY_DROP = 3,    /* send DROP_LOCK: slice over and someone waits */
	POLICY_REVOKE = 4,  /* the holder ignored DROP_LOCK past the grace */
};

struct policy_action {
	enum policy_kind kind; /* what to do */
	uint64_t client;       /* whom it concerns */
	int64_t span_ns;       /* GRANT: time waited; others: time held */
};

struct policy_out {
	struct policy_action act[POLICY_OUT_MAX]; /* in the order to apply */
	unsigned n;                               /* actions used */
};

struct policy_holder {
	uint64_t client;         /* the client allowed to submit work */
	int64_t granted_at_ns;   /* when it was granted the lock */
	int64_t drop_sent_at_ns; /* when DROP_LOCK went out, or POLICY_NEVER */
};

struct policy_waiter {
	uint64_t client;  /* the client waiting for the lock */
	int64_t since_ns; /* when it joined the queue */
};

struct policy_gpu {
	struct policy_holder *running; /* holders (exclusive: at most one) */
	size_t nrunning;               /* entries used in running */
	size_t running_cap;            /* entries allocated in running */
	struct policy_waiter *queue;   /* waiters, oldest first */
	size_t nqueue;                 /* entries used in queue */
	size_t queue_cap;              /* entries allocated in queue */
	int64_t slice_ns;              /* held this long, a holder is asked */
	int64_t grace_ns;              /* time to answer DROP_LOCK */
	uint64_t lock_grants;          /* GRANT actions so far */
	uint64_t forced_releases;      /* REVOKE actions so far */
};

enum policy_state {
	POLICY_IDLE = 0,    /* neither holding nor waiting */
	POLICY_HOLDING = 1, /* in the running set */
	POLICY_WAITING = 2, /* in the queue */
};

/* Sets up an empty GPU. slice_ns and grace_ns must be positive. */
void policy_gpu_init(struct policy_gpu *g, int64_t slice_ns, int64_t grace_ns);
void policy_gpu_destroy(struct policy_gpu *g);

/* Changes the slice and the grace. They apply at once, to the current
 * holder too: call policy_tick() afterwards to get the resulting actions. */
void policy_set_times(struct policy_gpu *g, int64_t slice_ns, int64_t grace_ns);

/* client asks for the lock. A holder gets CONFIRM, a waiter keeps its
 * place, anyone else joins the queue (and is granted at once if the lock
 * is free). Returns 0, or -1 if memory ran out (nothing changed). */
int policy_request(struct policy_gpu *g, uint64_t client, int64_t now,
                   struct policy_out *out);

/* client returns the lock. Returns 1 if it held it (the next waiter is
 * granted at once), 0 if it did not (stale release: ignored). */
int policy_release(struct policy_gpu *g, uint64_t client, int64_t now,
                   struct policy_out *out);

/* client is gone: it loses the lock and its place in the queue. */
void policy_disconnect(struct policy_gpu *g, uint64_t client, int64_t now,
                       struct policy_out *out);

/* Acts on the passage of time (drops, forced releases, grants) and returns
 * the next time something may happen without an event, or
 * POLICY_NO_DEADLINE. */
int64_t policy_tick(struct policy_gpu *g, int64_t now, struct policy_out *out);

/* The deadline policy_tick() would return, without acting. */
int64_t policy_next_deadline(const struct policy_gpu *g);

/* Forgets every holder and waiter without actions (scheduling turned off). */
void policy_clear(struct policy_gpu *g);

/* Where client stands; *since_ns gets when it was granted or queued
 * (0 when idle). */
enum policy_state policy_state_of(const struct policy_gpu *g, uint64_t client,
                                  int64_t *since_ns);

/* Name of an action kind, for logs and tests ("GRANT"). */
const char *policy_kind_name(enum policy_kind kind);

#endif /* NVSHARE_POLICY_H */
