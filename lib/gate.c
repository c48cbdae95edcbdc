/*
 * gate.c - slow paths of the gate (see gate.h): finding the device for a
 * context, waiting for the lock, closing and draining.
 */
#include "gate.h"

#include "client.h"
#include "log.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

struct gate_dev gate_devs[GATE_MAX_DEVICES];
atomic_int gate_ndevs;
atomic_uint gate_generation = 1;
atomic_int gate_captures;

__thread CUcontext gate_tls_ctx __attribute__((tls_model("initial-exec")));
__thread struct gate_dev *gate_tls_dev
    __attribute__((tls_model("initial-exec")));
__thread unsigned gate_tls_gen __attribute__((tls_model("initial-exec")));

/* Serialises device creation against the link thread's managed/unmanaged
 * transitions, so that a new device starts with the right gate state. */
pthread_mutex_t gate_registry_mu = PTHREAD_MUTEX_INITIALIZER;

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

static struct gate_dev *find_or_create(CUdevice dev)
{
	int n = atomic_load(&gate_ndevs);
	struct gate_dev *d;

	for (int i = 0; i < n; i++)
		if (gate_devs[i].ordinal == dev)
			return &gate_devs[i];
	client_start();
	pthread_mutex_lock(&gate_registry_mu);
	n = atomic_load(&gate_ndevs);
	for (int i = 0; i < n; i++) {
		if (gate_devs[i].ordinal == dev) {
			pthread_mutex_unlock(&gate_registry_mu);
			return &gate_devs[i];
		}
	}
	if (n == GATE_MAX_DEVICES) {
		pthread_mutex_unlock(&gate_registry_mu);
		NVS_WARN("event=too_many_devices device=%d max=%d", dev,
		         GATE_MAX_DEVICES);
		return NULL;
	}
	d = &gate_devs[n];
	d->ordinal = dev;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	read_identity(d, dev);
	atomic_store(&d->open, client_is_managed() ? 0 : 1);
	d->todo = GATE_TODO_REGISTER;
	atomic_store(&gate_ndevs, n + 1); /* publish after initialisation */
	pthread_mutex_unlock(&gate_registry_mu);
	NVS_DEBUG("event=device_seen device=%d uuid=%s total=%llu", dev,
	          d->uuid, (unsigned long long)d->total_bytes);
	client_notify();
	return d;
}

struct gate_dev *gate_lookup(CUcontext ctx)
{
	CUdevice dev;
	struct gate_dev *d;

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
	gate_tls_gen = atomic_load(&gate_generation);
	return d;
}

struct gate_dev *gate_current(void)
{
	CUcontext ctx = NULL;

	driver_ensure();
	if (!nvs_real_cuCtxGetCurrent ||
	    nvs_real_cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !ctx)
		return NULL;
	if (ctx == gate_tls_ctx &&
	    gate_tls_gen == atomic_load(&gate_generation))
		return gate_tls_dev;
	return gate_lookup(ctx);
}

static int stream_capturing(CUstream stream)
{
	CUstreamCaptureStatus st = CU_STREAM_CAPTURE_STATUS_NONE;

	if (stream == NVS_NO_STREAM || !nvs_real_cuStreamIsCapturing)
		return 0;
	return nvs_real_cuStreamIsCapturing(stream, &st) == CUDA_SUCCESS &&
	       st == CU_STREAM_CAPTURE_STATUS_ACTIVE;
}

int gate_wait(struct gate_dev *d, CUstream stream)
{
	if (stream_capturing(stream))
		return 1;
	pthread_mutex_lock(&d->mu);
	while (!atomic_load(&d->open)) {
		if (!d->requested && !(d->todo & GATE_TODO_REQUEST)) {
			d->todo |= GATE_TODO_REQUEST;
			client_notify();
		}
		/* Timed, so that a lost wake-up costs a second, not a hang. */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
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

void gate_close_and_drain(struct gate_dev *d)
{
	CUcontext ctxs[GATE_MAX_CONTEXTS];
	int n;

	atomic_store(&d->open, 0);
	while (atomic_load(&d->inflight) > 0)
		sched_yield();
	/* Synchronizing now would invalidate a capture running in another
	 * thread; captures are short, so wait for them to end. */
	while (atomic_load(&gate_captures) > 0)
		sleep_us(1000);
	pthread_mutex_lock(&d->mu);
	n = d->nctxs;
	memcpy(ctxs, d->ctxs, sizeof(ctxs[0]) * (size_t)n);
	pthread_mutex_unlock(&d->mu);
	if (!nvs_real_cuCtxPushCurrent_v2 || !nvs_real_cuCtxPopCurrent_v2 ||
	    !nvs_real_cuCtxSynchronize)
		return;
	for (int i = 0; i < n; i++) {
		CUcontext popped;
		if (nvs_real_cuCtxPushCurrent_v2(ctxs[i]) != CUDA_SUCCESS)
			continue;
		nvs_real_cuCtxSynchronize();
		nvs_real_cuCtxPopCurrent_v2(&popped);
	}
}

struct gate_dev *gate_find_uuid(const char *uuid)
{
	int n = atomic_load(&gate_ndevs);

	for (int i = 0; i < n; i++)
		if (strcmp(gate_devs[i].uuid, uuid) == 0)
			return &gate_devs[i];
	return NULL;
}

void gate_forget_context(CUcontext ctx)
{
	int n = atomic_load(&gate_ndevs);

	for (int i = 0; i < n; i++) {
		struct gate_dev *d = &gate_devs[i];
		pthread_mutex_lock(&d->mu);
		for (int j = 0; j < d->nctxs; j++) {
			if (d->ctxs[j] == ctx) {
				d->ctxs[j] = d->ctxs[--d->nctxs];
				break;
			}
		}
		pthread_mutex_unlock(&d->mu);
	}
	atomic_fetch_add(&gate_generation, 1);
}

void gate_reset_after_fork(void)
{
	int n = atomic_load(&gate_ndevs);

	pthread_mutex_init(&gate_registry_mu, NULL);
	for (int i = 0; i < n; i++) {
		struct gate_dev *d = &gate_devs[i];
		pthread_mutex_init(&d->mu, NULL);
		pthread_cond_init(&d->cv, NULL);
		d->holding = d->requested = d->accepted = 0;
		d->todo = GATE_TODO_REGISTER;
		atomic_store(&d->inflight, 0);
		atomic_store(&d->open, 1);
	}
}
