/*
 * test_kube_decode.c - what the watcher accepts from the API server and from
 * its flags: Pod objects (every field's type, length and shape), watch lines
 * of each type (410 Gone among the ERRORs), PodList pages, Status bodies,
 * DNS names, UIDs (a static pod's mirror keyed by its config hash), the
 * API server's URL, the one sanitizer of foreign text for log lines; and
 * the Event bodies it posts (events.k8s.io/v1 and core/v1), parsed back
 * field by field.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kube_config.h"
#include "kube_decode.h"
#include "kube_events.h"

#define UID "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define HASH "6d1e8f1b0e1a2c3d4e5f60718293a4b5"

/* A pod as the API server sends it, with fields we ignore around ours. */
static const char *pod_json(const char *meta_extra, const char *annotations,
                            const char *spec_extra)
{
	static char buf[16384];

	snprintf(buf, sizeof(buf),
	         "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{"
	         "\"name\":\"trainer-0\",\"namespace\":\"ml\",\"uid\":\"" UID
	         "\",\"resourceVersion\":\"4711\",\"creationTimestamp\":"
	         "\"2026-01-02T03:04:05Z\",\"labels\":{\"app\":\"x\"}%s%s%s},"
	         "\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":"
	         "\"x\"}],\"nodeName\":\"node-1\"%s},\"status\":{\"phase\":"
	         "\"Running\"}}",
	         annotations ? ",\"annotations\":" : "",
	         annotations ? annotations : "", meta_extra, spec_extra);
	return buf;
}

static void decode(const char *json, struct kube_decoded_pod *p)
{
	kube_decode_pod_text(json, strlen(json), p);
}

/* The pod of pod_json with field key of metadata replaced by value. */
static void decode_meta(const char *key, const char *value,
                        struct kube_decoded_pod *p)
{
	json_error_t err;
	json_t *root = json_loads(pod_json("", NULL, ""), 0, &err);
	json_t *meta = json_object_get(root, "metadata");
	char *text;

	if (value)
		json_object_set_new(
		    meta, key,
		    json_loads(value, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err));
	else
		json_object_del(meta, key);
	text = json_dumps(root, JSON_COMPACT);
	decode(text, p);
	free(text);
	json_decref(root);
}

static void test_good_pod(void)
{
	struct kube_decoded_pod p;

	decode(pod_json("",
	                "{\"nvshare.com/gpu-memory-limit\":\"4Gi\","
	                "\"nvshare.com/gpu-core-limit\":\"40\","
	                "\"other\":\"x\"}",
	                ""),
	       &p);
	CHECK(p.ok);
	CHECK(p.uid_ok);
	CHECK_STR(p.pod.uid, UID);
	CHECK_STR(p.pod.pod_namespace, "ml");
	CHECK_STR(p.pod.pod_name, "trainer-0");
	CHECK_STR(p.resource_version, "4711");
	CHECK_STR(p.node_name, "node-1");
	CHECK(p.pod.memory.present && !p.pod.memory.too_long);
	CHECK_STR(p.pod.memory.value, "4Gi");
	CHECK(p.pod.core.present);
	CHECK_STR(p.pod.core.value, "40");
	CHECK_EQ(p.pod.seen_ns, 0);

	/* No annotations at all, and annotations without ours. */
	decode(pod_json("", NULL, ""), &p);
	CHECK(p.ok && !p.pod.memory.present && !p.pod.core.present);
	decode(pod_json("", "{\"a\":\"b\"}", ""), &p);
	CHECK(p.ok && !p.pod.memory.present && !p.pod.core.present);
	/* A null annotations member is none. */
	decode(pod_json("", "null", ""), &p);
	CHECK(p.ok);
}

static void test_uids(void)
{
	struct kube_decoded_pod p;
	char uid[CGROUP_POD_UID_SIZE];

	decode_meta("uid", "\"0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0\"", &p);
	CHECK(p.ok);
	CHECK_STR(p.pod.uid, UID);
	decode_meta("uid", "\"" HASH "\"", &p);
	CHECK(p.ok);
	CHECK_STR(p.pod.uid, HASH);
	static const char *bad[] = {
	    "\"\"",
	    "\"abc\"",
	    "\"0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0\"",
	    "\"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0x\"",
	    "\"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg\"",
	    "\"../../../../etc/passwd/00000000000\"",
	    "42",
	    "{}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		decode_meta("uid", bad[i], &p);
		CHECK(!p.ok && !p.uid_ok);
		CHECK(strstr(p.why, "metadata.uid") != NULL);
	}
	decode_meta("uid", "\"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\\u0000\"",
	            &p);
	CHECK(!p.ok && !p.uid_ok);
	decode_meta("uid", NULL, &p);
	CHECK(!p.ok && !p.uid_ok);
	CHECK(kube_uid_take(UID, 36, uid) && strcmp(uid, UID) == 0);
	CHECK(!kube_uid_take(UID, 35, uid));
}

