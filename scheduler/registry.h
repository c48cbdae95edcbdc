/*
 * registry.h - what the scheduler knows: GPU contexts by UUID, connected
 * clients by id, and the settings that apply to all of them.
 *
 * This is plain data with lookup helpers and no I/O, shared by the event
 * loop (which changes it) and the status renderer (which reads it). GPU
 * contexts live as long as the scheduler so that their counters survive
 * clients coming and going. Contexts exist only for the node's GPUs
 * (gpu_inventory.h), so the table cannot be filled with made-up UUIDs;
 * should it be full, contexts that no client uses are dropped.
 */
#ifndef NVSHARE_REGISTRY_H
#define NVSHARE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "billing.h"
#include "cgroup_pod.h"
#include "pod_table.h"
#include "policy.h"
#include "proto.h"
#include "quota.h"

#define REGISTRY_MAX_GPUS 256       /* GPU contexts kept at once */
#define REGISTRY_CLIENT_MAX_GPUS 64 /* GPUs one client may register */
/* time_slice_ms: derive it from the swap cost */
#define REGISTRY_SLICE_AUTO NVS_TIME_SLICE_AUTO
#define REGISTRY_DEFAULT_MAX_RUN_MS 30000 /* see docs/scheduler.md */

struct sched_gpu {
	char uuid[NVS_UUID_SIZE]; /* "GPU-..." as the driver names it */
	uint64_t capacity_bytes;  /* memory to honour (override or reported) */
	unsigned nclients;        /* clients that registered it now */
	struct policy_gpu policy; /* lock state: running, queue, memory,
	                             counters */
	struct bill_gpu bill;     /* compute quotas (compute.c); window_ns 0
	                             until its first client */
	int metered;              /* someone here has a core limit */
};

/* The client's memory on the GPU (MEM_UPDATE, swaps) is policy state:
 * see policy_member_of(). */
struct sched_client_gpu {
	struct sched_gpu *gpu; /* the GPU this entry is about */
	uint64_t lock_grants;  /* times the client was granted this GPU */
	int meter_sent;        /* what it was last told about metering */
	uint64_t throttles;    /* times it was throttled */
	uint64_t mem_seq;      /* seq of its last MEM_UPDATE there */
	uint64_t warned_grant; /* lock_grants when last sent PREPARE_SWAP */
	int unbilled;          /* no billing entry (table or uid share full):
	                          held throttled while it has a core limit */
};

struct sched_conn; /* the connection (conn.h) */

struct sched_client {
	uint64_t id;              /* scheduler-assigned, from 1, never reused */
	pid_t pid;                /* SO_PEERCRED pid (authoritative) */
	uid_t uid;                /* SO_PEERCRED uid */
	gid_t gid;                /* SO_PEERCRED gid */
	int64_t connected_ns;     /* monotonic time of HELLO */
	char comm[NVS_COMM_SIZE]; /* program name (HELLO, else /proc) */
	/* Its pod: the namespace and name the watch cache gives for the
	 * kernel's pod UID (pod_verified 1), else those it declared in HELLO
	 * ("" outside a pod); container name ("" if unknown). */
	char pod_namespace[NVS_POD_NAMESPACE_SIZE];
	char pod_name[NVS_POD_NAME_SIZE];
	char container[NVS_CONTAINER_SIZE];
	/* The kernel's word (its cgroup at connect, peer_identity.h): its
	 * pod's UID, "" if in none or unknown; pod_verified: the pod above
	 * is the one the kernel puts it in (limits set for a pod need it). */
	char pod_uid[CGROUP_POD_UID_SIZE];
	int pod_verified;
	/* What it declared, when that contradicts the kernel's pod (shown in
	 * status, never used): "" otherwise. */
	char claimed_namespace[NVS_POD_NAMESPACE_SIZE];
	char claimed_name[NVS_POD_NAME_SIZE];
	enum quota_origin memory_origin; /* where limits.memory_bytes and */
	enum quota_origin core_origin;   /* limits.core_pct came from */
	int pod_memory_shared; /* its memory limit is its pod's, less what
	                          the pod's other processes hold */
	struct sched_client_gpu gpus[REGISTRY_CLIENT_MAX_GPUS]; /* registered */
	size_t ngpus;             /* entries used in gpus */
	struct sched_conn *conn;  /* where to send its messages */
	struct nvs_limits own;    /* limits it started with (first LIMITS) */
	int has_own;              /* LIMITS received */
	struct quota_pod set;     /* set live for this very client (only the
	                              has_ and value fields are used) */
	struct nvs_limits limits; /* in force: last sent or confirmed */
	int refused;              /* a GPU it named is not this node's: told
	                             to run unmanaged, kept so (lockproto.c) */
	int64_t ignored_since_ns; /* start of its window of ignored reports */
	uint32_t ignored;         /* reports ignored in that window */
};

