/*
 * cgroup_pod.h - the Kubernetes pod a process is in, read from the text of
 * its /proc/<pid>/cgroup: the kernel's word, not the process's.
 *
 * The kubelet puts each pod's containers under a cgroup named after the
 * pod's UID, in one of two layouts:
 *   cgroupfs driver: /kubepods[/burstable|/besteffort]/pod<uid>/<container>
 *   systemd driver:  /kubepods.slice[/kubepods-<qos>.slice]/
 *                    kubepods[-<qos>]-pod<uid with '_' for '-'>.slice/
 *                    cri-containerd-<id>.scope (or docker-, crio-)
 * A line is "hierarchy:controllers:path" (cgroup v1: one per hierarchy;
 * v2: "0::path"). Only a path whose first component is the kubepods root
 * counts: an unprivileged user may create cgroups named "pod<uid>" in a
 * subtree delegated to it (systemd user services), never at the root.
 * A path leaving the reader's cgroup namespace ("/../...") says nothing
 * about its ancestors and does not count either. Pure, no I/O.
 */
#ifndef NVSHARE_CGROUP_POD_H
#define NVSHARE_CGROUP_POD_H

#include <stddef.h>

/* A pod UID as the kubelet writes it (36 for a UUID, 32 for the hash of a
 * static pod), with its terminator. */
#define CGROUP_POD_UID_SIZE 40

enum cgroup_pod_result {
	CGROUP_POD_NONE = 0,     /* no line puts the process in a pod */
	CGROUP_POD_FOUND = 1,    /* uid holds the pod UID */
	CGROUP_POD_CONFLICT = 2, /* lines name different pods: trust none */
	CGROUP_POD_OUTSIDE = 3,  /* a path leaves our cgroup namespace (a
	                            "..", or "."): where it is, is unknown */
};

/* Parses a /proc/<pid>/cgroup text (NUL-terminated). On CGROUP_POD_FOUND,
 * uid (CGROUP_POD_UID_SIZE bytes) holds the pod UID with dashes, lower
 * case; otherwise uid is "". Lines that are malformed or not in a pod are
 * skipped. */
enum cgroup_pod_result cgroup_pod_parse(const char *text,
                                        char uid[CGROUP_POD_UID_SIZE]);

/* 1 if a single path (the third field of a line) is inside a pod (then
 * uid holds it), -1 if it leaves our cgroup namespace, else 0. */
int cgroup_pod_of_path(const char *path, size_t len,
                       char uid[CGROUP_POD_UID_SIZE]);

#endif /* NVSHARE_CGROUP_POD_H */
