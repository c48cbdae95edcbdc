/*
 * dp_types.h - the values the device plugin's parts and its transport
 * exchange: an advertised device, and what one container is given.
 */
#ifndef NVSHARE_DP_TYPES_H
#define NVSHARE_DP_TYPES_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DP_API_VERSION "v1beta1"
/* A device ID with its NUL: the API allows 63 characters. */
#define DP_ID_MAX 64

/* One advertised device (a slot of a GPU). */
struct dp_device {
	char id[DP_ID_MAX];
	int healthy;
	int numa; /* NUMA node of its GPU, -1 if unknown */
};

/* A key and a value of an environment variable or an annotation. */
struct dp_kv {
	char key[64];
	char value[1024];
};

struct dp_mount {
	char container_path[256];
	char host_path[256];
	int read_only;
};

#define DP_ALLOC_MAX_ENV 8
#define DP_ALLOC_MAX_MOUNTS 4
#define DP_ALLOC_MAX_CDI 16
#define DP_ALLOC_MAX_ANNOT 4

/* What one container gets (ContainerAllocateResponse). */
struct dp_container_alloc {
	size_t nenv;
	struct dp_kv env[DP_ALLOC_MAX_ENV];
	size_t nmount;
	struct dp_mount mount[DP_ALLOC_MAX_MOUNTS];
	size_t ncdi;
	char cdi[DP_ALLOC_MAX_CDI][128];
	size_t nannot;
	struct dp_kv annot[DP_ALLOC_MAX_ANNOT];
};

#ifdef __cplusplus
}
#endif

#endif /* NVSHARE_DP_TYPES_H */
