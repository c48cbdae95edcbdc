/*
 * test_gpu_claims.c - what a client may claim (docs/security.md):
 * the node's GPUs and their memory come from NVML (the simulated one,
 * FAKENVML_LIB, dlopen()ed by absolute path) and --gpu-memory, matched
 * without regard to case; swap reports count only when they answer what
 * was asked, and move the bandwidth estimates within physical bounds by a
 * bounded step; one uid takes at most half of a GPU's billing table.
 */
#include <stdint.h>
#include <stdlib.h>

#include "billing.h"
#include "check.h"
#include "gpu_inventory.h"
#include "policy.h"

#define GIB(n) ((uint64_t)(n) << 30)
#define MS(n) ((int64_t)(n)*1000000)

static const char *const UUID1 = "GPU-0000000a-0000-0000-0000-000000000001";
static const char *const UUID1_UPPER =
    "GPU-0000000A-0000-0000-0000-000000000001";
static const char *const UUID2 = "GPU-00000000-0000-0000-0000-000000000002";

static void test_inventory_pure(void)
{
	struct gpu_inventory inv;
	char c[NVS_UUID_SIZE];

	inventory_init(&inv, "/nonexistent/libnvidia-ml.so.1");
	inventory_canonical(UUID1_UPPER, c);
	CHECK_STR(c, UUID1);
	CHECK(inventory_find(&inv, UUID1) == NULL);
	/* An override in upper case is found in lower case and back. */
	CHECK_EQ(inventory_set(&inv, UUID1_UPPER, 0, GIB(4)), 0);
	CHECK(inventory_find(&inv, UUID1) != NULL);
	CHECK(inventory_find(&inv, UUID1_UPPER) == inventory_find(&inv, UUID1));
	CHECK_STR(inventory_find(&inv, UUID1)->uuid, UUID1);
	CHECK_EQ(inventory_capacity(inventory_find(&inv, UUID1)), GIB(4));
	/* The driver's word does not replace the operator's. */
	CHECK_EQ(inventory_set(&inv, UUID1, GIB(16), 0), 0);
	CHECK_EQ(inv.n, 1);
	CHECK_EQ(inventory_capacity(inventory_find(&inv, UUID1)), GIB(4));
	CHECK_EQ(inventory_find(&inv, UUID1)->driver_bytes, GIB(16));
	/* No NVML: the scan says why, the overrides stay. */
	char why[160] = "";
	CHECK_EQ(inventory_scan(&inv, MS(1), why, sizeof(why)), -1);
	CHECK(strstr(why, "cannot load") != NULL);
	CHECK_EQ(inv.n, 1);
	CHECK_EQ(inventory_rescan_due(&inv, MS(2)), 0);
	CHECK_EQ(inventory_rescan_due(&inv, MS(1) + INVENTORY_RESCAN_NS), 1);
	/* Full table. */
	for (int i = 0; inv.n < INVENTORY_MAX_GPUS; i++) {
		char u[NVS_UUID_SIZE];
		snprintf(u, sizeof(u), "GPU-00000000-0000-0000-0001-%012d", i);
		CHECK_EQ(inventory_set(&inv, u, GIB(1), 0), 0);
	}
	CHECK_EQ(inventory_set(&inv, UUID2, GIB(1), 0), -1);
	CHECK_EQ(inventory_set(&inv, UUID1, GIB(1), 0), 0); /* known */
}

static void test_inventory_nvml(void)
{
	struct gpu_inventory inv;
	char why[160] = "";

	setenv("NVSHARE_FAKE_GPUS",
	       "GPU-0000000A-0000-0000-0000-000000000001:16Gi,"
	       "GPU-00000000-0000-0000-0000-000000000002:4Gi",
	       1);
	setenv("NVSHARE_FAKE_STATE", "", 1);
	inventory_init(&inv, FAKENVML_LIB);
	inventory_set(&inv, UUID2, 0, GIB(2));
	CHECK_EQ(inventory_scan(&inv, MS(5), why, sizeof(why)), 2);
	CHECK_EQ(inv.nvml_ok, 1);
	CHECK_EQ(inv.n, 2);
	CHECK(inventory_find(&inv, UUID1) != NULL);
	CHECK_EQ(inventory_capacity(inventory_find(&inv, UUID1)), GIB(16));
	CHECK_STR(inventory_find(&inv, UUID1_UPPER)->uuid, UUID1);
	/* --gpu-memory wins over NVML. */
	CHECK_EQ(inventory_capacity(inventory_find(&inv, UUID2)), GIB(2));
	CHECK_EQ(inventory_find(&inv, UUID2)->driver_bytes, GIB(4));
	CHECK(inventory_find(
	          &inv, "GPU-00000000-0000-0000-0000-000000000003") == NULL);
	/* A second scan (hot-plug) finds nothing new and changes nothing. */
	CHECK_EQ(inventory_scan(&inv, MS(6), why, sizeof(why)), 2);
	CHECK_EQ(inv.n, 2);
	CHECK_EQ(inv.scans, 2);
}

