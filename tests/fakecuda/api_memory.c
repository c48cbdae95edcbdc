/*
 * api_memory.c - allocation, freeing, prefetching and advice.
 *
 * Every allocation is backed by an anonymous MAP_NORESERVE mapping, so an
 * untouched 8 GiB buffer costs nothing, and the device pointer is the host
 * address: copies really move bytes. Device memory is counted against the
 * device's capacity (CUDA_ERROR_OUT_OF_MEMORY beyond it, after evicting
 * managed memory if that helps); managed memory is never refused for
 * capacity and only occupies the device while resident (memory.c).
 * Stream-ordered allocation and freeing take effect at once; they take
 * memory from the stream's device, or from the pool's (a pool handle must
 * be one api_pool.c handed out and not destroyed; a pool's maxSize bounds
 * what it holds). Which of these calls a stream capture forbids follows
 * the real driver (see capture.c). Page-locked host memory is plain host
 * memory in a memfd.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fakecuda.h"
#include "log.h"

#define FC_PITCH_ALIGN 512

static size_t mem_map_len(uint64_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (size + page - 1) / page * page;
}

/* Puts the time of evictions forced by a device allocation on the
 * device's compute timeline (the copy-out stalls the GPU). */
static void mem_charge_eviction(int dev, const struct fc_move *m, int64_t now)
{
	struct fc_dev_state *d = &fc_rt.st->dev[dev];
	int64_t ns = (int64_t)fc_move_evict_ns(m, &fc_rt.cfg.bw), start;

	if (!ns)
		return;
	start = d->busy_until_ns > now ? d->busy_until_ns : now;
	d->busy_until_ns = start + ns;
	fc_trace_write(dev, start, start + ns, "evict");
}

enum fc_mem_result fc_mem_record(int dev, fc_mem_add_fn add, void *arg)
{
	struct fc_state *st = fc_rt.st;
	enum fc_mem_result res;
	int64_t now = fc_now();
	struct fc_move m = {0};

	fc_state_lock(st);
	fc_state_reap(st, now, 0);
	res = add(st, now, &m, arg);
	if (res == FC_MEM_NO_ROOM) {
		fc_state_reap(st, now, 1);
		res = add(st, now, &m, arg);
	}
	if (res == FC_MEM_OK && dev >= 0)
		mem_charge_eviction(dev, &m, now);
	fc_state_unlock(st);
	return res;
}

/* What an allocation of the cuMemAlloc family records. */
struct mem_args {
	int dev;                    /* device it takes memory from */
	int managed;                /* 1: managed memory */
	uint64_t addr;              /* its address */
	uint64_t size;              /* bytes */
	const struct fc_pool *pool; /* pool it comes from, or NULL */
};

static enum fc_mem_result mem_add(struct fc_state *st, int64_t now,
                                  struct fc_move *m, void *arg)
{
	const struct mem_args *a = arg;

	if (a->managed)
		return fc_mem_add_managed(st, fc_rt.slot, a->dev, a->addr,
		                          a->size);
	if (a->pool)
		return fc_mem_add_pooled(st, fc_rt.slot, a->dev, a->addr,
		                         a->size, (uint64_t)(uintptr_t)a->pool,
		                         a->pool->max_size, now, m);
	return fc_mem_add_device(st, fc_rt.slot, a->dev, a->addr, a->size, now,
	                         m);
}

/* Allocates size bytes on dev (managed: with dev as home), from pool if
 * not NULL. unsafe: the call is one of those a stream capture restricts. */
