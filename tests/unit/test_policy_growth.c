/*
 * test_policy_growth.c - the policy property test of memory growth
 * (scheduler/policy.c): GPU memory capacity holds while running clients
 * grow. First a few exact transitions: growth that fits is granted at
 * once, growth evicts an idle client, growth drops another running client
 * only once that client's slice is over, two running clients that both
 * outgrow the GPU do not deadlock, pinned memory stays counted after a
 * swap-out, a free lowers the grant and admits the head of the queue,
 * pinned memory the library has not backed yet is not counted as on the
 * GPU. Then a deterministic random simulation of clients that behave like
 * the library (they back memory only when the grant they last received
 * covers it) checks after every event that what is really on the GPU fits
 * it, that
 * the policy's books cover it, and that nobody who waits (in the queue, or
 * running and growing) waits longer than a bound.
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
#define CAP GIB(8)
#define LONG_RUN MS(3600000)

static struct policy_out out;

/* Compares out with the expected actions (granted bytes included),
 * reporting the caller's line, and empties out for the next step. */
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
		     out.act[i].free_bytes == want[i].free_bytes &&
		     out.act[i].granted_bytes == want[i].granted_bytes;
	if (ok) {
		check_passed++;
	} else {
		check_failed++;
		fprintf(stderr, "%s:%d: actions differ; got %u:", __FILE__,
		        line, out.n);
		for (unsigned i = 0; i < out.n; i++)
			fprintf(stderr,
			        " %s(%llu,%lld,f%u,r%u,%llu,%llu,g%llu)",
			        policy_kind_name(out.act[i].kind),
			        (unsigned long long)out.act[i].client,
			        (long long)out.act[i].span_ns, out.act[i].flags,
			        out.act[i].reason,
			        (unsigned long long)out.act[i].need_bytes,
			        (unsigned long long)out.act[i].free_bytes,
			        (unsigned long long)out.act[i].granted_bytes);
		fprintf(stderr, "; want %u\n", n);
	}
	out.n = 0;
}

#define ACT(k, c, span)                                                        \
	{                                                                      \
		.kind = POLICY_##k, .client = (c), .span_ns = (span)           \
	}
/* LOCK_OK with the bytes the client may back. */
#define GRANTED(c, span, bytes)                                                \
	{                                                                      \
		.kind = POLICY_GRANT, .client = (c), .span_ns = (span),        \
		.granted_bytes = (bytes)                                       \
	}
/* MEM_GRANT: a running client may back bytes now. */
#define MEM_GRANTED(c, span, bytes)                                            \
	{                                                                      \
		.kind = POLICY_MEM_GRANT, .client = (c), .span_ns = (span),    \
		.granted_bytes = (bytes)                                       \
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
#define EXPECT(...)                                                            \
	do {                                                                   \
		const struct policy_action want_[] = {__VA_ARGS__};            \
		expect_out(want_, sizeof(want_) / sizeof(want_[0]), __LINE__); \
	} while (0)
#define EXPECT_NONE() expect_out(NULL, 0, __LINE__)

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

/* The client's allocations are now bytes, pinned of them pinned. */
static void mem(struct policy_gpu *g, uint64_t c, uint64_t bytes,
                uint64_t pinned, int64_t now)
{
	CHECK_EQ(policy_set_footprint(g, c, bytes, pinned, 0, now, &out), 0);
}

/* The client moved bytes of memory to the host (1 byte per ns). */
static void swapped_out(struct policy_gpu *g, uint64_t c, uint64_t bytes,
                        int64_t now)
{
	CHECK_EQ(
	    policy_swap_report(g, c, POLICY_SWAP_OUT, bytes, bytes, now, &out),
	    0);
}

static uint64_t granted(const struct policy_gpu *g, uint64_t c)
{
	return policy_member_of(g, c)->granted_bytes;
}

static uint64_t occupied(const struct policy_gpu *g, uint64_t c)
{
	return policy_occupied_bytes(policy_member_of(g, c));
}

static int growing(const struct policy_gpu *g, uint64_t c)
{
	return policy_growing(g, policy_member_of(g, c));
}

/* --- exact transitions ------------------------------------------------------
 */

/* Growth that fits beside what the others occupy is granted at once, so
 * is a shrink (which gives the room back), and growth beyond the GPU is
 * granted the whole GPU. */
static void test_growth_fits(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	mem(&g, 1, GIB(2), 0, 0);
	mem(&g, 2, GIB(3), 0, 0);
	EXPECT_NONE();
	policy_request(&g, 1, MS(1), &out);
	policy_request(&g, 2, MS(2), &out);
	EXPECT(GRANTED(1, 0, GIB(2)), GRANTED(2, 0, GIB(3)));
	/* 1 grows to 5 GiB: beside 2's 3 GiB exactly 5 are left. */
	mem(&g, 1, GIB(5), 0, MS(3));
	EXPECT(MEM_GRANTED(1, 0, GIB(5)));
	CHECK_EQ(granted(&g, 1), GIB(5));
	CHECK_EQ(growing(&g, 1), 0);
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	/* A shrink: granted at once, the gigabyte is free again ... */
	mem(&g, 1, GIB(4), 0, MS(4));
	EXPECT(MEM_GRANTED(1, 0, GIB(4)));
	CHECK_EQ(granted(&g, 1), GIB(4));
	CHECK_EQ(policy_resident_bytes(&g), GIB(7));
	/* ... and growing back into it is granted at once too. */
	mem(&g, 1, GIB(5), 0, MS(5));
	EXPECT(MEM_GRANTED(1, 0, GIB(5)));
	/* Alone, 1 grows beyond the GPU: it may back the whole GPU, and
	 * more allocations change nothing (answered at once). */
	policy_disconnect(&g, 2, MS(6), &out);
	EXPECT_NONE();
	mem(&g, 1, GIB(12), 0, MS(7));
	EXPECT(MEM_GRANTED(1, 0, CAP));
	mem(&g, 1, GIB(13), 0, MS(8));
	EXPECT(MEM_GRANTED(1, 0, CAP));
	CHECK_EQ(growing(&g, 1), 0);
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	/* A client without memory still fits beside it. */
	policy_request(&g, 3, MS(9), &out);
	EXPECT(GRANTED(3, 0, 0));
	CHECK_EQ(policy_next_deadline(&g), POLICY_NO_DEADLINE);
	policy_gpu_destroy(&g);
}

/* Growth that does not fit evicts idle resident clients, oldest idle
 * first and only as many as needed; it is granted when the swap-out is
 * reported. */
static void test_growth_evicts_idle(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	mem(&g, 1, GIB(3), 0, 0);
	mem(&g, 2, GIB(2), 0, 0);
	mem(&g, 3, GIB(2), 0, 0);
	policy_request(&g, 1, MS(1), &out);
	policy_request(&g, 2, MS(2), &out);
	policy_request(&g, 3, MS(3), &out);
	policy_release(&g, 2, MS(10), &out);
	policy_release(&g, 3, MS(11), &out);
	EXPECT(GRANTED(1, 0, GIB(3)), GRANTED(2, 0, GIB(2)),
	       GRANTED(3, 0, GIB(2)));
	/* 1 grows to 5 GiB: 2 and 3 idle hold 4, one gigabyte too many;
	 * evicting 2 (idle longest) is enough. */
	mem(&g, 1, GIB(5), 0, MS(20));
	EXPECT(ACT(EVICT, 2, MS(10)));
	CHECK_EQ(growing(&g, 1), 1);
	CHECK_EQ(granted(&g, 1), GIB(3));
	CHECK_EQ(policy_member_of(&g, 3)->evicting, 0);
	/* Nothing more until the answer (or the grace). */
	CHECK_EQ(policy_next_deadline(&g), MS(70));
	CHECK_EQ(policy_tick(&g, MS(25), &out), MS(70));
	EXPECT_NONE();
	swapped_out(&g, 2, GIB(2), MS(30));
	EXPECT(MEM_GRANTED(1, MS(10), GIB(5)));
	CHECK_EQ(growing(&g, 1), 0);
	CHECK_EQ(occupied(&g, 2), 0);
	CHECK_EQ(policy_resident_bytes(&g), GIB(7));
	CHECK_EQ(g.evictions, 1);
	CHECK_EQ(policy_next_deadline(&g), POLICY_NO_DEADLINE);
	policy_gpu_destroy(&g);
}

/* Growth that only other running clients can make room for drops them,
 * with their memory, once the slice of the longest-running of them is
 * over, not before; the growth is granted when they have left. */
static void test_growth_drops_after_slice(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	mem(&g, 1, GIB(4), 0, 0);
	mem(&g, 2, GIB(3), 0, 0);
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, MS(10), &out);
	EXPECT(GRANTED(1, 0, GIB(4)), GRANTED(2, 0, GIB(3)));
	/* 2 grows to 5 GiB beside 1's 4: 1 must go, at 0 + 100 ms. */
	mem(&g, 2, GIB(5), 0, MS(20));
	EXPECT_NONE();
	CHECK_EQ(growing(&g, 2), 1);
	CHECK_EQ(policy_next_deadline(&g), MS(100));
	CHECK_EQ(policy_tick(&g, MS(99), &out), MS(100));
	EXPECT_NONE();
	CHECK_EQ(policy_tick(&g, MS(100), &out), MS(150));
	EXPECT(DROP_SWAP(1, MS(100)));
	/* The swap-out alone frees nothing: 1 still runs. */
	swapped_out(&g, 1, GIB(4), MS(110));
	EXPECT_NONE();
	CHECK_EQ(policy_release(&g, 1, MS(120), &out), 1);
	EXPECT(MEM_GRANTED(2, MS(100), GIB(5)));
	CHECK_EQ(policy_resident_bytes(&g), GIB(5));
	CHECK_EQ(g.forced_releases, 0);
	CHECK_EQ(policy_next_deadline(&g), POLICY_NO_DEADLINE);
	policy_gpu_destroy(&g);
}

