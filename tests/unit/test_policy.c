/*
 * test_policy.c - the scheduling policy (scheduler/policy.c), transition by
 * transition with exact actions and times: first the exclusive lock of
 * serial mode (grants, drops, forced releases, disconnects), then memory:
 * clients that fit run together, a newcomer that does not fit waits and is
 * told why, idle clients are evicted for it, running ones are dropped with
 * their memory swapped out after the slice (fixed, automatic from measured
 * bandwidth, or capped by max-run), concurrent mode never drops. Last, a
 * deterministic random simulation over several GPUs and modes checks the
 * invariants after every event against a model built only from the events
 * it causes and the actions it receives: the running clients' memory fits
 * the GPU, at most one runs in serial mode, grants follow FIFO order, every
 * waiter is told why it waits, no head of a queue waits longer than a
 * computable bound while clients answer, and GPUs are independent.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "policy.h"
#include "splitmix.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS(x) ((int64_t)(x)*1000000)
#define GIB(x) ((uint64_t)(x) << 30)
#define SLICE MS(100)
#define GRACE MS(50)
#define CAP GIB(16)
#define LONG_RUN MS(3600000)

static struct policy_out out;

/* Compares out with the expected actions, reporting the caller's line, and
 * empties out for the next step. */
static void expect_out(const struct policy_action *want, unsigned n, int line)
{
	int ok = out.n == n;

	for (unsigned i = 0; ok && i < n; i++)
		ok = out.act[i].kind == want[i].kind &&
		     out.act[i].client == want[i].client &&
		     out.act[i].span_ns == want[i].span_ns &&
		     out.act[i].flags == want[i].flags &&
		     out.act[i].reason == want[i].reason &&
		     out.act[i].need_bytes == want[i].need_bytes &&
		     out.act[i].free_bytes == want[i].free_bytes;
	if (ok) {
		check_passed++;
	} else {
		check_failed++;
		fprintf(stderr, "%s:%d: actions differ; got %u:", __FILE__,
		        line, out.n);
		for (unsigned i = 0; i < out.n; i++)
			fprintf(stderr, " %s(%llu,%lld,f%u,r%u,%llu,%llu)",
			        policy_kind_name(out.act[i].kind),
			        (unsigned long long)out.act[i].client,
			        (long long)out.act[i].span_ns, out.act[i].flags,
			        out.act[i].reason,
			        (unsigned long long)out.act[i].need_bytes,
			        (unsigned long long)out.act[i].free_bytes);
		fprintf(stderr, "; want %u\n", n);
	}
	out.n = 0;
}

#define ACT(k, c, span)                                                        \
	{                                                                      \
		.kind = POLICY_##k, .client = (c), .span_ns = (span)           \
	}
/* DROP_LOCK asking for the memory too. */
#define DROP_SWAP(c, span)                                                     \
	{                                                                      \
		.kind = POLICY_DROP, .client = (c), .span_ns = (span),         \
		.flags = POLICY_DROP_SWAP_OUT                                  \
	}
#define WAIT_FOR(c, span, why, need, free)                                     \
	{                                                                      \
		.kind = POLICY_WAIT, .client = (c), .span_ns = (span),         \
		.reason = POLICY_WAIT_##why, .need_bytes = (need),             \
		.free_bytes = (free)                                           \
	}
/* A client without memory waiting for its turn on an empty GPU. */
#define TURN(c, span) WAIT_FOR(c, span, TURN, 0, CAP)
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

static void init(struct policy_gpu *g, enum policy_mode mode, uint64_t cap,
                 int64_t slice, int64_t max_run, int64_t grace)
{
	struct policy_settings s = {
	    .mode = mode,
	    .slice_ns = slice,
	    .max_run_ns = max_run,
	    .grace_ns = grace,
	};

	policy_gpu_init(g, cap, &s);
	out.n = 0;
}

/* The exclusive lock of the first tests: serial, fixed slice. */
static void setup(struct policy_gpu *g)
{
	init(g, POLICY_MODE_SERIAL, CAP, SLICE, LONG_RUN, GRACE);
}

static void set_times(struct policy_gpu *g, int64_t slice, int64_t grace)
{
	struct policy_settings s = {
	    .mode = g->mode,
	    .slice_ns = slice,
	    .max_run_ns = g->max_run_ns,
	    .grace_ns = grace,
	};

	policy_set_settings(g, &s);
}

/* Registers client with a footprint (no actions expected by the caller
 * unless it checks). */
static void reg(struct policy_gpu *g, uint64_t c, uint64_t bytes, int64_t now)
{
	CHECK_EQ(policy_register(g, c, now), 0);
	CHECK_EQ(policy_set_footprint(g, c, bytes, 0, 0, now, &out), 0);
}

static int resident(const struct policy_gpu *g, uint64_t c)
{
	const struct policy_member *m = policy_member_of(g, c);

	return m ? m->resident : -1;
}

/* --- serial mode: the exclusive lock ---------------------------------------
 */

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
	EXPECT(TURN(2, 0), TURN(3, 0), TURN(4, 0));
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
	EXPECT(ACT(DROP, 1, MS(5000)), TURN(2, 0));
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
	EXPECT(ACT(GRANT, 1, 0), TURN(2, 0));
	CHECK_EQ(policy_tick(&g, MS(99), &out), MS(100));
	EXPECT_NONE();
	CHECK_EQ(policy_tick(&g, MS(100), &out), MS(150));
	EXPECT(ACT(DROP, 1, MS(100)));
	/* Once only. */
	CHECK_EQ(policy_tick(&g, MS(120), &out), MS(150));
	EXPECT_NONE();
	policy_request(&g, 3, MS(121), &out);
	EXPECT(TURN(3, 0));
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
	EXPECT(ACT(GRANT, 1, 0), TURN(2, 0));
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
	EXPECT(ACT(GRANT, 1, 0), TURN(2, 0));
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
	EXPECT(TURN(1, 0));
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
	EXPECT(ACT(GRANT, 1, 0), TURN(2, 0), TURN(3, 0));
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
	EXPECT(ACT(GRANT, 1, 0), TURN(2, 0), TURN(3, 0), TURN(4, 0));
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
	EXPECT(ACT(GRANT, 1, 0), TURN(2, 0));
	CHECK_EQ(policy_next_deadline(&g), MS(100));
	/* Shorter: the holder, 60 ms in, is past the new 50 ms slice. */
	set_times(&g, MS(50), GRACE);
	CHECK_EQ(policy_tick(&g, MS(60), &out), MS(110));
	EXPECT(ACT(DROP, 1, MS(60)));
	policy_release(&g, 1, MS(70), &out);
	EXPECT(ACT(GRANT, 2, MS(60)));
	/* Longer: the current holder's deadline moves out. */
	policy_request(&g, 3, MS(80), &out);
	set_times(&g, MS(1000), GRACE);
	CHECK_EQ(policy_tick(&g, MS(120), &out), MS(1070));
	EXPECT(TURN(3, 0));
	/* A new grace applies to a pending drop. */
	policy_tick(&g, MS(1070), &out);
	EXPECT(ACT(DROP, 2, MS(1000)));
	set_times(&g, MS(1000), MS(10));
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
	EXPECT(TURN(2, 0), TURN(3, 0));
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
	EXPECT(TURN(1, 0));
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
	EXPECT(ACT(GRANT, 1, 0), TURN(2, 0), ACT(DROP, 1, MS(100)));
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
	EXPECT(ACT(GRANT, 1, 0), TURN(2, 0), ACT(DROP, 1, MS(100)));
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

/* --- memory: auto mode -----------------------------------------------------
 */

/* Clients whose memory fits together run together; without waiters
 * nobody is ever dropped. */
static void test_fit_together(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, GIB(4), 0);
	reg(&g, 2, GIB(4), 0);
	reg(&g, 3, GIB(8), 0);
	EXPECT_NONE();
	/* Nothing is granted yet, so nothing may be backed. */
	CHECK_EQ(policy_resident_bytes(&g), 0);
	policy_request(&g, 1, MS(1), &out);
	policy_request(&g, 2, MS(2), &out);
	policy_request(&g, 3, MS(3), &out);
	EXPECT(ACT(GRANT, 1, 0), ACT(GRANT, 2, 0), ACT(GRANT, 3, 0));
	CHECK_EQ(policy_resident_bytes(&g), GIB(16));
	CHECK_EQ(policy_member_of(&g, 3)->granted_bytes, GIB(8));
	CHECK_EQ(g.nrunning, 3);
	CHECK_EQ(g.running[0].client, 1);
	CHECK_EQ(g.running[2].client, 3);
	CHECK_EQ(g.lock_grants, 3);
	CHECK_EQ(policy_tick(&g, MS(100000), &out), POLICY_NO_DEADLINE);
	EXPECT_NONE();
	/* A client without memory fits beside a full GPU. */
	policy_request(&g, 4, MS(100001), &out);
	EXPECT(ACT(GRANT, 4, 0));
	CHECK_EQ(g.nrunning, 4);
	policy_gpu_destroy(&g);
}

