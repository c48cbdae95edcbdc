/*
 * fuzz_kube_decode.c - libFuzzer target for what the scheduler's Kubernetes
 * watcher takes from the API server (scheduler/kube_decode.c): every byte
 * of a watch stream's line and of a list page goes through
 * kube_decode_watch_line() or kube_decode_list(), an error answer's body
 * through kube_decode_status().
 *
 * Input: the whole input is one text, decoded all three ways (a watch line,
 * a PodList page, a Status), and once more as a watch line cut short by
 * one byte (a line the stream split). Checks beyond the sanitizers:
 *   - every string out is terminated inside its buffer;
 *   - every reason and every text taken from the server is safe in a log
 *     line: no double quote, backslash, control or non-ASCII byte;
 *   - a pod that passed has a UID, namespace, name and resourceVersion of
 *     the shapes the checks promise, and the watcher may use them;
 *   - a list page calls back once per item it counts, refusing no more
 *     than it calls back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube_config.h"
#include "kube_decode.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_kube_decode: %s\n", what);
	abort();
}

/* s (a buffer of n) is terminated in it and holds nothing that could end
 * a quoted log value or a line; spaces only where words may have them. */
static void check_text(const char *s, size_t n, int spaces_ok, const char *what)
{
	const char *end = memchr(s, '\0', n);

	if (!end)
		fail(what);
	for (const char *p = s; p < end; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' ||
		    (ch == ' ' && !spaces_ok))
			fail(what);
	}
}

static void check_annotation(const struct kube_annotation *a)
{
	size_t len;

	if (!memchr(a->value, '\0', sizeof(a->value)))
		fail("annotation value not terminated");
	len = strlen(a->value);
	if (!a->present && (a->too_long || len))
		fail("an absent annotation with a value");
	if (a->too_long && len)
		fail("a too long annotation with a value");
}

static void check_uid(const char *uid, const char *what)
{
	char again[CGROUP_POD_UID_SIZE];

	if (!memchr(uid, '\0', CGROUP_POD_UID_SIZE) ||
	    !kube_uid_take(uid, strlen(uid), again) || strcmp(again, uid) != 0)
		fail(what);
}

static void check_pod(const struct kube_decoded_pod *p)
{
	const struct kube_pod *k = &p->pod;

	check_text(p->why, sizeof(p->why), 1, "a refusal's reason");
	check_text(p->resource_version, sizeof(p->resource_version), 0,
	           "a resourceVersion");
	check_text(p->node_name, sizeof(p->node_name), 0, "a node name");
	if (p->ok && !p->uid_ok)
		fail("a pod that passed without its UID");
	if (p->uid_ok) {
		check_uid(k->uid, "a bad UID taken");
		check_uid(k->api_uid, "a bad API UID taken");
	}
	if (!p->ok)
		return;
	if (!memchr(k->pod_namespace, '\0', sizeof(k->pod_namespace)) ||
	    !kube_dns_label_valid(k->pod_namespace, strlen(k->pod_namespace)))
		fail("a namespace that is not a DNS label");
	if (!memchr(k->pod_name, '\0', sizeof(k->pod_name)) ||
	    !kube_dns_subdomain_valid(k->pod_name, strlen(k->pod_name)))
		fail("a name that is not a DNS subdomain");
	if (p->node_name[0] &&
	    !kube_dns_subdomain_valid(p->node_name, strlen(p->node_name)))
		fail("a node name that is not a DNS subdomain");
	check_annotation(&k->memory);
	check_annotation(&k->core);
	if (k->seen_ns)
		fail("seen_ns set by the decoder");
}

static void check_status(const struct kube_status *st)
{
	check_text(st->reason, sizeof(st->reason), 0, "a Status reason");
	check_text(st->details_kind, sizeof(st->details_kind), 0,
	           "a Status details.kind");
	check_text(st->message, sizeof(st->message), 1, "a Status message");
	if (st->code < 0 || st->code >= 1000)
		fail("a Status code out of range");
}

static void watch_line(const char *text, size_t len)
{
	struct kube_watch_line *ev = malloc(sizeof(*ev));
	char why[KUBE_WHY_SIZE];

	if (!ev)
		return;
	memset(why, 'x', sizeof(why));
	if (kube_decode_watch_line(text, len, ev, why, sizeof(why)) < 0) {
		check_text(why, sizeof(why), 1, "a watch line's refusal");
	} else if (ev->type == KUBE_WATCH_ERROR) {
		check_status(&ev->status);
	} else if (ev->type == KUBE_WATCH_BOOKMARK) {
		if (!ev->obj.resource_version[0])
			fail("a bookmark without its resourceVersion");
		check_text(ev->obj.resource_version,
		           sizeof(ev->obj.resource_version), 0,
		           "a bookmark's resourceVersion");
	} else {
		check_pod(&ev->obj);
	}
	free(ev);
}

struct list_calls {
	size_t calls, refused;
};

static void list_item(void *ctx, const struct kube_decoded_pod *p)
{
	struct list_calls *c = ctx;

	check_pod(p);
	c->calls++;
	c->refused += !p->ok;
}

static void list_page(const char *text, size_t len)
{
	struct kube_list_page *page = malloc(sizeof(*page));
	struct list_calls c = {0};
	char why[KUBE_WHY_SIZE];

	if (!page)
		return;
	if (kube_decode_list(text, len, page, list_item, &c, why, sizeof(why)) <
	    0) {
		check_text(why, sizeof(why), 1, "a list's refusal");
	} else {
		if (c.calls != page->items || c.refused != page->refused)
			fail("a page's counts differ from its items");
		if (!page->resource_version[0])
			fail("a page without its resourceVersion");
		check_text(page->resource_version,
		           sizeof(page->resource_version), 0,
		           "a page's resourceVersion");
		if (!memchr(page->cont, '\0', sizeof(page->cont)))
			fail("a continue token not terminated");
		for (const char *p = page->cont; *p; p++)
			if ((unsigned char)*p <= 0x20 ||
			    (unsigned char)*p >= 0x7f)
				fail("a continue token with a space or "
				     "non-printable byte");
	}
	free(page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: the decoders must not read past len
	 * (ASan sees it), and need no terminator. */
	char *text = malloc(size ? size : 1);
	struct kube_status st;

	if (!text)
		return 0;
	memcpy(text, data, size);
	watch_line(text, size);
	if (size > 1)
		watch_line(text, size - 1);
	list_page(text, size);
	if (kube_decode_status(text, size, &st) == 0)
		check_status(&st);
	else if (st.code || st.gone)
		fail("a refused Status that is not zeroed");
	free(text);
	return 0;
}