/* Two running clients both grow beyond what is left: no deadlock. A
 * client blocked waiting for room to grow does no work, so its slice is
 * over as soon as it waits: when the second one blocks, the first one's
 * plan drops it at once, and the first one's growth is granted when it
 * has left. It comes back at the end of the other's slice. */
static void test_two_grow_no_deadlock(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	mem(&g, 1, GIB(4), 0, 0);
	mem(&g, 2, GIB(4), 0, 0);
	policy_request(&g, 1, 0, &out);
	policy_request(&g, 2, MS(10), &out);
	EXPECT(GRANTED(1, 0, GIB(4)), GRANTED(2, 0, GIB(4)));
	/* 1 outgrows the GPU beside 2, which still works: 2's slice. */
	mem(&g, 1, GIB(6), 0, MS(20));
	EXPECT_NONE();
	CHECK_EQ(growing(&g, 1), 1);
	CHECK_EQ(policy_next_deadline(&g), MS(110));
	/* 2 blocks too: dropped at once, with its memory. */
	mem(&g, 2, GIB(6), 0, MS(30));
	EXPECT(DROP_SWAP(2, MS(20)));
	CHECK_EQ(growing(&g, 2), 1);
	CHECK_EQ(policy_next_deadline(&g), MS(80));
	swapped_out(&g, 2, GIB(4), MS(40));
	EXPECT_NONE();
	policy_release(&g, 2, MS(50), &out);
	EXPECT(MEM_GRANTED(1, MS(30), GIB(6)));
	CHECK_EQ(growing(&g, 1), 0);
	CHECK_EQ(policy_resident_bytes(&g), GIB(6));
	/* 2 asks again: it waits for 1's slice (from 0), then 1 leaves. */
	policy_request(&g, 2, MS(60), &out);
	EXPECT(WAIT_FOR(2, 0, MEMORY, GIB(6), GIB(2)));
	CHECK_EQ(policy_next_deadline(&g), MS(100));
	policy_tick(&g, MS(100), &out);
	EXPECT(DROP_SWAP(1, MS(100)));
	swapped_out(&g, 1, GIB(6), MS(110));
	EXPECT_NONE();
	policy_release(&g, 1, MS(120), &out);
	EXPECT(GRANTED(2, MS(60), GIB(6)));
	CHECK_EQ(g.forced_releases, 0);
	policy_gpu_destroy(&g);
}

/* Pinned memory cannot leave the GPU: after a swap-out it stays counted,
 * so a newcomer is told less free memory and waits; freeing it admits
 * the newcomer at once. */
