/*
 * test_peers.c - the pure parts of peer identity and admission: the pod
 * UID from /proc/<pid>/cgroup lines (cgroup v1 and v2, cgroupfs and
 * systemd drivers, every QoS class, forgeries and garbage), the start
 * time from /proc/<pid>/stat, supplementary groups, the log token bucket,
 * and the per-uid share of the connection table.
 */
#include <stdint.h>
#include <string.h>

#include "cgroup_pod.h"
#include "check.h"
#include "conn_limit.h"
#include "peer_account.h"
#include "perm.h"
#include "proc_stat.h"
#include "ratelimit.h"

#define UID "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define UID_ "0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0"
#define HASH "6d1e8f1b0e1a2c3d4e5f60718293a4b5" /* a static pod's UID */
#define CID "3f9b0c6a1d2e"

static int pod_of(const char *text, char *uid)
{
	return (int)cgroup_pod_parse(text, uid);
}

static void expect_pod(const char *text, const char *want)
{
	char uid[CGROUP_POD_UID_SIZE];
	int r = pod_of(text, uid);

	CHECK_EQ(r, CGROUP_POD_FOUND);
	if (r != CGROUP_POD_FOUND || strcmp(uid, want) != 0)
		fprintf(stderr, "  text: %s\n  got: %s want: %s\n", text, uid,
		        want);
	CHECK(strcmp(uid, want) == 0);
}

static void expect_none(const char *text)
{
	char uid[CGROUP_POD_UID_SIZE] = "x";
	int r = pod_of(text, uid);

	if (r != CGROUP_POD_NONE)
		fprintf(stderr, "  should be in no pod: %s (got %s)\n", text,
		        uid);
	CHECK_EQ(r, CGROUP_POD_NONE);
	CHECK_EQ(uid[0], '\0');
}

static void expect_outside(const char *text)
{
	char uid[CGROUP_POD_UID_SIZE] = "x";

	CHECK_EQ(pod_of(text, uid), CGROUP_POD_OUTSIDE);
	CHECK_EQ(uid[0], '\0');
}

static void test_cgroup_v2(void)
{
	/* systemd driver, each QoS class, each runtime's scope name. */
	expect_pod("0::/kubepods.slice/kubepods-burstable.slice/"
	           "kubepods-burstable-pod" UID_ ".slice/"
	           "cri-containerd-" CID ".scope\n",
	           UID);
	expect_pod("0::/kubepods.slice/kubepods-besteffort.slice/"
	           "kubepods-besteffort-pod" UID_ ".slice/crio-" CID ".scope\n",
	           UID);
	expect_pod("0::/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" CID
	           ".scope\n",
	           UID); /* guaranteed */
	/* cgroupfs driver on v2. */
	expect_pod("0::/kubepods/burstable/pod" UID "/" CID "\n", UID);
	expect_pod("0::/kubepods/besteffort/pod" UID "/" CID "\n", UID);
	expect_pod("0::/kubepods/pod" UID "/" CID "\n", UID);
	/* The pod's own cgroup (no container below), no trailing newline. */
	expect_pod("0::/kubepods/pod" UID, UID);
	/* A static pod's UID is a 32-digit hash; upper case is lowered. */
	expect_pod("0::/kubepods.slice/kubepods-burstable.slice/"
	           "kubepods-burstable-pod" HASH ".slice/cri-containerd-" CID
	           ".scope\n",
	           HASH);
	expect_pod("0::/kubepods/pod0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/x\n",
	           UID);
}

