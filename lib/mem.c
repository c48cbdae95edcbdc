/*
 * mem.c - the allocation table (open addressing on (kind, key), linear
 * probing, tombstones on delete, rebuilt when 3/4 full) and the charges
 * against each device's ceiling. The hooks that use it are in
 * mem_hooks.c.
 */
#include "mem.h"

#include "config.h"
#include "grant.h"
#include "log.h"
#include "mailbox.h"
#include "quota.h"
#include "sock.h"

#include <stdlib.h>
#include <time.h>

#define KIND_EMPTY 0
#define KIND_TOMBSTONE 0xff

struct mem_slot {
	uint64_t key;         /* pointer, handle or address (see kind) */
	uint64_t bytes;       /* charged (MEM_MAPPING: mapped length) */
	uint64_t handle;      /* MEM_MAPPING: the handle mapped */
	struct gate_dev *dev; /* device charged (NULL for mappings) */
	uint32_t refs;        /* MEM_HANDLE: 1 until released + mappings */
	uint8_t kind;         /* enum mem_kind, KIND_EMPTY, KIND_TOMBSTONE */
	uint8_t move;         /* enum mem_move */
};

static struct {
	pthread_mutex_t mu;
	struct mem_slot *slots; /* cap entries */
	size_t cap;             /* power of two */
	size_t used;            /* live + tombstones */
	size_t live;            /* live entries */
} table = {.mu = PTHREAD_MUTEX_INITIALIZER};

static size_t slot_of(enum mem_kind kind, uint64_t key, size_t cap)
{
	uint64_t h = (key ^ ((uint64_t)kind << 56)) * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 17) & (cap - 1);
}

static int is_live(const struct mem_slot *s)
{
	return s->kind != KIND_EMPTY && s->kind != KIND_TOMBSTONE;
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
		if (!is_live(s))
			continue;
		size_t j = slot_of(s->kind, s->key, ncap);
		while (n[j].kind != KIND_EMPTY)
			j = (j + 1) & (ncap - 1);
		n[j] = *s;
	}
	free(table.slots);
	table.slots = n;
	table.cap = ncap;
	table.used = live;
	return 0;
}

/* The live entry (kind, key), or NULL (table.mu held). */
static struct mem_slot *find(enum mem_kind kind, uint64_t key)
{
	if (!table.cap)
		return NULL;
	for (size_t i = slot_of(kind, key, table.cap);
	     table.slots[i].kind != KIND_EMPTY; i = (i + 1) & (table.cap - 1))
		if (table.slots[i].kind == kind && table.slots[i].key == key)
			return &table.slots[i];
	return NULL;
}

/* Removes a live entry, returning a copy (table.mu held). */
static struct mem_slot take(struct mem_slot *s)
{
	struct mem_slot found = *s;

	s->kind = KIND_TOMBSTONE;
	table.live--;
	return found;
}

/* Makes room for one more entry (table.mu held); may move every slot, so
 * pointers into the table are stale after it. Returns 0 or -1. */
static int room(void)
{
	if ((table.used + 1) * 4 > table.cap * 3 && rehash())
		return -1;
	return 0;
}

/* Inserts an entry where room() made room (table.mu held); moves
 * nothing. */
static void put(const struct mem_slot *e)
{
	size_t i = slot_of(e->kind, e->key, table.cap);

	while (is_live(&table.slots[i]))
		i = (i + 1) & (table.cap - 1);
	if (table.slots[i].kind == KIND_EMPTY)
		table.used++;
	table.slots[i] = *e;
	table.live++;
}

/* Inserts an entry (table.mu held). Returns 0 or -1 if out of memory. */
static int insert(const struct mem_slot *e)
{
	if (room())
		return -1;
	put(e);
	return 0;
}

/* --- charges -------------------------------------------------------------- */

/* Waits briefly for the scheduler's GPU_ACCEPTED so that capacity checks
 * use the capacity it assigns (which may be smaller than the card). */
static uint64_t capacity_of(struct gate_dev *d)
{
	uint64_t cap;
	struct timespec until;

	pthread_mutex_lock(&d->mu);
	nvs_deadline_ms(&until, 2000);
	while (mailbox_managed() && !d->accepted)
		if (pthread_cond_timedwait(&d->cv, &d->mu, &until))
			break;
	cap = d->capacity_bytes;
	pthread_mutex_unlock(&d->mu);
	return cap;
}

/* A limit larger than the GPU is honoured: the process oversubscribes and
 * the scheduler swaps. Without a limit the card itself is the ceiling,
 * unless NVSHARE_SINGLE_OVERSUB lets one process exceed it. */
