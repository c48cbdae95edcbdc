/*
 * grow.h - when gpuload grows its memory while it runs (--grow-to), the
 * way a framework's caching allocator does: it takes the GPU with a small
 * buffer and a first kernel, then allocates further buffers one at a time
 * between kernels; with --regrow it frees them all now and then (emptying
 * its cache) and grows again.
 *
 * The run's kernels are split into regrow + 1 cycles of about equal
 * length. A cycle starts on the initial buffer alone (freeing what the
 * previous cycle grew); one growth step comes every
 * ceil(L / 3 / steps) kernels after its first (L: the shortest cycle's
 * kernels), so growth ends about a third into each cycle. Pure
 * arithmetic: the driver calls are gpuload.c's.
 */
#ifndef GPULOAD_GROW_H
#define GPULOAD_GROW_H

#include <stdint.h>

/* Growth steps a cycle may take at most (buffers held at once). */
#define GL_MAX_GROW_STEPS 4096ull

/* The schedule of a run. */
struct gl_grow_plan {
	uint64_t kernels; /* kernels of the run */
	uint64_t cycles;  /* regrow + 1; 0 = no growth */
	uint64_t steps;   /* growth steps per cycle */
	uint64_t every;   /* kernels between growth steps */
	uint64_t mem;     /* initial buffer, bytes */
	uint64_t grow_to; /* total to grow to, bytes */
	uint64_t step;    /* bytes of a step (the last may be smaller) */
};

/* What to do before a kernel. */
enum gl_grow_action {
	GL_GROW_NONE = 0,
	GL_GROW_STEP = 1,   /* allocate the next buffer */
	GL_GROW_SHRINK = 2, /* free every grown buffer */
};

/* Steps from mem to grow_to in steps of step bytes: ceil of the ratio. */
uint64_t gl_grow_steps(uint64_t mem, uint64_t grow_to, uint64_t step);

/* Kernels a run needs: every cycle must hold its steps and one kernel
 * before them. */
uint64_t gl_grow_min_kernels(uint64_t steps, uint64_t regrow);

/* The plan for a run; grow_to 0 = no growth (gl_grow_action always
 * NONE). Arguments as validated by args.c. */
void gl_grow_plan_init(struct gl_grow_plan *p, uint64_t kernels, uint64_t mem,
                       uint64_t grow_to, uint64_t step, uint64_t regrow);

/* What comes before kernel i (0-based); for a step, *bytes is its size. */
enum gl_grow_action gl_grow_action(const struct gl_grow_plan *p, uint64_t i,
                                   uint64_t *bytes);

#endif /* GPULOAD_GROW_H */
