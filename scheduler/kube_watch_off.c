/*
 * kube_watch_off.c - the scheduler built without its HTTP services
 * (cmake -DNVSHARE_HTTP=OFF: no libcurl, no jansson): --kube-api is
 * refused with the reason; turned on by a cluster's environment only, the
 * watcher never starts, says why once, and the scheduler runs without it.
 */
#include <stdio.h>
#include <string.h>

#include "kube_watch.h"
#include "log.h"

int kube_watch_available(char *why, size_t n)
{
	snprintf(why, n,
	         "this scheduler was built without HTTP services "
	         "(NVSHARE_HTTP=OFF)");
	return 0;
}

struct kube_watch *kube_watch_start(const struct kube_watch_config *cfg)
{
	(void)cfg;
	NVS_ERROR("event=kube_watch_failed reason=\"this scheduler was built "
	          "without HTTP services (NVSHARE_HTTP=OFF)\"");
	return NULL;
}

int kube_watch_fd(const struct kube_watch *w)
{
	(void)w;
	return -1;
}

size_t kube_watch_take(struct kube_watch *w, struct kube_change *out,
                       size_t max)
{
	(void)w;
	(void)out;
	(void)max;
	return 0;
}

void kube_watch_post_event(struct kube_watch *w, const struct kube_event *ev)
{
	(void)w;
	(void)ev;
}

void kube_watch_stats(const struct kube_watch *w, struct kube_watch_stats *out)
{
	(void)w;
	memset(out, 0, sizeof(*out));
}

void kube_watch_stop(struct kube_watch *w)
{
	(void)w;
}
