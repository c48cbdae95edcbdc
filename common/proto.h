/*
 * proto.h - the wire protocol between libnvshare, nvsharectl and the
 * scheduler, over a UNIX stream socket.
 *
 * Every message is a 16-byte header followed by a payload whose size is
 * fixed per type (only CTL_REPLY carries a variable-length text after its
 * fixed part). Fields have explicit widths; strings sit in fixed arrays and
 * must be NUL-terminated inside them. Both ends run on one host, so fields
 * are in host byte order. A receiver validates magic, version, type, length
 * and every field before acting (nvs_msg_validate); a peer that sends
 * anything invalid is disconnected.
 *
 * The lock protocol, per GPU (identified by its UUID string):
 *   client                      scheduler
 *   HELLO                  ->
 *                          <-   WELCOME (client id, whether scheduling is on)
 *   REGISTER_GPU           ->
 *                          <-   GPU_ACCEPTED (memory capacity to honour)
 *   MEM_UPDATE             ->                    what it allocated (seq n)
 *   REQ_LOCK               ->
 *                          <-   MEM_GRANT        what it may back (seq n)
 *                          <-   LOCK_OK          the client may submit work
 *                          <-   DROP_LOCK        someone waits, slice over
 *                                                (flag SWAP_OUT: and needs
 *                                                this client's memory)
 *                          <-   PREPARE_SWAP     a drop with SWAP_OUT is
 *                                                planned: get host memory
 *                                                ready for it now
 *   SWAP_REPORT            ->                    memory moved to the host
 *   LOCK_RELEASED          ->                    work drained, lock returned
 * A client may also send LOCK_RELEASED on its own (idle early release).
 * A client that does not hold the lock but keeps memory on the GPU may be
 * sent EVICT; it moves its memory to the host and answers SWAP_REPORT. A
 * client whose memory is on the host brings it back after LOCK_OK, before
 * its work resumes, and reports that with SWAP_REPORT too. WAITING tells a
 * queued client why it waits (for its turn, or for memory).
 *
 * Memory: a client backs no byte on a GPU beyond what the scheduler last
 * granted it there (MEM_GRANT, sent before every LOCK_OK and in answer to
 * every MEM_UPDATE of a client that holds the lock, at once when it fits,
 * else when room has been made). A grant answers the MEM_UPDATE whose seq
 * it carries; the client ignores grants for older updates, and treats what
 * it reports in an update as its grant's upper bound from then on, so both
 * sides lower a grant on frees in the same order.
 *
 * Quotas: right after WELCOME a client sends LIMITS with the limits it
 * started with (its environment), and again whenever they change. The
 * scheduler changes them live with SET_LIMITS (nvsharectl, pod settings);
 * the client applies them and confirms with LIMITS. The client enforces
 * the memory limit itself, on every allocation. For compute quotas a client
 * holding a GPU reports, per tick of NVS_USAGE_TICK_NS on the node's
 * monotonic clock, how long it had work on the GPU (USAGE), when the
 * scheduler asked for it (THROTTLE with meter set: someone on that GPU has
 * a core limit); the scheduler bills it and pauses or resumes its launches
 * with THROTTLE.
 */
#ifndef NVSHARE_PROTO_H
#define NVSHARE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "settings.h"

#define NVS_PROTO_MAGIC 0x4853564eu /* "NVSH" in memory order */
#define NVS_PROTO_VERSION 4
/* Room for "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and its NUL. */
#define NVS_UUID_SIZE 48
/* Largest CTL_REPLY text. */
#define NVS_CTL_TEXT_MAX (1u << 20)
/* Fields naming a process and its pod, with their NUL (HELLO,
 * CTL_SET_CLIENT, and the scheduler's copies of them). */
#define NVS_POD_NAMESPACE_SIZE 64
#define NVS_POD_NAME_SIZE 256
#define NVS_CONTAINER_SIZE 64
#define NVS_COMM_SIZE 32
/* More device memory than any one process can claim on a GPU (1 EiB): a
 * larger MEM_UPDATE is malformed, and every byte count the scheduler
 * reports stays a signed 64-bit JSON integer for its readers. */
#define NVS_MAX_DEVICE_BYTES (1ull << 60)

