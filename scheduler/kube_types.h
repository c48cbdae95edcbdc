/*
 * kube_types.h - what the Kubernetes watcher and the scheduler's loop hand
 * each other (kube_watch.h): the watcher's settings, a pod's facts as the
 * API server has them, a change to them, a Warning Event to post. Plain
 * data, so that the watcher's pure parts (kube_cache.h, kube_decode.h,
 * kube_events.h, kube_config.h) need nothing of the thread.
 */
#ifndef NVSHARE_KUBE_TYPES_H
#define NVSHARE_KUBE_TYPES_H

#include <stdint.h>
#include <string.h>

#include "cgroup_pod.h"
#include "proto.h"

#define KUBE_URL_MAX 512
#define KUBE_PATH_MAX 4096
#define KUBE_NODE_NAME_SIZE 254   /* a DNS subdomain, with terminator */
#define KUBE_ANNOTATION_SIZE 64   /* longer values arrive as too_long */
#define KUBE_EVENT_TEXT_SIZE 512  /* an Event's note */
#define KUBE_EVENT_REASON_SIZE 64 /* an Event's reason (CamelCase) */

#define KUBE_ANNOTATION_MEMORY "nvshare.com/gpu-memory-limit"
#define KUBE_ANNOTATION_CORE "nvshare.com/gpu-core-limit"
/* On a static pod's mirror: the static pod's config hash (its cgroup's). */
#define KUBE_ANNOTATION_MIRROR "kubernetes.io/config.mirror"

struct kube_watch_config {
	char api_url[KUBE_URL_MAX];     /* https://host:port, no path */
	char token_file[KUBE_PATH_MAX]; /* re-read before each request */
	char ca_file[KUBE_PATH_MAX];    /* the server's certificate must
	                                   chain to it and name the host */
	char node_name[KUBE_NODE_NAME_SIZE];
};

/* One annotation's raw value, as the pod has it. */
struct kube_annotation {
	int present;  /* the pod has the annotation */
	int too_long; /* its value has KUBE_ANNOTATION_SIZE bytes or more */
	char value[KUBE_ANNOTATION_SIZE]; /* "" when too_long */
};

/* 1 if two values are the same (presence and text). */
static inline int kube_annotation_same(const struct kube_annotation *a,
                                       const struct kube_annotation *b)
{
	return a->present == b->present && a->too_long == b->too_long &&
	       strcmp(a->value, b->value) == 0;
}

struct kube_pod {
	char uid[CGROUP_POD_UID_SIZE];     /* lower case: the UID the kernel's
	                                      cgroup paths carry (a static pod's
	                                      config hash for its mirror pod) */
	char api_uid[CGROUP_POD_UID_SIZE]; /* metadata.uid: what an Event
	                                      about the pod must name */
	char pod_namespace[NVS_POD_NAMESPACE_SIZE];
	char pod_name[NVS_POD_NAME_SIZE];
	struct kube_annotation memory; /* KUBE_ANNOTATION_MEMORY */
	struct kube_annotation core;   /* KUBE_ANNOTATION_CORE */
	int64_t seen_ns; /* CLOCK_MONOTONIC when the thread read the list or
	                    watch event that last changed it */
};

struct kube_change {
	int deleted; /* 1: the pod is gone (pod.uid names it) */
	struct kube_pod pod;
};

/* A Warning Event about a pod, posted by the thread (events.k8s.io/v1,
 * core/v1 where the server has not the former). */
struct kube_event {
	char pod_namespace[NVS_POD_NAMESPACE_SIZE];
	char pod_name[NVS_POD_NAME_SIZE];
	char pod_uid[CGROUP_POD_UID_SIZE];
	char reason[KUBE_EVENT_REASON_SIZE]; /* e.g. "InvalidAnnotation" */
	char note[KUBE_EVENT_TEXT_SIZE];     /* names the annotation and why */
};

#endif /* NVSHARE_KUBE_TYPES_H */
