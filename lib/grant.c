/*
 * grant.c - the memory grant (see grant.h).
 */
#include "grant.h"

#include "config.h"
#include "log.h"
#include "mailbox.h"
#include "sock.h"

/* A waiting thread looks again at least this often (lost wake-ups, the
 * deadline). */
#define GRANT_POLL_MS 100

int grant_covers(const struct gate_dev *d)
{
	uint64_t cap = d->capacity_bytes ? d->capacity_bytes : d->total_bytes;
	uint64_t need = d->allocated_bytes;

	if (cap && need > cap)
		need = cap;
	return d->granted_bytes >= need;
}

void grant_update_sent(struct gate_dev *d, uint64_t allocated, uint64_t seq)
{
	d->mem_seq = seq;
	if (d->granted_bytes > allocated)
		d->granted_bytes = allocated;
}

int grant_received(struct gate_dev *d, uint64_t granted, uint64_t seq)
{
	int taken;

	pthread_mutex_lock(&d->mu);
	taken = seq == d->mem_seq;
	if (taken)
		d->granted_bytes = granted;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return taken;
}

void grant_reset(struct gate_dev *d)
{
	pthread_mutex_lock(&d->mu);
	d->granted_bytes = 0;
	d->short_grant = 0;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

enum grant_wait grant_await(struct gate_dev *d, int deferrable, const char *api)
{
	long long start = nvs_now_ns(), deadline;
	enum grant_wait verdict;
	struct timespec until;
	int waited = 0, ring;

	deadline = start + (long long)config_get()->grant_wait_ms * 1000000;
	pthread_mutex_lock(&d->mu);
	for (;;) {
		if (!mailbox_managed() || (d->holding && grant_covers(d))) {
			verdict = GRANT_GO;
			break;
		}
		if (!d->holding && deferrable) {
			verdict = GRANT_DEFER;
			break;
		}
		if (nvs_now_ns() >= deadline) {
			verdict = GRANT_REFUSED;
			break;
		}
		/* Memory that is real at once needs the GPU first. */
		ring = !waited++;
		if (!d->holding && !d->requested &&
		    !(d->todo & GATE_TODO_REQUEST)) {
			d->todo |= GATE_TODO_REQUEST;
			ring = 1;
		}
		if (waited == 1)
			d->grant_waiters++;
		if (ring) {
			/* Ring, then look again before sleeping: the answer
			 * may come while the lock is down. */
			pthread_mutex_unlock(&d->mu);
			mailbox_notify();
			pthread_mutex_lock(&d->mu);
			continue;
		}
		nvs_deadline_ms(&until, GRANT_POLL_MS);
		pthread_cond_timedwait(&d->cv, &d->mu, &until);
	}
	if (waited)
		d->grant_waiters--;
	pthread_mutex_unlock(&d->mu);
	if (verdict == GRANT_REFUSED)
		NVS_WARN("event=grant_timeout gpu=%s api=%s waited_ms=%lld "
		         "msg=\"no room on the GPU in time: out of memory\"",
		         d->uuid, api, (nvs_now_ns() - start) / 1000000);
	else if (waited > 1)
		NVS_DEBUG("event=grant_waited gpu=%s api=%s ms=%lld", d->uuid,
		          api, (nvs_now_ns() - start) / 1000000);
	return verdict;
}
