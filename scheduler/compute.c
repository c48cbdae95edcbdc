/*
 * compute.c - see compute.h.
 */
#include "compute.h"

#include <string.h>

#include "billing.h"
#include "conn.h"
#include "log.h"
#include "metrics_counters.h"

/* The policy library stands alone (no protocol header): the two tick
 * lengths are one. */
_Static_assert(BILL_TICK_NS == NVS_USAGE_TICK_NS, "one tick on both sides");

/* A limited client that could not be billed is held throttled: never
 * unthrottled for want of a billing entry. The metrics follow what the
 * client is told (held throttled counts as throttled time). */
static void send_state(struct sched_client *cl, struct sched_client_gpu *e)
{
	struct nvs_throttle t;

	memset(&t, 0, sizeof(t));
	memcpy(t.uuid, e->gpu->uuid, sizeof(t.uuid));
	t.throttled = e->unbilled
	                  ? cl->limits.core_pct != 0
	                  : (uint32_t)bill_throttled(&e->gpu->bill, cl->id);
	metrics_throttle(&metrics_global, cl->id, e->gpu->uuid,
	                 (int)t.throttled, nvs_now_ns());
	t.meter = e->gpu->metered ? 1 : 0;
	e->meter_sent = e->gpu->metered;
	conn_send(cl->conn, NVS_MSG_THROTTLE, &t, sizeof(t));
}

/* Metering on g follows whether anyone there (but `gone`, a client on its
 * way out) has a core limit; every client whose view is out of date is
 * told. */
static void update_meter(struct sched_core *core, struct sched_gpu *g,
                         const struct sched_client *gone)
{
	int metered = 0;

	for (size_t i = 0; i < core->reg.nclients && !metered; i++) {
		struct sched_client *cl = core->reg.clients[i];
		metered = cl != gone && cl->limits.core_pct &&
		          registry_client_gpu(cl, g);
	}
	if (metered != g->metered)
		NVS_INFO("event=metering gpu=%s on=%d", g->uuid, metered);
	g->metered = metered;
	for (size_t i = 0; i < core->reg.nclients; i++) {
		struct sched_client *cl = core->reg.clients[i];
		struct sched_client_gpu *e = registry_client_gpu(cl, g);
		if (cl != gone && e && e->meter_sent != metered)
			send_state(cl, e);
	}
}

static void apply(struct sched_core *core, struct sched_gpu *g,
                  const struct bill_out *out)
{
	for (size_t i = 0; i < out->n; i++) {
		const struct bill_action *a = &out->a[i];
		struct sched_client *cl =
		    registry_client_find(&core->reg, a->client);
		struct sched_client_gpu *e =
		    cl ? registry_client_gpu(cl, g) : NULL;
		if (!e)
			continue;
		if (a->kind == BILL_THROTTLE)
			e->throttles++;
		metrics_throttle(&metrics_global, cl->id, g->uuid,
		                 a->kind == BILL_THROTTLE, nvs_now_ns());
		NVS_DEBUG("event=%s gpu=%s client=%llu",
		          a->kind == BILL_THROTTLE ? "throttle" : "unthrottle",
		          g->uuid, (unsigned long long)cl->id);
		send_state(cl, e);
	}
}

/* Whose share of the billing table cl takes: its pod (the kernel's pod
 * UID, hashed, top bit set) or, outside pods, its uid. */
static uint64_t bill_owner(const struct sched_client *cl)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	if (!cl->pod_uid[0])
		return (uint64_t)cl->uid;
	for (const char *p = cl->pod_uid; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h | (1ULL << 63);
}

/* A billing entry for cl on g within its owner's share; 0, or -1 with
 * the client marked unbilled. */
static int bill_entry(struct sched_client *cl, struct sched_client_gpu *e)
{
	int rc = bill_add_owned(&e->gpu->bill, cl->id, bill_owner(cl),
	                        cl->limits.core_pct, BILL_OWNER_SHARE);

	e->unbilled = rc < 0;
	return rc;
}

/* The client whose entry on g went to `to`: unbilled from now on, and
 * held throttled if it has a core limit (it gets an entry back when one
 * frees, as every unbilled client does). */
static void evicted(struct sched_core *core, struct sched_gpu *g, uint64_t id,
                    const struct sched_client *to)
{
	struct sched_client *cl = registry_client_find(&core->reg, id);
	struct sched_client_gpu *e = cl ? registry_client_gpu(cl, g) : NULL;

	if (!e)
		return;
	e->unbilled = 1;
	NVS_WARN("event=billing_evicted gpu=%s client=%llu uid=%u for=%llu "
	         "limited=%d msg=\"its owner holds more billing entries here "
	         "than the newcomer's: this client, unlimited or idle, gives "
	         "one up\"",
	         g->uuid, (unsigned long long)cl->id, (unsigned)cl->uid,
	         (unsigned long long)to->id, cl->limits.core_pct != 0);
	if (cl->limits.core_pct)
		send_state(cl, e);
}

