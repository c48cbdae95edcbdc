/*
 * transport.h - the gRPC side of the device plugin (transport.cc, C++ over
 * Debian's gRPC library): serve the DevicePlugin service on a UNIX socket
 * and register with the kubelet.
 */
#ifndef NVSHARE_DP_TRANSPORT_H
#define NVSHARE_DP_TRANSPORT_H

#include <stddef.h>

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dp_server;

/* Serves p on the UNIX socket path (an old file there is removed first).
 * Returns the server, or NULL with a reason in err. */
struct dp_server *dp_server_start(struct dp_plugin *p, const char *path,
                                  char *err, size_t errlen);
/* Stops serving: open ListAndWatch streams end, the socket file is left. */
void dp_server_stop(struct dp_server *s);

/* Registration.Register on the kubelet's socket. Returns 0, or -1 with a
 * reason in err. */
int dp_register(const char *kubelet_socket, const char *endpoint,
                const char *resource_name, int timeout_ms, char *err,
                size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NVSHARE_DP_TRANSPORT_H */
