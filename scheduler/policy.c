/*
 * policy.c - see policy.h. Every entry point changes the state for its event
 * and then calls advance(), which applies the rules that depend only on the
 * state and the time, until none applies:
 *   1. admission: the lock is free and someone waits -> grant the oldest;
 *   2. revocation: a holder was asked to drop the lock, someone waits, and
 *      the grace period has passed -> take the lock away (counted);
 *   3. drop request: someone waits and a holder's slice is over -> ask it
 *      once to drop the lock.
 * Because the same rules run after every event and every tick, a change
 * (a new waiter, a shorter slice) takes effect at once.
 */
#include "policy.h"

#include <stdlib.h>
#include <string.h>

void policy_gpu_init(struct policy_gpu *g, int64_t slice_ns, int64_t grace_ns)
{
	memset(g, 0, sizeof(*g));
	g->slice_ns = slice_ns;
	g->grace_ns = grace_ns;
}

void policy_gpu_destroy(struct policy_gpu *g)
{
	free(g->running);
	free(g->queue);
	memset(g, 0, sizeof(*g));
}

void policy_set_times(struct policy_gpu *g, int64_t slice_ns, int64_t grace_ns)
{
	g->slice_ns = slice_ns;
	g->grace_ns = grace_ns;
}

const char *policy_kind_name(enum policy_kind kind)
{
	switch (kind) {
	case POLICY_GRANT: return "GRANT";
	case POLICY_CONFIRM: return "CONFIRM";
	case POLICY_DROP: return "DROP";
	case POLICY_REVOKE: return "REVOKE";
	}
	return "UNKNOWN";
}

static int out_room(const struct policy_out *out)
{
	return out->n < POLICY_OUT_MAX;
}

static void out_push(struct policy_out *out, enum policy_kind kind,
                     uint64_t client, int64_t span_ns)
{
	struct policy_action *a = &out->act[out->n++];

	a->kind = kind;
	a->client = client;
	a->span_ns = span_ns;
}

static long find_holder(const struct policy_gpu *g, uint64_t client)
{
	for (size_t i = 0; i < g->nrunning; i++)
		if (g->running[i].client == client)
			return (long)i;
	return -1;
}

static long find_waiter(const struct policy_gpu *g, uint64_t client)
{
	for (size_t i = 0; i < g->nqueue; i++)
		if (g->queue[i].client == client)
			return (long)i;
	return -1;
}

static void remove_holder(struct policy_gpu *g, size_t i)
{
	memmove(&g->running[i], &g->running[i + 1],
	        (g->nrunning - i - 1) * sizeof(g->running[0]));
	g->nrunning--;
}

static void remove_waiter(struct policy_gpu *g, size_t i)
{
	memmove(&g->queue[i], &g->queue[i + 1],
	        (g->nqueue - i - 1) * sizeof(g->queue[0]));
	g->nqueue--;
}

