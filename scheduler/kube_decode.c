/*
 * kube_decode.c - see kube_decode.h. Each decoder loads the text with
 * jansson (duplicate keys refused: two "uid"s must not let the checks see
 * one and the cache another), walks only the fields the scheduler uses and
 * checks each one's type and length before copying it.
 */
#include "kube_decode.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *load(const char *text, size_t len, char *why, size_t n)
{
	json_error_t err;
	/* NULs are let in and refused field by field (lengths are checked
	 * with json_string_length, never strlen). */
	json_t *root = json_loadb(
	    text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);

	if (!root) {
		char msg[80];

		kube_printable(err.text, strlen(err.text), msg, sizeof(msg),
		               KUBE_TEXT_PHRASE);
		kube_say(why, n, "not JSON at byte %d: %s", err.position, msg);
		return NULL;
	}
	if (!json_is_object(root)) {
		kube_say(why, n, "not a JSON object");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* A resourceVersion is opaque, but it goes into a URL: URL-safe characters
 * only ("unreserved" in RFC 3986). */
static int rv_valid(const char *s, size_t len)
{
	if (len == 0 || len >= KUBE_RV_SIZE)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		      ch == '_' || ch == '~'))
			return 0;
	}
	return 1;
}

/* A continue token is base64 in practice; it is escaped for the URL anyway,
 * printable ASCII without spaces is all it may hold. */
static int token_valid(const char *s, size_t len)
{
	if (len >= KUBE_CONTINUE_SIZE)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* --- fields -----------------------------------------------------------------
 */

/* The string member key of obj: 1 with *s and *len set, 0 if absent (or
 * null), -1 if it is there and not a string. */
static int member_string(const json_t *obj, const char *key, const char **s,
                         size_t *len)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 1;
}

/* The object member key: the object, NULL if absent or null; *bad set if
 * it is there and not an object. */
static json_t *member_object(const json_t *obj, const char *key, int *bad)
{
	json_t *v = json_object_get(obj, key);

	*bad = 0;
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_object(v)) {
		*bad = 1;
		return NULL;
	}
	return v;
}

