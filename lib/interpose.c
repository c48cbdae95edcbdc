/*
 * interpose.c - how applications reach the hooks.
 *
 * Three doors lead into the driver: symbols bound at link time (our
 * exported cu* functions win through LD_PRELOAD), dlsym() on libcuda, and
 * cuGetProcAddress(), which the CUDA runtime uses for nearly everything.
 * The last two consult one table built from hooks.def.
 *
 * cuGetProcAddress first asks the real driver, which applies the requested
 * CUDA version and the per-thread-default-stream flag and returns the
 * right ABI variant. We then hand back the hook of that very variant: found
 * by pointer identity with the exported symbol, or - should a driver return
 * a different address - by applying the same resolution rules to the
 * NVS_CU_SYMBOLS table of cuda_api.h. Symbols we do not hook pass through.
 */
#include "driver.h"
#include "log.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

struct hook_entry {
	const char *name; /* exported driver symbol */
	void *hook;       /* our function of that name */
	void **real;      /* where its real counterpart is kept */
};

#define NVS_ENTRY(name) {#name, (void *)name, (void **)&nvs_real_##name},
#define NVS_GATED(name, params, args, stream) NVS_ENTRY(name)
#define NVS_HOOK(name) NVS_ENTRY(name)
static const struct hook_entry hook_table[] = {
#include "hooks.def"
};
#undef NVS_ENTRY

#define HOOK_COUNT (sizeof(hook_table) / sizeof(hook_table[0]))

struct symbol_row {
	const char *export_name; /* as exported by libcuda */
	const char *base;        /* as asked for through cuGetProcAddress */
	int since;               /* CUDA version that introduced this ABI */
	int per_thread;          /* the _ptsz/_ptds variant */
};

#define NVS_ROW(exp, base, since, pt) {#exp, #base, since, pt},
static const struct symbol_row symbol_rows[] = {NVS_CU_SYMBOLS(NVS_ROW)};
#undef NVS_ROW

static const struct hook_entry *hook_by_name(const char *name)
{
	for (size_t i = 0; i < HOOK_COUNT; i++)
		if (strcmp(hook_table[i].name, name) == 0)
			return &hook_table[i];
	return NULL;
}

/* 1 if base is hooked in some ABI, but only in ABIs newer than version. */
static int older_than_known(const char *base, int version)
{
	int hooked = 0, covered = 0;

	for (size_t i = 0; i < sizeof(symbol_rows) / sizeof(symbol_rows[0]);
	     i++) {
		const struct symbol_row *r = &symbol_rows[i];
		if (strcmp(r->base, base) != 0 || !hook_by_name(r->export_name))
			continue;
		hooked = 1;
		covered |= r->since <= version;
	}
	return hooked && !covered;
}

