/*
 * kube_cache.h - the watcher thread's copy of its node's pods, by UID, and
 * the pods whose facts changed since the loop last took them. Pure: no I/O,
 * no locking (the watcher holds its mutex around every call).
 *
 * Bounded: at most KUBE_CACHE_MAX pods, counting those deleted and not yet
 * taken (a kubelet runs 110 pods by default and rarely more than 250). A
 * pod beyond that is refused and counted; the watcher lists again about a
 * minute later, which offers it again. Each pod is in the change queue at most
 * once, in its latest state, so a flood of changes costs nothing beyond the
 * table.
 */
#ifndef NVSHARE_KUBE_CACHE_H
#define NVSHARE_KUBE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "kube_types.h"

#define KUBE_CACHE_MAX 1024
#define KUBE_CACHE_SLOTS 2048    /* hash index: at most half full */
#define KUBE_CACHE_BAD_MEMORY 64 /* refused objects remembered, to log once */

struct kube_cache_entry {
	struct kube_pod pod;
	uint32_t seen_gen; /* the relist generation that last listed it */
	uint8_t used;      /* the slot holds a pod */
	uint8_t live;      /* 0: deleted, kept until the loop takes it */
	uint8_t queued;    /* in the change queue */
};

struct kube_cache {
	struct kube_cache_entry e[KUBE_CACHE_MAX];
	uint16_t index[KUBE_CACHE_SLOTS]; /* 0: empty, else entry + 1 */
	uint16_t free_list[KUBE_CACHE_MAX];
	size_t nfree;
	uint16_t queue[KUBE_CACHE_MAX]; /* changed entries, oldest first */
	size_t qhead, qlen;
	size_t nlive;     /* pods present */
	uint32_t gen;     /* the relist under way, or the last */
	uint64_t refused; /* pods not kept: the table was full */
	uint64_t bad[KUBE_CACHE_BAD_MEMORY]; /* hashes of refused objects */
	size_t bad_next;
};

enum kube_cache_result {
	KUBE_CACHE_SAME,     /* nothing the scheduler uses changed */
	KUBE_CACHE_ADDED,    /* a new pod */
	KUBE_CACHE_MODIFIED, /* its namespace, name, annotations or API UID
	                        (a mirror pod made again) changed */
	KUBE_CACHE_FULL,     /* refused: KUBE_CACHE_MAX pods already */
};

void kube_cache_init(struct kube_cache *c);

/* A pod as listed or watched (its seen_ns set by the caller). Marks it
 * changed unless it is the same as the cache has (seen_ns aside). During a
 * relist it also counts as listed. */
enum kube_cache_result kube_cache_put(struct kube_cache *c,
                                      const struct kube_pod *p);

/* A DELETED event. Returns 1 if the pod was present (it is then handed over
 * as deleted), 0 if not. */
int kube_cache_delete(struct kube_cache *c, const char *uid, int64_t now);

/* A relist: begin, put every listed pod, end. end hands over as deleted
 * every pod the relist did not list, copies up to max of them into gone
 * (may be NULL) and returns how many there were. A relist that fails
 * midway is simply never ended: the next begin starts afresh. */
void kube_cache_relist_begin(struct kube_cache *c);
size_t kube_cache_relist_end(struct kube_cache *c, int64_t now,
                             struct kube_pod *gone, size_t max);

/* Moves up to max changed pods, oldest change first, into out. */
size_t kube_cache_take(struct kube_cache *c, struct kube_change *out,
                       size_t max);

size_t kube_cache_pending(const struct kube_cache *c); /* changes waiting */
size_t kube_cache_live(const struct kube_cache *c);    /* pods present */
/* The pod with uid, NULL if absent (or deleted). */
const struct kube_pod *kube_cache_find(const struct kube_cache *c,
                                       const char *uid);

/* 1 the first time a refused object with this key (UID or name, and the
 * reason) is noted, 0 while it is remembered: one log line per bad
 * object, however often the server sends it. */
int kube_cache_note_bad(struct kube_cache *c, const char *key);

#endif /* NVSHARE_KUBE_CACHE_H */
