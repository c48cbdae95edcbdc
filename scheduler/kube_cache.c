/*
 * kube_cache.c - see kube_cache.h. Entries live in a fixed array; a hash
 * index with linear probing finds them by UID (deletion shifts the probe
 * chain back, so no tombstones accumulate); a ring of entry numbers is the
 * change queue.
 */
#include "kube_cache.h"

#include <string.h>

#define SLOT_MASK (KUBE_CACHE_SLOTS - 1)

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static size_t home(const char *uid)
{
	return (size_t)(fnv1a(uid) & SLOT_MASK);
}

void kube_cache_init(struct kube_cache *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < KUBE_CACHE_MAX; i++)
		c->free_list[i] = (uint16_t)(KUBE_CACHE_MAX - 1 - i);
	c->nfree = KUBE_CACHE_MAX;
}

/* The index slot holding uid, or the empty slot where it would go. */
static size_t slot_of(const struct kube_cache *c, const char *uid)
{
	size_t i = home(uid);

	while (c->index[i] && strcmp(c->e[c->index[i] - 1].pod.uid, uid) != 0)
		i = (i + 1) & SLOT_MASK;
	return i;
}

static struct kube_cache_entry *find(const struct kube_cache *c,
                                     const char *uid)
{
	size_t i = slot_of(c, uid);

	return c->index[i] ? (struct kube_cache_entry *)&c->e[c->index[i] - 1]
	                   : NULL;
}

/* Removes slot i from the index, moving later members of its probe chain
 * back so that every lookup still finds them. */
static void index_remove(struct kube_cache *c, size_t i)
{
	size_t j = i;

	c->index[i] = 0;
	for (;;) {
		size_t k;

		j = (j + 1) & SLOT_MASK;
		if (!c->index[j])
			return;
		k = home(c->e[c->index[j] - 1].pod.uid);
		/* The member at j stays if its home is cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		c->index[i] = c->index[j];
		c->index[j] = 0;
		i = j;
	}
}

static void enqueue(struct kube_cache *c, struct kube_cache_entry *e)
{
	if (e->queued)
		return;
	e->queued = 1;
	c->queue[(c->qhead + c->qlen) % KUBE_CACHE_MAX] = (uint16_t)(e - c->e);
	c->qlen++;
}

static int same_facts(const struct kube_pod *a, const struct kube_pod *b)
{
	return strcmp(a->api_uid, b->api_uid) == 0 &&
	       strcmp(a->pod_namespace, b->pod_namespace) == 0 &&
	       strcmp(a->pod_name, b->pod_name) == 0 &&
	       kube_annotation_same(&a->memory, &b->memory) &&
	       kube_annotation_same(&a->core, &b->core);
}

enum kube_cache_result kube_cache_put(struct kube_cache *c,
                                      const struct kube_pod *p)
{
	size_t i = slot_of(c, p->uid);
	struct kube_cache_entry *e;
	enum kube_cache_result r;

	if (c->index[i]) {
		e = &c->e[c->index[i] - 1];
		e->seen_gen = c->gen;
		if (e->live && same_facts(&e->pod, p))
			return KUBE_CACHE_SAME;
		r = e->live ? KUBE_CACHE_MODIFIED : KUBE_CACHE_ADDED;
		if (!e->live)
			c->nlive++;
	} else {
		if (!c->nfree) {
			c->refused++;
			return KUBE_CACHE_FULL;
		}
		e = &c->e[c->free_list[--c->nfree]];
		memset(e, 0, sizeof(*e));
		e->used = 1;
		e->seen_gen = c->gen;
		c->index[i] = (uint16_t)(e - c->e + 1);
		c->nlive++;
		r = KUBE_CACHE_ADDED;
	}
	e->pod = *p;
	e->live = 1;
	enqueue(c, e);
	return r;
}

/* Hands e over as deleted at now. */
static void mark_deleted(struct kube_cache *c, struct kube_cache_entry *e,
                         int64_t now)
{
	e->live = 0;
	e->pod.seen_ns = now;
	c->nlive--;
	enqueue(c, e);
}

int kube_cache_delete(struct kube_cache *c, const char *uid, int64_t now)
{
	struct kube_cache_entry *e = find(c, uid);

	if (!e || !e->live)
		return 0;
	mark_deleted(c, e, now);
	return 1;
}

void kube_cache_relist_begin(struct kube_cache *c)
{
	c->gen++;
}

size_t kube_cache_relist_end(struct kube_cache *c, int64_t now,
                             struct kube_pod *gone, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < KUBE_CACHE_MAX; i++) {
		struct kube_cache_entry *e = &c->e[i];

		if (!e->used || !e->live || e->seen_gen == c->gen)
			continue;
		mark_deleted(c, e, now);
		if (gone && n < max)
			gone[n] = e->pod;
		n++;
	}
	return n;
}

size_t kube_cache_take(struct kube_cache *c, struct kube_change *out,
                       size_t max)
{
	size_t n = 0;

	while (n < max && c->qlen) {
		struct kube_cache_entry *e = &c->e[c->queue[c->qhead]];

		c->qhead = (c->qhead + 1) % KUBE_CACHE_MAX;
		c->qlen--;
		e->queued = 0;
		out[n].deleted = !e->live;
		out[n].pod = e->pod;
		n++;
		if (!e->live) {
			index_remove(c, slot_of(c, e->pod.uid));
			e->used = 0;
			c->free_list[c->nfree++] = (uint16_t)(e - c->e);
		}
	}
	return n;
}

size_t kube_cache_pending(const struct kube_cache *c)
{
	return c->qlen;
}

size_t kube_cache_live(const struct kube_cache *c)
{
	return c->nlive;
}

const struct kube_pod *kube_cache_find(const struct kube_cache *c,
                                       const char *uid)
{
	const struct kube_cache_entry *e = find(c, uid);

	return e && e->live ? &e->pod : NULL;
}

int kube_cache_note_bad(struct kube_cache *c, const char *key)
{
	uint64_t h = fnv1a(key) | 1; /* 0 marks an unused memory slot */

	for (size_t i = 0; i < KUBE_CACHE_BAD_MEMORY; i++)
		if (c->bad[i] == h)
			return 0;
	c->bad[c->bad_next] = h;
	c->bad_next = (c->bad_next + 1) % KUBE_CACHE_BAD_MEMORY;
	return 1;
}
