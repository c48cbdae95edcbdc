/*
 * cuda_api.h - the subset of the CUDA driver API that nvshare uses, declared
 * by the project itself so that nothing here needs a CUDA toolkit to build.
 *
 * Every type, constant and prototype below mirrors NVIDIA's cuda.h (the
 * interface, not its text). Prototypes use the names the driver *exports*
 * (cuMemAlloc_v2, cuLaunchKernel_ptsz, ...): those are what dlsym() and
 * cuGetProcAddress() hand out, and what libnvshare interposes.
 *
 * tests/unit/check_cuda_decls.c includes a real cuda.h first and then this
 * file with NVS_CHECK_AGAINST_CUDA_H defined: every prototype is then a
 * redeclaration the compiler checks against NVIDIA's, every constant is
 * asserted equal, and the structs are compared field by field.
 */
#ifndef NVSHARE_CUDA_API_H
#define NVSHARE_CUDA_API_H

#include <stddef.h>
#include <stdint.h>

/* Constants nvshare relies on: name, value. Emitted as enumerators normally,
 * asserted against cuda.h in check mode. */
#define NVS_CU_RESULTS(X)                                                      \
	X(CUDA_SUCCESS, 0)                                                     \
	X(CUDA_ERROR_INVALID_VALUE, 1)                                         \
	X(CUDA_ERROR_OUT_OF_MEMORY, 2)                                         \
	X(CUDA_ERROR_NOT_INITIALIZED, 3)                                       \
	X(CUDA_ERROR_DEINITIALIZED, 4)                                         \
	X(CUDA_ERROR_NO_DEVICE, 100)                                           \
	X(CUDA_ERROR_INVALID_DEVICE, 101)                                      \
	X(CUDA_ERROR_INVALID_IMAGE, 200)                                       \
	X(CUDA_ERROR_INVALID_CONTEXT, 201)                                     \
	X(CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY, 224)                           \
	X(CUDA_ERROR_INVALID_HANDLE, 400)                                      \
	X(CUDA_ERROR_NOT_FOUND, 500)                                           \
	X(CUDA_ERROR_NOT_READY, 600)                                           \
	X(CUDA_ERROR_ILLEGAL_ADDRESS, 700)                                     \
	X(CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED, 712)                      \
	X(CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED, 713)                          \
	X(CUDA_ERROR_LAUNCH_FAILED, 719)                                       \
	X(CUDA_ERROR_NOT_PERMITTED, 800)                                       \
	X(CUDA_ERROR_NOT_SUPPORTED, 801)                                       \
	X(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, 900)                          \
	X(CUDA_ERROR_STREAM_CAPTURE_INVALIDATED, 901)                          \
	X(CUDA_ERROR_UNKNOWN, 999)

#define NVS_CU_CONSTANTS(X)                                                    \
	X(CU_MEM_ATTACH_GLOBAL, 0x1)                                           \
	X(CU_MEM_ATTACH_HOST, 0x2)                                             \
	X(CU_MEM_ADVISE_SET_PREFERRED_LOCATION, 3)                             \
	X(CU_MEM_ADVISE_UNSET_PREFERRED_LOCATION, 4)                           \
	X(CU_MEM_ADVISE_SET_ACCESSED_BY, 5)                                    \
	X(CU_MEM_LOCATION_TYPE_DEVICE, 0x1)                                    \
	X(CU_MEM_LOCATION_TYPE_HOST, 0x2)                                      \
	X(CU_MEM_LOCATION_TYPE_HOST_NUMA, 0x3)                                 \
	X(CU_MEM_LOCATION_TYPE_HOST_NUMA_CURRENT, 0x4)                         \
	X(CU_MEM_ALLOCATION_TYPE_INVALID, 0x0)                                 \
	X(CU_MEM_ALLOCATION_TYPE_PINNED, 0x1)                                  \
	X(CU_MEM_HANDLE_TYPE_NONE, 0x0)                                        \
	X(CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0x1)                       \
	X(CU_MEM_HANDLE_TYPE_WIN32, 0x2)                                       \
	X(CU_MEM_HANDLE_TYPE_WIN32_KMT, 0x4)                                   \
	X(CU_MEM_HANDLE_TYPE_FABRIC, 0x8)                                      \
	X(CU_MEM_ACCESS_FLAGS_PROT_NONE, 0x0)                                  \
	X(CU_MEM_ACCESS_FLAGS_PROT_READ, 0x1)                                  \
	X(CU_MEM_ACCESS_FLAGS_PROT_READWRITE, 0x3)                             \
	X(CU_MEM_ALLOC_GRANULARITY_MINIMUM, 0x0)                               \
	X(CU_MEM_ALLOC_GRANULARITY_RECOMMENDED, 0x1)                           \
	X(CU_MEMHOSTALLOC_PORTABLE, 0x01)                                      \
	X(CU_MEMHOSTREGISTER_PORTABLE, 0x01)                                   \
	X(CU_AD_FORMAT_UNSIGNED_INT8, 0x01)                                    \
	X(CU_AD_FORMAT_UNSIGNED_INT16, 0x02)                                   \
	X(CU_AD_FORMAT_UNSIGNED_INT32, 0x03)                                   \
	X(CU_AD_FORMAT_SIGNED_INT8, 0x08)                                      \
	X(CU_AD_FORMAT_SIGNED_INT16, 0x09)                                     \
	X(CU_AD_FORMAT_SIGNED_INT32, 0x0a)                                     \
	X(CU_AD_FORMAT_HALF, 0x10)                                             \
	X(CU_AD_FORMAT_FLOAT, 0x20)                                            \
	X(CUDA_ARRAY3D_LAYERED, 0x01)                                          \
	X(CUDA_ARRAY3D_SURFACE_LDST, 0x02)                                     \
	X(CUDA_ARRAY3D_CUBEMAP, 0x04)                                          \
	X(CUDA_ARRAY3D_TEXTURE_GATHER, 0x08)                                   \
	X(CUDA_ARRAY3D_DEPTH_TEXTURE, 0x10)                                    \
	X(CUDA_ARRAY3D_COLOR_ATTACHMENT, 0x20)                                 \
	X(CUDA_ARRAY3D_SPARSE, 0x40)                                           \
	X(CUDA_ARRAY3D_DEFERRED_MAPPING, 0x80)                                 \
	X(CU_EXEC_AFFINITY_TYPE_SM_COUNT, 0)                                   \
	X(CU_STREAM_CAPTURE_STATUS_NONE, 0)                                    \
	X(CU_STREAM_CAPTURE_STATUS_ACTIVE, 1)                                  \
	X(CU_STREAM_CAPTURE_STATUS_INVALIDATED, 2)                             \
	X(CU_STREAM_CAPTURE_MODE_GLOBAL, 0)                                    \
	X(CU_STREAM_CAPTURE_MODE_THREAD_LOCAL, 1)                              \
	X(CU_STREAM_CAPTURE_MODE_RELAXED, 2)                                   \
	X(CU_GET_PROC_ADDRESS_DEFAULT, 0)                                      \
	X(CU_GET_PROC_ADDRESS_LEGACY_STREAM, 1)                                \
	X(CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, 2)                    \
	X(CU_GET_PROC_ADDRESS_SUCCESS, 0)                                      \
	X(CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND, 1)                             \
	X(CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT, 2)                       \
	X(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 16)                        \
	X(CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, 33)                                  \
	X(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, 75)                    \
	X(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, 76)                    \
	X(CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY, 83)                              \
	X(CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS, 89)                   \
	X(CU_EVENT_DEFAULT, 0)                                                 \
	X(CU_EVENT_DISABLE_TIMING, 2)                                          \
	X(CU_STREAM_DEFAULT, 0)                                                \
	X(CU_STREAM_NON_BLOCKING, 1)

