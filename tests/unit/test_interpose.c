/*
 * test_interpose.c - runs with libnvshare.so preloaded over the simulated
 * driver (see lib.cmake for the environment) and checks every door into
 * the driver: dlsym on libcuda, cuGetProcAddress and its legacy form at
 * several CUDA versions and with the per-thread-default-stream flag, and
 * that RTLD_NEXT look-ups keep their meaning. Then it launches and copies
 * through the hooks with no scheduler running: the program must keep
 * working, unmanaged.
 */
#include "check.h"
#include "cuda_api.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef CUresult (*getproc_v2_fn)(const char *, void **, int, cuuint64_t,
                                  CUdriverProcAddressQueryResult *);
typedef CUresult (*getproc_fn)(const char *, void **, int, cuuint64_t);

static void *cuda;
static getproc_v2_fn getproc_v2;
static getproc_fn getproc;

/* Which object a function pointer lives in: "nvshare" or "cuda". */
static const char *owner(void *p)
{
	Dl_info info;

	if (!p || !dladdr(p, &info) || !info.dli_fname)
		return "none";
	if (strstr(info.dli_fname, "libnvshare"))
		return "nvshare";
	if (strstr(info.dli_fname, "libcuda"))
		return "cuda";
	if (strstr(info.dli_fname, "libc."))
		return "libc";
	return info.dli_fname;
}

static void *lookup(const char *name, int version, cuuint64_t flags,
                    CUresult *res, CUdriverProcAddressQueryResult *status)
{
	void *p = NULL;

	*res = getproc_v2(name, &p, version, flags, status);
	return p;
}

static void check_dlsym(void)
{
	/* Hooked symbols come from libnvshare, others from the driver. */
	static const char *const hooked[] = {"cuLaunchKernel",
	                                     "cuLaunchKernel_ptsz",
	                                     "cuLaunchKernelEx",
	                                     "cuGraphLaunch",
	                                     "cuMemcpyHtoD_v2",
	                                     "cuMemcpyDtoH_v2_ptds",
	                                     "cuMemsetD8_v2",
	                                     "cuMemAlloc_v2",
	                                     "cuMemFree_v2",
	                                     "cuMemGetInfo_v2",
	                                     "cuGetProcAddress",
	                                     "cuGetProcAddress_v2",
	                                     "cuLaunchCooperativeKernel",
	                                     "cuMemPrefetchAsync_v2"};

	for (size_t i = 0; i < sizeof(hooked) / sizeof(hooked[0]); i++) {
		void *p = dlsym(cuda, hooked[i]);
		if (strcmp(owner(p), "nvshare") != 0)
			fprintf(stderr, "dlsym %s -> %s\n", hooked[i],
			        owner(p));
		CHECK_STR(owner(p), "nvshare");
	}
	CHECK_STR(owner(dlsym(cuda, "cuDeviceGetName")), "cuda");
	CHECK_STR(owner(dlsym(cuda, "cuStreamCreate")), "cuda");
	CHECK(dlsym(cuda, "cuNoSuchFunction") == NULL);
	/* The global scope gets the hook too; another library does not. */
	CHECK_STR(owner(dlsym(RTLD_DEFAULT, "cuLaunchKernel")), "nvshare");
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	CHECK(libc != NULL && dlsym(libc, "cuLaunchKernel") == NULL);
	if (libc)
		dlclose(libc);
	/* RTLD_NEXT from this program still finds libc's malloc. */
	CHECK_STR(owner(dlsym(RTLD_NEXT, "malloc")), "libc");
	CHECK(dlsym(RTLD_NEXT, "no_such_symbol_anywhere") == NULL);
}

