/*
 * metrics_counters.h - what the Prometheus page needs beyond the registry:
 * messages by type, protocol errors, refused connections, the time taken
 * to handle each message, per client and GPU the lock wait and hold time
 * histograms and the time spent throttled, per GPU the swaps and bytes
 * moved in each direction.
 *
 * Plain data, changed only on the scheduling thread by one-line hooks
 * where the event happens (server.c, conn.c, lockproto.c, compute.c) and
 * read by metrics.c when it renders a snapshot on that same thread: no
 * lock. A client's entries go when it leaves (metrics_client_gone), a
 * GPU's when the registry no longer has it (metrics_counters_gc), so the
 * page's series stay bounded by what is connected now.
 */
#ifndef NVSHARE_METRICS_COUNTERS_H
#define NVSHARE_METRICS_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct sched_registry;

/* Message types counted one by one; higher ones share the last slot. */
#define METRICS_MSG_TYPES 128

/* Upper bounds of the event-handling histogram, in ns (then +Inf). */
#define METRICS_EVENT_BUCKETS 12
/* Upper bounds of the lock wait and hold histograms, in ns (then +Inf). */
#define METRICS_LOCK_BUCKETS 8

extern const int64_t metrics_event_bounds_ns[METRICS_EVENT_BUCKETS];
extern const int64_t metrics_lock_bounds_ns[METRICS_LOCK_BUCKETS];

struct metrics_hist_event {
	uint64_t bucket[METRICS_EVENT_BUCKETS + 1]; /* not cumulative */
	uint64_t count;                             /* observations */
	int64_t sum_ns;                             /* their sum */
};

struct metrics_hist_lock {
	uint64_t bucket[METRICS_LOCK_BUCKETS + 1]; /* not cumulative */
	uint64_t count;                            /* observations */
	int64_t sum_ns;                            /* their sum */
};

/* One client on one GPU. */
struct metrics_client_gpu {
	char uuid[NVS_UUID_SIZE];      /* the GPU */
	struct metrics_hist_lock wait; /* queued until granted */
	struct metrics_hist_lock hold; /* granted until returned or revoked */
	int64_t granted_at_ns;         /* of the lock held now, or 0 */
	int throttled;                 /* paused by its quota now */
	int64_t throttled_since_ns;    /* since when (if throttled) */
	int64_t throttled_ns;          /* paused time of earlier pauses */
};

struct metrics_client {
	uint64_t id;                     /* the registry's client id */
	struct metrics_client_gpu *gpus; /* GPUs it had events on */
	size_t ngpus;                    /* entries used in gpus */
	size_t gpus_cap;                 /* entries allocated in gpus */
};

struct metrics_gpu {
	char uuid[NVS_UUID_SIZE]; /* the GPU */
	uint64_t swaps[2];        /* reports, by enum policy_swap_dir */
	uint64_t swap_bytes[2];   /* bytes they moved */
};

struct metrics_counters {
	uint64_t messages[METRICS_MSG_TYPES]; /* framed messages, by type */
	uint64_t protocol_errors;             /* peers cut for bad input */
	uint64_t connections_refused;         /* connections not served */
	struct metrics_hist_event event;      /* time to handle a message */
	int64_t last_snapshot_ns;             /* the last snapshot took this */
	struct metrics_client *clients;       /* by id, ascending */
	size_t nclients;                      /* entries used in clients */
	size_t clients_cap;                   /* entries allocated */
	struct metrics_gpu *gpus;             /* unordered */
	size_t ngpus;                         /* entries used in gpus */
	size_t gpus_cap;                      /* entries allocated */
};

/* The scheduler's one set (zero-initialised). */
extern struct metrics_counters metrics_global;

void metrics_counters_free(struct metrics_counters *mc);

/* Hooks. None fails: when memory runs out the event is not counted. */
void metrics_message(struct metrics_counters *mc, uint16_t type,
                     int64_t handling_ns);
void metrics_protocol_error(struct metrics_counters *mc);
void metrics_connection_refused(struct metrics_counters *mc);
/* client was granted the lock of GPU uuid after waiting waited_ns. */
void metrics_lock_granted(struct metrics_counters *mc, uint64_t client,
                          const char *uuid, int64_t waited_ns, int64_t now);
/* client's lock there ended (returned, or taken after the grace). */
void metrics_lock_ended(struct metrics_counters *mc, uint64_t client,
                        const char *uuid, int64_t now);
/* client reported moving bytes (dir: enum policy_swap_dir). */
void metrics_swapped(struct metrics_counters *mc, const char *uuid,
                     unsigned dir, uint64_t bytes);
/* client's quota paused (on 1) or let go (on 0) its launches there. */
void metrics_throttle(struct metrics_counters *mc, uint64_t client,
                      const char *uuid, int on, int64_t now);
void metrics_client_gone(struct metrics_counters *mc, uint64_t client);

/* Drops entries of clients and GPUs the registry no longer has. */
void metrics_counters_gc(struct metrics_counters *mc,
                         const struct sched_registry *r);

/* Lookups for rendering (NULL if nothing was recorded). */
const struct metrics_client_gpu *
metrics_client_gpu_of(const struct metrics_counters *mc, uint64_t client,
                      const char *uuid);
const struct metrics_gpu *metrics_gpu_of(const struct metrics_counters *mc,
                                         const char *uuid);
/* Time paused by its quota up to now. */
int64_t metrics_throttled_ns(const struct metrics_client_gpu *e, int64_t now);

#endif /* NVSHARE_METRICS_COUNTERS_H */
