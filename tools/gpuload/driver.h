/*
 * driver.h - how gpuload reaches the CUDA driver: exactly as the CUDA
 * runtime does. It dlopen()s libcuda.so.1, takes cuGetProcAddress_v2 (or,
 * on old drivers, cuGetProcAddress) with dlsym(), and asks it for every
 * other entry point by its unsuffixed name ("cuMemAlloc") at CUDA version
 * 12000 with CU_GET_PROC_ADDRESS_DEFAULT. gpuload never links libcuda, so
 * a preloaded libnvshare.so sees the same look-ups a real program makes.
 */
#ifndef GPULOAD_DRIVER_H
#define GPULOAD_DRIVER_H

#include <stddef.h>

#include "cuda_api.h"

#define GL_CUDA_VERSION 12000

/* field, name asked for, prototype (from cuda_api.h) it has. */
#define GL_ENTRY_POINTS(X)                                                     \
	X(init, "cuInit", cuInit)                                              \
	X(get_error_name, "cuGetErrorName", cuGetErrorName)                    \
	X(device_get, "cuDeviceGet", cuDeviceGet)                              \
	X(device_get_uuid, "cuDeviceGetUuid", cuDeviceGetUuid_v2)              \
	X(primary_ctx_retain, "cuDevicePrimaryCtxRetain",                      \
	  cuDevicePrimaryCtxRetain)                                            \
	X(primary_ctx_release, "cuDevicePrimaryCtxRelease",                    \
	  cuDevicePrimaryCtxRelease_v2)                                        \
	X(ctx_set_current, "cuCtxSetCurrent", cuCtxSetCurrent)                 \
	X(mem_alloc, "cuMemAlloc", cuMemAlloc_v2)                              \
	X(mem_alloc_managed, "cuMemAllocManaged", cuMemAllocManaged)           \
	X(mem_alloc_pitch, "cuMemAllocPitch", cuMemAllocPitch_v2)              \
	X(mem_alloc_async, "cuMemAllocAsync", cuMemAllocAsync)                 \
	X(mem_free, "cuMemFree", cuMemFree_v2)                                 \
	X(memcpy_htod, "cuMemcpyHtoD", cuMemcpyHtoD_v2)                        \
	X(memcpy_dtoh, "cuMemcpyDtoH", cuMemcpyDtoH_v2)                        \
	X(mem_free_async, "cuMemFreeAsync", cuMemFreeAsync)                    \
	X(module_load_data, "cuModuleLoadData", cuModuleLoadData)              \
	X(module_get_function, "cuModuleGetFunction", cuModuleGetFunction)     \
	X(module_unload, "cuModuleUnload", cuModuleUnload)                     \
	X(stream_create, "cuStreamCreate", cuStreamCreate)                     \
	X(stream_destroy, "cuStreamDestroy", cuStreamDestroy_v2)               \
	X(stream_synchronize, "cuStreamSynchronize", cuStreamSynchronize)      \
	X(launch_kernel, "cuLaunchKernel", cuLaunchKernel)                     \
	X(event_create, "cuEventCreate", cuEventCreate)                        \
	X(event_record, "cuEventRecord", cuEventRecord)                        \
	X(event_synchronize, "cuEventSynchronize", cuEventSynchronize)         \
	X(event_elapsed, "cuEventElapsedTime", cuEventElapsedTime)             \
	X(event_destroy, "cuEventDestroy", cuEventDestroy_v2)

/* The entry points gpuload uses. */
struct gl_driver {
	void *handle; /* dlopen handle of libcuda.so.1 */
	__typeof__(cuGetProcAddress_v2) *get_proc_v2; /* or NULL */
	__typeof__(cuGetProcAddress) *get_proc;       /* legacy fallback */
#define GL_FIELD(field, name, proto) __typeof__(proto) *field;
	GL_ENTRY_POINTS(GL_FIELD)
#undef GL_FIELD
};

/* Loads the driver and resolves every entry point. Returns 0, or -1 with
 * the failing step in err ("cuGetProcAddress(cuMemAlloc): ..."). */
int gl_driver_load(struct gl_driver *d, char *err, size_t errlen);

/* "CUDA_ERROR_OUT_OF_MEMORY", or "CUresult 123" if the driver has no name
 * for it; buf holds the latter. */
const char *gl_driver_error_name(const struct gl_driver *d, CUresult r,
                                 char *buf, size_t len);

#endif /* GPULOAD_DRIVER_H */