static void check_getproc(void)
{
	CUresult r;
	CUdriverProcAddressQueryResult st = -1;
	void *p;

	/* The runtime asks for cuGetProcAddress itself and must get ours. */
	p = lookup("cuGetProcAddress", 12000, 0, &r, &st);
	CHECK_EQ(r, CUDA_SUCCESS);
	CHECK(p == dlsym(cuda, "cuGetProcAddress_v2"));
	CHECK_STR(owner(p), "nvshare");
	p = lookup("cuGetProcAddress", 11030, 0, &r, &st);
	CHECK(p == dlsym(cuda, "cuGetProcAddress"));

	/* Per-thread flag selects the _ptsz ABI, default the legacy one. */
	p = lookup("cuLaunchKernel", 12000, CU_GET_PROC_ADDRESS_DEFAULT, &r,
	           &st);
	CHECK(p == dlsym(cuda, "cuLaunchKernel"));
	p = lookup("cuLaunchKernel", 7000,
	           CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &r, &st);
	CHECK(p == dlsym(cuda, "cuLaunchKernel_ptsz"));
	CHECK(p != dlsym(cuda, "cuLaunchKernel"));
	p = lookup("cuMemcpyHtoD", 12000,
	           CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &r, &st);
	CHECK(p == dlsym(cuda, "cuMemcpyHtoD_v2_ptds"));
	p = lookup("cuMemsetD32Async", 12000,
	           CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &r, &st);
	CHECK(p == dlsym(cuda, "cuMemsetD32Async_ptsz"));
	/* A function without a per-thread variant ignores the flag. */
	p = lookup("cuMemAlloc", 12000,
	           CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM, &r, &st);
	CHECK(p == dlsym(cuda, "cuMemAlloc_v2"));

	/* The requested version picks the ABI. */
	p = lookup("cuMemAlloc", 3020, 0, &r, &st);
	CHECK(p == dlsym(cuda, "cuMemAlloc_v2"));
	p = lookup("cuMemPrefetchAsync", 8000, 0, &r, &st);
	CHECK(p == dlsym(cuda, "cuMemPrefetchAsync"));
	p = lookup("cuMemPrefetchAsync", 12020, 0, &r, &st);
	CHECK(p == dlsym(cuda, "cuMemPrefetchAsync_v2"));
	p = lookup("cuLaunchKernelEx", 11060, 0, &r, &st);
	CHECK(p == dlsym(cuda, "cuLaunchKernelEx"));
	CHECK_STR(owner(p), "nvshare");

	/* Failed searches pass through untouched: like the driver, success
	 * with a NULL pointer and the reason in the status. */
	p = lookup("cuLaunchKernelEx", 11000, 0, &r, &st);
	CHECK_EQ(r, CUDA_SUCCESS);
	CHECK(p == NULL);
	CHECK_EQ(st, CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
	p = lookup("cuNoSuchFunction", 12000, 0, &r, &st);
	CHECK_EQ(r, CUDA_SUCCESS);
	CHECK(p == NULL);
	CHECK_EQ(st, CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);

	/* Unhooked symbols come straight from the driver. */
	p = lookup("cuDeviceGetName", 12000, 0, &r, &st);
	CHECK_EQ(r, CUDA_SUCCESS);
	CHECK_STR(owner(p), "cuda");

	/* The legacy (4-argument) look-up behaves the same. */
	p = NULL;
	CHECK_EQ(getproc("cuLaunchKernel", &p, 11030,
	                 CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM),
	         CUDA_SUCCESS);
	CHECK(p == dlsym(cuda, "cuLaunchKernel_ptsz"));
}

#define GET(fn, name)                                                          \
	__typeof__(&fn) fn##_p = (__typeof__(&fn))dlsym(cuda, name)

static void check_unmanaged_work(void)
{
	GET(cuInit, "cuInit");
	GET(cuDeviceGet, "cuDeviceGet");
	GET(cuCtxCreate_v2, "cuCtxCreate_v2");
	GET(cuMemAlloc_v2, "cuMemAlloc_v2");
	GET(cuMemFree_v2, "cuMemFree_v2");
	GET(cuMemcpyHtoD_v2, "cuMemcpyHtoD_v2");
	GET(cuMemcpyDtoH_v2, "cuMemcpyDtoH_v2");
	GET(cuMemGetInfo_v2, "cuMemGetInfo_v2");
	CUdevice dev;
	CUcontext ctx;
	CUdeviceptr buf;
	char in[4096], out[4096];
	size_t free_b = 0, total_b = 0;

	CHECK_EQ(cuInit_p(0), CUDA_SUCCESS);
	CHECK_EQ(cuDeviceGet_p(&dev, 0), CUDA_SUCCESS);
	CHECK_EQ(cuCtxCreate_v2_p(&ctx, 0, dev), CUDA_SUCCESS);
	CHECK_EQ(cuMemAlloc_v2_p(&buf, sizeof(in)), CUDA_SUCCESS);
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7);
	/* No scheduler: the copies run unmanaged and move the bytes. */
	CHECK_EQ(cuMemcpyHtoD_v2_p(buf, in, sizeof(in)), CUDA_SUCCESS);
	CHECK_EQ(cuMemcpyDtoH_v2_p(out, buf, sizeof(out)), CUDA_SUCCESS);
	CHECK(memcmp(in, out, sizeof(in)) == 0);
	/* cuMemGetInfo: the card less this process's own allocation. */
	CHECK_EQ(cuMemGetInfo_v2_p(&free_b, &total_b), CUDA_SUCCESS);
	CHECK_EQ(total_b, 16ull << 30);
	CHECK_EQ(free_b, (16ull << 30) - sizeof(in));
	/* NULL arguments do not crash; the driver's verdict is returned. */
	CHECK(cuMemGetInfo_v2_p(NULL, &total_b) == CUDA_ERROR_INVALID_VALUE ||
	      total_b == 16ull << 30);
	/* One process asking for more than the card: out of memory. */
	CUdeviceptr big;
	CHECK_EQ(cuMemAlloc_v2_p(&big, 17ull << 30), CUDA_ERROR_OUT_OF_MEMORY);
	CHECK_EQ(cuMemFree_v2_p(buf), CUDA_SUCCESS);
	CHECK_EQ(cuMemGetInfo_v2_p(&free_b, &total_b), CUDA_SUCCESS);
	CHECK_EQ(free_b, 16ull << 30);

	/* Churn through the allocation table (tombstones, rehashing) with a
	 * few allocations kept alive: the accounting stays exact. */
	CUdeviceptr keep[8];
	int failures = 0;
	for (int i = 0; i < 8; i++)
		failures += cuMemAlloc_v2_p(&keep[i], 1 << 20) != CUDA_SUCCESS;
	for (int i = 0; i < 20000; i++) {
		CUdeviceptr p;
		failures +=
		    cuMemAlloc_v2_p(&p, 4096 + (size_t)i) != CUDA_SUCCESS;
		failures += cuMemFree_v2_p(p) != CUDA_SUCCESS;
	}
	CHECK_EQ(failures, 0);
	CHECK_EQ(cuMemGetInfo_v2_p(&free_b, &total_b), CUDA_SUCCESS);
	CHECK_EQ(free_b, (16ull << 30) - 8 * (1ull << 20));
	for (int i = 0; i < 8; i++)
		CHECK_EQ(cuMemFree_v2_p(keep[i]), CUDA_SUCCESS);
	CHECK_EQ(cuMemGetInfo_v2_p(&free_b, &total_b), CUDA_SUCCESS);
	CHECK_EQ(free_b, 16ull << 30);
}

int main(void)
{
	cuda = dlopen("libcuda.so.1", RTLD_NOW);
	if (!cuda) {
		fprintf(stderr, "cannot load libcuda.so.1: %s\n", dlerror());
		return 1;
	}
	getproc_v2 = (getproc_v2_fn)dlsym(cuda, "cuGetProcAddress_v2");
	getproc = (getproc_fn)dlsym(cuda, "cuGetProcAddress");
	if (!getproc_v2 || !getproc) {
		fprintf(stderr, "no cuGetProcAddress in the driver\n");
		return 1;
	}
	check_dlsym();
	check_getproc();
	check_unmanaged_work();
	return check_summary("interpose");
}
