/*
 * billing.h - compute quotas for one GPU, as pure functions: who used how
 * much GPU time, and who must pause.
 *
 * Time is cut into ticks (BILL_TICK_NS, aligned on the host's monotonic
 * clock, which every process on the node shares). Each client on the GPU
 * reports, per tick, how long it had work on the GPU ("busy"). Several
 * clients busy at once share the GPU (the hardware time-slices between
 * contexts), so when the busy times of a tick add up to more than the tick,
 * each client is billed its busy time scaled by tick / sum: the GPU
 * delivered one tick of work and it went to those who asked, in proportion.
 * A client holding the lock but idle reports nothing and pays nothing.
 *
 * A client with a core limit of N% may use N% of each window (BILL_WINDOW
 * _NS by default) of GPU time. When several limited clients are active on
 * the GPU and their limits add up to more than 100%, each limit is scaled
 * down in proportion (80% + 80% -> 50% + 50%). Unlimited clients are never
 * throttled: they get what the limited ones leave. Once a client's billed
 * time reaches its budget it is throttled (its launches wait) until the
 * next window. What it used beyond its budget (reports arrive a few ticks
 * late, and queued work finishes after throttling) is carried into the
 * next window as debt, so the share is exact over a few windows. Unused
 * budget is carried only up to BILL_CREDIT_TICKS ticks, the billing lag,
 * and only by a client that used some GPU time in the window: throttling
 * acts that late, so a client squeezed by a co-tenant's late throttle
 * would otherwise lose that time for good; more would turn the limit from
 * a ceiling into a savings account.
 *
 * Reports for a tick are accepted until BILL_GRACE_TICKS after it ends;
 * then the tick is closed and billed. Later reports are billed at face
 * value.
 *
 * Nothing here touches a clock, a socket or a log.
 */
#ifndef NVSHARE_BILLING_H
#define NVSHARE_BILLING_H

#include <stddef.h>
#include <stdint.h>

#define BILL_TICK_NS 10000000LL    /* 10 ms */
#define BILL_WINDOW_NS 100000000LL /* default window: 100 ms */
#define BILL_GRACE_TICKS 2         /* ticks a report may be late */
#define BILL_PENDING_TICKS 8       /* open ticks kept per client */
#define BILL_MAX_CLIENTS 256       /* clients per GPU */
#define BILL_MAX_DEBT_WINDOWS 4    /* debt beyond this is forgiven */
#define BILL_CREDIT_TICKS (BILL_GRACE_TICKS + 1) /* unused budget carried */
#define BILL_ACTIVE_WINDOWS 2 /* idle this long: not active */
#define BILL_OUT_MAX 64
/* Entries one owner (the pod the kernel puts a client in, else its uid)
 * may take on a GPU: half, so that one tenant's idle registrations cannot
 * leave another's limited client unbilled. Keyed by pod first because in
 * Kubernetes every root container has uid 0. */
#define BILL_OWNER_SHARE (BILL_MAX_CLIENTS / 2)

struct bill_tick {
	int64_t tick;    /* tick index (start = tick * BILL_TICK_NS), -1 free */
	int64_t busy_ns; /* reported busy time in that tick */
};

struct bill_client {
	uint64_t id;
	uint64_t owner;       /* whose share it takes (a uid or a pod) */
	uint32_t limit_pct;   /* 1..99, or 0: unlimited */
	int throttled;        /* paused until the next window */
	int64_t used_ns;      /* billed in the current window, debt
	                         included */
	int64_t last_busy_ns; /* end of the last tick it was busy in, or
	                         INT64_MIN */
	uint64_t billed_ns;   /* billed since it joined, in total */
	struct bill_tick pending[BILL_PENDING_TICKS]; /* open ticks */
};

struct bill_gpu {
	int64_t window_ns;       /* window length, a multiple of the tick */
	int64_t next_window_ns;  /* length from the next window on (set by
	                            bill_set_window; = window_ns otherwise) */
	int64_t window_start_ns; /* start of the current window */
	int64_t next_tick;       /* lowest tick not yet closed */
	size_t n;                /* clients used */
	struct bill_client clients[BILL_MAX_CLIENTS];
};

enum bill_kind {
	BILL_THROTTLE = 1,   /* pause the client's launches */
	BILL_UNTHROTTLE = 2, /* let them go again */
};

struct bill_action {
	enum bill_kind kind;
	uint64_t client;
};

struct bill_out {
	size_t n;
	struct bill_action a[BILL_OUT_MAX];
};

/* window_ns <= 0 means BILL_WINDOW_NS; it is rounded up to whole ticks. */
void bill_init(struct bill_gpu *g, int64_t window_ns, int64_t now);
/* Changes the window from the next window on. */
void bill_set_window(struct bill_gpu *g, int64_t window_ns);

/* Adds a client (idempotent). Returns 0, or -1 if the GPU is full. */
int bill_add(struct bill_gpu *g, uint64_t id, uint32_t limit_pct);
/* The same for a client of owner, who may hold at most owner_max entries
 * here: -2 when that share is used (bill_add: owner 0, no share). */
int bill_add_owned(struct bill_gpu *g, uint64_t id, uint64_t owner,
                   uint32_t limit_pct, size_t owner_max);
/* bill_add_owned, and when the table is full, an entry taken from a
 * client of an owner that holds at least two more than owner (so that
 * shares only even out): an unlimited client first (unbilled, it runs as
 * before), else a limited one idle for BILL_ACTIVE_WINDOWS windows with no
 * open tick; among those, the largest owner's, the least recently busy
 * (open ticks count), the latest to join. An active limited client is
 * never taken: the newcomer is refused (-1) instead. The id of the client
 * that lost its entry goes to *evicted (0: nobody); it is billed no
 * more. */
int bill_add_evicting(struct bill_gpu *g, uint64_t id, uint64_t owner,
                      uint32_t limit_pct, size_t owner_max, int64_t now,
                      uint64_t *evicted);
/* Entries owner holds. */
size_t bill_owned(const struct bill_gpu *g, uint64_t owner);
/* Removes a client; nothing is emitted for it. */
void bill_remove(struct bill_gpu *g, uint64_t id);
/* A new limit (0: none); applies at once to the current window. A client
 * throttled whose new budget is not yet used up is let go. */
void bill_set_limit(struct bill_gpu *g, uint64_t id, uint32_t limit_pct,
                    int64_t now, struct bill_out *out);

/* A client's busy time in one tick (0 <= busy_ns <= BILL_TICK_NS, else
 * -1 and nothing recorded; unknown client: -1). Several reports for one
 * tick add up (capped at the tick). */
int bill_report(struct bill_gpu *g, uint64_t id, int64_t tick, int64_t busy_ns);

/* Closes the ticks whose grace is over, bills them, starts new windows and
 * throttles or lets go whoever that concerns. Returns when it next needs
 * to run (the next tick close). */
int64_t bill_advance(struct bill_gpu *g, int64_t now, struct bill_out *out);

/* The share a client may have now, in percent of the GPU (after
 * proportional scaling); 0 for an unlimited or unknown client. */
double bill_effective_pct(const struct bill_gpu *g, uint64_t id, int64_t now);

const struct bill_client *bill_client_of(const struct bill_gpu *g, uint64_t id);
/* 1 if the client is paused by its quota now (0 if not billed here). */
int bill_throttled(const struct bill_gpu *g, uint64_t id);

#endif /* NVSHARE_BILLING_H */
