/*
 * gpuload.c - a GPU workload of known size, for tests, the demo and the
 * GPU suite.
 *
 * It runs a fixed number of kernels of a fixed duration: "spin" kernels
 * (spin.ptx busy-waits on the GPU's clock, so a kernel lasts the same on
 * any GPU, shared or not) or "work" kernels (a fixed loop, calibrated at
 * start to the kernel time, so sharing the GPU slows them down as it does
 * real compute), optionally touching a buffer so that memory residency
 * matters, and optionally growing more buffers while it runs (grow.h), as
 * a framework's caching allocator does. At duty
 * 100 it keeps up to --inflight kernels queued, waiting on the oldest
 * through a ring of events; below 100 it runs one kernel at a time and
 * sleeps between them so that alone on a GPU it keeps it busy that share of
 * the time. With --threads N, N threads share the context, each doing all
 * of that on its own stream at once (a framework launches from several
 * threads). Whatever happens, it ends by printing one JSON line: what it
 * ran, when (wall clock, so runs of several processes can be lined up),
 * on which GPU, and the first failing call if any.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "driver.h"
#include "grow.h"
#include "proto.h"

#define GL_PAGE 4096ull
#define GL_MAX_BLOCKS 1024ull
#define GL_MAX_INFLIGHT 1024

extern const char gl_spin_ptx[]; /* spin.ptx, embedded at build time */

/* A buffer grown while running. */
struct gl_buf {
	CUdeviceptr ptr; /* its address */
	uint64_t asked;  /* bytes asked for (touched and verified) */
	uint64_t bytes;  /* bytes allocated (a pitched one may be more) */
};

/* Everything a run holds and reports. */
struct gl_run {
	struct gl_args args;      /* what to do */
	struct gl_driver drv;     /* driver entry points */
	CUdevice dev;             /* the device */
	CUcontext ctx;            /* its primary context (0 if none) */
	CUstream stream;          /* non-blocking stream */
	CUmodule mod;             /* module holding the kernels */
	CUfunction spin;          /* the kernel run (spin or work) */
	CUfunction touch;         /* spin: touches grown buffers in no
	                             time */
	uint64_t work_iters;      /* work: iterations per kernel */
	CUdeviceptr buf;          /* buffer, 0 if none */
	uint64_t buf_bytes;       /* bytes allocated for it */
	struct gl_grow_plan plan; /* when to grow and shrink */
	struct gl_buf grown[GL_MAX_GROW_STEPS]; /* grown buffers held */
	uint64_t ngrown;                        /* how many */
	uint64_t held_bytes, peak_bytes; /* bytes of all buffers: now, most */
	uint64_t grow_steps;             /* allocations made by growth */
	uint64_t regrows;                /* shrinks grown back to --grow-to */
	int shrunk;                      /* a shrink not yet grown back */
	CUevent events[GL_MAX_INFLIGHT]; /* ring of in-flight markers */
	int nevents;                     /* events created */
	char uuid[NVS_UUID_SIZE];        /* GPU UUID, "" until known */
	uint64_t launched;               /* kernels launched */
	double start_ms, end_ms;    /* CLOCK_REALTIME, ms since the epoch */
	double first_launch_ms;     /* when the first launch returned, or 0 */
	long long start_ns, end_ns; /* CLOCK_MONOTONIC, for wall_ms */
	char error[256];            /* "cuMemAlloc: CUDA_ERROR_...", "" */
	int verified;               /* --verify: 1 once the bytes matched */
};

static double gl_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long long gl_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void gl_sleep_ms(double ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1e3),
	                      .tv_nsec = (long)(fmod(ms, 1e3) * 1e6)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* Set when a thread of the run fails: the others stop at their next
 * kernel instead of running to their end (their result is the failure's
 * anyway), leaving its error to be the one reported. */
static atomic_int gl_stop;

static int gl_stopped(void)
{
	return atomic_load_explicit(&gl_stop, memory_order_relaxed);
}

/* Records the first failure; returns -1 for convenient chaining. */
static int gl_fail(struct gl_run *run, const char *call, CUresult r)
{
	char buf[32];

	if (!run->error[0])
		snprintf(run->error, sizeof(run->error), "%s: %s", call,
		         gl_driver_error_name(&run->drv, r, buf, sizeof(buf)));
	return -1;
}

