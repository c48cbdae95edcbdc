/*
 * test_policy.c - the scheduling policy (scheduler/policy.c), transition by
 * transition with exact actions and times, then a deterministic random
 * simulation over several GPUs and clients that checks the invariants after
 * every event: at most one holder per GPU, a holder never queued, grants in
 * FIFO order, every waiter granted within (clients ahead) x (slice + grace),
 * and events on one GPU never touching another.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "policy.h"

#define MS(x) ((int64_t)(x)*1000000)
#define SLICE MS(100)
#define GRACE MS(50)

static struct policy_out out;

/* Compares out with the expected actions, reporting the caller's line, and
 * empties out for the next step. */
static void expect_out(const struct policy_action *want, unsigned n, int line)
{
	int ok = out.n == n;

	for (unsigned i = 0; ok && i < n; i++)
		ok = out.act[i].kind == want[i].kind &&
		     out.act[i].client == want[i].client &&
		     out.act[i].span_ns == want[i].span_ns;
	if (ok) {
		check_passed++;
	} else {
		check_failed++;
		fprintf(stderr, "%s:%d: actions differ; got %u:", __FILE__,
		        line, out.n);
		for (unsigned i = 0; i < out.n; i++)
			fprintf(stderr, " %s(%llu,%lld)",
			        policy_kind_name(out.act[i].kind),
			        (unsigned long long)out.act[i].client,
			        (long long)out.act[i].span_ns);
		fprintf(stderr, "; want %u\n", n);
	}
	out.n = 0;
}

#define ACT(k, c, span)                                                        \
	{                                                                      \
		.kind = POLICY_##k, .client = (c), .span_ns = (span)           \
	}
#define EXPECT(...)                                                            \
	do {                                                                   \
		const struct policy_action want_[] = {__VA_ARGS__};            \
		expect_out(want_, sizeof(want_) / sizeof(want_[0]), __LINE__); \
	} while (0)
#define EXPECT_NONE() expect_out(NULL, 0, __LINE__)

static uint64_t holder(const struct policy_gpu *g)
{
	return g->nrunning ? g->running[0].client : 0;
}

static void setup(struct policy_gpu *g)
{
	policy_gpu_init(g, SLICE, GRACE);
	out.n = 0;
}

static void test_grant_free(void)
{
	struct policy_gpu g;

	setup(&g);
	CHECK_EQ(policy_request(&g, 1, MS(5), &out), 0);
	EXPECT(ACT(GRANT, 1, 0));
	CHECK_EQ(holder(&g), 1);
	CHECK_EQ(g.nqueue, 0);
	CHECK_EQ(g.lock_grants, 1);
	CHECK_EQ(g.running[0].granted_at_ns, MS(5));
	CHECK_EQ(policy_next_deadline(&g), POLICY_NO_DEADLINE);
	policy_gpu_destroy(&g);
}

static void test_enqueue_fifo(void)
{
	struct policy_gpu g;

	setup(&g);
	policy_request(&g, 1, 0, &out);
	EXPECT(ACT(GRANT, 1, 0));
	policy_request(&g, 2, MS(10), &out);
	policy_request(&g, 3, MS(20), &out);
	policy_request(&g, 4, MS(25), &out);
	EXPECT_NONE();
	CHECK_EQ(g.nqueue, 3);
	CHECK_EQ(g.queue[0].client, 2);
	CHECK_EQ(g.queue[1].client, 3);
	CHECK_EQ(g.queue[2].client, 4);
	CHECK_EQ(policy_next_deadline(&g), SLICE);
	CHECK_EQ(policy_release(&g, 1, MS(30), &out), 1);
	EXPECT(ACT(GRANT, 2, MS(20)));
	CHECK_EQ(policy_release(&g, 2, MS(40), &out), 1);
	EXPECT(ACT(GRANT, 3, MS(20)));
	CHECK_EQ(policy_release(&g, 3, MS(45), &out), 1);
	EXPECT(ACT(GRANT, 4, MS(20)));
	CHECK_EQ(g.lock_grants, 4);
	policy_gpu_destroy(&g);
}