static void test_cgroup_v1(void)
{
	/* Every hierarchy names the same pod. */
	expect_pod("12:pids:/kubepods/burstable/pod" UID "/" CID "\n"
	           "11:cpu,cpuacct:/kubepods/burstable/pod" UID "/" CID "\n"
	           "4:memory:/kubepods/burstable/pod" UID "/" CID "\n"
	           "1:name=systemd:/kubepods/burstable/pod" UID "/" CID "\n",
	           UID);
	expect_pod(
	    "10:memory:/kubepods.slice/kubepods-besteffort.slice/"
	    "kubepods-besteffort-pod" UID_ ".slice/docker-" CID ".scope\n"
	    "1:name=systemd:/kubepods.slice/kubepods-besteffort.slice/"
	    "kubepods-besteffort-pod" UID_ ".slice/docker-" CID ".scope\n",
	    UID);
	/* Hybrid: v1 hierarchies in the pod, the unified one at the root. */
	expect_pod("4:memory:/kubepods/pod" UID "/" CID "\n0::/\n", UID);
	/* Two pods named: the kernel contradicts itself, trust neither. */
	{
		char uid[CGROUP_POD_UID_SIZE];
		CHECK_EQ(pod_of("4:memory:/kubepods/pod" UID "/a\n"
		                "3:pids:/kubepods/pod" HASH "/a\n",
		                uid),
		         CGROUP_POD_CONFLICT);
		CHECK_EQ(uid[0], '\0');
	}
}

static void test_cgroup_not_pods(void)
{
	/* Ordinary processes. */
	expect_none("0::/\n");
	expect_none("0::/user.slice/user-1000.slice/session-3.scope\n");
	expect_none("0::/system.slice/containerd.service\n");
	expect_none("9:name=systemd:/\n4:memory:/process_api/2060481937c6\n"
	            "0::/\n");
	/* Forgeries in a subtree a user may create cgroups in. */
	expect_none("0::/user.slice/user-1000.slice/user@1000.service/"
	            "kubepods.slice/kubepods-pod" UID_ ".slice/x.scope\n");
	expect_none("0::/user.slice/kubepods/pod" UID "/x\n");
	/* Outside our cgroup namespace: ancestors unknown (not "in no
	 * pod": the scheduler may run in a cgroup namespace of its own). */
	expect_outside("0::/../../kubepods-besteffort-pod" UID_ ".slice/"
	               "cri-containerd-" CID ".scope\n");
	expect_outside("0::/kubepods/../user.slice/pod" UID "\n");
	expect_outside("0::/kubepods/./pod" UID "\n");
	/* The QoS slice and the pod's slice must agree. */
	expect_none("0::/kubepods.slice/kubepods-burstable.slice/"
	            "kubepods-besteffort-pod" UID_ ".slice/x\n");
	expect_none("0::/kubepods.slice/kubepods-burstable-pod" UID_
	            ".slice/x\n");
	expect_none("0::/kubepods/guaranteed/pod" UID "/x\n");
	/* Malformed UIDs. */
	expect_none("0::/kubepods/pod" UID "0/x\n");      /* too long */
	expect_none("0::/kubepods/pod0f1e2d3c-4b5a/x\n"); /* too short */
	expect_none("0::/kubepods/podzf1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n");
	expect_none("0::/kubepods/pod" UID_ "\n"); /* cgroupfs keeps '-' */
	expect_none("0::/kubepods.slice/kubepods-pod" UID ".slice/x\n");
	expect_none("0::/kubepods.slice/kubepods-pod" UID_ "/x\n"); /* .slice */
	expect_none("0::/kubepods/pod/x\n");
	expect_none("0::/kubepods\n");
	/* Garbage lines. */
	expect_none("");
	expect_none("\n\n\n");
	expect_none("garbage\n");
	expect_none("0:/kubepods/pod" UID "\n");   /* one colon */
	expect_none("x::/kubepods/pod" UID "\n");  /* not a hierarchy id */
	expect_none("::/kubepods/pod" UID "\n");   /* no hierarchy id */
	expect_none("0::kubepods/pod" UID "\n");   /* not absolute */
	expect_none("0::/kubepods/pod" UID " \n"); /* a trailing blank */
}

