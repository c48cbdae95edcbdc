/*
 * api_vmm.c - virtual memory management: cuMemCreate and cuMemRelease,
 * cuMemAddressReserve and cuMemAddressFree, cuMemMap, cuMemUnmap,
 * cuMemSetAccess, cuMemGetAllocationGranularity (and
 * cuMemRetainAllocationHandle, which answers CUDA_ERROR_NOT_SUPPORTED).
 *
 * The model is the driver's. Physical memory (a handle) is charged to its
 * device at creation and lives until the handle is released *and* every
 * mapping of it is unmapped, whichever comes last (memory.c keeps the
 * count in the shared state, so a dead process's memory is reaped like
 * any other). Addresses come from reservations; a mapping makes a
 * reserved range show the handle's bytes, and cuMemSetAccess makes them
 * accessible. The bytes are real: a handle is a memfd, a reservation a
 * PROT_NONE anonymous mapping, a cuMemMap a MAP_SHARED|MAP_FIXED mapping
 * of the memfd over it (PROT_NONE until cuMemSetAccess, whose flags become
 * the host protection), and cuMemUnmap puts the PROT_NONE reservation
 * back. So copies and memsets into mapped memory really move bytes, two
 * mappings of one handle show the same bytes, and an untouched handle
 * costs nothing.
 *
 * Rules, as the driver states them: sizes, offsets and mapped addresses
 * are multiples of the granularity (2 MiB); cuMemMap takes offset 0, no
 * flags, a live handle, and a range inside one reservation that nothing
 * maps yet; cuMemUnmap and cuMemSetAccess take a range made of whole
 * mappings; cuMemAddressFree takes a whole reservation with nothing
 * mapped in it. A HOST (or HOST_NUMA node 0) allocation is accepted and
 * charged to no device; host access may only be given to host memory.
 * Failures: CUDA_ERROR_INVALID_VALUE, CUDA_ERROR_INVALID_DEVICE for a bad
 * device ordinal, CUDA_ERROR_OUT_OF_MEMORY beyond the device's capacity.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fakecuda.h"
#include "log.h"

/* Location codes of vmm_location() beyond device ordinals. */
#define VMM_LOC_BAD_DEVICE (-10) /* a device location with a bad ordinal */
#define VMM_LOC_INVALID (-11)    /* any other unusable location */

static size_t vmm_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Where a CUmemLocation puts VMM memory: a device ordinal, FC_LOC_HOST,
 * or one of the VMM_LOC_* failures. */
static int vmm_location(const CUmemLocation *loc)
{
	switch (loc->type) {
	case CU_MEM_LOCATION_TYPE_DEVICE:
		return loc->id >= 0 && loc->id < fc_rt.cfg.ndev
		           ? loc->id
		           : VMM_LOC_BAD_DEVICE;
	case CU_MEM_LOCATION_TYPE_HOST: return FC_LOC_HOST;
	case CU_MEM_LOCATION_TYPE_HOST_NUMA: /* one NUMA node: node 0 */
		return loc->id == 0 ? FC_LOC_HOST : VMM_LOC_INVALID;
	default: return VMM_LOC_INVALID;
	}
}

static CUresult vmm_location_error(int loc)
{
	return loc == VMM_LOC_BAD_DEVICE ? CUDA_ERROR_INVALID_DEVICE
	                                 : CUDA_ERROR_INVALID_VALUE;
}

/* Checks an allocation's properties; *loc gets its location. */
static CUresult vmm_check_prop(const CUmemAllocationProp *prop, int *loc)
{
	if (!prop || prop->type != CU_MEM_ALLOCATION_TYPE_PINNED)
		return CUDA_ERROR_INVALID_VALUE;
	*loc = vmm_location(&prop->location);
	if (*loc < FC_LOC_HOST)
		return vmm_location_error(*loc);
	if (prop->win32HandleMetaData)
		return CUDA_ERROR_INVALID_VALUE;
	switch (prop->requestedHandleTypes) {
	case CU_MEM_HANDLE_TYPE_NONE: return CUDA_SUCCESS;
	case CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR:
		/* Host allocations cannot be shared. */
		return *loc == FC_LOC_HOST ? CUDA_ERROR_INVALID_VALUE
		                           : CUDA_SUCCESS;
	default: return CUDA_ERROR_NOT_SUPPORTED; /* Windows, fabric */
	}
}

