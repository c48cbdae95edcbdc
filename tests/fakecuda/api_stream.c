/*
 * api_stream.c - streams, events and stream capture entry points.
 *
 * A stream's state is the time its last operation completes (its tail);
 * querying compares it with now, synchronizing sleeps until it. An event
 * records the tail of its stream at the moment it is recorded. Captures
 * are begun and ended here; what may not happen during one is decided in
 * capture.c.
 */
#include <stdlib.h>

#include "fakecuda.h"

CUresult CUDAAPI cuStreamCreate(CUstream *phStream, unsigned int Flags)
{
	struct fc_stream *s;
	struct fc_ctx *ctx;
	CUresult r = fc_require_ctx(&ctx);

	FC_FAULT(cuStreamCreate);
	if (r != CUDA_SUCCESS)
		return r;
	if (!phStream ||
	    (Flags != CU_STREAM_DEFAULT && Flags != CU_STREAM_NON_BLOCKING))
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&fc_rt.lock);
	s = fc_stream_new(ctx, FC_STREAM_USER, Flags == CU_STREAM_DEFAULT);
	pthread_mutex_unlock(&fc_rt.lock);
	if (!s)
		return CUDA_ERROR_OUT_OF_MEMORY;
	*phStream = (CUstream)s;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamDestroy_v2(CUstream hStream)
{
	struct fc_stream *s;
	CUresult r;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	pthread_mutex_lock(&fc_rt.lock);
	r = fc_stream_resolve(hStream, 0, &s);
	if (r == CUDA_SUCCESS && s->kind != FC_STREAM_USER)
		r = CUDA_ERROR_INVALID_HANDLE;
	if (r == CUDA_SUCCESS)
		fc_stream_free(s);
	pthread_mutex_unlock(&fc_rt.lock);
	return r;
}

/* Checks a synchronize or query of a stream; *until: when it is idle. */
static CUresult stream_probe(CUstream h, int ptsz, int64_t *until)
{
	struct fc_stream *s;
	CUresult r;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	pthread_mutex_lock(&fc_rt.lock);
	r = fc_stream_resolve(h, ptsz, &s);
	if (r == CUDA_SUCCESS)
		r = fc_capture_guard(s, NULL, 1);
	if (r == CUDA_SUCCESS)
		*until = s->kind == FC_STREAM_LEGACY ? fc_stream_bound(s)
		                                     : s->tail_ns;
	pthread_mutex_unlock(&fc_rt.lock);
	return r;
}

static CUresult stream_sync(CUstream h, int ptsz)
{
	int64_t until = 0;
	CUresult r = stream_probe(h, ptsz, &until);

	if (r == CUDA_SUCCESS)
		fc_sleep_until(until);
	return r;
}

static CUresult stream_query(CUstream h, int ptsz)
{
	int64_t until = 0;
	CUresult r = stream_probe(h, ptsz, &until);

	if (r != CUDA_SUCCESS)
		return r;
	return until > fc_now() ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamSynchronize(CUstream hStream)
{
	FC_FAULT(cuStreamSynchronize);
	return stream_sync(hStream, 0);
}

CUresult CUDAAPI cuStreamSynchronize_ptsz(CUstream hStream)
{
	return stream_sync(hStream, 1);
}

CUresult CUDAAPI cuStreamQuery(CUstream hStream)
{
	return stream_query(hStream, 0);
}

CUresult CUDAAPI cuStreamQuery_ptsz(CUstream hStream)
{
	return stream_query(hStream, 1);
}

/* --- capture -------------------------------------------------------------- */

static CUresult capture_begin(CUstream h, int ptsz, CUstreamCaptureMode mode)
{
	struct fc_stream *s;
	CUresult r;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (mode != CU_STREAM_CAPTURE_MODE_GLOBAL &&
	    mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
	    mode != CU_STREAM_CAPTURE_MODE_RELAXED)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&fc_rt.lock);
	r = fc_stream_resolve(h, ptsz, &s);
	if (r == CUDA_SUCCESS && s->kind == FC_STREAM_LEGACY)
		r = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
	else if (r == CUDA_SUCCESS &&
	         s->cap_status != CU_STREAM_CAPTURE_STATUS_NONE)
		r = FC_ERROR_ILLEGAL_STATE; /* already capturing */
	if (r == CUDA_SUCCESS) {
		s->cap_graph = fc_graph_new(FC_MAGIC_GRAPH);
		if (!s->cap_graph)
			r = CUDA_ERROR_OUT_OF_MEMORY;
	}
	if (r == CUDA_SUCCESS) {
		s->cap_status = CU_STREAM_CAPTURE_STATUS_ACTIVE;
		s->cap_mode = mode;
		s->cap_thread = pthread_self();
		fc_rt.captures++;
	}
	pthread_mutex_unlock(&fc_rt.lock);
	return r;
}

