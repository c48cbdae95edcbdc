/*
 * proc_link.h - the allocation id a process was started with, read from
 * its initial environment (/proc/PID/environ). This is how the plugin
 * ties a client of the scheduler (known by its PID) to the allocation it
 * came from until the library sends the id itself at HELLO. It needs the
 * node's PID namespace (hostPID) and the right to read other users'
 * environments (CAP_SYS_PTRACE); without them no client is linked and
 * pending allocations simply expire.
 */
#ifndef NVSHARE_DP_PROC_LINK_H
#define NVSHARE_DP_PROC_LINK_H

#include <stddef.h>

/* Looks for NAME=value in the NUL-separated environment block env[0..n).
 * Returns 1 with the value in out, 0 if absent or too long. Pure. */
int dp_env_lookup(const char *env, size_t n, const char *name, char *out,
                  size_t outlen);

/* The allocation id of process pid: 1 with it in out, 0 if none or the
 * environment cannot be read. */
int dp_proc_alloc_id(int pid, char *out, size_t outlen);

#endif /* NVSHARE_DP_PROC_LINK_H */
