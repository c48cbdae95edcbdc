/*
 * runtime.c - the process-local side of the simulated driver: cuInit's
 * work (configuration, shared state, process slot, trace file), the
 * thread-local context stack, contexts and streams, and the clock.
 *
 * Streams are looked up by handle in the process's list, so a stale or
 * foreign handle is refused rather than followed. Destroyed contexts and
 * their streams are kept allocated (only marked invalid) because other
 * threads may still hold them on their stacks; that leak is bounded by the
 * number of contexts a program destroys.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "fakecuda.h"
#include "log.h"
#include "sock.h"

struct fc_runtime fc_rt = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .trace_fd = -1,
};

/* Per-thread default stream of one context. */
struct fc_pts {
	struct fc_ctx *ctx;  /* the context */
	struct fc_stream *s; /* this thread's default stream in it */
};

static __thread struct fc_ctx *tl_stack[FC_CTX_STACK];
static __thread int tl_depth;
static __thread struct fc_pts tl_pts[FC_PTS_PER_THREAD];
static __thread int tl_npts;

int64_t fc_now(void)
{
	return nvs_now_ns();
}

void fc_sleep_until(int64_t t_ns)
{
	struct timespec ts = {.tv_sec = t_ns / 1000000000ll,
	                      .tv_nsec = t_ns % 1000000000ll};

	if (t_ns <= fc_now())
		return;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR) {
	}
}

int fc_ready(void)
{
	return __atomic_load_n(&fc_rt.ready, __ATOMIC_ACQUIRE);
}

/* --- cuInit --------------------------------------------------------------- */

static CUresult init_result = CUDA_ERROR_NOT_INITIALIZED;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void runtime_open_trace(void)
{
	if (!fc_rt.cfg.trace_path[0])
		return;
	fc_rt.trace_fd = open(fc_rt.cfg.trace_path,
	                      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fc_rt.trace_fd < 0)
		NVS_ERROR("msg=\"cannot open NVSHARE_FAKE_TRACE, tracing "
		          "off\" path=%s err=\"%s\"",
		          fc_rt.cfg.trace_path, strerror(errno));
}

static int runtime_attach(void)
{
	char comm[16] = "";
	int slot;

	prctl(PR_GET_NAME, comm, 0, 0, 0);
	fc_state_lock(fc_rt.st);
	slot = fc_proc_attach(fc_rt.st, getpid(), comm, fc_now());
	fc_state_unlock(fc_rt.st);
	if (slot < 0) {
		NVS_ERROR("msg=\"fakecuda state has no free process slot "
		          "(max %d live processes)\"",
		          FC_MAX_PROCS);
		return -1;
	}
	fc_rt.slot = slot;
	fc_rt.pid = getpid();
	return 0;
}

static void runtime_init_once(void)
{
	char err[256];

	nvs_log_init("fakecuda", NVS_LOG_WARN);
	if (fc_config_load(&fc_rt.cfg) < 0) {
		init_result = CUDA_ERROR_NO_DEVICE;
		return;
	}
	if (fc_state_open(fc_rt.cfg.state_path, &fc_rt.cfg, &fc_rt.st, err,
	                  sizeof(err)) < 0) {
		NVS_ERROR("msg=\"fakecuda: %s\"", err);
		init_result = CUDA_ERROR_NO_DEVICE;
		return;
	}
	if (runtime_attach() < 0) {
		init_result = CUDA_ERROR_UNKNOWN;
		return;
	}
	runtime_open_trace();
	init_result = CUDA_SUCCESS;
	__atomic_store_n(&fc_rt.ready, 1, __ATOMIC_RELEASE);
}

CUresult CUDAAPI cuInit(unsigned int flags)
{
	FC_FAULT(cuInit);
	if (flags != 0)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_once(&init_once, runtime_init_once);
	return init_result;
}

/* At exit (or unload) the process's memory goes back to the devices at
 * once; its counters stay for fakecuda-stat. */
__attribute__((destructor)) static void runtime_fini(void)
{
	if (!fc_ready() || getpid() != fc_rt.pid)
		return;
	fc_state_lock(fc_rt.st);
	fc_proc_release(fc_rt.st, fc_rt.slot);
	fc_state_unlock(fc_rt.st);
}

/* --- contexts ------------------------------------------------------------- */

CUresult fc_check_device(CUdevice dev)
{
	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (dev < 0 || dev >= fc_rt.cfg.ndev)
		return CUDA_ERROR_INVALID_DEVICE;
	return CUDA_SUCCESS;
}

int fc_ctx_valid(const struct fc_ctx *ctx)
{
	return ctx &&
	       __atomic_load_n(&ctx->magic, __ATOMIC_ACQUIRE) == FC_MAGIC_CTX;
}

struct fc_ctx *fc_ctx_current(void)
{
	return tl_depth ? tl_stack[tl_depth - 1] : NULL;
}

