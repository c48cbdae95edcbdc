/*
 * nvml_watch.c - NVML through dlopen (see nvml_watch.h). The functions
 * for events and NUMA nodes are optional: an NVML without them still
 * lists its GPUs (health then comes from presence alone).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "nvml_events.h"
#include "nvml_watch.h"

struct dp_nvml {
	void *lib;
	nvmlReturn_t (*init)(void);
	nvmlReturn_t (*shutdown)(void);
	nvmlReturn_t (*count)(unsigned int *);
	nvmlReturn_t (*by_index)(unsigned int, nvmlDevice_t *);
	nvmlReturn_t (*by_uuid)(const char *, nvmlDevice_t *);
	nvmlReturn_t (*uuid)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*meminfo)(nvmlDevice_t, nvmlMemory_t *);
	nvmlReturn_t (*set_create)(nvmlEventSet_t *);
	nvmlReturn_t (*supported)(nvmlDevice_t, unsigned long long *);
	nvmlReturn_t (*reg)(nvmlDevice_t, unsigned long long, nvmlEventSet_t);
	nvmlReturn_t (*wait)(nvmlEventSet_t, nvmlEventData_t *, unsigned int);
	nvmlReturn_t (*set_free)(nvmlEventSet_t);
	nvmlReturn_t (*numa)(nvmlDevice_t, unsigned int *);
	nvmlEventSet_t set; /* NULL: no events */
	nvmlDevice_t dev[DP_MAX_GPUS];
	int ndev;
};

#define SYM(n, field, name) (*(void **)&(n)->field = dlsym((n)->lib, name))

struct dp_nvml *dp_nvml_open(const char *lib, char *err, size_t errlen)
{
	struct dp_nvml *n = calloc(1, sizeof(*n));
	nvmlReturn_t r;

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!n->lib) {
		snprintf(err, errlen, "cannot load %s: %s", lib, dlerror());
		free(n);
		return NULL;
	}
	if (!SYM(n, init, "nvmlInit_v2") || !SYM(n, shutdown, "nvmlShutdown") ||
	    !SYM(n, count, "nvmlDeviceGetCount_v2") ||
	    !SYM(n, by_index, "nvmlDeviceGetHandleByIndex_v2") ||
	    !SYM(n, by_uuid, "nvmlDeviceGetHandleByUUID") ||
	    !SYM(n, uuid, "nvmlDeviceGetUUID") ||
	    !SYM(n, meminfo, "nvmlDeviceGetMemoryInfo")) {
		snprintf(err, errlen, "%s lacks the NVML device functions",
		         lib);
		dlclose(n->lib);
		free(n);
		return NULL;
	}
	SYM(n, set_create, "nvmlEventSetCreate");
	SYM(n, supported, "nvmlDeviceGetSupportedEventTypes");
	SYM(n, reg, "nvmlDeviceRegisterEvents");
	SYM(n, wait, "nvmlEventSetWait_v2");
	SYM(n, set_free, "nvmlEventSetFree");
	SYM(n, numa, "nvmlDeviceGetNumaNodeId");
	r = n->init();
	if (r != NVML_SUCCESS) {
		snprintf(err, errlen, "nvmlInit failed (%d)", (int)r);
		dlclose(n->lib);
		free(n);
		return NULL;
	}
	return n;
}

void dp_nvml_close(struct dp_nvml *n)
{
	if (!n)
		return;
	if (n->set && n->set_free)
		n->set_free(n->set);
	n->shutdown();
	dlclose(n->lib);
	free(n);
}

/* Registers the GPU for critical XIDs, if this NVML can. */
static void watch_xids(struct dp_nvml *n, nvmlDevice_t d, const char *uuid)
{
	unsigned long long types = 0;

	if (!n->set_create || !n->reg || !n->wait)
		return;
	if (!n->set && n->set_create(&n->set) != NVML_SUCCESS) {
		n->set = NULL;
		NVS_WARN("event=no_xid_events reason=\"nvmlEventSetCreate "
		         "failed\"");
		return;
	}
	if (n->supported && n->supported(d, &types) == NVML_SUCCESS &&
	    !(types & nvmlEventTypeXidCriticalError)) {
		NVS_WARN("event=no_xid_events gpu=%s", uuid);
		return;
	}
	if (n->reg(d, nvmlEventTypeXidCriticalError, n->set) != NVML_SUCCESS)
		NVS_WARN("event=no_xid_events gpu=%s reason=\"register "
		         "failed\"",
		         uuid);
}

int dp_nvml_discover(struct dp_nvml *n, struct dp_gpus *out, char *err,
                     size_t errlen)
{
	unsigned int count = 0;

	memset(out, 0, sizeof(*out));
	if (n->count(&count) != NVML_SUCCESS || count == 0) {
		snprintf(err, errlen, "NVML reports no GPU");
		return -1;
	}
	if (count > DP_MAX_GPUS) {
		NVS_WARN("event=too_many_gpus count=%u kept=%d", count,
		         DP_MAX_GPUS);
		count = DP_MAX_GPUS;
	}
	for (unsigned int i = 0; i < count; i++) {
		struct dp_gpu *g = &out->gpu[out->n];
		nvmlDevice_t d;
		nvmlMemory_t m;
		unsigned int node;

		if (n->by_index(i, &d) != NVML_SUCCESS ||
		    n->uuid(d, g->uuid, sizeof(g->uuid)) != NVML_SUCCESS ||
		    !nvs_uuid_valid(g->uuid)) {
			NVS_WARN("event=gpu_skipped index=%u reason=\"no "
			         "valid UUID\"",
			         i);
			memset(g, 0, sizeof(*g));
			continue;
		}
		g->memory_bytes =
		    n->meminfo(d, &m) == NVML_SUCCESS ? m.total : 0;
		g->numa = n->numa && n->numa(d, &node) == NVML_SUCCESS
		              ? (int)node
		              : -1;
		g->healthy = 1;
		n->dev[out->n] = d;
		watch_xids(n, d, g->uuid);
		out->n++;
	}
	n->ndev = out->n;
	if (out->n == 0) {
		snprintf(err, errlen, "NVML reports no usable GPU");
		return -1;
	}
	return 0;
}

int dp_nvml_wait_xid(struct dp_nvml *n, const struct dp_gpus *g, int timeout_ms,
                     int *gpu, unsigned long long *xid)
{
	nvmlEventData_t ev;

	struct timespec ts = {timeout_ms / 1000,
	                      (timeout_ms % 1000) * 1000000L};
	nvmlReturn_t r;

	if (!n->set) {
		nanosleep(&ts, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	r = n->wait(n->set, &ev, (unsigned int)timeout_ms);
	if (r != NVML_SUCCESS && r != NVML_ERROR_TIMEOUT)
		nanosleep(&ts, NULL); /* a failing wait must not spin */
	if (r != NVML_SUCCESS ||
	    !(ev.eventType & nvmlEventTypeXidCriticalError))
		return 0;
	for (int i = 0; i < n->ndev && i < g->n; i++) {
		if (n->dev[i] == ev.device) {
			*gpu = i;
			*xid = ev.eventData;
			return 1;
		}
	}
	return 0;
}

int dp_nvml_present(struct dp_nvml *n, const char *uuid)
{
	nvmlDevice_t d;
	nvmlMemory_t m;

	if (n->by_uuid(uuid, &d) != NVML_SUCCESS)
		return 0;
	return n->meminfo(d, &m) == NVML_SUCCESS;
}
