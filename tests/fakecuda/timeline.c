/*
 * timeline.c - when simulated work runs, in real (monotonic) time.
 *
 * Each device has one compute timeline shared by all processes: a kernel
 * starts at max(now, the device's busy_until, its stream's tail) and pushes
 * both forward, so the device runs one kernel at a time and in submission
 * order. Copies, memsets and prefetches run on the copy engine: they order
 * with their stream but leave the compute timeline alone. Residency changes
 * (faults, evictions) cost time that is added to the operation that caused
 * them. Launches return at once unless the stream already holds queue_depth
 * unfinished operations; then they sleep until the oldest one ends, as a
 * real driver's full push buffer makes them. Synchronizing calls sleep until
 * the modelled end.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fakecuda.h"

/* Trace lines of one operation, written with a single write(). */
struct timeline_trace {
	char buf[512]; /* the lines */
	int len;       /* bytes used */
};

static void trace_add(struct timeline_trace *t, int dev, int64_t start,
                      int64_t end, const char *kind)
{
	int n;

	if (fc_rt.trace_fd < 0 || end <= start)
		return;
	n = snprintf(t->buf + t->len, sizeof(t->buf) - (size_t)t->len,
	             "%d %d %lld %lld %s\n", (int)fc_rt.pid, dev,
	             (long long)start, (long long)end, kind);
	if (n > 0 && t->len + n < (int)sizeof(t->buf))
		t->len += n;
}

static void trace_flush(const struct timeline_trace *t)
{
	if (t->len && write(fc_rt.trace_fd, t->buf, (size_t)t->len) < 0) {
		/* A failing trace file must not fail the simulated GPU. */
	}
}

