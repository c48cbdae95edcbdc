/*
 * lockproto.c - see lockproto.h. Each handler checks what the protocol
 * requires of the sender (HELLO first, the GPU registered before use) and
 * treats a violation as a protocol error: the sender is disconnected and
 * nobody else notices. Decisions come from policy.c; here they become
 * LOCK_OK / DROP_LOCK messages, counters and log lines.
 *
 * What a client claims is checked against what the node knows: it may
 * register only the node's GPUs (gpu_inventory.h), with the capacity the
 * node gives them; a GPU that is not the node's gets the client told to
 * run unmanaged (SET_MANAGED 0: the library's fallback, without the
 * reconnect loop a disconnection would start), and what it then sends
 * about such GPUs is ignored. Swap reports count only when they answer
 * what the scheduler asked (policy_swap_check); others are ignored with a
 * rate-limited warning, and a flood of them is a protocol error.
 */
#include "lockproto.h"

#include <stdio.h>
#include <string.h>

#include "compute.h"
#include "conn.h"
#include "gpu_inventory.h"
#include "kube_pods.h"
#include "limit_change.h"
#include "log.h"
#include "metrics_counters.h"
#include "parse.h"
#include "policy.h"

/* The policy's enums travel on the wire as the protocol's. */
#define SAME_VALUE(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME_VALUE(POLICY_WAIT_TURN, NVS_WAIT_TURN) &&
                   SAME_VALUE(POLICY_WAIT_MEMORY, NVS_WAIT_MEMORY) &&
                   SAME_VALUE(POLICY_WAIT_HOST, NVS_WAIT_HOST),
               "wait reasons");
_Static_assert(SAME_VALUE(POLICY_SWAP_OUT, NVS_SWAP_OUT) &&
                   SAME_VALUE(POLICY_SWAP_IN, NVS_SWAP_IN),
               "swap directions");
/* Every GPU of the node fits in the context table. */
_Static_assert(INVENTORY_MAX_GPUS <= REGISTRY_MAX_GPUS, "GPU tables");

/* Ignored reports: one warning per client and window, and more than
 * IGNORED_FLOOD in one window is a flood (the peer is cut off). */
#define IGNORED_WINDOW_NS (10LL * 1000000000LL)
#define IGNORED_FLOOD 1000

/* Modes: policy.c asserts they are settings.h's. */
_Static_assert(POLICY_DROP_SWAP_OUT == NVS_DROP_SWAP_OUT, "drop flags");

static void send_gpu_ref(struct sched_client *cl, uint16_t type,
                         const struct sched_gpu *g)
{
	struct nvs_gpu_ref ref;

	memset(&ref, 0, sizeof(ref));
	memcpy(ref.uuid, g->uuid, sizeof(ref.uuid));
	conn_send(cl->conn, type, &ref, sizeof(ref));
}

/* What cl may back on g, answering its last MEM_UPDATE there. */
static void send_mem_grant(struct sched_client *cl, const struct sched_gpu *g,
                           uint64_t granted)
{
	struct sched_client_gpu *e = registry_client_gpu(cl, g);
	struct nvs_mem_grant m;

	memset(&m, 0, sizeof(m));
	memcpy(m.uuid, g->uuid, sizeof(m.uuid));
	m.granted_bytes = granted;
	m.seq = e ? e->mem_seq : 0;
	conn_send(cl->conn, NVS_MSG_MEM_GRANT, &m, sizeof(m));
}

static void send_drop(struct sched_client *cl, const struct sched_gpu *g,
                      uint32_t flags)
{
	struct nvs_drop_lock d;

	memset(&d, 0, sizeof(d));
	memcpy(d.uuid, g->uuid, sizeof(d.uuid));
	d.flags = flags;
	conn_send(cl->conn, NVS_MSG_DROP_LOCK, &d, sizeof(d));
}

static void send_waiting(struct sched_client *cl, const struct sched_gpu *g,
                         const struct policy_action *a)
{
	struct nvs_waiting w;

	memset(&w, 0, sizeof(w));
	memcpy(w.uuid, g->uuid, sizeof(w.uuid));
	w.reason = a->reason;
	w.need_bytes = a->need_bytes;
	w.free_bytes = a->free_bytes;
	conn_send(cl->conn, NVS_MSG_WAITING, &w, sizeof(w));
}