static CUresult mem_alloc_on(CUdeviceptr *dptr, uint64_t size, int dev,
                             int managed, const struct fc_pool *pool,
                             int unsafe)
{
	struct mem_args a = {.dev = dev, .managed = managed, .pool = pool};
	enum fc_mem_result res;
	void *p;
	CUresult r;

	if (!dptr || size == 0)
		return CUDA_ERROR_INVALID_VALUE;
	if (unsafe && (r = fc_capture_check_unsafe()) != CUDA_SUCCESS)
		return r;
	if (size > fc_rt.cfg.dev[dev].capacity && !managed)
		return CUDA_ERROR_OUT_OF_MEMORY;
	p = mmap(NULL, mem_map_len(size), PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		NVS_WARN(
		    "msg=\"cannot map backing store\" bytes=%llu err=\"%s\"",
		    (unsigned long long)size, strerror(errno));
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	a.addr = (uint64_t)(uintptr_t)p;
	a.size = size;
	res = fc_mem_record(dev, mem_add, &a);
	if (res != FC_MEM_OK) {
		if (res == FC_MEM_TABLE_FULL)
			NVS_ERROR("msg=\"fakecuda allocation table full\" "
			          "max=%d",
			          FC_MAX_ALLOCS);
		munmap(p, mem_map_len(size));
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	*dptr = (CUdeviceptr)(uintptr_t)p;
	return CUDA_SUCCESS;
}

/* The same on the current context's device. */
static CUresult mem_alloc(CUdeviceptr *dptr, uint64_t size, int managed,
                          int unsafe)
{
	struct fc_ctx *ctx;
	CUresult r = fc_require_ctx(&ctx);

	if (r != CUDA_SUCCESS)
		return r;
	return mem_alloc_on(dptr, size, ctx->dev, managed, NULL, unsafe);
}

static CUresult mem_free(CUdeviceptr dptr, int unsafe)
{
	struct fc_state *st = fc_rt.st;
	uint64_t size = 0;
	CUresult r;
	int idx;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!dptr)
		return CUDA_SUCCESS;
	if (unsafe && (r = fc_capture_check_unsafe()) != CUDA_SUCCESS)
		return r;
	fc_state_lock(st);
	idx = fc_alloc_find(st, fc_rt.pid, dptr);
	if (idx >= 0) {
		size = st->alloc[idx].size;
		fc_alloc_remove(st, idx);
	}
	fc_state_unlock(st);
	if (idx < 0)
		return CUDA_ERROR_INVALID_VALUE;
	munmap((void *)(uintptr_t)dptr, mem_map_len(size));
	return CUDA_SUCCESS;
}

/* Validates the stream of a stream-ordered allocation or free: on a
 * capturing stream it becomes part of the capture (here: happens at
 * once); on any other it is a call the capture modes restrict. *dev gets
 * the stream's device (may be NULL). */
static CUresult mem_check_stream(CUstream h, int ptsz, int *dev)
{
	struct fc_stream *s;
	CUresult r;

	pthread_mutex_lock(&fc_rt.lock);
	r = fc_stream_resolve(h, ptsz, &s);
	if (r == CUDA_SUCCESS &&
	    s->cap_status == CU_STREAM_CAPTURE_STATUS_INVALIDATED)
		r = CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
	else if (r == CUDA_SUCCESS &&
	         s->cap_status == CU_STREAM_CAPTURE_STATUS_NONE)
		r = fc_capture_guard(s, NULL, 1);
	if (r == CUDA_SUCCESS && dev)
		*dev = s->ctx->dev;
	pthread_mutex_unlock(&fc_rt.lock);
	return r;
}

CUresult CUDAAPI cuMemGetInfo_v2(size_t *free, size_t *total)
{
	struct fc_ctx *ctx;
	CUresult r = fc_require_ctx(&ctx);

	if (r != CUDA_SUCCESS)
		return r;
	if (!free || !total)
		return CUDA_SUCCESS; /* as the real driver: nothing written */
	fc_state_lock(fc_rt.st);
	fc_state_reap(fc_rt.st, fc_now(), 0);
	*free = fc_mem_free_bytes(fc_rt.st, ctx->dev);
	*total = fc_rt.st->dev[ctx->dev].capacity;
	fc_state_unlock(fc_rt.st);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
	FC_FAULT(cuMemAlloc_v2);
	return mem_alloc(dptr, bytesize, 0, 1);
}

CUresult CUDAAPI cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pPitch,
                                    size_t WidthInBytes, size_t Height,
                                    unsigned int ElementSizeBytes)
{
	uint64_t pitch, size;
	CUresult r;

	FC_FAULT(cuMemAllocPitch_v2);
	if (!pPitch || !WidthInBytes || !Height ||
	    (ElementSizeBytes != 4 && ElementSizeBytes != 8 &&
	     ElementSizeBytes != 16))
		return CUDA_ERROR_INVALID_VALUE;
	pitch = ((uint64_t)WidthInBytes + FC_PITCH_ALIGN - 1) / FC_PITCH_ALIGN *
	        FC_PITCH_ALIGN;
	if (pitch < WidthInBytes || Height > UINT64_MAX / pitch)
		return CUDA_ERROR_INVALID_VALUE;
	size = pitch * Height;
	r = mem_alloc(dptr, size, 0, 1);
	if (r == CUDA_SUCCESS)
		*pPitch = pitch;
	return r;
}

