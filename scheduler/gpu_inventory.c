/*
 * gpu_inventory.c - see gpu_inventory.h. NVML is reached through dlsym()
 * so that the scheduler runs (on --gpu-memory alone) where no driver is
 * installed. Each scan initialises NVML, lists the devices and shuts it
 * down again, so that a device NVML only sees after a new init is found.
 */
#include "gpu_inventory.h"

#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nvml_api.h"

void inventory_init(struct gpu_inventory *inv, const char *nvml_lib)
{
	memset(inv, 0, sizeof(*inv));
	inv->nvml_lib = nvml_lib ? nvml_lib : INVENTORY_NVML_LIB;
	inv->last_scan_ns = INT64_MIN;
}

void inventory_canonical(const char *uuid, char out[NVS_UUID_SIZE])
{
	size_t i = 0;

	for (; uuid[i] && i + 1 < NVS_UUID_SIZE; i++)
		out[i] =
		    i < 4 ? uuid[i] : (char)tolower((unsigned char)uuid[i]);
	out[i] = '\0';
}

const struct inventory_gpu *inventory_find(const struct gpu_inventory *inv,
                                           const char *uuid)
{
	for (size_t i = 0; i < inv->n; i++)
		if (strcasecmp(inv->gpus[i].uuid, uuid) == 0)
			return &inv->gpus[i];
	return NULL;
}

int inventory_set(struct gpu_inventory *inv, const char *uuid,
                  uint64_t driver_bytes, uint64_t override_bytes)
{
	struct inventory_gpu *g =
	    (struct inventory_gpu *)inventory_find(inv, uuid);

	if (!g) {
		if (inv->n == INVENTORY_MAX_GPUS)
			return -1;
		g = &inv->gpus[inv->n++];
		memset(g, 0, sizeof(*g));
		inventory_canonical(uuid, g->uuid);
	}
	if (driver_bytes)
		g->driver_bytes = driver_bytes;
	if (override_bytes)
		g->override_bytes = override_bytes;
	return 0;
}

uint64_t inventory_capacity(const struct inventory_gpu *g)
{
	return g->override_bytes ? g->override_bytes : g->driver_bytes;
}

int inventory_rescan_due(const struct gpu_inventory *inv, int64_t now)
{
	return inv->last_scan_ns == INT64_MIN ||
	       now - inv->last_scan_ns >= INVENTORY_RESCAN_NS;
}

/* The entry points a scan needs, from the loaded library. */
struct nvml_fns {
	__typeof__(nvmlInit_v2) *init;
	__typeof__(nvmlShutdown) *shutdown;
	__typeof__(nvmlErrorString) *error_string;
	__typeof__(nvmlDeviceGetCount_v2) *count;
	__typeof__(nvmlDeviceGetHandleByIndex_v2) *by_index;
	__typeof__(nvmlDeviceGetUUID) *uuid;
	__typeof__(nvmlDeviceGetMemoryInfo) *memory;
};

static int load(struct gpu_inventory *inv, struct nvml_fns *f, char *why,
                size_t whylen)
{
	if (!inv->dl)
		inv->dl = dlopen(inv->nvml_lib, RTLD_NOW | RTLD_LOCAL);
	if (!inv->dl) {
		snprintf(why, whylen, "cannot load %s", inv->nvml_lib);
		return -1;
	}
	/* POSIX: a function pointer travels through dlsym's void *. */
	*(void **)&f->init = dlsym(inv->dl, "nvmlInit_v2");
	*(void **)&f->shutdown = dlsym(inv->dl, "nvmlShutdown");
	*(void **)&f->error_string = dlsym(inv->dl, "nvmlErrorString");
	*(void **)&f->count = dlsym(inv->dl, "nvmlDeviceGetCount_v2");
	*(void **)&f->by_index =
	    dlsym(inv->dl, "nvmlDeviceGetHandleByIndex_v2");
	*(void **)&f->uuid = dlsym(inv->dl, "nvmlDeviceGetUUID");
	*(void **)&f->memory = dlsym(inv->dl, "nvmlDeviceGetMemoryInfo");
	if (!f->init || !f->shutdown || !f->error_string || !f->count ||
	    !f->by_index || !f->uuid || !f->memory) {
		snprintf(why, whylen, "%s lacks an NVML entry point",
		         inv->nvml_lib);
		return -1;
	}
	return 0;
}

/* Records the GPUs NVML lists (it is initialised); their count. */
static int list(struct gpu_inventory *inv, const struct nvml_fns *f)
{
	unsigned count = 0;
	int found = 0;

	if (f->count(&count) != NVML_SUCCESS)
		return 0;
	for (unsigned i = 0; i < count; i++) {
		char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE];
		nvmlDevice_t dev;
		nvmlMemory_t mem;

		if (f->by_index(i, &dev) != NVML_SUCCESS ||
		    f->uuid(dev, uuid, sizeof(uuid)) != NVML_SUCCESS ||
		    f->memory(dev, &mem) != NVML_SUCCESS || mem.total == 0)
			continue;
		/* MIG instances and other names the protocol cannot carry
		 * are not GPUs a client registers. */
		if (!nvs_uuid_valid(uuid))
			continue;
		if (inventory_set(inv, uuid, mem.total, 0) == 0)
			found++;
	}
	return found;
}

int inventory_scan(struct gpu_inventory *inv, int64_t now, char *why,
                   size_t whylen)
{
	struct nvml_fns f;
	nvmlReturn_t r;
	int found;

	inv->last_scan_ns = now;
	inv->scans++;
	inv->nvml_ok = 0;
	if (load(inv, &f, why, whylen) < 0)
		return -1;
	r = f.init();
	if (r != NVML_SUCCESS) {
		snprintf(why, whylen, "nvmlInit: %s", f.error_string(r));
		return -1;
	}
	found = list(inv, &f);
	f.shutdown();
	inv->nvml_ok = 1;
	return found;
}
