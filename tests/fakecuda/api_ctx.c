/*
 * api_ctx.c - contexts: the primary context of each device, created
 * contexts, the per-thread current-context stack, and cuCtxSynchronize.
 *
 * The current context is thread-local as in the real driver: a thread that
 * never made one current gets CUDA_ERROR_INVALID_CONTEXT from calls that
 * need one, which is what makes a background thread that forgets
 * cuCtxSetCurrent fail here as it would on a GPU.
 */
#include "fakecuda.h"

CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
	CUresult r = fc_check_device(dev);
	struct fc_ctx *ctx;

	FC_FAULT(cuDevicePrimaryCtxRetain);
	if (r != CUDA_SUCCESS)
		return r;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&fc_rt.lock);
	ctx = fc_rt.primary[dev];
	if (!ctx)
		ctx = fc_rt.primary[dev] = fc_ctx_new(dev, 1);
	if (ctx)
		ctx->refs++;
	pthread_mutex_unlock(&fc_rt.lock);
	if (!ctx)
		return CUDA_ERROR_OUT_OF_MEMORY;
	*pctx = (CUcontext)ctx;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
	CUresult r = fc_check_device(dev);

	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&fc_rt.lock);
	if (!fc_rt.primary[dev] || fc_rt.primary[dev]->refs == 0)
		r = CUDA_ERROR_INVALID_CONTEXT;
	else
		fc_rt.primary[dev]->refs--;
	pthread_mutex_unlock(&fc_rt.lock);
	return r;
}

/* As the real driver, but the simulated primary context outlives its last
 * reference (a retain finds it again): a reset drops every reference. */
CUresult CUDAAPI cuDevicePrimaryCtxReset_v2(CUdevice dev)
{
	CUresult r = fc_check_device(dev);

	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&fc_rt.lock);
	if (fc_rt.primary[dev])
		fc_rt.primary[dev]->refs = 0;
	pthread_mutex_unlock(&fc_rt.lock);
	return CUDA_SUCCESS;
}

/* The CUDA 7.0 ABI: the same calls here. */
CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice dev)
{
	return cuDevicePrimaryCtxRelease_v2(dev);
}

CUresult CUDAAPI cuDevicePrimaryCtxReset(CUdevice dev)
{
	return cuDevicePrimaryCtxReset_v2(dev);
}

/* Every cuCtxCreate ABI ends here (a fault of cuCtxCreate_v2 is for
 * that entry point only). */
static CUresult ctx_create(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
	CUresult r = fc_check_device(dev);
	struct fc_ctx *ctx;

	if (r != CUDA_SUCCESS)
		return r;
	if (!pctx || flags > 0xff)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&fc_rt.lock);
	ctx = fc_ctx_new(dev, 0);
	pthread_mutex_unlock(&fc_rt.lock);
	if (!ctx)
		return CUDA_ERROR_OUT_OF_MEMORY;
	if (fc_ctx_stack_push(ctx) < 0)
		return CUDA_ERROR_INVALID_VALUE;
	*pctx = (CUcontext)ctx;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxCreate_v2(CUcontext *pctx, unsigned int flags,
                                CUdevice dev)
{
	FC_FAULT(cuCtxCreate_v2);
	return ctx_create(pctx, flags, dev);
}

/* Execution affinity (SM partitions) needs MPS, which the simulation does
 * not have: like a driver without it, any affinity is refused. */
CUresult CUDAAPI cuCtxCreate_v3(CUcontext *pctx,
                                CUexecAffinityParam *paramsArray, int numParams,
                                unsigned int flags, CUdevice dev)
{
	CUresult r = fc_check_device(dev);

	if (r != CUDA_SUCCESS)
		return r;
	if (numParams < 0 || (numParams > 0 && !paramsArray))
		return CUDA_ERROR_INVALID_VALUE;
	for (int i = 0; i < numParams; i++)
		if (paramsArray[i].type != CU_EXEC_AFFINITY_TYPE_SM_COUNT)
			return CUDA_ERROR_INVALID_VALUE;
	if (numParams > 0)
		return CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY;
	return ctx_create(pctx, flags, dev);
}

