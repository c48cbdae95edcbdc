/*
 * kube_decode.h - what the API server says, checked field by field: a Pod
 * object into struct kube_pod, one line of a watch stream into its type and
 * object, a PodList page into its items, resourceVersion and continue token,
 * a Status (410 Gone). Pure: text in, structs out, no I/O, no global state;
 * JSON through jansson, which stays inside kube_decode.c. The names (and
 * the watcher's own settings, its URL and node name) are checked by
 * kube_config.h.
 *
 * Nothing here trusts the server: every field's type and length is checked,
 * names must be DNS labels or subdomains, a UID must have the shape the
 * kubelet gives cgroups (a UUID, or a static pod's 32-digit hash). A static
 * pod's mirror is keyed by the hash its kubernetes.io/config.mirror
 * annotation holds, as its cgroup is. A pod that fails a check is refused
 * whole, with one reason; its UID is decoded first and kept apart, so that
 * a DELETED event for it still counts. Text taken from the server into a
 * reason or a Status is made safe for a log line (kube_printable).
 */
#ifndef NVSHARE_KUBE_DECODE_H
#define NVSHARE_KUBE_DECODE_H

#include <stddef.h>

#include "kube_config.h"
#include "kube_types.h"

#define KUBE_RV_SIZE 64           /* a resourceVersion, with terminator */
#define KUBE_CONTINUE_SIZE 1024   /* a list's continue token */
#define KUBE_WHY_SIZE 160         /* one refusal's reason */
#define KUBE_STATUS_TEXT_SIZE 160 /* a Status's message, as shown */

/* A Pod object as decoded. */
struct kube_decoded_pod {
	int ok;              /* 1: pod holds a pod that passed every check */
	int uid_ok;          /* pod.uid is valid, even when ok is 0 */
	struct kube_pod pod; /* seen_ns is left 0 */
	char resource_version[KUBE_RV_SIZE]; /* "" if absent */
	char node_name[KUBE_NODE_NAME_SIZE]; /* spec.nodeName, "" if none */
	char why[KUBE_WHY_SIZE];             /* when !ok */
};

enum kube_watch_type {
	KUBE_WATCH_ADDED,
	KUBE_WATCH_MODIFIED,
	KUBE_WATCH_DELETED,
	KUBE_WATCH_BOOKMARK, /* only resource_version counts */
	KUBE_WATCH_ERROR,    /* a Status: see status */
};

/* A Status object (an ERROR event's, or an error answer's body). */
struct kube_status {
	int code;              /* its "code", 0 if none */
	int gone;              /* 410: the resourceVersion is too old */
	char reason[64];       /* "Expired", "NotFound", ... or "" */
	char details_kind[64]; /* details.kind ("namespaces"), or "" */
	char message[KUBE_STATUS_TEXT_SIZE]; /* printable, cut to fit */
};

struct kube_watch_line {
	enum kube_watch_type type;
	struct kube_decoded_pod obj; /* ADDED, MODIFIED, DELETED, BOOKMARK */
	struct kube_status status;   /* ERROR */
};

/* Decodes one watch line (a JSON object, len bytes, no newline needed).
 * Returns 0 when the line is a well-formed event (for a pod event,
 * out->obj.ok says whether the pod passed), -1 when the line itself is
 * not (why says what is wrong). */
int kube_decode_watch_line(const char *line, size_t len,
                           struct kube_watch_line *out, char *why,
                           size_t why_len);

/* One PodList page. */
struct kube_list_page {
	char resource_version[KUBE_RV_SIZE]; /* the list's */
	char cont[KUBE_CONTINUE_SIZE];       /* "" on the last page */
	size_t items;                        /* pods in the page */
	size_t refused;                      /* of which refused */
};

/* Called for every item of a page, in order, refused ones too. */
typedef void (*kube_list_item_fn)(void *ctx, const struct kube_decoded_pod *p);

/* Decodes a PodList body. Returns 0 (fn was called for each item), or -1
 * when the body is not a PodList with a valid resourceVersion (fn may have
 * been called for none). */
int kube_decode_list(const char *body, size_t len, struct kube_list_page *out,
                     kube_list_item_fn fn, void *ctx, char *why,
                     size_t why_len);

/* Decodes a Pod object by itself (tests, and the same checks as above). */
void kube_decode_pod_text(const char *json, size_t len,
                          struct kube_decoded_pod *out);

/* Decodes an error answer's body as a Status. Returns 0, or -1 if it is
 * not one (out is then zeroed: code 0, not gone). */
int kube_decode_status(const char *body, size_t len, struct kube_status *out);

#endif /* NVSHARE_KUBE_DECODE_H */