#define GL_CALL(run, name, expr)                                               \
	do {                                                                   \
		CUresult gl_r_ = (expr);                                       \
		if (gl_r_ != CUDA_SUCCESS)                                     \
			return gl_fail(run, name, gl_r_);                      \
	} while (0)

/* The stream of a run or thread: a non-blocking one of its own, or its
 * per-thread default stream (--stream per-thread). */
static int gl_make_stream(struct gl_run *run)
{
	if (run->args.per_thread_stream) {
		run->stream = NVS_CU_STREAM_PER_THREAD;
		return 0;
	}
	GL_CALL(run, "cuStreamCreate",
	        run->drv.stream_create(&run->stream, CU_STREAM_NON_BLOCKING));
	return 0;
}

static int gl_open_device(struct gl_run *run)
{
	struct gl_driver *d = &run->drv;
	CUuuid uuid;

	GL_CALL(run, "cuInit", d->init(0));
	GL_CALL(run, "cuDeviceGet", d->device_get(&run->dev, run->args.device));
	GL_CALL(run, "cuDevicePrimaryCtxRetain",
	        d->primary_ctx_retain(&run->ctx, run->dev));
	GL_CALL(run, "cuCtxSetCurrent", d->ctx_set_current(run->ctx));
	GL_CALL(run, "cuDeviceGetUuid", d->device_get_uuid(&uuid, run->dev));
	nvs_uuid_format(uuid.bytes, run->uuid);
	return gl_make_stream(run);
}

/* What a thread beside the first starts from: the first's driver,
 * context, module and calibration; a stream, buffers, events and counts
 * of its own. */
static void gl_thread_from(struct gl_run *t, const struct gl_run *first)
{
	memset(t, 0, sizeof(*t));
	t->args = first->args;
	t->drv = first->drv;
	t->dev = first->dev;
	t->ctx = first->ctx;
	t->mod = first->mod;
	t->spin = first->spin;
	t->touch = first->touch;
	t->work_iters = first->work_iters;
	memcpy(t->uuid, first->uuid, sizeof(t->uuid));
	t->start_ns = first->start_ns;
	gl_grow_plan_init(&t->plan, t->args.kernels, t->args.mem_bytes,
	                  t->args.grow_to, t->args.grow_step, t->args.regrow);
}

/* One buffer of bytes with the --alloc-api asked for; *got is what the
 * driver allocated (a pitched one may be larger). */
static int gl_alloc_buf(struct gl_run *run, uint64_t bytes, CUdeviceptr *ptr,
                        uint64_t *got)
{
	struct gl_driver *d = &run->drv;
	size_t pitch = 0;

	*got = bytes;
	switch (run->args.alloc) {
	case GL_ALLOC_MANAGED:
		GL_CALL(run, "cuMemAllocManaged",
		        d->mem_alloc_managed(ptr, bytes, CU_MEM_ATTACH_GLOBAL));
		return 0;
	case GL_ALLOC_PITCH:
		/* Rows of one page: the pitch equals the width. */
		GL_CALL(run, "cuMemAllocPitch",
		        d->mem_alloc_pitch(ptr, &pitch, GL_PAGE,
		                           (bytes + GL_PAGE - 1) / GL_PAGE, 4));
		*got = (uint64_t)pitch * ((bytes + GL_PAGE - 1) / GL_PAGE);
		return 0;
	case GL_ALLOC_ASYNC:
		GL_CALL(run, "cuMemAllocAsync",
		        d->mem_alloc_async(ptr, bytes, run->stream));
		/* Usable by the host copies of --verify only once made. */
		GL_CALL(run, "cuStreamSynchronize",
		        d->stream_synchronize(run->stream));
		return 0;
	default: break;
	}
	GL_CALL(run, "cuMemAlloc", d->mem_alloc(ptr, bytes));
	return 0;
}

