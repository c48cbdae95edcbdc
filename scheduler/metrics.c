/*
 * metrics.c - see metrics.h. The page is grouped by metric family (the
 * text format wants a family's samples together): scheduler-wide first,
 * then one pass over the GPUs per GPU family, then one pass over every
 * client's GPUs per client family. Strings that came from clients (pod,
 * program name) are escaped and cut to printable ASCII, so that a hostile
 * name can neither break the page nor make it invalid UTF-8. Empty pod,
 * namespace and container labels are left out (to Prometheus an empty
 * label is no label), which keeps the page small.
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest label set: a GPU, a client and its pod, escaped (x2). */
#define LABELS_MAX                                                             \
	(2 * (NVS_UUID_SIZE + NVS_POD_NAMESPACE_SIZE + NVS_POD_NAME_SIZE +     \
	      NVS_CONTAINER_SIZE + NVS_COMM_SIZE) +                            \
	 256)

/* --- taking a snapshot ---------------------------------------------------- */

static int reserve(void **p, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *q;

	if (n <= *cap)
		return 0;
	while (ncap < n)
		ncap *= 2;
	q = realloc(*p, ncap * size);
	if (!q)
		return -1;
	*p = q;
	*cap = ncap;
	return 0;
}

/* Capacities of the arrays, kept beside them for reuse. */
struct caps {
	size_t gpus, clients, cgs;
};

static void snap_gpu(const struct metrics_counters *mc,
                     const struct sched_gpu *g, struct metrics_snap_gpu *o)
{
	const struct policy_gpu *p = &g->policy;
	const struct metrics_gpu *x = metrics_gpu_of(mc, g->uuid);
	struct policy_slice sl;

	memset(o, 0, sizeof(*o));
	memcpy(o->uuid, g->uuid, sizeof(o->uuid));
	o->capacity = g->capacity_bytes;
	o->resident = policy_resident_bytes(p);
	for (size_t i = 0; i < p->nmembers; i++) {
		const struct policy_member *m = &p->members[i];

		o->committed += m->footprint_bytes;
		if (!m->resident)
			o->swapped += m->footprint_bytes - m->pinned_bytes;
	}
	o->running = p->nrunning;
	o->waiting = p->nqueue;
	o->idle = p->nmembers > p->nrunning + p->nqueue
	              ? p->nmembers - p->nrunning - p->nqueue
	              : 0;
	o->mode = p->mode;
	policy_slice_of(p, &sl);
	o->slice_ns = sl.ns;
	o->max_run_ns = p->max_run_ns;
	o->metered = g->metered;
	o->grants = p->lock_grants;
	o->forced = p->forced_releases;
	o->evictions = p->evictions;
	o->evict_timeouts = p->evict_timeouts;
	o->bw[0] = p->bw_out * 1e9;
	o->bw[1] = p->bw_in * 1e9;
	if (x) {
		memcpy(o->swaps, x->swaps, sizeof(o->swaps));
		memcpy(o->swap_bytes, x->swap_bytes, sizeof(o->swap_bytes));
	}
}

static void snap_cg(const struct metrics_counters *mc,
                    const struct sched_client *c,
                    const struct sched_client_gpu *e, int64_t now,
                    struct metrics_snap_cg *o)
{
	const struct policy_gpu *p = &e->gpu->policy;
	const struct policy_member *m = policy_member_of(p, c->id);
	const struct metrics_client_gpu *x =
	    metrics_client_gpu_of(mc, c->id, e->gpu->uuid);
	const struct bill_client *bc = bill_client_of(&e->gpu->bill, c->id);
	int64_t since;

	o->state = policy_state_of(p, c->id, &since);
	o->wait_ns =
	    o->state == POLICY_WAITING && now > since ? now - since : 0;
	o->reason = o->state == POLICY_WAITING ? policy_wait_reason_of(p, c->id)
	                                       : POLICY_WAIT_NONE;
	if (m) {
		o->memory = m->footprint_bytes;
		o->resident = policy_occupied_bytes(m);
		/* As status.c reports it. */
		o->swapped =
		    m->resident ? 0 : m->footprint_bytes - m->pinned_bytes;
		o->swap_outs = m->swap_outs;
		o->swap_ins = m->swap_ins;
	}
	o->effective = c->limits.core_pct
	                   ? bill_effective_pct(&e->gpu->bill, c->id, now) / 100
	                   : 0;
	o->gpu_ns = bc ? (int64_t)bc->billed_ns : 0;
	o->throttles = e->throttles;
	o->grants = e->lock_grants;
	if (x) {
		o->throttled_ns = metrics_throttled_ns(x, now);
		o->wait = x->wait;
		o->hold = x->hold;
	}
}

