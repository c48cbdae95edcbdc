/*
 * test_fakecuda_vmm.c - the simulated driver's other ways to take device
 * memory, seen through its API: virtual memory management (granularity,
 * the references that keep physical memory alive across release and
 * unmap, real bytes through two mappings of one handle, the argument
 * rules), arrays and mipmapped arrays (the documented size rule, to the
 * byte), memory pools (the default pool, a pool's device and maxSize,
 * destroyed handles) and the cuCtxCreate_v3/_v4 forms. Every figure is
 * read back from cuMemGetInfo. The library is dlopen()ed by absolute path
 * (FAKECUDA_LIB) with a private state: device 0 of 1 GiB, device 1 of
 * 256 MiB.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cuda_api.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define GRAN (2 * MIB)

/* field, exported symbol */
#define DRV_CALLS(X)                                                           \
	X(init, cuInit)                                                        \
	X(primary_retain, cuDevicePrimaryCtxRetain)                            \
	X(ctx_set, cuCtxSetCurrent)                                            \
	X(ctx_get, cuCtxGetCurrent)                                            \
	X(ctx_get_device, cuCtxGetDevice)                                      \
	X(ctx_create_v3, cuCtxCreate_v3)                                       \
	X(ctx_create_v4, cuCtxCreate_v4)                                       \
	X(ctx_destroy, cuCtxDestroy_v2)                                        \
	X(mem_info, cuMemGetInfo_v2)                                           \
	X(mem_alloc, cuMemAlloc_v2)                                            \
	X(mem_free, cuMemFree_v2)                                              \
	X(alloc_async, cuMemAllocAsync)                                        \
	X(alloc_from_pool, cuMemAllocFromPoolAsync)                            \
	X(free_async, cuMemFreeAsync)                                          \
	X(default_pool, cuDeviceGetDefaultMemPool)                             \
	X(pool_create, cuMemPoolCreate)                                        \
	X(pool_destroy, cuMemPoolDestroy)                                      \
	X(granularity, cuMemGetAllocationGranularity)                          \
	X(create, cuMemCreate)                                                 \
	X(release, cuMemRelease)                                               \
	X(reserve, cuMemAddressReserve)                                        \
	X(addr_free, cuMemAddressFree)                                         \
	X(map, cuMemMap)                                                       \
	X(unmap, cuMemUnmap)                                                   \
	X(set_access, cuMemSetAccess)                                          \
	X(array_create, cuArrayCreate_v2)                                      \
	X(array3d_create, cuArray3DCreate_v2)                                  \
	X(array_destroy, cuArrayDestroy)                                       \
	X(mipmap_create, cuMipmappedArrayCreate)                               \
	X(mipmap_destroy, cuMipmappedArrayDestroy)                             \
	X(htod, cuMemcpyHtoD_v2)                                               \
	X(dtoh, cuMemcpyDtoH_v2)                                               \
	X(memcpy, cuMemcpy)                                                    \
	X(memset32, cuMemsetD32_v2)

static struct {
#define DRV_FIELD(field, sym) __typeof__(sym) *field;
	DRV_CALLS(DRV_FIELD)
#undef DRV_FIELD
} drv;

static CUcontext ctx;

