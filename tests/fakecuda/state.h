/*
 * state.h - the simulated GPUs' shared state: what all processes of a test
 * see alike, as one real machine's GPUs would be seen by all its processes.
 *
 * The state is one fixed-size struct in a file (NVSHARE_FAKE_STATE) that
 * every process maps MAP_SHARED; without the variable it is private
 * anonymous memory. A process-shared robust mutex guards it: a process that
 * dies holding it cannot wedge the others. It holds the devices (capacity,
 * memory in use, the compute timeline), one slot per process (its counters,
 * kept after it exits until the slot is reused) and every allocation, so
 * that one process's kernel can evict another process's managed memory
 * and so that a dead process's memory (of any kind) can be given back.
 */
#ifndef FAKECUDA_STATE_H
#define FAKECUDA_STATE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define FC_STATE_MAGIC 0x5443464eu /* "NFCT" in memory order */
#define FC_STATE_VERSION 2u
#define FC_MAX_PROCS 128
#define FC_MAX_ALLOCS 16384
#define FC_LOC_HOST (-1) /* residency / preferred location: host */
#define FC_LOC_NONE (-2) /* no preferred location */
#define FC_LOC_KEEP (-3) /* advice that leaves the location alone */
/* Hot paths look for dead processes at most this often. */
#define FC_REAP_INTERVAL_NS 20000000ll

/* One simulated GPU. */
struct fc_dev_state {
	char uuid[NVS_UUID_SIZE];  /* "GPU-..." */
	uint64_t capacity;         /* bytes of device memory */
	uint64_t device_used;      /* bytes of device (non-managed) memory */
	uint64_t resident_managed; /* bytes of managed memory resident here */
	int64_t busy_until_ns;     /* end of the compute timeline (monotonic) */
	uint64_t kernels;          /* kernels run, all processes */
};

/* One process's figures on one device. */
struct fc_proc_dev {
	uint64_t gpu_ns;           /* compute-timeline time of its kernels */
	uint64_t swap_ns;          /* part of gpu_ns spent faulting/evicting */
	uint64_t kernels;          /* kernels run */
	uint64_t device_bytes;     /* device memory allocated now (all) */
	uint64_t vmm_bytes;        /* of which cuMemCreate memory */
	uint64_t array_bytes;      /* of which arrays */
	uint64_t managed_bytes;    /* managed memory allocated now (home) */
	uint64_t resident_bytes;   /* of its managed memory, resident here */
	uint64_t swapped_in_bytes; /* moved in: faulted + prefetched */
	uint64_t faulted_bytes;    /* of which faulted in by kernels */
	uint64_t evicted_bytes;    /* moved out: evicted + prefetched to host */
	uint64_t prefetched_out_bytes; /* of which prefetched to host */
	uint64_t copies;               /* cuMemcpy* operations */
	uint64_t copy_bytes;           /* bytes they moved */
	uint64_t memsets;              /* cuMemset* operations */
	uint64_t prefetches;           /* cuMemPrefetchAsync* operations */
};

/* One process slot. */
struct fc_proc {
	int32_t pid;                            /* 0: never used */
	int32_t alive;                          /* 0 once seen exited */
	int64_t attach_ns;                      /* when it called cuInit */
	char comm[16];                          /* program name */
	struct fc_proc_dev dev[FC_MAX_DEVICES]; /* per-device figures */
};

/* What an allocation entry stands for. */
enum fc_alloc_kind {
	FC_ALLOC_DEVICE = 0, /* cuMemAlloc and friends: device memory at addr */
	FC_ALLOC_MANAGED = 1, /* cuMemAllocManaged: host-backed, may migrate */
	FC_ALLOC_VMM = 2,     /* cuMemCreate: physical memory, addr = handle */
	FC_ALLOC_ARRAY = 3,   /* a (mipmapped) array: addr = its handle */
	FC_ALLOC_MAPPING = 4, /* cuMemMap: a VMM allocation mapped at addr */
};

/* Access bits of a mapping: two per device (CU_MEM_ACCESS_FLAGS_PROT_*),
 * device d at bit 2d, the host after the devices. */
#define FC_ACCESS_SHIFT(d) (2u * (unsigned)(d))
#define FC_ACCESS_HOST FC_MAX_DEVICES

