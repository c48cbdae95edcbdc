/*
 * nvml.c - the simulated NVML: build/fakecuda/libnvidia-ml.so.1 (soname
 * libnvidia-ml.so.1), found like NVIDIA's through LD_LIBRARY_PATH.
 *
 * It reads the simulated driver's configuration (NVSHARE_FAKE_GPUS,
 * NVSHARE_FAKE_STATE) and its shared state, so its devices are the
 * simulated CUDA devices: same order, same UUIDs, same capacities, and
 * their memory as every process uses it. nvmlDeviceGetMemoryInfo reports
 * total = capacity, used = what cuMemGetInfo counts as taken (device
 * memory, VMM memory and arrays of all processes, plus resident managed
 * memory), free = total - used; the _v2 form reports reserved = 0. Dead
 * processes' memory is reaped first, as the driver does. Nothing here
 * needs the CUDA side initialised in the process (nor takes a process
 * slot). Without NVSHARE_FAKE_STATE the state is private to this library,
 * so no memory shows as used: processes that are to see each other name
 * a state file, as they must for the devices to be shared at all.
 *
 * Initialisation is reference-counted as NVML's: each nvmlInit needs an
 * nvmlShutdown; once the count is back at zero, calls return
 * NVML_ERROR_UNINITIALIZED. The state stays mapped until exit.
 *
 * Health (XID events, lost GPUs) and NUMA nodes, for the device plugin's
 * tests: see the last section.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DECLDIR __attribute__((visibility("default")))
#include "nvml_api.h"
#include "nvml_events.h"

#include "config.h"
#include "log.h"
#include "memory.h"
#include "sock.h"
#include "state.h"

/* A device handle: one per configured device, for the life of the
 * process. */
struct nvmlDevice_st {
	int index; /* device ordinal */
};

static struct {
	pthread_mutex_t lock; /* guards init and shutdown */
	int refs;             /* nvmlInit calls not shut down (atomic) */
	struct fc_config cfg; /* configuration, read at the first init */
	struct fc_state *st;  /* the shared state once mapped */
	struct nvmlDevice_st dev[FC_MAX_DEVICES]; /* handles */
} nv = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void health_init(void);
static int health_lost(int index);

/* Reads the configuration and maps the state (nv.lock held). */
static nvmlReturn_t nvml_open(void)
{
	char err[256];

	nvs_log_init("fakenvml", NVS_LOG_WARN);
	if (fc_config_load(&nv.cfg) < 0)
		return NVML_ERROR_DRIVER_NOT_LOADED; /* no device configured */
	if (fc_state_open(nv.cfg.state_path, &nv.cfg, &nv.st, err,
	                  sizeof(err)) < 0) {
		NVS_ERROR("msg=\"fakenvml: %s\"", err);
		nv.st = NULL;
		return NVML_ERROR_UNKNOWN;
	}
	for (int i = 0; i < FC_MAX_DEVICES; i++)
		nv.dev[i].index = i;
	health_init();
	return NVML_SUCCESS;
}

nvmlReturn_t DECLDIR nvmlInit_v2(void)
{
	nvmlReturn_t r = NVML_SUCCESS;

	pthread_mutex_lock(&nv.lock);
	if (!nv.st)
		r = nvml_open();
	if (r == NVML_SUCCESS)
		__atomic_add_fetch(&nv.refs, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&nv.lock);
	return r;
}

nvmlReturn_t DECLDIR nvmlInit(void)
{
	return nvmlInit_v2();
}

nvmlReturn_t DECLDIR nvmlShutdown(void)
{
	nvmlReturn_t r = NVML_SUCCESS;

	pthread_mutex_lock(&nv.lock);
	if (nv.refs == 0)
		r = NVML_ERROR_UNINITIALIZED;
	else
		__atomic_sub_fetch(&nv.refs, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&nv.lock);
	return r;
}

DECLDIR const char *nvmlErrorString(nvmlReturn_t result)
{
	/* the health section's results (nvml_events.h) */
	if (result == NVML_ERROR_TIMEOUT)
		return "Timeout";
	if (result == NVML_ERROR_GPU_IS_LOST)
		return "GPU is lost";
	switch (result) {
	case NVML_SUCCESS: return "Success";
	case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
	case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
	case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
	case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
	case NVML_ERROR_NOT_FOUND: return "Not Found";
	case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
	case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
	case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
	case NVML_ERROR_ARGUMENT_VERSION_MISMATCH:
		return "Argument version mismatch";
	default: return "Unknown Error";
	}
}

