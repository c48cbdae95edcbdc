/*
 * test_mem.c - the library's allocation accounting (lib/mem.c) on its own:
 * charges against the ceiling, the table under churn, the reference counts
 * of VMM handles, and many threads allocating against one limit. The
 * link (its mailbox), the configuration and the quota are stubbed: the
 * ceiling is whatever the test sets.
 */
#include "check.h"
#include "config.h"
#include "mailbox.h"
#include "mem.h"
#include "quota.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* --- stubs for what mem.c calls ------------------------------------------ */

static uint64_t limit_now;    /* quota_memory_limit() */
static struct lib_config cfg; /* config_get() */
static atomic_int notified;

uint64_t quota_memory_limit(void)
{
	return limit_now;
}
const struct lib_config *config_get(void)
{
	return &cfg;
}
int mailbox_managed(void)
{
	return 0;
}
void mailbox_notify(void)
{
	atomic_fetch_add(&notified, 1);
}
void gate_deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
}

/* --- helpers --------------------------------------------------------------
 */

static struct gate_dev dev_a, dev_b;

static void dev_init(struct gate_dev *d, uint64_t capacity)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->capacity_bytes = capacity;
	d->accepted = 1;
}

#define MIB (1ull << 20)
#define GIB (1ull << 30)

/* An allocation as the hooks make it: charge, then record. */
static int alloc(struct gate_dev *d, enum mem_kind k, uint64_t key,
                 uint64_t bytes)
{
	int pinned = k != MEM_PTR;

	if (mem_charge(d, bytes, pinned, "test"))
		return -1;
	return mem_record(d, k, key, bytes,
	                  pinned ? MEM_MOVE_PINNED : MEM_MOVE_UNIFIED);
}

static void test_ceiling(void)
{
	dev_init(&dev_a, 16 * GIB);
	limit_now = 0;
	/* No limit: the GPU's capacity. */
	CHECK_EQ(mem_ceiling(&dev_a), 16 * GIB);
	CHECK_EQ(alloc(&dev_a, MEM_PTR, 0x1000, 10 * GIB), 0);
	CHECK_EQ(alloc(&dev_a, MEM_PTR, 0x2000, 7 * GIB), -1);
	CHECK_EQ(mem_used(&dev_a), 10 * GIB);
	/* A limit under use: nothing fits, nothing is taken away. */
	limit_now = 4 * GIB;
	CHECK_EQ(mem_ceiling(&dev_a), 4 * GIB);
	CHECK_EQ(alloc(&dev_a, MEM_PTR, 0x2000, 1), -1);
	CHECK_EQ(mem_used(&dev_a), 10 * GIB);
	CHECK_EQ(mem_forget(MEM_PTR, 0x1000), 1);
	CHECK_EQ(mem_forget(MEM_PTR, 0x1000), 0); /* twice: nothing */
	CHECK_EQ(mem_used(&dev_a), 0);
	/* Exactly up to the limit, not a byte more. */
	CHECK_EQ(alloc(&dev_a, MEM_PTR, 0x3000, 3 * GIB), 0);
	CHECK_EQ(alloc(&dev_a, MEM_PTR, 0x4000, GIB + 1), -1);
	CHECK_EQ(alloc(&dev_a, MEM_PTR, 0x4000, GIB), 0);
	CHECK_EQ(mem_used(&dev_a), 4 * GIB);
	/* A limit above the GPU: oversubscription is allowed. */
	limit_now = 32 * GIB;
	CHECK_EQ(alloc(&dev_a, MEM_PTR, 0x5000, 20 * GIB), 0);
	CHECK_EQ(mem_used(&dev_a), 24 * GIB);
	/* Huge requests do not wrap around. */
	CHECK_EQ(alloc(&dev_a, MEM_PTR, 0x6000, UINT64_MAX), -1);
	mem_forget(MEM_PTR, 0x3000);
	mem_forget(MEM_PTR, 0x4000);
	mem_forget(MEM_PTR, 0x5000);
	CHECK_EQ(mem_used(&dev_a), 0);
	/* NVSHARE_SINGLE_OVERSUB without a limit: no ceiling at all. */
	limit_now = 0;
	cfg.single_oversub = 1;
	CHECK_EQ(mem_ceiling(&dev_a), 0);
	CHECK_EQ(alloc(&dev_a, MEM_PTR, 0x7000, 64 * GIB), 0);
	mem_forget(MEM_PTR, 0x7000);
	cfg.single_oversub = 0;
	CHECK(atomic_load(&notified) > 0); /* the scheduler hears of it */
}