static size_t gpu_slot(const struct sched_registry *r,
                       const struct sched_gpu *g)
{
	for (size_t i = 0; i < r->ngpus; i++)
		if (r->gpus[i] == g)
			return i;
	return 0;
}

int metrics_snap_take(const struct sched_registry *r,
                      const struct metrics_counters *mc, int64_t now,
                      struct metrics_snap *s)
{
	struct caps cap = {0, 0, 0};
	size_t ncgs = 0;

	memset(s, 0, sizeof(*s));

	s->managed = r->managed;
	s->nclients_connected = r->nclients;
	memcpy(s->messages, mc->messages, sizeof(s->messages));
	s->protocol_errors = mc->protocol_errors;
	s->connections_refused = mc->connections_refused;
	s->forced_releases = r->forced_releases;
	s->event = mc->event;
	s->host_swapped = registry_host_bytes(r);
	s->host_budget = r->host_swap_budget;
	s->snapshot_ns = mc->last_snapshot_ns;
	for (size_t i = 0; i < r->nclients; i++)
		ncgs += r->clients[i]->ngpus;
	if (reserve((void **)&s->gpus, &cap.gpus, r->ngpus, sizeof(*s->gpus)) ||
	    reserve((void **)&s->clients, &cap.clients, r->nclients,
	            sizeof(*s->clients)) ||
	    reserve((void **)&s->cgs, &cap.cgs, ncgs, sizeof(*s->cgs)))
		return -1;
	for (size_t i = 0; i < r->ngpus; i++)
		snap_gpu(mc, r->gpus[i], &s->gpus[i]);
	s->ngpus = r->ngpus;
	for (size_t i = 0; i < r->nclients; i++) {
		const struct sched_client *c = r->clients[i];
		struct metrics_snap_client *o = &s->clients[i];

		o->id = c->id;
		o->pid = (int)c->pid;
		o->uid = (unsigned)c->uid;
		memcpy(o->comm, c->comm, sizeof(o->comm));
		memcpy(o->pod_namespace, c->pod_namespace,
		       sizeof(o->pod_namespace));
		memcpy(o->pod_name, c->pod_name, sizeof(o->pod_name));
		memcpy(o->container, c->container, sizeof(o->container));
		o->comm[sizeof(o->comm) - 1] = '\0';
		o->pod_namespace[sizeof(o->pod_namespace) - 1] = '\0';
		o->pod_name[sizeof(o->pod_name) - 1] = '\0';
		o->container[sizeof(o->container) - 1] = '\0';
		o->memory_limit = c->limits.memory_bytes;
		o->core_pct = c->limits.core_pct;
		for (size_t k = 0; k < c->ngpus; k++) {
			struct metrics_snap_cg *cg = &s->cgs[s->ncgs++];

			memset(cg, 0, sizeof(*cg));
			cg->client = i;
			cg->gpu = gpu_slot(r, c->gpus[k].gpu);
			snap_cg(mc, c, &c->gpus[k], now, cg);
		}
	}
	s->nclients = r->nclients;
	return 0;
}

void metrics_snap_free(struct metrics_snap *s)
{
	free(s->gpus);
	free(s->clients);
	free(s->cgs);
	memset(s, 0, sizeof(*s));
}

/* --- text ----------------------------------------------------------------- */

/* Appends name="value" (with a leading comma unless first) to out;
 * skip_empty leaves an empty value out. */
