/*
 * args.c - parsing of gpuload's flags (see args.h).
 *
 * Flags take their value as the next argument or after "=". Each may be
 * given once. Decimal fractions ("2.5") are parsed by hand-checked strtod:
 * digits with at most one point, no sign, exponent, hex, inf or nan.
 */
#include "args.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "parse.h"

#define GL_MAX_KERNELS 1000000000ull
#define GL_MAX_KERNEL_MS 3600000.0 /* one hour */
#define GL_MAX_SECONDS 86400.0     /* one day */
#define GL_MAX_REGROW 1000000ull

static const char *const gl_alloc_names[] = {"alloc", "managed", "pitch",
                                             "async"};

static const char *const gl_kernel_names[] = {"spin", "work"};

const char *gl_alloc_api_name(enum gl_alloc_api api)
{
	return gl_alloc_names[api];
}

const char *gl_kernel_name(enum gl_kernel k)
{
	return gl_kernel_names[k];
}

void gl_args_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: gpuload [--device N] [--mem SIZE] [--kernel-ms MS]\n"
	    "               (--kernels N | --seconds S) [--duty PCT]\n"
	    "               [--inflight K] [--alloc-api NAME] [--kernel NAME]\n"
	    "               [--work-iters N] [--verify SIZE]\n"
	    "               [--grow-to SIZE [--grow-step SIZE] [--regrow N]]\n"
	    "               [--threads N] [--stream own|per-thread]\n"
	    "\n"
	    "Runs a fixed amount of GPU work through the CUDA driver API\n"
	    "and prints one JSON line with what it did.\n"
	    "\n"
	    "  --device N       CUDA device ordinal (default 0)\n"
	    "  --mem SIZE       buffer every kernel touches, e.g. 512Mi "
	    "(default 0)\n"
	    "  --kernel-ms MS   duration of each kernel (default 10)\n"
	    "  --kernels N      number of kernels to run\n"
	    "  --seconds S      or: enough kernels for S seconds of GPU "
	    "time\n"
	    "  --duty PCT       1..100: share of time the GPU is kept busy\n"
	    "                   when alone (default 100)\n"
	    "  --inflight K     kernels queued at most at duty 100 "
	    "(default 2)\n"
	    "  --kernel NAME    spin (default): waits on the GPU clock for\n"
	    "                   the kernel time, however the GPU is shared;\n"
	    "                   work: a fixed loop calibrated alone to the\n"
	    "                   kernel time, slowed down by sharing\n"
	    "  --work-iters N   work kernels of N iterations, no calibration\n"
	    "                   (calibrate once alone: a shared GPU would\n"
	    "                   make the kernels too short)\n"
	    "  --alloc-api NAME alloc (cuMemAlloc, default), managed,\n"
	    "                   pitch or async\n"
	    "  --verify SIZE    write a pattern into the first and last SIZE\n"
	    "                   bytes of the buffer before the kernels and\n"
	    "                   check it after them (memory that was swapped\n"
	    "                   out and back must hold the same bytes);\n"
	    "                   grown buffers too: written when allocated,\n"
	    "                   checked before they are freed and at the end\n"
	    "  --grow-to SIZE   grow while running, as a caching allocator\n"
	    "                   does: after the first kernel, allocate\n"
	    "                   buffers of --grow-step (with --alloc-api)\n"
	    "                   one at a time until they and --mem total\n"
	    "                   SIZE (the last may be smaller): one every\n"
	    "                   ceil(kernels / 3 / steps) kernels, so that\n"
	    "                   growth ends about a third into the run.\n"
	    "                   Every kernel touches every buffer (a kernel\n"
	    "                   of no time for each grown one)\n"
	    "  --grow-step SIZE bytes of each grown buffer (default 1Gi)\n"
	    "  --regrow N       split the run into N + 1 equal cycles, each\n"
	    "                   growing as above over its first third; at\n"
	    "                   the start of each cycle after the first, free\n"
	    "                   every grown buffer (not --mem's) first\n"
	    "  --threads N      1..64: N threads on the one context, each\n"
	    "                   with its own non-blocking stream doing all\n"
	    "                   of the above (its own --mem buffer, growth\n"
	    "                   and kernels) at once, as a framework's\n"
	    "                   threads do; the report sums them, and one\n"
	    "                   thread's failure stops the others (default 1)\n"
	    "  --stream KIND    own (default): each thread creates a\n"
	    "                   non-blocking stream; per-thread: each uses\n"
	    "                   its per-thread default stream\n"
	    "                   (CU_STREAM_PER_THREAD)\n"
	    "\n"
	    "Exit status: 0 done, 1 a CUDA call failed (see \"error\"), "
	    "2 bad usage.\n");
}

