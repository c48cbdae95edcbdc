/*
 * test_proto.c - the wire protocol (common/proto.c): every message type
 * through a socket pair and back (version 2: DROP_LOCK with flags, EVICT,
 * SWAP_REPORT, WAITING, the mode and max-run keys), every validation
 * failure, reads in pieces (byte by byte) and in bulk (several frames in
 * one read), the blocking receive, and a random-bytes fuzz loop that must
 * reject garbage without crashing. Frames are built here by hand,
 * independently of the encoder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "proto.h"

#define UUID_A "GPU-00000000-0000-0000-0000-000000000001"
#define UUID_B "GPU-0123abcd-EF01-2345-6789-abcdefABCDEF"

/* --- frame building helpers ---------------------------------------------- */

struct frame {
	uint8_t
	    bytes[sizeof(struct nvs_msg_header) + 1024]; /* header+payload */
	size_t len;                                      /* bytes used */
};

/* A frame with a correct header for payload p of n bytes. */
static struct frame make_frame(uint16_t type, const void *p, size_t n)
{
	struct frame f;
	struct nvs_msg_header h = {
	    .magic = NVS_PROTO_MAGIC,
	    .version = NVS_PROTO_VERSION,
	    .type = type,
	    .length = (uint32_t)n,
	    .reserved = 0,
	};

	memset(&f, 0, sizeof(f));
	memcpy(f.bytes, &h, sizeof(h));
	if (n)
		memcpy(f.bytes + sizeof(h), p, n);
	f.len = sizeof(h) + n;
	return f;
}

static struct nvs_msg_header *hdr_of(struct frame *f)
{
	return (struct nvs_msg_header *)f->bytes;
}

static struct nvs_gpu_ref gpu_ref(const char *uuid)
{
	struct nvs_gpu_ref r;

	memset(&r, 0, sizeof(r));
	snprintf(r.uuid, sizeof(r.uuid), "%s", uuid);
	return r;
}

static struct nvs_hello hello(const char *comm)
{
	struct nvs_hello h;

	memset(&h, 0, sizeof(h));
	h.pid = 4242;
	snprintf(h.pod_namespace, sizeof(h.pod_namespace), "ml");
	snprintf(h.pod_name, sizeof(h.pod_name), "trainer-0");
	snprintf(h.container, sizeof(h.container), "main");
	snprintf(h.comm, sizeof(h.comm), "%s", comm);
	return h;
}

static void pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		perror("socketpair");
		exit(2);
	}
	fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
}

static void write_all(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n) {
		perror("write");
		exit(2);
	}
}

/* Validates a hand-built frame; returns 0 or -1 and the reason. */
static int validate(struct frame *f, char *err, size_t errlen)
{
	return nvs_msg_validate(
	    hdr_of(f), f->bytes + sizeof(struct nvs_msg_header), err, errlen);
}

/* Expects validation to fail with a reason containing want. */
static void expect_invalid(struct frame f, const char *want, int line)
{
	char err[160] = "";

	if (validate(&f, err, sizeof(err)) == 0 || !strstr(err, want)) {
		check_failed++;
		fprintf(stderr,
		        "%s:%d: expected rejection \"%s\", got \"%s\"\n",
		        __FILE__, line, want, err);
		return;
	}
	check_passed++;
}
#define EXPECT_INVALID(f, want) expect_invalid((f), (want), __LINE__)

/* --- round trips -----------------------------------------------------------
 */

