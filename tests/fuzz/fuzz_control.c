/*
 * fuzz_control.c - libFuzzer target for the scheduler's message handling,
 * the control protocol first: CTL_STATUS (whole and paged), CTL_SET and
 * CTL_SET_CLIENT go to the real control_handle(), the lock protocol to the
 * real lockproto_handle(), over a real registry, exactly as server.c's
 * dispatch does, only without the event loop: each peer is a socket pair,
 * its frames pass through the scheduler's reader (nvs_reader_next), what
 * the scheduler answers is read back with the same decoder.
 *
 * Checks beyond the sanitizers and the policy's invariant checks (on in
 * this build): every frame the scheduler sends validates, a paged status
 * reply's first line parses with nvsharectl's ctl_page_parse(), and a
 * report joined from small pages equals the whole report, byte for byte.
 *
 * Input: byte 0 picks the log level (bits 0 and 1 set: debug, so that
 * every log line's arguments are evaluated; else warn); then records, each an
 * op byte (peer = op & 7, kind = (op >> 3) & 7) and its operands: 0, 7  a
 * message: type byte (index into the peer's types), payload 1     the same with
 * a valid UUID put in (uuid byte first) 2     CTL_STATUS walked page by page
 * through control_handle 3     the paging check with a budget from the next
 * byte 4     time passes: two bytes of ms, then the scheduler's tick 5     the
 * peer disconnects 6     raw bytes to the peer's reader: length byte, bytes
 * Peers 0..5 are root (control allowed), 6 and 7 another user (refused).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "control.h"
#include "core.h"
#include "gpu_inventory.h"
#include "lockproto.h"
#include "log.h"
#include "proto.h"
#include "registry.h"
#include "status.h"
#include "status_page.h"

#define NPEERS 8
#define UNPRIVILEGED_PEER 6 /* peers from here on are uid FUZZ_UID */
#define FUZZ_UID 4242
#define NUUIDS 3

static const char *const uuids[NUUIDS] = {
    "GPU-00000000-0000-0000-0000-000000000001",
    "GPU-00000000-0000-0000-0000-000000000002",
    "gpu-00000000-0000-0000-0000-00000000000A",
};

/* What a peer may send (server.c's inbound types). */
static const uint16_t types[] = {
    NVS_MSG_HELLO,         NVS_MSG_REGISTER_GPU, NVS_MSG_REQ_LOCK,
    NVS_MSG_LOCK_RELEASED, NVS_MSG_MEM_UPDATE,   NVS_MSG_SWAP_REPORT,
    NVS_MSG_LIMITS,        NVS_MSG_USAGE,        NVS_MSG_PING,
    NVS_MSG_CTL_STATUS,    NVS_MSG_CTL_SET,      NVS_MSG_CTL_SET_CLIENT,
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

/* Socket pairs live across inputs (making them costs more than the rest
 * of a short input): a connection gets a dup of side 0, which conn_free
 * closes; side 1 is the peer's. */
static int pairs[8][2];

struct peer {
	struct sched_conn *conn; /* the scheduler's side, NULL if none */
	int fd;                  /* the peer's side of the socket pair */
	struct nvs_reader in;    /* what the scheduler sent it */
	int unmanaged;           /* its last SET_MANAGED said 0 */
};

struct world {
	struct gpu_inventory inv;
	struct sched_config cfg;
	struct sched_core core;
	struct peer peers[NPEERS];
	int64_t now;
	uint64_t seq;
};

/* The input, consumed front to back; reads past the end give zeros. */
struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t take(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static void take_bytes(struct input *in, void *out, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memcpy(out, in->p, k);
	memset((uint8_t *)out + k, 0, n - k);
	in->p += k;
	in->left -= k;
}

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_control: %s%s%s\n", what, detail ? ": " : "",
	        detail ? detail : "");
	abort();
}

/* Reads and checks what the scheduler sent the peer: every frame must
 * decode, and a peer told to run unmanaged (a refused GPU, or scheduling
 * turned off) is never granted a lock or asked to give one or its
 * memory up: its library would not answer. */