CUresult CUDAAPI cuMemAllocManaged(CUdeviceptr *dptr, size_t bytesize,
                                   unsigned int flags)
{
	FC_FAULT(cuMemAllocManaged);
	if (flags != CU_MEM_ATTACH_GLOBAL && flags != CU_MEM_ATTACH_HOST)
		return fc_ready() ? CUDA_ERROR_INVALID_VALUE
		                  : CUDA_ERROR_NOT_INITIALIZED;
	return mem_alloc(dptr, bytesize, 1, 0);
}

CUresult CUDAAPI cuMemFree_v2(CUdeviceptr dptr)
{
	return mem_free(dptr, 1);
}

/* A stream-ordered allocation: from pool (a handle, checked) or, without
 * one, from the current pool of the stream's device. */
static CUresult mem_alloc_async(CUdeviceptr *dptr, size_t bytesize, CUstream h,
                                int ptsz, int from_pool, CUmemoryPool hpool)
{
	const struct fc_pool *pool = NULL;
	CUresult r = fc_require_ctx(NULL);
	int dev = 0;

	if (r == CUDA_SUCCESS && from_pool) {
		pthread_mutex_lock(&fc_rt.lock);
		pool = fc_pool_find(hpool);
		if (pool)
			dev = pool->dev;
		pthread_mutex_unlock(&fc_rt.lock);
		if (!pool)
			return CUDA_ERROR_INVALID_VALUE;
	}
	if (r == CUDA_SUCCESS)
		r = mem_check_stream(h, ptsz, pool ? NULL : &dev);
	if (r != CUDA_SUCCESS)
		return r;
	return mem_alloc_on(dptr, bytesize, dev, 0, pool, 0);
}

CUresult CUDAAPI cuMemAllocAsync(CUdeviceptr *dptr, size_t bytesize,
                                 CUstream hStream)
{
	FC_FAULT(cuMemAllocAsync);
	return mem_alloc_async(dptr, bytesize, hStream, 0, 0, NULL);
}

CUresult CUDAAPI cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t bytesize,
                                      CUstream hStream)
{
	return mem_alloc_async(dptr, bytesize, hStream, 1, 0, NULL);
}

CUresult CUDAAPI cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t bytesize,
                                         CUmemoryPool pool, CUstream hStream)
{
	FC_FAULT(cuMemAllocFromPoolAsync);
	return mem_alloc_async(dptr, bytesize, hStream, 0, 1, pool);
}

CUresult CUDAAPI cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *dptr,
                                              size_t bytesize,
                                              CUmemoryPool pool,
                                              CUstream hStream)
{
	return mem_alloc_async(dptr, bytesize, hStream, 1, 1, pool);
}

static CUresult mem_free_async(CUdeviceptr dptr, CUstream h, int ptsz)
{
	CUresult r = fc_require_ctx(NULL);

	if (r == CUDA_SUCCESS)
		r = mem_check_stream(h, ptsz, NULL);
	if (r == CUDA_SUCCESS && !dptr)
		return CUDA_ERROR_INVALID_VALUE;
	return r == CUDA_SUCCESS ? mem_free(dptr, 0) : r;
}

CUresult CUDAAPI cuMemFreeAsync(CUdeviceptr dptr, CUstream hStream)
{
	return mem_free_async(dptr, hStream, 0);
}

CUresult CUDAAPI cuMemFreeAsync_ptsz(CUdeviceptr dptr, CUstream hStream)
{
	return mem_free_async(dptr, hStream, 1);
}

/* --- prefetch and advice -------------------------------------------------- */