/* Sends with the encoder, receives with both decoders, compares payloads. */
static void roundtrip(uint16_t type, const void *payload, size_t len)
{
	int sv[2];
	struct nvs_msg m;
	struct nvs_reader r;
	char err[128];

	pair(sv);
	CHECK_EQ(nvs_msg_send(sv[0], type, payload, len), 0);
	CHECK_EQ(nvs_msg_send(sv[0], type, payload, len), 0);
	/* Blocking receive. */
	CHECK_EQ(nvs_msg_recv(sv[1], &m, 1000, err, sizeof(err)), NVS_READ_MSG);
	CHECK_EQ(m.hdr.type, type);
	CHECK_EQ(m.hdr.length, len);
	CHECK(memcmp(&m.u, payload, len) == 0);
	nvs_msg_release(&m);
	/* Incremental reader. */
	CHECK_EQ(nvs_reader_init(&r), 0);
	CHECK_EQ(nvs_reader_fill(&r, sv[1]), NVS_READ_MORE);
	CHECK_EQ(nvs_reader_next(&r, &m, err, sizeof(err)), NVS_READ_MSG);
	CHECK_EQ(m.hdr.type, type);
	CHECK(memcmp(&m.u, payload, len) == 0);
	CHECK_EQ(nvs_reader_next(&r, &m, err, sizeof(err)), NVS_READ_MORE);
	CHECK_EQ(r.used, 0);
	nvs_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

static void test_roundtrip_all_types(void)
{
	struct nvs_hello h = hello("trainer");
	struct nvs_welcome w = {.client_id = 77, .managed = 1};
	struct nvs_gpu_register reg = {.total_bytes = 16ull << 30};
	struct nvs_gpu_accepted acc = {.capacity_bytes = 4ull << 30};
	struct nvs_gpu_ref ref = gpu_ref(UUID_B);
	struct nvs_mem_update mu = {.allocated_bytes = 123456789,
	                            .pinned_bytes = 1024,
	                            .held_bytes = 4096,
	                            .seq = 7};
	struct nvs_mem_grant mg = {.granted_bytes = 123456789, .seq = 7};
	struct nvs_set_managed sm = {.managed = 0};
	struct nvs_ctl_status cs = {.format = NVS_CTL_FORMAT_JSON};
	struct nvs_ctl_set set = {.key = NVS_CTL_KEY_TIME_SLICE_MS,
	                          .value = 1500};
	static const uint16_t ref_types[] = {
	    NVS_MSG_REQ_LOCK, NVS_MSG_LOCK_OK, NVS_MSG_EVICT,
	    NVS_MSG_PREPARE_SWAP, NVS_MSG_LOCK_RELEASED};
	struct nvs_drop_lock drop = {.flags = NVS_DROP_SWAP_OUT};
	struct nvs_swap_report sr = {
	    .direction = NVS_SWAP_IN, .bytes = 8ull << 30, .ns = 250000000};
	struct nvs_waiting wt = {.reason = NVS_WAIT_MEMORY,
	                         .need_bytes = 6ull << 30,
	                         .free_bytes = 2ull << 30};

	snprintf(reg.uuid, sizeof(reg.uuid), UUID_A);
	snprintf(acc.uuid, sizeof(acc.uuid), UUID_A);
	snprintf(mu.uuid, sizeof(mu.uuid), UUID_A);
	snprintf(mg.uuid, sizeof(mg.uuid), UUID_A);
	roundtrip(NVS_MSG_HELLO, &h, sizeof(h));
	roundtrip(NVS_MSG_WELCOME, &w, sizeof(w));
	roundtrip(NVS_MSG_REGISTER_GPU, &reg, sizeof(reg));
	roundtrip(NVS_MSG_GPU_ACCEPTED, &acc, sizeof(acc));
	for (size_t i = 0; i < sizeof(ref_types) / sizeof(ref_types[0]); i++)
		roundtrip(ref_types[i], &ref, sizeof(ref));
	snprintf(drop.uuid, sizeof(drop.uuid), UUID_B);
	snprintf(sr.uuid, sizeof(sr.uuid), UUID_A);
	snprintf(wt.uuid, sizeof(wt.uuid), UUID_A);
	roundtrip(NVS_MSG_DROP_LOCK, &drop, sizeof(drop));
	drop.flags = 0;
	roundtrip(NVS_MSG_DROP_LOCK, &drop, sizeof(drop));
	roundtrip(NVS_MSG_SWAP_REPORT, &sr, sizeof(sr));
	sr.direction = NVS_SWAP_OUT;
	roundtrip(NVS_MSG_SWAP_REPORT, &sr, sizeof(sr));
	roundtrip(NVS_MSG_WAITING, &wt, sizeof(wt));
	wt.reason = NVS_WAIT_TURN;
	roundtrip(NVS_MSG_WAITING, &wt, sizeof(wt));
	roundtrip(NVS_MSG_MEM_UPDATE, &mu, sizeof(mu));
	roundtrip(NVS_MSG_MEM_GRANT, &mg, sizeof(mg));
	{
		struct nvs_ping ping = {.seq = 42};
		roundtrip(NVS_MSG_PING, &ping, sizeof(ping));
		roundtrip(NVS_MSG_PONG, &ping, sizeof(ping));
	}
	/* Pinned memory is part of what is allocated. */
	mu.pinned_bytes = mu.allocated_bytes + 1;
	EXPECT_INVALID(make_frame(NVS_MSG_MEM_UPDATE, &mu, sizeof(mu)),
	               "MEM_UPDATE pinned bytes above allocated bytes");
	mu.pinned_bytes = 1024;
	/* No claim beyond any GPU: status readers keep exact integers. */
	{
		uint64_t was = mu.allocated_bytes;
		mu.allocated_bytes = NVS_MAX_DEVICE_BYTES;
		roundtrip(NVS_MSG_MEM_UPDATE, &mu, sizeof(mu));
		mu.allocated_bytes = NVS_MAX_DEVICE_BYTES + 1;
		EXPECT_INVALID(make_frame(NVS_MSG_MEM_UPDATE, &mu, sizeof(mu)),
		               "MEM_UPDATE allocated bytes above");
		mu.allocated_bytes = was;
	}
	roundtrip(NVS_MSG_SET_MANAGED, &sm, sizeof(sm));
	roundtrip(NVS_MSG_CTL_STATUS, &cs, sizeof(cs));
	roundtrip(NVS_MSG_CTL_SET, &set, sizeof(set));
	{
		struct nvs_limits lim = {.memory_bytes = 3ull << 30,
		                         .core_pct = 25};
		struct nvs_usage use = {.tick = 123456789, .busy_ns = 4000000};
		struct nvs_throttle thr = {.throttled = 1, .meter = 1};
		struct nvs_ctl_set_client sc = {.key = NVS_CTL_KEY_CORE_LIMIT,
		                                .value = 30};
		snprintf(use.uuid, sizeof(use.uuid), UUID_A);
		snprintf(thr.uuid, sizeof(thr.uuid), UUID_B);
		snprintf(sc.pod_namespace, sizeof(sc.pod_namespace), "team");
		snprintf(sc.pod_name, sizeof(sc.pod_name), "trainer");
		roundtrip(NVS_MSG_LIMITS, &lim, sizeof(lim));
		roundtrip(NVS_MSG_SET_LIMITS, &lim, sizeof(lim));
		roundtrip(NVS_MSG_USAGE, &use, sizeof(use));
		roundtrip(NVS_MSG_THROTTLE, &thr, sizeof(thr));
		roundtrip(NVS_MSG_CTL_SET_CLIENT, &sc, sizeof(sc));
	}
	set.key = NVS_CTL_KEY_MANAGED;
	set.value = 0;
	roundtrip(NVS_MSG_CTL_SET, &set, sizeof(set));
	set.key = NVS_CTL_KEY_MODE;
	set.value = NVS_MODE_SERIAL;
	roundtrip(NVS_MSG_CTL_SET, &set, sizeof(set));
	set.key = NVS_CTL_KEY_MAX_RUN_MS;
	set.value = 30000;
	roundtrip(NVS_MSG_CTL_SET, &set, sizeof(set));
	set.key = NVS_CTL_KEY_TIME_SLICE_MS;
	set.value = 0; /* auto */
	roundtrip(NVS_MSG_CTL_SET, &set, sizeof(set));
	/* The encoder refuses a payload of the wrong size. */
	errno = 0;
	CHECK_EQ(nvs_msg_send(-1, NVS_MSG_REQ_LOCK, &ref, sizeof(ref) - 1), -1);
	CHECK_EQ(errno, EINVAL);
}

static void reply_roundtrip(const char *text, size_t len)
{
	int sv[2];
	struct nvs_msg m;
	char err[128];

	pair(sv);
	CHECK_EQ(nvs_msg_send_reply(sv[0], 22, text, len), 0);
	CHECK_EQ(nvs_msg_recv(sv[1], &m, 2000, err, sizeof(err)), NVS_READ_MSG);
	CHECK_EQ(m.hdr.type, NVS_MSG_CTL_REPLY);
	CHECK_EQ(m.u.ctl_reply.status, 22);
	CHECK_EQ(m.u.ctl_reply.text_len, len);
	CHECK(m.text && memcmp(m.text, text, len) == 0 && m.text[len] == 0);
	nvs_msg_release(&m);
	CHECK(m.text == NULL);
	close(sv[0]);
	close(sv[1]);
}

static void test_reply(void)
{
	char *big = malloc(100000);
	struct nvs_reader r;
	struct nvs_msg m;
	char err[128];
	int sv[2], st = -1;
	pid_t pid;

	/* A scheduler keeps a reader per connection: small until needed. */
	CHECK_EQ(nvs_reader_init(&r), 0);
	CHECK_EQ(r.cap, 4096);
	nvs_reader_free(&r);
	reply_roundtrip("", 0);
	reply_roundtrip("ok time_slice_ms=100", 20);
	/* Larger than the socket buffer: a child writes while we read. */
	for (int i = 0; i < 100000; i++)
		big[i] = (char)('a' + i % 26);
	pair(sv);
	pid = fork();
	if (pid == 0)
		_exit(nvs_msg_send_reply(sv[0], 0, big, 100000) ? 1 : 0);
	/* The reader starts at 4 KiB and grows for the long reply. */
	CHECK_EQ(nvs_msg_recv(sv[1], &m, 5000, err, sizeof(err)), NVS_READ_MSG);
	CHECK_EQ(m.u.ctl_reply.text_len, 100000);
	CHECK(m.text && memcmp(m.text, big, 100000) == 0);
	nvs_msg_release(&m);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK_EQ(st, 0);
	close(sv[0]);
	close(sv[1]);
	free(big);
}

/* --- validation ------------------------------------------------------------
 */

static void test_header_validation(void)
{
	struct nvs_gpu_ref ref = gpu_ref(UUID_A);
	struct frame f;

	f = make_frame(NVS_MSG_REQ_LOCK, &ref, sizeof(ref));
	hdr_of(&f)->magic = 0x12345678;
	EXPECT_INVALID(f, "bad magic 0x12345678");
	f = make_frame(NVS_MSG_REQ_LOCK, &ref, sizeof(ref));
	hdr_of(&f)->version = 1; /* DROP_LOCK changed size in version 2 */
	EXPECT_INVALID(f, "unsupported protocol version 1");
	f = make_frame(NVS_MSG_REQ_LOCK, &ref, sizeof(ref));
	hdr_of(&f)->version = 2; /* no LIMITS: its clients ignore quotas */
	EXPECT_INVALID(f, "unsupported protocol version 2");
	f = make_frame(NVS_MSG_REQ_LOCK, &ref, sizeof(ref));
	hdr_of(&f)->version = 3; /* MEM_UPDATE grew: no grants */
	EXPECT_INVALID(f, "unsupported protocol version 3");
	f = make_frame(NVS_MSG_REQ_LOCK, &ref, sizeof(ref));
	hdr_of(&f)->version = 5;
	EXPECT_INVALID(f, "unsupported protocol version 5");
	f = make_frame(NVS_MSG_REQ_LOCK, &ref, sizeof(ref));
	hdr_of(&f)->reserved = 1;
	EXPECT_INVALID(f, "reserved header field set");
	static const uint16_t unknown[] = {0, 22, 63, 68, 0xffff};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		char want[64];
		f = make_frame(unknown[i], &ref, sizeof(ref));
		snprintf(want, sizeof(want), "unknown message type %u",
		         unknown[i]);
		EXPECT_INVALID(f, want);
	}
	f = make_frame(NVS_MSG_REQ_LOCK, &ref, sizeof(ref) - 1);
	EXPECT_INVALID(f, "REQ_LOCK with length 47, expected 48");
	f = make_frame(NVS_MSG_REQ_LOCK, &ref, sizeof(ref));
	hdr_of(&f)->length = sizeof(ref) + 1;
	EXPECT_INVALID(f, "REQ_LOCK with length 49, expected 48");
	f = make_frame(NVS_MSG_CTL_REPLY, &ref, 4);
	EXPECT_INVALID(f, "CTL_REPLY with length 4, expected 8");
	/* A version 1 DROP_LOCK (a bare reference) is refused. */
	f = make_frame(NVS_MSG_DROP_LOCK, &ref, sizeof(ref));
	EXPECT_INVALID(f, "DROP_LOCK with length 48, expected 56");
	/* Sizes and names. */
	CHECK_EQ(nvs_msg_fixed_size(NVS_MSG_HELLO), 424);
	CHECK_EQ(nvs_msg_fixed_size(NVS_MSG_REGISTER_GPU), 56);
	CHECK_EQ(nvs_msg_fixed_size(NVS_MSG_CTL_SET), 16);
	CHECK_EQ(nvs_msg_fixed_size(NVS_MSG_DROP_LOCK), 56);
	CHECK_EQ(nvs_msg_fixed_size(NVS_MSG_EVICT), 48);
	CHECK_EQ(nvs_msg_fixed_size(NVS_MSG_SWAP_REPORT), 72);
	CHECK_EQ(nvs_msg_fixed_size(NVS_MSG_WAITING), 72);
	CHECK_EQ(nvs_msg_fixed_size(99), 0);
	CHECK_STR(nvs_msg_type_name(NVS_MSG_LOCK_RELEASED), "LOCK_RELEASED");
	CHECK_STR(nvs_msg_type_name(NVS_MSG_EVICT), "EVICT");
	CHECK_STR(nvs_msg_type_name(NVS_MSG_SWAP_REPORT), "SWAP_REPORT");
	CHECK_STR(nvs_msg_type_name(NVS_MSG_WAITING), "WAITING");
	CHECK_STR(nvs_msg_type_name(99), "UNKNOWN");
}