/* A newcomer that does not fit waits and is told so; once the slice of
 * the longest-running client that must leave is over, just enough
 * running clients are dropped with their memory swapped out, and the
 * waiter is granted when they have reported the swap and released. */
static void test_newcomer_waits_memory(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, GIB(4), 0);
	reg(&g, 2, GIB(4), 0);
	reg(&g, 3, GIB(8), 0);
	policy_request(&g, 1, MS(1), &out);
	policy_request(&g, 2, MS(2), &out);
	policy_request(&g, 3, MS(3), &out);
	EXPECT(ACT(GRANT, 1, 0), ACT(GRANT, 2, 0), ACT(GRANT, 3, 0));
	/* 16 GiB run; 4 needs 2 GiB more than the GPU has. */
	reg(&g, 4, GIB(2), MS(4));
	EXPECT_NONE();
	policy_request(&g, 4, MS(5), &out);
	EXPECT(WAIT_FOR(4, 0, MEMORY, GIB(2), 0));
	CHECK_EQ(policy_wait_reason_of(&g, 4), POLICY_WAIT_MEMORY);
	/* Client 1 (4 GiB, longest running) is enough: dropped at 1 + 100. */
	CHECK_EQ(policy_next_deadline(&g), MS(101));
	CHECK_EQ(policy_tick(&g, MS(100), &out), MS(101));
	EXPECT_NONE();
	CHECK_EQ(policy_tick(&g, MS(101), &out), MS(151));
	EXPECT(DROP_SWAP(1, MS(100)));
	CHECK_EQ(g.running[0].drop_flags, POLICY_DROP_SWAP_OUT);
	/* Told once: nothing more while the reason stays. */
	CHECK_EQ(policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(4), 1u << 30,
	                            MS(120), &out),
	         0);
	EXPECT_NONE();
	CHECK_EQ(resident(&g, 1), 0);
	CHECK_EQ(g.nrunning, 3); /* 1 still runs until it releases */
	CHECK_EQ(policy_release(&g, 1, MS(130), &out), 1);
	EXPECT(ACT(GRANT, 4, MS(125)));
	CHECK_EQ(g.nrunning, 3);
	CHECK_EQ(resident(&g, 4), 1);
	CHECK_EQ(policy_resident_bytes(&g), GIB(14));
	CHECK_EQ(policy_member_of(&g, 1)->swap_outs, 1);
	CHECK_EQ(g.swaps, 1);
	/* 4 GiB in 2^30 ns: exactly 4 bytes per ns, replacing the default. */
	CHECK(g.bw_out == 4.0);
	CHECK_EQ(g.forced_releases, 0);
	policy_gpu_destroy(&g);
}

/* Idle resident clients are evicted for the head, oldest idle first, only
 * as many as needed; the head is granted when they report. */
static void test_evict_idle(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, GIB(8), 0);
	reg(&g, 2, GIB(4), 0);
	reg(&g, 3, GIB(4), 0);
	policy_request(&g, 1, MS(1), &out);
	policy_request(&g, 2, MS(2), &out);
	policy_release(&g, 1, MS(10), &out);
	policy_release(&g, 2, MS(20), &out);
	policy_request(&g, 3, MS(30), &out);
	EXPECT(ACT(GRANT, 1, 0), ACT(GRANT, 2, 0), ACT(GRANT, 3, 0));
	/* 16 GiB resident (1 and 2 idle), 4 needs 6 GiB: evicting 1 (8 GiB,
	 * idle longest) is enough; 2 stays. */
	reg(&g, 4, GIB(6), MS(40));
	policy_request(&g, 4, MS(50), &out);
	EXPECT(ACT(EVICT, 1, MS(40)), WAIT_FOR(4, 0, MEMORY, GIB(6), 0));
	CHECK_EQ(g.evictions, 1);
	CHECK_EQ(policy_member_of(&g, 1)->evicting, 1);
	CHECK_EQ(policy_member_of(&g, 2)->evicting, 0);
	/* Nothing more while the eviction is under way. */
	CHECK_EQ(policy_tick(&g, MS(60), &out), MS(100));
	EXPECT_NONE();
	CHECK_EQ(policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(8), 1u << 31,
	                            MS(70), &out),
	         0);
	EXPECT(ACT(GRANT, 4, MS(20)));
	CHECK_EQ(resident(&g, 1), 0);
	CHECK_EQ(policy_member_of(&g, 1)->evicting, 0);
	CHECK_EQ(policy_resident_bytes(&g), GIB(14));
	CHECK(g.bw_out == 4.0);
	CHECK_EQ(policy_next_deadline(&g), POLICY_NO_DEADLINE);
	/* 1 (8 GiB, now on the host) comes back: 6 GiB must leave, and 2
	 * (idle, 4 GiB) is not enough. At the end of 3's slice, 2 is evicted
	 * and 3 (running longest) dropped with its memory. */
	policy_request(&g, 1, MS(80), &out);
	EXPECT(WAIT_FOR(1, 0, MEMORY, GIB(8), GIB(2)));
	CHECK_EQ(policy_next_deadline(&g), MS(130));
	policy_tick(&g, MS(130), &out);
	EXPECT(ACT(EVICT, 2, MS(110)), DROP_SWAP(3, MS(100)));
	/* Neither answers: 3 is revoked (resident as far as we know), 2's
	 * memory stays counted on the GPU (a stopped process still has it
	 * there), 3, idle now, is evicted, and 4 (running, 6 GiB) is asked
	 * to make room too: its slice is over. */
	CHECK_EQ(policy_next_deadline(&g), MS(180));
	policy_tick(&g, MS(180), &out);
	EXPECT(ACT(REVOKE, 3, MS(150)), ACT(EVICT_TIMEOUT, 2, MS(50)),
	       ACT(EVICT, 3, 0), DROP_SWAP(4, MS(110)));
	CHECK_EQ(g.evict_timeouts, 1);
	CHECK_EQ(g.evictions, 3);
	CHECK_EQ(resident(&g, 2), 1);
	CHECK_EQ(resident(&g, 3), 1);
	CHECK_EQ(policy_member_of(&g, 2)->out_asked, 1);
	/* 3 answers: 4 GiB freed, not enough beside 2 and 4 (10 GiB): 1
	 * still waits, for memory. */
	CHECK_EQ(policy_swap_check(&g, 3, POLICY_SWAP_OUT, GIB(4), 1u << 30),
	         POLICY_SWAP_ANSWER);
	policy_swap_report(&g, 3, POLICY_SWAP_OUT, GIB(4), 1u << 30, MS(190),
	                   &out);
	EXPECT_NONE();
	CHECK_EQ(resident(&g, 1), 0);
	/* 2 resumes and answers its EVICT late: the answer is taken, and 1
	 * fits beside 4. */
	CHECK_EQ(policy_swap_check(&g, 2, POLICY_SWAP_OUT, GIB(4), 1u << 30),
	         POLICY_SWAP_ANSWER);
	policy_swap_report(&g, 2, POLICY_SWAP_OUT, GIB(4), 1u << 30, MS(195),
	                   &out);
	EXPECT(ACT(GRANT, 1, MS(115)));
	CHECK_EQ(resident(&g, 1), 1);
	CHECK_EQ(policy_resident_bytes(&g), GIB(14));
	policy_gpu_destroy(&g);
}

/* Just enough: two idle clients are evicted at once when one is not
 * enough, the oldest idle first, and the third is left alone. */
static void test_evict_just_enough(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	for (uint64_t c = 1; c <= 4; c++) {
		reg(&g, c, GIB(4), 0);
		policy_request(&g, c, MS(c), &out);
	}
	policy_release(&g, 2, MS(10), &out);
	policy_release(&g, 1, MS(20), &out);
	policy_release(&g, 3, MS(30), &out);
	EXPECT(ACT(GRANT, 1, 0), ACT(GRANT, 2, 0), ACT(GRANT, 3, 0),
	       ACT(GRANT, 4, 0));
	policy_set_footprint(&g, 5, GIB(8), 0, 0, MS(40), &out);
	policy_swap_report(&g, 5, POLICY_SWAP_OUT, GIB(8), 1u << 30, MS(40),
	                   &out);
	policy_request(&g, 5, MS(50), &out);
	EXPECT(ACT(EVICT, 2, MS(40)), ACT(EVICT, 1, MS(30)),
	       WAIT_FOR(5, 0, MEMORY, GIB(8), 0));
	CHECK_EQ(policy_member_of(&g, 3)->evicting, 0);
	policy_swap_report(&g, 2, POLICY_SWAP_OUT, GIB(4), 1u << 30, MS(60),
	                   &out);
	EXPECT_NONE();
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(4), 1u << 30, MS(70),
	                   &out);
	EXPECT(ACT(GRANT, 5, MS(20)));
	CHECK_EQ(resident(&g, 3), 1);
	policy_gpu_destroy(&g);
}

