/*
 * perm.h - who may use the control messages (CTL_STATUS, CTL_SET).
 *
 * Every tenant can connect to the scheduler's socket (mode 0666), so the
 * scheduler decides from the peer's credentials as the kernel captured
 * them when it connected (SO_PEERCRED, SO_PEERGROUPS; see peer_identity.h),
 * never from a pid read again later: root, the scheduler's own user, and
 * members of the group of the socket file the scheduler bound (its primary
 * or a supplementary group) are allowed; everyone else is refused. The
 * decisions are pure and unit-tested; capturing is the caller's.
 */
#ifndef NVSHARE_PERM_H
#define NVSHARE_PERM_H

#include <stddef.h>
#include <sys/types.h>

/* 1 if the "Groups:" line of a /proc/<pid>/status text lists gid, else 0
 * (also when the line is missing or malformed). */
int perm_groups_contain(const char *proc_status, gid_t gid);

/* The supplementary groups on the "Groups:" line of a /proc/<pid>/status
 * text: writes up to max of them to out (out may be NULL with max 0) and
 * returns how many the line lists, or -1 if it is missing or malformed. */
long perm_groups_parse(const char *proc_status, gid_t *out, size_t max);

/* 1 if gid is one of the n groups. */
int perm_groups_include(const gid_t *groups, size_t n, gid_t gid);

/* 1 if a peer with these credentials may use control messages.
 * in_socket_group: the peer's supplementary groups include the socket
 * file's group (see perm_groups_include). */
int perm_control_allowed(uid_t peer_uid, gid_t peer_gid, int in_socket_group,
                         uid_t self_uid, gid_t socket_gid);

#endif /* NVSHARE_PERM_H */