/* DROP_LOCK, EVICT, SWAP_REPORT and WAITING: every field checked. */
static void test_memory_messages(void)
{
	struct nvs_drop_lock d = {.flags = NVS_DROP_SWAP_OUT};
	struct nvs_swap_report sr = {.direction = NVS_SWAP_OUT, .bytes = 1};
	struct nvs_waiting w = {.reason = NVS_WAIT_TURN};
	struct nvs_gpu_ref ref = gpu_ref(UUID_A);
	uint8_t padded[128]; /* a payload with bytes to spare */
	char err[160];
	struct frame f;

	snprintf(d.uuid, sizeof(d.uuid), UUID_A);
	snprintf(sr.uuid, sizeof(sr.uuid), UUID_A);
	snprintf(w.uuid, sizeof(w.uuid), UUID_A);
	/* Valid ones pass. */
	f = make_frame(NVS_MSG_DROP_LOCK, &d, sizeof(d));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	f = make_frame(NVS_MSG_EVICT, &ref, sizeof(ref));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	f = make_frame(NVS_MSG_SWAP_REPORT, &sr, sizeof(sr));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	f = make_frame(NVS_MSG_WAITING, &w, sizeof(w));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	/* Zero bytes and zero time are valid reports (nothing was there). */
	sr.bytes = 0;
	sr.ns = 0;
	f = make_frame(NVS_MSG_SWAP_REPORT, &sr, sizeof(sr));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	/* DROP_LOCK: unknown flags, reserved. */
	d.flags = 2;
	EXPECT_INVALID(make_frame(NVS_MSG_DROP_LOCK, &d, sizeof(d)),
	               "unknown DROP_LOCK flags 0x2");
	d.flags = NVS_DROP_SWAP_OUT | 0x80000000u;
	EXPECT_INVALID(make_frame(NVS_MSG_DROP_LOCK, &d, sizeof(d)),
	               "unknown DROP_LOCK flags 0x80000001");
	d.flags = 0;
	d.reserved = 1;
	EXPECT_INVALID(make_frame(NVS_MSG_DROP_LOCK, &d, sizeof(d)),
	               "reserved field set");
	/* SWAP_REPORT: direction, flags, length. */
	sr.direction = 2;
	EXPECT_INVALID(make_frame(NVS_MSG_SWAP_REPORT, &sr, sizeof(sr)),
	               "unknown swap direction 2");
	sr.direction = NVS_SWAP_IN;
	sr.flags = NVS_SWAP_INCOMPLETE;
	{
		struct frame ok =
		    make_frame(NVS_MSG_SWAP_REPORT, &sr, sizeof(sr));
		char why[160];
		CHECK_EQ(validate(&ok, why, sizeof(why)), 0);
	}
	sr.flags = 7;
	EXPECT_INVALID(make_frame(NVS_MSG_SWAP_REPORT, &sr, sizeof(sr)),
	               "unknown SWAP_REPORT flags 0x7");
	EXPECT_INVALID(make_frame(NVS_MSG_SWAP_REPORT, &sr, sizeof(sr) - 8),
	               "SWAP_REPORT with length 64, expected 72");
	/* WAITING: reason, reserved, length. */
	w.reason = 0;
	EXPECT_INVALID(make_frame(NVS_MSG_WAITING, &w, sizeof(w)),
	               "unknown wait reason 0");
	w.reason = 4;
	EXPECT_INVALID(make_frame(NVS_MSG_WAITING, &w, sizeof(w)),
	               "unknown wait reason 4");
	w.reason = NVS_WAIT_MEMORY;
	w.reserved = 1;
	EXPECT_INVALID(make_frame(NVS_MSG_WAITING, &w, sizeof(w)),
	               "reserved field set");
	memset(padded, 0, sizeof(padded));
	memcpy(padded, &w, sizeof(w));
	EXPECT_INVALID(make_frame(NVS_MSG_WAITING, padded, sizeof(w) + 1),
	               "WAITING with length 73, expected 72");
	/* EVICT: length. */
	memset(padded, 0, sizeof(padded));
	memcpy(padded, &ref, sizeof(ref));
	EXPECT_INVALID(make_frame(NVS_MSG_EVICT, padded, sizeof(ref) + 8),
	               "EVICT with length 56, expected 48");
	/* CTL_SET: the new keys are known, the next one is not. */
	struct nvs_ctl_set set = {.key = NVS_CTL_KEY_MAX_RUN_MS, .value = 1};
	f = make_frame(NVS_MSG_CTL_SET, &set, sizeof(set));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	set.key = NVS_CTL_KEY_MODE;
	f = make_frame(NVS_MSG_CTL_SET, &set, sizeof(set));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	set.key = NVS_CTL_KEY_MAX_RUN_MS + 1;
	EXPECT_INVALID(make_frame(NVS_MSG_CTL_SET, &set, sizeof(set)),
	               "unknown CTL_SET key 5");
	set.key = 0;
	EXPECT_INVALID(make_frame(NVS_MSG_CTL_SET, &set, sizeof(set)),
	               "unknown CTL_SET key 0");
}