static int gl_free_buf(struct gl_run *run, CUdeviceptr ptr)
{
	struct gl_driver *d = &run->drv;

	if (run->args.alloc == GL_ALLOC_ASYNC)
		GL_CALL(run, "cuMemFreeAsync",
		        d->mem_free_async(ptr, run->stream));
	else
		GL_CALL(run, "cuMemFree", d->mem_free(ptr));
	return 0;
}

/* Counts bytes allocated, for peak_bytes. */
static void gl_held_add(struct gl_run *run, uint64_t bytes)
{
	run->held_bytes += bytes;
	if (run->held_bytes > run->peak_bytes)
		run->peak_bytes = run->held_bytes;
}

static int gl_alloc(struct gl_run *run)
{
	if (!run->args.mem_bytes)
		return 0;
	if (gl_alloc_buf(run, run->args.mem_bytes, &run->buf, &run->buf_bytes) <
	    0)
		return -1;
	gl_held_add(run, run->buf_bytes);
	return 0;
}

/* --verify: what a word of a buffer holds after the kernels. Each page's
 * first word is its index, as the kernels write it; every other word a
 * hash of its offset. */
static uint32_t gl_pattern(uint64_t off)
{
	if (off % GL_PAGE == 0)
		return (uint32_t)(off / GL_PAGE);
	return (uint32_t)(off * 2654435761u) ^ 0x9e3779b9u;
}

/* The regions --verify covers in a buffer of bytes: its first and its last
 * verify_bytes (one region if they overlap). Returns how many. */
static int gl_verify_regions(const struct gl_run *run, uint64_t bytes,
                             uint64_t start[2], uint64_t len[2])
{
	uint64_t n;

	bytes &= ~3ull;
	n = run->args.verify_bytes < bytes ? run->args.verify_bytes : bytes;
	if (!n)
		return 0;
	start[0] = 0;
	len[0] = n;
	if (bytes - n <= n) {
		len[0] = bytes;
		return 1;
	}
	start[1] = bytes - n;
	len[1] = n;
	return 2;
}

/* Writes (check 0) or checks (check 1) the pattern in the buffer at buf,
 * of bytes asked for. */
static int gl_verify_buf(struct gl_run *run, CUdeviceptr buf, uint64_t bytes,
                         int check)
{
	struct gl_driver *d = &run->drv;
	uint64_t start[2], len[2];
	int n = gl_verify_regions(run, bytes, start, len);
	uint32_t *host = n ? malloc(len[0]) : NULL;
	int rc = 0;

	if (n && !host) {
		snprintf(run->error, sizeof(run->error), "verify: no memory");
		return -1;
	}
	for (int r = 0; r < n && rc == 0; r++) {
		uint64_t words = len[r] / 4;
		CUresult res;
		if (!check) {
			for (uint64_t i = 0; i < words; i++)
				host[i] = gl_pattern(start[r] + 4 * i);
			res = d->memcpy_htod(buf + start[r], host, len[r]);
		} else {
			res = d->memcpy_dtoh(host, buf + start[r], len[r]);
		}
		if (res != CUDA_SUCCESS)
			rc = gl_fail(
			    run, check ? "cuMemcpyDtoH" : "cuMemcpyHtoD", res);
		for (uint64_t i = 0; check && rc == 0 && i < words; i++) {
			uint64_t off = start[r] + 4 * i;
			if (host[i] != gl_pattern(off)) {
				snprintf(run->error, sizeof(run->error),
				         "verify: the word at offset %llu of a "
				         "buffer of %llu bytes is %u, not %u",
				         (unsigned long long)off,
				         (unsigned long long)bytes, host[i],
				         gl_pattern(off));
				rc = -1;
			}
		}
	}
	free(host);
	return rc;
}

/* Writes (check 0) or checks (check 1) every buffer held. */
static int gl_verify(struct gl_run *run, int check)
{
	if (!run->args.verify_bytes)
		return 0;
	if (gl_verify_buf(run, run->buf, run->args.mem_bytes, check) < 0)
		return -1;
	for (uint64_t i = 0; check && i < run->ngrown; i++)
		if (gl_verify_buf(run, run->grown[i].ptr, run->grown[i].asked,
		                  1) < 0)
			return -1;
	if (check)
		run->verified = 1;
	return 0;
}