static void label(char *o, size_t n, const char *name, const char *value,
                  int skip_empty)
{
	size_t len = strlen(o);

	if (skip_empty && !*value)
		return;
	len += (size_t)snprintf(o + len, len < n ? n - len : 0, "%s%s=\"",
	                        len ? "," : "", name);
	for (const unsigned char *p = (const unsigned char *)value;
	     *p && len + 3 < n; p++) {
		if (*p == '\\' || *p == '"') {
			o[len++] = '\\';
			o[len++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			o[len++] = '?';
		} else {
			o[len++] = (char)*p;
		}
	}
	if (len + 2 <= n) {
		o[len++] = '"';
		o[len] = '\0';
	}
}

static void family(struct status_buf *b, const char *name, const char *type,
                   const char *help)
{
	status_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	                  type);
}

static void put_u64(struct status_buf *b, const char *name, const char *lab,
                    uint64_t v)
{
	if (*lab)
		status_buf_printf(b, "%s{%s} %llu\n", name, lab,
		                  (unsigned long long)v);
	else
		status_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void put_f(struct status_buf *b, const char *name, const char *lab,
                  double v)
{
	if (*lab)
		status_buf_printf(b, "%s{%s} %.9g\n", name, lab, v);
	else
		status_buf_printf(b, "%s %.9g\n", name, v);
}

/* ns as seconds, exactly. */
static void put_ns(struct status_buf *b, const char *name, const char *lab,
                   int64_t ns)
{
	long long s, f;

	if (ns < 0)
		ns = 0;
	s = (long long)(ns / 1000000000);
	f = (long long)(ns % 1000000000);
	if (*lab)
		status_buf_printf(b, "%s{%s} %lld.%09lld\n", name, lab, s, f);
	else
		status_buf_printf(b, "%s %lld.%09lld\n", name, s, f);
}

/* Buckets are cumulative on the page, not in memory. */
static void put_hist(struct status_buf *b, const char *name, const char *lab,
                     const int64_t *bounds, size_t n, const uint64_t *bucket,
                     uint64_t count, int64_t sum_ns)
{
	uint64_t cum = 0;
	char sname[128];

	for (size_t i = 0; i <= n; i++) {
		char le[32];

		cum += bucket[i];
		if (i < n)
			snprintf(le, sizeof(le), "%g", (double)bounds[i] / 1e9);
		else
			snprintf(le, sizeof(le), "+Inf");
		status_buf_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name,
		                  lab, *lab ? "," : "", le,
		                  (unsigned long long)cum);
	}
	snprintf(sname, sizeof(sname), "%s_sum", name);
	put_ns(b, sname, lab, sum_ns);
	snprintf(sname, sizeof(sname), "%s_count", name);
	put_u64(b, sname, lab, count);
}

/* --- the scheduler -------------------------------------------------------- */

static void scheduler_families(const struct metrics_snap *s,
                               struct status_buf *b)
{
	char lab[64];

	family(b, "nvshare_scheduler_managed", "gauge",
	       "1 while scheduling is on, 0 while clients run ungated.");
	put_u64(b, "nvshare_scheduler_managed", "", s->managed ? 1 : 0);
	family(b, "nvshare_scheduler_clients", "gauge",
	       "Clients connected (after HELLO).");
	put_u64(b, "nvshare_scheduler_clients", "", s->nclients_connected);
	family(b, "nvshare_scheduler_messages_total", "counter",
	       "Framed messages received, by type.");
	for (size_t t = 0; t < METRICS_MSG_TYPES; t++) {
		if (!s->messages[t])
			continue;
		lab[0] = '\0';
		label(lab, sizeof(lab), "type",
		      t == METRICS_MSG_TYPES - 1
		          ? "OTHER"
		          : nvs_msg_type_name((uint16_t)t),
		      0);
		put_u64(b, "nvshare_scheduler_messages_total", lab,
		        s->messages[t]);
	}
	family(b, "nvshare_scheduler_protocol_errors_total", "counter",
	       "Connections cut for invalid input.");
	put_u64(b, "nvshare_scheduler_protocol_errors_total", "",
	        s->protocol_errors);
	family(b, "nvshare_scheduler_connections_refused_total", "counter",
	       "Connections refused at accept (limit, credentials, memory).");
	put_u64(b, "nvshare_scheduler_connections_refused_total", "",
	        s->connections_refused);
	family(b, "nvshare_scheduler_event_handling_seconds", "histogram",
	       "Time to handle one message: decide and queue the answers.");
	put_hist(b, "nvshare_scheduler_event_handling_seconds", "",
	         metrics_event_bounds_ns, METRICS_EVENT_BUCKETS,
	         s->event.bucket, s->event.count, s->event.sum_ns);
	family(b, "nvshare_scheduler_forced_releases_total", "counter",
	       "Locks taken from holders that did not release in time, all "
	       "GPUs.");
	put_u64(b, "nvshare_scheduler_forced_releases_total", "",
	        s->forced_releases);
	family(b, "nvshare_scheduler_host_swapped_bytes", "gauge",
	       "Memory of all GPUs' clients swapped out to the host.");
	put_u64(b, "nvshare_scheduler_host_swapped_bytes", "", s->host_swapped);
	if (s->host_budget) {
		family(b, "nvshare_scheduler_host_swap_budget_bytes", "gauge",
		       "Host memory swapped-out memory may take, all GPUs.");
		put_u64(b, "nvshare_scheduler_host_swap_budget_bytes", "",
		        s->host_budget);
	}
	family(b, "nvshare_scheduler_metrics_snapshot_seconds", "gauge",
	       "Time the previous metrics snapshot took on the scheduling "
	       "thread.");
	put_ns(b, "nvshare_scheduler_metrics_snapshot_seconds", "",
	       s->snapshot_ns);
}

