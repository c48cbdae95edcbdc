/*
 * remap.c - remappable device memory (see remap.h).
 *
 * Blocks are found by address in a search tree (frees) and walked in a
 * list (swaps). One mutex covers all of it, including a whole swap of a
 * device: an allocation or free made meanwhile waits for the move to
 * finish, which it would have to do anyway before its memory could be
 * used. Only the link thread swaps; any thread allocates and frees.
 *
 * Host copies are kept from one swap to the next: page-locking fresh host
 * memory costs far more than the copy itself (about 0.4 s per GiB on the
 * H200, against 20 ms per GiB to copy), so each block pays it once, at
 * its first swap-out.
 */
#include "remap.h"

#include "config.h"
#include "grant.h"
#include "log.h"
#include "mailbox.h"
#include "mem.h"
#include "sock.h"

#include <search.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* Rounding up may waste at most 1/REMAP_MAX_WASTE of a block. */
#define REMAP_MAX_WASTE 8
/* A swap-in that finds the GPU full (memory in use outside nvshare, or a
 * co-tenant still leaving) retries this long before giving up. */
#define REMAP_BACK_TIMEOUT_NS (30ll * 1000000000ll)
#define REMAP_BACK_RETRY_NS (5ll * 1000000ll)
/* A swap-out gives GPU memory back in batches of this many bytes: small
 * enough that a waiter's memory frees up early, large enough that the
 * synchronizations cost nothing against the copies (256 MiB take about
 * 5 ms at link speed). */
#define REMAP_RELEASE_BATCH (256ull << 20)

/* How a block's host buffer was made (and must be given back). */
enum host_kind {
	HOST_PAGEABLE = 0,   /* mmap only */
	HOST_REGISTERED = 1, /* mmap + cuMemHostRegister */
	HOST_ALLOCATED = 2,  /* cuMemHostAlloc */
};

struct remap_block {
	CUdeviceptr va;                      /* reserved address, the key */
	uint64_t size;                       /* multiple of the granularity */
	struct gate_dev *dev;                /* where it lives when resident */
	CUmemGenericAllocationHandle handle; /* physical memory, 0 if none */
	void *host;                          /* host copy, kept for reuse */
	enum host_kind host_kind;            /* how host was made */
	int saved;                           /* host holds the bytes */
	int copying;                         /* a copy in either direction is
	                                        queued, not yet waited for */
	struct remap_block *prev, *next;     /* list of every block */
};

static struct {
	pthread_mutex_t mu;
	void *by_va;              /* tsearch tree of blocks */
	struct remap_block *head; /* every block */
	/* Per device (index in gate_devs). */
	uint64_t granularity[GATE_MAX_DEVICES]; /* 0: unknown, 1: no VMM */
	uint64_t bytes[GATE_MAX_DEVICES]; /* blocks' sizes, backed or not */
	/* Bytes of listed blocks without memory. */
	uint64_t unbacked_bytes[GATE_MAX_DEVICES];
	int present[GATE_MAX_DEVICES]; /* holding the GPU (or unmanaged):
	                                  new blocks are backed at once */
} rm = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int index_of(const struct gate_dev *d)
{
	return (int)(d - gate_devs);
}

static int by_va(const void *a, const void *b)
{
	CUdeviceptr x = ((const struct remap_block *)a)->va;
	CUdeviceptr y = ((const struct remap_block *)b)->va;

	return x < y ? -1 : x > y;
}

static int vmm_available(void)
{
	return nvs_real_cuMemCreate && nvs_real_cuMemRelease &&
	       nvs_real_cuMemMap && nvs_real_cuMemUnmap &&
	       nvs_real_cuMemAddressReserve && nvs_real_cuMemAddressFree &&
	       nvs_real_cuMemSetAccess &&
	       nvs_real_cuMemGetAllocationGranularity &&
	       nvs_real_cuMemcpyDtoHAsync_v2 && nvs_real_cuMemcpyHtoDAsync_v2;
}

static CUmemAllocationProp prop_of(const struct gate_dev *d)
{
	CUmemAllocationProp p = {0};

	p.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	p.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	p.location.id = d->ordinal;
	return p;
}

