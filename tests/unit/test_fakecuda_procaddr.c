/*
 * test_fakecuda_procaddr.c - the simulated driver's cuGetProcAddress
 * answers like the real one (the cases were checked against a CUDA 13.0
 * driver): version selection, the per-thread flag, unknown names, versions
 * too old; and every address it hands out is the one dlsym() gives for the
 * exported name. The library is dlopen()ed by absolute path
 * (FAKECUDA_LIB), so nothing here links against it.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cuda_api.h"

static void *lib;
static __typeof__(cuGetProcAddress_v2) *get_proc_v2;
static __typeof__(cuGetProcAddress) *get_proc;

/* Resolves with cuGetProcAddress_v2; returns the CUresult. */
static CUresult lookup(const char *name, int version, cuuint64_t flags,
                       void **fn, int *status)
{
	CUdriverProcAddressQueryResult st = -1;
	CUresult r = get_proc_v2(name, fn, version, flags, &st);

	*status = st;
	return r;
}

static void check_resolves_to(const char *name, int version, cuuint64_t flags,
                              const char *exported)
{
	void *fn = NULL, *want = dlsym(lib, exported);
	int status = -1;

	CHECK(want != NULL);
	CHECK_EQ(lookup(name, version, flags, &fn, &status), CUDA_SUCCESS);
	CHECK_EQ(status, CU_GET_PROC_ADDRESS_SUCCESS);
	if (fn != want)
		fprintf(stderr, "  %s@%d flags=%llu: want %s\n", name, version,
		        (unsigned long long)flags, exported);
	CHECK(fn == want);
}