/* The CUDA 10.0 ABI: global mode. */
CUresult CUDAAPI cuStreamBeginCapture(CUstream hStream)
{
	return capture_begin(hStream, 0, CU_STREAM_CAPTURE_MODE_GLOBAL);
}

CUresult CUDAAPI cuStreamBeginCapture_ptsz(CUstream hStream)
{
	return capture_begin(hStream, 1, CU_STREAM_CAPTURE_MODE_GLOBAL);
}

CUresult CUDAAPI cuStreamBeginCapture_v2(CUstream hStream,
                                         CUstreamCaptureMode mode)
{
	return capture_begin(hStream, 0, mode);
}

CUresult CUDAAPI cuStreamBeginCapture_v2_ptsz(CUstream hStream,
                                              CUstreamCaptureMode mode)
{
	return capture_begin(hStream, 1, mode);
}

static CUresult capture_end(CUstream h, int ptsz, CUgraph *phGraph)
{
	struct fc_stream *s;
	CUresult r;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!phGraph)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&fc_rt.lock);
	r = fc_stream_resolve(h, ptsz, &s);
	if (r == CUDA_SUCCESS && s->cap_status == CU_STREAM_CAPTURE_STATUS_NONE)
		r = FC_ERROR_ILLEGAL_STATE; /* not capturing */
	else if (r == CUDA_SUCCESS &&
	         s->cap_mode != CU_STREAM_CAPTURE_MODE_RELAXED &&
	         !pthread_equal(s->cap_thread, pthread_self()))
		r = FC_ERROR_STREAM_CAPTURE_WRONG_THREAD;
	if (r == CUDA_SUCCESS) {
		*phGraph = NULL;
		if (s->cap_status == CU_STREAM_CAPTURE_STATUS_INVALIDATED) {
			fc_capture_drop(s);
			r = CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
		} else {
			*phGraph = (CUgraph)fc_capture_end(s);
		}
	}
	pthread_mutex_unlock(&fc_rt.lock);
	return r;
}

CUresult CUDAAPI cuStreamEndCapture(CUstream hStream, CUgraph *phGraph)
{
	return capture_end(hStream, 0, phGraph);
}

CUresult CUDAAPI cuStreamEndCapture_ptsz(CUstream hStream, CUgraph *phGraph)
{
	return capture_end(hStream, 1, phGraph);
}

/* rt locked: 1 if a blocking stream of ctx captures (the legacy stream
 * then may not even be asked about capture). */
static int capture_blocks_legacy(const struct fc_ctx *ctx)
{
	if (!fc_rt.captures)
		return 0;
	for (const struct fc_stream *s = fc_rt.streams; s; s = s->next)
		if (s->ctx == ctx && s->blocking &&
		    s->cap_status != CU_STREAM_CAPTURE_STATUS_NONE)
			return 1;
	return 0;
}

static CUresult capture_status(CUstream h, int ptsz,
                               CUstreamCaptureStatus *status)
{
	struct fc_stream *s;
	CUresult r;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!status)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&fc_rt.lock);
	r = fc_stream_resolve(h, ptsz, &s);
	if (r == CUDA_SUCCESS && s->kind == FC_STREAM_LEGACY &&
	    capture_blocks_legacy(s->ctx))
		r = FC_ERROR_STREAM_CAPTURE_IMPLICIT; /* nothing invalidated */
	if (r == CUDA_SUCCESS)
		*status = s->cap_status;
	pthread_mutex_unlock(&fc_rt.lock);
	return r;
}

CUresult CUDAAPI cuStreamIsCapturing(CUstream hStream,
                                     CUstreamCaptureStatus *captureStatus)
{
	return capture_status(hStream, 0, captureStatus);
}