/* Growth: allocates the next buffer (its pattern written at once). */
static int gl_grow_step(struct gl_run *run, uint64_t bytes)
{
	struct gl_buf *b;

	if (run->ngrown >= GL_MAX_GROW_STEPS) {
		snprintf(run->error, sizeof(run->error),
		         "grow: more than %llu buffers", GL_MAX_GROW_STEPS);
		return -1;
	}
	b = &run->grown[run->ngrown];
	if (gl_alloc_buf(run, bytes, &b->ptr, &b->bytes) < 0)
		return -1;
	b->asked = bytes;
	run->ngrown++;
	run->grow_steps++;
	gl_held_add(run, b->bytes);
	if (run->args.verify_bytes && gl_verify_buf(run, b->ptr, bytes, 0) < 0)
		return -1;
	if (run->shrunk && run->ngrown == run->plan.steps) {
		run->shrunk = 0;
		run->regrows++;
	}
	return 0;
}

/* Frees every grown buffer once its kernels are done, each checked
 * first: a caching allocator emptying its cache. */
static int gl_shrink(struct gl_run *run)
{
	GL_CALL(run, "cuStreamSynchronize",
	        run->drv.stream_synchronize(run->stream));
	while (run->ngrown) {
		struct gl_buf *b = &run->grown[run->ngrown - 1];

		if (run->args.verify_bytes &&
		    gl_verify_buf(run, b->ptr, b->asked, 1) < 0)
			return -1;
		if (gl_free_buf(run, b->ptr) < 0)
			return -1;
		run->held_bytes -= b->bytes;
		run->ngrown--;
	}
	run->shrunk = 1;
	return 0;
}

/* What the plan asks for before kernel i. */
static int gl_grow_before(struct gl_run *run, uint64_t i)
{
	uint64_t bytes = 0;

	switch (gl_grow_action(&run->plan, i, &bytes)) {
	case GL_GROW_STEP: return gl_grow_step(run, bytes);
	case GL_GROW_SHRINK: return gl_shrink(run);
	default: return 0;
	}
}

/* The work kernel's iterations for one kernel time: the fastest of a few
 * runs of a probe size, timed with events on the GPU, scaled. Done before
 * the timed part, while the GPU is (as far as we know) ours. */
#define GL_PROBE_ITERS (1ull << 20)
static int gl_calibrate(struct gl_run *run)
{
	struct gl_driver *d = &run->drv;
	uint64_t iters = GL_PROBE_ITERS, zero = 0;
	CUdeviceptr none = 0;
	void *params[3] = {&iters, &none, &zero};
	CUevent ev[2];
	float best = 0, ms;

	for (int i = 0; i < 2; i++)
		GL_CALL(run, "cuEventCreate",
		        d->event_create(&ev[i], CU_EVENT_DEFAULT));
	for (int i = 0; i < 4; i++) {
		GL_CALL(run, "cuEventRecord",
		        d->event_record(ev[0], run->stream));
		GL_CALL(run, "cuLaunchKernel",
		        d->launch_kernel(run->spin, 1, 1, 1, 32, 1, 1, 0,
		                         run->stream, params, NULL));
		GL_CALL(run, "cuEventRecord",
		        d->event_record(ev[1], run->stream));
		GL_CALL(run, "cuEventSynchronize", d->event_synchronize(ev[1]));
		GL_CALL(run, "cuEventElapsedTime",
		        d->event_elapsed(&ms, ev[0], ev[1]));
		if (i > 0 && ms > 0 && (best == 0 || ms < best))
			best = ms; /* the first run warms up */
	}
	for (int i = 0; i < 2; i++)
		d->event_destroy(ev[i]);
	if (best <= 0) {
		snprintf(run->error, sizeof(run->error),
		         "calibration: the work kernel took no time");
		return -1;
	}
	run->work_iters = (uint64_t)llround(run->args.kernel_ms / best *
	                                    (double)GL_PROBE_ITERS);
	if (run->work_iters == 0)
		run->work_iters = 1;
	return 0;
}