static long long ns_to_ms(int64_t ns)
{
	return (long long)(ns / 1000000);
}

static void apply_one(struct sched_core *core, struct sched_gpu *g,
                      const struct policy_action *a)
{
	struct sched_client *cl = registry_client_find(&core->reg, a->client);
	struct sched_client_gpu *e;

	if (!cl)
		return; /* cannot happen: the policy only knows clients */
	switch (a->kind) {
	case POLICY_GRANT:
		e = registry_client_gpu(cl, g);
		if (e)
			e->lock_grants++;
		metrics_lock_granted(&metrics_global, cl->id, g->uuid,
		                     a->span_ns, g->policy.now_ns);
		NVS_DEBUG("event=grant gpu=%s client=%llu waited_ms=%lld "
		          "running=%zu",
		          g->uuid, (unsigned long long)cl->id,
		          ns_to_ms(a->span_ns), g->policy.nrunning);
		send_mem_grant(cl, g, a->granted_bytes);
		send_gpu_ref(cl, NVS_MSG_LOCK_OK, g);
		return;
	case POLICY_CONFIRM:
		send_mem_grant(cl, g, a->granted_bytes);
		send_gpu_ref(cl, NVS_MSG_LOCK_OK, g);
		return;
	case POLICY_MEM_GRANT:
		if (a->span_ns > 0)
			NVS_DEBUG("event=grow gpu=%s client=%llu bytes=%llu "
			          "waited_ms=%lld",
			          g->uuid, (unsigned long long)cl->id,
			          (unsigned long long)a->granted_bytes,
			          ns_to_ms(a->span_ns));
		send_mem_grant(cl, g, a->granted_bytes);
		return;
	case POLICY_DROP:
		NVS_DEBUG("event=drop_request gpu=%s client=%llu held_ms=%lld "
		          "swap_out=%d",
		          g->uuid, (unsigned long long)cl->id,
		          ns_to_ms(a->span_ns),
		          (a->flags & POLICY_DROP_SWAP_OUT) != 0);
		send_drop(cl, g, a->flags);
		return;
	case POLICY_REVOKE:
		core->reg.forced_releases++;
		metrics_lock_ended(&metrics_global, cl->id, g->uuid,
		                   g->policy.now_ns);
		NVS_WARN("event=force_release gpu=%s client=%llu pid=%d "
		         "held_ms=%lld grace_ms=%u gpu_forced=%llu",
		         g->uuid, (unsigned long long)cl->id, (int)cl->pid,
		         ns_to_ms(a->span_ns), core->reg.release_grace_ms,
		         (unsigned long long)g->policy.forced_releases);
		return;
	case POLICY_EVICT:
		NVS_DEBUG("event=evict gpu=%s client=%llu idle_ms=%lld",
		          g->uuid, (unsigned long long)cl->id,
		          ns_to_ms(a->span_ns));
		send_gpu_ref(cl, NVS_MSG_EVICT, g);
		return;
	case POLICY_EVICT_TIMEOUT:
		NVS_WARN("event=evict_timeout gpu=%s client=%llu pid=%d "
		         "waited_ms=%lld grace_ms=%u msg=\"memory still "
		         "counted on the GPU; asked again after the grace\"",
		         g->uuid, (unsigned long long)cl->id, (int)cl->pid,
		         ns_to_ms(a->span_ns), core->reg.release_grace_ms);
		return;
	case POLICY_WAIT:
		NVS_DEBUG("event=wait gpu=%s client=%llu reason=%s "
		          "need_bytes=%llu free_bytes=%llu",
		          g->uuid, (unsigned long long)cl->id,
		          policy_wait_reason_name(a->reason),
		          (unsigned long long)a->need_bytes,
		          (unsigned long long)a->free_bytes);
		send_waiting(cl, g, a);
		return;
	}
}

/* g's policy, told what the node's host swap budget has left: the one
 * cross-GPU fact its decisions need. */
static struct policy_gpu *policy_of(struct sched_core *core,
                                    struct sched_gpu *g)
{
	g->policy.host_room_bytes = registry_host_room(&core->reg);
	return &g->policy;
}

