/*
 * api_pool.c - memory pools: cuDeviceGetDefaultMemPool, cuMemPoolCreate,
 * cuMemPoolDestroy. cuMemAllocFromPoolAsync (api_memory.c) takes memory
 * from the pool's device and refuses a handle that is not a live pool
 * from here.
 *
 * A pool only says which device its allocations come from and how much it
 * may hold (maxSize, 0: no limit). Like every stream-ordered allocation
 * here, freeing gives the memory back to the device at once: the pool
 * keeps nothing in reserve (a real pool with the default release
 * threshold returns it at the next synchronization). Destroying a pool
 * leaves its allocations alive until freed, as the driver does; a device's
 * default pool cannot be destroyed. Pools of host memory are not
 * simulated (CUDA_ERROR_NOT_SUPPORTED).
 */
#include <stdlib.h>

#include "fakecuda.h"

struct fc_pool *fc_pool_find(CUmemoryPool h)
{
	for (struct fc_pool *p = fc_rt.pools; p; p = p->next)
		if ((CUmemoryPool)p == h)
			return p->destroyed ? NULL : p;
	return NULL;
}

/* rt locked: a new pool on dev, listed (NULL when out of memory). */
static struct fc_pool *pool_new(int dev, int is_default, uint64_t max_size)
{
	struct fc_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->dev = dev;
	p->is_default = is_default;
	p->max_size = max_size;
	p->next = fc_rt.pools;
	fc_rt.pools = p;
	return p;
}

CUresult CUDAAPI cuDeviceGetDefaultMemPool(CUmemoryPool *pool_out, CUdevice dev)
{
	CUresult r = fc_check_device(dev);
	struct fc_pool *p;

	if (r != CUDA_SUCCESS)
		return r;
	if (!pool_out)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&fc_rt.lock);
	p = fc_rt.default_pool[dev];
	if (!p)
		p = fc_rt.default_pool[dev] = pool_new(dev, 1, 0);
	pthread_mutex_unlock(&fc_rt.lock);
	if (!p)
		return CUDA_ERROR_OUT_OF_MEMORY;
	*pool_out = (CUmemoryPool)p;
	return CUDA_SUCCESS;
}

/* 1 if every reserved byte of the properties is zero. */
static int pool_reserved_zero(const CUmemPoolProps *props)
{
	for (size_t i = 0; i < sizeof(props->reserved); i++)
		if (props->reserved[i])
			return 0;
	return 1;
}

static CUresult pool_check_props(const CUmemPoolProps *props)
{
	if (!props || props->allocType != CU_MEM_ALLOCATION_TYPE_PINNED ||
	    props->win32SecurityAttributes || !pool_reserved_zero(props))
		return CUDA_ERROR_INVALID_VALUE;
	switch (props->location.type) {
	case CU_MEM_LOCATION_TYPE_DEVICE:
		if (props->location.id < 0 ||
		    props->location.id >= fc_rt.cfg.ndev)
			return CUDA_ERROR_INVALID_DEVICE;
		break;
	case CU_MEM_LOCATION_TYPE_HOST:
	case CU_MEM_LOCATION_TYPE_HOST_NUMA:
		return CUDA_ERROR_NOT_SUPPORTED; /* host pools: not simulated */
	default: return CUDA_ERROR_INVALID_VALUE;
	}
	if (props->handleTypes != CU_MEM_HANDLE_TYPE_NONE &&
	    props->handleTypes != CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR)
		return CUDA_ERROR_NOT_SUPPORTED;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemPoolCreate(CUmemoryPool *pool,
                                 const CUmemPoolProps *poolProps)
{
	struct fc_pool *p;
	CUresult r;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pool)
		return CUDA_ERROR_INVALID_VALUE;
	r = pool_check_props(poolProps);
	if (r != CUDA_SUCCESS)
		return r;
	pthread_mutex_lock(&fc_rt.lock);
	p = pool_new(poolProps->location.id, 0, poolProps->maxSize);
	pthread_mutex_unlock(&fc_rt.lock);
	if (!p)
		return CUDA_ERROR_OUT_OF_MEMORY;
	*pool = (CUmemoryPool)p;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemPoolDestroy(CUmemoryPool pool)
{
	struct fc_pool *p;
	CUresult r = CUDA_SUCCESS;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	pthread_mutex_lock(&fc_rt.lock);
	p = fc_pool_find(pool);
	if (!p || p->is_default)
		r = CUDA_ERROR_INVALID_VALUE;
	else
		p->destroyed = 1;
	pthread_mutex_unlock(&fc_rt.lock);
	return r;
}