/* --- GPUs ----------------------------------------------------------------- */

enum gpu_metric {
	G_CAPACITY,
	G_VIRTUAL,
	G_RESIDENT,
	G_SWAPPED,
	G_COMMITTED,
	G_CLIENTS,
	G_MODE,
	G_SLICE,
	G_MAX_RUN,
	G_METERED,
	G_GRANTS,
	G_SWAPS,
	G_SWAP_BYTES,
	G_BANDWIDTH,
	G_FORCED,
	G_EVICTIONS,
	G_EVICT_TIMEOUTS,
	G_COUNT,
};

static const struct {
	const char *name, *type, *help;
} gpu_fam[G_COUNT] = {
    [G_CAPACITY] = {"nvshare_gpu_capacity_bytes", "gauge",
                    "Memory the scheduler treats the GPU as having."},
    [G_VIRTUAL] = {"nvshare_gpu_virtual_capacity_bytes", "gauge",
                   "Capacity plus the node's host swap budget: the most "
                   "its clients can have allocated together."},
    [G_RESIDENT] = {"nvshare_gpu_resident_bytes", "gauge",
                    "Client memory on the GPU now."},
    [G_SWAPPED] = {"nvshare_gpu_swapped_bytes", "gauge",
                   "Client memory swapped out to the host now."},
    [G_COMMITTED] = {"nvshare_gpu_committed_bytes", "gauge",
                     "Memory the GPU's clients allocated, on the GPU or "
                     "not."},
    [G_CLIENTS] = {"nvshare_gpu_clients", "gauge",
                   "Clients registered on the GPU, by state."},
    [G_MODE] = {"nvshare_gpu_mode", "gauge",
                "1 for the GPU's scheduling mode, 0 for the others."},
    [G_SLICE] = {"nvshare_gpu_time_slice_seconds", "gauge",
                 "Time slice in effect for the next switch."},
    [G_MAX_RUN] = {"nvshare_gpu_max_run_seconds", "gauge",
                   "Longest slice, whatever the setting."},
    [G_METERED] = {"nvshare_gpu_metered", "gauge",
                   "1 while a client on the GPU has a core limit (GPU "
                   "time is then measured for every client there)."},
    [G_GRANTS] = {"nvshare_gpu_lock_grants_total", "counter", "Locks granted."},
    [G_SWAPS] = {"nvshare_gpu_swaps_total", "counter",
                 "Swaps reported by clients, by direction."},
    [G_SWAP_BYTES] = {"nvshare_gpu_swap_bytes_total", "counter",
                      "Bytes moved by swaps, by direction."},
    [G_BANDWIDTH] = {"nvshare_gpu_swap_bandwidth_bytes_per_second", "gauge",
                     "Swap bandwidth estimate (moving average of "
                     "reports; a default until the first)."},
    [G_FORCED] = {"nvshare_gpu_forced_releases_total", "counter",
                  "Locks taken from holders that did not release within "
                  "the grace period."},
    [G_EVICTIONS] = {"nvshare_gpu_evictions_total", "counter",
                     "Idle clients asked to move their memory out."},
    [G_EVICT_TIMEOUTS] = {"nvshare_gpu_evict_timeouts_total", "counter",
                          "Evictions not answered within the grace "
                          "period."},
};

