/*
 * log.h - one-line, key=value logging shared by every nvshare component.
 *
 * A line reads: "nvshare level=warn comp=lib pid=42 msg=..." so that logs of
 * the scheduler and of many preloaded applications can be grepped together.
 * The threshold comes from NVSHARE_LOG (error|warn|info|debug); each
 * component picks its own default (the preloaded library is quiet: warn).
 */
#ifndef NVSHARE_LOG_H
#define NVSHARE_LOG_H

enum nvs_log_level {
	NVS_LOG_ERROR = 0,
	NVS_LOG_WARN = 1,
	NVS_LOG_INFO = 2,
	NVS_LOG_DEBUG = 3,
};

/* Sets the component name and reads NVSHARE_LOG (an invalid value is
 * reported and the default kept). Safe to call more than once. */
void nvs_log_init(const char *component, enum nvs_log_level default_level);
int nvs_log_enabled(enum nvs_log_level level);
/* Parses "error|warn|info|debug"; returns -1 for anything else. */
int nvs_log_parse_level(const char *s);

void nvs_log(enum nvs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define NVS_ERROR(...) nvs_log(NVS_LOG_ERROR, __VA_ARGS__)
#define NVS_WARN(...) nvs_log(NVS_LOG_WARN, __VA_ARGS__)
#define NVS_INFO(...)                                                          \
	do {                                                                   \
		if (nvs_log_enabled(NVS_LOG_INFO))                             \
			nvs_log(NVS_LOG_INFO, __VA_ARGS__);                    \
	} while (0)
#define NVS_DEBUG(...)                                                         \
	do {                                                                   \
		if (nvs_log_enabled(NVS_LOG_DEBUG))                            \
			nvs_log(NVS_LOG_DEBUG, __VA_ARGS__);                   \
	} while (0)

#endif /* NVSHARE_LOG_H */
