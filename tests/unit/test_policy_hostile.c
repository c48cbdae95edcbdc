/*
 * test_policy_hostile.c - the policy (scheduler/policy.c) against clients
 * that do not behave: the memory it counts on a GPU (policy_resident_bytes,
 * status "resident_bytes") never exceeds the capacity outside concurrent
 * mode, whatever a client sends. First exact transitions for a newcomer
 * whose first update claims memory it already holds (held_bytes): the
 * claim is taken only as far as it fits, and an idle newcomer whose claim
 * did not fit is asked to move its memory out at once. Then a random
 * simulation of every message sequence clients can send, each passed
 * through the checks the scheduler makes (lockproto.c): stopped holders
 * and evictees that answer late or never, forged and oversized swap
 * reports, incomplete swap-outs, claims, disconnections at any moment
 * (mid-swap too), a host swap budget, ticks at the announced deadlines
 * and at any other time, and clients told to run unmanaged (another of
 * their GPUs refused), whose whole footprint is then on the GPU: past
 * the capacity only by what they brought back, never by a grant.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "policy.h"
#include "splitmix.h"

#define MS(x) ((int64_t)(x)*1000000)
#define GIB(x) ((uint64_t)(x) << 30)
#define SLICE MS(100)
#define GRACE MS(50)
#define CAP GIB(16)
#define LONG_RUN MS(3600000)

static struct policy_out out;

static void init(struct policy_gpu *g, enum policy_mode mode)
{
	struct policy_settings s = {
	    .mode = mode,
	    .slice_ns = SLICE,
	    .max_run_ns = LONG_RUN,
	    .grace_ns = GRACE,
	};

	policy_gpu_init(g, CAP, &s);
	out.n = 0;
}

/* out holds exactly the n actions of kinds and clients given (in pairs),
 * then is emptied. */
static void expect_kinds(int line, unsigned n, const int *kc)
{
	int same = out.n == n;

	for (unsigned i = 0; same && i < n; i++)
		same = (int)out.act[i].kind == kc[2 * i] &&
		       out.act[i].client == (uint64_t)kc[2 * i + 1];
	if (!same) {
		fprintf(stderr, "line %d: got", line);
		for (unsigned i = 0; i < out.n; i++)
			fprintf(stderr, " %s(%llu)",
			        policy_kind_name(out.act[i].kind),
			        (unsigned long long)out.act[i].client);
		fprintf(stderr, "\n");
	}
	CHECK(same);
	out.n = 0;
}
#define EXPECT(...)                                                            \
	do {                                                                   \
		const int kc_[] = {__VA_ARGS__};                               \
		expect_kinds(__LINE__, sizeof(kc_) / sizeof(kc_[0]) / 2, kc_); \
	} while (0)
#define EXPECT_NONE() expect_kinds(__LINE__, 0, NULL)

static void claim(struct policy_gpu *g, uint64_t c, uint64_t bytes,
                  uint64_t held, int64_t now)
{
	CHECK_EQ(policy_register(g, c, now), 0);
	CHECK_EQ(policy_set_footprint(g, c, bytes, 0, held, now, &out), 0);
}

static void run_with(struct policy_gpu *g, uint64_t c, uint64_t bytes,
                     int64_t now)
{
	CHECK_EQ(policy_set_footprint(g, c, bytes, 0, 0, now, &out), 0);
	CHECK_EQ(policy_request(g, c, now, &out), 0);
}

static enum policy_state state(const struct policy_gpu *g, uint64_t c)
{
	int64_t since;

	return policy_state_of(g, c, &since);
}

static uint64_t occupied(const struct policy_gpu *g, uint64_t c)
{
	return policy_occupied_bytes(policy_member_of(g, c));
}

/* --- exact transitions ------------------------------------------------------
 */

/* The churn soak's one sample over capacity: a full 16 GiB GPU, and a
 * fresh client's first update claims its 1 GiB allocation as held (the
 * library's deferred block, counted as made for a moment; nothing is on
 * the GPU). Before: counted, 17 GiB resident. Now: it occupies nothing,
 * is asked to move its memory out, answers with nothing moved, and waits
 * for room like anyone. */