static void with(char *lab, size_t n, const char *base, const char *name,
                 const char *value)
{
	snprintf(lab, n, "%s", base);
	label(lab, n, name, value, 0);
}

static void gpu_sample(const struct metrics_snap *s, struct status_buf *b,
                       enum gpu_metric k, const struct metrics_snap_gpu *g,
                       const char *gl)
{
	static const char *const dirs[2] = {"out", "in"};
	static const enum policy_mode modes[] = {
	    POLICY_MODE_AUTO, POLICY_MODE_SERIAL, POLICY_MODE_CONCURRENT};
	static const char *const states[3] = {"running", "waiting", "idle"};
	const char *name = gpu_fam[k].name;
	size_t counts[3] = {g->running, g->waiting, g->idle};
	char lab[256];

	switch (k) {
	case G_CAPACITY: put_u64(b, name, gl, g->capacity); return;
	case G_VIRTUAL:
		put_u64(b, name, gl, g->capacity + s->host_budget);
		return;
	case G_RESIDENT: put_u64(b, name, gl, g->resident); return;
	case G_SWAPPED: put_u64(b, name, gl, g->swapped); return;
	case G_COMMITTED: put_u64(b, name, gl, g->committed); return;
	case G_CLIENTS:
		for (int i = 0; i < 3; i++) {
			with(lab, sizeof(lab), gl, "state", states[i]);
			put_u64(b, name, lab, counts[i]);
		}
		return;
	case G_MODE:
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			with(lab, sizeof(lab), gl, "mode",
			     policy_mode_name(modes[i]));
			put_u64(b, name, lab, g->mode == modes[i]);
		}
		return;
	case G_SLICE: put_ns(b, name, gl, g->slice_ns); return;
	case G_MAX_RUN: put_ns(b, name, gl, g->max_run_ns); return;
	case G_METERED: put_u64(b, name, gl, g->metered ? 1 : 0); return;
	case G_GRANTS: put_u64(b, name, gl, g->grants); return;
	case G_SWAPS:
	case G_SWAP_BYTES:
	case G_BANDWIDTH:
		for (int d = 0; d < 2; d++) {
			with(lab, sizeof(lab), gl, "direction", dirs[d]);
			if (k == G_BANDWIDTH)
				put_f(b, name, lab, g->bw[d]);
			else
				put_u64(b, name, lab,
				        k == G_SWAPS ? g->swaps[d]
				                     : g->swap_bytes[d]);
		}
		return;
	case G_FORCED: put_u64(b, name, gl, g->forced); return;
	case G_EVICTIONS: put_u64(b, name, gl, g->evictions); return;
	case G_EVICT_TIMEOUTS: put_u64(b, name, gl, g->evict_timeouts); return;
	case G_COUNT: return;
	}
}

static void gpu_families(const struct metrics_snap *s, struct status_buf *b)
{
	for (int k = 0; k < G_COUNT; k++) {
		if (k == G_VIRTUAL && !s->host_budget)
			continue;
		family(b, gpu_fam[k].name, gpu_fam[k].type, gpu_fam[k].help);
		for (size_t i = 0; i < s->ngpus; i++) {
			char gl[128] = "";

			label(gl, sizeof(gl), "gpu", s->gpus[i].uuid, 0);
			gpu_sample(s, b, (enum gpu_metric)k, &s->gpus[i], gl);
		}
	}
}

/* --- clients -------------------------------------------------------------- */

static void client_labels(const struct metrics_snap_client *c, char *o,
                          size_t n)
{
	char id[24];

	snprintf(id, sizeof(id), "%llu", (unsigned long long)c->id);
	label(o, n, "client", id, 0);
	label(o, n, "pod", c->pod_name, 1);
	label(o, n, "namespace", c->pod_namespace, 1);
	label(o, n, "container", c->container, 1);
}

