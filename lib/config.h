/*
 * config.h - every environment variable the library reads, in one table
 * (config.c), read once on first use.
 *
 * A value that does not parse, or is out of its bounds, is reported
 * (event=bad_env) and the default kept: refusing to start would take the
 * application down.
 */
#ifndef NVSHARE_LIB_CONFIG_H
#define NVSHARE_LIB_CONFIG_H

#include <stdint.h>

struct lib_config {
	uint64_t idle_release_ms; /* NVSHARE_IDLE_RELEASE_MS: idle time after
	                             which a held lock is returned */
	uint64_t grant_wait_ms;   /* NVSHARE_GRANT_WAIT_MS: how long an
	                             allocation waits for room on the GPU */
	uint64_t liveness_ms;     /* NVSHARE_LIVENESS_MS: how long the
	                             scheduler may stay silent while we wait
	                             for it before we run unmanaged */
	uint64_t queue_window_ms; /* NVSHARE_QUEUE_WINDOW_MS: GPU time a
	                             thread may have queued (0: no bound) */
	uint64_t single_oversub;  /* NVSHARE_SINGLE_OVERSUB: a process may
	                             allocate more than the GPU has (0/1) */
	uint64_t swap_unified;    /* NVSHARE_SWAP=unified: cuMemAlloc gives
	                             Unified Memory, not remappable blocks */
	uint64_t memory_limit;    /* NVSHARE_GPU_MEMORY_LIMIT: bytes per GPU
	                             at start, 0: none */
	uint64_t core_limit;      /* NVSHARE_GPU_CORE_LIMIT: percent at
	                             start, 1..99, 0: none (100 means none) */
};

/* The configuration, read from the environment on the first call. */
const struct lib_config *config_get(void);

#endif /* NVSHARE_LIB_CONFIG_H */
