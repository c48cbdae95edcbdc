/*
 * policy.h - the scheduling decisions for one GPU, as pure functions.
 *
 * A struct policy_gpu holds what the scheduler knows about one GPU: its
 * memory capacity, the clients registered on it with their memory
 * footprint and whether that memory is on the GPU ("resident"), who may
 * submit work now (the "running" set), who waits (a FIFO queue), the mode,
 * the time slice setting and the swap bandwidths measured so far. Every
 * entry point takes the current time and appends to a struct policy_out the
 * actions the caller must carry out: grant the lock (LOCK_OK), ask for it
 * back (DROP_LOCK, perhaps with the memory moved out), take it from a
 * holder that did not answer, ask an idle client to move its memory out
 * (EVICT), tell a waiter why it waits (WAITING). Nothing here touches a
 * socket, a clock, a thread or a log, so every transition can be
 * unit-tested with exact times.
 *
 * Modes:
 *   auto        clients whose memory fits beside the resident ones run
 *               together; when the next one does not fit, idle clients are
 *               evicted, or running ones are dropped with their memory
 *               swapped out once their time slice is over;
 *   serial      one client runs at a time, with the same memory handling;
 *   concurrent  every request is granted at once; nothing is dropped.
 *
 * Admission is strict FIFO on the head of the queue: nobody is granted
 * ahead of a waiter, so a large client cannot be starved by small ones.
 */
#ifndef NVSHARE_POLICY_H
#define NVSHARE_POLICY_H

#include <stddef.h>
#include <stdint.h>

/* "No deadline": nothing will change on this GPU until an event comes. */
#define POLICY_NO_DEADLINE INT64_MAX
/* drop_sent_at_ns of a holder that has not been asked to release. */
#define POLICY_NEVER INT64_MIN
/* Room for actions in one call; an out that fills up is continued by the
 * next tick, which is then due at once. */
#define POLICY_OUT_MAX 32

/* slice_ns setting meaning "derive the slice from the swap cost". */
#define POLICY_SLICE_AUTO 0
/* The automatic slice is this many times the estimated swap time ... */
#define POLICY_AUTO_SLICE_FACTOR 5
/* ... and at least this long. */
#define POLICY_AUTO_SLICE_FLOOR_NS 1000000000LL
/* Swap bandwidths (bytes per ns, i.e. GB/s) assumed before any report:
 * field-measured magnitudes of an H100 (host to and from its memory). */
#define POLICY_BW_OUT_DEFAULT 8.0
#define POLICY_BW_IN_DEFAULT 40.0
/* Weight of a new sample in the exponentially weighted average. */
#define POLICY_BW_WEIGHT 0.25
/* Smaller moves are dominated by fixed costs: not used as samples. */
#define POLICY_BW_MIN_SAMPLE_BYTES (1ull << 20)
/* Samples outside this range (bytes per ns: 100 MB/s, a host that pages;
 * 2 TB/s, beyond any link to the host) are not physical and are dropped:
 * the client measures its own swaps, and one forged report once drove
 * the estimate to zero and every slice to max-run. */
#define POLICY_BW_MIN 0.1
#define POLICY_BW_MAX 2000.0
/* A sample moves the estimate as if it were at most this factor away
 * from it: one client's report shifts a shared estimate by a bounded
 * amount (with the weight, at most -19% or +75% per report). */
#define POLICY_BW_STEP 4.0

enum policy_mode {
	POLICY_MODE_AUTO = 0,       /* run together what fits, else turns */
	POLICY_MODE_SERIAL = 1,     /* one running client at a time */
	POLICY_MODE_CONCURRENT = 2, /* everyone runs, nobody is dropped */
};

