/*
 * plugin.h - what the gRPC transport (transport.cc) asks of the device
 * plugin's C side: the device list and its changes, a preferred
 * allocation, and the content of an Allocate response. Every answer is
 * decided here, in C; the transport only converts messages.
 */
#ifndef NVSHARE_DP_PLUGIN_H
#define NVSHARE_DP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "dp_types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct dp_plugin;

/* The devices now, as a malloc'd array in *out (free it); *gen is the
 * generation of the list (it grows on every change). Returns the count. */
size_t dp_plugin_list(struct dp_plugin *p, struct dp_device **out,
                      uint64_t *gen);
/* Waits until the list's generation is past gen or timeout_ms passed,
 * or dp_plugin_wake was called. Returns 1 if it changed. */
int dp_plugin_wait(struct dp_plugin *p, uint64_t gen, int timeout_ms);
/* Wakes every waiter (the server is stopping). */
void dp_plugin_wake(struct dp_plugin *p);

/* GetPreferredAllocation for one container: size devices out of avail,
 * with every one of must. out has room for size IDs. Returns 0 with
 * *nout set, or -1 with a reason in err. */
int dp_plugin_prefer(struct dp_plugin *p, const char *const *avail,
                     size_t navail, const char *const *must, size_t nmust,
                     size_t size, char (*out)[DP_ID_MAX], size_t *nout,
                     char *err, size_t errlen);

/* Allocate for one container given ids. Returns 0 with *out filled, or -1
 * with a reason in err (an unknown device). */
int dp_plugin_allocate(struct dp_plugin *p, const char *const *ids, size_t n,
                       struct dp_container_alloc *out, char *err,
                       size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* NVSHARE_DP_PLUGIN_H */
