/*
 * memory.c - capacity, residency and LRU eviction (see memory.h).
 *
 * An operation that needs managed memory on a device first stamps the
 * allocations it touches with a fresh mark; eviction then takes the least
 * recently used resident allocation without that mark, repeatedly, until
 * the bytes fit. If they cannot fit even so (the operation alone needs more
 * than the device has), the allocation is charged a fault and an eviction
 * but stays on the host: a working set larger than the GPU thrashes.
 */
#include "memory.h"

#include <string.h>

uint64_t fc_move_evict_ns(const struct fc_move *m, const struct fc_bw *bw)
{
	return fc_transfer_ns(m->evict, bw->d2h);
}

uint64_t fc_move_rest_ns(const struct fc_move *m, const struct fc_bw *bw)
{
	return fc_transfer_ns(m->fault, bw->fault) +
	       fc_transfer_ns(m->prefetch_in, bw->h2d) +
	       fc_transfer_ns(m->prefetch_out, bw->d2h);
}

uint64_t fc_mem_free_bytes(const struct fc_state *st, int dev)
{
	const struct fc_dev_state *d = &st->dev[dev];
	uint64_t used = d->device_used + d->resident_managed;

	return used >= d->capacity ? 0 : d->capacity - used;
}

static uint32_t mem_new_mark(struct fc_state *st)
{
	if (++st->mark_seq == 0)
		st->mark_seq = 1;
	return st->mark_seq;
}

/* Moves a resident managed allocation back to the host. */
static void mem_to_host(struct fc_state *st, struct fc_alloc *a)
{
	struct fc_proc_dev *pd = &st->proc[a->slot].dev[a->where];

	st->dev[a->where].resident_managed -= a->size;
	pd->resident_bytes -= a->size;
	pd->evicted_bytes += a->size;
	a->where = FC_LOC_HOST;
}

/* Least recently used resident managed allocation on dev without mark. */
static int mem_lru_victim(const struct fc_state *st, int dev, uint32_t mark)
{
	int best = -1;

	for (uint32_t i = 0; i < st->nalloc; i++) {
		const struct fc_alloc *a = &st->alloc[i];

		if (!a->pid || a->kind != FC_ALLOC_MANAGED || a->where != dev ||
		    (mark && a->mark == mark))
			continue;
		if (best < 0 || a->last_use_ns < st->alloc[best].last_use_ns)
			best = (int)i;
	}
	return best;
}

/* Evicts until bytes fit on dev. Returns 0, or -1 if they cannot. */
static int mem_make_room(struct fc_state *st, int dev, uint64_t bytes,
                         uint32_t mark, struct fc_move *m)
{
	while (fc_mem_free_bytes(st, dev) < bytes) {
		int victim = mem_lru_victim(st, dev, mark);

		if (victim < 0)
			return -1;
		m->evict += st->alloc[victim].size;
		mem_to_host(st, &st->alloc[victim]);
	}
	return 0;
}

/* Records a charged entry (device memory, VMM memory on a device, an
 * array) on a->home, evicting managed memory if that makes room. */
static enum fc_mem_result mem_add_charged(struct fc_state *st,
                                          const struct fc_alloc *a, int64_t now,
                                          struct fc_move *m)
{
	struct fc_proc_dev *pd = &st->proc[a->slot].dev[a->home];
	struct fc_dev_state *d = &st->dev[a->home];

	if (d->device_used + a->size < a->size ||
	    d->device_used + a->size > d->capacity)
		return FC_MEM_NO_ROOM;
	if (mem_make_room(st, a->home, a->size, 0, m) < 0)
		return FC_MEM_NO_ROOM; /* cannot happen: checked above */
	if (fc_alloc_add(st, a) < 0)
		return FC_MEM_TABLE_FULL;
	d->device_used += a->size;
	pd->device_bytes += a->size;
	if (a->kind == FC_ALLOC_VMM)
		pd->vmm_bytes += a->size;
	else if (a->kind == FC_ALLOC_ARRAY)
		pd->array_bytes += a->size;
	return FC_MEM_OK;
}