/* The stream handles with special meaning (cuda.h defines them as macros). */
#define NVS_CU_STREAM_LEGACY ((CUstream)0x1)
#define NVS_CU_STREAM_PER_THREAD ((CUstream)0x2)
#define NVS_CU_DEVICE_CPU ((CUdevice)-1)

/*
 * Structs whose fields nvshare reads. In check mode they are declared under
 * an nvs_check_ tag so that check_cuda_decls.c can compare them with cuda.h.
 */
#ifdef NVS_CHECK_AGAINST_CUDA_H
#define NVS_CU_STRUCT(name) nvs_check_##name
#else
#define NVS_CU_STRUCT(name) name
#endif

typedef struct NVS_CU_STRUCT(CUuuid_st) {
	char bytes[16];
} NVS_CU_STRUCT(CUuuid);

typedef struct NVS_CU_STRUCT(CUmemLocation_st) {
	int type; /* CUmemLocationType */
	int id;   /* device ordinal when type is DEVICE */
} NVS_CU_STRUCT(CUmemLocation);

#ifndef NVS_CHECK_AGAINST_CUDA_H

typedef enum cudaError_enum {
#define NVS_ENUMERATOR(name, value) name = value,
	NVS_CU_RESULTS(NVS_ENUMERATOR)
} CUresult;
enum { NVS_CU_CONSTANTS(NVS_ENUMERATOR) };
#undef NVS_ENUMERATOR

typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef uint64_t cuuint64_t;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;
typedef struct CUmemPoolHandle_st *CUmemoryPool;
typedef struct CUarray_st *CUarray;
typedef struct CUmipmappedArray_st *CUmipmappedArray;
typedef struct CUctxCigParam_st CUctxCigParam;
typedef unsigned long long CUmemGenericAllocationHandle_v1;
typedef CUmemGenericAllocationHandle_v1 CUmemGenericAllocationHandle;
typedef struct CUlaunchAttribute_st CUlaunchAttribute;
typedef struct CUDA_MEMCPY2D_st CUDA_MEMCPY2D;
typedef struct CUDA_MEMCPY3D_st CUDA_MEMCPY3D;
typedef struct CUDA_MEMCPY3D_PEER_st CUDA_MEMCPY3D_PEER;
typedef int CUdevice_attribute;
typedef int CUmem_advise;
typedef int CUstreamCaptureStatus;
typedef int CUstreamCaptureMode;
typedef int CUdriverProcAddressQueryResult;
typedef int CUmemLocationType;                /* CU_MEM_LOCATION_TYPE_* */
typedef int CUmemAllocationType;              /* CU_MEM_ALLOCATION_TYPE_* */
typedef int CUmemAllocationHandleType;        /* CU_MEM_HANDLE_TYPE_* */
typedef int CUmemAccess_flags;                /* CU_MEM_ACCESS_FLAGS_* */
typedef int CUmemAllocationGranularity_flags; /* CU_MEM_ALLOC_GRANULARITY_* */
typedef int CUarray_format;                   /* CU_AD_FORMAT_* */
typedef int CUexecAffinityType;               /* CU_EXEC_AFFINITY_TYPE_* */

typedef struct CUlaunchConfig_st {
	unsigned int gridDimX; /* grid size in blocks */
	unsigned int gridDimY;
	unsigned int gridDimZ;
	unsigned int blockDimX; /* block size in threads */
	unsigned int blockDimY;
	unsigned int blockDimZ;
	unsigned int sharedMemBytes; /* dynamic shared memory per block */
	CUstream hStream;            /* stream the kernel is launched on */
	CUlaunchAttribute *attrs;    /* optional attributes */
	unsigned int numAttrs;       /* number of attrs */
} CUlaunchConfig;

#endif /* !NVS_CHECK_AGAINST_CUDA_H */

/*
 * Structs of virtual memory management, arrays, memory pools and context
 * creation: the arguments of calls whose memory nvshare counts. Their field
 * types are cuda.h's in check mode, so the comparison covers them too.
 */
typedef struct NVS_CU_STRUCT(CUmemAllocationProp_st) {
	CUmemAllocationType type; /* CU_MEM_ALLOCATION_TYPE_PINNED */
	CUmemAllocationHandleType requestedHandleTypes; /* exportable as */
	NVS_CU_STRUCT(CUmemLocation) location; /* where the memory lives */
	void *win32HandleMetaData;             /* Windows only, else NULL */
	struct {
		unsigned char compressionType; /* CU_MEM_ALLOCATION_COMP_* */
		unsigned char gpuDirectRDMACapable; /* 1: usable for RDMA */
		unsigned short usage;               /* CU_MEM_CREATE_USAGE_* */
		unsigned char reserved[4];          /* zero */
	} allocFlags;
} NVS_CU_STRUCT(CUmemAllocationProp_v1);
typedef NVS_CU_STRUCT(CUmemAllocationProp_v1)
    NVS_CU_STRUCT(CUmemAllocationProp);

typedef struct NVS_CU_STRUCT(CUmemAccessDesc_st) {
	NVS_CU_STRUCT(CUmemLocation) location; /* who gets the access */
	CUmemAccess_flags flags;               /* CU_MEM_ACCESS_FLAGS_PROT_* */
} NVS_CU_STRUCT(CUmemAccessDesc_v1);
typedef NVS_CU_STRUCT(CUmemAccessDesc_v1) NVS_CU_STRUCT(CUmemAccessDesc);

