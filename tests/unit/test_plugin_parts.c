/*
 * test_plugin_parts.c - the device plugin's small pure parts: device IDs
 * (slots.c), Allocate's content (allocate.c), the environment lookup
 * (proc_link.c), the JSON and status report reader (json.c,
 * sched_load.c), the kubelet directory's events (kubelet_dir.c).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "allocate.h"
#include "check.h"
#include "json.h"
#include "kubelet_dir.h"
#include "proc_link.h"
#include "sched_load.h"
#include "slots.h"

#define U1 "GPU-00000000-0000-0000-0000-000000000001"
#define U2 "GPU-00000000-0000-0000-0000-000000000002"

static void test_slots(void)
{
	struct dp_gpus g = {.n = 2};
	struct dp_device d[20];
	char id[DP_ID_MAX];
	unsigned slot = 99;

	strcpy(g.gpu[0].uuid, U1);
	strcpy(g.gpu[1].uuid, U2);
	g.gpu[0].healthy = 1;
	g.gpu[1].numa = 1;
	CHECK_EQ(dp_slot_id(U2, 7, id), 0);
	CHECK_STR(id, U2 "::7");
	CHECK(strlen(U1 "::99") <= 63);
	CHECK_EQ(dp_slot_parse(&g, 10, id, &slot), 1);
	CHECK_EQ(slot, 7);
	CHECK_EQ(dp_slot_parse(&g, 10, U1 "::0", &slot), 0);
	CHECK_EQ(slot, 0);
	CHECK_EQ(dp_slot_parse(&g, 7, id, &slot), -1); /* slot >= slots */
	CHECK_EQ(dp_slot_parse(&g, 10, U1 "::07", &slot), -1);
	CHECK_EQ(dp_slot_parse(&g, 10, U1 "::-1", &slot), -1);
	CHECK_EQ(dp_slot_parse(&g, 10, U1 "::1x", &slot), -1);
	CHECK_EQ(dp_slot_parse(&g, 10, U1 ":1", &slot), -1);
	CHECK_EQ(dp_slot_parse(&g, 10, U1 "::", &slot), -1);
	CHECK_EQ(dp_slot_parse(&g, 10, "GPU-x::1", &slot), -1);
	CHECK_EQ(dp_slot_parse(&g, 10, "", &slot), -1);
	CHECK_EQ(dp_slots_list(&g, 10, d), 20);
	CHECK_STR(d[0].id, U1 "::0");
	CHECK_STR(d[19].id, U2 "::9");
	CHECK(d[9].healthy && !d[10].healthy);
	CHECK_EQ(d[10].numa, 1);
}

static const char *env_of(const struct dp_container_alloc *a, const char *k)
{
	for (size_t i = 0; i < a->nenv; i++)
		if (strcmp(a->env[i].key, k) == 0)
			return a->env[i].value;
	return NULL;
}

static void test_allocate(void)
{
	struct dp_alloc_cfg cfg = {
	    .host_lib_dir = "/var/lib/nvshare/lib",
	    .container_lib_dir = "/usr/local/nvshare/lib",
	    .host_socket_dir = "/var/run/nvshare",
	    .container_socket_dir = "/run/nvshare",
	    .socket_name = "scheduler.sock",
	    .cdi_kind = "",
	};
	const char *two[2] = {U1, U2};
	struct dp_container_alloc *a = malloc(sizeof(*a));
	char err[128];

	CHECK_EQ(dp_alloc_build(&cfg, two, 1, "ab12", a, err, sizeof(err)), 0);
	CHECK_STR(env_of(a, "NVIDIA_VISIBLE_DEVICES"), U1);
	CHECK_STR(env_of(a, "LD_PRELOAD"),
	          "/usr/local/nvshare/lib/libnvshare.so");
	CHECK_STR(env_of(a, "NVSHARE_SOCKET"), "/run/nvshare/scheduler.sock");
	CHECK_STR(env_of(a, "NVSHARE_ALLOCATION_ID"), "ab12");
	CHECK_EQ(a->nmount, 2);
	CHECK_STR(a->mount[0].container_path, "/run/nvshare");
	CHECK_STR(a->mount[0].host_path, "/var/run/nvshare"); /* the dir */
	CHECK(!a->mount[0].read_only);
	CHECK_STR(a->mount[1].host_path, "/var/lib/nvshare/lib");
	CHECK(a->mount[1].read_only);
	CHECK_EQ(a->ncdi, 0);
	CHECK_EQ(a->nannot, 1);
	CHECK_STR(a->annot[0].value, "ab12");
	cfg.cdi_kind = "nvidia.com/gpu";
	CHECK_EQ(dp_alloc_build(&cfg, two, 2, "ab12", a, err, sizeof(err)), 0);
	CHECK_STR(env_of(a, "NVIDIA_VISIBLE_DEVICES"), U1 "," U2);
	CHECK_EQ(a->ncdi, 2);
	CHECK_STR(a->cdi[1], "nvidia.com/gpu=" U2);
	CHECK_EQ(dp_alloc_build(&cfg, two, 0, "ab12", a, err, sizeof(err)), -1);
	free(a);
}

