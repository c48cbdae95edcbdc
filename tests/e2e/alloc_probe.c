/*
 * alloc_probe.c - a CUDA program that allocates device memory through any
 * of the driver's allocation APIs on command, for test_memory_quota.py.
 *
 * It reads commands on stdin, one per line, and answers each with one
 * JSON line on stdout:
 *   alloc API ARGS  API and ARGS:  alloc|managed|async|pool|vmm|vmm_early
 *                   BYTES;  pitch WIDTH HEIGHT;  array WIDTH HEIGHT;
 *                   array3d WIDTH HEIGHT DEPTH;  mipmap WIDTH HEIGHT LEVELS
 *                   -> {"rc":CUresult,"id":N}   (arrays: 4-byte elements;
 *                   vmm_early releases its handle right after mapping)
 *   free ID         -> {"rc":CUresult}
 *   touch ID BYTE   -> {"rc":CUresult} of cuMemsetD8 over the whole
 *                      allocation (a gated call: it waits for the lock)
 *   check ID BYTE   -> {"rc":CUresult,"ok":bool}: its first and last
 *                      64 KiB (at most) read back all hold BYTE
 *   reset           -> {"rc":CUresult} of cuDevicePrimaryCtxReset(0)
 *   reset7000       -> the same through the entry point cuGetProcAddress
 *                      gives for version 7000, as cudaDeviceReset of the
 *                      CUDA 13 runtime asks for it
 *   info            -> cuMemGetInfo, cuDeviceTotalMem and, when
 *                      libnvidia-ml.so.1 loads, NVML's memory info
 *   waittotal BYTES MS -> {"total":N,"reached":bool,"mono_ns":T}: polls
 *                      cuMemGetInfo until its total is BYTES (or MS pass)
 *   quit
 * The driver and NVML are reached through dlopen/dlsym, as frameworks do.
 */
#include "cuda_api.h"
#include "nvml_api.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ALLOCS 256

enum kind { K_PTR, K_ASYNC, K_ARRAY, K_MIPMAP, K_VMM };

struct alloc {
	enum kind kind;
	CUdeviceptr ptr;
	void *handle; /* CUarray / CUmipmappedArray */
	CUmemGenericAllocationHandle vmm;
	size_t bytes;
	int released; /* vmm handle released already */
	int live;
};

static struct alloc allocs[MAX_ALLOCS];
static void *cuda, *nvml;

#define SYM(lib, fn) ((__typeof__(&fn))dlsym(lib, #fn))
#define CU(fn) SYM(cuda, fn)

static CUresult vmm_alloc(struct alloc *a, size_t bytes, int early)
{
	CUmemAllocationProp prop;
	CUmemAccessDesc access;
	CUresult r;

	memset(&prop, 0, sizeof(prop));
	prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	prop.location.id = 0;
	r = CU(cuMemCreate)(&a->vmm, bytes, &prop, 0);
	if (r)
		return r;
	r = CU(cuMemAddressReserve)(&a->ptr, bytes, 0, 0, 0);
	if (r == CUDA_SUCCESS)
		r = CU(cuMemMap)(a->ptr, bytes, 0, a->vmm, 0);
	if (r) {
		CU(cuMemRelease)(a->vmm);
		return r;
	}
	memset(&access, 0, sizeof(access));
	access.location = prop.location;
	access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
	r = CU(cuMemSetAccess)(a->ptr, bytes, &access, 1);
	if (early && r == CUDA_SUCCESS) {
		r = CU(cuMemRelease)(a->vmm);
		a->released = 1;
	}
	return r;
}

