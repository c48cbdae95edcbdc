/*
 * api_launch.c - kernel launches and graph launches.
 *
 * A simulated kernel costs time on its device's compute timeline. The
 * kernel named "spin" takes (uint64_t ns, CUdeviceptr buf, uint64_t bytes)
 * and lasts ns, touching the managed memory in [buf, buf+bytes) (which then
 * has to be resident: faults and evictions add to its time). The kernel
 * named "work" takes the same parameters but its first counts iterations
 * of FC_WORK_NS_PER_ITER each: on this GPU, where a kernel runs alone,
 * time and work are the same thing. Every other
 * kernel lasts NVSHARE_FAKE_KERNEL_US and touches nothing. Parameters come
 * from kernelParams or from the packed "extra" buffer, as in the real API.
 */
#include <string.h>

#include "fakecuda.h"

#define FC_WORK_NS_PER_ITER 1 /* the "work" kernel's iteration */

/* The "extra" launch option markers (CU_LAUNCH_PARAM_*). */
#define FC_LAUNCH_PARAM_END ((void *)0x00)
#define FC_LAUNCH_PARAM_BUFFER_POINTER ((void *)0x01)
#define FC_LAUNCH_PARAM_BUFFER_SIZE ((void *)0x02)

/* The spin kernel's parameters. */
struct launch_spin_args {
	uint64_t ns;    /* how long it runs */
	uint64_t buf;   /* buffer it touches */
	uint64_t bytes; /* bytes of it touched */
};

/* Reads the packed parameter buffer passed through extra. */
static CUresult launch_extra_args(void **extra, struct launch_spin_args *a)
{
	void *buf = NULL;
	size_t size = 0;

	for (int i = 0; extra[i] != FC_LAUNCH_PARAM_END; i += 2) {
		if (extra[i] == FC_LAUNCH_PARAM_BUFFER_POINTER)
			buf = extra[i + 1];
		else if (extra[i] == FC_LAUNCH_PARAM_BUFFER_SIZE)
			size = extra[i + 1] ? *(size_t *)extra[i + 1] : 0;
		else
			return CUDA_ERROR_INVALID_VALUE;
	}
	if (!buf || size < sizeof(*a))
		return CUDA_ERROR_INVALID_VALUE;
	memcpy(a, buf, sizeof(*a));
	return CUDA_SUCCESS;
}

static CUresult launch_spin_args(void **params, void **extra,
                                 struct launch_spin_args *a)
{
	if (params && extra)
		return CUDA_ERROR_INVALID_VALUE;
	if (extra)
		return launch_extra_args(extra, a);
	if (!params || !params[0] || !params[1] || !params[2])
		return CUDA_ERROR_INVALID_VALUE;
	memcpy(&a->ns, params[0], sizeof(a->ns));
	memcpy(&a->buf, params[1], sizeof(a->buf));
	memcpy(&a->bytes, params[2], sizeof(a->bytes));
	return CUDA_SUCCESS;
}

/* A spin kernel's buffer must be memory of this process, as on a GPU where
 * anything else is an illegal address (reported at launch here). */
static int launch_buffer_ok(const struct launch_spin_args *a)
{
	int idx;

	if (!a->bytes)
		return 1;
	fc_state_lock(fc_rt.st);
	idx =
	    fc_mem_lookup(fc_rt.st, fc_rt.slot, a->buf, a->bytes, FC_NEED_READ);
	fc_state_unlock(fc_rt.st);
	return idx >= 0;
}

static CUresult launch_check_dims(const unsigned int grid[3],
                                  const unsigned int block[3])
{
	uint64_t threads = (uint64_t)block[0] * block[1] * block[2];

	if (!grid[0] || !grid[1] || !grid[2] || !threads)
		return CUDA_ERROR_INVALID_VALUE;
	if (grid[0] > 0x7fffffffu || grid[1] > 65535 || grid[2] > 65535 ||
	    block[2] > 64 || threads > 1024)
		return CUDA_ERROR_INVALID_VALUE;
	return CUDA_SUCCESS;
}

static CUresult launch(CUfunction hf, const unsigned int grid[3],
                       const unsigned int block[3], CUstream h, int ptsz,
                       void **params, void **extra)
{
	struct fc_function *f = (struct fc_function *)hf;
	struct fc_op op = {.kind = FC_OP_KERNEL};
	struct launch_spin_args a;
	CUresult r = fc_require_ctx(NULL);

	if (r != CUDA_SUCCESS)
		return r;
	if (!f || f->magic != FC_MAGIC_FUNC || f->mod->magic != FC_MAGIC_MODULE)
		return CUDA_ERROR_INVALID_HANDLE;
	r = launch_check_dims(grid, block);
	if (r != CUDA_SUCCESS)
		return r;
	op.ns = fc_rt.cfg.kernel_ns;
	if (f->spin || f->work) {
		r = launch_spin_args(params, extra, &a);
		if (r != CUDA_SUCCESS)
			return r;
		if (!launch_buffer_ok(&a))
			return CUDA_ERROR_ILLEGAL_ADDRESS;
		op.ns = f->work ? a.ns * FC_WORK_NS_PER_ITER : a.ns;
		op.addr = a.buf;
		op.len = a.bytes;
	}
	return fc_submit(h, ptsz, &op, 0);
}

CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned int gridDimX,
                                unsigned int gridDimY, unsigned int gridDimZ,
                                unsigned int blockDimX, unsigned int blockDimY,
                                unsigned int blockDimZ,
                                unsigned int sharedMemBytes, CUstream hStream,
                                void **kernelParams, void **extra)
{
	const unsigned int grid[3] = {gridDimX, gridDimY, gridDimZ};
	const unsigned int block[3] = {blockDimX, blockDimY, blockDimZ};

	return launch(f, grid, block, hStream, 0, kernelParams, extra);
}