typedef struct NVS_CU_STRUCT(CUmemPoolProps_st) {
	CUmemAllocationType allocType; /* CU_MEM_ALLOCATION_TYPE_PINNED */
	CUmemAllocationHandleType handleTypes; /* exportable as */
	NVS_CU_STRUCT(CUmemLocation) location; /* where allocations live */
	void *win32SecurityAttributes;         /* Windows only, else NULL */
	size_t maxSize;             /* most bytes the pool holds; 0: no limit */
	unsigned short usage;       /* CU_MEM_POOL_CREATE_USAGE_* */
	unsigned char reserved[54]; /* zero */
} NVS_CU_STRUCT(CUmemPoolProps_v1);
typedef NVS_CU_STRUCT(CUmemPoolProps_v1) NVS_CU_STRUCT(CUmemPoolProps);

typedef struct NVS_CU_STRUCT(CUDA_ARRAY_DESCRIPTOR_st) {
	size_t Width;             /* elements per row */
	size_t Height;            /* rows; 0: a 1D array */
	CUarray_format Format;    /* CU_AD_FORMAT_* of each channel */
	unsigned int NumChannels; /* channels per element: 1, 2 or 4 */
} NVS_CU_STRUCT(CUDA_ARRAY_DESCRIPTOR_v2);
typedef NVS_CU_STRUCT(CUDA_ARRAY_DESCRIPTOR_v2)
    NVS_CU_STRUCT(CUDA_ARRAY_DESCRIPTOR);

typedef struct NVS_CU_STRUCT(CUDA_ARRAY3D_DESCRIPTOR_st) {
	size_t Width;             /* elements per row */
	size_t Height;            /* rows; 0: a 1D array */
	size_t Depth;             /* slices (layers if layered); 0: 1D/2D */
	CUarray_format Format;    /* CU_AD_FORMAT_* of each channel */
	unsigned int NumChannels; /* channels per element: 1, 2 or 4 */
	unsigned int Flags;       /* CUDA_ARRAY3D_* */
} NVS_CU_STRUCT(CUDA_ARRAY3D_DESCRIPTOR_v2);
typedef NVS_CU_STRUCT(CUDA_ARRAY3D_DESCRIPTOR_v2)
    NVS_CU_STRUCT(CUDA_ARRAY3D_DESCRIPTOR);

typedef struct NVS_CU_STRUCT(CUexecAffinityParam_st) {
	CUexecAffinityType type; /* CU_EXEC_AFFINITY_TYPE_SM_COUNT */
	union {
		struct {
			unsigned int val; /* SMs the context may use */
		} smCount;
	} param;
} NVS_CU_STRUCT(CUexecAffinityParam_v1);
typedef NVS_CU_STRUCT(CUexecAffinityParam_v1)
    NVS_CU_STRUCT(CUexecAffinityParam);

/* Exactly one of execAffinityParams and cigParams is set. */
typedef struct NVS_CU_STRUCT(CUctxCreateParams_st) {
	/* execution affinities (numExecAffinityParams of them), or NULL */
	struct NVS_CU_STRUCT(CUexecAffinityParam_st) * execAffinityParams;
	int numExecAffinityParams; /* entries of execAffinityParams */
	CUctxCigParam *cigParams;  /* CUDA-in-graphics sharing, or NULL */
} NVS_CU_STRUCT(CUctxCreateParams);

#ifndef CUDAAPI
#define CUDAAPI
#endif

/* --- Initialisation, devices, contexts -------------------------------- */
CUresult CUDAAPI cuInit(unsigned int flags);
CUresult CUDAAPI cuDriverGetVersion(int *version);
CUresult CUDAAPI cuGetErrorName(CUresult error, const char **str);
CUresult CUDAAPI cuGetErrorString(CUresult error, const char **str);
CUresult CUDAAPI cuGetProcAddress(const char *symbol, void **pfn,
                                  int cudaVersion, cuuint64_t flags);
CUresult CUDAAPI cuGetProcAddress_v2(
    const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags,
    CUdriverProcAddressQueryResult *symbolStatus);
CUresult CUDAAPI cuDeviceGet(CUdevice *device, int ordinal);
CUresult CUDAAPI cuDeviceGetCount(int *count);
CUresult CUDAAPI cuDeviceGetName(char *name, int len, CUdevice dev);
CUresult CUDAAPI cuDeviceGetUuid(CUuuid *uuid, CUdevice dev);
CUresult CUDAAPI cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev);
CUresult CUDAAPI cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev);
CUresult CUDAAPI cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib,
                                      CUdevice dev);
CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev);
CUresult CUDAAPI cuDevicePrimaryCtxRelease_v2(CUdevice dev);
CUresult CUDAAPI cuDevicePrimaryCtxReset_v2(CUdevice dev);
/* The CUDA 7.0 ABI, still what the CUDA 13 runtime asks cuGetProcAddress
 * for (version 7000) when cudaDeviceReset resets the primary context. */
CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice dev);
CUresult CUDAAPI cuDevicePrimaryCtxReset(CUdevice dev);
CUresult CUDAAPI cuCtxCreate_v2(CUcontext *pctx, unsigned int flags,
                                CUdevice dev);
CUresult CUDAAPI cuCtxCreate_v3(CUcontext *pctx,
                                CUexecAffinityParam *paramsArray, int numParams,
                                unsigned int flags, CUdevice dev);
CUresult CUDAAPI cuCtxCreate_v4(CUcontext *pctx,
                                CUctxCreateParams *ctxCreateParams,
                                unsigned int flags, CUdevice dev);
CUresult CUDAAPI cuCtxDestroy_v2(CUcontext ctx);
CUresult CUDAAPI cuCtxSetCurrent(CUcontext ctx);
CUresult CUDAAPI cuCtxGetCurrent(CUcontext *pctx);
CUresult CUDAAPI cuCtxPushCurrent_v2(CUcontext ctx);
CUresult CUDAAPI cuCtxPopCurrent_v2(CUcontext *pctx);
CUresult CUDAAPI cuCtxGetDevice(CUdevice *device);
CUresult CUDAAPI cuCtxSynchronize(void);

/* --- Modules ------------------------------------------------------------ */
CUresult CUDAAPI cuModuleLoadData(CUmodule *module, const void *image);
CUresult CUDAAPI cuModuleUnload(CUmodule hmod);
CUresult CUDAAPI cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod,
                                     const char *name);

/* --- Memory ------------------------------------------------------------- */
CUresult CUDAAPI cuMemGetInfo_v2(size_t *free, size_t *total);
CUresult CUDAAPI cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize);
CUresult CUDAAPI cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pPitch,
                                    size_t WidthInBytes, size_t Height,
                                    unsigned int ElementSizeBytes);
CUresult CUDAAPI cuMemAllocManaged(CUdeviceptr *dptr, size_t bytesize,
                                   unsigned int flags);
