/*
 * usage.c - see usage.h. Sample and hold: the time since the previous
 * sample is busy when this sample finds the device busy. With a sample a
 * millisecond that errs by at most a millisecond per burst.
 */
#include "usage.h"

#include <stdlib.h>
#include <string.h>

struct usage_meter {
	long long last_ns;     /* previous sample, 0: none yet */
	unsigned long submits; /* d->submits at the previous sample */
	int64_t tick;          /* tick being summed, -1: none */
	uint64_t busy_ns;      /* busy time in it so far */
};

static int busy_now(struct gate_dev *d, struct usage_meter *m)
{
	unsigned long submits = atomic_load(&d->submits);
	CUevent tail;
	int busy = submits != m->submits || atomic_load(&d->inflight) > 0 ||
	           atomic_load(&d->syncing) > 0;

	m->submits = submits;
	if (busy || !nvs_real_cuEventQuery)
		return busy;
	/* A context being destroyed takes its events with it: hold it off. */
	pthread_rwlock_rdlock(&gate_ctx_lock);
	tail = atomic_load(&d->tail_ev);
	busy = tail && nvs_real_cuEventQuery(tail) == CUDA_ERROR_NOT_READY;
	pthread_rwlock_unlock(&gate_ctx_lock);
	return busy;
}

static void fill(const struct gate_dev *d, const struct usage_meter *m,
                 struct nvs_usage *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->uuid, d->uuid, sizeof(out->uuid));
	out->tick = m->tick;
	out->busy_ns = m->busy_ns > (uint64_t)NVS_USAGE_TICK_NS
	                   ? (uint64_t)NVS_USAGE_TICK_NS
	                   : m->busy_ns;
}

int usage_sample(struct gate_dev *d, long long now, struct nvs_usage *out)
{
	struct usage_meter *m = d->usage;
	int64_t tick = now / NVS_USAGE_TICK_NS;
	int done = 0;

	if (!m) {
		m = d->usage = calloc(1, sizeof(*m));
		if (!m)
			return 0;
		m->tick = -1;
	}
	if (m->last_ns && busy_now(d, m)) {
		/* Credit [last, now] to the ticks it covers; only the tick
		 * being summed and the current one are kept (a longer stall of
		 * the link thread loses the middle, which it cannot vouch for
		 * anyway). */
		long long from = m->last_ns;
		long long boundary = tick * NVS_USAGE_TICK_NS;
		if (m->tick == tick - 1 && from < boundary) {
			m->busy_ns += (uint64_t)(boundary - from);
			from = boundary;
		}
		if (m->tick != tick) {
			if (m->tick >= 0 && m->busy_ns) {
				fill(d, m, out);
				done = 1;
			}
			m->tick = tick;
			m->busy_ns = 0;
		}
		if (from < boundary)
			from = boundary;
		m->busy_ns += (uint64_t)(now - from);
	} else if (m->tick != tick) {
		if (m->tick >= 0 && m->busy_ns) {
			fill(d, m, out);
			done = 1;
		}
		m->tick = tick;
		m->busy_ns = 0;
	}
	if (!m->last_ns)
		m->submits = atomic_load(&d->submits);
	m->last_ns = now;
	return done;
}

int usage_flush(struct gate_dev *d, struct nvs_usage *out)
{
	struct usage_meter *m = d->usage;
	int done = 0;

	if (!m)
		return 0;
	if (m->tick >= 0 && m->busy_ns) {
		fill(d, m, out);
		done = 1;
	}
	m->tick = -1;
	m->busy_ns = 0;
	m->last_ns = 0;
	return done;
}
