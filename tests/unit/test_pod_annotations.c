/*
 * test_pod_annotations.c - the pod annotations' syntax (every value
 * docs/kubernetes.md lists as accepted or refused) and the pod table.
 */
#include "check.h"
#include "pod_annotations.h"
#include "pod_table.h"

#include <stdio.h>
#include <string.h>

static struct kube_annotation ann(const char *v)
{
	struct kube_annotation a = {.present = 1};

	snprintf(a.value, sizeof(a.value), "%s", v);
	return a;
}

static void memory_ok(const char *v, uint64_t want)
{
	struct kube_annotation a = ann(v);
	uint64_t got = 0;
	char why[160] = "";
	int rc = pod_annotation_memory(&a, &got, why, sizeof(why));

	if (rc || got != want)
		fprintf(stderr, "memory \"%s\": rc %d got %llu (%s)\n", v, rc,
		        (unsigned long long)got, why);
	CHECK(rc == 0 && got == want);
}

static void memory_bad(const char *v)
{
	struct kube_annotation a = ann(v);
	uint64_t got = 0;
	char why[160] = "";

	if (pod_annotation_memory(&a, &got, why, sizeof(why)) == 0)
		fprintf(stderr, "memory \"%s\" accepted\n", v);
	else
		CHECK(why[0] != 0); /* a reason for the log and the Event */
	CHECK(pod_annotation_memory(&a, &got, why, sizeof(why)) == -1);
}

static void core_ok(const char *v, uint32_t want)
{
	struct kube_annotation a = ann(v);
	uint32_t got = 77;
	char why[160] = "";

	CHECK(pod_annotation_core(&a, &got, why, sizeof(why)) == 0);
	CHECK_EQ(got, want);
}

static void core_bad(const char *v)
{
	struct kube_annotation a = ann(v);
	uint32_t got = 0;
	char why[160] = "";

	if (pod_annotation_core(&a, &got, why, sizeof(why)) == 0)
		fprintf(stderr, "core \"%s\" accepted\n", v);
	CHECK(pod_annotation_core(&a, &got, why, sizeof(why)) == -1);
	CHECK(strstr(why, "1 to 100") != NULL);
}

static void syntax(void)
{
	memory_ok("4Gi", 4ull << 30);
	memory_ok("512Mi", 512ull << 20);
	memory_ok("1.5Gi", 3ull << 29);
	memory_ok("1500M", 1500000000ull);
	memory_ok("1073741824", 1073741824ull);
	memory_ok("4GiB", 4ull << 30);
	memory_ok("100k", 100000);
	memory_ok("0.5Ki", 512);
	memory_bad("lots");
	memory_bad("0");
	memory_bad("0Gi");
	memory_bad("-1Gi");
	memory_bad("1.5");
	memory_bad("0.1Ki");
	memory_bad("4 Gi");
	memory_bad("1e9");
	memory_bad("4gi");
	memory_bad("");
	memory_bad("+4Gi");
	memory_bad("18446744073709551615Ki");
	memory_ok("9223372036854775807", 9223372036854775807ull);
	memory_bad("9223372036854775808"); /* above what nvsharectl sets */

	core_ok("1", 1);
	core_ok("40", 40);
	core_ok("99", 99);
	core_ok("100", 0); /* the whole GPU: no limit */
	core_bad("250");
	core_bad("101");
	core_bad("0");
	core_bad("-5");
	core_bad("40.5");
	core_bad("40%");
	core_bad("+40");
	core_bad("");
	core_bad(" 40");

	/* A value too long to keep is refused with that reason. */
	struct kube_annotation a = {.present = 1, .too_long = 1};
	char why[160];
	uint64_t b;
	uint32_t p;
	CHECK(pod_annotation_memory(&a, &b, why, sizeof(why)) == -1);
	CHECK(strstr(why, "longer") != NULL);
	CHECK(pod_annotation_core(&a, &p, why, sizeof(why)) == -1);
	/* A short reason buffer truncates, never overflows. */
	char tiny[8];
	a = ann("lots");
	CHECK(pod_annotation_memory(&a, &b, tiny, sizeof(tiny)) == -1);
	CHECK(strlen(tiny) == sizeof(tiny) - 1);
}

static void table(void)
{
	struct pod_table t = {0};
	char uid[CGROUP_POD_UID_SIZE];
	struct pod_entry *e;

	CHECK(pod_table_get(&t, "") == NULL);
	CHECK(pod_table_find(&t, "") == NULL);
	for (int i = 0; i < POD_TABLE_MAX; i++) {
		snprintf(uid, sizeof(uid), "00000000-0000-0000-0000-%012d", i);
		e = pod_table_get(&t, uid);
		CHECK(e != NULL);
		if (e)
			snprintf(e->pod_name, sizeof(e->pod_name), "p%d", i);
	}
	CHECK_EQ(t.n, POD_TABLE_MAX);
	CHECK(pod_table_get(&t, "ffffffff-0000-0000-0000-000000000000") ==
	      NULL); /* full */
	e = pod_table_find(&t, "00000000-0000-0000-0000-000000000007");
	CHECK(e && strcmp(e->pod_name, "p7") == 0);
	/* Getting an existing pod keeps its entry. */
	CHECK(pod_table_get(&t, "00000000-0000-0000-0000-000000000007") == e);
	pod_table_remove(&t, e);
	CHECK_EQ(t.n, POD_TABLE_MAX - 1);
	CHECK(pod_table_find(&t, "00000000-0000-0000-0000-000000000007") ==
	      NULL);
	e = pod_table_find(&t, "00000000-0000-0000-0000-000000000008");
	CHECK(e && strcmp(e->pod_name, "p8") == 0);
	CHECK(pod_table_get(&t, "ffffffff-0000-0000-0000-000000000000") !=
	      NULL); /* room again */
	pod_table_free(&t);
	CHECK_EQ(t.n, 0);

	struct kube_annotation x = ann("40"), y = ann("40"), z = ann("41");
	struct kube_annotation none = {0};
	CHECK(kube_annotation_same(&x, &y));
	CHECK(!kube_annotation_same(&x, &z));
	CHECK(!kube_annotation_same(&x, &none));
}

int main(void)
{
	syntax();
	table();
	return check_summary("test_pod_annotations");
}
