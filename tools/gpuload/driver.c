/*
 * driver.c - loading libcuda.so.1 and resolving gpuload's entry points
 * through cuGetProcAddress (see driver.h).
 */
#include "driver.h"

#include <dlfcn.h>
#include <stdio.h>

/* Asks the driver for one entry point. The _v2 form reports a failed
 * search only through the status (and a NULL function). */
static CUresult driver_lookup(const struct gl_driver *d, const char *name,
                              void **fn, CUdriverProcAddressQueryResult *status)
{
	*status = CU_GET_PROC_ADDRESS_SUCCESS;
	if (d->get_proc_v2)
		return d->get_proc_v2(name, fn, GL_CUDA_VERSION,
		                      CU_GET_PROC_ADDRESS_DEFAULT, status);
	return d->get_proc(name, fn, GL_CUDA_VERSION,
	                   CU_GET_PROC_ADDRESS_DEFAULT);
}

static const char *driver_status_name(CUdriverProcAddressQueryResult status)
{
	switch (status) {
	case CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND:
		return "CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND";
	case CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT:
		return "CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT";
	default: return "no function returned";
	}
}

static int driver_open(struct gl_driver *d, char *err, size_t errlen)
{
	const char *why;

	d->handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!d->handle) {
		why = dlerror();
		snprintf(err, errlen, "dlopen(libcuda.so.1): %s",
		         why ? why : "failed");
		return -1;
	}
	*(void **)&d->get_proc_v2 = dlsym(d->handle, "cuGetProcAddress_v2");
	if (!d->get_proc_v2)
		*(void **)&d->get_proc = dlsym(d->handle, "cuGetProcAddress");
	if (!d->get_proc_v2 && !d->get_proc) {
		snprintf(err, errlen,
		         "dlsym(cuGetProcAddress): not in libcuda.so.1");
		return -1;
	}
	return 0;
}

/* Resolves one entry point into *slot; 0 or -1 with err. */
static int driver_resolve(struct gl_driver *d, const char *name, void **slot,
                          char *err, size_t errlen)
{
	CUdriverProcAddressQueryResult status;
	CUresult r;
	char buf[32];

	*slot = NULL;
	r = driver_lookup(d, name, slot, &status);
	if (r == CUDA_SUCCESS && *slot)
		return 0;
	*slot = NULL;
	snprintf(err, errlen, "cuGetProcAddress(%s): %s", name,
	         r == CUDA_SUCCESS
	             ? driver_status_name(status)
	             : gl_driver_error_name(d, r, buf, sizeof(buf)));
	return -1;
}

int gl_driver_load(struct gl_driver *d, char *err, size_t errlen)
{
	if (driver_open(d, err, errlen) < 0)
		return -1;
#define GL_RESOLVE(field, name, proto)                                         \
	if (driver_resolve(d, name, (void **)&d->field, err, errlen) < 0)      \
		return -1;
	GL_ENTRY_POINTS(GL_RESOLVE)
#undef GL_RESOLVE
	return 0;
}

const char *gl_driver_error_name(const struct gl_driver *d, CUresult r,
                                 char *buf, size_t len)
{
	const char *name = NULL;

	if (d->get_error_name && d->get_error_name(r, &name) == CUDA_SUCCESS &&
	    name)
		return name;
	snprintf(buf, len, "CUresult %d", (int)r);
	return buf;
}