static void test_claim_on_full_gpu(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO);
	run_with(&g, 1, GIB(10), 0);
	run_with(&g, 2, GIB(6), MS(1));
	EXPECT(POLICY_GRANT, 1, POLICY_GRANT, 2);
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	claim(&g, 3, GIB(1), GIB(1), MS(2));
	EXPECT(POLICY_EVICT, 3);
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	CHECK_EQ(occupied(&g, 3), 0);
	CHECK_EQ(policy_member_of(&g, 3)->evicting, 1);
	CHECK_EQ(policy_swap_check(&g, 3, POLICY_SWAP_OUT, 0, 0),
	         POLICY_SWAP_ANSWER);
	CHECK_EQ(policy_swap_report(&g, 3, POLICY_SWAP_OUT, 0, 0, MS(3), &out),
	         0);
	EXPECT_NONE();
	CHECK_EQ(policy_member_of(&g, 3)->resident, 0);
	CHECK_EQ(policy_request(&g, 3, MS(4), &out), 0);
	EXPECT(POLICY_WAIT, 3);
	CHECK_EQ(out.n, 0);
	CHECK_EQ(policy_wait_reason_of(&g, 3), POLICY_WAIT_MEMORY);
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	/* 2 leaves: 3 is granted its 1 GiB in the room. */
	policy_disconnect(&g, 2, MS(5), &out);
	EXPECT(POLICY_GRANT, 3);
	CHECK_EQ(policy_resident_bytes(&g), GIB(11));
	policy_gpu_destroy(&g);
}

/* A claim that fits is taken whole (a process that ran unmanaged while the
 * scheduler restarted has that memory there). One that does not is taken
 * as far as the room goes, and the newcomer is asked out; what it really
 * moves is taken, and the room is free again. */
static void test_claim_partly_fits(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO);
	run_with(&g, 1, GIB(10), 0);
	EXPECT(POLICY_GRANT, 1);
	claim(&g, 2, GIB(4), GIB(4), MS(1));
	EXPECT_NONE();
	CHECK_EQ(occupied(&g, 2), GIB(4));
	CHECK_EQ(policy_resident_bytes(&g), GIB(14));
	claim(&g, 3, GIB(5), GIB(5), MS(2));
	EXPECT(POLICY_EVICT, 3);
	CHECK_EQ(occupied(&g, 3), GIB(2));
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	/* It really had 5 GiB and moves them out. */
	CHECK_EQ(policy_swap_check(&g, 3, POLICY_SWAP_OUT, GIB(5), GIB(1)),
	         POLICY_SWAP_ANSWER);
	CHECK_EQ(policy_swap_report(&g, 3, POLICY_SWAP_OUT, GIB(5), GIB(1),
	                            MS(3), &out),
	         0);
	EXPECT_NONE();
	CHECK_EQ(policy_resident_bytes(&g), GIB(14));
	/* A 2 GiB newcomer fits at once. */
	run_with(&g, 4, GIB(2), MS(4));
	EXPECT(POLICY_GRANT, 4);
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	/* A later update's held_bytes is not read (only the first one). */
	CHECK_EQ(policy_set_footprint(&g, 2, GIB(6), 0, GIB(6), MS(5), &out),
	         0);
	EXPECT_NONE();
	CHECK_EQ(occupied(&g, 2), GIB(4));
	policy_gpu_destroy(&g);
}

/* A forged claim of the whole GPU beside a running victim, never
 * answered: it gets the room that was free and no more (as a greedy
 * holder granted that room would), its eviction times out, and the
 * books never pass the capacity. */