CUresult CUDAAPI cuMemFree_v2(CUdeviceptr dptr);
CUresult CUDAAPI cuMemAllocAsync(CUdeviceptr *dptr, size_t bytesize,
                                 CUstream hStream);
CUresult CUDAAPI cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t bytesize,
                                      CUstream hStream);
CUresult CUDAAPI cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t bytesize,
                                         CUmemoryPool pool, CUstream hStream);
CUresult CUDAAPI cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *dptr,
                                              size_t bytesize,
                                              CUmemoryPool pool,
                                              CUstream hStream);
CUresult CUDAAPI cuMemFreeAsync(CUdeviceptr dptr, CUstream hStream);
CUresult CUDAAPI cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags);
CUresult CUDAAPI cuMemFreeHost(void *p);
CUresult CUDAAPI cuMemHostRegister_v2(void *p, size_t bytesize,
                                      unsigned int Flags);
CUresult CUDAAPI cuMemHostUnregister(void *p);
CUresult CUDAAPI cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream hStream);
CUresult CUDAAPI cuMemPrefetchAsync(CUdeviceptr devPtr, size_t count,
                                    CUdevice dstDevice, CUstream hStream);
CUresult CUDAAPI cuMemPrefetchAsync_ptsz(CUdeviceptr devPtr, size_t count,
                                         CUdevice dstDevice, CUstream hStream);
CUresult CUDAAPI cuMemPrefetchAsync_v2(CUdeviceptr devPtr, size_t count,
                                       CUmemLocation location,
                                       unsigned int flags, CUstream hStream);
CUresult CUDAAPI cuMemPrefetchAsync_v2_ptsz(CUdeviceptr devPtr, size_t count,
                                            CUmemLocation location,
                                            unsigned int flags,
                                            CUstream hStream);
CUresult CUDAAPI cuMemAdvise(CUdeviceptr devPtr, size_t count,
                             CUmem_advise advice, CUdevice device);
CUresult CUDAAPI cuMemAdvise_v2(CUdeviceptr devPtr, size_t count,
                                CUmem_advise advice, CUmemLocation location);

/* --- Memory pools ------------------------------------------------------- */
CUresult CUDAAPI cuDeviceGetDefaultMemPool(CUmemoryPool *pool_out,
                                           CUdevice dev);
CUresult CUDAAPI cuMemPoolCreate(CUmemoryPool *pool,
                                 const CUmemPoolProps *poolProps);
CUresult CUDAAPI cuMemPoolDestroy(CUmemoryPool pool);

/* --- Virtual memory management ---------------------------------------- */
CUresult CUDAAPI cuMemGetAllocationGranularity(
    size_t *granularity, const CUmemAllocationProp *prop,
    CUmemAllocationGranularity_flags option);
CUresult CUDAAPI cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size,
                             const CUmemAllocationProp *prop,
                             unsigned long long flags);
CUresult CUDAAPI cuMemRelease(CUmemGenericAllocationHandle handle);
CUresult CUDAAPI
cuMemRetainAllocationHandle(CUmemGenericAllocationHandle *handle, void *addr);
CUresult CUDAAPI cuMemAddressReserve(CUdeviceptr *ptr, size_t size,
                                     size_t alignment, CUdeviceptr addr,
                                     unsigned long long flags);
CUresult CUDAAPI cuMemAddressFree(CUdeviceptr ptr, size_t size);
CUresult CUDAAPI cuMemMap(CUdeviceptr ptr, size_t size, size_t offset,
                          CUmemGenericAllocationHandle handle,
                          unsigned long long flags);
CUresult CUDAAPI cuMemUnmap(CUdeviceptr ptr, size_t size);
CUresult CUDAAPI cuMemSetAccess(CUdeviceptr ptr, size_t size,
                                const CUmemAccessDesc *desc, size_t count);

/* --- Arrays --------------------------------------------------------------- */
CUresult CUDAAPI cuArrayCreate_v2(CUarray *pHandle,
                                  const CUDA_ARRAY_DESCRIPTOR *pAllocateArray);
CUresult CUDAAPI cuArray3DCreate_v2(
    CUarray *pHandle, const CUDA_ARRAY3D_DESCRIPTOR *pAllocateArray);
CUresult CUDAAPI cuArrayDestroy(CUarray hArray);
CUresult CUDAAPI
cuMipmappedArrayCreate(CUmipmappedArray *pHandle,
                       const CUDA_ARRAY3D_DESCRIPTOR *pMipmappedArrayDesc,
                       unsigned int numMipmapLevels);
CUresult CUDAAPI cuMipmappedArrayDestroy(CUmipmappedArray hMipmappedArray);

/* --- Copies (gated by libnvshare) ---------------------------------------- */
CUresult CUDAAPI cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount);
CUresult CUDAAPI cuMemcpy_ptds(CUdeviceptr dst, CUdeviceptr src,
                               size_t ByteCount);
CUresult CUDAAPI cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src,
                               size_t ByteCount, CUstream hStream);
CUresult CUDAAPI cuMemcpyAsync_ptsz(CUdeviceptr dst, CUdeviceptr src,
                                    size_t ByteCount, CUstream hStream);
CUresult CUDAAPI cuMemcpyPeer(CUdeviceptr dstDevice, CUcontext dstContext,
                              CUdeviceptr srcDevice, CUcontext srcContext,
                              size_t ByteCount);
CUresult CUDAAPI cuMemcpyPeer_ptds(CUdeviceptr dstDevice, CUcontext dstContext,
                                   CUdeviceptr srcDevice, CUcontext srcContext,
                                   size_t ByteCount);
CUresult CUDAAPI cuMemcpyPeerAsync(CUdeviceptr dstDevice, CUcontext dstContext,
                                   CUdeviceptr srcDevice, CUcontext srcContext,
                                   size_t ByteCount, CUstream hStream);
CUresult CUDAAPI cuMemcpyPeerAsync_ptsz(CUdeviceptr dstDevice,
                                        CUcontext dstContext,
                                        CUdeviceptr srcDevice,
                                        CUcontext srcContext, size_t ByteCount,
                                        CUstream hStream);
CUresult CUDAAPI cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost,
                                 size_t ByteCount);
CUresult CUDAAPI cuMemcpyHtoD_v2_ptds(CUdeviceptr dstDevice,
                                      const void *srcHost, size_t ByteCount);
CUresult CUDAAPI cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice,
                                 size_t ByteCount);
CUresult CUDAAPI cuMemcpyDtoH_v2_ptds(void *dstHost, CUdeviceptr srcDevice,
                                      size_t ByteCount);
CUresult CUDAAPI cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice,
                                 size_t ByteCount);
CUresult CUDAAPI cuMemcpyDtoD_v2_ptds(CUdeviceptr dstDevice,
                                      CUdeviceptr srcDevice, size_t ByteCount);