/* A static pod's mirror: keyed by the config hash its cgroup carries. */
static void test_mirror_pods(void)
{
	struct kube_decoded_pod p;
	struct kube_watch_line ev;
	char ann[256], line[20000];
	char why[KUBE_WHY_SIZE];

	snprintf(ann, sizeof(ann),
	         "{\"" KUBE_ANNOTATION_MIRROR "\":\"%s\","
	         "\"kubernetes.io/config.hash\":\"%s\","
	         "\"" KUBE_ANNOTATION_CORE "\":\"30\"}",
	         "6D1E8F1B0E1A2C3D4E5F60718293A4B5", HASH);
	decode(pod_json("", ann, ""), &p);
	CHECK(p.ok && p.uid_ok);
	CHECK_STR(p.pod.uid, HASH); /* lower case, as the cgroup has it */
	CHECK_STR(p.pod.api_uid, UID);
	CHECK_STR(p.pod.core.value, "30");
	/* An ordinary pod: both are its UID. */
	decode(pod_json("", NULL, ""), &p);
	CHECK_STR(p.pod.uid, UID);
	CHECK_STR(p.pod.api_uid, UID);
	/* Anything but 32 hex digits is no hash: the UID stays. */
	static const char *not_hash[] = {
	    "\"\"",
	    "\"6d1e8f1b0e1a2c3d4e5f60718293a4b\"",   /* 31 */
	    "\"6d1e8f1b0e1a2c3d4e5f60718293a4b5a\"", /* 33 */
	    "\"6d1e8f1b0e1a2c3d4e5f60718293a4bz\"",
	    "\"" UID "\"", /* a UUID is not a config hash */
	    "\"6d1e8f1b0e1a2c3d4e5f60718293a4b\\u0000\"",
	    "true",
	    "32",
	};
	for (size_t i = 0; i < sizeof(not_hash) / sizeof(not_hash[0]); i++) {
		snprintf(ann, sizeof(ann),
		         "{\"" KUBE_ANNOTATION_MIRROR "\":%s}", not_hash[i]);
		decode(pod_json("", ann, ""), &p);
		CHECK(p.uid_ok);
		CHECK_STR(p.pod.uid, UID);
	}
	/* The mirror's deletion names the hash too, even when the rest of
	 * the object is refused (here its resourceVersion). */
	snprintf(ann, sizeof(ann),
	         "{\"" KUBE_ANNOTATION_MIRROR "\":\"" HASH "\"}");
	snprintf(line, sizeof(line), "{\"type\":\"DELETED\",\"object\":%s}",
	         pod_json(",\"resourceVersion\":\"1 2\"", ann, ""));
	/* (pod_json has a resourceVersion already: a duplicate key.) */
	CHECK_EQ(
	    kube_decode_watch_line(line, strlen(line), &ev, why, sizeof(why)),
	    -1);
	{
		const char *j =
		    "{\"type\":\"DELETED\",\"object\":{"
		    "\"metadata\":{\"uid\":\"" UID "\","
		    "\"resourceVersion\":\"1 2\",\"annotations\":"
		    "{\"" KUBE_ANNOTATION_MIRROR "\":\"" HASH "\"}}}}";

		CHECK_EQ(
		    kube_decode_watch_line(j, strlen(j), &ev, why, sizeof(why)),
		    0);
		CHECK(!ev.obj.ok && ev.obj.uid_ok);
		CHECK_STR(ev.obj.pod.uid, HASH);
		CHECK_STR(ev.obj.pod.api_uid, UID);
	}
}

/* Foreign text in a reason or a Status: nothing that ends a quoted value
 * or a line, or (for a word) a bare one. */
static int log_safe(const char *s, int spaces_ok)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 ||
		    (unsigned char)*s >= 0x7f || (*s == ' ' && !spaces_ok))
			return 0;
	return 1;
}