enum policy_kind {
	POLICY_GRANT = 1,   /* send LOCK_OK: the client now runs */
	POLICY_CONFIRM = 2, /* send LOCK_OK again: a holder asked again */
	POLICY_DROP = 3,    /* send DROP_LOCK (flags: POLICY_DROP_SWAP_OUT) */
	POLICY_REVOKE = 4,  /* the holder ignored DROP_LOCK past the grace */
	POLICY_EVICT = 5,   /* send EVICT: move idle memory to the host */
	POLICY_WAIT = 6,    /* send WAITING: why the client waits */
	POLICY_EVICT_TIMEOUT = 7, /* EVICT unanswered past the grace: its
	                             memory stays counted on the GPU (a
	                             stopped process still has it there) */
	POLICY_MEM_GRANT = 8,     /* send MEM_GRANT: a running client may
	                             back granted_bytes on the GPU */
};

/* DROP flag: the client must move its memory out before releasing. */
#define POLICY_DROP_SWAP_OUT 1u

enum policy_wait_reason {
	POLICY_WAIT_NONE = 0,   /* not waiting (or not told yet) */
	POLICY_WAIT_TURN = 1,   /* its memory fits; others are ahead */
	POLICY_WAIT_MEMORY = 2, /* its memory does not fit beside the others */
	POLICY_WAIT_HOST = 3,   /* room could be made only by moving more to
	                           the host than its swap budget has left */
};

enum policy_swap_dir {
	POLICY_SWAP_OUT = 0, /* GPU -> host */
	POLICY_SWAP_IN = 1,  /* host -> GPU */
};

struct policy_action {
	enum policy_kind kind;  /* what to do */
	uint64_t client;        /* whom it concerns */
	int64_t span_ns;        /* GRANT, WAIT: time waited; EVICT: time idle;
	                           EVICT_TIMEOUT: time since EVICT; others:
	                           time held */
	uint32_t flags;         /* DROP: POLICY_DROP_SWAP_OUT or 0 */
	uint32_t reason;        /* WAIT: enum policy_wait_reason */
	uint64_t need_bytes;    /* WAIT: the client's footprint */
	uint64_t free_bytes;    /* WAIT: capacity left beside the others */
	uint64_t granted_bytes; /* GRANT, CONFIRM, MEM_GRANT: what the client
	                           may back on the GPU now */
};

struct policy_out {
	struct policy_action act[POLICY_OUT_MAX]; /* in the order to apply */
	unsigned n;                               /* actions used */
};

struct policy_holder {
	uint64_t client;         /* the client allowed to submit work */
	int64_t granted_at_ns;   /* when it was granted the lock */
	int64_t drop_sent_at_ns; /* when DROP_LOCK went out, or POLICY_NEVER */
	uint32_t drop_flags;     /* flags of that DROP_LOCK */
};

struct policy_waiter {
	uint64_t client;  /* the client waiting for the lock */
	int64_t since_ns; /* when it joined the queue */
	uint32_t told;    /* reason last sent in WAITING, or WAIT_NONE */
};

struct policy_member {
	uint64_t client;          /* a client that registered this GPU */
	uint64_t footprint_bytes; /* its allocations here (MEM_UPDATE),
	                             backed or waiting for room */
	uint64_t pinned_bytes;    /* the part that cannot leave the GPU
	                             (pitched, pool and array memory): it
	                             occupies the GPU even when swapped out */
	uint64_t pinned_held;     /* the pinned bytes it was granted: pinned
	                             memory still waiting for a grant is
	                             not on the GPU */
	uint64_t granted_bytes;   /* what it may back on the GPU while it
	                             occupies it: set at its grant and when
	                             its growth is admitted, lowered by its
	                             frees; a running client whose footprint
	                             is larger waits for room to grow */
	int64_t grow_since_ns;    /* when its footprint last outgrew the
	                             grant (while running) */
	int updated;              /* a footprint was set since it joined */
	uint64_t host_bytes;      /* its memory on the host (swapped out),
	                             against the node's host swap budget */
	int64_t stuck_until_ns;   /* a swap-out left memory behind: not asked
	                             to move it again before then */
	int running;              /* 1: in the running set */
	int resident;             /* 1: its memory is on the GPU, as far as
	                             we know (registered or granted, and no
	                             swap-out reported since) */
	int evicting;             /* 1: EVICT sent, no swap-out reported */
	int64_t evict_sent_at_ns; /* when EVICT went out (if evicting) */
	int64_t idle_since_ns;    /* registered, or last left the running
	                             set; members are kept in this order */
	uint64_t swap_outs;       /* swap-outs it reported */
	uint64_t swap_ins;        /* swap-ins it reported */
	int out_asked;            /* 1: asked to move its memory out (EVICT,
	                             DROP_LOCK with swap-out), not reported */
	int in_due;               /* 1: granted with its memory on the host;
	                             its swap-in not reported yet */
	int unmanaged;            /* 1: told to run unmanaged (another of its
	                             GPUs was refused): it works ungated with
	                             its whole footprint on the GPU, and is
	                             never queued, granted or asked to move */
};