static void test_pinned_stays_counted(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	mem(&g, 1, GIB(4), GIB(1), 0);
	policy_request(&g, 1, MS(1), &out);
	policy_release(&g, 1, MS(10), &out);
	EXPECT(GRANTED(1, 0, GIB(4)));
	/* 2 needs 6 GiB beside 1's 4 (idle): evicting 1 frees 3. */
	mem(&g, 2, GIB(6), 0, MS(20));
	policy_request(&g, 2, MS(20), &out);
	EXPECT(ACT(EVICT, 1, MS(10)), WAIT_FOR(2, 0, MEMORY, GIB(6), GIB(4)));
	swapped_out(&g, 1, GIB(3), MS(30));
	EXPECT(GRANTED(2, MS(10), GIB(6)));
	/* 1's pinned gigabyte is still there. */
	CHECK_EQ(occupied(&g, 1), GIB(1));
	CHECK_EQ(policy_resident_bytes(&g), GIB(7));
	/* 3 (2 GiB) would fit beside 2 alone; it is told 1 GiB is free and
	 * waits for 2's slice (from 30 ms). */
	mem(&g, 3, GIB(2), 0, MS(40));
	policy_request(&g, 3, MS(40), &out);
	EXPECT(WAIT_FOR(3, 0, MEMORY, GIB(2), GIB(1)));
	CHECK_EQ(policy_wait_reason_of(&g, 3), POLICY_WAIT_MEMORY);
	CHECK_EQ(policy_next_deadline(&g), MS(130));
	/* 1 frees its pinned allocation: its grant drops to 3 GiB, its
	 * pinned part to nothing, and 3 fits at once. */
	mem(&g, 1, GIB(3), 0, MS(50));
	EXPECT(GRANTED(3, MS(10), GIB(2)));
	CHECK_EQ(granted(&g, 1), GIB(3));
	CHECK_EQ(occupied(&g, 1), 0);
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	CHECK_EQ(g.nqueue, 0);
	policy_gpu_destroy(&g);
}

/* A running client's free lowers its grant (MEM_GRANT at once) and the
 * room admits the head of the queue; growing back, the client waits. */
static void test_free_admits_head(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	mem(&g, 1, GIB(6), 0, 0);
	policy_request(&g, 1, 0, &out);
	EXPECT(GRANTED(1, 0, GIB(6)));
	mem(&g, 2, GIB(3), 0, MS(10));
	policy_request(&g, 2, MS(10), &out);
	EXPECT(WAIT_FOR(2, 0, MEMORY, GIB(3), GIB(2)));
	CHECK_EQ(policy_next_deadline(&g), MS(100));
	mem(&g, 1, GIB(5), 0, MS(20));
	EXPECT(MEM_GRANTED(1, 0, GIB(5)), GRANTED(2, MS(10), GIB(3)));
	CHECK_EQ(granted(&g, 1), GIB(5));
	CHECK_EQ(policy_resident_bytes(&g), CAP);
	/* The freed gigabyte went to 2: 1 growing back waits for 2's slice
	 * (from 20 ms). */
	mem(&g, 1, GIB(6), 0, MS(30));
	EXPECT_NONE();
	CHECK_EQ(growing(&g, 1), 1);
	CHECK_EQ(granted(&g, 1), GIB(5));
	CHECK_EQ(policy_next_deadline(&g), MS(120));
	policy_tick(&g, MS(120), &out);
	EXPECT(DROP_SWAP(2, MS(100)));
	swapped_out(&g, 2, GIB(3), MS(130));
	policy_release(&g, 2, MS(131), &out);
	EXPECT(MEM_GRANTED(1, MS(101), GIB(6)));
	policy_gpu_destroy(&g);
}

/* Pinned memory that the library has not backed is not on the GPU: a
 * pinned allocation made while the client does not run (or beyond its
 * grant) waits, allocation call and all, for the next grant that covers
 * it. After a swap-out only the pinned memory that was backed stays. */
static void test_unbacked_pinned_not_counted(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	mem(&g, 1, GIB(4), 0, 0);
	policy_request(&g, 1, MS(1), &out);
	policy_release(&g, 1, MS(10), &out);
	EXPECT(GRANTED(1, 0, GIB(4)));
	mem(&g, 2, CAP, 0, MS(20));
	policy_request(&g, 2, MS(20), &out);
	EXPECT(ACT(EVICT, 1, MS(10)), WAIT_FOR(2, 0, MEMORY, CAP, GIB(4)));
	swapped_out(&g, 1, GIB(4), MS(30));
	EXPECT(GRANTED(2, MS(10), CAP));
	/* 1, idle and on the host, allocates 1 GiB pinned: nothing of it is
	 * on the GPU, which 2 fills. */
	mem(&g, 1, GIB(5), GIB(1), MS(40));
	EXPECT_NONE();
	CHECK_EQ(occupied(&g, 1), 0);
	CHECK(policy_resident_bytes(&g) <= CAP);
	/* The GPU is empty once 2 has left: 3 (8 GiB) is granted at once. */
	policy_disconnect(&g, 2, MS(50), &out);
	mem(&g, 3, CAP, 0, MS(60));
	policy_request(&g, 3, MS(60), &out);
	EXPECT(GRANTED(3, 0, CAP));
	policy_gpu_destroy(&g);
}

/* Likewise an idle client whose grant holds movable memory and whose
 * pinned allocation waits unbacked: evicting it frees the movable memory,
 * so it is evicted for a head that needs the room. */
static void test_unbacked_pinned_evictable(void)
{
	struct policy_gpu g;

	init(&g, POLICY_MODE_AUTO, CAP, SLICE, LONG_RUN, GRACE);
	mem(&g, 1, GIB(1), 0, 0);
	policy_request(&g, 1, MS(1), &out);
	policy_release(&g, 1, MS(10), &out);
	EXPECT(GRANTED(1, 0, GIB(1)));
	mem(&g, 1, GIB(3), GIB(2), MS(20));
	EXPECT_NONE();
	mem(&g, 2, CAP, 0, MS(30));
	policy_request(&g, 2, MS(30), &out);
	EXPECT(ACT(EVICT, 1, MS(20)), WAIT_FOR(2, 0, MEMORY, CAP, GIB(7)));
	swapped_out(&g, 1, GIB(1), MS(40));
	EXPECT(GRANTED(2, MS(10), CAP));
	CHECK(policy_resident_bytes(&g) <= CAP);
	policy_gpu_destroy(&g);
}

