/*
 * fakecuda.h - the simulated driver's process-local runtime, shared by its
 * source files (never installed, never seen by applications).
 *
 * A process holds contexts, streams, events, modules and graphs here; the
 * GPUs themselves (memory, compute timeline, counters) live in the shared
 * state (state.h). Every operation is described by a struct fc_op so that
 * running it now and recording it during stream capture (and replaying it
 * from a graph later) are the same code path: fc_submit().
 *
 * Locking: fc_rt.lock guards everything process-local; the shared state's
 * robust mutex is taken inside it, never the other way round. Nothing
 * sleeps while holding either.
 */
#ifndef FAKECUDA_H
#define FAKECUDA_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

/* Every entry point of cuda_api.h is exported from the library; all else is
 * hidden (the library is built with -fvisibility=hidden). */
#define CUDAAPI __attribute__((visibility("default")))
#include "cuda_api.h"

#include "config.h"
#include "faults.h"
#include "memory.h"
#include "state.h"

#define FC_MAGIC_CTX 0x78746366u    /* "fctx" */
#define FC_MAGIC_STREAM 0x6d727366u /* "fsrm" */
#define FC_MAGIC_EVENT 0x74766566u  /* "fevt" */
#define FC_MAGIC_MODULE 0x646f6d66u /* "fmod" */
#define FC_MAGIC_FUNC 0x636e7566u   /* "func" */
#define FC_MAGIC_GRAPH 0x70726766u  /* "fgrp" */
#define FC_MAGIC_EXEC 0x63786566u   /* "fexc" */
#define FC_CTX_STACK 32             /* contexts a thread may push */

/* Results the real driver gives in capture corner cases that
 * common/cuda_api.h does not list (values as in NVIDIA's cuda.h). */
#define FC_ERROR_ILLEGAL_STATE ((CUresult)401)
#define FC_ERROR_STREAM_CAPTURE_IMPLICIT ((CUresult)906)
#define FC_ERROR_CAPTURED_EVENT ((CUresult)907)
#define FC_ERROR_STREAM_CAPTURE_WRONG_THREAD ((CUresult)908)
#define FC_PTS_PER_THREAD                                                      \
	8 /* per-thread default streams a thread                               \
	     may hold (one per context) */

struct fc_graph;

/* Granularity of VMM allocations and mappings (every location): 2 MiB, as
 * a real H100 reports for both MINIMUM and RECOMMENDED. */
#define FC_VMM_GRANULARITY (2ull << 20)

/* Physical memory from cuMemCreate whose handle is not yet released. Its
 * bytes live in a memfd; mappings map the memfd, so they keep the bytes
 * after the handle (and the fd) are gone. The accounting is in the shared
 * state (memory.h). */
struct fc_vmm_handle {
	uint64_t handle; /* CUmemGenericAllocationHandle handed out */
	int fd;          /* memfd holding the bytes */
	uint64_t size;   /* bytes */
	struct fc_vmm_handle *next; /* all live handles of the process */
};

/* An address range from cuMemAddressReserve: a PROT_NONE mapping over
 * which cuMemMap puts the memory mapped (and cuMemUnmap takes it off). */
struct fc_reservation {
	uint64_t addr;               /* start, as handed out */
	uint64_t size;               /* bytes, as asked for */
	struct fc_reservation *next; /* all reservations of the process */
};

/* A CUDA array or mipmapped array (no bytes behind it: copies to arrays
 * are not simulated); its size is charged in the shared state. Handles
 * are looked up in the list, so a stale one is refused. */
struct fc_array {
	int mipmapped;         /* 1: from cuMipmappedArrayCreate */
	int dev;               /* device charged */
	uint64_t bytes;        /* bytes charged */
	struct fc_array *next; /* all arrays of the process */
};

/* A memory pool: a device's default pool or one from cuMemPoolCreate.
 * Destroyed pools stay listed (marked) so a stale handle is refused. */
struct fc_pool {
	int dev;              /* device its allocations come from */
	int is_default;       /* 1: cuDeviceGetDefaultMemPool's */
	int destroyed;        /* 1: cuMemPoolDestroy called */
	uint64_t max_size;    /* CUmemPoolProps.maxSize; 0: no limit */
	struct fc_pool *next; /* all pools of the process */
};