CUresult CUDAAPI cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice,
                                      const void *srcHost, size_t ByteCount,
                                      CUstream hStream);
CUresult CUDAAPI cuMemcpyHtoDAsync_v2_ptsz(CUdeviceptr dstDevice,
                                           const void *srcHost,
                                           size_t ByteCount, CUstream hStream);
CUresult CUDAAPI cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice,
                                      size_t ByteCount, CUstream hStream);
CUresult CUDAAPI cuMemcpyDtoHAsync_v2_ptsz(void *dstHost, CUdeviceptr srcDevice,
                                           size_t ByteCount, CUstream hStream);
CUresult CUDAAPI cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice,
                                      CUdeviceptr srcDevice, size_t ByteCount,
                                      CUstream hStream);
CUresult CUDAAPI cuMemcpyDtoDAsync_v2_ptsz(CUdeviceptr dstDevice,
                                           CUdeviceptr srcDevice,
                                           size_t ByteCount, CUstream hStream);
CUresult CUDAAPI cuMemcpy2D_v2(const CUDA_MEMCPY2D *pCopy);
CUresult CUDAAPI cuMemcpy2D_v2_ptds(const CUDA_MEMCPY2D *pCopy);
CUresult CUDAAPI cuMemcpy2DUnaligned_v2(const CUDA_MEMCPY2D *pCopy);
CUresult CUDAAPI cuMemcpy2DUnaligned_v2_ptds(const CUDA_MEMCPY2D *pCopy);
CUresult CUDAAPI cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D *pCopy,
                                    CUstream hStream);
CUresult CUDAAPI cuMemcpy2DAsync_v2_ptsz(const CUDA_MEMCPY2D *pCopy,
                                         CUstream hStream);
CUresult CUDAAPI cuMemcpy3D_v2(const CUDA_MEMCPY3D *pCopy);
CUresult CUDAAPI cuMemcpy3D_v2_ptds(const CUDA_MEMCPY3D *pCopy);
CUresult CUDAAPI cuMemcpy3DAsync_v2(const CUDA_MEMCPY3D *pCopy,
                                    CUstream hStream);
CUresult CUDAAPI cuMemcpy3DAsync_v2_ptsz(const CUDA_MEMCPY3D *pCopy,
                                         CUstream hStream);
CUresult CUDAAPI cuMemcpy3DPeer(const CUDA_MEMCPY3D_PEER *pCopy);
CUresult CUDAAPI cuMemcpy3DPeer_ptds(const CUDA_MEMCPY3D_PEER *pCopy);
CUresult CUDAAPI cuMemcpy3DPeerAsync(const CUDA_MEMCPY3D_PEER *pCopy,
                                     CUstream hStream);
CUresult CUDAAPI cuMemcpy3DPeerAsync_ptsz(const CUDA_MEMCPY3D_PEER *pCopy,
                                          CUstream hStream);

/* --- Memsets (gated) ------------------------------------------------------ */
CUresult CUDAAPI cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc,
                               size_t N);
CUresult CUDAAPI cuMemsetD8_v2_ptds(CUdeviceptr dstDevice, unsigned char uc,
                                    size_t N);
CUresult CUDAAPI cuMemsetD16_v2(CUdeviceptr dstDevice, unsigned short us,
                                size_t N);
CUresult CUDAAPI cuMemsetD16_v2_ptds(CUdeviceptr dstDevice, unsigned short us,
                                     size_t N);
CUresult CUDAAPI cuMemsetD32_v2(CUdeviceptr dstDevice, unsigned int ui,
                                size_t N);
CUresult CUDAAPI cuMemsetD32_v2_ptds(CUdeviceptr dstDevice, unsigned int ui,
                                     size_t N);
CUresult CUDAAPI cuMemsetD2D8_v2(CUdeviceptr dstDevice, size_t dstPitch,
                                 unsigned char uc, size_t Width, size_t Height);
CUresult CUDAAPI cuMemsetD2D8_v2_ptds(CUdeviceptr dstDevice, size_t dstPitch,
                                      unsigned char uc, size_t Width,
                                      size_t Height);
CUresult CUDAAPI cuMemsetD2D16_v2(CUdeviceptr dstDevice, size_t dstPitch,
                                  unsigned short us, size_t Width,
                                  size_t Height);
CUresult CUDAAPI cuMemsetD2D16_v2_ptds(CUdeviceptr dstDevice, size_t dstPitch,
                                       unsigned short us, size_t Width,
                                       size_t Height);
CUresult CUDAAPI cuMemsetD2D32_v2(CUdeviceptr dstDevice, size_t dstPitch,
                                  unsigned int ui, size_t Width, size_t Height);
CUresult CUDAAPI cuMemsetD2D32_v2_ptds(CUdeviceptr dstDevice, size_t dstPitch,
                                       unsigned int ui, size_t Width,
                                       size_t Height);
CUresult CUDAAPI cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc,
                                 size_t N, CUstream hStream);
CUresult CUDAAPI cuMemsetD8Async_ptsz(CUdeviceptr dstDevice, unsigned char uc,
                                      size_t N, CUstream hStream);
CUresult CUDAAPI cuMemsetD16Async(CUdeviceptr dstDevice, unsigned short us,
                                  size_t N, CUstream hStream);
CUresult CUDAAPI cuMemsetD16Async_ptsz(CUdeviceptr dstDevice, unsigned short us,
                                       size_t N, CUstream hStream);
CUresult CUDAAPI cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui,
                                  size_t N, CUstream hStream);
CUresult CUDAAPI cuMemsetD32Async_ptsz(CUdeviceptr dstDevice, unsigned int ui,
                                       size_t N, CUstream hStream);
CUresult CUDAAPI cuMemsetD2D8Async(CUdeviceptr dstDevice, size_t dstPitch,
                                   unsigned char uc, size_t Width,
                                   size_t Height, CUstream hStream);
CUresult CUDAAPI cuMemsetD2D8Async_ptsz(CUdeviceptr dstDevice, size_t dstPitch,
                                        unsigned char uc, size_t Width,
                                        size_t Height, CUstream hStream);
CUresult CUDAAPI cuMemsetD2D16Async(CUdeviceptr dstDevice, size_t dstPitch,
                                    unsigned short us, size_t Width,
                                    size_t Height, CUstream hStream);
CUresult CUDAAPI cuMemsetD2D16Async_ptsz(CUdeviceptr dstDevice, size_t dstPitch,
                                         unsigned short us, size_t Width,
                                         size_t Height, CUstream hStream);
CUresult CUDAAPI cuMemsetD2D32Async(CUdeviceptr dstDevice, size_t dstPitch,
                                    unsigned int ui, size_t Width,
                                    size_t Height, CUstream hStream);
