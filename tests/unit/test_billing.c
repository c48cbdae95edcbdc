/*
 * test_billing.c - GPU-time billing and core limits (scheduler/billing.c),
 * event by event with exact figures: ticks billed at their close (alone,
 * shared, under the tick), late and invalid reports, the throttle when a
 * budget is used and the release at the next window with the overshoot
 * carried as debt (capped), proportional scaling of limits that add up to
 * more than the GPU and who counts as active for it, limit and window
 * changes, removal, a full out continued by the next call, and long gaps
 * crossed in a few steps. Last, a deterministic random simulation of
 * thousands of GPUs, each with a mix of clients, limits and duty cycles on
 * a time-sliced GPU model with late reports and drain latency, checks the
 * shares the limits promise.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "billing.h"
#include "check.h"
#include "splitmix.h"

#define MS(x) ((int64_t)(x)*1000000)
#define T BILL_TICK_NS
#define W BILL_WINDOW_NS

static struct bill_gpu g;
static struct bill_out out;

static const char *kind_name(enum bill_kind k)
{
	return k == BILL_THROTTLE     ? "THROTTLE"
	       : k == BILL_UNTHROTTLE ? "UNTHROTTLE"
	                              : "?";
}

/* Compares out with the expected actions, reporting the caller's line, and
 * empties out for the next step. */
static void expect_out(const struct bill_action *want, size_t n, int line)
{
	int ok = out.n == n;

	for (size_t i = 0; ok && i < n; i++)
		ok = out.a[i].kind == want[i].kind &&
		     out.a[i].client == want[i].client;
	if (ok) {
		check_passed++;
	} else {
		check_failed++;
		fprintf(stderr, "%s:%d: actions differ; got %zu:", __FILE__,
		        line, out.n);
		for (size_t i = 0; i < out.n; i++)
			fprintf(stderr, " %s(%llu)", kind_name(out.a[i].kind),
			        (unsigned long long)out.a[i].client);
		fprintf(stderr, "; want %zu:", n);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %s(%llu)", kind_name(want[i].kind),
			        (unsigned long long)want[i].client);
		fprintf(stderr, "\n");
	}
	out.n = 0;
}

#define THR(c)                                                                 \
	{                                                                      \
		.kind = BILL_THROTTLE, .client = (c)                           \
	}
#define UNTHR(c)                                                               \
	{                                                                      \
		.kind = BILL_UNTHROTTLE, .client = (c)                         \
	}
#define EXPECT(...)                                                            \
	do {                                                                   \
		const struct bill_action want_[] = {__VA_ARGS__};              \
		expect_out(want_, sizeof(want_) / sizeof(want_[0]), __LINE__); \
	} while (0)
#define EXPECT_NONE() expect_out(NULL, 0, __LINE__)

static void setup(int64_t window_ns, int64_t now)
{
	bill_init(&g, window_ns, now);
	out.n = 0;
}

static void add(uint64_t id, uint32_t limit)
{
	CHECK_EQ(bill_add(&g, id, limit), 0);
}

static void busy(uint64_t id, int64_t tick, int64_t ns)
{
	CHECK_EQ(bill_report(&g, id, tick, ns), 0);
}

static int64_t adv(int64_t now)
{
	return bill_advance(&g, now, &out);
}

static int64_t used(uint64_t id)
{
	const struct bill_client *c = bill_client_of(&g, id);

	return c ? c->used_ns : -1;
}

static int64_t billed(uint64_t id)
{
	const struct bill_client *c = bill_client_of(&g, id);

	return c ? (int64_t)c->billed_ns : -1;
}

static int throttled(uint64_t id)
{
	const struct bill_client *c = bill_client_of(&g, id);

	return c ? c->throttled : -1;
}

static int pct_is(uint64_t id, int64_t now, double want)
{
	double p = bill_effective_pct(&g, id, now);

	return p > want - 1e-9 && p < want + 1e-9;
}

/* --- set-up and deadlines ------------------------------------------------- */

static void test_init(void)
{
	setup(MS(95), 1234567890);
	CHECK_EQ(g.window_ns, W);
	CHECK_EQ(g.next_window_ns, W);
	CHECK_EQ(g.window_start_ns, 1230000000);
	/* Ticks 121 and 122 are still within their grace at now. */
	CHECK_EQ(g.next_tick, 121);
	CHECK_EQ(g.n, 0);
	/* The next event is the close of tick 121, the next tick edge. */
	CHECK_EQ(adv(1234567890), 1240000000);
	EXPECT_NONE();
	CHECK_EQ(g.next_tick, 121);

	setup(0, 0);
	CHECK_EQ(g.window_ns, W);
	CHECK_EQ(g.window_start_ns, 0);
	CHECK_EQ(g.next_tick, 0);
	setup(-5, 0);
	CHECK_EQ(g.window_ns, W);
	setup(1, 0);
	CHECK_EQ(g.window_ns, T);
	setup(MS(250), 0);
	CHECK_EQ(g.window_ns, MS(250));
	setup(INT64_MAX, 0);
	CHECK_EQ(g.window_ns, MS(3600000));
	setup(0, MS(15));
	CHECK_EQ(g.window_start_ns, MS(10));
	CHECK_EQ(g.next_tick, 0);
}

static void test_deadlines(void)
{
	setup(0, 0);
	add(1, 30);
	/* Tick 0 closes at 30 ms. */
	CHECK_EQ(adv(0), MS(30));
	CHECK_EQ(adv(MS(29)), MS(30));
	CHECK_EQ(adv(MS(30)), MS(40));
	CHECK_EQ(adv(MS(35)), MS(40));
	CHECK_EQ(g.next_tick, 1);
	/* The close of tick 7 and the boundary are both at 100 ms. */
	CHECK_EQ(adv(MS(95)), MS(100));
	CHECK_EQ(adv(MS(100)), MS(110));
	CHECK_EQ(g.window_start_ns, MS(100));
	CHECK_EQ(g.next_tick, 8);
	EXPECT_NONE();
}

static void test_add_remove_lookup(void)
{
	setup(0, 0);
	add(7, 30);
	add(7, 50); /* idempotent: the first entry stays as it is */
	CHECK_EQ(g.n, 1);
	CHECK_EQ(bill_client_of(&g, 7)->limit_pct, 30);
	CHECK_EQ(bill_client_of(&g, 7)->last_busy_ns, INT64_MIN);
	CHECK_EQ(bill_client_of(&g, 7)->billed_ns, 0);
	CHECK(bill_client_of(&g, 8) == NULL);
	CHECK(pct_is(8, 0, 0.0));
	add(8, 0);
	CHECK(pct_is(8, 0, 0.0)); /* unlimited */
	CHECK(pct_is(7, 0, 30.0));
	add(9, 100); /* a 100 % ceiling limits nothing */
	CHECK_EQ(bill_client_of(&g, 9)->limit_pct, 0);
	add(10, 250);
	CHECK_EQ(bill_client_of(&g, 10)->limit_pct, 0);
	bill_remove(&g, 8);
	bill_remove(&g, 8);
	bill_remove(&g, 12345);
	CHECK_EQ(g.n, 3);
	CHECK(bill_client_of(&g, 8) == NULL);
	CHECK_EQ(bill_client_of(&g, 9)->id, 9);
	for (uint64_t id = 100; g.n < BILL_MAX_CLIENTS; id++)
		add(id, 10);
	CHECK_EQ(bill_add(&g, 99999, 10), -1);
	CHECK_EQ(bill_add(&g, 7, 10), 0); /* known: still fine when full */
	CHECK(bill_client_of(&g, 99999) == NULL);
	CHECK_EQ(g.n, BILL_MAX_CLIENTS);
}

/* Owners' shares of the table: one owner's entries stop at its share; a
 * full table gives an entry to a newcomer of a smaller owner. Scenario A:
 * an unlimited client's entry goes first, even from the smaller of two
 * large owners, and a tick still open counts as recent work. */