static void drain(struct peer *p)
{
	struct nvs_msg m;
	char err[160];

	if (p->fd < 0)
		return;
	for (;;) {
		enum nvs_read_status st, got;

		errno = 0;
		st = nvs_reader_fill(&p->in, p->fd);
		while ((got = nvs_reader_next(&p->in, &m, err, sizeof(err))) ==
		       NVS_READ_MSG) {
			uint64_t next;
			const char *body;

			if (m.hdr.type == NVS_MSG_CTL_REPLY &&
			    m.u.ctl_reply.status == 0 && m.text &&
			    strncmp(m.text, "page ", 5) == 0 &&
			    ctl_page_parse(m.text, &next, &body) != 0)
				fail("a status page nvsharectl cannot read",
				     m.text);
			if (m.hdr.type == NVS_MSG_SET_MANAGED)
				p->unmanaged = !m.u.set_managed.managed;
			if (p->unmanaged && (m.hdr.type == NVS_MSG_LOCK_OK ||
			                     m.hdr.type == NVS_MSG_DROP_LOCK ||
			                     m.hdr.type == NVS_MSG_EVICT))
				fail("a client told to run unmanaged was sent",
				     nvs_msg_type_name(m.hdr.type));
			nvs_msg_release(&m);
		}
		if (got == NVS_READ_ERROR)
			fail("the scheduler sent an invalid frame", err);
		if (st != NVS_READ_MORE || errno == EAGAIN)
			return;
	}
}

static void peer_close(struct world *w, struct peer *p)
{
	if (!p->conn)
		return;
	drain(p);
	if (p->conn->client) {
		lockproto_client_gone(&w->core, p->conn->client, w->now);
		registry_client_remove(&w->core.reg, p->conn->client);
		p->conn->client = NULL;
	}
	conn_free(p->conn);
	nvs_reader_free(&p->in);
	p->conn = NULL;
	p->fd = -1;
}

/* Tears down dead connections, as server.c's reap does (a departure may
 * mark others dead: repeat). */
static void reap(struct world *w)
{
	int any;

	do {
		any = 0;
		for (int i = 0; i < NPEERS; i++)
			if (w->peers[i].conn && w->peers[i].conn->dead) {
				peer_close(w, &w->peers[i]);
				any = 1;
			}
	} while (any);
}

static struct peer *peer_open(struct world *w, int i)
{
	struct peer *p = &w->peers[i];
	int unpriv = i >= UNPRIVILEGED_PEER;
	int fd;

	if (p->conn)
		return p;
	if (pairs[i][0] <= 0 &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               pairs[i]) < 0)
		return NULL;
	fd = dup(pairs[i][0]);
	if (fd < 0)
		return NULL;
	if (nvs_reader_init(&p->in)) {
		close(fd);
		return NULL;
	}
	/* An unprivileged peer's pid is one no process has, so that no
	 * group of ours is found for it in /proc. */
	p->conn = conn_new(fd, ++w->seq, unpriv ? 0x3ffffff0 : getpid(),
	                   unpriv ? FUZZ_UID : 0, unpriv ? FUZZ_UID : 0);
	if (!p->conn) {
		close(fd);
		nvs_reader_free(&p->in);
		return NULL;
	}
	p->fd = pairs[i][1];
	p->unmanaged = 0;
	return p;
}

static int inbound(uint16_t t)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (types[i] == t)
			return 1;
	return 0;
}

/* server.c's dispatch of one decoded message. */
static void dispatch(struct world *w, struct sched_conn *c,
                     const struct nvs_msg *m)
{
	uint16_t t = m->hdr.type;

	if (!inbound(t))
		conn_protocol_error(c, "unexpected %s sent to the scheduler",
		                    nvs_msg_type_name(t));
	else if (t == NVS_MSG_CTL_STATUS || t == NVS_MSG_CTL_SET ||
	         t == NVS_MSG_CTL_SET_CLIENT)
		control_handle(&w->core, c, m, w->now);
	else
		lockproto_handle(&w->core, c, m, w->now);
}

/* Bytes as if they came off the peer's socket, then server.c's read
 * loop. */