static struct policy_out out;

static void setup(struct policy_gpu *g)
{
	struct policy_settings set = {
	    .mode = POLICY_MODE_AUTO,
	    .slice_ns = POLICY_SLICE_AUTO,
	    .max_run_ns = MS(30000),
	    .grace_ns = MS(100),
	};

	policy_gpu_init(g, GIB(16), &set);
	out.n = 0;
}

/* A client that was asked nothing: every report is unasked; the forged
 * report of the issue (1 MiB in 2^64-1 ns) is refused as implausible even
 * when asked, and moves nothing. */
static void test_swap_unasked(void)
{
	struct policy_gpu g;
	struct policy_slice sl;

	setup(&g);
	policy_register(&g, 1, 0);
	policy_set_footprint(&g, 1, GIB(10), 0, 0, 0, &out);
	policy_request(&g, 1, MS(1), &out);
	CHECK_EQ(
	    policy_swap_check(&g, 1, POLICY_SWAP_OUT, 1u << 20, UINT64_MAX),
	    POLICY_SWAP_UNASKED);
	/* Granted with its memory resident: no swap-in is due either. */
	CHECK_EQ(policy_swap_check(&g, 1, POLICY_SWAP_IN, GIB(1), MS(100)),
	         POLICY_SWAP_UNASKED);
	CHECK_EQ(policy_swap_check(&g, 7, POLICY_SWAP_OUT, GIB(1), MS(100)),
	         POLICY_SWAP_UNASKED);
	/* A waiter needing 10 GiB: 1 is asked to drop with its memory once
	 * its slice (5 x 10 GiB at 8 B/ns, 6.7 s) is over. */
	policy_register(&g, 2, MS(2));
	policy_set_footprint(&g, 2, GIB(10), 0, 0, MS(2), &out);
	out.n = 0;
	policy_request(&g, 2, MS(2), &out);
	CHECK_EQ(policy_member_of(&g, 1)->out_asked, 0);
	policy_tick(&g, MS(7000), &out);
	CHECK_EQ(policy_member_of(&g, 1)->out_asked, 1);
	CHECK_EQ(
	    policy_swap_check(&g, 1, POLICY_SWAP_OUT, 1u << 20, UINT64_MAX),
	    POLICY_SWAP_IMPLAUSIBLE);
	CHECK_EQ(policy_swap_check(&g, 1, POLICY_SWAP_OUT, GIB(11), MS(1000)),
	         POLICY_SWAP_TOO_BIG);
	CHECK_EQ(policy_swap_check(&g, 1, POLICY_SWAP_OUT, GIB(10), 1),
	         POLICY_SWAP_IMPLAUSIBLE);
	CHECK_EQ(policy_swap_check(&g, 1, POLICY_SWAP_OUT, GIB(10), MS(2000)),
	         POLICY_SWAP_ANSWER);
	/* Even passed straight to the policy, the forged sample is no
	 * sample: the estimate and the slice stay. */
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, 1u << 20, UINT64_MAX,
	                   MS(7001), &out);
	CHECK(g.bw_out == POLICY_BW_OUT_DEFAULT);
	CHECK_EQ(g.bw_out_measured, 0);
	CHECK_EQ(policy_member_of(&g, 1)->out_asked, 0);
	/* Answered once: a second report is unasked. */
	CHECK_EQ(policy_swap_check(&g, 1, POLICY_SWAP_OUT, GIB(10), MS(2000)),
	         POLICY_SWAP_UNASKED);
	policy_release(&g, 1, MS(7002), &out);
	/* 2 runs; 1 asks again with its memory on the host, 2 leaves: once
	 * granted, one swap-in is due. */
	out.n = 0;
	policy_request(&g, 1, MS(7003), &out);
	policy_disconnect(&g, 2, MS(7004), &out);
	CHECK_EQ(policy_state_of(&g, 1, &(int64_t){0}), POLICY_HOLDING);
	CHECK_EQ(policy_swap_check(&g, 1, POLICY_SWAP_IN, GIB(10), MS(300)),
	         POLICY_SWAP_ANSWER);
	policy_swap_report(&g, 1, POLICY_SWAP_IN, GIB(10), MS(300), MS(7300),
	                   &out);
	CHECK_EQ(policy_swap_check(&g, 1, POLICY_SWAP_IN, GIB(10), MS(300)),
	         POLICY_SWAP_UNASKED);
	policy_slice_of(&g, &sl);
	CHECK(sl.ns <= MS(30000));
	policy_gpu_destroy(&g);
}

/* Samples move the estimate at most POLICY_BW_STEP away at the weight:
 * 80 reports at the floor take it down gradually, never below the floor,
 * and samples outside the range move nothing. */