static void test_forged_claim_unanswered(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO);
	run_with(&g, 1, GIB(8), 0);
	EXPECT(POLICY_GRANT, 1);
	claim(&g, 9, GIB(16), GIB(16), MS(1));
	EXPECT(POLICY_EVICT, 9);
	CHECK_EQ(occupied(&g, 9), GIB(8));
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	CHECK_EQ(policy_next_deadline(&g), MS(51));
	policy_tick(&g, MS(51), &out);
	EXPECT(POLICY_EVICT_TIMEOUT, 9);
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	/* The victim's growth waits for room it cannot have. */
	CHECK_EQ(policy_set_footprint(&g, 1, GIB(9), 0, 0, MS(52), &out), 0);
	EXPECT_NONE();
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	/* The claimant goes: the victim grows at once. */
	policy_disconnect(&g, 9, MS(60), &out);
	EXPECT(POLICY_MEM_GRANT, 1);
	CHECK_EQ(policy_resident_bytes(&g), GIB(9));
	policy_gpu_destroy(&g);
}

/* In concurrent mode nothing keeps the sum within the capacity: a claim
 * is taken whole and nobody is asked out. */
static void test_claim_concurrent(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_CONCURRENT);
	run_with(&g, 1, GIB(12), 0);
	EXPECT(POLICY_GRANT, 1);
	claim(&g, 2, GIB(6), GIB(6), MS(1));
	EXPECT_NONE();
	CHECK_EQ(policy_resident_bytes(&g), GIB(18));
	policy_gpu_destroy(&g);
}

/* A holder told to run unmanaged (its other GPU was refused) no longer
 * answers DROP_LOCK: it loses the lock at once, without a REVOKE, and the
 * waiter behind it is granted beside it. Its later requests are ignored,
 * and its updates count its whole footprint whatever held_bytes says. */
static void test_unmanaged_holder(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO);
	run_with(&g, 1, GIB(6), 0);
	run_with(&g, 2, GIB(4), MS(1));
	EXPECT(POLICY_GRANT, 1, POLICY_GRANT, 2);
	run_with(&g, 3, GIB(8), MS(2));
	EXPECT(POLICY_WAIT, 3);
	CHECK_EQ(policy_unmanage(&g, 1, MS(3), &out), 1);
	EXPECT_NONE(); /* 6 + 4 + 8 > 16: 3 still waits, 1 keeps its 6 */
	CHECK_EQ(state(&g, 1), POLICY_IDLE);
	CHECK_EQ(g.nrunning, 1);
	CHECK_EQ(occupied(&g, 1), GIB(6));
	CHECK_EQ(policy_request(&g, 1, MS(4), &out), 0);
	EXPECT_NONE();
	CHECK_EQ(state(&g, 1), POLICY_IDLE);
	/* It frees 4 GiB of its 6 (held_bytes 0 is not believed): 3 fits. */
	CHECK_EQ(policy_set_footprint(&g, 1, GIB(2), 0, 0, MS(5), &out), 0);
	EXPECT(POLICY_GRANT, 3);
	CHECK_EQ(occupied(&g, 1), GIB(2));
	CHECK_EQ(policy_resident_bytes(&g), CAP - GIB(2));
	/* It grows again: counted at once, and nobody is asked out for it
	 * (the memory is on the GPU or its allocations fail). */
	CHECK_EQ(policy_set_footprint(&g, 1, GIB(5), 0, 0, MS(6), &out), 0);
	EXPECT_NONE();
	CHECK_EQ(occupied(&g, 1), GIB(5));
	CHECK_EQ(policy_unmanage(&g, 1, MS(7), &out), 0); /* idempotent */
	EXPECT_NONE();
	policy_gpu_destroy(&g);
}

/* A member swapped out to the host and then told to run unmanaged brings
 * all of it back: its whole footprint counts from then on, though the
 * books pass the capacity. Nobody grows into that memory, it is never
 * sent EVICT (it would not answer) nor believed when it reports a
 * swap-out, and the room is there again when it leaves. */
