/*
 * mem.c - the allocation table (open addressing, linear probing, tombstones
 * on delete, doubled when 3/4 full) and the memory hooks.
 *
 * cuMemAlloc becomes cuMemAllocManaged so that the scheduler can later move
 * a process's memory between GPU and host. What the program is told about
 * memory (cuMemGetInfo, cuDeviceTotalMem) follows the capacity the scheduler
 * gave for the GPU, so a process sees the card it is meant to see.
 */
#include "mem.h"

#include "client.h"
#include "log.h"

#include <stdlib.h>
#include <time.h>

#define TOMBSTONE ((CUdeviceptr)-1)

struct mem_slot {
	CUdeviceptr ptr;      /* 0: empty; TOMBSTONE: deleted */
	uint64_t bytes;       /* size accounted */
	struct gate_dev *dev; /* device it was charged to */
	int managed;          /* Unified Memory: the swap path can move it */
};

static struct {
	pthread_mutex_t mu;
	struct mem_slot *slots; /* cap entries */
	size_t cap;             /* power of two */
	size_t used;            /* live + tombstones */
	size_t live;            /* live entries */
} table = {.mu = PTHREAD_MUTEX_INITIALIZER};

static size_t slot_of(CUdeviceptr p, size_t cap)
{
	uint64_t h = (uint64_t)p * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 17) & (cap - 1);
}

/* Rebuilds the table without tombstones: twice as large when it is
 * mostly live, the same size when deletions filled it (so a program that
 * allocates and frees at ever new addresses does not grow it forever). */
static int rehash(void)
{
	size_t live = table.live, ncap;
	struct mem_slot *n;

	ncap = table.cap == 0          ? 1024
	       : live * 4 >= table.cap ? table.cap * 2
	                               : table.cap;
	n = calloc(ncap, sizeof(*n));
	if (!n)
		return -1;
	for (size_t i = 0; i < table.cap; i++) {
		struct mem_slot *s = &table.slots[i];
		if (s->ptr == 0 || s->ptr == TOMBSTONE)
			continue;
		size_t j = slot_of(s->ptr, ncap);
		while (n[j].ptr)
			j = (j + 1) & (ncap - 1);
		n[j] = *s;
	}
	free(table.slots);
	table.slots = n;
	table.cap = ncap;
	table.used = live;
	return 0;
}

static void charge(struct gate_dev *d, int64_t delta)
{
	pthread_mutex_lock(&d->mu);
	d->allocated_bytes = (uint64_t)((int64_t)d->allocated_bytes + delta);
	d->todo |= GATE_TODO_MEMORY;
	pthread_mutex_unlock(&d->mu);
	client_notify();
}

/* Removes ptr's entry if present (table.mu held); returns it, or a zero
 * slot. */
static struct mem_slot take(CUdeviceptr ptr)
{
	struct mem_slot found = {0};

	if (!table.cap)
		return found;
	for (size_t i = slot_of(ptr, table.cap); table.slots[i].ptr;
	     i = (i + 1) & (table.cap - 1)) {
		if (table.slots[i].ptr == ptr) {
			found = table.slots[i];
			table.slots[i].ptr = TOMBSTONE;
			table.live--;
			break;
		}
	}
	return found;
}

int mem_track(struct gate_dev *d, CUdeviceptr ptr, uint64_t bytes, int managed)
{
	struct mem_slot stale;
	size_t i;

	pthread_mutex_lock(&table.mu);
	/* An address still listed was freed through a path we do not see
	 * (and reused): forget the old entry rather than charge it twice. */
	stale = take(ptr);
	if ((table.used + 1) * 4 > table.cap * 3 && rehash()) {
		pthread_mutex_unlock(&table.mu);
		if (stale.ptr)
			charge(stale.dev, -(int64_t)stale.bytes);
		NVS_WARN("event=no_memory msg=\"allocation table full; "
		         "allocation not accounted\"");
		return -1;
	}
	i = slot_of(ptr, table.cap);
	while (table.slots[i].ptr && table.slots[i].ptr != TOMBSTONE)
		i = (i + 1) & (table.cap - 1);
	if (table.slots[i].ptr == 0)
		table.used++;
	table.slots[i] = (struct mem_slot){ptr, bytes, d, managed};
	table.live++;
	pthread_mutex_unlock(&table.mu);
	if (stale.ptr)
		charge(stale.dev, -(int64_t)stale.bytes);
	charge(d, (int64_t)bytes);
	if (managed) {
		pthread_mutex_lock(&d->mu);
		d->unplaced = 1;
		pthread_mutex_unlock(&d->mu);
	}
	return 0;
}

