/*
 * registry.c - see registry.h. Clients are kept in an array sorted by id:
 * ids only grow and removal keeps the order, so lookups are a binary search
 * even with thousands of clients.
 */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint64_t registry_host_bytes(const struct sched_registry *r)
{
	uint64_t sum = 0, b;

	for (size_t i = 0; i < r->ngpus; i++) {
		b = policy_host_bytes(&r->gpus[i]->policy);
		sum = sum + b < sum ? UINT64_MAX : sum + b;
	}
	return sum;
}

uint64_t registry_host_room(const struct sched_registry *r)
{
	uint64_t used;

	if (!r->host_swap_budget)
		return UINT64_MAX;
	used = registry_host_bytes(r);
	return used < r->host_swap_budget ? r->host_swap_budget - used : 0;
}

void registry_init(struct sched_registry *r, uint32_t time_slice_ms,
                   uint32_t release_grace_ms)
{
	memset(r, 0, sizeof(*r));
	r->next_client_id = 1;
	r->managed = 1;
	r->mode = POLICY_MODE_AUTO;
	r->time_slice_ms = time_slice_ms;
	r->max_run_ms = REGISTRY_DEFAULT_MAX_RUN_MS;
	r->release_grace_ms = release_grace_ms;
}

void registry_policy_settings(const struct sched_registry *r,
                              struct policy_settings *s)
{
	s->mode = r->mode;
	s->slice_ns = r->time_slice_ms == REGISTRY_SLICE_AUTO
	                  ? POLICY_SLICE_AUTO
	                  : (int64_t)r->time_slice_ms * 1000000;
	s->max_run_ns = (int64_t)r->max_run_ms * 1000000;
	s->grace_ns = (int64_t)r->release_grace_ms * 1000000;
}

static void gpu_free(struct sched_gpu *g)
{
	policy_gpu_destroy(&g->policy);
	free(g);
}

void registry_destroy(struct sched_registry *r)
{
	for (size_t i = 0; i < r->nclients; i++)
		free(r->clients[i]);
	free(r->clients);
	for (size_t i = 0; i < r->ngpus; i++)
		gpu_free(r->gpus[i]);
	quota_table_free(&r->pods);
	pod_table_free(&r->kube_pods);
	memset(r, 0, sizeof(*r));
}

struct sched_gpu *registry_gpu_find(struct sched_registry *r, const char *uuid)
{
	for (size_t i = 0; i < r->ngpus; i++)
		if (strcasecmp(r->gpus[i]->uuid, uuid) == 0)
			return r->gpus[i];
	return NULL;
}

/* Drops contexts no client has registered (nobody holds or waits there). */
static void evict_unused(struct sched_registry *r)
{
	size_t kept = 0;

	for (size_t i = 0; i < r->ngpus; i++) {
		if (r->gpus[i]->nclients == 0) {
			gpu_free(r->gpus[i]);
			continue;
		}
		r->gpus[kept++] = r->gpus[i];
	}
	r->ngpus = kept;
}

struct sched_gpu *registry_gpu_add(struct sched_registry *r, const char *uuid,
                                   uint64_t capacity_bytes)
{
	struct policy_settings set;
	struct sched_gpu *g;

	if (r->ngpus == REGISTRY_MAX_GPUS)
		evict_unused(r);
	if (r->ngpus == REGISTRY_MAX_GPUS)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	snprintf(g->uuid, sizeof(g->uuid), "%s", uuid);
	g->capacity_bytes = capacity_bytes;
	registry_policy_settings(r, &set);
	policy_gpu_init(&g->policy, capacity_bytes, &set);
	r->gpus[r->ngpus++] = g;
	return g;
}

struct sched_client *registry_client_new(struct sched_registry *r)
{
	struct sched_client *c;

	if (r->nclients == r->clients_cap) {
		size_t ncap = r->clients_cap ? r->clients_cap * 2 : 16;
		void *p = realloc(r->clients, ncap * sizeof(r->clients[0]));
		if (!p)
			return NULL;
		r->clients = p;
		r->clients_cap = ncap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = r->next_client_id++;
	r->clients[r->nclients++] = c;
	return c;
}

static long client_index(const struct sched_registry *r, uint64_t id)
{
	size_t lo = 0, hi = r->nclients;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t v = r->clients[mid]->id;

		if (v == id)
			return (long)mid;
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

struct sched_client *registry_client_find(struct sched_registry *r, uint64_t id)
{
	long i = client_index(r, id);

	return i < 0 ? NULL : r->clients[i];
}

void registry_client_remove(struct sched_registry *r, struct sched_client *c)
{
	long i = client_index(r, c->id);

	for (size_t k = 0; k < c->ngpus; k++)
		c->gpus[k].gpu->nclients--;
	if (i >= 0) {
		memmove(&r->clients[i], &r->clients[i + 1],
		        (r->nclients - (size_t)i - 1) * sizeof(r->clients[0]));
		r->nclients--;
	}
	free(c);
}

struct sched_client_gpu *registry_client_gpu(struct sched_client *c,
                                             const struct sched_gpu *gpu)
{
	for (size_t i = 0; i < c->ngpus; i++)
		if (c->gpus[i].gpu == gpu)
			return &c->gpus[i];
	return NULL;
}

struct sched_client_gpu *registry_client_attach(struct sched_client *c,
                                                struct sched_gpu *gpu)
{
	struct sched_client_gpu *e = registry_client_gpu(c, gpu);

	if (e)
		return e;
	if (c->ngpus == REGISTRY_CLIENT_MAX_GPUS)
		return NULL;
	e = &c->gpus[c->ngpus++];
	memset(e, 0, sizeof(*e));
	e->gpu = gpu;
	gpu->nclients++;
	return e;
}

char *registry_printable(const char *s, char *out, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return out;
	if (!*s) {
		snprintf(out, n, "-");
		return out;
	}
	for (; s[i] && i + 1 < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		/* Quotes and backslashes too: values are printed inside
		 * reason="..." and by key=value parsers. */
		out[i] = (ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
		             ? (char)ch
		             : '?';
	}
	out[i] = '\0';
	return out;
}