static CUresult do_alloc(struct alloc *a, const char *api, size_t x, size_t y,
                         size_t z)
{
	a->bytes = x; /* what touch, check and VMM frees cover */
	if (strcmp(api, "alloc") == 0)
		return CU(cuMemAlloc_v2)(&a->ptr, x);
	if (strcmp(api, "managed") == 0)
		return CU(cuMemAllocManaged)(&a->ptr, x, CU_MEM_ATTACH_GLOBAL);
	if (strcmp(api, "pitch") == 0) {
		size_t pitch;
		return CU(cuMemAllocPitch_v2)(&a->ptr, &pitch, x, y, 4);
	}
	if (strcmp(api, "async") == 0) {
		a->kind = K_ASYNC;
		return CU(cuMemAllocAsync)(&a->ptr, x, NULL);
	}
	if (strcmp(api, "pool") == 0) {
		CUmemoryPool pool;
		CUresult r = CU(cuDeviceGetDefaultMemPool)(&pool, 0);
		a->kind = K_ASYNC;
		return r ? r
		         : CU(cuMemAllocFromPoolAsync)(&a->ptr, x, pool, NULL);
	}
	if (strcmp(api, "vmm") == 0 || strcmp(api, "vmm_early") == 0) {
		a->kind = K_VMM;
		return vmm_alloc(a, x, strcmp(api, "vmm_early") == 0);
	}
	if (strcmp(api, "array") == 0) {
		CUDA_ARRAY_DESCRIPTOR d = {.Width = x,
		                           .Height = y,
		                           .Format = CU_AD_FORMAT_FLOAT,
		                           .NumChannels = 1};
		a->kind = K_ARRAY;
		return CU(cuArrayCreate_v2)((CUarray *)&a->handle, &d);
	}
	if (strcmp(api, "array3d") == 0 || strcmp(api, "mipmap") == 0) {
		CUDA_ARRAY3D_DESCRIPTOR d = {.Width = x,
		                             .Height = y,
		                             .Depth = api[0] == 'a' ? z : 0,
		                             .Format = CU_AD_FORMAT_FLOAT,
		                             .NumChannels = 1};
		if (api[0] == 'a') {
			a->kind = K_ARRAY;
			return CU(cuArray3DCreate_v2)((CUarray *)&a->handle,
			                              &d);
		}
		a->kind = K_MIPMAP;
		return CU(cuMipmappedArrayCreate)(
		    (CUmipmappedArray *)&a->handle, &d, (unsigned)z);
	}
	return CUDA_ERROR_INVALID_VALUE;
}

static CUresult do_free(struct alloc *a)
{
	CUresult r;

	switch (a->kind) {
	case K_PTR: return CU(cuMemFree_v2)(a->ptr);
	case K_ASYNC:
		r = CU(cuMemFreeAsync)(a->ptr, NULL);
		return r ? r : CU(cuCtxSynchronize)();
	case K_ARRAY: return CU(cuArrayDestroy)((CUarray)a->handle);
	case K_MIPMAP:
		return CU(cuMipmappedArrayDestroy)((CUmipmappedArray)a->handle);
	case K_VMM:
		r = CU(cuMemUnmap)(a->ptr, a->bytes);
		if (!r && !a->released)
			r = CU(cuMemRelease)(a->vmm);
		return r ? r : CU(cuMemAddressFree)(a->ptr, a->bytes);
	}
	return CUDA_ERROR_INVALID_VALUE;
}

/* touch / check on a pointer allocation. */
static void fill(const struct alloc *a, unsigned byte, int check)
{
	static unsigned char buf[2][64 << 10];
	size_t n = a->bytes < sizeof(buf[0]) ? a->bytes : sizeof(buf[0]);
	CUresult r;
	int ok = 1;

	if (!check) {
		r = CU(cuMemsetD8_v2)(a->ptr, (unsigned char)byte, a->bytes);
		printf("{\"rc\":%d}\n", (int)r);
		return;
	}
	r = CU(cuMemcpyDtoH_v2)(buf[0], a->ptr, n);
	if (!r)
		r = CU(cuMemcpyDtoH_v2)(buf[1], a->ptr + a->bytes - n, n);
	for (size_t i = 0; !r && i < n; i++)
		ok &= buf[0][i] == byte && buf[1][i] == byte;
	printf("{\"rc\":%d,\"ok\":%s}\n", (int)r, !r && ok ? "true" : "false");
}

static void info(void)
{
	size_t free_b = 0, total_b = 0, dev_total = 0;
	CUresult r = CU(cuMemGetInfo_v2)(&free_b, &total_b);

	CU(cuDeviceTotalMem_v2)(&dev_total, 0);
	printf("{\"rc\":%d,\"free\":%zu,\"total\":%zu,\"device_total\":%zu",
	       (int)r, free_b, total_b, dev_total);
	if (nvml) {
		nvmlDevice_t dev;
		nvmlMemory_t m = {0};
		nvmlMemory_v2_t m2 = {.version = nvmlMemory_v2};
		int r1 = -1, r2 = -1;
		if (SYM(nvml, nvmlDeviceGetHandleByIndex_v2)(0, &dev) ==
		    NVML_SUCCESS) {
			r1 = (int)SYM(nvml, nvmlDeviceGetMemoryInfo)(dev, &m);
			r2 = (int)SYM(nvml, nvmlDeviceGetMemoryInfo_v2)(dev,
			                                                &m2);
		}
		printf(
		    ",\"nvml_rc\":%d,\"nvml_total\":%llu,\"nvml_used\":%llu,"
		    "\"nvml_free\":%llu,\"nvml2_rc\":%d,\"nvml2_total\":%llu,"
		    "\"nvml2_used\":%llu,\"nvml2_free\":%llu",
		    r1, m.total, m.used, m.free, r2, m2.total, m2.used,
		    m2.free);
	}
	printf("}\n");
}

