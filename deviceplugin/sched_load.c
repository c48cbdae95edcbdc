/*
 * sched_load.c - the scheduler's report, fetched and read (see
 * sched_load.h). The report is asked page by page, as nvsharectl does,
 * so that it has no size limit; a scheduler that predates paging gets
 * the one-reply form.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "sched_load.h"
#include "sock.h"

static void read_client(const struct dp_json *c, struct dp_client_view *out)
{
	const struct dp_json *gpus = dp_json_get(c, "gpus");

	memset(out, 0, sizeof(*out));
	out->id = dp_json_u64(dp_json_get(c, "id"));
	out->pid = (int)dp_json_u64(dp_json_get(c, "pid"));
	/* sent by the library at HELLO once the protocol carries it */
	snprintf(out->alloc_id, sizeof(out->alloc_id), "%s",
	         dp_json_str(dp_json_get(c, "allocation_id")));
	out->memory_limit = dp_json_u64(dp_json_get(c, "memory_limit_bytes"));
	out->core_limit =
	    (unsigned)dp_json_u64(dp_json_get(c, "core_limit_pct"));
	if (!gpus || gpus->kind != DP_JSON_ARRAY)
		return;
	for (size_t i = 0; i < gpus->n && out->ngpus < DP_MAX_GPUS; i++) {
		const struct dp_json *g = &gpus->items[i];
		struct dp_client_gpu *e = &out->gpu[out->ngpus];

		snprintf(e->uuid, sizeof(e->uuid), "%s",
		         dp_json_str(dp_json_get(g, "uuid")));
		e->footprint = dp_json_u64(dp_json_get(g, "memory_bytes"));
		if (e->uuid[0])
			out->ngpus++;
	}
}

int dp_sched_parse(const char *json, struct dp_sched_view *out, char *err,
                   size_t errlen)
{
	struct dp_json *root = dp_json_parse(json, err, errlen);
	const struct dp_json *clients;

	memset(out, 0, sizeof(*out));
	if (!root)
		return -1;
	clients = dp_json_get(root, "clients");
	if (!clients || clients->kind != DP_JSON_ARRAY) {
		snprintf(err, errlen, "the report has no client list");
		dp_json_free(root);
		return -1;
	}
	out->clients =
	    calloc(clients->n ? clients->n : 1, sizeof(*out->clients));
	if (!out->clients) {
		snprintf(err, errlen, "out of memory");
		dp_json_free(root);
		return -1;
	}
	for (size_t i = 0; i < clients->n; i++)
		read_client(&clients->items[i], &out->clients[out->nclients++]);
	dp_json_free(root);
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