static void test_log_safety(void)
{
	struct kube_decoded_pod p;
	struct kube_watch_line ev;
	struct kube_status st;
	char out[64], why[KUBE_WHY_SIZE];
	const char *status;

	CHECK_STR(kube_printable("a \"b\\c\n\x7f\xc3\xa9", 11, out, sizeof(out),
	                         KUBE_TEXT_WORD),
	          "a??b?c?????");
	CHECK_STR(
	    kube_printable("a \"b\\c", 6, out, sizeof(out), KUBE_TEXT_PHRASE),
	    "a ?b?c");
	CHECK_STR(kube_printable("x\0y", 3, out, sizeof(out), KUBE_TEXT_WORD),
	          "x?y");
	CHECK_STR(kube_printable("abcdef", 6, out, 4, KUBE_TEXT_WORD), "abc");
	/* A UID made to close the reason and add a field. */
	decode_meta("uid", "\"x\\\" level=error msg=\\\\\"", &p);
	CHECK(!p.ok && !p.uid_ok);
	CHECK(strstr(p.why, "metadata.uid") != NULL);
	CHECK(log_safe(p.why, 1));
	CHECK(strstr(p.why, "'x??level=error?msg=?'") != NULL);
	/* jansson's own words quote the input back. */
	CHECK_EQ(kube_decode_watch_line("{\"a\":\"\\q\"}", 10, &ev, why,
	                                sizeof(why)),
	         -1);
	CHECK(strstr(why, "not JSON") != NULL);
	CHECK(log_safe(why, 1));
	{
		char line[] = "{\"type\":\"X\\\" y\",\"object\":{}}";

		CHECK_EQ(kube_decode_watch_line(line, strlen(line), &ev, why,
		                                sizeof(why)),
		         -1);
		CHECK(strstr(why, "unknown event type") != NULL);
		CHECK(log_safe(why, 1));
	}
	/* A Status's words: a quote or a backslash in its message or
	 * reason must not end the reason="..." they are shown in. */
	status = "{\"kind\":\"Status\",\"code\":500,\"reason\":"
	         "\"Bad\\\" x\",\"message\":\"a \\\"b\\\" \\\\ c\\n d\","
	         "\"details\":{\"kind\":\"k\\\"\"}}";
	CHECK_EQ(kube_decode_status(status, strlen(status), &st), 0);
	CHECK_STR(st.message, "a ?b? ? c? d");
	CHECK_STR(st.reason, "Bad??x");
	CHECK_STR(st.details_kind, "k?");
	CHECK(log_safe(st.message, 1) && log_safe(st.reason, 0));
}

static void test_names(void)
{
	struct kube_decoded_pod p;
	char long_name[300];

	static const char *bad_ns[] = {"\"ML\"", "\"a.b\"", "\"-a\"", "\"a-\"",
	                               "\"\"",   "7",       "null"};
	for (size_t i = 0; i < sizeof(bad_ns) / sizeof(bad_ns[0]); i++) {
		decode_meta("namespace", bad_ns[i], &p);
		CHECK(!p.ok);
		CHECK(p.uid_ok); /* a DELETED event for it would still count */
		CHECK(strstr(p.why, "metadata.namespace") != NULL);
	}
	{
		char quoted[80];

		memset(quoted, 'a', 66);
		quoted[0] = quoted[65] = '"';
		quoted[66] = '\0';
		decode_meta("namespace", quoted, &p);
		CHECK(!p.ok); /* 64 letters: over a label's 63 */
	}
	static const char *bad_name[] = {"\"a..b\"", "\".a\"",  "\"a.\"",
	                                 "\"A\"",    "\"a_b\"", "\"\"",
	                                 "[]",       "\"a b\""};
	for (size_t i = 0; i < sizeof(bad_name) / sizeof(bad_name[0]); i++) {
		decode_meta("name", bad_name[i], &p);
		CHECK(!p.ok && p.uid_ok);
	}
	decode_meta("name", "\"web.v2-abc.x9\"", &p);
	CHECK(p.ok);
	CHECK_STR(p.pod.pod_name, "web.v2-abc.x9");

	CHECK(kube_dns_label_valid("a", 1));
	CHECK(kube_dns_label_valid("a-1", 3));
	CHECK(!kube_dns_label_valid("a-", 2));
	memset(long_name, 'a', sizeof(long_name));
	CHECK(kube_dns_label_valid(long_name, 63));
	CHECK(!kube_dns_label_valid(long_name, 64));
	/* 253 in all: labels of 63 separated by dots */
	/* A subdomain's parts are not held to 63 each, as in Kubernetes. */
	CHECK(kube_dns_subdomain_valid(long_name, 253));
	CHECK(!kube_dns_subdomain_valid(long_name, 254));
	for (size_t i = 63; i < sizeof(long_name); i += 64)
		long_name[i] = '.';
	CHECK(kube_dns_subdomain_valid(long_name, 253));
	CHECK(!kube_dns_subdomain_valid("", 0));
	CHECK(!kube_dns_subdomain_valid("a\0b", 3));
	CHECK(!kube_dns_label_valid("a\0b", 3));
}