enum nvs_msg_type {
	NVS_MSG_HELLO = 1,        /* client -> sched: struct nvs_hello */
	NVS_MSG_WELCOME = 2,      /* sched -> client: struct nvs_welcome */
	NVS_MSG_REGISTER_GPU = 3, /* client -> sched: struct nvs_gpu_register */
	NVS_MSG_GPU_ACCEPTED = 4, /* sched -> client: struct nvs_gpu_accepted */
	NVS_MSG_REQ_LOCK = 5,     /* client -> sched: struct nvs_gpu_ref */
	NVS_MSG_LOCK_OK = 6,      /* sched -> client: struct nvs_gpu_ref */
	NVS_MSG_DROP_LOCK = 7,    /* sched -> client: struct nvs_gpu_ref */
	NVS_MSG_LOCK_RELEASED = 8, /* client -> sched: struct nvs_gpu_ref */
	NVS_MSG_MEM_UPDATE = 9,    /* client -> sched: struct nvs_mem_update */
	NVS_MSG_SET_MANAGED = 10,  /* sched -> client: struct nvs_set_managed */
	NVS_MSG_EVICT = 11,        /* sched -> client: struct nvs_gpu_ref */
	NVS_MSG_SWAP_REPORT = 12,  /* client -> sched: struct nvs_swap_report */
	NVS_MSG_WAITING = 13,      /* sched -> client: struct nvs_waiting */
	NVS_MSG_LIMITS = 14,       /* client -> sched: struct nvs_limits */
	NVS_MSG_SET_LIMITS = 15,   /* sched -> client: struct nvs_limits */
	NVS_MSG_USAGE = 16,        /* client -> sched: struct nvs_usage */
	NVS_MSG_THROTTLE = 17,     /* sched -> client: struct nvs_throttle */
	NVS_MSG_MEM_GRANT = 18,    /* sched -> client: struct nvs_mem_grant */
	NVS_MSG_PREPARE_SWAP = 19, /* sched -> client: struct nvs_gpu_ref */
	NVS_MSG_PING = 20,         /* client -> sched: struct nvs_ping */
	NVS_MSG_PONG = 21,         /* sched -> client: struct nvs_ping */
	NVS_MSG_CTL_STATUS = 64,   /* ctl -> sched: struct nvs_ctl_status */
	NVS_MSG_CTL_SET = 65,      /* ctl -> sched: struct nvs_ctl_set */
	NVS_MSG_CTL_REPLY = 66, /* sched -> ctl: struct nvs_ctl_reply + text */
	NVS_MSG_CTL_SET_CLIENT =
	    67, /* ctl -> sched: struct nvs_ctl_set_client */
};

struct nvs_msg_header {
	uint32_t magic;    /* NVS_PROTO_MAGIC */
	uint16_t version;  /* NVS_PROTO_VERSION */
	uint16_t type;     /* enum nvs_msg_type */
	uint32_t length;   /* payload bytes that follow the header */
	uint32_t reserved; /* zero */
};

struct nvs_hello {
	uint32_t pid;      /* informational; SO_PEERCRED is authoritative */
	uint32_t reserved; /* zero */
	/* Kubernetes namespace and pod name ("" outside a pod), container
	 * name ("" if unknown), program name (for status output). */
	char pod_namespace[NVS_POD_NAMESPACE_SIZE];
	char pod_name[NVS_POD_NAME_SIZE];
	char container[NVS_CONTAINER_SIZE];
	char comm[NVS_COMM_SIZE];
};

struct nvs_welcome {
	uint64_t client_id; /* scheduler-assigned, unique for its lifetime */
	uint32_t managed;   /* 1: gate work behind the lock; 0: run ungated */
	uint32_t reserved;  /* zero */
};

struct nvs_gpu_register {
	char uuid[NVS_UUID_SIZE]; /* GPU the client is about to use */
	uint64_t total_bytes;     /* memory the driver reports for it */
};

struct nvs_gpu_accepted {
	char uuid[NVS_UUID_SIZE];
	uint64_t capacity_bytes; /* memory to treat as the card's (may be an
	                            operator override smaller than total) */
};

struct nvs_gpu_ref {
	char uuid[NVS_UUID_SIZE];
};

enum nvs_drop_flags {
	NVS_DROP_SWAP_OUT = 1u << 0, /* move this GPU's memory to the host
	                                before answering LOCK_RELEASED */
};

struct nvs_drop_lock {
	char uuid[NVS_UUID_SIZE];
	uint32_t flags;    /* enum nvs_drop_flags */
	uint32_t reserved; /* zero */
};

