/*
 * gated_hooks.c - the hooks for GPU work, generated from hooks.def.
 *
 * Each one passes the gate, forwards to the real driver and returns the
 * driver's own result, untouched. This is the hot path: see gate.h for
 * why it takes no mutex, makes no system call and allocates nothing.
 */
#include "driver.h"
#include "gate.h"

#define NVS_GATED(name, params, args, stream)                                  \
	NVS_EXPORT CUresult name params                                        \
	{                                                                      \
		struct gate_dev *g_;                                           \
		CUresult r_;                                                   \
		driver_ensure();                                               \
		if (nvs_unlikely(!nvs_real_##name))                            \
			return CUDA_ERROR_NOT_FOUND;                           \
		g_ = gate_enter(stream);                                       \
		r_ = nvs_real_##name args;                                     \
		gate_exit(g_, stream);                                         \
		return r_;                                                     \
	}
#include "hooks.def"