static void test_annotations(void)
{
	struct kube_decoded_pod p;
	char ann[256], v63[64], v64[65];

	memset(v63, '7', 63);
	v63[63] = '\0';
	memset(v64, '7', 64);
	v64[64] = '\0';
	snprintf(ann, sizeof(ann), "{\"" KUBE_ANNOTATION_MEMORY "\":\"%s\"}",
	         v63);
	decode(pod_json("", ann, ""), &p);
	CHECK(p.ok && p.pod.memory.present && !p.pod.memory.too_long);
	CHECK_EQ(strlen(p.pod.memory.value), 63);
	snprintf(ann, sizeof(ann), "{\"" KUBE_ANNOTATION_MEMORY "\":\"%s\"}",
	         v64);
	decode(pod_json("", ann, ""), &p);
	CHECK(p.ok && p.pod.memory.present && p.pod.memory.too_long);
	CHECK_STR(p.pod.memory.value, "");
	/* A NUL inside must not make "40\0junk" read as "40". */
	decode(
	    pod_json("", "{\"" KUBE_ANNOTATION_CORE "\":\"40\\u0000x\"}", ""),
	    &p);
	CHECK(p.ok);
	CHECK_STR(p.pod.core.value, "40?x");
	/* Raw values stay raw: the loop judges them. */
	decode(pod_json("", "{\"" KUBE_ANNOTATION_CORE "\":\"lots\"}", ""), &p);
	CHECK(p.ok);
	CHECK_STR(p.pod.core.value, "lots");
	/* Types. */
	decode(pod_json("", "{\"" KUBE_ANNOTATION_CORE "\":40}", ""), &p);
	CHECK(!p.ok && strstr(p.why, "not a string"));
	decode(pod_json("", "[]", ""), &p);
	CHECK(!p.ok && strstr(p.why, "annotations"));
}

static void test_bad_pods(void)
{
	struct kube_decoded_pod p;

	decode("", &p);
	CHECK(!p.ok && strstr(p.why, "not JSON"));
	decode("[1,2]", &p);
	CHECK(!p.ok);
	decode("{\"metadata\":7}", &p);
	CHECK(!p.ok && strstr(p.why, "metadata"));
	decode("{}", &p);
	CHECK(!p.ok && strstr(p.why, "metadata is missing"));
	/* Two uids: the checks must not see one and the cache another. */
	decode("{\"metadata\":{\"uid\":\"" UID "\",\"uid\":\"x\","
	       "\"name\":\"a\",\"namespace\":\"b\"}}",
	       &p);
	CHECK(!p.ok);
	/* A bad resourceVersion refuses the pod, keeps no version (the
	 * watch does not move to it) and still names the UID (a deletion
	 * counts). */
	decode_meta("resourceVersion", "\"12&watch=0\"", &p);
	CHECK(!p.ok && strstr(p.why, "resourceVersion"));
	CHECK(p.uid_ok);
	CHECK_STR(p.pod.uid, UID);
	CHECK_STR(p.resource_version, "");
	decode_meta("resourceVersion", "12", &p);
	CHECK(!p.ok && p.uid_ok);
	{
		char big[100];

		memset(big, '7', sizeof(big));
		big[0] = big[sizeof(big) - 2] = '"';
		big[sizeof(big) - 1] = '\0';
		decode_meta("resourceVersion", big, &p); /* 97 digits: long */
		CHECK(!p.ok && p.uid_ok);
	}
	decode_meta("resourceVersion", NULL, &p);
	CHECK(p.ok && p.resource_version[0] == '\0');
	decode(pod_json("", NULL, ",\"nodeName\":5"), &p);
	CHECK(!p.ok); /* duplicate nodeName: refused whole */
	{
		const char *j = "{\"metadata\":{\"uid\":\"" UID
		                "\",\"name\":\"a\",\"namespace\":\"b\"},"
		                "\"spec\":{\"nodeName\":\"Bad_Node\"}}";
		decode(j, &p);
		CHECK(!p.ok && strstr(p.why, "nodeName"));
	}
	{
		const char *j = "{\"metadata\":{\"uid\":\"" UID
		                "\",\"name\":\"a\",\"namespace\":\"b\"},"
		                "\"spec\":[]}";
		decode(j, &p);
		CHECK(!p.ok && strstr(p.why, "spec"));
	}
	{
		const char *j = "{\"metadata\":{\"uid\":\"" UID
		                "\",\"name\":\"a\",\"namespace\":\"b\"}}";
		decode(j, &p);
		CHECK(p.ok && p.node_name[0] == '\0');
	}
	/* Deep nesting and big numbers do not crash. */
	{
		char deep[8192];
		size_t n = 0;

		for (int i = 0; i < 3000; i++)
			deep[n++] = '[';
		deep[n] = '\0';
		decode(deep, &p);
		CHECK(!p.ok);
	}
}

