/*
 * plugin.c - the device plugin's state (plugin_core.h) and the answers
 * the transport asks for (plugin.h). One mutex guards the GPUs' health,
 * the list's generation and the pending allocations; nothing slow runs
 * under it (the scheduler's report is fetched before taking it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "health.h"
#include "log.h"
#include "nvml_watch.h"
#include "pending.h"
#include "plugin.h"
#include "plugin_core.h"
#include "proc_link.h"
#include "sched_load.h"
#include "sock.h"

struct dp_plugin {
	struct dp_config cfg;
	struct dp_alloc_cfg alloc;
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* the list changed, or a wake */
	uint64_t gen;        /* generation of the device list */
	uint64_t wakes;      /* dp_plugin_wake calls */
	struct dp_gpus gpus; /* health as advertised */
	struct dp_health health[DP_MAX_GPUS];
	struct dp_pending_table pending;
	struct dp_nvml *nvml;
	pthread_t watcher;
	int stop;
	int sched_down; /* the last report could not be had (logged once) */
};

void dp_config_defaults(struct dp_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->kubelet_dir, sizeof(c->kubelet_dir), "%s",
	         DP_DEFAULT_KUBELET_DIR);
	snprintf(c->endpoint, sizeof(c->endpoint), "%s", DP_DEFAULT_ENDPOINT);
	snprintf(c->resource_name, sizeof(c->resource_name), "%s",
	         DP_DEFAULT_RESOURCE);
	snprintf(c->scheduler_socket, sizeof(c->scheduler_socket), "%s",
	         NVS_DEFAULT_SOCKET);
	c->slots = DP_DEFAULT_SLOTS;
	snprintf(c->nvml_lib, sizeof(c->nvml_lib), "libnvidia-ml.so.1");
	snprintf(c->host_lib_dir, sizeof(c->host_lib_dir), "%s",
	         DP_DEFAULT_HOST_LIB_DIR);
	snprintf(c->container_lib_dir, sizeof(c->container_lib_dir), "%s",
	         DP_DEFAULT_CONTAINER_LIB_DIR);
	snprintf(c->container_socket_dir, sizeof(c->container_socket_dir), "%s",
	         DP_DEFAULT_CONTAINER_SOCKET_DIR);
	c->vmem_ratio_pct = DP_DEFAULT_VMEM_RATIO_PCT;
	c->pending_timeout_ns = (int64_t)DP_DEFAULT_PENDING_S * 1000000000;
}

static void wake_all(struct dp_plugin *p)
{
	p->gen++;
	pthread_cond_broadcast(&p->cv);
}

/* Applies the health facts to the advertised list (p->mu held). */
static void apply_health(struct dp_plugin *p, int64_t now)
{
	int changed = 0;

	for (int i = 0; i < p->gpus.n; i++) {
		struct dp_gpu *g = &p->gpus.gpu[i];
		int ok = dp_health_ok(&p->health[i], now, p->cfg.xid_hold_ns);

		if (ok == g->healthy)
			continue;
		g->healthy = ok;
		changed = 1;
		if (ok)
			NVS_INFO("event=gpu_healthy gpu=%s", g->uuid);
		else if (p->health[i].lost)
			NVS_WARN("event=gpu_unhealthy gpu=%s reason=lost",
			         g->uuid);
		else
			NVS_WARN(
			    "event=gpu_unhealthy gpu=%s reason=xid xid=%llu",
			    g->uuid, p->health[i].xid);
	}
	if (changed)
		wake_all(p);
}

/* The health watcher: XID events as they come, presence every round. */
static void *watch(void *arg)
{
	struct dp_plugin *p = arg;

	for (;;) {
		int gpu = -1, present[DP_MAX_GPUS];
		unsigned long long xid = 0;
		int got = dp_nvml_wait_xid(p->nvml, &p->gpus, 200, &gpu, &xid);

		for (int i = 0; i < p->gpus.n; i++)
			present[i] =
			    dp_nvml_present(p->nvml, p->gpus.gpu[i].uuid);
		pthread_mutex_lock(&p->mu);
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		if (got && !dp_health_xid(&p->health[gpu], xid, nvs_now_ns()))
			NVS_INFO("event=xid gpu=%s xid=%llu critical=no",
			         p->gpus.gpu[gpu].uuid, xid);
		for (int i = 0; i < p->gpus.n; i++)
			dp_health_presence(&p->health[i], present[i]);
		apply_health(p, nvs_now_ns());
		pthread_mutex_unlock(&p->mu);
	}
}