static void test_cgroup_garbage_then_pod(void)
{
	expect_pod("garbage\n\n0:/x\n0::/kubepods/pod" UID "/c\n", UID);
	/* A path only is checked by cgroup_pod_of_path too. */
	{
		char uid[CGROUP_POD_UID_SIZE];
		const char *p = "/kubepods/besteffort/pod" UID "/c";
		CHECK_EQ(cgroup_pod_of_path(p, strlen(p), uid), 1);
		CHECK(strcmp(uid, UID) == 0);
		CHECK_EQ(cgroup_pod_of_path(p, 10, uid), 0); /* cut short */
	}
}

static void test_proc_stat(void)
{
	unsigned long long t = 0;
	const char *plain =
	    "1234 (gpuload) S 1 1234 1234 0 -1 4194304 100 0 0 0 5 3 0 0 20 0 "
	    "1 0 987654 12345678 100 18446744073709551615\n";
	const char *tricky = "42 (a) b) c (d) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 "
	                     "20 0 1 0 55 1 1\n";

	CHECK_EQ(proc_stat_start_time(plain, &t), 0);
	CHECK_EQ(t, 987654);
	CHECK_EQ(proc_stat_start_time(tricky, &t), 0); /* ')' in the name */
	CHECK_EQ(t, 55);
	CHECK_EQ(proc_stat_start_time("1 (x) S 1 2 3\n", &t), -1); /* short */
	CHECK_EQ(proc_stat_start_time("no parenthesis", &t), -1);
	CHECK_EQ(proc_stat_start_time("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 "
	                              "20 0 1 0 5x5 1\n",
	                              &t),
	         -1);
	CHECK_EQ(proc_stat_start_time("", &t), -1);
}

static void test_groups(void)
{
	const char *status = "Name:\tbash\nUid:\t1000\t1000\t1000\t1000\n"
	                     "Groups:\t4 27 1001 \nNgid:\t0\n";
	gid_t g[8];

	CHECK_EQ(perm_groups_parse(status, NULL, 0), 3);
	CHECK_EQ(perm_groups_parse(status, g, 8), 3);
	CHECK_EQ(g[0], 4);
	CHECK_EQ(g[1], 27);
	CHECK_EQ(g[2], 1001);
	CHECK_EQ(perm_groups_parse(status, g, 2), 3); /* counts past max */
	CHECK_EQ(perm_groups_parse("Groups:\t\n", g, 8), 0);
	CHECK_EQ(perm_groups_parse("Name:\tx\n", g, 8), -1);
	CHECK_EQ(perm_groups_parse("Groups:\t4 x7\n", g, 8), -1);
	CHECK_EQ(perm_groups_parse("Groups:\t99999999999\n", g, 8), -1);
	CHECK_EQ(perm_groups_include(g, 3, 27), 1);
	CHECK_EQ(perm_groups_include(g, 3, 5), 0);
	CHECK_EQ(perm_groups_include(NULL, 0, 0), 0);
	/* The decision: root, ourselves, the socket's group (primary or
	 * supplementary); nobody else, whatever its pid is now. */
	CHECK_EQ(perm_control_allowed(0, 0, 0, 500, 7), 1);
	CHECK_EQ(perm_control_allowed(500, 500, 0, 500, 7), 1);
	CHECK_EQ(perm_control_allowed(1000, 7, 0, 500, 7), 1);
	CHECK_EQ(perm_control_allowed(1000, 1000, 1, 500, 7), 1);
	CHECK_EQ(perm_control_allowed(1000, 1000, 0, 500, 7), 0);
}

#define S RATELIMIT_PERIOD_NS

