/*
 * policy.c - see policy.h. Every entry point changes the state for its event
 * and then calls advance(), which applies the rules that depend only on the
 * state and the time, until none applies:
 *   1. admission: the head of the queue fits (memory, and in serial mode
 *      nobody runs) -> grant it, then look at the next head;
 *   2. revocation: a holder was asked to drop the lock, someone waits, and
 *      the grace period has passed -> take the lock away (counted);
 *   3. eviction timeout: an idle client asked to move its memory out did
 *      not report it within the grace -> counted (its memory stays counted
 *      on the GPU: a stopped process still has it there, and the next
 *      client waits rather than find the GPU full), not asked again for a
 *      grace;
 *   4. making room for the head: idle resident clients are evicted, oldest
 *      idle first, when that is enough; otherwise, once the time slice of
 *      the longest-running client that must leave is over, running clients
 *      are dropped (longest-running first, with their memory swapped out
 *      where it is needed; in serial mode every running client is dropped);
 *   5. every waiter is told why it waits, once per change of reason.
 * The same rules run after every event and every tick, so a change (a new
 * waiter, a shorter slice, memory freed) takes effect at once.
 *
 * Memory: a client "occupies" its grant (what it may back) while it runs
 * or while its memory is resident, and the pinned part of its grant when
 * its memory is on the host. The head H fits when what the others occupy
 * plus H's footprint (at most the capacity, so that a client larger than
 * the GPU can still run alone) does not exceed the capacity. A running
 * client that outgrows its grant waits for room the same way (rule 0 and
 * rule 4 on its behalf, ahead of the queue), so that the sum of what the
 * clients occupy never exceeds the capacity: the library backs no byte
 * beyond its grant.
 */
#include "policy.h"

#include <stdlib.h>
#include <string.h>

#include "settings.h"

/* The policy's modes are those of settings.h (CTL_SET MODE carries them,
 * and they are named there once). */
_Static_assert((int)POLICY_MODE_AUTO == (int)NVS_MODE_AUTO &&
                   (int)POLICY_MODE_SERIAL == (int)NVS_MODE_SERIAL &&
                   (int)POLICY_MODE_CONCURRENT == (int)NVS_MODE_CONCURRENT,
               "modes");

void policy_set_settings(struct policy_gpu *g, const struct policy_settings *s)
{
	g->mode = s->mode;
	g->slice_ns = s->slice_ns;
	g->max_run_ns = s->max_run_ns;
	g->grace_ns = s->grace_ns;
}

void policy_gpu_init(struct policy_gpu *g, uint64_t capacity_bytes,
                     const struct policy_settings *s)
{
	memset(g, 0, sizeof(*g));
	g->capacity_bytes = capacity_bytes;
	g->host_room_bytes = UINT64_MAX;
	g->bw_out = POLICY_BW_OUT_DEFAULT;
	g->bw_in = POLICY_BW_IN_DEFAULT;
	policy_set_settings(g, s);
}

void policy_gpu_destroy(struct policy_gpu *g)
{
	free(g->running);
	free(g->queue);
	free(g->members);
	memset(g, 0, sizeof(*g));
}

const char *policy_kind_name(enum policy_kind kind)
{
	switch (kind) {
	case POLICY_GRANT: return "GRANT";
	case POLICY_CONFIRM: return "CONFIRM";
	case POLICY_DROP: return "DROP";
	case POLICY_REVOKE: return "REVOKE";
	case POLICY_EVICT: return "EVICT";
	case POLICY_WAIT: return "WAIT";
	case POLICY_EVICT_TIMEOUT: return "EVICT_TIMEOUT";
	case POLICY_MEM_GRANT: return "MEM_GRANT";
	}
	return "UNKNOWN";
}

const char *policy_mode_name(enum policy_mode mode)
{
	const char *name = nvs_mode_name((unsigned)mode);

	return name ? name : "unknown";
}

const char *policy_wait_reason_name(enum policy_wait_reason reason)
{
	switch (reason) {
	case POLICY_WAIT_TURN: return "turn";
	case POLICY_WAIT_MEMORY: return "memory";
	case POLICY_WAIT_HOST: return "host";
	case POLICY_WAIT_NONE: break;
	}
	return "none";
}

/* The invariants after every step, where checks are built in. */
#ifdef NVSHARE_CHECKS
#define NVS_POLICY_CHECK(g) policy_check_invariants(g)
#else
#define NVS_POLICY_CHECK(g) ((void)0)
#endif

/* --- small helpers --------------------------------------------------------
 */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static int64_t sat_add_ns(int64_t t, int64_t d)
{
	return t > INT64_MAX - d ? INT64_MAX : t + d;
}

static int out_room(const struct policy_out *out)
{
	return out->n < POLICY_OUT_MAX;
}