enum nvs_swap_direction {
	NVS_SWAP_OUT = 0, /* GPU -> host */
	NVS_SWAP_IN = 1,  /* host -> GPU */
};

enum nvs_swap_flags {
	NVS_SWAP_INCOMPLETE = 1u << 0, /* out: some memory that should have
	                                  moved is still on the GPU (a stream
	                                  capture ran, the host was short, a
	                                  copy failed) */
};

struct nvs_swap_report {
	char uuid[NVS_UUID_SIZE];
	uint32_t direction; /* enum nvs_swap_direction */
	uint32_t flags;     /* enum nvs_swap_flags */
	uint64_t bytes;     /* bytes moved */
	uint64_t ns; /* how long the move took (measured by the client) */
};

enum nvs_wait_reason {
	NVS_WAIT_TURN = 1,   /* others run; this client's turn will come */
	NVS_WAIT_MEMORY = 2, /* not enough GPU memory beside those running */
	NVS_WAIT_HOST = 3,   /* room would need more host memory than the
	                        node's swap budget has left */
};

struct nvs_waiting {
	char uuid[NVS_UUID_SIZE];
	uint32_t reason;     /* enum nvs_wait_reason */
	uint32_t reserved;   /* zero */
	uint64_t need_bytes; /* this client's footprint */
	uint64_t free_bytes; /* capacity left beside the resident clients */
};

struct nvs_mem_update {
	char uuid[NVS_UUID_SIZE];
	uint64_t allocated_bytes; /* the client's current total on this GPU,
	                             backed or waiting for a grant */
	uint64_t pinned_bytes;    /* the part no swap can move (pitched,
	                             stream-ordered pool, array, cuMemCreate
	                             memory), <= allocated_bytes */
	uint64_t held_bytes;      /* what it has on the GPU now; used only
	                             from the first update after REGISTER_GPU
	                             (a process that ran unmanaged, say while
	                             the scheduler restarted), capped there */
	uint64_t seq;             /* increases with every update sent */
};

/* A client waiting for the scheduler checks that it is alive: PING is
 * answered at once with PONG carrying the same seq. */
struct nvs_ping {
	uint64_t seq;
};

struct nvs_mem_grant {
	char uuid[NVS_UUID_SIZE];
	uint64_t granted_bytes; /* the client may back this much there */
	uint64_t seq;           /* the MEM_UPDATE it answers (0: none yet) */
};

/* A client's quotas; they apply to each GPU it uses (settings.h has
 * their rules). */
struct nvs_limits {
	uint64_t memory_bytes; /* device memory per GPU; 0: no limit */
	uint32_t core_pct;     /* share of a GPU's compute, 1..99; 0: none */
	uint32_t reserved;     /* zero */
};

/* Length of a usage tick: ticks start at multiples of it on
 * CLOCK_MONOTONIC, which all processes of a node share. */
#define NVS_USAGE_TICK_NS 10000000LL

struct nvs_usage {
	char uuid[NVS_UUID_SIZE];
	int64_t tick; /* tick index: it started at tick * NVS_USAGE_TICK_NS */
	uint64_t busy_ns; /* time with work on the GPU in it, <= one tick */
};

struct nvs_throttle {
	char uuid[NVS_UUID_SIZE];
	uint32_t throttled; /* 1: hold launches back; 0: let them go */
	uint32_t meter;     /* 1: report USAGE for this GPU (someone on it
	                       has a core limit); 0: no need */
};

struct nvs_set_managed {
	uint32_t managed;  /* 1: gate work again; 0: stop gating */
	uint32_t reserved; /* zero */
};

enum nvs_ctl_format { NVS_CTL_FORMAT_TEXT = 0, NVS_CTL_FORMAT_JSON = 1 };

enum nvs_ctl_status_flags {
	NVS_CTL_STATUS_PAGED = 1u << 0, /* one page of the report, see below */
};

/*
 * CTL_STATUS. Without PAGED the reply is the whole report, refused with
 * EFBIG past NVS_CTL_TEXT_MAX. With PAGED it is one page: its text starts
 * with the line "page next=<id>\n" and goes on with the clients whose ids
 * are above after_client, as many as fit (the first page, after_client 0,
 * also holds the settings and the GPUs). The next page is asked with
 * after_client = id; next=0 ends the report. Pages joined in order read
 * like the whole report. The 8-byte form of nvsharectl before paging
 * (format, a zero word) is still accepted: the whole report.
 */