/* A context: a device and the streams that belong to it. */
struct fc_ctx {
	uint32_t magic;           /* FC_MAGIC_CTX while valid */
	int dev;                  /* device ordinal */
	int primary;              /* 1: the device's primary context */
	int refs;                 /* primary: retain count */
	int64_t retired_tail_ns;  /* latest end of work on destroyed streams */
	struct fc_stream *legacy; /* the legacy default (NULL) stream */
	struct fc_ctx *next;      /* all contexts of the process */
};

enum fc_stream_kind {
	FC_STREAM_USER = 0,       /* cuStreamCreate */
	FC_STREAM_LEGACY = 1,     /* NULL / CU_STREAM_LEGACY */
	FC_STREAM_PER_THREAD = 2, /* CU_STREAM_PER_THREAD / _ptsz NULL */
};

/* A stream: an ordered queue of operations on one context's device. */
struct fc_stream {
	uint32_t magic;             /* FC_MAGIC_STREAM while valid */
	enum fc_stream_kind kind;   /* what made it */
	int blocking;               /* 1: orders with the legacy stream */
	struct fc_ctx *ctx;         /* owning context */
	int64_t tail_ns;            /* when its last operation completes */
	int64_t *ring;              /* ends of unfinished ops (FIFO) */
	uint32_t ring_head;         /* index of the oldest */
	uint32_t ring_count;        /* entries in use (<= queue depth) */
	int cap_status;             /* CU_STREAM_CAPTURE_STATUS_* */
	int cap_mode;               /* CU_STREAM_CAPTURE_MODE_* */
	pthread_t cap_thread;       /* thread that began the capture */
	struct fc_graph *cap_graph; /* operations recorded so far */
	struct fc_stream *next;     /* all streams of the process */
};

/* An event: a point in a stream's timeline. */
struct fc_event {
	uint32_t magic;                /* FC_MAGIC_EVENT while valid */
	unsigned int flags;            /* CU_EVENT_* */
	int recorded;                  /* 1 once recorded outside capture */
	int64_t time_ns;               /* when the recorded work completes */
	struct fc_stream *captured_on; /* stream capturing its record */
};

/* A loaded module; functions point to it. */
struct fc_module {
	uint32_t magic; /* FC_MAGIC_MODULE while loaded */
	char *ptx;      /* copy of a PTX image (to check names), or NULL */
};

/* A kernel handle from cuModuleGetFunction. */
struct fc_function {
	uint32_t magic;        /* FC_MAGIC_FUNC */
	struct fc_module *mod; /* its module (checked for being loaded) */
	int spin;              /* 1: the "spin" kernel (timed by params) */
	int work;              /* 1: the "work" kernel (FC_WORK_NS_PER_ITER
	                          per iteration of its first parameter) */
	char name[128];        /* kernel name */
};

enum fc_op_kind {
	FC_OP_KERNEL = 0,   /* compute timeline */
	FC_OP_COPY = 1,     /* copy engine */
	FC_OP_MEMSET = 2,   /* copy engine */
	FC_OP_PREFETCH = 3, /* copy engine, changes residency */
	FC_OP_EVENT = 4,    /* event record */
};

/* Bytes to move or set when an operation runs (copies and memsets): a
 * rectangle of height rows of width bytes (1D: height 1). */
struct fc_xfer {
	void *dst;         /* destination of row 0 */
	const void *src;   /* source of row 0 (copies) */
	size_t width;      /* bytes per row */
	size_t height;     /* rows */
	size_t dpitch;     /* destination row stride */
	size_t spitch;     /* source row stride (copies) */
	uint32_t value;    /* memset value */
	unsigned int elem; /* memset element size: 1, 2 or 4; 0 for copies */
};

/* One operation, run now or recorded into a graph. */
struct fc_op {
	enum fc_op_kind kind;   /* what it is */
	uint64_t ns;            /* kernel: compute time */
	uint64_t addr;          /* kernel: touched range; prefetch: range */
	uint64_t len;           /* length of that range */
	int loc;                /* prefetch: target device or FC_LOC_HOST */
	uint64_t bytes;         /* copy/memset: bytes (for time and stats) */
	struct fc_xfer xfer;    /* copy/memset: what to do with the bytes */
	struct fc_event *event; /* event record: the event */
};