/* What an operator sets; the same for every GPU. */
struct policy_settings {
	enum policy_mode mode; /* see enum policy_mode */
	int64_t slice_ns;      /* fixed slice, or POLICY_SLICE_AUTO */
	int64_t max_run_ns;    /* longest slice, whatever the setting */
	int64_t grace_ns;      /* time to answer DROP_LOCK or EVICT */
};

struct policy_gpu {
	struct policy_holder *running; /* running set, in grant order */
	size_t nrunning;               /* entries used in running */
	size_t running_cap;            /* entries allocated in running */
	struct policy_waiter *queue;   /* waiters, oldest first */
	size_t nqueue;                 /* entries used in queue */
	size_t queue_cap;              /* entries allocated in queue */
	struct policy_member *members; /* registered clients, oldest idle
	                                  first */
	size_t nmembers;               /* entries used in members */
	size_t members_cap;            /* entries allocated in members */
	uint64_t capacity_bytes;       /* memory the GPU is treated as having */
	int64_t now_ns;                /* time of the last event or tick */
	int unmanaged;                 /* scheduling is off: clients hold
	                                  what they like, and their updates'
	                                  held_bytes are their grants */
	uint64_t host_room_bytes;      /* what the node's host swap budget has
	                                  left, set by the caller before each
	                                  call (UINT64_MAX: no budget) */
	enum policy_mode mode;         /* current mode */
	int64_t slice_ns;              /* fixed slice or POLICY_SLICE_AUTO */
	int64_t max_run_ns;            /* upper bound of any slice */
	int64_t grace_ns;              /* time to answer DROP_LOCK / EVICT */
	double bw_out;                 /* swap-out bandwidth, bytes per ns */
	double bw_in;                  /* swap-in bandwidth, bytes per ns */
	int bw_out_measured;           /* 1 once a swap-out was reported */
	int bw_in_measured;            /* 1 once a swap-in was reported */
	uint64_t lock_grants;          /* GRANT actions so far */
	uint64_t forced_releases;      /* REVOKE actions so far */
	uint64_t swaps;                /* swap reports accepted so far */
	uint64_t evictions;            /* EVICT actions so far */
	uint64_t evict_timeouts;       /* EVICT_TIMEOUT actions so far */
};

enum policy_state {
	POLICY_IDLE = 0,    /* neither running nor waiting */
	POLICY_HOLDING = 1, /* in the running set */
	POLICY_WAITING = 2, /* in the queue */
};

/* Why the slice in effect has its length. */
enum policy_slice_why {
	POLICY_SLICE_FIXED = 0,      /* the operator's fixed slice */
	POLICY_SLICE_AUTO_SWAP = 1,  /* factor x estimated swap time */
	POLICY_SLICE_AUTO_FLOOR = 2, /* the automatic slice's floor */
	POLICY_SLICE_MAX_RUN = 3,    /* capped at max_run */
};

struct policy_slice {
	int64_t ns;                /* the slice in effect */
	enum policy_slice_why why; /* where it comes from */
	int64_t swap_ns;           /* estimated swap time of the next switch */
};

