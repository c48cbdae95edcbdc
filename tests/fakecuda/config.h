/*
 * config.h - what the simulated driver reads from its environment.
 *
 * Everything the operator (a test) can set is parsed here by pure functions
 * that take the text and return the values or a reason, so that the parsing
 * can be unit-tested without loading the driver. fc_config_load() applies
 * them to the process environment: an invalid NVSHARE_FAKE_GPUS makes the
 * driver report no device; any other invalid variable is reported on stderr
 * and its default kept.
 */
#ifndef FAKECUDA_CONFIG_H
#define FAKECUDA_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define FC_MAX_DEVICES 16
#define FC_DEFAULT_UUID "GPU-00000000-0000-0000-0000-000000000001"
#define FC_DEFAULT_CAPACITY (16ull << 30)
#define FC_DEFAULT_KERNEL_NS 5000ull
#define FC_DEFAULT_QUEUE_DEPTH 1024u
#define FC_MAX_QUEUE_DEPTH 65536u

/* One simulated GPU as configured. */
struct fc_devcfg {
	char uuid[NVS_UUID_SIZE]; /* "GPU-xxxxxxxx-..." as given */
	uint64_t capacity;        /* device memory in bytes */
};

/* Transfer bandwidths in bytes per second (all non-zero). */
struct fc_bw {
	uint64_t h2d;    /* prefetch host -> device */
	uint64_t d2h;    /* eviction and prefetch device -> host */
	uint64_t fault;  /* on-demand faulting of managed memory */
	uint64_t copy;   /* cuMemcpy* and cuMemset* */
	uint64_t pinned; /* copies to or from page-locked host memory */
};

/* The whole configuration of one process. */
struct fc_config {
	int ndev;                             /* devices configured, >= 1 */
	struct fc_devcfg dev[FC_MAX_DEVICES]; /* in ordinal order */
	struct fc_bw bw;                      /* transfer bandwidths */
	uint64_t kernel_ns;                   /* duration of non-spin kernels */
	uint32_t queue_depth;                 /* unfinished ops per stream */
	char state_path[PATH_MAX]; /* shared state file, "" = private */
	char trace_path[PATH_MAX]; /* trace file, "" = none */
};

/* Parses "UUID:SIZE[,UUID:SIZE...]" into out[0..*n). Rejects empty items,
 * malformed or duplicate UUIDs, zero or malformed sizes and more than max
 * devices. Returns 0, or -1 with a reason in err. */
int fc_parse_gpus(const char *s, struct fc_devcfg *out, int max, int *n,
                  char *err, size_t errlen);

/* Parses "key=SIZE[,key=SIZE...]" with keys h2d, d2h, fault, copy, pinned (each
 * at most once, values > 0, in bytes per second) over the values already in
 * *bw. On error *bw is left untouched. Returns 0 or -1 with a reason. */
int fc_parse_bw(const char *s, struct fc_bw *bw, char *err, size_t errlen);

/* The defaults: one 16 GiB device, H100-like bandwidths, 5 us kernels. */
void fc_config_defaults(struct fc_config *cfg);

/* Reads the NVSHARE_FAKE_* variables into cfg (over the defaults). Returns 0,
 * or -1 if the devices are invalid (reason already printed). */
int fc_config_load(struct fc_config *cfg);

/* Nanoseconds needed to move bytes at bw bytes per second (rounded up). */
uint64_t fc_transfer_ns(uint64_t bytes, uint64_t bw);

#endif /* FAKECUDA_CONFIG_H */