static void test_bw_bounds(void)
{
	struct policy_gpu g;
	double before;

	setup(&g);
	policy_register(&g, 1, 0);
	policy_set_footprint(&g, 1, GIB(10), 0, 0, 0, &out);
	/* First sample 0.2 B/ns: clipped to default / 4 = 2 B/ns. */
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(1), (uint64_t)GIB(5),
	                   MS(1), &out);
	CHECK(g.bw_out == POLICY_BW_OUT_DEFAULT / POLICY_BW_STEP);
	before = g.bw_out;
	/* Next: 0.2 B/ns again, clipped to 0.5, a quarter of the way. */
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(1), (uint64_t)GIB(5),
	                   MS(2), &out);
	CHECK(g.bw_out == before + POLICY_BW_WEIGHT * (before / 4 - before));
	for (int i = 0; i < 80; i++)
		policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(1),
		                   (uint64_t)GIB(5), MS(3 + i), &out);
	CHECK(g.bw_out >= 0.2);
	before = g.bw_out;
	/* 3000 B/ns and 0.01 B/ns are not physical: nothing moves. */
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(3), 1u << 20, MS(90),
	                   &out);
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(1), (uint64_t)GIB(100),
	                   MS(91), &out);
	CHECK(g.bw_out == before);
	policy_gpu_destroy(&g);
}

/* A stopped holder: revoked after the grace, then its EVICT times out;
 * its memory stays counted and the waiter waits for memory until the
 * late answer comes. */
static void test_stopped_holder(void)
{
	struct policy_gpu g;
	uint64_t granted = 0;

	setup(&g);
	policy_register(&g, 1, 0);
	policy_set_footprint(&g, 1, GIB(10), 0, 0, 0, &out);
	policy_request(&g, 1, MS(1), &out);
	policy_register(&g, 2, MS(2));
	policy_set_footprint(&g, 2, GIB(10), 0, 0, MS(2), &out);
	policy_request(&g, 2, MS(2), &out);
	for (int64_t t = MS(10); t < MS(10000); t += MS(10)) {
		out.n = 0;
		policy_tick(&g, t, &out);
		for (unsigned i = 0; i < out.n; i++)
			if (out.act[i].kind == POLICY_GRANT &&
			    out.act[i].client == 2)
				granted = 1;
	}
	CHECK_EQ(granted, 0);
	CHECK(g.forced_releases >= 1);
	CHECK(g.evict_timeouts >= 1);
	CHECK_EQ(policy_wait_reason_of(&g, 2), POLICY_WAIT_MEMORY);
	CHECK(policy_resident_bytes(&g) + GIB(10) > GIB(16));
	/* It resumes: its late swap-out is an answer, and 2 is granted. */
	CHECK_EQ(policy_swap_check(&g, 1, POLICY_SWAP_OUT, GIB(10), MS(1000)),
	         POLICY_SWAP_ANSWER);
	out.n = 0;
	policy_swap_report(&g, 1, POLICY_SWAP_OUT, GIB(10), MS(1000), MS(10000),
	                   &out);
	CHECK_EQ(out.n >= 1 && out.act[0].kind == POLICY_GRANT &&
	             out.act[0].client == 2,
	         1);
	policy_gpu_destroy(&g);
}

static void test_billing_share(void)
{
	static struct bill_gpu b;
	uint64_t id = 1;

	bill_init(&b, 0, 0);
	/* One uid: half of the table, then refused with -2. */
	for (; id <= BILL_OWNER_SHARE; id++)
		CHECK_EQ(bill_add_owned(&b, id, 1000, 0, BILL_OWNER_SHARE), 0);
	CHECK_EQ(bill_add_owned(&b, id, 1000, 20, BILL_OWNER_SHARE), -2);
	CHECK_EQ(bill_add_owned(&b, 5, 1000, 0, BILL_OWNER_SHARE),
	         0); /* known */
	/* Another uid still gets in, up to the table. */
	CHECK_EQ(bill_add_owned(&b, 9000, 0, 20, BILL_OWNER_SHARE), 0);
	CHECK(bill_client_of(&b, 9000) != NULL);
	CHECK_EQ(bill_client_of(&b, 9000)->limit_pct, 20);
	for (uint64_t u = 1; b.n < BILL_MAX_CLIENTS; u++)
		CHECK_EQ(bill_add_owned(&b, 10000 + u, (uint32_t)u, 0,
		                        BILL_OWNER_SHARE),
		         0);
	CHECK_EQ(bill_add_owned(&b, 20000, 77, 20, BILL_OWNER_SHARE), -1);
	/* A freed entry of the uid makes room for it again. */
	bill_remove(&b, 3);
	CHECK_EQ(bill_add_owned(&b, id, 1000, 20, BILL_OWNER_SHARE), 0);
}

int main(void)
{
	test_inventory_pure();
	test_inventory_nvml();
	test_swap_unasked();
	test_bw_bounds();
	test_stopped_holder();
	test_billing_share();
	return check_summary("test_gpu_claims");
}