static int gl_load_kernel(struct gl_run *run)
{
	struct gl_driver *d = &run->drv;

	GL_CALL(run, "cuModuleLoadData",
	        d->module_load_data(&run->mod, gl_spin_ptx));
	GL_CALL(run, "cuModuleGetFunction",
	        d->module_get_function(&run->spin, run->mod,
	                               gl_kernel_name(run->args.kernel)));
	GL_CALL(run, "cuModuleGetFunction",
	        d->module_get_function(&run->touch, run->mod,
	                               gl_kernel_name(GL_KERNEL_SPIN)));
	run->work_iters = run->args.work_iters;
	if (run->args.kernel == GL_KERNEL_WORK && !run->work_iters &&
	    gl_calibrate(run) < 0)
		return -1;
	return 0;
}

/* The ring of in-flight markers (duty 100), one per run or thread. */
static int gl_make_events(struct gl_run *run)
{
	struct gl_driver *d = &run->drv;

	if (run->args.duty < 100)
		return 0;
	for (; run->nevents < run->args.inflight; run->nevents++)
		GL_CALL(run, "cuEventCreate",
		        d->event_create(&run->events[run->nevents],
		                        CU_EVENT_DISABLE_TIMING));
	return 0;
}

/* One launch of f (ns, buf, bytes), a thread per page of the buffer. */
static int gl_launch_one(struct gl_run *run, CUfunction f, uint64_t ns,
                         CUdeviceptr buf, uint64_t bytes)
{
	uint64_t pages, blocks = 1;
	unsigned int threads = 128;
	void *params[3] = {&ns, &buf, &bytes};

	if (bytes) {
		pages = (bytes + GL_PAGE - 1) / GL_PAGE;
		threads = 256;
		blocks = (pages + threads - 1) / threads;
		if (blocks > GL_MAX_BLOCKS)
			blocks = GL_MAX_BLOCKS;
	}
	GL_CALL(run, "cuLaunchKernel",
	        run->drv.launch_kernel(f, (unsigned int)blocks, 1, 1, threads,
	                               1, 1, 0, run->stream, params, NULL));
	return 0;
}

/* One kernel of the run: the timed one on the initial buffer, then a
 * spin of no time over each grown buffer, so that every buffer is used
 * (the simulated GPU fails a kernel whose memory is not there). */
static int gl_launch(struct gl_run *run)
{
	uint64_t ns = run->args.kernel == GL_KERNEL_WORK
	                  ? run->work_iters
	                  : (uint64_t)llround(run->args.kernel_ms * 1e6);

	if (gl_launch_one(run, run->spin, ns, run->buf, run->args.mem_bytes) <
	    0)
		return -1;
	for (uint64_t i = 0; i < run->ngrown; i++)
		if (gl_launch_one(run, run->touch, 0, run->grown[i].ptr,
		                  run->grown[i].asked) < 0)
			return -1;
	if (!run->launched++)
		run->first_launch_ms = gl_realtime_ms();
	return 0;
}

/* Duty 100: keep at most --inflight kernels queued. */
static int gl_loop_full(struct gl_run *run)
{
	struct gl_driver *d = &run->drv;

	for (uint64_t i = 0; i < run->args.kernels; i++) {
		CUevent ev = run->events[i % (uint64_t)run->nevents];

		if (gl_stopped() || gl_grow_before(run, i) < 0)
			return -1;
		if (i >= (uint64_t)run->nevents)
			GL_CALL(run, "cuEventSynchronize",
			        d->event_synchronize(ev));
		if (gl_launch(run) < 0)
			return -1;
		GL_CALL(run, "cuEventRecord", d->event_record(ev, run->stream));
	}
	return 0;
}

/* Duty below 100: one kernel, wait for it, rest (100-PCT)/PCT as long. */
static int gl_loop_duty(struct gl_run *run)
{
	double rest =
	    run->args.kernel_ms * (100 - run->args.duty) / run->args.duty;

	for (uint64_t i = 0; i < run->args.kernels; i++) {
		if (gl_stopped() || gl_grow_before(run, i) < 0 ||
		    gl_launch(run) < 0)
			return -1;
		GL_CALL(run, "cuStreamSynchronize",
		        run->drv.stream_synchronize(run->stream));
		if (i + 1 < run->args.kernels)
			gl_sleep_ms(rest);
	}
	return 0;
}

