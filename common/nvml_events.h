/*
 * nvml_events.h - the part of NVML that watches a GPU's health: event
 * sets for XID errors, lost GPUs, NUMA placement. Declared by the project
 * from NVIDIA's documented interface, beside nvml_api.h; used by the
 * device plugin (loaded at run time) and implemented by the simulated
 * NVML (tests/fakecuda/nvml_health.c).
 */
#ifndef NVSHARE_NVML_EVENTS_H
#define NVSHARE_NVML_EVENTS_H

#include "nvml_api.h"

/* Results beside those of nvml_api.h (values as NVML documents them). */
#define NVML_ERROR_TIMEOUT ((nvmlReturn_t)10)     /* nothing came in time */
#define NVML_ERROR_GPU_IS_LOST ((nvmlReturn_t)15) /* fell off the bus */

/* A set of devices' events, waited on together (opaque). */
typedef struct nvmlEventSet_st *nvmlEventSet_t;

/* Event types (a mask). */
#define nvmlEventTypeXidCriticalError 0x0000000000000008ULL

typedef struct nvmlEventData_st {
	nvmlDevice_t device;            /* the GPU it happened on */
	unsigned long long eventType;   /* one nvmlEventType* */
	unsigned long long eventData;   /* XID errors: the XID */
	unsigned int gpuInstanceId;     /* MIG only */
	unsigned int computeInstanceId; /* MIG only */
} nvmlEventData_t;

nvmlReturn_t DECLDIR nvmlEventSetCreate(nvmlEventSet_t *set);
nvmlReturn_t DECLDIR nvmlDeviceGetSupportedEventTypes(
    nvmlDevice_t device, unsigned long long *eventTypes);
nvmlReturn_t DECLDIR nvmlDeviceRegisterEvents(nvmlDevice_t device,
                                              unsigned long long eventTypes,
                                              nvmlEventSet_t set);
/* Waits up to timeoutms for the next event; NVML_ERROR_TIMEOUT if none. */
nvmlReturn_t DECLDIR nvmlEventSetWait_v2(nvmlEventSet_t set,
                                         nvmlEventData_t *data,
                                         unsigned int timeoutms);
nvmlReturn_t DECLDIR nvmlEventSetFree(nvmlEventSet_t set);
/* The NUMA node closest to the GPU. */
nvmlReturn_t DECLDIR nvmlDeviceGetNumaNodeId(nvmlDevice_t device,
                                             unsigned int *node);

#endif /* NVSHARE_NVML_EVENTS_H */
