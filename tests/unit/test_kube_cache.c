/*
 * test_kube_cache.c - the watcher's pod cache and its hand-over to the loop:
 * changes coalesced (a flood of modifications is one change per pod, in its
 * latest state; each fact counts, a mirror pod's new API UID too),
 * deletions handed over with the pod's name, a relist that hands over what
 * it no longer lists, the bound of KUBE_CACHE_MAX pods, the hash index
 * against a plain model over many random operations; the
 * one-log-line memory for bad objects; and the bounded Event queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kube_cache.h"
#include "kube_events.h"

static struct kube_pod pod(unsigned n, const char *core)
{
	struct kube_pod p;

	memset(&p, 0, sizeof(p));
	snprintf(p.uid, sizeof(p.uid), "%08x-0000-4000-8000-%012x", n, n * 7);
	snprintf(p.pod_namespace, sizeof(p.pod_namespace), "ns%u", n % 5);
	snprintf(p.pod_name, sizeof(p.pod_name), "pod-%u", n);
	if (core) {
		p.core.present = 1;
		snprintf(p.core.value, sizeof(p.core.value), "%s", core);
	}
	p.seen_ns = n;
	return p;
}

static struct kube_cache *new_cache(void)
{
	struct kube_cache *c = malloc(sizeof(*c));

	kube_cache_init(c);
	return c;
}

static void test_coalescing(void)
{
	struct kube_cache *c = new_cache();
	struct kube_change out[16];
	struct kube_pod a = pod(1, "40"), b = pod(2, NULL);
	char v[8];

	CHECK_EQ(kube_cache_put(c, &a), KUBE_CACHE_ADDED);
	CHECK_EQ(kube_cache_put(c, &b), KUBE_CACHE_ADDED);
	CHECK_EQ(kube_cache_pending(c), 2);
	/* The same facts again (a resync, a status change): nothing. */
	a.seen_ns = 99;
	CHECK_EQ(kube_cache_put(c, &a), KUBE_CACHE_SAME);
	/* A flood of changes to one pod: still one change, the last. */
	for (int i = 1; i <= 1000; i++) {
		snprintf(v, sizeof(v), "%d", i % 100 + 1);
		a.core.present = 1;
		snprintf(a.core.value, sizeof(a.core.value), "%s", v);
		kube_cache_put(c, &a);
	}
	CHECK_EQ(kube_cache_pending(c), 2);
	CHECK_EQ(kube_cache_take(c, out, 16), 2);
	CHECK_STR(out[0].pod.uid, a.uid); /* oldest change first */
	CHECK_STR(out[0].pod.core.value, "1");
	CHECK(!out[0].deleted);
	CHECK_STR(out[1].pod.uid, b.uid);
	CHECK_EQ(kube_cache_pending(c), 0);
	CHECK_EQ(kube_cache_take(c, out, 16), 0);

	/* Each fact counts: name, namespace, presence, too_long. */
	b.memory.present = 1;
	CHECK_EQ(kube_cache_put(c, &b), KUBE_CACHE_MODIFIED);
	b.memory.too_long = 1;
	CHECK_EQ(kube_cache_put(c, &b), KUBE_CACHE_MODIFIED);
	snprintf(b.pod_namespace, sizeof(b.pod_namespace), "other");
	CHECK_EQ(kube_cache_put(c, &b), KUBE_CACHE_MODIFIED);
	/* A static pod's mirror made again: same key (the config hash), a
	 * new API UID, which its Events must name. */
	snprintf(b.api_uid, sizeof(b.api_uid), "%s",
	         "feedface-0000-4000-8000-0");
	CHECK_EQ(kube_cache_put(c, &b), KUBE_CACHE_MODIFIED);
	CHECK_EQ(kube_cache_put(c, &b), KUBE_CACHE_SAME);
	CHECK_EQ(kube_cache_pending(c), 1);
	/* A partial take leaves the rest waiting. */
	kube_cache_put(c, &a);
	a.core.present = 0;
	kube_cache_put(c, &a);
	CHECK_EQ(kube_cache_take(c, out, 1), 1);
	CHECK_EQ(kube_cache_pending(c), 1);
	CHECK_EQ(kube_cache_take(c, out, 1), 1);
	CHECK_STR(out[0].pod.uid, a.uid);
	CHECK(!out[0].pod.core.present);
	CHECK_EQ(kube_cache_live(c), 2);
	free(c);
}

