/*
 * kube_events.h - Warning Events about pods: the bounded queue between the
 * loop and the thread that posts them, and the JSON bodies, for
 * events.k8s.io/v1 and for core/v1 (the fallback where a server answers 404
 * for the former). Pure: no I/O, no locking (the watcher holds its mutex).
 */
#ifndef NVSHARE_KUBE_EVENTS_H
#define NVSHARE_KUBE_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kube_types.h"

#define KUBE_EVENT_QUEUE_MAX 64 /* Events waiting to be posted */
#define KUBE_EVENT_CONTROLLER "nvshare.com/scheduler"
#define KUBE_EVENT_COMPONENT "nvshare-scheduler"
#define KUBE_EVENT_ACTION "Validate"
/* events.k8s.io/v1 limits reportingInstance, action and reason to 128
 * bytes and note to 1 KiB. */
#define KUBE_EVENT_FIELD_MAX 128

struct kube_event_queue {
	struct kube_event q[KUBE_EVENT_QUEUE_MAX];
	size_t head, len;
};

enum kube_event_push {
	KUBE_EVENT_QUEUED,    /* it waits to be posted */
	KUBE_EVENT_COALESCED, /* the same Event already waits: one is enough */
	KUBE_EVENT_FULL,      /* dropped */
};

enum kube_event_push kube_event_push(struct kube_event_queue *q,
                                     const struct kube_event *ev);
/* The oldest waiting Event into out: 1, or 0 if none waits. */
int kube_event_pop(struct kube_event_queue *q, struct kube_event *out);

enum kube_event_api {
	KUBE_EVENTS_V1,   /* events.k8s.io/v1 */
	KUBE_EVENTS_CORE, /* v1 (core) */
};

/* The path to POST ev to ("/apis/events.k8s.io/v1/namespaces/NS/events"). */
void kube_event_path(enum kube_event_api api, const struct kube_event *ev,
                     char *out, size_t n);

/* The Event's JSON body, malloc()ed (NULL if memory ran out): at wall
 * time when, reported by node, named <pod>.<16 hex digits of unique>. */
char *kube_event_body(enum kube_event_api api, const struct kube_event *ev,
                      const char *node, const struct timespec *when,
                      uint64_t unique);

/* RFC 3339 in UTC with microseconds ("2026-01-02T03:04:05.123456Z"), as
 * eventTime wants; with micro 0, whole seconds (firstTimestamp). */
void kube_rfc3339(const struct timespec *when, int micro, char *out, size_t n);

#endif /* NVSHARE_KUBE_EVENTS_H */
