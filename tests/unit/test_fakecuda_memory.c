/*
 * test_fakecuda_memory.c - the simulated GPU's memory model on a private
 * shared state: capacity of device memory, managed residency with LRU
 * eviction across processes (never of what the operation itself touches),
 * thrashing of working sets larger than the GPU, prefetching, VMM memory
 * and its references (release and unmap in either order), arrays, pool
 * bounds, and the reclaiming of dead processes' memory of every kind.
 * Also the state file's checks.
 * Addresses are plain numbers here: the model never dereferences them.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "memory.h"
#include "state.h"

#define UUID1 "GPU-00000000-0000-0000-0000-000000000001"

static struct fc_state *open_state(uint64_t capacity)
{
	struct fc_config cfg;
	struct fc_state *st = NULL;
	char err[256];

	fc_config_defaults(&cfg);
	cfg.dev[0].capacity = capacity;
	if (fc_state_open(NULL, &cfg, &st, err, sizeof(err)) < 0)
		fprintf(stderr, "fc_state_open: %s\n", err);
	return st;
}

/* A pid that has exited and been waited for. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

static void test_device_capacity(void)
{
	struct fc_state *st = open_state(1000);
	struct fc_move m = {0};
	int me = fc_proc_attach(st, getpid(), "t", 1);

	CHECK(me >= 0);
	CHECK_EQ(fc_mem_add_device(st, me, 0, 0x1000, 600, 1, &m), FC_MEM_OK);
	CHECK_EQ(fc_mem_free_bytes(st, 0), 400);
	CHECK_EQ(fc_mem_add_device(st, me, 0, 0x2000, 401, 1, &m),
	         FC_MEM_NO_ROOM);
	CHECK_EQ(fc_mem_add_device(st, me, 0, 0x2000, 400, 1, &m), FC_MEM_OK);
	CHECK_EQ(fc_mem_free_bytes(st, 0), 0);
	CHECK_EQ(st->proc[me].dev[0].device_bytes, 1000);
	/* Lookups need the whole range inside one allocation. */
	CHECK_EQ(fc_mem_lookup(st, me, 0x1000, 600, FC_NEED_WRITE),
	         fc_alloc_find(st, getpid(), 0x1000));
	CHECK_EQ(fc_mem_lookup(st, me, 0x1000 + 599, 1, FC_NEED_READ),
	         fc_alloc_find(st, getpid(), 0x1000));
	CHECK_EQ(fc_mem_lookup(st, me, 0x1000, 601, FC_NEED_READ), -1);
	CHECK_EQ(fc_mem_lookup(st, me, 0x0fff, 2, FC_NEED_READ), -1);
	fc_alloc_remove(st, fc_alloc_find(st, getpid(), 0x1000));
	CHECK_EQ(st->dev[0].device_used, 400);
	CHECK_EQ(m.evict, 0);
}