static int nvml_ready(void)
{
	return __atomic_load_n(&nv.refs, __ATOMIC_ACQUIRE) > 0;
}

/* NVML_SUCCESS if initialised and device is one of ours. */
static nvmlReturn_t nvml_check_device(nvmlDevice_t device)
{
	uintptr_t p = (uintptr_t)device, base = (uintptr_t)nv.dev;

	if (!nvml_ready())
		return NVML_ERROR_UNINITIALIZED;
	if (p < base || (p - base) % sizeof(nv.dev[0]) ||
	    (p - base) / sizeof(nv.dev[0]) >= (uintptr_t)nv.st->ndev)
		return NVML_ERROR_INVALID_ARGUMENT;
	return NVML_SUCCESS;
}

nvmlReturn_t DECLDIR nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
	if (!nvml_ready())
		return NVML_ERROR_UNINITIALIZED;
	if (!deviceCount)
		return NVML_ERROR_INVALID_ARGUMENT;
	*deviceCount = (unsigned int)nv.st->ndev;
	return NVML_SUCCESS;
}

nvmlReturn_t DECLDIR nvmlDeviceGetHandleByIndex_v2(unsigned int index,
                                                   nvmlDevice_t *device)
{
	if (!nvml_ready())
		return NVML_ERROR_UNINITIALIZED;
	if (!device || index >= (unsigned int)nv.st->ndev)
		return NVML_ERROR_INVALID_ARGUMENT;
	*device = &nv.dev[index];
	return NVML_SUCCESS;
}

nvmlReturn_t DECLDIR nvmlDeviceGetHandleByUUID(const char *uuid,
                                               nvmlDevice_t *device)
{
	if (!nvml_ready())
		return NVML_ERROR_UNINITIALIZED;
	if (!uuid || !device)
		return NVML_ERROR_INVALID_ARGUMENT;
	for (int i = 0; i < nv.st->ndev; i++) {
		if (strcasecmp(nv.st->dev[i].uuid, uuid) == 0) {
			if (health_lost(i))
				return NVML_ERROR_GPU_IS_LOST;
			*device = &nv.dev[i];
			return NVML_SUCCESS;
		}
	}
	return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t DECLDIR nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid,
                                       unsigned int length)
{
	nvmlReturn_t r = nvml_check_device(device);
	const char *id;

	if (r != NVML_SUCCESS)
		return r;
	if (!uuid)
		return NVML_ERROR_INVALID_ARGUMENT;
	id = nv.st->dev[device->index].uuid;
	if (length < strlen(id) + 1)
		return NVML_ERROR_INSUFFICIENT_SIZE;
	memcpy(uuid, id, strlen(id) + 1);
	return NVML_SUCCESS;
}

/* Capacity and bytes in use of a device, after reaping dead processes,
 * for the two memory queries: the device and the output are checked first
 * (version: the v2 struct's version field, NULL for the v1 struct). */
static nvmlReturn_t nvml_memory(nvmlDevice_t device, const void *out,
                                const unsigned *version,
                                unsigned long long *total,
                                unsigned long long *used)
{
	nvmlReturn_t r = nvml_check_device(device);

	if (r != NVML_SUCCESS)
		return r;
	if (!out)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (version && *version != nvmlMemory_v2)
		return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
	if (health_lost(device->index))
		return NVML_ERROR_GPU_IS_LOST;
	fc_state_lock(nv.st);
	fc_state_reap(nv.st, nvs_now_ns(), 0);
	*total = nv.st->dev[device->index].capacity;
	*used = *total - fc_mem_free_bytes(nv.st, device->index);
	fc_state_unlock(nv.st);
	return NVML_SUCCESS;
}