/* The device's granularity, or 1 if blocks cannot be made there (rm.mu). */
static uint64_t granularity_of(struct gate_dev *d)
{
	int i = index_of(d);
	size_t g = 0;
	CUmemAllocationProp p = prop_of(d);

	if (rm.granularity[i])
		return rm.granularity[i];
	if (config_get()->swap_unified || !vmm_available() ||
	    nvs_real_cuMemGetAllocationGranularity(
	        &g, &p, CU_MEM_ALLOC_GRANULARITY_MINIMUM) != CUDA_SUCCESS ||
	    g == 0 || (g & (g - 1)))
		g = 1;
	rm.granularity[i] = g;
	if (g == 1)
		NVS_DEBUG("event=remap_off gpu=%s msg=\"allocations stay "
		          "Unified Memory\"",
		          d->uuid);
	return g;
}

int remap_suits(struct gate_dev *d, uint64_t bytes, uint64_t *rounded)
{
	uint64_t g, r;

	pthread_mutex_lock(&rm.mu);
	g = granularity_of(d);
	pthread_mutex_unlock(&rm.mu);
	if (g == 1 || bytes == 0 || bytes > UINT64_MAX - g)
		return 0;
	r = (bytes + g - 1) & ~(g - 1);
	if ((r - bytes) * REMAP_MAX_WASTE > r)
		return 0;
	*rounded = r;
	return 1;
}

/* --- physical memory ------------------------------------------------------ */

/* Creates physical memory for b and maps it read-write for its device. */
static CUresult back(struct remap_block *b)
{
	CUmemAllocationProp p = prop_of(b->dev);
	CUmemAccessDesc acc = {.location = p.location,
	                       .flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE};
	CUmemGenericAllocationHandle h = 0;
	CUresult r = nvs_real_cuMemCreate(&h, b->size, &p, 0);

	if (r != CUDA_SUCCESS)
		return r;
	r = nvs_real_cuMemMap(b->va, b->size, 0, h, 0);
	if (r == CUDA_SUCCESS) {
		r = nvs_real_cuMemSetAccess(b->va, b->size, &acc, 1);
		if (r != CUDA_SUCCESS)
			nvs_real_cuMemUnmap(b->va, b->size);
	}
	if (r != CUDA_SUCCESS) {
		nvs_real_cuMemRelease(h);
		return r;
	}
	b->handle = h;
	rm.unbacked_bytes[index_of(b->dev)] -= b->size;
	return CUDA_SUCCESS;
}

static void unback(struct remap_block *b)
{
	if (!b->handle)
		return;
	nvs_real_cuMemUnmap(b->va, b->size);
	nvs_real_cuMemRelease(b->handle);
	b->handle = 0;
	rm.unbacked_bytes[index_of(b->dev)] += b->size;
}

/* A host buffer of size bytes: fresh anonymous memory (huge pages asked
 * for) page-locked by registering it, which the H200 measured faster than
 * cuMemHostAlloc (1.56 s against 2.23 s for 4 GiB, docs/benchmarks.md);
 * else cuMemHostAlloc; else pageable memory, which copies through the
 * driver's staging at a fraction of the link speed. NULL if none. Needs
 * no lock: it touches no block. */
static void *host_make(uint64_t size, enum host_kind *kind)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	*kind = HOST_PAGEABLE;
	if (p != MAP_FAILED) {
		madvise(p, size, MADV_HUGEPAGE);
		if (nvs_real_cuMemHostRegister_v2 &&
		    nvs_real_cuMemHostRegister_v2(
		        p, size, CU_MEMHOSTREGISTER_PORTABLE) == CUDA_SUCCESS)
			*kind = HOST_REGISTERED;
	}
	if ((p == MAP_FAILED || *kind == HOST_PAGEABLE) &&
	    nvs_real_cuMemHostAlloc) {
		void *pinned = NULL;
		if (nvs_real_cuMemHostAlloc(&pinned, size,
		                            CU_MEMHOSTALLOC_PORTABLE) ==
		    CUDA_SUCCESS) {
			if (p != MAP_FAILED)
				munmap(p, size);
			p = pinned;
			*kind = HOST_ALLOCATED;
		}
	}
	return p == MAP_FAILED ? NULL : p;
}

static void host_release(void *p, uint64_t size, enum host_kind kind)
{
	if (kind == HOST_ALLOCATED) {
		nvs_real_cuMemFreeHost(p);
	} else {
		if (kind == HOST_REGISTERED)
			nvs_real_cuMemHostUnregister(p);
		munmap(p, size);
	}
}

