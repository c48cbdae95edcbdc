/*
 * ratelimit.h - a token bucket for log lines: a burst, then one line per
 * period; what it refuses is counted so that the next line it lets through
 * can say how many were suppressed.
 *
 * Pure: the caller passes the time. One bucket per uid (peer_account.h)
 * keeps one peer's flood of invalid input from flooding the log.
 */
#ifndef NVSHARE_RATELIMIT_H
#define NVSHARE_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_BURST 10               /* lines at once */
#define RATELIMIT_PERIOD_NS 1000000000LL /* then one per second */

struct ratelimit {
	int64_t credit_ns;   /* refill time banked, at most burst periods */
	int64_t last_ns;     /* time of the last call */
	uint64_t suppressed; /* events refused since the last one allowed */
	int started;         /* 0 until the first call: the bucket is full */
};

/* 1 if an event at now may be logged (it takes a token); else 0, and the
 * event is counted in r->suppressed. Time going backwards refills nothing. */
int ratelimit_allow(struct ratelimit *r, int64_t now, unsigned burst,
                    int64_t period_ns);

/* 1 if the bucket would allow an event at now without taking it. */
int ratelimit_ready(const struct ratelimit *r, int64_t now, unsigned burst,
                    int64_t period_ns);

/* When the bucket will next allow an event (now if it does now). */
int64_t ratelimit_next_ns(const struct ratelimit *r, int64_t now,
                          unsigned burst, int64_t period_ns);

/* 1 if the bucket is full at now: forgetting it would change nothing. */
int ratelimit_full(const struct ratelimit *r, int64_t now, unsigned burst,
                   int64_t period_ns);

/* The count of suppressed events, reset to 0. */
uint64_t ratelimit_take_suppressed(struct ratelimit *r);

#endif /* NVSHARE_RATELIMIT_H */