/* CUDA 12.5's form: no parameters is a plain context; exactly one of
 * affinity and CUDA-in-graphics (Windows only, not simulated). */
CUresult CUDAAPI cuCtxCreate_v4(CUcontext *pctx,
                                CUctxCreateParams *ctxCreateParams,
                                unsigned int flags, CUdevice dev)
{
	const CUctxCreateParams *p = ctxCreateParams;
	CUresult r = fc_check_device(dev);

	if (r != CUDA_SUCCESS)
		return r;
	if (!p)
		return ctx_create(pctx, flags, dev);
	if (!p->execAffinityParams == !p->cigParams)
		return CUDA_ERROR_INVALID_VALUE;
	if (p->cigParams)
		return CUDA_ERROR_NOT_SUPPORTED;
	return cuCtxCreate_v3(pctx, p->execAffinityParams,
	                      p->numExecAffinityParams, flags, dev);
}

/* rt locked: a destroyed context's streams stop being valid handles. The
 * memory stays (other threads may hold their per-thread streams). */
static void ctx_retire_streams(struct fc_ctx *ctx)
{
	struct fc_stream **pp = &fc_rt.streams;

	while (*pp) {
		struct fc_stream *s = *pp;

		if (s->ctx != ctx) {
			pp = &s->next;
			continue;
		}
		fc_capture_drop(s);
		s->magic = 0;
		*pp = s->next;
	}
}

CUresult CUDAAPI cuCtxDestroy_v2(CUcontext hctx)
{
	struct fc_ctx *ctx = (struct fc_ctx *)hctx;
	CUresult r = CUDA_SUCCESS;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	pthread_mutex_lock(&fc_rt.lock);
	if (!fc_ctx_valid(ctx) || ctx->primary) {
		r = CUDA_ERROR_INVALID_CONTEXT;
	} else {
		ctx_retire_streams(ctx);
		__atomic_store_n(&ctx->magic, 0, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&fc_rt.lock);
	if (r == CUDA_SUCCESS)
		fc_ctx_stack_forget(ctx);
	return r;
}

CUresult CUDAAPI cuCtxSetCurrent(CUcontext hctx)
{
	struct fc_ctx *ctx = (struct fc_ctx *)hctx;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (ctx && !fc_ctx_valid(ctx))
		return CUDA_ERROR_INVALID_CONTEXT;
	fc_ctx_stack_set_top(ctx);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetCurrent(CUcontext *pctx)
{
	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	*pctx = (CUcontext)fc_ctx_current();
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxPushCurrent_v2(CUcontext hctx)
{
	struct fc_ctx *ctx = (struct fc_ctx *)hctx;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!fc_ctx_valid(ctx))
		return CUDA_ERROR_INVALID_CONTEXT;
	return fc_ctx_stack_push(ctx) < 0 ? CUDA_ERROR_INVALID_VALUE
	                                  : CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxPopCurrent_v2(CUcontext *pctx)
{
	struct fc_ctx *ctx;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!fc_ctx_current())
		return CUDA_ERROR_INVALID_CONTEXT;
	ctx = fc_ctx_stack_pop();
	if (pctx)
		*pctx = (CUcontext)ctx;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetDevice(CUdevice *device)
{
	struct fc_ctx *ctx;
	CUresult r = fc_require_ctx(&ctx);

	if (r != CUDA_SUCCESS)
		return r;
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	*device = ctx->dev;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSynchronize(void)
{
	struct fc_ctx *ctx;
	int64_t until = 0;
	CUresult r = fc_require_ctx(&ctx);

	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&fc_rt.lock);
	r = fc_capture_guard(NULL, ctx, 1);
	if (r == CUDA_SUCCESS)
		until = fc_ctx_tail(ctx);
	pthread_mutex_unlock(&fc_rt.lock);
	if (r == CUDA_SUCCESS)
		fc_sleep_until(until);
	return r;
}