/* The automatic slice: 5 x the estimated swap time (bytes of the running
 * clients that must leave over the swap-out bandwidth, plus the waiter's
 * bytes on the host over the swap-in bandwidth), at least 1 s, at most
 * max-run. */
static void test_auto_slice(void)
{
	struct policy_gpu g;
	struct policy_slice sl;

	init(&g, POLICY_MODE_AUTO, CAP, POLICY_SLICE_AUTO, MS(30000), GRACE);
	/* Nobody waits: nothing to move, the floor. */
	policy_slice_of(&g, &sl);
	CHECK_EQ(sl.ns, MS(1000));
	CHECK_EQ(sl.why, POLICY_SLICE_AUTO_FLOOR);
	CHECK_EQ(sl.swap_ns, 0);
	reg(&g, 1, GIB(12), 0);
	policy_request(&g, 1, 0, &out);
	reg(&g, 2, GIB(8), MS(10));
	policy_request(&g, 2, MS(10), &out);
	EXPECT(ACT(GRANT, 1, 0), WAIT_FOR(2, 0, MEMORY, GIB(8), GIB(4)));
	/* 12 GiB out at the default 8 bytes/ns; 2 is resident (registered,
	 * never swapped): nothing comes in. 1610612736 ns x 5. */
	policy_slice_of(&g, &sl);
	CHECK_EQ(sl.swap_ns, 1610612736);
	CHECK_EQ(sl.ns, 8053063680);
	CHECK_EQ(sl.why, POLICY_SLICE_AUTO_SWAP);
	CHECK_EQ(policy_next_deadline(&g), 8053063680);
	CHECK_EQ(policy_tick(&g, 8053063679, &out), 8053063680);
	EXPECT_NONE();
	policy_tick(&g, 8053063680, &out);
	EXPECT(DROP_SWAP(1, 8053063680));
	/* Measured: 8 GiB in 2^31 ns (4 B/ns) replaces the default, then 4
	 * GiB in 2^31 ns (2 B/ns) moves the average a quarter of the way:
	 * 3.5 B/ns. */
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(8), 1u << 31, MS(8100),
	                   &out);
	CHECK(g.bw_out == 4.0);
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(4), 1u << 31, MS(8101),
	                   &out);
	CHECK(g.bw_out == 3.5);
	CHECK_EQ(g.bw_out_measured, 1);
	CHECK_EQ(g.bw_in_measured, 0);
	/* Moves under 1 MiB and zero durations are not samples. */
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, 4096, 1, MS(8102), &out);
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(1), 0, MS(8103), &out);
	CHECK(g.bw_out == 3.5);
	CHECK_EQ(g.swaps, 4);
	EXPECT_NONE();
	policy_release(&g, 1, MS(8200), &out);
	EXPECT(ACT(GRANT, 2, MS(8190)));
	/* 1 (12 GiB, on the host) asks again; 2 runs with 8 GiB. 4 GiB of 2
	 * must leave... all of 2, 8 GiB, at 3.5 B/ns = 2454267026 ns, and 12
	 * GiB come in at 40 B/ns = 322122547 ns. */
	policy_request(&g, 1, MS(8300), &out);
	EXPECT(WAIT_FOR(1, 0, MEMORY, GIB(12), GIB(8)));
	policy_slice_of(&g, &sl);
	CHECK_EQ(sl.swap_ns, 2454267026 + 322122547);
	CHECK_EQ(sl.ns, 13881947867);
	CHECK_EQ(sl.why, POLICY_SLICE_AUTO_SWAP);
	/* A swap-in measured at 32 B/ns. */
	policy_swap_report(&g, 2, POLICY_SWAP_IN, GIB(8), 1u << 28, MS(8301),
	                   &out);
	CHECK(g.bw_in == 32.0);
	policy_slice_of(&g, &sl);
	CHECK_EQ(sl.swap_ns, 2454267026 + 402653184);
	/* max-run caps it. */
	g.max_run_ns = MS(5000);
	policy_slice_of(&g, &sl);
	CHECK_EQ(sl.ns, MS(5000));
	CHECK_EQ(sl.why, POLICY_SLICE_MAX_RUN);
	CHECK_EQ(policy_next_deadline(&g), MS(8200) + MS(5000));
	/* A fixed slice is reported as such, and capped too. */
	g.slice_ns = MS(700);
	policy_slice_of(&g, &sl);
	CHECK_EQ(sl.ns, MS(700));
	CHECK_EQ(sl.why, POLICY_SLICE_FIXED);
	g.slice_ns = MS(7000);
	policy_slice_of(&g, &sl);
	CHECK_EQ(sl.ns, MS(5000));
	CHECK_EQ(sl.why, POLICY_SLICE_MAX_RUN);
	EXPECT_NONE();
	policy_gpu_destroy(&g);
}

/* max-run bounds how long a running client keeps the GPU from a waiter,
 * whatever the slice setting. */
static void test_max_run(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, MS(60000), MS(2000), GRACE);
	reg(&g, 1, GIB(10), 0);
	policy_request(&g, 1, 0, &out);
	reg(&g, 2, GIB(10), MS(1));
	policy_request(&g, 2, MS(1), &out);
	EXPECT(ACT(GRANT, 1, 0), WAIT_FOR(2, 0, MEMORY, GIB(10), GIB(6)));
	CHECK_EQ(policy_tick(&g, MS(1999), &out), MS(2000));
	EXPECT_NONE();
	policy_tick(&g, MS(2000), &out);
	EXPECT(DROP_SWAP(1, MS(2000)));
	/* Answered late: revoked after the grace; still resident as far as we
	 * know, so it is evicted at once. */
	policy_tick(&g, MS(2050), &out);
	EXPECT(ACT(REVOKE, 1, MS(2050)), ACT(EVICT, 1, 0));
	CHECK_EQ(g.forced_releases, 1);
	CHECK_EQ(resident(&g, 1), 1);
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(10), 1u << 30, MS(2060),
	                   &out);
	EXPECT(ACT(GRANT, 2, MS(2059)));
	/* Its late LOCK_RELEASED is stale. */
	CHECK_EQ(policy_release(&g, 1, MS(2061), &out), 0);
	EXPECT_NONE();
	policy_gpu_destroy(&g);
}

/* A freed GPU admits waiters at once: on release, on disconnect (which
 * frees the memory too), and on a footprint that shrinks. */
static void test_freed_gpu_admits(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, GIB(12), 0);
	policy_request(&g, 1, 0, &out);
	EXPECT(ACT(GRANT, 1, 0));
	reg(&g, 2, GIB(8), 0);
	reg(&g, 3, GIB(8), 0);
	/* 1 runs with 12 GiB; 2 and 3 were never granted, so their memory
	 * waits unbacked: each needs 8 GiB where 4 GiB are free, and 1 is
	 * dropped at the end of its slice. */
	policy_request(&g, 2, MS(1), &out);
	EXPECT(WAIT_FOR(2, 0, MEMORY, GIB(8), GIB(4)));
	policy_request(&g, 3, MS(2), &out);
	EXPECT(WAIT_FOR(3, 0, MEMORY, GIB(8), GIB(4)));
	CHECK_EQ(policy_next_deadline(&g), MS(100));
	/* 1 disconnects: 12 GiB are free at once; 2 fits beside 3. */
	policy_disconnect(&g, 1, MS(50), &out);
	EXPECT(ACT(GRANT, 2, MS(49)), ACT(GRANT, 3, MS(48)));
	CHECK(policy_member_of(&g, 1) == NULL);
	CHECK_EQ(policy_resident_bytes(&g), GIB(16));
	/* 4 waits for memory; 3 shrinking lets it in. */
	reg(&g, 4, GIB(2), MS(60));
	policy_request(&g, 4, MS(60), &out);
	EXPECT(WAIT_FOR(4, 0, MEMORY, GIB(2), 0));
	policy_set_footprint(&g, 3, GIB(6), 0, 0, MS(70), &out);
	EXPECT(ACT(MEM_GRANT, 3, 0), ACT(GRANT, 4, MS(10)));
	CHECK_EQ(policy_member_of(&g, 3)->granted_bytes, GIB(6));
	/* 5, with no memory, fits beside a full GPU. */
	policy_request(&g, 5, MS(80), &out);
	EXPECT(ACT(GRANT, 5, 0));
	policy_gpu_destroy(&g);
}