/* --- random simulation ------------------------------------------------------
 * Each GPU has a mode; clients 1..SIM_CLIENTS come and go at random:
 * they ask for the lock, release it, disconnect, allocate (by eighths of
 * the capacity, sometimes pinned) and free, running or not: running
 * clients do grow here. The test models, per client, what the library
 * really has on the GPU, built only from the events it causes and the
 * actions it receives:
 *   - it backs memory only while it runs and only when the grant it last
 *     received (LOCK_OK, MEM_GRANT, CONFIRM) covers everything it has
 *     allocated (up to the capacity): then all of it is backed; what it
 *     allocates beyond its grant, or while not running, pinned or not,
 *     waits unbacked for the next grant (grant_covers() in the library);
 *   - frees release backed memory at once (unbacked memory first: the
 *     worst case) and lower its grant, as the library does;
 *   - a swap-out (answering EVICT, or DROP_LOCK with SWAP_OUT) leaves only
 *     the backed pinned part on the GPU; a grant swaps everything back in (and
 * the client reports the swap-in); EVICT crossing LOCK_OK is answered first, as
 * the library reads its socket in order. Clients are well behaved: they answer
 * DROP_LOCK (swap-out report first when asked, then release) and EVICT after a
 * random delay strictly below the grace, so nobody is ever revoked and no
 * eviction times out. A client that never answers is the zero-trust issue's
 * case: its memory is on the GPU whatever the policy believes, and it is not
 * part of this invariant. Ticks happen exactly at the deadlines the policy
 * announces, as the scheduler's event loop does.
 *
 * After every event (every call into the policy) the test checks:
 *   (1) outside concurrent mode, what the clients have backed, summed,
 *       fits the capacity;
 *   (2) outside concurrent mode, policy_resident_bytes() fits it;
 *   (3) each client's backed bytes are at most what the policy says it
 *       occupies: the books cover what is really there;
 *   (4) nobody waits (queued, or running and growing) longer than the
 *       bound below;
 * and that the policy's members, queue and grants agree with the model.
 *
 * The bound. A waiter's turn costs at most one slice of the clients it
 * waits for (max-slice: the fixed slice, or max-run for the automatic
 * one), plus a grace for the evictions of idle memory to be answered, a
 * grace for the drops to be answered, and a grace of margin for the room
 * a dropped client frees being taken by a running client's growth first
 * (growth goes ahead of the queue; that client is dropped in turn at once,
 * its slice being over): P = max-slice + 3 x grace. A waiter in the queue
 * waits for at most every other client's turn before its own, and a
 * growing client for the slice of a client admitted just as it began to
 * wait: bound = (SIM_CLIENTS + 1) x P. The clock starts again when the
 * waiter's own need grows (new work), when a waiter ahead of it in the
 * queue starts again (strict FIFO), and it stands still while the waiter
 * cannot be served at all: while the pinned memory the others really have
 * on the GPU (what stays there whatever is swapped out) leaves less than
 * its need ("held up by pinned memory"), or a waiter ahead of it is in
 * that case. */

#define SIM_GPUS 4
#define SIM_CLIENTS 6
#define SIM_STEPS 170000
#define SIM_MAX_EIGHTHS 10  /* a footprint up to 10/8 of the GPU */
#define SIM_MAX_PINNED 2    /* pinned up to 2/8 of the GPU */
#define SIM_STEP_MAX MS(30) /* time between random events, at most */

enum sim_wait {
	SIM_NOT_WAITING = 0,
	SIM_QUEUED = 1,  /* in the queue */
	SIM_GROWING = 2, /* running, footprint above its grant */
};

struct sim_client {
	int known;            /* a member of the policy */
	uint64_t mov, pin;    /* allocated: movable and pinned bytes */
	uint64_t bmov, bpin;  /* of them, backed on the GPU */
	uint64_t grant;       /* the grant it holds, lowered by its frees */
	int running;          /* LOCK_OK received, not released */
	int swapped;          /* its movable memory is on the host */
	int64_t drop_due;     /* answers DROP_LOCK then, or -1 */
	int drop_swap;        /* ... moving its memory out first */
	int64_t evict_due;    /* answers EVICT then, or -1 */
	int evict_done;       /* ... the swap itself done already (EVICT
	                         crossed LOCK_OK) */
	uint64_t evict_moved; /* bytes that swap moved */
	int64_t swapin_due;   /* reports its swap-in then, or -1 */
	enum sim_wait wait;   /* at the last check */
	int held;             /* held up by pinned memory, at the last check */
	int64_t wait_from;    /* the bound's clock runs from then */
	uint64_t wait_need;   /* its need at the last check */
};

struct sim_gpu {
	struct policy_gpu pol;                 /* the policy under test */
	struct sim_client cl[SIM_CLIENTS + 1]; /* model, by client id */
	uint64_t queue[SIM_CLIENTS];           /* model: FIFO */
	int nqueue;                            /* model: waiters */
	int64_t slice_max;                     /* longest slice */
	int64_t bound;                         /* (clients + 1) x P */
	uint64_t events;                       /* calls into the policy */
	uint64_t grants, mem_grants, late_mem_grants, drops, evicts;
	uint64_t waits, swaps, growths, held_ups; /* actions and figures */
	uint64_t peak_backed;                     /* most backed at once */
	int64_t longest_queue_wait, longest_growth_wait; /* observed */
};

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

static int64_t rng_range(int64_t n)
{
	return (int64_t)(rng() % (uint64_t)n);
}

/* -v: every call into the policy and its actions, to minimise a failure. */
static int sim_trace;

static void trace_call(int gi, int64_t now, const char *what, uint64_t c,
                       uint64_t a, uint64_t b)
{
	if (sim_trace)
		printf("t=%lld gpu %d: %s(%llu, %llu, %llu)\n", (long long)now,
		       gi, what, (unsigned long long)c, (unsigned long long)a,
		       (unsigned long long)b);
}

static int sim_fail(const char *what, int gpu, uint64_t c, int64_t now)
{
	check_failed++;
	fprintf(stderr, "simulation: %s (gpu %d, client %llu, t=%lld ns)\n",
	        what, gpu, (unsigned long long)c, (long long)now);
	return -1;
}

