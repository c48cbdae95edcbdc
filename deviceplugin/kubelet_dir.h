/*
 * kubelet_dir.h - watching the kubelet's device-plugin directory. A
 * kubelet that restarts deletes every plugin socket there and creates
 * kubelet.sock anew; a plugin must then serve again and re-register.
 * The same holds when someone deletes the plugin's socket.
 */
#ifndef NVSHARE_DP_KUBELET_DIR_H
#define NVSHARE_DP_KUBELET_DIR_H

#include <stdint.h>

#define DP_KUBELET_SOCKET "kubelet.sock"

enum dp_kdir_event {
	DP_KDIR_NONE = 0,
	DP_KDIR_KUBELET_NEW = 1u << 0, /* kubelet.sock (re)created */
	DP_KDIR_OURS_GONE = 1u << 1,   /* the plugin's socket removed */
};

/* What an inotify event (name, IN_* mask) means. Pure. */
unsigned dp_kdir_classify(const char *name, uint32_t mask,
                          const char *own_socket);

/* An inotify descriptor watching dir, or -1 (errno set). */
int dp_kdir_open(const char *dir);

/* Waits up to timeout_ms for events; returns their dp_kdir_event bits. */
unsigned dp_kdir_wait(int fd, const char *own_socket, int timeout_ms);

#endif /* NVSHARE_DP_KUBELET_DIR_H */
