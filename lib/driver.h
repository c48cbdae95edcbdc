/*
 * driver.h - the real CUDA driver behind the hooks.
 *
 * libnvshare opens libcuda.so.1 itself and keeps one pointer per function it
 * interposes (nvs_real_<exported name>, from hooks.def) or merely calls
 * (NVS_DRIVER_HELPERS). All of them are resolved once, by driver_init(),
 * before any hook forwards a call.
 */
#ifndef NVSHARE_LIB_DRIVER_H
#define NVSHARE_LIB_DRIVER_H

#include "cuda_api.h"

#include <stdatomic.h>

#define NVS_EXPORT __attribute__((visibility("default")))
#define nvs_likely(x) __builtin_expect(!!(x), 1)
#define nvs_unlikely(x) __builtin_expect(!!(x), 0)

/* Driver functions libnvshare calls without interposing them. */
#define NVS_DRIVER_HELPERS(X)                                                  \
	X(cuCtxGetCurrent)                                                     \
	X(cuCtxGetDevice)                                                      \
	X(cuCtxPushCurrent_v2)                                                 \
	X(cuCtxPopCurrent_v2)                                                  \
	X(cuDeviceGetUuid)                                                     \
	X(cuDeviceGetUuid_v2)                                                  \
	X(cuStreamIsCapturing)                                                 \
	X(cuStreamCreate)                                                      \
	X(cuEventCreate)                                                       \
	X(cuEventRecord)                                                       \
	X(cuEventQuery)                                                        \
	X(cuEventElapsedTime)                                                  \
	X(cuMemAdvise)                                                         \
	X(cuMemAdvise_v2)                                                      \
	X(cuMemAddressReserve)                                                 \
	X(cuMemAddressFree)                                                    \
	X(cuMemSetAccess)                                                      \
	X(cuMemGetAllocationGranularity)                                       \
	X(cuMemHostAlloc)                                                      \
	X(cuMemFreeHost)                                                       \
	X(cuMemHostRegister_v2)                                                \
	X(cuMemHostUnregister)                                                 \
	X(cuGetErrorName)

#define NVS_DECLARE_REAL(name) extern __typeof__(&name) nvs_real_##name;
#define NVS_GATED(name, params, args, stream) NVS_DECLARE_REAL(name)
#define NVS_HOOK(name) NVS_DECLARE_REAL(name)
#include "hooks.def"
NVS_DRIVER_HELPERS(NVS_DECLARE_REAL)

/* 1 once driver_init() has run (whatever its outcome). */
extern atomic_int nvs_driver_ready;

/* Opens the real driver and resolves every pointer; idempotent and
 * thread-safe. Returns 0 if the driver was found. */
int driver_init(void);

static inline void driver_ensure(void)
{
	if (nvs_unlikely(
	        !atomic_load_explicit(&nvs_driver_ready, memory_order_acquire)))
		driver_init();
}

/* The real dlsym, for symbols of any library (never our hooks). */
void *driver_real_dlsym(void *handle, const char *name);
/* Handle of the real libcuda.so.1, or NULL. */
void *driver_handle(void);
/* dlsym's answer for NVML's memory queries asked of NVML (or the global
 * scope): 1 and our hook in *hook, else 0 (nvml_hooks.c). */
int nvml_hook_lookup(void *handle, const char *name, void **hook);
/* "CUDA_ERROR_OUT_OF_MEMORY" etc. for logs. */
const char *driver_error_name(CUresult r);

#endif /* NVSHARE_LIB_DRIVER_H */
