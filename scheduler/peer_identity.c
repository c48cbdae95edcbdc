/*
 * peer_identity.c - see peer_identity.h. The order matters: the start time
 * is read first, then the facts, then the connector is shown to be alive
 * (pidfd) or unchanged (start time) after them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* struct ucred */
#endif
#include "peer_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "perm.h"
#include "proc_stat.h"

/* Linux 6.5; glibc may not name it yet. Its number is the generic one on
 * these architectures (alpha, mips, parisc and sparc have their own). */
#if !defined(SO_PEERPIDFD) &&                                                  \
    (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) ||       \
     defined(__arm__) || defined(__riscv) || defined(__powerpc__) ||           \
     defined(__s390__) || defined(__loongarch__))
#define SO_PEERPIDFD 77
#endif

#define CGROUP_TEXT_MAX 65536 /* a v1 list of every hierarchy fits */
#define STAT_TEXT_MAX 4096
#define STATUS_TEXT_MAX 65536 /* enough for the "Groups:" line */
#define GROUPS_FIRST 64       /* SO_PEERGROUPS room before asking */

/* Reads <root>/<pid>/<name> into a new NUL-terminated buffer of at most
 * cap bytes; NULL if it cannot. */
static char *read_proc(const char *root, pid_t pid, const char *name,
                       size_t cap)
{
	char path[PEER_PROC_ROOT_MAX + 64];
	size_t used = 0;
	ssize_t n;
	char *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/%d/%s", root, (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	if (buf) {
		while (used < cap - 1 &&
		       (n = read(fd, buf + used, cap - 1 - used)) > 0)
			used += (size_t)n;
		buf[used] = '\0';
	}
	close(fd);
	return buf;
}

static unsigned long long start_time(const char *root, pid_t pid)
{
	char *text = read_proc(root, pid, "stat", STAT_TEXT_MAX);
	unsigned long long v = 0;

	if (text && proc_stat_start_time(text, &v) < 0)
		v = 0;
	free(text);
	return v;
}

/* A pidfd for the connector: SO_PEERPIDFD where the kernel has it (it
 * names the process that connected, even if its pid was reused since);
 * else pidfd_open() of the pid now. -1 if neither; PIDFD_GONE when the
 * kernel has SO_PEERPIDFD and says no (the connector exited: its pid may
 * be someone else's now, so nothing read by pid may be trusted). */
#define PIDFD_GONE (-2)

static int peer_pidfd(int fd, pid_t pid)
{
#ifdef SO_PEERPIDFD
	int pidfd = -1;
	socklen_t len = sizeof(pidfd);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0)
		return pidfd;
	/* Only a kernel without the option may fall back to the pid. */
	if (errno != ENOPROTOOPT)
		return PIDFD_GONE;
#else
	(void)fd;
#endif
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

/* 1 if the pidfd's process has not exited (a signal 0 it may not
 * receive from us still proves it exists). */
static int pidfd_alive(int pidfd)
{
#ifdef SYS_pidfd_send_signal
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 ||
	       errno == EPERM;
#else
	(void)pidfd;
	return 0;
#endif
}

static void capture_groups(struct peer_identity *id, int fd)
{
	socklen_t len = GROUPS_FIRST * sizeof(gid_t);
	gid_t *g = malloc(len);

	if (!g)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		gid_t *bigger;

		if (errno != ERANGE || !(bigger = realloc(g, len))) {
			free(g);
			return;
		}
		g = bigger;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
			free(g);
			return;
		}
	}
	id->groups = g;
	id->ngroups = len / sizeof(gid_t);
	id->groups_known = 1;
}

/* Supplementary groups from a /proc status text (no SO_PEERGROUPS). */
static void groups_from_status(struct peer_identity *id, const char *text)
{
	long n = perm_groups_parse(text, NULL, 0);

	if (n < 0)
		return;
	id->groups = malloc(((size_t)n + 1) * sizeof(gid_t));
	if (!id->groups)
		return;
	perm_groups_parse(text, id->groups, (size_t)n);
	id->ngroups = (size_t)n;
	id->groups_known = 1;
}

