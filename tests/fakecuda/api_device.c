/*
 * api_device.c - entry points about the driver itself, its devices and
 * modules: version, error names, device queries, module loading.
 *
 * Devices are what NVSHARE_FAKE_GPUS configures, in that order. Modules
 * hold no code: a kernel's cost comes from its name and parameters (see
 * api_launch.c). When the image is PTX text, cuModuleGetFunction insists
 * that it declares the entry asked for, as the real driver would.
 */
#include <stdlib.h>
#include <string.h>

#include "fakecuda.h"

#define FC_DRIVER_VERSION 13000
#define FC_PTX_MAX (16u << 20)      /* largest PTX text kept for name checks */
#define FC_DEVICE_ATTRIBUTE_MAX 148 /* CU_DEVICE_ATTRIBUTE_MAX of CUDA 13.0 */

/* Error name, from common/cuda_api.h's list. */
struct fc_error {
	CUresult code;    /* the value */
	const char *name; /* "CUDA_ERROR_..." */
};

#define FC_ERROR_ROW(name, value) {name, #name},
static const struct fc_error fc_errors[] = {
    NVS_CU_RESULTS(FC_ERROR_ROW)
    /* Capture corner cases (see fakecuda.h). */
    {FC_ERROR_ILLEGAL_STATE, "CUDA_ERROR_ILLEGAL_STATE"},
    {FC_ERROR_STREAM_CAPTURE_IMPLICIT, "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT"},
    {FC_ERROR_CAPTURED_EVENT, "CUDA_ERROR_CAPTURED_EVENT"},
    {FC_ERROR_STREAM_CAPTURE_WRONG_THREAD,
     "CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD"},
};
#undef FC_ERROR_ROW

static const char *error_text(CUresult r)
{
	switch (r) {
	case CUDA_SUCCESS: return "no error";
	case CUDA_ERROR_INVALID_VALUE: return "invalid argument";
	case CUDA_ERROR_OUT_OF_MEMORY: return "out of memory";
	case CUDA_ERROR_NOT_INITIALIZED: return "initialization error";
	case CUDA_ERROR_DEINITIALIZED: return "driver shutting down";
	case CUDA_ERROR_NO_DEVICE: return "no CUDA-capable device is detected";
	case CUDA_ERROR_INVALID_DEVICE: return "invalid device ordinal";
	case CUDA_ERROR_INVALID_IMAGE: return "device kernel image is invalid";
	case CUDA_ERROR_INVALID_CONTEXT: return "invalid device context";
	case CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY:
		return "the provided execution affinity is not supported";
	case CUDA_ERROR_INVALID_HANDLE: return "invalid resource handle";
	case CUDA_ERROR_NOT_FOUND: return "named symbol not found";
	case CUDA_ERROR_NOT_READY: return "device not ready";
	case CUDA_ERROR_ILLEGAL_ADDRESS:
		return "an illegal memory access was encountered";
	case CUDA_ERROR_LAUNCH_FAILED: return "unspecified launch failure";
	case CUDA_ERROR_NOT_PERMITTED: return "operation not permitted";
	case CUDA_ERROR_NOT_SUPPORTED: return "operation not supported";
	case CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED:
		return "operation not permitted when stream is capturing";
	case CUDA_ERROR_STREAM_CAPTURE_INVALIDATED:
		return "operation failed due to a previous error during "
		       "capture";
	default: break;
	}
	if (r == FC_ERROR_ILLEGAL_STATE)
		return "operation not allowed in the current state";
	if (r == FC_ERROR_STREAM_CAPTURE_IMPLICIT)
		return "operation would make the legacy stream depend on a "
		       "capturing blocking stream";
	if (r == FC_ERROR_CAPTURED_EVENT)
		return "operation not permitted on an event last recorded in "
		       "a capturing stream";
	if (r == FC_ERROR_STREAM_CAPTURE_WRONG_THREAD)
		return "capture sequence ended from a thread that did not "
		       "begin it";
	return "unknown error";
}

static const struct fc_error *error_find(CUresult r)
{
	for (size_t i = 0; i < sizeof(fc_errors) / sizeof(fc_errors[0]); i++)
		if (fc_errors[i].code == r)
			return &fc_errors[i];
	return NULL;
}

const char *fc_error_name(CUresult r)
{
	const struct fc_error *e = error_find(r);

	return e ? e->name : NULL;
}

