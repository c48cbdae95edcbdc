/*
 * test_fakecuda_nvml.c - the simulated NVML (FAKENVML_LIB) against the
 * simulated driver (FAKECUDA_LIB), both dlopen()ed by absolute path.
 *
 * This process never initialises CUDA: a child process takes memory of
 * every kind (cuMemAlloc and an array on device 0, a released but still
 * mapped VMM allocation on device 1) through a shared state file, and
 * NVML here must report it to the byte, as fakecuda-stat (FAKECUDA_STAT)
 * does; once the child is killed, the memory is reaped. Also: the
 * devices' identity, the reference-counted init, the _v2 version check
 * and the argument errors.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "cuda_api.h"
#include "nvml_api.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define UUID0 "GPU-00000000-0000-0000-0000-0000000000c0"
#define UUID1 "GPU-00000000-0000-0000-0000-0000000000c1"
#define ARRAY_BYTES (4096ull * 100) /* 1000 x 100 floats, rows of 4096 */

#define SYM(lib, fn) ((__typeof__(&fn))dlsym(lib, #fn))

static void *nvml;

/* NVML's figures for device index. */
static nvmlMemory_t memory_of(unsigned int index)
{
	nvmlMemory_t m = {0};
	nvmlDevice_t dev = NULL;

	CHECK_EQ(SYM(nvml, nvmlDeviceGetHandleByIndex_v2)(index, &dev),
	         NVML_SUCCESS);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetMemoryInfo)(dev, &m), NVML_SUCCESS);
	CHECK_EQ(m.free + m.used, m.total);
	return m;
}

/* The child: takes the memory, says so on fd, waits to be killed. */
static int child_allocate(void)
{
	void *cu = dlopen(FAKECUDA_LIB, RTLD_NOW | RTLD_LOCAL);
	CUmemAllocationProp prop;
	CUmemAccessDesc access;
	CUDA_ARRAY_DESCRIPTOR ad = {.Width = 1000,
	                            .Height = 100,
	                            .Format = CU_AD_FORMAT_FLOAT,
	                            .NumChannels = 1};
	CUmemGenericAllocationHandle h;
	CUcontext ctx;
	CUdeviceptr p, va;
	CUarray arr;

	if (!cu)
		return -1;
	memset(&prop, 0, sizeof(prop));
	prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
	prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	prop.location.id = 1;
	memset(&access, 0, sizeof(access));
	access.location = prop.location;
	access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
	if (SYM(cu, cuInit)(0) || SYM(cu, cuDevicePrimaryCtxRetain)(&ctx, 0) ||
	    SYM(cu, cuCtxSetCurrent)(ctx) ||
	    SYM(cu, cuMemAlloc_v2)(&p, 100 * MIB) ||
	    SYM(cu, cuArrayCreate_v2)(&arr, &ad) ||
	    SYM(cu, cuMemCreate)(&h, 64 * MIB, &prop, 0) ||
	    SYM(cu, cuMemAddressReserve)(&va, 64 * MIB, 0, 0, 0) ||
	    SYM(cu, cuMemMap)(va, 64 * MIB, 0, h, 0) ||
	    SYM(cu, cuMemSetAccess)(va, 64 * MIB, &access, 1) ||
	    SYM(cu, cuMemRelease)(h))
		return -1;
	return 0;
}

static pid_t start_child(void)
{
	int fds[2];
	char ok = 0;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		ok = child_allocate() == 0 ? 'y' : 'n';
		if (write(fds[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (pid > 0 && (read(fds[0], &ok, 1) != 1 || ok != 'y')) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(fds[0]);
	CHECK(pid > 0); /* the child took its memory */
	return pid;
}

static int stat_shows(const char *state, const char *needle)
{
	char cmd[512], buf[16384];
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s %s", FAKECUDA_STAT, state);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	pclose(f);
	if (!strstr(buf, needle))
		fprintf(stderr, "fakecuda-stat lacks %s: %s\n", needle, buf);
	return strstr(buf, needle) != NULL;
}

static void test_identity(void)
{
	nvmlDevice_t d0 = NULL, d1 = NULL, d = NULL;
	unsigned int count = 0;
	char uuid[NVML_DEVICE_UUID_BUFFER_SIZE];

	CHECK_EQ(SYM(nvml, nvmlDeviceGetCount_v2)(&count), NVML_SUCCESS);
	CHECK_EQ(count, 2);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetCount_v2)(NULL),
	         NVML_ERROR_INVALID_ARGUMENT);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetHandleByIndex_v2)(0, &d0),
	         NVML_SUCCESS);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetHandleByIndex_v2)(1, &d1),
	         NVML_SUCCESS);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetHandleByIndex_v2)(2, &d),
	         NVML_ERROR_INVALID_ARGUMENT);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetUUID)(d1, uuid, sizeof(uuid)),
	         NVML_SUCCESS);
	CHECK_STR(uuid, UUID1);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetUUID)(d1, uuid, strlen(UUID1)),
	         NVML_ERROR_INSUFFICIENT_SIZE);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetUUID)((nvmlDevice_t)uuid, uuid,
	                                      sizeof(uuid)),
	         NVML_ERROR_INVALID_ARGUMENT);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetHandleByUUID)(UUID0, &d), NVML_SUCCESS);
	CHECK(d == d0);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetHandleByUUID)(
	             "GPU-00000000-0000-0000-0000-0000000000ff", &d),
	         NVML_ERROR_NOT_FOUND);
}