static void test_no_drop_without_waiters(void)
{
	struct policy_gpu g;

	setup(&g);
	policy_request(&g, 1, 0, &out);
	EXPECT(ACT(GRANT, 1, 0));
	CHECK_EQ(policy_tick(&g, MS(100), &out), POLICY_NO_DEADLINE);
	CHECK_EQ(policy_tick(&g, MS(5000), &out), POLICY_NO_DEADLINE);
	EXPECT_NONE();
	/* A waiter arriving long after the slice: the drop goes out at once. */
	policy_request(&g, 2, MS(5000), &out);
	EXPECT(ACT(DROP, 1, MS(5000)));
	CHECK_EQ(g.running[0].drop_sent_at_ns, MS(5000));
	CHECK_EQ(policy_next_deadline(&g), MS(5000) + GRACE);
	policy_gpu_destroy(&g);
}

static void test_drop_after_slice(void)
{
	struct policy_gpu g;

	setup(&g);
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, MS(10), &out);
	EXPECT(ACT(GRANT, 1, 0));
	CHECK_EQ(policy_tick(&g, MS(99), &out), MS(100));
	EXPECT_NONE();
	CHECK_EQ(policy_tick(&g, MS(100), &out), MS(150));
	EXPECT(ACT(DROP, 1, MS(100)));
	/* Once only. */
	CHECK_EQ(policy_tick(&g, MS(120), &out), MS(150));
	EXPECT_NONE();
	policy_request(&g, 3, MS(121), &out);
	EXPECT_NONE();
	/* The answer hands the lock on at once. */
	CHECK_EQ(policy_release(&g, 1, MS(130), &out), 1);
	EXPECT(ACT(GRANT, 2, MS(120)));
	CHECK_EQ(g.running[0].drop_sent_at_ns, POLICY_NEVER);
	CHECK_EQ(policy_next_deadline(&g), MS(230));
	CHECK_EQ(g.forced_releases, 0);
	policy_gpu_destroy(&g);
}

static void test_early_release(void)
{
	struct policy_gpu g;

	setup(&g);
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, MS(10), &out);
	EXPECT(ACT(GRANT, 1, 0));
	CHECK_EQ(policy_release(&g, 1, MS(30), &out), 1);
	EXPECT(ACT(GRANT, 2, MS(20)));
	/* Early release with nobody waiting leaves the lock free. */
	CHECK_EQ(policy_release(&g, 2, MS(40), &out), 1);
	EXPECT_NONE();
	CHECK_EQ(g.nrunning, 0);
	policy_request(&g, 3, MS(50), &out);
	EXPECT(ACT(GRANT, 3, 0));
	policy_gpu_destroy(&g);
}

static void test_force_revoke(void)
{
	struct policy_gpu g;

	setup(&g);
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, MS(10), &out);
	EXPECT(ACT(GRANT, 1, 0));
	policy_tick(&g, MS(100), &out);
	EXPECT(ACT(DROP, 1, MS(100)));
	CHECK_EQ(policy_tick(&g, MS(149), &out), MS(150));
	EXPECT_NONE();
	CHECK_EQ(policy_tick(&g, MS(150), &out), POLICY_NO_DEADLINE);
	EXPECT(ACT(REVOKE, 1, MS(150)), ACT(GRANT, 2, MS(140)));
	CHECK_EQ(g.forced_releases, 1);
	CHECK_EQ(holder(&g), 2);
	/* The old holder's late answer is stale. */
	CHECK_EQ(policy_release(&g, 1, MS(155), &out), 0);
	EXPECT_NONE();
	CHECK_EQ(holder(&g), 2);
	/* Asking again, it queues like anyone else. */
	policy_request(&g, 1, MS(160), &out);
	EXPECT_NONE();
	CHECK_EQ(g.queue[0].client, 1);
	CHECK_EQ(policy_next_deadline(&g), MS(250));
	/* A second forced release is counted too. */
	policy_tick(&g, MS(250), &out);
	EXPECT(ACT(DROP, 2, MS(100)));
	policy_tick(&g, MS(300), &out);
	EXPECT(ACT(REVOKE, 2, MS(150)), ACT(GRANT, 1, MS(140)));
	CHECK_EQ(g.forced_releases, 2);
	CHECK_EQ(g.lock_grants, 3);
	policy_gpu_destroy(&g);
}