/* The exported name cuGetProcAddress(base, version, flags) stands for. */
static const char *resolve_by_rules(const char *base, int version,
                                    cuuint64_t flags)
{
	int want_pt =
	    (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0;
	int has_pt = 0;
	const struct symbol_row *best = NULL;

	for (size_t i = 0; i < sizeof(symbol_rows) / sizeof(symbol_rows[0]);
	     i++)
		if (strcmp(symbol_rows[i].base, base) == 0 &&
		    symbol_rows[i].per_thread)
			has_pt = 1;
	for (size_t i = 0; i < sizeof(symbol_rows) / sizeof(symbol_rows[0]);
	     i++) {
		const struct symbol_row *r = &symbol_rows[i];
		if (strcmp(r->base, base) != 0 || r->since > version)
			continue;
		if (r->per_thread != (want_pt && has_pt))
			continue;
		if (!best || r->since > best->since)
			best = r;
	}
	return best ? best->export_name : NULL;
}

static void *interpose_resolve(const char *symbol, void *real, int version,
                               cuuint64_t flags)
{
	const struct hook_entry *e;
	const char *name;

	if (!symbol || !real)
		return real;
	for (size_t i = 0; i < HOOK_COUNT; i++)
		if (*hook_table[i].real == real)
			return hook_table[i].hook;
	name = resolve_by_rules(symbol, version, flags);
	e = name ? hook_by_name(name) : NULL;
	if (!name && older_than_known(symbol, version))
		/* An ABI the table does not know: such a call goes past every
		 * hook (cudaDeviceReset did, through version 7000). */
		NVS_WARN("event=getproc_unknown_abi symbol=%s version=%d "
		         "msg=\"not interposed\"",
		         symbol, version);
	if (!e || !*e->real)
		return real;
	NVS_DEBUG("event=getproc_by_name symbol=%s version=%d flags=%llu "
	          "hook=%s",
	          symbol, version, (unsigned long long)flags, name);
	return e->hook;
}

NVS_EXPORT CUresult cuGetProcAddress_v2(const char *symbol, void **pfn,
                                        int cudaVersion, cuuint64_t flags,
                                        CUdriverProcAddressQueryResult *status)
{
	CUresult r;

	driver_ensure();
	if (!nvs_real_cuGetProcAddress_v2)
		return CUDA_ERROR_NOT_FOUND;
	r = nvs_real_cuGetProcAddress_v2(symbol, pfn, cudaVersion, flags,
	                                 status);
	if (r == CUDA_SUCCESS && pfn)
		*pfn = interpose_resolve(symbol, *pfn, cudaVersion, flags);
	return r;
}

NVS_EXPORT CUresult cuGetProcAddress(const char *symbol, void **pfn,
                                     int cudaVersion, cuuint64_t flags)
{
	CUresult r;

	driver_ensure();
	if (!nvs_real_cuGetProcAddress)
		return CUDA_ERROR_NOT_FOUND;
	r = nvs_real_cuGetProcAddress(symbol, pfn, cudaVersion, flags);
	if (r == CUDA_SUCCESS && pfn)
		*pfn = interpose_resolve(symbol, *pfn, cudaVersion, flags);
	return r;
}

/*
 * RTLD_NEXT must search the objects loaded after the *caller*, but a call
 * forwarded from here would search after libnvshare instead (and could hand
 * a wrapper library its own symbol back). So walk the link map from the
 * caller's object on and take the first definition that lives in the very
 * object searched.
 */
static void *next_after(const char *name, void *caller)
{
	Dl_info info;
	struct link_map *self = NULL;

	if (!dladdr1(caller, &info, (void **)&self, RTLD_DL_LINKMAP) || !self)
		return driver_real_dlsym(RTLD_NEXT, name);
	for (struct link_map *l = self->l_next; l; l = l->l_next) {
		void *h = dlopen(l->l_name[0] ? l->l_name : NULL,
		                 RTLD_LAZY | RTLD_NOLOAD);
		void *sym;
		struct link_map *owner = NULL;

		if (!h)
			continue;
		sym = driver_real_dlsym(h, name);
		dlclose(h);
		if (sym &&
		    dladdr1(sym, &info, (void **)&owner, RTLD_DL_LINKMAP) &&
		    owner == l)
			return sym;
	}
	return NULL;
}

/* dlsym: for a hooked driver symbol that the real driver has, asked of the
 * driver (or the global scope), the hook; likewise for NVML's memory
 * queries asked of NVML (nvml_hooks.c); otherwise exactly what the real
 * dlsym would answer. */
NVS_EXPORT void *dlsym(void *handle, const char *name)
{
	/* Only look-ups that could reach the driver get a hook; asking
	 * another library for a cu* name keeps its own answer. */
	if (name[0] == 'c' && name[1] == 'u' &&
	    (handle == RTLD_DEFAULT || handle == RTLD_NEXT ||
	     handle == driver_handle())) {
		const struct hook_entry *e = hook_by_name(name);
		if (e && *e->real)
			return e->hook;
	}
	if (name[0] == 'n' && strncmp(name, "nvml", 4) == 0) {
		void *hook;
		if (nvml_hook_lookup(handle, name, &hook))
			return hook;
	}
	if (handle == RTLD_NEXT)
		return next_after(name, __builtin_return_address(0));
	return driver_real_dlsym(handle, name);
}