static void apply(struct sched_core *core, struct sched_gpu *g,
                  const struct policy_out *out)
{
	for (unsigned i = 0; i < out->n; i++)
		apply_one(core, g, &out->act[i]);
}

/* Reads /proc/<pid>/comm when HELLO left comm empty. */
static void on_hello(struct sched_core *core, struct sched_conn *c,
                     const struct nvs_hello *h, int64_t now)
{
	struct sched_client *cl;
	struct nvs_welcome w;
	char comm[NVS_COMM_SIZE], ns[NVS_POD_NAMESPACE_SIZE];
	char pod[NVS_POD_NAME_SIZE];

	if (c->client) {
		conn_protocol_error(c, "second HELLO");
		return;
	}
	cl = registry_client_new(&core->reg);
	if (!cl) {
		conn_protocol_error(c, "out of memory for a new client");
		return;
	}
	cl->pid = c->pid;
	cl->uid = c->uid;
	cl->gid = c->gid;
	cl->connected_ns = now;
	/* The strings were checked to be terminated inside their fields. */
	memcpy(cl->comm, h->comm, sizeof(cl->comm));
	memcpy(cl->pod_namespace, h->pod_namespace, sizeof(cl->pod_namespace));
	memcpy(cl->pod_name, h->pod_name, sizeof(cl->pod_name));
	memcpy(cl->container, h->container, sizeof(cl->container));
	memcpy(cl->pod_uid, c->peer.pod_uid, sizeof(cl->pod_uid));
	kube_pods_identify(core, cl);
	if (!cl->comm[0])
		/* Read at connect, while the pid was shown to be the peer's. */
		snprintf(cl->comm, sizeof(cl->comm), "%s", c->peer.comm);
	cl->conn = c;
	c->client = cl;
	NVS_INFO("event=hello client=%llu pid=%d uid=%u comm=%s "
	         "pod_namespace=%s pod=%s pod_verified=%d pod_uid=%s "
	         "hello_pid=%u managed=%d",
	         (unsigned long long)cl->id, (int)cl->pid, (unsigned)cl->uid,
	         registry_printable(cl->comm, comm, sizeof(comm)),
	         registry_printable(cl->pod_namespace, ns, sizeof(ns)),
	         registry_printable(cl->pod_name, pod, sizeof(pod)),
	         cl->pod_verified, peer_identity_pod_text(&c->peer), h->pid,
	         core->reg.managed);
	memset(&w, 0, sizeof(w));
	w.client_id = cl->id;
	w.managed = core->reg.managed ? 1 : 0;
	conn_send(c, NVS_MSG_WELCOME, &w, sizeof(w));
}

/* The node's entry for uuid, rescanning NVML (rate-limited) for a UUID
 * not known yet: a GPU that appeared after start. */
static const struct inventory_gpu *node_gpu(struct sched_core *core,
                                            const char *uuid, int64_t now)
{
	struct gpu_inventory *inv = core->cfg->gpus;
	const struct inventory_gpu *k;
	char why[160];
	size_t before;
	int64_t t0;

	if (!inv)
		return NULL;
	k = inventory_find(inv, uuid);
	if (k || !inventory_rescan_due(inv, now))
		return k;
	before = inv->n;
	/* The loop waits for the scan (docs/security.md, hot-plug): its
	 * length is logged so that the stall is seen. */
	t0 = nvs_now_ns();
	if (inventory_scan(inv, now, why, sizeof(why)) < 0)
		NVS_INFO("event=gpu_rescan reason=\"%s\" us=%lld", why,
		         (long long)((nvs_now_ns() - t0) / 1000));
	else
		NVS_INFO("event=gpu_rescan gpus=%zu new=%zu us=%lld", inv->n,
		         inv->n - before,
		         (long long)((nvs_now_ns() - t0) / 1000));
	return inventory_find(inv, uuid);
}

/* The context of the node's GPU uuid (created at its first
 * registration), or NULL if uuid is not one of the node's GPUs. Its
 * capacity is the node's word; a client's total_bytes is only compared. */