static int watch(const char *line, struct kube_watch_line *ev)
{
	char why[KUBE_WHY_SIZE];

	return kube_decode_watch_line(line, strlen(line), ev, why, sizeof(why));
}

static void test_watch_lines(void)
{
	struct kube_watch_line ev;
	char line[20000];
	char why[KUBE_WHY_SIZE];

	snprintf(line, sizeof(line), "{\"type\":\"ADDED\",\"object\":%s}",
	         pod_json("", NULL, ""));
	CHECK_EQ(watch(line, &ev), 0);
	CHECK_EQ(ev.type, KUBE_WATCH_ADDED);
	CHECK(ev.obj.ok);
	CHECK_STR(ev.obj.resource_version, "4711");
	snprintf(line, sizeof(line), "{\"type\":\"MODIFIED\",\"object\":%s}",
	         pod_json("", "{\"" KUBE_ANNOTATION_CORE "\":\"20\"}", ""));
	CHECK_EQ(watch(line, &ev), 0);
	CHECK_EQ(ev.type, KUBE_WATCH_MODIFIED);
	CHECK_STR(ev.obj.pod.core.value, "20");
	snprintf(line, sizeof(line), "{\"type\":\"DELETED\",\"object\":%s}",
	         pod_json("", NULL, ""));
	CHECK_EQ(watch(line, &ev), 0);
	CHECK_EQ(ev.type, KUBE_WATCH_DELETED);
	CHECK(ev.obj.uid_ok);

	CHECK_EQ(watch("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\","
	               "\"metadata\":{\"resourceVersion\":\"9000\"}}}",
	               &ev),
	         0);
	CHECK_EQ(ev.type, KUBE_WATCH_BOOKMARK);
	CHECK_STR(ev.obj.resource_version, "9000");
	CHECK_EQ(
	    watch("{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}", &ev),
	    -1);

	CHECK_EQ(watch("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
	               "\"apiVersion\":\"v1\",\"status\":\"Failure\","
	               "\"message\":\"too old resource version: 5 (9)\","
	               "\"reason\":\"Expired\",\"code\":410}}",
	               &ev),
	         0);
	CHECK_EQ(ev.type, KUBE_WATCH_ERROR);
	CHECK(ev.status.gone);
	CHECK_EQ(ev.status.code, 410);
	CHECK_STR(ev.status.reason, "Expired");
	CHECK_STR(ev.status.message, "too old resource version: 5 (9)");
	CHECK_EQ(watch("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
	               "\"reason\":\"InternalError\",\"code\":500,"
	               "\"message\":\"etcd\\nleader\"}}",
	               &ev),
	         0);
	CHECK(!ev.status.gone);
	CHECK_EQ(ev.status.code, 500);
	CHECK_STR(ev.status.message, "etcd?leader"); /* safe to log */
	/* A code of the wrong type is no code. */
	CHECK_EQ(
	    watch("{\"type\":\"ERROR\",\"object\":{\"code\":\"410\"}}", &ev),
	    0);
	CHECK(!ev.status.gone && ev.status.code == 0);

	CHECK_EQ(kube_decode_watch_line("nope", 4, &ev, why, sizeof(why)), -1);
	CHECK(strstr(why, "not JSON") != NULL);
	CHECK_EQ(watch("{\"type\":\"ADDDED\",\"object\":{}}", &ev), -1);
	CHECK_EQ(watch("{\"type\":\"ADDED\\u0000x\",\"object\":{}}", &ev), -1);
	CHECK_EQ(watch("{\"type\":7,\"object\":{}}", &ev), -1);
	CHECK_EQ(watch("{\"type\":\"ADDED\"}", &ev), -1);
	CHECK_EQ(watch("{\"type\":\"ADDED\",\"object\":\"x\"}", &ev), -1);
	/* A pod that fails its checks is still a well-formed line. */
	CHECK_EQ(watch("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"uid\":"
	               "\"x\",\"resourceVersion\":\"77\"}}}",
	               &ev),
	         0);
	CHECK(!ev.obj.ok && !ev.obj.uid_ok);
	CHECK_STR(ev.obj.resource_version, "77"); /* the watch moves on */
	/* A DELETED event with a malformed resourceVersion still deletes. */
	CHECK_EQ(watch("{\"type\":\"DELETED\",\"object\":{\"metadata\":{"
	               "\"uid\":\"" UID "\",\"resourceVersion\":\"7/8\"}}}",
	               &ev),
	         0);
	CHECK(!ev.obj.ok && ev.obj.uid_ok);
	CHECK_STR(ev.obj.pod.uid, UID);
	CHECK_STR(ev.obj.resource_version, "");
}

