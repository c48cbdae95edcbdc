/*
 * driver.c - finds the real libcuda.so.1 and binds nvs_real_* pointers.
 *
 * The real dlsym is taken with dlvsym() because libnvshare overrides dlsym
 * itself. A symbol missing from the driver leaves its pointer NULL; the
 * look-up hooks then never hand out the corresponding hook (interpose.c).
 */
#include "driver.h"

#include "log.h"

#include <dlfcn.h>
#include <pthread.h>

#define NVS_DEFINE_REAL(name) __typeof__(&name) nvs_real_##name;
#define NVS_GATED(name, params, args, stream) NVS_DEFINE_REAL(name)
#define NVS_HOOK(name) NVS_DEFINE_REAL(name)
#include "hooks.def"
NVS_DRIVER_HELPERS(NVS_DEFINE_REAL)

atomic_int nvs_driver_ready;

typedef void *(*dlsym_fn)(void *, const char *);
static dlsym_fn real_dlsym;
static void *cuda_handle;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void find_real_dlsym(void)
{
	/* glibc >= 2.34 versions dlsym as GLIBC_2.34; older ones GLIBC_2.2.5
	 * (x86-64) or GLIBC_2.17 (aarch64). */
	static const char *const versions[] = {"GLIBC_2.34", "GLIBC_2.2.5",
	                                       "GLIBC_2.17"};

	for (unsigned i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		real_dlsym = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", versions[i]);
		if (real_dlsym)
			return;
	}
}

void *driver_real_dlsym(void *handle, const char *name)
{
	if (!real_dlsym)
		find_real_dlsym();
	return real_dlsym ? real_dlsym(handle, name) : NULL;
}

static void bind_all(void)
{
#define NVS_BIND(name)                                                         \
	nvs_real_##name =                                                      \
	    (__typeof__(&name))driver_real_dlsym(cuda_handle, #name);
#define NVS_GATED(name, params, args, stream) NVS_BIND(name)
#define NVS_HOOK(name) NVS_BIND(name)
#include "hooks.def"
	NVS_DRIVER_HELPERS(NVS_BIND)
#undef NVS_BIND
}

static void init_driver(void)
{
	find_real_dlsym();
	cuda_handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
	if (!cuda_handle)
		NVS_WARN("event=no_driver msg=\"libcuda.so.1 not found: %s\"",
		         dlerror());
	else
		bind_all();
	atomic_store_explicit(&nvs_driver_ready, 1, memory_order_release);
}

int driver_init(void)
{
	pthread_once(&init_once, init_driver);
	return cuda_handle ? 0 : -1;
}

void *driver_handle(void)
{
	driver_init();
	return cuda_handle;
}

const char *driver_error_name(CUresult r)
{
	const char *name = NULL;

	if (nvs_real_cuGetErrorName && nvs_real_cuGetErrorName(r, &name) == 0 &&
	    name)
		return name;
	return "CUDA_ERROR_UNKNOWN";
}
