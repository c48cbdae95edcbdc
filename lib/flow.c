/*
 * flow.c - see flow.h.
 *
 * Per thread: a ring of events (created once, in the thread's context),
 * the oldest pending first, and an estimate of the GPU time one launch
 * takes, learnt from the elapsed time between consecutive completed
 * checkpoints on the same stream. The slot of the last completed
 * checkpoint (the anchor) is never reused before the next one completes,
 * so elapsed times are always measured between two intact events.
 */
#include "flow.h"

#include "config.h"

#include "ctxstate.h"
#include "quota.h"

#include <stdlib.h>

#define FLOW_RING 64       /* checkpoints a thread may have pending + 2 */
#define FLOW_MAX_EVERY 64  /* most launches between checkpoints */
#define FLOW_FIRST_EVERY 8 /* cadence until the launch cost is learnt */

__thread unsigned flow_tls_since __attribute__((tls_model("initial-exec")));
__thread unsigned flow_tls_every __attribute__((tls_model("initial-exec"))) =
    FLOW_FIRST_EVERY;

struct flow_cp {
	CUevent ev;        /* created once, recorded again and again */
	CUstream stream;   /* where it was recorded */
	unsigned launches; /* launches it closes (since the previous one) */
};

struct flow_thread {
	CUcontext ctx; /* the context the events belong to */
	struct flow_cp ring[FLOW_RING];
	unsigned head;    /* oldest pending */
	unsigned count;   /* pending checkpoints */
	int anchor;       /* slot of the last completed, or -1 */
	double launch_ns; /* learnt GPU ns per launch */
	int learnt;       /* launch_ns holds a measurement */
	int broken;       /* the driver refused: flow control off */
	unsigned epoch;   /* ctx_generation when the events were made */
};

static __thread struct flow_thread *flow_tls;
atomic_int flow_metering;

long long flow_window_ns(void)
{
	return (long long)config_get()->queue_window_ms * 1000000;
}

static struct flow_thread *thread_state(CUcontext ctx)
{
	struct flow_thread *t = flow_tls;
	/* Bumped when a context may have gone: every thread's events are
	 * then stale (they belonged to it), and its state starts over. */
	unsigned epoch = atomic_load(&ctx_generation);

	if (t && t->epoch != epoch) {
		/* Its events died with their context (or may have): they are
		 * dropped, never destroyed. */
		free(t);
		t = flow_tls = NULL;
	}
	if (t)
		return t->ctx == ctx && !t->broken ? t : NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	flow_tls = t;
	t->ctx = ctx;
	t->epoch = epoch;
	t->anchor = -1;
	for (int i = 0; i < FLOW_RING; i++) {
		if (nvs_real_cuEventCreate(&t->ring[i].ev, CU_EVENT_DEFAULT) !=
		    CUDA_SUCCESS) {
			t->broken = 1;
			return NULL;
		}
	}
	return t;
}

/* Takes completed checkpoints off the ring and learns from them. With
 * wait, first waits for the oldest. */
static void retire(struct flow_thread *t, int wait)
{
	while (t->count) {
		struct flow_cp *cp = &t->ring[t->head];
		CUresult r = wait ? nvs_real_cuEventSynchronize(cp->ev)
		                  : nvs_real_cuEventQuery(cp->ev);
		float ms;

		if (r != CUDA_SUCCESS)
			return;
		wait = 0;
		if (t->anchor >= 0 && t->ring[t->anchor].stream == cp->stream &&
		    cp->launches &&
		    nvs_real_cuEventElapsedTime(&ms, t->ring[t->anchor].ev,
		                                cp->ev) == CUDA_SUCCESS) {
			double per = (double)ms * 1e6 / cp->launches;
			if (per < 1)
				per = 1;
			t->launch_ns =
			    t->learnt ? 0.75 * t->launch_ns + 0.25 * per : per;
			t->learnt = 1;
		}
		t->anchor = (int)t->head;
		t->head = (t->head + 1) % FLOW_RING;
		t->count--;
	}
}