static void test_stale_release(void)
{
	struct policy_gpu g;

	setup(&g);
	CHECK_EQ(policy_release(&g, 7, 0, &out), 0); /* nobody holds */
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, MS(1), &out);
	policy_request(&g, 3, MS(2), &out);
	EXPECT(ACT(GRANT, 1, 0));
	/* A waiter's release neither grants nor costs it its place. */
	CHECK_EQ(policy_release(&g, 2, MS(3), &out), 0);
	CHECK_EQ(policy_release(&g, 9, MS(3), &out), 0);
	EXPECT_NONE();
	CHECK_EQ(holder(&g), 1);
	CHECK_EQ(g.nqueue, 2);
	CHECK_EQ(g.queue[0].client, 2);
	policy_gpu_destroy(&g);
}

static void test_disconnect(void)
{
	struct policy_gpu g;

	setup(&g);
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, MS(10), &out);
	policy_request(&g, 3, MS(20), &out);
	policy_request(&g, 4, MS(30), &out);
	EXPECT(ACT(GRANT, 1, 0));
	/* A waiter leaves: nothing to send, the order of the rest holds. */
	policy_disconnect(&g, 3, MS(40), &out);
	EXPECT_NONE();
	CHECK_EQ(g.nqueue, 2);
	CHECK_EQ(g.queue[0].client, 2);
	CHECK_EQ(g.queue[1].client, 4);
	/* The holder leaves: the next is granted at once, nothing forced. */
	policy_disconnect(&g, 1, MS(50), &out);
	EXPECT(ACT(GRANT, 2, MS(40)));
	CHECK_EQ(g.forced_releases, 0);
	/* A holder that was asked to drop leaves: likewise. */
	policy_tick(&g, MS(150), &out);
	EXPECT(ACT(DROP, 2, MS(100)));
	policy_disconnect(&g, 2, MS(160), &out);
	EXPECT(ACT(GRANT, 4, MS(130)));
	CHECK_EQ(g.forced_releases, 0);
	/* Someone unknown leaves: no change. */
	policy_disconnect(&g, 99, MS(170), &out);
	EXPECT_NONE();
	CHECK_EQ(holder(&g), 4);
	policy_disconnect(&g, 4, MS(180), &out);
	EXPECT_NONE();
	CHECK_EQ(g.nrunning, 0);
	CHECK_EQ(policy_next_deadline(&g), POLICY_NO_DEADLINE);
	policy_gpu_destroy(&g);
}

static void test_slice_change(void)
{
	struct policy_gpu g;

	setup(&g);
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, MS(10), &out);
	EXPECT(ACT(GRANT, 1, 0));
	CHECK_EQ(policy_next_deadline(&g), MS(100));
	/* Shorter: the holder, 60 ms in, is past the new 50 ms slice. */
	policy_set_times(&g, MS(50), GRACE);
	CHECK_EQ(policy_tick(&g, MS(60), &out), MS(110));
	EXPECT(ACT(DROP, 1, MS(60)));
	policy_release(&g, 1, MS(70), &out);
	EXPECT(ACT(GRANT, 2, MS(60)));
	/* Longer: the current holder's deadline moves out. */
	policy_request(&g, 3, MS(80), &out);
	policy_set_times(&g, MS(1000), GRACE);
	CHECK_EQ(policy_tick(&g, MS(120), &out), MS(1070));
	EXPECT_NONE();
	/* A new grace applies to a pending drop. */
	policy_tick(&g, MS(1070), &out);
	EXPECT(ACT(DROP, 2, MS(1000)));
	policy_set_times(&g, MS(1000), MS(10));
	CHECK_EQ(policy_tick(&g, MS(1075), &out), MS(1080));
	EXPECT_NONE();
	policy_tick(&g, MS(1080), &out);
	EXPECT(ACT(REVOKE, 2, MS(1010)), ACT(GRANT, 3, MS(1000)));
	policy_gpu_destroy(&g);
}