struct collected {
	int n, ok;
	char names[8][NVS_POD_NAME_SIZE];
};

static void collect(void *ctx, const struct kube_decoded_pod *p)
{
	struct collected *c = ctx;

	if (c->n < 8)
		snprintf(c->names[c->n], sizeof(c->names[0]), "%s",
		         p->ok ? p->pod.pod_name : "!");
	c->n++;
	c->ok += p->ok;
}

static int list(const char *body, struct kube_list_page *page,
                struct collected *c)
{
	char why[KUBE_WHY_SIZE];

	memset(c, 0, sizeof(*c));
	return kube_decode_list(body, strlen(body), page, collect, c, why,
	                        sizeof(why));
}

static void test_lists(void)
{
	struct kube_list_page page;
	struct collected c;
	static char body[40000];

	snprintf(body, sizeof(body),
	         "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{"
	         "\"resourceVersion\":\"1234\",\"continue\":\"eyJ2IjoxfQ==\","
	         "\"remainingItemCount\":3},\"items\":[%s,{\"metadata\":{"
	         "\"uid\":\"bad\"}},%s]}",
	         pod_json("", NULL, ""),
	         "{\"metadata\":{\"uid\":\"" HASH
	         "\",\"name\":\"b\",\"namespace\":"
	         "\"c\"}}");
	CHECK_EQ(list(body, &page, &c), 0);
	CHECK_STR(page.resource_version, "1234");
	CHECK_STR(page.cont, "eyJ2IjoxfQ==");
	CHECK_EQ(page.items, 3);
	CHECK_EQ(page.refused, 1);
	CHECK_EQ(c.n, 3);
	CHECK_EQ(c.ok, 2);
	CHECK_STR(c.names[0], "trainer-0");
	CHECK_STR(c.names[1], "!");
	CHECK_STR(c.names[2], "b");

	CHECK_EQ(list("{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":"
	              "\"5\"},\"items\":[]}",
	              &page, &c),
	         0);
	CHECK_EQ(page.items, 0);
	CHECK_STR(page.cont, "");
	CHECK_EQ(list("{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":"
	              "null}",
	              &page, &c),
	         0);
	CHECK_EQ(list("{\"kind\":\"Status\",\"metadata\":{\"resourceVersion\":"
	              "\"5\"},\"items\":[]}",
	              &page, &c),
	         -1);
	CHECK_EQ(list("{\"metadata\":{},\"items\":[]}", &page, &c), -1);
	CHECK_EQ(
	    list("{\"metadata\":{\"resourceVersion\":\"a b\"}}", &page, &c),
	    -1);
	CHECK_EQ(list("{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":{}}",
	              &page, &c),
	         -1);
	CHECK_EQ(list("{\"metadata\":{\"resourceVersion\":\"5\",\"continue\":"
	              "\"a b\"},\"items\":[]}",
	              &page, &c),
	         -1);
	CHECK_EQ(list("{\"metadata\":{\"resourceVersion\":\"5\",\"continue\":"
	              "3},\"items\":[]}",
	              &page, &c),
	         -1);
	CHECK_EQ(list("[]", &page, &c), -1);
	CHECK_EQ(c.n, 0);
}

static void test_status(void)
{
	struct kube_status st;
	const char *gone = "{\"kind\":\"Status\",\"apiVersion\":\"v1\","
	                   "\"status\":\"Failure\",\"message\":\"too old\","
	                   "\"reason\":\"Expired\",\"code\":410}";
	const char *ns = "{\"kind\":\"Status\",\"reason\":\"NotFound\","
	                 "\"code\":404,\"details\":{\"name\":\"gone\","
	                 "\"kind\":\"namespaces\"}}";

	CHECK_EQ(kube_decode_status(gone, strlen(gone), &st), 0);
	CHECK(st.gone && st.code == 410);
	CHECK_EQ(kube_decode_status(ns, strlen(ns), &st), 0);
	CHECK(!st.gone && st.code == 404);
	CHECK_STR(st.details_kind, "namespaces");
	CHECK_EQ(kube_decode_status("404 page not found", 18, &st), -1);
	CHECK_EQ(st.code, 0);
	CHECK_EQ(kube_decode_status("{\"kind\":\"Pod\"}", 14, &st), -1);
}

