/*
 * nvml_api.h - the subset of NVML (libnvidia-ml.so.1) that nvshare uses,
 * declared by the project itself: no nvml.h is needed to build.
 *
 * Types, values and prototypes follow NVIDIA's documented NVML interface
 * (written from the reference manual, not from its header): plain C
 * calling convention, every call returning an nvmlReturn_t, structs
 * filled through pointers. Prototypes use the names the library exports
 * (nvmlInit_v2, nvmlDeviceGetCount_v2, ...), which is what dlsym() gives
 * and what libnvshare interposes.
 *
 * The simulated NVML (tests/fakecuda/nvml.c) implements every function
 * declared here.
 */
#ifndef NVSHARE_NVML_API_H
#define NVSHARE_NVML_API_H

/* NVML's export decoration: empty on Linux. The simulated library defines
 * it first to export its definitions. */
#ifndef DECLDIR
#define DECLDIR
#endif

/* Results of every NVML call (values as NVML documents them). */
typedef enum nvmlReturn_enum {
	NVML_SUCCESS = 0,
	NVML_ERROR_UNINITIALIZED = 1,     /* nvmlInit not called (or undone) */
	NVML_ERROR_INVALID_ARGUMENT = 2,  /* a bad argument */
	NVML_ERROR_NOT_SUPPORTED = 3,     /* not available on this device */
	NVML_ERROR_NO_PERMISSION = 4,     /* the caller may not do this */
	NVML_ERROR_NOT_FOUND = 6,         /* no object matches the query */
	NVML_ERROR_INSUFFICIENT_SIZE = 7, /* an output buffer is too small */
	NVML_ERROR_DRIVER_NOT_LOADED = 9, /* no NVIDIA driver */
	NVML_ERROR_FUNCTION_NOT_FOUND = 13, /* this NVML lacks the function */
	NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25, /* struct version unknown */
	NVML_ERROR_UNKNOWN = 999,                  /* anything else */
} nvmlReturn_t;

/* A GPU, as NVML hands it out (opaque). */
typedef struct nvmlDevice_st *nvmlDevice_t;

/* Room for a UUID string ("GPU-" and 36 characters, NUL-terminated). */
#define NVML_DEVICE_UUID_BUFFER_SIZE 80
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96

/* A device's memory, version 1: total = free + used. */
typedef struct nvmlMemory_st {
	unsigned long long total; /* device memory, bytes */
	unsigned long long free;  /* not allocated, bytes */
	unsigned long long used;  /* allocated (and reserved), bytes */
} nvmlMemory_t;

/* A device's memory, version 2: the caller sets version first. */
typedef struct nvmlMemory_v2_st {
	unsigned int version;        /* nvmlMemory_v2 */
	unsigned long long total;    /* device memory, bytes */
	unsigned long long reserved; /* set aside by driver and firmware */
	unsigned long long free;     /* not allocated, bytes */
	unsigned long long used;     /* allocated, bytes (reserved included) */
} nvmlMemory_v2_t;

/* A versioned struct's version word: its size, the version in the top
 * byte. */
#define NVML_STRUCT_VERSION(data, ver)                                         \
	(unsigned int)(sizeof(nvml##data##_v##ver##_t) | ((ver) << 24U))
#define nvmlMemory_v2 NVML_STRUCT_VERSION(Memory, 2)

/* --- Initialisation (reference-counted: one shutdown per init) --------- */
nvmlReturn_t DECLDIR nvmlInit_v2(void);
nvmlReturn_t DECLDIR nvmlInit(void);
nvmlReturn_t DECLDIR nvmlShutdown(void);
DECLDIR const char *nvmlErrorString(nvmlReturn_t result);

/* --- Devices ------------------------------------------------------------- */
nvmlReturn_t DECLDIR nvmlDeviceGetCount_v2(unsigned int *deviceCount);
nvmlReturn_t DECLDIR nvmlDeviceGetHandleByIndex_v2(unsigned int index,
                                                   nvmlDevice_t *device);
nvmlReturn_t DECLDIR nvmlDeviceGetHandleByUUID(const char *uuid,
                                               nvmlDevice_t *device);
nvmlReturn_t DECLDIR nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid,
                                       unsigned int length);
nvmlReturn_t DECLDIR nvmlDeviceGetMemoryInfo(nvmlDevice_t device,
                                             nvmlMemory_t *memory);
nvmlReturn_t DECLDIR nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device,
                                                nvmlMemory_v2_t *memory);

#endif /* NVSHARE_NVML_API_H */