static void test_idempotent_requests(void)
{
	struct policy_gpu g;

	setup(&g);
	policy_request(&g, 1, 0, &out);
	EXPECT(ACT(GRANT, 1, 0));
	policy_request(&g, 1, MS(5), &out);
	EXPECT(ACT(CONFIRM, 1, MS(5)));
	CHECK_EQ(g.lock_grants, 1);
	CHECK_EQ(g.nqueue, 0);
	policy_request(&g, 2, MS(10), &out);
	policy_request(&g, 3, MS(20), &out);
	policy_request(&g, 2, MS(30), &out);
	policy_request(&g, 3, MS(40), &out);
	EXPECT_NONE();
	CHECK_EQ(g.nqueue, 2);
	CHECK_EQ(g.queue[0].client, 2);
	CHECK_EQ(g.queue[0].since_ns, MS(10));
	CHECK_EQ(g.queue[1].client, 3);
	/* After DROP, asking again confirms but does not repeat the drop. */
	policy_tick(&g, MS(100), &out);
	EXPECT(ACT(DROP, 1, MS(100)));
	policy_request(&g, 1, MS(110), &out);
	EXPECT(ACT(CONFIRM, 1, MS(110)));
	/* A holder that releases and asks again goes to the back. */
	policy_release(&g, 1, MS(120), &out);
	EXPECT(ACT(GRANT, 2, MS(110)));
	policy_request(&g, 1, MS(121), &out);
	EXPECT_NONE();
	CHECK_EQ(g.queue[0].client, 3);
	CHECK_EQ(g.queue[1].client, 1);
	policy_gpu_destroy(&g);
}

static void test_waiter_leaves_after_drop(void)
{
	struct policy_gpu g;

	setup(&g);
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, MS(10), &out);
	policy_tick(&g, MS(100), &out);
	EXPECT(ACT(GRANT, 1, 0), ACT(DROP, 1, MS(100)));
	policy_disconnect(&g, 2, MS(110), &out);
	/* Nobody waits: nothing is forced when the grace passes. */
	CHECK_EQ(policy_tick(&g, MS(200), &out), POLICY_NO_DEADLINE);
	EXPECT_NONE();
	CHECK_EQ(holder(&g), 1);
	/* A new waiter finds a holder already overdue: revoked at once. */
	policy_request(&g, 3, MS(300), &out);
	EXPECT(ACT(REVOKE, 1, MS(300)), ACT(GRANT, 3, 0));
	CHECK_EQ(g.forced_releases, 1);
	policy_gpu_destroy(&g);
}

static void test_clear_and_state(void)
{
	struct policy_gpu g;
	int64_t since;

	setup(&g);
	policy_request(&g, 1, MS(1), &out);
	policy_request(&g, 2, MS(2), &out);
	out.n = 0;
	CHECK_EQ(policy_state_of(&g, 1, &since), POLICY_HOLDING);
	CHECK_EQ(since, MS(1));
	CHECK_EQ(policy_state_of(&g, 2, &since), POLICY_WAITING);
	CHECK_EQ(since, MS(2));
	CHECK_EQ(policy_state_of(&g, 3, &since), POLICY_IDLE);
	CHECK_EQ(since, 0);
	policy_clear(&g);
	CHECK_EQ(g.nrunning, 0);
	CHECK_EQ(g.nqueue, 0);
	CHECK_EQ(policy_next_deadline(&g), POLICY_NO_DEADLINE);
	CHECK_EQ(policy_state_of(&g, 1, &since), POLICY_IDLE);
	/* Counters survive; the GPU is usable again. */
	CHECK_EQ(g.lock_grants, 1);
	policy_request(&g, 2, MS(3), &out);
	EXPECT(ACT(GRANT, 2, 0));
	policy_gpu_destroy(&g);
}

/* When out has no room left, work is left for the next tick, which is due
 * at once. */
