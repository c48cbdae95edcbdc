/*
 * proto.c - framing, validation and socket I/O for the nvshare protocol.
 *
 * Validation is strict on purpose: the scheduler serves many tenants, so a
 * malformed frame from one of them must be recognised at once (and that
 * peer dropped) rather than half-interpreted.
 */
#include "proto.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(struct nvs_msg_header) == 16, "header layout");
_Static_assert(sizeof(struct nvs_hello) == 424, "hello layout");
_Static_assert(sizeof(struct nvs_gpu_register) == 56, "register layout");
_Static_assert(sizeof(struct nvs_drop_lock) == 56, "drop layout");
_Static_assert(sizeof(struct nvs_swap_report) == 72, "swap report layout");
_Static_assert(sizeof(struct nvs_waiting) == 72, "waiting layout");
_Static_assert(sizeof(struct nvs_limits) == 16, "limits layout");
_Static_assert(sizeof(struct nvs_usage) == 64, "usage layout");
_Static_assert(sizeof(struct nvs_throttle) == 56, "throttle layout");
_Static_assert(sizeof(struct nvs_mem_update) == 80, "mem update layout");
_Static_assert(sizeof(struct nvs_mem_grant) == 64, "mem grant layout");
_Static_assert(sizeof(struct nvs_ctl_set_client) == 344, "set client layout");

size_t nvs_msg_fixed_size(uint16_t type)
{
	switch (type) {
	case NVS_MSG_HELLO: return sizeof(struct nvs_hello);
	case NVS_MSG_WELCOME: return sizeof(struct nvs_welcome);
	case NVS_MSG_REGISTER_GPU: return sizeof(struct nvs_gpu_register);
	case NVS_MSG_GPU_ACCEPTED: return sizeof(struct nvs_gpu_accepted);
	case NVS_MSG_REQ_LOCK:
	case NVS_MSG_LOCK_OK:
	case NVS_MSG_EVICT:
	case NVS_MSG_PREPARE_SWAP:
	case NVS_MSG_LOCK_RELEASED: return sizeof(struct nvs_gpu_ref);
	case NVS_MSG_DROP_LOCK: return sizeof(struct nvs_drop_lock);
	case NVS_MSG_SWAP_REPORT: return sizeof(struct nvs_swap_report);
	case NVS_MSG_WAITING: return sizeof(struct nvs_waiting);
	case NVS_MSG_MEM_UPDATE: return sizeof(struct nvs_mem_update);
	case NVS_MSG_MEM_GRANT: return sizeof(struct nvs_mem_grant);
	case NVS_MSG_PING:
	case NVS_MSG_PONG: return sizeof(struct nvs_ping);
	case NVS_MSG_SET_MANAGED: return sizeof(struct nvs_set_managed);
	case NVS_MSG_LIMITS:
	case NVS_MSG_SET_LIMITS: return sizeof(struct nvs_limits);
	case NVS_MSG_CTL_SET_CLIENT: return sizeof(struct nvs_ctl_set_client);
	case NVS_MSG_USAGE: return sizeof(struct nvs_usage);
	case NVS_MSG_THROTTLE: return sizeof(struct nvs_throttle);
	case NVS_MSG_CTL_STATUS: return sizeof(struct nvs_ctl_status);
	case NVS_MSG_CTL_SET: return sizeof(struct nvs_ctl_set);
	case NVS_MSG_CTL_REPLY: return sizeof(struct nvs_ctl_reply);
	default: return 0;
	}
}

int nvs_msg_length_ok(uint16_t type, size_t len)
{
	size_t fixed = nvs_msg_fixed_size(type);

	if (fixed == 0)
		return 0;
	if (type == NVS_MSG_CTL_REPLY)
		return len >= fixed && len - fixed <= NVS_CTL_TEXT_MAX;
	if (type == NVS_MSG_CTL_STATUS && len == NVS_CTL_STATUS_LEGACY_SIZE)
		return 1;
	return len == fixed;
}