struct dp_plugin *dp_plugin_new(const struct dp_config *c, char *err,
                                size_t errlen)
{
	struct dp_plugin *p = calloc(1, sizeof(*p));
	const char *slash;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->cfg = *c;
	if (!p->cfg.host_socket_dir[0]) {
		/* the directory of the scheduler's socket */
		snprintf(p->cfg.host_socket_dir, sizeof(p->cfg.host_socket_dir),
		         "%s", c->scheduler_socket);
		slash = strrchr(p->cfg.host_socket_dir, '/');
		if (slash && slash != p->cfg.host_socket_dir)
			p->cfg.host_socket_dir[slash - p->cfg.host_socket_dir] =
			    '\0';
		else
			snprintf(p->cfg.host_socket_dir,
			         sizeof(p->cfg.host_socket_dir), "/");
	}
	if (!p->cfg.socket_name[0]) {
		slash = strrchr(c->scheduler_socket, '/');
		snprintf(p->cfg.socket_name, sizeof(p->cfg.socket_name), "%s",
		         slash ? slash + 1 : c->scheduler_socket);
	}
	p->alloc = (struct dp_alloc_cfg){
	    .host_lib_dir = p->cfg.host_lib_dir,
	    .container_lib_dir = p->cfg.container_lib_dir,
	    .host_socket_dir = p->cfg.host_socket_dir,
	    .container_socket_dir = p->cfg.container_socket_dir,
	    .socket_name = p->cfg.socket_name,
	    .cdi_kind = p->cfg.cdi_kind,
	};
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	p->gen = 1;
	p->nvml = dp_nvml_open(c->nvml_lib, err, errlen);
	if (!p->nvml || dp_nvml_discover(p->nvml, &p->gpus, err, errlen) < 0) {
		dp_nvml_close(p->nvml);
		free(p);
		return NULL;
	}
	for (int i = 0; i < p->gpus.n; i++)
		NVS_INFO("event=gpu index=%d gpu=%s memory_bytes=%llu numa=%d "
		         "slots=%u",
		         i, p->gpus.gpu[i].uuid,
		         (unsigned long long)p->gpus.gpu[i].memory_bytes,
		         p->gpus.gpu[i].numa, c->slots);
	if (pthread_create(&p->watcher, NULL, watch, p) != 0) {
		snprintf(err, errlen, "cannot start the health watcher");
		dp_nvml_close(p->nvml);
		free(p);
		return NULL;
	}
	return p;
}

void dp_plugin_free(struct dp_plugin *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->watcher, NULL);
	dp_nvml_close(p->nvml);
	dp_pending_free(&p->pending);
	free(p);
}

size_t dp_plugin_list(struct dp_plugin *p, struct dp_device **out,
                      uint64_t *gen)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	*out = calloc((size_t)p->gpus.n * p->cfg.slots + 1, sizeof(**out));
	n = *out ? dp_slots_list(&p->gpus, p->cfg.slots, *out) : 0;
	*gen = p->gen;
	pthread_mutex_unlock(&p->mu);
	return n;
}

int dp_plugin_wait(struct dp_plugin *p, uint64_t gen, int timeout_ms)
{
	struct timespec ts;
	uint64_t wakes;
	int changed;

	nvs_deadline_ms(&ts, timeout_ms);
	pthread_mutex_lock(&p->mu);
	wakes = p->wakes;
	while (p->gen == gen && p->wakes == wakes &&
	       pthread_cond_timedwait(&p->cv, &p->mu, &ts) != ETIMEDOUT)
		;
	changed = p->gen != gen;
	pthread_mutex_unlock(&p->mu);
	return changed;
}