static void test_owner_share_and_eviction(void)
{
	const size_t half = BILL_MAX_CLIENTS / 2;
	uint64_t gone = 99;

	setup(0, 0);
	for (uint64_t id = 1; id <= half; id++)
		CHECK_EQ(bill_add_owned(&g, id, 1, 20, half), 0);
	CHECK_EQ(bill_add_owned(&g, 999, 1, 20, half), -2); /* share used */
	CHECK_EQ(bill_add_evicting(&g, 999, 1, 20, half, 0, &gone), -2);
	CHECK_EQ(gone, 0);
	for (uint64_t id = 1001; id < 1000 + half; id++)
		CHECK_EQ(bill_add_owned(&g, id, 2, 0, half), 0); /* unlimited */
	CHECK_EQ(bill_add_owned(&g, 5000, 3, 20, half), 0);
	CHECK_EQ(g.n, BILL_MAX_CLIENTS);
	CHECK_EQ(bill_add_owned(&g, 5001, 4, 20, half), -1); /* full */
	/* Owner 1's limited clients worked in tick 0 (1 us each: no
	 * throttle); the latest unlimited client, 1127, in tick 4, still
	 * open at 50 ms. */
	for (uint64_t id = 1; id <= half; id++)
		busy(id, 0, 1000);
	busy(1127, 4, 1000);
	adv(MS(50));
	CHECK_EQ(throttled(1), 0);
	CHECK_EQ(bill_add_evicting(&g, 5001, 4, 20, half, MS(50), &gone), 0);
	CHECK_EQ(gone, 1126); /* unlimited, never busy, the latest such */
	CHECK(bill_client_of(&g, 1126) == NULL);
	CHECK(bill_client_of(&g, 5001) != NULL);
	CHECK_EQ(g.n, BILL_MAX_CLIENTS);
	/* A newcomer of a known client never evicts for itself. */
	CHECK_EQ(bill_add_evicting(&g, 5000, 3, 20, half, MS(50), &gone), 0);
	CHECK_EQ(gone, 0);
}

/* Scenario B: two owners of limited clients fill the table. While they
 * are active nothing is taken (the newcomer is refused); once idle for two
 * windows, the least recently busy goes first, then the larger owner's
 * latest to join. */
static void test_eviction_spares_active_limited(void)
{
	const size_t half = BILL_MAX_CLIENTS / 2;
	uint64_t gone = 99;

	setup(0, 0);
	for (uint64_t id = 1; id <= half; id++) {
		CHECK_EQ(bill_add_owned(&g, id, 1, 20, half), 0);
		CHECK_EQ(bill_add_owned(&g, 2000 + id, 2, 20, half), 0);
	}
	/* All busy in tick 0, all but client 7 in tick 1 too. */
	for (uint64_t id = 1; id <= half; id++) {
		busy(id, 0, 1000);
		busy(2000 + id, 0, 1000);
		if (id != 7)
			busy(id, 1, 1000);
		busy(2000 + id, 1, 1000);
	}
	adv(MS(50));
	CHECK_EQ(bill_add_evicting(&g, 9000, 3, 20, half, MS(50), &gone), -1);
	CHECK_EQ(gone, 0);
	CHECK(bill_client_of(&g, 9000) == NULL);
	/* 400 ms: every one idle for more than two windows. */
	adv(MS(400));
	CHECK_EQ(bill_add_evicting(&g, 9000, 3, 20, half, MS(400), &gone), 0);
	CHECK_EQ(gone, 7); /* busy last at 10 ms, the others at 20 ms */
	CHECK_EQ(bill_add_evicting(&g, 9001, 3, 20, half, MS(400), &gone), 0);
	CHECK_EQ(gone, 2000 + half); /* owner 2 holds more now */
	CHECK_EQ(bill_owned(&g, 1), half - 1);
	CHECK_EQ(bill_owned(&g, 2), half - 1);
	CHECK_EQ(bill_owned(&g, 3), 2);
}

/* --- billing a tick ------------------------------------------------------- */

/* One client with a 30 % limit, busy every tick: 10 ms a tick, throttled
 * when 30 ms are billed; the two ticks it ran while its reports were in
 * their grace become debt; it goes again at the next window and the debt
 * leaves it one tick there. */
static void test_single_client(void)
{
	setup(0, 0);
	add(1, 30);
	/* It runs ticks 0..4 (0 to 50 ms), reporting each as it ends. */
	for (int64_t k = 0; k < 5; k++) {
		busy(1, k, T);
		CHECK_EQ(adv((k + 1) * T),
		         (k + 1) * T < MS(30) ? MS(30) : (k + 2) * T);
		if (k < 2)
			EXPECT_NONE();
	}
	/* Closes at 30, 40, 50 ms: 10, 20, 30 ms -> throttled at 50 ms. */
	EXPECT(THR(1));
	CHECK_EQ(used(1), MS(30));
	CHECK_EQ(throttled(1), 1);
	CHECK_EQ(adv(MS(60)), MS(70));
	CHECK_EQ(used(1), MS(40));
	CHECK_EQ(adv(MS(70)), MS(80));
	CHECK_EQ(used(1), MS(50));
	EXPECT_NONE();
	CHECK_EQ(adv(MS(99)), MS(100));
	EXPECT_NONE();
	/* Next window: 20 ms of debt, under the 30 ms budget: let go. */
	CHECK_EQ(adv(MS(100)), MS(110));
	EXPECT(UNTHR(1));
	CHECK_EQ(used(1), MS(20));
	CHECK_EQ(g.window_start_ns, MS(100));
	/* It runs ticks 10..12; the close of tick 10 at 130 ms reaches the
	 * budget. */
	busy(1, 10, T);
	CHECK_EQ(adv(MS(110)), MS(120));
	busy(1, 11, T);
	CHECK_EQ(adv(MS(120)), MS(130));
	EXPECT_NONE();
	busy(1, 12, T);
	CHECK_EQ(adv(MS(130)), MS(140));
	EXPECT(THR(1));
	CHECK_EQ(adv(MS(150)), MS(160));
	CHECK_EQ(used(1), MS(50));
	CHECK_EQ(adv(MS(200)), MS(210));
	EXPECT(UNTHR(1));
	CHECK_EQ(used(1), MS(20));
	/* 8 ticks run, 8 billed; the last busy tick ended at 130 ms. */
	CHECK_EQ(billed(1), MS(80));
	CHECK_EQ(bill_client_of(&g, 1)->last_busy_ns, MS(130));
	/* Idle: the debt (20 ms) was all it used in that window, so 10 ms
	 * of its budget went unused: carried as credit, once. */
	CHECK_EQ(adv(MS(300)), MS(310));
	CHECK_EQ(used(1), -MS(10));
	EXPECT_NONE();
	/* Idle a whole window: nothing used, no credit. */
	CHECK_EQ(adv(MS(400)), MS(410));
	CHECK_EQ(used(1), 0);
	EXPECT_NONE();
}