static void test_unmanaged_swapped_out(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO);
	run_with(&g, 1, GIB(10), 0);
	EXPECT(POLICY_GRANT, 1);
	CHECK_EQ(policy_release(&g, 1, MS(1), &out), 1);
	run_with(&g, 2, GIB(12), MS(2));
	EXPECT(POLICY_EVICT, 1, POLICY_WAIT, 2);
	CHECK_EQ(policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(10), MS(1000),
	                            MS(3), &out),
	         0);
	EXPECT(POLICY_GRANT, 2);
	CHECK_EQ(occupied(&g, 1), 0);
	CHECK_EQ(policy_member_of(&g, 1)->host_bytes, GIB(10));
	CHECK_EQ(policy_unmanage(&g, 1, MS(4), &out), 0);
	EXPECT_NONE();
	CHECK_EQ(occupied(&g, 1), GIB(10));
	CHECK_EQ(policy_host_bytes(&g), 0);
	CHECK_EQ(policy_resident_bytes(&g), GIB(22));
	/* 2 runs on; its growth waits. */
	CHECK_EQ(policy_set_footprint(&g, 2, GIB(13), 0, 0, MS(5), &out), 0);
	EXPECT_NONE();
	CHECK_EQ(occupied(&g, 2), GIB(12));
	CHECK_EQ(policy_growing(&g, policy_member_of(&g, 2)), 1);
	/* A forged swap-out is not asked for; a tick long after sends
	 * nothing to 1. */
	CHECK_EQ(policy_swap_check(&g, 1, POLICY_SWAP_OUT, GIB(10), MS(1000)),
	         POLICY_SWAP_UNASKED);
	CHECK_EQ(policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(10), MS(1000),
	                            MS(7), &out),
	         0);
	CHECK_EQ(occupied(&g, 1), GIB(10));
	policy_tick(&g, MS(5000), &out);
	for (unsigned i = 0; i < out.n; i++)
		CHECK(out.act[i].client != 1);
	out.n = 0;
	CHECK_EQ(policy_resident_bytes(&g), GIB(22));
	CHECK_EQ(occupied(&g, 2), GIB(12));
	/* 1 leaves: 2 grows. */
	policy_disconnect(&g, 1, MS(5001), &out);
	EXPECT(POLICY_MEM_GRANT, 2);
	CHECK_EQ(policy_resident_bytes(&g), GIB(13));
	policy_gpu_destroy(&g);
}

/* --- random simulation ------------------------------------------------------
 * Clients 1..SIM_CLIENTS of each GPU send any message at any time, with
 * the checks of lockproto.c in front of the policy: a swap report goes in
 * only if policy_swap_check does not call it unasked, its measurement only
 * if it is an answer; an incomplete swap-out likewise. That covers every
 * behaviour: the library's, a stopped process (answers late or never,
 * whatever it was asked), a killed one (disconnects between its swap-out
 * and its release, or while evicted), a hostile one (forged reports,
 * claims of held memory on its first update, requests and frees at
 * random). Time advances by random steps; the event loop's ticks come at
 * the deadlines the policy announces, and extra ticks at random moments.
 * The host swap budget is random (or none) at every call, as the other
 * GPUs use it.
 *
 * Now and then a client is told to run unmanaged (lockproto.c, when
 * another of its GPUs is refused) and brings all its memory back.
 *
 * After every call, outside concurrent mode: what managed members occupy
 * is at most the capacity; the sum with the unmanaged members' memory
 * passes the capacity only by what they brought back: the managed part
 * never grows while the sum is over it; no member occupies more than the
 * capacity (in debug builds the policy's own invariants run after every
 * step as well). The run must reach the capacity and see every
 * transition many times. */

#define SIM_GPUS 3
#define SIM_CLIENTS 6
#define SIM_STEPS 300000

struct sim {
	struct policy_gpu pol;
	int64_t now;
	uint64_t peak;
	/* Figures: what happened, to show the run means something. */
	uint64_t grants, revokes, evicts, timeouts, claims, short_claims;
	uint64_t late_answers, mid_swap_gone, ignored, not_measured;
	uint64_t incomplete, ticks_due, ticks_random;
	uint64_t unmanaged, over_by_unmanaged;
	uint64_t managed_last; /* managed occupancy after the last call */
};