struct nvs_ctl_status {
	uint32_t format;       /* enum nvs_ctl_format */
	uint32_t flags;        /* enum nvs_ctl_status_flags (0 in 8 bytes) */
	uint64_t after_client; /* PAGED: continue after this client id */
};
#define NVS_CTL_STATUS_LEGACY_SIZE 8 /* format and flags only */
/* First line of a paged reply, before the page's text. */
#define NVS_CTL_PAGE_PREFIX "page next="

enum nvs_ctl_key {
	NVS_CTL_KEY_TIME_SLICE_MS = 1, /* value: slice in ms,
	                                  NVS_SETTING_MS_RANGE, or
	                                  NVS_TIME_SLICE_AUTO (from swap
	                                  cost) */
	NVS_CTL_KEY_MANAGED = 2,       /* value: 1 on, 0 off */
	NVS_CTL_KEY_MODE = 3,          /* value: enum nvs_gpu_mode */
	NVS_CTL_KEY_MAX_RUN_MS = 4,    /* value: longest run with waiters, ms,
	                                  NVS_SETTING_MS_RANGE */
	NVS_CTL_KEY_MEMORY_LIMIT = 5,  /* CTL_SET_CLIENT only: bytes, see
	                                  nvs_ctl_limit_valid(), or
	                                  NVS_CTL_LIMIT_NONE */
	NVS_CTL_KEY_CORE_LIMIT = 6,    /* CTL_SET_CLIENT only: percent, see
	                                  nvs_ctl_limit_valid(), or
	                                  NVS_CTL_LIMIT_NONE */
};

/* CTL_SET_CLIENT value removing a limit. */
#define NVS_CTL_LIMIT_NONE (-1)

/* The keys CTL_SET_CLIENT carries: a process's or a pod's limits. */
static inline int nvs_ctl_key_is_limit(uint32_t key)
{
	return key == NVS_CTL_KEY_MEMORY_LIMIT || key == NVS_CTL_KEY_CORE_LIMIT;
}

/* 1 if value is what limit key may be set to (NVS_CTL_LIMIT_NONE aside):
 * memory NVS_MEMORY_LIMIT_MIN..NVS_MEMORY_LIMIT_SET_MAX bytes, core
 * 1..NVS_CORE_LIMIT_MAX percent. The one range check of a limit set
 * live, for nvsharectl before it sends and the scheduler when it gets it. */
static inline int nvs_ctl_limit_valid(uint32_t key, uint64_t value)
{
	switch (key) {
	case NVS_CTL_KEY_MEMORY_LIMIT:
		return value >= NVS_MEMORY_LIMIT_MIN &&
		       value <= (uint64_t)NVS_MEMORY_LIMIT_SET_MAX;
	case NVS_CTL_KEY_CORE_LIMIT:
		return value >= 1 && value <= NVS_CORE_LIMIT_MAX;
	}
	return 0;
}

struct nvs_ctl_set {
	uint32_t key;      /* enum nvs_ctl_key */
	uint32_t reserved; /* zero */
	int64_t value;
};

/* A setting of one client (client_id != 0, pod fields "") or of every
 * process of a pod, now and later (client_id 0, pod_name set). */
struct nvs_ctl_set_client {
	uint64_t client_id; /* target client, or 0 for a pod */
	/* The pod's namespace ("" = "default") and name ("" for a client). */
	char pod_namespace[NVS_POD_NAMESPACE_SIZE];
	char pod_name[NVS_POD_NAME_SIZE];
	uint32_t key;      /* NVS_CTL_KEY_MEMORY_LIMIT or _CORE_LIMIT */
	uint32_t reserved; /* zero */
	int64_t value;
};

struct nvs_ctl_reply {
	int32_t status;    /* 0 ok, otherwise a positive errno value */
	uint32_t text_len; /* bytes of text that follow (not NUL-terminated) */
};

/* Largest fixed payload; CTL_REPLY adds up to NVS_CTL_TEXT_MAX of text. */
#define NVS_MSG_MAX_PAYLOAD (sizeof(struct nvs_ctl_reply) + NVS_CTL_TEXT_MAX)

/* A received message: header plus payload, payload NUL-padded by one byte
 * so that CTL_REPLY text can be printed safely. */
