/*
 * gate.c - slow paths of the gate (see gate.h): finding the device for a
 * context, waiting for the lock, closing and draining.
 */
#include "gate.h"

#include "log.h"
#include "mailbox.h"
#include "sock.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

struct gate_dev gate_devs[GATE_MAX_DEVICES];
atomic_int gate_ndevs;

__thread CUcontext gate_tls_ctx __attribute__((tls_model("initial-exec")));
__thread struct gate_dev *gate_tls_dev
    __attribute__((tls_model("initial-exec")));
__thread unsigned gate_tls_gen __attribute__((tls_model("initial-exec")));

/* Serialises device creation against the link thread's managed/unmanaged
 * transitions, so that a new device starts with the right gate state. */
pthread_mutex_t gate_registry_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_rwlock_t gate_ctx_lock = PTHREAD_RWLOCK_INITIALIZER;

/* Condition variables wait on the monotonic clock, so that a change of the
 * wall clock cannot stretch a wait. */
static void init_dev_sync(struct gate_dev *d)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &attr);
	pthread_condattr_destroy(&attr);
}

static void sleep_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000,
	                      .tv_nsec = (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void read_identity(struct gate_dev *d, CUdevice dev)
{
	CUuuid uuid;
	size_t total = 0;
	CUresult r = CUDA_ERROR_NOT_FOUND;

	if (nvs_real_cuDeviceGetUuid_v2)
		r = nvs_real_cuDeviceGetUuid_v2(&uuid, dev);
	if (r != CUDA_SUCCESS && nvs_real_cuDeviceGetUuid)
		r = nvs_real_cuDeviceGetUuid(&uuid, dev);
	if (r != CUDA_SUCCESS) {
		/* Still usable: the scheduler only needs a stable name. */
		memset(&uuid, 0, sizeof(uuid));
		uuid.bytes[15] = (char)dev;
		NVS_WARN("event=no_uuid device=%d msg=\"cuDeviceGetUuid failed "
		         "(%s)\"",
		         dev, driver_error_name(r));
	}
	nvs_uuid_format(uuid.bytes, d->uuid);
	if (nvs_real_cuDeviceTotalMem_v2)
		nvs_real_cuDeviceTotalMem_v2(&total, dev);
	d->total_bytes = total;
	d->capacity_bytes = total;
}

struct gate_dev *gate_find_ordinal(int dev)
{
	int n = atomic_load(&gate_ndevs);

	for (int i = 0; i < n; i++)
		if (gate_devs[i].ordinal == dev)
			return &gate_devs[i];
	return NULL;
}

static struct gate_dev *find_or_create(CUdevice dev)
{
	int n;
	struct gate_dev *d = gate_find_ordinal(dev);

	if (d)
		return d;
	mailbox_start();
	pthread_mutex_lock(&gate_registry_mu);
	d = gate_find_ordinal(dev);
	if (d) {
		pthread_mutex_unlock(&gate_registry_mu);
		return d;
	}
	n = atomic_load(&gate_ndevs);
	if (n == GATE_MAX_DEVICES) {
		pthread_mutex_unlock(&gate_registry_mu);
		NVS_WARN("event=too_many_devices device=%d max=%d", dev,
		         GATE_MAX_DEVICES);
		return NULL;
	}
	d = &gate_devs[n];
	d->ordinal = dev;
	init_dev_sync(d);
	read_identity(d, dev);
	atomic_store(&d->open, mailbox_managed() ? 0 : 1);
	d->ran_unmanaged = !mailbox_managed();
	d->todo = GATE_TODO_REGISTER;
	atomic_store(&gate_ndevs, n + 1); /* publish after initialisation */
	pthread_mutex_unlock(&gate_registry_mu);
	NVS_DEBUG("event=device_seen device=%d uuid=%s total=%llu", dev,
	          d->uuid, (unsigned long long)d->total_bytes);
	mailbox_notify();
	return d;
}

struct gate_dev *gate_lookup(CUcontext ctx)
{
	CUdevice dev;
	struct gate_dev *d;
	/* Read first: a destroy racing with us then invalidates our cache. */
	unsigned gen = atomic_load(&ctx_generation);

	if (!nvs_real_cuCtxGetDevice ||
	    nvs_real_cuCtxGetDevice(&dev) != CUDA_SUCCESS)
		return NULL;
	d = find_or_create(dev);
	if (!d)
		return NULL;
	pthread_mutex_lock(&d->mu);
	int known = 0;
	for (int i = 0; i < d->nctxs; i++)
		known |= d->ctxs[i] == ctx;
	if (!known && d->nctxs < GATE_MAX_CONTEXTS)
		d->ctxs[d->nctxs++] = ctx;
	pthread_mutex_unlock(&d->mu);
	gate_tls_ctx = ctx;
	gate_tls_dev = d;
	gate_tls_gen = gen;
	return d;
}

struct gate_dev *gate_current(void)
{
	CUcontext ctx = NULL;

	driver_ensure();
	if (!nvs_real_cuCtxGetCurrent ||
	    nvs_real_cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !ctx)
		return NULL;
	if (ctx == gate_tls_ctx && gate_tls_gen == atomic_load(&ctx_generation))
		return gate_tls_dev;
	return gate_lookup(ctx);
}

int gate_stream_capturing(CUstream stream)
{
	CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;

	if (stream == NVS_NO_STREAM || !nvs_real_cuStreamIsCapturing)
		return 0;
	return nvs_real_cuStreamIsCapturing(stream, &st) == CUDA_SUCCESS &&
	       st == CU_STREAM_CAPTURE_STATUS_ACTIVE;
}

int gate_wait(struct gate_dev *d, CUstream stream)
{
	if (gate_stream_capturing(stream))
		return 1;
	pthread_mutex_lock(&d->mu);
	while (!atomic_load(&d->open)) {
		if (!d->requested && !(d->todo & GATE_TODO_REQUEST)) {
			d->todo |= GATE_TODO_REQUEST;
			mailbox_notify();
		}
		/* Timed, so that a lost wake-up costs a second, not a hang. */
		struct timespec until;
		nvs_deadline_ms(&until, 1000);
		pthread_cond_timedwait(&d->cv, &d->mu, &until);
	}
	pthread_mutex_unlock(&d->mu);
	return 0;
}

void gate_set_open(struct gate_dev *d, int open)
{
	pthread_mutex_lock(&d->mu);
	atomic_store(&d->open, open);
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

void gate_update_open(struct gate_dev *d)
{
	int open = mailbox_managed()
	               ? d->holding && !d->throttled && !d->short_grant
	               : 1;

	atomic_store(&d->open, open);
	pthread_cond_broadcast(&d->cv);
}

/* Waits until no gated call of d is inside the driver: a few quick
 * yields (the usual case is a launch returning), then short sleeps (a
 * synchronous copy may wait on a long kernel). */
static void wait_inflight(struct gate_dev *d)
{
	for (int spins = 0; atomic_load(&d->inflight) > 0; spins++) {
		if (spins < 100)
			sched_yield();
		else
			sleep_us(200);
	}
}

/* How long a drain waits for the process's stream captures to end before
 * it gives up synchronizing (the scheduler's grace period is 5 s by
 * default; a drain that outlives it loses the lock anyway). */
#define CAPTURE_WAIT_US 5000000

int gate_close_and_drain(struct gate_dev *d)
{
	long waited_us = 0;

	for (;;) {
		atomic_store(&d->open, 0);
		wait_inflight(d);
		/* Beginning a capture is a gated call, so with the gate closed
		 * and nothing in flight no capture can start until we reopen.
		 */
		if (atomic_load(&ctx_captures) == 0)
			break;
		/* Synchronizing now would invalidate the running capture, and
		 * keeping the gate closed could block the capturing thread on
		 * a call it needs to finish the capture: reopen, wait, retry.
		 */
		if (waited_us >= CAPTURE_WAIT_US) {
			NVS_WARN(
			    "event=drain_skipped gpu=%s msg=\"a stream capture "
			    "has run for %ld ms; releasing without "
			    "synchronizing\"",
			    d->uuid, waited_us / 1000);
			return -1;
		}
		gate_set_open(d, 1);
		sleep_us(1000);
		waited_us += 1000;
	}
	if (!gate_exiting())
		gate_sync_contexts(d, GATE_MAX_CONTEXTS);
	return 0;
}

void gate_sync_contexts(struct gate_dev *d, int max)
{
	CUcontext ctxs[GATE_MAX_CONTEXTS];
	int n;

	if (!nvs_real_cuCtxPushCurrent_v2 || !nvs_real_cuCtxPopCurrent_v2 ||
	    !nvs_real_cuCtxSynchronize)
		return;
	/* Held for reading: a context cannot be destroyed under us. */
	pthread_rwlock_rdlock(&gate_ctx_lock);
	pthread_mutex_lock(&d->mu);
	n = d->nctxs < max ? d->nctxs : max;
	memcpy(ctxs, d->ctxs, sizeof(ctxs[0]) * (size_t)n);
	pthread_mutex_unlock(&d->mu);
	for (int i = 0; i < n; i++) {
		CUcontext popped;
		if (nvs_real_cuCtxPushCurrent_v2(ctxs[i]) != CUDA_SUCCESS)
			continue;
		nvs_real_cuCtxSynchronize();
		nvs_real_cuCtxPopCurrent_v2(&popped);
	}
	pthread_rwlock_unlock(&gate_ctx_lock);
}

/* Set when the process starts exiting: the driver may already be tearing
 * down, so the link thread stops calling it. */
static atomic_int exiting;

__attribute__((destructor)) static void gate_on_exit(void)
{
	atomic_store(&exiting, 1);
}

/* Checkpoints are never queried again once gone with their context. */
static void forget_tails(struct gate_dev *d)
{
	for (int i = 0; i < FLOW_TAILS; i++) {
		atomic_store(&d->tails[i].ev, NULL);
		atomic_store(&d->tails[i].key, 0);
	}
}

int gate_work_pending(struct gate_dev *d)
{
	int pending = 0;

	if (atomic_load(&d->inflight) > 0 || atomic_load(&d->syncing) > 0)
		return 1;
	if (!nvs_real_cuEventQuery)
		return 0;
	/* A context being destroyed takes its events with it: hold it off. */
	pthread_rwlock_rdlock(&gate_ctx_lock);
	for (int i = 0; i < FLOW_TAILS && !pending; i++) {
		struct flow_tail *s = &d->tails[i];
		CUevent tail = atomic_load(&s->ev);

		if (!tail)
			continue;
		if (nvs_real_cuEventQuery(tail) == CUDA_ERROR_NOT_READY)
			pending = 1;
		/* Done (or gone): the slot is freed, unless a newer checkpoint
		 * came meanwhile. (A ring event recorded again for a later
		 * checkpoint of that stream between the query and the swap
		 * is lost: its work goes unseen until the stream's next
		 * checkpoint, ~2 ms while metering.) */
		else if (atomic_compare_exchange_strong(&s->ev, &tail, NULL))
			atomic_store(&s->key, 0);
	}
	pthread_rwlock_unlock(&gate_ctx_lock);
	return pending;
}

int gate_exiting(void)
{
	return atomic_load(&exiting);
}

struct gate_dev *gate_find_uuid(const char *uuid)
{
	int n = atomic_load(&gate_ndevs);

	for (int i = 0; i < n; i++)
		if (strcmp(gate_devs[i].uuid, uuid) == 0)
			return &gate_devs[i];
	return NULL;
}

struct gate_dev *gate_forget_primary(int dev)
{
	struct gate_dev *d = gate_find_ordinal(dev);

	if (d) {
		forget_tails(d);
		/* Made in a context that may be gone; remade when needed. */
		d->swap_stream = NULL;
		/* Which recorded context was the primary is unknown, and a
		 * drain must never push a dead one: forget them all; the next
		 * gated call of each thread records its context again. */
		pthread_mutex_lock(&d->mu);
		d->nctxs = 0;
		pthread_mutex_unlock(&d->mu);
	}
	atomic_fetch_add(&ctx_generation, 1);
	return d;
}

void gate_forget_context(CUcontext ctx)
{
	int n = atomic_load(&gate_ndevs);

	for (int i = 0; i < n; i++) {
		struct gate_dev *d = &gate_devs[i];
		/* The checkpoints may belong to the context: never query
		 * them again (the next checkpoints set fresh ones). */
		forget_tails(d);
		pthread_mutex_lock(&d->mu);
		for (int j = 0; j < d->nctxs; j++) {
			if (d->ctxs[j] == ctx) {
				d->swap_stream = NULL; /* may be of ctx */
				d->ctxs[j] = d->ctxs[--d->nctxs];
				break;
			}
		}
		pthread_mutex_unlock(&d->mu);
	}
	atomic_fetch_add(&ctx_generation, 1);
}

void gate_reset_after_fork(void)
{
	int n = atomic_load(&gate_ndevs);

	pthread_mutex_init(&gate_registry_mu, NULL);
	pthread_rwlock_init(&gate_ctx_lock, NULL);
	atomic_store(&ctx_captures, 0);
	for (int i = 0; i < n; i++) {
		struct gate_dev *d = &gate_devs[i];
		init_dev_sync(d);
		d->holding = d->requested = d->accepted = 0;
		d->swapped_out = 0;
		d->swap_stream = NULL;
		d->ran_unmanaged = !mailbox_managed();
		d->todo = GATE_TODO_REGISTER;
		/* Quotas of compute are the scheduler's word to the parent. */
		d->throttled = d->meter = 0;
		atomic_store(&d->syncing, 0);
		forget_tails(d);
		d->usage = NULL; /* the parent's, not ours to free */
		atomic_store(&d->inflight, 0);
		atomic_store(&d->open, 1);
	}
	atomic_store(&flow_metering, 0);
}