static struct sched_gpu *gpu_get(struct sched_core *core,
                                 const struct nvs_gpu_register *reg,
                                 int64_t now)
{
	struct sched_gpu *g = registry_gpu_find(&core->reg, reg->uuid);
	const struct inventory_gpu *k;
	uint64_t cap;
	char size[32];

	if (g)
		return g;
	k = node_gpu(core, reg->uuid, now);
	if (!k)
		return NULL;
	cap = inventory_capacity(k);
	g = registry_gpu_add(&core->reg, k->uuid, cap);
	if (!g)
		return NULL; /* out of memory: the table holds every GPU */
	nvs_format_size(cap, size, sizeof(size));
	NVS_INFO("event=gpu_added gpu=%s capacity_bytes=%llu capacity=\"%s\" "
	         "override=%d",
	         g->uuid, (unsigned long long)cap, size,
	         k->override_bytes != 0);
	return g;
}

/* Where a client's messages are ignored rather than answered: warns once
 * per window; 1 if the flood bound is passed (the caller cuts it off). */
static int ignored(struct sched_client *cl, int64_t now, const char *event,
                   const char *gpu, const char *why)
{
	if (now - cl->ignored_since_ns >= IGNORED_WINDOW_NS ||
	    cl->ignored_since_ns == 0) {
		if (cl->ignored > 1)
			NVS_WARN("event=%s client=%llu pid=%d uid=%u "
			         "ignored=%u msg=\"in the last window\"",
			         event, (unsigned long long)cl->id,
			         (int)cl->pid, (unsigned)cl->uid, cl->ignored);
		cl->ignored_since_ns = now;
		cl->ignored = 0;
	}
	if (cl->ignored++ == 0)
		NVS_WARN("event=%s client=%llu pid=%d uid=%u gpu=%s "
		         "reason=\"%s\" msg=\"ignored; more in %lld s "
		         "counted\"",
		         event, (unsigned long long)cl->id, (int)cl->pid,
		         (unsigned)cl->uid, gpu, why,
		         (long long)(IGNORED_WINDOW_NS / 1000000000LL));
	return cl->ignored > IGNORED_FLOOD;
}

/* cl runs unmanaged on g from now on: out of its queue, its lock given
 * back, its whole footprint counted on the GPU. */
static void unmanage_on(struct sched_core *core, struct sched_client *cl,
                        struct sched_gpu *g, int64_t now)
{
	struct policy_out out = {.n = 0};
	int held = policy_unmanage(policy_of(core, g), cl->id, now, &out);

	if (held < 0) {
		conn_protocol_error(cl->conn, "out of memory for GPU %s",
		                    g->uuid);
		return;
	}
	if (held)
		metrics_lock_ended(&metrics_global, cl->id, g->uuid, now);
	apply(core, g, &out);
}

/* uuid is not a GPU of this node: the client runs unmanaged from now on,
 * told once. Its library's fallback is per process, so it runs unmanaged
 * on its known GPUs too, and brings back what it had swapped out there:
 * the books of those GPUs count all of it from now on. */
static void refuse_gpu(struct sched_core *core, struct sched_conn *c,
                       const struct nvs_gpu_register *reg, int64_t now)
{
	struct sched_client *cl = c->client;
	struct nvs_set_managed sm = {.managed = 0};

	if (cl->refused) {
		if (ignored(cl, now, "gpu_refused", reg->uuid,
		            "not a GPU of this node"))
			conn_protocol_error(c, "flood of REGISTER_GPU for GPUs "
			                       "not on this node");
		return;
	}
	cl->refused = 1;
	NVS_WARN("event=gpu_refused gpu=%s client=%llu pid=%d uid=%u "
	         "total_bytes=%llu reason=\"not a GPU of this node\" "
	         "msg=\"told to run unmanaged\"",
	         reg->uuid, (unsigned long long)cl->id, (int)cl->pid,
	         (unsigned)cl->uid, (unsigned long long)reg->total_bytes);
	conn_send(c, NVS_MSG_SET_MANAGED, &sm, sizeof(sm));
	for (size_t i = 0; i < cl->ngpus && !c->dead; i++)
		unmanage_on(core, cl, cl->gpus[i].gpu, now);
}