CUresult CUDAAPI cuMemsetD2D32Async_ptsz(CUdeviceptr dstDevice, size_t dstPitch,
                                         unsigned int ui, size_t Width,
                                         size_t Height, CUstream hStream);

/* --- Launches (gated) --------------------------------------------------- */
CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned int gridDimX,
                                unsigned int gridDimY, unsigned int gridDimZ,
                                unsigned int blockDimX, unsigned int blockDimY,
                                unsigned int blockDimZ,
                                unsigned int sharedMemBytes, CUstream hStream,
                                void **kernelParams, void **extra);
CUresult CUDAAPI cuLaunchKernel_ptsz(
    CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
    unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
    unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
    void **kernelParams, void **extra);
CUresult CUDAAPI cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f,
                                  void **kernelParams, void **extra);
CUresult CUDAAPI cuLaunchKernelEx_ptsz(const CUlaunchConfig *config,
                                       CUfunction f, void **kernelParams,
                                       void **extra);
CUresult CUDAAPI cuLaunchCooperativeKernel(
    CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
    unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
    unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
    void **kernelParams);
CUresult CUDAAPI cuLaunchCooperativeKernel_ptsz(
    CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
    unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
    unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
    void **kernelParams);
CUresult CUDAAPI cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream);
CUresult CUDAAPI cuGraphLaunch_ptsz(CUgraphExec hGraphExec, CUstream hStream);
CUresult CUDAAPI cuGraphInstantiateWithFlags(CUgraphExec *phGraphExec,
                                             CUgraph hGraph,
                                             unsigned long long flags);
CUresult CUDAAPI cuGraphExecDestroy(CUgraphExec hGraphExec);
CUresult CUDAAPI cuGraphDestroy(CUgraph hGraph);

/* --- Streams, events, capture ------------------------------------------- */
CUresult CUDAAPI cuStreamCreate(CUstream *phStream, unsigned int Flags);
CUresult CUDAAPI cuStreamDestroy_v2(CUstream hStream);
CUresult CUDAAPI cuStreamSynchronize(CUstream hStream);
CUresult CUDAAPI cuStreamSynchronize_ptsz(CUstream hStream);
CUresult CUDAAPI cuStreamQuery(CUstream hStream);
CUresult CUDAAPI cuStreamQuery_ptsz(CUstream hStream);
CUresult CUDAAPI cuStreamBeginCapture_v2(CUstream hStream,
                                         CUstreamCaptureMode mode);
/* The CUDA 10.0 ABI, without a mode (it captures in global mode); the CUDA
 * 13 runtime still asks for it (version 10000). */
CUresult CUDAAPI cuStreamBeginCapture(CUstream hStream);
CUresult CUDAAPI cuStreamBeginCapture_ptsz(CUstream hStream);
CUresult CUDAAPI cuStreamBeginCapture_v2_ptsz(CUstream hStream,
                                              CUstreamCaptureMode mode);
CUresult CUDAAPI cuStreamEndCapture(CUstream hStream, CUgraph *phGraph);
CUresult CUDAAPI cuStreamEndCapture_ptsz(CUstream hStream, CUgraph *phGraph);
CUresult CUDAAPI cuStreamIsCapturing(CUstream hStream,
                                     CUstreamCaptureStatus *captureStatus);
CUresult CUDAAPI cuStreamIsCapturing_ptsz(CUstream hStream,
                                          CUstreamCaptureStatus *captureStatus);
CUresult CUDAAPI cuEventCreate(CUevent *phEvent, unsigned int Flags);
CUresult CUDAAPI cuEventDestroy_v2(CUevent hEvent);
CUresult CUDAAPI cuEventRecord(CUevent hEvent, CUstream hStream);
CUresult CUDAAPI cuEventRecord_ptsz(CUevent hEvent, CUstream hStream);
CUresult CUDAAPI cuEventQuery(CUevent hEvent);
CUresult CUDAAPI cuEventSynchronize(CUevent hEvent);
CUresult CUDAAPI cuEventElapsedTime(float *pMilliseconds, CUevent hStart,
                                    CUevent hEnd);

/*
 * The driver's exported symbols that cuGetProcAddress can answer for:
 * exported name, name as asked for (no suffix), the CUDA version that
 * introduced this ABI, and whether it is the per-thread-default-stream
 * variant. cuGetProcAddress(base, version, flags) picks, among rows with
 * that base, the per-thread variant if flags ask for it (and one exists),
 * then the highest since_version not above the requested version.
 */