static uint64_t rng_state = 0x6a09e667f3bcc908ull;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

static uint64_t rng_range(uint64_t n)
{
	return rng() % n;
}

/* Half-GiB steps up to 17 GiB (beyond the GPU too). */
static uint64_t sim_bytes(void)
{
	return GIB(1) / 2 * rng_range(35);
}

static int sim_fail(const struct sim *s, int gi, const char *what,
                    const char *event)
{
	check_failed++;
	fprintf(stderr, "hostile simulation gpu %d: %s after %s at t=%lld\n",
	        gi, what, event, (long long)s->now);
	for (size_t i = 0; i < s->pol.nmembers; i++) {
		const struct policy_member *m = &s->pol.members[i];

		fprintf(
		    stderr,
		    "  client %llu: footprint %llu pinned %llu granted %llu "
		    "running %d resident %d evicting %d occupied %llu\n",
		    (unsigned long long)m->client,
		    (unsigned long long)m->footprint_bytes,
		    (unsigned long long)m->pinned_bytes,
		    (unsigned long long)m->granted_bytes, m->running,
		    m->resident, m->evicting,
		    (unsigned long long)policy_occupied_bytes(m));
	}
	fprintf(stderr, "  resident %llu of %llu\n",
	        (unsigned long long)policy_resident_bytes(&s->pol),
	        (unsigned long long)s->pol.capacity_bytes);
	return -1;
}

/* Counts the actions, empties out, checks the books. */
static int sim_after(struct sim *s, int gi, const char *event)
{
	uint64_t cap = s->pol.capacity_bytes;
	uint64_t res = policy_resident_bytes(&s->pol), managed = 0;
	int conc = s->pol.mode == POLICY_MODE_CONCURRENT, grew;

	for (unsigned i = 0; i < out.n; i++) {
		switch (out.act[i].kind) {
		case POLICY_GRANT: s->grants++; break;
		case POLICY_REVOKE: s->revokes++; break;
		case POLICY_EVICT: s->evicts++; break;
		case POLICY_EVICT_TIMEOUT: s->timeouts++; break;
		default: break;
		}
	}
	out.n = 0;
	for (size_t i = 0; i < s->pol.nmembers; i++)
		if (!s->pol.members[i].unmanaged)
			managed += policy_occupied_bytes(&s->pol.members[i]);
	grew = managed > s->managed_last;
	s->managed_last = managed;
	if (managed > s->peak)
		s->peak = managed;
	if (!conc && managed > cap)
		return sim_fail(s, gi, "resident bytes exceed the GPU", event);
	if (!conc && res > cap && grew)
		return sim_fail(s, gi,
		                "managed memory grew past the capacity beside "
		                "unmanaged memory",
		                event);
	if (res > cap && !conc)
		s->over_by_unmanaged++;
	for (size_t i = 0; i < s->pol.nmembers; i++)
		if (!conc && policy_occupied_bytes(&s->pol.members[i]) > cap)
			return sim_fail(s, gi,
			                "a member occupies more than "
			                "the GPU",
			                event);
	return 0;
}

/* A swap report (or an incomplete swap-out), as lockproto.c takes it. */
static int sim_swap(struct sim *s, int gi, uint64_t c)
{
	const struct policy_member *m = policy_member_of(&s->pol, c);
	unsigned dir = (unsigned)rng_range(2);
	int incomplete = dir == POLICY_SWAP_OUT && rng_range(6) == 0;
	uint64_t bytes = sim_bytes();
	/* A plausible bandwidth, or none at all (0 ns, 1 ns, forever). */
	uint64_t ns = rng_range(2)   ? bytes / (1 + rng_range(20)) + 1
	              : rng_range(2) ? rng_range(2)
	                             : UINT64_MAX;
	enum policy_swap_verdict v =
	    policy_swap_check(&s->pol, c, dir, incomplete ? 0 : bytes, ns);
	int late = m && dir == POLICY_SWAP_OUT && !m->running && !m->evicting;

	if (v == POLICY_SWAP_UNASKED) {
		s->ignored++;
		return 0;
	}
	if (late)
		s->late_answers++;
	if (v != POLICY_SWAP_ANSWER) {
		s->not_measured++;
		ns = 0;
	}
	if (incomplete) {
		s->incomplete++;
		if (policy_swap_incomplete(&s->pol, c, s->now, &out))
			return sim_fail(s, gi, "refused", "incomplete swap");
		return sim_after(s, gi, "an incomplete swap-out");
	}
	if (policy_swap_report(&s->pol, c, dir, bytes, ns, s->now, &out))
		return sim_fail(s, gi, "refused", "swap report");
	return sim_after(s, gi, "a swap report");
}