static void test_shared_tick(void)
{
	setup(0, 0);
	add(1, 0);
	add(2, 0);
	add(3, 0);
	/* Tick 0: two busy all along: half each. */
	busy(1, 0, T);
	busy(2, 0, T);
	/* Tick 1: 10 ms and 5 ms: 2/3 and 1/3 of the tick, rounded down. */
	busy(1, 1, T);
	busy(2, 1, MS(5));
	/* Tick 2: three busy: a third each, 1 ns of the tick unbilled. */
	busy(1, 2, T);
	busy(2, 2, T);
	busy(3, 2, T);
	/* Tick 3: 3 + 4 ms < the tick: face value. */
	busy(1, 3, MS(3));
	busy(2, 3, MS(4));
	/* Tick 4: two reports of 6 ms add up, capped at the tick. */
	busy(1, 4, MS(6));
	busy(1, 4, MS(6));
	busy(2, 4, 0);
	/* Tick 5: capped at the tick, then shared: 10 + 10 ms, half each. */
	busy(1, 5, MS(6));
	busy(1, 5, MS(6));
	busy(2, 5, T);
	CHECK_EQ(adv(MS(30)), MS(40));
	CHECK_EQ(billed(1), MS(5));
	CHECK_EQ(billed(2), MS(5));
	CHECK_EQ(adv(MS(40)), MS(50));
	CHECK_EQ(billed(1), MS(5) + 6666666);
	CHECK_EQ(billed(2), MS(5) + 3333333);
	CHECK_EQ(adv(MS(50)), MS(60));
	CHECK_EQ(billed(1), MS(5) + 6666666 + 3333333);
	CHECK_EQ(billed(2), MS(5) + 3333333 + 3333333);
	CHECK_EQ(billed(3), 3333333);
	CHECK_EQ(adv(MS(60)), MS(70));
	CHECK_EQ(billed(1), MS(8) + 6666666 + 3333333);
	CHECK_EQ(billed(2), MS(9) + 3333333 + 3333333);
	CHECK_EQ(adv(MS(70)), MS(80));
	CHECK_EQ(billed(1), MS(18) + 6666666 + 3333333);
	CHECK_EQ(billed(2), MS(9) + 3333333 + 3333333);
	CHECK_EQ(adv(MS(80)), MS(90));
	CHECK_EQ(billed(1), MS(23) + 6666666 + 3333333);
	CHECK_EQ(billed(2), MS(14) + 3333333 + 3333333);
	/* Unlimited: nothing to throttle, whatever they use. */
	EXPECT_NONE();
	CHECK_EQ(used(1), billed(1));
	/* Only the last busy tick counts for activity; 0 is not busy. */
	CHECK_EQ(bill_client_of(&g, 1)->last_busy_ns, MS(60));
	CHECK_EQ(bill_client_of(&g, 2)->last_busy_ns, MS(60));
	CHECK_EQ(bill_client_of(&g, 3)->last_busy_ns, MS(30));
	/* An unlimited client owes nothing at a window. */
	CHECK_EQ(adv(MS(100)), MS(110));
	CHECK_EQ(used(1), 0);
	CHECK_EQ(used(2), 0);
}

/* Reports after the close: billed at face value, at once, into the window
 * of the moment; the throttle they cause comes with the next call. */
static void test_late_reports(void)
{
	setup(0, 0);
	add(1, 30);
	add(2, 0);
	busy(1, 0, T);
	busy(2, 0, T);
	CHECK_EQ(adv(MS(30)), MS(40));
	CHECK_EQ(used(1), MS(5));
	/* Client 1 reports 4 more ms of tick 0, now closed: face value. */
	busy(1, 0, MS(4));
	CHECK_EQ(used(1), MS(9));
	CHECK_EQ(billed(1), MS(9));
	/* Several late reports for one tick are not capped at the tick (its
	 * earlier reports are gone): each is within the tick, though. */
	busy(1, 0, T);
	CHECK_EQ(used(1), MS(19));
	CHECK_EQ(adv(MS(60)), MS(70)); /* ticks 1..3 closed, nobody busy */
	EXPECT_NONE();
	busy(1, 3, T); /* tick 3 is closed now: 29 ms */
	CHECK_EQ(throttled(1), 0);
	busy(1, 4, MS(1)); /* tick 4 is open: pending */
	CHECK_EQ(used(1), MS(29));
	busy(1, 2, MS(1)); /* closed: 30 ms, at the budget */
	CHECK_EQ(throttled(1), 0);
	CHECK_EQ(adv(MS(60)), MS(70));
	EXPECT(THR(1));
	CHECK_EQ(adv(MS(70)), MS(80));
	CHECK_EQ(used(1), MS(31));
	/* A late report of a past window's tick counts in this one; its busy
	 * time moves the last busy time only forward. */
	CHECK_EQ(bill_client_of(&g, 1)->last_busy_ns, MS(50));
	busy(1, 1, MS(2));
	CHECK_EQ(bill_client_of(&g, 1)->last_busy_ns, MS(50));
	CHECK_EQ(used(1), MS(33));
}

static void test_invalid_reports(void)
{
	setup(0, 0);
	add(1, 30);
	CHECK_EQ(bill_report(&g, 2, 0, T), -1); /* unknown client */
	CHECK_EQ(bill_report(&g, 1, 0, -1), -1);
	CHECK_EQ(bill_report(&g, 1, 0, T + 1), -1);
	CHECK_EQ(bill_report(&g, 1, -1, T), -1);
	CHECK_EQ(bill_report(&g, 1, INT64_MAX, T), -1);
	CHECK_EQ(bill_report(&g, 1, INT64_MAX / T, T), -1); /* no close */
	CHECK_EQ(bill_report(&g, 1, 0, 0), 0);              /* fine: idle */
	CHECK_EQ(bill_report(&g, 1, 0, T), 0);
	/* Tick 8 would share tick 0's slot while tick 0 is open. */
	CHECK_EQ(bill_report(&g, 1, BILL_PENDING_TICKS, T), -1);
	CHECK_EQ(bill_report(&g, 1, 7, T), 0);
	/* Nothing recorded by the refused ones. */
	CHECK_EQ(adv(MS(30)), MS(40));
	CHECK_EQ(used(1), MS(10));
	CHECK_EQ(bill_report(&g, 1, BILL_PENDING_TICKS, T), 0); /* free */
	CHECK_EQ(adv(MS(200)), MS(210));
	CHECK_EQ(billed(1), MS(30));
	CHECK_EQ(bill_client_of(&g, 1)->last_busy_ns, MS(90));
}

/* A tick that closes at a window boundary is billed into the new window;
 * one that closed before it belongs to the old one. */
static void test_close_at_boundary(void)
{
	setup(0, 0);
	add(1, 30);
	busy(1, 6, T); /* closes at 90 ms */
	busy(1, 7, T); /* closes at 100 ms, with the boundary */
	CHECK_EQ(adv(MS(99)), MS(100));
	CHECK_EQ(used(1), MS(10));
	CHECK_EQ(adv(MS(100)), MS(110));
	/* Tick 6's 10 ms left 20 ms of the budget unused: carried as credit
	 * (at most BILL_CREDIT_TICKS ticks), then tick 7 billed on top. */
	CHECK_EQ(used(1), -MS(10));
	CHECK_EQ(billed(1), MS(20));
	CHECK_EQ(g.window_start_ns, MS(100));
	EXPECT_NONE();
}

/* Unused budget is carried only up to BILL_CREDIT_TICKS ticks, and only by
 * a client that used something. */
static void test_credit_cap(void)
{
	setup(0, 0);
	add(1, 50);
	busy(1, 0, T); /* closes at 30 ms: 10 ms of the 50 ms budget */
	CHECK_EQ(adv(MS(99)), MS(100));
	CHECK_EQ(used(1), MS(10));
	CHECK_EQ(adv(MS(100)), MS(110));
	CHECK_EQ(used(1), -BILL_CREDIT_TICKS * T); /* 40 unused, 30 kept */
	EXPECT_NONE();
	/* Then idle: the credit is not renewed. */
	CHECK_EQ(adv(MS(200)), MS(210));
	CHECK_EQ(used(1), 0);
	/* A burst after the idle window has its plain 50 ms: throttled when
	 * tick 24 closes (at 270 ms, 50 ms billed). */
	for (int64_t k = 20; k < 27; k++)
		busy(1, k, T);
	CHECK_EQ(adv(MS(269)), MS(270));
	EXPECT_NONE();
	CHECK_EQ(adv(MS(270)), MS(280));
	EXPECT(THR(1));
	CHECK_EQ(used(1), MS(50));
}

/* --- limits --------------------------------------------------------------- */

