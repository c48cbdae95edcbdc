/*
 * capture.c - stream capture and graphs, with the real driver's rules on
 * what may not happen during a capture.
 *
 * A capturing stream records its operations into a graph instead of
 * running them. The rules, as a real driver (CUDA 13.0, H100) applies them:
 *  - synchronizing or querying the capturing stream, or a context that has
 *    a capturing stream, is invalid in every mode;
 *  - using the legacy stream while a blocking stream of its context
 *    captures is invalid in every mode (CUDA_ERROR_STREAM_CAPTURE_IMPLICIT);
 *  - "unsafe" calls (synchronizing or querying other streams and events,
 *    cuMemAlloc, cuMemFree, cuMemAdvise, stream-ordered allocation on other
 *    streams) are invalid from every thread during a GLOBAL capture and
 *    from the capturing thread during a THREAD_LOCAL one; RELAXED allows
 *    them. Synchronous copies are not in that list (only the legacy rule);
 *  - prefetching on, or launching a graph into, a capturing stream is not
 *    capturable.
 * An invalid call fails and invalidates the capture, so cuStreamEndCapture
 * then fails with CUDA_ERROR_STREAM_CAPTURE_INVALIDATED. This is what lets
 * tests prove that a hook never synchronizes inside a capture.
 */
#include <stdlib.h>
#include <string.h>

#include "fakecuda.h"

/* How a call breaks the capture on s (see the rules above): 0 if not. */
static CUresult capture_offence(const struct fc_stream *s,
                                const struct fc_stream *target,
                                const struct fc_ctx *ctx, int unsafe)
{
	if (target && target->kind == FC_STREAM_LEGACY &&
	    target->ctx == s->ctx && s->blocking)
		return FC_ERROR_STREAM_CAPTURE_IMPLICIT;
	if (s == target || (ctx && s->ctx == ctx))
		return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
	if (!unsafe)
		return CUDA_SUCCESS;
	if (s->cap_mode == CU_STREAM_CAPTURE_MODE_GLOBAL ||
	    (s->cap_mode == CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
	     pthread_equal(s->cap_thread, pthread_self())))
		return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
	return CUDA_SUCCESS;
}

CUresult fc_capture_guard(const struct fc_stream *target,
                          const struct fc_ctx *ctx, int unsafe)
{
	CUresult result = CUDA_SUCCESS, r;

	if (!fc_rt.captures)
		return CUDA_SUCCESS;
	for (struct fc_stream *s = fc_rt.streams; s; s = s->next) {
		if (s->cap_status == CU_STREAM_CAPTURE_STATUS_NONE)
			continue;
		r = capture_offence(s, target, ctx, unsafe);
		if (r == CUDA_SUCCESS)
			continue;
		s->cap_status = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
		if (result != FC_ERROR_STREAM_CAPTURE_IMPLICIT)
			result = r;
	}
	return result;
}

CUresult fc_capture_refuse(struct fc_stream *s)
{
	s->cap_status = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
	return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
}

CUresult fc_capture_check_unsafe(void)
{
	CUresult r;

	pthread_mutex_lock(&fc_rt.lock);
	r = fc_capture_guard(NULL, NULL, 1);
	pthread_mutex_unlock(&fc_rt.lock);
	return r;
}

struct fc_graph *fc_graph_new(uint32_t magic)
{
	struct fc_graph *g = calloc(1, sizeof(*g));

	if (g)
		g->magic = magic;
	return g;
}

void fc_graph_free(struct fc_graph *g)
{
	if (!g)
		return;
	g->magic = 0;
	free(g->ops);
	free(g);
}

int fc_graph_append(struct fc_graph *g, const struct fc_op *op)
{
	if (g->nops == g->cap) {
		int cap = g->cap ? g->cap * 2 : 16;
		struct fc_op *ops = realloc(g->ops, sizeof(*ops) * (size_t)cap);

		if (!ops)
			return -1;
		g->ops = ops;
		g->cap = cap;
	}
	g->ops[g->nops++] = *op;
	return 0;
}

CUresult fc_capture_record(struct fc_stream *s, const struct fc_op *op)
{
	if (s->cap_status == CU_STREAM_CAPTURE_STATUS_INVALIDATED)
		return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
	if (fc_graph_append(s->cap_graph, op) < 0) {
		s->cap_status = CU_STREAM_CAPTURE_STATUS_INVALIDATED;
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (op->kind == FC_OP_EVENT)
		op->event->captured_on = s;
	return CUDA_SUCCESS;
}

/* Events recorded during the capture belong to it no longer. */
static void capture_release_events(struct fc_stream *s)
{
	for (int i = 0; i < s->cap_graph->nops; i++) {
		struct fc_event *ev = s->cap_graph->ops[i].event;

		if (s->cap_graph->ops[i].kind == FC_OP_EVENT &&
		    ev->captured_on == s)
			ev->captured_on = NULL;
	}
}

struct fc_graph *fc_capture_end(struct fc_stream *s)
{
	struct fc_graph *g = s->cap_graph;

	capture_release_events(s);
	s->cap_graph = NULL;
	s->cap_status = CU_STREAM_CAPTURE_STATUS_NONE;
	fc_rt.captures--;
	return g;
}

/* Ends whatever capture s is in, discarding what it recorded. */
void fc_capture_drop(struct fc_stream *s)
{
	if (s->cap_status == CU_STREAM_CAPTURE_STATUS_NONE)
		return;
	capture_release_events(s);
	fc_graph_free(s->cap_graph);
	s->cap_graph = NULL;
	s->cap_status = CU_STREAM_CAPTURE_STATUS_NONE;
	fc_rt.captures--;
}