enum client_metric {
	C_STATE,
	C_WAIT,
	C_WAIT_REASON,
	C_MEMORY,
	C_RESIDENT,
	C_SWAPPED,
	C_CORE_EFFECTIVE,
	C_GPU_SECONDS,
	C_THROTTLED,
	C_THROTTLES,
	C_GRANTS,
	C_LOCK_WAIT,
	C_LOCK_HOLD,
	C_SWAPS,
	C_COUNT,
};

static const struct {
	const char *name, *type, *help;
} client_fam[C_COUNT] = {
    [C_STATE] = {"nvshare_client_state", "gauge",
                 "1 for the client's state on the GPU (holding, waiting, "
                 "idle), 0 for the others."},
    [C_WAIT] = {"nvshare_client_wait_seconds", "gauge",
                "How long the client has been waiting for the lock (0 "
                "when not waiting)."},
    [C_WAIT_REASON] = {"nvshare_client_wait_reason", "gauge",
                       "1 while the client waits, labelled with why "
                       "(turn, memory, host)."},
    [C_MEMORY] = {"nvshare_client_memory_bytes", "gauge",
                  "Memory the client allocated on the GPU."},
    [C_RESIDENT] = {"nvshare_client_resident_bytes", "gauge",
                    "Of which on the GPU now."},
    [C_SWAPPED] = {"nvshare_client_swapped_bytes", "gauge",
                   "Of which swapped out to the host now."},
    [C_CORE_EFFECTIVE] = {"nvshare_client_core_effective_limit_ratio", "gauge",
                          "Share of the GPU the client may use now: its "
                          "core limit, scaled down when the limits of "
                          "the active clients add up to more than 1."},
    [C_GPU_SECONDS] = {"nvshare_client_gpu_seconds_total", "counter",
                       "GPU time used, measured while the GPU is metered; "
                       "rate() is the achieved share."},
    [C_THROTTLED] = {"nvshare_client_throttled_seconds_total", "counter",
                     "Time the client's launches were paused by its core "
                     "limit."},
    [C_THROTTLES] = {"nvshare_client_throttles_total", "counter",
                     "Times the client's launches were paused by its "
                     "core limit."},
    [C_GRANTS] = {"nvshare_client_lock_grants_total", "counter",
                  "Times the client was granted the lock."},
    [C_LOCK_WAIT] = {"nvshare_client_lock_wait_seconds", "histogram",
                     "Time from asking for the lock to its grant."},
    [C_LOCK_HOLD] = {"nvshare_client_lock_hold_seconds", "histogram",
                     "Time from a grant to the lock's return (or its "
                     "forced release)."},
    [C_SWAPS] = {"nvshare_client_swaps_total", "counter",
                 "Swaps the client reported, by direction."},
};

static void client_sample(const struct metrics_snap *s, struct status_buf *b,
                          enum client_metric k,
                          const struct metrics_snap_cg *cg, const char *cl)
{
	static const char *const states[3] = {"idle", "holding", "waiting"};
	const char *name = client_fam[k].name;
	char lab[LABELS_MAX + 64];

	switch (k) {
	case C_STATE:
		for (int i = 0; i < 3; i++) {
			with(lab, sizeof(lab), cl, "state", states[i]);
			put_u64(b, name, lab, (int)cg->state == i);
		}
		return;
	case C_WAIT: put_ns(b, name, cl, cg->wait_ns); return;
	case C_WAIT_REASON:
		if (cg->state != POLICY_WAITING ||
		    cg->reason == POLICY_WAIT_NONE)
			return;
		with(lab, sizeof(lab), cl, "reason",
		     policy_wait_reason_name(cg->reason));
		put_u64(b, name, lab, 1);
		return;
	case C_MEMORY: put_u64(b, name, cl, cg->memory); return;
	case C_RESIDENT: put_u64(b, name, cl, cg->resident); return;
	case C_SWAPPED: put_u64(b, name, cl, cg->swapped); return;
	case C_CORE_EFFECTIVE:
		if (s->clients[cg->client].core_pct)
			put_f(b, name, cl, cg->effective);
		return;
	case C_GPU_SECONDS: put_ns(b, name, cl, cg->gpu_ns); return;
	case C_THROTTLED: put_ns(b, name, cl, cg->throttled_ns); return;
	case C_THROTTLES: put_u64(b, name, cl, cg->throttles); return;
	case C_GRANTS: put_u64(b, name, cl, cg->grants); return;
	case C_LOCK_WAIT:
	case C_LOCK_HOLD: {
		const struct metrics_hist_lock *h =
		    k == C_LOCK_WAIT ? &cg->wait : &cg->hold;

		put_hist(b, name, cl, metrics_lock_bounds_ns,
		         METRICS_LOCK_BUCKETS, h->bucket, h->count, h->sum_ns);
		return;
	}
	case C_SWAPS:
		with(lab, sizeof(lab), cl, "direction", "out");
		put_u64(b, name, lab, cg->swap_outs);
		with(lab, sizeof(lab), cl, "direction", "in");
		put_u64(b, name, lab, cg->swap_ins);
		return;
	case C_COUNT: return;
	}
}