/* Drops go to the fewest running clients, longest-running first, and
 * only once the longest-running of them has had its slice. */
static void test_minimal_drops(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, 0, 0);
	reg(&g, 2, GIB(4), 0);
	reg(&g, 3, GIB(4), 0);
	reg(&g, 4, GIB(6), 0);
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, MS(50), &out);
	policy_request(&g, 3, MS(60), &out);
	policy_request(&g, 4, MS(70), &out);
	EXPECT(ACT(GRANT, 1, 0), ACT(GRANT, 2, 0), ACT(GRANT, 3, 0),
	       ACT(GRANT, 4, 0));
	/* 5 needs 7 GiB, 2 GiB are free: 2 (4 GiB) and 3 (4 GiB) must go;
	 * 1 runs longest but has no memory to give; 4 can stay. */
	reg(&g, 5, GIB(7), MS(80));
	policy_request(&g, 5, MS(80), &out);
	EXPECT(WAIT_FOR(5, 0, MEMORY, GIB(7), GIB(2)));
	CHECK_EQ(policy_next_deadline(&g), MS(150));
	policy_tick(&g, MS(150), &out);
	EXPECT(DROP_SWAP(2, MS(100)), DROP_SWAP(3, MS(90)));
	policy_swap_report(&g, 2, POLICY_SWAP_OUT, GIB(4), 1u << 30, MS(160),
	                   &out);
	policy_release(&g, 2, MS(161), &out);
	EXPECT_NONE(); /* 3 has not left yet */
	policy_swap_report(&g, 3, POLICY_SWAP_OUT, GIB(4), 1u << 30, MS(170),
	                   &out);
	policy_release(&g, 3, MS(171), &out);
	EXPECT(ACT(GRANT, 5, MS(91)));
	CHECK_EQ(g.nrunning, 3);
	CHECK_EQ(g.running[0].client, 1);
	CHECK_EQ(g.running[1].client, 4);
	CHECK_EQ(g.running[2].client, 5);
	CHECK_EQ(policy_resident_bytes(&g), GIB(13));
	policy_gpu_destroy(&g);
}

/* A waiter is told why it waits once per change of reason. */
static void test_wait_reasons(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_SERIAL, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, GIB(10), 0);
	policy_request(&g, 1, 0, &out);
	EXPECT(ACT(GRANT, 1, 0));
	/* 2 is on the host: its 6 GiB fit beside 1, it waits its turn. */
	reg(&g, 2, GIB(6), MS(1));
	policy_swap_report(&g, 2, POLICY_SWAP_OUT, GIB(6), MS(1), MS(1), &out);
	policy_request(&g, 2, MS(2), &out);
	EXPECT(WAIT_FOR(2, 0, TURN, GIB(6), GIB(6)));
	policy_request(&g, 3, MS(3), &out);
	EXPECT(WAIT_FOR(3, 0, TURN, 0, GIB(6)));
	/* 3 grows to 7 GiB (unbacked while it waits): it does not fit
	 * beside 1; 2 still does. */
	policy_set_footprint(&g, 3, GIB(7), 0, 0, MS(4), &out);
	EXPECT(WAIT_FOR(3, MS(1), MEMORY, GIB(7), GIB(6)));
	/* Shrinks to nothing: it waits for its turn again. */
	policy_set_footprint(&g, 3, 0, 0, 0, MS(5), &out);
	EXPECT(WAIT_FOR(3, MS(2), TURN, 0, GIB(6)));
	/* 1, running alone, grows to 11 GiB: granted at once, and 2 waits
	 * for memory now; 3's reason is unchanged and it is not told. */
	policy_set_footprint(&g, 1, GIB(11), 0, 0, MS(6), &out);
	EXPECT(ACT(MEM_GRANT, 1, 0),
	       WAIT_FOR(2, MS(4), MEMORY, GIB(6), GIB(5)));
	CHECK_EQ(policy_wait_reason_of(&g, 3), POLICY_WAIT_TURN);
	CHECK_EQ(policy_wait_reason_of(&g, 1), POLICY_WAIT_NONE);
	policy_set_footprint(&g, 3, GIB(1), 0, 0, MS(7), &out);
	EXPECT_NONE();
	policy_gpu_destroy(&g);
}

/* Swap reports: accepted unasked; a swap-in by a running client (after
 * crossing an eviction) makes it resident again, one by an idle client
 * does not. */
static void test_swap_reports(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, GIB(4), 0);
	reg(&g, 2, GIB(4), 0);
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, 0, &out);
	policy_release(&g, 2, 0, &out);
	EXPECT(ACT(GRANT, 1, 0), ACT(GRANT, 2, 0));
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(4), 1u << 30, MS(1),
	                   &out);
	CHECK_EQ(resident(&g, 1), 0);
	/* Running, it still occupies its memory for admission. */
	reg(&g, 3, GIB(10), MS(2));
	policy_request(&g, 3, MS(2), &out);
	EXPECT(ACT(EVICT, 2, MS(2)), WAIT_FOR(3, 0, MEMORY, GIB(10), GIB(8)));
	CHECK_EQ(policy_resident_bytes(&g), GIB(8));
	policy_swap_report(&g, 1, POLICY_SWAP_IN, GIB(4), 1u << 27, MS(3),
	                   &out);
	CHECK_EQ(resident(&g, 1), 1);
	CHECK(g.bw_in == 32.0);
	/* 2 reports its eviction; 3 fits. */
	policy_swap_report(&g, 2, POLICY_SWAP_OUT, GIB(4), 1u << 30, MS(4),
	                   &out);
	EXPECT(ACT(GRANT, 3, MS(2)));
	/* An idle client's swap-in does not make it resident. */
	policy_swap_report(&g, 2, POLICY_SWAP_IN, GIB(4), 1u << 27, MS(5),
	                   &out);
	CHECK_EQ(resident(&g, 2), 0);
	CHECK_EQ(policy_member_of(&g, 2)->swap_ins, 1);
	CHECK_EQ(policy_member_of(&g, 2)->swap_outs, 1);
	CHECK_EQ(g.swaps, 4);
	/* Unknown direction. */
	CHECK_EQ(policy_swap_report(&g, 2, 7, 1, 1, MS(6), &out), -1);
	EXPECT_NONE();
	policy_gpu_destroy(&g);
}

/* A client larger than the GPU runs alone, with everyone else out. */
static void test_larger_than_gpu(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, GIB(4), 0);
	policy_request(&g, 1, 0, &out);
	reg(&g, 2, GIB(20), MS(1));
	policy_request(&g, 2, MS(1), &out);
	EXPECT(ACT(GRANT, 1, 0), WAIT_FOR(2, 0, MEMORY, GIB(20), GIB(12)));
	policy_tick(&g, MS(100), &out);
	EXPECT(DROP_SWAP(1, MS(100)));
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(4), 1u << 30, MS(101),
	                   &out);
	policy_release(&g, 1, MS(102), &out);
	EXPECT(ACT(GRANT, 2, MS(101)));
	/* Its grant is the whole GPU (the rest is its own business, Unified
	 * Memory that the driver pages); a client without memory still fits
	 * beside it, one with memory does not. */
	CHECK_EQ(policy_member_of(&g, 2)->granted_bytes, CAP);
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	policy_request(&g, 3, MS(103), &out);
	EXPECT(ACT(GRANT, 3, 0));
	reg(&g, 4, GIB(1), MS(104));
	policy_request(&g, 4, MS(104), &out);
	EXPECT(WAIT_FOR(4, 0, MEMORY, GIB(1), 0));
	policy_gpu_destroy(&g);
}

/* The invariant checks (built into debug and sanitizer builds) catch a
 * broken state: here a holder that is no member, in a child process that
 * must abort. */
static void test_invariant_check(void)
{
	struct policy_gpu g;
	int status = 0;
	pid_t pid;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, GIB(1), 0);
	policy_request(&g, 1, 0, &out);
	EXPECT(ACT(GRANT, 1, 0));
	policy_check_invariants(&g); /* a sound state passes */
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		g.running[0].client = 99;
		policy_check_invariants(&g);
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	policy_gpu_destroy(&g);
}

/* Scheduling off and on again: what a client holds while unmanaged is
 * its grant, so the books are right when scheduling resumes. */
static void test_unmanaged_growth(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, GIB(4), 0);
	policy_request(&g, 1, 0, &out);
	EXPECT(ACT(GRANT, 1, 0));
	policy_clear(&g);
	policy_set_unmanaged(&g, 1);
	/* Unmanaged, 1 grows to 9 GiB, all of it on the GPU. */
	CHECK_EQ(policy_set_footprint(&g, 1, GIB(9), 0, GIB(9), MS(1), &out),
	         0);
	EXPECT_NONE();
	policy_set_unmanaged(&g, 0);
	CHECK_EQ(policy_resident_bytes(&g), GIB(9));
	reg(&g, 2, GIB(8), MS(2));
	policy_request(&g, 2, MS(2), &out);
	EXPECT(ACT(EVICT, 1, MS(2)), WAIT_FOR(2, 0, MEMORY, GIB(8), GIB(7)));
	policy_gpu_destroy(&g);
}

