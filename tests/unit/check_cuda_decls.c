/*
 * check_cuda_decls.c - compiled only where a CUDA toolkit's cuda.h exists.
 *
 * NVIDIA's header comes first, with the internal switch that makes it
 * declare every exported symbol (the _v2 and _ptsz/_ptds ABIs) under its own
 * name. Including common/cuda_api.h afterwards then re-declares each function:
 * any mismatch in a prototype is a compile error. Constants and struct
 * layouts are compared with static assertions. The program itself only
 * prints what it checked, so CTest records it as a test.
 */
#define __CUDA_API_VERSION_INTERNAL 1
#include <cuda.h>
#include <stddef.h>
#include <stdio.h>

#define NVS_CHECK_AGAINST_CUDA_H 1
#include "cuda_api.h"

#define ASSERT_VALUE(name, value)                                              \
	_Static_assert((long long)(name) == (value),                           \
	               #name " differs from cuda.h");
NVS_CU_RESULTS(ASSERT_VALUE)
NVS_CU_CONSTANTS(ASSERT_VALUE)

#define SAME_FIELD(ours, theirs, field)                                        \
	_Static_assert(offsetof(ours, field) == offsetof(theirs, field) &&     \
	                   sizeof(((ours *)0)->field) ==                       \
	                       sizeof(((theirs *)0)->field),                   \
	               #theirs "." #field " differs from cuda.h");

_Static_assert(sizeof(nvs_check_CUuuid) == sizeof(CUuuid), "CUuuid size");
SAME_FIELD(nvs_check_CUuuid, CUuuid, bytes)
_Static_assert(sizeof(nvs_check_CUmemLocation) == sizeof(CUmemLocation),
               "CUmemLocation size");
SAME_FIELD(nvs_check_CUmemLocation, CUmemLocation, type)
SAME_FIELD(nvs_check_CUmemLocation, CUmemLocation, id)

#define SAME_SIZE(ours, theirs)                                                \
	_Static_assert(sizeof(ours) == sizeof(theirs),                         \
	               #theirs " size differs from cuda.h");

SAME_SIZE(nvs_check_CUmemAllocationProp, CUmemAllocationProp)
SAME_SIZE(nvs_check_CUmemAllocationProp_v1, CUmemAllocationProp_v1)
SAME_FIELD(nvs_check_CUmemAllocationProp, CUmemAllocationProp, type)
SAME_FIELD(nvs_check_CUmemAllocationProp, CUmemAllocationProp,
           requestedHandleTypes)
SAME_FIELD(nvs_check_CUmemAllocationProp, CUmemAllocationProp, location)
SAME_FIELD(nvs_check_CUmemAllocationProp, CUmemAllocationProp, location.type)
SAME_FIELD(nvs_check_CUmemAllocationProp, CUmemAllocationProp, location.id)
SAME_FIELD(nvs_check_CUmemAllocationProp, CUmemAllocationProp,
           win32HandleMetaData)
SAME_FIELD(nvs_check_CUmemAllocationProp, CUmemAllocationProp, allocFlags)
SAME_FIELD(nvs_check_CUmemAllocationProp, CUmemAllocationProp,
           allocFlags.compressionType)
SAME_FIELD(nvs_check_CUmemAllocationProp, CUmemAllocationProp,
           allocFlags.gpuDirectRDMACapable)
SAME_FIELD(nvs_check_CUmemAllocationProp, CUmemAllocationProp, allocFlags.usage)
SAME_FIELD(nvs_check_CUmemAllocationProp, CUmemAllocationProp,
           allocFlags.reserved)

SAME_SIZE(nvs_check_CUmemAccessDesc, CUmemAccessDesc)
SAME_SIZE(nvs_check_CUmemAccessDesc_v1, CUmemAccessDesc_v1)
SAME_FIELD(nvs_check_CUmemAccessDesc, CUmemAccessDesc, location)
SAME_FIELD(nvs_check_CUmemAccessDesc, CUmemAccessDesc, location.type)
SAME_FIELD(nvs_check_CUmemAccessDesc, CUmemAccessDesc, location.id)
SAME_FIELD(nvs_check_CUmemAccessDesc, CUmemAccessDesc, flags)

SAME_SIZE(nvs_check_CUmemPoolProps, CUmemPoolProps)
SAME_SIZE(nvs_check_CUmemPoolProps_v1, CUmemPoolProps_v1)
SAME_FIELD(nvs_check_CUmemPoolProps, CUmemPoolProps, allocType)
SAME_FIELD(nvs_check_CUmemPoolProps, CUmemPoolProps, handleTypes)
SAME_FIELD(nvs_check_CUmemPoolProps, CUmemPoolProps, location)
SAME_FIELD(nvs_check_CUmemPoolProps, CUmemPoolProps, win32SecurityAttributes)
SAME_FIELD(nvs_check_CUmemPoolProps, CUmemPoolProps, maxSize)
SAME_FIELD(nvs_check_CUmemPoolProps, CUmemPoolProps, usage)
SAME_FIELD(nvs_check_CUmemPoolProps, CUmemPoolProps, reserved)

SAME_SIZE(nvs_check_CUDA_ARRAY_DESCRIPTOR, CUDA_ARRAY_DESCRIPTOR)
SAME_SIZE(nvs_check_CUDA_ARRAY_DESCRIPTOR_v2, CUDA_ARRAY_DESCRIPTOR_v2)
SAME_FIELD(nvs_check_CUDA_ARRAY_DESCRIPTOR, CUDA_ARRAY_DESCRIPTOR, Width)
SAME_FIELD(nvs_check_CUDA_ARRAY_DESCRIPTOR, CUDA_ARRAY_DESCRIPTOR, Height)
SAME_FIELD(nvs_check_CUDA_ARRAY_DESCRIPTOR, CUDA_ARRAY_DESCRIPTOR, Format)
SAME_FIELD(nvs_check_CUDA_ARRAY_DESCRIPTOR, CUDA_ARRAY_DESCRIPTOR, NumChannels)

SAME_SIZE(nvs_check_CUDA_ARRAY3D_DESCRIPTOR, CUDA_ARRAY3D_DESCRIPTOR)
SAME_SIZE(nvs_check_CUDA_ARRAY3D_DESCRIPTOR_v2, CUDA_ARRAY3D_DESCRIPTOR_v2)
SAME_FIELD(nvs_check_CUDA_ARRAY3D_DESCRIPTOR, CUDA_ARRAY3D_DESCRIPTOR, Width)
SAME_FIELD(nvs_check_CUDA_ARRAY3D_DESCRIPTOR, CUDA_ARRAY3D_DESCRIPTOR, Height)
SAME_FIELD(nvs_check_CUDA_ARRAY3D_DESCRIPTOR, CUDA_ARRAY3D_DESCRIPTOR, Depth)
SAME_FIELD(nvs_check_CUDA_ARRAY3D_DESCRIPTOR, CUDA_ARRAY3D_DESCRIPTOR, Format)
SAME_FIELD(nvs_check_CUDA_ARRAY3D_DESCRIPTOR, CUDA_ARRAY3D_DESCRIPTOR,
           NumChannels)
SAME_FIELD(nvs_check_CUDA_ARRAY3D_DESCRIPTOR, CUDA_ARRAY3D_DESCRIPTOR, Flags)

SAME_SIZE(nvs_check_CUexecAffinityParam, CUexecAffinityParam)
SAME_SIZE(nvs_check_CUexecAffinityParam_v1, CUexecAffinityParam_v1)
SAME_FIELD(nvs_check_CUexecAffinityParam, CUexecAffinityParam, type)
SAME_FIELD(nvs_check_CUexecAffinityParam, CUexecAffinityParam, param)
SAME_FIELD(nvs_check_CUexecAffinityParam, CUexecAffinityParam,
           param.smCount.val)

SAME_SIZE(nvs_check_CUctxCreateParams, CUctxCreateParams)
SAME_FIELD(nvs_check_CUctxCreateParams, CUctxCreateParams, execAffinityParams)
SAME_FIELD(nvs_check_CUctxCreateParams, CUctxCreateParams,
           numExecAffinityParams)
SAME_FIELD(nvs_check_CUctxCreateParams, CUctxCreateParams, cigParams)

/* cuda_api.h declares these enums as int. */
_Static_assert(sizeof(CUmemLocationType) == sizeof(int) &&
                   sizeof(CUmemAllocationType) == sizeof(int) &&
                   sizeof(CUmemAllocationHandleType) == sizeof(int) &&
                   sizeof(CUmemAccess_flags) == sizeof(int) &&
                   sizeof(CUmemAllocationGranularity_flags) == sizeof(int) &&
                   sizeof(CUarray_format) == sizeof(int) &&
                   sizeof(CUexecAffinityType) == sizeof(int),
               "an enum of cuda.h is not int-sized");

/* The handle types are the same scalars. */
_Static_assert(sizeof(CUmemGenericAllocationHandle) ==
                       sizeof(unsigned long long) &&
                   (CUmemGenericAllocationHandle)-1 > 0,
               "CUmemGenericAllocationHandle");
_Static_assert(sizeof(CUmemGenericAllocationHandle_v1) ==
                   sizeof(unsigned long long),
               "CUmemGenericAllocationHandle_v1");

_Static_assert(NVS_CU_STREAM_LEGACY == CU_STREAM_LEGACY, "CU_STREAM_LEGACY");
_Static_assert(NVS_CU_STREAM_PER_THREAD == CU_STREAM_PER_THREAD,
               "CU_STREAM_PER_THREAD");

/* Every exported name in the symbol table must be declared by cuda.h too. */
#define TAKE_ADDRESS(export, base, since, per_thread) (void *)&export,
static void *const all_symbols[] = {NVS_CU_SYMBOLS(TAKE_ADDRESS)};

int main(void)
{
	printf("cuda.h (CUDA_VERSION %d) agrees with common/cuda_api.h: "
	       "%zu symbols\n",
	       CUDA_VERSION, sizeof(all_symbols) / sizeof(all_symbols[0]));
	return 0;
}