static void expect_url(const char *in, const char *want)
{
	char out[KUBE_URL_MAX], why[160] = "";
	int rc = kube_url_check(in, out, why, sizeof(why));

	if (want) {
		CHECK_EQ(rc, 0);
		CHECK_STR(rc == 0 ? out : why, want);
	} else {
		CHECK_EQ(rc, -1);
		CHECK(why[0] != '\0');
	}
}

static void test_urls(void)
{
	char out[KUBE_URL_MAX], why[160], big[KUBE_URL_MAX + 16];

	expect_url("https://10.96.0.1:443", "https://10.96.0.1:443");
	expect_url("https://kubernetes.default.svc",
	           "https://kubernetes.default.svc");
	expect_url("https://api.example.com:6443/",
	           "https://api.example.com:6443");
	expect_url("https://[fd00::1]:6443", "https://[fd00::1]:6443");
	expect_url("https://[::1]", "https://[::1]");
	expect_url("http://10.0.0.1:8080", NULL);
	expect_url("HTTPS://host", NULL);
	expect_url("https://", NULL);
	expect_url("https://:443", NULL);
	expect_url("https://admin:secret@host:443", NULL);
	expect_url("https://host:443/api", NULL);
	expect_url("https://host?x=1", NULL);
	expect_url("https://host#x", NULL);
	expect_url("https://host:0", NULL);
	expect_url("https://host:65536", NULL);
	expect_url("https://host:", NULL);
	expect_url("https://host:44a", NULL);
	expect_url("https://ho_st", NULL);
	expect_url("https://fd00::1:443", NULL);
	expect_url("https://[fd00::1", NULL);
	expect_url("https://[fd00::1]443", NULL);
	expect_url("https://[zz::1]:443", NULL);
	expect_url("https://[]:443", NULL);
	expect_url("https://host\r\nX: y", NULL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "https://", 8);
	expect_url(big, NULL);

	CHECK_EQ(
	    kube_url_from_service("10.96.0.1", "443", out, why, sizeof(why)),
	    0);
	CHECK_STR(out, "https://10.96.0.1:443");
	CHECK_EQ(kube_url_from_service("fd00:10:96::1", "443", out, why,
	                               sizeof(why)),
	         0);
	CHECK_STR(out, "https://[fd00:10:96::1]:443");
	CHECK_EQ(
	    kube_url_from_service("10.96.0.1", "https", out, why, sizeof(why)),
	    -1);
	CHECK_EQ(kube_url_from_service("", "443", out, why, sizeof(why)), -1);
	CHECK_EQ(kube_url_from_service("a@b", "443", out, why, sizeof(why)),
	         -1);
	CHECK_EQ(kube_url_from_service("[::1]", "443", out, why, sizeof(why)),
	         -1);
	CHECK_EQ(kube_url_from_service("h/x", "443", out, why, sizeof(why)),
	         -1);
}

static json_t *body_of(enum kube_event_api api, const struct kube_event *ev,
                       const char *node, const struct timespec *ts)
{
	json_error_t err;
	char *body = kube_event_body(api, ev, node, ts, 0xabcdef0123456789ULL);
	json_t *root;

	CHECK(body != NULL);
	if (!body)
		return NULL;
	root = json_loads(body, 0, &err);
	CHECK(root != NULL);
	free(body);
	return root;
}

static const char *str_at(json_t *root, const char *a, const char *b)
{
	json_t *v = json_object_get(root, a);

	if (b)
		v = json_object_get(v, b);
	return json_is_string(v) ? json_string_value(v) : "(none)";
}