static void test_scaling(void)
{
	setup(0, 0);
	add(1, 80);
	add(2, 80);
	add(3, 0);
	/* Nobody active: each counts only itself. */
	CHECK(pct_is(1, 0, 80.0));
	CHECK(pct_is(2, 0, 80.0));
	CHECK(pct_is(3, 0, 0.0));
	/* 1 and 2 busy all along: from the first close both are active,
	 * 80 + 80 -> 50 + 50, and they split every tick. */
	for (int64_t k = 0; k < 17; k++) {
		busy(1, k, T);
		busy(2, k, T);
		adv((k + 1) * T);
		EXPECT_NONE();
		if (k == 2) {
			CHECK(pct_is(1, MS(30), 50.0));
			CHECK(pct_is(2, MS(30), 50.0));
		}
	}
	/* Ticks 0..6 closed in the first window: 35 ms each, 15 ms of the
	 * 50 ms budget unused and carried as credit. Ticks 7..14 since: 40 ms
	 * each, so 25 ms now. */
	CHECK_EQ(used(1), MS(25));
	CHECK_EQ(used(2), MS(25));
	busy(1, 17, T);
	busy(2, 17, T);
	CHECK_EQ(adv(MS(180)), MS(190));
	EXPECT_NONE();
	/* Ticks 15 and 16 bring both to 35 ms, under their 50 ms. */
	CHECK_EQ(adv(MS(190)), MS(200));
	EXPECT_NONE();
	CHECK_EQ(used(1), MS(35));
	CHECK_EQ(adv(MS(200)), MS(210));
	EXPECT_NONE();
	/* 15 ms of credit, then tick 17 (closing with the boundary). */
	CHECK_EQ(used(1), -MS(10));
	/* The unlimited client is no part of the sum. */
	busy(3, 20, T);
	CHECK_EQ(adv(MS(230)), MS(240));
	CHECK(pct_is(1, MS(230), 50.0));
	CHECK(pct_is(3, MS(230), 0.0));

	/* 30 + 60 = 90: nothing to scale. */
	setup(0, 0);
	add(1, 30);
	add(2, 60);
	busy(1, 0, T);
	busy(2, 0, T);
	adv(MS(30));
	CHECK(pct_is(1, MS(30), 30.0));
	CHECK(pct_is(2, MS(30), 60.0));

	/* 60 + 60 + 30 = 150: two thirds each. */
	setup(0, 0);
	add(1, 60);
	add(2, 60);
	add(3, 30);
	busy(1, 0, T);
	busy(2, 0, T);
	busy(3, 0, T);
	adv(MS(30));
	CHECK(pct_is(1, MS(30), 40.0));
	CHECK(pct_is(2, MS(30), 40.0));
	CHECK(pct_is(3, MS(30), 20.0));
}

/* An unlimited client is never throttled, whatever it uses. */
static void test_unlimited(void)
{
	setup(0, 0);
	add(1, 0);
	for (int64_t k = 0; k < 40; k++) {
		busy(1, k, T);
		adv((k + 1) * T);
		EXPECT_NONE();
	}
	CHECK_EQ(billed(1), MS(380));
	CHECK_EQ(used(1), MS(10)); /* tick 37 closed after the boundary */
	CHECK_EQ(throttled(1), 0);
}

/* A limited client idle for BILL_ACTIVE_WINDOWS windows no longer counts
 * for scaling: the others' shares grow, and one throttled with its budget
 * now unused goes at once. */
static void test_active(void)
{
	setup(0, 0);
	add(1, 80);
	add(2, 80);
	CHECK_EQ(adv(MS(190)), MS(200));
	/* Client 2 was busy in tick 0 only (a late report: face value, and
	 * its last busy time is 10 ms). Client 1 owes 120 ms. */
	busy(2, 0, T);
	for (int64_t k = 0; k < 12; k++)
		busy(1, k, T);
	CHECK_EQ(adv(MS(190)), MS(200));
	EXPECT(THR(1));
	CHECK(pct_is(1, MS(190), 50.0));
	/* The boundary: 70 ms of debt, over the 50 ms budget. */
	CHECK_EQ(adv(MS(200)), MS(210));
	EXPECT_NONE();
	CHECK_EQ(used(1), MS(70));
	CHECK(pct_is(1, MS(210), 50.0));
	CHECK_EQ(adv(MS(210)), MS(220));
	EXPECT_NONE();
	/* Client 2 last busy at 10 ms: not active after 210 ms. */
	CHECK(pct_is(1, MS(211), 80.0));
	/* An idle client's share counts itself beside the active ones. */
	CHECK(pct_is(2, MS(211), 50.0));
	CHECK_EQ(adv(MS(220)), MS(230));
	EXPECT(UNTHR(1)); /* 70 < 80 ms */

	/* A late report for an old tick bills a client that is not active:
	 * throttled, it is active, and the others' shares shrink in the same
	 * call. */
	setup(0, 0);
	add(1, 80);
	add(2, 80);
	CHECK_EQ(adv(MS(550)), MS(560));
	for (int64_t k = 47; k < 53; k++)
		busy(1, k, T); /* 60 ms; last busy at 530 ms: active */
	for (int64_t k = 0; k < 6; k++)
		busy(2, k, T); /* 60 ms; last busy at 60 ms: not active */
	CHECK(pct_is(1, MS(550), 80.0));
	CHECK(pct_is(2, MS(550), 50.0));
	CHECK_EQ(adv(MS(550)), MS(560));
	EXPECT(THR(2), THR(1));
	CHECK(pct_is(1, MS(550), 50.0));

	/* A client that was never busy never counts. */
	setup(0, 0);
	add(1, 80);
	add(2, 80);
	busy(1, 0, T);
	adv(MS(30));
	CHECK(pct_is(1, MS(30), 80.0));
	CHECK(pct_is(2, MS(30), 50.0));
}

static void test_set_limit(void)
{
	setup(0, 0);
	add(1, 30);
	adv(MS(50));
	busy(1, 0, T);
	busy(1, 1, T);
	busy(1, 2, T);
	CHECK_EQ(adv(MS(50)), MS(60));
	EXPECT(THR(1));
	/* Higher: the budget (50 ms) is not used up: let go at once. */
	bill_set_limit(&g, 1, 50, MS(55), &out);
	EXPECT(UNTHR(1));
	/* Lower: 20 ms are already used: throttled at once. */
	bill_set_limit(&g, 1, 20, MS(56), &out);
	EXPECT(THR(1));
	bill_set_limit(&g, 1, 20, MS(56), &out);
	EXPECT_NONE();
	/* None: let go at once; what it uses still counts in the window. */
	bill_set_limit(&g, 1, 0, MS(57), &out);
	EXPECT(UNTHR(1));
	CHECK_EQ(bill_client_of(&g, 1)->limit_pct, 0);
	busy(1, 3, T);
	CHECK_EQ(adv(MS(60)), MS(70));
	EXPECT_NONE();
	CHECK_EQ(used(1), MS(40));
	/* Limited again, below what it used: throttled at once. */
	bill_set_limit(&g, 1, 25, MS(61), &out);
	EXPECT(THR(1));
	bill_set_limit(&g, 1, 100, MS(62), &out); /* 100 %: no limit */
	EXPECT(UNTHR(1));
	CHECK_EQ(bill_client_of(&g, 1)->limit_pct, 0);
	bill_set_limit(&g, 42, 10, MS(62), &out); /* unknown: nothing */
	EXPECT_NONE();
	/* The next window applies the new limit; no debt for unlimited
	 * use. */
	bill_set_limit(&g, 1, 10, MS(63), &out);
	EXPECT(THR(1));
	CHECK_EQ(adv(MS(100)), MS(110));
	CHECK_EQ(used(1), MS(30)); /* 40 - 10 */
	EXPECT_NONE();

	/* A new limit moves the others' shares too. */
	setup(0, 0);
	add(1, 80);
	add(2, 80);
	adv(MS(90));
	busy(1, 0, T);
	busy(2, 0, T);
	for (int64_t k = 1; k < 6; k++)
		busy(1, k, T); /* client 1: 60 ms */
	CHECK_EQ(adv(MS(90)), MS(100));
	EXPECT(THR(1));
	bill_set_limit(&g, 2, 0, MS(91), &out);
	EXPECT(UNTHR(1)); /* 60 < 80 ms */
	bill_set_limit(&g, 2, 90, MS(92), &out);
	/* 80 + 90 = 170: client 1 may have 47 ms; client 2 has 10. */
	EXPECT(THR(1));
	CHECK_EQ(throttled(2), 0);
}

/* A client removed: nothing is said about it; the others' shares grow at
 * the next call, and a throttled one whose grown budget is not used up
 * goes at once rather than at the next window. */