static int gl_work(struct gl_run *run)
{
	int rc = run->args.duty < 100 ? gl_loop_duty(run) : gl_loop_full(run);

	if (rc < 0)
		return -1;
	GL_CALL(run, "cuStreamSynchronize",
	        run->drv.stream_synchronize(run->stream));
	return 0;
}

/* Gives back what a run or thread made for itself: events, buffers and
 * its stream. A failure here is reported like any other. */
static int gl_cleanup_own(struct gl_run *run)
{
	struct gl_driver *d = &run->drv;

	for (int i = 0; i < run->nevents; i++)
		GL_CALL(run, "cuEventDestroy",
		        d->event_destroy(run->events[i]));
	run->nevents = 0;
	for (; run->ngrown; run->ngrown--)
		if (gl_free_buf(run, run->grown[run->ngrown - 1].ptr) < 0)
			return -1;
	if (run->buf && gl_free_buf(run, run->buf) < 0)
		return -1;
	run->buf = 0;
	if (run->stream && run->stream != NVS_CU_STREAM_PER_THREAD)
		GL_CALL(run, "cuStreamDestroy", d->stream_destroy(run->stream));
	run->stream = 0;
	return 0;
}

/* Gives everything back. */
static int gl_cleanup(struct gl_run *run)
{
	struct gl_driver *d = &run->drv;

	if (gl_cleanup_own(run) < 0)
		return -1;
	if (run->mod)
		GL_CALL(run, "cuModuleUnload", d->module_unload(run->mod));
	if (run->ctx)
		GL_CALL(run, "cuDevicePrimaryCtxRelease",
		        d->primary_ctx_release(run->dev));
	return 0;
}

static void gl_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void gl_report(const struct gl_run *run)
{
	double wall_ms = (double)(run->end_ns - run->start_ns) / 1e6;

	printf("{\"kernels\":%llu,\"kernel_ms\":%.6g,\"gpu_ms\":%.3f,"
	       "\"wall_ms\":%.3f,\"start_ms\":%.3f,\"end_ms\":%.3f,"
	       "\"first_launch_ms\":",
	       (unsigned long long)run->launched, run->args.kernel_ms,
	       (double)run->launched * run->args.kernel_ms, wall_ms,
	       run->start_ms, run->end_ms);
	if (run->launched)
		printf("%.3f", run->first_launch_ms);
	else
		printf("null");
	printf(",\"uuid\":");
	if (run->uuid[0])
		gl_json_string(run->uuid);
	else
		printf("null");
	printf(",\"mem_bytes\":%llu,\"alloc_api\":\"%s\",\"kernel\":\"%s\","
	       "\"work_iters\":%llu,\"grow_steps\":%llu,\"peak_bytes\":%llu,"
	       "\"regrows\":%llu,\"threads\":%d,\"pid\":%d,\"verified\":%s,"
	       "\"error\":",
	       (unsigned long long)run->buf_bytes,
	       gl_alloc_api_name(run->args.alloc),
	       gl_kernel_name(run->args.kernel),
	       (unsigned long long)run->work_iters,
	       (unsigned long long)run->grow_steps,
	       (unsigned long long)run->peak_bytes,
	       (unsigned long long)run->regrows, run->args.threads,
	       (int)getpid(),
	       !run->args.verify_bytes ? "null"
	       : run->verified         ? "true"
	                               : "false");
	if (run->error[0])
		gl_json_string(run->error);
	else
		printf("null");
	printf("}\n");
	fflush(stdout);
}

/* Its buffer made and written (the first run's before its kernel is
 * loaded: a process's memory comes before its first launch). */
static int gl_prepare(struct gl_run *run)
{
	return gl_alloc(run) < 0 || gl_verify(run, 0) < 0 ? -1 : 0;
}

/* A run's or thread's kernels and the check of its bytes. */
static int gl_thread_part(struct gl_run *run)
{
	if (gl_make_events(run) < 0 || gl_work(run) < 0 ||
	    gl_verify(run, 1) < 0)
		return -1;
	run->end_ns = gl_monotonic_ns();
	return 0;
}