static void test_lru_eviction(void)
{
	struct fc_state *st = open_state(1000);
	struct fc_move m = {0};
	int me = fc_proc_attach(st, getpid(), "me", 1);
	int other = fc_proc_attach(st, getppid(), "other", 1);

	CHECK_EQ(fc_mem_add_device(st, me, 0, 0x1000, 600, 1, &m), FC_MEM_OK);
	CHECK_EQ(fc_mem_add_managed(st, me, 0, 0x10000, 200), FC_MEM_OK);
	CHECK_EQ(fc_mem_add_managed(st, me, 0, 0x20000, 200), FC_MEM_OK);
	CHECK_EQ(fc_mem_add_managed(st, other, 0, 0x30000, 200), FC_MEM_OK);
	/* Managed memory occupies nothing until touched. */
	CHECK_EQ(fc_mem_free_bytes(st, 0), 400);

	fc_mem_touch(st, other, 0, 0x30000, 1, 10, &m);
	CHECK_EQ(m.fault, 200);
	CHECK_EQ(m.evict, 0);
	CHECK_EQ(st->dev[0].resident_managed, 200);

	/* One operation touching both of mine: the second needs room, the
	 * other process's allocation goes, never the first of mine. */
	memset(&m, 0, sizeof(m));
	fc_mem_touch(st, me, 0, 0x10000, 0x10000 + 200, 20, &m);
	CHECK_EQ(m.fault, 400);
	CHECK_EQ(m.evict, 200);
	CHECK_EQ(st->proc[me].dev[0].resident_bytes, 400);
	CHECK_EQ(st->proc[other].dev[0].resident_bytes, 0);
	CHECK_EQ(st->proc[other].dev[0].evicted_bytes, 200);
	CHECK_EQ(st->proc[me].dev[0].faulted_bytes, 400);
	CHECK_EQ(fc_mem_free_bytes(st, 0), 0);

	/* Touching resident memory again costs nothing. */
	memset(&m, 0, sizeof(m));
	fc_mem_touch(st, me, 0, 0x10000, 200, 30, &m);
	CHECK_EQ(m.fault + m.evict, 0);

	/* The other process comes back: least recently used first (0x20000
	 * was last used at 20, 0x10000 at 30). */
	fc_mem_touch(st, other, 0, 0x30000, 200, 40, &m);
	CHECK_EQ(m.evict, 200);
	CHECK_EQ(st->alloc[fc_alloc_find(st, getpid(), 0x20000)].where,
	         FC_LOC_HOST);
	CHECK_EQ(st->alloc[fc_alloc_find(st, getpid(), 0x10000)].where, 0);

	/* Device memory pushes managed memory out rather than failing. */
	memset(&m, 0, sizeof(m));
	CHECK_EQ(fc_mem_add_device(st, other, 0, 0x40000, 300, 50, &m),
	         FC_MEM_OK);
	CHECK_EQ(m.evict, 400);
	CHECK_EQ(st->dev[0].resident_managed, 0);
	CHECK_EQ(st->dev[0].device_used, 900);
	CHECK_EQ(fc_mem_add_device(st, other, 0, 0x50000, 101, 50, &m),
	         FC_MEM_NO_ROOM);
}

static void test_thrash_and_prefetch(void)
{
	struct fc_state *st = open_state(1000);
	struct fc_move m = {0};
	int me = fc_proc_attach(st, getpid(), "me", 1);

	CHECK_EQ(fc_mem_add_device(st, me, 0, 0x1000, 900, 1, &m), FC_MEM_OK);
	CHECK_EQ(fc_mem_add_managed(st, me, 0, 0x10000, 500), FC_MEM_OK);
	/* Larger than the room left: it streams through on every touch. */
	for (int i = 0; i < 2; i++)
		fc_mem_touch(st, me, 0, 0x10000, 500, 2 + i, &m);
	CHECK_EQ(m.fault, 1000);
	CHECK_EQ(m.evict, 1000);
	CHECK_EQ(st->dev[0].resident_managed, 0);
	fc_alloc_remove(st, fc_alloc_find(st, getpid(), 0x1000));

	/* Prefetches move whole allocations, in and out. */
	memset(&m, 0, sizeof(m));
	CHECK_EQ(fc_mem_prefetch(st, me, 0, 0x10000, 500, 5, &m), FC_MEM_OK);
	CHECK_EQ(m.prefetch_in, 500);
	CHECK_EQ(st->proc[me].dev[0].resident_bytes, 500);
	CHECK_EQ(fc_mem_prefetch(st, me, FC_LOC_HOST, 0x10000, 1, 6, &m),
	         FC_MEM_OK);
	CHECK_EQ(m.prefetch_out, 500);
	CHECK_EQ(st->proc[me].dev[0].prefetched_out_bytes, 500);
	CHECK_EQ(st->dev[0].resident_managed, 0);
	/* Device memory and unknown ranges cannot be prefetched. */
	CHECK_EQ(fc_mem_add_device(st, me, 0, 0x1000, 10, 7, &m), FC_MEM_OK);
	CHECK_EQ(fc_mem_prefetch(st, me, 0, 0x1000, 10, 7, &m),
	         FC_MEM_NOT_MANAGED);
	CHECK_EQ(fc_mem_prefetch(st, me, 0, 0x90000, 10, 7, &m),
	         FC_MEM_NOT_MANAGED);
	CHECK_EQ(fc_mem_advise(st, me, 0x10000, 500, 0), FC_MEM_OK);
	CHECK_EQ(st->alloc[fc_alloc_find(st, getpid(), 0x10000)].preferred, 0);
}

#define DEV0_RW (3ull << FC_ACCESS_SHIFT(0))
#define HOST_RW (3ull << FC_ACCESS_SHIFT(FC_ACCESS_HOST))

