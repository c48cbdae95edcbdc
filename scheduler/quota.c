/*
 * quota.c - see quota.h.
 */
#include "quota.h"

#include "parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *quota_namespace(const char *ns)
{
	return ns && ns[0] ? ns : "default";
}

void quota_table_free(struct quota_table *t)
{
	free(t->pods);
	memset(t, 0, sizeof(*t));
}

struct quota_pod *quota_pod_find(const struct quota_table *t, const char *ns,
                                 const char *name)
{
	ns = quota_namespace(ns);
	for (size_t i = 0; i < t->npods; i++)
		if (strcmp(t->pods[i].pod_name, name) == 0 &&
		    strcmp(t->pods[i].pod_namespace, ns) == 0)
			return &t->pods[i];
	return NULL;
}

struct quota_pod *quota_pod_get(struct quota_table *t, const char *ns,
                                const char *name)
{
	struct quota_pod *p = quota_pod_find(t, ns, name);

	if (p)
		return p;
	if (t->npods >= QUOTA_MAX_PODS || !name[0] ||
	    strlen(name) >= sizeof(p->pod_name) ||
	    strlen(quota_namespace(ns)) >= sizeof(p->pod_namespace))
		return NULL;
	if (t->npods == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct quota_pod *n = realloc(t->pods, ncap * sizeof(*n));
		if (!n)
			return NULL;
		t->pods = n;
		t->cap = ncap;
	}
	p = &t->pods[t->npods++];
	memset(p, 0, sizeof(*p));
	snprintf(p->pod_namespace, sizeof(p->pod_namespace), "%s",
	         quota_namespace(ns));
	snprintf(p->pod_name, sizeof(p->pod_name), "%s", name);
	return p;
}

void quota_pod_remove(struct quota_table *t, struct quota_pod *p)
{
	size_t i = (size_t)(p - t->pods);

	if (i >= t->npods)
		return;
	t->pods[i] = t->pods[--t->npods];
}

const char *quota_origin_name(enum quota_origin o)
{
	switch (o) {
	case QUOTA_FROM_ANNOTATION: return "annotation";
	case QUOTA_FROM_POD_CTL: return "nvsharectl-pod";
	case QUOTA_FROM_CLIENT_CTL: return "nvsharectl-client";
	case QUOTA_FROM_OWN: break;
	}
	return "environment";
}

struct nvs_limits quota_effective(const struct nvs_limits *own,
                                  const struct quota_pod *pod)
{
	struct nvs_limits l = *own;

	if (pod && pod->has_memory)
		l.memory_bytes = pod->memory_bytes;
	if (pod && pod->has_core)
		l.core_pct = pod->core_pct;
	return l;
}

int quota_value_of(uint32_t key, int64_t value, uint64_t *out, char *err,
                   size_t errlen)
{
	if (value == NVS_CTL_LIMIT_NONE) {
		*out = 0;
		return 0;
	}
	if (value >= 0 && nvs_ctl_limit_valid(key, (uint64_t)value)) {
		*out = key == NVS_CTL_KEY_CORE_LIMIT
		           ? nvs_core_limit_in_force((uint64_t)value)
		           : (uint64_t)value;
		return 0;
	}
	switch (key) {
	case NVS_CTL_KEY_MEMORY_LIMIT:
		snprintf(err, errlen,
		         "memory limit must be at least %d byte, or none; got "
		         "%lld",
		         NVS_MEMORY_LIMIT_MIN, (long long)value);
		return -1;
	case NVS_CTL_KEY_CORE_LIMIT:
		snprintf(err, errlen,
		         "core limit must be 1..%d percent, or none; got %lld",
		         NVS_CORE_LIMIT_MAX, (long long)value);
		return -1;
	}
	snprintf(err, errlen, "key %u is not a limit", key);
	return -1;
}

void quota_limit_text(uint32_t key, uint64_t value, const char *none_text,
                      char *buf, size_t len)
{
	if (value == 0)
		snprintf(buf, len, "%s", none_text);
	else if (key == NVS_CTL_KEY_MEMORY_LIMIT)
		nvs_format_size(value, buf, len);
	else
		snprintf(buf, len, "%llu%%", (unsigned long long)value);
}

int quota_differ(const struct nvs_limits *a, const struct nvs_limits *b)
{
	return a->memory_bytes != b->memory_bytes || a->core_pct != b->core_pct;
}