void fc_trace_write(int dev, int64_t start, int64_t end, const char *kind)
{
	struct timeline_trace t = {.len = 0};

	trace_add(&t, dev, start, end, kind);
	trace_flush(&t);
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

int64_t fc_stream_bound(const struct fc_stream *s)
{
	int64_t bound = s->tail_ns;

	if (s->kind == FC_STREAM_LEGACY) {
		for (const struct fc_stream *t = fc_rt.streams; t; t = t->next)
			if (t->ctx == s->ctx && t->blocking)
				bound = max64(bound, t->tail_ns);
		return max64(bound, s->ctx->retired_tail_ns);
	}
	if (s->blocking)
		bound = max64(bound, s->ctx->legacy->tail_ns);
	return bound;
}

int64_t fc_ctx_tail(const struct fc_ctx *ctx)
{
	int64_t tail = ctx->retired_tail_ns;

	for (const struct fc_stream *t = fc_rt.streams; t; t = t->next)
		if (t->ctx == ctx)
			tail = max64(tail, t->tail_ns);
	return tail;
}

/* Drops finished ops; returns 0 if there is room for one more, else the
 * time the oldest unfinished op ends. */
static int64_t stream_queue_wait(struct fc_stream *s, int64_t now)
{
	uint32_t depth = fc_rt.cfg.queue_depth;

	while (s->ring_count && s->ring[s->ring_head] <= now) {
		s->ring_head = (s->ring_head + 1) % depth;
		s->ring_count--;
	}
	return s->ring_count < depth ? 0 : s->ring[s->ring_head];
}

static void stream_push(struct fc_stream *s, int64_t end)
{
	uint32_t depth = fc_rt.cfg.queue_depth;

	s->ring[(s->ring_head + s->ring_count) % depth] = end;
	s->ring_count++;
	s->tail_ns = max64(s->tail_ns, end);
}

/* State locked: a kernel on the device's compute timeline. */
static int64_t run_kernel(struct fc_stream *s, const struct fc_op *op,
                          int64_t now, struct timeline_trace *t)
{
	struct fc_state *st = fc_rt.st;
	struct fc_dev_state *d = &st->dev[s->ctx->dev];
	struct fc_proc_dev *pd = &st->proc[fc_rt.slot].dev[s->ctx->dev];
	struct fc_move m = {0};
	int64_t start, evict_ns, rest_ns, end;

	fc_mem_touch(st, fc_rt.slot, s->ctx->dev, op->addr, op->len, now, &m);
	evict_ns = (int64_t)fc_move_evict_ns(&m, &fc_rt.cfg.bw);
	rest_ns = (int64_t)fc_move_rest_ns(&m, &fc_rt.cfg.bw);
	start = max64(max64(now, fc_stream_bound(s)), d->busy_until_ns);
	end = start + evict_ns + rest_ns + (int64_t)op->ns;
	d->busy_until_ns = end;
	d->kernels++;
	pd->kernels++;
	pd->gpu_ns += (uint64_t)(end - start);
	pd->swap_ns += (uint64_t)(evict_ns + rest_ns);
	trace_add(t, s->ctx->dev, start, start + evict_ns, "evict");
	trace_add(t, s->ctx->dev, start + evict_ns, end, "kernel");
	return end;
}

/* State locked: a copy, memset or prefetch on the copy engine. */
static int64_t run_transfer(struct fc_stream *s, const struct fc_op *op,
                            int64_t now, struct timeline_trace *t)
{
	struct fc_state *st = fc_rt.st;
	struct fc_proc_dev *pd = &st->proc[fc_rt.slot].dev[s->ctx->dev];
	struct fc_move m = {0};
	int64_t start = max64(now, fc_stream_bound(s)), evict_ns = 0, end;
	const char *kind = "copy";

	if (op->kind == FC_OP_PREFETCH) {
		/* A range freed since capture has nothing left to move. */
		(void)fc_mem_prefetch(st, fc_rt.slot, op->loc, op->addr,
		                      op->len, now, &m);
		evict_ns = (int64_t)fc_move_evict_ns(&m, &fc_rt.cfg.bw);
		end = start + evict_ns +
		      (int64_t)fc_move_rest_ns(&m, &fc_rt.cfg.bw);
		pd->prefetches++;
		kind = "prefetch";
	} else {
		/* Page-locked host memory copies at link speed. */
		uint64_t bw =
		    op->kind == FC_OP_COPY && fc_fdrange_pinned(&op->xfer)
		        ? fc_rt.cfg.bw.pinned
		        : fc_rt.cfg.bw.copy;
		end = start + (int64_t)fc_transfer_ns(op->bytes, bw);
		if (op->kind == FC_OP_MEMSET) {
			pd->memsets++;
			kind = "memset";
		} else {
			pd->copies++;
			pd->copy_bytes += op->bytes;
		}
	}
	trace_add(t, s->ctx->dev, start, start + evict_ns, "evict");
	trace_add(t, s->ctx->dev, start + evict_ns, end, kind);
	return end;
}

/* rt locked: puts op on s's timeline; returns when it completes. */
static int64_t timeline_run(struct fc_stream *s, const struct fc_op *op,
                            int64_t now)
{
	struct timeline_trace t = {.len = 0};
	int64_t end;

	if (op->kind == FC_OP_EVENT) {
		op->event->time_ns = max64(now, fc_stream_bound(s));
		op->event->recorded = 1;
		op->event->captured_on = NULL;
		return op->event->time_ns;
	}
	fc_state_lock(fc_rt.st);
	fc_state_reap(fc_rt.st, now, 0);
	if (op->kind == FC_OP_KERNEL)
		end = run_kernel(s, op, now, &t);
	else
		end = run_transfer(s, op, now, &t);
	fc_state_unlock(fc_rt.st);
	stream_push(s, end);
	trace_flush(&t);
	return end;
}

void fc_xfer_run(const struct fc_xfer *x)
{
	for (size_t row = 0; row < x->height; row++) {
		unsigned char *dst = (unsigned char *)x->dst + row * x->dpitch;
		const unsigned char *src =
		    (const unsigned char *)x->src + row * x->spitch;

		if (!x->elem) {
			if (x->height > 1 ||
			    !fc_xfer_sparse(dst, src, x->width))
				memmove(dst, src, x->width);
			continue;
		}
		for (size_t i = 0; i < x->width; i += x->elem)
			memcpy(dst + i, &x->value, x->elem);
	}
}

/* rt locked: records or runs op. Returns CUDA_SUCCESS with *end set (0:
 * recorded), an error, or *wait set when the queue is full. */
static CUresult submit_locked(CUstream h, int ptsz, const struct fc_op *op,
                              int sync, int64_t *end, int64_t *wait)
{
	struct fc_stream *s;
	int64_t now = fc_now();
	CUresult r;

	r = fc_stream_resolve(h, ptsz, &s);
	if (r != CUDA_SUCCESS)
		return r;
	if (s->cap_status == CU_STREAM_CAPTURE_STATUS_INVALIDATED)
		return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
	if (s->cap_status == CU_STREAM_CAPTURE_STATUS_ACTIVE) {
		/* Waiting for a capturing stream, or prefetching on it,
		 * cannot be captured. */
		if (sync || op->kind == FC_OP_PREFETCH)
			return fc_capture_refuse(s);
		*end = 0;
		return fc_capture_record(s, op);
	}
	r = fc_capture_guard(s, NULL, 0); /* the legacy stream rule */
	if (r != CUDA_SUCCESS)
		return r;
	*wait = stream_queue_wait(s, now);
	if (*wait)
		return CUDA_SUCCESS;
	*end = timeline_run(s, op, now);
	return CUDA_SUCCESS;
}

CUresult fc_submit(CUstream h, int ptsz, const struct fc_op *op, int sync)
{
	int64_t end = 0, wait;
	CUresult r;

	for (;;) {
		wait = 0;
		pthread_mutex_lock(&fc_rt.lock);
		r = submit_locked(h, ptsz, op, sync, &end, &wait);
		pthread_mutex_unlock(&fc_rt.lock);
		if (r != CUDA_SUCCESS || !wait)
			break;
		fc_sleep_until(wait);
	}
	if (r != CUDA_SUCCESS || !end)
		return r;
	if (op->kind == FC_OP_COPY || op->kind == FC_OP_MEMSET)
		fc_xfer_run(&op->xfer);
	if (sync)
		fc_sleep_until(end);
	return CUDA_SUCCESS;
}
