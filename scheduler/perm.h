/*
 * perm.h - who may use the control messages (CTL_STATUS, CTL_SET).
 *
 * Every tenant can connect to the scheduler's socket (mode 0666), so the
 * scheduler decides from the peer's kernel-supplied credentials
 * (SO_PEERCRED): root, the scheduler's own user, and members of the socket
 * file's group are allowed; everyone else is refused. Group membership
 * includes supplementary groups, which only /proc/<pid>/status shows. The
 * decision itself is pure and unit-tested; reading /proc is the caller's.
 */
#ifndef NVSHARE_PERM_H
#define NVSHARE_PERM_H

#include <sys/types.h>

/* 1 if the "Groups:" line of a /proc/<pid>/status text lists gid, else 0
 * (also when the line is missing or malformed). */
int perm_groups_contain(const char *proc_status, gid_t gid);

/* 1 if a peer with these credentials may use control messages.
 * in_socket_group: the peer's supplementary groups include the socket
 * file's group (see perm_groups_contain). */
int perm_control_allowed(uid_t peer_uid, gid_t peer_gid, int in_socket_group,
                         uid_t self_uid, gid_t socket_gid);

#endif /* NVSHARE_PERM_H */