int mem_untrack(CUdeviceptr ptr)
{
	struct mem_slot found;

	pthread_mutex_lock(&table.mu);
	found = take(ptr);
	pthread_mutex_unlock(&table.mu);
	if (!found.ptr)
		return 0;
	charge(found.dev, -(int64_t)found.bytes);
	return 1;
}

int mem_managed_of(struct gate_dev *d, struct mem_range **out, size_t *n)
{
	struct mem_range *r = NULL;
	size_t count = 0, cap = 0;

	pthread_mutex_lock(&table.mu);
	for (size_t i = 0; i < table.cap; i++) {
		struct mem_slot *s = &table.slots[i];
		if (s->ptr == 0 || s->ptr == TOMBSTONE || s->dev != d ||
		    !s->managed)
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct mem_range *nr = realloc(r, ncap * sizeof(*nr));
			if (!nr) {
				pthread_mutex_unlock(&table.mu);
				free(r);
				return -1;
			}
			r = nr;
			cap = ncap;
		}
		r[count++] = (struct mem_range){s->ptr, s->bytes};
	}
	pthread_mutex_unlock(&table.mu);
	*out = r;
	*n = count;
	return 0;
}

/* Waits briefly for the scheduler's GPU_ACCEPTED so that capacity checks
 * use the capacity it assigns (which may be smaller than the card). */
static uint64_t capacity_of(struct gate_dev *d)
{
	uint64_t cap;
	struct timespec until;

	pthread_mutex_lock(&d->mu);
	gate_deadline(&until, 2000);
	while (client_is_managed() && !d->accepted)
		if (pthread_cond_timedwait(&d->cv, &d->mu, &until))
			break;
	cap = d->capacity_bytes;
	pthread_mutex_unlock(&d->mu);
	return cap;
}

static int over_capacity(struct gate_dev *d, size_t bytes)
{
	uint64_t cap = capacity_of(d), used;

	if (client_config()->single_oversub || cap == 0)
		return 0;
	pthread_mutex_lock(&d->mu);
	used = d->allocated_bytes;
	pthread_mutex_unlock(&d->mu);
	return used > cap || bytes > cap - used;
}

NVS_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
	struct gate_dev *d = gate_current();
	CUresult r;

	if (!d || !dptr || bytesize == 0 || !nvs_real_cuMemAllocManaged)
		return nvs_real_cuMemAlloc_v2
		           ? nvs_real_cuMemAlloc_v2(dptr, bytesize)
		           : CUDA_ERROR_NOT_INITIALIZED;
	if (over_capacity(d, bytesize)) {
		NVS_DEBUG("event=oom api=cuMemAlloc bytes=%zu gpu=%s", bytesize,
		          d->uuid);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	r = nvs_real_cuMemAllocManaged(dptr, bytesize, CU_MEM_ATTACH_GLOBAL);
	if (r == CUDA_SUCCESS) {
		mem_track(d, *dptr, bytesize, 1);
	} else if (r == CUDA_ERROR_NOT_SUPPORTED) {
		/* No Unified Memory here: plain device memory, not movable. */
		r = nvs_real_cuMemAlloc_v2(dptr, bytesize);
		if (r == CUDA_SUCCESS)
			mem_track(d, *dptr, bytesize, 0);
	}
	return r;
}

/* Allocations made as the program asked, then accounted: bytes is what the
 * driver really reserved (for pitched memory, pitch x height). */