static void on_register(struct sched_core *core, struct sched_conn *c,
                        const struct nvs_gpu_register *reg, int64_t now)
{
	struct sched_gpu *g = gpu_get(core, reg, now);
	struct nvs_gpu_accepted acc;

	if (!g) {
		refuse_gpu(core, c, reg, now);
		return;
	}
	if (!registry_client_attach(c->client, g)) {
		conn_protocol_error(c, "more than %d GPUs registered",
		                    REGISTRY_CLIENT_MAX_GPUS);
		return;
	}
	if (policy_register(&g->policy, c->client->id, now) < 0) {
		conn_protocol_error(c, "out of memory for GPU %s", g->uuid);
		return;
	}
	if (c->client->refused)
		unmanage_on(core, c->client, g, now);
	NVS_DEBUG("event=gpu_registered gpu=%s client=%llu total_bytes=%llu "
	          "capacity_bytes=%llu",
	          g->uuid, (unsigned long long)c->client->id,
	          (unsigned long long)reg->total_bytes,
	          (unsigned long long)g->capacity_bytes);
	memset(&acc, 0, sizeof(acc));
	memcpy(acc.uuid, g->uuid, sizeof(acc.uuid));
	acc.capacity_bytes = g->capacity_bytes;
	conn_send(c, NVS_MSG_GPU_ACCEPTED, &acc, sizeof(acc));
	compute_attach(core, c->client, g, now);
	/* A pod's memory share is per GPU: this one's counts now. */
	limit_change_apply(core, c->client, now);
}

/* The registered GPU a message names, or NULL after a protocol error
 * (or, from a client told to run unmanaged, NULL quietly: its library
 * sent what followed the refused REGISTER_GPU before it heard). */
static struct sched_client_gpu *registered(struct sched_core *core,
                                           struct sched_conn *c,
                                           const struct nvs_msg *m,
                                           const char *uuid)
{
	struct sched_gpu *g = registry_gpu_find(&core->reg, uuid);
	struct sched_client_gpu *e =
	    g ? registry_client_gpu(c->client, g) : NULL;

	if (!e && c->client->refused)
		NVS_DEBUG("event=unmanaged_message type=%s gpu=%s client=%llu",
		          nvs_msg_type_name(m->hdr.type), uuid,
		          (unsigned long long)c->client->id);
	else if (!e)
		conn_protocol_error(c, "%s for unregistered GPU %s",
		                    nvs_msg_type_name(m->hdr.type), uuid);
	return e;
}

static void on_request(struct sched_core *core, struct sched_conn *c,
                       struct sched_client_gpu *e, int64_t now)
{
	struct policy_out out = {.n = 0};

	if (!core->reg.managed || c->client->refused) {
		NVS_DEBUG("event=request_ignored reason=%s client=%llu",
		          c->client->refused ? "refused" : "unmanaged",
		          (unsigned long long)c->client->id);
		return;
	}
	if (policy_request(policy_of(core, e->gpu), c->client->id, now, &out) <
	    0) {
		conn_protocol_error(c, "out of memory for the queue");
		return;
	}
	apply(core, e->gpu, &out);
}

static void on_release(struct sched_core *core, struct sched_conn *c,
                       struct sched_client_gpu *e, int64_t now)
{
	struct policy_out out = {.n = 0};

	if (!core->reg.managed)
		return;
	if (!policy_release(policy_of(core, e->gpu), c->client->id, now,
	                    &out)) {
		NVS_DEBUG("event=stale_release gpu=%s client=%llu",
		          e->gpu->uuid, (unsigned long long)c->client->id);
		return;
	}
	NVS_DEBUG("event=release gpu=%s client=%llu", e->gpu->uuid,
	          (unsigned long long)c->client->id);
	metrics_lock_ended(&metrics_global, c->client->id, e->gpu->uuid, now);
	apply(core, e->gpu, &out);
}

/* Memory is tracked whether or not scheduling is on, so that it is known
 * when scheduling resumes; with scheduling off nobody waits, so nothing
 * follows from it. */
static void on_mem_update(struct sched_core *core, struct sched_conn *c,
                          struct sched_client_gpu *e,
                          const struct nvs_mem_update *u, int64_t now)
{
	struct policy_out out = {.n = 0};

	e->mem_seq = u->seq;
	if (policy_set_footprint(policy_of(core, e->gpu), c->client->id,
	                         u->allocated_bytes, u->pinned_bytes,
	                         u->held_bytes, now, &out) < 0) {
		conn_protocol_error(c, "out of memory for GPU %s",
		                    e->gpu->uuid);
		return;
	}
	apply(core, e->gpu, &out);
	limit_change_pod_moved(core, c->client, now);
}

