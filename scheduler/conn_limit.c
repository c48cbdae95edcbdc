/*
 * conn_limit.c - see conn_limit.h.
 */
#include "conn_limit.h"

void conn_limits_init(struct conn_limits *l, unsigned long long fd_limit,
                      uid_t self_uid)
{
	unsigned long long n =
	    fd_limit > CONN_LIMIT_FD_SPARE + 2 * CONN_LIMIT_RESERVE
	        ? fd_limit - CONN_LIMIT_FD_SPARE
	        : 2 * CONN_LIMIT_RESERVE;

	l->max_conns =
	    n > CONN_LIMIT_TABLE_MAX ? CONN_LIMIT_TABLE_MAX : (size_t)n;
	l->per_uid = l->max_conns / CONN_LIMIT_UID_SHARE;
	l->self_uid = self_uid;
}

int conn_limits_exempt(const struct conn_limits *l, uid_t uid)
{
	return uid == 0 || uid == l->self_uid;
}

enum conn_verdict conn_limits_admit(const struct conn_limits *l, uid_t uid,
                                    int in_pod, size_t nconns, size_t uid_conns)
{
	int exempt = !in_pod && conn_limits_exempt(l, uid);

	if (nconns >= l->max_conns)
		return CONN_TABLE_FULL;
	if (exempt)
		return CONN_ADMIT;
	if (nconns >= l->max_conns - CONN_LIMIT_RESERVE)
		return CONN_TABLE_FULL;
	return uid_conns >= l->per_uid ? CONN_UID_FULL : CONN_ADMIT;
}