void dp_plugin_wake(struct dp_plugin *p)
{
	pthread_mutex_lock(&p->mu);
	p->wakes++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static int gpu_of_uuid(const struct dp_gpus *g, const char *uuid)
{
	for (int i = 0; i < g->n; i++)
		if (strcasecmp(g->gpu[i].uuid, uuid) == 0)
			return i;
	return -1;
}

static uint64_t vcap_of(const struct dp_config *c, const struct dp_gpu *g)
{
	if (c->vmem_bytes)
		return c->vmem_bytes;
	return (uint64_t)((unsigned __int128)g->memory_bytes *
	                  c->vmem_ratio_pct / 100);
}

int dp_plugin_load(struct dp_plugin *p, const char *const *avail, size_t navail,
                   struct dp_gpu_load *load, int *sched_ok)
{
	struct dp_sched_view v = {0};
	char err[256], (*ids)[DP_ALLOC_ID_SIZE] = NULL;
	const char **live = NULL;
	unsigned pend[DP_MAX_GPUS] = {0};
	size_t ended = 0, expired = 0, released;
	int ok, n;

	ok = dp_sched_fetch(p->cfg.scheduler_socket, 2000, &v, err,
	                    sizeof(err)) == 0;
	if (ok && v.nclients) {
		ids = calloc(v.nclients, sizeof(*ids));
		live = calloc(v.nclients, sizeof(*live));
		if (!ids || !live)
			v.nclients = 0;
		/* the id the scheduler reports, else the process's
		 * environment */
		for (size_t i = 0; ids && live && i < v.nclients; i++) {
			if (v.clients[i].alloc_id[0])
				snprintf(ids[i], sizeof(ids[i]), "%s",
				         v.clients[i].alloc_id);
			else if (!dp_proc_alloc_id(v.clients[i].pid, ids[i],
			                           sizeof(ids[i])))
				continue;
			live[i] = ids[i];
		}
	}
	pthread_mutex_lock(&p->mu);
	if (!ok && !p->sched_down)
		NVS_WARN("event=scheduler_load_unknown reason=\"%s\" "
		         "msg=\"placing by pending allocations only\"",
		         err);
	else if (ok && p->sched_down)
		NVS_INFO("event=scheduler_load_known");
	p->sched_down = !ok;
	released = dp_pending_released(&p->pending, avail, navail);
	if (released)
		NVS_DEBUG("event=pending_released count=%zu", released);
	dp_pending_refresh(&p->pending, live, ok ? v.nclients : 0, nvs_now_ns(),
	                   p->cfg.pending_timeout_ns, &ended, &expired);
	if (expired)
		NVS_INFO("event=pending_expired count=%zu msg=\"allocations "
		         "whose containers never reached the scheduler\"",
		         expired);
	dp_pending_counts(&p->pending, pend);
	n = p->gpus.n;
	for (int g = 0; g < n; g++) {
		memset(&load[g], 0, sizeof(load[g]));
		load[g].healthy = p->gpus.gpu[g].healthy;
		load[g].pending = pend[g];
		load[g].vcap = vcap_of(&p->cfg, &p->gpus.gpu[g]);
	}
	for (size_t i = 0; ok && i < v.nclients; i++) {
		const struct dp_client_view *c = &v.clients[i];
		uint32_t on = 0;

		for (size_t k = 0; k < c->ngpus; k++) {
			int g = gpu_of_uuid(&p->gpus, c->gpu[k].uuid);
			uint64_t m = c->gpu[k].footprint;

			if (g < 0 || (on & (1u << g)))
				continue;
			on |= 1u << g;
			if (c->memory_limit > m)
				m = c->memory_limit;
			load[g].committed += m;
		}
		if (!on && live && live[i]) {
			/* connected, no GPU registered yet: where it was
			 * allocated */
			const struct dp_pending *e =
			    dp_pending_find(&p->pending, live[i]);

			on = e ? e->gpus : 0;
		}
		for (int g = 0; g < n; g++) {
			if (!(on & (1u << g)))
				continue;
			load[g].clients++;
			load[g].core_sum += c->core_limit;
		}
	}
	pthread_mutex_unlock(&p->mu);
	free(ids);
	free(live);
	dp_sched_view_free(&v);
	if (sched_ok)
		*sched_ok = ok;
	return n;
}

int dp_plugin_prefer(struct dp_plugin *p, const char *const *avail,
                     size_t navail, const char *const *must, size_t nmust,
                     size_t size, char (*out)[DP_ID_MAX], size_t *nout,
                     char *err, size_t errlen)
{
	struct dp_gpu_load load[DP_MAX_GPUS];
	size_t noffer = 0, *pick = NULL, n;
	const char **offer = calloc(navail + nmust + 1, sizeof(*offer));
	int *gpu = calloc(navail + nmust + 1, sizeof(*gpu));
	unsigned char *req = calloc(navail + nmust + 1, 1);
	int ngpus, sched_ok;

	*nout = 0;
	pick = calloc(size + 1, sizeof(*pick));
	if (!offer || !gpu || !req || !pick) {
		snprintf(err, errlen, "out of memory");
		free(offer), free(gpu), free(req), free(pick);
		return -1;
	}
	/* the offer: the required devices, then the other available ones */
	for (size_t i = 0; i < nmust; i++) {
		offer[noffer] = must[i];
		req[noffer++] = 1;
	}
	for (size_t i = 0; i < navail; i++) {
		int dup = 0;

		for (size_t k = 0; k < nmust; k++)
			dup |= strcmp(avail[i], must[k]) == 0;
		if (!dup)
			offer[noffer++] = avail[i];
	}
	ngpus =
	    dp_plugin_load(p, offer + nmust, noffer - nmust, load, &sched_ok);
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < noffer; i++) {
		unsigned slot;

		gpu[i] = dp_slot_parse(&p->gpus, p->cfg.slots, offer[i], &slot);
	}
	pthread_mutex_unlock(&p->mu);
	n = dp_place(load, ngpus, gpu, req, noffer, size, pick);
	for (size_t i = 0; i < n; i++)
		snprintf(out[i], DP_ID_MAX, "%s", offer[pick[i]]);
	*nout = n;
	if (nvs_log_enabled(NVS_LOG_INFO)) {
		char loads[DP_MAX_GPUS * 48] = "";
		size_t len = 0;

		for (int g = 0; g < ngpus && len < sizeof(loads); g++)
			len += (size_t)snprintf(
			    loads + len, sizeof(loads) - len, "%s%u+%u",
			    g ? "," : "", load[g].clients, load[g].pending);
		NVS_INFO("event=prefer size=%zu offered=%zu first=%s "
		         "load=\"%s\" scheduler=%s",
		         size, noffer, n ? out[0] : "-", loads,
		         sched_ok ? "up" : "down");
	}
	free(offer), free(gpu), free(req), free(pick);
	return 0;
}