static const char *verdict_text(enum policy_swap_verdict v)
{
	switch (v) {
	case POLICY_SWAP_UNASKED: return "not asked for";
	case POLICY_SWAP_TOO_BIG: return "more bytes than it has on the GPU";
	case POLICY_SWAP_IMPLAUSIBLE:
		return "bandwidth outside 100 MB/s..2 TB/s";
	case POLICY_SWAP_ANSWER: break;
	}
	return "ok";
}

static void on_swap_report(struct sched_core *core, struct sched_conn *c,
                           struct sched_client_gpu *e,
                           const struct nvs_swap_report *r, int64_t now)
{
	struct policy_out out = {.n = 0};
	struct policy_gpu *p = policy_of(core, e->gpu);
	int incomplete =
	    r->direction == NVS_SWAP_OUT && (r->flags & NVS_SWAP_INCOMPLETE);
	enum policy_swap_verdict v = policy_swap_check(
	    p, c->client->id, r->direction, incomplete ? 0 : r->bytes, r->ns);
	uint64_t ns = r->ns;

	NVS_DEBUG("event=swap_report gpu=%s client=%llu direction=%s "
	          "bytes=%llu ms=%.3f verdict=%d",
	          e->gpu->uuid, (unsigned long long)c->client->id,
	          r->direction == NVS_SWAP_OUT ? "out" : "in",
	          (unsigned long long)r->bytes, (double)r->ns / 1e6, (int)v);
	if (v != POLICY_SWAP_ANSWER &&
	    ignored(c->client, now, "swap_report_ignored", e->gpu->uuid,
	            verdict_text(v))) {
		conn_protocol_error(c, "flood of SWAP_REPORTs not asked for");
		return;
	}
	if (v == POLICY_SWAP_UNASKED)
		return;
	if (v != POLICY_SWAP_ANSWER)
		ns = 0; /* the move stands, its measurement does not */
	if (incomplete) {
		NVS_WARN("event=swap_incomplete gpu=%s client=%llu bytes=%llu "
		         "msg=\"memory left on the GPU: its room is not given "
		         "away; asked again after the grace\"",
		         e->gpu->uuid, (unsigned long long)c->client->id,
		         (unsigned long long)r->bytes);
		if (policy_swap_incomplete(p, c->client->id, now, &out) < 0) {
			conn_protocol_error(c, "SWAP_REPORT for GPU %s refused",
			                    e->gpu->uuid);
			return;
		}
	} else if (policy_swap_report(p, c->client->id, r->direction, r->bytes,
	                              ns, now, &out) < 0) {
		conn_protocol_error(c, "SWAP_REPORT for GPU %s refused",
		                    e->gpu->uuid);
		return;
	}
	metrics_swapped(&metrics_global, e->gpu->uuid, r->direction, r->bytes);
	apply(core, e->gpu, &out);
}

void lockproto_handle(struct sched_core *core, struct sched_conn *c,
                      const struct nvs_msg *m, int64_t now)
{
	struct sched_client_gpu *e;

	if (m->hdr.type == NVS_MSG_HELLO) {
		on_hello(core, c, &m->u.hello, now);
		return;
	}
	if (!c->client) {
		conn_protocol_error(c, "%s before HELLO",
		                    nvs_msg_type_name(m->hdr.type));
		return;
	}
	switch (m->hdr.type) {
	case NVS_MSG_REGISTER_GPU:
		on_register(core, c, &m->u.gpu_register, now);
		return;
	case NVS_MSG_REQ_LOCK:
		e = registered(core, c, m, m->u.gpu.uuid);
		if (e)
			on_request(core, c, e, now);
		return;
	case NVS_MSG_LOCK_RELEASED:
		e = registered(core, c, m, m->u.gpu.uuid);
		if (e)
			on_release(core, c, e, now);
		return;
	case NVS_MSG_MEM_UPDATE:
		e = registered(core, c, m, m->u.mem_update.uuid);
		if (e)
			on_mem_update(core, c, e, &m->u.mem_update, now);
		return;
	case NVS_MSG_SWAP_REPORT:
		e = registered(core, c, m, m->u.swap_report.uuid);
		if (e)
			on_swap_report(core, c, e, &m->u.swap_report, now);
		return;
	case NVS_MSG_LIMITS:
		limit_change_reported(core, c->client, &m->u.limits, now);
		return;
	case NVS_MSG_USAGE:
		e = registered(core, c, m, m->u.usage.uuid);
		if (e)
			compute_usage(c->client, e, &m->u.usage, now);
		return;
	case NVS_MSG_PING:
		conn_send(c, NVS_MSG_PONG, &m->u.ping, sizeof(m->u.ping));
		return;
	}
	conn_protocol_error(c, "unexpected %s", nvs_msg_type_name(m->hdr.type));
}

