/*
 * sync_hooks.c - the calls that wait for the GPU. A thread waiting in one
 * has work queued on the GPU, so the compute-quota meter (usage.h) counts
 * the device busy meanwhile: the work a burst ends with is billed even when
 * no checkpoint follows it.
 */
#include "driver.h"
#include "gate.h"

#define NVS_SYNC(name, params, args)                                           \
	NVS_EXPORT CUresult name params                                        \
	{                                                                      \
		struct gate_dev *d;                                            \
		CUresult r;                                                    \
		driver_ensure();                                               \
		if (!nvs_real_##name)                                          \
			return CUDA_ERROR_NOT_INITIALIZED;                     \
		d = gate_current();                                            \
		if (d)                                                         \
			atomic_fetch_add(&d->syncing, 1);                      \
		r = nvs_real_##name args;                                      \
		if (d)                                                         \
			atomic_fetch_sub(&d->syncing, 1);                      \
		return r;                                                      \
	}
NVS_SYNC(cuCtxSynchronize, (void), ())
NVS_SYNC(cuStreamSynchronize, (CUstream s), (s))
NVS_SYNC(cuStreamSynchronize_ptsz, (CUstream s), (s))
NVS_SYNC(cuEventSynchronize, (CUevent e), (e))
