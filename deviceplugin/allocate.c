/*
 * allocate.c - the content of an Allocate response (see allocate.h).
 */
#include <stdio.h>
#include <string.h>

#include "allocate.h"

/* snprintf that reports truncation. */
#define PUT(dst, ...)                                                          \
	(snprintf((dst), sizeof(dst), __VA_ARGS__) >= (int)sizeof(dst))

static int env(struct dp_container_alloc *out, const char *key,
               const char *value)
{
	struct dp_kv *kv = &out->env[out->nenv++];

	return PUT(kv->key, "%s", key) || PUT(kv->value, "%s", value);
}

static int mount(struct dp_container_alloc *out, const char *cpath,
                 const char *hpath, int ro)
{
	struct dp_mount *m = &out->mount[out->nmount++];

	m->read_only = ro;
	return PUT(m->container_path, "%s", cpath) ||
	       PUT(m->host_path, "%s", hpath);
}

int dp_alloc_build(const struct dp_alloc_cfg *cfg, const char *const *uuids,
                   size_t n, const char *alloc_id,
                   struct dp_container_alloc *out, char *err, size_t errlen)
{
	char visible[sizeof(out->env[0].value)] = "", path[512];
	size_t len = 0;
	int bad = 0;

	memset(out, 0, sizeof(*out));
	if (n == 0 || n > DP_ALLOC_MAX_CDI) {
		snprintf(err, errlen, "%zu GPUs in one container", n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(visible + len, sizeof(visible) - len, "%s%s",
		                 i ? "," : "", uuids[i]);

		if (w < 0 || (size_t)w >= sizeof(visible) - len) {
			snprintf(err, errlen, "too many GPUs to name");
			return -1;
		}
		len += (size_t)w;
	}
	bad |= env(out, "NVIDIA_VISIBLE_DEVICES", visible);
	bad |= PUT(path, "%s/%s", cfg->container_lib_dir, DP_LIB_NAME);
	bad |= env(out, "LD_PRELOAD", path);
	bad |= PUT(path, "%s/%s", cfg->container_socket_dir, cfg->socket_name);
	bad |= env(out, "NVSHARE_SOCKET", path);
	bad |= env(out, DP_ENV_ALLOCATION_ID, alloc_id);
	bad |= mount(out, cfg->container_socket_dir, cfg->host_socket_dir, 0);
	bad |= mount(out, cfg->container_lib_dir, cfg->host_lib_dir, 1);
	out->nannot = 1;
	bad |= PUT(out->annot[0].key, "%s", DP_ANNOT_ALLOCATION_ID);
	bad |= PUT(out->annot[0].value, "%s", alloc_id);
	if (cfg->cdi_kind && cfg->cdi_kind[0]) {
		for (size_t i = 0; i < n; i++)
			bad |= PUT(out->cdi[out->ncdi++], "%s=%s",
			           cfg->cdi_kind, uuids[i]);
	}
	if (bad) {
		snprintf(err, errlen,
		         "a path or name is too long for the "
		         "response");
		return -1;
	}
	return 0;
}