#define NVS_CU_SYMBOLS(X)                                                      \
	X(cuInit, cuInit, 2000, 0)                                             \
	X(cuDriverGetVersion, cuDriverGetVersion, 2020, 0)                     \
	X(cuGetErrorName, cuGetErrorName, 6000, 0)                             \
	X(cuGetErrorString, cuGetErrorString, 6000, 0)                         \
	X(cuGetProcAddress, cuGetProcAddress, 11030, 0)                        \
	X(cuGetProcAddress_v2, cuGetProcAddress, 12000, 0)                     \
	X(cuDeviceGet, cuDeviceGet, 2000, 0)                                   \
	X(cuDeviceGetCount, cuDeviceGetCount, 2000, 0)                         \
	X(cuDeviceGetName, cuDeviceGetName, 2000, 0)                           \
	X(cuDeviceGetUuid, cuDeviceGetUuid, 9020, 0)                           \
	X(cuDeviceGetUuid_v2, cuDeviceGetUuid, 11040, 0)                       \
	X(cuDeviceTotalMem_v2, cuDeviceTotalMem, 3020, 0)                      \
	X(cuDeviceGetAttribute, cuDeviceGetAttribute, 2000, 0)                 \
	X(cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRetain, 7000, 0)         \
	X(cuDevicePrimaryCtxRelease, cuDevicePrimaryCtxRelease, 7000, 0)       \
	X(cuDevicePrimaryCtxRelease_v2, cuDevicePrimaryCtxRelease, 11000, 0)   \
	X(cuDevicePrimaryCtxReset, cuDevicePrimaryCtxReset, 7000, 0)           \
	X(cuDevicePrimaryCtxReset_v2, cuDevicePrimaryCtxReset, 11000, 0)       \
	X(cuCtxCreate_v2, cuCtxCreate, 3020, 0)                                \
	X(cuCtxCreate_v3, cuCtxCreate, 11040, 0)                               \
	X(cuCtxCreate_v4, cuCtxCreate, 12050, 0)                               \
	X(cuCtxDestroy_v2, cuCtxDestroy, 4000, 0)                              \
	X(cuCtxSetCurrent, cuCtxSetCurrent, 4000, 0)                           \
	X(cuCtxGetCurrent, cuCtxGetCurrent, 4000, 0)                           \
	X(cuCtxPushCurrent_v2, cuCtxPushCurrent, 4000, 0)                      \
	X(cuCtxPopCurrent_v2, cuCtxPopCurrent, 4000, 0)                        \
	X(cuCtxGetDevice, cuCtxGetDevice, 2000, 0)                             \
	X(cuCtxSynchronize, cuCtxSynchronize, 2000, 0)                         \
	X(cuModuleLoadData, cuModuleLoadData, 2000, 0)                         \
	X(cuModuleUnload, cuModuleUnload, 2000, 0)                             \
	X(cuModuleGetFunction, cuModuleGetFunction, 2000, 0)                   \
	X(cuMemGetInfo_v2, cuMemGetInfo, 3020, 0)                              \
	X(cuMemAlloc_v2, cuMemAlloc, 3020, 0)                                  \
	X(cuMemAllocPitch_v2, cuMemAllocPitch, 3020, 0)                        \
	X(cuMemAllocManaged, cuMemAllocManaged, 6000, 0)                       \
	X(cuMemFree_v2, cuMemFree, 3020, 0)                                    \
	X(cuMemAllocAsync, cuMemAllocAsync, 11020, 0)                          \
	X(cuMemAllocAsync_ptsz, cuMemAllocAsync, 11020, 1)                     \
	X(cuMemAllocFromPoolAsync, cuMemAllocFromPoolAsync, 11020, 0)          \
	X(cuMemAllocFromPoolAsync_ptsz, cuMemAllocFromPoolAsync, 11020, 1)     \
	X(cuMemFreeAsync, cuMemFreeAsync, 11020, 0)                            \
	X(cuMemHostAlloc, cuMemHostAlloc, 2020, 0)                             \
	X(cuMemFreeHost, cuMemFreeHost, 2000, 0)                               \
	X(cuMemHostRegister_v2, cuMemHostRegister, 6050, 0)                    \
	X(cuMemHostUnregister, cuMemHostUnregister, 4000, 0)                   \
	X(cuMemFreeAsync_ptsz, cuMemFreeAsync, 11020, 1)                       \
	X(cuMemPrefetchAsync, cuMemPrefetchAsync, 8000, 0)                     \
	X(cuMemPrefetchAsync_ptsz, cuMemPrefetchAsync, 8000, 1)                \
	X(cuMemPrefetchAsync_v2, cuMemPrefetchAsync, 12020, 0)                 \
	X(cuMemPrefetchAsync_v2_ptsz, cuMemPrefetchAsync, 12020, 1)            \
	X(cuMemAdvise, cuMemAdvise, 8000, 0)                                   \
	X(cuMemAdvise_v2, cuMemAdvise, 12020, 0)                               \
	X(cuDeviceGetDefaultMemPool, cuDeviceGetDefaultMemPool, 11020, 0)      \
	X(cuMemPoolCreate, cuMemPoolCreate, 11020, 0)                          \
	X(cuMemPoolDestroy, cuMemPoolDestroy, 11020, 0)                        \
	X(cuMemGetAllocationGranularity, cuMemGetAllocationGranularity, 10020, \
	  0)                                                                   \
	X(cuMemCreate, cuMemCreate, 10020, 0)                                  \
	X(cuMemRelease, cuMemRelease, 10020, 0)                                \
	X(cuMemRetainAllocationHandle, cuMemRetainAllocationHandle, 11000, 0)  \
	X(cuMemAddressReserve, cuMemAddressReserve, 10020, 0)                  \
	X(cuMemAddressFree, cuMemAddressFree, 10020, 0)                        \
	X(cuMemMap, cuMemMap, 10020, 0)                                        \
	X(cuMemUnmap, cuMemUnmap, 10020, 0)                                    \
	X(cuMemSetAccess, cuMemSetAccess, 10020, 0)                            \
	X(cuArrayCreate_v2, cuArrayCreate, 3020, 0)                            \
	X(cuArray3DCreate_v2, cuArray3DCreate, 3020, 0)                        \
	X(cuArrayDestroy, cuArrayDestroy, 2000, 0)                             \
	X(cuMipmappedArrayCreate, cuMipmappedArrayCreate, 5000, 0)             \
	X(cuMipmappedArrayDestroy, cuMipmappedArrayDestroy, 5000, 0)           \
	X(cuMemcpy, cuMemcpy, 4000, 0)                                         \
	X(cuMemcpy_ptds, cuMemcpy, 7000, 1)                                    \
	X(cuMemcpyAsync, cuMemcpyAsync, 4000, 0)                               \
	X(cuMemcpyAsync_ptsz, cuMemcpyAsync, 7000, 1)                          \
	X(cuMemcpyPeer, cuMemcpyPeer, 4000, 0)                                 \
	X(cuMemcpyPeer_ptds, cuMemcpyPeer, 7000, 1)                            \
	X(cuMemcpyPeerAsync, cuMemcpyPeerAsync, 4000, 0)                       \
	X(cuMemcpyPeerAsync_ptsz, cuMemcpyPeerAsync, 7000, 1)                  \
	X(cuMemcpyHtoD_v2, cuMemcpyHtoD, 3020, 0)                              \
	X(cuMemcpyHtoD_v2_ptds, cuMemcpyHtoD, 7000, 1)                         \
	X(cuMemcpyDtoH_v2, cuMemcpyDtoH, 3020, 0)                              \
	X(cuMemcpyDtoH_v2_ptds, cuMemcpyDtoH, 7000, 1)                         \
	X(cuMemcpyDtoD_v2, cuMemcpyDtoD, 3020, 0)                              \
	X(cuMemcpyDtoD_v2_ptds, cuMemcpyDtoD, 7000, 1)                         \
	X(cuMemcpyHtoDAsync_v2, cuMemcpyHtoDAsync, 3020, 0)                    \
	X(cuMemcpyHtoDAsync_v2_ptsz, cuMemcpyHtoDAsync, 7000, 1)               \
	X(cuMemcpyDtoHAsync_v2, cuMemcpyDtoHAsync, 3020, 0)                    \
	X(cuMemcpyDtoHAsync_v2_ptsz, cuMemcpyDtoHAsync, 7000, 1)               \
	X(cuMemcpyDtoDAsync_v2, cuMemcpyDtoDAsync, 3020, 0)                    \
	X(cuMemcpyDtoDAsync_v2_ptsz, cuMemcpyDtoDAsync, 7000, 1)               \
	X(cuMemcpy2D_v2, cuMemcpy2D, 3020, 0)                                  \
	X(cuMemcpy2D_v2_ptds, cuMemcpy2D, 7000, 1)                             \
	X(cuMemcpy2DUnaligned_v2, cuMemcpy2DUnaligned, 3020, 0)                \
	X(cuMemcpy2DUnaligned_v2_ptds, cuMemcpy2DUnaligned, 7000, 1)           \
	X(cuMemcpy2DAsync_v2, cuMemcpy2DAsync, 3020, 0)                        \
	X(cuMemcpy2DAsync_v2_ptsz, cuMemcpy2DAsync, 7000, 1)                   \
	X(cuMemcpy3D_v2, cuMemcpy3D, 3020, 0)                                  \
	X(cuMemcpy3D_v2_ptds, cuMemcpy3D, 7000, 1)                             \
	X(cuMemcpy3DAsync_v2, cuMemcpy3DAsync, 3020, 0)                        \
	X(cuMemcpy3DAsync_v2_ptsz, cuMemcpy3DAsync, 7000, 1)                   \
	X(cuMemcpy3DPeer, cuMemcpy3DPeer, 4000, 0)                             \
	X(cuMemcpy3DPeer_ptds, cuMemcpy3DPeer, 7000, 1)                        \
	X(cuMemcpy3DPeerAsync, cuMemcpy3DPeerAsync, 4000, 0)                   \
	X(cuMemcpy3DPeerAsync_ptsz, cuMemcpy3DPeerAsync, 7000, 1)              \
	X(cuMemsetD8_v2, cuMemsetD8, 3020, 0)                                  \
	X(cuMemsetD8_v2_ptds, cuMemsetD8, 7000, 1)                             \
	X(cuMemsetD16_v2, cuMemsetD16, 3020, 0)                                \
	X(cuMemsetD16_v2_ptds, cuMemsetD16, 7000, 1)                           \
	X(cuMemsetD32_v2, cuMemsetD32, 3020, 0)                                \
	X(cuMemsetD32_v2_ptds, cuMemsetD32, 7000, 1)                           \
	X(cuMemsetD2D8_v2, cuMemsetD2D8, 3020, 0)                              \
	X(cuMemsetD2D8_v2_ptds, cuMemsetD2D8, 7000, 1)                         \
	X(cuMemsetD2D16_v2, cuMemsetD2D16, 3020, 0)                            \
	X(cuMemsetD2D16_v2_ptds, cuMemsetD2D16, 7000, 1)                       \
	X(cuMemsetD2D32_v2, cuMemsetD2D32, 3020, 0)                            \
	X(cuMemsetD2D32_v2_ptds, cuMemsetD2D32, 7000, 1)                       \
	X(cuMemsetD8Async, cuMemsetD8Async, 3020, 0)                           \
	X(cuMemsetD8Async_ptsz, cuMemsetD8Async, 7000, 1)                      \
	X(cuMemsetD16Async, cuMemsetD16Async, 3020, 0)                         \
	X(cuMemsetD16Async_ptsz, cuMemsetD16Async, 7000, 1)                    \
	X(cuMemsetD32Async, cuMemsetD32Async, 3020, 0)                         \
	X(cuMemsetD32Async_ptsz, cuMemsetD32Async, 7000, 1)                    \
	X(cuMemsetD2D8Async, cuMemsetD2D8Async, 3020, 0)                       \
	X(cuMemsetD2D8Async_ptsz, cuMemsetD2D8Async, 7000, 1)                  \
	X(cuMemsetD2D16Async, cuMemsetD2D16Async, 3020, 0)                     \
	X(cuMemsetD2D16Async_ptsz, cuMemsetD2D16Async, 7000, 1)                \
	X(cuMemsetD2D32Async, cuMemsetD2D32Async, 3020, 0)                     \
	X(cuMemsetD2D32Async_ptsz, cuMemsetD2D32Async, 7000, 1)                \
	X(cuLaunchKernel, cuLaunchKernel, 4000, 0)                             \
	X(cuLaunchKernel_ptsz, cuLaunchKernel, 7000, 1)                        \
	X(cuLaunchKernelEx, cuLaunchKernelEx, 11060, 0)                        \
	X(cuLaunchKernelEx_ptsz, cuLaunchKernelEx, 11060, 1)                   \
	X(cuLaunchCooperativeKernel, cuLaunchCooperativeKernel, 9000, 0)       \
	X(cuLaunchCooperativeKernel_ptsz, cuLaunchCooperativeKernel, 9000, 1)  \
	X(cuGraphLaunch, cuGraphLaunch, 10000, 0)                              \
	X(cuGraphLaunch_ptsz, cuGraphLaunch, 10000, 1)                         \
	X(cuGraphInstantiateWithFlags, cuGraphInstantiateWithFlags, 11040, 0)  \
	X(cuGraphExecDestroy, cuGraphExecDestroy, 10000, 0)                    \
	X(cuGraphDestroy, cuGraphDestroy, 10000, 0)                            \
	X(cuStreamCreate, cuStreamCreate, 2000, 0)                             \
	X(cuStreamDestroy_v2, cuStreamDestroy, 4000, 0)                        \
	X(cuStreamSynchronize, cuStreamSynchronize, 2000, 0)                   \
	X(cuStreamSynchronize_ptsz, cuStreamSynchronize, 7000, 1)              \
	X(cuStreamQuery, cuStreamQuery, 2000, 0)                               \
	X(cuStreamQuery_ptsz, cuStreamQuery, 7000, 1)                          \
	X(cuStreamBeginCapture, cuStreamBeginCapture, 10000, 0)                \
	X(cuStreamBeginCapture_ptsz, cuStreamBeginCapture, 10000, 1)           \
	X(cuStreamBeginCapture_v2, cuStreamBeginCapture, 10010, 0)             \
	X(cuStreamBeginCapture_v2_ptsz, cuStreamBeginCapture, 10010, 1)        \
	X(cuStreamEndCapture, cuStreamEndCapture, 10000, 0)                    \
	X(cuStreamEndCapture_ptsz, cuStreamEndCapture, 10000, 1)               \
	X(cuStreamIsCapturing, cuStreamIsCapturing, 10000, 0)                  \
	X(cuStreamIsCapturing_ptsz, cuStreamIsCapturing, 10000, 1)             \
	X(cuEventCreate, cuEventCreate, 2000, 0)                               \
	X(cuEventDestroy_v2, cuEventDestroy, 4000, 0)                          \
	X(cuEventRecord, cuEventRecord, 2000, 0)                               \
	X(cuEventRecord_ptsz, cuEventRecord, 7000, 1)                          \
	X(cuEventQuery, cuEventQuery, 2000, 0)                                 \
	X(cuEventSynchronize, cuEventSynchronize, 2000, 0)                     \
	X(cuEventElapsedTime, cuEventElapsedTime, 2000, 0)

#endif /* NVSHARE_CUDA_API_H */
