/*
 * metrics_counters.c - see metrics_counters.h.
 */
#include "metrics_counters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

struct metrics_counters metrics_global;

/* Handling a message takes microseconds; a slow one, milliseconds. */
const int64_t metrics_event_bounds_ns[METRICS_EVENT_BUCKETS] = {
    1000,   2500,   5000,    10000,   25000,    50000,
    100000, 250000, 1000000, 5000000, 25000000, 100000000,
};

/* Waits and holds run from a grant at once to slices of seconds and
 * minutes (max-run 30 s by default). Few buckets: every client and GPU
 * has two of these histograms on the page. */
const int64_t metrics_lock_bounds_ns[METRICS_LOCK_BUCKETS] = {
    1000000,    10000000,   100000000,   500000000,
    1000000000, 2500000000, 10000000000, 60000000000,
};

void metrics_counters_free(struct metrics_counters *mc)
{
	for (size_t i = 0; i < mc->nclients; i++)
		free(mc->clients[i].gpus);
	free(mc->clients);
	free(mc->gpus);
	memset(mc, 0, sizeof(*mc));
}

static size_t bucket_of(const int64_t *bounds, size_t n, int64_t v)
{
	size_t i = 0;

	while (i < n && v > bounds[i])
		i++;
	return i;
}

void metrics_message(struct metrics_counters *mc, uint16_t type,
                     int64_t handling_ns)
{
	if (handling_ns < 0)
		handling_ns = 0;
	mc->messages[type < METRICS_MSG_TYPES ? type : METRICS_MSG_TYPES - 1]++;
	mc->event.bucket[bucket_of(metrics_event_bounds_ns,
	                           METRICS_EVENT_BUCKETS, handling_ns)]++;
	mc->event.count++;
	mc->event.sum_ns += handling_ns;
}

void metrics_protocol_error(struct metrics_counters *mc)
{
	mc->protocol_errors++;
}

void metrics_connection_refused(struct metrics_counters *mc)
{
	mc->connections_refused++;
}