static void test_every_symbol_exported(void)
{
#define CHECK_EXPORT(exported, base, since, per_thread)                        \
	CHECK(dlsym(lib, #exported) != NULL);
	NVS_CU_SYMBOLS(CHECK_EXPORT)
#undef CHECK_EXPORT
}

static void test_versions(void)
{
	/* The newest ABI not above the requested version. */
	check_resolves_to("cuMemAlloc", 12000, 0, "cuMemAlloc_v2");
	check_resolves_to("cuDeviceGetUuid", 11040, 0, "cuDeviceGetUuid_v2");
	check_resolves_to("cuDeviceGetUuid", 11030, 0, "cuDeviceGetUuid");
	check_resolves_to("cuGetProcAddress", 12000, 0, "cuGetProcAddress_v2");
	check_resolves_to("cuGetProcAddress", 11080, 0, "cuGetProcAddress");
	check_resolves_to("cuMemPrefetchAsync", 12010, 0, "cuMemPrefetchAsync");
	check_resolves_to("cuMemPrefetchAsync", 12020, 0,
	                  "cuMemPrefetchAsync_v2");
	check_resolves_to("cuMemAdvise", 13000, 0, "cuMemAdvise_v2");
	/* cuCtxCreate: each CUDA version's ABI. */
	check_resolves_to("cuCtxCreate", 11030, 0, "cuCtxCreate_v2");
	check_resolves_to("cuCtxCreate", 12000, 0, "cuCtxCreate_v3");
	check_resolves_to("cuCtxCreate", 13000, 0, "cuCtxCreate_v4");
	/* Virtual memory management, arrays, pools. */
	check_resolves_to("cuMemCreate", 12000, 0, "cuMemCreate");
	check_resolves_to("cuMemMap", 10020, 0, "cuMemMap");
	check_resolves_to("cuArrayCreate", 12000, 0, "cuArrayCreate_v2");
	check_resolves_to("cuArray3DCreate", 3020, 0, "cuArray3DCreate_v2");
	check_resolves_to("cuMipmappedArrayCreate", 12000, 0,
	                  "cuMipmappedArrayCreate");
	check_resolves_to("cuMemPoolCreate", 11020, 0, "cuMemPoolCreate");
	check_resolves_to("cuDeviceGetDefaultMemPool", 13000,
	                  CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
	                  "cuDeviceGetDefaultMemPool");
}

static void test_per_thread(void)
{
	check_resolves_to("cuLaunchKernel", 12000, 0, "cuLaunchKernel");
	check_resolves_to("cuLaunchKernel", 12000,
	                  CU_GET_PROC_ADDRESS_LEGACY_STREAM, "cuLaunchKernel");
	check_resolves_to("cuLaunchKernel", 12000,
	                  CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
	                  "cuLaunchKernel_ptsz");
	check_resolves_to("cuMemcpyHtoD", 12000,
	                  CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
	                  "cuMemcpyHtoD_v2_ptds");
	check_resolves_to("cuMemPrefetchAsync", 12020,
	                  CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
	                  "cuMemPrefetchAsync_v2_ptsz");
	/* No per-thread variant: the ordinary one. */
	check_resolves_to("cuMemAlloc", 12000,
	                  CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
	                  "cuMemAlloc_v2");
	check_resolves_to("cuCtxSynchronize", 12000,
	                  CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM,
	                  "cuCtxSynchronize");
}

/* Like a real driver (CUDA 13.0): the _v2 form succeeds and reports the
 * failed search only through the status and a NULL function. */
static void test_failures(void)
{
	void *fn = (void *)1;
	int status = -1;

	CHECK_EQ(lookup("cuNoSuchCall", 12000, 0, &fn, &status), CUDA_SUCCESS);
	CHECK_EQ(status, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	CHECK(fn == NULL);
	/* Suffixed names are not asked for. */
	fn = (void *)1;
	CHECK_EQ(lookup("cuMemAlloc_v2", 12000, 0, &fn, &status), CUDA_SUCCESS);
	CHECK_EQ(status, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
	CHECK(fn == NULL);
	fn = (void *)1;
	CHECK_EQ(lookup("cuMemAllocAsync", 11010, 0, &fn, &status),
	         CUDA_SUCCESS);
	CHECK_EQ(status, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	CHECK(fn == NULL);
	CHECK_EQ(lookup("cuGetProcAddress", 11020, 0, &fn, &status),
	         CUDA_SUCCESS);
	CHECK_EQ(status, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	CHECK_EQ(lookup("cuInit", 0, 0, &fn, &status), CUDA_SUCCESS);
	CHECK_EQ(status, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	CHECK_EQ(lookup("cuMemCreate", 10010, 0, &fn, &status), CUDA_SUCCESS);
	CHECK_EQ(status, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	/* The per-thread rows exist but are all newer than asked for. */
	CHECK_EQ(lookup("cuMemcpy", 6000,
	                CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &fn,
	                &status),
	         CUDA_SUCCESS);
	CHECK_EQ(status, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	/* Unknown flag bits are refused; both known bits: per-thread. */
	CHECK_EQ(lookup("cuInit", 12000, 4, &fn, &status),
	         CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(lookup("cuInit", 12000, 7, &fn, &status),
	         CUDA_ERROR_INVALID_VALUE);
	check_resolves_to("cuLaunchKernel", 12000, 3, "cuLaunchKernel_ptsz");
	check_resolves_to("cuMemcpy", 12000, 3, "cuMemcpy_ptds");
	CHECK_EQ(get_proc_v2(NULL, &fn, 12000, 0, NULL),
	         CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(get_proc_v2("cuInit", NULL, 12000, 0, NULL),
	         CUDA_ERROR_INVALID_VALUE);
	/* The status pointer is optional. */
	CHECK_EQ(get_proc_v2("cuInit", &fn, 12000, 0, NULL), CUDA_SUCCESS);
	CHECK(fn == dlsym(lib, "cuInit"));
}

static void test_legacy_entry(void)
{
	void *fn = NULL;

	CHECK_EQ(get_proc("cuStreamSynchronize", &fn, 12000,
	                  CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM),
	         CUDA_SUCCESS);
	CHECK(fn == dlsym(lib, "cuStreamSynchronize_ptsz"));
	/* The legacy form reports failed searches as NOT_FOUND. */
	CHECK_EQ(get_proc("cuNoSuchCall", &fn, 12000, 0), CUDA_ERROR_NOT_FOUND);
	CHECK_EQ(get_proc("cuMemAllocAsync", &fn, 11010, 0),
	         CUDA_ERROR_NOT_FOUND);
	CHECK(fn == NULL);
}

int main(void)
{
	lib = dlopen(FAKECUDA_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "dlopen %s: %s\n", FAKECUDA_LIB, dlerror());
		return 1;
	}
	*(void **)&get_proc_v2 = dlsym(lib, "cuGetProcAddress_v2");
	*(void **)&get_proc = dlsym(lib, "cuGetProcAddress");
	CHECK(get_proc_v2 != NULL);
	CHECK(get_proc != NULL);
	if (!get_proc_v2 || !get_proc)
		return check_summary("fakecuda_procaddr");
	test_every_symbol_exported();
	test_versions();
	test_per_thread();
	test_failures();
	test_legacy_entry();
	return check_summary("fakecuda_procaddr");
}
