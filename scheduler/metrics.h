/*
 * metrics.h - the scheduler's state as a Prometheus text page (format
 * 0.0.4): per GPU memory, clients, mode, slice, grants, swaps; per client
 * and GPU memory, limits, GPU time, throttling, lock waits and holds; the
 * scheduler's own messages, errors and handling time. docs/operations.md
 * lists every metric.
 *
 * In two steps, so that the scheduling thread pays only for the first: a
 * snapshot (metrics_snap_take) copies the figures out of the registry and
 * the counters into plain arrays, in microseconds for a hundred clients;
 * rendering (metrics_snap_render) turns a snapshot into text, on any
 * thread, reading nothing else. Both are pure functions of their inputs
 * and the given time, so they are unit-tested with fixed inputs.
 */
#ifndef NVSHARE_METRICS_H
#define NVSHARE_METRICS_H

#include <stdint.h>

#include "metrics_counters.h"
#include "policy.h"
#include "proto.h"
#include "registry.h"
#include "status.h"

struct metrics_snap_gpu {
	char uuid[NVS_UUID_SIZE];
	uint64_t capacity, resident, swapped, committed; /* bytes */
	size_t running, waiting, idle;                   /* clients */
	enum policy_mode mode;
	int64_t slice_ns, max_run_ns;
	int metered;
	uint64_t grants, forced, evictions, evict_timeouts;
	uint64_t swaps[2], swap_bytes[2]; /* by enum policy_swap_dir */
	double bw[2];                     /* bytes per second, likewise */
};

struct metrics_snap_client {
	uint64_t id;
	int pid;
	unsigned uid;
	char comm[NVS_COMM_SIZE];
	char pod_namespace[NVS_POD_NAMESPACE_SIZE];
	char pod_name[NVS_POD_NAME_SIZE];
	char container[NVS_CONTAINER_SIZE];
	uint64_t memory_limit; /* 0: none */
	uint32_t core_pct;     /* 0: none */
};

/* One client on one GPU. */
struct metrics_snap_cg {
	size_t client, gpu; /* indexes into the arrays */
	enum policy_state state;
	int64_t wait_ns;                /* waiting: since how long */
	enum policy_wait_reason reason; /* waiting: why */
	uint64_t memory, resident, swapped;
	double effective; /* core share allowed now (0..1), if limited */
	int64_t gpu_ns;   /* GPU time billed */
	int64_t throttled_ns;
	uint64_t throttles, grants, swap_outs, swap_ins;
	struct metrics_hist_lock wait, hold;
};

struct metrics_snap {
	int managed;
	size_t nclients_connected;
	uint64_t messages[METRICS_MSG_TYPES];
	uint64_t protocol_errors, connections_refused, forced_releases;
	struct metrics_hist_event event;
	uint64_t host_swapped, host_budget;
	int64_t snapshot_ns; /* what the previous snapshot cost the loop */
	struct metrics_snap_gpu *gpus;
	size_t ngpus;
	struct metrics_snap_client *clients;
	size_t nclients;
	struct metrics_snap_cg *cgs;
	size_t ncgs;
};

/* Fills s (overwritten: free a previous one first) from r and mc at
 * monotonic time now. Returns 0, or -1 if memory ran out (free s all
 * the same). */
int metrics_snap_take(const struct sched_registry *r,
                      const struct metrics_counters *mc, int64_t now,
                      struct metrics_snap *s);
void metrics_snap_free(struct metrics_snap *s);

/* Appends the page of s to b. Returns 0, or -1 if memory ran out. */
int metrics_snap_render(const struct metrics_snap *s, struct status_buf *b);

/* Both steps at once (tests). */
int metrics_render(const struct sched_registry *r,
                   const struct metrics_counters *mc, int64_t now,
                   struct status_buf *b);

#endif /* NVSHARE_METRICS_H */
