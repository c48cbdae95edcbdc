/*
 * settings.h - the rules and bounds of operator settings and limits that
 * more than one component applies (flags, nvsharectl, the scheduler's
 * checks, the library's environment): one definition of each.
 *
 * Macros and inline functions only, and no protocol types, so that the
 * pure policy library can include it while staying apart from proto.h.
 */
#ifndef NVSHARE_SETTINGS_H
#define NVSHARE_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#define NVS_STRINGIFY_(x) #x
#define NVS_STRINGIFY(x) NVS_STRINGIFY_(x)

/* Durations set in whole milliseconds (time slice, max run, the library's
 * waits): at least 1 ms, at most an hour. Plain literals, so that
 * NVS_SETTING_MS_RANGE spells them for help and error texts. */
#define NVS_SETTING_MS_MIN 1
#define NVS_SETTING_MS_MAX 3600000
#define NVS_SETTING_MS_RANGE                                                   \
	NVS_STRINGIFY(NVS_SETTING_MS_MIN) ".." NVS_STRINGIFY(NVS_SETTING_MS_MAX)

/* A time slice of 0 means "auto": derived from the measured swap cost. */
#define NVS_TIME_SLICE_AUTO 0

/* How each GPU is shared; the values travel in CTL_SET MODE. */
enum nvs_gpu_mode {
	NVS_MODE_AUTO = 0,       /* run together what fits, take turns else */
	NVS_MODE_SERIAL = 1,     /* one client at a time */
	NVS_MODE_CONCURRENT = 2, /* no gating at all */
};
#define NVS_MODE_COUNT 3

#define NVS_MODE_NAME_AUTO "auto"
#define NVS_MODE_NAME_SERIAL "serial"
#define NVS_MODE_NAME_CONCURRENT "concurrent"
/* The names as a list, for "want ..." texts. */
#define NVS_MODE_CHOICES                                                       \
	NVS_MODE_NAME_AUTO ", " NVS_MODE_NAME_SERIAL                           \
	                   " or " NVS_MODE_NAME_CONCURRENT

/* A mode's name (as flags and nvsharectl spell it), or NULL. */
static inline const char *nvs_mode_name(unsigned mode)
{
	switch (mode) {
	case NVS_MODE_AUTO: return NVS_MODE_NAME_AUTO;
	case NVS_MODE_SERIAL: return NVS_MODE_NAME_SERIAL;
	case NVS_MODE_CONCURRENT: return NVS_MODE_NAME_CONCURRENT;
	}
	return NULL;
}

/* Core limits are percent of a GPU's compute, 1..NVS_CORE_LIMIT_MAX as
 * people give them. A whole GPU limits nothing: in force (and on the
 * wire) 100% is kept as 0, "no limit", so a limit in force is 1..99. */
#define NVS_CORE_LIMIT_MAX 100
/* "1..100", for texts. */
#define NVS_CORE_LIMIT_RANGE "1.." NVS_STRINGIFY(NVS_CORE_LIMIT_MAX)

static inline uint32_t nvs_core_limit_in_force(uint64_t pct)
{
	return pct >= NVS_CORE_LIMIT_MAX ? 0 : (uint32_t)pct;
}

/* Memory limits are bytes per GPU, at least 1; at most INT64_MAX where
 * they are set live, because CTL_SET_CLIENT carries them in an int64_t. */
#define NVS_MEMORY_LIMIT_MIN 1
#define NVS_MEMORY_LIMIT_SET_MAX INT64_MAX

#endif /* NVSHARE_SETTINGS_H */