nvmlReturn_t DECLDIR nvmlDeviceGetMemoryInfo(nvmlDevice_t device,
                                             nvmlMemory_t *memory)
{
	unsigned long long total, used;
	nvmlReturn_t r = nvml_memory(device, memory, NULL, &total, &used);

	if (r != NVML_SUCCESS)
		return r;
	memory->total = total;
	memory->used = used;
	memory->free = total - used;
	return NVML_SUCCESS;
}

nvmlReturn_t DECLDIR nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device,
                                                nvmlMemory_v2_t *memory)
{
	unsigned long long total, used;
	nvmlReturn_t r = nvml_memory(
	    device, memory, memory ? &memory->version : NULL, &total, &used);

	if (r != NVML_SUCCESS)
		return r;
	memory->total = total;
	memory->reserved = 0;
	memory->used = used;
	memory->free = total - used;
	return NVML_SUCCESS;
}

/* --- Health: XID events, lost GPUs, NUMA nodes ---------------------------
 *
 * For the device plugin's tests. NVSHARE_FAKE_NVML_EVENTS names a file
 * that a test appends lines to:
 *   xid UUID N   a critical-error event with XID N on that GPU
 *   lost UUID    the GPU falls off the bus: lookups by UUID and memory
 *                queries answer NVML_ERROR_GPU_IS_LOST
 *   back UUID    it answers again (as after a reset)
 * Each process reads the file from its start when NVML is initialised
 * (lost and back apply, XIDs from before are dropped: NVML reports only
 * events after registration), then reads what was added whenever a
 * lookup, a memory query or an event wait runs. NVSHARE_FAKE_NUMA gives
 * the NUMA node of each device in ordinal order ("0,0,1,1"); without it
 * nvmlDeviceGetNumaNodeId is not supported.
 */

#define HEALTH_QUEUE 64

struct nvmlEventSet_st {
	uint32_t devices; /* registered ordinals, a mask */
};

static struct {
	pthread_mutex_t lock;
	char path[4096]; /* "" = no control file */
	long offset;     /* bytes of it applied */
	int lost[FC_MAX_DEVICES];
	uint32_t watched; /* ordinals some event set registered */
	struct {
		int dev;
		unsigned long long xid;
	} q[HEALTH_QUEUE]; /* events not yet waited for */
	int nq;
} hl = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int health_index(const char *uuid)
{
	for (int i = 0; i < nv.st->ndev; i++)
		if (strcasecmp(nv.st->dev[i].uuid, uuid) == 0)
			return i;
	return -1;
}

/* Applies one line of the control file (hl.lock held). */
static void health_line(const char *line)
{
	char verb[8], uuid[NVS_UUID_SIZE];
	unsigned long long xid = 0;
	int n = sscanf(line, "%7s %47s %llu", verb, uuid, &xid), i;

	if (n < 2 || (i = health_index(uuid)) < 0) {
		NVS_WARN("event=fake_nvml_bad_line line=\"%.80s\"", line);
		return;
	}
	if (strcmp(verb, "lost") == 0)
		hl.lost[i] = 1;
	else if (strcmp(verb, "back") == 0)
		hl.lost[i] = 0;
	else if (strcmp(verb, "xid") == 0 && n == 3) {
		if ((hl.watched & (1u << i)) && hl.nq < HEALTH_QUEUE) {
			hl.q[hl.nq].dev = i;
			hl.q[hl.nq++].xid = xid;
		}
	} else
		NVS_WARN("event=fake_nvml_bad_line line=\"%.80s\"", line);
}

/* Reads the complete lines added to the control file (hl.lock held). */
static void health_poll(void)
{
	char line[256];
	FILE *f;

	if (!hl.path[0])
		return;
	f = fopen(hl.path, "re");
	if (!f)
		return;
	if (fseek(f, hl.offset, SEEK_SET) == 0) {
		while (fgets(line, sizeof(line), f)) {
			if (!strchr(line, '\n'))
				break; /* being written: next time */
			hl.offset += (long)strlen(line);
			health_line(line);
		}
	}
	fclose(f);
}

static void health_init(void)
{
	const char *p = getenv("NVSHARE_FAKE_NVML_EVENTS");

	pthread_mutex_lock(&hl.lock);
	snprintf(hl.path, sizeof(hl.path), "%s", p ? p : "");
	hl.offset = 0;
	health_poll();
	pthread_mutex_unlock(&hl.lock);
}