#define NVS_TRACKED_ALLOC(name, params, args, bytes, managed)                  \
	NVS_EXPORT CUresult name params                                        \
	{                                                                      \
		struct gate_dev *d = gate_current();                           \
		CUresult r;                                                    \
		if (!nvs_real_##name)                                          \
			return CUDA_ERROR_NOT_INITIALIZED;                     \
		r = nvs_real_##name args;                                      \
		if (r == CUDA_SUCCESS && d)                                    \
			mem_track(d, *dptr, (bytes), (managed));               \
		return r;                                                      \
	}
NVS_TRACKED_ALLOC(cuMemAllocManaged,
                  (CUdeviceptr * dptr, size_t bytesize, unsigned int flags),
                  (dptr, bytesize, flags), bytesize, 1)
NVS_TRACKED_ALLOC(cuMemAllocPitch_v2,
                  (CUdeviceptr * dptr, size_t *pitch, size_t width,
                   size_t height, unsigned int elem),
                  (dptr, pitch, width, height, elem), (uint64_t)*pitch *height,
                  0)
NVS_TRACKED_ALLOC(cuMemAllocAsync,
                  (CUdeviceptr * dptr, size_t bytesize, CUstream s),
                  (dptr, bytesize, s), bytesize, 0)
NVS_TRACKED_ALLOC(cuMemAllocAsync_ptsz,
                  (CUdeviceptr * dptr, size_t bytesize, CUstream s),
                  (dptr, bytesize, s), bytesize, 0)
NVS_TRACKED_ALLOC(cuMemAllocFromPoolAsync,
                  (CUdeviceptr * dptr, size_t bytesize, CUmemoryPool p,
                   CUstream s),
                  (dptr, bytesize, p, s), bytesize, 0)
NVS_TRACKED_ALLOC(cuMemAllocFromPoolAsync_ptsz,
                  (CUdeviceptr * dptr, size_t bytesize, CUmemoryPool p,
                   CUstream s),
                  (dptr, bytesize, p, s), bytesize, 0)

/* Frees: the accounting follows only what the driver really freed. */
#define NVS_FREE(name, params, args)                                           \
	NVS_EXPORT CUresult name params                                        \
	{                                                                      \
		CUresult r;                                                    \
		driver_ensure();                                               \
		if (!nvs_real_##name)                                          \
			return CUDA_ERROR_NOT_INITIALIZED;                     \
		r = nvs_real_##name args;                                      \
		if (r == CUDA_SUCCESS)                                         \
			mem_untrack(dptr);                                     \
		return r;                                                      \
	}
NVS_FREE(cuMemFree_v2, (CUdeviceptr dptr), (dptr))
NVS_FREE(cuMemFreeAsync, (CUdeviceptr dptr, CUstream s), (dptr, s))
NVS_FREE(cuMemFreeAsync_ptsz, (CUdeviceptr dptr, CUstream s), (dptr, s))

NVS_EXPORT CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total_bytes)
{
	struct gate_dev *d;
	CUresult r;
	uint64_t cap, used;

	driver_ensure();
	if (!nvs_real_cuMemGetInfo_v2)
		return CUDA_ERROR_NOT_INITIALIZED;
	r = nvs_real_cuMemGetInfo_v2(free_bytes, total_bytes);
	if (r != CUDA_SUCCESS)
		return r;
	d = gate_current();
	if (!d)
		return r;
	cap = capacity_of(d);
	pthread_mutex_lock(&d->mu);
	used = d->allocated_bytes;
	pthread_mutex_unlock(&d->mu);
	/* What this process may still use: the card it sees, less its own
	 * allocations; co-tenants' memory is the scheduler's business. */
	if (total_bytes)
		*total_bytes = cap;
	if (free_bytes)
		*free_bytes = used >= cap ? 0 : cap - used;
	return r;
}

NVS_EXPORT CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
	CUresult r;
	int n;

	driver_ensure();
	if (!nvs_real_cuDeviceTotalMem_v2)
		return CUDA_ERROR_NOT_INITIALIZED;
	r = nvs_real_cuDeviceTotalMem_v2(bytes, dev);
	if (r != CUDA_SUCCESS || !bytes)
		return r;
	n = atomic_load(&gate_ndevs);
	for (int i = 0; i < n; i++) {
		struct gate_dev *d = &gate_devs[i];
		if (d->ordinal != dev)
			continue;
		pthread_mutex_lock(&d->mu);
		if (d->accepted)
			*bytes = d->capacity_bytes;
		pthread_mutex_unlock(&d->mu);
	}
	return r;
}
