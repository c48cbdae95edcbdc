/*
 * quota.c - see quota.h. A bad environment value is reported and ignored
 * (config.c): the process then runs without that limit (the scheduler can
 * still set one), because refusing to start would take the application
 * down.
 */
#include "quota.h"

#include "config.h"
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static atomic_ullong memory_limit; /* bytes, 0: none */
static atomic_uint core_limit;     /* percent 1..99, 0: none */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

/* The limits the process starts with: its environment's (config.h). */
static void read_env(void)
{
	const struct lib_config *c = config_get();

	atomic_store(&memory_limit, c->memory_limit);
	atomic_store(&core_limit, (unsigned)c->core_limit);
}

uint64_t quota_memory_limit(void)
{
	pthread_once(&env_once, read_env);
	return atomic_load_explicit(&memory_limit, memory_order_relaxed);
}

unsigned quota_core_limit(void)
{
	pthread_once(&env_once, read_env);
	return atomic_load_explicit(&core_limit, memory_order_relaxed);
}

void quota_current(struct nvs_limits *out)
{
	pthread_once(&env_once, read_env);
	out->memory_bytes = atomic_load(&memory_limit);
	out->core_pct = atomic_load(&core_limit);
	out->reserved = 0;
}

void quota_apply(const struct nvs_limits *l)
{
	struct nvs_limits old;

	quota_current(&old);
	atomic_store(&memory_limit, l->memory_bytes);
	atomic_store(&core_limit, l->core_pct);
	if (old.memory_bytes != l->memory_bytes || old.core_pct != l->core_pct)
		NVS_INFO(
		    "event=limits_changed memory_limit=%llu "
		    "old_memory_limit=%llu core_limit=%u old_core_limit=%u",
		    (unsigned long long)l->memory_bytes,
		    (unsigned long long)old.memory_bytes, l->core_pct,
		    old.core_pct);
}

/* At load, like the configuration it starts from: the first flow
 * checkpoint of a launch must not be the one to run it. */
__attribute__((constructor)) static void quota_at_load(void)
{
	pthread_once(&env_once, read_env);
}
