/*
 * quota.h - the quotas the scheduler keeps per client and per pod.
 *
 * A client starts with the limits of its environment (it reports them with
 * LIMITS). Limits set for a pod (nvsharectl --pod, later its annotations)
 * override those of every process of the pod, present and future; limits
 * set for one client override its own until it exits. The client enforces
 * them; the scheduler decides which apply and tells it. Plain data and pure
 * functions: no I/O.
 */
#ifndef NVSHARE_QUOTA_H
#define NVSHARE_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "cgroup_pod.h"
#include "proto.h"

#define QUOTA_MAX_PODS 4096 /* pods with settings kept at once */

/* Where a limit in force came from (docs/kubernetes.md, "Precedence"). */
enum quota_origin {
	QUOTA_FROM_OWN = 0,    /* the process's environment */
	QUOTA_FROM_ANNOTATION, /* its pod's annotation */
	QUOTA_FROM_POD_CTL,    /* nvsharectl set --pod */
	QUOTA_FROM_CLIENT_CTL, /* nvsharectl set --client */
};

/* What was set for a pod; a field not set leaves the process's own. Pod
 * settings come from nvsharectl and from the pod's annotations through
 * the same path; the later of the two wins, and each field keeps its
 * origin so that removing an annotation clears only what it had set. */
struct quota_pod {
	char pod_namespace[NVS_POD_NAMESPACE_SIZE];
	char pod_name[NVS_POD_NAME_SIZE];
	int has_memory;        /* memory_bytes was set (0: set to none) */
	uint64_t memory_bytes; /* 0: no limit */
	int has_core;          /* core_pct was set (0: set to none) */
	uint32_t core_pct;     /* 0: no limit */
	enum quota_origin memory_origin; /* ANNOTATION or POD_CTL when set */
	enum quota_origin core_origin;
	/* The UID of the pod whose annotations set the fields of origin
	 * ANNOTATION: a pod deleted after another of the same name appeared
	 * (a StatefulSet's, seen in one relist) clears nothing of the new. */
	char annotation_uid[CGROUP_POD_UID_SIZE];
};

struct quota_table {
	struct quota_pod *pods; /* npods entries, cap allocated */
	size_t npods;
	size_t cap;
};

void quota_table_free(struct quota_table *t);

/* A pod's namespace as Kubernetes reads it: empty (or NULL) means
 * "default". */
const char *quota_namespace(const char *ns);

/* The pod's entry, or NULL. An empty namespace means "default". */
struct quota_pod *quota_pod_find(const struct quota_table *t, const char *ns,
                                 const char *name);
/* The pod's entry, created (nothing set) if new. NULL when the table holds
 * QUOTA_MAX_PODS pods or memory ran out. */
struct quota_pod *quota_pod_get(struct quota_table *t, const char *ns,
                                const char *name);

/* Drops a pod's entry (p points into t). */
void quota_pod_remove(struct quota_table *t, struct quota_pod *p);

/* "environment", "annotation", "nvsharectl-pod", "nvsharectl-client". */
const char *quota_origin_name(enum quota_origin o);

/* The limits that apply to a process that asked for `own`, given its pod's
 * settings (pod may be NULL). */
struct nvs_limits quota_effective(const struct nvs_limits *own,
                                  const struct quota_pod *pod);

/* Validates a CTL_SET_CLIENT value for key and turns it into the limits
 * field's value (0: no limit). Returns 0, or -1 with a reason in err. */
int quota_value_of(uint32_t key, int64_t value, uint64_t *out, char *err,
                   size_t errlen);

/* A limit as people read it: "1.0 GiB" (key NVS_CTL_KEY_MEMORY_LIMIT),
 * "40%" (NVS_CTL_KEY_CORE_LIMIT), or none_text for 0 (no limit). */
void quota_limit_text(uint32_t key, uint64_t value, const char *none_text,
                      char *buf, size_t len);

/* 1 if the two differ in any limit. */
int quota_differ(const struct nvs_limits *a, const struct nvs_limits *b);

#endif /* NVSHARE_QUOTA_H */
