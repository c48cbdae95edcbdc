/*
 * peer_account.h - what the scheduler keeps per uid of its peers: how many
 * connections the uid has open (its share of the connection table, see
 * conn_limit.h) and the bucket its warnings are drawn from (ratelimit.h).
 *
 * Keyed by uid because that is what a local user cannot multiply (and, for
 * root and the scheduler's uid, whether the peer is in a pod, since uid 0
 * inside a container is just another tenant); an
 * account outlives its connections until its bucket has refilled, so that
 * reconnecting never buys a fresh burst of log lines. Entries are
 * allocated one by one and never move: a connection keeps a pointer to
 * its account.
 */
#ifndef NVSHARE_PEER_ACCOUNT_H
#define NVSHARE_PEER_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ratelimit.h"

struct peer_account {
	uid_t uid;
	int in_pod;           /* an exempt uid (root, ourselves) inside a pod
	                         has an account of its own: not exempt */
	size_t nconns;        /* connections open now */
	int exempt;           /* root or ourselves outside pods: never
	                         rate-limited */
	struct ratelimit log; /* warnings about this uid's peers */
};

struct peer_accounts {
	struct peer_account **v; /* n entries, cap allocated */
	size_t n;
	size_t cap;
};

/* The account of uid (in_pod: an exempt uid's connections from inside a
 * pod, 0 for every other uid), created if new; NULL if memory ran out. */
struct peer_account *peer_account_get(struct peer_accounts *t, uid_t uid,
                                      int in_pod);

/* 1 if a warning about one of the uid's peers may be logged at now
 * (always for an exempt uid). When lines were suppressed before it, says
 * how many first (one line). */
int peer_account_log_ok(struct peer_account *a, int64_t now);

/* Reports suppressed counts whose bucket allows a line again, and forgets
 * accounts that hold nothing (no connection, a full bucket). Returns the
 * time it should run again, or INT64_MAX. */
int64_t peer_accounts_tick(struct peer_accounts *t, int64_t now);

void peer_accounts_free(struct peer_accounts *t);

#endif /* NVSHARE_PEER_ACCOUNT_H */