/* The location a CUmemLocation names: a device, FC_LOC_HOST, or -3 when
 * invalid. */
static int mem_location(CUmemLocation loc)
{
	switch (loc.type) {
	case CU_MEM_LOCATION_TYPE_DEVICE:
		return loc.id >= 0 && loc.id < fc_rt.cfg.ndev ? loc.id : -3;
	case CU_MEM_LOCATION_TYPE_HOST:
	case 3: /* CU_MEM_LOCATION_TYPE_HOST_NUMA */
	case 4: /* CU_MEM_LOCATION_TYPE_HOST_NUMA_CURRENT */ return FC_LOC_HOST;
	default: return -3;
	}
}

static int mem_range_is_managed(CUdeviceptr p, size_t count)
{
	enum fc_mem_result res;

	fc_state_lock(fc_rt.st);
	res = fc_mem_advise(fc_rt.st, fc_rt.slot, p, count, FC_LOC_KEEP);
	fc_state_unlock(fc_rt.st);
	return res == FC_MEM_OK;
}

static CUresult mem_prefetch(CUdeviceptr p, size_t count, int loc, CUstream h,
                             int ptsz)
{
	struct fc_op op = {.kind = FC_OP_PREFETCH};

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (loc == -3)
		return CUDA_ERROR_INVALID_DEVICE;
	if (!count || !mem_range_is_managed(p, count))
		return CUDA_ERROR_INVALID_VALUE;
	op.addr = p;
	op.len = count;
	op.loc = loc;
	return fc_submit(h, ptsz, &op, 0);
}

static int mem_legacy_location(CUdevice dev)
{
	if (dev == NVS_CU_DEVICE_CPU)
		return FC_LOC_HOST;
	return dev >= 0 && dev < fc_rt.cfg.ndev ? dev : -3;
}

CUresult CUDAAPI cuMemPrefetchAsync(CUdeviceptr devPtr, size_t count,
                                    CUdevice dstDevice, CUstream hStream)
{
	FC_FAULT(cuMemPrefetchAsync);
	return mem_prefetch(devPtr, count, mem_legacy_location(dstDevice),
	                    hStream, 0);
}

CUresult CUDAAPI cuMemPrefetchAsync_ptsz(CUdeviceptr devPtr, size_t count,
                                         CUdevice dstDevice, CUstream hStream)
{
	return mem_prefetch(devPtr, count, mem_legacy_location(dstDevice),
	                    hStream, 1);
}

CUresult CUDAAPI cuMemPrefetchAsync_v2(CUdeviceptr devPtr, size_t count,
                                       CUmemLocation location,
                                       unsigned int flags, CUstream hStream)
{
	FC_FAULT(cuMemPrefetchAsync_v2);
	if (flags)
		return CUDA_ERROR_INVALID_VALUE;
	return mem_prefetch(devPtr, count, mem_location(location), hStream, 0);
}

CUresult CUDAAPI cuMemPrefetchAsync_v2_ptsz(CUdeviceptr devPtr, size_t count,
                                            CUmemLocation location,
                                            unsigned int flags,
                                            CUstream hStream)
{
	if (flags)
		return CUDA_ERROR_INVALID_VALUE;
	return mem_prefetch(devPtr, count, mem_location(location), hStream, 1);
}