/* A captured graph (CUgraph) or an instantiated one (CUgraphExec). */
struct fc_graph {
	uint32_t magic;    /* FC_MAGIC_GRAPH or FC_MAGIC_EXEC */
	int nops;          /* operations recorded */
	int cap;           /* room in ops */
	struct fc_op *ops; /* in capture order */
};

/* Everything process-local. */
struct fc_runtime {
	pthread_mutex_t lock;                   /* guards the fields below */
	int ready;                              /* cuInit succeeded (atomic) */
	struct fc_config cfg;                   /* parsed environment */
	struct fc_state *st;                    /* shared state */
	int slot;                               /* our process slot */
	pid_t pid;                              /* our pid at cuInit */
	int trace_fd;                           /* trace file or -1 */
	struct fc_ctx *primary[FC_MAX_DEVICES]; /* primary contexts */
	struct fc_ctx *ctxs;                    /* all contexts */
	struct fc_stream *streams;              /* all live streams */
	int captures;                           /* streams capturing now */
	struct fc_vmm_handle *vmm;              /* live VMM handles */
	uint64_t vmm_seq;                       /* last VMM handle number */
	struct fc_reservation *reservations;    /* reserved address ranges */
	int nreservations;                      /* entries (read unlocked) */
	struct fc_array *arrays;                /* live arrays */
	struct fc_pool *pools;                  /* every pool handed out */
	struct fc_pool *default_pool[FC_MAX_DEVICES]; /* per device */
};

extern struct fc_runtime fc_rt;

/* --- runtime.c ------------------------------------------------------------ */
int fc_ready(void);
/* NOT_INITIALIZED, or INVALID_CONTEXT without a valid current context;
 * else SUCCESS and *ctx (may be NULL) set. Takes no lock. */
CUresult fc_require_ctx(struct fc_ctx **ctx);
CUresult fc_check_device(CUdevice dev);
struct fc_ctx *fc_ctx_current(void);
int fc_ctx_valid(const struct fc_ctx *ctx);
/* Thread-local context stack. */
int fc_ctx_stack_push(struct fc_ctx *ctx);
struct fc_ctx *fc_ctx_stack_pop(void);
void fc_ctx_stack_set_top(struct fc_ctx *ctx);
void fc_ctx_stack_forget(const struct fc_ctx *ctx);
/* rt locked: new context / stream (NULL when out of memory). */
struct fc_ctx *fc_ctx_new(int dev, int primary);
struct fc_stream *fc_stream_new(struct fc_ctx *ctx, enum fc_stream_kind kind,
                                int blocking);
void fc_stream_free(struct fc_stream *s);
/* rt locked: handle -> stream, following the legacy / per-thread rules
 * (ptsz: NULL means the per-thread default stream). */
CUresult fc_stream_resolve(CUstream h, int ptsz, struct fc_stream **out);
int64_t fc_now(void);
void fc_sleep_until(int64_t t_ns);

/* --- timeline.c ----------------------------------------------------------- */
/* Runs or records op on the stream h (rt and state unlocked on entry).
 * sync: a synchronous call, which waits for completion (and so cannot be
 * issued to a capturing stream). */
CUresult fc_submit(CUstream h, int ptsz, const struct fc_op *op, int sync);
/* rt locked: the time before which nothing new on s may start. */
int64_t fc_stream_bound(const struct fc_stream *s);
/* rt locked: latest completion of every stream of ctx. */
int64_t fc_ctx_tail(const struct fc_ctx *ctx);
void fc_xfer_run(const struct fc_xfer *x);

/* Host ranges that are views of a memfd (fdrange.c). */
enum fc_fdrange_kind {
	FC_FDRANGE_VMM = 1,        /* a cuMemMap mapping */
	FC_FDRANGE_HOST = 2,       /* cuMemHostAlloc memory */
	FC_FDRANGE_REGISTERED = 3, /* cuMemHostRegister memory */
};
/* Copies from here up are sparse when both sides are views. */
#define FC_SPARSE_MIN (1u << 20)
/* Records [addr, addr + len) as a view of fd (duplicated). 0 or -1. */
int fc_fdrange_add(uint64_t addr, uint64_t len, int fd, int kind);
/* Forgets the views of kind that start in [addr, addr + len); returns how
 * many, with the length of (the last) one in *found if not NULL. */