void compute_attach(struct sched_core *core, struct sched_client *cl,
                    struct sched_gpu *g, int64_t now)
{
	struct sched_client_gpu *e = registry_client_gpu(cl, g);
	uint64_t gone;
	int rc;

	if (!e)
		return;
	if (!g->bill.window_ns)
		bill_init(&g->bill,
		          (int64_t)core->cfg->core_window_ms * 1000000, now);
	/* A full table gives way to a newcomer whose owner holds fewer
	 * entries than the largest holder (an idle flood costs the
	 * flooder). */
	rc = bill_add_evicting(&g->bill, cl->id, bill_owner(cl),
	                       cl->limits.core_pct, BILL_OWNER_SHARE, now,
	                       &gone);
	e->unbilled = rc < 0;
	if (gone)
		evicted(core, g, gone, cl);
	if (rc < 0)
		NVS_WARN("event=billing_full gpu=%s client=%llu uid=%u "
		         "reason=\"%s\" max=%d uid_share=%d msg=\"not billed: "
		         "held throttled while it has a core limit\"",
		         g->uuid, (unsigned long long)cl->id, (unsigned)cl->uid,
		         rc == -2 ? "owner share used" : "table full",
		         BILL_MAX_CLIENTS, BILL_OWNER_SHARE);
	update_meter(core, g, NULL);
	if (e->unbilled && cl->limits.core_pct)
		send_state(cl, e);
}

/* Entries freed on g: each goes to the unbilled client whose owner
 * holds the fewest there (the oldest of those), so that a freed entry
 * does not drift back to the owner that lost it to a smaller one. */
static void bill_waiting(struct sched_core *core, struct sched_gpu *g,
                         const struct sched_client *gone)
{
	for (;;) {
		struct sched_client *pick = NULL;
		size_t fewest = BILL_OWNER_SHARE;

		for (size_t i = 0; i < core->reg.nclients; i++) {
			struct sched_client *cl = core->reg.clients[i];
			struct sched_client_gpu *e = registry_client_gpu(cl, g);
			size_t k;

			if (cl == gone || !e || !e->unbilled)
				continue;
			k = bill_owned(&g->bill, bill_owner(cl));
			if (k < fewest) {
				pick = cl;
				fewest = k;
			}
		}
		if (!pick || bill_entry(pick, registry_client_gpu(pick, g)) < 0)
			return;
		NVS_INFO("event=billed gpu=%s client=%llu", g->uuid,
		         (unsigned long long)pick->id);
		send_state(pick, registry_client_gpu(pick, g));
	}
}

void compute_client_gone(struct sched_core *core, struct sched_client *cl)
{
	for (size_t i = 0; i < cl->ngpus; i++) {
		struct sched_gpu *g = cl->gpus[i].gpu;
		bill_remove(&g->bill, cl->id);
		update_meter(core, g, cl);
		if (!cl->gpus[i].unbilled)
			bill_waiting(core, g, cl);
	}
}

void compute_limits_changed(struct sched_core *core, struct sched_client *cl,
                            int64_t now)
{
	for (size_t i = 0; i < cl->ngpus; i++) {
		struct sched_gpu *g = cl->gpus[i].gpu;
		struct bill_out out = {.n = 0};
		const struct bill_client *b = bill_client_of(&g->bill, cl->id);

		if (cl->gpus[i].unbilled) {
			update_meter(core, g, NULL);
			send_state(cl, &cl->gpus[i]);
			continue;
		}
		if (!b || b->limit_pct == cl->limits.core_pct)
			continue;
		bill_set_limit(&g->bill, cl->id, cl->limits.core_pct, now,
		               &out);
		apply(core, g, &out);
		update_meter(core, g, NULL);
	}
}

void compute_usage(struct sched_client *cl, struct sched_client_gpu *e,
                   const struct nvs_usage *u, int64_t now)
{
	NVS_DEBUG("event=usage client=%llu tick=%lld busy_ns=%llu",
	          (unsigned long long)cl->id, (long long)u->tick,
	          (unsigned long long)u->busy_ns);
	/* A tick that has not begun cannot have been busy; kept, it would
	 * hold a slot of the client's open ticks. */
	if (u->tick > now / NVS_USAGE_TICK_NS ||
	    bill_report(&e->gpu->bill, cl->id, u->tick, (int64_t)u->busy_ns))
		NVS_DEBUG("event=usage_refused gpu=%s client=%llu tick=%lld",
		          e->gpu->uuid, (unsigned long long)cl->id,
		          (long long)u->tick);
}

int64_t compute_tick(struct sched_core *core, int64_t now)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < core->reg.ngpus; i++) {
		struct sched_gpu *g = core->reg.gpus[i];
		struct bill_out out = {.n = 0};
		int64_t d;

		/* Nothing to bill where nobody is limited. */
		if (!g->bill.window_ns || !g->metered)
			continue;
		d = bill_advance(&g->bill, now, &out);
		apply(core, g, &out);
		if (d < next)
			next = d;
	}
	return next;
}
