/*
 * allocate.h - what a container given nvshare devices needs (the content
 * of a ContainerAllocateResponse). Pure: the settings, the GPUs and the
 * allocation id in, the response out.
 *
 *   NVIDIA_VISIBLE_DEVICES  the GPUs' UUIDs (the NVIDIA container runtime
 *                           gives the container those cards)
 *   LD_PRELOAD              the library, from the read-only library mount
 *   NVSHARE_SOCKET          the scheduler's socket inside the socket
 *                           directory's mount
 *   NVSHARE_ALLOCATION_ID   links the container's processes to this
 *                           allocation (placement counts it until they
 *                           reach the scheduler)
 * The socket's directory is mounted, not the socket: a restarted
 * scheduler re-creates its socket and the pod must see the new one. With
 * a CDI kind set, the GPUs are also named as CDI devices.
 */
#ifndef NVSHARE_DP_ALLOCATE_H
#define NVSHARE_DP_ALLOCATE_H

#include <stddef.h>

#include "dp_types.h"

#define DP_ENV_ALLOCATION_ID "NVSHARE_ALLOCATION_ID"
#define DP_ANNOT_ALLOCATION_ID "nvshare.com/allocation-id"
#define DP_LIB_NAME "libnvshare.so"

struct dp_alloc_cfg {
	const char *host_lib_dir;         /* where the init container put it */
	const char *container_lib_dir;    /* where the container sees it */
	const char *host_socket_dir;      /* the scheduler socket's directory */
	const char *container_socket_dir; /* where the container sees it */
	const char *socket_name;          /* the socket's file name */
	const char *cdi_kind;             /* "vendor/class", "" for none */
};

/* Fills out for the GPUs uuids[0..n) and the allocation id. Returns 0,
 * or -1 with a reason in err (a value too long for the response). */
int dp_alloc_build(const struct dp_alloc_cfg *cfg, const char *const *uuids,
                   size_t n, const char *alloc_id,
                   struct dp_container_alloc *out, char *err, size_t errlen);

#endif /* NVSHARE_DP_ALLOCATE_H */