static void feed(struct world *w, struct peer *p, const void *bytes, size_t len)
{
	const uint8_t *b = bytes;

	while (len && !p->conn->dead) {
		struct nvs_reader *r = &p->conn->reader;
		size_t room = r->cap - r->used, n = len < room ? len : room;
		struct nvs_msg m;
		char err[160];

		memcpy(r->buf + r->used, b, n);
		r->used += n;
		b += n;
		len -= n;
		while (!p->conn->dead) {
			enum nvs_read_status st =
			    nvs_reader_next(r, &m, err, sizeof(err));

			if (st == NVS_READ_MORE) {
				struct nvs_msg_header h;

				/* server.c refuses a type it never takes from
				 * its header, before buffering the frame. */
				if (r->used < sizeof(h))
					break;
				memcpy(&h, r->buf, sizeof(h));
				if (!inbound(h.type))
					conn_protocol_error(
					    p->conn, "unexpected %s",
					    nvs_msg_type_name(h.type));
				break;
			}
			if (st != NVS_READ_MSG) {
				conn_protocol_error(p->conn, "%s", err);
				break;
			}
			dispatch(w, p->conn, &m);
			nvs_msg_release(&m);
		}
		if (n == 0)
			break; /* a frame larger than any inbound one */
	}
	for (int i = 0; i < NPEERS; i++)
		drain(&w->peers[i]);
	reap(w);
}

static void send_frame(struct world *w, struct peer *p, uint16_t type,
                       const void *payload, size_t len)
{
	uint8_t frame[sizeof(struct nvs_msg_header) + 512];
	struct nvs_msg_header hdr = {
	    .magic = NVS_PROTO_MAGIC,
	    .version = NVS_PROTO_VERSION,
	    .type = type,
	    .length = (uint32_t)len,
	};

	memcpy(frame, &hdr, sizeof(hdr));
	memcpy(frame + sizeof(hdr), payload, len);
	feed(w, p, frame, sizeof(hdr) + len);
}

/* Types whose payload starts with a GPU's UUID. */
static int has_uuid(uint16_t t)
{
	return t == NVS_MSG_REGISTER_GPU || t == NVS_MSG_REQ_LOCK ||
	       t == NVS_MSG_LOCK_RELEASED || t == NVS_MSG_MEM_UPDATE ||
	       t == NVS_MSG_SWAP_REPORT || t == NVS_MSG_USAGE;
}

static void op_message(struct world *w, struct peer *p, struct input *in,
                       int fix_uuid)
{
	uint8_t payload[512], t = take(in);
	uint16_t type = types[(t & 0x7f) % NTYPES];
	size_t len = nvs_msg_fixed_size(type);
	uint8_t u = fix_uuid ? take(in) : 0;

	/* CTL_STATUS of older nvsharectl: 8 bytes. */
	if (type == NVS_MSG_CTL_STATUS && (t & 0x80))
		len = NVS_CTL_STATUS_LEGACY_SIZE;
	take_bytes(in, payload, len);
	if (fix_uuid && has_uuid(type)) {
		memset(payload, 0, NVS_UUID_SIZE);
		memcpy(payload, uuids[u % NUUIDS], strlen(uuids[u % NUUIDS]));
	}
	send_frame(w, p, type, payload, len);
}

/* Pages of the status report through control_handle, as nvsharectl asks
 * for them (each page a reply read back and checked by drain()). */
static void op_pages(struct world *w, struct peer *p, struct input *in)
{
	struct nvs_ctl_status st = {.format = take(in) & 1,
	                            .flags = NVS_CTL_STATUS_PAGED};

	send_frame(w, p, NVS_MSG_CTL_STATUS, &st, sizeof(st));
}

static void expect_same(const struct status_buf *whole,
                        const struct status_buf *joined, const char *what)
{
	if (whole->failed || joined->failed)
		return; /* out of memory: nothing to compare */
	if (whole->len != joined->len ||
	    (whole->len && memcmp(whole->p, joined->p, whole->len) != 0))
		fail("pages joined differ from the whole report", what);
}