CUresult CUDAAPI cuMemGetAllocationGranularity(
    size_t *granularity, const CUmemAllocationProp *prop,
    CUmemAllocationGranularity_flags option)
{
	CUresult r;
	int loc;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!granularity || (option != CU_MEM_ALLOC_GRANULARITY_MINIMUM &&
	                     option != CU_MEM_ALLOC_GRANULARITY_RECOMMENDED))
		return CUDA_ERROR_INVALID_VALUE;
	r = vmm_check_prop(prop, &loc);
	if (r != CUDA_SUCCESS)
		return r;
	*granularity = FC_VMM_GRANULARITY;
	return CUDA_SUCCESS;
}

/* rt locked: the live handle h, or NULL. */
static struct fc_vmm_handle *vmm_find(uint64_t h)
{
	for (struct fc_vmm_handle *v = fc_rt.vmm; v; v = v->next)
		if (v->handle == h)
			return v;
	return NULL;
}

/* What a cuMemCreate records in the shared state. */
struct vmm_create_args {
	int loc;       /* device ordinal or FC_LOC_HOST */
	uint64_t h;    /* its handle */
	uint64_t size; /* bytes */
};

/* Records it (state locked). */
static enum fc_mem_result vmm_add(struct fc_state *st, int64_t now,
                                  struct fc_move *m, void *arg)
{
	const struct vmm_create_args *a = arg;

	return fc_mem_vmm_create(st, fc_rt.slot, a->loc, a->h, a->size, now, m);
}

CUresult CUDAAPI cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size,
                             const CUmemAllocationProp *prop,
                             unsigned long long flags)
{
	struct vmm_create_args args;
	struct fc_vmm_handle *v;
	enum fc_mem_result res;
	CUresult r;
	int loc;

	FC_FAULT(cuMemCreate);
	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!handle || !size || flags || size % FC_VMM_GRANULARITY)
		return CUDA_ERROR_INVALID_VALUE;
	r = vmm_check_prop(prop, &loc);
	if (r != CUDA_SUCCESS)
		return r;
	if (loc >= 0 && size > fc_rt.cfg.dev[loc].capacity)
		return CUDA_ERROR_OUT_OF_MEMORY;
	v = calloc(1, sizeof(*v));
	if (!v)
		return CUDA_ERROR_OUT_OF_MEMORY;
	v->fd = memfd_create("fakecuda-vmm", MFD_CLOEXEC);
	if (v->fd < 0 || ftruncate(v->fd, (off_t)size) < 0) {
		NVS_WARN("msg=\"cannot create VMM backing store\" bytes=%zu "
		         "err=\"%s\"",
		         size, strerror(errno));
		if (v->fd >= 0)
			close(v->fd);
		free(v);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	v->size = size;
	pthread_mutex_lock(&fc_rt.lock);
	v->handle = ++fc_rt.vmm_seq;
	args.loc = loc;
	args.h = v->handle;
	args.size = size;
	res = fc_mem_record(loc, vmm_add, &args);
	if (res == FC_MEM_OK) {
		v->next = fc_rt.vmm;
		fc_rt.vmm = v;
		*handle = v->handle;
	}
	pthread_mutex_unlock(&fc_rt.lock);
	if (res == FC_MEM_OK)
		return CUDA_SUCCESS;
	if (res == FC_MEM_TABLE_FULL)
		NVS_ERROR("msg=\"fakecuda allocation table full\" max=%d",
		          FC_MAX_ALLOCS);
	close(v->fd);
	free(v);
	return CUDA_ERROR_OUT_OF_MEMORY;
}

/* rt locked: forgets a live handle (its mappings keep the bytes). */
static void vmm_forget(struct fc_vmm_handle *v)
{
	struct fc_vmm_handle **pp;

	for (pp = &fc_rt.vmm; *pp; pp = &(*pp)->next) {
		if (*pp == v) {
			*pp = v->next;
			break;
		}
	}
	close(v->fd);
	free(v);
}