static int setup(void)
{
	void *lib = dlopen(FAKECUDA_LIB, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		fprintf(stderr, "dlopen %s: %s\n", FAKECUDA_LIB, dlerror());
		return -1;
	}
#define DRV_LOAD(field, sym)                                                   \
	*(void **)&drv.field = dlsym(lib, #sym);                               \
	if (!drv.field)                                                        \
		return -1;
	DRV_CALLS(DRV_LOAD)
#undef DRV_LOAD
	if (drv.init(0) != CUDA_SUCCESS ||
	    drv.primary_retain(&ctx, 0) != CUDA_SUCCESS)
		return -1;
	return drv.ctx_set(ctx) == CUDA_SUCCESS ? 0 : -1;
}

/* Device 0's memory in use, from cuMemGetInfo. */
static unsigned long long used0(void)
{
	size_t free_b = 0, total = 0;

	CHECK_EQ(drv.mem_info(&free_b, &total), CUDA_SUCCESS);
	CHECK_EQ(total, GIB);
	return total - free_b;
}

static CUmemAllocationProp prop_on(int type, int id)
{
	CUmemAllocationProp p;

	memset(&p, 0, sizeof(p));
	p.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	p.location.type = type;
	p.location.id = id;
	return p;
}

static CUmemAccessDesc access_for(int type, int id, int flags)
{
	CUmemAccessDesc d;

	memset(&d, 0, sizeof(d));
	d.location.type = type;
	d.location.id = id;
	d.flags = flags;
	return d;
}

static void test_granularity(void)
{
	CUmemAllocationProp p = prop_on(CU_MEM_LOCATION_TYPE_DEVICE, 0);
	size_t g = 0;

	CHECK_EQ(drv.granularity(&g, &p, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
	         CUDA_SUCCESS);
	CHECK_EQ(g, GRAN);
	g = 0;
	CHECK_EQ(drv.granularity(&g, &p, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED),
	         CUDA_SUCCESS);
	CHECK_EQ(g, GRAN);
	CHECK_EQ(drv.granularity(&g, &p, 2), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.granularity(NULL, &p, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.granularity(&g, NULL, 0), CUDA_ERROR_INVALID_VALUE);
	p = prop_on(CU_MEM_LOCATION_TYPE_DEVICE, 2);
	CHECK_EQ(drv.granularity(&g, &p, 0), CUDA_ERROR_INVALID_DEVICE);
	p = prop_on(CU_MEM_LOCATION_TYPE_DEVICE, 0);
	p.type = CU_MEM_ALLOCATION_TYPE_INVALID;
	CHECK_EQ(drv.granularity(&g, &p, 0), CUDA_ERROR_INVALID_VALUE);
	p = prop_on(CU_MEM_LOCATION_TYPE_HOST, 0);
	g = 0;
	CHECK_EQ(drv.granularity(&g, &p, 0), CUDA_SUCCESS);
	CHECK_EQ(g, GRAN);
}

static void test_vmm_create_rules(void)
{
	CUmemAllocationProp p = prop_on(CU_MEM_LOCATION_TYPE_DEVICE, 0);
	CUmemGenericAllocationHandle h;

	CHECK_EQ(drv.create(&h, 3 * MIB, &p, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.create(&h, 0, &p, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.create(&h, GRAN, &p, 1), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.create(NULL, GRAN, &p, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.create(&h, GRAN, NULL, 0), CUDA_ERROR_INVALID_VALUE);
	p.location.id = 7;
	CHECK_EQ(drv.create(&h, GRAN, &p, 0), CUDA_ERROR_INVALID_DEVICE);
	p = prop_on(CU_MEM_LOCATION_TYPE_HOST_NUMA_CURRENT, 0);
	CHECK_EQ(drv.create(&h, GRAN, &p, 0), CUDA_ERROR_INVALID_VALUE);
	p = prop_on(CU_MEM_LOCATION_TYPE_DEVICE, 0);
	p.requestedHandleTypes = CU_MEM_HANDLE_TYPE_WIN32;
	CHECK_EQ(drv.create(&h, GRAN, &p, 0), CUDA_ERROR_NOT_SUPPORTED);
	CHECK_EQ(drv.release(12345), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(used0(), 0);
}

/* Release before unmap keeps the memory (and its bytes) until the last
 * unmap; two mappings of one handle show the same bytes. */
static void test_vmm_release_before_unmap(void)
{
	CUmemAllocationProp p = prop_on(CU_MEM_LOCATION_TYPE_DEVICE, 0);
	CUmemAccessDesc rw = access_for(CU_MEM_LOCATION_TYPE_DEVICE, 0,
	                                CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
	CUmemAccessDesc bad;
	CUmemGenericAllocationHandle h;
	CUdeviceptr va = 0;
	unsigned int in[1024], out[1024];

	for (unsigned i = 0; i < 1024; i++)
		in[i] = 0xc0de0000u + i;
	CHECK_EQ(drv.create(&h, 64 * MIB, &p, 0), CUDA_SUCCESS);
	CHECK_EQ(used0(), 64 * MIB);
	CHECK_EQ(drv.reserve(&va, 128 * MIB, 0, 0, 0), CUDA_SUCCESS);
	CHECK(va != 0 && va % GRAN == 0);
	CHECK_EQ(used0(), 64 * MIB); /* addresses cost nothing */

	/* The mapping rules. */
	CHECK_EQ(drv.map(va + MIB, 64 * MIB, 0, h, 0),
	         CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.map(va, 64 * MIB, GRAN, h, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.map(va, 64 * MIB, 0, h, 1), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.map(va, 66 * MIB, 0, h, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.map(va + 96 * MIB, 64 * MIB, 0, h, 0),
	         CUDA_ERROR_INVALID_VALUE); /* beyond the reservation */
	CHECK_EQ(drv.map(va, 64 * MIB, 0, h + 1000, 0),
	         CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.map(va, 64 * MIB, 0, h, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.map(va + 64 * MIB, 64 * MIB, 0, h, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.map(va + 32 * MIB, 2 * MIB, 0, h, 0),
	         CUDA_ERROR_INVALID_VALUE); /* mapped already */
	CHECK_EQ(used0(), 64 * MIB);

	/* Inaccessible until cuMemSetAccess. */
	CHECK_EQ(drv.htod(va, in, sizeof(in)), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.memcpy(va, (CUdeviceptr)(uintptr_t)in, sizeof(in)),
	         CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.set_access(va, 2 * MIB, &rw, 1), CUDA_ERROR_INVALID_VALUE);
	bad = access_for(CU_MEM_LOCATION_TYPE_DEVICE, 9,
	                 CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
	CHECK_EQ(drv.set_access(va, 128 * MIB, &bad, 1),
	         CUDA_ERROR_INVALID_DEVICE);
	bad = access_for(CU_MEM_LOCATION_TYPE_DEVICE, 0, 2);
	CHECK_EQ(drv.set_access(va, 128 * MIB, &bad, 1),
	         CUDA_ERROR_INVALID_VALUE);
	bad = access_for(CU_MEM_LOCATION_TYPE_HOST, 0,
	                 CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
	CHECK_EQ(drv.set_access(va, 128 * MIB, &bad, 1),
	         CUDA_ERROR_INVALID_VALUE); /* device memory */
	CHECK_EQ(drv.set_access(va, 128 * MIB, &rw, 0),
	         CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.set_access(va, 128 * MIB, &rw, 1), CUDA_SUCCESS);

	/* Real bytes, the same through both mappings, and across them. */
	CHECK_EQ(drv.htod(va, in, sizeof(in)), CUDA_SUCCESS);
	memset(out, 0, sizeof(out));
	CHECK_EQ(drv.dtoh(out, va + 64 * MIB, sizeof(out)), CUDA_SUCCESS);
	CHECK(memcmp(in, out, sizeof(in)) == 0);
	CHECK_EQ(drv.memset32(va + 64 * MIB - 8, 0x5a5a5a5au, 4), CUDA_SUCCESS);
	CHECK_EQ(drv.dtoh(out, va, 8), CUDA_SUCCESS);
	CHECK_EQ(out[0], 0x5a5a5a5au);
	CHECK_EQ(out[1], 0x5a5a5a5au);
	/* Not a cuMemAlloc pointer. */
	CHECK_EQ(drv.mem_free(va), CUDA_ERROR_INVALID_VALUE);

	/* Released while mapped: memory and bytes stay. */
	CHECK_EQ(drv.release(h), CUDA_SUCCESS);
	CHECK_EQ(drv.release(h), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(used0(), 64 * MIB);
	CHECK_EQ(drv.dtoh(out, va + 64 * MIB + 8, 4), CUDA_SUCCESS);
	CHECK_EQ(out[0], in[2]);
	CHECK_EQ(drv.unmap(va, 2 * MIB), CUDA_ERROR_INVALID_VALUE); /* part */
	CHECK_EQ(drv.unmap(va + 64 * MIB, 64 * MIB), CUDA_SUCCESS);
	CHECK_EQ(used0(), 64 * MIB);
	CHECK_EQ(drv.dtoh(out, va + 64 * MIB, 4), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.addr_free(va, 128 * MIB),
	         CUDA_ERROR_INVALID_VALUE); /* still mapped */
	CHECK_EQ(drv.unmap(va, 64 * MIB), CUDA_SUCCESS);
	CHECK_EQ(used0(), 0);
	CHECK_EQ(drv.unmap(va, 64 * MIB), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.htod(va, in, 4), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.addr_free(va, 64 * MIB), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.addr_free(va, 128 * MIB), CUDA_SUCCESS);
	CHECK_EQ(drv.addr_free(va, 128 * MIB), CUDA_ERROR_INVALID_VALUE);
}

/* Unmapped first: the memory goes at the release. One call may unmap (or
 * set access to) a run of mappings of several handles. */
static void test_vmm_unmap_before_release(void)
{
	CUmemAllocationProp p = prop_on(CU_MEM_LOCATION_TYPE_DEVICE, 0);
	CUmemAccessDesc rw = access_for(CU_MEM_LOCATION_TYPE_DEVICE, 0,
	                                CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
	CUmemGenericAllocationHandle a, b;
	CUdeviceptr va = 0;
	unsigned int x = 0;

	CHECK_EQ(drv.create(&a, 32 * MIB, &p, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.create(&b, 16 * MIB, &p, 0), CUDA_SUCCESS);
	CHECK(a != b);
	CHECK_EQ(used0(), 48 * MIB);
	CHECK_EQ(drv.reserve(&va, 48 * MIB, 0, 0, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.map(va, 32 * MIB, 0, a, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.map(va + 32 * MIB, 16 * MIB, 0, b, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.set_access(va, 48 * MIB, &rw, 1), CUDA_SUCCESS);
	CHECK_EQ(drv.memset32(va + 32 * MIB - 4, 7, 2), CUDA_SUCCESS);
	CHECK_EQ(drv.dtoh(&x, va + 32 * MIB, 4), CUDA_SUCCESS);
	CHECK_EQ(x, 7);
	CHECK_EQ(drv.unmap(va, 48 * MIB), CUDA_SUCCESS);
	CHECK_EQ(used0(), 48 * MIB);
	CHECK_EQ(drv.release(a), CUDA_SUCCESS);
	CHECK_EQ(used0(), 16 * MIB);
	/* Mapped again after the unmap: a fresh mapping, no access yet. */
	CHECK_EQ(drv.map(va, 16 * MIB, 0, b, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.dtoh(&x, va, 4), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.unmap(va, 16 * MIB), CUDA_SUCCESS);
	CHECK_EQ(drv.release(b), CUDA_SUCCESS);
	CHECK_EQ(used0(), 0);
	CHECK_EQ(drv.addr_free(va, 48 * MIB), CUDA_SUCCESS);
}

/* VMM memory counts against the capacity like cuMemAlloc, per device;
 * host memory counts nowhere. */
static void test_vmm_capacity(void)
{
	CUmemAllocationProp p0 = prop_on(CU_MEM_LOCATION_TYPE_DEVICE, 0);
	CUmemAllocationProp p1 = prop_on(CU_MEM_LOCATION_TYPE_DEVICE, 1);
	CUmemAllocationProp ph = prop_on(CU_MEM_LOCATION_TYPE_HOST, 0);
	CUmemAccessDesc hrw = access_for(CU_MEM_LOCATION_TYPE_HOST, 0,
	                                 CU_MEM_ACCESS_FLAGS_PROT_READWRITE);
	CUmemGenericAllocationHandle big, one, more, host;
	CUdeviceptr p, va;
	unsigned int x = 42, y = 0;

	CHECK_EQ(drv.create(&big, 2 * GIB, &p0, 0), CUDA_ERROR_OUT_OF_MEMORY);
	CHECK_EQ(drv.create(&big, GIB - GRAN, &p0, 0), CUDA_SUCCESS);
	CHECK_EQ(used0(), GIB - GRAN);
	CHECK_EQ(drv.mem_alloc(&p, 4 * MIB), CUDA_ERROR_OUT_OF_MEMORY);
	CHECK_EQ(drv.create(&more, 2 * GRAN, &p0, 0), CUDA_ERROR_OUT_OF_MEMORY);
	CHECK_EQ(drv.mem_alloc(&p, GRAN), CUDA_SUCCESS);
	CHECK_EQ(used0(), GIB);
	CHECK_EQ(drv.mem_free(p), CUDA_SUCCESS);
	/* Device 1 has its own 256 MiB; device 0's figure does not move. */
	CHECK_EQ(drv.create(&one, 256 * MIB, &p1, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.create(&more, GRAN, &p1, 0), CUDA_ERROR_OUT_OF_MEMORY);
	CHECK_EQ(used0(), GIB - GRAN);
	CHECK_EQ(drv.release(one), CUDA_SUCCESS);
	CHECK_EQ(drv.create(&more, GRAN, &p1, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.release(more), CUDA_SUCCESS);
	/* Host memory, mapped and reached from the host. */
	CHECK_EQ(drv.create(&host, 64 * MIB, &ph, 0), CUDA_SUCCESS);
	CHECK_EQ(used0(), GIB - GRAN);
	CHECK_EQ(drv.reserve(&va, 64 * MIB, 0, 0, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.map(va, 64 * MIB, 0, host, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.set_access(va, 64 * MIB, &hrw, 1), CUDA_SUCCESS);
	CHECK_EQ(drv.memcpy(va + 4096, (CUdeviceptr)(uintptr_t)&x, 4),
	         CUDA_SUCCESS);
	CHECK_EQ(drv.memcpy((CUdeviceptr)(uintptr_t)&y, va + 4096, 4),
	         CUDA_SUCCESS);
	CHECK_EQ(y, 42);
	CHECK_EQ(drv.unmap(va, 64 * MIB), CUDA_SUCCESS);
	CHECK_EQ(drv.addr_free(va, 64 * MIB), CUDA_SUCCESS);
	CHECK_EQ(drv.release(host), CUDA_SUCCESS);
	CHECK_EQ(drv.release(big), CUDA_SUCCESS);
	CHECK_EQ(used0(), 0);
}

static CUDA_ARRAY3D_DESCRIPTOR desc3d(size_t w, size_t h, size_t d, int fmt,
                                      unsigned ch, unsigned flags)
{
	CUDA_ARRAY3D_DESCRIPTOR a;

	memset(&a, 0, sizeof(a));
	a.Width = w;
	a.Height = h;
	a.Depth = d;
	a.Format = fmt;
	a.NumChannels = ch;
	a.Flags = flags;
	return a;
}

/* Sizes: rows of width x channels x format bytes padded to 512, times
 * height and depth; mipmaps: the sum of the levels. */
static void test_arrays(void)
{
	CUDA_ARRAY_DESCRIPTOR d2 = {.Width = 1000,
	                            .Height = 100,
	                            .Format = CU_AD_FORMAT_FLOAT,
	                            .NumChannels = 1};
	CUDA_ARRAY_DESCRIPTOR d1 = {.Width = 10,
	                            .Height = 0,
	                            .Format = CU_AD_FORMAT_UNSIGNED_INT8,
	                            .NumChannels = 4};
	CUDA_ARRAY3D_DESCRIPTOR d3;
	CUarray a2, a1, a3, al, nope;
	CUmipmappedArray mm;

	CHECK_EQ(drv.array_create(&a2, &d2), CUDA_SUCCESS);
	CHECK_EQ(used0(), 4096ull * 100); /* rows of 4000 -> 4096 bytes */
	CHECK_EQ(drv.array_create(&a1, &d1), CUDA_SUCCESS);
	CHECK_EQ(used0(), 4096ull * 100 + 512);
	d3 = desc3d(256, 256, 16, CU_AD_FORMAT_HALF, 2, 0);
	CHECK_EQ(drv.array3d_create(&a3, &d3), CUDA_SUCCESS);
	CHECK_EQ(used0(), 4096ull * 100 + 512 + 4 * MIB);
	d3 = desc3d(100, 0, 8, CU_AD_FORMAT_FLOAT, 1, CUDA_ARRAY3D_LAYERED);
	CHECK_EQ(drv.array3d_create(&al, &d3), CUDA_SUCCESS);
	CHECK_EQ(used0(), 4096ull * 100 + 512 + 4 * MIB + 512 * 8);

	/* Levels of 1024x512, 512x256, 256x128 floats. */
	d3 = desc3d(1024, 512, 0, CU_AD_FORMAT_FLOAT, 1, 0);
	CHECK_EQ(drv.mipmap_create(&mm, &d3, 12), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.mipmap_create(&mm, &d3, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.mipmap_create(&mm, &d3, 3), CUDA_SUCCESS);
	CHECK_EQ(used0(), 4096ull * 100 + 512 + 4 * MIB + 512 * 8 +
	                      4096ull * 512 + 2048ull * 256 + 1024ull * 128);

	/* The rules. */
	d2.NumChannels = 3;
	CHECK_EQ(drv.array_create(&nope, &d2), CUDA_ERROR_INVALID_VALUE);
	d2.NumChannels = 1;
	d2.Width = 0;
	CHECK_EQ(drv.array_create(&nope, &d2), CUDA_ERROR_INVALID_VALUE);
	d2.Width = 1000;
	d2.Format = 0x55;
	CHECK_EQ(drv.array_create(&nope, &d2), CUDA_ERROR_INVALID_VALUE);
	d2.Format = 0xb0; /* NV12 */
	CHECK_EQ(drv.array_create(&nope, &d2), CUDA_ERROR_NOT_SUPPORTED);
	CHECK_EQ(drv.array_create(NULL, &d1), CUDA_ERROR_INVALID_VALUE);
	d3 = desc3d(64, 64, 0, CU_AD_FORMAT_FLOAT, 1, CUDA_ARRAY3D_SPARSE);
	CHECK_EQ(drv.array3d_create(&nope, &d3), CUDA_ERROR_NOT_SUPPORTED);
	d3 = desc3d(64, 32, 6, CU_AD_FORMAT_FLOAT, 1, CUDA_ARRAY3D_CUBEMAP);
	CHECK_EQ(drv.array3d_create(&nope, &d3), CUDA_ERROR_INVALID_VALUE);
	d3 = desc3d(64, 0, 5, CU_AD_FORMAT_FLOAT, 1, 0);
	CHECK_EQ(drv.array3d_create(&nope, &d3), CUDA_ERROR_INVALID_VALUE);
	d3 = desc3d(64, 64, 1, CU_AD_FORMAT_FLOAT, 1, 0x1000);
	CHECK_EQ(drv.array3d_create(&nope, &d3), CUDA_ERROR_INVALID_VALUE);
	/* Larger than the device: 32768 rows of 32 KiB. */
	d3 = desc3d(8192, 32768, 8, CU_AD_FORMAT_FLOAT, 1, 0);
	CHECK_EQ(drv.array3d_create(&nope, &d3), CUDA_ERROR_OUT_OF_MEMORY);

	/* Each destroy call takes only its own kind. */
	CHECK_EQ(drv.array_destroy((CUarray)mm), CUDA_ERROR_INVALID_HANDLE);
	CHECK_EQ(drv.mipmap_destroy((CUmipmappedArray)a2),
	         CUDA_ERROR_INVALID_HANDLE);
	CHECK_EQ(drv.mipmap_destroy(mm), CUDA_SUCCESS);
	CHECK_EQ(drv.mipmap_destroy(mm), CUDA_ERROR_INVALID_HANDLE);
	CHECK_EQ(drv.array_destroy(a2), CUDA_SUCCESS);
	CHECK_EQ(drv.array_destroy(a1), CUDA_SUCCESS);
	CHECK_EQ(drv.array_destroy(a3), CUDA_SUCCESS);
	CHECK_EQ(drv.array_destroy(al), CUDA_SUCCESS);
	CHECK_EQ(drv.array_destroy(al), CUDA_ERROR_INVALID_HANDLE);
	CHECK_EQ(used0(), 0);
}

static CUmemPoolProps pool_props(int type, int id, size_t max)
{
	CUmemPoolProps p;

	memset(&p, 0, sizeof(p));
	p.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
	p.location.type = type;
	p.location.id = id;
	p.maxSize = max;
	return p;
}

static void test_pools(void)
{
	CUmemPoolProps props =
	    pool_props(CU_MEM_LOCATION_TYPE_DEVICE, 1, 16 * MIB);
	CUmemoryPool def, def2, pool, nope;
	CUdeviceptr a, b, c;

	CHECK_EQ(drv.default_pool(&def, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.default_pool(&def2, 0), CUDA_SUCCESS);
	CHECK(def == def2);
	CHECK_EQ(drv.default_pool(&def2, 1), CUDA_SUCCESS);
	CHECK(def != def2);
	CHECK_EQ(drv.default_pool(&def2, 9), CUDA_ERROR_INVALID_DEVICE);
	CHECK_EQ(drv.default_pool(NULL, 0), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.alloc_from_pool(&a, 8 * MIB, def, NULL), CUDA_SUCCESS);
	CHECK_EQ(used0(), 8 * MIB);
	CHECK_EQ(drv.alloc_async(&b, 4 * MIB, NULL), CUDA_SUCCESS);
	CHECK_EQ(used0(), 12 * MIB);
	CHECK_EQ(drv.free_async(a, NULL), CUDA_SUCCESS);
	CHECK_EQ(drv.free_async(b, NULL), CUDA_SUCCESS);
	CHECK_EQ(used0(), 0);

	/* Handles the driver never gave, or took back. */
	CHECK_EQ(drv.alloc_from_pool(&a, MIB, NULL, NULL),
	         CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.alloc_from_pool(&a, MIB, (CUmemoryPool)&a, NULL),
	         CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.pool_destroy(def), CUDA_ERROR_INVALID_VALUE);

	/* Properties. */
	CHECK_EQ(drv.pool_create(&pool, NULL), CUDA_ERROR_INVALID_VALUE);
	props.allocType = CU_MEM_ALLOCATION_TYPE_INVALID;
	CHECK_EQ(drv.pool_create(&pool, &props), CUDA_ERROR_INVALID_VALUE);
	props = pool_props(CU_MEM_LOCATION_TYPE_DEVICE, 9, 0);
	CHECK_EQ(drv.pool_create(&pool, &props), CUDA_ERROR_INVALID_DEVICE);
	props = pool_props(CU_MEM_LOCATION_TYPE_HOST, 0, 0);
	CHECK_EQ(drv.pool_create(&pool, &props), CUDA_ERROR_NOT_SUPPORTED);
	props = pool_props(CU_MEM_LOCATION_TYPE_DEVICE, 1, 16 * MIB);
	props.reserved[3] = 1;
	CHECK_EQ(drv.pool_create(&pool, &props), CUDA_ERROR_INVALID_VALUE);

	/* A 16 MiB pool on device 1: device 0 does not pay. */
	props.reserved[3] = 0;
	CHECK_EQ(drv.pool_create(&pool, &props), CUDA_SUCCESS);
	CHECK_EQ(drv.alloc_from_pool(&a, 8 * MIB, pool, NULL), CUDA_SUCCESS);
	CHECK_EQ(drv.alloc_from_pool(&b, 8 * MIB, pool, NULL), CUDA_SUCCESS);
	CHECK_EQ(drv.alloc_from_pool(&c, 2 * MIB, pool, NULL),
	         CUDA_ERROR_OUT_OF_MEMORY);
	CHECK_EQ(used0(), 0);
	CHECK_EQ(drv.free_async(a, NULL), CUDA_SUCCESS);
	CHECK_EQ(drv.alloc_from_pool(&c, 2 * MIB, pool, NULL), CUDA_SUCCESS);
	/* Destroyed: no more allocations; the ones made stay valid. */
	CHECK_EQ(drv.pool_destroy(pool), CUDA_SUCCESS);
	CHECK_EQ(drv.pool_destroy(pool), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.alloc_from_pool(&a, MIB, pool, NULL),
	         CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.free_async(b, NULL), CUDA_SUCCESS);
	CHECK_EQ(drv.free_async(c, NULL), CUDA_SUCCESS);
	nope = NULL;
	CHECK_EQ(drv.pool_destroy(nope), CUDA_ERROR_INVALID_VALUE);
}

static void test_ctx_create(void)
{
	CUexecAffinityParam aff;
	CUctxCreateParams params;
	CUcontext c = NULL, cur = NULL;
	CUdevice dev = -1;

	CHECK_EQ(drv.ctx_create_v3(&c, NULL, 0, 0, 1), CUDA_SUCCESS);
	CHECK_EQ(drv.ctx_get(&cur), CUDA_SUCCESS);
	CHECK(cur == c);
	CHECK_EQ(drv.ctx_get_device(&dev), CUDA_SUCCESS);
	CHECK_EQ(dev, 1);
	CHECK_EQ(drv.ctx_destroy(c), CUDA_SUCCESS);
	memset(&aff, 0, sizeof(aff));
	aff.type = CU_EXEC_AFFINITY_TYPE_SM_COUNT;
	aff.param.smCount.val = 16;
	CHECK_EQ(drv.ctx_create_v3(&c, &aff, 1, 0, 0),
	         CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY);
	CHECK_EQ(drv.ctx_create_v3(&c, NULL, 1, 0, 0),
	         CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.ctx_create_v3(&c, NULL, -1, 0, 0),
	         CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.ctx_create_v3(&c, NULL, 0, 0, 5),
	         CUDA_ERROR_INVALID_DEVICE);

	CHECK_EQ(drv.ctx_create_v4(&c, NULL, 0, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.ctx_destroy(c), CUDA_SUCCESS);
	memset(&params, 0, sizeof(params));
	CHECK_EQ(drv.ctx_create_v4(&c, &params, 0, 0),
	         CUDA_ERROR_INVALID_VALUE);
	params.execAffinityParams = &aff;
	params.numExecAffinityParams = 1;
	CHECK_EQ(drv.ctx_create_v4(&c, &params, 0, 0),
	         CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY);
	params.execAffinityParams = NULL;
	params.cigParams = (CUctxCigParam *)&aff;
	CHECK_EQ(drv.ctx_create_v4(&c, &params, 0, 0),
	         CUDA_ERROR_NOT_SUPPORTED);
	CHECK_EQ(drv.ctx_get(&cur), CUDA_SUCCESS);
	CHECK(cur == ctx); /* the primary context is current again */
}

int main(void)
{
	unsetenv("NVSHARE_FAKE_STATE");
	unsetenv("NVSHARE_FAKE_TRACE");
	setenv("NVSHARE_FAKE_GPUS",
	       "GPU-00000000-0000-0000-0000-0000000000b0:1Gi,"
	       "GPU-00000000-0000-0000-0000-0000000000b1:256Mi",
	       1);
	if (setup() < 0) {
		CHECK(!"driver set up");
		return check_summary("fakecuda_vmm");
	}
	test_granularity();
	test_vmm_create_rules();
	test_vmm_release_before_unmap();
	test_vmm_unmap_before_release();
	test_vmm_capacity();
	test_arrays();
	test_pools();
	test_ctx_create();
	return check_summary("fakecuda_vmm");
}