/* b's host buffer, made once and kept (rm.mu held). */
static void *host_alloc(struct remap_block *b)
{
	if (!b->host)
		b->host = host_make(b->size, &b->host_kind);
	return b->host;
}

static void host_free(struct remap_block *b)
{
	if (!b->host)
		return;
	host_release(b->host, b->size, b->host_kind);
	b->host = NULL;
	b->saved = 0;
}

/* Releases everything of b and frees it (rm.mu held, b in the tree and
 * list). */
static void destroy(struct remap_block *b)
{
	unback(b);
	rm.bytes[index_of(b->dev)] -= b->size;
	rm.unbacked_bytes[index_of(b->dev)] -= b->size;
	tdelete(b, &rm.by_va, by_va);
	if (b->prev)
		b->prev->next = b->next;
	else
		rm.head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	nvs_real_cuMemAddressFree(b->va, b->size);
	host_free(b);
	free(b);
}

/* --- allocation ----------------------------------------------------------- */

/* Whether new blocks on d must wait for a grant (rm.mu held): while the
 * process is managed and does not hold the GPU, its memory there may not
 * grow (the scheduler may have given the room to someone else). */
static int waits_for_grant(struct gate_dev *d)
{
	return mailbox_managed() && !rm.present[index_of(d)];
}

/* Room for one more block (rm.mu held): a process's blocks on a device
 * must fit the GPU together, or a swap-in could not back them all. What
 * would not fit (a process oversubscribing on its own, with
 * NVSHARE_SINGLE_OVERSUB=1 or a limit above the card) is refused here,
 * and cuMemAlloc gives Unified Memory instead, which can oversubscribe. */
static int fits_capacity(struct gate_dev *d, uint64_t size)
{
	uint64_t cap, have = rm.bytes[index_of(d)];

	pthread_mutex_lock(&d->mu);
	cap = d->capacity_bytes ? d->capacity_bytes : d->total_bytes;
	pthread_mutex_unlock(&d->mu);
	return cap == 0 || (have <= cap && size <= cap - have);
}

/* A block told to wait for the next grant may find that grant already
 * came (a LOCK_OK between the grant check and the listing): its gate is
 * open then, so it must be backed now, not at a grant that has passed
 * (rm.mu held; rm.mu before d->mu, as in fits_capacity). */
static int arrived_covered(struct gate_dev *d)
{
	int covered;

	if (!rm.present[index_of(d)])
		return 0;
	pthread_mutex_lock(&d->mu);
	covered = !mailbox_managed() ||
	          (d->holding && !d->short_grant && grant_covers(d));
	pthread_mutex_unlock(&d->mu);
	return covered;
}