/* An entry of the caller's, not yet charged anywhere. */
static struct fc_alloc mem_entry(const struct fc_state *st, int slot, int home,
                                 enum fc_alloc_kind kind, uint64_t addr,
                                 uint64_t size, int64_t now)
{
	struct fc_alloc a = {0};

	a.pid = st->proc[slot].pid;
	a.slot = (int16_t)slot;
	a.home = (int16_t)home;
	a.where = (int16_t)home;
	a.preferred = FC_LOC_NONE;
	a.kind = (uint8_t)kind;
	a.addr = addr;
	a.size = size;
	a.last_use_ns = now;
	return a;
}

enum fc_mem_result fc_mem_add_device(struct fc_state *st, int slot, int dev,
                                     uint64_t addr, uint64_t size, int64_t now,
                                     struct fc_move *m)
{
	/* Pool 0, no bound: the driver's own allocations. */
	return fc_mem_add_pooled(st, slot, dev, addr, size, 0, 0, now, m);
}

uint64_t fc_mem_pool_bytes(const struct fc_state *st, int slot, uint64_t pool)
{
	int32_t pid = st->proc[slot].pid;
	uint64_t sum = 0;

	for (uint32_t i = 0; i < st->nalloc; i++) {
		const struct fc_alloc *a = &st->alloc[i];

		if (a->pid == pid && a->kind == FC_ALLOC_DEVICE &&
		    a->handle == pool)
			sum += a->size;
	}
	return sum;
}

enum fc_mem_result fc_mem_add_pooled(struct fc_state *st, int slot, int dev,
                                     uint64_t addr, uint64_t size,
                                     uint64_t pool, uint64_t max_size,
                                     int64_t now, struct fc_move *m)
{
	struct fc_alloc a =
	    mem_entry(st, slot, dev, FC_ALLOC_DEVICE, addr, size, now);
	uint64_t held;

	if (max_size) {
		held = fc_mem_pool_bytes(st, slot, pool);
		if (held + size < size || held + size > max_size)
			return FC_MEM_NO_ROOM;
	}
	a.handle = pool;
	return mem_add_charged(st, &a, now, m);
}

enum fc_mem_result fc_mem_add_array(struct fc_state *st, int slot, int dev,
                                    uint64_t handle, uint64_t size, int64_t now,
                                    struct fc_move *m)
{
	struct fc_alloc a =
	    mem_entry(st, slot, dev, FC_ALLOC_ARRAY, handle, size, now);

	return mem_add_charged(st, &a, now, m);
}

enum fc_mem_result fc_mem_remove_handle(struct fc_state *st, int slot,
                                        enum fc_alloc_kind kind,
                                        uint64_t handle)
{
	int idx = fc_alloc_find_handle(st, st->proc[slot].pid, kind, handle);

	if (idx < 0)
		return FC_MEM_NOT_FOUND;
	fc_alloc_remove(st, idx);
	return FC_MEM_OK;
}

enum fc_mem_result fc_mem_add_managed(struct fc_state *st, int slot, int dev,
                                      uint64_t addr, uint64_t size)
{
	struct fc_alloc a =
	    mem_entry(st, slot, dev, FC_ALLOC_MANAGED, addr, size, 0);

	a.where = FC_LOC_HOST;
	if (fc_alloc_add(st, &a) < 0)
		return FC_MEM_TABLE_FULL;
	st->proc[slot].dev[dev].managed_bytes += size;
	return FC_MEM_OK;
}

/* 1 if the entry is a range of the owner's address space. */
static int mem_addressable(const struct fc_alloc *a)
{
	return a->pid &&
	       (a->kind == FC_ALLOC_DEVICE || a->kind == FC_ALLOC_MANAGED ||
	        a->kind == FC_ALLOC_MAPPING);
}

/* The widest access any location has to a mapping (host-side view). */
static unsigned mem_access_any(uint64_t access)
{
	unsigned any = 0;

	for (unsigned loc = 0; loc <= FC_ACCESS_HOST; loc++)
		any |= (unsigned)(access >> FC_ACCESS_SHIFT(loc)) & 3u;
	return any;
}

unsigned fc_mem_mapping_prot(const struct fc_alloc *a)
{
	return mem_access_any(a->access);
}