static struct policy_action *out_push(struct policy_out *out,
                                      enum policy_kind kind, uint64_t client,
                                      int64_t span_ns)
{
	struct policy_action *a = &out->act[out->n++];

	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->client = client;
	a->span_ns = span_ns;
	return a;
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

static long find_member(const struct policy_gpu *g, uint64_t client)
{
	for (size_t i = 0; i < g->nmembers; i++)
		if (g->members[i].client == client)
			return (long)i;
	return -1;
}

/* Every holder and waiter is a member (policy_request registers). */
static struct policy_member *member(struct policy_gpu *g, uint64_t client)
{
	return &g->members[find_member(g, client)];
}

static const struct policy_member *cmember(const struct policy_gpu *g,
                                           uint64_t client)
{
	return &g->members[find_member(g, client)];
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

static void remove_member(struct policy_gpu *g, size_t i)
{
	memmove(&g->members[i], &g->members[i + 1],
	        (g->nmembers - i - 1) * sizeof(g->members[0]));
	g->nmembers--;
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

/* The member entry of client, added (resident, no memory) if new; -1 if
 * memory ran out. */
static long member_get(struct policy_gpu *g, uint64_t client, int64_t now)
{
	long i = find_member(g, client);

	if (i >= 0)
		return i;
	if (reserve((void **)&g->members, &g->members_cap, g->nmembers,
	            sizeof(g->members[0])))
		return -1;
	g->members[g->nmembers] = (struct policy_member){
	    .client = client,
	    .resident = 1,
	    .idle_since_ns = now,
	};
	return (long)g->nmembers++;
}

/* The holder at index i leaves the running set; its member becomes the
 * most recently idle (members stay ordered by idle_since_ns). */
static void stop_running(struct policy_gpu *g, size_t i, int64_t now)
{
	long mi = find_member(g, g->running[i].client);
	struct policy_member m;

	remove_holder(g, i);
	m = g->members[mi];
	m.running = 0;
	m.idle_since_ns = now;
	remove_member(g, (size_t)mi);
	g->members[g->nmembers++] = m;
}

static uint64_t need_of(const struct policy_gpu *g,
                        const struct policy_member *m)
{
	return m->footprint_bytes < g->capacity_bytes ? m->footprint_bytes
	                                              : g->capacity_bytes;
}

/* m's memory is all on the GPU, as its library brings it back (a grant,
 * or running unmanaged): its whole need is its grant. */
static void all_resident(const struct policy_gpu *g, struct policy_member *m)
{
	m->resident = 1;
	m->host_bytes = 0;
	m->granted_bytes = need_of(g, m);
	m->pinned_held = m->pinned_bytes;
}

static int occupies(const struct policy_member *m)
{
	return m->running || m->resident;
}

uint64_t policy_occupied_bytes(const struct policy_member *m)
{
	if (occupies(m))
		return m->granted_bytes;
	return m->pinned_held < m->granted_bytes ? m->pinned_held
	                                         : m->granted_bytes;
}

/* What moving m's memory to the host would free on the GPU (nothing for
 * an unmanaged member: it does not answer EVICT or DROP_LOCK). */
static uint64_t movable_of(const struct policy_member *m)
{
	uint64_t occ = policy_occupied_bytes(m);

	if (m->unmanaged)
		return 0;
	return occ > m->pinned_held ? occ - m->pinned_held : 0;
}

int policy_growing(const struct policy_gpu *g, const struct policy_member *m)
{
	return m->running && g->mode != POLICY_MODE_CONCURRENT &&
	       need_of(g, m) > m->granted_bytes;
}

static uint64_t used_bytes(const struct policy_gpu *g)
{
	uint64_t used = 0;

	for (size_t i = 0; i < g->nmembers; i++)
		used = sat_add(used, policy_occupied_bytes(&g->members[i]));
	return used;
}

/* Bytes the others occupy beside m, given the total. */
static uint64_t others_of(const struct policy_member *m, uint64_t used)
{
	if (used == UINT64_MAX)
		return used;
	return used - policy_occupied_bytes(m);
}

/* A running client that waits for room to grow and is not on its way out
 * (a drop sent): room is made for it as for the head of the queue. */
static int wants_room(const struct policy_gpu *g, const struct policy_holder *r)
{
	return r->drop_sent_at_ns == POLICY_NEVER &&
	       policy_growing(g, cmember(g, r->client));
}

/* Someone waits for memory or a turn: the queue, or a growing client. */
static int anyone_waits(const struct policy_gpu *g)
{
	if (g->nqueue > 0)
		return 1;
	for (size_t i = 0; i < g->nrunning; i++)
		if (policy_growing(g, cmember(g, g->running[i].client)))
			return 1;
	return 0;
}

static enum policy_wait_reason reason_for(const struct policy_gpu *g,
                                          const struct policy_member *m,
                                          uint64_t used)
{
	uint64_t others = others_of(m, used), room;

	if (others <= g->capacity_bytes - need_of(g, m))
		return POLICY_WAIT_TURN;
	room = g->capacity_bytes - need_of(g, m);
	return others - room > g->host_room_bytes ? POLICY_WAIT_HOST
	                                          : POLICY_WAIT_MEMORY;
}

/* Whether the host swap budget has room for m's memory, taking it from
 * *room if so: what is evicted or dropped goes to the host. */
static int host_takes(const struct policy_member *m, uint64_t *room)
{
	uint64_t bytes = movable_of(m);

	if (bytes > *room)
		return 0;
	*room -= bytes;
	return 1;
}

/* --- the slice ------------------------------------------------------------
 */

/* The slice for a switch that moves bytes_out to the host and bytes_in
 * back to the GPU. */
static void slice_for(const struct policy_gpu *g, uint64_t bytes_out,
                      uint64_t bytes_in, struct policy_slice *s)
{
	double swap = (double)bytes_out / g->bw_out +
	              (double)bytes_in / g->bw_in; /* ns */
	double v;

	s->swap_ns = swap >= 9e18 ? INT64_MAX : (int64_t)swap;
	if (g->slice_ns != POLICY_SLICE_AUTO) {
		v = (double)g->slice_ns;
		s->why = POLICY_SLICE_FIXED;
	} else {
		v = POLICY_AUTO_SLICE_FACTOR * swap;
		s->why = POLICY_SLICE_AUTO_SWAP;
		if (v < (double)POLICY_AUTO_SLICE_FLOOR_NS) {
			v = (double)POLICY_AUTO_SLICE_FLOOR_NS;
			s->why = POLICY_SLICE_AUTO_FLOOR;
		}
	}
	if (v > (double)g->max_run_ns) {
		s->ns = g->max_run_ns;
		s->why = POLICY_SLICE_MAX_RUN;
	} else {
		s->ns = (int64_t)v;
	}
}

/* --- the plan for the head of the queue -----------------------------------
 */

struct plan {
	const struct policy_member *head; /* whom room is made for: the
	                                     head, or a growing client */
	int fits;                         /* it may be granted now */
	uint64_t evict_need;       /* idle bytes to evict now (rule 4, first
	                              part), 0 if none */
	uint64_t drop_need;        /* bytes running clients must give up; all
	                              idle ones are evicted along with them */
	int serial;                /* drop every running client (turn) */
	size_t ndrops;             /* running clients the drops would concern */
	int64_t drop_at;           /* when they go out, or POLICY_NO_DEADLINE */
	uint64_t evict_room;       /* host swap budget left for evictions */
	uint64_t room;             /* ... and for the drops, after them */
	struct policy_slice slice; /* slice in effect for this switch */
};

/* Decides for the next drop candidate, in running order: returns 1 if it
 * is dropped and sets *flags; *cover accumulates the bytes freed. */
/* Memory a move to the host would free now: none while the member's last
 * swap-out left memory behind and its grace is not over. */
static uint64_t freeable(const struct policy_gpu *g,
                         const struct policy_member *m)
{
	return m->stuck_until_ns > g->now_ns ? 0 : movable_of(m);
}

static int drop_decision(const struct policy_gpu *g, const struct plan *p,
                         const struct policy_member *m, uint64_t *cover,
                         uint64_t *room, uint32_t *flags)
{
	int helps =
	    freeable(g, m) > 0 && *cover < p->drop_need && host_takes(m, room);

	*flags = helps ? POLICY_DROP_SWAP_OUT : 0;
	if (helps)
		*cover = sat_add(*cover, movable_of(m));
	return helps || p->serial;
}

/* An idle member whose memory an EVICT would free. */
static int evictable(const struct policy_gpu *g, const struct policy_member *m,
                     const struct policy_member *head)
{
	return m != head && !m->running && m->resident && !m->evicting &&
	       freeable(g, m) > 0;
}

/* The plan for h: the head of the queue, or (growth) a running client
 * that waits for room to grow, which drops nobody in serial mode's turn
 * and is not a drop candidate itself. */
static void make_plan(const struct policy_gpu *g, const struct policy_member *h,
                      int growth, struct plan *p)
{
	uint64_t need = need_of(g, h), others = 0, pending = 0, idle = 0;
	uint64_t deficit, rem, cover = 0, bytes_out = 0, room;
	const struct policy_holder *first = NULL;
	int turn = !growth && g->mode == POLICY_MODE_SERIAL && g->nrunning > 0;

	memset(p, 0, sizeof(*p));
	p->head = h;
	p->drop_at = POLICY_NO_DEADLINE;
	for (size_t i = 0; i < g->nmembers; i++) {
		const struct policy_member *m = &g->members[i];

		if (m == h)
			continue;
		others = sat_add(others, policy_occupied_bytes(m));
		if (m->evicting)
			pending = sat_add(pending, movable_of(m));
	}
	for (size_t i = 0; i < g->nrunning; i++)
		if (g->running[i].drop_sent_at_ns != POLICY_NEVER &&
		    (g->running[i].drop_flags & POLICY_DROP_SWAP_OUT))
			pending = sat_add(
			    pending,
			    movable_of(cmember(g, g->running[i].client)));
	/* What is on its way to the host is not counted by the caller yet;
	 * idle memory evicted goes first, in the order evict() takes it. */
	room = g->host_room_bytes > pending ? g->host_room_bytes - pending : 0;
	p->evict_room = room;
	for (size_t i = 0; i < g->nmembers; i++)
		if (evictable(g, &g->members[i], h) &&
		    host_takes(&g->members[i], &room))
			idle = sat_add(idle, movable_of(&g->members[i]));
	p->room = room;
	deficit = others > g->capacity_bytes - need
	              ? others - (g->capacity_bytes - need)
	              : 0;
	p->fits = !turn && deficit == 0;
	rem = deficit > pending ? deficit - pending : 0;
	if (rem <= idle)
		p->evict_need = rem;
	else
		p->drop_need = rem - idle;
	p->serial = turn;
	if (!p->fits && (turn || p->drop_need > 0)) {
		for (size_t i = 0; i < g->nrunning; i++) {
			const struct policy_holder *r = &g->running[i];
			const struct policy_member *m;
			uint32_t flags;

			if (r->drop_sent_at_ns != POLICY_NEVER ||
			    r->client == h->client)
				continue;
			m = cmember(g, r->client);
			if (!drop_decision(g, p, m, &cover, &room, &flags))
				continue;
			if (!first)
				first = r;
			p->ndrops++;
			if ((flags & POLICY_DROP_SWAP_OUT) && m->resident)
				bytes_out = sat_add(bytes_out, movable_of(m));
		}
	}
	slice_for(g, bytes_out,
	          occupies(h) ? 0 : h->footprint_bytes - h->pinned_bytes,
	          &p->slice);
	if (first) {
		const struct policy_member *fm = cmember(g, first->client);

		p->drop_at = sat_add_ns(first->granted_at_ns, p->slice.ns);
		/* A client blocked waiting for room to grow does no work: its
		 * slice is over as soon as it waits, or growers that block
		 * each other would leave the GPU idle until a slice ends. */
		if (policy_growing(g, fm) && fm->grow_since_ns < p->drop_at)
			p->drop_at = fm->grow_since_ns;
	}
}

/* --- the rules ------------------------------------------------------------
 */

static void grant_head(struct policy_gpu *g, int64_t now,
                       struct policy_out *out)
{
	struct policy_waiter w = g->queue[0];
	struct policy_member *m = member(g, w.client);

	remove_waiter(g, 0);
	g->running[g->nrunning++] = (struct policy_holder){
	    .client = w.client,
	    .granted_at_ns = now,
	    .drop_sent_at_ns = POLICY_NEVER,
	};
	/* The library brings its memory back before it runs. */
	m->in_due = !m->resident;
	m->out_asked = 0;
	m->running = 1;
	m->evicting = 0;
	all_resident(g, m);
	g->lock_grants++;
	out_push(out, POLICY_GRANT, w.client, now - w.since_ns)->granted_bytes =
	    m->granted_bytes;
}

/* Rule 0: a running client's growth that fits beside the others is
 * granted, first come first served in running order. */
static int grow(struct policy_gpu *g, int64_t now, struct policy_out *out)
{
	uint64_t used = used_bytes(g);

	for (size_t i = 0; i < g->nrunning; i++) {
		struct policy_member *m = member(g, g->running[i].client);
		uint64_t need = need_of(g, m);

		if (!policy_growing(g, m) ||
		    others_of(m, used) > g->capacity_bytes - need)
			continue;
		if (!out_room(out))
			return 0;
		m->granted_bytes = need;
		m->pinned_held = m->pinned_bytes;
		out_push(out, POLICY_MEM_GRANT, m->client,
		         now - m->grow_since_ns)
		    ->granted_bytes = need;
		return 1;
	}
	return 0;
}

/* Rule 1. */
static int admit(struct policy_gpu *g, int64_t now, struct policy_out *out)
{
	struct plan p;

	if (g->nqueue == 0 || !out_room(out))
		return 0;
	if (g->mode != POLICY_MODE_CONCURRENT) {
		make_plan(g, cmember(g, g->queue[0].client), 0, &p);
		if (!p.fits)
			return 0;
	}
	if (reserve((void **)&g->running, &g->running_cap, g->nrunning,
	            sizeof(g->running[0])))
		return 0; /* retried on the next tick */
	grant_head(g, now, out);
	return 1;
}

/* Rule 2: a holder that was asked and did not answer within the grace.
 * As far as we know its memory is still on the GPU. */
static int revoke_overdue(struct policy_gpu *g, int64_t now,
                          struct policy_out *out)
{
	if (!anyone_waits(g))
		return 0;
	for (size_t i = 0; i < g->nrunning; i++) {
		struct policy_holder h = g->running[i];

		if (h.drop_sent_at_ns == POLICY_NEVER ||
		    now - h.drop_sent_at_ns < g->grace_ns)
			continue;
		if (!out_room(out))
			return 0;
		stop_running(g, i, now);
		g->forced_releases++;
		out_push(out, POLICY_REVOKE, h.client, now - h.granted_at_ns);
		return 1;
	}
	return 0;
}

/* Rule 3: an eviction not reported within the grace. Its memory is where
 * it was, on the GPU, as far as anyone knows; its late answer is still
 * taken (out_asked stays). */
static int expire_evictions(struct policy_gpu *g, int64_t now,
                            struct policy_out *out)
{
	for (size_t i = 0; i < g->nmembers; i++) {
		struct policy_member *m = &g->members[i];

		if (!m->evicting || now - m->evict_sent_at_ns < g->grace_ns)
			continue;
		if (!out_room(out))
			return 0;
		m->evicting = 0;
		m->stuck_until_ns = sat_add_ns(now, g->grace_ns);
		g->evict_timeouts++;
		out_push(out, POLICY_EVICT_TIMEOUT, m->client,
		         now - m->evict_sent_at_ns);
		return 1;
	}
	return 0;
}

/* Evicts idle members, oldest idle first, until need bytes are covered,
 * as far as the host swap budget (room) takes them. */
static void evict(struct policy_gpu *g, const struct policy_member *head,
                  uint64_t need, uint64_t room, int64_t now,
                  struct policy_out *out)
{
	uint64_t cover = 0;

	for (size_t i = 0; i < g->nmembers && cover < need; i++) {
		struct policy_member *m = &g->members[i];

		if (!evictable(g, m, head) || !host_takes(m, &room))
			continue;
		if (!out_room(out))
			return;
		m->evicting = 1;
		m->out_asked = 1;
		m->evict_sent_at_ns = now;
		cover = sat_add(cover, movable_of(m));
		g->evictions++;
		out_push(out, POLICY_EVICT, m->client, now - m->idle_since_ns);
	}
}

/* Rule 4, for h (see make_plan). */
static void make_room_for(struct policy_gpu *g, const struct policy_member *h,
                          int growth, int64_t now, struct policy_out *out)
{
	uint64_t cover = 0, room;
	struct plan p;

	make_plan(g, h, growth, &p);
	room = p.room;
	if (p.fits)
		return;
	if (p.evict_need > 0)
		evict(g, p.head, p.evict_need, p.evict_room, now, out);
	if (p.ndrops == 0 || now < p.drop_at)
		return;
	if (p.drop_need > 0)
		evict(g, p.head, UINT64_MAX, p.evict_room, now, out);
	for (size_t i = 0; i < g->nrunning; i++) {
		struct policy_holder *r = &g->running[i];
		uint32_t flags;

		if (r->drop_sent_at_ns != POLICY_NEVER ||
		    r->client == h->client)
			continue;
		if (!drop_decision(g, &p, cmember(g, r->client), &cover, &room,
		                   &flags))
			continue;
		if (!out_room(out))
			return;
		r->drop_sent_at_ns = now;
		r->drop_flags = flags;
		if (flags & POLICY_DROP_SWAP_OUT)
			member(g, r->client)->out_asked = 1;
		out_push(out, POLICY_DROP, r->client, now - r->granted_at_ns)
		    ->flags = flags;
	}
}

/* Adds to ids (up to max, *n used) the running clients h's plan would
 * drop with their memory moved out, once their slice is over. */
static void planned_for(const struct policy_gpu *g,
                        const struct policy_member *h, int growth,
                        uint64_t *ids, size_t max, size_t *n)
{
	uint64_t cover = 0, room;
	struct plan p;

	make_plan(g, h, growth, &p);
	if (p.fits || p.ndrops == 0)
		return;
	room = p.room;
	for (size_t i = 0; i < g->nrunning && *n < max; i++) {
		const struct policy_holder *r = &g->running[i];
		uint32_t flags;

		if (r->drop_sent_at_ns != POLICY_NEVER ||
		    r->client == h->client ||
		    !drop_decision(g, &p, cmember(g, r->client), &cover, &room,
		                   &flags) ||
		    !(flags & POLICY_DROP_SWAP_OUT))
			continue;
		ids[(*n)++] = r->client;
	}
}

size_t policy_planned_swaps(const struct policy_gpu *g, uint64_t *ids,
                            size_t max)
{
	size_t n = 0;

	if (g->mode == POLICY_MODE_CONCURRENT)
		return 0;
	for (size_t i = 0; i < g->nrunning; i++)
		if (wants_room(g, &g->running[i]))
			planned_for(g, cmember(g, g->running[i].client), 1, ids,
			            max, &n);
	if (g->nqueue > 0)
		planned_for(g, cmember(g, g->queue[0].client), 0, ids, max, &n);
	return n;
}

/* Rule 4: growing clients first (they hold the GPU already), in running
 * order, then the head of the queue. */
static void make_room(struct policy_gpu *g, int64_t now, struct policy_out *out)
{
	if (g->mode == POLICY_MODE_CONCURRENT)
		return;
	for (size_t i = 0; i < g->nrunning; i++)
		if (wants_room(g, &g->running[i]))
			make_room_for(g, cmember(g, g->running[i].client), 1,
			              now, out);
	if (g->nqueue > 0)
		make_room_for(g, cmember(g, g->queue[0].client), 0, now, out);
}

/* Rule 5. */
static void notify_waiters(struct policy_gpu *g, int64_t now,
                           struct policy_out *out)
{
	uint64_t used;

	if (g->mode == POLICY_MODE_CONCURRENT)
		return; /* nobody waits but for room in an out */
	used = used_bytes(g);
	for (size_t i = 0; i < g->nqueue; i++) {
		struct policy_waiter *w = &g->queue[i];
		const struct policy_member *m = cmember(g, w->client);
		enum policy_wait_reason r = reason_for(g, m, used);
		uint64_t others = others_of(m, used);
		struct policy_action *a;

		if (r == w->told)
			continue;
		if (!out_room(out))
			return;
		w->told = r;
		a = out_push(out, POLICY_WAIT, w->client, now - w->since_ns);
		a->reason = r;
		a->need_bytes = m->footprint_bytes;
		a->free_bytes =
		    others < g->capacity_bytes ? g->capacity_bytes - others : 0;
	}
}

static void advance(struct policy_gpu *g, int64_t now, struct policy_out *out)
{
	g->now_ns = now;
	for (;; NVS_POLICY_CHECK(g)) {
		if (grow(g, now, out))
			continue;
		if (admit(g, now, out))
			continue;
		if (revoke_overdue(g, now, out))
			continue;
		if (expire_evictions(g, now, out))
			continue;
		make_room(g, now, out);
		notify_waiters(g, now, out);
		NVS_POLICY_CHECK(g);
		return;
	}
}

/* --- events ---------------------------------------------------------------
 */

int policy_register(struct policy_gpu *g, uint64_t client, int64_t now)
{
	return member_get(g, client, now) < 0 ? -1 : 0;
}

int policy_request(struct policy_gpu *g, uint64_t client, int64_t now,
                   struct policy_out *out)
{
	const struct policy_member *m = policy_member_of(g, client);
	long i = find_holder(g, client);

	if (m && m->unmanaged) {
		advance(g, now, out);
		return 0;
	}
	if (i >= 0) {
		if (out_room(out))
			out_push(out, POLICY_CONFIRM, client,
			         now - g->running[i].granted_at_ns)
			    ->granted_bytes = cmember(g, client)->granted_bytes;
		advance(g, now, out);
		return 0;
	}
	if (find_waiter(g, client) < 0) {
		if (reserve((void **)&g->queue, &g->queue_cap, g->nqueue,
		            sizeof(g->queue[0])) ||
		    member_get(g, client, now) < 0)
			return -1;
		g->queue[g->nqueue++] = (struct policy_waiter){
		    .client = client,
		    .since_ns = now,
		    .told = POLICY_WAIT_NONE,
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
	stop_running(g, (size_t)i, now);
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
	i = find_member(g, client);
	if (i >= 0)
		remove_member(g, (size_t)i);
	advance(g, now, out);
}

int policy_unmanage(struct policy_gpu *g, uint64_t client, int64_t now,
                    struct policy_out *out)
{
	long i = member_get(g, client, now);
	int held = 0;
	struct policy_member *m;

	if (i < 0)
		return -1;
	i = find_holder(g, client);
	if (i >= 0) { /* its library no longer answers DROP_LOCK */
		stop_running(g, (size_t)i, now);
		held = 1;
	}
	i = find_waiter(g, client);
	if (i >= 0)
		remove_waiter(g, (size_t)i);
	m = member(g, client);
	m->unmanaged = 1;
	m->evicting = 0;
	m->out_asked = 0;
	m->in_due = 0;
	m->stuck_until_ns = 0;
	all_resident(g, m);
	advance(g, now, out);
	return held;
}

/* A newcomer's first update says what it already has on the GPU (it ran
 * unmanaged while the scheduler was away). That is its word, not a grant:
 * it is taken only as far as it fits beside what the others occupy
 * (outside concurrent mode), so that no claim is counted past the
 * capacity or gets room ahead of the queue. A fresh process's first
 * update can claim memory it has not made (the library's deferred
 * blocks, for a moment): one did, 17 GiB on a 16 GiB GPU in the churn
 * soak; a forged frame could claim a whole GPU. An idle newcomer whose
 * claim did not fit is asked at once to move its memory out (EVICT), so
 * that what it really has leaves the room the books give others. */
static void take_claim(struct policy_gpu *g, struct policy_member *m,
                       uint64_t held, int64_t now, struct policy_out *out)
{
	uint64_t others = others_of(m, used_bytes(g));
	uint64_t room =
	    others < g->capacity_bytes ? g->capacity_bytes - others : 0;
	int short_of_room = g->mode != POLICY_MODE_CONCURRENT && held > room;

	if (short_of_room)
		held = room > m->granted_bytes ? room : m->granted_bytes;
	m->granted_bytes = held;
	m->pinned_held = m->pinned_bytes < held ? m->pinned_bytes : held;
	if (!short_of_room || m->running || !m->resident || m->evicting ||
	    !out_room(out))
		return;
	m->evicting = 1;
	m->out_asked = 1;
	m->evict_sent_at_ns = now;
	g->evictions++;
	out_push(out, POLICY_EVICT, m->client, now - m->idle_since_ns);
}

int policy_set_footprint(struct policy_gpu *g, uint64_t client, uint64_t bytes,
                         uint64_t pinned_bytes, uint64_t held_bytes,
                         int64_t now, struct policy_out *out)
{
	long i = member_get(g, client, now);
	struct policy_member *m;
	int was_growing;

	if (i < 0)
		return -1;
	m = &g->members[i];
	was_growing = policy_growing(g, m);
	m->footprint_bytes = bytes;
	m->pinned_bytes = pinned_bytes < bytes ? pinned_bytes : bytes;
	if (m->host_bytes > bytes - m->pinned_bytes)
		m->host_bytes = bytes - m->pinned_bytes;
	/* While unmanaged, whatever a client holds is its grant; a
	 * newcomer's claim is taken as far as it fits (take_claim). */
	if (m->unmanaged) { /* all of it is there, whatever it says */
		m->granted_bytes = need_of(g, m);
		m->pinned_held = m->pinned_bytes;
	} else if (g->unmanaged) {
		m->granted_bytes = held_bytes;
		m->pinned_held = m->pinned_bytes;
	} else if (!m->updated && held_bytes > m->granted_bytes) {
		take_claim(g, m, held_bytes, now, out);
	}
	m->updated = 1;
	/* Frees give room back at once; growth waits for rule 0. */
	if (m->granted_bytes > need_of(g, m))
		m->granted_bytes = need_of(g, m);
	if (g->mode == POLICY_MODE_CONCURRENT && m->running)
		m->granted_bytes = need_of(g, m);
	if (m->pinned_held > m->pinned_bytes)
		m->pinned_held = m->pinned_bytes;
	if (m->running && !policy_growing(g, m))
		m->pinned_held = m->pinned_bytes;
	if (policy_growing(g, m) && !was_growing)
		m->grow_since_ns = now;
	/* A running client learns at once that what it has is granted. */
	if (m->running && !policy_growing(g, m) && out_room(out))
		out_push(out, POLICY_MEM_GRANT, client, 0)->granted_bytes =
		    m->granted_bytes;
	advance(g, now, out);
	return 0;
}

/* Folds a sample into an average (the first sample replaces the default),
 * within POLICY_BW_STEP of it; samples outside the physical range are
 * dropped. */
static void bw_sample(double *avg, int *measured, uint64_t bytes, uint64_t ns)
{
	double s;

	if (bytes < POLICY_BW_MIN_SAMPLE_BYTES || ns == 0)
		return;
	s = (double)bytes / (double)ns;
	if (s < POLICY_BW_MIN || s > POLICY_BW_MAX)
		return;
	if (s < *avg / POLICY_BW_STEP)
		s = *avg / POLICY_BW_STEP;
	if (s > *avg * POLICY_BW_STEP)
		s = *avg * POLICY_BW_STEP;
	*avg = *measured ? *avg + POLICY_BW_WEIGHT * (s - *avg) : s;
	*measured = 1;
}

enum policy_swap_verdict policy_swap_check(const struct policy_gpu *g,
                                           uint64_t client, unsigned dir,
                                           uint64_t bytes, uint64_t ns)
{
	const struct policy_member *m = policy_member_of(g, client);
	double bw;

	if (!m || (dir == POLICY_SWAP_OUT && !m->out_asked) ||
	    (dir == POLICY_SWAP_IN && !(m->in_due && m->running)) ||
	    (dir != POLICY_SWAP_OUT && dir != POLICY_SWAP_IN))
		return POLICY_SWAP_UNASKED;
	if (bytes > m->footprint_bytes)
		return POLICY_SWAP_TOO_BIG;
	if (bytes < POLICY_BW_MIN_SAMPLE_BYTES || ns == 0)
		return POLICY_SWAP_ANSWER; /* no sample anyway */
	bw = (double)bytes / (double)ns;
	if (bw < POLICY_BW_MIN || bw > POLICY_BW_MAX)
		return POLICY_SWAP_IMPLAUSIBLE;
	return POLICY_SWAP_ANSWER;
}

int policy_swap_report(struct policy_gpu *g, uint64_t client, unsigned dir,
                       uint64_t bytes, uint64_t ns, int64_t now,
                       struct policy_out *out)
{
	struct policy_member *m;
	long i;

	if (dir != POLICY_SWAP_OUT && dir != POLICY_SWAP_IN)
		return -1;
	i = member_get(g, client, now);
	if (i < 0)
		return -1;
	m = &g->members[i];
	if (m->unmanaged) { /* nothing was asked: its memory stays counted */
		advance(g, now, out);
		return 0;
	}
	g->swaps++;
	if (dir == POLICY_SWAP_OUT) {
		if (m->resident)
			m->host_bytes = movable_of(m);
		m->resident = 0;
		m->evicting = 0;
		m->out_asked = 0;
		m->swap_outs++;
		bw_sample(&g->bw_out, &g->bw_out_measured, bytes, ns);
	} else {
		/* Only a grant brings memory back as far as admission is
		 * concerned; a running client reporting it confirms that. */
		if (m->running) {
			m->resident = 1;
			/* An eviction that crossed the grant: back again. */
			m->host_bytes = 0;
		}
		m->in_due = 0;
		m->swap_ins++;
		bw_sample(&g->bw_in, &g->bw_in_measured, bytes, ns);
	}
	advance(g, now, out);
	return 0;
}

int policy_swap_incomplete(struct policy_gpu *g, uint64_t client, int64_t now,
                           struct policy_out *out)
{
	long i = member_get(g, client, now);
	struct policy_member *m;

	if (i < 0)
		return -1;
	m = &g->members[i];
	if (m->unmanaged) {
		advance(g, now, out);
		return 0;
	}
	g->swaps++;
	/* Its memory is where it was, as far as we can tell: on the GPU. */
	m->evicting = 0;
	m->out_asked = 0;
	m->stuck_until_ns = sat_add_ns(now, g->grace_ns);
	advance(g, now, out);
	return 0;
}

/* --- time -----------------------------------------------------------------
 */

int64_t policy_next_deadline(const struct policy_gpu *g)
{
	int64_t next = POLICY_NO_DEADLINE;
	uint64_t used;
	struct plan p;

	for (size_t i = 0; i < g->nmembers; i++) {
		const struct policy_member *m = &g->members[i];
		int64_t t = sat_add_ns(m->evict_sent_at_ns, g->grace_ns);

		if (m->evicting && t < next)
			next = t;
		/* Movable again: a waiter's plan may change then. */
		if (m->stuck_until_ns > g->now_ns && m->stuck_until_ns < next &&
		    anyone_waits(g))
			next = m->stuck_until_ns;
	}
	if (!anyone_waits(g))
		return next;
	if (g->mode == POLICY_MODE_CONCURRENT)
		return INT64_MIN; /* admission pending (an out was full) */
	for (size_t i = 0; i < g->nrunning; i++) {
		if (!wants_room(g, &g->running[i]))
			continue;
		make_plan(g, cmember(g, g->running[i].client), 1, &p);
		if (p.fits || p.evict_need > 0)
			return INT64_MIN; /* a grant or eviction left undone */
		if (p.ndrops > 0 && p.drop_at < next)
			next = p.drop_at;
	}
	if (g->nqueue > 0) {
		make_plan(g, cmember(g, g->queue[0].client), 0, &p);
		if (p.fits || p.evict_need > 0)
			return INT64_MIN; /* likewise */
		if (p.ndrops > 0 && p.drop_at < next)
			next = p.drop_at;
	}
	for (size_t i = 0; i < g->nrunning; i++) {
		const struct policy_holder *h = &g->running[i];
		int64_t t;

		if (h->drop_sent_at_ns == POLICY_NEVER)
			continue;
		t = sat_add_ns(h->drop_sent_at_ns, g->grace_ns);
		if (t < next)
			next = t;
	}
	used = used_bytes(g);
	for (size_t i = 0; i < g->nqueue; i++)
		if (reason_for(g, cmember(g, g->queue[i].client), used) !=
		    g->queue[i].told)
			return INT64_MIN; /* a WAITING left unsent */
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
	for (size_t i = 0; i < g->nmembers; i++) {
		g->members[i].running = 0;
		g->members[i].evicting = 0;
		g->members[i].out_asked = 0;
		g->members[i].in_due = 0;
	}
}

void policy_set_unmanaged(struct policy_gpu *g, int unmanaged)
{
	g->unmanaged = unmanaged;
	if (!unmanaged)
		return;
	for (size_t i = 0; i < g->nmembers; i++) {
		struct policy_member *m = &g->members[i];

		/* The library brings swapped-out memory back at once. */
		m->stuck_until_ns = 0;
		all_resident(g, m);
	}
}

/* --- queries --------------------------------------------------------------
 */

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

const struct policy_member *policy_member_of(const struct policy_gpu *g,
                                             uint64_t client)
{
	long i = find_member(g, client);

	return i < 0 ? NULL : &g->members[i];
}

enum policy_wait_reason policy_wait_reason_of(const struct policy_gpu *g,
                                              uint64_t client)
{
	if (find_waiter(g, client) < 0)
		return POLICY_WAIT_NONE;
	return reason_for(g, cmember(g, client), used_bytes(g));
}

uint64_t policy_host_bytes(const struct policy_gpu *g)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < g->nmembers; i++)
		sum = sat_add(sum, g->members[i].host_bytes);
	return sum;
}

uint64_t policy_resident_bytes(const struct policy_gpu *g)
{
	return used_bytes(g);
}

void policy_slice_of(const struct policy_gpu *g, struct policy_slice *s)
{
	struct plan p;

	if (g->nqueue == 0 || g->mode == POLICY_MODE_CONCURRENT) {
		slice_for(g, 0, 0, s);
		return;
	}
	make_plan(g, cmember(g, g->queue[0].client), 0, &p);
	*s = p.slice;
}
