/*
 * test_fakecuda_driver.c - the simulated driver seen through its API, as a
 * program sees it: stream capture and its rules (a synchronization during
 * a capture fails and invalidates it; graphs replay the recorded kernels
 * with their time), event timing, the bounded submission queue, copies
 * that really move bytes, memory capacity. The library is dlopen()ed by
 * absolute path (FAKECUDA_LIB) after the environment is set up, with a
 * private state (no NVSHARE_FAKE_STATE).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "cuda_api.h"

#define MS 1000000ll
/* Results outside common/cuda_api.h's list (values from cuda.h). */
#define FC_ILLEGAL_STATE 401
#define FC_IMPLICIT 906
#define FC_CAPTURED_EVENT 907
#define QUEUE_DEPTH 4
#define MANAGED (64ll << 20) /* managed buffer of test_memory */

/* field, exported symbol */
#define DRV_CALLS(X)                                                           \
	X(init, cuInit)                                                        \
	X(device_get, cuDeviceGet)                                             \
	X(primary_retain, cuDevicePrimaryCtxRetain)                            \
	X(ctx_set, cuCtxSetCurrent)                                            \
	X(ctx_sync, cuCtxSynchronize)                                          \
	X(mod_load, cuModuleLoadData)                                          \
	X(mod_func, cuModuleGetFunction)                                       \
	X(stream_create, cuStreamCreate)                                       \
	X(stream_sync, cuStreamSynchronize)                                    \
	X(stream_query, cuStreamQuery)                                         \
	X(launch, cuLaunchKernel)                                              \
	X(begin_capture, cuStreamBeginCapture_v2)                              \
	X(end_capture, cuStreamEndCapture)                                     \
	X(is_capturing, cuStreamIsCapturing)                                   \
	X(instantiate, cuGraphInstantiateWithFlags)                            \
	X(graph_launch, cuGraphLaunch)                                         \
	X(exec_destroy, cuGraphExecDestroy)                                    \
	X(graph_destroy, cuGraphDestroy)                                       \
	X(event_create, cuEventCreate)                                         \
	X(event_record, cuEventRecord)                                         \
	X(event_destroy, cuEventDestroy_v2)                                    \
	X(event_sync, cuEventSynchronize)                                      \
	X(event_query, cuEventQuery)                                           \
	X(event_elapsed, cuEventElapsedTime)                                   \
	X(mem_alloc, cuMemAlloc_v2)                                            \
	X(mem_alloc_managed, cuMemAllocManaged)                                \
	X(mem_free, cuMemFree_v2)                                              \
	X(mem_info, cuMemGetInfo_v2)                                           \
	X(htod, cuMemcpyHtoD_v2)                                               \
	X(htod_ptds, cuMemcpyHtoD_v2_ptds)                                     \
	X(prefetch, cuMemPrefetchAsync)                                        \
	X(dtoh, cuMemcpyDtoH_v2)                                               \
	X(dtod_async, cuMemcpyDtoDAsync_v2)                                    \
	X(memset32, cuMemsetD32_v2)

static struct {
#define DRV_FIELD(field, sym) __typeof__(sym) *field;
	DRV_CALLS(DRV_FIELD)
#undef DRV_FIELD
} drv;

static const char spin_ptx[] =
    ".version 7.0\n.target sm_75\n.address_size 64\n"
    ".visible .entry spin(.param .u64 a, .param .u64 b, .param .u64 c)\n"
    "{\n\tret;\n}\n";

static CUfunction spin;
static CUcontext ctx;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static CUresult launch_spin(CUstream s, long long ns, CUdeviceptr buf,
                            uint64_t bytes)
{
	uint64_t n = (uint64_t)ns;
	void *params[3] = {&n, &buf, &bytes};

	return drv.launch(spin, 1, 1, 1, 128, 1, 1, 0, s, params, NULL);
}

