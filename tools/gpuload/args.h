/*
 * args.h - gpuload's command line. Every flag is validated completely;
 * anything doubtful is refused with a message (exit status 2) rather than
 * guessed at, because tests read gpuload's figures as ground truth.
 */
#ifndef GPULOAD_ARGS_H
#define GPULOAD_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum gl_alloc_api {
	GL_ALLOC_DEVICE = 0,  /* cuMemAlloc */
	GL_ALLOC_MANAGED = 1, /* cuMemAllocManaged */
	GL_ALLOC_PITCH = 2,   /* cuMemAllocPitch */
	GL_ALLOC_ASYNC = 3,   /* cuMemAllocAsync */
};

enum gl_kernel {
	GL_KERNEL_SPIN = 0, /* waits on the GPU clock: lasts its time even
	                       when the GPU is shared (time is not work) */
	GL_KERNEL_WORK = 1, /* a fixed number of loop iterations, calibrated
	                       alone to the kernel time: takes longer when the
	                       GPU is shared, like real compute */
};

#define GL_MAX_THREADS 64

/* --verify checks at most this much at each end (held in host memory). */
#define GL_MAX_VERIFY (64ull << 20)

/* What to run. */
struct gl_args {
	int device;              /* CUDA device ordinal */
	uint64_t mem_bytes;      /* buffer size, 0 = none */
	double kernel_ms;        /* duration of one kernel */
	uint64_t kernels;        /* kernels to run (from --kernels/--seconds) */
	int duty;                /* percent of time the GPU is kept busy */
	int inflight;            /* kernels queued at most (duty 100) */
	enum gl_alloc_api alloc; /* allocation entry point */
	enum gl_kernel kernel;   /* which kernel */
	uint64_t work_iters;     /* work: iterations per kernel, 0 = calibrate
	                            to kernel_ms at start */
	uint64_t verify_bytes;   /* --verify: bytes checked at each end of
	                            every buffer, 0 = none */
	uint64_t grow_to;        /* --grow-to: total to grow to, 0 = none */
	uint64_t grow_step;      /* bytes of each grown buffer */
	uint64_t regrow;         /* times the grown buffers are freed and
	                            grown again */
	int threads;             /* threads doing all of it at once, each on
	                            its own stream */
	int per_thread_stream;   /* 1: that stream is the thread's default
	                            one (CU_STREAM_PER_THREAD) */
};

/* Parses argv into a. Returns 0, 1 for --help (usage printed to stdout),
 * or -1 with a message in err. */
int gl_args_parse(int argc, char **argv, struct gl_args *a, char *err,
                  size_t errlen);
void gl_args_usage(FILE *out);
const char *gl_alloc_api_name(enum gl_alloc_api api);
const char *gl_kernel_name(enum gl_kernel k);

#endif /* GPULOAD_ARGS_H */