/* Index of the caller's addressable entry holding addr, or -1. */
static int mem_holding(const struct fc_state *st, int32_t pid, uint64_t addr)
{
	for (uint32_t i = 0; i < st->nalloc; i++) {
		const struct fc_alloc *a = &st->alloc[i];

		if (a->pid == pid && mem_addressable(a) && addr >= a->addr &&
		    addr - a->addr < a->size)
			return (int)i;
	}
	return -1;
}

int fc_mem_lookup(const struct fc_state *st, int slot, uint64_t addr,
                  uint64_t len, unsigned need)
{
	int32_t pid = st->proc[slot].pid;
	int first = mem_holding(st, pid, addr), idx = first;
	uint64_t end, at = addr;

	if (first < 0 || __builtin_add_overflow(addr, len, &end))
		return -1;
	if (st->alloc[first].kind != FC_ALLOC_MAPPING)
		return len <= st->alloc[first].size -
		                   (addr - st->alloc[first].addr)
		           ? first
		           : -1;
	/* Mapped memory: a run of adjacent mappings, each accessible. */
	while (idx >= 0 && st->alloc[idx].kind == FC_ALLOC_MAPPING) {
		const struct fc_alloc *a = &st->alloc[idx];

		if ((mem_access_any(a->access) & need) != need)
			return -1;
		at = a->addr + a->size;
		if (at >= end)
			return first;
		idx = mem_holding(st, pid, at);
	}
	return -1;
}

static int mem_overlaps(const struct fc_alloc *a, uint64_t addr, uint64_t len)
{
	return addr < a->addr + a->size && a->addr < addr + len;
}

/* Stamps the caller's allocations overlapping the range with a new mark;
 * returns it. *other is set if the range holds device memory too. */
static uint32_t mem_mark_range(struct fc_state *st, int slot, uint64_t addr,
                               uint64_t len, int64_t now, int *other)
{
	uint32_t mark = mem_new_mark(st);
	int32_t pid = st->proc[slot].pid;

	*other = 0;
	for (uint32_t i = 0; i < st->nalloc; i++) {
		struct fc_alloc *a = &st->alloc[i];

		if (a->pid != pid || !mem_addressable(a) ||
		    !mem_overlaps(a, addr, len))
			continue;
		if (a->kind != FC_ALLOC_MANAGED) {
			*other = 1;
			continue;
		}
		a->mark = mark;
		a->last_use_ns = now;
	}
	return mark;
}

/* Brings one marked allocation to dev; in_bytes says how it came. */
static void mem_bring_in(struct fc_state *st, struct fc_alloc *a, int dev,
                         uint32_t mark, struct fc_move *m, uint64_t *in_bytes)
{
	struct fc_proc_dev *pd = &st->proc[a->slot].dev[dev];

	if (a->where == dev)
		return;
	if (a->where >= 0) { /* resident on another device: out first */
		m->evict += a->size;
		mem_to_host(st, a);
	}
	*in_bytes += a->size;
	pd->swapped_in_bytes += a->size;
	if (in_bytes == &m->fault)
		pd->faulted_bytes += a->size;
	if (mem_make_room(st, dev, a->size, mark, m) < 0) {
		/* Larger than what the device can give this operation: it
		 * streams through and is pushed out again at once. */
		m->evict += a->size;
		pd->evicted_bytes += a->size;
		return;
	}
	a->where = (int16_t)dev;
	st->dev[dev].resident_managed += a->size;
	pd->resident_bytes += a->size;
}

static void mem_bring_marked(struct fc_state *st, int dev, uint32_t mark,
                             struct fc_move *m, uint64_t *in_bytes)
{
	for (uint32_t i = 0; i < st->nalloc; i++) {
		struct fc_alloc *a = &st->alloc[i];

		if (a->pid && a->kind == FC_ALLOC_MANAGED && a->mark == mark)
			mem_bring_in(st, a, dev, mark, m, in_bytes);
	}
}

void fc_mem_touch(struct fc_state *st, int slot, int dev, uint64_t addr,
                  uint64_t len, int64_t now, struct fc_move *m)
{
	uint32_t mark;
	int other;

	if (!len)
		return;
	mark = mem_mark_range(st, slot, addr, len, now, &other);
	mem_bring_marked(st, dev, mark, m, &m->fault);
}

