/*
 * conn_limit.h - who may open another connection: the connection table's
 * size follows the descriptors the scheduler may hold, and each uid gets a
 * share of it, so that one user's flood of connections costs that user and
 * not its neighbours.
 *
 * Root and the scheduler's own uid are exempt from the per-uid share (they
 * can stop the scheduler anyway, and an operator's nvsharectl must get in)
 * and the last CONN_LIMIT_RESERVE entries of the table are kept for them,
 * so that several flooding uids together cannot lock an operator out
 * either. Pure: the caller counts.
 */
#ifndef NVSHARE_CONN_LIMIT_H
#define NVSHARE_CONN_LIMIT_H

#include <stddef.h>
#include <sys/types.h>

#define CONN_LIMIT_TABLE_MAX 4096 /* connections served at once, at most */
#define CONN_LIMIT_FD_SPARE 64    /* descriptors kept for everything else */
#define CONN_LIMIT_RESERVE 16     /* entries only root and we may take */
#define CONN_LIMIT_UID_SHARE 4    /* one uid: a quarter of the table */

struct conn_limits {
	size_t max_conns; /* table size */
	size_t per_uid;   /* connections one (not exempt) uid may hold */
	uid_t self_uid;   /* our effective uid: exempt, as root is */
};

/* Limits for a process that may hold fd_limit descriptors. */
void conn_limits_init(struct conn_limits *l, unsigned long long fd_limit,
                      uid_t self_uid);

enum conn_verdict {
	CONN_ADMIT = 0,
	CONN_TABLE_FULL, /* no room for anyone of this uid's kind */
	CONN_UID_FULL,   /* this uid holds its share */
};

/* 1 for root and the scheduler's own uid: no per-uid share, no log rate
 * limit (peer_account.h). */
int conn_limits_exempt(const struct conn_limits *l, uid_t uid);

/* May a peer of uid, which holds uid_conns of the nconns open, connect?
 * in_pod: the kernel puts it in a pod, or cannot say it is in none; then
 * even root takes a share (in Kubernetes every root container is uid 0). */
enum conn_verdict conn_limits_admit(const struct conn_limits *l, uid_t uid,
                                    int in_pod, size_t nconns,
                                    size_t uid_conns);

#endif /* NVSHARE_CONN_LIMIT_H */