static void test_deletion(void)
{
	struct kube_cache *c = new_cache();
	struct kube_change out[8];
	struct kube_pod a = pod(3, "50");

	kube_cache_put(c, &a);
	kube_cache_take(c, out, 8);
	CHECK_EQ(kube_cache_delete(c, a.uid, 1234), 1);
	CHECK_EQ(kube_cache_delete(c, a.uid, 1235), 0); /* once */
	CHECK(kube_cache_find(c, a.uid) == NULL);
	CHECK_EQ(kube_cache_live(c), 0);
	CHECK_EQ(kube_cache_take(c, out, 8), 1);
	CHECK(out[0].deleted);
	CHECK_STR(out[0].pod.uid, a.uid);
	CHECK_STR(out[0].pod.pod_name, "pod-3"); /* the loop knows which */
	CHECK_EQ(out[0].pod.seen_ns, 1234);
	CHECK_EQ(kube_cache_delete(c, "nobody", 1), 0);

	/* Deleted, then back before the loop looked: one change, live. */
	kube_cache_put(c, &a);
	kube_cache_take(c, out, 8);
	kube_cache_delete(c, a.uid, 5);
	CHECK_EQ(kube_cache_put(c, &a), KUBE_CACHE_ADDED);
	CHECK_EQ(kube_cache_take(c, out, 8), 1);
	CHECK(!out[0].deleted);
	CHECK(kube_cache_find(c, a.uid) != NULL);
	free(c);
}

static void test_relist(void)
{
	struct kube_cache *c = new_cache();
	struct kube_change out[16];
	struct kube_pod gone[8], p[5];
	size_t n, deleted = 0, modified = 0;

	for (unsigned i = 0; i < 5; i++) {
		p[i] = pod(10 + i, "30");
		kube_cache_put(c, &p[i]);
	}
	kube_cache_take(c, out, 16);
	/* The relist lists 0, 2 (changed) and 4: 1 and 3 went while the
	 * watch was broken. */
	kube_cache_relist_begin(c);
	kube_cache_put(c, &p[0]);
	snprintf(p[2].core.value, sizeof(p[2].core.value), "60");
	kube_cache_put(c, &p[2]);
	kube_cache_put(c, &p[4]);
	n = kube_cache_relist_end(c, 777, gone, 8);
	CHECK_EQ(n, 2);
	CHECK((strcmp(gone[0].uid, p[1].uid) == 0 &&
	       strcmp(gone[1].uid, p[3].uid) == 0) ||
	      (strcmp(gone[0].uid, p[3].uid) == 0 &&
	       strcmp(gone[1].uid, p[1].uid) == 0));
	CHECK_EQ(kube_cache_live(c), 3);
	n = kube_cache_take(c, out, 16);
	CHECK_EQ(n, 3);
	for (size_t i = 0; i < n; i++) {
		if (out[i].deleted) {
			deleted++;
			CHECK_EQ(out[i].pod.seen_ns, 777);
		} else {
			modified++;
			CHECK_STR(out[i].pod.uid, p[2].uid);
			CHECK_STR(out[i].pod.core.value, "60");
		}
	}
	CHECK_EQ(deleted, 2);
	CHECK_EQ(modified, 1);
	/* A relist that lists everything hands over nothing; one that is
	 * never ended deletes nothing. */
	kube_cache_relist_begin(c);
	kube_cache_put(c, &p[0]);
	kube_cache_put(c, &p[2]);
	kube_cache_put(c, &p[4]);
	CHECK_EQ(kube_cache_relist_end(c, 1, NULL, 0), 0);
	kube_cache_relist_begin(c);
	kube_cache_put(c, &p[0]);
	CHECK_EQ(kube_cache_pending(c), 0);
	kube_cache_relist_begin(c);
	kube_cache_put(c, &p[0]);
	kube_cache_put(c, &p[2]);
	kube_cache_put(c, &p[4]);
	CHECK_EQ(kube_cache_relist_end(c, 1, NULL, 0), 0);
	/* An empty relist: everything is gone. */
	kube_cache_relist_begin(c);
	CHECK_EQ(kube_cache_relist_end(c, 1, gone, 1),
	         3); /* counted past max */
	CHECK_EQ(kube_cache_live(c), 0);
	free(c);
}

static void test_bound(void)
{
	struct kube_cache *c = new_cache();
	struct kube_change *out = malloc(KUBE_CACHE_MAX * sizeof(*out));
	struct kube_pod extra = pod(KUBE_CACHE_MAX, NULL);

	for (unsigned i = 0; i < KUBE_CACHE_MAX; i++) {
		struct kube_pod p = pod(i, NULL);
		CHECK_EQ(kube_cache_put(c, &p), KUBE_CACHE_ADDED);
	}
	CHECK_EQ(kube_cache_put(c, &extra), KUBE_CACHE_FULL);
	CHECK_EQ(c->refused, 1);
	CHECK_EQ(kube_cache_pending(c), KUBE_CACHE_MAX);
	/* A deleted pod keeps its slot until the loop has taken it. */
	{
		struct kube_pod p0 = pod(0, NULL);

		kube_cache_delete(c, p0.uid, 1);
	}
	CHECK_EQ(kube_cache_put(c, &extra), KUBE_CACHE_FULL);
	CHECK_EQ(kube_cache_take(c, out, KUBE_CACHE_MAX), KUBE_CACHE_MAX);
	CHECK_EQ(kube_cache_put(c, &extra), KUBE_CACHE_ADDED);
	CHECK_EQ(kube_cache_live(c), KUBE_CACHE_MAX);
	free(out);
	free(c);
}

/* Random puts, deletes, relists and takes, checked against a plain array:
 * the hash index (linear probing, deletion by shifting) must find exactly
 * the live pods, whatever the collisions. */
