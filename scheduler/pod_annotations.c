/*
 * pod_annotations.c - see pod_annotations.h.
 */
#include "pod_annotations.h"

#include <stdio.h>

#include "parse.h"
#include "proto.h"
#include "settings.h"

static int too_long(const struct kube_annotation *a, char *why, size_t n)
{
	if (!a->too_long)
		return 0;
	snprintf(why, n, "value longer than %d characters",
	         KUBE_ANNOTATION_SIZE - 1);
	return 1;
}

int pod_annotation_memory(const struct kube_annotation *a, uint64_t *bytes,
                          char *why, size_t n)
{
	uint64_t v;

	if (too_long(a, why, n))
		return -1;
	if (a->value[0] == '-') {
		snprintf(why, n, "a memory limit cannot be negative");
		return -1;
	}
	if (nvs_parse_size_exact(a->value, &v)) {
		snprintf(why, n,
		         "not a size in whole bytes (write it like 4Gi, 512Mi "
		         "or 1073741824)");
		return -1;
	}
	if (v == 0) {
		snprintf(why, n,
		         "a memory limit must be above zero (remove "
		         "the annotation for no limit)");
		return -1;
	}
	/* The range of nvsharectl set --pod: one path, one rule. */
	if (!nvs_ctl_limit_valid(NVS_CTL_KEY_MEMORY_LIMIT, v)) {
		snprintf(why, n, "larger than any memory limit (%llu bytes)",
		         (unsigned long long)NVS_MEMORY_LIMIT_SET_MAX);
		return -1;
	}
	*bytes = v;
	return 0;
}

int pod_annotation_core(const struct kube_annotation *a, uint32_t *pct,
                        char *why, size_t n)
{
	uint64_t v;

	if (too_long(a, why, n))
		return -1;
	if (nvs_parse_u64(a->value, 1, NVS_CORE_LIMIT_MAX, &v) ||
	    !nvs_ctl_limit_valid(NVS_CTL_KEY_CORE_LIMIT, v)) {
		snprintf(why, n, "not a whole percentage from 1 to 100");
		return -1;
	}
	*pct = nvs_core_limit_in_force(v);
	return 0;
}