/* LIMITS, SET_LIMITS, USAGE, THROTTLE and CTL_SET_CLIENT (version 3). */
static void test_quota_messages(void)
{
	struct nvs_limits l = {.memory_bytes = 1ull << 30, .core_pct = 40};
	struct nvs_usage u = {.tick = 5, .busy_ns = NVS_USAGE_TICK_NS};
	struct nvs_throttle t = {.throttled = 1};
	struct nvs_ctl_set_client sc = {
	    .client_id = 3, .key = NVS_CTL_KEY_MEMORY_LIMIT, .value = 1};
	char err[160];
	struct frame f;

	snprintf(u.uuid, sizeof(u.uuid), UUID_A);
	snprintf(t.uuid, sizeof(t.uuid), UUID_A);
	f = make_frame(NVS_MSG_LIMITS, &l, sizeof(l));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	f = make_frame(NVS_MSG_SET_LIMITS, &l, sizeof(l));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	l.core_pct = 100; /* 100% is "none" and travels as 0 */
	EXPECT_INVALID(make_frame(NVS_MSG_LIMITS, &l, sizeof(l)),
	               "core limit 100% out of range 0..99");
	l.core_pct = 0;
	l.reserved = 1;
	EXPECT_INVALID(make_frame(NVS_MSG_SET_LIMITS, &l, sizeof(l)),
	               "reserved field set");
	f = make_frame(NVS_MSG_USAGE, &u, sizeof(u));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	u.busy_ns = NVS_USAGE_TICK_NS + 1;
	EXPECT_INVALID(make_frame(NVS_MSG_USAGE, &u, sizeof(u)),
	               "USAGE busy 10000001 ns exceeds the tick");
	u.busy_ns = 0;
	u.tick = -1;
	EXPECT_INVALID(make_frame(NVS_MSG_USAGE, &u, sizeof(u)),
	               "negative USAGE tick");
	f = make_frame(NVS_MSG_THROTTLE, &t, sizeof(t));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	t.throttled = 2;
	EXPECT_INVALID(make_frame(NVS_MSG_THROTTLE, &t, sizeof(t)),
	               "bad THROTTLE fields");
	t.throttled = 0;
	t.meter = 3;
	EXPECT_INVALID(make_frame(NVS_MSG_THROTTLE, &t, sizeof(t)),
	               "bad THROTTLE fields");
	f = make_frame(NVS_MSG_CTL_SET_CLIENT, &sc, sizeof(sc));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	snprintf(sc.pod_name, sizeof(sc.pod_name), "trainer");
	EXPECT_INVALID(make_frame(NVS_MSG_CTL_SET_CLIENT, &sc, sizeof(sc)),
	               "CTL_SET_CLIENT needs a client id or a pod name");
	sc.client_id = 0;
	f = make_frame(NVS_MSG_CTL_SET_CLIENT, &sc, sizeof(sc));
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
	sc.pod_name[0] = '\0';
	EXPECT_INVALID(make_frame(NVS_MSG_CTL_SET_CLIENT, &sc, sizeof(sc)),
	               "CTL_SET_CLIENT needs a client id or a pod name");
	sc.client_id = 1;
	snprintf(sc.pod_namespace, sizeof(sc.pod_namespace), "ns");
	EXPECT_INVALID(make_frame(NVS_MSG_CTL_SET_CLIENT, &sc, sizeof(sc)),
	               "CTL_SET_CLIENT: namespace without a pod name");
	sc.pod_namespace[0] = '\0';
	sc.key = NVS_CTL_KEY_MODE;
	EXPECT_INVALID(make_frame(NVS_MSG_CTL_SET_CLIENT, &sc, sizeof(sc)),
	               "unknown CTL_SET_CLIENT key 3");
	sc.key = NVS_CTL_KEY_CORE_LIMIT;
	memset(sc.pod_name, 'x', sizeof(sc.pod_name));
	sc.client_id = 0;
	EXPECT_INVALID(make_frame(NVS_MSG_CTL_SET_CLIENT, &sc, sizeof(sc)),
	               "unterminated string in CTL_SET_CLIENT");
	CHECK_EQ(nvs_msg_fixed_size(NVS_MSG_CTL_SET_CLIENT), 344);
	CHECK_STR(nvs_msg_type_name(NVS_MSG_THROTTLE), "THROTTLE");
}

