/*
 * kubelet_dir.c - inotify on the kubelet's directory (see kubelet_dir.h).
 */
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "kubelet_dir.h"

unsigned dp_kdir_classify(const char *name, uint32_t mask,
                          const char *own_socket)
{
	unsigned ev = DP_KDIR_NONE;

	if (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
		return DP_KDIR_OURS_GONE; /* the directory itself went */
	if (!name || !name[0])
		return DP_KDIR_NONE;
	if (strcmp(name, DP_KUBELET_SOCKET) == 0 &&
	    (mask & (IN_CREATE | IN_MOVED_TO)))
		ev |= DP_KDIR_KUBELET_NEW;
	if (strcmp(name, own_socket) == 0 &&
	    (mask & (IN_DELETE | IN_MOVED_FROM)))
		ev |= DP_KDIR_OURS_GONE;
	return ev;
}

int dp_kdir_open(const char *dir)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		return -1;
	if (inotify_add_watch(fd, dir,
	                      IN_CREATE | IN_DELETE | IN_MOVED_TO |
	                          IN_MOVED_FROM | IN_DELETE_SELF |
	                          IN_MOVE_SELF) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

unsigned dp_kdir_wait(int fd, const char *own_socket, int timeout_ms)
{
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd p = {.fd = fd, .events = POLLIN};
	unsigned ev = DP_KDIR_NONE;
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return DP_KDIR_NONE;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *q = buf; q < buf + n;) {
			const struct inotify_event *e = (const void *)q;

			ev |= dp_kdir_classify(e->len ? e->name : "", e->mask,
			                       own_socket);
			q += sizeof(*e) + e->len;
		}
	}
	return ev;
}