static int mem_range_managed(const struct fc_state *st, int slot, uint64_t addr,
                             uint64_t len)
{
	int32_t pid = st->proc[slot].pid;
	int found = 0;

	for (uint32_t i = 0; i < st->nalloc; i++) {
		const struct fc_alloc *a = &st->alloc[i];

		if (a->pid != pid || !mem_addressable(a) ||
		    !mem_overlaps(a, addr, len))
			continue;
		if (a->kind != FC_ALLOC_MANAGED)
			return 0;
		found = 1;
	}
	return found;
}

static void mem_send_marked_home(struct fc_state *st, uint32_t mark,
                                 struct fc_move *m)
{
	for (uint32_t i = 0; i < st->nalloc; i++) {
		struct fc_alloc *a = &st->alloc[i];

		if (!a->pid || a->kind != FC_ALLOC_MANAGED || a->mark != mark ||
		    a->where < 0)
			continue;
		m->prefetch_out += a->size;
		st->proc[a->slot].dev[a->where].prefetched_out_bytes += a->size;
		mem_to_host(st, a);
	}
}

enum fc_mem_result fc_mem_prefetch(struct fc_state *st, int slot, int loc,
                                   uint64_t addr, uint64_t len, int64_t now,
                                   struct fc_move *m)
{
	uint32_t mark;
	int other;

	if (!len || !mem_range_managed(st, slot, addr, len))
		return FC_MEM_NOT_MANAGED;
	mark = mem_mark_range(st, slot, addr, len, now, &other);
	if (loc == FC_LOC_HOST)
		mem_send_marked_home(st, mark, m);
	else
		mem_bring_marked(st, loc, mark, m, &m->prefetch_in);
	return FC_MEM_OK;
}

enum fc_mem_result fc_mem_advise(struct fc_state *st, int slot, uint64_t addr,
                                 uint64_t len, int preferred)
{
	int32_t pid = st->proc[slot].pid;

	if (!len || !mem_range_managed(st, slot, addr, len))
		return FC_MEM_NOT_MANAGED;
	if (preferred == FC_LOC_KEEP)
		return FC_MEM_OK;
	for (uint32_t i = 0; i < st->nalloc; i++) {
		struct fc_alloc *a = &st->alloc[i];

		if (a->pid == pid && a->kind == FC_ALLOC_MANAGED &&
		    mem_overlaps(a, addr, len))
			a->preferred = (int16_t)preferred;
	}
	return FC_MEM_OK;
}

/* --- virtual memory management -------------------------------------------
 *
 * A cuMemCreate allocation is an FC_ALLOC_VMM entry keyed by its handle,
 * charged at creation. Each cuMemMap adds an FC_ALLOC_MAPPING entry at the
 * mapped address and counts one more mapping of the handle; the memory is
 * given back when the handle has been released and its last mapping
 * unmapped, in either order, as the driver's references work.
 */

enum fc_mem_result fc_mem_vmm_create(struct fc_state *st, int slot, int loc,
                                     uint64_t handle, uint64_t size,
                                     int64_t now, struct fc_move *m)
{
	struct fc_alloc a =
	    mem_entry(st, slot, loc, FC_ALLOC_VMM, handle, size, now);

	if (loc >= 0)
		return mem_add_charged(st, &a, now, m);
	return fc_alloc_add(st, &a) < 0 ? FC_MEM_TABLE_FULL : FC_MEM_OK;
}

/* Index of the caller's live (not released) VMM allocation, or -1. */
static int mem_vmm_live(const struct fc_state *st, int slot, uint64_t handle)
{
	int idx =
	    fc_alloc_find_handle(st, st->proc[slot].pid, FC_ALLOC_VMM, handle);

	return idx >= 0 && !st->alloc[idx].released ? idx : -1;
}

enum fc_mem_result fc_mem_vmm_map(struct fc_state *st, int slot,
                                  uint64_t handle, uint64_t addr, uint64_t len)
{
	int32_t pid = st->proc[slot].pid;
	int idx = mem_vmm_live(st, slot, handle);
	struct fc_alloc a;

	if (idx < 0 || !len || len > st->alloc[idx].size)
		return FC_MEM_NOT_FOUND;
	for (uint32_t i = 0; i < st->nalloc; i++)
		if (st->alloc[i].pid == pid && mem_addressable(&st->alloc[i]) &&
		    mem_overlaps(&st->alloc[i], addr, len))
			return FC_MEM_BUSY;
	a = mem_entry(st, slot, st->alloc[idx].home, FC_ALLOC_MAPPING, addr,
	              len, 0);
	a.handle = handle;
	if (fc_alloc_add(st, &a) < 0)
		return FC_MEM_TABLE_FULL;
	st->alloc[idx].maps++;
	return FC_MEM_OK;
}