/* A swap-out that left memory behind (a capture ran, the host was short)
 * gives no room away: the client stays resident, the waiter keeps
 * waiting, and the client is asked again only after a grace period. */
static void test_incomplete_swap_out(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, LONG_RUN, LONG_RUN, GRACE);
	reg(&g, 1, GIB(8), 0);
	reg(&g, 2, GIB(8), 0);
	policy_request(&g, 1, 0, &out);
	policy_release(&g, 1, MS(1), &out);
	policy_request(&g, 2, MS(2), &out);
	EXPECT(ACT(GRANT, 1, 0), ACT(GRANT, 2, 0));
	reg(&g, 3, GIB(8), MS(3));
	policy_request(&g, 3, MS(3), &out);
	EXPECT(ACT(EVICT, 1, MS(2)), WAIT_FOR(3, 0, MEMORY, GIB(8), 0));
	CHECK_EQ(policy_swap_incomplete(&g, 1, MS(10), &out), 0);
	EXPECT_NONE();
	CHECK_EQ(resident(&g, 1), 1);
	CHECK_EQ(policy_resident_bytes(&g), GIB(16));
	/* Not asked again at once (no EVICT loop), but after the grace. */
	CHECK_EQ(policy_next_deadline(&g), MS(60));
	CHECK_EQ(policy_tick(&g, MS(59), &out), MS(60));
	EXPECT_NONE();
	policy_tick(&g, MS(60), &out);
	EXPECT(ACT(EVICT, 1, MS(59)));
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(8), 1u << 30, MS(70),
	                   &out);
	EXPECT(ACT(GRANT, 3, MS(67)));
	CHECK_EQ(policy_resident_bytes(&g), GIB(16));
	policy_gpu_destroy(&g);
}

/* The host swap budget: room is made only as far as the host can take
 * the memory moved out; otherwise the head waits, told why (HOST). */
static void test_host_budget(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	g.host_room_bytes = GIB(4);
	reg(&g, 1, GIB(8), 0);
	reg(&g, 2, GIB(8), 0);
	policy_request(&g, 1, 0, &out);
	policy_release(&g, 1, MS(1), &out);
	policy_request(&g, 2, MS(2), &out);
	EXPECT(ACT(GRANT, 1, 0), ACT(GRANT, 2, 0));
	/* 3 needs 8 GiB: evicting 1 (idle, 8 GiB) or dropping 2 would put
	 * 8 GiB on a host with room for 4: 3 waits, with no deadline. */
	reg(&g, 3, GIB(8), MS(3));
	policy_request(&g, 3, MS(3), &out);
	EXPECT(WAIT_FOR(3, 0, HOST, GIB(8), 0));
	CHECK_EQ(policy_wait_reason_of(&g, 3), POLICY_WAIT_HOST);
	CHECK_EQ(policy_tick(&g, MS(500), &out), POLICY_NO_DEADLINE);
	EXPECT_NONE();
	/* Room on the host (another GPU's client came back, say): 1 is
	 * evicted, and its memory counts against the budget once out. */
	g.host_room_bytes = GIB(8);
	policy_tick(&g, MS(600), &out);
	EXPECT(ACT(EVICT, 1, MS(599)), WAIT_FOR(3, MS(597), MEMORY, GIB(8), 0));
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(8), 1u << 30, MS(610),
	                   &out);
	EXPECT(ACT(GRANT, 3, MS(607)));
	CHECK_EQ(policy_host_bytes(&g), GIB(8));
	/* The budget is spent: 1 cannot come back by pushing 2 out ... */
	g.host_room_bytes = 0;
	policy_request(&g, 1, MS(620), &out);
	EXPECT(WAIT_FOR(1, 0, HOST, GIB(8), 0));
	CHECK_EQ(policy_tick(&g, MS(5000), &out), POLICY_NO_DEADLINE);
	EXPECT_NONE();
	/* ... but once 2 leaves it fits, and its memory is off the host. */
	policy_disconnect(&g, 2, MS(5001), &out);
	EXPECT(ACT(GRANT, 1, MS(4381)));
	CHECK_EQ(policy_host_bytes(&g), 0);
	policy_gpu_destroy(&g);
}

/* --- memory: serial and concurrent modes ----------------------------------
 */

/* Serial: one at a time. A slice-expiry drop carries the swap-out only if
 * the waiter would not fit beside the holder's memory; idle clients are
 * evicted during the holder's turn when that makes room. */
static void test_serial_memory(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_SERIAL, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, GIB(4), 0);
	reg(&g, 2, GIB(4), 0);
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, MS(10), &out);
	EXPECT(ACT(GRANT, 1, 0), WAIT_FOR(2, 0, TURN, GIB(4), GIB(12)));
	CHECK_EQ(g.nrunning, 1);
	policy_tick(&g, MS(100), &out);
	EXPECT(ACT(DROP, 1, MS(100)));
	policy_release(&g, 1, MS(110), &out);
	EXPECT(ACT(GRANT, 2, MS(100)));
	CHECK_EQ(resident(&g, 1), 1);
	/* 3 (12 GiB): beside 2 running and 1 idle it does not fit; evicting
	 * 1 (idle) is enough, at once; 2 is dropped without a swap-out at
	 * the end of its slice. */
	reg(&g, 3, GIB(12), MS(120));
	policy_request(&g, 3, MS(120), &out);
	EXPECT(ACT(EVICT, 1, MS(10)), WAIT_FOR(3, 0, MEMORY, GIB(12), GIB(8)));
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(4), 1u << 30, MS(130),
	                   &out);
	EXPECT(WAIT_FOR(3, MS(10), TURN, GIB(12), GIB(12)));
	policy_tick(&g, MS(210), &out);
	EXPECT(ACT(DROP, 2, MS(100)));
	policy_release(&g, 2, MS(220), &out);
	EXPECT(ACT(GRANT, 3, MS(100)));
	/* 1 (8 GiB on the host) waits; 2 (idle, 4 GiB) is not enough: at
	 * the end of 3's slice 2 is evicted and 3 leaves with its memory. */
	policy_set_footprint(&g, 1, GIB(8), 0, 0, MS(230), &out);
	policy_request(&g, 1, MS(230), &out);
	EXPECT(WAIT_FOR(1, 0, MEMORY, GIB(8), 0));
	policy_tick(&g, MS(320), &out);
	EXPECT(ACT(EVICT, 2, MS(100)), DROP_SWAP(3, MS(100)));
	CHECK_EQ(g.evictions, 2);
	policy_gpu_destroy(&g);
}

/* Concurrent: everyone runs at once, whatever the memory; nobody is ever
 * dropped or told to wait. */
static void test_concurrent(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_CONCURRENT, CAP, SLICE, LONG_RUN, GRACE);
	for (uint64_t c = 1; c <= 3; c++) {
		reg(&g, c, GIB(12), 0);
		policy_request(&g, c, MS(c), &out);
	}
	EXPECT(ACT(GRANT, 1, 0), ACT(GRANT, 2, 0), ACT(GRANT, 3, 0));
	CHECK_EQ(g.nrunning, 3);
	CHECK_EQ(policy_tick(&g, MS(1000000), &out), POLICY_NO_DEADLINE);
	EXPECT_NONE();
	CHECK_EQ(policy_resident_bytes(&g), GIB(36));
	policy_gpu_destroy(&g);
}

/* Modes change at run time: to concurrent, waiters run at once; to
 * serial, running clients finish their slice, newcomers wait. */
static void test_mode_switch(void)
{
	struct policy_gpu g;
	struct policy_settings s = {
	    .mode = POLICY_MODE_CONCURRENT,
	    .slice_ns = SLICE,
	    .max_run_ns = LONG_RUN,
	    .grace_ns = GRACE,
	};

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, GIB(12), 0);
	policy_request(&g, 1, 0, &out);
	reg(&g, 2, GIB(12), MS(1));
	policy_request(&g, 2, MS(1), &out);
	EXPECT(ACT(GRANT, 1, 0), WAIT_FOR(2, 0, MEMORY, GIB(12), GIB(4)));
	policy_set_settings(&g, &s);
	CHECK_EQ(policy_next_deadline(&g), INT64_MIN);
	CHECK_EQ(policy_tick(&g, MS(2), &out), POLICY_NO_DEADLINE);
	EXPECT(ACT(GRANT, 2, MS(1)));
	s.mode = POLICY_MODE_SERIAL;
	policy_set_settings(&g, &s);
	policy_request(&g, 3, MS(3), &out);
	EXPECT(WAIT_FOR(3, 0, MEMORY, 0, 0));
	/* Both running clients are dropped when the older one's slice ends;
	 * freeing 8 GiB of 24 needs only 1's memory. */
	policy_tick(&g, MS(100), &out);
	EXPECT(DROP_SWAP(1, MS(100)), ACT(DROP, 2, MS(98)));
	policy_release(&g, 2, MS(101), &out);
	EXPECT_NONE();
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(12), 1u << 30, MS(102),
	                   &out);
	policy_release(&g, 1, MS(103), &out);
	EXPECT(ACT(GRANT, 3, MS(100)));
	policy_gpu_destroy(&g);
}

