/*
 * capture_probe.c - a CUDA program that captures a stream into a graph
 * while nvshare may be asked to give the GPU away, for test_capture.py.
 *
 * usage: capture_probe CAPTURE_MS MODE   (MODE: global | relaxed | v10000)
 * v10000 begins a global capture through the entry point cuGetProcAddress
 * gives for cuStreamBeginCapture at version 10000 (the 10.0 ABI, no mode
 * argument), which the CUDA 13 runtime asks for.
 * It launches one kernel (taking the lock), then captures kernels of 10 ms
 * on a non-blocking stream for CAPTURE_MS, ends the capture, instantiates
 * the graph and launches it. Prints one JSON line with the CUresult of
 * each step. The simulated driver invalidates a capture if anyone
 * synchronizes the context meanwhile, as the real driver does.
 */
#include "cuda_api.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOAD(fn) __typeof__(&fn) fn##_p = (__typeof__(&fn))dlsym(h, #fn)

int main(int argc, char **argv)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW);
	if (argc != 3 || !h) {
		fprintf(stderr, "usage: capture_probe CAPTURE_MS "
		                "global|relaxed|v10000\n");
		return 2;
	}
	long capture_ms = atol(argv[1]);
	int mode = strcmp(argv[2], "relaxed") == 0
	               ? CU_STREAM_CAPTURE_MODE_RELAXED
	               : CU_STREAM_CAPTURE_MODE_GLOBAL;
	LOAD(cuInit);
	LOAD(cuDeviceGet);
	LOAD(cuCtxCreate_v2);
	LOAD(cuModuleLoadData);
	LOAD(cuModuleGetFunction);
	LOAD(cuStreamCreate);
	LOAD(cuStreamSynchronize);
	LOAD(cuLaunchKernel);
	LOAD(cuStreamBeginCapture_v2);
	LOAD(cuStreamEndCapture);
	LOAD(cuGraphInstantiateWithFlags);
	LOAD(cuGraphLaunch);
	LOAD(cuGetProcAddress_v2);
	CUresult (*begin_v10000)(CUstream) = NULL;
	CUdriverProcAddressQueryResult found;
	CUdevice dev;
	CUcontext ctx;
	CUmodule mod;
	CUfunction spin;
	CUstream s;
	CUgraph graph = NULL;
	CUgraphExec exec = NULL;
	uint64_t ns = 10000000, zero = 0;
	CUdeviceptr none = 0;
	void *params[] = {&ns, &none, &zero};
	struct timespec pause = {.tv_nsec = 10000000};
	int captured = 0;

	if (cuInit_p(0) || cuDeviceGet_p(&dev, 0) ||
	    cuCtxCreate_v2_p(&ctx, 0, dev) ||
	    cuModuleLoadData_p(&mod, "spin") ||
	    cuModuleGetFunction_p(&spin, mod, "spin") ||
	    cuStreamCreate_p(&s, CU_STREAM_NON_BLOCKING)) {
		printf("{\"error\":\"setup\"}\n");
		return 1;
	}
	CUresult first =
	    cuLaunchKernel_p(spin, 1, 1, 1, 1, 1, 1, 0, s, params, NULL);
	cuStreamSynchronize_p(s);
	if (strcmp(argv[2], "v10000") == 0 &&
	    cuGetProcAddress_v2_p("cuStreamBeginCapture",
	                          (void **)&begin_v10000, 10000,
	                          CU_GET_PROC_ADDRESS_DEFAULT, &found)) {
		printf("{\"error\":\"cuGetProcAddress\"}\n");
		return 1;
	}
	CUresult begin =
	    begin_v10000 ? begin_v10000(s) : cuStreamBeginCapture_v2_p(s, mode);
	CUresult launch = CUDA_SUCCESS;
	for (long t = 0; t < capture_ms; t += 10) {
		CUresult r = cuLaunchKernel_p(spin, 1, 1, 1, 1, 1, 1, 0, s,
		                              params, NULL);
		if (r != CUDA_SUCCESS)
			launch = r;
		else
			captured++;
		nanosleep(&pause, NULL);
	}
	CUresult end = cuStreamEndCapture_p(s, &graph);
	CUresult inst = end == CUDA_SUCCESS
	                    ? cuGraphInstantiateWithFlags_p(&exec, graph, 0)
	                    : CUDA_ERROR_INVALID_VALUE;
	CUresult run = inst == CUDA_SUCCESS ? cuGraphLaunch_p(exec, s)
	                                    : CUDA_ERROR_INVALID_VALUE;
	CUresult sync = cuStreamSynchronize_p(s);
	printf(
	    "{\"first\":%d,\"begin\":%d,\"launch\":%d,\"captured\":%d,"
	    "\"end\":%d,\"instantiate\":%d,\"graph_launch\":%d,\"sync\":%d}\n",
	    first, begin, launch, captured, end, inst, run, sync);
	return 0;
}