CUresult CUDAAPI cuGetErrorName(CUresult error, const char **str)
{
	const struct fc_error *e = error_find(error);

	if (!str)
		return CUDA_ERROR_INVALID_VALUE;
	*str = e ? e->name : NULL;
	return e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuGetErrorString(CUresult error, const char **str)
{
	const struct fc_error *e = error_find(error);

	if (!str)
		return CUDA_ERROR_INVALID_VALUE;
	*str = e ? error_text(error) : NULL;
	return e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuDriverGetVersion(int *version)
{
	if (!version)
		return CUDA_ERROR_INVALID_VALUE;
	*version = FC_DRIVER_VERSION;
	return CUDA_SUCCESS;
}

/* --- devices -------------------------------------------------------------- */

CUresult CUDAAPI cuDeviceGetCount(int *count)
{
	if (!count)
		return CUDA_ERROR_INVALID_VALUE;
	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	*count = fc_rt.cfg.ndev;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGet(CUdevice *device, int ordinal)
{
	CUresult r;

	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	r = fc_check_device(ordinal);
	if (r == CUDA_SUCCESS)
		*device = ordinal;
	return r;
}

CUresult CUDAAPI cuDeviceGetName(char *name, int len, CUdevice dev)
{
	static const char model[] = "nvshare simulated GPU";
	CUresult r = fc_check_device(dev);

	if (r != CUDA_SUCCESS)
		return r;
	if (!name || len <= 0)
		return CUDA_ERROR_INVALID_VALUE;
	strncpy(name, model, (size_t)len - 1);
	name[len - 1] = '\0';
	return CUDA_SUCCESS;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

CUresult CUDAAPI cuDeviceGetUuid(CUuuid *uuid, CUdevice dev)
{
	CUresult r = fc_check_device(dev);
	const char *p;
	int i = 0;

	if (r != CUDA_SUCCESS)
		return r;
	if (!uuid)
		return CUDA_ERROR_INVALID_VALUE;
	/* The UUID was validated at cuInit: "GPU-" then hex and dashes. */
	for (p = fc_rt.cfg.dev[dev].uuid + 4; *p && i < 16; p++) {
		if (*p == '-')
			continue;
		uuid->bytes[i++] =
		    (char)(hex_value(p[0]) << 4 | hex_value(p[1]));
		p++;
	}
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev)
{
	return cuDeviceGetUuid(uuid, dev);
}

CUresult CUDAAPI cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
	CUresult r = fc_check_device(dev);

	if (r != CUDA_SUCCESS)
		return r;
	if (!bytes)
		return CUDA_ERROR_INVALID_VALUE;
	*bytes = fc_rt.cfg.dev[dev].capacity;
	return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib,
                                      CUdevice dev)
{
	CUresult r = fc_check_device(dev);

	if (r != CUDA_SUCCESS)
		return r;
	if (!pi || attrib <= 0 || attrib >= FC_DEVICE_ATTRIBUTE_MAX)
		return CUDA_ERROR_INVALID_VALUE;
	switch (attrib) {
	case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *pi = 132; break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *pi = 9; break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *pi = 0; break;
	case CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY: *pi = 1; break;
	case CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS: *pi = 1; break;
	case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: *pi = dev + 1; break;
	default: *pi = 0; break;
	}
	return CUDA_SUCCESS;
}

/* --- modules -------------------------------------------------------------- */

/* A copy of image if it is PTX text (so names can be checked), else NULL. */
static char *module_ptx_copy(const void *image)
{
	const unsigned char *p = image;
	size_t len;

	if (p[0] == 0x7f || p[0] > 0x7e ||
	    (p[0] < 0x20 && p[0] != '\n' && p[0] != '\t' && p[0] != '\r'))
		return NULL; /* ELF, fatbin or other binary: any name goes */
	len = strnlen(image, FC_PTX_MAX);
	if (len == FC_PTX_MAX || !memmem(image, len, ".entry", 6))
		return NULL;
	return strndup(image, len);
}

CUresult CUDAAPI cuModuleLoadData(CUmodule *module, const void *image)
{
	struct fc_module *mod;
	CUresult r = fc_require_ctx(NULL);

	if (r != CUDA_SUCCESS)
		return r;
	if (!module || !image)
		return CUDA_ERROR_INVALID_VALUE;
	mod = calloc(1, sizeof(*mod));
	if (!mod)
		return CUDA_ERROR_OUT_OF_MEMORY;
	mod->magic = FC_MAGIC_MODULE;
	mod->ptx = module_ptx_copy(image);
	*module = (CUmodule)mod;
	return CUDA_SUCCESS;
}

static int module_valid(const struct fc_module *mod)
{
	return mod && mod->magic == FC_MAGIC_MODULE;
}

CUresult CUDAAPI cuModuleUnload(CUmodule hmod)
{
	struct fc_module *mod = (struct fc_module *)hmod;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!module_valid(mod))
		return CUDA_ERROR_INVALID_HANDLE;
	/* Functions keep pointing here and must see it unloaded: the struct
	 * stays, only its contents go. */
	mod->magic = 0;
	free(mod->ptx);
	mod->ptx = NULL;
	return CUDA_SUCCESS;
}

static int is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '$';
}

/* 1 if the PTX text declares ".entry name". */
static int module_has_entry(const char *ptx, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(ptx, ".entry"); p;
	     p = strstr(p + 1, ".entry")) {
		const char *q = p + 6;

		if (*q != ' ' && *q != '\t' && *q != '\n')
			continue;
		while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
			q++;
		if (strncmp(q, name, n) == 0 && !is_ident(q[n]))
			return 1;
	}
	return 0;
}

CUresult CUDAAPI cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod,
                                     const char *name)
{
	struct fc_module *mod = (struct fc_module *)hmod;
	struct fc_function *f;

	if (!fc_ready())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!hfunc || !name || !*name)
		return CUDA_ERROR_INVALID_VALUE;
	if (!module_valid(mod))
		return CUDA_ERROR_INVALID_HANDLE;
	if (strlen(name) >= sizeof(f->name) ||
	    (mod->ptx && !module_has_entry(mod->ptx, name)))
		return CUDA_ERROR_NOT_FOUND;
	f = calloc(1, sizeof(*f));
	if (!f)
		return CUDA_ERROR_OUT_OF_MEMORY;
	f->magic = FC_MAGIC_FUNC;
	f->mod = mod;
	f->spin = strcmp(name, "spin") == 0;
	f->work = strcmp(name, "work") == 0;
	memcpy(f->name, name, strlen(name) + 1);
	*hfunc = (CUfunction)f;
	return CUDA_SUCCESS;
}