/* Physical memory is charged at creation and given back when released
 * and unmapped, in either order; mappings charge nothing. */
static void test_vmm_references(void)
{
	struct fc_state *st = open_state(1000);
	struct fc_move m = {0};
	int me = fc_proc_attach(st, getpid(), "me", 1);
	struct fc_proc_dev *pd = &st->proc[me].dev[0];

	CHECK_EQ(fc_mem_vmm_create(st, me, 0, 7, 600, 1, &m), FC_MEM_OK);
	CHECK_EQ(st->dev[0].device_used, 600);
	CHECK_EQ(pd->device_bytes, 600);
	CHECK_EQ(pd->vmm_bytes, 600);
	CHECK_EQ(fc_mem_vmm_create(st, me, 0, 8, 401, 1, &m), FC_MEM_NO_ROOM);
	/* Host memory is charged to no device. */
	CHECK_EQ(fc_mem_vmm_create(st, me, FC_LOC_HOST, 9, 5000, 1, &m),
	         FC_MEM_OK);
	CHECK_EQ(st->dev[0].device_used, 600);

	/* Two mappings of one handle, side by side. */
	CHECK_EQ(fc_mem_vmm_map(st, me, 7, 0x100000, 600), FC_MEM_OK);
	CHECK_EQ(fc_mem_vmm_map(st, me, 7, 0x100000 + 600, 600), FC_MEM_OK);
	CHECK_EQ(fc_mem_vmm_map(st, me, 7, 0x100000 + 100, 10), FC_MEM_BUSY);
	CHECK_EQ(fc_mem_vmm_map(st, me, 99, 0x900000, 10), FC_MEM_NOT_FOUND);
	CHECK_EQ(fc_mem_vmm_map(st, me, 7, 0x900000, 601), FC_MEM_NOT_FOUND);
	CHECK_EQ(st->dev[0].device_used, 600);

	/* Reachable once access is granted, across both mappings. */
	CHECK_EQ(fc_mem_lookup(st, me, 0x100000, 1200, FC_NEED_READ), -1);
	CHECK_EQ(fc_mem_vmm_set_access(st, me, 0x100000, 100, DEV0_RW, DEV0_RW),
	         FC_MEM_NOT_FOUND); /* not whole mappings */
	CHECK_EQ(
	    fc_mem_vmm_set_access(st, me, 0x100000, 1200, HOST_RW, HOST_RW),
	    FC_MEM_BAD_LOCATION); /* device memory */
	CHECK_EQ(fc_mem_vmm_set_access(st, me, 0x100000, 1200, DEV0_RW,
	                               1ull << FC_ACCESS_SHIFT(0)),
	         FC_MEM_OK); /* read only */
	CHECK(fc_mem_lookup(st, me, 0x100000, 1200, FC_NEED_READ) >= 0);
	CHECK_EQ(fc_mem_lookup(st, me, 0x100000, 1200, FC_NEED_WRITE), -1);
	CHECK_EQ(
	    fc_mem_vmm_set_access(st, me, 0x100000, 1200, DEV0_RW, DEV0_RW),
	    FC_MEM_OK);
	CHECK(fc_mem_lookup(st, me, 0x100000 + 500, 200, FC_NEED_WRITE) >= 0);
	CHECK_EQ(fc_mem_lookup(st, me, 0x100000 + 1, 1200, FC_NEED_READ), -1);
	/* A mapping is not a cuMemAlloc pointer. */
	CHECK_EQ(fc_alloc_find(st, getpid(), 0x100000), -1);

	/* Released while mapped: the memory stays until the last unmap. */
	CHECK_EQ(fc_mem_vmm_release(st, me, 7), FC_MEM_OK);
	CHECK_EQ(fc_mem_vmm_release(st, me, 7), FC_MEM_NOT_FOUND);
	CHECK_EQ(fc_mem_vmm_map(st, me, 7, 0x900000, 10), FC_MEM_NOT_FOUND);
	CHECK_EQ(st->dev[0].device_used, 600);
	CHECK_EQ(fc_mem_vmm_unmap(st, me, 0x100000 + 600, 600), FC_MEM_OK);
	CHECK_EQ(st->dev[0].device_used, 600);
	CHECK_EQ(fc_mem_vmm_unmap(st, me, 0x100000, 100), FC_MEM_NOT_FOUND);
	CHECK_EQ(fc_mem_vmm_unmap(st, me, 0x100000, 600), FC_MEM_OK);
	CHECK_EQ(st->dev[0].device_used, 0);
	CHECK_EQ(pd->vmm_bytes, 0);
	CHECK_EQ(pd->device_bytes, 0);
	CHECK_EQ(fc_mem_vmm_unmap(st, me, 0x100000, 600), FC_MEM_NOT_FOUND);

	/* Unmapped first, released after: freed at the release. One unmap
	 * may take a run of mappings of different handles. */
	CHECK_EQ(fc_mem_vmm_create(st, me, 0, 10, 400, 2, &m), FC_MEM_OK);
	CHECK_EQ(fc_mem_vmm_create(st, me, 0, 11, 200, 2, &m), FC_MEM_OK);
	CHECK_EQ(fc_mem_vmm_map(st, me, 10, 0x200000, 400), FC_MEM_OK);
	CHECK_EQ(fc_mem_vmm_map(st, me, 11, 0x200000 + 400, 200), FC_MEM_OK);
	CHECK_EQ(fc_mem_vmm_unmap(st, me, 0x200000, 600), FC_MEM_OK);
	CHECK_EQ(st->dev[0].device_used, 600);
	CHECK_EQ(fc_mem_vmm_release(st, me, 10), FC_MEM_OK);
	CHECK_EQ(st->dev[0].device_used, 200);
	CHECK_EQ(fc_mem_vmm_release(st, me, 11), FC_MEM_OK);
	CHECK_EQ(st->dev[0].device_used, 0);

	/* Host access to host memory. */
	CHECK_EQ(fc_mem_vmm_map(st, me, 9, 0x300000, 5000), FC_MEM_OK);
	CHECK_EQ(
	    fc_mem_vmm_set_access(st, me, 0x300000, 5000, HOST_RW, HOST_RW),
	    FC_MEM_OK);
	CHECK(fc_mem_lookup(st, me, 0x300000, 5000, FC_NEED_WRITE) >= 0);
	CHECK_EQ(fc_mem_vmm_release(st, me, 9), FC_MEM_OK);
	CHECK_EQ(fc_mem_vmm_unmap(st, me, 0x300000, 5000), FC_MEM_OK);
	CHECK_EQ(st->nalloc, 0);
}