/* Sets up an empty GPU. capacity_bytes, the slice (unless auto), max_run
 * and grace must be positive. */
void policy_gpu_init(struct policy_gpu *g, uint64_t capacity_bytes,
                     const struct policy_settings *s);
void policy_gpu_destroy(struct policy_gpu *g);

/* Changes mode, slice, max_run and grace. They apply at once, to the
 * current holders too: call policy_tick() afterwards for the actions. A
 * switch to serial leaves running clients alone; it limits admission. */
void policy_set_settings(struct policy_gpu *g, const struct policy_settings *s);

/* client registered the GPU: it is known, resident, with no memory yet.
 * Idempotent. Returns 0, or -1 if memory ran out. */
int policy_register(struct policy_gpu *g, uint64_t client, int64_t now);

/* client asks for the lock. A holder gets CONFIRM, a waiter keeps its
 * place, anyone else joins the queue (and is granted at once if it may).
 * An unregistered client is registered first. Returns 0, or -1 if memory
 * ran out (nothing changed). */
int policy_request(struct policy_gpu *g, uint64_t client, int64_t now,
                   struct policy_out *out);

/* client returns the lock. Returns 1 if it held it (waiters are admitted
 * at once), 0 if it did not (stale release: ignored). */
int policy_release(struct policy_gpu *g, uint64_t client, int64_t now,
                   struct policy_out *out);

/* client is gone: it loses the lock, its place and its memory at once. */
void policy_disconnect(struct policy_gpu *g, uint64_t client, int64_t now,
                       struct policy_out *out);

/* client runs unmanaged from now on (policy_member.unmanaged): it loses
 * the lock and its place in the queue, its whole footprint counts as on
 * the GPU (its library brings swapped-out memory back), and the others
 * are admitted only beside it; its later requests are ignored. Returns
 * 1 if it held the lock, 0 if not, -1 if memory ran out registering it
 * (nothing changed). */
int policy_unmanage(struct policy_gpu *g, uint64_t client, int64_t now,
                    struct policy_out *out);

/* client's allocations on the GPU are now bytes, pinned_bytes of them
 * unable to leave the GPU. held_bytes, in the first update since it
 * joined, is what it says it already has on the GPU (it ran unmanaged
 * before): that much is taken as granted, at most its footprint and
 * (outside concurrent mode) at most the room beside the others; an idle
 * client whose claim did not fit is sent EVICT at once. A running client
 * is answered MEM_GRANT at once when its new footprint fits beside the
 * others, else once room is made. Returns 0, or -1 if memory ran out
 * registering it. */
int policy_set_footprint(struct policy_gpu *g, uint64_t client, uint64_t bytes,
                         uint64_t pinned_bytes, uint64_t held_bytes,
                         int64_t now, struct policy_out *out);

/* What a swap report would answer (see policy_swap_check). */
enum policy_swap_verdict {
	POLICY_SWAP_ANSWER = 0,      /* it answers what was asked: take it */
	POLICY_SWAP_UNASKED = 1,     /* nothing was asked of it: ignore it */
	POLICY_SWAP_TOO_BIG = 2,     /* more bytes than it has here: take its
	                                move, not its measurement */
	POLICY_SWAP_IMPLAUSIBLE = 3, /* bandwidth outside POLICY_BW_MIN..MAX:
	                                likewise */
};

/* Whether client's report of a move of bytes in ns (dir) answers
 * something asked: a swap-out an EVICT or a DROP_LOCK with swap-out not
 * yet answered (also after the grace: a stopped client that resumes
 * answers late), a swap-in its first since a grant that found its memory
 * on the host. A client's measurements are believed only then. */
enum policy_swap_verdict policy_swap_check(const struct policy_gpu *g,
                                           uint64_t client, unsigned dir,
                                           uint64_t bytes, uint64_t ns);