CUresult CUDAAPI cuStreamIsCapturing_ptsz(CUstream hStream,
                                          CUstreamCaptureStatus *captureStatus)
{
	return capture_status(hStream, 1, captureStatus);
}

/* --- events --------------------------------------------------------------- */

static int event_valid(const struct fc_event *ev)
{
	return ev && ev->magic == FC_MAGIC_EVENT;
}

CUresult CUDAAPI cuEventCreate(CUevent *phEvent, unsigned int Flags)
{
	struct fc_event *ev;
	CUresult r = fc_require_ctx(NULL);

	if (r != CUDA_SUCCESS)
		return r;
	if (!phEvent || Flags > 0xf)
		return CUDA_ERROR_INVALID_VALUE;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return CUDA_ERROR_OUT_OF_MEMORY;
	ev->magic = FC_MAGIC_EVENT;
	ev->flags = Flags;
	*phEvent = (CUevent)ev;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuEventDestroy_v2(CUevent hEvent)
{
	struct fc_event *ev = (struct fc_event *)hEvent;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!event_valid(ev))
		return CUDA_ERROR_INVALID_HANDLE;
	ev->magic = 0;
	free(ev);
	return CUDA_SUCCESS;
}

static CUresult event_record(CUevent hEvent, CUstream h, int ptsz)
{
	struct fc_event *ev = (struct fc_event *)hEvent;
	struct fc_op op = {.kind = FC_OP_EVENT};

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!event_valid(ev))
		return CUDA_ERROR_INVALID_HANDLE;
	op.event = ev;
	return fc_submit(h, ptsz, &op, 0);
}

CUresult CUDAAPI cuEventRecord(CUevent hEvent, CUstream hStream)
{
	return event_record(hEvent, hStream, 0);
}

CUresult CUDAAPI cuEventRecord_ptsz(CUevent hEvent, CUstream hStream)
{
	return event_record(hEvent, hStream, 1);
}

/* Checks a synchronize or query of an event; *until: when it completes. */
static CUresult event_probe(struct fc_event *ev, int64_t *until)
{
	CUresult r;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!event_valid(ev))
		return CUDA_ERROR_INVALID_HANDLE;
	pthread_mutex_lock(&fc_rt.lock);
	if (ev->captured_on) { /* recorded into a capture still going on */
		fc_capture_refuse(ev->captured_on);
		r = FC_ERROR_CAPTURED_EVENT;
	} else {
		r = fc_capture_guard(NULL, NULL, 1);
	}
	*until = ev->recorded ? ev->time_ns : 0;
	pthread_mutex_unlock(&fc_rt.lock);
	return r;
}

CUresult CUDAAPI cuEventQuery(CUevent hEvent)
{
	int64_t until = 0;
	CUresult r = event_probe((struct fc_event *)hEvent, &until);

	if (r != CUDA_SUCCESS)
		return r;
	return until > fc_now() ? CUDA_ERROR_NOT_READY : CUDA_SUCCESS;
}

CUresult CUDAAPI cuEventSynchronize(CUevent hEvent)
{
	int64_t until = 0;
	CUresult r = event_probe((struct fc_event *)hEvent, &until);

	if (r == CUDA_SUCCESS)
		fc_sleep_until(until);
	return r;
}

CUresult CUDAAPI cuEventElapsedTime(float *pMilliseconds, CUevent hStart,
                                    CUevent hEnd)
{
	struct fc_event *a = (struct fc_event *)hStart;
	struct fc_event *b = (struct fc_event *)hEnd;
	int64_t now = fc_now();

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pMilliseconds)
		return CUDA_ERROR_INVALID_VALUE;
	if (!event_valid(a) || !event_valid(b) || !a->recorded ||
	    !b->recorded || (a->flags & CU_EVENT_DISABLE_TIMING) ||
	    (b->flags & CU_EVENT_DISABLE_TIMING))
		return CUDA_ERROR_INVALID_HANDLE;
	if (a->time_ns > now || b->time_ns > now)
		return CUDA_ERROR_NOT_READY;
	*pMilliseconds = (float)((double)(b->time_ns - a->time_ns) / 1e6);
	return CUDA_SUCCESS;
}