/* The string s (len bytes) is exactly lit. */
static int str_is(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

static void copy_bounded(char *out, size_t n, const char *s, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

/* One annotation: absent, too long, or its raw value (a NUL inside it
 * becomes '?': a C string must not end early and make "40\0junk" read
 * as "40"; the loop refuses the '?' as it refuses any bad value). */
static int annotation(const json_t *annotations, const char *key,
                      struct kube_annotation *a, char *why, size_t n)
{
	const char *s;
	size_t len;
	int rc;

	memset(a, 0, sizeof(*a));
	if (!annotations)
		return 0;
	rc = member_string(annotations, key, &s, &len);
	if (rc < 0) {
		kube_say(why, n, "annotation %s is not a string", key);
		return -1;
	}
	if (rc == 0)
		return 0;
	a->present = 1;
	if (len >= sizeof(a->value)) {
		a->too_long = 1;
		return 0;
	}
	for (size_t i = 0; i < len; i++)
		a->value[i] = s[i] ? s[i] : '?';
	a->value[len] = '\0';
	return 0;
}

/* A static pod's mirror: the kubelet names the static pod's cgroup after
 * its config hash, which the API server's mirror pod carries in an
 * annotation (its own UID is fresh). Keyed by the hash, the pod matches
 * what the kernel says of its processes. Anything but 32 hex digits is
 * not a hash and leaves uid alone. */
static void mirror_hash(const json_t *meta, char uid[CGROUP_POD_UID_SIZE])
{
	int bad;
	const json_t *ann = member_object(meta, "annotations", &bad);
	char hash[CGROUP_POD_UID_SIZE];
	const char *s;
	size_t len;

	if (ann && member_string(ann, KUBE_ANNOTATION_MIRROR, &s, &len) > 0 &&
	    len == 32 && kube_uid_take(s, len, hash))
		memcpy(uid, hash, len + 1);
}

static int pod_from_json(const json_t *obj, struct kube_decoded_pod *out)
{
	char *why = out->why;
	size_t wn = sizeof(out->why);
	json_t *meta, *spec, *ann;
	const char *s;
	size_t len;
	int bad, rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		kube_say(why, wn, "object is not a JSON object");
		return -1;
	}
	meta = member_object(obj, "metadata", &bad);
	if (!meta) {
		kube_say(why, wn, "metadata is %s",
		         bad ? "not an object" : "missing");
		return -1;
	}
	/* The UID first, then the resourceVersion: whatever else is wrong
	 * with the object, a deletion by its UID still counts, and a valid
	 * version still moves the watch on. A bad version refuses the
	 * object and is not kept (resource_version stays ""). */
	rc = member_string(meta, "uid", &s, &len);
	if (rc <= 0) {
		kube_say(why, wn, "metadata.uid is %s",
		         rc < 0 ? "not a string" : "missing");
	} else if (!kube_uid_take(s, len, out->pod.uid)) {
		char shown[48];

		memset(out->pod.uid, 0, sizeof(out->pod.uid)); /* half taken */
		kube_printable(s, len, shown, sizeof(shown), KUBE_TEXT_WORD);
		kube_say(why, wn,
		         "metadata.uid '%s' is not a UUID or a 32-digit hash",
		         shown);
	} else {
		snprintf(out->pod.api_uid, sizeof(out->pod.api_uid), "%s",
		         out->pod.uid);
		mirror_hash(meta, out->pod.uid);
		out->uid_ok = 1;
	}
	rc = member_string(meta, "resourceVersion", &s, &len);
	if (rc < 0 || (rc > 0 && !rv_valid(s, len))) {
		if (out->uid_ok)
			kube_say(why, wn,
			         "metadata.resourceVersion is not a short "
			         "URL-safe string");
		return -1;
	}
	if (rc > 0)
		copy_bounded(out->resource_version,
		             sizeof(out->resource_version), s, len);
	if (!out->uid_ok)
		return -1;
	rc = member_string(meta, "namespace", &s, &len);
	if (rc <= 0 || !kube_dns_label_valid(s, len) ||
	    len >= sizeof(out->pod.pod_namespace)) {
		kube_say(why, wn, "metadata.namespace is %s",
		         rc < 0    ? "not a string"
		         : rc == 0 ? "missing"
		                   : "not a DNS label");
		return -1;
	}
	copy_bounded(out->pod.pod_namespace, sizeof(out->pod.pod_namespace), s,
	             len);
	rc = member_string(meta, "name", &s, &len);
	if (rc <= 0 || !kube_dns_subdomain_valid(s, len) ||
	    len >= sizeof(out->pod.pod_name)) {
		kube_say(why, wn, "metadata.name is %s",
		         rc < 0    ? "not a string"
		         : rc == 0 ? "missing"
		                   : "not a DNS subdomain");
		return -1;
	}
	copy_bounded(out->pod.pod_name, sizeof(out->pod.pod_name), s, len);
	ann = member_object(meta, "annotations", &bad);
	if (bad) {
		kube_say(why, wn, "metadata.annotations is not an object");
		return -1;
	}
	if (annotation(ann, KUBE_ANNOTATION_MEMORY, &out->pod.memory, why, wn) <
	        0 ||
	    annotation(ann, KUBE_ANNOTATION_CORE, &out->pod.core, why, wn) < 0)
		return -1;
	spec = member_object(obj, "spec", &bad);
	if (bad) {
		kube_say(why, wn, "spec is not an object");
		return -1;
	}
	if (spec) {
		rc = member_string(spec, "nodeName", &s, &len);
		if (rc < 0 ||
		    (rc > 0 && len > 0 && !kube_dns_subdomain_valid(s, len))) {
			kube_say(why, wn,
			         "spec.nodeName is not a DNS subdomain");
			return -1;
		}
		if (rc > 0)
			copy_bounded(out->node_name, sizeof(out->node_name), s,
			             len);
	}
	out->ok = 1;
	return 0;
}

void kube_decode_pod_text(const char *json, size_t len,
                          struct kube_decoded_pod *out)
{
	char why[KUBE_WHY_SIZE];
	json_t *root = load(json, len, why, sizeof(why));

	if (!root) {
		memset(out, 0, sizeof(*out));
		snprintf(out->why, sizeof(out->why), "%s", why);
		return;
	}
	pod_from_json(root, out);
	json_decref(root);
}

/* --- Status -----------------------------------------------------------------
 */

static void status_from_json(const json_t *obj, struct kube_status *out)
{
	json_t *code = json_object_get(obj, "code"), *details;
	const char *s;
	size_t len;
	int bad;

	memset(out, 0, sizeof(*out));
	if (json_is_integer(code) && json_integer_value(code) > 0 &&
	    json_integer_value(code) < 1000)
		out->code = (int)json_integer_value(code);
	if (member_string(obj, "reason", &s, &len) > 0)
		kube_printable(s, len, out->reason, sizeof(out->reason),
		               KUBE_TEXT_WORD);
	if (member_string(obj, "message", &s, &len) > 0)
		kube_printable(s, len, out->message, sizeof(out->message),
		               KUBE_TEXT_PHRASE);
	details = member_object(obj, "details", &bad);
	if (details && member_string(details, "kind", &s, &len) > 0)
		kube_printable(s, len, out->details_kind,
		               sizeof(out->details_kind), KUBE_TEXT_WORD);
	/* The server's words for an expired resourceVersion: code 410, reason
	 * Expired (watch cache) or Gone (etcd compaction). */
	out->gone = out->code == 410 || strcmp(out->reason, "Expired") == 0 ||
	            strcmp(out->reason, "Gone") == 0;
}

int kube_decode_status(const char *body, size_t len, struct kube_status *out)
{
	json_t *root = load(body, len, NULL, 0);
	const char *kind;
	size_t klen;

	memset(out, 0, sizeof(*out));
	if (!root)
		return -1;
	if (member_string(root, "kind", &kind, &klen) <= 0 ||
	    !str_is(kind, klen, "Status")) {
		json_decref(root);
		return -1;
	}
	status_from_json(root, out);
	json_decref(root);
	return 0;
}

/* --- watch lines ------------------------------------------------------------
 */

static const struct {
	const char *name;
	enum kube_watch_type type;
} watch_types[] = {
    {"ADDED", KUBE_WATCH_ADDED},     {"MODIFIED", KUBE_WATCH_MODIFIED},
    {"DELETED", KUBE_WATCH_DELETED}, {"BOOKMARK", KUBE_WATCH_BOOKMARK},
    {"ERROR", KUBE_WATCH_ERROR},
};

int kube_decode_watch_line(const char *line, size_t len,
                           struct kube_watch_line *out, char *why,
                           size_t why_len)
{
	json_t *root, *obj;
	const char *type;
	size_t tlen, i;
	int bad;

	memset(out, 0, sizeof(*out));
	root = load(line, len, why, why_len);
	if (!root)
		return -1;
	if (member_string(root, "type", &type, &tlen) <= 0) {
		kube_say(why, why_len, "event has no type");
		goto bad;
	}
	for (i = 0; i < sizeof(watch_types) / sizeof(watch_types[0]); i++)
		if (str_is(type, tlen, watch_types[i].name))
			break;
	if (i == sizeof(watch_types) / sizeof(watch_types[0])) {
		char shown[24];

		kube_printable(type, tlen, shown, sizeof(shown),
		               KUBE_TEXT_WORD);
		kube_say(why, why_len, "unknown event type '%s'", shown);
		goto bad;
	}
	out->type = watch_types[i].type;
	obj = member_object(root, "object", &bad);
	if (!obj) {
		kube_say(why, why_len, "event object is %s",
		         bad ? "not an object" : "missing");
		goto bad;
	}
	if (out->type == KUBE_WATCH_ERROR) {
		status_from_json(obj, &out->status);
	} else if (out->type == KUBE_WATCH_BOOKMARK) {
		json_t *meta = member_object(obj, "metadata", &bad);
		const char *rv;
		size_t rvlen;

		if (!meta ||
		    member_string(meta, "resourceVersion", &rv, &rvlen) <= 0 ||
		    !rv_valid(rv, rvlen)) {
			kube_say(why, why_len,
			         "bookmark without a valid "
			         "resourceVersion");
			goto bad;
		}
		copy_bounded(out->obj.resource_version,
		             sizeof(out->obj.resource_version), rv, rvlen);
	} else {
		pod_from_json(obj, &out->obj);
	}
	json_decref(root);
	return 0;
bad:
	json_decref(root);
	return -1;
}

/* --- lists ------------------------------------------------------------------
 */

int kube_decode_list(const char *body, size_t len, struct kube_list_page *out,
                     kube_list_item_fn fn, void *ctx, char *why, size_t why_len)
{
	json_t *root, *meta, *items;
	const char *s;
	size_t slen;
	int bad, rc;

	memset(out, 0, sizeof(*out));
	root = load(body, len, why, why_len);
	if (!root)
		return -1;
	if (member_string(root, "kind", &s, &slen) > 0 &&
	    !str_is(s, slen, "PodList")) {
		char shown[32];

		kube_printable(s, slen, shown, sizeof(shown), KUBE_TEXT_WORD);
		kube_say(why, why_len, "kind is '%s', not PodList", shown);
		goto bad;
	}
	meta = member_object(root, "metadata", &bad);
	if (!meta || member_string(meta, "resourceVersion", &s, &slen) <= 0 ||
	    !rv_valid(s, slen)) {
		kube_say(why, why_len,
		         "list without a valid "
		         "metadata.resourceVersion");
		goto bad;
	}
	copy_bounded(out->resource_version, sizeof(out->resource_version), s,
	             slen);
	rc = member_string(meta, "continue", &s, &slen);
	if (rc < 0 || (rc > 0 && !token_valid(s, slen))) {
		kube_say(why, why_len,
		         "metadata.continue is not a printable token "
		         "under 1 KiB");
		goto bad;
	}
	if (rc > 0)
		copy_bounded(out->cont, sizeof(out->cont), s, slen);
	items = json_object_get(root, "items");
	if (items && !json_is_null(items) && !json_is_array(items)) {
		kube_say(why, why_len, "items is not an array");
		goto bad;
	}
	for (size_t i = 0; items && i < json_array_size(items); i++) {
		struct kube_decoded_pod p;

		pod_from_json(json_array_get(items, i), &p);
		out->items++;
		if (!p.ok)
			out->refused++;
		if (fn)
			fn(ctx, &p);
	}
	json_decref(root);
	return 0;
bad:
	json_decref(root);
	return -1;
}
