/*
 * sched_load.c - the scheduler's report, fetched and read (see
 * sched_load.h). The report is asked page by page, as nvsharectl does,
 * so that it has no size limit; a scheduler that predates paging gets
 * the one-reply form. The JSON is read with jansson; every member used is
 * checked for its type and range, and one wrong refuses the whole report.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched_load.h"
#include "sock.h"

static int refuse(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes why the report is refused into err; returns -1. */
static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Member key of obj as an integer in 0..max. Absent or null (the report's
 * "none") reads 0 where the member is optional. Integers above INT64_MAX
 * never get here: jansson refuses the whole document. */
static int member_u64(const json_t *obj, const char *key, int required,
                      uint64_t max, uint64_t *out, const char *where, char *err,
                      size_t errlen)
{
	const json_t *v = json_object_get(obj, key);

	*out = 0;
	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		return refuse(err, errlen, "%s has no \"%s\"", where, key);
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return refuse(err, errlen,
		              "%s: \"%s\" is not an integer in 0..%" PRIu64,
		              where, key, max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* Member key of obj as a string; *s is NULL when absent or null. */
static int member_str(const json_t *obj, const char *key, const char **s,
                      size_t *len, const char *where, char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);

	*s = NULL;
	*len = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return refuse(err, errlen, "%s: \"%s\" is not a string", where,
		              key);
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

static int read_gpu(const json_t *g, const char *where,
                    struct dp_client_view *out, char *err, size_t errlen)
{
	struct dp_client_gpu *e = &out->gpu[out->ngpus];
	const char *uuid;
	size_t len;

	if (!json_is_object(g))
		return refuse(err, errlen, "%s: a GPU is not an object", where);
	if (member_str(g, "uuid", &uuid, &len, where, err, errlen) ||
	    member_u64(g, "memory_bytes", 1, UINT64_MAX, &e->footprint, where,
	               err, errlen))
		return -1;
	if (!uuid || len >= sizeof(e->uuid))
		return refuse(err, errlen, "%s: a GPU has no valid \"uuid\"",
		              where);
	memcpy(e->uuid, uuid, len + 1);
	if (e->uuid[0])
		out->ngpus++;
	return 0;
}

static int read_client(const json_t *c, size_t index,
                       struct dp_client_view *out, char *err, size_t errlen)
{
	const json_t *gpus = json_object_get(c, "gpus");
	uint64_t pid, core;
	const char *alloc;
	size_t len;
	char where[40];

	snprintf(where, sizeof(where), "client %zu", index);
	memset(out, 0, sizeof(*out));
	if (!json_is_object(c))
		return refuse(err, errlen, "%s is not an object", where);
	if (member_u64(c, "id", 1, UINT64_MAX, &out->id, where, err, errlen) ||
	    member_u64(c, "pid", 1, INT_MAX, &pid, where, err, errlen) ||
	    member_u64(c, "memory_limit_bytes", 0, UINT64_MAX,
	               &out->memory_limit, where, err, errlen) ||
	    member_u64(c, "core_limit_pct", 0, UINT_MAX, &core, where, err,
	               errlen) ||
	    /* sent by the library at HELLO once the protocol carries it */
	    member_str(c, "allocation_id", &alloc, &len, where, err, errlen))
		return -1;
	out->pid = (int)pid;
	out->core_limit = (unsigned)core;
	/* Longer than any id the plugin hands out, it matches none: as if
	 * absent, so that the process's environment is asked instead. */
	if (alloc && len < sizeof(out->alloc_id))
		memcpy(out->alloc_id, alloc, len + 1);
	if (!gpus || json_is_null(gpus))
		return 0;
	if (!json_is_array(gpus))
		return refuse(err, errlen, "%s: \"gpus\" is not an array",
		              where);
	for (size_t i = 0; i < json_array_size(gpus); i++) {
		if (out->ngpus == DP_MAX_GPUS)
			break; /* more than a node has: the rest ignored */
		if (read_gpu(json_array_get(gpus, i), where, out, err, errlen))
			return -1;
	}
	return 0;
}

/* Copies jansson's message, printable ASCII but quotes and backslashes
 * ('?' for those): it quotes the input and ends up in a log line. */
static void log_safe(const char *s, char *out, size_t n)
{
	size_t i = 0;

	for (; s[i] && i + 1 < n; i++)
		out[i] =
		    s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\'
		        ? s[i]
		        : '?';
	out[i] = '\0';
}

int dp_sched_parse(const char *json, struct dp_sched_view *out, char *err,
                   size_t errlen)
{
	json_error_t jerr;
	json_t *root, *clients;
	size_t n;

	memset(out, 0, sizeof(*out));
	/* Integers as jansson's int64 (JSON_DECODE_INT_AS_REAL off), exact:
	 * one above INT64_MAX, more bytes than any machine has, fails the
	 * whole report ("too big integer"). Duplicate keys are refused: two
	 * "pid"s are not one client. */
	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		char msg[sizeof(jerr.text)];

		log_safe(jerr.text, msg, sizeof(msg));
		return refuse(err, errlen,
		              "the report is not JSON (byte %d): %s",
		              jerr.position, msg);
	}
	clients = json_object_get(root, "clients");
	if (!json_is_array(clients)) {
		json_decref(root);
		return refuse(err, errlen, "the report has no client list");
	}
	n = json_array_size(clients);
	out->clients = calloc(n ? n : 1, sizeof(*out->clients));
	if (!out->clients) {
		json_decref(root);
		return refuse(err, errlen, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (read_client(json_array_get(clients, i), i, &out->clients[i],
		                err, errlen)) {
			json_decref(root);
			dp_sched_view_free(out);
			return -1;
		}
		out->nclients++;
	}
	json_decref(root);
	return 0;
}

void dp_sched_view_free(struct dp_sched_view *v)
{
	free(v->clients);
	v->clients = NULL;
	v->nclients = 0;
}

/* One request and its reply on a fresh connection. 1: reply in *m; 0:
 * closed without one; -1: failed. */
static int request(const char *socket, const struct nvs_ctl_status *req,
                   size_t len, int timeout_ms, struct nvs_msg *m, char *err,
                   size_t errlen)
{
	enum nvs_read_status st;
	int fd = nvs_socket_connect(socket);

	if (fd < 0) {
		snprintf(err, errlen, "cannot reach the scheduler at %s: %s",
		         socket, strerror(errno));
		return -1;
	}
	if (nvs_msg_send(fd, NVS_MSG_CTL_STATUS, req, len) < 0) {
		snprintf(err, errlen, "cannot send to the scheduler: %s",
		         strerror(errno));
		close(fd);
		return -1;
	}
	st = nvs_msg_recv(fd, m, timeout_ms, err, errlen);
	close(fd);
	if (st == NVS_READ_EOF)
		return 0;
	if (st != NVS_READ_MSG)
		return -1;
	if (m->hdr.type != NVS_MSG_CTL_REPLY || m->u.ctl_reply.status != 0) {
		snprintf(err, errlen,
		         "the scheduler refused the status "
		         "request");
		nvs_msg_release(m);
		return -1;
	}
	return 1;
}

/* Appends s to the growing text *buf of *len bytes. */
static int append(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *p = realloc(*buf, *len + n + 1);

	if (!p)
		return -1;
	memcpy(p + *len, s, n + 1);
	*buf = p;
	*len += n;
	return 0;
}

int dp_sched_fetch(const char *socket, int timeout_ms,
                   struct dp_sched_view *out, char *err, size_t errlen)
{
	struct nvs_ctl_status req = {.format = NVS_CTL_FORMAT_JSON,
	                             .flags = NVS_CTL_STATUS_PAGED};
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	for (int pages = 0; pages < 100000; pages++) {
		struct nvs_msg m;
		const char *body, *nl;
		uint64_t next;
		int r = request(socket, &req, sizeof(req), timeout_ms, &m, err,
		                errlen);

		if (r == 0 && req.after_client == 0) {
			/* before paging: the whole report at once */
			req.flags = 0;
			r = request(socket, &req, NVS_CTL_STATUS_LEGACY_SIZE,
			            timeout_ms, &m, err, errlen);
			if (r == 1) {
				rc = dp_sched_parse(m.text ? m.text : "", out,
				                    err, errlen);
				nvs_msg_release(&m);
			}
			free(text);
			return r == 1 ? rc : -1;
		}
		if (r != 1)
			break;
		body = m.text ? m.text : "";
		nl = strchr(body, '\n');
		if (strncmp(body, NVS_CTL_PAGE_PREFIX,
		            strlen(NVS_CTL_PAGE_PREFIX)) != 0 ||
		    !nl ||
		    sscanf(body + strlen(NVS_CTL_PAGE_PREFIX), "%" SCNu64,
		           &next) != 1 ||
		    (next != 0 && next <= req.after_client)) {
			snprintf(err, errlen, "malformed status page");
			nvs_msg_release(&m);
			break;
		}
		if (append(&text, &len, nl + 1) < 0) {
			snprintf(err, errlen, "out of memory");
			nvs_msg_release(&m);
			break;
		}
		nvs_msg_release(&m);
		if (next == 0) {
			rc = dp_sched_parse(text, out, err, errlen);
			break;
		}
		req.after_client = next;
	}
	free(text);
	return rc;
}