static void test_remove(void)
{
	setup(0, 0);
	add(1, 80);
	add(2, 80);
	adv(MS(90));
	busy(1, 0, T);
	busy(2, 0, T);
	for (int64_t k = 1; k < 6; k++)
		busy(1, k, T);
	CHECK_EQ(adv(MS(90)), MS(100));
	EXPECT(THR(1));
	bill_remove(&g, 2);
	CHECK_EQ(g.n, 1);
	CHECK_EQ(adv(MS(91)), MS(100));
	EXPECT(UNTHR(1));
	CHECK_EQ(used(1), MS(60));

	/* Its open ticks go with it: the others' busy time is billed
	 * against what is left (here at face value). */
	setup(0, 0);
	add(1, 0);
	add(2, 0);
	busy(1, 0, T);
	busy(2, 0, T);
	bill_remove(&g, 2);
	adv(MS(30));
	CHECK_EQ(billed(1), T);
	/* Removing the last client leaves the GPU quiet. */
	bill_remove(&g, 1);
	CHECK_EQ(adv(MS(1000)), MS(1010));
	CHECK_EQ(g.window_start_ns, MS(1000));
}

/* --- windows -------------------------------------------------------------- */

static void test_window_change(void)
{
	setup(0, 0);
	add(1, 30);
	adv(MS(50));
	bill_set_window(&g, MS(195)); /* 200 ms, from the next window */
	CHECK_EQ(g.window_ns, W);
	CHECK_EQ(g.next_window_ns, MS(200));
	busy(1, 0, T);
	busy(1, 1, T);
	busy(1, 2, T);
	busy(1, 3, T);
	busy(1, 4, T);
	CHECK_EQ(adv(MS(70)), MS(80));
	/* Still the 100 ms window: a 30 ms budget. */
	EXPECT(THR(1));
	CHECK_EQ(adv(MS(99)), MS(100));
	CHECK_EQ(adv(MS(100)), MS(110));
	/* 50 - 30 = 20 ms of debt, under the new 60 ms budget. */
	EXPECT(UNTHR(1));
	CHECK_EQ(g.window_start_ns, MS(100));
	CHECK_EQ(g.window_ns, MS(200));
	CHECK_EQ(used(1), MS(20));
	for (int64_t k = 10; k < 14; k++)
		busy(1, k, T);
	CHECK_EQ(adv(MS(150)), MS(160));
	EXPECT_NONE(); /* 50 ms */
	CHECK_EQ(adv(MS(160)), MS(170));
	EXPECT(THR(1)); /* 60 ms at the close of tick 13 */
	/* The window is 200 ms long: no boundary at 200 ms. */
	CHECK_EQ(adv(MS(299)), MS(300));
	EXPECT_NONE();
	CHECK_EQ(adv(MS(300)), MS(310));
	EXPECT(UNTHR(1));
	CHECK_EQ(g.window_start_ns, MS(300));
	/* Back to the default. */
	bill_set_window(&g, 0);
	CHECK_EQ(adv(MS(500)), MS(510));
	CHECK_EQ(g.window_ns, W);
	CHECK_EQ(adv(MS(600)), MS(610));
	CHECK_EQ(g.window_start_ns, MS(600));
}

/* What a client uses beyond its budget carries over, up to
 * BILL_MAX_DEBT_WINDOWS budgets or one window, whichever is more: it then
 * waits until it is paid. */
static void test_debt_cap(void)
{
	setup(0, 0);
	add(1, 10); /* 10 ms a window */
	for (int64_t k = 0; k < 8; k++)
		busy(1, k, T);
	CHECK_EQ(adv(MS(30)), MS(40));
	EXPECT(THR(1));
	CHECK_EQ(adv(MS(99)), MS(100));
	CHECK_EQ(used(1), MS(70));
	/* 60 ms over, all kept (4 budgets are 40 ms, but a window is 100);
	 * tick 7 closes after the boundary. */
	CHECK_EQ(adv(MS(100)), MS(110));
	CHECK_EQ(used(1), MS(70));
	for (int i = 2; i <= 7; i++) {
		CHECK_EQ(adv(MS(100) * i), MS(100) * i + T);
		CHECK_EQ(used(1), MS(10) * (8 - i));
		EXPECT_NONE();
	}
	/* 10 ms left is not under the 10 ms budget; 0 is. */
	CHECK_EQ(adv(MS(800)), MS(810));
	EXPECT(UNTHR(1));
	CHECK_EQ(used(1), 0);
	CHECK_EQ(billed(1), MS(80));
	/* More than a window over: the rest is forgiven. */
	setup(0, 0);
	add(1, 10);
	for (int64_t k = 0; k < 8; k++)
		busy(1, k, T);
	adv(MS(99));
	for (int64_t k = 8; k < 15; k++) /* tick 7 still holds a slot */
		busy(1, k, T);
	CHECK_EQ(adv(MS(199)), MS(200));
	CHECK_EQ(used(1), MS(140)); /* 60 + 10 + 70 */
	CHECK_EQ(adv(MS(200)), MS(210));
	CHECK_EQ(used(1), MS(100)); /* 130 over, one window kept */

	/* The cap counts budgets of the window that starts: 100 -> 200 ms,
	 * 70 ms used of 10: 60 over, within 4 x 20 ms. */
	setup(0, 0);
	add(1, 10);
	for (int64_t k = 0; k < 7; k++)
		busy(1, k, T);
	bill_set_window(&g, MS(200));
	CHECK_EQ(adv(MS(99)), MS(100));
	EXPECT(THR(1));
	CHECK_EQ(adv(MS(100)), MS(110));
	CHECK_EQ(used(1), MS(60));
	/* Paid 20 ms a window: let go at 700 ms. */
	CHECK_EQ(adv(MS(500)), MS(510));
	CHECK_EQ(used(1), MS(20));
	EXPECT_NONE();
	CHECK_EQ(adv(MS(700)), MS(710));
	EXPECT(UNTHR(1));
}

/* --- the out and long gaps ------------------------------------------------ */

static void test_out_full(void)
{
	setup(0, 0);
	for (uint64_t id = 1; id <= 70; id++)
		add(id, 10);
	adv(MS(30));
	/* All 70 busy in tick 0 (late: face value): 70 x 10 = 700 %, each
	 * may have 1.4 ms, each used 10. */
	for (uint64_t id = 1; id <= 70; id++)
		busy(id, 0, T);
	CHECK_EQ(adv(MS(30)), MS(30)); /* full: call again at once */
	CHECK_EQ(out.n, BILL_OUT_MAX);
	for (size_t i = 0; i < out.n; i++) {
		CHECK_EQ(out.a[i].kind, BILL_THROTTLE);
		CHECK_EQ(out.a[i].client, i + 1);
	}
	out.n = 0;
	CHECK_EQ(adv(MS(30)), MS(40));
	CHECK_EQ(out.n, 6);
	for (size_t i = 0; i < out.n; i++)
		CHECK_EQ(out.a[i].client, 65 + i);
	out.n = 0;
	/* Each owes 10 - 1.43 ms (under a window: all kept): paid at 700
	 * ms. A full out across events of one call: the window still
	 * turns, the actions wait their turn. */
	for (int i = 0; i < 60; i++)
		out.a[out.n++] = (struct bill_action){BILL_THROTTLE, 0};
	CHECK_EQ(adv(MS(699)), MS(700));
	CHECK_EQ(out.n, 60);
	CHECK_EQ(adv(MS(700)), MS(700));
	CHECK_EQ(out.n, BILL_OUT_MAX);
	CHECK_EQ(out.a[60].kind, BILL_UNTHROTTLE);
	CHECK_EQ(out.a[60].client, 1);
	CHECK_EQ(out.a[63].client, 4);
	out.n = 0;
	CHECK_EQ(adv(MS(700)), MS(700));
	CHECK_EQ(out.n, BILL_OUT_MAX);
	CHECK_EQ(out.a[0].client, 5);
	CHECK_EQ(out.a[63].client, 68);
	out.n = 0;
	CHECK_EQ(adv(MS(700)), MS(710));
	EXPECT(UNTHR(69), UNTHR(70));
	/* Nobody has been busy for two windows: each counts only itself. */
	CHECK(pct_is(1, MS(705), 10.0));
	busy(1, 70, T);
	CHECK_EQ(adv(MS(730)), MS(740));
	EXPECT(THR(1));
	/* bill_set_limit with no room: done by the next call. */
	for (int i = 0; i < BILL_OUT_MAX; i++)
		out.a[out.n++] = (struct bill_action){BILL_THROTTLE, 0};
	bill_set_limit(&g, 1, 0, MS(731), &out);
	CHECK_EQ(out.n, BILL_OUT_MAX);
	out.n = 0;
	CHECK_EQ(throttled(1), 1);
	CHECK_EQ(adv(MS(731)), MS(740));
	EXPECT(UNTHR(1));
}