uint64_t mem_ceiling(struct gate_dev *d)
{
	uint64_t limit = quota_memory_limit();

	if (limit)
		return limit;
	if (config_get()->single_oversub)
		return 0;
	return capacity_of(d);
}

uint64_t mem_used(struct gate_dev *d)
{
	uint64_t used;

	pthread_mutex_lock(&d->mu);
	used = d->allocated_bytes;
	pthread_mutex_unlock(&d->mu);
	return used;
}

static void changed(struct gate_dev *d)
{
	d->todo |= GATE_TODO_MEMORY;
}

int mem_charge(struct gate_dev *d, uint64_t bytes, int pinned, const char *api)
{
	uint64_t ceiling = mem_ceiling(d), used;
	int ok;

	pthread_mutex_lock(&d->mu);
	used = d->allocated_bytes;
	ok = ceiling == 0 || (used <= ceiling && bytes <= ceiling - used);
	if (ok) {
		d->allocated_bytes = used + bytes;
		if (pinned)
			d->pinned_bytes += bytes;
		changed(d);
	}
	pthread_mutex_unlock(&d->mu);
	if (!ok) {
		NVS_INFO("event=oom api=%s bytes=%llu used=%llu ceiling=%llu "
		         "limit=%llu gpu=%s",
		         api, (unsigned long long)bytes,
		         (unsigned long long)used, (unsigned long long)ceiling,
		         (unsigned long long)quota_memory_limit(), d->uuid);
		return -1;
	}
	mailbox_notify();
	return 0;
}

int mem_charge_granted(struct gate_dev *d, uint64_t bytes, enum mem_move move,
                       const char *api)
{
	int pinned = move == MEM_MOVE_PINNED, rc = -1;
	enum grant_wait w = GRANT_REFUSED;

	/* Counted as not made yet before the charge can be reported. */
	pthread_mutex_lock(&d->mu);
	d->awaiting_bytes += bytes;
	pthread_mutex_unlock(&d->mu);
	if (mem_charge(d, bytes, pinned, api) == 0) {
		w = grant_await(d, !pinned, api);
		if (w == GRANT_REFUSED)
			mem_uncharge(d, bytes, pinned);
		else
			rc = w == GRANT_DEFER;
	}
	pthread_mutex_lock(&d->mu);
	d->awaiting_bytes -= bytes;
	pthread_mutex_unlock(&d->mu);
	return rc;
}

void mem_uncharge(struct gate_dev *d, uint64_t bytes, int pinned)
{
	pthread_mutex_lock(&d->mu);
	d->allocated_bytes =
	    d->allocated_bytes >= bytes ? d->allocated_bytes - bytes : 0;
	if (pinned)
		d->pinned_bytes =
		    d->pinned_bytes >= bytes ? d->pinned_bytes - bytes : 0;
	changed(d);
	pthread_mutex_unlock(&d->mu);
	mailbox_notify();
}

/* --- the table -------------------------------------------------------------
 */

int mem_record(struct gate_dev *d, enum mem_kind kind, uint64_t key,
               uint64_t bytes, enum mem_move move)
{
	struct mem_slot e = {.key = key,
	                     .bytes = bytes,
	                     .dev = d,
	                     .refs = 1,
	                     .kind = (uint8_t)kind,
	                     .move = (uint8_t)move},
	                *s, stale = {0};
	int rc;

	pthread_mutex_lock(&table.mu);
	/* A key still listed was freed through a path we do not see (and
	 * reused): forget the old entry rather than charge it twice. */
	s = find(kind, key);
	if (s)
		stale = take(s);
	rc = insert(&e);
	pthread_mutex_unlock(&table.mu);
	if (stale.dev)
		mem_uncharge(stale.dev, stale.bytes,
		             stale.move == MEM_MOVE_PINNED);
	if (rc) {
		mem_uncharge(d, bytes, move == MEM_MOVE_PINNED);
		NVS_WARN("event=no_memory msg=\"allocation table full; "
		         "allocation not accounted\"");
		return -1;
	}
	if (move == MEM_MOVE_UNIFIED) {
		pthread_mutex_lock(&d->mu);
		d->unplaced = 1;
		pthread_mutex_unlock(&d->mu);
	}
	return 0;
}

