/*
 * sched_load.h - the live load of the node's GPUs as the scheduler sees
 * it: its status report (CTL_STATUS, JSON, page by page) read into the
 * few facts placement needs.
 */
#ifndef NVSHARE_DP_SCHED_LOAD_H
#define NVSHARE_DP_SCHED_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "slots.h"

struct dp_client_gpu {
	char uuid[NVS_UUID_SIZE];
	uint64_t footprint; /* committed there: resident plus swapped out */
};

struct dp_client_view {
	uint64_t id;
	int pid;
	char alloc_id[33];     /* "allocation_id" if the report has it */
	uint64_t memory_limit; /* 0: none */
	unsigned core_limit;   /* percent, 0: none */
	size_t ngpus;
	struct dp_client_gpu gpu[DP_MAX_GPUS];
};

struct dp_sched_view {
	size_t nclients;
	struct dp_client_view *clients; /* malloc'd */
};

/* Reads a whole JSON report. Returns 0, or -1 with a reason in err (not
 * JSON, no client list, a member of the wrong type or out of range). */
int dp_sched_parse(const char *json, struct dp_sched_view *out, char *err,
                   size_t errlen);
/* Asks the scheduler at socket for its report and reads it. */
int dp_sched_fetch(const char *socket, int timeout_ms,
                   struct dp_sched_view *out, char *err, size_t errlen);
void dp_sched_view_free(struct dp_sched_view *v);

#endif /* NVSHARE_DP_SCHED_LOAD_H */