/* After a long gap the call crosses every window and tick in a few steps;
 * a hundred years take no longer than an hour. */
static void test_long_gap(void)
{
	const int64_t hour = MS(3600000);
	const int64_t century = 100 * 8766 * hour;

	setup(0, 0);
	for (uint64_t id = 1; id <= BILL_MAX_CLIENTS; id++)
		add(id, id == 1 ? 10 : 0);
	for (int64_t k = 0; k < 8; k++)
		busy(1, k, T);
	busy(2, 0, T);
	/* One call: the debt throttles client 1 and is paid in 5 windows
	 * (capped), the GPU idles for the rest of the hour. */
	CHECK_EQ(adv(hour + MS(5)), hour + MS(10));
	EXPECT(THR(1), UNTHR(1));
	CHECK_EQ(used(1), 0);
	CHECK_EQ(billed(1), MS(75)); /* tick 0 shared with client 2 */
	CHECK_EQ(billed(2), MS(5));
	CHECK_EQ(g.window_start_ns, hour);
	CHECK_EQ(g.next_tick, hour / T - 2);
	/* Reports keep working after the gap. */
	busy(1, hour / T, T);
	CHECK_EQ(adv(hour + MS(30)), hour + MS(40));
	CHECK_EQ(used(1), MS(10));
	EXPECT(THR(1));
	/* A century, with a report pending one day in. */
	busy(2, (hour + MS(86400000)) / T, T);
	CHECK_EQ(adv(century + MS(7)), century + MS(10));
	EXPECT(UNTHR(1));
	CHECK_EQ(billed(2), MS(15));
	CHECK_EQ(g.window_start_ns, century);
	CHECK_EQ(g.next_tick, century / T - 2);
	for (uint64_t id = 1; id <= BILL_MAX_CLIENTS; id++)
		CHECK_EQ(used(id), 0);
}

/* --- random simulation ---------------------------------------------------- */

/*
 * Each scenario is one GPU with 1-8 clients, each limited to one of 10, 25,
 * 30, 50, 60, 75, 80, 90 % or unlimited, and either always busy or busy in
 * stretches of 1-60 ticks with idle gaps of 1-120 ticks, for 10-30 s. The
 * GPU is modelled tick by tick: it time-slices equally among the clients
 * that have work and may run (not throttled, or throttled but still
 * draining the work queued before THROTTLE, for 0-3 ticks), so each gets
 * tick / n of GPU time; each reports the whole tick as busy (it had work on
 * the GPU all along), 0-2 ticks late. bill_advance runs at every tick edge,
 * the deadline it announces. Checked per scenario, shares measured over
 * the whole windows after a 1 s warm-up as GPU time received / wall time:
 *   - every limited client gets at most its effective share (the average
 *     of bill_effective_pct over the ticks) + SIM_POINTS;
 *   - a lone always-busy limited client gets its limit within SIM_POINTS;
 *   - limited clients only, all always busy: each gets its limit (sum <=
 *     100) or its proportional share (sum > 100) within SIM_POINTS for
 *     every window length (SIM_FULL_POINTS_100MS for the default one);
 *   - always-busy unlimited clients (with no idle unlimited one beside)
 *     each get at least an equal part of what the limited clients'
 *     effective shares leave, less SIM_POINTS;
 *   - no client stays throttled longer than its debt can explain
 *     ((BILL_MAX_DEBT_WINDOWS x max(100, sum of limits) / 100 + 3)
 *     windows), and none is throttled once the work stops and the debt is
 *     paid;
 *   - no call bills more than a tick per tick it closes, and in the end
 *     every client was billed what it received (to the ns per tick);
 *   - actions are consistent (no THROTTLE for the unlimited or twice in a
 *     row) and the deadline is the next tick edge.
 */

#define SIM_SCENARIOS 2000
#define SIM_SCENARIOS_LONG 500 /* with a 500 ms window */
#define SIM_CLIENTS 8
#define SIM_POINTS 2.0
/*
 * Why short windows need the credit: a client is throttled only when its
 * ticks close, BILL_GRACE_TICKS + 1 ticks after they start, and its queued
 * work drains after that, so each time it is let go it overshoots its
 * budget by up to 3 + 3 ticks' worth of its part of the GPU. The overshoot
 * is exact debt for that client, but it is time the others did not get in
 * that window. Without carrying unused budget, limits adding up to the
 * whole GPU lost up to 6 points at 100 ms windows (90 % + 10 %: the 90 %
 * client got 80 %); with BILL_CREDIT_TICKS of credit the worst here is
 * about 1 point, so the 100 ms run is held to the same bound as the rest.
 */
#define SIM_FULL_POINTS_100MS 2.0
#define SIM_WARMUP_NS MS(1000)
#define SIM_SEED 0x5eedb111ull

static uint64_t rng_state;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