static void client_info(const struct metrics_snap *s, struct status_buf *b)
{
	char lab[LABELS_MAX];

	family(b, "nvshare_client_info", "gauge",
	       "1 per connected client, labelled with who it is.");
	for (size_t i = 0; i < s->nclients; i++) {
		const struct metrics_snap_client *c = &s->clients[i];
		char num[24];

		lab[0] = '\0';
		client_labels(c, lab, sizeof(lab));
		snprintf(num, sizeof(num), "%d", c->pid);
		label(lab, sizeof(lab), "pid", num, 0);
		snprintf(num, sizeof(num), "%u", c->uid);
		label(lab, sizeof(lab), "uid", num, 0);
		label(lab, sizeof(lab), "comm", c->comm, 0);
		put_u64(b, "nvshare_client_info", lab, 1);
	}
	family(b, "nvshare_client_memory_limit_bytes", "gauge",
	       "Memory limit in force per GPU (clients with one).");
	for (size_t i = 0; i < s->nclients; i++) {
		if (!s->clients[i].memory_limit)
			continue;
		lab[0] = '\0';
		client_labels(&s->clients[i], lab, sizeof(lab));
		put_u64(b, "nvshare_client_memory_limit_bytes", lab,
		        s->clients[i].memory_limit);
	}
	family(b, "nvshare_client_core_limit_ratio", "gauge",
	       "Core limit configured, as a share of each GPU (clients with "
	       "one).");
	for (size_t i = 0; i < s->nclients; i++) {
		if (!s->clients[i].core_pct)
			continue;
		lab[0] = '\0';
		client_labels(&s->clients[i], lab, sizeof(lab));
		put_f(b, "nvshare_client_core_limit_ratio", lab,
		      s->clients[i].core_pct / 100.0);
	}
}

static int client_families(const struct metrics_snap *s, struct status_buf *b)
{
	/* Each client-GPU's labels, escaped once for all its families. */
	char(*labels)[LABELS_MAX] =
	    s->ncgs ? malloc(s->ncgs * sizeof(*labels)) : NULL;

	if (s->ncgs && !labels)
		return -1;
	for (size_t i = 0; i < s->ncgs; i++) {
		labels[i][0] = '\0';
		label(labels[i], LABELS_MAX, "gpu", s->gpus[s->cgs[i].gpu].uuid,
		      0);
		client_labels(&s->clients[s->cgs[i].client], labels[i],
		              LABELS_MAX);
	}
	client_info(s, b);
	for (int k = 0; k < C_COUNT; k++) {
		family(b, client_fam[k].name, client_fam[k].type,
		       client_fam[k].help);
		for (size_t i = 0; i < s->ncgs; i++)
			client_sample(s, b, (enum client_metric)k, &s->cgs[i],
			              labels[i]);
	}
	free(labels);
	return 0;
}

int metrics_snap_render(const struct metrics_snap *s, struct status_buf *b)
{
	scheduler_families(s, b);
	gpu_families(s, b);
	if (client_families(s, b))
		b->failed = 1;
	return b->failed ? -1 : 0;
}

int metrics_render(const struct sched_registry *r,
                   const struct metrics_counters *mc, int64_t now,
                   struct status_buf *b)
{
	struct metrics_snap s;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = metrics_snap_take(r, mc, now, &s);
	if (rc == 0)
		rc = metrics_snap_render(&s, b);
	metrics_snap_free(&s);
	return rc;
}