CUresult CUDAAPI cuLaunchKernel_ptsz(
    CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
    unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
    unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
    void **kernelParams, void **extra)
{
	const unsigned int grid[3] = {gridDimX, gridDimY, gridDimZ};
	const unsigned int block[3] = {blockDimX, blockDimY, blockDimZ};

	return launch(f, grid, block, hStream, 1, kernelParams, extra);
}

static CUresult launch_ex(const CUlaunchConfig *c, CUfunction f, void **params,
                          void **extra, int ptsz)
{
	unsigned int grid[3], block[3];

	if (!c || (c->numAttrs && !c->attrs))
		return fc_ready() ? CUDA_ERROR_INVALID_VALUE
		                  : CUDA_ERROR_NOT_INITIALIZED;
	grid[0] = c->gridDimX;
	grid[1] = c->gridDimY;
	grid[2] = c->gridDimZ;
	block[0] = c->blockDimX;
	block[1] = c->blockDimY;
	block[2] = c->blockDimZ;
	return launch(f, grid, block, c->hStream, ptsz, params, extra);
}

CUresult CUDAAPI cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction f,
                                  void **kernelParams, void **extra)
{
	return launch_ex(config, f, kernelParams, extra, 0);
}

CUresult CUDAAPI cuLaunchKernelEx_ptsz(const CUlaunchConfig *config,
                                       CUfunction f, void **kernelParams,
                                       void **extra)
{
	return launch_ex(config, f, kernelParams, extra, 1);
}

CUresult CUDAAPI cuLaunchCooperativeKernel(
    CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
    unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
    unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
    void **kernelParams)
{
	const unsigned int grid[3] = {gridDimX, gridDimY, gridDimZ};
	const unsigned int block[3] = {blockDimX, blockDimY, blockDimZ};

	return launch(f, grid, block, hStream, 0, kernelParams, NULL);
}

CUresult CUDAAPI cuLaunchCooperativeKernel_ptsz(
    CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
    unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
    unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
    void **kernelParams)
{
	const unsigned int grid[3] = {gridDimX, gridDimY, gridDimZ};
	const unsigned int block[3] = {blockDimX, blockDimY, blockDimZ};

	return launch(f, grid, block, hStream, 1, kernelParams, NULL);
}

/* --- graphs --------------------------------------------------------------- */

static int graph_valid(const struct fc_graph *g, uint32_t magic)
{
	return g && g->magic == magic;
}

CUresult CUDAAPI cuGraphInstantiateWithFlags(CUgraphExec *phGraphExec,
                                             CUgraph hGraph,
                                             unsigned long long flags)
{
	struct fc_graph *g = (struct fc_graph *)hGraph, *exec;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!phGraphExec || flags > 0xf)
		return CUDA_ERROR_INVALID_VALUE;
	if (!graph_valid(g, FC_MAGIC_GRAPH))
		return CUDA_ERROR_INVALID_HANDLE;
	exec = fc_graph_new(FC_MAGIC_EXEC);
	if (!exec)
		return CUDA_ERROR_OUT_OF_MEMORY;
	for (int i = 0; i < g->nops; i++) {
		if (fc_graph_append(exec, &g->ops[i]) < 0) {
			fc_graph_free(exec);
			return CUDA_ERROR_OUT_OF_MEMORY;
		}
	}
	*phGraphExec = (CUgraphExec)exec;
	return CUDA_SUCCESS;
}

/* Replays the recorded operations on the stream, timed like the
 * originals. */
static CUresult graph_launch(CUgraphExec hexec, CUstream h, int ptsz)
{
	struct fc_graph *exec = (struct fc_graph *)hexec;
	struct fc_stream *s;
	CUresult r = fc_require_ctx(NULL);

	if (r != CUDA_SUCCESS)
		return r;
	if (!graph_valid(exec, FC_MAGIC_EXEC))
		return CUDA_ERROR_INVALID_HANDLE;
	pthread_mutex_lock(&fc_rt.lock);
	r = fc_stream_resolve(h, ptsz, &s);
	if (r == CUDA_SUCCESS && s->cap_status != CU_STREAM_CAPTURE_STATUS_NONE)
		r = fc_capture_refuse(s); /* not capturable (as on CUDA 13) */
	pthread_mutex_unlock(&fc_rt.lock);
	for (int i = 0; r == CUDA_SUCCESS && i < exec->nops; i++)
		r = fc_submit(h, ptsz, &exec->ops[i], 0);
	return r;
}

CUresult CUDAAPI cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream)
{
	return graph_launch(hGraphExec, hStream, 0);
}

CUresult CUDAAPI cuGraphLaunch_ptsz(CUgraphExec hGraphExec, CUstream hStream)
{
	return graph_launch(hGraphExec, hStream, 1);
}

CUresult CUDAAPI cuGraphExecDestroy(CUgraphExec hGraphExec)
{
	struct fc_graph *exec = (struct fc_graph *)hGraphExec;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!graph_valid(exec, FC_MAGIC_EXEC))
		return CUDA_ERROR_INVALID_HANDLE;
	fc_graph_free(exec);
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuGraphDestroy(CUgraph hGraph)
{
	struct fc_graph *g = (struct fc_graph *)hGraph;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!graph_valid(g, FC_MAGIC_GRAPH))
		return CUDA_ERROR_INVALID_HANDLE;
	fc_graph_free(g);
	return CUDA_SUCCESS;
}
