/*
 * faults.h - fault injection: making the Nth call of a driver entry point
 * fail, so that tests can drive the error paths of the programs above the
 * simulated driver (the library's swaps, its fallbacks, the application's
 * error handling) without a real GPU misbehaving on cue.
 *
 * NVSHARE_FAKE_FAIL=entry:N[+][:error][,entry:N[+][:error]...]
 *   entry  an entry point of FC_FAULT_ENTRIES, exactly as exported
 *          (cuMemcpyDtoHAsync_v2; the _ptsz variants are not covered)
 *   N      the call of that entry point, counted over the whole process
 *          from 1, that fails; N+ makes that call and every later one fail
 *   error  the CUresult it returns, by name (CUDA_ERROR_UNKNOWN) or number;
 *          CUDA_ERROR_OUT_OF_MEMORY if left out
 * A failing call does nothing else: no bytes move, nothing is allocated,
 * nothing waits. Every call is counted, failing or not, from every thread
 * (atomically, so exactly one call is the Nth). An invalid value is
 * reported on stderr and no fault is injected. Each injected fault is
 * logged once (event=fault_injected; for N+, at the Nth call only).
 *
 * The parser and the matcher are pure functions, unit-tested in
 * tests/unit/test_fakecuda_faults.c.
 */
#ifndef FAKECUDA_FAULTS_H
#define FAKECUDA_FAULTS_H

#include <stddef.h>
#include <stdint.h>

#include "cuda_api.h"

/* The entry points a fault can be injected into: each calls FC_FAULT
 * first thing. */
#define FC_FAULT_ENTRIES(X)                                                    \
	X(cuInit)                                                              \
	X(cuDevicePrimaryCtxRetain)                                            \
	X(cuCtxCreate_v2)                                                      \
	X(cuStreamCreate)                                                      \
	X(cuStreamSynchronize)                                                 \
	X(cuMemAlloc_v2)                                                       \
	X(cuMemAllocPitch_v2)                                                  \
	X(cuMemAllocAsync)                                                     \
	X(cuMemAllocFromPoolAsync)                                             \
	X(cuMemAllocManaged)                                                   \
	X(cuMemPrefetchAsync)                                                  \
	X(cuMemPrefetchAsync_v2)                                               \
	X(cuMemAdvise_v2)                                                      \
	X(cuMemHostAlloc)                                                      \
	X(cuMemHostRegister_v2)                                                \
	X(cuMemAddressReserve)                                                 \
	X(cuMemCreate)                                                         \
	X(cuMemMap)                                                            \
	X(cuMemSetAccess)                                                      \
	X(cuMemcpyHtoDAsync_v2)                                                \
	X(cuMemcpyDtoHAsync_v2)

#define FC_FAULT_ENUMERATOR(name) FC_FAULT_##name,
enum fc_fault_entry { FC_FAULT_ENTRIES(FC_FAULT_ENUMERATOR) FC_FAULT_NENTRIES };
#undef FC_FAULT_ENUMERATOR

#define FC_FAULT_MAX_RULES 16

/* One item of NVSHARE_FAKE_FAIL. */
struct fc_fault_rule {
	int entry;      /* enum fc_fault_entry */
	uint64_t call;  /* the call that fails, 1 = the first */
	int onward;     /* 1: that call and every later one */
	CUresult error; /* what the failing call returns */
};

/* Parses NVSHARE_FAKE_FAIL's syntax into out[0..*n) (at most max rules).
 * Rejects empty items, unknown entry points, N of 0 or not a number,
 * unknown errors or CUDA_SUCCESS, the same entry and N twice, and more
 * than max rules. Returns 0, or -1 with a reason in err and nothing
 * written. */
int fc_faults_parse(const char *s, struct fc_fault_rule *out, int max, int *n,
                    char *err, size_t errlen);

/* What call number call of entry returns under rules: the error of the
 * first rule that matches it, else CUDA_SUCCESS. */
CUresult fc_faults_match(const struct fc_fault_rule *rules, int n, int entry,
                         uint64_t call);

/* Installs the rules of s (NULL or "": none) and resets every count, in
 * place of NVSHARE_FAKE_FAIL (which is otherwise read at the first covered
 * call). Not while covered calls run. Returns 0, or -1 if s is invalid
 * (reported on stderr; no rule installed). */
int fc_faults_install(const char *s);

/* Counts a call of entry; returns the error to fail it with, or
 * CUDA_SUCCESS to let it run. */
CUresult fc_fault(enum fc_fault_entry entry);

/* Calls of entry counted so far. */
uint64_t fc_fault_calls(enum fc_fault_entry entry);

/* The entry point's exported name. */
const char *fc_fault_entry_name(int entry);

/* First statement of a covered entry point. */
#define FC_FAULT(name)                                                         \
	do {                                                                   \
		CUresult fc_fault_r_ = fc_fault(FC_FAULT_##name);              \
		if (fc_fault_r_ != CUDA_SUCCESS)                               \
			return fc_fault_r_;                                    \
	} while (0)

#endif /* FAKECUDA_FAULTS_H */
