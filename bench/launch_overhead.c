/*
 * launch_overhead.c - times cuLaunchKernel calls obtained the way the CUDA
 * runtime obtains them (cuGetProcAddress), over the null driver.
 *
 * usage: launch_overhead N
 * Prints {"launches":N,"ns_per_launch":X}. Run it with and without
 * libnvshare preloaded (bench/run.sh) to get the cost of the hook. Around
 * the timed loop it calls getppid() once before and once after, so that an
 * strace of the run shows whether the loop itself made any system call.
 */
#include "cuda_api.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef CUresult (*getproc_fn)(const char *, void **, int, cuuint64_t,
                               CUdriverProcAddressQueryResult *);

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	void *h = dlopen("libcuda.so.1", RTLD_NOW);
	getproc_fn getproc;
	__typeof__(&cuLaunchKernel) launch = NULL;
	__typeof__(&cuCtxCreate_v2) ctx_create;
	CUcontext ctx;
	struct timespec a, b;

	if (n <= 0 || !h) {
		fprintf(stderr, "usage: launch_overhead N (libcuda.so.1 on the "
		                "library path)\n");
		return 2;
	}
	getproc = (getproc_fn)dlsym(h, "cuGetProcAddress_v2");
	ctx_create = (__typeof__(&cuCtxCreate_v2))dlsym(h, "cuCtxCreate_v2");
	if (!getproc || !ctx_create ||
	    getproc("cuLaunchKernel", (void **)&launch, 12000, 0, NULL) ||
	    ctx_create(&ctx, 0, 0)) {
		fprintf(stderr, "launch_overhead: driver set-up failed\n");
		return 1;
	}
	/* The first call registers the device (slow path, off the clock). */
	launch(NULL, 1, 1, 1, 1, 1, 1, 0, (CUstream)0x3000, NULL, NULL);
	getppid();
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		launch(NULL, 1, 1, 1, 1, 1, 1, 0, (CUstream)0x3000, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	getppid();
	double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 +
	             (double)(b.tv_nsec - a.tv_nsec)) /
	            (double)n;
	printf("{\"launches\":%ld,\"ns_per_launch\":%.2f}\n", n, ns);
	return 0;
}