/* Strict positive decimal: digits, at most one '.', within (0, max]. */
static int args_decimal(const char *s, double max, double *out)
{
	int digits = 0, points = 0;
	char *end;
	double v;

	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '.' && !points)
			points++;
		else
			return -1;
	}
	if (!digits)
		return -1;
	v = strtod(s, &end);
	if (*end || !isfinite(v) || v <= 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int args_alloc_api(const char *s, enum gl_alloc_api *out)
{
	for (size_t i = 0; i < sizeof(gl_alloc_names) / sizeof(*gl_alloc_names);
	     i++) {
		if (strcmp(s, gl_alloc_names[i]) == 0) {
			*out = (enum gl_alloc_api)i;
			return 0;
		}
	}
	return -1;
}

/* Flags, in the order of the seen[] bits. */
enum args_flag {
	ARG_DEVICE,
	ARG_MEM,
	ARG_KERNEL_MS,
	ARG_KERNELS,
	ARG_SECONDS,
	ARG_DUTY,
	ARG_INFLIGHT,
	ARG_ALLOC_API,
	ARG_KERNEL,
	ARG_WORK_ITERS,
	ARG_VERIFY,
	ARG_GROW_TO,
	ARG_GROW_STEP,
	ARG_REGROW,
	ARG_THREADS,
	ARG_STREAM,
	ARG_COUNT,
};

static const char *const args_names[ARG_COUNT] = {
    "--device",    "--mem",        "--kernel-ms", "--kernels",
    "--seconds",   "--duty",       "--inflight",  "--alloc-api",
    "--kernel",    "--work-iters", "--verify",    "--grow-to",
    "--grow-step", "--regrow",     "--threads",   "--stream"};

/* Working values while parsing. */
struct args_state {
	struct gl_args *a;   /* result being filled */
	double seconds;      /* --seconds, 0 if not given */
	int seen[ARG_COUNT]; /* flags given */
};

static int args_apply(struct args_state *st, enum args_flag f, const char *v)
{
	struct gl_args *a = st->a;
	uint64_t x;

	switch (f) {
	case ARG_DEVICE:
		if (nvs_parse_u64(v, 0, 1023, &x) < 0)
			return -1;
		a->device = (int)x;
		return 0;
	case ARG_MEM: return nvs_parse_size(v, &a->mem_bytes);
	case ARG_KERNEL_MS:
		return args_decimal(v, GL_MAX_KERNEL_MS, &a->kernel_ms);
	case ARG_KERNELS:
		return nvs_parse_u64(v, 1, GL_MAX_KERNELS, &a->kernels);
	case ARG_SECONDS: return args_decimal(v, GL_MAX_SECONDS, &st->seconds);
	case ARG_DUTY:
		if (nvs_parse_u64(v, 1, 100, &x) < 0)
			return -1;
		a->duty = (int)x;
		return 0;
	case ARG_INFLIGHT:
		if (nvs_parse_u64(v, 1, 1024, &x) < 0)
			return -1;
		a->inflight = (int)x;
		return 0;
	case ARG_ALLOC_API: return args_alloc_api(v, &a->alloc);
	case ARG_KERNEL:
		for (size_t i = 0;
		     i < sizeof(gl_kernel_names) / sizeof(gl_kernel_names[0]);
		     i++) {
			if (strcmp(v, gl_kernel_names[i]) == 0) {
				a->kernel = (enum gl_kernel)i;
				return 0;
			}
		}
		return -1;
	case ARG_WORK_ITERS:
		a->kernel = GL_KERNEL_WORK;
		return nvs_parse_u64(v, 1, UINT64_MAX / 1000, &a->work_iters);
	case ARG_VERIFY:
		/* Whole words, so that the pattern is one of words. */
		if (nvs_parse_size(v, &a->verify_bytes) < 0 ||
		    a->verify_bytes == 0 || a->verify_bytes % 4 ||
		    a->verify_bytes > GL_MAX_VERIFY)
			return -1;
		return 0;
	case ARG_GROW_TO:
		if (nvs_parse_size(v, &a->grow_to) < 0 || !a->grow_to)
			return -1;
		return 0;
	case ARG_GROW_STEP:
		if (nvs_parse_size(v, &a->grow_step) < 0 || !a->grow_step)
			return -1;
		return 0;
	case ARG_REGROW: return nvs_parse_u64(v, 0, GL_MAX_REGROW, &a->regrow);
	case ARG_THREADS:
		if (nvs_parse_u64(v, 1, GL_MAX_THREADS, &x) < 0)
			return -1;
		a->threads = (int)x;
		return 0;
	case ARG_STREAM:
		if (strcmp(v, "own") == 0)
			a->per_thread_stream = 0;
		else if (strcmp(v, "per-thread") == 0)
			a->per_thread_stream = 1;
		else
			return -1;
		return 0;
	default: return -1;
	}
}

static int args_flag(const char *arg, size_t len)
{
	for (int i = 0; i < ARG_COUNT; i++)
		if (strlen(args_names[i]) == len &&
		    strncmp(arg, args_names[i], len) == 0)
			return i;
	return -1;
}

/* Kernels for --seconds: ceil(S * 1000 / kernel_ms), forgiving the last
 * bits of floating-point noise. */
static int args_kernels_from_seconds(struct args_state *st, char *err,
                                     size_t errlen)
{
	double n = ceil(st->seconds * 1000.0 / st->a->kernel_ms - 1e-9);

	if (n < 1)
		n = 1;
	if (n > (double)GL_MAX_KERNELS) {
		snprintf(err, errlen,
		         "--seconds / --kernel-ms gives more than "
		         "%llu kernels",
		         GL_MAX_KERNELS);
		return -1;
	}
	st->a->kernels = (uint64_t)n;
	return 0;
}

/* --grow-to's companions, and a run long enough for its growth. */
static int args_check_growth(struct args_state *st, char *err, size_t errlen)
{
	struct gl_args *a = st->a;
	uint64_t steps, need;

	if (!st->seen[ARG_GROW_TO]) {
		if (st->seen[ARG_GROW_STEP] || st->seen[ARG_REGROW]) {
			snprintf(err, errlen, "%s needs --grow-to",
			         st->seen[ARG_GROW_STEP] ? "--grow-step"
			                                 : "--regrow");
			return -1;
		}
		return 0;
	}
	if (a->grow_to <= a->mem_bytes) {
		snprintf(err, errlen, "--grow-to must be larger than --mem");
		return -1;
	}
	steps = gl_grow_steps(a->mem_bytes, a->grow_to, a->grow_step);
	if (steps > GL_MAX_GROW_STEPS) {
		snprintf(err, errlen,
		         "--grow-to / --grow-step gives more than %llu "
		         "buffers",
		         GL_MAX_GROW_STEPS);
		return -1;
	}
	need = gl_grow_min_kernels(steps, a->regrow);
	if (a->kernels < need) {
		/* Each cycle: a kernel on --mem alone, then one per step. */
		snprintf(err, errlen,
		         "%llu growth steps in %llu cycle(s) need at least "
		         "%llu kernels",
		         (unsigned long long)steps,
		         (unsigned long long)a->regrow + 1,
		         (unsigned long long)need);
		return -1;
	}
	return 0;
}

static int args_finish(struct args_state *st, char *err, size_t errlen)
{
	if (st->seen[ARG_KERNELS] == st->seen[ARG_SECONDS]) {
		snprintf(err, errlen,
		         "give exactly one of --kernels and "
		         "--seconds");
		return -1;
	}
	if (st->seen[ARG_SECONDS] &&
	    args_kernels_from_seconds(st, err, errlen) < 0)
		return -1;
	return args_check_growth(st, err, errlen);
}

int gl_args_parse(int argc, char **argv, struct gl_args *a, char *err,
                  size_t errlen)
{
	struct args_state st = {.a = a};

	memset(a, 0, sizeof(*a));
	a->kernel_ms = 10.0;
	a->duty = 100;
	a->inflight = 2;
	a->threads = 1;
	a->grow_step = 1ull << 30;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '='), *value;
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
		int f;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return 1;
		f = args_flag(arg, len);
		if (f < 0) {
			snprintf(err, errlen, "unknown argument \"%.40s\"",
			         arg);
			return -1;
		}
		if (st.seen[f]) {
			snprintf(err, errlen, "%s given twice", args_names[f]);
			return -1;
		}
		st.seen[f] = 1;
		value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (!value || args_apply(&st, (enum args_flag)f, value) < 0) {
			snprintf(err, errlen, "invalid value for %s: \"%.40s\"",
			         args_names[f], value ? value : "(missing)");
			return -1;
		}
	}
	return args_finish(&st, err, errlen);
}