CUresult CUDAAPI cuMemRelease(CUmemGenericAllocationHandle handle)
{
	struct fc_vmm_handle *v;
	enum fc_mem_result res = FC_MEM_NOT_FOUND;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	pthread_mutex_lock(&fc_rt.lock);
	v = vmm_find(handle);
	if (v) {
		fc_state_lock(fc_rt.st);
		res = fc_mem_vmm_release(fc_rt.st, fc_rt.slot, handle);
		fc_state_unlock(fc_rt.st);
		vmm_forget(v);
	}
	pthread_mutex_unlock(&fc_rt.lock);
	return res == FC_MEM_OK ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* --- reservations --------------------------------------------------------- */

/* A PROT_NONE range of len bytes aligned to align (a power of two >= the
 * page size), near hint if possible; MAP_FAILED if none. */
static void *vmm_map_aligned(uint64_t hint, size_t len, size_t align)
{
	size_t span = len + align;
	uintptr_t p, start;
	void *m;

	if (span < len)
		return MAP_FAILED;
	m = mmap((void *)(uintptr_t)hint, span, PROT_NONE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return m;
	p = (uintptr_t)m;
	start = (p + align - 1) & ~(uintptr_t)(align - 1);
	if (start > p)
		munmap(m, start - p);
	if (p + span > start + len)
		munmap((void *)(start + len), p + span - (start + len));
	return (void *)start;
}

CUresult CUDAAPI cuMemAddressReserve(CUdeviceptr *ptr, size_t size,
                                     size_t alignment, CUdeviceptr addr,
                                     unsigned long long flags)
{
	struct fc_reservation *res;
	size_t page = vmm_page(), align;
	void *p;

	FC_FAULT(cuMemAddressReserve);
	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ptr || !size || flags || size % page || addr % page ||
	    (alignment & (alignment - 1)))
		return CUDA_ERROR_INVALID_VALUE;
	align = alignment > FC_VMM_GRANULARITY ? alignment : FC_VMM_GRANULARITY;
	res = calloc(1, sizeof(*res));
	if (!res)
		return CUDA_ERROR_OUT_OF_MEMORY;
	p = vmm_map_aligned(addr, size, align);
	if (p == MAP_FAILED) {
		free(res);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	res->addr = (uint64_t)(uintptr_t)p;
	res->size = size;
	pthread_mutex_lock(&fc_rt.lock);
	res->next = fc_rt.reservations;
	fc_rt.reservations = res;
	__atomic_add_fetch(&fc_rt.nreservations, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&fc_rt.lock);
	*ptr = res->addr;
	return CUDA_SUCCESS;
}

/* rt locked: the reservation holding [p, p+len), or NULL. */
static struct fc_reservation *vmm_reservation(uint64_t p, uint64_t len)
{
	for (struct fc_reservation *r = fc_rt.reservations; r; r = r->next)
		if (p >= r->addr && p - r->addr < r->size &&
		    len <= r->size - (p - r->addr))
			return r;
	return NULL;
}

/* rt locked: 1 if anything is mapped in [p, p+len). */
static int vmm_anything_mapped(uint64_t p, uint64_t len)
{
	int32_t pid = fc_rt.st->proc[fc_rt.slot].pid;
	int found = 0;

	fc_state_lock(fc_rt.st);
	for (uint32_t i = 0; i < fc_rt.st->nalloc && !found; i++) {
		const struct fc_alloc *a = &fc_rt.st->alloc[i];

		found = a->pid == pid && a->kind == FC_ALLOC_MAPPING &&
		        a->addr < p + len && p < a->addr + a->size;
	}
	fc_state_unlock(fc_rt.st);
	return found;
}

CUresult CUDAAPI cuMemAddressFree(CUdeviceptr ptr, size_t size)
{
	struct fc_reservation **pp, *res = NULL;
	CUresult r = CUDA_ERROR_INVALID_VALUE;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	pthread_mutex_lock(&fc_rt.lock);
	for (pp = &fc_rt.reservations; *pp; pp = &(*pp)->next)
		if ((*pp)->addr == ptr && (*pp)->size == size)
			break;
	/* Unmap first: a mapped range would keep its memory alive. */
	if (*pp && !vmm_anything_mapped(ptr, size)) {
		res = *pp;
		*pp = res->next;
		__atomic_sub_fetch(&fc_rt.nreservations, 1, __ATOMIC_RELEASE);
		r = CUDA_SUCCESS;
	}
	pthread_mutex_unlock(&fc_rt.lock);
	if (res) {
		munmap((void *)(uintptr_t)res->addr, res->size);
		free(res);
	}
	return r;
}

/* --- mappings ------------------------------------------------------------- */

/* Puts the PROT_NONE reservation back over [p, p+len). */
static void vmm_back_to_reserved(uint64_t p, uint64_t len)
{
	if (mmap((void *)(uintptr_t)p, len, PROT_NONE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
	         0) == MAP_FAILED)
		NVS_WARN("msg=\"cannot restore a VMM reservation\" err=\"%s\"",
		         strerror(errno));
}

static int vmm_aligned(uint64_t x)
{
	return x % FC_VMM_GRANULARITY == 0;
}

CUresult CUDAAPI cuMemMap(CUdeviceptr ptr, size_t size, size_t offset,
                          CUmemGenericAllocationHandle handle,
                          unsigned long long flags)
{
	struct fc_vmm_handle *v;
	enum fc_mem_result res = FC_MEM_NOT_FOUND;
	void *m;

	FC_FAULT(cuMemMap);
	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ptr || !size || offset || flags || !vmm_aligned(ptr) ||
	    !vmm_aligned(size))
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&fc_rt.lock);
	v = vmm_find(handle);
	if (!v || size > v->size || !vmm_reservation(ptr, size))
		goto out;
	fc_state_lock(fc_rt.st);
	res = fc_mem_vmm_map(fc_rt.st, fc_rt.slot, handle, ptr, size);
	fc_state_unlock(fc_rt.st);
	if (res != FC_MEM_OK)
		goto out;
	/* Inaccessible until cuMemSetAccess, as on the GPU. */
	m = mmap((void *)(uintptr_t)ptr, size, PROT_NONE,
	         MAP_SHARED | MAP_FIXED, v->fd, 0);
	if (m == MAP_FAILED) {
		NVS_WARN("msg=\"cannot map VMM memory\" err=\"%s\"",
		         strerror(errno));
		fc_state_lock(fc_rt.st);
		fc_mem_vmm_unmap(fc_rt.st, fc_rt.slot, ptr, size);
		fc_state_unlock(fc_rt.st);
		res = FC_MEM_NO_ROOM;
	} else if (fc_fdrange_add(ptr, size, v->fd, FC_FDRANGE_VMM)) {
		/* Only copies get slower (dense): nothing to undo. */
		NVS_WARN("msg=\"cannot record a VMM mapping's memfd\"");
	}
out:
	pthread_mutex_unlock(&fc_rt.lock);
	switch (res) {
	case FC_MEM_OK: return CUDA_SUCCESS;
	case FC_MEM_NO_ROOM:
	case FC_MEM_TABLE_FULL: return CUDA_ERROR_OUT_OF_MEMORY;
	default: return CUDA_ERROR_INVALID_VALUE;
	}
}