/* A fresh allocation id: 128 random bits in hex. */
static void new_alloc_id(char out[DP_ALLOC_ID_SIZE])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t r = getrandom(b + got, sizeof(b) - got, 0);

		if (r > 0)
			got += (size_t)r;
		else if (errno != EINTR) {
			/* no entropy source: time and a counter still make
			 * ids unique on this node */
			static unsigned long long seq;
			unsigned long long t = (unsigned long long)nvs_now_ns();

			memcpy(b, &t, 8);
			t = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
			memcpy(b + 8, &t, 8);
			break;
		}
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

int dp_plugin_allocate(struct dp_plugin *p, const char *const *ids, size_t n,
                       struct dp_container_alloc *out, char *err, size_t errlen)
{
	const char *uuids[DP_MAX_GPUS];
	char id[DP_ALLOC_ID_SIZE];
	size_t nu = 0;
	uint32_t mask = 0;
	int rc;

	if (n == 0) {
		snprintf(err, errlen, "no device in the request");
		return -1;
	}
	new_alloc_id(id);
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < n; i++) {
		unsigned slot;
		int g = dp_slot_parse(&p->gpus, p->cfg.slots, ids[i], &slot);

		if (g < 0) {
			pthread_mutex_unlock(&p->mu);
			snprintf(err, errlen, "unknown device \"%.64s\"",
			         ids[i]);
			NVS_WARN("event=allocate_refused reason=unknown_device "
			         "device=\"%.64s\"",
			         ids[i]);
			return -1;
		}
		if (!(mask & (1u << g)))
			uuids[nu++] = p->gpus.gpu[g].uuid;
		mask |= 1u << g;
	}
	rc = dp_alloc_build(&p->alloc, uuids, nu, id, out, err, errlen);
	if (rc == 0 &&
	    dp_pending_add(&p->pending, id, mask, ids, n, nvs_now_ns()) < 0)
		NVS_WARN("event=pending_not_recorded id=%s reason=no_memory",
		         id);
	pthread_mutex_unlock(&p->mu);
	if (rc == 0)
		NVS_INFO("event=allocate id=%s devices=%zu gpus=%s%s", id, n,
		         uuids[0], nu > 1 ? ",..." : "");
	else
		NVS_WARN("event=allocate_refused reason=\"%s\"", err);
	return rc;
}
