/*
 * context_hooks.c - driver calls that change what the gate must know:
 * destroyed contexts (they leave the drain list and the per-thread caches),
 * primary contexts released or reset (their events go)
 * and stream captures (while one runs, nvshare must not synchronize the
 * context: the driver would invalidate the capture, in any capture mode).
 */
#include "driver.h"
#include "gate.h"
#include "log.h"
#include "mem.h"
#include "remap.h"

NVS_EXPORT CUresult cuCtxDestroy_v2(CUcontext ctx)
{
	CUresult r;

	driver_ensure();
	if (!nvs_real_cuCtxDestroy_v2)
		return CUDA_ERROR_NOT_INITIALIZED;
	/* Exclusive: the link thread may be draining this very context. */
	pthread_rwlock_wrlock(&gate_ctx_lock);
	r = nvs_real_cuCtxDestroy_v2(ctx);
	if (r == CUDA_SUCCESS)
		gate_forget_context(ctx);
	pthread_rwlock_unlock(&gate_ctx_lock);
	return r;
}

/* After a reset the device's blocks and charges go with its context. */
static void forget_primary(int dev, int reset)
{
	struct gate_dev *d = gate_forget_primary(dev);

	if (d && reset) {
		remap_forget_device(d);
		mem_forget_device(d);
	}
}

/* The primary context goes when its last reference is released, or at a
 * reset (cudaDeviceReset): the meter must not query its events after. We
 * cannot tell which recorded context was the primary, so the device's
 * streams' latest checkpoints are forgotten either way (the next ones
 * replace them). A reset also frees every allocation on the device. */
#define NVS_PRIMARY_GOES(name, resets)                                         \
	NVS_EXPORT CUresult name(CUdevice dev)                                 \
	{                                                                      \
		CUresult r;                                                    \
		driver_ensure();                                               \
		if (!nvs_real_##name)                                          \
			return CUDA_ERROR_NOT_INITIALIZED;                     \
		pthread_rwlock_wrlock(&gate_ctx_lock);                         \
		r = nvs_real_##name(dev);                                      \
		if (r == CUDA_SUCCESS)                                         \
			forget_primary((int)dev, (resets));                    \
		pthread_rwlock_unlock(&gate_ctx_lock);                         \
		NVS_DEBUG("event=primary_context_gone device=%d reset=%d "     \
		          "rc=%d",                                             \
		          (int)dev, (resets), (int)r);                         \
		return r;                                                      \
	}
/* Both ABIs: the CUDA 13 runtime still asks for the 7.0 ones. */
NVS_PRIMARY_GOES(cuDevicePrimaryCtxRelease, 0)
NVS_PRIMARY_GOES(cuDevicePrimaryCtxRelease_v2, 0)
NVS_PRIMARY_GOES(cuDevicePrimaryCtxReset, 1)
NVS_PRIMARY_GOES(cuDevicePrimaryCtxReset_v2, 1)

/* Streams now capturing. cuStreamEndCapture does not say whether the
 * capture was one we counted, so captures are kept by stream; the
 * per-thread default stream is a different stream in every thread, so it is
 * keyed by thread too. */
#define MAX_CAPTURES 4096

struct capture_key {
	CUstream stream; /* as passed, NULL and CU_STREAM_PER_THREAD mapped */
	pthread_t owner; /* the thread, for per-thread default streams */
	int per_thread;  /* owner is meaningful */
};

static struct capture_key captures[MAX_CAPTURES];
static int ncaptures;
static pthread_mutex_t captures_mu = PTHREAD_MUTEX_INITIALIZER;

static struct capture_key key_of(CUstream s, int ptsz)
{
	struct capture_key k = {.stream = s};

	if ((s == NULL && ptsz) || s == NVS_CU_STREAM_PER_THREAD) {
		k.stream = NVS_CU_STREAM_PER_THREAD;
		k.owner = pthread_self();
		k.per_thread = 1;
	}
	return k;
}

static int same_key(const struct capture_key *a, const struct capture_key *b)
{
	return a->stream == b->stream && a->per_thread == b->per_thread &&
	       (!a->per_thread || pthread_equal(a->owner, b->owner));
}

/* Counts a capture about to begin. Returns 0, or -1 if the table is full
 * (the capture then goes uncounted, and a drain might invalidate it). */
static int capture_began(struct capture_key k)
{
	int ok = 0;

	pthread_mutex_lock(&captures_mu);
	if (ncaptures < MAX_CAPTURES) {
		captures[ncaptures++] = k;
		atomic_fetch_add(&ctx_captures, 1);
	} else {
		ok = -1;
	}
	pthread_mutex_unlock(&captures_mu);
	if (ok)
		NVS_WARN("event=too_many_captures max=%d", MAX_CAPTURES);
	return ok;
}

static void capture_ended(struct capture_key k)
{
	pthread_mutex_lock(&captures_mu);
	for (int i = 0; i < ncaptures; i++) {
		if (same_key(&captures[i], &k)) {
			captures[i] = captures[--ncaptures];
			atomic_fetch_sub(&ctx_captures, 1);
			break;
		}
	}
	pthread_mutex_unlock(&captures_mu);
}

/* Beginning a capture passes the gate: a drain then never sees "no
 * capture" and has one begin before it synchronizes. It is counted before
 * the driver starts it, and uncounted if the driver refuses. */
#define NVS_BEGIN_CAPTURE(name, ptsz, params, args)                            \
	NVS_EXPORT CUresult name params                                        \
	{                                                                      \
		struct capture_key k = key_of(s, ptsz);                        \
		struct gate_dev *g;                                            \
		CUresult r;                                                    \
		int counted;                                                   \
		driver_ensure();                                               \
		if (!nvs_real_##name)                                          \
			return CUDA_ERROR_NOT_INITIALIZED;                     \
		g = gate_enter(NVS_NO_STREAM);                                 \
		counted = capture_began(k) == 0;                               \
		r = nvs_real_##name args;                                      \
		if (r != CUDA_SUCCESS && counted)                              \
			capture_ended(k);                                      \
		gate_exit(g, NVS_NO_STREAM);                                   \
		return r;                                                      \
	}

/* Counted as ended whatever the result: an invalidated capture is over. */
#define NVS_END_CAPTURE(name, ptsz)                                            \
	NVS_EXPORT CUresult name(CUstream s, CUgraph *g)                       \
	{                                                                      \
		CUresult r;                                                    \
		driver_ensure();                                               \
		if (!nvs_real_##name)                                          \
			return CUDA_ERROR_NOT_INITIALIZED;                     \
		r = nvs_real_##name(s, g);                                     \
		capture_ended(key_of(s, ptsz));                                \
		return r;                                                      \
	}

/* The 10.0 ABI (no mode: global) too: the CUDA 13 runtime asks for it. */
NVS_BEGIN_CAPTURE(cuStreamBeginCapture, 0, (CUstream s), (s))
NVS_BEGIN_CAPTURE(cuStreamBeginCapture_ptsz, 1, (CUstream s), (s))
NVS_BEGIN_CAPTURE(cuStreamBeginCapture_v2, 0,
                  (CUstream s, CUstreamCaptureMode mode), (s, mode))
NVS_BEGIN_CAPTURE(cuStreamBeginCapture_v2_ptsz, 1,
                  (CUstream s, CUstreamCaptureMode mode), (s, mode))
NVS_END_CAPTURE(cuStreamEndCapture, 0)
NVS_END_CAPTURE(cuStreamEndCapture_ptsz, 1)
