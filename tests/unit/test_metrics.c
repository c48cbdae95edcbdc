/*
 * test_metrics.c - the Prometheus page (scheduler/metrics.c) from a fixed
 * registry and counters: exact sample lines per GPU and per client,
 * cumulative histogram buckets, label escaping of hostile names, and a
 * client's series gone once it leaves (cardinality bounded).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "metrics.h"
#include "metrics_counters.h"
#include "registry.h"

#define MS(x) ((int64_t)(x)*1000000)
#define UUID_A "GPU-00000000-0000-0000-0000-000000000001"
/* Empty pod, namespace and container labels are left out. */
#define CL1 "gpu=\"" UUID_A "\",client=\"1\""
#define CL2                                                                    \
	"gpu=\"" UUID_A "\",client=\"2\",pod=\"trainer-0\",namespace=\"ml\","  \
	"container=\"main\""

static int has(const char *page, const char *line)
{
	char want[1024];
	const char *p = page;
	size_t n;

	n = (size_t)snprintf(want, sizeof(want), "%s\n", line);
	/* At the start of a line. */
	while ((p = strstr(p, want))) {
		if (p == page || p[-1] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

/* One GPU (16 GiB, serial): client 1 holds it with 1 GiB and a 40% core
 * limit; client 2 (in a pod, hostile program name) waits with 20 GiB. */
static void build(struct sched_registry *r)
{
	struct policy_out out = {.n = 0};
	struct sched_gpu *a;
	struct sched_client *c1, *c2;

	registry_init(r, 2000, 5000);
	r->mode = POLICY_MODE_SERIAL;
	r->host_swap_budget = 8ull << 30;
	a = registry_gpu_add(r, UUID_A, 16ull << 30);
	c1 = registry_client_new(r);
	c2 = registry_client_new(r);
	c1->pid = 100;
	snprintf(c1->comm, sizeof(c1->comm), "gpuload");
	c1->limits.core_pct = 40;
	c1->limits.memory_bytes = 2ull << 30;
	c2->pid = 200;
	snprintf(c2->comm, sizeof(c2->comm), "b\"a\\d\n\xff");
	snprintf(c2->pod_namespace, sizeof(c2->pod_namespace), "ml");
	snprintf(c2->pod_name, sizeof(c2->pod_name), "trainer-0");
	snprintf(c2->container, sizeof(c2->container), "main");
	registry_client_attach(c1, a)->lock_grants = 1;
	registry_client_attach(c2, a);
	policy_register(&a->policy, 1, 0);
	policy_register(&a->policy, 2, 0);
	policy_set_footprint(&a->policy, 1, 1ull << 30, 0, 0, 0, &out);
	policy_set_footprint(&a->policy, 2, 20ull << 30, 0, 0, 0, &out);
	policy_request(&a->policy, 1, MS(1000), &out);
	policy_request(&a->policy, 2, MS(1500), &out);
	bill_init(&a->bill, 0, 0);
	bill_add(&a->bill, 1, 40);
	bill_add(&a->bill, 2, 0);
	a->metered = 1;
}

static void test_page(void)
{
	struct sched_registry r;
	struct metrics_counters mc = {0};
	struct status_buf b = {0};

	build(&r);
	metrics_message(&mc, NVS_MSG_HELLO, 3000);
	metrics_message(&mc, NVS_MSG_HELLO, 30000);
	metrics_message(&mc, NVS_MSG_REQ_LOCK, 2000000);
	metrics_message(&mc, 999, 1);
	metrics_protocol_error(&mc);
	metrics_connection_refused(&mc);
	metrics_connection_refused(&mc);
	/* Client 1: granted after 3 ms, held 1.2 s, granted again (held
	 * now); throttled 0.5 s, then again since t=2.8 s. */
	metrics_lock_granted(&mc, 1, UUID_A, MS(3), MS(100));
	metrics_lock_ended(&mc, 1, UUID_A, MS(1300));
	metrics_lock_granted(&mc, 1, UUID_A, 0, MS(1400));
	metrics_throttle(&mc, 1, UUID_A, 1, MS(2000));
	metrics_throttle(&mc, 1, UUID_A, 0, MS(2500));
	metrics_throttle(&mc, 1, UUID_A, 1, MS(2800));
	metrics_swapped(&mc, UUID_A, 0, 1ull << 30);
	metrics_swapped(&mc, UUID_A, 1, 512ull << 20);
	metrics_swapped(&mc, UUID_A, 1, 512ull << 20);

	CHECK_EQ(metrics_render(&r, &mc, MS(3000), &b), 0);
	CHECK(has(b.p, "# TYPE nvshare_scheduler_messages_total counter"));
	CHECK(has(b.p, "nvshare_scheduler_messages_total{type=\"HELLO\"} 2"));
	CHECK(
	    has(b.p, "nvshare_scheduler_messages_total{type=\"REQ_LOCK\"} 1"));
	CHECK(has(b.p, "nvshare_scheduler_messages_total{type=\"OTHER\"} 1"));
	CHECK(has(b.p, "nvshare_scheduler_protocol_errors_total 1"));
	CHECK(has(b.p, "nvshare_scheduler_connections_refused_total 2"));
	CHECK(has(b.p, "nvshare_scheduler_clients 2"));
	/* Buckets are cumulative: 3 us <= 5 us, 30 us <= 50 us, 2 ms <= 5
	 * ms, 1 ns <= 1 us. */
	CHECK(has(b.p, "nvshare_scheduler_event_handling_seconds_bucket{le="
	               "\"1e-06\"} 1"));
	CHECK(has(b.p, "nvshare_scheduler_event_handling_seconds_bucket{le="
	               "\"5e-06\"} 2"));
	CHECK(has(b.p, "nvshare_scheduler_event_handling_seconds_bucket{le="
	               "\"5e-05\"} 3"));
	CHECK(has(b.p, "nvshare_scheduler_event_handling_seconds_bucket{le="
	               "\"0.001\"} 3"));
	CHECK(has(b.p, "nvshare_scheduler_event_handling_seconds_bucket{le="
	               "\"+Inf\"} 4"));
	CHECK(has(b.p, "nvshare_scheduler_event_handling_seconds_count 4"));
	CHECK(has(b.p,
	          "nvshare_scheduler_event_handling_seconds_sum 0.002033001"));
	CHECK(has(b.p, "nvshare_scheduler_host_swap_budget_bytes 8589934592"));

	CHECK(has(b.p, "nvshare_gpu_capacity_bytes{gpu=\"" UUID_A
	               "\"} 17179869184"));
	CHECK(has(b.p, "nvshare_gpu_virtual_capacity_bytes{gpu=\"" UUID_A
	               "\"} 25769803776"));
	CHECK(has(b.p, "nvshare_gpu_committed_bytes{gpu=\"" UUID_A
	               "\"} 22548578304"));
	CHECK(has(b.p,
	          "nvshare_gpu_resident_bytes{gpu=\"" UUID_A "\"} 1073741824"));
	CHECK(has(b.p, "nvshare_gpu_clients{gpu=\"" UUID_A
	               "\",state=\"running\"} 1"));
	CHECK(has(b.p, "nvshare_gpu_clients{gpu=\"" UUID_A
	               "\",state=\"waiting\"} 1"));
	CHECK(has(b.p,
	          "nvshare_gpu_clients{gpu=\"" UUID_A "\",state=\"idle\"} 0"));
	CHECK(
	    has(b.p, "nvshare_gpu_mode{gpu=\"" UUID_A "\",mode=\"serial\"} 1"));
	CHECK(has(b.p, "nvshare_gpu_mode{gpu=\"" UUID_A "\",mode=\"auto\"} 0"));
	CHECK(has(b.p, "nvshare_gpu_time_slice_seconds{gpu=\"" UUID_A
	               "\"} 2.000000000"));
	CHECK(has(b.p, "nvshare_gpu_swaps_total{gpu=\"" UUID_A
	               "\",direction=\"in\"} 2"));
	CHECK(has(b.p, "nvshare_gpu_swap_bytes_total{gpu=\"" UUID_A
	               "\",direction=\"out\"} 1073741824"));
	CHECK(has(b.p,
	          "nvshare_gpu_swap_bandwidth_bytes_per_second{gpu=\"" UUID_A
	          "\",direction=\"out\"} 8e+09"));

	CHECK(has(b.p, "nvshare_client_state{" CL1 ",state=\"holding\"} 1"));
	CHECK(has(b.p, "nvshare_client_state{" CL2 ",state=\"waiting\"} 1"));
	CHECK(has(b.p, "nvshare_client_state{" CL2 ",state=\"holding\"} 0"));
	CHECK(has(b.p, "nvshare_client_wait_seconds{" CL2 "} 1.500000000"));
	CHECK(has(b.p, "nvshare_client_wait_seconds{" CL1 "} 0.000000000"));
	CHECK(has(b.p, "nvshare_client_memory_bytes{" CL2 "} 21474836480"));
	CHECK(has(b.p, "nvshare_client_memory_limit_bytes{client=\"1\"} "
	               "2147483648"));
	CHECK(has(b.p, "nvshare_client_core_limit_ratio{client=\"1\"} 0.4"));
	CHECK(
	    has(b.p, "nvshare_client_core_effective_limit_ratio{" CL1 "} 0.4"));
	CHECK(!strstr(b.p, "nvshare_client_core_effective_limit_ratio{" CL2));
	CHECK(has(b.p, "nvshare_client_throttled_seconds_total{" CL1
	               "} 0.700000000"));
	CHECK(has(b.p, "nvshare_client_lock_grants_total{" CL1 "} 1"));
	/* Waits: 3 ms and 0; hold: 1.2 s (the lock held now is not yet
	 * observed). */
	CHECK(has(b.p, "nvshare_client_lock_wait_seconds_bucket{" CL1
	               ",le=\"0.001\"} 1"));
	CHECK(has(b.p, "nvshare_client_lock_wait_seconds_bucket{" CL1
	               ",le=\"0.01\"} 2"));
	CHECK(has(b.p, "nvshare_client_lock_wait_seconds_count{" CL1 "} 2"));
	CHECK(has(b.p, "nvshare_client_lock_hold_seconds_bucket{" CL1
	               ",le=\"1\"} 0"));
	CHECK(has(b.p, "nvshare_client_lock_hold_seconds_bucket{" CL1
	               ",le=\"2.5\"} 1"));
	CHECK(has(b.p,
	          "nvshare_client_lock_hold_seconds_sum{" CL1 "} 1.200000000"));
	CHECK(has(b.p, "nvshare_client_lock_hold_seconds_count{" CL2 "} 0"));
	/* The hostile name: quote and backslash escaped, the rest '?'. */
	CHECK(strstr(b.p, "comm=\"b\\\"a\\\\d??\"") != NULL);
	CHECK(has(b.p, "nvshare_client_info{client=\"2\",pod=\"trainer-0\","
	               "namespace=\"ml\",container=\"main\",pid=\"200\","
	               "uid=\"0\",comm=\"b\\\"a\\\\d??\"} 1"));
	status_buf_free(&b);

	/* Client 2 leaves: none of its series remain. */
	{
		struct sched_client *c2 = registry_client_find(&r, 2);
		struct policy_out out = {.n = 0};

		policy_disconnect(&r.gpus[0]->policy, 2, MS(3100), &out);
		bill_remove(&r.gpus[0]->bill, 2);
		metrics_client_gone(&mc, 2);
		registry_client_remove(&r, c2);
	}
	CHECK_EQ(metrics_render(&r, &mc, MS(3200), &b), 0);
	CHECK(strstr(b.p, "client=\"2\"") == NULL);
	CHECK(strstr(b.p, "client=\"1\"") != NULL);
	CHECK(has(b.p, "nvshare_scheduler_clients 1"));
	status_buf_free(&b);

	/* A client the hooks saw but the registry dropped is collected. */
	metrics_lock_granted(&mc, 7, UUID_A, 0, MS(1));
	CHECK(metrics_client_gpu_of(&mc, 7, UUID_A) != NULL);
	metrics_counters_gc(&mc, &r);
	CHECK(metrics_client_gpu_of(&mc, 7, UUID_A) == NULL);
	CHECK(metrics_client_gpu_of(&mc, 1, UUID_A) != NULL);
	CHECK(metrics_gpu_of(&mc, UUID_A) != NULL);
	metrics_swapped(&mc, "GPU-made-up", 0, 1);
	metrics_counters_gc(&mc, &r);
	CHECK(metrics_gpu_of(&mc, "GPU-made-up") == NULL);

	metrics_counters_free(&mc);
	registry_destroy(&r);
}

int main(void)
{
	test_page();
	return check_summary("test_metrics");
}