static void test_out_full(void)
{
	struct policy_gpu g;

	setup(&g);
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, MS(1), &out);
	policy_tick(&g, MS(100), &out);
	EXPECT(ACT(GRANT, 1, 0), ACT(DROP, 1, MS(100)));
	out.n = POLICY_OUT_MAX - 1;
	CHECK_EQ(policy_tick(&g, MS(150), &out), MS(150));
	CHECK_EQ(out.n, POLICY_OUT_MAX);
	CHECK_EQ(out.act[POLICY_OUT_MAX - 1].kind, POLICY_REVOKE);
	CHECK_EQ(g.nrunning, 0);
	out.n = 0;
	CHECK_EQ(policy_tick(&g, MS(151), &out), POLICY_NO_DEADLINE);
	EXPECT(ACT(GRANT, 2, MS(150)));
	policy_gpu_destroy(&g);
}

/* --- random simulation ------------------------------------------------------
 * The test keeps its own model of each GPU (holder, FIFO of waiters with the
 * time they joined and how many were ahead of them) built only from the
 * events it causes and the actions it receives, and compares it with the
 * policy's state after every step. Ticks happen exactly at the deadlines
 * the policy announces, as the event loop does. */

#define SIM_GPUS 3
#define SIM_CLIENTS 8
#define SIM_STEPS 200000

struct sim_waiter {
	uint64_t client; /* who waits */
	int64_t since;   /* when it joined */
	int64_t bound;   /* latest time it may be granted */
};

