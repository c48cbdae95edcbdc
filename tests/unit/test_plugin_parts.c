/*
 * test_plugin_parts.c - the device plugin's small pure parts: device IDs
 * (slots.c), Allocate's content (allocate.c), the environment lookup
 * (proc_link.c), the status report reader (sched_load.c: its checks of
 * the report's members), the kubelet directory's events (kubelet_dir.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "allocate.h"
#include "check.h"
#include "kubelet_dir.h"
#include "pending.h"
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
	CHECK_STR(err, "the report has no client list");
	CHECK_EQ(dp_sched_parse("[", &v, err, sizeof(err)), -1);
	CHECK(strncmp(err, "the report is not JSON", 22) == 0);
	CHECK(v.clients == NULL && v.nclients == 0);
}

/* Integers are exact up to INT64_MAX; nothing else passes for one. */
static void test_report_numbers(void)
{
	struct dp_sched_view v;
	char err[256];

	CHECK_EQ(dp_sched_parse("{\"clients\":[{\"id\":9223372036854775807,"
	                        "\"pid\":2147483647,\"gpus\":[{\"uuid\":"
	                        "\"" U1 "\",\"memory_bytes\":"
	                        "9223372036854775807}]}]}",
	                        &v, err, sizeof(err)),
	         0);
	CHECK(v.nclients == 1 && v.clients[0].id == INT64_MAX);
	CHECK_EQ(v.clients[0].pid, 2147483647);
	CHECK(v.clients[0].gpu[0].footprint == INT64_MAX);
	dp_sched_view_free(&v);
	/* one above INT64_MAX: jansson refuses the whole report */
	CHECK_EQ(dp_sched_parse("{\"clients\":[{\"id\":1,\"pid\":1,"
	                        "\"gpus\":[{\"uuid\":\"" U1 "\","
	                        "\"memory_bytes\":9223372036854775808}]}]}",
	                        &v, err, sizeof(err)),
	         -1);
	CHECK(strstr(err, "too big integer") != NULL);
	CHECK(v.clients == NULL);
}

/* Each case: one member wrong, the report refused, and why. */
static void test_report_refused(void)
{
	static const struct {
		const char *client; /* the one client's members */
		const char *why;    /* the start of err */
	} bad[] = {
	    {"\"pid\":1", "client 0 has no \"id\""},
	    {"\"id\":1", "client 0 has no \"pid\""},
	    {"\"id\":null,\"pid\":1", "client 0 has no \"id\""},
	    {"\"id\":-1,\"pid\":1", "client 0: \"id\" is not an integer"},
	    {"\"id\":1.5,\"pid\":1", "client 0: \"id\" is not an integer"},
	    {"\"id\":\"1\",\"pid\":1", "client 0: \"id\" is not an"},
	    {"\"id\":1,\"pid\":2147483648", "client 0: \"pid\" is not an"},
	    {"\"id\":1,\"pid\":true", "client 0: \"pid\" is not an"},
	    {"\"id\":1,\"pid\":1,\"memory_limit_bytes\":\"1G\"",
	     "client 0: \"memory_limit_bytes\" is not an integer"},
	    {"\"id\":1,\"pid\":1,\"core_limit_pct\":4294967296",
	     "client 0: \"core_limit_pct\" is not an integer in "
	     "0..4294967295"},
	    {"\"id\":1,\"pid\":1,\"allocation_id\":7",
	     "client 0: \"allocation_id\" is not a string"},
	    {"\"id\":1,\"pid\":1,\"gpus\":{}",
	     "client 0: \"gpus\" is not an array"},
	    {"\"id\":1,\"pid\":1,\"gpus\":[7]",
	     "client 0: a GPU is not an object"},
	    {"\"id\":1,\"pid\":1,\"gpus\":[{\"memory_bytes\":1}]",
	     "client 0: a GPU has no valid \"uuid\""},
	    {"\"id\":1,\"pid\":1,\"gpus\":[{\"uuid\":\"" U1 "\"}]",
	     "client 0 has no \"memory_bytes\""},
	    {"\"id\":1,\"pid\":1,\"gpus\":[{\"uuid\":\"" U1 U1 "\","
	     "\"memory_bytes\":1}]",
	     "client 0: a GPU has no valid \"uuid\""},
	    {"\"id\":1,\"pid\":1,\"pid\":2", "the report is not JSON"},
	};
	struct dp_sched_view v;
	char text[512], err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{\"clients\":[{%s}]}",
		         bad[i].client);
		CHECK_EQ(dp_sched_parse(text, &v, err, sizeof(err)), -1);
		if (strncmp(err, bad[i].why, strlen(bad[i].why)) != 0)
			fprintf(stderr, "case %zu: %s\n", i, err);
		CHECK(strncmp(err, bad[i].why, strlen(bad[i].why)) == 0);
		CHECK(v.clients == NULL && v.nclients == 0);
	}
	/* the second client is the wrong one */
	CHECK_EQ(dp_sched_parse("{\"clients\":[{\"id\":1,\"pid\":1},7]}", &v,
	                        err, sizeof(err)),
	         -1);
	CHECK_STR(err, "client 1 is not an object");
	/* jansson's message quotes the input: no quote gets into the log */
	CHECK_EQ(dp_sched_parse("{\"clients\":\"a\\\"b", &v, err, sizeof(err)),
	         -1);
	CHECK(strchr(err, '"') == NULL && strchr(err, '\\') == NULL);
}