/* Most clients warned of a planned swap per GPU and turn. */
#define REGISTRY_WARN_MAX 16

struct sched_registry {
	struct sched_gpu *gpus[REGISTRY_MAX_GPUS]; /* contexts, by arrival */
	size_t ngpus;                              /* entries used in gpus */
	struct sched_client **clients; /* connected clients, by id */
	size_t nclients;               /* entries used in clients */
	size_t clients_cap;            /* entries allocated in clients */
	uint64_t next_client_id;       /* id the next HELLO gets */
	int managed;                   /* 1: gate work; 0: run ungated */
	enum policy_mode mode;         /* mode of every GPU */
	uint32_t time_slice_ms;        /* fixed slice, or REGISTRY_SLICE_AUTO */
	uint32_t max_run_ms;           /* longest slice, whatever the setting */
	uint32_t release_grace_ms;     /* current release grace */
	uint64_t forced_releases;      /* total, all GPUs, ever */
	uint64_t host_swap_budget;     /* memory swapped out to the host, all
	                                  GPUs together, at most; 0: none */
	struct quota_table pods;       /* limits set per pod */
	struct pod_table kube_pods;    /* the node's pods (Kubernetes) */
};

/* Mode auto and max_run REGISTRY_DEFAULT_MAX_RUN_MS until changed. */
void registry_init(struct sched_registry *r, uint32_t time_slice_ms,
                   uint32_t release_grace_ms);

/* The policy settings the registry's fields describe. */
void registry_policy_settings(const struct sched_registry *r,
                              struct policy_settings *s);
void registry_destroy(struct sched_registry *r);

/* Memory of every GPU's clients on the host now, and what the host swap
 * budget has left (UINT64_MAX without a budget). */
uint64_t registry_host_bytes(const struct sched_registry *r);
uint64_t registry_host_room(const struct sched_registry *r);

/* The context of uuid, matched without regard to case. */
struct sched_gpu *registry_gpu_find(struct sched_registry *r, const char *uuid);
/* Creates a context with the current settings. When the table is full,
 * contexts without clients are dropped first. Returns NULL if it is still
 * full or memory ran out. */
struct sched_gpu *registry_gpu_add(struct sched_registry *r, const char *uuid,
                                   uint64_t capacity_bytes);

/* Adds a client with the next id (fields zeroed). NULL if out of memory. */
struct sched_client *registry_client_new(struct sched_registry *r);
struct sched_client *registry_client_find(struct sched_registry *r,
                                          uint64_t id);
/* Removes and frees a client (its GPU entries are released; the caller has
 * already told the policy). */
void registry_client_remove(struct sched_registry *r, struct sched_client *c);

/* The client's entry for gpu, or NULL. */
struct sched_client_gpu *registry_client_gpu(struct sched_client *c,
                                             const struct sched_gpu *gpu);
/* Registers gpu for the client (idempotent). NULL if it has too many. */
struct sched_client_gpu *registry_client_attach(struct sched_client *c,
                                                struct sched_gpu *gpu);

/* Copies s into out (size n) with bytes other than printable, non-space
 * ASCII, and quotes and backslashes, replaced by '?', and "" shown as "-":
 * safe inside a log line (even within reason="...") or a table cell.
 * Returns out. */
char *registry_printable(const char *s, char *out, size_t n);

#endif /* NVSHARE_REGISTRY_H */