/* Index of the first client entry with an id >= id. */
static size_t client_pos(const struct metrics_counters *mc, uint64_t id)
{
	size_t lo = 0, hi = mc->nclients;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mc->clients[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct metrics_client *client_get(struct metrics_counters *mc,
                                         uint64_t id)
{
	size_t pos = client_pos(mc, id);

	if (pos < mc->nclients && mc->clients[pos].id == id)
		return &mc->clients[pos];
	if (mc->nclients == mc->clients_cap) {
		size_t ncap = mc->clients_cap ? mc->clients_cap * 2 : 16;
		void *p = realloc(mc->clients, ncap * sizeof(mc->clients[0]));

		if (!p)
			return NULL;
		mc->clients = p;
		mc->clients_cap = ncap;
	}
	/* Ids only grow: this is nearly always an append. */
	memmove(&mc->clients[pos + 1], &mc->clients[pos],
	        (mc->nclients - pos) * sizeof(mc->clients[0]));
	mc->nclients++;
	memset(&mc->clients[pos], 0, sizeof(mc->clients[pos]));
	mc->clients[pos].id = id;
	return &mc->clients[pos];
}

static struct metrics_client_gpu *client_gpu_get(struct metrics_counters *mc,
                                                 uint64_t id, const char *uuid)
{
	struct metrics_client *c = client_get(mc, id);
	struct metrics_client_gpu *e;

	if (!c)
		return NULL;
	for (size_t i = 0; i < c->ngpus; i++)
		if (strcmp(c->gpus[i].uuid, uuid) == 0)
			return &c->gpus[i];
	/* The registry bounds a client's GPUs; so does this. */
	if (c->ngpus >= REGISTRY_CLIENT_MAX_GPUS)
		return NULL;
	if (c->ngpus == c->gpus_cap) {
		size_t ncap = c->gpus_cap ? c->gpus_cap * 2 : 2;
		void *p = realloc(c->gpus, ncap * sizeof(c->gpus[0]));

		if (!p)
			return NULL;
		c->gpus = p;
		c->gpus_cap = ncap;
	}
	e = &c->gpus[c->ngpus++];
	memset(e, 0, sizeof(*e));
	snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
	return e;
}

static void observe(struct metrics_hist_lock *h, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	h->bucket[bucket_of(metrics_lock_bounds_ns, METRICS_LOCK_BUCKETS,
	                    ns)]++;
	h->count++;
	h->sum_ns += ns;
}

void metrics_lock_granted(struct metrics_counters *mc, uint64_t client,
                          const char *uuid, int64_t waited_ns, int64_t now)
{
	struct metrics_client_gpu *e = client_gpu_get(mc, client, uuid);

	if (!e)
		return;
	observe(&e->wait, waited_ns);
	/* 0 means "not held": a grant at time 0 does not occur (monotonic
	 * clock since boot). */
	e->granted_at_ns = now ? now : 1;
}

void metrics_lock_ended(struct metrics_counters *mc, uint64_t client,
                        const char *uuid, int64_t now)
{
	struct metrics_client_gpu *e = client_gpu_get(mc, client, uuid);

	if (!e || !e->granted_at_ns)
		return;
	observe(&e->hold, now - e->granted_at_ns);
	e->granted_at_ns = 0;
}

static struct metrics_gpu *gpu_get(struct metrics_counters *mc,
                                   const char *uuid)
{
	for (size_t i = 0; i < mc->ngpus; i++)
		if (strcmp(mc->gpus[i].uuid, uuid) == 0)
			return &mc->gpus[i];
	if (mc->ngpus >= REGISTRY_MAX_GPUS)
		return NULL;
	if (mc->ngpus == mc->gpus_cap) {
		size_t ncap = mc->gpus_cap ? mc->gpus_cap * 2 : 4;
		void *p = realloc(mc->gpus, ncap * sizeof(mc->gpus[0]));

		if (!p)
			return NULL;
		mc->gpus = p;
		mc->gpus_cap = ncap;
	}
	memset(&mc->gpus[mc->ngpus], 0, sizeof(mc->gpus[0]));
	snprintf(mc->gpus[mc->ngpus].uuid, sizeof(mc->gpus[0].uuid), "%s",
	         uuid);
	return &mc->gpus[mc->ngpus++];
}

void metrics_swapped(struct metrics_counters *mc, const char *uuid,
                     unsigned dir, uint64_t bytes)
{
	struct metrics_gpu *g = gpu_get(mc, uuid);

	if (!g || dir > 1)
		return;
	g->swaps[dir]++;
	g->swap_bytes[dir] += bytes;
}

void metrics_throttle(struct metrics_counters *mc, uint64_t client,
                      const char *uuid, int on, int64_t now)
{
	struct metrics_client_gpu *e = client_gpu_get(mc, client, uuid);

	if (!e || !!on == e->throttled)
		return;
	if (on)
		e->throttled_since_ns = now;
	else if (now > e->throttled_since_ns)
		e->throttled_ns += now - e->throttled_since_ns;
	e->throttled = !!on;
}

void metrics_client_gone(struct metrics_counters *mc, uint64_t client)
{
	size_t pos = client_pos(mc, client);

	if (pos >= mc->nclients || mc->clients[pos].id != client)
		return;
	free(mc->clients[pos].gpus);
	memmove(&mc->clients[pos], &mc->clients[pos + 1],
	        (mc->nclients - pos - 1) * sizeof(mc->clients[0]));
	mc->nclients--;
}

static int registry_has_client(const struct sched_registry *r, uint64_t id)
{
	size_t lo = 0, hi = r->nclients;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->clients[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nclients && r->clients[lo]->id == id;
}

static int registry_has_gpu(const struct sched_registry *r, const char *uuid)
{
	for (size_t i = 0; i < r->ngpus; i++)
		if (strcmp(r->gpus[i]->uuid, uuid) == 0)
			return 1;
	return 0;
}

void metrics_counters_gc(struct metrics_counters *mc,
                         const struct sched_registry *r)
{
	size_t kept = 0;

	for (size_t i = 0; i < mc->nclients; i++) {
		if (registry_has_client(r, mc->clients[i].id))
			mc->clients[kept++] = mc->clients[i];
		else
			free(mc->clients[i].gpus);
	}
	mc->nclients = kept;
	kept = 0;
	for (size_t i = 0; i < mc->ngpus; i++)
		if (registry_has_gpu(r, mc->gpus[i].uuid))
			mc->gpus[kept++] = mc->gpus[i];
	mc->ngpus = kept;
}

const struct metrics_client_gpu *
metrics_client_gpu_of(const struct metrics_counters *mc, uint64_t client,
                      const char *uuid)
{
	size_t pos = client_pos(mc, client);
	const struct metrics_client *c;

	if (pos >= mc->nclients || mc->clients[pos].id != client)
		return NULL;
	c = &mc->clients[pos];
	for (size_t i = 0; i < c->ngpus; i++)
		if (strcmp(c->gpus[i].uuid, uuid) == 0)
			return &c->gpus[i];
	return NULL;
}

const struct metrics_gpu *metrics_gpu_of(const struct metrics_counters *mc,
                                         const char *uuid)
{
	for (size_t i = 0; i < mc->ngpus; i++)
		if (strcmp(mc->gpus[i].uuid, uuid) == 0)
			return &mc->gpus[i];
	return NULL;
}

int64_t metrics_throttled_ns(const struct metrics_client_gpu *e, int64_t now)
{
	int64_t ns = e->throttled_ns;

	if (e->throttled && now > e->throttled_since_ns)
		ns += now - e->throttled_since_ns;
	return ns;
}