/* What may be absent, or null for "none", and what is ignored. */
static void test_report_optional(void)
{
	char ids[DP_ALLOC_ID_SIZE + 1], text[1024];
	struct dp_sched_view v;
	char err[256];

	memset(ids, 'a', sizeof(ids) - 1);
	ids[sizeof(ids) - 1] = '\0';
	/* no limits, no GPUs, an allocation id one byte too long (matches
	 * no allocation: as if absent), a GPU with an empty uuid (skipped) */
	snprintf(text, sizeof(text),
	         "{\"clients\":[{\"id\":5,\"pid\":0},"
	         "{\"id\":6,\"pid\":7,\"gpus\":null,\"allocation_id\":null,"
	         "\"core_limit_pct\":null},"
	         "{\"id\":8,\"pid\":9,\"allocation_id\":\"%s\","
	         "\"gpus\":[{\"uuid\":\"\",\"memory_bytes\":1},"
	         "{\"uuid\":\"" U2 "\",\"memory_bytes\":0}]}],"
	         "\"extra\":[1,2.5,\"x\"]}",
	         ids);
	CHECK_EQ(dp_sched_parse(text, &v, err, sizeof(err)), 0);
	CHECK_EQ(v.nclients, 3);
	if (v.nclients == 3) {
		CHECK(v.clients[0].id == 5 && v.clients[0].pid == 0);
		CHECK_EQ(v.clients[0].ngpus, 0);
		CHECK(v.clients[0].memory_limit == 0 &&
		      v.clients[0].core_limit == 0);
		CHECK_STR(v.clients[1].alloc_id, "");
		CHECK_EQ(v.clients[1].ngpus, 0);
		CHECK_STR(v.clients[2].alloc_id, "");
		CHECK_EQ(v.clients[2].ngpus, 1);
		CHECK_STR(v.clients[2].gpu[0].uuid, U2);
	}
	dp_sched_view_free(&v);
	/* one byte shorter fits */
	ids[sizeof(ids) - 2] = '\0';
	snprintf(text, sizeof(text),
	         "{\"clients\":[{\"id\":1,\"pid\":1,\"allocation_id\":"
	         "\"%s\"}]}",
	         ids);
	CHECK_EQ(dp_sched_parse(text, &v, err, sizeof(err)), 0);
	CHECK_EQ(strlen(v.clients[0].alloc_id), DP_ALLOC_ID_SIZE - 1);
	dp_sched_view_free(&v);
	/* an empty list, and more GPUs than a node has: the rest ignored */
	CHECK_EQ(dp_sched_parse("{\"clients\":[]}", &v, err, sizeof(err)), 0);
	CHECK_EQ(v.nclients, 0);
	dp_sched_view_free(&v);
	{
		size_t len =
		    (size_t)snprintf(text, sizeof(text),
		                     "{\"clients\":[{\"id\":1,\"pid\":1,"
		                     "\"gpus\":[");

		for (int i = 0; i < DP_MAX_GPUS + 2; i++)
			len += (size_t)snprintf(
			    text + len, sizeof(text) - len,
			    "%s{\"uuid\":\"GPU-%d\",\"memory_bytes\":%d}",
			    i ? "," : "", i, i);
		snprintf(text + len, sizeof(text) - len, "]}]}");
	}
	CHECK_EQ(dp_sched_parse(text, &v, err, sizeof(err)), 0);
	CHECK_EQ(v.clients[0].ngpus, DP_MAX_GPUS);
	CHECK(v.clients[0].gpu[DP_MAX_GPUS - 1].footprint == DP_MAX_GPUS - 1);
	dp_sched_view_free(&v);
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
	test_report();
	test_report_numbers();
	test_report_refused();
	test_report_optional();
	test_kdir();
	return check_summary("plugin_parts");
}