/* The report in pages of a small budget equals the whole report. */
static void op_paging(struct world *w, struct input *in)
{
	size_t budget = 1 + (size_t)take(in) * 8;

	for (int json = 0; json < 2; json++) {
		struct status_buf whole = {0}, joined = {0};
		uint64_t after = 0, next;
		int pages = 0;

		if (json)
			status_render_json(&w->core.reg, w->now, &whole);
		else
			status_render_text(&w->core.reg, w->now, &whole);
		do {
			int rc =
			    json ? status_render_json_page(&w->core.reg, w->now,
			                                   after, budget,
			                                   &joined, &next)
			         : status_render_text_page(&w->core.reg, w->now,
			                                   after, budget,
			                                   &joined, &next);
			if (rc < 0)
				break;
			if (next && next <= after)
				fail("status pages do not advance", NULL);
			after = next;
			if (++pages > NPEERS + 1)
				fail("more status pages than clients", NULL);
		} while (next);
		expect_same(&whole, &joined, json ? "json" : "text");
		status_buf_free(&whole);
		status_buf_free(&joined);
	}
}

static void op_time(struct world *w, struct input *in)
{
	unsigned ms = take(in);

	ms |= (unsigned)take(in) << 8;
	w->now += (int64_t)ms * 1000000;
	lockproto_tick(&w->core, w->now);
	for (int i = 0; i < NPEERS; i++)
		drain(&w->peers[i]);
	reap(w);
}

static void op_raw(struct world *w, struct peer *p, struct input *in)
{
	uint8_t buf[256];
	size_t n = take(in);

	take_bytes(in, buf, n);
	feed(w, p, buf, n);
}

static void world_init(struct world *w, int debug)
{
	memset(w, 0, sizeof(*w));
	/* Control requests stat() the socket: a path that is not there. */
	snprintf(w->cfg.socket_path, sizeof(w->cfg.socket_path),
	         "/nonexistent/nvshare-fuzz.sock");
	w->cfg.mode = POLICY_MODE_AUTO;
	w->cfg.time_slice_ms = 1000;
	w->cfg.max_run_ms = REGISTRY_DEFAULT_MAX_RUN_MS;
	w->cfg.release_grace_ms = 2000;
	w->cfg.core_window_ms = 1000;
	/* The node's GPUs, as --gpu-memory names them; no NVML (the third
	 * UUID is one the node does not have). */
	inventory_init(&w->inv, "/nonexistent/libnvidia-ml.so.1");
	for (int i = 0; i < 2; i++) {
		snprintf(w->cfg.overrides[i].uuid, NVS_UUID_SIZE, "%s",
		         uuids[i]);
		w->cfg.overrides[i].bytes = (uint64_t)(16 + 8 * i) << 30;
		inventory_set(&w->inv, uuids[i], 0, w->cfg.overrides[i].bytes);
	}
	w->cfg.noverrides = 2;
	w->cfg.gpus = &w->inv;
	w->core.cfg = &w->cfg;
	w->core.self_uid = 0;
	w->core.sock.gid = 0;
	registry_init(&w->core.reg, w->cfg.time_slice_ms,
	              w->cfg.release_grace_ms);
	w->core.reg.mode = w->cfg.mode;
	w->core.reg.max_run_ms = w->cfg.max_run_ms;
	w->now = (int64_t)1000 * 1000000000;
	for (int i = 0; i < NPEERS; i++)
		w->peers[i].fd = -1;
	nvs_log_init("fuzz", debug ? NVS_LOG_DEBUG : NVS_LOG_WARN);
}

static void world_free(struct world *w)
{
	for (int i = 0; i < NPEERS; i++)
		peer_close(w, &w->peers[i]);
	registry_destroy(&w->core.reg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	static struct world w;

	if (size < 1 || size > 16384)
		return 0;
	world_init(&w, (take(&in) & 3) == 3);
	while (in.left) {
		uint8_t op = take(&in);
		struct peer *p = peer_open(&w, op & 7);

		if (!p)
			break;
		switch ((op >> 3) & 7) {
		case 1: op_message(&w, p, &in, 1); break;
		case 2: op_pages(&w, p, &in); break;
		case 3: op_paging(&w, &in); break;
		case 4: op_time(&w, &in); break;
		case 5:
			peer_close(&w, p);
			reap(&w);
			break;
		case 6: op_raw(&w, p, &in); break;
		default: op_message(&w, p, &in, 0); break;
		}
	}
	world_free(&w);
	return 0;
}