static void test_ratelimit(void)
{
	struct ratelimit r = {0};
	int64_t t = 1000 * S;
	int allowed = 0;

	/* A burst of 10, then nothing within the same instant. */
	for (int i = 0; i < 100; i++)
		allowed += ratelimit_allow(&r, t, 10, S);
	CHECK_EQ(allowed, 10);
	CHECK_EQ(r.suppressed, 90);
	CHECK_EQ(ratelimit_ready(&r, t, 10, S), 0);
	CHECK_EQ(ratelimit_next_ns(&r, t, 10, S), t + S);
	/* One per second afterwards: 10000 events over 10 s let 10 through. */
	allowed = 0;
	for (int i = 1; i <= 10000; i++)
		allowed +=
		    ratelimit_allow(&r, t + (int64_t)i * S / 1000, 10, S);
	CHECK_EQ(allowed, 10);
	CHECK_EQ(ratelimit_take_suppressed(&r), 90 + 10000 - 10);
	CHECK_EQ(r.suppressed, 0);
	/* Half a period banks half a token: not enough. */
	t += 10 * S;
	CHECK_EQ(ratelimit_allow(&r, t + S / 2, 10, S), 0);
	CHECK_EQ(ratelimit_allow(&r, t + S, 10, S), 1);
	/* A long silence refills the burst, no more (and no overflow). */
	CHECK_EQ(ratelimit_full(&r, t + S, 10, S), 0);
	t = INT64_MAX / 2;
	CHECK_EQ(ratelimit_full(&r, t, 10, S), 1);
	allowed = 0;
	for (int i = 0; i < 50; i++)
		allowed += ratelimit_allow(&r, t, 10, S);
	CHECK_EQ(allowed, 10);
	/* Time going backwards refills nothing. */
	CHECK_EQ(ratelimit_allow(&r, t - 100 * S, 10, S), 0);
	CHECK_EQ(ratelimit_allow(&r, t, 10, S), 0);
	CHECK_EQ(ratelimit_allow(&r, t + S, 10, S), 1);
}

static void test_conn_limit(void)
{
	struct conn_limits l;

	/* The default soft limit: the table follows the descriptors. */
	conn_limits_init(&l, 1024, 500);
	CHECK_EQ(l.max_conns, 1024 - CONN_LIMIT_FD_SPARE);
	CHECK_EQ(l.per_uid, (1024 - CONN_LIMIT_FD_SPARE) / 4);
	/* A raised limit: the table's own size, a quarter per uid. */
	conn_limits_init(&l, 1048576, 500);
	CHECK_EQ(l.max_conns, 4096);
	CHECK_EQ(l.per_uid, 1024);
	/* Absurdly few descriptors still leave a usable table. */
	conn_limits_init(&l, 10, 500);
	CHECK(l.max_conns >= 2 * CONN_LIMIT_RESERVE);
	CHECK(l.per_uid >= 1);

	conn_limits_init(&l, 1048576, 500);
	CHECK_EQ(conn_limits_admit(&l, 1000, 0, 0, 0), CONN_ADMIT);
	CHECK_EQ(conn_limits_admit(&l, 1000, 0, 1023, 1023), CONN_ADMIT);
	CHECK_EQ(conn_limits_admit(&l, 1000, 0, 1024, 1024), CONN_UID_FULL);
	/* Another uid still gets in while the first holds its share. */
	CHECK_EQ(conn_limits_admit(&l, 1001, 0, 1024, 0), CONN_ADMIT);
	/* Root and the scheduler's uid have no share, and the reserve. */
	CHECK_EQ(conn_limits_admit(&l, 0, 0, 2000, 2000), CONN_ADMIT);
	CHECK_EQ(conn_limits_admit(&l, 500, 0, 4095, 3000), CONN_ADMIT);
	CHECK_EQ(conn_limits_admit(&l, 1002, 0, 4096 - CONN_LIMIT_RESERVE, 0),
	         CONN_TABLE_FULL);
	CHECK_EQ(conn_limits_admit(&l, 0, 0, 4096 - CONN_LIMIT_RESERVE, 0),
	         CONN_ADMIT);
	CHECK_EQ(conn_limits_admit(&l, 0, 0, 4096, 0), CONN_TABLE_FULL);
	/* Root in a pod (or maybe in one) takes a share like anyone. */
	CHECK_EQ(conn_limits_admit(&l, 0, 1, 1024, 1024), CONN_UID_FULL);
	CHECK_EQ(conn_limits_admit(&l, 0, 1, 4096 - CONN_LIMIT_RESERVE, 0),
	         CONN_TABLE_FULL);
	CHECK_EQ(conn_limits_exempt(&l, 0), 1);
	CHECK_EQ(conn_limits_exempt(&l, 500), 1);
	CHECK_EQ(conn_limits_exempt(&l, 1000), 0);
}

