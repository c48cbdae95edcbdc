/*
 * swap.c - moving a device's memory (see swap.h): remappable blocks
 * through remap.c, and Unified Memory here.
 *
 * Unified Memory out: preferred location host, prefetch to the host. In:
 * preferred location the GPU, prefetch to it, so that the work resumes at
 * full speed instead of faulting pages back one by one (field notes:
 * faults run at about 8 GB/s, a prefetch in at link speed). The CUDA 12.2+
 * entry points that take a CUmemLocation are used when the driver has
 * them, the older ones else.
 */
#include "swap.h"

#include "log.h"
#include "mem.h"
#include "remap.h"
#include "sock.h"

#include <stdlib.h>

static CUresult advise(CUdeviceptr p, uint64_t n, int to_host, int ordinal)
{
	CUmemLocation loc = {.type = to_host ? CU_MEM_LOCATION_TYPE_HOST
	                                     : CU_MEM_LOCATION_TYPE_DEVICE,
	                     .id = to_host ? 0 : ordinal};

	if (nvs_real_cuMemAdvise_v2)
		return nvs_real_cuMemAdvise_v2(
		    p, n, CU_MEM_ADVISE_SET_PREFERRED_LOCATION, loc);
	if (nvs_real_cuMemAdvise)
		return nvs_real_cuMemAdvise(
		    p, n, CU_MEM_ADVISE_SET_PREFERRED_LOCATION,
		    to_host ? NVS_CU_DEVICE_CPU : ordinal);
	return CUDA_ERROR_NOT_SUPPORTED;
}

static CUresult prefetch(CUdeviceptr p, uint64_t n, int to_host, int ordinal,
                         CUstream s)
{
	CUmemLocation loc = {.type = to_host ? CU_MEM_LOCATION_TYPE_HOST
	                                     : CU_MEM_LOCATION_TYPE_DEVICE,
	                     .id = to_host ? 0 : ordinal};

	/* The real driver pointers: our own prefetch is not gated. */
	if (nvs_real_cuMemPrefetchAsync_v2)
		return nvs_real_cuMemPrefetchAsync_v2(p, n, loc, 0, s);
	if (nvs_real_cuMemPrefetchAsync)
		return nvs_real_cuMemPrefetchAsync(
		    p, n, to_host ? NVS_CU_DEVICE_CPU : ordinal, s);
	return CUDA_ERROR_NOT_SUPPORTED;
}

/* Moves d's memory: remappable blocks always (remap.c), Unified Memory
 * when unified is set. */
static int move(struct gate_dev *d, int to_host, int unified,
                struct swap_stats *st)
{
	struct mem_range *ranges = NULL;
	size_t n = 0;
	CUcontext ctx = NULL, popped;
	CUresult r = CUDA_SUCCESS, first_error = CUDA_SUCCESS;
	int remap_rc;
	uint64_t setup_ns = 0;
	long long t0 = nvs_now_ns();

	st->bytes = 0;
	st->ns = 0;
	if (gate_exiting())
		return 0;
	if (unified && mem_managed_of(d, &ranges, &n))
		n = 0;
	/* Held for reading: the context cannot be destroyed under us. */
	pthread_rwlock_rdlock(&gate_ctx_lock);
	pthread_mutex_lock(&d->mu);
	if (d->nctxs)
		ctx = d->ctxs[0];
	pthread_mutex_unlock(&d->mu);
	if (!ctx || !nvs_real_cuCtxPushCurrent_v2 ||
	    !nvs_real_cuStreamSynchronize ||
	    nvs_real_cuCtxPushCurrent_v2(ctx) != CUDA_SUCCESS) {
		pthread_rwlock_unlock(&gate_ctx_lock);
		free(ranges);
		return -1;
	}
	if (!d->swap_stream && nvs_real_cuStreamCreate)
		nvs_real_cuStreamCreate(&d->swap_stream,
		                        CU_STREAM_NON_BLOCKING);
	remap_rc =
	    remap_move(d, to_host, d->swap_stream, &st->bytes, &setup_ns);
	for (size_t i = 0; i < n; i++) {
		r = advise(ranges[i].ptr, ranges[i].bytes, to_host, d->ordinal);
		if (r == CUDA_SUCCESS)
			r = prefetch(ranges[i].ptr, ranges[i].bytes, to_host,
			             d->ordinal, d->swap_stream);
		if (r == CUDA_SUCCESS)
			st->bytes += ranges[i].bytes;
		else if (first_error == CUDA_SUCCESS)
			first_error = r;
		if (r != CUDA_SUCCESS)
			NVS_DEBUG("event=swap_range_failed gpu=%s ptr=0x%llx "
			          "bytes=%llu reason=%s",
			          d->uuid, (unsigned long long)ranges[i].ptr,
			          (unsigned long long)ranges[i].bytes,
			          driver_error_name(r));
	}
	if (n) {
		r = nvs_real_cuStreamSynchronize(d->swap_stream);
		if (first_error == CUDA_SUCCESS)
			first_error = r;
	}
	nvs_real_cuCtxPopCurrent_v2(&popped);
	pthread_rwlock_unlock(&gate_ctx_lock);
	/* Host buffers are made once: not a cost of the next swap. */
	st->ns = (uint64_t)(nvs_now_ns() - t0) - setup_ns;
	free(ranges);
	if (first_error != CUDA_SUCCESS) {
		NVS_WARN(
		    "event=swap_failed gpu=%s direction=%s reason=%s "
		    "msg=\"memory stays where it is; pages fault in on use\"",
		    d->uuid, to_host ? "out" : "in",
		    driver_error_name(first_error));
		return -1;
	}
	if (remap_rc)
		return -1;
	NVS_DEBUG("event=swap gpu=%s direction=%s bytes=%llu ms=%.1f", d->uuid,
	          to_host ? "out" : "in", (unsigned long long)st->bytes,
	          (double)st->ns / 1e6);
	return 0;
}

int swap_move(struct gate_dev *d, enum nvs_swap_direction dir,
              struct swap_stats *st)
{
	return move(d, dir == NVS_SWAP_OUT, 1, st);
}

int swap_place(struct gate_dev *d, int unified)
{
	struct swap_stats st;

	return move(d, 0, unified, &st);
}
