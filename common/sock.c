/*
 * sock.c - see sock.h.
 */
#include "sock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int nvs_socket_path(char *buf, size_t len)
{
	const char *env = getenv("NVSHARE_SOCKET");
	struct sockaddr_un addr;

	if (env && *env && strlen(env) < sizeof(addr.sun_path) &&
	    strlen(env) < len) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	snprintf(buf, len, "%s", NVS_DEFAULT_SOCKET);
	return env && *env ? -1 : 0;
}

int nvs_socket_connect(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	long waited_ms = 0;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	/* Non-blocking: connecting to a UNIX socket whose listener is stuck
	 * with a full backlog then fails at once (EAGAIN) instead of hanging
	 * the caller, which may be an application's first CUDA call. A full
	 * backlog is also what a tenant's connection flood looks like while
	 * the scheduler works through it: try again for a short while. */
	for (long pause_ms = 1;; pause_ms *= 2) {
		int fd = socket(AF_UNIX,
		                SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int saved;

		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		saved = errno;
		close(fd);
		errno = saved;
		if (saved != EAGAIN || waited_ms >= NVS_CONNECT_RETRY_MS)
			return -1;
		struct timespec ts = {.tv_sec = 0,
		                      .tv_nsec = pause_ms * 1000000L};
		nanosleep(&ts, NULL);
		waited_ms += pause_ms;
	}
}

void nvs_deadline_ms(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

long long nvs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}