/* Grows an array to hold one more element; 0 or -1. */
static int reserve(void **arr, size_t *cap, size_t used, size_t elem)
{
	size_t ncap;
	void *p;

	if (used < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 4;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Rule 1. The exclusive rule: admit only into an empty running set. This
 * is the one place memory-aware admission will change. */
static int admit(struct policy_gpu *g, int64_t now, struct policy_out *out)
{
	struct policy_waiter w;

	if (g->nrunning > 0 || g->nqueue == 0 || !out_room(out))
		return 0;
	if (reserve((void **)&g->running, &g->running_cap, g->nrunning,
	            sizeof(g->running[0])))
		return 0; /* retried on the next tick */
	w = g->queue[0];
	remove_waiter(g, 0);
	g->running[g->nrunning++] = (struct policy_holder){
	    .client = w.client,
	    .granted_at_ns = now,
	    .drop_sent_at_ns = POLICY_NEVER,
	};
	g->lock_grants++;
	out_push(out, POLICY_GRANT, w.client, now - w.since_ns);
	return 1;
}

/* Rule 2: a holder that was asked and did not answer within the grace. */
static int revoke_overdue(struct policy_gpu *g, int64_t now,
                          struct policy_out *out)
{
	if (g->nqueue == 0)
		return 0;
	for (size_t i = 0; i < g->nrunning; i++) {
		struct policy_holder h = g->running[i];

		if (h.drop_sent_at_ns == POLICY_NEVER ||
		    now - h.drop_sent_at_ns < g->grace_ns)
			continue;
		if (!out_room(out))
			return 0;
		remove_holder(g, i);
		g->forced_releases++;
		out_push(out, POLICY_REVOKE, h.client, now - h.granted_at_ns);
		return 1;
	}
	return 0;
}

/* Rule 3: ask holders whose slice is over, once, while someone waits. */
static void request_drops(struct policy_gpu *g, int64_t now,
                          struct policy_out *out)
{
	if (g->nqueue == 0)
		return;
	for (size_t i = 0; i < g->nrunning; i++) {
		struct policy_holder *h = &g->running[i];

		if (h->drop_sent_at_ns != POLICY_NEVER ||
		    now - h->granted_at_ns < g->slice_ns)
			continue;
		if (!out_room(out))
			return;
		h->drop_sent_at_ns = now;
		out_push(out, POLICY_DROP, h->client, now - h->granted_at_ns);
	}
}

static void advance(struct policy_gpu *g, int64_t now, struct policy_out *out)
{
	for (;;) {
		if (admit(g, now, out))
			continue;
		if (revoke_overdue(g, now, out))
			continue;
		request_drops(g, now, out);
		return;
	}
}

int policy_request(struct policy_gpu *g, uint64_t client, int64_t now,
                   struct policy_out *out)
{
	long i = find_holder(g, client);

	if (i >= 0) {
		if (out_room(out))
			out_push(out, POLICY_CONFIRM, client,
			         now - g->running[i].granted_at_ns);
		advance(g, now, out);
		return 0;
	}
	if (find_waiter(g, client) < 0) {
		if (reserve((void **)&g->queue, &g->queue_cap, g->nqueue,
		            sizeof(g->queue[0])))
			return -1;
		g->queue[g->nqueue++] = (struct policy_waiter){
		    .client = client,
		    .since_ns = now,
		};
	}
	advance(g, now, out);
	return 0;
}

int policy_release(struct policy_gpu *g, uint64_t client, int64_t now,
                   struct policy_out *out)
{
	long i = find_holder(g, client);

	if (i < 0)
		return 0;
	remove_holder(g, (size_t)i);
	advance(g, now, out);
	return 1;
}

void policy_disconnect(struct policy_gpu *g, uint64_t client, int64_t now,
                       struct policy_out *out)
{
	long i = find_holder(g, client);

	if (i >= 0)
		remove_holder(g, (size_t)i);
	i = find_waiter(g, client);
	if (i >= 0)
		remove_waiter(g, (size_t)i);
	advance(g, now, out);
}

int64_t policy_next_deadline(const struct policy_gpu *g)
{
	int64_t next = POLICY_NO_DEADLINE;

	if (g->nqueue == 0)
		return next;
	if (g->nrunning == 0)
		return INT64_MIN; /* admission pending (an out was full) */
	for (size_t i = 0; i < g->nrunning; i++) {
		const struct policy_holder *h = &g->running[i];
		int64_t t = h->drop_sent_at_ns == POLICY_NEVER
		                ? h->granted_at_ns + g->slice_ns
		                : h->drop_sent_at_ns + g->grace_ns;
		if (t < next)
			next = t;
	}
	return next;
}

int64_t policy_tick(struct policy_gpu *g, int64_t now, struct policy_out *out)
{
	int64_t next;

	advance(g, now, out);
	next = policy_next_deadline(g);
	/* Something left undone for want of room in out: come back at once. */
	return next < now ? now : next;
}

void policy_clear(struct policy_gpu *g)
{
	g->nrunning = 0;
	g->nqueue = 0;
}

enum policy_state policy_state_of(const struct policy_gpu *g, uint64_t client,
                                  int64_t *since_ns)
{
	long i = find_holder(g, client);

	if (i >= 0) {
		*since_ns = g->running[i].granted_at_ns;
		return POLICY_HOLDING;
	}
	i = find_waiter(g, client);
	if (i >= 0) {
		*since_ns = g->queue[i].since_ns;
		return POLICY_WAITING;
	}
	*since_ns = 0;
	return POLICY_IDLE;
}