/* Root inside a pod is a tenant: an account of its own, rate-limited. */
static void test_root_in_pod_account(void)
{
	struct peer_accounts t = {0};
	struct peer_account *host = peer_account_get(&t, 0, 0);
	struct peer_account *pod = peer_account_get(&t, 0, 1);
	int logged = 0;

	CHECK(host && pod && host != pod && pod->in_pod == 1);
	CHECK(peer_account_get(&t, 0, 7) == pod); /* any non-zero: in a pod */
	host->exempt = 1; /* as server.c sets it, outside pods only */
	for (int i = 0; i < 1000; i++) {
		logged += peer_account_log_ok(pod, 5 * S);
		CHECK_EQ(peer_account_log_ok(host, 5 * S), 1);
	}
	CHECK_EQ(logged, RATELIMIT_BURST);
	CHECK_EQ(t.n, 2);
	peer_accounts_free(&t);
}

static void test_accounts(void)
{
	struct peer_accounts t = {0};
	struct peer_account *a = peer_account_get(&t, 1000, 0), *r;
	int64_t now = 5 * S;
	int logged = 0;

	CHECK(a != NULL);
	CHECK(peer_account_get(&t, 1000, 0) == a);
	r = peer_account_get(&t, 0, 0);
	r->exempt = 1;
	CHECK_EQ(t.n, 2);

	for (int i = 0; i < 1000; i++) {
		logged += peer_account_log_ok(a, now);
		CHECK_EQ(peer_account_log_ok(r, now), 1); /* root: never held */
	}
	CHECK_EQ(logged, RATELIMIT_BURST);
	CHECK_EQ(a->log.suppressed, 1000 - RATELIMIT_BURST);
	/* The count is reported (and the account kept) once a token is due;
	 * the tick says when. */
	CHECK_EQ(peer_accounts_tick(&t, now), now + S);
	CHECK_EQ(t.n, 1); /* root's: no connection, nothing to remember */
	CHECK_EQ(a->log.suppressed, 1000 - RATELIMIT_BURST);
	CHECK_EQ(peer_accounts_tick(&t, now + S), INT64_MAX);
	CHECK_EQ(a->log.suppressed, 0);
	CHECK_EQ(t.n, 1);
	/* A connection keeps its account; without one it is forgotten only
	 * once its bucket is full again, so reconnecting buys no burst. */
	a->nconns = 1;
	peer_accounts_tick(&t, now + 100 * S);
	CHECK_EQ(t.n, 1);
	a->nconns = 0;
	CHECK_EQ(peer_account_log_ok(a, now + 100 * S), 1);
	peer_accounts_tick(&t, now + 100 * S);
	CHECK_EQ(t.n, 1);
	CHECK(peer_account_get(&t, 1000, 0) == a);
	peer_accounts_tick(&t, now + 200 * S);
	CHECK_EQ(t.n, 0); /* idle and full again: nothing left to remember */
	peer_accounts_free(&t);
}

int main(void)
{
	test_cgroup_v2();
	test_cgroup_v1();
	test_cgroup_not_pods();
	test_cgroup_garbage_then_pod();
	test_proc_stat();
	test_groups();
	test_ratelimit();
	test_conn_limit();
	test_accounts();
	test_root_in_pod_account();
	return check_summary("test_peers");
}
