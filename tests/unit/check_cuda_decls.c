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
