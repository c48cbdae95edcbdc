/*
 * kube_events.c - see kube_events.h. Bodies are built with jansson's pack
 * API, which escapes every string; text that came from a pod is made valid
 * UTF-8 first (jansson refuses anything else) and cut to the API's limits.
 */
#include "kube_events.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KUBE_EVENT_NAME_MAX 253
#define KUBE_EVENT_SUFFIX_LEN 17 /* "." and 16 hex digits */

static int same_event(const struct kube_event *a, const struct kube_event *b)
{
	return strcmp(a->pod_uid, b->pod_uid) == 0 &&
	       strcmp(a->reason, b->reason) == 0 &&
	       strcmp(a->note, b->note) == 0;
}

enum kube_event_push kube_event_push(struct kube_event_queue *q,
                                     const struct kube_event *ev)
{
	for (size_t i = 0; i < q->len; i++)
		if (same_event(&q->q[(q->head + i) % KUBE_EVENT_QUEUE_MAX], ev))
			return KUBE_EVENT_COALESCED;
	if (q->len == KUBE_EVENT_QUEUE_MAX)
		return KUBE_EVENT_FULL;
	q->q[(q->head + q->len) % KUBE_EVENT_QUEUE_MAX] = *ev;
	q->len++;
	return KUBE_EVENT_QUEUED;
}

int kube_event_pop(struct kube_event_queue *q, struct kube_event *out)
{
	if (!q->len)
		return 0;
	*out = q->q[q->head];
	q->head = (q->head + 1) % KUBE_EVENT_QUEUE_MAX;
	q->len--;
	return 1;
}

void kube_event_path(enum kube_event_api api, const struct kube_event *ev,
                     char *out, size_t n)
{
	snprintf(out, n, "%s/namespaces/%s/events",
	         api == KUBE_EVENTS_V1 ? "/apis/events.k8s.io/v1" : "/api/v1",
	         ev->pod_namespace);
}

void kube_rfc3339(const struct timespec *when, int micro, char *out, size_t n)
{
	struct tm tm;
	time_t t = when->tv_sec;
	char base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (micro)
		snprintf(out, n, "%s.%06ldZ", base, when->tv_nsec / 1000);
	else
		snprintf(out, n, "%sZ", base);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Copies s into out (size n) as valid UTF-8: invalid bytes become '?',
 * and a sequence that does not fit whole is left out. */
static void utf8_copy(const char *s, char *out, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), o = 0;

	while (left) {
		size_t len = utf8_len(p, left);

		if (!len) {
			if (o + 1 >= n)
				break;
			out[o++] = '?';
			p++;
			left--;
			continue;
		}
		if (o + len >= n)
			break;
		memcpy(out + o, p, len);
		o += len;
		p += len;
		left -= len;
	}
	out[o] = '\0';
}

/* <pod>.<16 hex>: the pod's name cut so that the whole is at most 253,
 * without a '.' or '-' before the suffix (it must stay a DNS subdomain). */
static void event_name(const char *pod, uint64_t unique, char *out, size_t n)
{
	size_t keep = strlen(pod);

	if (keep > KUBE_EVENT_NAME_MAX - KUBE_EVENT_SUFFIX_LEN)
		keep = KUBE_EVENT_NAME_MAX - KUBE_EVENT_SUFFIX_LEN;
	while (keep && (pod[keep - 1] == '.' || pod[keep - 1] == '-'))
		keep--;
	snprintf(out, n, "%.*s.%016llx", (int)keep, pod,
	         (unsigned long long)unique);
}

char *kube_event_body(enum kube_event_api api, const struct kube_event *ev,
                      const char *node, const struct timespec *when,
                      uint64_t unique)
{
	char name[KUBE_EVENT_NAME_MAX + 1], stamp[40];
	char reason[KUBE_EVENT_FIELD_MAX + 1],
	    instance[KUBE_EVENT_FIELD_MAX + 1];
	char note[KUBE_EVENT_TEXT_SIZE], ns[NVS_POD_NAMESPACE_SIZE];
	char pod[NVS_POD_NAME_SIZE], uid[CGROUP_POD_UID_SIZE];
	json_t *root;
	char *body;

	event_name(ev->pod_name, unique, name, sizeof(name));
	utf8_copy(ev->reason, reason, sizeof(reason));
	utf8_copy(ev->note, note, sizeof(note));
	utf8_copy(node, instance, sizeof(instance));
	utf8_copy(ev->pod_namespace, ns, sizeof(ns));
	utf8_copy(ev->pod_name, pod, sizeof(pod));
	utf8_copy(ev->pod_uid, uid, sizeof(uid));
	kube_rfc3339(when, api == KUBE_EVENTS_V1, stamp, sizeof(stamp));
	if (api == KUBE_EVENTS_V1)
		root = json_pack(
		    "{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:s, s:s, "
		    "s:s, s:{s:s, s:s, s:s, s:s, s:s}}",
		    "apiVersion", "events.k8s.io/v1", "kind", "Event",
		    "metadata", "name", name, "namespace", ns, "eventTime",
		    stamp, "reportingController", KUBE_EVENT_CONTROLLER,
		    "reportingInstance", instance, "action", KUBE_EVENT_ACTION,
		    "reason", reason, "note", note, "type", "Warning",
		    "regarding", "apiVersion", "v1", "kind", "Pod", "namespace",
		    ns, "name", pod, "uid", uid);
	else
		root = json_pack(
		    "{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, "
		    "s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:i, "
		    "s:s, s:s}",
		    "apiVersion", "v1", "kind", "Event", "metadata", "name",
		    name, "namespace", ns, "involvedObject", "apiVersion", "v1",
		    "kind", "Pod", "namespace", ns, "name", pod, "uid", uid,
		    "reason", reason, "message", note, "type", "Warning",
		    "source", "component", KUBE_EVENT_COMPONENT, "host",
		    instance, "firstTimestamp", stamp, "lastTimestamp", stamp,
		    "count", 1, "reportingComponent", KUBE_EVENT_CONTROLLER,
		    "reportingInstance", instance);
	if (!root)
		return NULL;
	body = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return body;
}