/* Arrays are charged like device memory; a pool's maxSize bounds what it
 * holds of the caller's. */
static void test_arrays_and_pools(void)
{
	struct fc_state *st = open_state(1000);
	struct fc_move m = {0};
	int me = fc_proc_attach(st, getpid(), "me", 1);

	CHECK_EQ(fc_mem_add_array(st, me, 0, 0xa, 300, 1, &m), FC_MEM_OK);
	CHECK_EQ(st->dev[0].device_used, 300);
	CHECK_EQ(st->proc[me].dev[0].array_bytes, 300);
	CHECK_EQ(fc_mem_add_array(st, me, 0, 0xb, 701, 1, &m), FC_MEM_NO_ROOM);
	CHECK_EQ(fc_mem_remove_handle(st, me, FC_ALLOC_ARRAY, 0xa), FC_MEM_OK);
	CHECK_EQ(fc_mem_remove_handle(st, me, FC_ALLOC_ARRAY, 0xa),
	         FC_MEM_NOT_FOUND);
	CHECK_EQ(st->dev[0].device_used, 0);
	CHECK_EQ(st->proc[me].dev[0].array_bytes, 0);

	CHECK_EQ(fc_mem_add_pooled(st, me, 0, 0x1000, 300, 0x55, 500, 1, &m),
	         FC_MEM_OK);
	CHECK_EQ(fc_mem_add_pooled(st, me, 0, 0x2000, 201, 0x55, 500, 1, &m),
	         FC_MEM_NO_ROOM);
	CHECK_EQ(fc_mem_add_pooled(st, me, 0, 0x2000, 200, 0x55, 500, 1, &m),
	         FC_MEM_OK);
	CHECK_EQ(fc_mem_pool_bytes(st, me, 0x55), 500);
	/* Another pool, or none, is not bounded by it. */
	CHECK_EQ(fc_mem_add_pooled(st, me, 0, 0x3000, 300, 0x66, 0, 1, &m),
	         FC_MEM_OK);
	CHECK_EQ(st->dev[0].device_used, 800);
	fc_alloc_remove(st, fc_alloc_find(st, getpid(), 0x1000));
	CHECK_EQ(fc_mem_pool_bytes(st, me, 0x55), 200);
	CHECK_EQ(st->dev[0].device_used, 500);
}