/* Many waiters told at once: what does not fit in one out is sent by the
 * next tick, due at once. */
static void test_many_waits(void)
{
	struct policy_gpu g;
	unsigned total;

	init(&g, POLICY_MODE_SERIAL, CAP, SLICE, LONG_RUN, GRACE);
	reg(&g, 1, GIB(8), 0);
	policy_request(&g, 1, 0, &out);
	EXPECT(ACT(GRANT, 1, 0));
	/* 40 clients of 8 GiB on the host: each fits beside 1, and waits
	 * its turn. */
	for (uint64_t c = 2; c < 42; c++) {
		CHECK_EQ(policy_register(&g, c, MS(1)), 0);
		policy_swap_report(&g, c, POLICY_SWAP_OUT, 0, 0, MS(1), &out);
		policy_set_footprint(&g, c, GIB(8), 0, 0, MS(1), &out);
		CHECK_EQ(out.n, 0);
		policy_request(&g, c, MS(1), &out);
		CHECK_EQ(out.n, 1);
		CHECK_EQ(out.act[0].reason, POLICY_WAIT_TURN);
		out.n = 0;
	}
	/* 1 grows (granted at once, alone): none of the 40 fits beside it
	 * any more. */
	policy_set_footprint(&g, 1, GIB(9), 0, 0, MS(2), &out);
	CHECK_EQ(out.n, POLICY_OUT_MAX);
	CHECK_EQ(out.act[0].kind, POLICY_MEM_GRANT);
	total = out.n;
	out.n = 0;
	CHECK_EQ(policy_next_deadline(&g), INT64_MIN);
	CHECK_EQ(policy_tick(&g, MS(3), &out), MS(100));
	total += out.n;
	CHECK_EQ(total, 41);
	CHECK_EQ(out.act[out.n - 1].kind, POLICY_WAIT);
	CHECK_EQ(out.act[out.n - 1].client, 41);
	CHECK_EQ(out.act[out.n - 1].reason, POLICY_WAIT_MEMORY);
	out.n = 0;
	policy_gpu_destroy(&g);
}

/* --- random simulation ------------------------------------------------------
 * Each GPU has a mode; clients 1..SIM_CLIENTS come and go at random. The
 * test keeps its own model of each GPU (the FIFO queue, the running set in
 * grant order, each client's footprint, resident and evicting flags, the
 * last reason it was told) built only from the events it causes and the
 * actions it receives, and compares it with the policy's state after every
 * step. Clients behave like the library: most answer DROP_LOCK (with their
 * swap report first when asked) and EVICT within the grace, some late, some
 * never; a client granted with its memory on the host reports the swap-in.
 * Ticks happen exactly at the deadlines the policy announces, as the event
 * loop does.
 *
 * The bound: the head of a queue is granted within max-slice + 2 x grace
 * of becoming the head (the slice of those it waits for, then a grace for
 * their answer or forced release, then a grace for the eviction of a
 * revoked client's memory). Memory that grows on the GPU after that is new
 * work for the head, so growth of a resident client (or of the head) starts
 * the bound again from then. Running clients' memory only shrinks in the
 * simulation, so that "the running clients fit" can be checked at every
 * step; growth of a running client is covered by the tests above. */

#define SIM_GPUS 4
#define SIM_CLIENTS 8
#define SIM_STEPS 200000

struct sim_client {
	int known;          /* a member of the policy */
	uint64_t fp;        /* footprint last set */
	int resident;       /* model: memory on the GPU */
	int evicting;       /* model: EVICT sent, no swap-out since */
	int64_t evict_at;   /* model: when EVICT went out */
	int running;        /* model: in the running set */
	int dropped;        /* model: DROP_LOCK sent while running */
	int64_t drop_at;    /* model: when DROP_LOCK went out */
	uint32_t told;      /* model: last WAIT reason while waiting */
	int64_t drop_due;   /* answers DROP_LOCK then, or -1 */
	int drop_swap;      /* ... reporting a swap-out first */
	int64_t evict_due;  /* answers EVICT then, or -1 */
	int64_t swapin_due; /* reports a swap-in then, or -1 */
};