/* A memory update; a newcomer's first one claims held memory at times. */
static int sim_footprint(struct sim *s, int gi, uint64_t c)
{
	const struct policy_member *m = policy_member_of(&s->pol, c);
	uint64_t bytes = sim_bytes(), held = 0;
	uint64_t pinned = rng_range(4) == 0 ? GIB(1) / 2 * rng_range(5) : 0;

	if ((!m || !m->updated) && rng_range(2)) {
		uint64_t others = policy_resident_bytes(&s->pol) -
		                  (m ? policy_occupied_bytes(m) : 0);

		held = bytes;
		s->claims++;
		if (others + (held < CAP ? held : CAP) > CAP)
			s->short_claims++;
	}
	if (policy_set_footprint(&s->pol, c, bytes, pinned, held, s->now, &out))
		return sim_fail(s, gi, "refused", "memory update");
	return sim_after(s, gi, "a memory update");
}

static int sim_event(struct sim *s, int gi)
{
	uint64_t c = 1 + rng_range(SIM_CLIENTS);
	const struct policy_member *m = policy_member_of(&s->pol, c);
	uint64_t r = rng_range(100);

	s->pol.host_room_bytes =
	    rng_range(3) == 0 ? UINT64_MAX : GIB(1) / 2 * rng_range(40);
	if (r < 8) {
		if (policy_register(&s->pol, c, s->now))
			return sim_fail(s, gi, "refused", "registration");
		return sim_after(s, gi, "a registration");
	}
	if (r < 30) {
		if (policy_request(&s->pol, c, s->now, &out))
			return sim_fail(s, gi, "refused", "request");
		return sim_after(s, gi, "a request");
	}
	if (r < 42) {
		policy_release(&s->pol, c, s->now, &out);
		return sim_after(s, gi, "a release");
	}
	if (r < 47) {
		if (m && (m->out_asked || m->evicting))
			s->mid_swap_gone++;
		policy_disconnect(&s->pol, c, s->now, &out);
		return sim_after(s, gi, "a disconnection");
	}
	if (r < 70)
		return sim_footprint(s, gi, c);
	if (r < 71) {
		if (m && !m->unmanaged)
			s->unmanaged++;
		if (policy_unmanage(&s->pol, c, s->now, &out) < 0)
			return sim_fail(s, gi, "refused", "unmanaging");
		return sim_after(s, gi, "running unmanaged");
	}
	if (r < 92)
		return sim_swap(s, gi, c);
	s->ticks_random++;
	policy_tick(&s->pol, s->now, &out);
	return sim_after(s, gi, "a tick");
}

/* Time passes on every GPU by up to 40 ms; each ticks at its deadlines. */
static int sim_advance(struct sim *sims, int64_t t)
{
	for (int i = 0; i < SIM_GPUS; i++) {
		struct sim *s = &sims[i];

		for (int spins = 0;; spins++) {
			int64_t d = policy_next_deadline(&s->pol);

			if (d > t)
				break;
			if (spins > 1000)
				return sim_fail(s, i, "ticks make no progress",
				                "a deadline");
			if (d > s->now)
				s->now = d;
			s->ticks_due++;
			policy_tick(&s->pol, s->now, &out);
			if (sim_after(s, i, "a tick at the deadline"))
				return -1;
		}
		s->now = t;
	}
	return 0;
}