static void test_payload_validation(void)
{
	struct nvs_hello h;
	struct nvs_welcome w = {.client_id = 1, .managed = 2};
	struct nvs_gpu_accepted acc = {.capacity_bytes = 0};
	struct nvs_set_managed sm = {.managed = 1, .reserved = 3};
	struct nvs_ctl_status cs = {.format = 2};
	struct nvs_ctl_set set = {.key = 9, .value = 1};
	struct nvs_gpu_ref ref;

	h = hello("x");
	h.reserved = 1;
	EXPECT_INVALID(make_frame(NVS_MSG_HELLO, &h, sizeof(h)),
	               "reserved field set");
	h = hello("x");
	memset(h.comm, 'c', sizeof(h.comm));
	EXPECT_INVALID(make_frame(NVS_MSG_HELLO, &h, sizeof(h)),
	               "unterminated string in HELLO");
	h = hello("x");
	memset(h.pod_namespace, 'n', sizeof(h.pod_namespace));
	EXPECT_INVALID(make_frame(NVS_MSG_HELLO, &h, sizeof(h)),
	               "unterminated string in HELLO");
	h = hello("x");
	memset(h.pod_name, 'p', sizeof(h.pod_name));
	EXPECT_INVALID(make_frame(NVS_MSG_HELLO, &h, sizeof(h)),
	               "unterminated string in HELLO");
	h = hello("x");
	memset(h.container, 'k', sizeof(h.container));
	EXPECT_INVALID(make_frame(NVS_MSG_HELLO, &h, sizeof(h)),
	               "unterminated string in HELLO");
	EXPECT_INVALID(make_frame(NVS_MSG_WELCOME, &w, sizeof(w)),
	               "bad WELCOME fields");
	w.managed = 1;
	w.reserved = 1;
	EXPECT_INVALID(make_frame(NVS_MSG_WELCOME, &w, sizeof(w)),
	               "bad WELCOME fields");
	snprintf(acc.uuid, sizeof(acc.uuid), UUID_A);
	EXPECT_INVALID(make_frame(NVS_MSG_GPU_ACCEPTED, &acc, sizeof(acc)),
	               "zero capacity");
	EXPECT_INVALID(make_frame(NVS_MSG_SET_MANAGED, &sm, sizeof(sm)),
	               "bad SET_MANAGED fields");
	sm.reserved = 0;
	sm.managed = 2;
	EXPECT_INVALID(make_frame(NVS_MSG_SET_MANAGED, &sm, sizeof(sm)),
	               "bad SET_MANAGED fields");
	EXPECT_INVALID(make_frame(NVS_MSG_CTL_STATUS, &cs, sizeof(cs)),
	               "bad CTL_STATUS fields");
	EXPECT_INVALID(make_frame(NVS_MSG_CTL_SET, &set, sizeof(set)),
	               "unknown CTL_SET key 9");
	set.key = NVS_CTL_KEY_MANAGED;
	set.reserved = 1;
	EXPECT_INVALID(make_frame(NVS_MSG_CTL_SET, &set, sizeof(set)),
	               "reserved field set");
	/* A uuid filling its field without a NUL. */
	memset(ref.uuid, 'a', sizeof(ref.uuid));
	EXPECT_INVALID(make_frame(NVS_MSG_LOCK_OK, &ref, sizeof(ref)),
	               "uuid not terminated");
}

