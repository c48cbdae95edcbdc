/*
 * nulldriver.c - a driver that does nothing, for measuring the hooks.
 *
 * Built as bench/null/libcuda.so.1. Every call returns at once, so timing a
 * loop of launches with and without libnvshare preloaded isolates what the
 * interposition and the gate cost per call.
 */
#include "cuda_api.h"

#include <string.h>

#define EXPORT __attribute__((visibility("default")))

static __thread CUcontext current;
static struct CUctx_st *const the_ctx = (struct CUctx_st *)0x1000;

EXPORT CUresult cuInit(unsigned int flags)
{
	(void)flags;
	return CUDA_SUCCESS;
}
EXPORT CUresult cuDeviceGet(CUdevice *d, int ordinal)
{
	*d = ordinal;
	return ordinal == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}
EXPORT CUresult cuCtxCreate_v2(CUcontext *c, unsigned int f, CUdevice d)
{
	(void)f;
	(void)d;
	*c = current = the_ctx;
	return CUDA_SUCCESS;
}
EXPORT CUresult cuCtxGetCurrent(CUcontext *c)
{
	*c = current;
	return CUDA_SUCCESS;
}
EXPORT CUresult cuCtxGetDevice(CUdevice *d)
{
	*d = 0;
	return CUDA_SUCCESS;
}
EXPORT CUresult cuCtxPushCurrent_v2(CUcontext c)
{
	current = c;
	return CUDA_SUCCESS;
}
EXPORT CUresult cuCtxPopCurrent_v2(CUcontext *c)
{
	*c = current;
	return CUDA_SUCCESS;
}
EXPORT CUresult cuCtxSynchronize(void)
{
	return CUDA_SUCCESS;
}
EXPORT CUresult cuDeviceGetUuid(CUuuid *u, CUdevice d)
{
	memset(u->bytes, 0, sizeof(u->bytes));
	u->bytes[15] = (char)(d + 1);
	return CUDA_SUCCESS;
}
EXPORT CUresult cuDeviceTotalMem_v2(size_t *b, CUdevice d)
{
	(void)d;
	*b = 16ull << 30;
	return CUDA_SUCCESS;
}
EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy,
                               unsigned int gz, unsigned int bx,
                               unsigned int by, unsigned int bz,
                               unsigned int shm, CUstream s, void **p, void **e)
{
	(void)f;
	(void)gx;
	(void)gy;
	(void)gz;
	(void)bx;
	(void)by;
	(void)bz;
	(void)shm;
	(void)s;
	(void)p;
	(void)e;
	return CUDA_SUCCESS;
}
EXPORT CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int v,
                                    cuuint64_t flags,
                                    CUdriverProcAddressQueryResult *st)
{
	(void)v;
	(void)flags;
	*pfn = NULL;
	if (strcmp(symbol, "cuLaunchKernel") == 0)
		*pfn = (void *)cuLaunchKernel;
	else if (strcmp(symbol, "cuGetProcAddress") == 0)
		*pfn = (void *)cuGetProcAddress_v2;
	if (st)
		*st = *pfn ? CU_GET_PROC_ADDRESS_SUCCESS
		           : CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	return *pfn ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
}

/* Events and capture state, so that flow-control checkpoints run too. */
static struct CUevent_st *const the_event = (struct CUevent_st *)0x2000;

EXPORT CUresult cuEventCreate(CUevent *e, unsigned int flags)
{
	(void)flags;
	*e = the_event;
	return CUDA_SUCCESS;
}
EXPORT CUresult cuEventRecord(CUevent e, CUstream s)
{
	(void)e;
	(void)s;
	return CUDA_SUCCESS;
}
EXPORT CUresult cuEventQuery(CUevent e)
{
	(void)e;
	return CUDA_SUCCESS;
}
EXPORT CUresult cuEventSynchronize(CUevent e)
{
	(void)e;
	return CUDA_SUCCESS;
}
EXPORT CUresult cuEventElapsedTime(float *ms, CUevent a, CUevent b)
{
	(void)a;
	(void)b;
	*ms = 0.001f; /* 1 us between checkpoints */
	return CUDA_SUCCESS;
}
EXPORT CUresult cuStreamIsCapturing(CUstream s, CUstreamCaptureStatus *st)
{
	(void)s;
	*st = CU_STREAM_CAPTURE_STATUS_NONE;
	return CUDA_SUCCESS;
}