/* One allocation of some process. Device, VMM and array entries count
 * against their device (a VMM allocation of host memory does not); a
 * mapping counts nothing, it is where the VMM allocation's bytes can be
 * reached. */
struct fc_alloc {
	int32_t pid;         /* owner; 0: free entry */
	int16_t slot;        /* owner's process slot */
	int16_t home;        /* device it was allocated on (VMM: or host) */
	int16_t where;       /* managed: device it is resident on, or host */
	int16_t preferred;   /* managed: advised location, FC_LOC_NONE */
	uint8_t kind;        /* enum fc_alloc_kind */
	uint8_t released;    /* VMM: cuMemRelease called (handle dead) */
	uint16_t pad;        /* zero */
	uint32_t mark;       /* operation currently touching it (no evict) */
	uint32_t maps;       /* VMM: mappings of it now */
	uint64_t access;     /* mapping: FC_ACCESS_SHIFT bits per location */
	uint64_t addr;       /* address in the owner's address space, or the
	                        handle (VMM, array) */
	uint64_t size;       /* bytes counted (mapping: bytes mapped) */
	int64_t last_use_ns; /* last touch, for LRU eviction */
	uint64_t handle;     /* device: pool it came from (0: none); mapping:
	                        the VMM handle mapped */
};

/* The whole shared state (one file). */
struct fc_state {
	uint32_t magic;       /* FC_STATE_MAGIC once ready */
	uint32_t version;     /* FC_STATE_VERSION */
	uint64_t size;        /* sizeof(struct fc_state) */
	pthread_mutex_t lock; /* robust, process-shared */
	int32_t ndev;         /* devices */
	uint32_t nalloc;      /* entries in use: high mark */
	uint32_t mark_seq;    /* last touch mark handed out */
	uint32_t pad;         /* zero */
	int64_t last_reap_ns; /* last dead-process scan */
	struct fc_dev_state dev[FC_MAX_DEVICES]; /* the GPUs */
	struct fc_proc proc[FC_MAX_PROCS];       /* process slots */
	struct fc_alloc alloc[FC_MAX_ALLOCS];    /* allocations */
};

/* Maps the state: path NULL or "" gives private memory. A new or never
 * finished file is initialised from cfg under flock; an existing one must
 * carry the same layout and the same devices. Returns 0, or -1 with err. */
int fc_state_open(const char *path, const struct fc_config *cfg,
                  struct fc_state **out, char *err, size_t errlen);
/* Maps an existing state file for inspection (fakecuda-stat). */
int fc_state_open_existing(const char *path, struct fc_state **out, char *err,
                           size_t errlen);

void fc_state_lock(struct fc_state *st);
void fc_state_unlock(struct fc_state *st);

/* Takes a process slot for pid (state locked). Returns it or -1 if full. */
int fc_proc_attach(struct fc_state *st, pid_t pid, const char *comm,
                   int64_t now);
/* Frees every allocation of a slot and marks it exited (state locked). */
void fc_proc_release(struct fc_state *st, int slot);
/* Releases the slots of processes that died (state locked). With force 0
 * it does nothing if the last scan is under FC_REAP_INTERVAL_NS old. */
void fc_state_reap(struct fc_state *st, int64_t now, int force);
/* 1 if pid no longer runs (gone, or a zombie). */
int fc_pid_dead(pid_t pid);

/* Allocation table (state locked). fc_alloc_add returns the entry index or
 * -1 when the table is full; fc_alloc_find returns the index of pid's
 * device or managed allocation starting at addr, or -1;
 * fc_alloc_find_handle the index of pid's entry of that kind (VMM or
 * array) for a handle, or -1. */
int fc_alloc_add(struct fc_state *st, const struct fc_alloc *a);
int fc_alloc_find(const struct fc_state *st, pid_t pid, uint64_t addr);
int fc_alloc_find_handle(const struct fc_state *st, pid_t pid,
                         enum fc_alloc_kind kind, uint64_t handle);
/* Drops an entry, returning its bytes to the device and the owner. */
void fc_alloc_remove(struct fc_state *st, int idx);

#endif /* FAKECUDA_STATE_H */
