/*
 * log.c - see log.h. Each line is formatted into a stack buffer and written
 * with a single write(2), so lines from concurrent threads and processes
 * sharing a terminal or file do not interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *log_component = "nvshare";
static int log_threshold = NVS_LOG_WARN;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

int nvs_log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void nvs_log_init(const char *component, enum nvs_log_level default_level)
{
	const char *env = getenv("NVSHARE_LOG");
	int level;

	log_component = component;
	log_threshold = default_level;
	if (!env || !*env)
		return;
	level = nvs_log_parse_level(env);
	if (level < 0) {
		nvs_log(NVS_LOG_WARN,
		        "invalid NVSHARE_LOG=\"%.32s\" (want "
		        "error|warn|info|debug), "
		        "keeping level=%s",
		        env, level_names[default_level]);
		return;
	}
	log_threshold = level;
}

int nvs_log_enabled(enum nvs_log_level level)
{
	return (int)level <= log_threshold;
}

void nvs_log(enum nvs_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (!nvs_log_enabled(level))
		return;
	n = snprintf(line, sizeof(line), "nvshare level=%s comp=%s pid=%d ",
	             level_names[level], log_component, (int)getpid());
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to report a failing stderr. */
	}
}