static double queued_ns(const struct flow_thread *t)
{
	double launches = 0;

	for (unsigned i = 0; i < t->count; i++)
		launches += t->ring[(t->head + i) % FLOW_RING].launches;
	return launches * t->launch_ns;
}

/* The slot of key in tails: its own, else a free one claimed, else (all
 * taken) the first it would have had. */
static struct flow_tail *tail_slot(struct flow_tail *tails, uintptr_t key)
{
	uint64_t h = (uint64_t)key;
	unsigned first;

	h ^= h >> 29;
	h *= 0x9e3779b97f4a7c15ull;
	first = (unsigned)(h >> 32) % FLOW_TAILS;
	for (unsigned i = 0; i < FLOW_TAILS; i++) {
		struct flow_tail *s = &tails[(first + i) % FLOW_TAILS];
		uintptr_t k = atomic_load(&s->key);

		if (k == key)
			return s;
		if (k == 0 &&
		    (atomic_compare_exchange_strong(&s->key, &k, key) ||
		     k == key))
			return s;
	}
	return &tails[first];
}

void flow_checkpoint(CUstream stream, struct flow_tail *tails)
{
	long long window = flow_window_ns();
	unsigned launches = flow_tls_since;
	CUstreamCaptureStatus cap = CU_STREAM_CAPTURE_STATUS_NONE;
	CUcontext ctx = NULL;
	struct flow_thread *t;
	struct flow_cp *cp;
	uintptr_t key;

	flow_tls_since = 0;
	if (window > FLOW_LIMITED_WINDOW_NS && quota_core_limit())
		window = FLOW_LIMITED_WINDOW_NS;
	if (window == 0 || atomic_load(&ctx_captures) > 0 ||
	    !nvs_real_cuEventRecord || !nvs_real_cuEventElapsedTime ||
	    nvs_real_cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !ctx)
		return;
	if (nvs_real_cuStreamIsCapturing(stream, &cap) != CUDA_SUCCESS ||
	    cap != CU_STREAM_CAPTURE_STATUS_NONE)
		return;
	t = thread_state(ctx);
	if (!t)
		return;
	retire(t, 0);
	/* Over the window: wait for the oldest checkpoints. Keep two slots
	 * free: the anchor's and the one about to be recorded. Until a launch
	 * has been measured, keep at most two checkpoints in flight: the
	 * second completion teaches the cost. */
	while (t->count &&
	       (t->count >= FLOW_RING - 2 || (!t->learnt && t->count >= 2) ||
	        (t->learnt && queued_ns(t) > (double)window))) {
		unsigned before = t->count;
		retire(t, 1);
		if (t->count == before)
			break; /* the driver failed the wait: give up for now */
	}
	cp = &t->ring[(t->head + t->count) % FLOW_RING];
	if (nvs_real_cuEventRecord(cp->ev, stream) != CUDA_SUCCESS)
		return;
	cp->stream = stream;
	cp->launches = launches;
	t->count++;
	/* Keys are odd (stream handles and thread states are aligned), so 0
	 * stays "free"; the null stream and CU_STREAM_LEGACY are one. */
	key = (stream == NVS_CU_STREAM_PER_THREAD ? (uintptr_t)t
	                                          : (uintptr_t)stream) |
	      1;
	atomic_store(&tail_slot(tails, key)->ev, cp->ev);
	/* About four checkpoints per window (more while metering). */
	if (t->learnt) {
		double span = (double)window / 4.0;
		if (atomic_load_explicit(&flow_metering,
		                         memory_order_relaxed) &&
		    span > FLOW_METER_NS)
			span = FLOW_METER_NS;
		double every = span / t->launch_ns;
		flow_tls_every = every < 1                ? 1
		                 : every > FLOW_MAX_EVERY ? FLOW_MAX_EVERY
		                                          : (unsigned)every;
	}
}