static void test_dead_process_reclaimed(void)
{
	struct fc_state *st = open_state(1000);
	struct fc_move m = {0};
	pid_t gone = dead_pid();
	int slot = fc_proc_attach(st, gone, "gone", 1);

	CHECK(fc_pid_dead(gone));
	CHECK(!fc_pid_dead(getpid()));
	CHECK_EQ(fc_mem_add_device(st, slot, 0, 0x1000, 700, 1, &m), FC_MEM_OK);
	CHECK_EQ(fc_mem_add_managed(st, slot, 0, 0x2000, 300), FC_MEM_OK);
	fc_mem_touch(st, slot, 0, 0x2000, 1, 2, &m);
	st->proc[slot].dev[0].kernels = 7;
	CHECK_EQ(fc_mem_free_bytes(st, 0), 0);
	/* VMM memory (mapped, released or not) and arrays go back too. */
	fc_alloc_remove(st, fc_alloc_find(st, gone, 0x1000));
	CHECK_EQ(fc_mem_vmm_create(st, slot, 0, 1, 200, 2, &m), FC_MEM_OK);
	CHECK_EQ(fc_mem_vmm_create(st, slot, 0, 2, 200, 2, &m), FC_MEM_OK);
	CHECK_EQ(fc_mem_vmm_map(st, slot, 1, 0x100000, 200), FC_MEM_OK);
	CHECK_EQ(fc_mem_vmm_release(st, slot, 1), FC_MEM_OK);
	CHECK_EQ(fc_mem_add_array(st, slot, 0, 0xa, 300, 2, &m), FC_MEM_OK);
	CHECK_EQ(st->dev[0].device_used, 700);
	CHECK_EQ(fc_mem_free_bytes(st, 0), 0);
	fc_state_reap(st, 3, 1);
	CHECK_EQ(fc_mem_free_bytes(st, 0), 1000);
	CHECK_EQ(st->proc[slot].alive, 0);
	CHECK_EQ(st->proc[slot].pid, gone);         /* kept for readers */
	CHECK_EQ(st->proc[slot].dev[0].kernels, 7); /* figures too */
	CHECK_EQ(st->nalloc, 0);
}

static void test_zombie_is_dead(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	usleep(100000); /* let it exit; it stays a zombie until waited */
	CHECK(fc_pid_dead(pid));
	waitpid(pid, NULL, 0);
}

static void test_state_file(void)
{
	char path[] = "/tmp/fakecuda-test-XXXXXX", err[256];
	struct fc_config cfg;
	struct fc_state *a = NULL, *b = NULL, *c = NULL;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	fc_config_defaults(&cfg);
	CHECK_EQ(fc_state_open(path, &cfg, &a, err, sizeof(err)), 0);
	CHECK_EQ(fc_state_open(path, &cfg, &b, err, sizeof(err)), 0);
	/* Two mappings of one file: one state. */
	a->dev[0].kernels = 42;
	CHECK_EQ(b->dev[0].kernels, 42);
	CHECK_EQ(fc_state_open_existing(path, &c, err, sizeof(err)), 0);
	CHECK_EQ(c->dev[0].capacity, 16ll << 30);
	cfg.dev[0].capacity = 1 << 30;
	CHECK_EQ(fc_state_open(path, &cfg, &c, err, sizeof(err)), -1);
	CHECK(strstr(err, "other devices") != NULL);
	CHECK_EQ(truncate(path, 100), 0);
	CHECK_EQ(fc_state_open(path, &cfg, &c, err, sizeof(err)), -1);
	CHECK_EQ(fc_state_open_existing(path, &c, err, sizeof(err)), -1);
	unlink(path);
	CHECK_EQ(fc_state_open_existing(path, &c, err, sizeof(err)), -1);
}

int main(void)
{
	test_device_capacity();
	test_lru_eviction();
	test_thrash_and_prefetch();
	test_vmm_references();
	test_arrays_and_pools();
	test_dead_process_reclaimed();
	test_zombie_is_dead();
	test_state_file();
	return check_summary("fakecuda_memory");
}
