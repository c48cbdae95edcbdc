/*
 * conn.c - see conn.h.
 */
#include "conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "metrics_counters.h"
#include "registry.h"
#include "sock.h"

#define DRAIN_LIMIT (256u << 10) /* unread bytes discarded before close */

static unsigned long long client_id(const struct sched_conn *c)
{
	return c->client ? (unsigned long long)c->client->id : 0;
}

struct sched_conn *conn_new(int fd, uint64_t seq, pid_t pid, uid_t uid,
                            gid_t gid)
{
	struct sched_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (nvs_reader_init(&c->reader)) {
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->seq = seq;
	c->pid = pid;
	c->uid = uid;
	c->gid = gid;
	c->peer.pid = pid;
	c->peer.uid = uid;
	c->peer.gid = gid;
	c->accepted_ns = nvs_now_ns();
	return c;
}

void conn_attach(struct sched_conn *c, struct peer_identity *id,
                 struct peer_account *acct)
{
	peer_identity_free(&c->peer);
	c->peer = *id;
	memset(id, 0, sizeof(*id)); /* ours now */
	c->pid = c->peer.pid;
	c->uid = c->peer.uid;
	c->gid = c->peer.gid;
	c->acct = acct;
	acct->nconns++;
}

int conn_log_ok(struct sched_conn *c)
{
	return !c->acct || peer_account_log_ok(c->acct, nvs_now_ns());
}

int64_t conn_deadline(const struct sched_conn *c)
{
	if (c->dead)
		return INT64_MAX;
	if (!c->greeted)
		return c->accepted_ns + CONN_FRAME_DEADLINE_NS;
	if (c->frame_since_ns)
		return c->frame_since_ns + CONN_FRAME_DEADLINE_NS;
	return INT64_MAX;
}

void conn_check_deadline(struct sched_conn *c, int64_t now)
{
	if (now < conn_deadline(c))
		return;
	if (conn_log_ok(c))
		NVS_WARN("event=handshake_timeout pid=%d uid=%u conn=%llu "
		         "client=%llu waited_ms=%lld pending_bytes=%zu "
		         "reason=\"%s\" action=disconnect",
		         (int)c->pid, (unsigned)c->uid,
		         (unsigned long long)c->seq, client_id(c),
		         (long long)(CONN_FRAME_DEADLINE_NS / 1000000),
		         c->reader.used,
		         c->greeted ? "a frame was not finished in time"
		                    : "no first message in time");
	c->dead = 1;
}

/* Discards what the peer sent but we will not read, so that closing does
 * not turn into a connection reset on its side. */
static void drain_input(int fd)
{
	char buf[16384];
	size_t total = 0;

	while (total < DRAIN_LIMIT) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			return;
		total += (size_t)n;
	}
}

void conn_free(struct sched_conn *c)
{
	drain_input(c->fd);
	close(c->fd);
	peer_identity_free(&c->peer);
	if (c->acct)
		c->acct->nconns--;
	nvs_reader_free(&c->reader);
	free(c->out);
	free(c);
}

void conn_protocol_error(struct sched_conn *c, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	if (c->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	c->dead = 1;
	metrics_protocol_error(&metrics_global);
	if (!conn_log_ok(c))
		return;
	NVS_WARN("event=protocol_error client=%llu pid=%d uid=%u conn=%llu "
	         "reason=\"%s\" action=disconnect",
	         client_id(c), (int)c->pid, (unsigned)c->uid,
	         (unsigned long long)c->seq, reason);
}

void conn_close(struct sched_conn *c, const char *reason)
{
	if (c->dead)
		return;
	if (c->client)
		NVS_INFO("event=disconnect client=%llu pid=%d conn=%llu "
		         "reason=\"%s\"",
		         client_id(c), (int)c->pid, (unsigned long long)c->seq,
		         reason);
	else
		NVS_DEBUG("event=disconnect client=0 pid=%d conn=%llu "
		          "reason=\"%s\"",
		          (int)c->pid, (unsigned long long)c->seq, reason);
	c->dead = 1;
}

void conn_flush(struct sched_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n =
		    send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		         MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			char reason[96];
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			snprintf(reason, sizeof(reason), "send: %s",
			         strerror(errno));
			conn_close(c, reason);
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
}

/* Makes room for more bytes at the end of c->out; 0 or -1. */
static int out_reserve(struct sched_conn *c, size_t more)
{
	size_t pending = c->out_len - c->out_off, ncap;
	uint8_t *p;

	if (pending + more > CONN_OUT_MAX)
		return -1;
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_off = 0;
		c->out_len = pending;
	}
	if (c->out_len + more <= c->out_cap)
		return 0;
	ncap = c->out_cap ? c->out_cap : 1024;
	while (ncap < c->out_len + more)
		ncap *= 2;
	p = realloc(c->out, ncap);
	if (!p)
		return -1;
	c->out = p;
	c->out_cap = ncap;
	return 0;
}

static void queue_frame(struct sched_conn *c, uint16_t type, const void *a,
                        size_t alen, const void *b, size_t blen)
{
	struct nvs_msg_header hdr = {
	    .magic = NVS_PROTO_MAGIC,
	    .version = NVS_PROTO_VERSION,
	    .type = type,
	    .length = (uint32_t)(alen + blen),
	};

	if (c->dead)
		return;
	if (out_reserve(c, sizeof(hdr) + alen + blen)) {
		if (conn_log_ok(c))
			NVS_WARN(
			    "event=send_overflow client=%llu pid=%d conn=%llu "
			    "pending=%zu action=disconnect",
			    client_id(c), (int)c->pid,
			    (unsigned long long)c->seq,
			    c->out_len - c->out_off);
		c->dead = 1;
		return;
	}
	memcpy(c->out + c->out_len, &hdr, sizeof(hdr));
	c->out_len += sizeof(hdr);
	if (alen)
		memcpy(c->out + c->out_len, a, alen);
	c->out_len += alen;
	if (blen)
		memcpy(c->out + c->out_len, b, blen);
	c->out_len += blen;
	conn_flush(c);
}

void conn_send(struct sched_conn *c, uint16_t type, const void *payload,
               size_t len)
{
	queue_frame(c, type, payload, len, NULL, 0);
}

void conn_send_reply(struct sched_conn *c, int32_t status, const char *text,
                     size_t len)
{
	struct nvs_ctl_reply r = {.status = status};

	if (len > NVS_CTL_TEXT_MAX)
		len = NVS_CTL_TEXT_MAX;
	r.text_len = (uint32_t)len;
	queue_frame(c, NVS_MSG_CTL_REPLY, &r, sizeof(r), text, len);
}