static int health_lost(int index)
{
	int lost;

	pthread_mutex_lock(&hl.lock);
	health_poll();
	lost = hl.lost[index];
	pthread_mutex_unlock(&hl.lock);
	return lost;
}

nvmlReturn_t DECLDIR nvmlEventSetCreate(nvmlEventSet_t *set)
{
	if (!nvml_ready())
		return NVML_ERROR_UNINITIALIZED;
	if (!set)
		return NVML_ERROR_INVALID_ARGUMENT;
	*set = calloc(1, sizeof(**set));
	return *set ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
}

nvmlReturn_t DECLDIR nvmlEventSetFree(nvmlEventSet_t set)
{
	free(set);
	return NVML_SUCCESS;
}

nvmlReturn_t DECLDIR nvmlDeviceGetSupportedEventTypes(
    nvmlDevice_t device, unsigned long long *eventTypes)
{
	nvmlReturn_t r = nvml_check_device(device);

	if (r != NVML_SUCCESS)
		return r;
	if (!eventTypes)
		return NVML_ERROR_INVALID_ARGUMENT;
	*eventTypes = nvmlEventTypeXidCriticalError;
	return NVML_SUCCESS;
}

nvmlReturn_t DECLDIR nvmlDeviceRegisterEvents(nvmlDevice_t device,
                                              unsigned long long eventTypes,
                                              nvmlEventSet_t set)
{
	nvmlReturn_t r = nvml_check_device(device);

	if (r != NVML_SUCCESS)
		return r;
	if (!set || (eventTypes & ~nvmlEventTypeXidCriticalError))
		return eventTypes & ~nvmlEventTypeXidCriticalError
		           ? NVML_ERROR_NOT_SUPPORTED
		           : NVML_ERROR_INVALID_ARGUMENT;
	pthread_mutex_lock(&hl.lock);
	set->devices |= 1u << device->index;
	hl.watched |= 1u << device->index;
	pthread_mutex_unlock(&hl.lock);
	return NVML_SUCCESS;
}

nvmlReturn_t DECLDIR nvmlEventSetWait_v2(nvmlEventSet_t set,
                                         nvmlEventData_t *data,
                                         unsigned int timeoutms)
{
	long long deadline = nvs_now_ns() + (long long)timeoutms * 1000000;
	struct timespec tick = {0, 10 * 1000000L};

	if (!nvml_ready())
		return NVML_ERROR_UNINITIALIZED;
	if (!set || !data)
		return NVML_ERROR_INVALID_ARGUMENT;
	for (;;) {
		pthread_mutex_lock(&hl.lock);
		health_poll();
		for (int k = 0; k < hl.nq; k++) {
			if (!(set->devices & (1u << hl.q[k].dev)))
				continue;
			memset(data, 0, sizeof(*data));
			data->device = &nv.dev[hl.q[k].dev];
			data->eventType = nvmlEventTypeXidCriticalError;
			data->eventData = hl.q[k].xid;
			memmove(&hl.q[k], &hl.q[k + 1],
			        (size_t)(hl.nq - k - 1) * sizeof(hl.q[0]));
			hl.nq--;
			pthread_mutex_unlock(&hl.lock);
			return NVML_SUCCESS;
		}
		pthread_mutex_unlock(&hl.lock);
		if (nvs_now_ns() >= deadline)
			return NVML_ERROR_TIMEOUT;
		nanosleep(&tick, NULL);
	}
}

nvmlReturn_t DECLDIR nvmlDeviceGetNumaNodeId(nvmlDevice_t device,
                                             unsigned int *node)
{
	nvmlReturn_t r = nvml_check_device(device);
	const char *s = getenv("NVSHARE_FAKE_NUMA");

	if (r != NVML_SUCCESS)
		return r;
	if (!node)
		return NVML_ERROR_INVALID_ARGUMENT;
	for (int i = 0; s && *s; i++) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);

		if (end == s)
			break;
		if (i == device->index) {
			*node = (unsigned int)v;
			return NVML_SUCCESS;
		}
		s = *end == ',' ? end + 1 : end;
	}
	return NVML_ERROR_NOT_SUPPORTED;
}