void lockproto_client_gone(struct sched_core *core, struct sched_client *cl,
                           int64_t now)
{
	compute_client_gone(core, cl);
	for (size_t i = 0; i < cl->ngpus; i++) {
		struct sched_gpu *g = cl->gpus[i].gpu;
		struct policy_out out = {.n = 0};

		policy_disconnect(policy_of(core, g), cl->id, now, &out);
		apply(core, g, &out);
	}
	limit_change_pod_moved(core, cl, now); /* its memory is free */
}

/* Warns, once per grant, the running clients of g that a waiter's plan
 * will drop with their memory moved out, so that they make their host
 * buffers (about 0.4 s per GiB on an H200) before the drop instead of
 * during it. */
static void warn_planned_swaps(struct sched_core *core, struct sched_gpu *g)
{
	uint64_t ids[REGISTRY_WARN_MAX];
	size_t n = policy_planned_swaps(&g->policy, ids, REGISTRY_WARN_MAX);

	for (size_t i = 0; i < n; i++) {
		struct sched_client *cl =
		    registry_client_find(&core->reg, ids[i]);
		struct sched_client_gpu *e =
		    cl ? registry_client_gpu(cl, g) : NULL;

		if (!e || e->warned_grant == e->lock_grants)
			continue;
		e->warned_grant = e->lock_grants;
		NVS_DEBUG("event=prepare_swap gpu=%s client=%llu", g->uuid,
		          (unsigned long long)cl->id);
		send_gpu_ref(cl, NVS_MSG_PREPARE_SWAP, g);
	}
}

int64_t lockproto_tick(struct sched_core *core, int64_t now)
{
	int64_t next = POLICY_NO_DEADLINE;

	for (size_t i = 0; i < core->reg.ngpus; i++) {
		struct sched_gpu *g = core->reg.gpus[i];
		struct policy_out out = {.n = 0};
		int64_t d = policy_tick(policy_of(core, g), now, &out);

		apply(core, g, &out);
		warn_planned_swaps(core, g);
		if (d < next)
			next = d;
	}
	int64_t bill = compute_tick(core, now);
	return bill < next ? bill : next;
}

/* Hands the registry's settings to every GPU's policy. */
static void push_settings(struct sched_core *core)
{
	struct policy_settings set;

	registry_policy_settings(&core->reg, &set);
	for (size_t i = 0; i < core->reg.ngpus; i++)
		policy_set_settings(&core->reg.gpus[i]->policy, &set);
}

void lockproto_set_time_slice(struct sched_core *core, uint32_t ms)
{
	core->reg.time_slice_ms = ms;
	push_settings(core);
}

void lockproto_set_max_run(struct sched_core *core, uint32_t ms)
{
	core->reg.max_run_ms = ms;
	push_settings(core);
}

void lockproto_set_mode(struct sched_core *core, enum policy_mode mode)
{
	core->reg.mode = mode;
	push_settings(core);
}

void lockproto_set_managed(struct sched_core *core, int managed)
{
	struct nvs_set_managed sm = {.managed = managed ? 1 : 0};

	core->reg.managed = managed ? 1 : 0;
	for (size_t i = 0; i < core->reg.ngpus; i++) {
		if (!managed)
			policy_clear(&core->reg.gpus[i]->policy);
		policy_set_unmanaged(&core->reg.gpus[i]->policy, !managed);
	}
	/* A client told to run unmanaged (a GPU not of this node) stays so. */
	for (size_t i = 0; i < core->reg.nclients; i++)
		if (!core->reg.clients[i]->refused)
			conn_send(core->reg.clients[i]->conn,
			          NVS_MSG_SET_MANAGED, &sm, sizeof(sm));
}