static void test_memory_v2(void)
{
	nvmlMemory_v2_t m2;
	nvmlDevice_t d1 = NULL;

	CHECK_EQ(nvmlMemory_v2, 0x02000000u | sizeof(nvmlMemory_v2_t));
	CHECK_EQ(sizeof(nvmlMemory_v2_t), 40);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetHandleByIndex_v2)(1, &d1),
	         NVML_SUCCESS);
	memset(&m2, 0xff, sizeof(m2));
	m2.version = 1;
	CHECK_EQ(SYM(nvml, nvmlDeviceGetMemoryInfo_v2)(d1, &m2),
	         NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
	m2.version = nvmlMemory_v2;
	CHECK_EQ(SYM(nvml, nvmlDeviceGetMemoryInfo_v2)(d1, &m2), NVML_SUCCESS);
	CHECK_EQ(m2.total, 512 * MIB);
	CHECK_EQ(m2.reserved, 0);
	CHECK_EQ(m2.used, 0);
	CHECK_EQ(m2.free, 512 * MIB);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetMemoryInfo_v2)(d1, NULL),
	         NVML_ERROR_INVALID_ARGUMENT);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetMemoryInfo)(d1, NULL),
	         NVML_ERROR_INVALID_ARGUMENT);
}

/* Another process's memory of every kind, then its death. */
static void test_other_process(const char *state)
{
	nvmlMemory_t m;
	pid_t child;
	char needle[64];

	m = memory_of(0);
	CHECK_EQ(m.total, GIB);
	CHECK_EQ(m.used, 0);
	child = start_child();
	if (child <= 0)
		return;
	m = memory_of(0);
	CHECK_EQ(m.used, 100 * MIB + ARRAY_BYTES);
	CHECK_EQ(m.free, GIB - 100 * MIB - ARRAY_BYTES);
	m = memory_of(1);
	CHECK_EQ(m.total, 512 * MIB);
	CHECK_EQ(m.used, 64 * MIB); /* released, still mapped */
	snprintf(needle, sizeof(needle), "\"device_used\":%llu",
	         100 * MIB + ARRAY_BYTES);
	CHECK(stat_shows(state, needle));
	snprintf(needle, sizeof(needle), "\"device_used\":%llu", 64 * MIB);
	CHECK(stat_shows(state, needle));
	snprintf(needle, sizeof(needle), "\"vmm_bytes\":%llu", 64 * MIB);
	CHECK(stat_shows(state, needle));
	snprintf(needle, sizeof(needle), "\"array_bytes\":%llu", ARRAY_BYTES);
	CHECK(stat_shows(state, needle));

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	usleep(50000); /* past the reaping interval */
	CHECK_EQ(memory_of(0).used, 0);
	CHECK_EQ(memory_of(1).used, 0);
	CHECK_EQ(memory_of(1).free, 512 * MIB);
}

int main(void)
{
	char state[] = "/tmp/fakenvml-test-XXXXXX";
	unsigned int count;
	int fd = mkstemp(state);

	CHECK(fd >= 0);
	close(fd);
	unsetenv("NVSHARE_FAKE_TRACE");
	setenv("NVSHARE_FAKE_STATE", state, 1);
	setenv("NVSHARE_FAKE_GPUS", UUID0 ":1Gi," UUID1 ":512Mi", 1);
	nvml = dlopen(FAKENVML_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!nvml) {
		fprintf(stderr, "dlopen %s: %s\n", FAKENVML_LIB, dlerror());
		unlink(state);
		return 1;
	}
	CHECK_EQ(SYM(nvml, nvmlDeviceGetCount_v2)(&count),
	         NVML_ERROR_UNINITIALIZED);
	CHECK_EQ(SYM(nvml, nvmlShutdown)(), NVML_ERROR_UNINITIALIZED);
	CHECK_EQ(SYM(nvml, nvmlInit_v2)(), NVML_SUCCESS);
	CHECK_EQ(SYM(nvml, nvmlInit)(), NVML_SUCCESS);
	test_identity();
	test_memory_v2();
	test_other_process(state);
	/* One shutdown per init. */
	CHECK_EQ(SYM(nvml, nvmlShutdown)(), NVML_SUCCESS);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetCount_v2)(&count), NVML_SUCCESS);
	CHECK_EQ(SYM(nvml, nvmlShutdown)(), NVML_SUCCESS);
	CHECK_EQ(SYM(nvml, nvmlDeviceGetCount_v2)(&count),
	         NVML_ERROR_UNINITIALIZED);
	CHECK_EQ(SYM(nvml, nvmlShutdown)(), NVML_ERROR_UNINITIALIZED);
	CHECK_STR(SYM(nvml, nvmlErrorString)(NVML_ERROR_UNINITIALIZED),
	          "Uninitialized");
	unlink(state);
	return check_summary("fakecuda_nvml");
}
