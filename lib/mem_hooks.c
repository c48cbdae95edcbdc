/*
 * mem_hooks.c - every way a program gets device memory, charged against
 * its ceiling (mem.h), and what it is told about memory.
 *
 * cuMemAlloc gives memory the scheduler can move between GPU and host: a
 * remappable block (remap.h), or Unified Memory where a block does not
 * suit. Where the size is known before
 * the call, the charge comes first and an allocation over the ceiling is
 * never made; where the driver decides it (pitched memory), the
 * allocation is made, measured and undone if over. What the program is
 * told (cuMemGetInfo, cuDeviceTotalMem) follows the same ceiling, so a
 * process sees the card it is meant to see.
 */
#include "mem.h"

#include "log.h"
#include "quota.h"
#include "remap.h"

/* Device d for an allocation on ordinal dev: the current context's device
 * if it is that one, else any known device of that ordinal. */
static struct gate_dev *dev_of_ordinal(int dev)
{
	struct gate_dev *d = gate_current(); /* registers it if new */

	return d && d->ordinal == dev ? d : gate_find_ordinal(dev);
}

NVS_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
	struct gate_dev *d = gate_current();
	uint64_t rounded;
	CUresult r;

	if (!d || !dptr || bytesize == 0 || !nvs_real_cuMemAllocManaged)
		return nvs_real_cuMemAlloc_v2
		           ? nvs_real_cuMemAlloc_v2(dptr, bytesize)
		           : CUDA_ERROR_NOT_INITIALIZED;
	if (remap_suits(d, bytesize, &rounded)) {
		int w = mem_charge_granted(d, rounded, MEM_MOVE_BLOCK,
		                           "cuMemAlloc");
		if (w < 0)
			return CUDA_ERROR_OUT_OF_MEMORY;
		r = remap_alloc(d, rounded, w == 0, dptr);
		if (r == CUDA_SUCCESS) {
			mem_record(d, MEM_PTR, *dptr, rounded, MEM_MOVE_BLOCK);
			return r;
		}
		/* The card itself is full (or the driver refused): Unified
		 * Memory can still oversubscribe it. */
		mem_uncharge(d, rounded, 0);
		NVS_DEBUG("event=remap_refused gpu=%s bytes=%llu reason=%s",
		          d->uuid, (unsigned long long)rounded,
		          driver_error_name(r));
	}
	if (mem_charge_granted(d, bytesize, MEM_MOVE_UNIFIED, "cuMemAlloc") < 0)
		return CUDA_ERROR_OUT_OF_MEMORY;
	r = nvs_real_cuMemAllocManaged(dptr, bytesize, CU_MEM_ATTACH_GLOBAL);
	if (r == CUDA_SUCCESS) {
		mem_record(d, MEM_PTR, *dptr, bytesize, MEM_MOVE_UNIFIED);
		return r;
	}
	mem_uncharge(d, bytesize, 0);
	if (r == CUDA_ERROR_NOT_SUPPORTED) {
		/* No Unified Memory here: plain device memory, not movable. */
		if (mem_charge_granted(d, bytesize, MEM_MOVE_PINNED,
		                       "cuMemAlloc") < 0)
			return CUDA_ERROR_OUT_OF_MEMORY;
		r = nvs_real_cuMemAlloc_v2(dptr, bytesize);
		if (r == CUDA_SUCCESS) {
			mem_record(d, MEM_PTR, *dptr, bytesize,
			           MEM_MOVE_PINNED);
			return r;
		}
		mem_uncharge(d, bytesize, 1);
	}
	return r;
}

/* Allocations whose size the program gives: charged first, made as asked,
 * recorded under the pointer. Invalid arguments (no device, no pointer,
 * zero bytes) go to the driver unaccounted for it to refuse, and so do
 * allocations captured into a graph: a graph node may run many times or
 * never, it is not memory now. */