static void test_uuid_validation(void)
{
	static const char *const bad[] = {
	    "",
	    "GPU-",
	    "gpu-00000000-0000-0000-0000-000000000001",
	    "MIG-00000000-0000-0000-0000-000000000001",
	    "GPU-0000000-0000-0000-0000-000000000001",
	    "GPU-00000000-0000-0000-0000-0000000000011",
	    "GPU-00000000-0000-0000-0000-00000000000",
	    "GPU-00000000_0000-0000-0000-000000000001",
	    "GPU-0000000g-0000-0000-0000-000000000001",
	    "GPU-00000000-0000-0000-0000-00000000000 ",
	    "GPU-00000000-0000-0000-0000000000000001",
	    "GPU-not-a-uuid",
	};
	static const uint16_t uuid_types[] = {NVS_MSG_REQ_LOCK, NVS_MSG_LOCK_OK,
	                                      NVS_MSG_EVICT,
	                                      NVS_MSG_LOCK_RELEASED};
	char bytes[16], out[NVS_UUID_SIZE];

	CHECK(nvs_uuid_valid(UUID_A));
	CHECK(nvs_uuid_valid(UUID_B));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nvs_gpu_ref ref = gpu_ref(bad[i]);
		struct nvs_gpu_register reg = {.total_bytes = 1};
		struct nvs_mem_update mu = {.allocated_bytes = 1};
		struct nvs_gpu_accepted acc = {.capacity_bytes = 1};
		struct nvs_drop_lock drop = {.flags = 0};
		struct nvs_swap_report sr = {.direction = NVS_SWAP_OUT};
		struct nvs_waiting wt = {.reason = NVS_WAIT_TURN};

		CHECK(!nvs_uuid_valid(bad[i]));
		memcpy(reg.uuid, ref.uuid, sizeof(ref.uuid));
		memcpy(mu.uuid, ref.uuid, sizeof(ref.uuid));
		memcpy(acc.uuid, ref.uuid, sizeof(ref.uuid));
		memcpy(drop.uuid, ref.uuid, sizeof(ref.uuid));
		memcpy(sr.uuid, ref.uuid, sizeof(ref.uuid));
		memcpy(wt.uuid, ref.uuid, sizeof(ref.uuid));
		EXPECT_INVALID(
		    make_frame(NVS_MSG_DROP_LOCK, &drop, sizeof(drop)),
		    "malformed uuid");
		EXPECT_INVALID(make_frame(NVS_MSG_SWAP_REPORT, &sr, sizeof(sr)),
		               "malformed uuid");
		EXPECT_INVALID(make_frame(NVS_MSG_WAITING, &wt, sizeof(wt)),
		               "malformed uuid");
		for (size_t t = 0; t < 4; t++)
			EXPECT_INVALID(
			    make_frame(uuid_types[t], &ref, sizeof(ref)),
			    "malformed uuid");
		EXPECT_INVALID(
		    make_frame(NVS_MSG_REGISTER_GPU, &reg, sizeof(reg)),
		    "malformed uuid");
		EXPECT_INVALID(make_frame(NVS_MSG_MEM_UPDATE, &mu, sizeof(mu)),
		               "malformed uuid");
		EXPECT_INVALID(
		    make_frame(NVS_MSG_GPU_ACCEPTED, &acc, sizeof(acc)),
		    "malformed uuid");
	}
	for (int i = 0; i < 16; i++)
		bytes[i] = (char)(0xf0 + i);
	nvs_uuid_format(bytes, out);
	CHECK_STR(out, "GPU-f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff");
	CHECK(nvs_uuid_valid(out));
}

static void test_reply_validation(void)
{
	uint8_t p[64] = {0};
	struct nvs_ctl_reply r = {.status = 0, .text_len = 10};
	struct frame f;

	/* text_len says 10, the frame carries 4. */
	memcpy(p, &r, sizeof(r));
	f = make_frame(NVS_MSG_CTL_REPLY, p, sizeof(r) + 4);
	EXPECT_INVALID(f, "CTL_REPLY text length 10 does not match frame");
	/* text_len says 2, the frame carries 10. */
	r.text_len = 2;
	memcpy(p, &r, sizeof(r));
	f = make_frame(NVS_MSG_CTL_REPLY, p, sizeof(r) + 10);
	EXPECT_INVALID(f, "CTL_REPLY text length 2 does not match frame");
	/* text_len above the maximum. */
	r.text_len = NVS_CTL_TEXT_MAX + 1;
	memcpy(p, &r, sizeof(r));
	f = make_frame(NVS_MSG_CTL_REPLY, p, sizeof(r));
	EXPECT_INVALID(f, "does not match frame");
	/* Matching lengths pass. */
	r.text_len = 5;
	memcpy(p, &r, sizeof(r));
	memcpy(p + sizeof(r), "hello", 5);
	f = make_frame(NVS_MSG_CTL_REPLY, p, sizeof(r) + 5);
	char err[128];
	CHECK_EQ(validate(&f, err, sizeof(err)), 0);
}

/* --- the incremental reader ------------------------------------------------
 */

static void test_byte_by_byte(void)
{
	struct nvs_hello h = hello("slow");
	struct frame f = make_frame(NVS_MSG_HELLO, &h, sizeof(h));
	struct nvs_reader r;
	struct nvs_msg m;
	char err[128];
	int sv[2], early = 0;

	pair(sv);
	CHECK_EQ(nvs_reader_init(&r), 0);
	/* Nothing there yet: EAGAIN reads as "more". */
	CHECK_EQ(nvs_reader_fill(&r, sv[1]), NVS_READ_MORE);
	for (size_t i = 0; i < f.len; i++) {
		write_all(sv[0], &f.bytes[i], 1);
		CHECK_EQ(nvs_reader_fill(&r, sv[1]), NVS_READ_MORE);
		enum nvs_read_status st =
		    nvs_reader_next(&r, &m, err, sizeof(err));
		if (i + 1 < f.len) {
			early += st != NVS_READ_MORE;
			continue;
		}
		CHECK_EQ(st, NVS_READ_MSG);
		CHECK_STR(m.u.hello.comm, "slow");
		CHECK_STR(m.u.hello.pod_name, "trainer-0");
		CHECK_EQ(m.u.hello.pid, 4242);
	}
	CHECK_EQ(early, 0);
	CHECK_EQ(r.used, 0);
	/* Orderly close. */
	close(sv[0]);
	CHECK_EQ(nvs_reader_fill(&r, sv[1]), NVS_READ_EOF);
	nvs_reader_free(&r);
	close(sv[1]);
}