CUresult CUDAAPI cuMemUnmap(CUdeviceptr ptr, size_t size)
{
	enum fc_mem_result res;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ptr || !size)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&fc_rt.lock);
	fc_state_lock(fc_rt.st);
	res = fc_mem_vmm_unmap(fc_rt.st, fc_rt.slot, ptr, size);
	fc_state_unlock(fc_rt.st);
	if (res == FC_MEM_OK) {
		vmm_back_to_reserved(ptr, size);
		fc_fdrange_remove(ptr, size, FC_FDRANGE_VMM, NULL);
	}
	pthread_mutex_unlock(&fc_rt.lock);
	return res == FC_MEM_OK ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* The access bits a list of descriptors sets; CUDA_SUCCESS or why not. */
static CUresult vmm_access_bits(const CUmemAccessDesc *desc, size_t count,
                                uint64_t *mask, uint64_t *bits)
{
	*mask = *bits = 0;
	if (!desc || !count)
		return CUDA_ERROR_INVALID_VALUE;
	for (size_t i = 0; i < count; i++) {
		int loc = vmm_location(&desc[i].location);
		unsigned shift;

		if (loc < FC_LOC_HOST)
			return vmm_location_error(loc);
		if (desc[i].flags != CU_MEM_ACCESS_FLAGS_PROT_NONE &&
		    desc[i].flags != CU_MEM_ACCESS_FLAGS_PROT_READ &&
		    desc[i].flags != CU_MEM_ACCESS_FLAGS_PROT_READWRITE)
			return CUDA_ERROR_INVALID_VALUE;
		shift = FC_ACCESS_SHIFT(loc == FC_LOC_HOST ? FC_ACCESS_HOST
		                                           : (unsigned)loc);
		*mask |= 3ull << shift;
		*bits = (*bits & ~(3ull << shift)) |
		        ((uint64_t)desc[i].flags << shift);
	}
	return CUDA_SUCCESS;
}

