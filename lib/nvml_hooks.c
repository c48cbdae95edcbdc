/*
 * nvml_hooks.c - NVML's memory figures, made to agree with cuMemGetInfo.
 *
 * Programs (and tools such as nvidia-smi's Python cousins) ask NVML for a
 * GPU's memory. For a GPU this process uses, the answer becomes the card
 * the process is meant to see: total = its ceiling (memory limit, else the
 * capacity the scheduler assigns), used = its own allocations, free = the
 * rest, reserved = 0. Other GPUs, and every other NVML call, are answered
 * by NVML itself. libnvidia-ml is never loaded by us: the hooks reach it
 * only when the program has loaded it.
 */
#include "mem.h"
#include "nvml_api.h"
#include "quota.h"

#include <dlfcn.h>
#include <string.h>

/* The real NVML function `name`, from the libnvidia-ml the program loaded. */
static void *nvml_real(const char *name)
{
	void *h = dlopen("libnvidia-ml.so.1", RTLD_LAZY | RTLD_NOLOAD), *f;

	if (!h)
		return NULL;
	f = driver_real_dlsym(h, name);
	dlclose(h);
	return f;
}

/* Our view of dev's memory, if it is a GPU this process knows or a memory
 * limit applies. Returns 0 and fills the figures, or -1 to leave NVML's. */
static int view_of(nvmlDevice_t dev, unsigned long long *total,
                   unsigned long long *used)
{
	nvmlReturn_t (*get_uuid)(nvmlDevice_t, char *, unsigned int) =
	    (nvmlReturn_t(*)(nvmlDevice_t, char *, unsigned int))nvml_real(
	        "nvmlDeviceGetUUID");
	char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
	struct gate_dev *d;
	uint64_t ceiling;

	if (!get_uuid || get_uuid(dev, uuid, sizeof(uuid)) != NVML_SUCCESS)
		return -1;
	uuid[sizeof(uuid) - 1] = '\0';
	d = gate_find_uuid(uuid);
	if (!d) {
		/* Not used by this process yet: only a limit changes it. */
		if (!(ceiling = quota_memory_limit()))
			return -1;
		*total = ceiling;
		*used = 0;
		return 0;
	}
	if (!(ceiling = mem_ceiling(d)))
		return -1;
	*total = ceiling;
	*used = mem_used(d);
	return 0;
}

NVS_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t dev,
                                                nvmlMemory_t *mem)
{
	nvmlReturn_t (*real)(nvmlDevice_t, nvmlMemory_t *) = (nvmlReturn_t(*)(
	    nvmlDevice_t, nvmlMemory_t *))nvml_real("nvmlDeviceGetMemoryInfo");
	unsigned long long total, used;
	nvmlReturn_t r;

	if (!real)
		return NVML_ERROR_UNINITIALIZED;
	r = real(dev, mem);
	if (r != NVML_SUCCESS || view_of(dev, &total, &used))
		return r;
	mem->total = total;
	mem->used = used < total ? used : total;
	mem->free = total - mem->used;
	return r;
}

NVS_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t dev,
                                                   nvmlMemory_v2_t *mem)
{
	nvmlReturn_t (*real)(nvmlDevice_t, nvmlMemory_v2_t *) =
	    (nvmlReturn_t(*)(nvmlDevice_t, nvmlMemory_v2_t *))nvml_real(
	        "nvmlDeviceGetMemoryInfo_v2");
	unsigned long long total, used;
	nvmlReturn_t r;

	if (!real)
		return NVML_ERROR_FUNCTION_NOT_FOUND;
	r = real(dev, mem);
	if (r != NVML_SUCCESS || view_of(dev, &total, &used))
		return r;
	mem->total = total;
	mem->reserved = 0;
	mem->used = used < total ? used : total;
	mem->free = total - mem->used;
	return r;
}

int nvml_hook_lookup(void *handle, const char *name, void **hook)
{
	static const struct {
		const char *name;
		void *hook;
	} hooks[] = {
	    {"nvmlDeviceGetMemoryInfo", (void *)nvmlDeviceGetMemoryInfo},
	    {"nvmlDeviceGetMemoryInfo_v2", (void *)nvmlDeviceGetMemoryInfo_v2},
	};
	void *nvml;
	int ours;

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		if (strcmp(name, hooks[i].name) != 0)
			continue;
		/* An NVML without it answers NULL: so do we. */
		if (!nvml_real(name))
			return 0;
		if (handle == RTLD_DEFAULT || handle == RTLD_NEXT) {
			*hook = hooks[i].hook;
			return 1;
		}
		nvml = dlopen("libnvidia-ml.so.1", RTLD_LAZY | RTLD_NOLOAD);
		ours = nvml && nvml == handle;
		if (nvml)
			dlclose(nvml);
		if (ours)
			*hook = hooks[i].hook;
		return ours;
	}
	return 0;
}