struct nvs_msg {
	struct nvs_msg_header hdr;
	union {
		struct nvs_hello hello;
		struct nvs_welcome welcome;
		struct nvs_gpu_register gpu_register;
		struct nvs_gpu_accepted gpu_accepted;
		struct nvs_gpu_ref gpu;
		struct nvs_drop_lock drop_lock;
		struct nvs_swap_report swap_report;
		struct nvs_waiting waiting;
		struct nvs_mem_update mem_update;
		struct nvs_mem_grant mem_grant;
		struct nvs_ping ping;
		struct nvs_set_managed set_managed;
		struct nvs_limits limits;
		struct nvs_usage usage;
		struct nvs_throttle throttle;
		struct nvs_ctl_set_client ctl_set_client;
		struct nvs_ctl_status ctl_status;
		struct nvs_ctl_set ctl_set;
		struct nvs_ctl_reply ctl_reply;
		uint8_t
		    bytes[512]; /* fixed payloads; CTL_REPLY text: see text */
	} u;
	char *text; /* CTL_REPLY only: heap copy of the text, NUL-terminated;
	               free with nvs_msg_release */
};

/* Payload size a type must have (its fixed part), 0 for an unknown type. */
size_t nvs_msg_fixed_size(uint16_t type);
/* Whether len is a payload size type may have: its fixed size, the
 * 8-byte CTL_STATUS of older nvsharectl, or for CTL_REPLY its fixed part
 * and up to NVS_CTL_TEXT_MAX of text. */
int nvs_msg_length_ok(uint16_t type, size_t len);

/* Human name of a type, for logs ("REQ_LOCK"); "UNKNOWN" otherwise. */
const char *nvs_msg_type_name(uint16_t type);

/* Validates a header and its payload: magic, version, known type, exact
 * length, reserved fields zero, strings terminated, UUIDs well formed.
 * Returns 0, or -1 with a reason in err. */
int nvs_msg_validate(const struct nvs_msg_header *hdr, const void *payload,
                     char *err, size_t errlen);

/* Sends one message (blocking until written; EINTR and short writes are
 * handled; SIGPIPE is not raised). text may be NULL unless type is
 * CTL_REPLY. Returns 0 or -1 with errno set. */
int nvs_msg_send(int fd, uint16_t type, const void *payload, size_t len);
/* A CTL_REPLY sent the same blocking way: for simple peers that answer
 * one request at a time (the tests' stand-ins for a scheduler); the
 * scheduler itself queues its replies per connection (scheduler/conn.c). */
int nvs_msg_send_reply(int fd, int32_t status, const char *text, size_t len);

/*
 * Incremental reader for a non-blocking socket: nvs_reader_fill() reads what
 * is available; nvs_reader_next() extracts complete, validated messages.
 */
struct nvs_reader {
	uint8_t *buf; /* heap buffer of cap bytes */
	size_t cap;   /* capacity: 4 KiB, grown to the largest frame seen */
	size_t used;  /* bytes buffered, not yet consumed */
};

enum nvs_read_status {
	NVS_READ_MORE = 0,  /* no complete message yet */
	NVS_READ_MSG = 1,   /* *out holds a message */
	NVS_READ_EOF = 2,   /* peer closed the connection */
	NVS_READ_ERROR = 3, /* I/O error or invalid message (see err) */
};

int nvs_reader_init(struct nvs_reader *r);
void nvs_reader_free(struct nvs_reader *r);
/* Reads once from fd into the buffer. NVS_READ_MORE when bytes (or EAGAIN)
 * came, NVS_READ_EOF on orderly close, NVS_READ_ERROR otherwise. */
enum nvs_read_status nvs_reader_fill(struct nvs_reader *r, int fd);
/* Takes the next complete message out of the buffer. */
enum nvs_read_status nvs_reader_next(struct nvs_reader *r, struct nvs_msg *out,
                                     char *err, size_t errlen);

/* Blocking receive of one message with a timeout (ms, -1 = forever), for
 * simple request/response users (nvsharectl). Uses its own buffer. */
enum nvs_read_status nvs_msg_recv(int fd, struct nvs_msg *out, int timeout_ms,
                                  char *err, size_t errlen);
void nvs_msg_release(struct nvs_msg *m);

/* GPU UUIDs as strings: "GPU-" and the 16 bytes in 8-4-4-4-12 hex groups. */
void nvs_uuid_format(const char bytes[16], char out[NVS_UUID_SIZE]);
int nvs_uuid_valid(const char *s);

#endif /* NVSHARE_PROTO_H */