static void test_kinds_and_reuse(void)
{
	dev_init(&dev_a, 16 * GIB);
	dev_init(&dev_b, 16 * GIB);
	limit_now = 0;
	/* One key, two kinds: two entries. */
	CHECK_EQ(alloc(&dev_a, MEM_PTR, 0xabc000, MIB), 0);
	CHECK_EQ(alloc(&dev_a, MEM_ARRAY, 0xabc000, 2 * MIB), 0);
	CHECK_EQ(mem_used(&dev_a), 3 * MIB);
	CHECK_EQ(mem_forget(MEM_ARRAY, 0xabc000), 1);
	CHECK_EQ(mem_used(&dev_a), MIB);
	/* A pointer freed behind our back and handed out again, now on
	 * another device: the old charge goes, the new one counts. */
	CHECK_EQ(alloc(&dev_b, MEM_PTR, 0xabc000, 5 * MIB), 0);
	CHECK_EQ(mem_used(&dev_a), 0);
	CHECK_EQ(mem_used(&dev_b), 5 * MIB);
	mem_forget(MEM_PTR, 0xabc000);
	CHECK_EQ(mem_used(&dev_b), 0);
	/* Managed pointers are listed for the swap path, others not. */
	CHECK_EQ(alloc(&dev_a, MEM_PTR, 0x10000, MIB), 0);
	CHECK_EQ(alloc(&dev_a, MEM_ARRAY, 0x20000, MIB), 0);
	struct mem_range *r;
	size_t n;
	CHECK_EQ(mem_managed_of(&dev_a, &r, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(n ? r[0].ptr : 0, 0x10000);
	free(r);
	mem_forget(MEM_PTR, 0x10000);
	mem_forget(MEM_ARRAY, 0x20000);
}

/* 200,000 allocations at ever new addresses, freed as they go, then
 * 50,000 held at once: the table grows, tombstones are swept, and every
 * byte comes back. */
static void test_churn(void)
{
	dev_init(&dev_a, 1ull << 50);
	limit_now = 0;
	for (uint64_t i = 0; i < 200000; i++) {
		uint64_t key = 0x100000000ull + i * 4096;
		if (alloc(&dev_a, MEM_PTR, key, 4096))
			break;
		if (i >= 10)
			mem_forget(MEM_PTR, key - 10 * 4096);
	}
	CHECK_EQ(mem_used(&dev_a), 10 * 4096);
	for (uint64_t i = 199990; i < 200000; i++)
		mem_forget(MEM_PTR, 0x100000000ull + i * 4096);
	CHECK_EQ(mem_used(&dev_a), 0);
	for (uint64_t i = 0; i < 50000; i++)
		alloc(&dev_a, MEM_PTR, 0x900000000ull + i * 64, 64);
	CHECK_EQ(mem_used(&dev_a), 50000 * 64);
	uint64_t found = 0;
	for (uint64_t i = 0; i < 50000; i++)
		found += (uint64_t)mem_forget(MEM_PTR, 0x900000000ull + i * 64);
	CHECK_EQ(found, 50000);
	CHECK_EQ(mem_used(&dev_a), 0);
}

/* Physical VMM memory lives until released and unmapped everywhere. */
static void test_vmm(void)
{
	dev_init(&dev_a, 16 * GIB);
	limit_now = GIB;
	/* Create, map twice, release: still charged while mapped. */
	CHECK_EQ(alloc(&dev_a, MEM_HANDLE, 7, 512 * MIB), 0);
	mem_vmm_mapped(0x7f0000000000ull, 512 * MIB, 7);
	mem_vmm_mapped(0x7f1000000000ull, 512 * MIB, 7);
	mem_vmm_released(7);
	CHECK_EQ(mem_used(&dev_a), 512 * MIB);
	CHECK_EQ(alloc(&dev_a, MEM_HANDLE, 8, 768 * MIB), -1);
	mem_vmm_unmapped(0x7f0000000000ull, 512 * MIB);
	CHECK_EQ(mem_used(&dev_a), 512 * MIB);
	mem_vmm_unmapped(0x7f1000000000ull, 512 * MIB);
	CHECK_EQ(mem_used(&dev_a), 0);
	/* Released last. */
	CHECK_EQ(alloc(&dev_a, MEM_HANDLE, 9, 256 * MIB), 0);
	mem_vmm_mapped(0x7f2000000000ull, 256 * MIB, 9);
	mem_vmm_unmapped(0x7f2000000000ull, 256 * MIB);
	CHECK_EQ(mem_used(&dev_a), 256 * MIB);
	mem_vmm_released(9);
	CHECK_EQ(mem_used(&dev_a), 0);
	/* One unmap over three adjacent mappings of two handles. */
	CHECK_EQ(alloc(&dev_a, MEM_HANDLE, 10, 2 * MIB), 0);
	CHECK_EQ(alloc(&dev_a, MEM_HANDLE, 11, 4 * MIB), 0);
	mem_vmm_mapped(0x7f3000000000ull, 2 * MIB, 10);
	mem_vmm_mapped(0x7f3000200000ull, 2 * MIB, 11);
	mem_vmm_mapped(0x7f3000400000ull, 2 * MIB, 11);
	mem_vmm_released(10);
	mem_vmm_released(11);
	CHECK_EQ(mem_used(&dev_a), 6 * MIB);
	mem_vmm_unmapped(0x7f3000000000ull, 6 * MIB);
	CHECK_EQ(mem_used(&dev_a), 0);
	/* Retained through its mapping (cuMemRetainAllocationHandle): one
	 * more release is owed before the memory goes. */
	CHECK_EQ(alloc(&dev_a, MEM_HANDLE, 12, 8 * MIB), 0);
	mem_vmm_mapped(0x7f5000000000ull, 8 * MIB, 12);
	mem_vmm_released(12);
	mem_vmm_retained(12);
	mem_vmm_released(12);
	CHECK_EQ(mem_used(&dev_a), 8 * MIB);
	mem_vmm_unmapped(0x7f5000000000ull, 8 * MIB);
	CHECK_EQ(mem_used(&dev_a), 0);
	/* A handle we never saw (imported): mapping it charges nothing. */
	mem_vmm_mapped(0x7f4000000000ull, 2 * MIB, 99);
	mem_vmm_unmapped(0x7f4000000000ull, 2 * MIB);
	mem_vmm_released(99);
	CHECK_EQ(mem_used(&dev_a), 0);
}

/* Mapping a handle while the table grows (the handle's slot moves under
 * the insertion) keeps its count. */
static void test_vmm_rehash(void)
{
	dev_init(&dev_a, 1ull << 50);
	limit_now = 0;
	CHECK_EQ(alloc(&dev_a, MEM_HANDLE, 5, 2 * MIB), 0);
	for (uint64_t i = 0; i < 5000; i++) {
		mem_vmm_mapped(0x600000000000ull + i * 2 * MIB, 2 * MIB, 5);
		alloc(&dev_a, MEM_PTR, 0x500000000000ull + i * 4096, 1);
	}
	mem_vmm_released(5);
	for (uint64_t i = 0; i < 4999; i++)
		mem_vmm_unmapped(0x600000000000ull + i * 2 * MIB, 2 * MIB);
	CHECK_EQ(mem_used(&dev_a), 2 * MIB + 5000); /* one mapping left */
	mem_vmm_unmapped(0x600000000000ull + 4999 * 2 * MIB, 2 * MIB);
	CHECK_EQ(mem_used(&dev_a), 5000);
	for (uint64_t i = 0; i < 5000; i++)
		mem_forget(MEM_PTR, 0x500000000000ull + i * 4096);
	CHECK_EQ(mem_used(&dev_a), 0);
}

/* Eight threads allocate and free against one 1 GiB limit: the total never
 * exceeds it, and everything comes back. */
#define THREADS 8
#define ROUNDS 20000
static atomic_ullong peak;

static void *worker(void *arg)
{
	uint64_t base = 0x200000000000ull * (1 + (uintptr_t)arg), held = 0;
	uint64_t keys[16] = {0};

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t key = base + (uint64_t)r * 4096;
		if (held == 16) {
			mem_forget(MEM_PTR, keys[r % 16]);
			held--;
			keys[r % 16] = 0;
		}
		if (alloc(&dev_a, MEM_PTR, key, 64 * MIB) == 0) {
			for (int k = 0; k < 16; k++)
				if (!keys[k]) {
					keys[k] = key;
					break;
				}
			held++;
		}
		uint64_t u = mem_used(&dev_a), p = atomic_load(&peak);
		while (u > p && !atomic_compare_exchange_weak(&peak, &p, u))
			;
	}
	for (int k = 0; k < 16; k++)
		if (keys[k])
			mem_forget(MEM_PTR, keys[k]);
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[THREADS];

	dev_init(&dev_a, 16 * GIB);
	limit_now = GIB;
	for (uintptr_t i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK(atomic_load(&peak) <= GIB);
	CHECK(atomic_load(&peak) >= GIB / 2); /* they did compete */
	CHECK_EQ(mem_used(&dev_a), 0);
}

int main(void)
{
	test_ceiling();
	test_kinds_and_reuse();
	test_churn();
	test_vmm();
	test_vmm_rehash();
	test_threads();
	return check_summary("test_mem");
}