#define NVS_CHARGED_ALLOC(name, params, args, move, stream)                    \
	NVS_EXPORT CUresult name params                                        \
	{                                                                      \
		struct gate_dev *d = gate_current();                           \
		CUresult r;                                                    \
		if (!nvs_real_##name)                                          \
			return CUDA_ERROR_NOT_INITIALIZED;                     \
		if (!d || !dptr || bytesize == 0 ||                            \
		    gate_stream_capturing(stream))                             \
			return nvs_real_##name args;                           \
		if (mem_charge_granted(d, bytesize, (move), #name) < 0)        \
			return CUDA_ERROR_OUT_OF_MEMORY;                       \
		r = nvs_real_##name args;                                      \
		if (r == CUDA_SUCCESS)                                         \
			mem_record(d, MEM_PTR, *dptr, bytesize, (move));       \
		else                                                           \
			mem_uncharge(d, bytesize, (move) == MEM_MOVE_PINNED);  \
		return r;                                                      \
	}
NVS_CHARGED_ALLOC(cuMemAllocManaged,
                  (CUdeviceptr * dptr, size_t bytesize, unsigned int flags),
                  (dptr, bytesize, flags), MEM_MOVE_UNIFIED, NVS_NO_STREAM)
NVS_CHARGED_ALLOC(cuMemAllocAsync,
                  (CUdeviceptr * dptr, size_t bytesize, CUstream s),
                  (dptr, bytesize, s), MEM_MOVE_PINNED, s)
NVS_CHARGED_ALLOC(cuMemAllocAsync_ptsz,
                  (CUdeviceptr * dptr, size_t bytesize, CUstream s),
                  (dptr, bytesize, s), MEM_MOVE_PINNED, NVS_PT(s))
NVS_CHARGED_ALLOC(cuMemAllocFromPoolAsync,
                  (CUdeviceptr * dptr, size_t bytesize, CUmemoryPool p,
                   CUstream s),
                  (dptr, bytesize, p, s), MEM_MOVE_PINNED, s)
NVS_CHARGED_ALLOC(cuMemAllocFromPoolAsync_ptsz,
                  (CUdeviceptr * dptr, size_t bytesize, CUmemoryPool p,
                   CUstream s),
                  (dptr, bytesize, p, s), MEM_MOVE_PINNED, NVS_PT(s))

/* Rows are padded to at least this alignment (CUDA's texture pitch
 * alignment on current GPUs): the estimate charged before the call. */
#define PITCH_ESTIMATE_ALIGN 512u

/* The driver picks the pitch, so the real size (pitch x height) is known
 * only afterwards: an estimate is charged (and granted) first, then
 * corrected; a pitch beyond the estimate is charged without waiting. */
NVS_EXPORT CUresult cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pitch,
                                       size_t width, size_t height,
                                       unsigned int elem)
{
	struct gate_dev *d = gate_current();
	uint64_t bytes, guess = 0;
	CUresult r;

	if (!nvs_real_cuMemAllocPitch_v2)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (d && dptr && pitch && width && height && width <= UINT32_MAX &&
	    height <= UINT32_MAX) {
		guess = ((uint64_t)width + PITCH_ESTIMATE_ALIGN - 1) /
		        PITCH_ESTIMATE_ALIGN * PITCH_ESTIMATE_ALIGN * height;
		if (mem_charge_granted(d, guess, MEM_MOVE_PINNED,
		                       "cuMemAllocPitch") < 0)
			return CUDA_ERROR_OUT_OF_MEMORY;
	}
	r = nvs_real_cuMemAllocPitch_v2(dptr, pitch, width, height, elem);
	if (r != CUDA_SUCCESS || !d || !guess) {
		if (guess)
			mem_uncharge(d, guess, 1);
		return r;
	}
	bytes = (uint64_t)*pitch * height;
	if (bytes > guess &&
	    mem_charge(d, bytes - guess, 1, "cuMemAllocPitch")) {
		mem_uncharge(d, guess, 1);
		if (nvs_real_cuMemFree_v2)
			nvs_real_cuMemFree_v2(*dptr);
		*dptr = 0;
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (bytes < guess)
		mem_uncharge(d, guess - bytes, 1);
	mem_record(d, MEM_PTR, *dptr, bytes, MEM_MOVE_PINNED);
	return r;
}

/* Frees: the accounting follows only what the driver really freed (and a
 * free captured into a graph frees nothing now). Remappable blocks
 * (remap.h) are ours to free. */
#define NVS_FREE(name, params, args, kind, key, stream, remappable)            \
	NVS_EXPORT CUresult name params                                        \
	{                                                                      \
		CUresult r;                                                    \
		driver_ensure();                                               \
		if (!nvs_real_##name)                                          \
			return CUDA_ERROR_NOT_INITIALIZED;                     \
		int captured = gate_stream_capturing(stream);                  \
		if ((remappable) && !captured &&                               \
		    remap_free((CUdeviceptr)(uintptr_t)(key)))                 \
			return CUDA_SUCCESS;                                   \
		r = nvs_real_##name args;                                      \
		if (r == CUDA_SUCCESS && !captured)                            \
			mem_forget((kind), (uint64_t)(uintptr_t)(key));        \
		return r;                                                      \
	}
NVS_FREE(cuMemFree_v2, (CUdeviceptr dptr), (dptr), MEM_PTR, dptr, NVS_NO_STREAM,
         1)
NVS_FREE(cuMemFreeAsync, (CUdeviceptr dptr, CUstream s), (dptr, s), MEM_PTR,
         dptr, s, 1)
NVS_FREE(cuMemFreeAsync_ptsz, (CUdeviceptr dptr, CUstream s), (dptr, s),
         MEM_PTR, dptr, NVS_PT(s), 1)
NVS_FREE(cuArrayDestroy, (CUarray a), (a), MEM_ARRAY, a, NVS_NO_STREAM, 0)
NVS_FREE(cuMipmappedArrayDestroy, (CUmipmappedArray a), (a), MEM_ARRAY, a,
         NVS_NO_STREAM, 0)

/* --- arrays ----------------------------------------------------------------
 *
 * The driver does not say how much an ordinary array takes (only arrays
 * with deferred mapping answer cuArrayGetMemoryRequirements), so an array
 * is charged its elements' bytes: width x height x depth x channels x
 * element size. Padding the driver adds is not seen.
 */

static uint64_t format_bytes(CUarray_format f)
{
	switch ((unsigned)f) {
	case CU_AD_FORMAT_UNSIGNED_INT8:
	case CU_AD_FORMAT_SIGNED_INT8: return 1;
	case CU_AD_FORMAT_UNSIGNED_INT16:
	case CU_AD_FORMAT_SIGNED_INT16:
	case CU_AD_FORMAT_HALF: return 2;
	default: return 4; /* 32-bit formats, and the widest guess else */
	}
}

/* Bytes of one level; 0 on overflow. */
static uint64_t level_bytes(uint64_t w, uint64_t h, uint64_t dpt,
                            unsigned channels, CUarray_format f)
{
	uint64_t n = w ? w : 1;
	uint64_t factors[] = {h ? h : 1, dpt ? dpt : 1, channels ? channels : 1,
	                      format_bytes(f)};

	for (size_t i = 0; i < sizeof(factors) / sizeof(factors[0]); i++) {
		if (n > UINT64_MAX / factors[i])
			return 0;
		n *= factors[i];
	}
	return n;
}

static uint64_t mipmap_bytes(const CUDA_ARRAY3D_DESCRIPTOR *a, unsigned levels)
{
	uint64_t total = 0, w = a->Width, h = a->Height, dpt = a->Depth;
	/* Layered arrays keep their layer count at every level. */
	int layered = (a->Flags & CUDA_ARRAY3D_LAYERED) != 0;

	for (unsigned l = 0; l < (levels ? levels : 1); l++) {
		uint64_t b = level_bytes(w, h, dpt, a->NumChannels, a->Format);
		if (b == 0 || total > UINT64_MAX - b)
			return 0;
		total += b;
		w = w > 1 ? w / 2 : 1;
		h = h > 1 ? h / 2 : h;
		if (!layered)
			dpt = dpt > 1 ? dpt / 2 : dpt;
	}
	return total;
}

/* Charges an array of bytes to the current device before the driver
 * makes it, once the grant covers it (arrays cannot move). Returns the
 * device charged, or NULL with *r set: CUDA_SUCCESS (no device: nothing
 * to charge) or CUDA_ERROR_OUT_OF_MEMORY (over the ceiling, no room, or
 * a size that does not fit 64 bits). */
static struct gate_dev *array_charge(uint64_t bytes, const char *api,
                                     CUresult *r)
{
	struct gate_dev *d = gate_current();

	*r = CUDA_SUCCESS;
	if (!d)
		return NULL;
	if (bytes == 0 || mem_charge_granted(d, bytes, MEM_MOVE_PINNED, api)) {
		*r = CUDA_ERROR_OUT_OF_MEMORY;
		return NULL;
	}
	return d;
}

/* Records the array the driver made (r) at h, or gives the charge back. */
static CUresult array_made(struct gate_dev *d, uint64_t bytes, CUresult r,
                           void *h)
{
	if (!d)
		return r;
	if (r == CUDA_SUCCESS && h)
		mem_record(d, MEM_ARRAY, (uint64_t)(uintptr_t)h, bytes,
		           MEM_MOVE_PINNED);
	else
		mem_uncharge(d, bytes, 1);
	return r;
}

NVS_EXPORT CUresult cuArrayCreate_v2(CUarray *ph,
                                     const CUDA_ARRAY_DESCRIPTOR *a)
{
	struct gate_dev *d;
	uint64_t bytes;
	CUresult r;

	if (!nvs_real_cuArrayCreate_v2)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!a || !ph)
		return nvs_real_cuArrayCreate_v2(ph, a);
	bytes = level_bytes(a->Width, a->Height, 1, a->NumChannels, a->Format);
	d = array_charge(bytes, "cuArrayCreate", &r);
	if (r != CUDA_SUCCESS)
		return r;
	r = nvs_real_cuArrayCreate_v2(ph, a);
	return array_made(d, bytes, r, *ph);
}

NVS_EXPORT CUresult cuArray3DCreate_v2(CUarray *ph,
                                       const CUDA_ARRAY3D_DESCRIPTOR *a)
{
	struct gate_dev *d;
	uint64_t bytes;
	CUresult r;

	if (!nvs_real_cuArray3DCreate_v2)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!a || !ph)
		return nvs_real_cuArray3DCreate_v2(ph, a);
	bytes = mipmap_bytes(a, 1);
	d = array_charge(bytes, "cuArray3DCreate", &r);
	if (r != CUDA_SUCCESS)
		return r;
	r = nvs_real_cuArray3DCreate_v2(ph, a);
	return array_made(d, bytes, r, *ph);
}

NVS_EXPORT CUresult cuMipmappedArrayCreate(CUmipmappedArray *ph,
                                           const CUDA_ARRAY3D_DESCRIPTOR *a,
                                           unsigned int levels)
{
	struct gate_dev *d;
	uint64_t bytes;
	CUresult r;

	if (!nvs_real_cuMipmappedArrayCreate)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!a || !ph)
		return nvs_real_cuMipmappedArrayCreate(ph, a, levels);
	bytes = mipmap_bytes(a, levels);
	d = array_charge(bytes, "cuMipmappedArrayCreate", &r);
	if (r != CUDA_SUCCESS)
		return r;
	r = nvs_real_cuMipmappedArrayCreate(ph, a, levels);
	return array_made(d, bytes, r, *ph);
}

/* --- virtual memory management ---------------------------------------------
 *
 * cuMemCreate makes physical memory (its size is a multiple of the
 * allocation granularity, so the bytes are exact); it lives until released
 * and unmapped everywhere, so the charge follows the handle's references.
 */

NVS_EXPORT CUresult cuMemCreate(CUmemGenericAllocationHandle *handle,
                                size_t size, const CUmemAllocationProp *prop,
                                unsigned long long flags)
{
	struct gate_dev *d = NULL;
	CUresult r;

	if (!nvs_real_cuMemCreate)
		return CUDA_ERROR_NOT_INITIALIZED;
	if (handle && prop && size &&
	    prop->location.type == CU_MEM_LOCATION_TYPE_DEVICE)
		d = dev_of_ordinal(prop->location.id);
	if (d &&
	    mem_charge_granted(d, size, MEM_MOVE_PINNED, "cuMemCreate") < 0)
		return CUDA_ERROR_OUT_OF_MEMORY;
	r = nvs_real_cuMemCreate(handle, size, prop, flags);
	if (d && r == CUDA_SUCCESS)
		mem_record(d, MEM_HANDLE, *handle, size, MEM_MOVE_PINNED);
	else if (d)
		mem_uncharge(d, size, 1);
	return r;
}

NVS_EXPORT CUresult cuMemRelease(CUmemGenericAllocationHandle handle)
{
	CUresult r;

	driver_ensure();
	if (!nvs_real_cuMemRelease)
		return CUDA_ERROR_NOT_INITIALIZED;
	r = nvs_real_cuMemRelease(handle);
	if (r == CUDA_SUCCESS)
		mem_vmm_released(handle);
	return r;
}

/* The handle of mapped memory, handed out again: it must be released once
 * more (NCCL does this when it registers buffers). */
NVS_EXPORT CUresult
cuMemRetainAllocationHandle(CUmemGenericAllocationHandle *handle, void *addr)
{
	CUresult r;

	driver_ensure();
	if (!nvs_real_cuMemRetainAllocationHandle)
		return CUDA_ERROR_NOT_INITIALIZED;
	r = nvs_real_cuMemRetainAllocationHandle(handle, addr);
	if (r == CUDA_SUCCESS && handle)
		mem_vmm_retained(*handle);
	return r;
}

NVS_EXPORT CUresult cuMemMap(CUdeviceptr ptr, size_t size, size_t offset,
                             CUmemGenericAllocationHandle handle,
                             unsigned long long flags)
{
	CUresult r;

	driver_ensure();
	if (!nvs_real_cuMemMap)
		return CUDA_ERROR_NOT_INITIALIZED;
	r = nvs_real_cuMemMap(ptr, size, offset, handle, flags);
	if (r == CUDA_SUCCESS)
		mem_vmm_mapped(ptr, size, handle);
	return r;
}

NVS_EXPORT CUresult cuMemUnmap(CUdeviceptr ptr, size_t size)
{
	CUresult r;

	driver_ensure();
	if (!nvs_real_cuMemUnmap)
		return CUDA_ERROR_NOT_INITIALIZED;
	r = nvs_real_cuMemUnmap(ptr, size);
	if (r == CUDA_SUCCESS)
		mem_vmm_unmapped(ptr, size);
	return r;
}

/* --- what the program is told ---------------------------------------------
 */

NVS_EXPORT CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total_bytes)
{
	struct gate_dev *d;
	CUresult r;
	uint64_t ceiling, used;

	driver_ensure();
	if (!nvs_real_cuMemGetInfo_v2)
		return CUDA_ERROR_NOT_INITIALIZED;
	r = nvs_real_cuMemGetInfo_v2(free_bytes, total_bytes);
	if (r != CUDA_SUCCESS)
		return r;
	d = gate_current();
	if (!d || !(ceiling = mem_ceiling(d)))
		return r;
	used = mem_used(d);
	/* What this process may still use: the card it sees (its limit or
	 * the GPU's capacity), less its own allocations; co-tenants' memory
	 * is the scheduler's business. */
	if (total_bytes)
		*total_bytes = ceiling;
	if (free_bytes)
		*free_bytes = used >= ceiling ? 0 : ceiling - used;
	return r;
}

NVS_EXPORT CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
	uint64_t limit = quota_memory_limit();
	CUresult r;
	struct gate_dev *d;

	driver_ensure();
	if (!nvs_real_cuDeviceTotalMem_v2)
		return CUDA_ERROR_NOT_INITIALIZED;
	r = nvs_real_cuDeviceTotalMem_v2(bytes, dev);
	if (r != CUDA_SUCCESS || !bytes)
		return r;
	if (limit) {
		*bytes = limit;
		return r;
	}
	d = gate_find_ordinal(dev);
	if (d) {
		pthread_mutex_lock(&d->mu);
		if (d->accepted)
			*bytes = d->capacity_bytes;
		pthread_mutex_unlock(&d->mu);
	}
	return r;
}