int mem_forget(enum mem_kind kind, uint64_t key)
{
	struct mem_slot *s, found = {0};

	pthread_mutex_lock(&table.mu);
	s = find(kind, key);
	if (s)
		found = take(s);
	pthread_mutex_unlock(&table.mu);
	if (!found.dev)
		return 0;
	mem_uncharge(found.dev, found.bytes, found.move == MEM_MOVE_PINNED);
	return 1;
}

/* Drops one reference of a handle (table.mu held); returns the device and
 * bytes to uncharge in *out when it was the last. */
static void handle_unref(uint64_t handle, struct mem_slot *out)
{
	struct mem_slot *h = find(MEM_HANDLE, handle);

	if (h && --h->refs == 0)
		*out = take(h);
}

void mem_vmm_mapped(uint64_t va, uint64_t size, uint64_t handle)
{
	struct mem_slot *h, e = {.key = va,
	                         .bytes = size,
	                         .handle = handle,
	                         .kind = MEM_MAPPING};

	pthread_mutex_lock(&table.mu);
	/* Room first: growing the table moves the handle's slot. */
	h = room() == 0 ? find(MEM_HANDLE, handle) : NULL;
	/* Untracked handles (imported from another process) charge nothing
	 * here; their owner pays. */
	if (h) {
		put(&e);
		h->refs++;
	}
	pthread_mutex_unlock(&table.mu);
}

void mem_vmm_retained(uint64_t handle)
{
	struct mem_slot *h;

	pthread_mutex_lock(&table.mu);
	h = find(MEM_HANDLE, handle);
	if (h)
		h->refs++;
	pthread_mutex_unlock(&table.mu);
}

/* Takes mapping m off the table and drops its reference to its handle,
 * uncharging the handle if that was the last (table.mu held). */
static void unmap_one(struct mem_slot *m)
{
	struct mem_slot g = {0};

	handle_unref(take(m).handle, &g);
	if (g.dev)
		mem_uncharge(g.dev, g.bytes, g.move == MEM_MOVE_PINNED);
}

void mem_vmm_unmapped(uint64_t va, uint64_t size)
{
	struct mem_slot *m;

	/* Uncharging under table.mu is safe: the order is table.mu, then
	 * the device's mutex, everywhere. */
	pthread_mutex_lock(&table.mu);
	m = find(MEM_MAPPING, va);
	if (m && m->bytes == size) {
		/* The usual case: one mapping, unmapped as it was mapped. */
		unmap_one(m);
	} else {
		/* A range over several mappings: look at every mapping. */
		for (size_t i = 0; i < table.cap; i++) {
			struct mem_slot *s = &table.slots[i];
			if (s->kind == MEM_MAPPING && s->key >= va &&
			    s->key - va < size)
				unmap_one(s);
		}
	}
	pthread_mutex_unlock(&table.mu);
}

void mem_vmm_released(uint64_t handle)
{
	struct mem_slot g = {0};

	pthread_mutex_lock(&table.mu);
	handle_unref(handle, &g);
	pthread_mutex_unlock(&table.mu);
	if (g.dev)
		mem_uncharge(g.dev, g.bytes, g.move == MEM_MOVE_PINNED);
}

void mem_forget_device(struct gate_dev *d)
{
	pthread_mutex_lock(&table.mu);
	for (size_t i = 0; i < table.cap; i++) {
		struct mem_slot *s = &table.slots[i];
		if (!is_live(s))
			continue;
		if (s->dev == d) {
			take(s);
		} else if (s->kind == MEM_MAPPING) {
			/* Its handle is gone from the table, or of d. */
			struct mem_slot *h = find(MEM_HANDLE, s->handle);
			if (!h || h->dev == d)
				take(s);
		}
	}
	pthread_mutex_unlock(&table.mu);
	pthread_mutex_lock(&d->mu);
	d->allocated_bytes = 0;
	d->pinned_bytes = 0;
	d->unplaced = 0;
	changed(d);
	pthread_mutex_unlock(&d->mu);
	mailbox_notify();
}

int mem_managed_of(struct gate_dev *d, struct mem_range **out, size_t *n)
{
	struct mem_range *r = NULL;
	size_t count = 0, cap = 0;

	pthread_mutex_lock(&table.mu);
	for (size_t i = 0; i < table.cap; i++) {
		struct mem_slot *s = &table.slots[i];
		if (s->kind != MEM_PTR || s->dev != d ||
		    s->move != MEM_MOVE_UNIFIED)
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
		r[count++] = (struct mem_range){(CUdeviceptr)s->key, s->bytes};
	}
	pthread_mutex_unlock(&table.mu);
	*out = r;
	*n = count;
	return 0;
}