static void test_several_in_one_read(void)
{
	struct nvs_gpu_ref a = gpu_ref(UUID_A), b = gpu_ref(UUID_B);
	struct nvs_mem_update mu = {.allocated_bytes = 99};
	struct frame f[3];
	uint8_t buf[sizeof(f)];
	size_t n = 0;
	struct nvs_reader r;
	struct nvs_msg m;
	char err[128];
	int sv[2];

	snprintf(mu.uuid, sizeof(mu.uuid), UUID_B);
	f[0] = make_frame(NVS_MSG_REQ_LOCK, &a, sizeof(a));
	f[1] = make_frame(NVS_MSG_MEM_UPDATE, &mu, sizeof(mu));
	f[2] = make_frame(NVS_MSG_LOCK_RELEASED, &b, sizeof(b));
	for (int i = 0; i < 3; i++) {
		memcpy(buf + n, f[i].bytes, f[i].len);
		n += f[i].len;
	}
	pair(sv);
	/* Three frames and half of a fourth in one write. */
	write_all(sv[0], buf, n);
	write_all(sv[0], f[0].bytes, 20);
	CHECK_EQ(nvs_reader_init(&r), 0);
	CHECK_EQ(nvs_reader_fill(&r, sv[1]), NVS_READ_MORE);
	CHECK_EQ(nvs_reader_next(&r, &m, err, sizeof(err)), NVS_READ_MSG);
	CHECK_EQ(m.hdr.type, NVS_MSG_REQ_LOCK);
	CHECK_STR(m.u.gpu.uuid, UUID_A);
	CHECK_EQ(nvs_reader_next(&r, &m, err, sizeof(err)), NVS_READ_MSG);
	CHECK_EQ(m.hdr.type, NVS_MSG_MEM_UPDATE);
	CHECK_EQ(m.u.mem_update.allocated_bytes, 99);
	CHECK_EQ(nvs_reader_next(&r, &m, err, sizeof(err)), NVS_READ_MSG);
	CHECK_EQ(m.hdr.type, NVS_MSG_LOCK_RELEASED);
	CHECK_STR(m.u.gpu.uuid, UUID_B);
	CHECK_EQ(nvs_reader_next(&r, &m, err, sizeof(err)), NVS_READ_MORE);
	CHECK_EQ(r.used, 20);
	/* The rest of the fourth completes it. */
	write_all(sv[0], f[0].bytes + 20, f[0].len - 20);
	CHECK_EQ(nvs_reader_fill(&r, sv[1]), NVS_READ_MORE);
	CHECK_EQ(nvs_reader_next(&r, &m, err, sizeof(err)), NVS_READ_MSG);
	CHECK_EQ(m.hdr.type, NVS_MSG_REQ_LOCK);
	nvs_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

/* A bad frame after good ones: the good ones come out, then the error. */
static void test_reader_rejects(void)
{
	struct nvs_gpu_ref a = gpu_ref(UUID_A);
	struct frame good = make_frame(NVS_MSG_REQ_LOCK, &a, sizeof(a));
	struct frame bad = make_frame(NVS_MSG_REQ_LOCK, &a, sizeof(a));
	struct nvs_reader r;
	struct nvs_msg m;
	char err[128];
	int sv[2];

	pair(sv);
	CHECK_EQ(nvs_reader_init(&r), 0);
	hdr_of(&bad)->length = NVS_MSG_MAX_PAYLOAD + 1;
	write_all(sv[0], good.bytes, good.len);
	write_all(sv[0], bad.bytes, sizeof(struct nvs_msg_header));
	CHECK_EQ(nvs_reader_fill(&r, sv[1]), NVS_READ_MORE);
	CHECK_EQ(nvs_reader_next(&r, &m, err, sizeof(err)), NVS_READ_MSG);
	CHECK_EQ(nvs_reader_next(&r, &m, err, sizeof(err)), NVS_READ_ERROR);
	CHECK(strstr(err, "too large") != NULL);
	nvs_reader_free(&r);
	close(sv[0]);
	close(sv[1]);

	/* Bad magic is refused from the header alone, before any payload. */
	pair(sv);
	CHECK_EQ(nvs_reader_init(&r), 0);
	bad = make_frame(NVS_MSG_HELLO, NULL, 0);
	hdr_of(&bad)->magic = 0;
	hdr_of(&bad)->length = sizeof(struct nvs_hello);
	write_all(sv[0], bad.bytes, sizeof(struct nvs_msg_header));
	CHECK_EQ(nvs_reader_fill(&r, sv[1]), NVS_READ_MORE);
	CHECK_EQ(nvs_reader_next(&r, &m, err, sizeof(err)), NVS_READ_ERROR);
	CHECK(strstr(err, "bad magic") != NULL);
	nvs_reader_free(&r);
	close(sv[0]);
	close(sv[1]);

	/* A well-framed message with a bad field is refused once complete. */
	pair(sv);
	CHECK_EQ(nvs_reader_init(&r), 0);
	a = gpu_ref("GPU-bad");
	bad = make_frame(NVS_MSG_REQ_LOCK, &a, sizeof(a));
	write_all(sv[0], bad.bytes, bad.len - 1);
	CHECK_EQ(nvs_reader_fill(&r, sv[1]), NVS_READ_MORE);
	CHECK_EQ(nvs_reader_next(&r, &m, err, sizeof(err)), NVS_READ_MORE);
	write_all(sv[0], bad.bytes + bad.len - 1, 1);
	CHECK_EQ(nvs_reader_fill(&r, sv[1]), NVS_READ_MORE);
	CHECK_EQ(nvs_reader_next(&r, &m, err, sizeof(err)), NVS_READ_ERROR);
	CHECK(strstr(err, "malformed uuid") != NULL);
	nvs_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

static void test_blocking_recv(void)
{
	struct nvs_gpu_ref a = gpu_ref(UUID_A), b = gpu_ref(UUID_B);
	struct nvs_msg m;
	char err[128];
	int sv[2];

	pair(sv);
	fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) & ~O_NONBLOCK);
	/* Nothing comes: a timeout, reported as such. */
	CHECK_EQ(nvs_msg_recv(sv[1], &m, 50, err, sizeof(err)), NVS_READ_ERROR);
	CHECK_STR(err, "timed out");
	/* Two frames in the socket: one per call, none lost. */
	CHECK_EQ(nvs_msg_send(sv[0], NVS_MSG_LOCK_OK, &a, sizeof(a)), 0);
	struct nvs_drop_lock d = {.flags = NVS_DROP_SWAP_OUT};
	memcpy(d.uuid, b.uuid, sizeof(d.uuid));
	CHECK_EQ(nvs_msg_send(sv[0], NVS_MSG_DROP_LOCK, &d, sizeof(d)), 0);
	CHECK_EQ(nvs_msg_recv(sv[1], &m, 1000, err, sizeof(err)), NVS_READ_MSG);
	CHECK_EQ(m.hdr.type, NVS_MSG_LOCK_OK);
	CHECK_EQ(nvs_msg_recv(sv[1], &m, 1000, err, sizeof(err)), NVS_READ_MSG);
	CHECK_EQ(m.hdr.type, NVS_MSG_DROP_LOCK);
	CHECK_STR(m.u.drop_lock.uuid, UUID_B);
	CHECK_EQ(m.u.drop_lock.flags, NVS_DROP_SWAP_OUT);
	close(sv[0]);
	CHECK_EQ(nvs_msg_recv(sv[1], &m, 1000, err, sizeof(err)), NVS_READ_EOF);
	close(sv[1]);
}

