/*
 * procaddr.c - cuGetProcAddress and cuGetProcAddress_v2.
 *
 * The answers come from NVS_CU_SYMBOLS (common/cuda_api.h), the same table
 * libnvshare uses for its hooks: among the rows whose base name is the one
 * asked for, the per-thread-default-stream rows if the flags ask for them
 * and any exist, else the others; of those, the one with the highest
 * since_version not above the requested version. The address returned is
 * the library's own exported function (the library is linked with
 * -Bsymbolic-functions), so it equals what dlsym() on this library gives,
 * whatever else is preloaded.
 *
 * How failures are reported follows a real driver (CUDA 13.0), which
 * differs between the two forms: cuGetProcAddress_v2 returns CUDA_SUCCESS
 * with a NULL function and the reason in *symbolStatus; the legacy
 * cuGetProcAddress returns CUDA_ERROR_NOT_FOUND. Flags may combine the
 * LEGACY_STREAM and PER_THREAD bits (per-thread wins); any other bit is
 * CUDA_ERROR_INVALID_VALUE.
 */
#include <string.h>

#include "fakecuda.h"

/* One row of the symbol table. */
struct procaddr_row {
	const char *base; /* name as asked for (no suffix) */
	int since;        /* CUDA version that introduced this ABI */
	int per_thread;   /* 1: the per-thread default stream variant */
	void *fn;         /* the exported function */
};

#define PROCADDR_ROW(exported, base, since, per_thread)                        \
	{#base, since, per_thread, (void *)&exported},
static const struct procaddr_row procaddr_table[] = {
    NVS_CU_SYMBOLS(PROCADDR_ROW)};
#undef PROCADDR_ROW

#define PROCADDR_ROWS (sizeof(procaddr_table) / sizeof(procaddr_table[0]))

/* Best row among those with base and the given per-thread kind, or NULL.
 * Versions compare unsigned, as the real driver's do (a negative version
 * asks for the newest). */
static const struct procaddr_row *procaddr_pick(const char *symbol,
                                                int per_thread, int version)
{
	const struct procaddr_row *best = NULL;

	for (size_t i = 0; i < PROCADDR_ROWS; i++) {
		const struct procaddr_row *row = &procaddr_table[i];

		if (row->per_thread != per_thread ||
		    strcmp(row->base, symbol) != 0 ||
		    (unsigned int)row->since > (unsigned int)version)
			continue;
		if (!best || row->since > best->since)
			best = row;
	}
	return best;
}

static int procaddr_has(const char *symbol, int per_thread)
{
	for (size_t i = 0; i < PROCADDR_ROWS; i++)
		if (procaddr_table[i].per_thread == per_thread &&
		    strcmp(procaddr_table[i].base, symbol) == 0)
			return 1;
	return 0;
}

/* The search itself: *pfn is set (NULL when nothing fits); the status
 * says why. */
static CUdriverProcAddressQueryResult
procaddr_search(const char *symbol, void **pfn, int version, cuuint64_t flags)
{
	const struct procaddr_row *row;
	int per_thread;

	*pfn = NULL;
	per_thread = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) &&
	             procaddr_has(symbol, 1);
	if (!procaddr_has(symbol, per_thread))
		return CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
	row = procaddr_pick(symbol, per_thread, version);
	if (!row)
		return CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT;
	*pfn = row->fn;
	return CU_GET_PROC_ADDRESS_SUCCESS;
}

static int procaddr_args_ok(const char *symbol, void **pfn, cuuint64_t flags)
{
	return symbol && pfn &&
	       !(flags &
	         ~(cuuint64_t)(CU_GET_PROC_ADDRESS_LEGACY_STREAM |
	                       CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM));
}

/* The legacy form reports a failed search as CUDA_ERROR_NOT_FOUND. */
CUresult CUDAAPI cuGetProcAddress(const char *symbol, void **pfn,
                                  int cudaVersion, cuuint64_t flags)
{
	if (!procaddr_args_ok(symbol, pfn, flags))
		return CUDA_ERROR_INVALID_VALUE;
	return procaddr_search(symbol, pfn, cudaVersion, flags) ==
	               CU_GET_PROC_ADDRESS_SUCCESS
	           ? CUDA_SUCCESS
	           : CUDA_ERROR_NOT_FOUND;
}

/* The _v2 form succeeds whenever its arguments are valid; whether the
 * symbol was found is only in *symbolStatus (and *pfn being NULL). */
CUresult CUDAAPI cuGetProcAddress_v2(
    const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags,
    CUdriverProcAddressQueryResult *symbolStatus)
{
	CUdriverProcAddressQueryResult status;

	if (!procaddr_args_ok(symbol, pfn, flags))
		return CUDA_ERROR_INVALID_VALUE;
	status = procaddr_search(symbol, pfn, cudaVersion, flags);
	if (symbolStatus)
		*symbolStatus = status;
	return CUDA_SUCCESS;
}
