/*
 * peer_identity.h - who is on a connection, as the kernel says, captured
 * once when the scheduler accepts it: uid, gid and pid (SO_PEERCRED), the
 * supplementary groups (SO_PEERGROUPS), the pod the process is in (its
 * /proc/<pid>/cgroup, see cgroup_pod.h) and its program name (comm, for
 * status when HELLO names none).
 *
 * A pid may be reused once its process exits, so what is read from
 * /proc/<pid> is kept only if the process is shown to be the connector
 * still after the read: by a pidfd (SO_PEERPIDFD, which names the process
 * that connected; else pidfd_open() at accept) or, where the kernel has
 * none, by an unchanged start time. Nothing is read by pid afterwards:
 * permission checks use what was captured here.
 *
 * The pod namespace and name a client declares in HELLO are its own
 * claim; its pod is what the kernel's pod UID maps to in the Kubernetes
 * watcher's cache (kube_pods.h), and a claim is never confirmed otherwise.
 */
#ifndef NVSHARE_PEER_IDENTITY_H
#define NVSHARE_PEER_IDENTITY_H

#include <stddef.h>
#include <sys/types.h>

#include "cgroup_pod.h"

#define PEER_PROC_ROOT_ENV "NVSHARE_PROC_ROOT" /* test seam: default /proc */
#define PEER_PROC_ROOT_MAX 256
#define PEER_COMM_SIZE 32 /* /proc/<pid>/comm holds at most 15 bytes */

enum peer_pod {
	PEER_POD_UNKNOWN = 0, /* /proc could not be read or trusted */
	PEER_POD_NONE,        /* the kernel puts it in no pod */
	PEER_POD_FOUND,       /* pod_uid holds the kernel's pod UID */
};

/* What vouched for the /proc reads. */
enum peer_check {
	PEER_CHECK_NONE = 0, /* nothing: /proc data discarded */
	PEER_CHECK_PIDFD,    /* a pidfd showed the process alive after */
	PEER_CHECK_START,    /* its start time did not change */
};

struct peer_identity {
	pid_t pid;     /* SO_PEERCRED: the connector (0 if invisible) */
	uid_t uid;     /* SO_PEERCRED */
	gid_t gid;     /* SO_PEERCRED */
	gid_t *groups; /* supplementary groups, ngroups of them */
	size_t ngroups;
	int groups_known;              /* 0: none could be captured */
	unsigned long long start_time; /* /proc stat field 22, 0: unknown */
	enum peer_check check;
	enum peer_pod pod;
	char pod_uid[CGROUP_POD_UID_SIZE]; /* "" unless PEER_POD_FOUND */
	char comm[PEER_COMM_SIZE]; /* its program name, "" if not vouched */
};

/* Fills id for the peer of an accepted socket, reading /proc under
 * proc_root. Returns 0, or -1 if even SO_PEERCRED failed (errno set). */
int peer_identity_capture(struct peer_identity *id, int fd,
                          const char *proc_root);
void peer_identity_free(struct peer_identity *id);

/* "none", "unknown" or the pod UID, for logs. */
const char *peer_identity_pod_text(const struct peer_identity *id);
const char *peer_check_name(enum peer_check c);

/* The proc root: $NVSHARE_PROC_ROOT if set to an absolute path (tests
 * present a made-up /proc/<pid>/cgroup there), else /proc. A bad value is
 * logged and ignored. Read once. */
const char *peer_proc_root(void);

#endif /* NVSHARE_PEER_IDENTITY_H */