const char *nvs_msg_type_name(uint16_t type)
{
	switch (type) {
	case NVS_MSG_HELLO: return "HELLO";
	case NVS_MSG_WELCOME: return "WELCOME";
	case NVS_MSG_REGISTER_GPU: return "REGISTER_GPU";
	case NVS_MSG_GPU_ACCEPTED: return "GPU_ACCEPTED";
	case NVS_MSG_REQ_LOCK: return "REQ_LOCK";
	case NVS_MSG_LOCK_OK: return "LOCK_OK";
	case NVS_MSG_DROP_LOCK: return "DROP_LOCK";
	case NVS_MSG_LOCK_RELEASED: return "LOCK_RELEASED";
	case NVS_MSG_MEM_UPDATE: return "MEM_UPDATE";
	case NVS_MSG_MEM_GRANT: return "MEM_GRANT";
	case NVS_MSG_PING: return "PING";
	case NVS_MSG_PONG: return "PONG";
	case NVS_MSG_SET_MANAGED: return "SET_MANAGED";
	case NVS_MSG_EVICT: return "EVICT";
	case NVS_MSG_PREPARE_SWAP: return "PREPARE_SWAP";
	case NVS_MSG_SWAP_REPORT: return "SWAP_REPORT";
	case NVS_MSG_WAITING: return "WAITING";
	case NVS_MSG_LIMITS: return "LIMITS";
	case NVS_MSG_SET_LIMITS: return "SET_LIMITS";
	case NVS_MSG_CTL_SET_CLIENT: return "CTL_SET_CLIENT";
	case NVS_MSG_USAGE: return "USAGE";
	case NVS_MSG_THROTTLE: return "THROTTLE";
	case NVS_MSG_CTL_STATUS: return "CTL_STATUS";
	case NVS_MSG_CTL_SET: return "CTL_SET";
	case NVS_MSG_CTL_REPLY: return "CTL_REPLY";
	default: return "UNKNOWN";
	}
}

static int terminated(const char *field, size_t size)
{
	return memchr(field, '\0', size) != NULL;
}

