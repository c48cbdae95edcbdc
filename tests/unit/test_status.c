/*
 * test_status.c - the scheduler's pure helpers around the policy: status
 * rendering (the JSON contract with nvsharectl, byte for byte, with the
 * memory fields of auto mode, and the human table), JSON string escaping, the
 * registry (client lookup, GPU context limits), and the control permission
 * rules.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "perm.h"
#include "registry.h"
#include "status.h"

#define MS(x) ((int64_t)(x)*1000000)
#define UUID_A "GPU-00000000-0000-0000-0000-000000000001"
#define UUID_B "GPU-00000000-0000-0000-0000-000000000002"

static void check_escape(const char *in, const char *want)
{
	struct status_buf b = {0};

	status_json_string(&b, in);
	CHECK_STR(b.p, want);
	status_buf_free(&b);
}

static void test_json_escape(void)
{
	check_escape("", "\"\"");
	check_escape("plain", "\"plain\"");
	check_escape("a\"b\\c", "\"a\\\"b\\\\c\"");
	check_escape("tab\there\nnl\x01\x1f\x7f",
	             "\"tab\\u0009here\\u000anl\\u0001\\u001f\\u007f\"");
	/* Valid UTF-8 passes through. */
	check_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	             "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* Invalid bytes become U+FFFD, one per byte. */
	check_escape("a\xff"
	             "b",
	             "\"a\\ufffdb\"");
	check_escape("\xc3", "\"\\ufffd\"");            /* truncated */
	check_escape("\xc0\xaf", "\"\\ufffd\\ufffd\""); /* overlong */
	check_escape("\xed\xa0\x80",
	             "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
	check_escape("\xf4\x90\x80\x80",
	             "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
}

/* Two GPUs in serial mode, three clients: 1 holds A with 2 waiting for
 * its turn; 3 idle on B. */
static void build(struct sched_registry *r)
{
	struct policy_out out = {.n = 0};
	struct sched_gpu *a, *b;
	struct sched_client *c1, *c2, *c3;

	registry_init(r, 2000, 5000);
	r->mode = POLICY_MODE_SERIAL;
	a = registry_gpu_add(r, UUID_A, 16ull << 30);
	b = registry_gpu_add(r, UUID_B, 4ull << 30);
	c1 = registry_client_new(r);
	c2 = registry_client_new(r);
	c3 = registry_client_new(r);
	c1->pid = 100;
	c1->uid = 1000;
	snprintf(c1->comm, sizeof(c1->comm), "gpuload");
	/* Limits in force; 1 GiB held over a 512 MiB limit lowered live. */
	c1->limits.memory_bytes = 512ull << 20;
	c1->limits.core_pct = 40;
	c2->pid = 200;
	c2->uid = 1001;
	snprintf(c2->comm, sizeof(c2->comm), "bad\"name\n");
	snprintf(c2->pod_namespace, sizeof(c2->pod_namespace), "ml");
	snprintf(c2->pod_name, sizeof(c2->pod_name), "trainer-0");
	snprintf(c2->container, sizeof(c2->container), "main");
	c3->pid = 300;
	registry_client_attach(c1, a);
	registry_client_attach(c2, a);
	registry_client_attach(c3, b);
	policy_register(&a->policy, 1, 0);
	policy_register(&a->policy, 2, 0);
	policy_register(&b->policy, 3, 0);
	policy_set_footprint(&a->policy, 1, 1ull << 30, 0, 0, 0, &out);
	policy_request(&a->policy, 1, MS(1000), &out);
	policy_request(&a->policy, 2, MS(1500), &out);
	registry_client_gpu(c1, a)->lock_grants = 1;
}

static void test_json(void)
{
	struct sched_registry r;
	struct status_buf b = {0};
	const char *want =
	    "{\"managed\":true,\"time_slice_ms\":2000,"
	    "\"release_grace_ms\":5000,\"forced_releases\":0,"
	    "\"mode\":\"serial\",\"time_slice_setting\":2000,"
	    "\"max_run_ms\":30000,\"host_swap_budget_bytes\":null,"
	    "\"host_swapped_bytes\":0,\"gpus\":["
	    "{\"uuid\":\"" UUID_A "\",\"capacity_bytes\":17179869184,"
	    "\"holder\":1,\"holder_held_ms\":1250,\"queue\":[2],"
	    "\"forced_releases\":0,\"lock_grants\":1,\"metered\":false,\"core_"
	    "window_ms\":0,\"mode\":\"serial\","
	    "\"time_slice_ms\":2000,\"time_slice_reason\":\"fixed\","
	    "\"time_slice_setting\":2000,\"max_run_ms\":30000,"
	    "\"resident_bytes\":1073741824,\"running\":[1],"
	    "\"swap_bw_out_bps\":8000000000,"
	    "\"swap_bw_in_bps\":40000000000,\"swaps\":0,\"evictions\":0,"
	    "\"evict_timeouts\":0},"
	    "{\"uuid\":\"" UUID_B "\",\"capacity_bytes\":4294967296,"
	    "\"holder\":null,\"holder_held_ms\":0,\"queue\":[],"
	    "\"forced_releases\":0,\"lock_grants\":0,\"metered\":false,\"core_"
	    "window_ms\":0,\"mode\":\"serial\","
	    "\"time_slice_ms\":2000,\"time_slice_reason\":\"fixed\","
	    "\"time_slice_setting\":2000,\"max_run_ms\":30000,"
	    "\"resident_bytes\":0,\"running\":[],"
	    "\"swap_bw_out_bps\":8000000000,"
	    "\"swap_bw_in_bps\":40000000000,\"swaps\":0,\"evictions\":0,"
	    "\"evict_timeouts\":0}],"
	    "\"annotations_refused\":[],\"clients\":["
	    "{\"id\":1,\"pid\":100,\"uid\":1000,\"comm\":\"gpuload\","
	    "\"pod_namespace\":\"\",\"pod_name\":\"\",\"container\":\"\","
	    "\"pod_uid\":null,\"pod_verified\":false,\"pod_claimed\":null,"
	    "\"memory_limit_bytes\":536870912,"
	    "\"memory_limit_source\":\"environment\","
	    "\"memory_limit_pod_shared\":false,\"core_limit_pct\":40,"
	    "\"core_limit_source\":\"environment\","
	    "\"annotations_refused\":[],"
	    "\"gpus\":[{\"uuid\":\"" UUID_A "\",\"state\":\"holding\","
	    "\"held_ms\":1250,\"memory_bytes\":1073741824,"
	    "\"lock_grants\":1,\"wait_ms\":0,"
	    "\"resident_bytes\":1073741824,\"swapped_bytes\":0,"
	    "\"wait_reason\":null,\"swap_outs\":0,\"swap_ins\":0,\"over_memory_"
	    "limit\":true,"
	    "\"granted_bytes\":1073741824,\"pinned_bytes\":0,"
	    "\"growing\":false,\"grow_wait_ms\":0,\"unmanaged\":false,"
	    "\"core_share_pct\":0.00,\"billed_gpu_ms\":0.0,"
	    "\"throttled\":false,\"throttles\":0,\"billed\":true}]},"
	    "{\"id\":2,\"pid\":200,\"uid\":1001,"
	    "\"comm\":\"bad\\\"name\\u000a\",\"pod_namespace\":\"ml\","
	    "\"pod_name\":\"trainer-0\",\"container\":\"main\","
	    "\"pod_uid\":null,\"pod_verified\":false,\"pod_claimed\":null,"
	    "\"memory_limit_bytes\":null,\"memory_limit_source\":null,"
	    "\"memory_limit_pod_shared\":false,\"core_limit_pct\":null,"
	    "\"core_limit_source\":null,\"annotations_refused\":[],"
	    "\"gpus\":[{\"uuid\":\"" UUID_A "\",\"state\":\"waiting\","
	    "\"held_ms\":0,\"memory_bytes\":0,\"lock_grants\":0,"
	    "\"wait_ms\":750,\"resident_bytes\":0,\"swapped_bytes\":0,"
	    "\"wait_reason\":\"turn\",\"swap_outs\":0,\"swap_ins\":0,\"over_"
	    "memory_limit\":false,"
	    "\"granted_bytes\":0,\"pinned_bytes\":0,"
	    "\"growing\":false,\"grow_wait_ms\":0,\"unmanaged\":false,"
	    "\"core_share_pct\":0.00,\"billed_gpu_ms\":0.0,"
	    "\"throttled\":false,\"throttles\":0,\"billed\":true}]},"
	    "{\"id\":3,\"pid\":300,\"uid\":0,\"comm\":\"\","
	    "\"pod_namespace\":\"\",\"pod_name\":\"\",\"container\":\"\","
	    "\"pod_uid\":null,\"pod_verified\":false,\"pod_claimed\":null,"
	    "\"memory_limit_bytes\":null,\"memory_limit_source\":null,"
	    "\"memory_limit_pod_shared\":false,\"core_limit_pct\":null,"
	    "\"core_limit_source\":null,\"annotations_refused\":[],"
	    "\"gpus\":[{\"uuid\":\"" UUID_B "\",\"state\":\"idle\","
	    "\"held_ms\":0,\"memory_bytes\":0,\"lock_grants\":0,"
	    "\"wait_ms\":0,\"resident_bytes\":0,\"swapped_bytes\":0,"
	    "\"wait_reason\":null,\"swap_outs\":0,\"swap_ins\":0,\"over_memory_"
	    "limit\":false,"
	    "\"granted_bytes\":0,\"pinned_bytes\":0,"
	    "\"growing\":false,\"grow_wait_ms\":0,\"unmanaged\":false,"
	    "\"core_share_pct\":0.00,\"billed_gpu_ms\":0.0,"
	    "\"throttled\":false,\"throttles\":0,\"billed\":true}]}]}\n";

	build(&r);
	CHECK_EQ(status_render_json(&r, MS(2250), &b), 0);
	CHECK_STR(b.p, want);
	status_buf_free(&b);
	/* Unmanaged, empty. */
	registry_destroy(&r);
	registry_init(&r, 100, 300);
	r.managed = 0;
	r.forced_releases = 7;
	CHECK_EQ(status_render_json(&r, 0, &b), 0);
	CHECK_STR(b.p,
	          "{\"managed\":false,\"time_slice_ms\":100,"
	          "\"release_grace_ms\":300,\"forced_releases\":7,"
	          "\"mode\":\"auto\",\"time_slice_setting\":100,"
	          "\"max_run_ms\":30000,\"host_swap_budget_bytes\":null,\"host_"
	          "swapped_bytes\":0,\"gpus\":[],\"annotations_refused\":[],"
	          "\"clients\":[]}\n");
	status_buf_free(&b);
	registry_destroy(&r);
}

/* Auto mode with memory: a 4 GiB GPU; 1 runs with 3 GiB, 2 (2 GiB) waits
 * for memory, 3 (1 GiB) is on the host after a swap-out measured at 4
 * bytes/ns. */
static void build_memory(struct sched_registry *r)
{
	struct policy_out out = {.n = 0};
	struct sched_client *c[3];
	struct sched_gpu *a;

	registry_init(r, REGISTRY_SLICE_AUTO, 5000);
	a = registry_gpu_add(r, UUID_A, 4ull << 30);
	for (int i = 0; i < 3; i++) {
		c[i] = registry_client_new(r);
		c[i]->pid = 100 + i;
		registry_client_attach(c[i], a);
		policy_register(&a->policy, c[i]->id, 0);
	}
	policy_set_footprint(&a->policy, 1, 3ull << 30, 0, 0, 0, &out);
	policy_request(&a->policy, 1, MS(1000), &out);
	registry_client_gpu(c[0], a)->lock_grants = 1;
	policy_set_footprint(&a->policy, 3, 1ull << 30, 0, 0, 0, &out);
	policy_swap_report(&a->policy, 3, POLICY_SWAP_OUT, 1ull << 30, 1u << 28,
	                   MS(1100), &out);
	policy_set_footprint(&a->policy, 2, 2ull << 30, 0, 0, MS(1200), &out);
	policy_request(&a->policy, 2, MS(1500), &out);
}

static void test_json_memory(void)
{
	struct sched_registry r;
	struct status_buf b = {0};
	/* 1 must leave for 2: 3 GiB at 4 bytes/ns = 0.805 s, x 5. */
	const char *want =
	    "{\"managed\":true,\"time_slice_ms\":0,"
	    "\"release_grace_ms\":5000,\"forced_releases\":0,"
	    "\"mode\":\"auto\",\"time_slice_setting\":\"auto\","
	    "\"max_run_ms\":30000,\"host_swap_budget_bytes\":null,"
	    "\"host_swapped_bytes\":0,\"gpus\":["
	    "{\"uuid\":\"" UUID_A "\",\"capacity_bytes\":4294967296,"
	    "\"holder\":1,\"holder_held_ms\":1250,\"queue\":[2],"
	    "\"forced_releases\":0,\"lock_grants\":1,\"metered\":false,\"core_"
	    "window_ms\":0,\"mode\":\"auto\","
	    "\"time_slice_ms\":4026,"
	    "\"time_slice_reason\":\"auto: 5 x 0.81 s swap\","
	    "\"time_slice_setting\":\"auto\",\"max_run_ms\":30000,"
	    "\"resident_bytes\":3221225472,\"running\":[1],"
	    "\"swap_bw_out_bps\":4000000000,"
	    "\"swap_bw_in_bps\":40000000000,\"swaps\":1,\"evictions\":0,"
	    "\"evict_timeouts\":0}],"
	    "\"annotations_refused\":[],\"clients\":["
	    "{\"id\":1,\"pid\":100,\"uid\":0,\"comm\":\"\","
	    "\"pod_namespace\":\"\",\"pod_name\":\"\",\"container\":\"\","
	    "\"pod_uid\":null,\"pod_verified\":false,\"pod_claimed\":null,"
	    "\"memory_limit_bytes\":null,\"memory_limit_source\":null,"
	    "\"memory_limit_pod_shared\":false,\"core_limit_pct\":null,"
	    "\"core_limit_source\":null,\"annotations_refused\":[],"
	    "\"gpus\":[{\"uuid\":\"" UUID_A "\",\"state\":\"holding\","
	    "\"held_ms\":1250,\"memory_bytes\":3221225472,"
	    "\"lock_grants\":1,\"wait_ms\":0,"
	    "\"resident_bytes\":3221225472,\"swapped_bytes\":0,"
	    "\"wait_reason\":null,\"swap_outs\":0,\"swap_ins\":0,\"over_memory_"
	    "limit\":false,"
	    "\"granted_bytes\":3221225472,\"pinned_bytes\":0,"
	    "\"growing\":false,\"grow_wait_ms\":0,\"unmanaged\":false,"
	    "\"core_share_pct\":0.00,\"billed_gpu_ms\":0.0,"
	    "\"throttled\":false,\"throttles\":0,\"billed\":true}]},"
	    "{\"id\":2,\"pid\":101,\"uid\":0,\"comm\":\"\","
	    "\"pod_namespace\":\"\",\"pod_name\":\"\",\"container\":\"\","
	    "\"pod_uid\":null,\"pod_verified\":false,\"pod_claimed\":null,"
	    "\"memory_limit_bytes\":null,\"memory_limit_source\":null,"
	    "\"memory_limit_pod_shared\":false,\"core_limit_pct\":null,"
	    "\"core_limit_source\":null,\"annotations_refused\":[],"
	    "\"gpus\":[{\"uuid\":\"" UUID_A "\",\"state\":\"waiting\","
	    "\"held_ms\":0,\"memory_bytes\":2147483648,"
	    "\"lock_grants\":0,\"wait_ms\":750,"
	    "\"resident_bytes\":0,\"swapped_bytes\":0,"
	    "\"wait_reason\":\"memory\",\"swap_outs\":0,\"swap_ins\":0,\"over_"
	    "memory_limit\":false,"
	    "\"granted_bytes\":0,\"pinned_bytes\":0,"
	    "\"growing\":false,\"grow_wait_ms\":0,\"unmanaged\":false,"
	    "\"core_share_pct\":0.00,\"billed_gpu_ms\":0.0,"
	    "\"throttled\":false,\"throttles\":0,\"billed\":true}]},"
	    "{\"id\":3,\"pid\":102,\"uid\":0,\"comm\":\"\","
	    "\"pod_namespace\":\"\",\"pod_name\":\"\",\"container\":\"\","
	    "\"pod_uid\":null,\"pod_verified\":false,\"pod_claimed\":null,"
	    "\"memory_limit_bytes\":null,\"memory_limit_source\":null,"
	    "\"memory_limit_pod_shared\":false,\"core_limit_pct\":null,"
	    "\"core_limit_source\":null,\"annotations_refused\":[],"
	    "\"gpus\":[{\"uuid\":\"" UUID_A "\",\"state\":\"idle\","
	    "\"held_ms\":0,\"memory_bytes\":1073741824,"
	    "\"lock_grants\":0,\"wait_ms\":0,"
	    "\"resident_bytes\":0,\"swapped_bytes\":1073741824,"
	    "\"wait_reason\":null,\"swap_outs\":1,\"swap_ins\":0,\"over_memory_"
	    "limit\":false,"
	    "\"granted_bytes\":0,\"pinned_bytes\":0,"
	    "\"growing\":false,\"grow_wait_ms\":0,\"unmanaged\":false,"
	    "\"core_share_pct\":0.00,\"billed_gpu_ms\":0.0,"
	    "\"throttled\":false,\"throttles\":0,\"billed\":true}]}]}\n";

	build_memory(&r);
	CHECK_EQ(status_render_json(&r, MS(2250), &b), 0);
	CHECK_STR(b.p, want);
	status_buf_free(&b);
	CHECK_EQ(status_render_text(&r, MS(2250), &b), 0);
	CHECK(strstr(b.p,
	             "scheduling: on   mode: auto   time slice: auto   "
	             "max run: 30000 ms   release grace: 5000 ms") != NULL);
	CHECK(strstr(b.p, "  mode auto  time slice 4026 ms (auto: 5 x 0.81 s "
	                  "swap)  max run 30000 ms\n") != NULL);
	CHECK(strstr(b.p,
	             "  memory: 3.0 GiB resident  swaps 1  evictions 0  "
	             "swap bandwidth out 4.0 GB/s, in 40.0 GB/s\n") != NULL);
	CHECK(strstr(b.p, "  running: client 1\n") != NULL);
	CHECK(strstr(b.p, "  queue: client 2 (waiting 750 ms, memory)\n") !=
	      NULL);
	CHECK(strstr(b.p, "RESIDENT") != NULL);
	status_buf_free(&b);
	/* The slice's other reasons. */
	r.gpus[0]->policy.max_run_ns = MS(3000);
	CHECK_EQ(status_render_json(&r, MS(2250), &b), 0);
	CHECK(strstr(b.p, "\"time_slice_ms\":3000,\"time_slice_reason\":"
	                  "\"max-run\"") != NULL);
	status_buf_free(&b);
	policy_disconnect(&r.gpus[0]->policy, 1, MS(2300),
	                  &(struct policy_out){0});
	CHECK_EQ(status_render_json(&r, MS(2300), &b), 0);
	CHECK(strstr(b.p, "\"holder\":2,") != NULL);
	CHECK(strstr(b.p, "\"time_slice_ms\":1000,\"time_slice_reason\":"
	                  "\"auto: floor 1 s\"") != NULL);
	status_buf_free(&b);
	registry_destroy(&r);
}

static void test_text(void)
{
	struct sched_registry r;
	struct status_buf b = {0};

	build(&r);
	CHECK_EQ(status_render_text(&r, MS(2250), &b), 0);
	CHECK(strstr(b.p,
	             "scheduling: on   mode: serial   time slice: 2000 ms   "
	             "max run: 30000 ms   release grace: 5000 ms   forced "
	             "releases: 0   clients: 3") != NULL);
	CHECK(strstr(b.p, "GPU " UUID_A "  capacity 16.0 GiB  clients 2  "
	                  "grants 1  forced releases 0") != NULL);
	CHECK(strstr(b.p, "  mode serial  time slice 2000 ms (fixed)  max run "
	                  "30000 ms\n") != NULL);
	CHECK(strstr(b.p, "  holder: client 1, held 1250 ms\n") != NULL);
	CHECK(strstr(b.p, "  running: client 1\n") != NULL);
	/* Client 1's limits: the memory one marked as exceeded. */
	CHECK(strstr(b.p, "  MEM_LIMIT  CORE\n") != NULL);
	CHECK(strstr(b.p, "  512.0 MiB!   40%\n") != NULL);
	CHECK(strstr(b.p, "          -     -\n") != NULL);
	CHECK(strstr(b.p, "  queue: client 2 (waiting 750 ms, turn)\n") !=
	      NULL);
	CHECK(strstr(b.p, "  holder: none\n  running: none\n  queue: "
	                  "empty\n") != NULL);
	CHECK(strstr(b.p, "CLIENT") != NULL && strstr(b.p, "STATE") != NULL);
	/* Client strings are made printable: no raw quote or newline. */
	CHECK(strstr(b.p, "bad?name? ") != NULL);
	CHECK(strstr(b.p, "ml/trainer-0") != NULL);
	CHECK(strstr(b.p, "holding") != NULL && strstr(b.p, "waiting") &&
	      strstr(b.p, "idle"));
	status_buf_free(&b);
	registry_destroy(&r);
	registry_init(&r, 2000, 5000);
	CHECK_EQ(status_render_text(&r, 0, &b), 0);
	CHECK(strstr(b.p, "no GPUs registered") != NULL);
	CHECK(strstr(b.p, "no clients connected") != NULL);
	status_buf_free(&b);
	registry_destroy(&r);
}

static void test_registry(void)
{
	struct sched_registry r;
	struct sched_client *c[5];
	struct sched_gpu *g;
	char name[NVS_UUID_SIZE], buf[16];

	registry_init(&r, 2000, 5000);
	for (int i = 0; i < 5; i++)
		c[i] = registry_client_new(&r);
	CHECK_EQ(c[0]->id, 1);
	CHECK_EQ(c[4]->id, 5);
	registry_client_remove(&r, c[1]);
	registry_client_remove(&r, c[3]);
	CHECK(registry_client_find(&r, 2) == NULL);
	CHECK(registry_client_find(&r, 4) == NULL);
	CHECK(registry_client_find(&r, 5) == c[4]);
	CHECK(registry_client_find(&r, 1) == c[0]);
	CHECK(registry_client_find(&r, 0) == NULL);
	c[1] = registry_client_new(&r);
	CHECK_EQ(c[1]->id, 6); /* ids are never reused */
	CHECK(registry_client_find(&r, 6) == c[1]);

	/* Filling the GPU table: unused contexts make room, used ones stay. */
	g = registry_gpu_add(&r, UUID_A, 1);
	registry_client_attach(c[0], g);
	CHECK_EQ(g->nclients, 1);
	CHECK(registry_client_attach(c[0], g) == registry_client_gpu(c[0], g));
	CHECK_EQ(g->nclients, 1); /* idempotent */
	for (int i = 1; i < REGISTRY_MAX_GPUS; i++) {
		snprintf(name, sizeof(name),
		         "GPU-00000000-0000-0000-0000-%012d", 1000 + i);
		CHECK(registry_gpu_add(&r, name, 1) != NULL);
	}
	CHECK_EQ(r.ngpus, REGISTRY_MAX_GPUS);
	CHECK(registry_gpu_add(&r, UUID_B, 1) != NULL);
	CHECK_EQ(r.ngpus, 2);
	CHECK(registry_gpu_find(&r, UUID_A) == g);

	/* A client may register at most REGISTRY_CLIENT_MAX_GPUS. */
	registry_destroy(&r);
	registry_init(&r, 2000, 5000);
	c[0] = registry_client_new(&r);
	for (int i = 0; i < REGISTRY_CLIENT_MAX_GPUS; i++) {
		snprintf(name, sizeof(name),
		         "GPU-00000000-0000-0000-0000-%012d", i);
		g = registry_gpu_add(&r, name, 1);
		CHECK(registry_client_attach(c[0], g) != NULL);
	}
	g = registry_gpu_add(&r, UUID_B, 1);
	CHECK(registry_client_attach(c[0], g) == NULL);
	registry_client_remove(&r, c[0]);
	CHECK_EQ(r.gpus[0]->nclients, 0);
	registry_destroy(&r);

	CHECK_STR(registry_printable("", buf, sizeof(buf)), "-");
	CHECK_STR(registry_printable("a b\"c\n", buf, sizeof(buf)), "a?b?c?");
	CHECK_STR(registry_printable("x\\y", buf, sizeof(buf)), "x?y");
	CHECK_STR(registry_printable("0123456789abcdefXYZ", buf, sizeof(buf)),
	          "0123456789abcde");
}

static void test_perm(void)
{
	const char *proc = "Name:\tgpuload\nUid:\t1000\t1000\t1000\t1000\n"
	                   "Gid:\t1000\t1000\t1000\t1000\n"
	                   "Groups:\t4 27 1001 \nNSpid:\t42\n";

	CHECK_EQ(perm_groups_contain(proc, 27), 1);
	CHECK_EQ(perm_groups_contain(proc, 1001), 1);
	CHECK_EQ(perm_groups_contain(proc, 4), 1);
	CHECK_EQ(perm_groups_contain(proc, 100), 0);
	CHECK_EQ(perm_groups_contain(proc, 42), 0); /* not on that line */
	CHECK_EQ(perm_groups_contain("Groups:\t\n", 0), 0);
	CHECK_EQ(perm_groups_contain("Name:\tx\n", 0), 0);
	CHECK_EQ(perm_groups_contain("Groups:\t12x 5\n", 5), 0);
	CHECK_EQ(perm_groups_contain("Groups:\t99999999999999999999 5\n", 5),
	         0);
	CHECK_EQ(perm_groups_contain("Groups:\t5", 5), 1);

	/* root, our own uid, the socket's group, a supplementary member. */
	CHECK_EQ(perm_control_allowed(0, 50, 0, 1000, 7), 1);
	CHECK_EQ(perm_control_allowed(1000, 50, 0, 1000, 7), 1);
	CHECK_EQ(perm_control_allowed(2000, 7, 0, 1000, 7), 1);
	CHECK_EQ(perm_control_allowed(2000, 50, 1, 1000, 7), 1);
	CHECK_EQ(perm_control_allowed(2000, 50, 0, 1000, 7), 0);
	CHECK_EQ(perm_control_allowed(65534, 65534, 0, 0, 0), 0);
}

/* A limited client without a billing entry is held throttled (compute.c):
 * status says so, and that it is not billed; an unlimited one without an
 * entry is not throttled. */
static void test_json_unbilled(void)
{
	struct sched_registry r;
	struct status_buf b = {0};
	const char *held =
	    "\"throttled\":true,\"throttles\":0,\"billed\":false";
	const char *free_run =
	    "\"throttled\":false,\"throttles\":0,\"billed\":false";

	build(&r);
	registry_client_gpu(registry_client_find(&r, 1), r.gpus[0])->unbilled =
	    1;
	registry_client_gpu(registry_client_find(&r, 2), r.gpus[0])->unbilled =
	    1;
	CHECK_EQ(status_render_json(&r, MS(2250), &b), 0);
	CHECK(b.p && strstr(b.p, held) != NULL);     /* client 1: 40 % */
	CHECK(b.p && strstr(b.p, free_run) != NULL); /* client 2 */
	CHECK(b.p && strstr(strstr(b.p, held) + 1, held) == NULL); /* once */
	status_buf_free(&b);
	registry_destroy(&r);
}

int main(void)
{
	test_json_escape();
	test_json();
	test_json_unbilled();
	test_json_memory();
	test_text();
	test_registry();
	test_perm();
	return check_summary("test_status");
}
