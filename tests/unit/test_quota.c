/*
 * test_quota.c - the scheduler's quota bookkeeping (scheduler/quota.c):
 * which limits apply to a process, the validation of nvsharectl values,
 * and the table of pod settings.
 */
#include "check.h"
#include "quota.h"

#include <stdio.h>

static void test_effective(void)
{
	struct nvs_limits own = {.memory_bytes = 8ull << 30, .core_pct = 50};
	struct quota_pod pod = {.has_memory = 1, .memory_bytes = 1ull << 30};
	struct quota_pod none_set = {0};
	struct nvs_limits l;

	l = quota_effective(&own, NULL);
	CHECK_EQ(l.memory_bytes, 8ull << 30);
	CHECK_EQ(l.core_pct, 50);
	l = quota_effective(&own, &none_set);
	CHECK_EQ(l.memory_bytes, 8ull << 30);
	/* A pod's memory setting overrides, its unset core limit does not. */
	l = quota_effective(&own, &pod);
	CHECK_EQ(l.memory_bytes, 1ull << 30);
	CHECK_EQ(l.core_pct, 50);
	/* Set to none: no limit, whatever the process asked. */
	pod.has_core = 1;
	pod.core_pct = 0;
	l = quota_effective(&own, &pod);
	CHECK_EQ(l.core_pct, 0);
	CHECK(!quota_differ(&l, &l));
	CHECK(quota_differ(&l, &own));
}

static void test_values(void)
{
	char err[128];
	uint64_t v = 123;

	CHECK_EQ(
	    quota_value_of(NVS_CTL_KEY_MEMORY_LIMIT, 1, &v, err, sizeof(err)),
	    0);
	CHECK_EQ(v, 1);
	CHECK_EQ(quota_value_of(NVS_CTL_KEY_MEMORY_LIMIT, NVS_CTL_LIMIT_NONE,
	                        &v, err, sizeof(err)),
	         0);
	CHECK_EQ(v, 0);
	v = 7;
	CHECK_EQ(
	    quota_value_of(NVS_CTL_KEY_MEMORY_LIMIT, 0, &v, err, sizeof(err)),
	    -1);
	CHECK_STR(err, "memory limit must be at least 1 byte, or none; got 0");
	CHECK_EQ(v, 7); /* refused: nothing written */
	CHECK_EQ(
	    quota_value_of(NVS_CTL_KEY_MEMORY_LIMIT, -5, &v, err, sizeof(err)),
	    -1);
	CHECK_EQ(
	    quota_value_of(NVS_CTL_KEY_CORE_LIMIT, 30, &v, err, sizeof(err)),
	    0);
	CHECK_EQ(v, 30);
	CHECK_EQ(
	    quota_value_of(NVS_CTL_KEY_CORE_LIMIT, 100, &v, err, sizeof(err)),
	    0);
	CHECK_EQ(v, 0); /* the whole GPU is no limit */
	CHECK_EQ(
	    quota_value_of(NVS_CTL_KEY_CORE_LIMIT, 101, &v, err, sizeof(err)),
	    -1);
	CHECK_STR(err, "core limit must be 1..100 percent, or none; got 101");
	CHECK_EQ(
	    quota_value_of(NVS_CTL_KEY_CORE_LIMIT, 0, &v, err, sizeof(err)),
	    -1);
	CHECK_EQ(quota_value_of(NVS_CTL_KEY_MODE, 1, &v, err, sizeof(err)), -1);
}

static void test_pods(void)
{
	struct quota_table t = {0};
	struct quota_pod *a, *b;
	char name[32];

	CHECK(quota_pod_find(&t, "ns", "a") == NULL);
	a = quota_pod_get(&t, "ns", "a");
	CHECK(a != NULL);
	CHECK(quota_pod_get(&t, "ns", "a") == a);
	CHECK(quota_pod_find(&t, "ns", "a") == a);
	CHECK(quota_pod_find(&t, "other", "a") == NULL);
	/* No namespace means "default", on both sides. */
	b = quota_pod_get(&t, "", "b");
	CHECK(b != NULL);
	CHECK_STR(b->pod_namespace, "default");
	CHECK(quota_pod_find(&t, "default", "b") != NULL);
	CHECK(quota_pod_find(&t, NULL, "b") != NULL);
	CHECK(quota_pod_get(&t, "ns", "") == NULL);
	/* Full: refused, the others kept. */
	for (int i = 2; i < QUOTA_MAX_PODS; i++) {
		snprintf(name, sizeof(name), "pod-%d", i);
		CHECK(quota_pod_get(&t, "ns", name) != NULL);
	}
	CHECK_EQ(t.npods, QUOTA_MAX_PODS);
	CHECK(quota_pod_get(&t, "ns", "one-too-many") == NULL);
	CHECK(quota_pod_find(&t, "ns", "pod-4000") != NULL);
	quota_table_free(&t);
	CHECK_EQ(t.npods, 0);
}

int main(void)
{
	test_effective();
	test_values();
	test_pods();
	return check_summary("test_quota");
}