CUresult remap_alloc(struct gate_dev *d, uint64_t rounded, int back_now,
                     CUdeviceptr *ptr)
{
	struct remap_block *b = calloc(1, sizeof(*b));
	CUdeviceptr va = 0;
	CUresult r;

	if (!b)
		return CUDA_ERROR_OUT_OF_MEMORY;
	r = nvs_real_cuMemAddressReserve(&va, rounded, 0, 0, 0);
	if (r != CUDA_SUCCESS) {
		free(b);
		return r;
	}
	b->va = va;
	b->size = rounded;
	b->dev = d;
	pthread_mutex_lock(&rm.mu);
	if ((mailbox_managed() && !fits_capacity(d, rounded)) ||
	    !tsearch(b, &rm.by_va, by_va)) {
		pthread_mutex_unlock(&rm.mu);
		nvs_real_cuMemAddressFree(va, rounded);
		free(b);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	/* Listed without memory; backed now unless it waits for a grant. */
	b->next = rm.head;
	if (rm.head)
		rm.head->prev = b;
	rm.head = b;
	rm.bytes[index_of(d)] += rounded;
	rm.unbacked_bytes[index_of(d)] += rounded;
	if ((back_now || arrived_covered(d)) && !waits_for_grant(d) &&
	    (r = back(b)) != CUDA_SUCCESS)
		destroy(b);
	pthread_mutex_unlock(&rm.mu);
	if (r == CUDA_SUCCESS)
		*ptr = va;
	return r;
}

/* Waits for the work queued on b's device by this process, as cuMemFree
 * does before memory goes (unless a capture runs: synchronizing would end
 * it, and a program freeing memory mid-capture has ordered it itself). */
static void finish_work(struct gate_dev *d)
{
	if (atomic_load(&ctx_captures) || !nvs_real_cuCtxSynchronize)
		return;
	if (gate_current() == d)
		nvs_real_cuCtxSynchronize();
	else
		gate_sync_contexts(d, 1);
}

int remap_free(CUdeviceptr ptr)
{
	struct remap_block key = {.va = ptr}, **found;
	struct gate_dev *d;

	pthread_mutex_lock(&rm.mu);
	found = rm.by_va ? tfind(&key, &rm.by_va, by_va) : NULL;
	d = found ? (*found)->dev : NULL;
	pthread_mutex_unlock(&rm.mu);
	if (!d)
		return 0;
	finish_work(d);
	pthread_mutex_lock(&rm.mu);
	/* Looked up again: another thread may have freed it meanwhile. The
	 * charge goes first, while no new allocation can have the address. */
	found = rm.by_va ? tfind(&key, &rm.by_va, by_va) : NULL;
	if (found) {
		mem_forget(MEM_PTR, ptr);
		destroy(*found);
	}
	pthread_mutex_unlock(&rm.mu);
	return 1;
}

/* --- swapping ------------------------------------------------------------- */

/* Waits for the copies queued out of d's blocks and gives their GPU
 * memory back. Returns 0, or -1 if the stream failed: nothing of that
 * batch is known to have arrived, so it all stays on the GPU. */
static int release_copied(struct gate_dev *d, CUstream s, uint64_t *bytes)
{
	int ok = nvs_real_cuStreamSynchronize(s) == CUDA_SUCCESS;

	for (struct remap_block *b = rm.head; b; b = b->next) {
		if (b->dev != d || !b->handle || !b->copying)
			continue;
		b->copying = 0;
		b->saved = ok;
		if (ok) {
			unback(b);
			*bytes += b->size;
		}
	}
	if (!ok)
		NVS_WARN(
		    "event=swap_out_failed gpu=%s msg=\"a copy to the host "
		    "failed: those blocks stay on the GPU\"",
		    d->uuid);
	return ok ? 0 : -1;
}

/* Copies d's backed blocks to their host buffers and releases each batch
 * of REMAP_RELEASE_BATCH bytes as soon as it has arrived, so that GPU
 * memory is freed while the rest is still copying (and while later
 * blocks still make their host buffers). */
static int swap_out(struct gate_dev *d, CUstream s, uint64_t *bytes,
                    uint64_t *setup_ns)
{
	uint64_t batch = 0;
	int failed = 0;
	CUresult r;

	for (struct remap_block *b = rm.head; b; b = b->next) {
		long long t0 = nvs_now_ns();
		if (b->dev != d || !b->handle || b->copying)
			continue;
		if (!b->host && host_alloc(b))
			*setup_ns += (uint64_t)(nvs_now_ns() - t0);
		if (!b->host) {
			failed = 1;
			continue;
		}
		r = nvs_real_cuMemcpyDtoHAsync_v2(b->host, b->va, b->size, s);
		if (r != CUDA_SUCCESS) {
			NVS_WARN("event=swap_out_failed gpu=%s bytes=%llu "
			         "reason=%s msg=\"the block stays on the GPU\"",
			         d->uuid, (unsigned long long)b->size,
			         driver_error_name(r));
			failed = 1;
			continue;
		}
		b->copying = 1;
		batch += b->size;
		if (batch >= REMAP_RELEASE_BATCH) {
			if (release_copied(d, s, bytes))
				return -1;
			batch = 0;
		}
	}
	if (batch && release_copied(d, s, bytes))
		return -1;
	return failed ? -1 : 0;
}

/* Backs b, waiting for room while the GPU is full, until deadline (one
 * for the whole swap-in). */
static CUresult back_when_room(struct remap_block *b, long long deadline)
{
	long long t0 = nvs_now_ns();
	struct timespec pause = {.tv_nsec = REMAP_BACK_RETRY_NS};
	CUresult r;

	while ((r = back(b)) == CUDA_ERROR_OUT_OF_MEMORY &&
	       nvs_now_ns() < deadline)
		nanosleep(&pause, NULL);
	if (r == CUDA_SUCCESS && nvs_now_ns() - t0 > 100 * 1000000ll)
		NVS_WARN("event=swap_in_waited gpu=%s ms=%lld msg=\"the GPU "
		         "was full: memory in use outside nvshare?\"",
		         b->dev->uuid, (nvs_now_ns() - t0) / 1000000);
	return r;
}

static int swap_in(struct gate_dev *d, CUstream s, uint64_t *bytes)
{
	long long deadline = nvs_now_ns() + REMAP_BACK_TIMEOUT_NS;
	int failed = 0, queued = 0;
	CUresult r;

	for (struct remap_block *b = rm.head; b; b = b->next) {
		b->copying = 0;
		if (b->dev != d || b->handle)
			continue;
		r = back_when_room(b, deadline);
		if (r != CUDA_SUCCESS) {
			NVS_ERROR("event=swap_in_failed gpu=%s bytes=%llu "
			          "reason=%s msg=\"memory stays off the GPU: "
			          "kernels using it will fail\"",
			          d->uuid, (unsigned long long)b->size,
			          driver_error_name(r));
			failed = 1;
			continue;
		}
		if (!b->saved)
			continue; /* fresh: its bytes are undefined anyway */
		r = nvs_real_cuMemcpyHtoDAsync_v2(b->va, b->host, b->size, s);
		if (r != CUDA_SUCCESS) {
			/* Off the GPU again: the host copy stays the truth. */
			unback(b);
			failed = 1;
			continue;
		}
		b->copying = 1;
		queued = 1;
	}
	r = queued ? nvs_real_cuStreamSynchronize(s) : CUDA_SUCCESS;
	for (struct remap_block *b = rm.head; b; b = b->next) {
		if (b->dev != d || !b->copying)
			continue;
		b->copying = 0;
		if (r == CUDA_SUCCESS) {
			b->saved = 0;
			*bytes += b->size;
		} else {
			unback(b);
		}
	}
	return failed || r != CUDA_SUCCESS ? -1 : 0;
}

/* --- host buffers ahead of a swap ---------------------------------------
 *
 * Told that a drop with its memory moved out is planned, the process makes
 * the host buffers its blocks will need, on a thread of its own (the link
 * thread keeps answering), one block at a time: rm.mu is held only to pick
 * a block and to attach its buffer, so allocations, frees and swaps go on
 * meanwhile. A swap that comes first makes what is missing itself.
 */

static struct {
	pthread_mutex_t mu;
	unsigned pending; /* device indexes asked for, as bits */
	int running;      /* the preparing thread exists */
} prep = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* host_make on this thread, which has no context of its own: page-locking
 * needs one, so d's first recorded context is made current meanwhile
 * (held for reading: it cannot be destroyed under us). NULL without one. */
static void *host_make_in_context(struct gate_dev *d, uint64_t size,
                                  enum host_kind *kind)
{
	CUcontext ctx = NULL, popped;
	void *buf = NULL;

	if (!nvs_real_cuCtxPushCurrent_v2 || !nvs_real_cuCtxPopCurrent_v2)
		return NULL;
	pthread_rwlock_rdlock(&gate_ctx_lock);
	pthread_mutex_lock(&d->mu);
	if (d->nctxs)
		ctx = d->ctxs[0];
	pthread_mutex_unlock(&d->mu);
	if (ctx && nvs_real_cuCtxPushCurrent_v2(ctx) == CUDA_SUCCESS) {
		buf = host_make(size, kind);
		nvs_real_cuCtxPopCurrent_v2(&popped);
	}
	pthread_rwlock_unlock(&gate_ctx_lock);
	return buf;
}

/* Makes host buffers for d's backed blocks that have none. Returns the
 * bytes made. */
static uint64_t prepare_device(struct gate_dev *d)
{
	struct remap_block key = {0}, **found;
	uint64_t made = 0;
	enum host_kind kind;
	void *buf;

	while (!gate_exiting()) {
		key.va = 0;
		pthread_mutex_lock(&rm.mu);
		for (struct remap_block *b = rm.head; b; b = b->next)
			if (b->dev == d && b->handle && !b->host) {
				key.va = b->va;
				key.size = b->size;
				break;
			}
		pthread_mutex_unlock(&rm.mu);
		if (!key.va)
			break;
		buf = host_make_in_context(d, key.size, &kind);
		if (buf && kind == HOST_PAGEABLE) {
			/* Not page-locked: the swap does better itself. */
			host_release(buf, key.size, kind);
			buf = NULL;
		}
		if (!buf)
			break; /* the host is short: the swap will try again */
		pthread_mutex_lock(&rm.mu);
		/* Looked up again: the block may have gone, or have got a
		 * buffer from a swap meanwhile. */
		found = rm.by_va ? tfind(&key, &rm.by_va, by_va) : NULL;
		if (found && (*found)->size == key.size && !(*found)->host) {
			(*found)->host = buf;
			(*found)->host_kind = kind;
			made += key.size;
			buf = NULL;
		}
		pthread_mutex_unlock(&rm.mu);
		if (buf) {
			host_release(buf, key.size, kind);
			if (!found)
				continue;
			break; /* a swap is under way: it makes the rest */
		}
	}
	return made;
}

static void *prepare_main(void *arg)
{
	(void)arg;
	for (;;) {
		long long t0 = nvs_now_ns();
		uint64_t made;
		int i;

		pthread_mutex_lock(&prep.mu);
		if (!prep.pending) {
			prep.running = 0;
			pthread_mutex_unlock(&prep.mu);
			return NULL;
		}
		i = __builtin_ctz(prep.pending);
		prep.pending &= ~(1u << i);
		pthread_mutex_unlock(&prep.mu);
		made = prepare_device(&gate_devs[i]);
		if (made)
			NVS_DEBUG(
			    "event=host_prepared gpu=%s bytes=%llu ms=%lld",
			    gate_devs[i].uuid, (unsigned long long)made,
			    (nvs_now_ns() - t0) / 1000000);
	}
}

void remap_prepare(struct gate_dev *d)
{
	sigset_t all, old;
	pthread_t t;
	int start;

	pthread_mutex_lock(&prep.mu);
	prep.pending |= 1u << index_of(d);
	start = !prep.running;
	prep.running = 1;
	pthread_mutex_unlock(&prep.mu);
	if (!start)
		return;
	/* The application's signal handlers must never run on our thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, NULL, prepare_main, NULL) == 0) {
		pthread_detach(t);
	} else {
		pthread_mutex_lock(&prep.mu);
		prep.running = 0; /* the swap makes its buffers itself */
		prep.pending = 0;
		pthread_mutex_unlock(&prep.mu);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int remap_move(struct gate_dev *d, int to_host, CUstream s, uint64_t *bytes,
               uint64_t *setup_ns)
{
	int rc;

	pthread_mutex_lock(&rm.mu);
	/* Every grant comes here: with nothing to back, walk no list. */
	rc = to_host                          ? swap_out(d, s, bytes, setup_ns)
	     : rm.unbacked_bytes[index_of(d)] ? swap_in(d, s, bytes)
	                                      : 0;
	rm.present[index_of(d)] = !to_host;
	pthread_mutex_unlock(&rm.mu);
	return rc;
}

void remap_left(struct gate_dev *d)
{
	pthread_mutex_lock(&rm.mu);
	rm.present[index_of(d)] = 0;
	pthread_mutex_unlock(&rm.mu);
}

uint64_t remap_unbacked_bytes(struct gate_dev *d)
{
	uint64_t n;

	pthread_mutex_lock(&rm.mu);
	n = rm.unbacked_bytes[index_of(d)];
	pthread_mutex_unlock(&rm.mu);
	return n;
}

void remap_reset_after_fork(void)
{
	/* The parent's blocks are not the child's to free (CUDA does not
	 * survive fork): forgotten, never released. */
	pthread_mutex_init(&rm.mu, NULL);
	rm.by_va = NULL;
	rm.head = NULL;
	memset(rm.bytes, 0, sizeof(rm.bytes));
	memset(rm.unbacked_bytes, 0, sizeof(rm.unbacked_bytes));
	pthread_mutex_init(&prep.mu, NULL);
	prep.pending = 0;
	prep.running = 0;
	memset(rm.present, 0, sizeof(rm.present));
}

void remap_forget_device(struct gate_dev *d)
{
	struct remap_block *b, *next;

	pthread_mutex_lock(&rm.mu);
	for (b = rm.head; b; b = next) {
		next = b->next;
		if (b->dev == d)
			destroy(b);
	}
	pthread_mutex_unlock(&rm.mu);
}