/* --- fuzz ------------------------------------------------------------------
 */

static uint64_t fuzz_state = 0x243f6a8885a308d3ull;

static uint64_t fuzz_rng(void)
{
	/* xorshift64* */
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return fuzz_state * 0x2545f4914f6cdd1dull;
}

/* Feeds bytes to a reader and drains it. Returns the number of messages;
 * sets *rejected when the reader reported an error. Every message that
 * comes out must validate again. */
static int feed(struct nvs_reader *r, const uint8_t *p, size_t n, int *rejected,
                int *revalidate_failures)
{
	struct nvs_msg m;
	char err[160];
	int msgs = 0;

	r->used = 0;
	memcpy(r->buf, p, n);
	r->used = n;
	*rejected = 0;
	for (;;) {
		enum nvs_read_status st =
		    nvs_reader_next(r, &m, err, sizeof(err));
		if (st == NVS_READ_MSG) {
			msgs++;
			if (m.hdr.type != NVS_MSG_CTL_REPLY &&
			    nvs_msg_validate(&m.hdr, &m.u, err, sizeof(err)))
				(*revalidate_failures)++;
			nvs_msg_release(&m);
			continue;
		}
		*rejected = st == NVS_READ_ERROR;
		return msgs;
	}
}

static void test_fuzz(void)
{
	struct nvs_hello h = hello("fuzz");
	struct nvs_gpu_ref ref = gpu_ref(UUID_A);
	struct nvs_swap_report sr = {
	    .direction = NVS_SWAP_OUT, .bytes = 1ull << 30, .ns = 1000000};
	struct frame seeds[3];
	uint8_t buf[2048];
	struct nvs_reader r;
	int garbage_rejected = 0, garbage_total = 0, revalidate_failures = 0;
	int mutants_accepted = 0, mutants_rejected = 0, rejected;

	seeds[0] = make_frame(NVS_MSG_HELLO, &h, sizeof(h));
	seeds[1] = make_frame(NVS_MSG_REQ_LOCK, &ref, sizeof(ref));
	snprintf(sr.uuid, sizeof(sr.uuid), UUID_A);
	seeds[2] = make_frame(NVS_MSG_SWAP_REPORT, &sr, sizeof(sr));
	CHECK_EQ(nvs_reader_init(&r), 0);
	/* Pure random bytes (at least a header's worth): always refused. */
	for (int it = 0; it < 20000; it++) {
		size_t n = 16 + fuzz_rng() % (sizeof(buf) - 16);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)fuzz_rng();
		if (feed(&r, buf, n, &rejected, &revalidate_failures) == 0 &&
		    rejected)
			garbage_rejected++;
		garbage_total++;
	}
	CHECK_EQ(garbage_rejected, garbage_total);
	/* Valid frames with a few bytes changed: either refused or a message
	 * that passes validation; the reader never reads out of bounds. */
	for (int it = 0; it < 50000; it++) {
		const struct frame *s = &seeds[it % 3];
		size_t n = s->len;
		memcpy(buf, s->bytes, n);
		int flips = 1 + (int)(fuzz_rng() % 4);
		for (int k = 0; k < flips; k++)
			buf[fuzz_rng() % n] = (uint8_t)fuzz_rng();
		/* Sometimes cut the frame short. */
		if (fuzz_rng() % 8 == 0)
			n = fuzz_rng() % n;
		if (feed(&r, buf, n, &rejected, &revalidate_failures))
			mutants_accepted++;
		if (rejected)
			mutants_rejected++;
	}
	CHECK_EQ(revalidate_failures, 0);
	CHECK(mutants_rejected > 10000);
	CHECK(mutants_accepted > 100);
	printf("fuzz: %d random buffers rejected, mutants: %d rejected, "
	       "%d accepted\n",
	       garbage_rejected, mutants_rejected, mutants_accepted);
	nvs_reader_free(&r);
}

int main(void)
{
	test_roundtrip_all_types();
	test_reply();
	test_header_validation();
	test_payload_validation();
	test_quota_messages();
	test_memory_messages();
	test_uuid_validation();
	test_reply_validation();
	test_byte_by_byte();
	test_several_in_one_read();
	test_reader_rejects();
	test_blocking_recv();
	test_fuzz();
	return check_summary("test_proto");
}
