/*
 * kube_watch.h - the scheduler's Kubernetes watcher: a thread of its own
 * that lists and watches the pods of this node on the API server (HTTPS
 * through libcurl, JSON through jansson) and posts Warning Events, and a
 * hand-over to the event loop that never blocks it.
 *
 * The thread keeps its own copy of the node's pods by UID and, on every
 * list or watch event, marks the pods whose facts the scheduler uses
 * (namespace, name, the two nvshare annotations) as changed. The loop
 * takes the changed pods when kube_watch_fd() is readable: each pod at
 * most once per take, in its latest state, so that a flood of changes is
 * coalesced and nothing grows without bound. A pod gone from a relist
 * is handed over as deleted, like one a DELETED event names.
 *
 * Nothing here decides anything: what the annotations mean is
 * kube_pods.h's, on the loop.
 */
#ifndef NVSHARE_KUBE_WATCH_H
#define NVSHARE_KUBE_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "kube_types.h"

/* What the thread has seen, for status and metrics (a copy). */
struct kube_watch_stats {
	int synced;                /* a list has completed since the start */
	int connected;             /* a watch stream is open now */
	uint64_t lists;            /* lists completed (the first + relists) */
	uint64_t watch_restarts;   /* watches resumed from a resource version */
	uint64_t gone;             /* 410 Gone answers and ERROR events */
	uint64_t errors;           /* failed requests (network, TLS, HTTP) */
	uint64_t events_posted;    /* Warning Events the server accepted */
	uint64_t events_dropped;   /* not posted: queue full or refused */
	char resource_version[64]; /* the last one seen */
	char last_error[256];      /* "" if none yet */
};

struct kube_watch;

/* 1 if this scheduler was built with the watcher; 0 with why (size n)
 * if not (NVSHARE_HTTP=OFF), so that asking for it is a usage error. */
int kube_watch_available(char *why, size_t n);

/* Starts the thread. NULL (logged) if it could not start; the scheduler
 * then runs without the watcher. */
struct kube_watch *kube_watch_start(const struct kube_watch_config *cfg);

/* Readable when changes wait to be taken (an eventfd). */
int kube_watch_fd(const struct kube_watch *w);

/* On the loop: moves up to max changed pods into out and returns how
 * many; call again while it returns max. Never blocks on the thread for
 * more than the copy. */
size_t kube_watch_take(struct kube_watch *w, struct kube_change *out,
                       size_t max);

/* On the loop: queues an Event for the thread to post. Never blocks; a
 * full queue drops it (counted in events_dropped). */
void kube_watch_post_event(struct kube_watch *w, const struct kube_event *ev);

void kube_watch_stats(const struct kube_watch *w, struct kube_watch_stats *out);

/* Stops the thread (its requests are cut short) and frees everything. */
void kube_watch_stop(struct kube_watch *w);

#endif /* NVSHARE_KUBE_WATCH_H */
