/*
 * sock.h - where the scheduler's socket lives and how to reach it.
 */
#ifndef NVSHARE_SOCK_H
#define NVSHARE_SOCK_H

#include <stddef.h>
#include <sys/un.h>
#include <time.h>

#define NVS_DEFAULT_SOCKET "/var/run/nvshare/scheduler.sock"
/* The longest socket path a sockaddr_un holds, with its NUL. */
#define NVS_SOCKET_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

/* The socket path: NVSHARE_SOCKET if set (and it fits a sockaddr_un),
 * else NVS_DEFAULT_SOCKET. Returns 0, or -1 if the variable is invalid
 * (then buf holds the default and the caller should say so). */
int nvs_socket_path(char *buf, size_t len);

/* Connects a close-on-exec, non-blocking stream socket to path. If the
 * listener's backlog is full it tries again for about
 * NVS_CONNECT_RETRY_MS, then fails (EAGAIN). Returns the fd or -1 with
 * errno set. */
#define NVS_CONNECT_RETRY_MS 255 /* 1 + 2 + ... + 128 ms of pauses */
int nvs_socket_connect(const char *path);

/* Monotonic clock in nanoseconds. */
/* *ts = CLOCK_MONOTONIC now plus ms: a deadline for a condition variable
 * whose clock is CLOCK_MONOTONIC (pthread_condattr_setclock). */
void nvs_deadline_ms(struct timespec *ts, long ms);
long long nvs_now_ns(void);

#endif /* NVSHARE_SOCK_H */
