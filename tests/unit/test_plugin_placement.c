/*
 * test_plugin_placement.c - the preferred allocation (deviceplugin/
 * placement.c) and the pending allocations (pending.c).
 */
#include <string.h>

#include "check.h"
#include "pending.h"
#include "placement.h"

#define GIB (1ull << 30)

static void idle(struct dp_gpu_load *l, int n)
{
	memset(l, 0, sizeof(*l) * (size_t)n);
	for (int i = 0; i < n; i++) {
		l[i].healthy = 1;
		l[i].vcap = 32 * GIB;
	}
}

/* One device per GPU, in GPU order. */
static size_t place1(const struct dp_gpu_load *l, int n)
{
	int gpu[8];
	unsigned char must[8] = {0};
	size_t out[1];

	for (int i = 0; i < n; i++)
		gpu[i] = i;
	CHECK_EQ(dp_place(l, n, gpu, must, (size_t)n, 1, out), 1);
	return out[0];
}

static void test_least_loaded(void)
{
	struct dp_gpu_load l[4];

	idle(l, 4);
	CHECK_EQ(place1(l, 4), 0); /* ties: the lowest index */
	l[0].clients = 2;
	l[1].clients = 1;
	l[2].clients = 1;
	l[3].clients = 1;
	l[1].pending = 1; /* handed out, not started: counts */
	CHECK_EQ(place1(l, 4), 2);
	/* equal counts: the least committed memory, then core limits */
	l[2].committed = 8 * GIB;
	l[3].committed = 4 * GIB;
	CHECK_EQ(place1(l, 4), 3);
	l[2].committed = 4 * GIB;
	l[2].core_sum = 10;
	l[3].core_sum = 30;
	CHECK_EQ(place1(l, 4), 2);
}

static void test_capacity_and_health(void)
{
	struct dp_gpu_load l[3];

	idle(l, 3);
	l[0].committed = 32 * GIB; /* no room under its virtual capacity */
	l[1].clients = 5;
	l[2].clients = 3;
	l[2].healthy = 0;
	CHECK_EQ(place1(l, 3), 1); /* fuller in clients, but room and health */
	l[1].committed = 40 * GIB;
	CHECK_EQ(place1(l, 3), 0); /* the healthy two are full: fewer clients */
	l[2].healthy = 1;
	CHECK_EQ(place1(l, 3), 2); /* the only one with room */
}

static void test_spread_and_must(void)
{
	struct dp_gpu_load l[3];
	/* GPU 0 slots 0,1; GPU 1 slots 0,1; GPU 2 slot 0; a foreign ID */
	int gpu[6] = {0, 0, 1, 1, 2, -1};
	unsigned char must[6] = {0};
	size_t out[6], n;

	idle(l, 3);
	n = dp_place(l, 3, gpu, must, 6, 3, out);
	CHECK_EQ(n, 3);
	CHECK_EQ(gpu[out[0]], 0);
	CHECK_EQ(gpu[out[1]], 1);
	CHECK_EQ(gpu[out[2]], 2);
	/* four: the fourth goes back to the least loaded */
	l[0].clients = 1;
	n = dp_place(l, 3, gpu, must, 6, 4, out);
	CHECK_EQ(n, 4);
	CHECK_EQ(gpu[out[3]], 1);
	/* must-include first, whatever the load */
	l[2].clients = 9;
	must[4] = 1;
	n = dp_place(l, 3, gpu, must, 6, 2, out);
	CHECK_EQ(n, 2);
	CHECK_EQ(out[0], 4);
	CHECK_EQ(gpu[out[1]], 1);
	/* a short offer: what there is; a foreign ID never */
	memset(must, 0, sizeof(must));
	n = dp_place(l, 3, gpu, must, 6, 6, out);
	CHECK_EQ(n, 5);
	for (size_t i = 0; i < n; i++)
		CHECK(gpu[out[i]] >= 0);
}

static void test_pending(void)
{
	struct dp_pending_table t = {0};
	unsigned counts[DP_MAX_GPUS] = {0};
	const char *live[2] = {"a", NULL};
	size_t ended, expired;

	CHECK_EQ(dp_pending_add(&t, "a", 1u << 0, NULL, 0, 0), 0);
	CHECK_EQ(dp_pending_add(&t, "b", 1u << 1, NULL, 0, 0), 0);
	CHECK_EQ(dp_pending_add(&t, "c", (1u << 1) | (1u << 2), NULL, 0, 50),
	         0);
	dp_pending_counts(&t, counts);
	CHECK_EQ(counts[0], 1);
	CHECK_EQ(counts[1], 2);
	CHECK_EQ(counts[2], 1);
	/* "a" shows up: linked, no longer counted (its client counts) */
	dp_pending_refresh(&t, live, 1, 10, 100, &ended, &expired);
	CHECK_EQ(ended, 0);
	CHECK_EQ(expired, 0);
	memset(counts, 0, sizeof(counts));
	dp_pending_counts(&t, counts);
	CHECK_EQ(counts[0], 0);
	CHECK(dp_pending_find(&t, "a") && dp_pending_find(&t, "a")->linked);
	/* "a" gone: the pod ended, dropped at once; "b" expires at 100 */
	dp_pending_refresh(&t, NULL, 0, 100, 100, &ended, &expired);
	CHECK_EQ(ended, 1);
	CHECK_EQ(expired, 1);
	CHECK(!dp_pending_find(&t, "a"));
	CHECK(!dp_pending_find(&t, "b"));
	CHECK(dp_pending_find(&t, "c"));
	dp_pending_refresh(&t, NULL, 0, 149, 100, &ended, &expired);
	CHECK_EQ(expired, 0);
	dp_pending_refresh(&t, NULL, 0, 150, 100, &ended, &expired);
	CHECK_EQ(expired, 1);
	CHECK_EQ(t.n, 0);
	/* growth past the first block */
	for (int i = 0; i < 200; i++)
		CHECK_EQ(dp_pending_add(&t, "x", 1, NULL, 0, 0), 0);
	CHECK_EQ(t.n, 200);
	dp_pending_free(&t);
}

static void test_released(void)
{
	struct dp_pending_table t = {0};
	const char *d1[1] = {"G1::0"}, *d2[2] = {"G1::1", "G2::0"};
	const char *offer[3] = {"G1::5", "G2::0", "G3::0"};

	CHECK_EQ(dp_pending_add(&t, "a", 1, d1, 1, 0), 0);
	CHECK_EQ(dp_pending_add(&t, "b", 3, d2, 2, 0), 0);
	/* G2::0 offered as free: "b"'s pod is gone, seen or not */
	CHECK_EQ(dp_pending_released(&t, offer, 3), 1);
	CHECK(dp_pending_find(&t, "a") && !dp_pending_find(&t, "b"));
	CHECK_EQ(dp_pending_released(&t, offer, 0), 0);
	dp_pending_free(&t);
}

int main(void)
{
	test_least_loaded();
	test_capacity_and_health();
	test_spread_and_must();
	test_pending();
	test_released();
	return check_summary("plugin_placement");
}