static int64_t rng_range(int64_t lo, int64_t hi) /* lo..hi inclusive */
{
	return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

enum sim_kind {
	SIM_LONE,    /* one limited client, always busy */
	SIM_FIT,     /* limited clients only, always busy, limits <= 100 */
	SIM_LIMITED, /* limited clients only, always busy, any limits */
	SIM_MIX,     /* anything */
};

struct sim_client {
	uint64_t id;       /* its id in billing */
	uint32_t limit;    /* limit set, 0: none */
	int always;        /* always has work */
	int on;            /* duty cycle: in a busy stretch */
	int64_t left;      /* ticks left in the stretch */
	int throttled;     /* as told by THROTTLE / UNTHROTTLE */
	int drain;         /* ticks of queued work it still runs */
	int64_t since;     /* throttled since */
	int64_t longest;   /* longest throttled stretch */
	double got;        /* GPU time received after the warm-up, ns */
	double got_all;    /* GPU time received, ns */
	double target_sum; /* bill_effective_pct summed over those ticks */
	uint64_t actions;  /* THROTTLE and UNTHROTTLE received */
};

struct sim_report {
	int client;   /* index */
	int64_t tick; /* tick reported */
	int64_t busy; /* busy time in it */
};

/* Reports in flight, by arrival tick modulo 4 (at most 3 ticks ahead). */
struct sim_mail {
	int n;
	struct sim_report r[3 * SIM_CLIENTS];
};

struct sim_worst {
	double over;        /* limited: achieved - effective target, max */
	double lone;        /* |achieved - limit|, lone client */
	double sum_le;      /* |achieved - limit|, limits <= 100 */
	double sum_gt;      /* |achieved - proportional|, limits > 100 */
	double unlim;       /* unlimited: fair part - achieved, max */
	double throttle;    /* longest throttled stretch, in windows */
	double full_points; /* tolerance for full-GPU mixes (see above) */
	double client_s;    /* client-seconds simulated */
	int n_lone, n_le, n_gt, n_unlim, n_limited;
	uint64_t actions; /* THROTTLE + UNTHROTTLE over all scenarios */
	double seconds;   /* simulated */
};

struct sim {
	int64_t window; /* window length */
	int64_t t0;     /* start, a tick edge */
	int64_t ticks;  /* ticks with work */
	int64_t warm;   /* first tick measured: a window's first */
	int64_t end;    /* first tick not measured: a window's first */
	int64_t bound;  /* longest throttle the debt can explain */
	int n;
	enum sim_kind kind;
	struct sim_client c[SIM_CLIENTS];
	struct sim_mail mail[4];
};

static int sim_fail(int scen, const char *what, int64_t t)
{
	check_failed++;
	fprintf(stderr, "simulation: scenario %d: %s (t=%lld ns)\n", scen, what,
	        (long long)t);
	return -1;
}

static void sim_stretch(struct sim_client *c)
{
	c->on = !c->on;
	c->left = c->on ? rng_range(1, 60) : rng_range(1, 120);
}

static const uint32_t sim_limits[] = {0, 10, 25, 30, 50, 60, 75, 80, 90};

/* A limit for client i of s: any, or one that leaves room for the others
 * (at least 10 % each) to keep the sum within 100. */
static uint32_t sim_limit(const struct sim *s, int i, int64_t sum)
{
	int64_t room = 100 - sum - 10 * (s->n - i - 1);
	uint32_t l;

	if (s->kind == SIM_MIX)
		return sim_limits[rng_range(0, 8)];
	do
		l = sim_limits[rng_range(1, 8)];
	while (s->kind == SIM_FIT && l > room);
	return l;
}

static void sim_setup(struct sim *s, int scen, int64_t window)
{
	int64_t r = rng_range(0, 99), sum = 0;

	memset(s, 0, sizeof(*s));
	s->kind = r < 15   ? SIM_LONE
	          : r < 30 ? SIM_FIT
	          : r < 45 ? SIM_LIMITED
	                   : SIM_MIX;
	s->n = s->kind == SIM_LONE  ? 1
	       : s->kind == SIM_MIX ? (int)rng_range(1, SIM_CLIENTS)
	                            : (int)rng_range(2, SIM_CLIENTS);
	s->window = window;
	s->t0 = rng_range(0, 1000000) * T;
	s->ticks = rng_range(MS(10000), MS(30000)) / T;
	/* Shares are promised per window: measure whole windows. */
	s->warm = (SIM_WARMUP_NS + window - 1) / window * window / T;
	s->end = s->ticks * T / window * window / T;
	bill_init(&g, window, s->t0);
	for (int i = 0; i < s->n; i++) {
		struct sim_client *c = &s->c[i];

		c->id = 1000 + (uint64_t)scen * 16 + (uint64_t)i;
		c->limit = sim_limit(s, i, sum);
		c->always = s->kind != SIM_MIX || rng_range(0, 1);
		if (!c->always) {
			c->on = (int)rng_range(0, 1);
			sim_stretch(c);
		}
		sum += c->limit;
		CHECK_EQ(bill_add(&g, c->id, c->limit), 0);
	}
	if (sum < 100)
		sum = 100;
	s->bound = (BILL_MAX_DEBT_WINDOWS * sum / 100 + 3) * window;
}

static int sim_apply(struct sim *s, int scen, int64_t t)
{
	for (size_t i = 0; i < out.n; i++) {
		struct sim_client *c = NULL;

		for (int j = 0; j < s->n; j++)
			if (s->c[j].id == out.a[i].client)
				c = &s->c[j];
		if (!c)
			return sim_fail(scen, "action for an unknown client",
			                t);
		c->actions++;
		if (out.a[i].kind == BILL_THROTTLE) {
			if (c->throttled || !c->limit)
				return sim_fail(scen, "THROTTLE out of turn",
				                t);
			c->throttled = 1;
			c->drain = (int)rng_range(0, 3);
			c->since = t;
		} else {
			if (!c->throttled)
				return sim_fail(scen, "UNTHROTTLE out of turn",
				                t);
			c->throttled = 0;
			c->drain = 0;
			if (t - c->since > c->longest)
				c->longest = t - c->since;
		}
	}
	out.n = 0;
	for (int j = 0; j < s->n; j++) {
		struct sim_client *c = &s->c[j];

		if (c->throttled != bill_client_of(&g, c->id)->throttled)
			return sim_fail(scen, "throttle state differs", t);
		if (c->throttled && t - c->since > s->bound)
			return sim_fail(scen, "throttled past its debt", t);
	}
	return 0;
}

static uint64_t billed_total(const struct sim *s)
{
	uint64_t sum = 0;

	for (int j = 0; j < s->n; j++)
		sum += bill_client_of(&g, s->c[j].id)->billed_ns;
	return sum;
}

/* Tick m: reports arrive, billing runs, the GPU runs the tick. */
static int sim_tick(struct sim *s, int scen, int64_t m)
{
	int64_t t = s->t0 + m * T, next_tick = g.next_tick, dl;
	struct sim_mail *mail = &s->mail[m % 4];
	uint64_t before;
	int run[SIM_CLIENTS], nrun = 0;

	for (int i = 0; i < mail->n; i++)
		if (bill_report(&g, s->c[mail->r[i].client].id, mail->r[i].tick,
		                mail->r[i].busy))
			return sim_fail(scen, "report refused", t);
	mail->n = 0;
	before = billed_total(s);
	dl = bill_advance(&g, t, &out);
	if (dl != t + T)
		return sim_fail(scen, "deadline is not the next tick edge", t);
	if (billed_total(s) - before >
	    (uint64_t)((g.next_tick - next_tick) * T))
		return sim_fail(scen, "billed more than the ticks closed", t);
	if (sim_apply(s, scen, t))
		return -1;
	for (int j = 0; j < s->n; j++) {
		struct sim_client *c = &s->c[j];
		int wants = m < s->ticks && (c->always || c->on);

		if (!wants)
			c->drain = 0;
		if (wants && (!c->throttled || c->drain > 0))
			run[nrun++] = j;
		if (c->throttled && c->drain > 0)
			c->drain--;
		if (!c->always && --c->left <= 0)
			sim_stretch(c);
		if (m >= s->warm && m < s->end)
			c->target_sum += bill_effective_pct(&g, c->id, t);
	}
	for (int i = 0; i < nrun; i++) {
		struct sim_client *c = &s->c[run[i]];
		int64_t d = rng_range(0, 2);
		struct sim_mail *to = &s->mail[(m + 1 + d) % 4];

		c->got_all += (double)T / nrun;
		if (m >= s->warm && m < s->end)
			c->got += (double)T / nrun;
		to->r[to->n++] = (struct sim_report){
		    .client = run[i],
		    .tick = t / T,
		    .busy = T,
		};
	}
	return 0;
}

static double maxd(double a, double b)
{
	return a > b ? a : b;
}

static double absd(double a)
{
	return a < 0 ? -a : a;
}

/* The shares promised, checked once the scenario has run. */
static int sim_judge(const struct sim *s, int scen, struct sim_worst *w)
{
	double wall = (double)((s->end - s->warm) * T);
	double measured = (double)(s->end - s->warm), left = 100.0;
	int64_t sum = 0;
	int all_busy = 1, nunlim = 0, idle_unlim = 0, failed = 0;

	for (int j = 0; j < s->n; j++) {
		const struct sim_client *c = &s->c[j];

		sum += c->limit;
		all_busy &= c->always;
		if (!c->limit) {
			nunlim++;
			idle_unlim |= !c->always;
		} else {
			left -= c->target_sum / measured;
		}
	}
	for (int j = 0; j < s->n; j++) {
		const struct sim_client *c = &s->c[j];
		double got = 100.0 * c->got / wall;
		double target = c->target_sum / measured, e;

		w->throttle =
		    maxd(w->throttle, (double)c->longest / (double)s->window);
		w->actions += c->actions;
		if (!c->limit) {
			if (idle_unlim)
				continue;
			e = (left > 0 ? left : 0) / nunlim - got;
			w->unlim = maxd(w->unlim, e);
			w->n_unlim++;
			if (e > SIM_POINTS)
				failed = sim_fail(scen, "unlimited starved", 0);
			continue;
		}
		w->n_limited++;
		w->over = maxd(w->over, got - target);
		if (got > target + SIM_POINTS)
			failed = sim_fail(scen, "limited over its share", 0);
		if (!all_busy || nunlim)
			continue;
		if (s->n == 1) {
			e = absd(got - c->limit);
			w->lone = maxd(w->lone, e);
			w->n_lone++;
		} else if (sum <= 100) {
			e = absd(got - c->limit);
			w->sum_le = maxd(w->sum_le, e);
			w->n_le++;
		} else {
			e = absd(got - 100.0 * c->limit / (double)sum);
			w->sum_gt = maxd(w->sum_gt, e);
			w->n_gt++;
		}
		if (e > (s->n == 1 ? SIM_POINTS : w->full_points)) {
			fprintf(stderr,
			        "simulation: scenario %d: client %d (limit %u, "
			        "%d clients, sum %lld, window %lld ms) got "
			        "%.2f %%\n",
			        scen, j, c->limit, s->n, (long long)sum,
			        (long long)(s->window / MS(1)), got);
			failed = sim_fail(scen, "share off its limit", 0);
		}
	}
	return failed;
}

static int sim_scenario(int scen, int64_t window, struct sim_worst *w)
{
	static struct sim s;
	int64_t m;

	rng_state = SIM_SEED + (uint64_t)scen * 0x9e3779b97f4a7c15ull;
	sim_setup(&s, scen, window);
	/* The work, then time for the last reports, closes and debts. */
	for (m = 0; m < s.ticks + s.bound / T + 2 * BILL_GRACE_TICKS; m++)
		if (sim_tick(&s, scen, m))
			return -1;
	w->seconds += (double)(s.ticks * T) / 1e9;
	w->client_s += (double)(s.ticks * T) / 1e9 * s.n;
	for (int j = 0; j < s.n; j++) {
		const struct sim_client *c = &s.c[j];
		double b = (double)bill_client_of(&g, c->id)->billed_ns;

		if (c->throttled)
			return sim_fail(scen, "throttled after the work", 0);
		if (b > c->got_all || b < c->got_all - (double)m)
			return sim_fail(scen, "billed differs from received",
			                0);
	}
	return sim_judge(&s, scen, w);
}

static void sim_run(const char *name, int64_t window, int scenarios,
                    double full_points)
{
	struct sim_worst w;
	int failed = 0;

	memset(&w, 0, sizeof(w));
	w.full_points = full_points;
	for (int scen = 0; scen < scenarios; scen++)
		failed |= sim_scenario(scen, window, &w) != 0;
	CHECK_EQ(failed, 0);
	printf("simulation %s: %d scenarios, window %lld ms, %.0f s "
	       "simulated; worst errors in points (clients): limited over "
	       "its effective share %+.2f (%d), lone client off its limit "
	       "%.2f (%d), limits <= 100 off the limit %.2f (%d), limits > "
	       "100 off the proportional share %.2f (%d) [bound %.0f], "
	       "unlimited short of its part %.2f (%d); longest throttle %.1f "
	       "windows; %.1f actions per client-second\n",
	       name, scenarios, (long long)(window / MS(1)), w.seconds, w.over,
	       w.n_limited, w.lone, w.n_lone, w.sum_le, w.n_le, w.sum_gt,
	       w.n_gt, full_points, w.unlim, w.n_unlim, w.throttle,
	       (double)w.actions / w.client_s);
}

static void test_random_simulation(void)
{
	sim_run("default", W, SIM_SCENARIOS, SIM_FULL_POINTS_100MS);
	sim_run("long", MS(500), SIM_SCENARIOS_LONG, SIM_POINTS);
}

/* --- the owners' shares under random churn ------------------------------ */

#define EVICT_OWNERS 5

/* When c last worked, its open ticks included. */
static int64_t ref_latest_busy(const struct bill_client *c)
{
	int64_t t = c->last_busy_ns;

	for (int k = 0; k < BILL_PENDING_TICKS; k++)
		if (c->pending[k].tick >= 0 && c->pending[k].busy_ns > 0 &&
		    (c->pending[k].tick + 1) * BILL_TICK_NS > t)
			t = (c->pending[k].tick + 1) * BILL_TICK_NS;
	return t;
}

/* The entry a newcomer of `owner` should take from a full table at now,
 * by the rule as billing.h states it, worked out here the plain way:
 * candidates are unlimited clients and limited ones neither throttled
 * nor busy within two windows, of owners holding two more than owner;
 * unlimited first, then the larger owner, the least recently busy, the
 * latest in the table. 0: none. */
static uint64_t expected_eviction(uint64_t owner, int64_t now)
{
	size_t mine = bill_owned(&g, owner), best_k = 0;
	const struct bill_client *best = NULL;

	if (g.n < BILL_MAX_CLIENTS || mine >= BILL_OWNER_SHARE)
		return 0;
	for (size_t i = 0; i < g.n; i++) {
		const struct bill_client *c = &g.clients[i];
		size_t k = bill_owned(&g, c->owner);
		int idle =
		    !c->throttled && ref_latest_busy(c) < now - 2 * g.window_ns;

		if (c->owner == owner || k < mine + 2 ||
		    (c->limit_pct && !idle))
			continue;
		if (best && !c->limit_pct != !best->limit_pct) {
			if (c->limit_pct)
				continue;
		} else if (best && k != best_k) {
			if (k < best_k)
				continue;
		} else if (best && ref_latest_busy(c) > ref_latest_busy(best)) {
			continue;
		}
		best = c;
		best_k = k;
	}
	return best ? best->id : 0;
}

/* Random registrations (owner 1 past its share, 2 heavy, 3..5 light),
 * departures,
 * busy ticks of limited and unlimited clients and time passing: every
 * eviction is the one the rule names, the table and each owner's share
 * are never overrun, and both evictions and refusals happen. */
static void test_eviction_random(void)
{
	static const uint64_t owner_of_roll[12] = {1, 1, 1, 1, 1, 1,
	                                           1, 2, 2, 3, 4, 5};
	uint64_t next_id = 1;
	int64_t now = 0;
	int evictions = 0, limited_evictions = 0, refused = 0,
	    share_refused = 0;

	rng_state = SIM_SEED ^ 0xe51cull;
	setup(0, 0);
	for (int step = 0; step < 60000; step++) {
		uint64_t roll = rng() % 100;

		if (roll < 55) {
			uint64_t owner = owner_of_roll[rng() % 12], gone = 0;
			uint64_t want = expected_eviction(owner, now);
			const struct bill_client *w = bill_client_of(&g, want);
			int want_limited = w && w->limit_pct;
			size_t full = g.n == BILL_MAX_CLIENTS;
			int rc = bill_add_evicting(
			    &g, next_id, owner, rng() % 2 ? 20 : 0,
			    BILL_OWNER_SHARE, now, &gone);

			CHECK_EQ(gone, want);
			if (gone) {
				evictions++;
				limited_evictions += want_limited;
				CHECK(bill_client_of(&g, gone) == NULL);
			}
			CHECK_EQ(rc == 0, bill_client_of(&g, next_id) != NULL);
			if (rc == -1) {
				CHECK(full);
				refused++;
			}
			share_refused += rc == -2;
			next_id++;
		} else if (roll < 85) {
			if (g.n)
				bill_remove(&g, g.clients[rng() % g.n].id);
		} else {
			/* A few clients busy in the current tick, then time. */
			for (int k = 0; k < 8 && g.n; k++)
				bill_report(&g, g.clients[rng() % g.n].id,
				            now / BILL_TICK_NS,
				            BILL_TICK_NS / 2);
			now += BILL_TICK_NS;
			out.n = 0;
			bill_advance(&g, now, &out);
		}
		if (g.n > BILL_MAX_CLIENTS)
			CHECK(!"table overrun");
		for (uint64_t o = 1; o <= EVICT_OWNERS; o++)
			if (bill_owned(&g, o) > BILL_OWNER_SHARE)
				CHECK(!"an owner's share overrun");
	}
	printf("eviction churn: %d evictions (%d of limited clients), %d "
	       "refused (table full), %d refused (share used), %zu entries at "
	       "the end\n",
	       evictions, limited_evictions, refused, share_refused, g.n);
	CHECK(evictions > 100);
	CHECK(limited_evictions > 10);
	CHECK(evictions - limited_evictions > 10);
	CHECK(refused > 100);
	CHECK(share_refused > 50);
}

int main(void)
{
	test_init();
	test_deadlines();
	test_add_remove_lookup();
	test_owner_share_and_eviction();
	test_eviction_spares_active_limited();
	test_single_client();
	test_shared_tick();
	test_late_reports();
	test_invalid_reports();
	test_close_at_boundary();
	test_credit_cap();
	test_scaling();
	test_unlimited();
	test_active();
	test_set_limit();
	test_remove();
	test_window_change();
	test_debt_cap();
	test_out_full();
	test_long_gap();
	test_random_simulation();
	test_eviction_random();
	return check_summary("test_billing");
}