static void *gl_thread_main(void *arg)
{
	struct gl_run *t = arg;
	CUresult r = t->drv.ctx_set_current(t->ctx);

	if (r != CUDA_SUCCESS) {
		gl_fail(t, "cuCtxSetCurrent", r);
		return NULL;
	}
	if (gl_make_stream(t) == 0 && gl_prepare(t) == 0 &&
	    gl_thread_part(t) == 0 && gl_cleanup_own(t) == 0)
		return NULL;
	atomic_store(&gl_stop, 1);
	return NULL;
}

/* Threads 1..N-1 beside the first (which runs in the caller's thread);
 * their figures are added into the first's. */
static int gl_threads(struct gl_run *run)
{
	int n = run->args.threads, started = 0, rc = 0;
	struct gl_run *t = calloc((size_t)n, sizeof(*t));
	pthread_t *ids = calloc((size_t)n, sizeof(*ids));

	if (!t || !ids) {
		snprintf(run->error, sizeof(run->error), "out of host memory");
		free(t);
		free(ids);
		return -1;
	}
	for (int i = 1; i < n; i++) {
		gl_thread_from(&t[i], run);
		if (pthread_create(&ids[i], NULL, gl_thread_main, &t[i]) != 0) {
			snprintf(run->error, sizeof(run->error),
			         "pthread_create failed");
			break;
		}
		started = i;
	}
	if (run->error[0] || gl_thread_part(run) < 0) {
		atomic_store(&gl_stop, 1);
		rc = -1;
	}
	for (int i = 1; i <= started; i++) {
		pthread_join(ids[i], NULL);
		run->launched += t[i].launched;
		run->grow_steps += t[i].grow_steps;
		run->regrows += t[i].regrows;
		run->peak_bytes += t[i].peak_bytes; /* at most this at once */
		run->buf_bytes += t[i].buf_bytes;
		run->verified = run->verified && t[i].verified;
		if (t[i].first_launch_ms &&
		    (!run->first_launch_ms ||
		     t[i].first_launch_ms < run->first_launch_ms))
			run->first_launch_ms = t[i].first_launch_ms;
		if (t[i].end_ns > run->end_ns)
			run->end_ns = t[i].end_ns;
		if (t[i].error[0] && !run->error[0]) {
			snprintf(run->error, sizeof(run->error),
			         "thread %d: %s", i, t[i].error);
		}
		if (t[i].error[0])
			rc = -1;
	}
	if (started + 1 < n)
		rc = -1;
	free(t);
	free(ids);
	return rc;
}

static int gl_run(struct gl_run *run)
{
	gl_grow_plan_init(&run->plan, run->args.kernels, run->args.mem_bytes,
	                  run->args.grow_to, run->args.grow_step,
	                  run->args.regrow);
	if (gl_driver_load(&run->drv, run->error, sizeof(run->error)) < 0)
		return -1;
	if (gl_open_device(run) < 0 || gl_prepare(run) < 0 ||
	    gl_load_kernel(run) < 0)
		return -1;
	if ((run->args.threads > 1 ? gl_threads(run) : gl_thread_part(run)) < 0)
		return -1;
	return gl_cleanup(run);
}

int main(int argc, char **argv)
{
	static struct gl_run run;
	char err[256];
	int rc;

	rc = gl_args_parse(argc, argv, &run.args, err, sizeof(err));
	if (rc != 0) {
		if (rc > 0) {
			gl_args_usage(stdout);
			return 0;
		}
		fprintf(stderr, "gpuload: %s\n", err);
		gl_args_usage(stderr);
		return 2;
	}
	run.start_ns = gl_monotonic_ns();
	run.start_ms = gl_realtime_ms();
	rc = gl_run(&run);
	if (!run.end_ns)
		run.end_ns = gl_monotonic_ns();
	/* The last thread's end, on the wall clock. */
	run.end_ms =
	    gl_realtime_ms() - (double)(gl_monotonic_ns() - run.end_ns) / 1e6;
	gl_report(&run);
	if (rc < 0) {
		fprintf(stderr, "gpuload: %s\n", run.error);
		return 1;
	}
	return 0;
}
