/*
 * config.c - the library's environment variables (see config.h): one row
 * each, with its default, its bounds and what it falls back to.
 */
#include "config.h"

#include "log.h"
#include "parse.h"
#include "proto.h"
#include "settings.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum config_kind {
	CONFIG_U64,    /* an integer within [min, max] */
	CONFIG_SIZE,   /* a size (4Gi, 512Mi, bytes) within [min, max] */
	CONFIG_CHOICE, /* one of two words: the first 0, the second 1 */
};

struct config_var {
	const char *name;      /* the environment variable */
	enum config_kind kind; /* how its value is parsed */
	uint64_t min, max;     /* bounds (CONFIG_U64, CONFIG_SIZE) */
	const char *words[2];  /* CONFIG_CHOICE: the values 0 and 1 */
	size_t field;          /* offsetof(struct lib_config, ...) */
	const char *want;      /* what a good value is, for the warning */
	const char *fallback;  /* what happens with a bad one */
};

#define FIELD(f) offsetof(struct lib_config, f)

static const struct config_var vars[] = {
    {"NVSHARE_IDLE_RELEASE_MS",
     CONFIG_U64,
     1,
     3600000,
     {NULL, NULL},
     FIELD(idle_release_ms),
     "want 1..3600000 ms",
     "keeping 100"},
    {"NVSHARE_GRANT_WAIT_MS",
     CONFIG_U64,
     1,
     3600000,
     {NULL, NULL},
     FIELD(grant_wait_ms),
     "want 1..3600000 ms",
     "keeping 600000"},
    {"NVSHARE_LIVENESS_MS",
     CONFIG_U64,
     300,
     600000,
     {NULL, NULL},
     FIELD(liveness_ms),
     "want 300..600000 ms",
     "keeping 10000"},
    {"NVSHARE_QUEUE_WINDOW_MS",
     CONFIG_U64,
     0,
     60000,
     {NULL, NULL},
     FIELD(queue_window_ms),
     "want 0..60000 ms",
     "keeping 50"},
    {"NVSHARE_SINGLE_OVERSUB",
     CONFIG_CHOICE,
     0,
     0,
     {"0", "1"},
     FIELD(single_oversub),
     "want 0 or 1",
     "keeping 0"},
    {"NVSHARE_SWAP",
     CONFIG_CHOICE,
     0,
     0,
     {"remap", "unified"},
     FIELD(swap_unified),
     "want remap or unified",
     "keeping remap"},
    {"NVSHARE_GPU_MEMORY_LIMIT",
     CONFIG_SIZE,
     1,
     UINT64_MAX,
     {NULL, NULL},
     FIELD(memory_limit),
     "want a size above zero (4Gi, 512Mi, 1.5G, bytes)",
     "running without a memory limit"},
    {"NVSHARE_GPU_CORE_LIMIT",
     CONFIG_U64,
     1,
     NVS_CORE_LIMIT_MAX,
     {NULL, NULL},
     FIELD(core_limit),
     "want a percentage 1..100",
     "running without a core limit"},
};

static struct lib_config config = {
    .idle_release_ms = 100,
    .grant_wait_ms = 600000,
    .liveness_ms = 10000,
    .queue_window_ms = 50,
};
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

/* Parses v as var says; 0 with *out set, or -1. */
static int parse(const struct config_var *var, const char *v, uint64_t *out)
{
	switch (var->kind) {
	case CONFIG_U64: return nvs_parse_u64(v, var->min, var->max, out);
	case CONFIG_SIZE:
		return nvs_parse_size(v, out) == 0 && *out >= var->min &&
		               *out <= var->max
		           ? 0
		           : -1;
	case CONFIG_CHOICE:
		for (uint64_t i = 0; i < 2; i++)
			if (strcmp(v, var->words[i]) == 0) {
				*out = i;
				return 0;
			}
		return -1;
	}
	return -1;
}

/* v as it may be logged: at most 32 bytes, anything but printable ASCII
 * (a newline would forge a log line) shown as '?'. */
static void printable(const char *v, char out[33])
{
	size_t i;

	for (i = 0; i < 32 && v[i]; i++)
		out[i] =
		    v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"' ? v[i] : '?';
	out[i] = '\0';
}

static void read_all(void)
{
	nvs_log_init("lib", NVS_LOG_WARN);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const struct config_var *var = &vars[i];
		const char *v = getenv(var->name);
		char shown[33];
		uint64_t n;

		if (!v || !*v)
			continue;
		if (parse(var, v, &n) == 0)
			*(uint64_t *)((char *)&config + var->field) = n;
		else {
			printable(v, shown);
			NVS_WARN("event=bad_env var=%s value=\"%s\" "
			         "msg=\"%s; %s\"",
			         var->name, shown, var->want, var->fallback);
		}
	}
	config.core_limit = nvs_core_limit_in_force(config.core_limit);
}

const struct lib_config *config_get(void)
{
	pthread_once(&config_once, read_all);
	return &config;
}

/* Read at load, so that no later call (a launch's flow checkpoint, say)
 * pays for the first reading or its warnings. */
__attribute__((constructor)) static void config_at_load(void)
{
	config_get();
}