int fc_fdrange_remove(uint64_t addr, uint64_t len, int kind, uint64_t *found);
/* 1 if [addr, addr + len) overlaps a view. */
int fc_fdrange_overlaps(uint64_t addr, uint64_t len);
/* Writes the pages of [addr, addr + len) that hold bytes (present or
 * swapped out, per /proc/self/pagemap) into fd at their offsets; pages
 * never touched are left as holes. 0, or -1 on an I/O error. */
int fc_copy_present_pages(int fd, uint64_t addr, uint64_t len);
/* 1 if a copy reads or writes page-locked host memory. */
int fc_fdrange_pinned(const struct fc_xfer *x);
/* Copies n bytes between two views (dst and src each inside one), moving
 * only the source's data and punching holes for the rest. Returns 1 if it
 * did, 0 if the copy is not such a copy (small, or not between views). */
int fc_xfer_sparse(void *dst, const void *src, size_t n);
/* Appends one trace line now (for work outside any stream). */
void fc_trace_write(int dev, int64_t start, int64_t end, const char *kind);

/* --- capture.c ------------------------------------------------------------ */
/* rt locked. A call that synchronizes with or queries target (a stream, or
 * NULL), or a whole context (ctx, or NULL), or that is one of the calls the
 * capture modes restrict (unsafe), checks here whether that breaks a
 * capture. Returns SUCCESS, or after invalidating the captures it breaks:
 * FC_ERROR_STREAM_CAPTURE_IMPLICIT for a use of the legacy stream while a
 * blocking stream of its context captures, else
 * CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED. */
CUresult fc_capture_guard(const struct fc_stream *target,
                          const struct fc_ctx *ctx, int unsafe);
/* rt locked: an operation that cannot be captured was issued to the
 * capturing stream s: invalidates the capture, returns UNSUPPORTED. */
CUresult fc_capture_refuse(struct fc_stream *s);
/* A restricted ("unsafe") call, from outside any lock. */
CUresult fc_capture_check_unsafe(void);
CUresult fc_capture_record(struct fc_stream *s, const struct fc_op *op);
struct fc_graph *fc_graph_new(uint32_t magic);
void fc_graph_free(struct fc_graph *g);
int fc_graph_append(struct fc_graph *g, const struct fc_op *op);
/* rt locked: leaves capture mode, handing over the recorded graph. */
struct fc_graph *fc_capture_end(struct fc_stream *s);
/* rt locked: leaves capture mode, discarding what was recorded. */
void fc_capture_drop(struct fc_stream *s);

/* --- api_memory.c --------------------------------------------------------- */
/* Adds memory to the shared state (called with it locked; m collects the
 * evictions the addition forces). */
typedef enum fc_mem_result (*fc_mem_add_fn)(struct fc_state *st, int64_t now,
                                            struct fc_move *m, void *arg);
/* Runs add under the state lock, once more after reaping dead processes
 * if it found no room, and puts the time of the evictions it forced on
 * dev's compute timeline (dev < 0: none). */
enum fc_mem_result fc_mem_record(int dev, fc_mem_add_fn add, void *arg);

/* --- api_vmm.c ------------------------------------------------------------ */
/* 1 if a host-side access of need (FC_NEED_*) to [p, p+len) is safe as far
 * as VMM goes: the range touches no reservation, or lies in mapped memory
 * that grants it. Copies check their unchecked sides with it, so that a
 * host pointer into reserved memory fails instead of faulting. */
int fc_vmm_access_ok(uint64_t p, uint64_t len, unsigned need);

/* --- api_pool.c ----------------------------------------------------------- */
/* rt locked: the valid (not destroyed) pool behind a handle, or NULL. */
struct fc_pool *fc_pool_find(CUmemoryPool h);

/* --- errors (api_device.c) ------------------------------------------------ */
const char *fc_error_name(CUresult r);

#endif /* FAKECUDA_H */