static void test_event_bodies(void)
{
	struct kube_event ev = {
	    .pod_namespace = "ml",
	    .pod_name = "trainer-0",
	    .pod_uid = UID,
	    .reason = "InvalidAnnotation",
	    .note =
	        "nvshare.com/gpu-core-limit \"250\": want 1..100; keeping 40",
	};
	struct timespec ts = {.tv_sec = 1767323045, .tv_nsec = 123456789};
	char path[256], node[300], stamp[40];
	json_t *v1, *core;

	kube_rfc3339(&(struct timespec){.tv_sec = 0, .tv_nsec = 5000}, 1, stamp,
	             sizeof(stamp));
	CHECK_STR(stamp, "1970-01-01T00:00:00.000005Z");
	kube_rfc3339(&ts, 0, stamp, sizeof(stamp));
	CHECK_STR(stamp, "2026-01-02T03:04:05Z");

	kube_event_path(KUBE_EVENTS_V1, &ev, path, sizeof(path));
	CHECK_STR(path, "/apis/events.k8s.io/v1/namespaces/ml/events");
	kube_event_path(KUBE_EVENTS_CORE, &ev, path, sizeof(path));
	CHECK_STR(path, "/api/v1/namespaces/ml/events");

	v1 = body_of(KUBE_EVENTS_V1, &ev, "node-1", &ts);
	CHECK_STR(str_at(v1, "apiVersion", NULL), "events.k8s.io/v1");
	CHECK_STR(str_at(v1, "kind", NULL), "Event");
	CHECK_STR(str_at(v1, "metadata", "name"), "trainer-0.abcdef0123456789");
	CHECK_STR(str_at(v1, "metadata", "namespace"), "ml");
	CHECK_STR(str_at(v1, "eventTime", NULL), "2026-01-02T03:04:05.123456Z");
	CHECK_STR(str_at(v1, "type", NULL), "Warning");
	CHECK_STR(str_at(v1, "reason", NULL), "InvalidAnnotation");
	CHECK_STR(str_at(v1, "note", NULL), ev.note);
	CHECK_STR(str_at(v1, "action", NULL), "Validate");
	CHECK_STR(str_at(v1, "reportingController", NULL),
	          "nvshare.com/scheduler");
	CHECK_STR(str_at(v1, "reportingInstance", NULL), "node-1");
	CHECK_STR(str_at(v1, "regarding", "apiVersion"), "v1");
	CHECK_STR(str_at(v1, "regarding", "kind"), "Pod");
	CHECK_STR(str_at(v1, "regarding", "namespace"), "ml");
	CHECK_STR(str_at(v1, "regarding", "name"), "trainer-0");
	CHECK_STR(str_at(v1, "regarding", "uid"), UID);
	json_decref(v1);

	core = body_of(KUBE_EVENTS_CORE, &ev, "node-1", &ts);
	CHECK_STR(str_at(core, "apiVersion", NULL), "v1");
	CHECK_STR(str_at(core, "involvedObject", "kind"), "Pod");
	CHECK_STR(str_at(core, "involvedObject", "uid"), UID);
	CHECK_STR(str_at(core, "involvedObject", "name"), "trainer-0");
	CHECK_STR(str_at(core, "message", NULL), ev.note);
	CHECK_STR(str_at(core, "source", "component"), "nvshare-scheduler");
	CHECK_STR(str_at(core, "source", "host"), "node-1");
	CHECK_STR(str_at(core, "firstTimestamp", NULL), "2026-01-02T03:04:05Z");
	CHECK_STR(str_at(core, "lastTimestamp", NULL), "2026-01-02T03:04:05Z");
	CHECK_EQ(json_integer_value(json_object_get(core, "count")), 1);
	CHECK_STR(str_at(core, "type", NULL), "Warning");
	json_decref(core);

	/* Invalid UTF-8 in the note, a name at its longest, a node name
	 * beyond the 128 reportingInstance may hold. */
	snprintf(ev.note, sizeof(ev.note), "bad \xff\xfe value \xe2\x82");
	memset(ev.pod_name, 'a', 253);
	ev.pod_name[235] = '-'; /* the cut falls right after it */
	ev.pod_name[253] = '\0';
	memset(node, 'n', 200);
	node[200] = '\0';
	v1 = body_of(KUBE_EVENTS_V1, &ev, node, &ts);
	CHECK_STR(str_at(v1, "note", NULL), "bad ?? value ??");
	{
		const char *name = str_at(v1, "metadata", "name");

		CHECK(strlen(name) <= 253);
		CHECK(kube_dns_subdomain_valid(name, strlen(name)));
		CHECK(strstr(name, "-.") == NULL);
	}
	CHECK_EQ(strlen(str_at(v1, "reportingInstance", NULL)), 128);
	CHECK_EQ(strlen(str_at(v1, "regarding", "name")), 253);
	json_decref(v1);
}

int main(void)
{
	test_good_pod();
	test_uids();
	test_mirror_pods();
	test_log_safety();
	test_names();
	test_annotations();
	test_bad_pods();
	test_watch_lines();
	test_lists();
	test_status();
	test_urls();
	test_event_bodies();
	return check_summary("test_kube_decode");
}
