/*
 * context_hooks.c - driver calls that change what the gate must know:
 * destroyed contexts (they leave the drain list and the per-thread caches)
 * and stream captures (while one runs, nvshare must not synchronize the
 * context: the driver would invalidate the capture, in any capture mode).
 */
#include "driver.h"
#include "gate.h"

NVS_EXPORT CUresult cuCtxDestroy_v2(CUcontext ctx)
{
	CUresult r;

	driver_ensure();
	if (!nvs_real_cuCtxDestroy_v2)
		return CUDA_ERROR_NOT_INITIALIZED;
	r = nvs_real_cuCtxDestroy_v2(ctx);
	if (r == CUDA_SUCCESS)
		gate_forget_context(ctx);
	return r;
}

/* Streams now capturing. cuStreamEndCapture does not say whether the
 * capture was ours to count, so the count is kept by stream. */
#define MAX_CAPTURES 256
static CUstream global_streams[MAX_CAPTURES];
static int nglobal;
static pthread_mutex_t captures_mu = PTHREAD_MUTEX_INITIALIZER;

static void capture_began(CUstream s, CUstreamCaptureMode mode)
{
	(void)mode; /* cuCtxSynchronize breaks captures of every mode */
	pthread_mutex_lock(&captures_mu);
	/* Past the table's size the count still protects the capture; its
	 * end then finds no entry and the count stays high (safe side). */
	if (nglobal < MAX_CAPTURES)
		global_streams[nglobal++] = s;
	atomic_fetch_add(&gate_captures, 1);
	pthread_mutex_unlock(&captures_mu);
}

static void capture_ended(CUstream s)
{
	pthread_mutex_lock(&captures_mu);
	for (int i = 0; i < nglobal; i++) {
		if (global_streams[i] == s) {
			global_streams[i] = global_streams[--nglobal];
			atomic_fetch_sub(&gate_captures, 1);
			break;
		}
	}
	pthread_mutex_unlock(&captures_mu);
}

#define NVS_BEGIN_CAPTURE(name)                                                \
	NVS_EXPORT CUresult name(CUstream s, CUstreamCaptureMode mode)         \
	{                                                                      \
		CUresult r;                                                    \
		driver_ensure();                                               \
		if (!nvs_real_##name)                                          \
			return CUDA_ERROR_NOT_INITIALIZED;                     \
		r = nvs_real_##name(s, mode);                                  \
		if (r == CUDA_SUCCESS)                                         \
			capture_began(s, mode);                                \
		return r;                                                      \
	}

/* Counted as ended whatever the result: an invalidated capture is over. */
#define NVS_END_CAPTURE(name)                                                  \
	NVS_EXPORT CUresult name(CUstream s, CUgraph *g)                       \
	{                                                                      \
		CUresult r;                                                    \
		driver_ensure();                                               \
		if (!nvs_real_##name)                                          \
			return CUDA_ERROR_NOT_INITIALIZED;                     \
		r = nvs_real_##name(s, g);                                     \
		capture_ended(s);                                              \
		return r;                                                      \
	}

NVS_BEGIN_CAPTURE(cuStreamBeginCapture_v2)
NVS_BEGIN_CAPTURE(cuStreamBeginCapture_v2_ptsz)
NVS_END_CAPTURE(cuStreamEndCapture)
NVS_END_CAPTURE(cuStreamEndCapture_ptsz)