static void test_env_lookup(void)
{
	static const char env[] = "PATH=/bin\0NVSHARE_ALLOCATION_ID_X=no\0"
	                          "NVSHARE_ALLOCATION_ID=0123abcd\0HOME=/";
	char out[33];

	CHECK_EQ(dp_env_lookup(env, sizeof(env), "NVSHARE_ALLOCATION_ID", out,
	                       sizeof(out)),
	         1);
	CHECK_STR(out, "0123abcd");
	CHECK_EQ(
	    dp_env_lookup(env, sizeof(env), "NVSHARE_POD", out, sizeof(out)),
	    0);
	CHECK_EQ(
	    dp_env_lookup(env, sizeof(env), "NVSHARE_ALLOCATION_ID", out, 4),
	    0); /* too long for out */
	/* a block cut in the middle of an entry */
	CHECK_EQ(dp_env_lookup(env, 14, "PATH", out, sizeof(out)), 1);
	CHECK_STR(out, "/bin");
	/* the process's own environment, through /proc */
	setenv("NVSHARE_ALLOCATION_ID", "feedface", 1);
	CHECK_EQ(dp_proc_alloc_id(getpid(), out, sizeof(out)), 0); /* initial */
	CHECK_EQ(dp_proc_alloc_id(-1, out, sizeof(out)), 0);
}

static void test_json(void)
{
	char err[128];
	struct dp_json *v = dp_json_parse(
	    " {\"a\":[1,2.5,-3,true,null],\"s\":\"x\\\"y\\u0041\\n\","
	    "\"big\":18446744073709551615,\"o\":{}} ",
	    err, sizeof(err));

	CHECK(v != NULL);
	if (v) {
		const struct dp_json *a = dp_json_get(v, "a");

		CHECK(a && a->kind == DP_JSON_ARRAY && a->n == 5);
		CHECK_EQ(dp_json_u64(&a->items[0]), 1);
		CHECK_EQ(dp_json_u64(&a->items[2]), 0);
		CHECK(a->items[3].kind == DP_JSON_BOOL && a->items[3].boolean);
		CHECK_STR(dp_json_str(dp_json_get(v, "s")), "x\"yA\n");
		CHECK(dp_json_u64(dp_json_get(v, "big")) == UINT64_MAX);
		CHECK(dp_json_get(v, "missing") == NULL);
		dp_json_free(v);
	}
	static const char *bad[] = {"",          "{",           "[1,]",
	                            "{\"a\" 1}", "tru",         "\"abc",
	                            "[1] 2",     "{\"a\":01x}", "\"\\q\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = dp_json_parse(bad[i], err, sizeof(err));
		CHECK(v == NULL);
		dp_json_free(v);
	}
	/* nesting is bounded */
	char deep[200];
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	CHECK(dp_json_parse(deep, err, sizeof(err)) == NULL);
}

static void test_report(void)
{
	static const char report[] =
	    "{\"managed\":true,\"gpus\":[{\"uuid\":\"" U1 "\"}],"
	    "\"clients\":[{\"id\":3,\"pid\":100,\"uid\":0,\"comm\":\"a\","
	    "\"memory_limit_bytes\":null,\"core_limit_pct\":30,\"gpus\":["
	    "{\"uuid\":\"" U1 "\",\"memory_bytes\":1024},"
	    "{\"uuid\":\"" U2 "\",\"memory_bytes\":2048}]},"
	    "{\"id\":4,\"pid\":101,\"memory_limit_bytes\":4096,"
	    "\"allocation_id\":\"00ff\","
	    "\"core_limit_pct\":null,\"gpus\":[]}]}\n";
	struct dp_sched_view v;
	char err[128];

	CHECK_EQ(dp_sched_parse(report, &v, err, sizeof(err)), 0);
	CHECK_EQ(v.nclients, 2);
	CHECK_EQ(v.clients[0].pid, 100);
	CHECK_EQ(v.clients[0].core_limit, 30);
	CHECK_EQ(v.clients[0].memory_limit, 0);
	CHECK_EQ(v.clients[0].ngpus, 2);
	CHECK_STR(v.clients[0].gpu[1].uuid, U2);
	CHECK_EQ(v.clients[0].gpu[1].footprint, 2048);
	CHECK_EQ(v.clients[1].memory_limit, 4096);
	CHECK_EQ(v.clients[1].ngpus, 0);
	CHECK_STR(v.clients[0].alloc_id, "");
	CHECK_STR(v.clients[1].alloc_id, "00ff");
	dp_sched_view_free(&v);
	CHECK_EQ(dp_sched_parse("{\"gpus\":[]}", &v, err, sizeof(err)), -1);
	CHECK_EQ(dp_sched_parse("[", &v, err, sizeof(err)), -1);
}

static void test_kdir(void)
{
	const char *own = "nvshare-device-plugin.sock";

	CHECK_EQ(dp_kdir_classify("kubelet.sock", IN_CREATE, own),
	         DP_KDIR_KUBELET_NEW);
	CHECK_EQ(dp_kdir_classify("kubelet.sock", IN_MOVED_TO, own),
	         DP_KDIR_KUBELET_NEW);
	CHECK_EQ(dp_kdir_classify("kubelet.sock", IN_DELETE, own),
	         DP_KDIR_NONE);
	CHECK_EQ(dp_kdir_classify(own, IN_DELETE, own), DP_KDIR_OURS_GONE);
	CHECK_EQ(dp_kdir_classify(own, IN_CREATE, own), DP_KDIR_NONE);
	CHECK_EQ(dp_kdir_classify("other.sock", IN_DELETE, own), DP_KDIR_NONE);
	CHECK_EQ(dp_kdir_classify("", IN_DELETE_SELF, own), DP_KDIR_OURS_GONE);
}

int main(void)
{
	test_slots();
	test_allocate();
	test_env_lookup();
	test_json();
	test_report();
	test_kdir();
	return check_summary("plugin_parts");
}