/* Polls cuMemGetInfo until its total (the memory limit in force, when one
 * is set) is want or timeout_ms passes, and says when on CLOCK_MONOTONIC:
 * the moment a live limit change reached this process. */
static void wait_total(unsigned long long want, unsigned long long timeout_ms)
{
	struct timespec t0, t;
	size_t free_b = 0, total = 0;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		CU(cuMemGetInfo_v2)(&free_b, &total);
		clock_gettime(CLOCK_MONOTONIC, &t);
		ns = (t.tv_sec - t0.tv_sec) * 1000000000LL +
		     (t.tv_nsec - t0.tv_nsec);
		if (total == want || ns >= (long long)timeout_ms * 1000000LL)
			break;
		usleep(200);
	}
	printf("{\"total\":%llu,\"reached\":%s,\"mono_ns\":%lld}\n",
	       (unsigned long long)total, total == want ? "true" : "false",
	       (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
}

int main(void)
{
	char line[256], cmd[32], api[32];
	CUdevice dev;
	CUcontext ctx;

	cuda = dlopen("libcuda.so.1", RTLD_NOW);
	if (!cuda || CU(cuInit)(0) || CU(cuDeviceGet)(&dev, 0) ||
	    CU(cuCtxCreate_v2)(&ctx, 0, dev)) {
		fprintf(stderr, "alloc_probe: no CUDA device\n");
		return 1;
	}
	nvml = dlopen("libnvidia-ml.so.1", RTLD_NOW);
	if (nvml && SYM(nvml, nvmlInit_v2)() != NVML_SUCCESS)
		nvml = NULL;
	printf("{\"ready\":true}\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		unsigned long long x = 0, y = 0, z = 0, id;
		int n = sscanf(line, "%31s %31s %llu %llu %llu", cmd, api, &x,
		               &y, &z);
		if (n >= 1 && strcmp(cmd, "quit") == 0)
			break;
		if (n >= 1 && strcmp(cmd, "info") == 0) {
			info();
		} else if (n >= 3 && strcmp(cmd, "waittotal") == 0) {
			wait_total(strtoull(api, NULL, 10), x);
		} else if (n >= 1 && strcmp(cmd, "reset") == 0) {
			printf("{\"rc\":%d}\n",
			       (int)CU(cuDevicePrimaryCtxReset_v2)(0));
			memset(allocs, 0, sizeof(allocs));
		} else if (n >= 1 && strcmp(cmd, "reset7000") == 0) {
			CUresult (*reset)(CUdevice) = NULL;
			CUdriverProcAddressQueryResult st;
			CUresult r = CU(cuGetProcAddress_v2)(
			    "cuDevicePrimaryCtxReset", (void **)&reset, 7000,
			    CU_GET_PROC_ADDRESS_DEFAULT, &st);
			printf("{\"rc\":%d}\n",
			       (int)(r       ? r
			             : reset ? reset(0)
			                     : CUDA_ERROR_NOT_FOUND));
			memset(allocs, 0, sizeof(allocs));
		} else if (n >= 3 && strcmp(cmd, "alloc") == 0) {
			int slot = -1;
			for (int i = 0; i < MAX_ALLOCS && slot < 0; i++)
				if (!allocs[i].live)
					slot = i;
			if (slot < 0) {
				printf("{\"rc\":-1}\n");
			} else {
				struct alloc *a = &allocs[slot];
				CUresult r;
				memset(a, 0, sizeof(*a));
				r = do_alloc(a, api, x, y, z);
				a->live = r == CUDA_SUCCESS;
				printf("{\"rc\":%d,\"id\":%d}\n", (int)r, slot);
			}
		} else if (n >= 3 &&
		           (strcmp(cmd, "touch") == 0 ||
		            strcmp(cmd, "check") == 0) &&
		           sscanf(api, "%llu", &id) == 1 && id < MAX_ALLOCS &&
		           allocs[id].live &&
		           (allocs[id].kind == K_PTR ||
		            allocs[id].kind == K_ASYNC)) {
			fill(&allocs[id], (unsigned)x, cmd[0] == 'c');
		} else if (n >= 2 && strcmp(cmd, "free") == 0 &&
		           sscanf(api, "%llu", &id) == 1 && id < MAX_ALLOCS &&
		           allocs[id].live) {
			CUresult r = do_free(&allocs[id]);
			allocs[id].live = r != CUDA_SUCCESS;
			printf("{\"rc\":%d}\n", (int)r);
		} else {
			printf("{\"rc\":-2,\"error\":\"bad command\"}\n");
		}
		fflush(stdout);
	}
	return 0;
}