static int setup(void)
{
	void *lib = dlopen(FAKECUDA_LIB, RTLD_NOW | RTLD_LOCAL);
	CUmodule mod;
	CUfunction nope;
	CUdevice dev;

	if (!lib) {
		fprintf(stderr, "dlopen %s: %s\n", FAKECUDA_LIB, dlerror());
		return -1;
	}
#define DRV_LOAD(field, sym)                                                   \
	*(void **)&drv.field = dlsym(lib, #sym);                               \
	if (!drv.field)                                                        \
		return -1;
	DRV_CALLS(DRV_LOAD)
#undef DRV_LOAD
	CHECK_EQ(drv.device_get(&dev, 0), CUDA_ERROR_NOT_INITIALIZED);
	CHECK_EQ(drv.init(0), CUDA_SUCCESS);
	CHECK_EQ(drv.device_get(&dev, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.mod_load(&mod, spin_ptx), CUDA_ERROR_INVALID_CONTEXT);
	CHECK_EQ(drv.primary_retain(&ctx, dev), CUDA_SUCCESS);
	CHECK_EQ(drv.ctx_set(ctx), CUDA_SUCCESS);
	CHECK_EQ(drv.mod_load(&mod, spin_ptx), CUDA_SUCCESS);
	CHECK_EQ(drv.mod_func(&nope, mod, "spinner"), CUDA_ERROR_NOT_FOUND);
	return drv.mod_func(&spin, mod, "spin") == CUDA_SUCCESS ? 0 : -1;
}

/* A synchronization inside a GLOBAL capture fails and invalidates it. */
static void test_capture_invalidated(void)
{
	CUstreamCaptureStatus status = -1;
	CUgraph graph = (CUgraph)1;
	CUstream s;

	CHECK_EQ(drv.stream_create(&s, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_GLOBAL),
	         CUDA_SUCCESS);
	CHECK_EQ(drv.is_capturing(s, &status), CUDA_SUCCESS);
	CHECK_EQ(status, CU_STREAM_CAPTURE_STATUS_ACTIVE);
	CHECK_EQ(launch_spin(s, 20 * MS, 0, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.ctx_sync(), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	CHECK_EQ(drv.is_capturing(s, &status), CUDA_SUCCESS);
	CHECK_EQ(status, CU_STREAM_CAPTURE_STATUS_INVALIDATED);
	CHECK_EQ(launch_spin(s, 20 * MS, 0, 0),
	         CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
	CHECK_EQ(drv.end_capture(s, &graph),
	         CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
	CHECK(graph == NULL);
	CHECK_EQ(drv.is_capturing(s, &status), CUDA_SUCCESS);
	CHECK_EQ(status, CU_STREAM_CAPTURE_STATUS_NONE);
	/* Nothing recorded ran: the stream is idle, and usable again. */
	CHECK_EQ(drv.stream_query(s), CUDA_SUCCESS);
	CHECK_EQ(drv.ctx_sync(), CUDA_SUCCESS);
}

/* Ends a capture that must have been invalidated. */
static void check_invalidated(CUstream s)
{
	CUgraph graph = (CUgraph)1;

	CHECK_EQ(drv.end_capture(s, &graph),
	         CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
	CHECK(graph == NULL);
}

/* Ends a capture that must still be valid. */
static void check_intact(CUstream s)
{
	CUgraph graph = NULL;

	CHECK_EQ(drv.end_capture(s, &graph), CUDA_SUCCESS);
	CHECK(graph != NULL);
	if (graph)
		drv.graph_destroy(graph);
}

/* Which calls break which capture modes; each case was checked against a
 * real driver (CUDA 13.0 on an H100). */
static void test_capture_rules(void)
{
	CUstream s, other, blocking;
	CUdeviceptr buf, q = 0, m;
	size_t free_b, total;
	uint32_t word = 0;
	CUevent ev;

	CHECK_EQ(drv.stream_create(&s, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
	CHECK_EQ(drv.stream_create(&other, CU_STREAM_NON_BLOCKING),
	         CUDA_SUCCESS);
	CHECK_EQ(drv.stream_create(&blocking, CU_STREAM_DEFAULT), CUDA_SUCCESS);
	CHECK_EQ(drv.event_create(&ev, CU_EVENT_DEFAULT), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_alloc(&buf, 4096), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_alloc_managed(&m, 4096, CU_MEM_ATTACH_GLOBAL),
	         CUDA_SUCCESS);

	/* GLOBAL forbids synchronizing or querying other streams, and
	 * cuMemAlloc / cuMemFree. */
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_GLOBAL), 0);
	CHECK_EQ(drv.stream_sync(other), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	check_invalidated(s);
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_GLOBAL), 0);
	CHECK_EQ(drv.stream_query(other),
	         CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	check_invalidated(s);
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_GLOBAL), 0);
	CHECK_EQ(drv.mem_alloc(&q, 4096),
	         CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	check_invalidated(s);
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_GLOBAL), 0);
	CHECK_EQ(drv.mem_free(buf), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	check_invalidated(s);
	/* ...but not a synchronous copy (s is non-blocking, so the legacy
	 * stream does not wait for it), managed allocation, cuMemGetInfo. */
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_GLOBAL), 0);
	CHECK_EQ(drv.htod(buf, &word, 4), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_alloc_managed(&q, 4096, CU_MEM_ATTACH_GLOBAL),
	         CUDA_SUCCESS);
	CHECK_EQ(drv.mem_info(&free_b, &total), CUDA_SUCCESS);
	check_intact(s);
	CHECK_EQ(drv.mem_free(q), CUDA_SUCCESS);

	/* RELAXED allows all that; not waiting for the capturing stream. */
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_RELAXED), 0);
	CHECK_EQ(drv.stream_sync(other), CUDA_SUCCESS);
	CHECK_EQ(drv.stream_query(other), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_alloc(&q, 4096), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_free(q), CUDA_SUCCESS);
	check_intact(s);
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_RELAXED), 0);
	CHECK_EQ(drv.stream_sync(s), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	check_invalidated(s);
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_RELAXED), 0);
	CHECK_EQ(drv.ctx_sync(), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	check_invalidated(s);

	/* A prefetch cannot be captured; on another stream it is fine. */
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_RELAXED), 0);
	CHECK_EQ(drv.prefetch(m, 4096, 0, s),
	         CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	check_invalidated(s);
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_GLOBAL), 0);
	CHECK_EQ(drv.prefetch(m, 4096, 0, other), CUDA_SUCCESS);
	check_intact(s);

	/* The legacy stream may not be used while a blocking stream of its
	 * context captures, in any mode; asking it about capture fails too
	 * but breaks nothing. The per-thread stream is not the legacy one. */
	CHECK_EQ(drv.begin_capture(blocking, CU_STREAM_CAPTURE_MODE_RELAXED),
	         0);
	CHECK_EQ(drv.htod_ptds(buf, &word, 4), CUDA_SUCCESS);
	CHECK_EQ(drv.is_capturing(NULL, &(CUstreamCaptureStatus){0}),
	         FC_IMPLICIT);
	check_intact(blocking);
	CHECK_EQ(drv.begin_capture(blocking, CU_STREAM_CAPTURE_MODE_RELAXED),
	         0);
	CHECK_EQ(launch_spin(NULL, MS, 0, 0), FC_IMPLICIT);
	check_invalidated(blocking);
	CHECK_EQ(drv.begin_capture(blocking, CU_STREAM_CAPTURE_MODE_RELAXED),
	         0);
	CHECK_EQ(drv.htod(buf, &word, 4), FC_IMPLICIT);
	check_invalidated(blocking);

	/* An event recorded in a capture cannot be queried during it. */
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_RELAXED), 0);
	CHECK_EQ(drv.event_record(ev, s), CUDA_SUCCESS);
	CHECK_EQ(drv.event_query(ev), FC_CAPTURED_EVENT);
	check_invalidated(s);

	/* Beginning twice, ending what never began. */
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_GLOBAL), 0);
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_GLOBAL),
	         FC_ILLEGAL_STATE);
	check_intact(s);
	CHECK_EQ(drv.end_capture(s, &(CUgraph){NULL}), FC_ILLEGAL_STATE);
	CHECK_EQ(drv.begin_capture(NULL, CU_STREAM_CAPTURE_MODE_GLOBAL),
	         CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	CHECK_EQ(drv.mem_free(buf), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_free(m), CUDA_SUCCESS);
	CHECK_EQ(drv.event_destroy(ev), CUDA_SUCCESS);
}