/* Calls fn on each mapping of a run of adjacent mappings of the caller
 * that covers exactly [addr, addr+len), or returns -1 (and calls nothing)
 * if the range is not such a run. fn may remove the entry it is given. */
static int mem_each_mapping(struct fc_state *st, int slot, uint64_t addr,
                            uint64_t len,
                            void (*fn)(struct fc_state *, int, void *),
                            void *arg)
{
	int32_t pid = st->proc[slot].pid;
	uint64_t at, end;
	int idx;

	if (!len || __builtin_add_overflow(addr, len, &end))
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		for (at = addr; at < end;) {
			idx = mem_holding(st, pid, at);
			if (idx < 0 ||
			    st->alloc[idx].kind != FC_ALLOC_MAPPING ||
			    st->alloc[idx].addr != at ||
			    st->alloc[idx].size > end - at)
				return -1; /* only on the first pass */
			at += st->alloc[idx].size;
			if (pass)
				fn(st, idx, arg);
		}
	}
	return 0;
}

static void mem_unmap_one(struct fc_state *st, int idx, void *arg)
{
	uint64_t handle = st->alloc[idx].handle;
	int slot = st->alloc[idx].slot, phys;

	(void)arg;
	fc_alloc_remove(st, idx);
	phys =
	    fc_alloc_find_handle(st, st->proc[slot].pid, FC_ALLOC_VMM, handle);
	if (phys < 0)
		return;
	if (st->alloc[phys].maps)
		st->alloc[phys].maps--;
	if (!st->alloc[phys].maps && st->alloc[phys].released)
		fc_alloc_remove(st, phys);
}

enum fc_mem_result fc_mem_vmm_unmap(struct fc_state *st, int slot,
                                    uint64_t addr, uint64_t len)
{
	return mem_each_mapping(st, slot, addr, len, mem_unmap_one, NULL) < 0
	           ? FC_MEM_NOT_FOUND
	           : FC_MEM_OK;
}

enum fc_mem_result fc_mem_vmm_release(struct fc_state *st, int slot,
                                      uint64_t handle)
{
	int idx = mem_vmm_live(st, slot, handle);

	if (idx < 0)
		return FC_MEM_NOT_FOUND;
	st->alloc[idx].released = 1;
	if (!st->alloc[idx].maps)
		fc_alloc_remove(st, idx);
	return FC_MEM_OK;
}

/* What a cuMemSetAccess call changes: the bits under mask become bits. */
struct mem_access_change {
	uint64_t mask; /* access bits the call sets */
	uint64_t bits; /* their new values */
	int host;      /* the call names the host */
	int bad;       /* set if a mapping may not take the change */
};

static void mem_check_access(struct fc_state *st, int idx, void *arg)
{
	struct mem_access_change *c = arg;

	/* Host access only to memory that lives on the host. */
	if (c->host && st->alloc[idx].home >= 0)
		c->bad = 1;
}

static void mem_set_access(struct fc_state *st, int idx, void *arg)
{
	const struct mem_access_change *c = arg;
	struct fc_alloc *a = &st->alloc[idx];

	a->access = (a->access & ~c->mask) | c->bits;
}

enum fc_mem_result fc_mem_vmm_set_access(struct fc_state *st, int slot,
                                         uint64_t addr, uint64_t len,
                                         uint64_t mask, uint64_t bits)
{
	struct mem_access_change c = {.mask = mask, .bits = bits & mask};

	c.host = (mask >> FC_ACCESS_SHIFT(FC_ACCESS_HOST)) != 0;
	if (mem_each_mapping(st, slot, addr, len, mem_check_access, &c) < 0)
		return FC_MEM_NOT_FOUND;
	if (c.bad)
		return FC_MEM_BAD_LOCATION;
	mem_each_mapping(st, slot, addr, len, mem_set_access, &c);
	return FC_MEM_OK;
}