/* client moved bytes in ns (dir: enum policy_swap_dir). A swap-out makes
 * it non-resident (asked for or not); a swap-in by a running client makes
 * it resident. Both feed the bandwidth averages. Returns 0, or -1 if
 * memory ran out registering it. */
int policy_swap_report(struct policy_gpu *g, uint64_t client, unsigned dir,
                       uint64_t bytes, uint64_t ns, int64_t now,
                       struct policy_out *out);

/* (The caller checks a report first with policy_swap_check; ns 0 keeps
 * the move and drops the measurement.) */

/* client could not move all its memory out (a stream capture ran, the
 * host was short, a copy failed): it stays resident, and is not asked to
 * move it again for a grace period (no EVICT loop). Returns 0, or -1 if
 * memory ran out registering it. */
int policy_swap_incomplete(struct policy_gpu *g, uint64_t client, int64_t now,
                           struct policy_out *out);

/* Acts on the passage of time (drops, forced releases, evictions, grants)
 * and returns the next time something may happen without an event, or
 * POLICY_NO_DEADLINE. */
int64_t policy_tick(struct policy_gpu *g, int64_t now, struct policy_out *out);

/* The deadline policy_tick() would return, without acting (INT64_MIN when
 * something is due at once). */
int64_t policy_next_deadline(const struct policy_gpu *g);

/* Forgets every holder, waiter and pending eviction without actions
 * (scheduling turned off). Members and their memory stay. */
void policy_clear(struct policy_gpu *g);

/* Scheduling goes off (1) or on again (0). Off, every client brings its
 * memory back and allocates freely, so what each reports it holds is its
 * grant from then on; on again, the books start from there. */
void policy_set_unmanaged(struct policy_gpu *g, int unmanaged);

/* Where client stands; *since_ns gets when it was granted or queued
 * (0 when idle). */
enum policy_state policy_state_of(const struct policy_gpu *g, uint64_t client,
                                  int64_t *since_ns);

/* The member entry of client, or NULL. */
const struct policy_member *policy_member_of(const struct policy_gpu *g,
                                             uint64_t client);

/* Why client waits now (WAIT_NONE if it does not). */
enum policy_wait_reason policy_wait_reason_of(const struct policy_gpu *g,
                                              uint64_t client);

/* What m may have on the GPU now: its grant while it runs or its memory
 * is resident, else its pinned memory. */
uint64_t policy_occupied_bytes(const struct policy_member *m);

/* Sum of the members' memory on the host (against the host budget). */
uint64_t policy_host_bytes(const struct policy_gpu *g);

/* Sum of what every member may have on the GPU (policy_occupied_bytes):
 * outside concurrent mode never more than the capacity. */
uint64_t policy_resident_bytes(const struct policy_gpu *g);

/* 1 if m runs and waits for room to grow (footprint above its grant). */
int policy_growing(const struct policy_gpu *g, const struct policy_member *m);

/* The running clients that the plans for the waiters (the head, growing
 * clients) would drop with their memory moved out when their slices end,
 * in ids (at most max; the same client may appear twice). Lets the caller
 * warn them, so that they prepare host memory before the drop comes. */
size_t policy_planned_swaps(const struct policy_gpu *g, uint64_t *ids,
                            size_t max);

/* The slice in effect for the next switch, and why. */
void policy_slice_of(const struct policy_gpu *g, struct policy_slice *s);

/* The policy's invariants (policy_check.c), checked after every step in
 * debug and sanitizer builds (NVSHARE_CHECKS), never in release builds:
 * a production node does not pay for them, the unit tests' simulations
 * run them hundreds of thousands of times. Aborts with a message naming
 * the broken invariant and the client. */
void policy_check_invariants(const struct policy_gpu *g);

/* Names for logs, status and tests ("GRANT", "auto", "memory"). */
const char *policy_kind_name(enum policy_kind kind);
const char *policy_mode_name(enum policy_mode mode);
const char *policy_wait_reason_name(enum policy_wait_reason reason);

#endif /* NVSHARE_POLICY_H */
