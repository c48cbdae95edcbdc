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

		if (!a->pid || !a->managed || a->where != dev ||
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

enum fc_mem_result fc_mem_add_device(struct fc_state *st, int slot, int dev,
                                     uint64_t addr, uint64_t size, int64_t now,
                                     struct fc_move *m)
{
	struct fc_alloc a = {0};

	if (st->dev[dev].device_used + size < size ||
	    st->dev[dev].device_used + size > st->dev[dev].capacity)
		return FC_MEM_NO_ROOM;
	a.pid = st->proc[slot].pid;
	a.slot = (int16_t)slot;
	a.home = (int16_t)dev;
	a.where = (int16_t)dev;
	a.preferred = FC_LOC_NONE;
	a.addr = addr;
	a.size = size;
	a.last_use_ns = now;
	if (mem_make_room(st, dev, size, 0, m) < 0)
		return FC_MEM_NO_ROOM; /* cannot happen: checked above */
	if (fc_alloc_add(st, &a) < 0)
		return FC_MEM_TABLE_FULL;
	st->dev[dev].device_used += size;
	st->proc[slot].dev[dev].device_bytes += size;
	return FC_MEM_OK;
}

enum fc_mem_result fc_mem_add_managed(struct fc_state *st, int slot, int dev,
                                      uint64_t addr, uint64_t size)
{
	struct fc_alloc a = {0};

	a.pid = st->proc[slot].pid;
	a.slot = (int16_t)slot;
	a.home = (int16_t)dev;
	a.where = FC_LOC_HOST;
	a.preferred = FC_LOC_NONE;
	a.managed = 1;
	a.addr = addr;
	a.size = size;
	if (fc_alloc_add(st, &a) < 0)
		return FC_MEM_TABLE_FULL;
	st->proc[slot].dev[dev].managed_bytes += size;
	return FC_MEM_OK;
}

int fc_mem_lookup(const struct fc_state *st, int slot, uint64_t addr,
                  uint64_t len)
{
	int32_t pid = st->proc[slot].pid;

	for (uint32_t i = 0; i < st->nalloc; i++) {
		const struct fc_alloc *a = &st->alloc[i];

		if (a->pid != pid || addr < a->addr ||
		    addr - a->addr >= a->size)
			continue;
		return len <= a->size - (addr - a->addr) ? (int)i : -1;
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

		if (a->pid != pid || !mem_overlaps(a, addr, len))
			continue;
		if (!a->managed) {
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

		if (a->pid && a->managed && a->mark == mark)
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

		if (a->pid != pid || !mem_overlaps(a, addr, len))
			continue;
		if (!a->managed)
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

		if (!a->pid || !a->managed || a->mark != mark || a->where < 0)
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

		if (a->pid == pid && mem_overlaps(a, addr, len))
			a->preferred = (int16_t)preferred;
	}
	return FC_MEM_OK;
}