static void test_random_hostile(void)
{
	static const enum policy_mode modes[SIM_GPUS] = {
	    POLICY_MODE_AUTO, POLICY_MODE_AUTO, POLICY_MODE_SERIAL};
	static const int64_t slices[SIM_GPUS] = {MS(100), POLICY_SLICE_AUTO,
	                                         MS(37)};
	static const int64_t graces[SIM_GPUS] = {MS(50), MS(80), MS(20)};
	static struct sim sims[SIM_GPUS];
	int64_t now = MS(1);
	int failed = 0;

	memset(sims, 0, sizeof(sims));
	for (int i = 0; i < SIM_GPUS; i++) {
		struct policy_settings set = {
		    .mode = modes[i],
		    .slice_ns = slices[i],
		    .max_run_ns = MS(1500),
		    .grace_ns = graces[i],
		};

		policy_gpu_init(&sims[i].pol, CAP, &set);
		sims[i].now = now;
	}
	out.n = 0;
	for (int step = 0; step < SIM_STEPS && !failed; step++) {
		int gi = (int)rng_range(SIM_GPUS);

		/* A third of the events come at the same instant. */
		if (rng_range(3))
			now += (int64_t)rng_range((uint64_t)MS(40));
		failed = sim_advance(sims, now) || sim_event(&sims[gi], gi);
	}
	CHECK_EQ(failed, 0);
	for (int i = 0; i < SIM_GPUS; i++) {
		struct sim *s = &sims[i];

		if (!failed) {
			CHECK_EQ(s->peak, CAP);
			CHECK(s->grants > 1000);
			CHECK(s->revokes > 100);
			CHECK(s->evicts > 1000);
			CHECK(s->timeouts > 100);
			CHECK(s->short_claims > 1000);
			CHECK(s->late_answers > 100);
			CHECK(s->mid_swap_gone > 100);
			CHECK(s->not_measured > 1000);
			CHECK(s->incomplete > 200);
			CHECK(s->unmanaged > 300);
			CHECK(s->over_by_unmanaged > 1000);
		}
		printf("hostile simulation gpu %d (%s): %llu grants, %llu "
		       "forced releases, %llu evictions (%llu timed out), "
		       "%llu claims (%llu beyond the room), %llu late "
		       "swap-outs, %llu reports ignored, %llu not measured, "
		       "%llu incomplete, %llu gone mid-swap, %llu ticks due "
		       "and %llu at random, %llu told to run unmanaged (books "
		       "over the GPU by their memory after %llu calls); peak "
		       "managed resident %.2f of %.2f GiB\n",
		       i, policy_mode_name(modes[i]),
		       (unsigned long long)s->grants,
		       (unsigned long long)s->revokes,
		       (unsigned long long)s->evicts,
		       (unsigned long long)s->timeouts,
		       (unsigned long long)s->claims,
		       (unsigned long long)s->short_claims,
		       (unsigned long long)s->late_answers,
		       (unsigned long long)s->ignored,
		       (unsigned long long)s->not_measured,
		       (unsigned long long)s->incomplete,
		       (unsigned long long)s->mid_swap_gone,
		       (unsigned long long)s->ticks_due,
		       (unsigned long long)s->ticks_random,
		       (unsigned long long)s->unmanaged,
		       (unsigned long long)s->over_by_unmanaged,
		       (double)s->peak / (double)GIB(1),
		       (double)CAP / (double)GIB(1));
		policy_gpu_destroy(&s->pol);
	}
	printf("hostile simulation: %d steps, %.1f s simulated\n", SIM_STEPS,
	       (double)now / 1e9);
}

int main(void)
{
	test_claim_on_full_gpu();
	test_claim_partly_fits();
	test_forged_claim_unanswered();
	test_claim_concurrent();
	test_unmanaged_holder();
	test_unmanaged_swapped_out();
	test_random_hostile();
	return check_summary("test_policy_hostile");
}