static CUresult mem_advise(CUdeviceptr p, size_t count, CUmem_advise advice,
                           int loc)
{
	enum fc_mem_result res;
	int preferred = FC_LOC_KEEP;
	CUresult r;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (advice < 1 || advice > 6 || !count)
		return CUDA_ERROR_INVALID_VALUE;
	if (loc == -3 && advice != CU_MEM_ADVISE_UNSET_PREFERRED_LOCATION &&
	    advice != 1 && advice != 2) /* read-mostly takes no location */
		return CUDA_ERROR_INVALID_DEVICE;
	r = fc_capture_check_unsafe();
	if (r != CUDA_SUCCESS)
		return r;
	if (advice == CU_MEM_ADVISE_SET_PREFERRED_LOCATION)
		preferred = loc;
	else if (advice == CU_MEM_ADVISE_UNSET_PREFERRED_LOCATION)
		preferred = FC_LOC_NONE;
	fc_state_lock(fc_rt.st);
	res = fc_mem_advise(fc_rt.st, fc_rt.slot, p, count, preferred);
	fc_state_unlock(fc_rt.st);
	return res == FC_MEM_OK ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuMemAdvise(CUdeviceptr devPtr, size_t count,
                             CUmem_advise advice, CUdevice device)
{
	return mem_advise(devPtr, count, advice, mem_legacy_location(device));
}

CUresult CUDAAPI cuMemAdvise_v2(CUdeviceptr devPtr, size_t count,
                                CUmem_advise advice, CUmemLocation location)
{
	FC_FAULT(cuMemAdvise_v2);
	return mem_advise(devPtr, count, advice, mem_location(location));
}

/* Page-locked host memory: host memory here (there is nothing to pin
 * for), held in a memfd so that swaps of untouched bytes stay cheap
 * (fdrange.c). The flags must be ones the driver knows (PORTABLE,
 * DEVICEMAP, WRITECOMBINED). */
CUresult CUDAAPI cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags)
{
	size_t len;
	void *p;
	int fd;

	FC_FAULT(cuMemHostAlloc);
	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pp || bytesize == 0 || (Flags & ~0x7u))
		return CUDA_ERROR_INVALID_VALUE;
	len = mem_map_len(bytesize);
	fd = memfd_create("fakecuda-host", MFD_CLOEXEC);
	if (fd < 0)
		return CUDA_ERROR_OUT_OF_MEMORY;
	p = ftruncate(fd, (off_t)len) == 0
	        ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
	        : MAP_FAILED;
	if (p != MAP_FAILED &&
	    fc_fdrange_add((uintptr_t)p, len, fd, FC_FDRANGE_HOST)) {
		munmap(p, len);
		p = MAP_FAILED;
	}
	close(fd);
	if (p == MAP_FAILED)
		return CUDA_ERROR_OUT_OF_MEMORY;
	*pp = p;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemFreeHost(void *p)
{
	uint64_t len = 0;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!p ||
	    fc_fdrange_remove((uintptr_t)p, 1, FC_FDRANGE_HOST, &len) != 1)
		return CUDA_ERROR_INVALID_VALUE;
	munmap(p, len);
	return CUDA_SUCCESS;
}

/* Registering host memory page-locks it: here its pages are moved into a
 * memfd mapped over the same addresses (the bytes present so far copied
 * across), so that copies to and from it run at the pinned bandwidth and
 * stay sparse (fdrange.c). The range becomes a shared mapping: a fork()ed
 * child would share it rather than copy it. */
CUresult CUDAAPI cuMemHostRegister_v2(void *p, size_t bytesize,
                                      unsigned int Flags)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)p / page * page, end;
	void *m;
	int fd;

	FC_FAULT(cuMemHostRegister_v2);
	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!p || bytesize == 0 || (Flags & ~0xfu) ||
	    (uintptr_t)p > UINTPTR_MAX - bytesize - page)
		return CUDA_ERROR_INVALID_VALUE;
	end = ((uintptr_t)p + bytesize + page - 1) / page * page;
	if (fc_fdrange_overlaps(start, end - start))
		return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
	fd = memfd_create("fakecuda-registered", MFD_CLOEXEC);
	if (fd < 0)
		return CUDA_ERROR_OUT_OF_MEMORY;
	if (ftruncate(fd, (off_t)(end - start)) ||
	    fc_copy_present_pages(fd, start, end - start)) {
		close(fd);
		return CUDA_ERROR_INVALID_VALUE;
	}
	m = mmap((void *)start, end - start, PROT_READ | PROT_WRITE,
	         MAP_SHARED | MAP_FIXED, fd, 0);
	if (m == MAP_FAILED ||
	    fc_fdrange_add(start, end - start, fd, FC_FDRANGE_REGISTERED)) {
		close(fd);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	close(fd);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemHostUnregister(void *p)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!p || fc_fdrange_remove((uintptr_t)p / page * page, 1,
	                            FC_FDRANGE_REGISTERED, NULL) != 1)
		return CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
	return CUDA_SUCCESS;
}