static int hexdigits(const char *s, int n)
{
	for (int i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

int nvs_uuid_valid(const char *s)
{
	static const int groups[] = {8, 4, 4, 4, 12};

	if (strncmp(s, "GPU-", 4) != 0)
		return 0;
	s += 4;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		if (!hexdigits(s, groups[g]))
			return 0;
		s += groups[g];
		if (g < 4 && *s++ != '-')
			return 0;
	}
	return *s == '\0';
}

void nvs_uuid_format(const char bytes[16], char out[NVS_UUID_SIZE])
{
	const unsigned char *b = (const unsigned char *)bytes;

	snprintf(out, NVS_UUID_SIZE,
	         "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	         "%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	         b[10], b[11], b[12], b[13], b[14], b[15]);
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(err, errlen, __VA_ARGS__);                            \
		return -1;                                                     \
	} while (0)

static int check_uuid(const char *uuid, char *err, size_t errlen)
{
	if (!terminated(uuid, NVS_UUID_SIZE))
		FAIL("uuid not terminated");
	if (!nvs_uuid_valid(uuid))
		FAIL("malformed uuid");
	return 0;
}

static int validate_payload(uint16_t type, const void *p, uint32_t len,
                            char *err, size_t errlen)
{
	switch (type) {
	case NVS_MSG_HELLO: {
		const struct nvs_hello *h = p;
		if (h->reserved)
			FAIL("reserved field set");
		if (!terminated(h->pod_namespace, sizeof(h->pod_namespace)) ||
		    !terminated(h->pod_name, sizeof(h->pod_name)) ||
		    !terminated(h->container, sizeof(h->container)) ||
		    !terminated(h->comm, sizeof(h->comm)))
			FAIL("unterminated string in HELLO");
		return 0;
	}
	case NVS_MSG_WELCOME: {
		const struct nvs_welcome *w = p;
		if (w->managed > 1 || w->reserved)
			FAIL("bad WELCOME fields");
		return 0;
	}
	case NVS_MSG_REGISTER_GPU:
		return check_uuid(((const struct nvs_gpu_register *)p)->uuid,
		                  err, errlen);
	case NVS_MSG_GPU_ACCEPTED: {
		const struct nvs_gpu_accepted *a = p;
		if (a->capacity_bytes == 0)
			FAIL("zero capacity");
		return check_uuid(a->uuid, err, errlen);
	}
	case NVS_MSG_REQ_LOCK:
	case NVS_MSG_LOCK_OK:
	case NVS_MSG_EVICT:
	case NVS_MSG_PREPARE_SWAP:
	case NVS_MSG_LOCK_RELEASED:
		return check_uuid(((const struct nvs_gpu_ref *)p)->uuid, err,
		                  errlen);
	case NVS_MSG_DROP_LOCK: {
		const struct nvs_drop_lock *d = p;
		if (d->reserved)
			FAIL("reserved field set");
		if (d->flags & ~(uint32_t)NVS_DROP_SWAP_OUT)
			FAIL("unknown DROP_LOCK flags 0x%x", d->flags);
		return check_uuid(d->uuid, err, errlen);
	}
	case NVS_MSG_SWAP_REPORT: {
		const struct nvs_swap_report *r = p;
		if (r->flags & ~(uint32_t)NVS_SWAP_INCOMPLETE)
			FAIL("unknown SWAP_REPORT flags 0x%x", r->flags);
		if (r->direction != NVS_SWAP_OUT && r->direction != NVS_SWAP_IN)
			FAIL("unknown swap direction %u", r->direction);
		return check_uuid(r->uuid, err, errlen);
	}
	case NVS_MSG_WAITING: {
		const struct nvs_waiting *w = p;
		if (w->reserved)
			FAIL("reserved field set");
		if (w->reason != NVS_WAIT_TURN &&
		    w->reason != NVS_WAIT_MEMORY && w->reason != NVS_WAIT_HOST)
			FAIL("unknown wait reason %u", w->reason);
		return check_uuid(w->uuid, err, errlen);
	}
	case NVS_MSG_MEM_UPDATE: {
		const struct nvs_mem_update *u = p;
		if (u->pinned_bytes > u->allocated_bytes)
			FAIL("MEM_UPDATE pinned bytes above allocated bytes");
		if (u->allocated_bytes > NVS_MAX_DEVICE_BYTES)
			FAIL("MEM_UPDATE allocated bytes above %llu",
			     (unsigned long long)NVS_MAX_DEVICE_BYTES);
		return check_uuid(u->uuid, err, errlen);
	}
	case NVS_MSG_MEM_GRANT:
		return check_uuid(((const struct nvs_mem_grant *)p)->uuid, err,
		                  errlen);
	case NVS_MSG_PING:
	case NVS_MSG_PONG: return 0; /* any seq */
	case NVS_MSG_SET_MANAGED: {
		const struct nvs_set_managed *s = p;
		if (s->managed > 1 || s->reserved)
			FAIL("bad SET_MANAGED fields");
		return 0;
	}
	case NVS_MSG_LIMITS:
	case NVS_MSG_SET_LIMITS: {
		const struct nvs_limits *l = p;
		if (l->reserved)
			FAIL("reserved field set");
		if (l->core_pct >= NVS_CORE_LIMIT_MAX)
			FAIL("core limit %u%% out of range 0..%d", l->core_pct,
			     NVS_CORE_LIMIT_MAX - 1);
		return 0;
	}
	case NVS_MSG_USAGE: {
		const struct nvs_usage *u = p;
		if (u->tick < 0)
			FAIL("negative USAGE tick");
		if (u->busy_ns > (uint64_t)NVS_USAGE_TICK_NS)
			FAIL("USAGE busy %llu ns exceeds the tick",
			     (unsigned long long)u->busy_ns);
		return check_uuid(u->uuid, err, errlen);
	}
	case NVS_MSG_THROTTLE: {
		const struct nvs_throttle *t = p;
		if (t->throttled > 1 || t->meter > 1)
			FAIL("bad THROTTLE fields");
		return check_uuid(t->uuid, err, errlen);
	}
	case NVS_MSG_CTL_SET_CLIENT: {
		const struct nvs_ctl_set_client *s = p;
		if (s->reserved)
			FAIL("reserved field set");
		if (!nvs_ctl_key_is_limit(s->key))
			FAIL("unknown CTL_SET_CLIENT key %u", s->key);
		if (!terminated(s->pod_namespace, sizeof(s->pod_namespace)) ||
		    !terminated(s->pod_name, sizeof(s->pod_name)))
			FAIL("unterminated string in CTL_SET_CLIENT");
		if ((s->client_id != 0) == (s->pod_name[0] != '\0'))
			FAIL("CTL_SET_CLIENT needs a client id or a pod name");
		if (s->client_id && s->pod_namespace[0])
			FAIL("CTL_SET_CLIENT: namespace without a pod name");
		return 0;
	}
	case NVS_MSG_CTL_STATUS: {
		const struct nvs_ctl_status *s = p;
		if (s->format > NVS_CTL_FORMAT_JSON ||
		    (s->flags & ~(uint32_t)NVS_CTL_STATUS_PAGED))
			FAIL("bad CTL_STATUS fields");
		if (len == NVS_CTL_STATUS_LEGACY_SIZE) {
			if (s->flags)
				FAIL("bad CTL_STATUS fields");
			return 0;
		}
		if (!(s->flags & NVS_CTL_STATUS_PAGED) && s->after_client)
			FAIL("CTL_STATUS after_client without PAGED");
		return 0;
	}
	case NVS_MSG_CTL_SET: {
		const struct nvs_ctl_set *s = p;
		if (s->reserved)
			FAIL("reserved field set");
		if (s->key < NVS_CTL_KEY_TIME_SLICE_MS ||
		    s->key > NVS_CTL_KEY_MAX_RUN_MS)
			FAIL("unknown CTL_SET key %u", s->key);
		return 0;
	}
	case NVS_MSG_CTL_REPLY: {
		const struct nvs_ctl_reply *r = p;
		if (r->text_len > NVS_CTL_TEXT_MAX ||
		    len != sizeof(*r) + r->text_len)
			FAIL("CTL_REPLY text length %u does not match frame",
			     r->text_len);
		return 0;
	}
	}
	FAIL("unknown message type %u", type);
}

/* The header alone: magic, version, type, and a length the type can have. */
static int validate_header(const struct nvs_msg_header *hdr, char *err,
                           size_t errlen)
{
	size_t fixed;

	if (hdr->magic != NVS_PROTO_MAGIC)
		FAIL("bad magic 0x%08x", hdr->magic);
	if (hdr->version != NVS_PROTO_VERSION)
		FAIL("unsupported protocol version %u", hdr->version);
	if (hdr->reserved)
		FAIL("reserved header field set");
	fixed = nvs_msg_fixed_size(hdr->type);
	if (fixed == 0)
		FAIL("unknown message type %u", hdr->type);
	if (!nvs_msg_length_ok(hdr->type, hdr->length))
		FAIL("%s with length %u, expected %zu",
		     nvs_msg_type_name(hdr->type), hdr->length, fixed);
	return 0;
}

int nvs_msg_validate(const struct nvs_msg_header *hdr, const void *payload,
                     char *err, size_t errlen)
{
	if (validate_header(hdr, err, errlen))
		return -1;
	return validate_payload(hdr->type, payload, hdr->length, err, errlen);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = {.fd = fd,
				                     .events = POLLOUT};
				if (poll(&pfd, 1, 1000) <= 0) {
					errno = ETIMEDOUT;
					return -1;
				}
				continue;
			}
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_frame(int fd, uint16_t type, const void *a, size_t alen,
                      const void *b, size_t blen)
{
	struct nvs_msg_header hdr = {
	    .magic = NVS_PROTO_MAGIC,
	    .version = NVS_PROTO_VERSION,
	    .type = type,
	    .length = (uint32_t)(alen + blen),
	};
	uint8_t small[sizeof(hdr) + 512];

	/* One send for fixed-size messages keeps frames whole on the wire. */
	if (alen + blen <= 512) {
		memcpy(small, &hdr, sizeof(hdr));
		if (alen)
			memcpy(small + sizeof(hdr), a, alen);
		if (blen)
			memcpy(small + sizeof(hdr) + alen, b, blen);
		return write_all(fd, small, sizeof(hdr) + alen + blen);
	}
	if (write_all(fd, &hdr, sizeof(hdr)) || write_all(fd, a, alen))
		return -1;
	return blen ? write_all(fd, b, blen) : 0;
}

int nvs_msg_send(int fd, uint16_t type, const void *payload, size_t len)
{
	if (type == NVS_MSG_CTL_REPLY ? len != nvs_msg_fixed_size(type)
	                              : !nvs_msg_length_ok(type, len)) {
		errno = EINVAL;
		return -1;
	}
	return send_frame(fd, type, payload, len, NULL, 0);
}

int nvs_msg_send_reply(int fd, int32_t status, const char *text, size_t len)
{
	struct nvs_ctl_reply r = {.status = status};

	if (len > NVS_CTL_TEXT_MAX)
		len = NVS_CTL_TEXT_MAX;
	r.text_len = (uint32_t)len;
	return send_frame(fd, NVS_MSG_CTL_REPLY, &r, sizeof(r), text, len);
}

/* Room for every fixed-size message and some more; a CTL_REPLY's text
 * grows the buffer when one comes (only nvsharectl and clients get them),
 * so a scheduler serving thousands of connections keeps 4 KiB for each. */
#define READER_FIRST_CAP 4096

int nvs_reader_init(struct nvs_reader *r)
{
	r->cap = READER_FIRST_CAP;
	r->used = 0;
	r->buf = malloc(r->cap);
	return r->buf ? 0 : -1;
}

void nvs_reader_free(struct nvs_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->used = 0;
}

enum nvs_read_status nvs_reader_fill(struct nvs_reader *r, int fd)
{
	ssize_t n;

	if (r->used == r->cap)
		return NVS_READ_MORE; /* a full buffer is parsed before more is
		                         read */
	do {
		n = recv(fd, r->buf + r->used, r->cap - r->used, 0);
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		return NVS_READ_EOF;
	if (n < 0)
		return errno == EAGAIN ? NVS_READ_MORE : NVS_READ_ERROR;
	r->used += (size_t)n;
	return NVS_READ_MORE;
}

enum nvs_read_status nvs_reader_next(struct nvs_reader *r, struct nvs_msg *out,
                                     char *err, size_t errlen)
{
	struct nvs_msg_header hdr;
	const uint8_t *payload;
	size_t total;

	out->text = NULL;
	if (r->used < sizeof(hdr))
		return NVS_READ_MORE;
	memcpy(&hdr, r->buf, sizeof(hdr));
	/* The header is checked before its length is trusted: a length its
	 * type cannot have is refused before any of it is buffered (or the
	 * buffer grown for it). */
	if (hdr.length > NVS_MSG_MAX_PAYLOAD) {
		snprintf(err, errlen, "frame length %u too large", hdr.length);
		return NVS_READ_ERROR;
	}
	if (validate_header(&hdr, err, errlen))
		return NVS_READ_ERROR;
	total = sizeof(hdr) + hdr.length;
	if (total > r->cap) {
		uint8_t *n = realloc(r->buf, total);
		if (!n) {
			snprintf(err, errlen,
			         "out of memory for a %zu-byte frame", total);
			return NVS_READ_ERROR;
		}
		r->buf = n;
		r->cap = total;
	}
	if (r->used < total)
		return NVS_READ_MORE;
	payload = r->buf + sizeof(hdr);
	if (validate_payload(hdr.type, payload, hdr.length, err, errlen))
		return NVS_READ_ERROR;
	out->hdr = hdr;
	memset(&out->u, 0, sizeof(out->u));
	if (hdr.type == NVS_MSG_CTL_REPLY) {
		size_t tlen = hdr.length - sizeof(struct nvs_ctl_reply);
		memcpy(&out->u.ctl_reply, payload, sizeof(out->u.ctl_reply));
		out->text = malloc(tlen + 1);
		if (!out->text) {
			snprintf(err, errlen, "out of memory");
			return NVS_READ_ERROR;
		}
		memcpy(out->text, payload + sizeof(struct nvs_ctl_reply), tlen);
		out->text[tlen] = '\0';
	} else {
		memcpy(&out->u, payload, hdr.length);
	}
	memmove(r->buf, r->buf + total, r->used - total);
	r->used -= total;
	return NVS_READ_MSG;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum nvs_read_status nvs_msg_recv(int fd, struct nvs_msg *out, int timeout_ms,
                                  char *err, size_t errlen)
{
	struct nvs_reader r;
	enum nvs_read_status st;
	int64_t deadline = now_ms() + timeout_ms;

	if (nvs_reader_init(&r)) {
		snprintf(err, errlen, "out of memory");
		return NVS_READ_ERROR;
	}
	/* Read no further than one frame so that nothing is lost between
	 * calls: first the header, then exactly its payload. */
	for (;;) {
		size_t want = sizeof(struct nvs_msg_header);
		if (r.used >= want) {
			struct nvs_msg_header h;
			memcpy(&h, r.buf, sizeof(h));
			if (h.length <= NVS_MSG_MAX_PAYLOAD)
				want += h.length;
		}
		st = nvs_reader_next(&r, out, err, errlen);
		if (st != NVS_READ_MORE)
			break;
		int wait = timeout_ms < 0 ? -1 : (int)(deadline - now_ms());
		if (timeout_ms >= 0 && wait <= 0) {
			snprintf(err, errlen, "timed out");
			st = NVS_READ_ERROR;
			break;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, wait);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue; /* the deadline check above ends the loop */
		ssize_t n = recv(fd, r.buf + r.used, want - r.used, 0);
		if (n == 0) {
			st = NVS_READ_EOF;
			break;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(err, errlen, "recv: %s", strerror(errno));
			st = NVS_READ_ERROR;
			break;
		}
		r.used += (size_t)n;
	}
	nvs_reader_free(&r);
	return st;
}

void nvs_msg_release(struct nvs_msg *m)
{
	free(m->text);
	m->text = NULL;
}