static int conc_of(const struct sim_gpu *s)
{
	return s->pol.mode == POLICY_MODE_CONCURRENT;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t need_of(const struct sim_gpu *s, const struct sim_client *k)
{
	return min_u64(k->mov + k->pin, s->pol.capacity_bytes);
}

static uint64_t backed_of(const struct sim_client *k)
{
	return k->bmov + k->bpin;
}

static int queue_index(const struct sim_gpu *s, uint64_t c)
{
	for (int i = 0; i < s->nqueue; i++)
		if (s->queue[i] == c)
			return i;
	return -1;
}

static void queue_remove(struct sim_gpu *s, int i)
{
	memmove(&s->queue[i], &s->queue[i + 1],
	        (size_t)(s->nqueue - i - 1) * sizeof(s->queue[0]));
	s->nqueue--;
}

static void client_reset(struct sim_client *k)
{
	memset(k, 0, sizeof(*k));
	k->drop_due = k->evict_due = k->swapin_due = -1;
}

static void client_know(struct sim_client *k)
{
	if (k->known)
		return;
	client_reset(k);
	k->known = 1;
}

/* The library backs its memory while it runs and its grant covers all of
 * it (up to the capacity: pinned first, the worst case for what stays
 * after a swap-out); otherwise what it allocated since waits unbacked
 * (pinned memory: the allocation itself waits), as grant_covers() rules.
 * Nothing is unbacked for a grant. */
static void back_up_to_grant(const struct sim_gpu *s, struct sim_client *k)
{
	uint64_t room;

	if (!k->running || k->grant < need_of(s, k))
		return;
	room = min_u64(k->grant, s->pol.capacity_bytes);
	k->bpin = min_u64(k->pin, room);
	k->bmov = min_u64(k->mov, room - k->bpin);
}

/* Moves the client's movable memory to the host; returns the bytes. */
static uint64_t swap_out(struct sim_client *k)
{
	uint64_t moved = k->bmov;

	k->bmov = 0;
	k->swapped = 1;
	return moved;
}

static int sim_apply_one(struct sim_gpu *s, int gi,
                         const struct policy_action *a, int64_t now)
{
	struct sim_client *k = &s->cl[a->client];
	uint64_t c = a->client;
	int conc = conc_of(s);
	int64_t g = s->pol.grace_ns;

	if (c < 1 || c > SIM_CLIENTS || !k->known)
		return sim_fail("action for an unknown client", gi, c, now);
	switch (a->kind) {
	case POLICY_GRANT:
		if (s->nqueue == 0 || s->queue[0] != c)
			return sim_fail("grant out of FIFO order", gi, c, now);
		if (a->granted_bytes != need_of(s, k))
			return sim_fail("grant other than the footprint", gi, c,
			                now);
		queue_remove(s, 0);
		/* EVICT came first on the socket: the library moved its
		 * memory out before it read LOCK_OK. */
		if (k->evict_due >= 0 && !k->evict_done) {
			k->evict_moved = swap_out(k);
			k->evict_done = 1;
			k->evict_due = now;
		}
		k->running = 1;
		k->grant = a->granted_bytes;
		if (k->swapped)
			k->swapin_due = now;
		k->swapped = 0;
		back_up_to_grant(s, k);
		s->grants++;
		break;
	case POLICY_CONFIRM:
		if (!k->running || a->granted_bytes != k->grant)
			return sim_fail("unexpected CONFIRM", gi, c, now);
		back_up_to_grant(s, k);
		break;
	case POLICY_MEM_GRANT:
		if (!k->running)
			return sim_fail(
			    "MEM_GRANT to a client that does not run", gi, c,
			    now);
		if (a->granted_bytes != need_of(s, k))
			return sim_fail("MEM_GRANT other than the footprint",
			                gi, c, now);
		if (a->span_ns > 0)
			s->late_mem_grants++;
		k->grant = a->granted_bytes;
		back_up_to_grant(s, k);
		s->mem_grants++;
		break;
	case POLICY_DROP:
		if (conc || !k->running || k->drop_due >= 0 ||
		    (a->flags & ~POLICY_DROP_SWAP_OUT) ||
		    (s->pol.mode == POLICY_MODE_AUTO &&
		     a->flags != POLICY_DROP_SWAP_OUT))
			return sim_fail("unexpected DROP", gi, c, now);
		/* Strictly within the grace. */
		k->drop_due = now + rng_range(g);
		k->drop_swap = (a->flags & POLICY_DROP_SWAP_OUT) != 0;
		s->drops++;
		break;
	case POLICY_REVOKE:
		return sim_fail("a client that answers in time was revoked", gi,
		                c, now);
	case POLICY_EVICT:
		if (conc || k->running || k->swapped || k->evict_due >= 0)
			return sim_fail("unexpected EVICT", gi, c, now);
		k->evict_due = now + rng_range(g);
		k->evict_done = 0;
		s->evicts++;
		break;
	case POLICY_EVICT_TIMEOUT:
		return sim_fail("an eviction answered in time timed out", gi, c,
		                now);
	case POLICY_WAIT:
		if (conc || queue_index(s, c) < 0 ||
		    (a->reason != POLICY_WAIT_TURN &&
		     a->reason != POLICY_WAIT_MEMORY) ||
		    a->need_bytes != k->mov + k->pin ||
		    a->free_bytes > s->pol.capacity_bytes)
			return sim_fail("unexpected WAIT", gi, c, now);
		s->waits++;
		break;
	default: return sim_fail("unknown action", gi, c, now);
	}
	return 0;
}

/* The bound's clocks (see above), after an event at now. */
static int sim_waits(struct sim_gpu *s, int gi, int64_t now)
{
	uint64_t cap = s->pol.capacity_bytes, floor_all = 0;
	int conc = conc_of(s), ahead_held = 0;
	enum sim_wait w[SIM_CLIENTS + 1];
	int held[SIM_CLIENTS + 1];

	for (uint64_t c = 1; c <= SIM_CLIENTS; c++) {
		const struct sim_client *k = &s->cl[c];

		if (k->known)
			floor_all += k->bpin;
	}
	for (uint64_t c = 1; c <= SIM_CLIENTS; c++) {
		const struct sim_client *k = &s->cl[c];
		uint64_t floor = floor_all - k->bpin;

		w[c] = queue_index(s, c) >= 0 ? SIM_QUEUED
		       : k->running && !conc && need_of(s, k) > k->grant
		           ? SIM_GROWING
		           : SIM_NOT_WAITING;
		held[c] = need_of(s, k) + floor > cap;
	}
	/* Behind a waiter held up, the queue is held up too. */
	for (int i = 0; i < s->nqueue; i++) {
		ahead_held |= held[s->queue[i]];
		held[s->queue[i]] = ahead_held;
	}
	for (uint64_t c = 1; c <= SIM_CLIENTS; c++) {
		struct sim_client *k = &s->cl[c];
		uint64_t need = need_of(s, k);

		if (k->wait != SIM_NOT_WAITING && !k->held) {
			int64_t waited = now - k->wait_from;
			int64_t *longest = k->wait == SIM_QUEUED
			                       ? &s->longest_queue_wait
			                       : &s->longest_growth_wait;

			if (waited > s->bound)
				return sim_fail(k->wait == SIM_QUEUED
				                    ? "queued past the bound"
				                    : "growth waited past the "
				                      "bound",
				                gi, c, now);
			if (waited > *longest)
				*longest = waited;
		}
		if (w[c] == SIM_GROWING && k->wait != SIM_GROWING)
			s->growths++;
		if (w[c] != SIM_NOT_WAITING && held[c] && !k->held)
			s->held_ups++;
		if (w[c] != SIM_NOT_WAITING &&
		    (w[c] != k->wait || need > k->wait_need || held[c] ||
		     k->held))
			k->wait_from = now;
		k->wait = w[c];
		k->held = w[c] != SIM_NOT_WAITING && held[c];
		k->wait_need = need;
	}
	/* A waiter ahead that starts again delays those behind it. */
	for (int i = 1; i < s->nqueue; i++) {
		struct sim_client *a = &s->cl[s->queue[i - 1]];
		struct sim_client *b = &s->cl[s->queue[i]];

		if (b->wait_from < a->wait_from)
			b->wait_from = a->wait_from;
	}
	return 0;
}

/* The invariants, and the policy's state against the model. */
static int sim_check(struct sim_gpu *s, int gi, int64_t now)
{
	const struct policy_gpu *p = &s->pol;
	uint64_t cap = p->capacity_bytes, sum = 0;
	int conc = conc_of(s);

	if ((int)p->nqueue != s->nqueue)
		return sim_fail("queue size differs", gi, 0, now);
	for (int i = 0; i < s->nqueue; i++)
		if (p->queue[i].client != s->queue[i])
			return sim_fail("queue order differs", gi, s->queue[i],
			                now);
	for (uint64_t c = 1; c <= SIM_CLIENTS; c++) {
		const struct policy_member *m = policy_member_of(p, c);
		const struct sim_client *k = &s->cl[c];

		if (!k->known) {
			if (m)
				return sim_fail("unknown client is a member",
				                gi, c, now);
			continue;
		}
		if (!m || m->footprint_bytes != k->mov + k->pin ||
		    m->pinned_bytes != k->pin || m->running != k->running)
			return sim_fail("member differs from the model", gi, c,
			                now);
		if (m->granted_bytes != k->grant)
			return sim_fail(
			    "the policy's grant is not the client's", gi, c,
			    now);
		if (m->evicting != (k->evict_due >= 0 && !k->evict_done))
			return sim_fail("eviction differs from the model", gi,
			                c, now);
		if (k->evict_due < 0 && k->swapin_due < 0 &&
		    m->resident == k->swapped)
			return sim_fail("residency differs from the model", gi,
			                c, now);
		/* (3) */
		if (backed_of(k) > policy_occupied_bytes(m))
			return sim_fail("backed beyond what the policy counts",
			                gi, c, now);
		if (!conc && policy_growing(p, m) !=
		                 (k->running && need_of(s, k) > k->grant))
			return sim_fail("growing differs from the model", gi, c,
			                now);
		sum += backed_of(k);
	}
	if (sum > s->peak_backed)
		s->peak_backed = sum;
	/* (1) */
	if (!conc && sum > cap)
		return sim_fail("backed memory exceeds the GPU", gi, 0, now);
	/* (2) */
	if (!conc && policy_resident_bytes(p) > cap)
		return sim_fail("resident bytes exceed the GPU", gi, 0, now);
	if (conc && p->nqueue > 0)
		return sim_fail("a waiter in concurrent mode", gi, 0, now);
	if (p->forced_releases || p->evict_timeouts)
		return sim_fail("forced release or eviction timeout", gi, 0,
		                now);
	/* (4) */
	return sim_waits(s, gi, now);
}

/* On a failure: the policy's members beside the model's clients. */
static void sim_dump(const struct sim_gpu *s)
{
	for (uint64_t c = 1; c <= SIM_CLIENTS; c++) {
		const struct policy_member *m = policy_member_of(&s->pol, c);
		const struct sim_client *k = &s->cl[c];

		fprintf(stderr,
		        "  client %llu: model known %d running %d queued %d "
		        "mov %llu pin %llu backed %llu+%llu grant %llu wait %d "
		        "held %d from %lld",
		        (unsigned long long)c, k->known, k->running,
		        queue_index(s, c) >= 0, (unsigned long long)k->mov,
		        (unsigned long long)k->pin, (unsigned long long)k->bmov,
		        (unsigned long long)k->bpin,
		        (unsigned long long)k->grant, (int)k->wait, k->held,
		        (long long)k->wait_from);
		if (m)
			fprintf(stderr,
			        "; policy fp %llu pinned %llu granted %llu "
			        "running %d resident %d evicting %d occupied "
			        "%llu",
			        (unsigned long long)m->footprint_bytes,
			        (unsigned long long)m->pinned_bytes,
			        (unsigned long long)m->granted_bytes,
			        m->running, m->resident, m->evicting,
			        (unsigned long long)policy_occupied_bytes(m));
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "  policy resident %llu of %llu, next deadline %lld\n",
	        (unsigned long long)policy_resident_bytes(&s->pol),
	        (unsigned long long)s->pol.capacity_bytes,
	        (long long)policy_next_deadline(&s->pol));
}

/* After every call into the policy: its actions, then the checks. */
static int sim_after(struct sim_gpu *s, int gi, int64_t now)
{
	int rc;

	s->events++;
	for (unsigned i = 0; i < out.n && sim_trace; i++)
		printf("    gpu %d -> %s(%llu, span %lld, flags %u, granted "
		       "%llu)\n",
		       gi, policy_kind_name(out.act[i].kind),
		       (unsigned long long)out.act[i].client,
		       (long long)out.act[i].span_ns, out.act[i].flags,
		       (unsigned long long)out.act[i].granted_bytes);
	for (unsigned i = 0; i < out.n; i++)
		if (sim_apply_one(s, gi, &out.act[i], now))
			return -1;
	out.n = 0;
	rc = sim_check(s, gi, now);
	if (rc)
		sim_dump(s);
	return rc;
}

static int sim_swap_report(struct sim_gpu *s, int gi, uint64_t c, unsigned dir,
                           uint64_t bytes, int64_t now)
{
	/* 2..20 bytes per ns. */
	uint64_t ns = bytes / (uint64_t)(2 + rng_range(19)) + 1;

	trace_call(gi, now, dir == POLICY_SWAP_OUT ? "swap_out" : "swap_in", c,
	           bytes, ns);
	if (policy_swap_report(&s->pol, c, dir, bytes, ns, now, &out))
		return sim_fail("swap report refused", gi, c, now);
	s->swaps++;
	return sim_after(s, gi, now);
}

static int sim_release(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	struct sim_client *k = &s->cl[c];
	int was = k->running;

	trace_call(gi, now, "release", c, 0, 0);
	if (policy_release(&s->pol, c, now, &out) != was)
		return sim_fail("release result differs", gi, c, now);
	/* A DROP_LOCK it has not answered yet crossed this release: the
	 * library ignores it. */
	k->running = 0;
	k->drop_due = -1;
	return sim_after(s, gi, now);
}

static int sim_request(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	struct sim_client *k = &s->cl[c];

	client_know(k);
	if (!k->running && queue_index(s, c) < 0)
		s->queue[s->nqueue++] = c;
	trace_call(gi, now, "request", c, 0, 0);
	if (policy_request(&s->pol, c, now, &out))
		return sim_fail("request refused", gi, c, now);
	if (k->running && (out.n == 0 || out.act[0].kind != POLICY_CONFIRM))
		return sim_fail("holder's request not confirmed", gi, c, now);
	return sim_after(s, gi, now);
}

static int sim_disconnect(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	int i = queue_index(s, c);

	if (i >= 0)
		queue_remove(s, i);
	client_reset(&s->cl[c]);
	trace_call(gi, now, "disconnect", c, 0, 0);
	policy_disconnect(&s->pol, c, now, &out);
	return sim_after(s, gi, now);
}

static int sim_footprint(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	struct sim_client *k = &s->cl[c];

	trace_call(gi, now, "footprint", c, k->mov + k->pin, k->pin);
	if (policy_set_footprint(&s->pol, c, k->mov + k->pin, k->pin, 0, now,
	                         &out))
		return sim_fail("footprint refused", gi, c, now);
	return sim_after(s, gi, now);
}

/* Allocates one or two eighths of the GPU, sometimes pinned. */
static int sim_alloc(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	struct sim_client *k = &s->cl[c];
	uint64_t eighth = s->pol.capacity_bytes / 8;
	uint64_t bytes = eighth * (uint64_t)(1 + rng_range(2));
	int pinned = rng_range(5) == 0;

	client_know(k);
	if (k->mov + k->pin + bytes > SIM_MAX_EIGHTHS * eighth)
		bytes = 0; /* an update that changes nothing */
	else if (pinned && k->pin + bytes > SIM_MAX_PINNED * eighth)
		pinned = 0;
	if (pinned)
		k->pin += bytes;
	else
		k->mov += bytes;
	/* Backed now only if the grant covers it (it does not, unless the
	 * footprint was beyond the GPU already). */
	back_up_to_grant(s, k);
	return sim_footprint(s, gi, c, now);
}

/* Frees one or two eighths, or everything, of its pinned or movable
 * memory. */
static int sim_free(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	struct sim_client *k = &s->cl[c];
	uint64_t eighth = s->pol.capacity_bytes / 8;
	uint64_t bytes = eighth * (uint64_t)(1 + rng_range(2));
	uint64_t *from = k->pin > 0 && rng_range(3) == 0 ? &k->pin : &k->mov;

	client_know(k);
	if (rng_range(4) == 0 || bytes > *from)
		bytes = *from;
	*from -= bytes;
	k->bpin = min_u64(k->bpin, k->pin);
	k->bmov = min_u64(k->bmov, k->mov);
	k->grant = min_u64(k->grant, need_of(s, k));
	return sim_footprint(s, gi, c, now);
}

/* A client's answer due at or before t on GPU s, or 0. */
static uint64_t sim_due(const struct sim_gpu *s, int64_t t, int64_t *when)
{
	uint64_t best = 0;

	*when = INT64_MAX;
	for (uint64_t c = 1; c <= SIM_CLIENTS; c++) {
		const struct sim_client *k = &s->cl[c];
		int64_t d[3] = {k->evict_due, k->swapin_due, k->drop_due};

		for (int i = 0; i < 3; i++)
			if (d[i] >= 0 && d[i] <= t && d[i] < *when) {
				*when = d[i];
				best = c;
			}
	}
	return best;
}

/* The client's earliest answer, in the order it reads its socket. */
static int sim_answer(struct sim_gpu *s, int gi, uint64_t c, int64_t now)
{
	struct sim_client *k = &s->cl[c];
	uint64_t moved;

	if (k->evict_due >= 0 && k->evict_due <= now) {
		moved = k->evict_done ? k->evict_moved : swap_out(k);
		k->evict_due = -1;
		k->evict_done = 0;
		return sim_swap_report(s, gi, c, POLICY_SWAP_OUT, moved, now);
	}
	if (k->swapin_due >= 0 && k->swapin_due <= now) {
		k->swapin_due = -1;
		return sim_swap_report(s, gi, c, POLICY_SWAP_IN, k->bmov, now);
	}
	k->drop_due = -1;
	if (k->drop_swap &&
	    sim_swap_report(s, gi, c, POLICY_SWAP_OUT, swap_out(k), now))
		return -1;
	return sim_release(s, gi, c, now);
}

/* Advances every GPU to time t: answers and ticks, in time order, ticks
 * exactly at the deadlines announced. */
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
			trace_call(best, when, "tick", 0, 0, 0);
			policy_tick(&s->pol, when, &out);
			if (sim_after(s, best, when))
				return -1;
		}
	}
	*now = t;
	return 0;
}