static int vmm_prot(unsigned access)
{
	if (access == CU_MEM_ACCESS_FLAGS_PROT_READWRITE)
		return PROT_READ | PROT_WRITE;
	return access == CU_MEM_ACCESS_FLAGS_PROT_READ ? PROT_READ : PROT_NONE;
}

/* state locked: the host protection of each mapping in [p, p+len) follows
 * the widest access it grants. */
static void vmm_apply_prot(uint64_t p, uint64_t len)
{
	int32_t pid = fc_rt.st->proc[fc_rt.slot].pid;

	for (uint32_t i = 0; i < fc_rt.st->nalloc; i++) {
		const struct fc_alloc *a = &fc_rt.st->alloc[i];

		if (a->pid != pid || a->kind != FC_ALLOC_MAPPING ||
		    a->addr >= p + len || p >= a->addr + a->size)
			continue;
		if (mprotect((void *)(uintptr_t)a->addr, a->size,
		             vmm_prot(fc_mem_mapping_prot(a))) < 0)
			NVS_WARN("msg=\"mprotect of a VMM mapping failed\" "
			         "err=\"%s\"",
			         strerror(errno));
	}
}

CUresult CUDAAPI cuMemSetAccess(CUdeviceptr ptr, size_t size,
                                const CUmemAccessDesc *desc, size_t count)
{
	enum fc_mem_result res;
	uint64_t mask, bits;
	CUresult r;

	FC_FAULT(cuMemSetAccess);
	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	r = vmm_access_bits(desc, count, &mask, &bits);
	if (r != CUDA_SUCCESS)
		return r;
	if (!ptr || !size || !vmm_aligned(ptr) || !vmm_aligned(size))
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&fc_rt.lock);
	fc_state_lock(fc_rt.st);
	res =
	    fc_mem_vmm_set_access(fc_rt.st, fc_rt.slot, ptr, size, mask, bits);
	if (res == FC_MEM_OK)
		vmm_apply_prot(ptr, size);
	fc_state_unlock(fc_rt.st);
	pthread_mutex_unlock(&fc_rt.lock);
	return res == FC_MEM_OK ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

int fc_vmm_access_ok(uint64_t p, uint64_t len, unsigned need)
{
	int touches = 0, ok;

	if (!__atomic_load_n(&fc_rt.nreservations, __ATOMIC_ACQUIRE))
		return 1;
	pthread_mutex_lock(&fc_rt.lock);
	for (struct fc_reservation *r = fc_rt.reservations; r && !touches;
	     r = r->next)
		touches = p < r->addr + r->size && r->addr < p + len;
	pthread_mutex_unlock(&fc_rt.lock);
	if (!touches)
		return 1;
	fc_state_lock(fc_rt.st);
	ok = fc_mem_lookup(fc_rt.st, fc_rt.slot, p, len, need) >= 0;
	fc_state_unlock(fc_rt.st);
	return ok;
}

/* Not simulated: which handle backs an address is not kept in a form this
 * could answer from. Documented in docs/testing.md. */
CUresult CUDAAPI
cuMemRetainAllocationHandle(CUmemGenericAllocationHandle *handle, void *addr)
{
	(void)addr;
	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	return handle ? CUDA_ERROR_NOT_SUPPORTED : CUDA_ERROR_INVALID_VALUE;
}