struct sim_gpu {
	struct policy_gpu pol;                      /* the policy under test */
	struct sim_client cl[SIM_CLIENTS + 1];      /* model, by client id */
	uint64_t queue[SIM_CLIENTS];                /* model: FIFO */
	int nqueue;                                 /* model: waiters */
	uint64_t running[SIM_CLIENTS];              /* model: grant order */
	int nrunning;                               /* model: running */
	uint64_t head;                              /* head the bound is for */
	int64_t head_bound;                         /* to be granted by then */
	int64_t bound;                              /* max-slice + 2 x grace */
	uint64_t grants, revokes, evicts, timeouts; /* model counters */
	uint64_t drops, waits;                      /* actions seen */
	int64_t longest_head_wait; /* observed, since the bound started */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

static int64_t rng_range(int64_t n)
{
	return (int64_t)(rng() % (uint64_t)n);
}

static int sim_fail(const char *what, int gpu, uint64_t c, int64_t now)
{
	check_failed++;
	fprintf(stderr, "simulation: %s (gpu %d, client %llu, t=%lld ns)\n",
	        what, gpu, (unsigned long long)c, (long long)now);
	return -1;
}

static int model_index(const uint64_t *arr, int n, uint64_t c)
{
	for (int i = 0; i < n; i++)
		if (arr[i] == c)
			return i;
	return -1;
}

static void model_remove(uint64_t *arr, int *n, int i)
{
	memmove(&arr[i], &arr[i + 1], (size_t)(*n - i - 1) * sizeof(arr[0]));
	(*n)--;
}

static void model_stop(struct sim_gpu *s, uint64_t c)
{
	int i = model_index(s->running, s->nrunning, c);

	if (i >= 0)
		model_remove(s->running, &s->nrunning, i);
	s->cl[c].running = 0;
	s->cl[c].dropped = 0;
}

/* The head changed (or memory grew): the bound starts again from now. */
static void model_head(struct sim_gpu *s, int64_t now, int grew)
{
	uint64_t h = s->nqueue ? s->queue[0] : 0;

	if (h != s->head || grew) {
		s->head = h;
		s->head_bound = now + s->bound;
	}
}

static uint64_t running_bytes(const struct sim_gpu *s)
{
	uint64_t sum = 0;

	for (int i = 0; i < s->nrunning; i++)
		sum += s->cl[s->running[i]].fp;
	return sum;
}

static int sim_apply_one(struct sim_gpu *s, int gi,
                         const struct policy_action *a, int64_t now)
{
	struct sim_client *k = &s->cl[a->client];
	uint64_t c = a->client;
	int conc = s->pol.mode == POLICY_MODE_CONCURRENT;
	int64_t g = s->pol.grace_ns;

	switch (a->kind) {
	case POLICY_GRANT:
		if (s->nqueue == 0 || s->queue[0] != c)
			return sim_fail("grant out of FIFO order", gi, c, now);
		if (!conc && now > s->head_bound)
			return sim_fail("head granted past its bound", gi, c,
			                now);
		if (now - (s->head_bound - s->bound) > s->longest_head_wait)
			s->longest_head_wait = now - (s->head_bound - s->bound);
		model_remove(s->queue, &s->nqueue, 0);
		model_head(s, now, 0);
		s->running[s->nrunning++] = c;
		if ((!k->resident || k->evicting || k->evict_due >= 0) &&
		    rng_range(4) > 0)
			k->swapin_due =
			    (k->evict_due > now ? k->evict_due : now) + 1 +
			    rng_range(g / 4);
		k->running = 1;
		k->resident = 1;
		k->evicting = 0;
		k->told = POLICY_WAIT_NONE;
		s->grants++;
		if (!conc && running_bytes(s) > s->pol.capacity_bytes)
			return sim_fail("running clients exceed the memory", gi,
			                c, now);
		if (s->pol.mode == POLICY_MODE_SERIAL && s->nrunning > 1)
			return sim_fail("two run in serial mode", gi, c, now);
		break;
	case POLICY_CONFIRM:
		if (!k->running)
			return sim_fail("CONFIRM to a non-holder", gi, c, now);
		break;
	case POLICY_MEM_GRANT:
		if (!k->running)
			return sim_fail("MEM_GRANT to a non-holder", gi, c,
			                now);
		break;
	case POLICY_DROP:
		if (conc || !k->running || k->dropped || s->nqueue == 0 ||
		    (s->pol.mode == POLICY_MODE_AUTO &&
		     a->flags != POLICY_DROP_SWAP_OUT) ||
		    (a->flags & ~POLICY_DROP_SWAP_OUT))
			return sim_fail("unexpected DROP", gi, c, now);
		k->dropped = 1;
		k->drop_at = now;
		k->drop_swap = (a->flags & POLICY_DROP_SWAP_OUT) != 0;
		if (rng_range(10) < 8)
			k->drop_due = now + rng_range(g);
		else if (rng_range(2))
			k->drop_due = now + g + rng_range(g);
		else
			k->drop_due = -1;
		s->drops++;
		break;
	case POLICY_REVOKE:
		if (!k->running || !k->dropped || now - k->drop_at < g ||
		    s->nqueue == 0)
			return sim_fail("unexpected REVOKE", gi, c, now);
		model_stop(s, c);
		s->revokes++;
		break;
	case POLICY_EVICT:
		if (conc || !k->known || k->running || !k->resident ||
		    k->evicting || k->fp == 0 || s->nqueue == 0 ||
		    s->queue[0] == c)
			return sim_fail("unexpected EVICT", gi, c, now);
		k->evicting = 1;
		k->evict_at = now;
		/* One in ten answers late, after the grace (a stopped
		 * process that resumes). */
		k->evict_due = rng_range(10) < 9 ? now + rng_range(g)
		                                 : now + g + 1 + rng_range(g);
		s->evicts++;
		break;
	case POLICY_EVICT_TIMEOUT:
		if (!k->evicting || now - k->evict_at < g)
			return sim_fail("unexpected EVICT_TIMEOUT", gi, c, now);
		/* Its memory stays counted on the GPU: the head waits for
		 * the late answer, up to a grace more. */
		k->evicting = 0;
		s->timeouts++;
		model_head(s, now, 1);
		break;
	case POLICY_WAIT:
		if (conc || model_index(s->queue, s->nqueue, c) < 0 ||
		    (a->reason != POLICY_WAIT_TURN &&
		     a->reason != POLICY_WAIT_MEMORY) ||
		    a->reason == k->told || a->need_bytes != k->fp ||
		    a->free_bytes > s->pol.capacity_bytes)
			return sim_fail("unexpected WAIT", gi, c, now);
		k->told = a->reason;
		s->waits++;
		break;
	}
	return 0;
}

/* Checks the actions against the model and applies them to it. */
static int sim_apply(struct sim_gpu *s, int gi, int64_t now)
{
	for (unsigned i = 0; i < out.n; i++)
		if (sim_apply_one(s, gi, &out.act[i], now))
			return -1;
	out.n = 0;
	model_head(s, now, 0);
	return 0;
}

/* Compares the policy's state with the model, and checks the invariants. */
static int sim_compare(struct sim_gpu *s, int gi, int64_t now)
{
	const struct policy_gpu *p = &s->pol;

	if ((int)p->nqueue != s->nqueue || (int)p->nrunning != s->nrunning)
		return sim_fail("queue or running set size differs", gi, 0,
		                now);
	for (int i = 0; i < s->nqueue; i++) {
		uint64_t c = s->queue[i];

		if (p->queue[i].client != c)
			return sim_fail("queue order differs", gi, c, now);
		if (p->queue[i].told != s->cl[c].told ||
		    policy_wait_reason_of(p, c) != s->cl[c].told)
			return sim_fail("waiter not told why it waits", gi, c,
			                now);
	}
	for (int i = 0; i < s->nrunning; i++)
		if (p->running[i].client != s->running[i])
			return sim_fail("running set differs", gi,
			                s->running[i], now);
	for (uint64_t c = 1; c <= SIM_CLIENTS; c++) {
		const struct policy_member *m = policy_member_of(p, c);
		const struct sim_client *k = &s->cl[c];

		if (!k->known) {
			if (m)
				return sim_fail("unknown client is a member",
				                gi, c, now);
			continue;
		}
		if (!m || m->footprint_bytes != k->fp ||
		    m->resident != k->resident || m->evicting != k->evicting ||
		    m->running != k->running)
			return sim_fail("member differs from the model", gi, c,
			                now);
	}
	if (p->mode != POLICY_MODE_CONCURRENT &&
	    running_bytes(s) > p->capacity_bytes)
		return sim_fail("running clients exceed the memory", gi, 0,
		                now);
	/* The books too (status "resident_bytes"), revoked and timed-out
	 * evictees' memory included. */
	if (p->mode != POLICY_MODE_CONCURRENT &&
	    policy_resident_bytes(p) > p->capacity_bytes)
		return sim_fail("resident bytes exceed the GPU", gi, 0, now);
	if (p->mode == POLICY_MODE_SERIAL && p->nrunning > 1)
		return sim_fail("two run in serial mode", gi, 0, now);
	if (p->mode == POLICY_MODE_CONCURRENT && p->nqueue > 0)
		return sim_fail("a waiter in concurrent mode", gi, 0, now);
	if (s->nqueue > 0 && now > s->head_bound)
		return sim_fail("head starved past its bound", gi, s->queue[0],
		                now);
	if (p->lock_grants != s->grants || p->forced_releases != s->revokes ||
	    p->evictions != s->evicts || p->evict_timeouts != s->timeouts)
		return sim_fail("counters differ", gi, 0, now);
	return 0;
}

static void sim_know(struct sim_gpu *s, uint64_t c)
{
	struct sim_client *k = &s->cl[c];

	if (k->known)
		return;
	memset(k, 0, sizeof(*k));
	k->known = 1;
	k->resident = 1;
	k->drop_due = k->evict_due = k->swapin_due = -1;
}

static int sim_request(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	struct sim_client *k = &s->cl[c];

	sim_know(s, c);
	/* A client that asks again has given up on answering. */
	if (!k->running)
		k->drop_due = -1;
	if (!k->running && model_index(s->queue, s->nqueue, c) < 0)
		s->queue[s->nqueue++] = c;
	model_head(s, now, 0);
	policy_request(&s->pol, c, now, &out);
	if (k->running && (out.n == 0 || out.act[0].kind != POLICY_CONFIRM))
		return sim_fail("holder's request not confirmed", gi, c, now);
	return sim_apply(s, gi, now);
}

static int sim_release(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	struct sim_client *k = &s->cl[c];
	int was = k->running;

	if (policy_release(&s->pol, c, now, &out) != was)
		return sim_fail("release result differs", gi, c, now);
	if (was)
		model_stop(s, c);
	k->drop_due = -1;
	return sim_apply(s, gi, now);
}

static int sim_disconnect(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	int i = model_index(s->queue, s->nqueue, c);

	if (i >= 0)
		model_remove(s->queue, &s->nqueue, i);
	model_stop(s, c);
	memset(&s->cl[c], 0, sizeof(s->cl[c]));
	s->cl[c].drop_due = s->cl[c].evict_due = s->cl[c].swapin_due = -1;
	model_head(s, now, 0);
	policy_disconnect(&s->pol, c, now, &out);
	return sim_apply(s, gi, now);
}

static int sim_footprint(struct sim_gpu *s, int gi, uint64_t c, uint64_t bytes,
                         int64_t now)
{
	struct sim_client *k = &s->cl[c];
	int grew;

	sim_know(s, c);
	grew = bytes > k->fp &&
	       (k->resident || k->running || (s->nqueue && s->queue[0] == c));
	k->fp = bytes;
	if (policy_set_footprint(&s->pol, c, bytes, 0, 0, now, &out))
		return sim_fail("footprint refused", gi, c, now);
	model_head(s, now, grew);
	return sim_apply(s, gi, now);
}

static int sim_swap(struct sim_gpu *s, int gi, uint64_t c, unsigned dir,
                    int64_t now)
{
	struct sim_client *k = &s->cl[c];
	/* 2..20 bytes per ns. */
	uint64_t ns = k->fp / (uint64_t)(2 + rng_range(19)) + 1;

	sim_know(s, c);
	if (dir == POLICY_SWAP_OUT) {
		k->resident = 0;
		k->evicting = 0;
		k->evict_due = -1;
	} else if (k->running) {
		k->resident = 1;
	}
	if (policy_swap_report(&s->pol, c, dir, k->fp, ns, now, &out))
		return sim_fail("swap report refused", gi, c, now);
	return sim_apply(s, gi, now);
}

/* A client's scheduled answer due at or before t on GPU s, or 0. */
static uint64_t sim_due(const struct sim_gpu *s, int64_t t, int64_t *when)
{
	uint64_t best = 0;

	*when = INT64_MAX;
	for (uint64_t c = 1; c <= SIM_CLIENTS; c++) {
		const struct sim_client *k = &s->cl[c];
		int64_t d[3] = {k->drop_due, k->evict_due, k->swapin_due};

		for (int i = 0; i < 3; i++)
			if (d[i] >= 0 && d[i] <= t && d[i] < *when) {
				*when = d[i];
				best = c;
			}
	}
	return best;
}

static int sim_answer(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	struct sim_client *k = &s->cl[c];

	if (k->drop_due >= 0 && k->drop_due <= now) {
		k->drop_due = -1;
		if (k->drop_swap && sim_swap(s, gi, c, POLICY_SWAP_OUT, now))
			return -1;
		return sim_release(s, gi, c, now);
	}
	if (k->evict_due >= 0 && k->evict_due <= now) {
		k->evict_due = -1;
		return sim_swap(s, gi, c, POLICY_SWAP_OUT, now);
	}
	k->swapin_due = -1;
	return sim_swap(s, gi, c, POLICY_SWAP_IN, now);
}

/* Advances every GPU to time t: answers and ticks, in time order. */
static int sim_advance(struct sim_gpu *sims, int64_t *now, int64_t t)
{
	for (int spins = 0;; spins++) {
		int best = -1, answer = 0;
		int64_t when = t;

		if (spins > 100000)
			return sim_fail("ticks make no progress", -1, 0, *now);
		for (int i = 0; i < SIM_GPUS; i++) {
			int64_t d = policy_next_deadline(&sims[i].pol), a;

			if (sim_due(&sims[i], when, &a) && a <= d &&
			    a <= when) {
				when = a < *now ? *now : a;
				best = i;
				answer = 1;
			} else if (d <= when) {
				when = d < *now ? *now : d;
				best = i;
				answer = 0;
			}
		}
		if (best < 0)
			break;
		*now = when;
		struct sim_gpu *s = &sims[best];
		if (answer) {
			int64_t a;
			if (sim_answer(s, best, sim_due(s, when, &a), when))
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
		h = (h ^ g->queue[i].client ^ g->queue[i].told) *
		    1099511628211ull;
	for (size_t i = 0; i < g->nmembers; i++)
		h = (h ^ g->members[i].client ^ g->members[i].footprint_bytes ^
		     ((uint64_t)g->members[i].resident << 1) ^
		     ((uint64_t)g->members[i].evicting << 2)) *
		    1099511628211ull;
	return (h ^ g->lock_grants ^ (g->forced_releases << 32) ^ g->swaps ^
	        (g->evictions << 16)) *
	       1099511628211ull;
}

/* One random event on GPU s. */
static int sim_event(struct sim_gpu *s, int gi, int64_t now)
{
	uint64_t c = 1 + (uint64_t)rng_range(SIM_CLIENTS);
	uint64_t cap = s->pol.capacity_bytes;
	struct sim_client *k = &s->cl[c];
	int64_t r = rng_range(100);

	if (r < 45)
		return sim_request(s, gi, c, now);
	if (r < 70)
		return sim_release(s, gi, c, now);
	if (r < 78)
		return sim_disconnect(s, gi, c, now);
	if (r < 95) {
		/* Eighths of the capacity; a running client only shrinks. */
		uint64_t bytes = cap / 8 * (uint64_t)rng_range(9);
		if (k->running && bytes > k->fp)
			bytes = k->fp / 2;
		return sim_footprint(s, gi, c, bytes, now);
	}
	/* A swap report nobody asked for. */
	return sim_swap(s, gi, c, (unsigned)rng_range(2), now);
}

static void test_random_simulation(void)
{
	static const enum policy_mode modes[SIM_GPUS] = {
	    POLICY_MODE_AUTO, POLICY_MODE_SERIAL, POLICY_MODE_AUTO,
	    POLICY_MODE_CONCURRENT};
	static const int64_t slices[SIM_GPUS] = {MS(100), MS(37),
	                                         POLICY_SLICE_AUTO, MS(100)};
	static const int64_t max_runs[SIM_GPUS] = {MS(3600000), MS(3600000),
	                                           MS(1500), MS(3600000)};
	static const int64_t graces[SIM_GPUS] = {MS(50), MS(20), MS(80),
	                                         MS(50)};
	static const uint64_t caps[SIM_GPUS] = {GIB(16), GIB(8), GIB(4),
	                                        GIB(16)};
	static struct sim_gpu sims[SIM_GPUS];
	int64_t now = MS(1), drain_bound = 0;
	int failed = 0;

	memset(sims, 0, sizeof(sims));
	for (int i = 0; i < SIM_GPUS; i++) {
		struct policy_settings set = {
		    .mode = modes[i],
		    .slice_ns = slices[i],
		    .max_run_ns = max_runs[i],
		    .grace_ns = graces[i],
		};
		struct sim_gpu *s = &sims[i];

		policy_gpu_init(&s->pol, caps[i], &set);
		s->bound =
		    (slices[i] == POLICY_SLICE_AUTO || slices[i] > max_runs[i]
		         ? max_runs[i]
		         : slices[i]) +
		    2 * graces[i];
		if (s->bound * (SIM_CLIENTS + 1) > drain_bound)
			drain_bound = s->bound * (SIM_CLIENTS + 1);
		for (int c = 0; c <= SIM_CLIENTS; c++)
			s->cl[c].drop_due = s->cl[c].evict_due =
			    s->cl[c].swapin_due = -1;
	}
	out.n = 0;
	for (int step = 0; step < SIM_STEPS && !failed; step++) {
		int gi = (int)rng_range(SIM_GPUS);
		uint64_t before[SIM_GPUS];

		if (sim_advance(sims, &now, now + rng_range(MS(30)))) {
			failed = 1;
			break;
		}
		for (int i = 0; i < SIM_GPUS; i++)
			before[i] = fingerprint(&sims[i].pol);
		failed = sim_event(&sims[gi], gi, now) != 0 ||
		         sim_compare(&sims[gi], gi, now) != 0;
		for (int i = 0; i < SIM_GPUS && !failed; i++)
			if (i != gi && fingerprint(&sims[i].pol) != before[i])
				failed = sim_fail("event changed another GPU",
				                  i, 0, now) != 0;
	}
	/* Then only answers and time: every queue drains. */
	if (!failed)
		failed = sim_advance(sims, &now, now + drain_bound) != 0;
	CHECK_EQ(failed, 0);
	for (int i = 0; i < SIM_GPUS; i++) {
		struct sim_gpu *s = &sims[i];

		CHECK_EQ(s->nqueue, 0);
		/* Every kind of transition happened, many times. */
		CHECK(s->grants > 1000);
		if (modes[i] != POLICY_MODE_CONCURRENT) {
			CHECK(s->drops > 100);
			CHECK(s->revokes > 10);
			CHECK(s->waits > 1000);
		}
		if (modes[i] == POLICY_MODE_AUTO) {
			CHECK(s->evicts > 100);
			CHECK(s->timeouts > 10);
		}
		printf(
		    "simulation gpu %d (%s): %llu grants, %llu drops, %llu "
		    "forced releases, %llu evictions (%llu timed out), %llu "
		    "waits, %llu swaps; longest head wait %.3f s of %.3f s "
		    "bound\n",
		    i, policy_mode_name(modes[i]),
		    (unsigned long long)s->grants, (unsigned long long)s->drops,
		    (unsigned long long)s->revokes,
		    (unsigned long long)s->evicts,
		    (unsigned long long)s->timeouts,
		    (unsigned long long)s->waits,
		    (unsigned long long)s->pol.swaps,
		    (double)s->longest_head_wait / 1e9, (double)s->bound / 1e9);
		policy_gpu_destroy(&s->pol);
	}
	printf("simulation: %d steps, %.1f s simulated\n", SIM_STEPS,
	       (double)now / 1e9);
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
	test_fit_together();
	test_newcomer_waits_memory();
	test_evict_idle();
	test_evict_just_enough();
	test_auto_slice();
	test_max_run();
	test_freed_gpu_admits();
	test_minimal_drops();
	test_wait_reasons();
	test_swap_reports();
	test_larger_than_gpu();
	test_host_budget();
	test_incomplete_swap_out();
	test_unmanaged_growth();
	test_invariant_check();
	test_serial_memory();
	test_concurrent();
	test_mode_switch();
	test_many_waits();
	test_random_simulation();
	return check_summary("test_policy");
}