/* A THREAD_LOCAL capture restricts only the capturing thread. */
struct sync_arg {
	CUstream s;      /* stream to synchronize */
	CUresult result; /* what the synchronize returned */
};

static void *sync_other_thread(void *p)
{
	struct sync_arg *a = p;

	drv.ctx_set(ctx);
	a->result = drv.stream_sync(a->s);
	return NULL;
}

static CUresult sync_from_thread(CUstream s)
{
	struct sync_arg a = {.s = s, .result = CUDA_ERROR_UNKNOWN};
	pthread_t t;

	if (pthread_create(&t, NULL, sync_other_thread, &a) != 0)
		return CUDA_ERROR_UNKNOWN;
	pthread_join(t, NULL);
	return a.result;
}

static void test_capture_thread_modes(void)
{
	CUstream s, other;
	CUgraph graph = NULL;

	CHECK_EQ(drv.stream_create(&s, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
	CHECK_EQ(drv.stream_create(&other, CU_STREAM_NON_BLOCKING),
	         CUDA_SUCCESS);
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
	         CUDA_SUCCESS);
	CHECK_EQ(sync_from_thread(other), CUDA_SUCCESS);
	CHECK_EQ(drv.end_capture(s, &graph), CUDA_SUCCESS);
	CHECK_EQ(drv.graph_destroy(graph), CUDA_SUCCESS);
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
	         CUDA_SUCCESS);
	CHECK_EQ(drv.stream_sync(other), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	CHECK_EQ(drv.end_capture(s, &graph),
	         CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
	/* GLOBAL: even another thread's synchronization breaks it. */
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_GLOBAL),
	         CUDA_SUCCESS);
	CHECK_EQ(sync_from_thread(other),
	         CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	CHECK_EQ(drv.end_capture(s, &graph),
	         CUDA_ERROR_STREAM_CAPTURE_INVALIDATED);
}

/* A clean capture records without running; the graph replays the kernels
 * with their time, once per launch. */
static void test_graph_replay(void)
{
	CUgraphExec exec;
	CUgraph graph = NULL;
	CUstream s;
	long long t0, t1, t2;

	CHECK_EQ(drv.stream_create(&s, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_GLOBAL),
	         CUDA_SUCCESS);
	CHECK_EQ(launch_spin(s, 40 * MS, 0, 0), CUDA_SUCCESS);
	CHECK_EQ(launch_spin(s, 40 * MS, 0, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.end_capture(s, &graph), CUDA_SUCCESS);
	CHECK(graph != NULL);
	CHECK_EQ(drv.stream_query(s), CUDA_SUCCESS); /* nothing ran */
	CHECK_EQ(drv.instantiate(&exec, graph, 0), CUDA_SUCCESS);
	t0 = now_ns();
	CHECK_EQ(drv.graph_launch(exec, s), CUDA_SUCCESS);
	t1 = now_ns();
	CHECK(t1 - t0 < 30 * MS); /* asynchronous */
	CHECK_EQ(drv.stream_query(s), CUDA_ERROR_NOT_READY);
	CHECK_EQ(drv.stream_sync(s), CUDA_SUCCESS);
	t2 = now_ns();
	CHECK(t2 - t0 >= 80 * MS);
	CHECK(t2 - t0 < 80 * MS + 400 * MS);
	/* Twice: twice the time. */
	t0 = now_ns();
	CHECK_EQ(drv.graph_launch(exec, s), CUDA_SUCCESS);
	CHECK_EQ(drv.graph_launch(exec, s), CUDA_SUCCESS);
	CHECK_EQ(drv.stream_sync(s), CUDA_SUCCESS);
	t2 = now_ns();
	CHECK(t2 - t0 >= 160 * MS);
	CHECK(t2 - t0 < 160 * MS + 400 * MS);
	/* A graph cannot be launched into a capture. */
	CHECK_EQ(drv.begin_capture(s, CU_STREAM_CAPTURE_MODE_RELAXED), 0);
	CHECK_EQ(drv.graph_launch(exec, s),
	         CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
	check_invalidated(s);
	CHECK_EQ(drv.exec_destroy(exec), CUDA_SUCCESS);
	CHECK_EQ(drv.graph_destroy(graph), CUDA_SUCCESS);
}

/* Events measure modelled GPU time, not host time. */
static void test_events(void)
{
	CUevent a, b;
	CUstream s;
	float ms = -1;

	CHECK_EQ(drv.stream_create(&s, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
	CHECK_EQ(drv.event_create(&a, CU_EVENT_DEFAULT), CUDA_SUCCESS);
	CHECK_EQ(drv.event_create(&b, CU_EVENT_DEFAULT), CUDA_SUCCESS);
	CHECK_EQ(drv.event_query(b), CUDA_SUCCESS); /* never recorded */
	CHECK_EQ(drv.event_record(a, s), CUDA_SUCCESS);
	CHECK_EQ(launch_spin(s, 50 * MS, 0, 0), CUDA_SUCCESS);
	CHECK_EQ(drv.event_record(b, s), CUDA_SUCCESS);
	CHECK_EQ(drv.event_query(b), CUDA_ERROR_NOT_READY);
	CHECK_EQ(drv.event_elapsed(&ms, a, b), CUDA_ERROR_NOT_READY);
	CHECK_EQ(drv.event_sync(b), CUDA_SUCCESS);
	CHECK_EQ(drv.event_query(b), CUDA_SUCCESS);
	CHECK_EQ(drv.event_elapsed(&ms, a, b), CUDA_SUCCESS);
	/* The kernel may start a little after a's record: < 1 ms of host
	 * time between the two calls. */
	CHECK(ms >= 50.0f && ms < 51.0f);
	CHECK_EQ(drv.event_destroy(a), CUDA_SUCCESS);
	CHECK_EQ(drv.event_destroy(b), CUDA_SUCCESS);
}

/* The stream takes QUEUE_DEPTH unfinished operations; more launches wait
 * for the oldest to finish. */
static void test_queue_depth(void)
{
	long long t0, t1;
	CUstream s;

	CHECK_EQ(drv.stream_create(&s, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
	t0 = now_ns();
	for (int i = 0; i < QUEUE_DEPTH; i++)
		CHECK_EQ(launch_spin(s, 30 * MS, 0, 0), CUDA_SUCCESS);
	t1 = now_ns();
	CHECK(t1 - t0 < 25 * MS); /* all queued at once */
	CHECK_EQ(launch_spin(s, 30 * MS, 0, 0), CUDA_SUCCESS);
	CHECK_EQ(launch_spin(s, 30 * MS, 0, 0), CUDA_SUCCESS);
	t1 = now_ns();
	CHECK(t1 - t0 >= 60 * MS); /* waited for the first two */
	CHECK(t1 - t0 < 60 * MS + 400 * MS);
	CHECK_EQ(drv.stream_sync(s), CUDA_SUCCESS);
	CHECK(now_ns() - t0 >= 180 * MS);
}

/* Copies and memsets really move bytes; capacity is enforced. */
static void test_memory(void)
{
	unsigned char in[4096], out[4096];
	CUdeviceptr a, b, big, m;
	size_t free_b = 0, total = 0;
	uint32_t words[4];
	long long t0;
	CUstream s;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7);
	CHECK_EQ(drv.stream_create(&s, CU_STREAM_NON_BLOCKING), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_alloc(&a, sizeof(in)), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_alloc(&b, sizeof(in)), CUDA_SUCCESS);
	CHECK_EQ(drv.htod(a, in, sizeof(in)), CUDA_SUCCESS);
	CHECK_EQ(drv.dtod_async(b, a, sizeof(in), s), CUDA_SUCCESS);
	CHECK_EQ(drv.stream_sync(s), CUDA_SUCCESS);
	CHECK_EQ(drv.dtoh(out, b, sizeof(out)), CUDA_SUCCESS);
	CHECK(memcmp(in, out, sizeof(in)) == 0);
	CHECK_EQ(drv.memset32(b + 8, 0xdeadbeef, 2), CUDA_SUCCESS);
	CHECK_EQ(drv.dtoh(words, b, sizeof(words)), CUDA_SUCCESS);
	CHECK(words[2] == 0xdeadbeef && words[3] == 0xdeadbeef);
	CHECK(memcmp(words, in, 8) == 0);
	/* Past the end of an allocation, or a host address as device
	 * memory: refused. */
	CHECK_EQ(drv.dtoh(out, b + 1, sizeof(out)), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.htod((CUdeviceptr)(uintptr_t)out, in, 16),
	         CUDA_ERROR_INVALID_VALUE);
	/* Capacity: 1 GiB device. */
	CHECK_EQ(drv.mem_info(&free_b, &total), CUDA_SUCCESS);
	CHECK_EQ(total, 1ll << 30);
	CHECK_EQ(free_b, (1ll << 30) - 2 * 4096);
	/* NULL: the real driver succeeds and writes nothing. */
	total = 0;
	CHECK_EQ(drv.mem_info(NULL, &total), CUDA_SUCCESS);
	CHECK_EQ(total, 0);
	CHECK_EQ(drv.mem_alloc(&big, 1ull << 30), CUDA_ERROR_OUT_OF_MEMORY);
	/* Managed memory is not refused for capacity. */
	CHECK_EQ(drv.mem_alloc_managed(&m, 2ull << 30, CU_MEM_ATTACH_GLOBAL),
	         CUDA_SUCCESS);
	CHECK_EQ(drv.mem_free(m), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_alloc_managed(&m, MANAGED, CU_MEM_ATTACH_GLOBAL),
	         CUDA_SUCCESS);
	CHECK_EQ(drv.mem_alloc(&big, (1ull << 30) - 2 * 4096), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_info(&free_b, &total), CUDA_SUCCESS);
	CHECK_EQ(free_b, 0);
	/* A kernel touching the managed buffer when nothing fits streams it
	 * through at fault + eviction bandwidth (1 GB/s each here: 1 ns per
	 * byte, twice). */
	t0 = now_ns();
	CHECK_EQ(launch_spin(s, 0, m, 4096), CUDA_SUCCESS);
	CHECK_EQ(drv.stream_sync(s), CUDA_SUCCESS);
	CHECK(now_ns() - t0 >= 2 * MANAGED);
	CHECK(now_ns() - t0 < 2 * MANAGED + 400 * MS);
	CHECK_EQ(launch_spin(s, MS, (CUdeviceptr)(uintptr_t)out, 16),
	         CUDA_ERROR_ILLEGAL_ADDRESS);
	CHECK_EQ(drv.mem_free(big), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_free(m), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_free(a), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_free(b), CUDA_SUCCESS);
	CHECK_EQ(drv.mem_free(b), CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(drv.mem_info(&free_b, &total), CUDA_SUCCESS);
	CHECK_EQ(free_b, 1ll << 30);
}

/* Threads of one process share the device: their kernels still run one
 * at a time, and concurrent allocation, copies and launches stay
 * consistent. */
#define THREADS 4
#define THREAD_KERNELS 25

struct worker {
	CUresult result; /* first failure, or CUDA_SUCCESS */
};

static void *worker_main(void *p)
{
	struct worker *w = p;
	unsigned char in[256], out[256];
	CUdeviceptr buf;
	CUstream s;

	memset(in, 0x5a, sizeof(in));
	w->result = drv.ctx_set(ctx);
	if (!w->result)
		w->result = drv.stream_create(&s, CU_STREAM_NON_BLOCKING);
	for (int i = 0; !w->result && i < THREAD_KERNELS; i++) {
		w->result = drv.mem_alloc(&buf, sizeof(in));
		if (!w->result)
			w->result = drv.htod(buf, in, sizeof(in));
		if (!w->result)
			w->result = launch_spin(s, 2 * MS, buf, sizeof(in));
		if (!w->result)
			w->result = drv.dtoh(out, buf, sizeof(out));
		if (!w->result && memcmp(in, out, sizeof(in)))
			w->result = CUDA_ERROR_UNKNOWN;
		if (!w->result)
			w->result = drv.mem_free(buf);
	}
	if (!w->result)
		w->result = drv.stream_sync(s);
	return NULL;
}

static void test_threads(void)
{
	struct worker w[THREADS];
	pthread_t t[THREADS];
	size_t free_b, total;
	long long t0 = now_ns();

	for (int i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(w[i].result, CUDA_SUCCESS);
	}
	/* 100 kernels of 2 ms, one at a time. */
	CHECK(now_ns() - t0 >= THREADS * THREAD_KERNELS * 2 * MS);
	CHECK_EQ(drv.mem_info(&free_b, &total), CUDA_SUCCESS);
	CHECK_EQ(free_b, total); /* every allocation given back */
}

int main(void)
{
	unsetenv("NVSHARE_FAKE_STATE");
	unsetenv("NVSHARE_FAKE_TRACE");
	setenv("NVSHARE_FAKE_GPUS",
	       "GPU-00000000-0000-0000-0000-00000000000a:1Gi", 1);
	setenv("NVSHARE_FAKE_BW", "fault=1G,d2h=1G", 1);
	setenv("NVSHARE_FAKE_QUEUE_DEPTH", "4", 1);
	if (setup() < 0) {
		CHECK(!"driver set up");
		return check_summary("fakecuda_driver");
	}
	test_capture_invalidated();
	test_capture_rules();
	test_capture_thread_modes();
	test_graph_replay();
	test_events();
	test_queue_depth();
	test_memory();
	test_threads();
	return check_summary("fakecuda_driver");
}
