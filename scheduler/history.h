/*
 * history.h - the last minutes of a node, for the web page's charts: one
 * frame a second with, per GPU, its memory (capacity, resident, swapped),
 * swaps and waiting clients by reason, and per client and GPU its memory,
 * state, wait reason and GPU time.
 *
 * Bounded: a ring of frames (HISTORY_FRAMES, 10 minutes at 1 s) whose
 * entries live in two rings of their own, one for GPU entries and one for
 * client-GPU entries. A frame that does not fit pushes the oldest frames
 * out, so with more clients than HISTORY_CLIENT_ENTRIES / HISTORY_FRAMES
 * the window gets shorter, never the memory larger (about 1.3 MB in all,
 * allocated once). Labels (pod or program) of the clients in the window
 * are kept in a table of HISTORY_NAMES; a label no frame refers to any
 * more is dropped.
 *
 * The scheduling thread appends (history_sample, from the registry, or
 * history_append, from plain arrays: the unit tests) and copies
 * (history_copy: memcpy of what is used); rendering the JSON
 * (history_render_json) reads only the history given, on any thread.
 */
#ifndef NVSHARE_HISTORY_H
#define NVSHARE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "metrics_counters.h"
#include "proto.h"
#include "registry.h"
#include "status.h"

#define HISTORY_FRAMES 600                           /* 10 min at 1 s */
#define HISTORY_GPU_ENTRIES (HISTORY_FRAMES * 8)     /* 8 GPUs for 10 min */
#define HISTORY_CLIENT_ENTRIES (HISTORY_FRAMES * 32) /* 32 client-GPUs */
#define HISTORY_GPUS 64                              /* GPUs ever named */
#define HISTORY_NAMES 256                            /* client labels */
#define HISTORY_LABEL_SIZE (NVS_POD_NAMESPACE_SIZE + NVS_POD_NAME_SIZE + 1)

/* What one GPU is now (history_append's input). */
struct history_gpu_in {
	const char *uuid;
	uint64_t capacity, resident, swapped; /* bytes */
	uint64_t swaps;                       /* reported so far, both ways */
	uint32_t waiting[4]; /* clients waiting, by enum policy_wait_reason */
};

/* What one client is on one GPU now. */
struct history_client_in {
	uint64_t client;
	const char *gpu;          /* uuid */
	const char *label;        /* pod (namespace/name) or program */
	int state;                /* enum policy_state */
	int reason;               /* enum policy_wait_reason while waiting */
	int metered;              /* gpu_ns counts (the GPU is metered) */
	uint64_t memory, swapped; /* bytes */
	int64_t gpu_ns;           /* GPU time billed so far */
	int64_t held_ns;          /* time holding the lock so far */
};

struct history_gpu_entry {
	uint16_t gpu; /* index into history.uuids */
	uint32_t waiting[4];
	uint64_t capacity, resident, swapped, swaps;
};

struct history_client_entry {
	uint64_t client;
	uint16_t gpu;
	uint8_t state, reason, metered;
	uint64_t memory, swapped;
	int64_t gpu_ns, held_ns;
};

struct history_frame {
	int64_t mono_ns, wall_ms;
	size_t gstart, gcount; /* into gents, wrapping */
	size_t cstart, ccount; /* into cents, wrapping */
};

struct history_name {
	uint64_t client;
	uint64_t last_seq; /* the latest frame it is in */
	char label[HISTORY_LABEL_SIZE];
};

struct history {
	int64_t epoch_ms; /* when it began (wall): a restart changes it */
	struct history_frame *frames; /* frame seq at frames[seq % cap] */
	size_t frames_cap;
	uint64_t first_seq, next_seq; /* frames kept: [first_seq, next_seq) */
	struct history_gpu_entry *gents;
	size_t gents_cap, gents_used;
	struct history_client_entry *cents;
	size_t cents_cap, cents_used;
	char uuids[HISTORY_GPUS][NVS_UUID_SIZE];
	size_t nuuids;
	struct history_name *names;
	size_t names_cap, nnames;
	/* Scratch for history_sample (the scheduling thread's only). */
	struct history_gpu_in *gin;
	struct history_client_in *cin;
	size_t cin_cap;
	char (*lab)[HISTORY_LABEL_SIZE];
};

/* Allocates a history of the given capacities (0 for the defaults
 * above). Returns 0, or -1 if memory ran out. */
int history_init(struct history *h, size_t frames, size_t gpu_entries,
                 size_t client_entries, size_t names);
void history_free(struct history *h);

/* Appends a frame taken at monotonic time mono_ns (wall_ms: the same
 * moment in ms since the epoch), evicting the oldest frames it needs
 * room from. GPUs past HISTORY_GPUS and clients past the capacity are
 * left out of it. */
void history_append(struct history *h, int64_t mono_ns, int64_t wall_ms,
                    const struct history_gpu_in *gpus, size_t ngpus,
                    const struct history_client_in *clients, size_t nclients);

/* A frame of r (and the lock hold times in mc) at now. Returns 0, or -1
 * if memory for the scratch arrays ran out (no frame then). */
int history_sample(struct history *h, const struct sched_registry *r,
                   const struct metrics_counters *mc, int64_t now,
                   int64_t wall_ms);

/* Number of frames kept. */
size_t history_frames(const struct history *h);

/* dst (uninitialised) becomes a compact copy of src, sized to what src
 * uses, with the same frame numbers. Returns 0, or -1 if memory ran
 * out. */
int history_copy(struct history *dst, const struct history *src);

/* Appends the history as JSON to b (docs/operations.md: the page's
 * /api/history): times, per GPU series, per client-GPU series, of the
 * frames numbered from_seq on (all of them if from_seq is not in the
 * history: 0, too old, or from before a restart); "next" is the number
 * to ask from next time. Returns 0, or -1 if memory ran out. */
int history_render_json(const struct history *h, uint64_t from_seq,
                        struct status_buf *b);

#endif /* NVSHARE_HISTORY_H */