static void test_random_model(void)
{
	enum { UIDS = 1500, STEPS = 60000 };
	struct kube_cache *c = new_cache();
	static char live[UIDS];
	static struct kube_change out[KUBE_CACHE_MAX];
	unsigned long long seed = 42;
	size_t nlive = 0, mismatches = 0, missing_deleted = 0;

	for (int step = 0; step < STEPS; step++) {
		unsigned r, n;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		r = (unsigned)(seed >> 33);
		n = r % UIDS;
		if (r % 7 < 4) {
			struct kube_pod p = pod(n, (r & 8) ? "10" : "20");
			enum kube_cache_result res = kube_cache_put(c, &p);

			if (res == KUBE_CACHE_FULL) {
				CHECK(nlive + 0 >= 1 && !live[n]);
			} else if (!live[n]) {
				live[n] = 1;
				nlive++;
			}
		} else if (r % 7 < 6) {
			struct kube_pod p = pod(n, NULL);
			int had = kube_cache_delete(c, p.uid, step);

			if (had != live[n])
				mismatches++;
			if (live[n]) {
				live[n] = 0;
				nlive--;
			}
		} else {
			size_t got = kube_cache_take(c, out, r % 40);

			for (size_t i = 0; i < got; i++) {
				unsigned k;

				sscanf(out[i].pod.uid, "%x", &k);
				if (out[i].deleted && live[k] &&
				    kube_cache_find(c, out[i].pod.uid) == NULL)
					missing_deleted++;
			}
		}
		if (step % 997 == 0) {
			for (unsigned k = 0; k < UIDS; k++) {
				struct kube_pod p = pod(k, NULL);

				if ((kube_cache_find(c, p.uid) != NULL) !=
				    live[k])
					mismatches++;
			}
			if (kube_cache_live(c) != nlive)
				mismatches++;
		}
	}
	CHECK_EQ(mismatches, 0);
	CHECK_EQ(missing_deleted, 0);
	/* Drained, the table is whole again: room for KUBE_CACHE_MAX. */
	while (kube_cache_take(c, out, KUBE_CACHE_MAX))
		;
	kube_cache_relist_begin(c);
	CHECK_EQ(kube_cache_relist_end(c, 1, NULL, 0), nlive);
	while (kube_cache_take(c, out, KUBE_CACHE_MAX))
		;
	CHECK_EQ(kube_cache_live(c), 0);
	for (unsigned i = 0; i < KUBE_CACHE_MAX; i++) {
		struct kube_pod p = pod(100000 + i, NULL);
		CHECK_EQ(kube_cache_put(c, &p), KUBE_CACHE_ADDED);
	}
	free(c);
}

static void test_bad_memory(void)
{
	struct kube_cache *c = new_cache();
	char key[32];

	CHECK_EQ(kube_cache_note_bad(c, "uid|bad name"), 1);
	CHECK_EQ(kube_cache_note_bad(c, "uid|bad name"), 0);
	CHECK_EQ(kube_cache_note_bad(c, "uid|other reason"), 1);
	for (int i = 0; i < KUBE_CACHE_BAD_MEMORY; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		kube_cache_note_bad(c, key);
	}
	/* Forgotten after KUBE_CACHE_BAD_MEMORY others: logged again. */
	CHECK_EQ(kube_cache_note_bad(c, "uid|bad name"), 1);
	free(c);
}

static void test_event_queue(void)
{
	static struct kube_event_queue q;
	struct kube_event ev = {.pod_namespace = "ml",
	                        .pod_name = "a",
	                        .pod_uid = "u",
	                        .reason = "InvalidAnnotation",
	                        .note = "x"},
	                  got;

	CHECK_EQ(kube_event_push(&q, &ev), KUBE_EVENT_QUEUED);
	CHECK_EQ(kube_event_push(&q, &ev), KUBE_EVENT_COALESCED);
	for (int i = 1; i < KUBE_EVENT_QUEUE_MAX; i++) {
		snprintf(ev.note, sizeof(ev.note), "note %d", i);
		CHECK_EQ(kube_event_push(&q, &ev), KUBE_EVENT_QUEUED);
	}
	snprintf(ev.note, sizeof(ev.note), "one too many");
	CHECK_EQ(kube_event_push(&q, &ev), KUBE_EVENT_FULL);
	CHECK_EQ(kube_event_pop(&q, &got), 1);
	CHECK_STR(got.note, "x");
	CHECK_EQ(kube_event_push(&q, &ev), KUBE_EVENT_QUEUED);
	for (int i = 1; i < KUBE_EVENT_QUEUE_MAX; i++)
		CHECK_EQ(kube_event_pop(&q, &got), 1);
	CHECK_EQ(kube_event_pop(&q, &got), 1);
	CHECK_STR(got.note, "one too many");
	CHECK_EQ(kube_event_pop(&q, &got), 0);
}

int main(void)
{
	test_coalescing();
	test_deletion();
	test_relist();
	test_bound();
	test_random_model();
	test_bad_memory();
	test_event_queue();
	return check_summary("test_kube_cache");
}