int peer_identity_capture(struct peer_identity *id, int fd,
                          const char *proc_root)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char *cgroup = NULL, *status = NULL, *comm = NULL;
	unsigned long long st_after;
	int pidfd;

	memset(id, 0, sizeof(*id));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
		return -1;
	id->pid = cred.pid;
	id->uid = cred.uid;
	id->gid = cred.gid;
	capture_groups(id, fd);
	if (id->pid <= 0)
		return 0; /* in a pid namespace we cannot see: no /proc */
	pidfd = peer_pidfd(fd, id->pid);
	id->start_time = start_time(proc_root, id->pid);
	cgroup = read_proc(proc_root, id->pid, "cgroup", CGROUP_TEXT_MAX);
	comm = read_proc(proc_root, id->pid, "comm", sizeof(id->comm));
	if (!id->groups_known)
		status =
		    read_proc(proc_root, id->pid, "status", STATUS_TEXT_MAX);
	st_after = id->start_time ? start_time(proc_root, id->pid) : 0;
	if (pidfd >= 0 && pidfd_alive(pidfd) && st_after == id->start_time)
		id->check = PEER_CHECK_PIDFD;
	else if (pidfd == -1 && id->start_time && st_after == id->start_time)
		id->check = PEER_CHECK_START;
	if (pidfd >= 0)
		close(pidfd);
	if (id->check != PEER_CHECK_NONE) {
		if (cgroup) {
			enum cgroup_pod_result r =
			    cgroup_pod_parse(cgroup, id->pod_uid);
			id->pod = r == CGROUP_POD_FOUND  ? PEER_POD_FOUND
			          : r == CGROUP_POD_NONE ? PEER_POD_NONE
			                                 : PEER_POD_UNKNOWN;
		}
		if (status)
			groups_from_status(id, status);
		if (comm) {
			comm[strcspn(comm, "\n")] = '\0';
			snprintf(id->comm, sizeof(id->comm), "%s", comm);
		}
	}
	if (id->pod != PEER_POD_FOUND)
		id->pod_uid[0] = '\0';
	free(cgroup);
	free(status);
	free(comm);
	return 0;
}

void peer_identity_free(struct peer_identity *id)
{
	free(id->groups);
	id->groups = NULL;
	id->ngroups = 0;
}

const char *peer_identity_pod_text(const struct peer_identity *id)
{
	switch (id->pod) {
	case PEER_POD_FOUND: return id->pod_uid;
	case PEER_POD_NONE: return "none";
	case PEER_POD_UNKNOWN: break;
	}
	return "unknown";
}

const char *peer_check_name(enum peer_check c)
{
	switch (c) {
	case PEER_CHECK_PIDFD: return "pidfd";
	case PEER_CHECK_START: return "start_time";
	case PEER_CHECK_NONE: break;
	}
	return "none";
}

static int root_valid(const char *s)
{
	size_t n = strlen(s);

	if (s[0] != '/' || n >= PEER_PROC_ROOT_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return 1;
}

const char *peer_proc_root(void)
{
	static char root[PEER_PROC_ROOT_MAX];
	const char *env;

	if (root[0])
		return root;
	env = getenv(PEER_PROC_ROOT_ENV);
	if (env && root_valid(env)) {
		snprintf(root, sizeof(root), "%s", env);
		NVS_WARN("event=proc_root path=%s msg=\"pods and groups read "
		         "from a proc root other than /proc (a test seam)\"",
		         root);
	} else {
		if (env)
			NVS_WARN("event=bad_env var=%s reason=\"not an "
			         "absolute path of printable characters under "
			         "%d bytes\" using=/proc",
			         PEER_PROC_ROOT_ENV, PEER_PROC_ROOT_MAX);
		snprintf(root, sizeof(root), "/proc");
	}
	return root;
}