/* A running client of GPU s, or 0. */
static uint64_t sim_runner(const struct sim_gpu *s)
{
	uint64_t c = 1 + (uint64_t)rng_range(SIM_CLIENTS);

	for (int i = 0; i < SIM_CLIENTS; i++, c = c % SIM_CLIENTS + 1)
		if (s->cl[c].running)
			return c;
	return 0;
}

/* One random event on GPU s; half the allocations are a running
 * client's. */
static int sim_event(struct sim_gpu *s, int gi, int64_t now)
{
	uint64_t c = 1 + (uint64_t)rng_range(SIM_CLIENTS), r2;
	int64_t r = rng_range(100);

	if (r < 25)
		return sim_request(s, gi, c, now);
	if (r < 37)
		return sim_release(s, gi, c, now);
	if (r < 40)
		return sim_disconnect(s, gi, c, now);
	if (r < 75) {
		if (rng_range(2) && (r2 = sim_runner(s)) != 0)
			c = r2;
		return sim_alloc(s, gi, c, now);
	}
	return sim_free(s, gi, c, now);
}

static void test_random_growth(void)
{
	static const enum policy_mode modes[SIM_GPUS] = {
	    POLICY_MODE_AUTO, POLICY_MODE_AUTO, POLICY_MODE_SERIAL,
	    POLICY_MODE_CONCURRENT};
	static const int64_t slices[SIM_GPUS] = {MS(100), POLICY_SLICE_AUTO,
	                                         MS(37), MS(100)};
	static const int64_t max_runs[SIM_GPUS] = {MS(3600000), MS(1500),
	                                           MS(3600000), MS(3600000)};
	static const int64_t graces[SIM_GPUS] = {MS(50), MS(80), MS(20),
	                                         MS(50)};
	static const uint64_t caps[SIM_GPUS] = {GIB(16), GIB(4), GIB(8),
	                                        GIB(16)};
	static struct sim_gpu sims[SIM_GPUS];
	int64_t now = MS(1), drain = 0;
	uint64_t events = 0;
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
		s->slice_max =
		    slices[i] == POLICY_SLICE_AUTO || slices[i] > max_runs[i]
		        ? max_runs[i]
		        : slices[i];
		s->bound = (SIM_CLIENTS + 1) * (s->slice_max + 3 * graces[i]);
		if (s->bound > drain)
			drain = s->bound;
		for (int c = 0; c <= SIM_CLIENTS; c++)
			client_reset(&s->cl[c]);
	}
	out.n = 0;
	for (int step = 0; step < SIM_STEPS && !failed; step++) {
		int gi = (int)rng_range(SIM_GPUS);

		failed =
		    sim_advance(sims, &now, now + rng_range(SIM_STEP_MAX)) ||
		    sim_event(&sims[gi], gi, now);
	}
	/* Then only answers and time: whoever can be served is, within the
	 * bound (checked once more at the end, for those nothing happened
	 * to since). */
	if (!failed)
		failed = sim_advance(sims, &now, now + drain + 1) != 0;
	for (int i = 0; i < SIM_GPUS && !failed; i++)
		failed = sim_check(&sims[i], i, now) != 0;
	CHECK_EQ(failed, 0);
	for (int i = 0; i < SIM_GPUS; i++) {
		struct sim_gpu *s = &sims[i];
		int left = 0;

		for (uint64_t c = 1; c <= SIM_CLIENTS; c++)
			left +=
			    s->cl[c].wait != SIM_NOT_WAITING && !s->cl[c].held;
		events += s->events;
		/* Nobody who can be served still waits; every kind of
		 * transition happened, many times (unless it stopped early). */
		CHECK(failed || left == 0);
		CHECK(failed || s->grants > 1000);
		CHECK(failed || s->mem_grants > 1000);
		if (!failed && modes[i] != POLICY_MODE_CONCURRENT) {
			CHECK(s->growths > 500);
			CHECK(s->late_mem_grants > 200);
			CHECK(s->drops > 1000);
			CHECK(s->evicts > 200);
			CHECK(s->waits > 1000);
			CHECK(s->held_ups > 100);
			CHECK(s->peak_backed == s->pol.capacity_bytes);
		}
		printf(
		    "growth simulation gpu %d (%s, %s slice): %llu events, "
		    "%llu grants, %llu growths (%llu mem grants, %llu after "
		    "a wait), %llu drops, %llu evictions, %llu waits, %llu "
		    "swaps, %llu waits held up by pinned memory; peak "
		    "backed %.0f%% of the GPU; longest wait %.3f s queued, "
		    "%.3f s growing, of %.3f s bound\n",
		    i, policy_mode_name(modes[i]),
		    slices[i] == POLICY_SLICE_AUTO ? "auto" : "fixed",
		    (unsigned long long)s->events,
		    (unsigned long long)s->grants,
		    (unsigned long long)s->growths,
		    (unsigned long long)s->mem_grants,
		    (unsigned long long)s->late_mem_grants,
		    (unsigned long long)s->drops, (unsigned long long)s->evicts,
		    (unsigned long long)s->waits, (unsigned long long)s->swaps,
		    (unsigned long long)s->held_ups,
		    100.0 * (double)s->peak_backed /
		        (double)s->pol.capacity_bytes,
		    (double)s->longest_queue_wait / 1e9,
		    (double)s->longest_growth_wait / 1e9,
		    (double)s->bound / 1e9);
		policy_gpu_destroy(&s->pol);
	}
	printf("growth simulation: %d random steps, %llu events, %.1f s "
	       "simulated\n",
	       SIM_STEPS, (unsigned long long)events, (double)now / 1e9);
}

int main(int argc, char **argv)
{
	sim_trace = argc > 1 && strcmp(argv[1], "-v") == 0;
	test_growth_fits();
	test_growth_evicts_idle();
	test_growth_drops_after_slice();
	test_two_grow_no_deadlock();
	test_pinned_stays_counted();
	test_free_admits_head();
	test_unbacked_pinned_not_counted();
	test_unbacked_pinned_evictable();
	test_random_growth();
	return check_summary("test_policy_growth");
}
