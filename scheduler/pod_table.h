/*
 * pod_table.h - the node's pods as the Kubernetes watcher last reported
 * them (kube_watch.h), kept by the event loop: by UID, each pod's
 * namespace and name (what a process's kernel pod UID maps to) and the
 * state of its two nvshare annotations: the value last seen, and whether
 * it was refused and why (shown in status). Plain data, no I/O.
 */
#ifndef NVSHARE_POD_TABLE_H
#define NVSHARE_POD_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "kube_types.h"

#define POD_TABLE_MAX 4096   /* pods kept at once (a node runs ~110) */
#define POD_REFUSAL_SIZE 160 /* why a value was refused */

struct pod_annotation_state {
	struct kube_annotation seen; /* as the pod has it now */
	int refused;                 /* seen was refused: the last good
	                                value (or none) stays in force */
	char reason[POD_REFUSAL_SIZE];
};

struct pod_entry {
	char uid[CGROUP_POD_UID_SIZE];     /* as the kernel's cgroups name it */
	char api_uid[CGROUP_POD_UID_SIZE]; /* metadata.uid (a static pod's
	                                      mirror differs): for Events */
	char pod_namespace[NVS_POD_NAMESPACE_SIZE];
	char pod_name[NVS_POD_NAME_SIZE];
	struct pod_annotation_state memory; /* KUBE_ANNOTATION_MEMORY */
	struct pod_annotation_state core;   /* KUBE_ANNOTATION_CORE */
};

struct pod_table {
	struct pod_entry *pods; /* n entries, cap allocated, unordered */
	size_t n;
	size_t cap;
};

void pod_table_free(struct pod_table *t);
struct pod_entry *pod_table_find(const struct pod_table *t, const char *uid);
/* The entry for uid, created (zeroed but for uid) if new. NULL when the
 * table holds POD_TABLE_MAX pods or memory ran out. */
struct pod_entry *pod_table_get(struct pod_table *t, const char *uid);
void pod_table_remove(struct pod_table *t, struct pod_entry *e);

#endif /* NVSHARE_POD_TABLE_H */
