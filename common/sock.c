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
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	/* Non-blocking: connecting to a UNIX socket whose listener is stuck
	 * with a full backlog then fails at once (EAGAIN) instead of hanging
	 * the caller, which may be an application's first CUDA call. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

long long nvs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}
