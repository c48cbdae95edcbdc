/*
 * metrics_http_off.c - the scheduler built without its HTTP services
 * (cmake -DNVSHARE_HTTP=OFF, for machines without libmicrohttpd such as a
 * bare GPU host that runs the GPU suites): scheduling is the same, and
 * --metrics-address is refused with the reason.
 */
#include <stdio.h>

#include "metrics_http.h"

int metrics_http_check_address(const char *address, char *err, size_t n)
{
	snprintf(err, n,
	         "this scheduler was built without HTTP services "
	         "(NVSHARE_HTTP=OFF)");
	return -1;
}

int metrics_http_start(const char *address, const char *web_root)
{
	return -1; /* unreachable: the flag is refused first */
}

void metrics_http_stop(void)
{
}

int metrics_http_fd(void)
{
	return -1;
}

void metrics_http_snapshot(const struct sched_registry *r, int64_t now)
{
}

int64_t metrics_http_tick(const struct sched_registry *r, int64_t now)
{
	return INT64_MAX;
}

void metrics_http_wake(void)
{
}