CUresult fc_require_ctx(struct fc_ctx **ctx)
{
	struct fc_ctx *c;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	c = fc_ctx_current();
	if (!fc_ctx_valid(c))
		return CUDA_ERROR_INVALID_CONTEXT;
	if (ctx)
		*ctx = c;
	return CUDA_SUCCESS;
}

int fc_ctx_stack_push(struct fc_ctx *ctx)
{
	if (tl_depth == FC_CTX_STACK)
		return -1;
	tl_stack[tl_depth++] = ctx;
	return 0;
}

struct fc_ctx *fc_ctx_stack_pop(void)
{
	return tl_depth ? tl_stack[--tl_depth] : NULL;
}

void fc_ctx_stack_set_top(struct fc_ctx *ctx)
{
	if (!ctx) {
		tl_depth = tl_depth ? tl_depth - 1 : 0;
		return;
	}
	if (tl_depth == 0)
		tl_depth = 1;
	tl_stack[tl_depth - 1] = ctx;
}

void fc_ctx_stack_forget(const struct fc_ctx *ctx)
{
	int j = 0;

	for (int i = 0; i < tl_depth; i++)
		if (tl_stack[i] != ctx)
			tl_stack[j++] = tl_stack[i];
	tl_depth = j;
}

struct fc_ctx *fc_ctx_new(int dev, int primary)
{
	struct fc_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->dev = dev;
	ctx->primary = primary;
	ctx->legacy = fc_stream_new(ctx, FC_STREAM_LEGACY, 1);
	if (!ctx->legacy) {
		free(ctx);
		return NULL;
	}
	ctx->next = fc_rt.ctxs;
	fc_rt.ctxs = ctx;
	__atomic_store_n(&ctx->magic, FC_MAGIC_CTX, __ATOMIC_RELEASE);
	return ctx;
}

/* --- streams -------------------------------------------------------------- */

struct fc_stream *fc_stream_new(struct fc_ctx *ctx, enum fc_stream_kind kind,
                                int blocking)
{
	struct fc_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ring = calloc(fc_rt.cfg.queue_depth, sizeof(*s->ring));
	if (!s->ring) {
		free(s);
		return NULL;
	}
	s->magic = FC_MAGIC_STREAM;
	s->kind = kind;
	s->blocking = blocking;
	s->ctx = ctx;
	s->next = fc_rt.streams;
	fc_rt.streams = s;
	return s;
}

/* Unlinks and frees a user stream; its pending work still counts for
 * cuCtxSynchronize through the context's retired tail. */
void fc_stream_free(struct fc_stream *s)
{
	struct fc_stream **pp;

	for (pp = &fc_rt.streams; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (s->tail_ns > s->ctx->retired_tail_ns)
		s->ctx->retired_tail_ns = s->tail_ns;
	fc_capture_drop(s);
	s->magic = 0;
	free(s->ring);
	free(s);
}

static struct fc_stream *runtime_find_stream(CUstream h)
{
	for (struct fc_stream *s = fc_rt.streams; s; s = s->next)
		if ((CUstream)s == h)
			return s->magic == FC_MAGIC_STREAM ? s : NULL;
	return NULL;
}

static CUresult runtime_per_thread(struct fc_ctx *ctx, struct fc_stream **out)
{
	int free_i = -1;

	for (int i = 0; i < tl_npts; i++) {
		if (tl_pts[i].ctx == ctx &&
		    tl_pts[i].s->magic == FC_MAGIC_STREAM) {
			*out = tl_pts[i].s;
			return CUDA_SUCCESS;
		}
		if (!fc_ctx_valid(tl_pts[i].ctx) && free_i < 0)
			free_i = i;
	}
	if (free_i < 0 && tl_npts == FC_PTS_PER_THREAD)
		return CUDA_ERROR_OUT_OF_MEMORY;
	if (free_i < 0)
		free_i = tl_npts++;
	tl_pts[free_i].ctx = ctx;
	tl_pts[free_i].s = fc_stream_new(ctx, FC_STREAM_PER_THREAD, 1);
	if (!tl_pts[free_i].s) {
		tl_pts[free_i].ctx = NULL;
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	*out = tl_pts[free_i].s;
	return CUDA_SUCCESS;
}

CUresult fc_stream_resolve(CUstream h, int ptsz, struct fc_stream **out)
{
	struct fc_ctx *ctx;
	CUresult r;

	if (h && h != NVS_CU_STREAM_LEGACY && h != NVS_CU_STREAM_PER_THREAD) {
		*out = runtime_find_stream(h);
		if (!*out)
			return CUDA_ERROR_INVALID_HANDLE;
		return fc_ctx_valid((*out)->ctx) ? CUDA_SUCCESS
		                                 : CUDA_ERROR_INVALID_CONTEXT;
	}
	r = fc_require_ctx(&ctx);
	if (r != CUDA_SUCCESS)
		return r;
	if (h == NVS_CU_STREAM_PER_THREAD || (!h && ptsz))
		return runtime_per_thread(ctx, out);
	*out = ctx->legacy;
	return CUDA_SUCCESS;
}