struct sim_gpu {
	struct policy_gpu pol;                /* the policy under test */
	uint64_t holder;                      /* model: holder or 0 */
	int64_t granted_at;                   /* model: when granted */
	int64_t drop_at;                      /* model: DROP time, or -1 */
	struct sim_waiter queue[SIM_CLIENTS]; /* model: waiters, FIFO */
	int nqueue;                           /* model: waiters */
	uint64_t grants;                      /* model: GRANTs so far */
	uint64_t revokes;                     /* model: REVOKEs so far */
	int64_t release_due[SIM_CLIENTS + 1]; /* holder's planned answer */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int64_t rng_range(int64_t n)
{
	return (int64_t)(rng() % (uint64_t)n);
}

static int sim_fail(const char *what, int gpu, int64_t now)
{
	check_failed++;
	fprintf(stderr, "simulation: %s (gpu %d, t=%lld ns)\n", what, gpu,
	        (long long)now);
	return -1;
}

static int model_find(const struct sim_gpu *s, uint64_t c)
{
	for (int i = 0; i < s->nqueue; i++)
		if (s->queue[i].client == c)
			return i;
	return -1;
}

static void model_remove(struct sim_gpu *s, int i)
{
	memmove(&s->queue[i], &s->queue[i + 1],
	        (size_t)(s->nqueue - i - 1) * sizeof(s->queue[0]));
	s->nqueue--;
}

/* Checks the actions against the model and applies them to it. */
static int sim_apply(struct sim_gpu *s, int gi, int64_t now)
{
	for (unsigned i = 0; i < out.n; i++) {
		const struct policy_action *a = &out.act[i];

		switch (a->kind) {
		case POLICY_GRANT:
			if (s->holder)
				return sim_fail("grant while held", gi, now);
			if (s->nqueue == 0 || s->queue[0].client != a->client)
				return sim_fail("grant out of FIFO order", gi,
				                now);
			if (now > s->queue[0].bound)
				return sim_fail("waiter granted too late", gi,
				                now);
			if (a->span_ns != now - s->queue[0].since)
				return sim_fail("grant: wrong wait time", gi,
				                now);
			model_remove(s, 0);
			s->holder = a->client;
			s->granted_at = now;
			s->drop_at = -1;
			s->grants++;
			/* Most answer in time, some late, some never. */
			s->release_due[a->client] = -1;
			break;
		case POLICY_DROP:
			if (a->client != s->holder || s->drop_at >= 0 ||
			    s->nqueue == 0 ||
			    now - s->granted_at < s->pol.slice_ns)
				return sim_fail("unexpected DROP", gi, now);
			s->drop_at = now;
			if (rng_range(10) < 8)
				s->release_due[a->client] =
				    now + rng_range(s->pol.grace_ns);
			else if (rng_range(2))
				s->release_due[a->client] =
				    now + s->pol.grace_ns +
				    rng_range(s->pol.grace_ns);
			break;
		case POLICY_REVOKE:
			/* Exactly at the grace deadline, or later only when
			 * nobody waited then (the revoke waits for a waiter).
			 */
			if (a->client != s->holder || s->drop_at < 0 ||
			    now - s->drop_at < s->pol.grace_ns ||
			    s->nqueue == 0)
				return sim_fail("unexpected REVOKE", gi, now);
			s->holder = 0;
			s->revokes++;
			break;
		case POLICY_CONFIRM:
			if (a->client != s->holder)
				return sim_fail("CONFIRM to a non-holder", gi,
				                now);
			break;
		}
	}
	out.n = 0;
	return 0;
}

/* Compares the policy's state with the model, and checks the invariants. */
static int sim_compare(struct sim_gpu *s, int gi, int64_t now)
{
	const struct policy_gpu *p = &s->pol;

	if (p->nrunning > 1)
		return sim_fail("more than one holder", gi, now);
	if (holder(p) != s->holder)
		return sim_fail("holder differs from the model", gi, now);
	if ((int)p->nqueue != s->nqueue)
		return sim_fail("queue length differs", gi, now);
	for (int i = 0; i < s->nqueue; i++) {
		if (p->queue[i].client != s->queue[i].client)
			return sim_fail("queue order differs", gi, now);
		if (p->queue[i].client == s->holder)
			return sim_fail("holder also queued", gi, now);
		if (now > s->queue[i].bound)
			return sim_fail("waiter starved past its bound", gi,
			                now);
	}
	if (p->lock_grants != s->grants || p->forced_releases != s->revokes)
		return sim_fail("counters differ", gi, now);
	return 0;
}

static int sim_request(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	if (c != s->holder && model_find(s, c) < 0) {
		int ahead = s->nqueue + (s->holder ? 1 : 0);
		s->queue[s->nqueue++] = (struct sim_waiter){
		    .client = c,
		    .since = now,
		    .bound = now + ahead * (s->pol.slice_ns + s->pol.grace_ns),
		};
	}
	policy_request(&s->pol, c, now, &out);
	if (c == s->holder && (out.n == 0 || out.act[0].kind != POLICY_CONFIRM))
		return sim_fail("holder's request not confirmed", gi, now);
	return sim_apply(s, gi, now);
}

static int sim_release(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	int was = c == s->holder;

	if (policy_release(&s->pol, c, now, &out) != was)
		return sim_fail("release result differs", gi, now);
	if (was)
		s->holder = 0;
	s->release_due[c] = -1;
	return sim_apply(s, gi, now);
}

static int sim_disconnect(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	int i = model_find(s, c);

	if (i >= 0)
		model_remove(s, i);
	if (c == s->holder)
		s->holder = 0;
	s->release_due[c] = -1;
	policy_disconnect(&s->pol, c, now, &out);
	return sim_apply(s, gi, now);
}

/* Advances every GPU to time t, ticking each at its own deadlines. */
static int sim_advance(struct sim_gpu *sims, int64_t *now, int64_t t)
{
	/* Each tick must make progress; a policy that keeps announcing a
	 * deadline it does not act on would spin here. */
	for (int spins = 0;; spins++) {
		int best = -1;
		int64_t when = t;

		if (spins > 10000)
			return sim_fail("ticks make no progress", -1, *now);

		for (int i = 0; i < SIM_GPUS; i++) {
			int64_t d = policy_next_deadline(&sims[i].pol);
			for (int c = 1; c <= SIM_CLIENTS; c++)
				if (sims[i].release_due[c] >= 0 &&
				    sims[i].release_due[c] < d)
					d = sims[i].release_due[c];
			if (d <= when) {
				when = d < *now ? *now : d;
				best = i;
			}
		}
		if (best < 0)
			break;
		*now = when;
		struct sim_gpu *s = &sims[best];
		uint64_t due = 0;
		for (int c = 1; c <= SIM_CLIENTS; c++)
			if (s->release_due[c] >= 0 && s->release_due[c] <= when)
				due = (uint64_t)c;
		if (due) {
			if (sim_release(s, best, due, when))
				return -1;
		} else {
			policy_tick(&s->pol, when, &out);
			if (sim_apply(s, best, when))
				return -1;
		}
		if (sim_compare(s, best, when))
			return -1;
	}
	*now = t;
	return 0;
}

/* A cheap fingerprint of a GPU's state, to check that others are left
 * alone. */
static uint64_t fingerprint(const struct policy_gpu *g)
{
	uint64_t h = 1469598103934665603ull;

	h = (h ^ g->nrunning) * 1099511628211ull;
	for (size_t i = 0; i < g->nrunning; i++)
		h = (h ^ g->running[i].client ^
		     (uint64_t)g->running[i].drop_sent_at_ns) *
		    1099511628211ull;
	for (size_t i = 0; i < g->nqueue; i++)
		h = (h ^ g->queue[i].client) * 1099511628211ull;
	return (h ^ g->lock_grants ^ (g->forced_releases << 32)) *
	       1099511628211ull;
}

static void test_random_simulation(void)
{
	static const int64_t slices[SIM_GPUS] = {MS(100), MS(37), MS(250)};
	static const int64_t graces[SIM_GPUS] = {MS(50), MS(20), MS(80)};
	struct sim_gpu sims[SIM_GPUS];
	int64_t now = MS(1);
	uint64_t total_grants = 0, total_revokes = 0;
	int failed = 0;

	memset(sims, 0, sizeof(sims));
	for (int i = 0; i < SIM_GPUS; i++) {
		policy_gpu_init(&sims[i].pol, slices[i], graces[i]);
		for (int c = 0; c <= SIM_CLIENTS; c++)
			sims[i].release_due[c] = -1;
	}
	out.n = 0;
	for (int step = 0; step < SIM_STEPS && !failed; step++) {
		int gi = (int)rng_range(SIM_GPUS);
		uint64_t c = 1 + (uint64_t)rng_range(SIM_CLIENTS);
		int64_t r = rng_range(100);
		uint64_t before[SIM_GPUS];
		struct sim_gpu *s = &sims[gi];

		if (sim_advance(sims, &now, now + rng_range(MS(30)))) {
			failed = 1;
			break;
		}
		for (int i = 0; i < SIM_GPUS; i++)
			before[i] = fingerprint(&sims[i].pol);
		if (r < 55)
			failed = sim_request(s, gi, c, now) != 0;
		else if (r < 85)
			failed = sim_release(s, gi, c, now) != 0;
		else
			failed = sim_disconnect(s, gi, c, now) != 0;
		failed = failed || sim_compare(s, gi, now) != 0;
		for (int i = 0; i < SIM_GPUS && !failed; i++)
			if (i != gi && fingerprint(&sims[i].pol) != before[i])
				failed = sim_fail("event changed another GPU",
				                  i, now) != 0;
	}
	CHECK_EQ(failed, 0);
	for (int i = 0; i < SIM_GPUS; i++) {
		total_grants += sims[i].grants;
		total_revokes += sims[i].revokes;
		policy_gpu_destroy(&sims[i].pol);
	}
	/* The run exercised every kind of transition, many times. */
	CHECK(total_grants > 10000);
	CHECK(total_revokes > 100);
	printf("simulation: %d steps, %llu grants, %llu forced releases, "
	       "%.1f s simulated\n",
	       SIM_STEPS, (unsigned long long)total_grants,
	       (unsigned long long)total_revokes, (double)now / 1e9);
}

int main(void)
{
	test_grant_free();
	test_enqueue_fifo();
	test_no_drop_without_waiters();
	test_drop_after_slice();
	test_early_release();
	test_force_revoke();
	test_stale_release();
	test_disconnect();
	test_slice_change();
	test_idempotent_requests();
	test_waiter_leaves_after_drop();
	test_clear_and_state();
	test_out_full();
	test_random_simulation();
	return check_summary("test_policy");
}
