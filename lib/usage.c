/*
 * usage.c - see usage.h. Between two samples that agree, the time is busy
 * or idle as they say; between two that differ the change happened at an
 * unknown moment, counted as the middle. With a sample a millisecond that
 * errs by at most half a millisecond at each end of a burst, and not in
 * one direction more than the other.
 */
#include "usage.h"

#include <stdlib.h>
#include <string.h>

struct usage_meter {
	long long last_ns;     /* previous sample, 0: none yet */
	unsigned long submits; /* d->submits at the previous sample */
	int64_t tick;          /* tick being summed, -1: none */
	uint64_t busy_ns;      /* busy time in it so far */
	int was_busy;          /* what the previous sample found */
};

static int busy_now(struct gate_dev *d, struct usage_meter *m)
{
	unsigned long submits = atomic_load(&d->submits);
	int busy = submits != m->submits;

	m->submits = submits;
	return busy || gate_work_pending(d);
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
	long long from = 0, to = 0, boundary = tick * NVS_USAGE_TICK_NS;
	int busy = 0, done = 0;

	if (!m) {
		m = d->usage = calloc(1, sizeof(*m));
		if (!m)
			return 0;
		m->tick = -1;
	}
	if (m->last_ns) {
		long long mid = m->last_ns + (now - m->last_ns) / 2;
		busy = busy_now(d, m);
		if (busy && m->was_busy) {
			from = m->last_ns;
			to = now;
		} else if (busy) { /* went busy in between */
			from = mid;
			to = now;
		} else if (m->was_busy) { /* went idle in between */
			from = m->last_ns;
			to = mid;
		}
	} else {
		m->submits = atomic_load(&d->submits);
	}
	m->was_busy = busy;
	m->last_ns = now;
	/* Credit [from, to) to the ticks it covers; only the tick being
	 * summed and the current one are kept (a longer stall of the link
	 * thread loses the middle, which it cannot vouch for anyway). */
	if (m->tick != tick) {
		if (to > from && m->tick == tick - 1 && from < boundary)
			m->busy_ns +=
			    (uint64_t)((to < boundary ? to : boundary) - from);
		if (m->tick >= 0 && m->busy_ns) {
			fill(d, m, out);
			done = 1;
		}
		m->tick = tick;
		m->busy_ns = 0;
		if (from < boundary)
			from = boundary;
	}
	if (to > from)
		m->busy_ns += (uint64_t)(to - from);
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
	m->was_busy = 0;
	return done;
}
