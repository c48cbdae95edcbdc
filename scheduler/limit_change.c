/*
 * limit_change.c - see limit_change.h.
 */
#include "limit_change.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "compute.h"
#include "conn.h"
#include "log.h"
#include "quota.h"

static void format_limits(const struct nvs_limits *l, char *buf, size_t len)
{
	char mem[32] = "none";

	if (l->memory_bytes)
		snprintf(mem, sizeof(mem), "%llu",
		         (unsigned long long)l->memory_bytes);
	if (l->core_pct)
		snprintf(buf, len, "memory_limit=%s core_limit=%u", mem,
		         l->core_pct);
	else
		snprintf(buf, len, "memory_limit=%s core_limit=none", mem);
}

/* Limits set for the pod cl declared apply only when the kernel confirms
 * that it is in that pod (or the operator trusts declared names): a claim
 * must not bring another pod's limits, nor shed its own pod's. */
static struct quota_pod *pod_settings(const struct sched_core *core,
                                      const struct sched_client *cl)
{
	if (!cl->pod_name[0] ||
	    !(cl->pod_verified || core->cfg->trust_pod_names))
		return NULL;
	return quota_pod_find(&core->reg.pods, cl->pod_namespace, cl->pod_name);
}

/* 1 if o counts in cl's pod: the same pod, on the same terms as
 * pod_settings (cheaper than looking the pod up for every client). */
static int same_pod(const struct sched_core *core,
                    const struct sched_client *cl, const struct sched_client *o)
{
	return o != cl && o->pod_name[0] &&
	       (o->pod_verified || core->cfg->trust_pod_names) &&
	       strcmp(o->pod_name, cl->pod_name) == 0 &&
	       strcmp(quota_namespace(o->pod_namespace),
	              quota_namespace(cl->pod_namespace)) == 0;
}

/* What the other processes of cl's pod have on gpu. */
static uint64_t pod_others_on(const struct sched_core *core,
                              const struct sched_client *cl,
                              const struct sched_gpu *gpu)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < core->reg.nclients; i++) {
		const struct sched_client *o = core->reg.clients[i];
		const struct policy_member *m;

		if (!same_pod(core, cl, o))
			continue;
		m = policy_member_of(&gpu->policy, o->id);
		if (m)
			sum += m->footprint_bytes;
	}
	return sum;
}

/* Memory the other processes of cl's pod have on the GPU where they have
 * the most among those cl uses (all GPUs if it uses none yet): what they
 * take of a limit set for the pod. */
static uint64_t pod_others_bytes(const struct sched_core *core,
                                 const struct sched_client *cl)
{
	uint64_t most = 0, sum;

	if (cl->ngpus == 0)
		for (size_t g = 0; g < core->reg.ngpus; g++) {
			sum = pod_others_on(core, cl, core->reg.gpus[g]);
			most = sum > most ? sum : most;
		}
	for (size_t k = 0; k < cl->ngpus; k++) {
		sum = pod_others_on(core, cl, cl->gpus[k].gpu);
		most = sum > most ? sum : most;
	}
	return most;
}

void limit_change_apply(struct sched_core *core, struct sched_client *cl,
                        int64_t now)
{
	struct quota_pod *pod = pod_settings(core, cl);
	/* Most specific last: the client's own, its pod's, its very own. */
	struct nvs_limits pod_view = quota_effective(&cl->own, pod);
	struct nvs_limits want = quota_effective(&pod_view, &cl->set);
	char text[96];

	cl->memory_origin = cl->set.has_memory       ? QUOTA_FROM_CLIENT_CTL
	                    : pod && pod->has_memory ? pod->memory_origin
	                                             : QUOTA_FROM_OWN;
	cl->core_origin = cl->set.has_core       ? QUOTA_FROM_CLIENT_CTL
	                  : pod && pod->has_core ? pod->core_origin
	                                         : QUOTA_FROM_OWN;
	/* A pod's memory limit covers the pod: each process may allocate
	 * what the others leave of it (1 byte, not 0, which means none). */
	cl->pod_memory_shared =
	    !cl->set.has_memory && pod && pod->has_memory && pod->memory_bytes;
	if (cl->pod_memory_shared) {
		uint64_t others = pod_others_bytes(core, cl);
		want.memory_bytes =
		    others < pod->memory_bytes ? pod->memory_bytes - others : 1;
	}
	if (quota_differ(&want, &cl->limits)) {
		format_limits(&want, text, sizeof(text));
		/* A share that follows the pod's others is routine. */
		if (cl->pod_memory_shared &&
		    want.core_pct == cl->limits.core_pct &&
		    cl->limits.memory_bytes)
			NVS_DEBUG("event=set_limits client=%llu %s share=pod",
			          (unsigned long long)cl->id, text);
		else
			NVS_INFO("event=set_limits client=%llu %s",
			         (unsigned long long)cl->id, text);
		cl->limits = want;
		conn_send(cl->conn, NVS_MSG_SET_LIMITS, &want, sizeof(want));
	}
	/* The bill may not know the limit yet (a client's first LIMITS). */
	compute_limits_changed(core, cl, now);
}

void limit_change_reported(struct sched_core *core, struct sched_client *cl,
                           const struct nvs_limits *l, int64_t now)
{
	char text[96];

	format_limits(l, text, sizeof(text));
	/* A confirmation of what was sent is routine (a pod's memory share
	 * moves with every allocation of its others). */
	if (cl->has_own && !quota_differ(l, &cl->limits))
		NVS_DEBUG("event=limits client=%llu %s confirmed",
		          (unsigned long long)cl->id, text);
	else
		NVS_INFO("event=limits client=%llu %s%s",
		         (unsigned long long)cl->id, text,
		         cl->has_own ? "" : " source=client");
	if (!cl->has_own) {
		cl->own = *l;
		cl->has_own = 1;
	}
	cl->limits = *l;
	limit_change_apply(core, cl, now);
}

void limit_change_pod_moved(struct sched_core *core,
                            const struct sched_client *cl, int64_t now)
{
	struct quota_pod *pod = pod_settings(core, cl);

	if (!pod || !pod->has_memory || !pod->memory_bytes)
		return;
	for (size_t i = 0; i < core->reg.nclients; i++) {
		struct sched_client *o = core->reg.clients[i];
		if (same_pod(core, cl, o))
			limit_change_apply(core, o, now);
	}
}

static void set_field(struct quota_pod *p, uint32_t key, uint64_t v,
                      enum quota_origin origin)
{
	if (key == NVS_CTL_KEY_MEMORY_LIMIT) {
		p->has_memory = 1;
		p->memory_bytes = v;
		p->memory_origin = origin;
	} else {
		p->has_core = 1;
		p->core_pct = (uint32_t)v;
		p->core_origin = origin;
	}
}

/* 1 if the field of key was set by src (and is then cleared). */
static int clear_field(struct quota_pod *p, uint32_t key,
                       const struct limit_source *src)
{
	enum quota_origin origin = src->origin;

	if (origin == QUOTA_FROM_ANNOTATION &&
	    strcmp(p->annotation_uid, src->pod_uid ? src->pod_uid : "") != 0)
		return 0; /* another pod of that name set it */
	if (key == NVS_CTL_KEY_MEMORY_LIMIT && p->has_memory &&
	    p->memory_origin == origin) {
		p->has_memory = 0;
		p->memory_bytes = 0;
		return 1;
	}
	if (key == NVS_CTL_KEY_CORE_LIMIT && p->has_core &&
	    p->core_origin == origin) {
		p->has_core = 0;
		p->core_pct = 0;
		return 1;
	}
	return 0;
}

int limit_change_pod(struct sched_core *core, const char *pod_namespace,
                     const char *pod_name, uint32_t key, const uint64_t *value,
                     const struct limit_source *src, int64_t now,
                     size_t *applied, size_t *unconfirmed)
{
	struct quota_pod *p;

	*applied = *unconfirmed = 0;
	if (value) {
		p = quota_pod_get(&core->reg.pods, pod_namespace, pod_name);
		if (!p)
			return ENOSPC;
		set_field(p, key, *value, src->origin);
		if (src->origin == QUOTA_FROM_ANNOTATION)
			snprintf(p->annotation_uid, sizeof(p->annotation_uid),
			         "%s", src->pod_uid ? src->pod_uid : "");
	} else {
		p = quota_pod_find(&core->reg.pods, pod_namespace, pod_name);
		if (!p || !clear_field(p, key, src))
			return 0;
	}
	for (size_t i = 0; i < core->reg.nclients; i++) {
		struct sched_client *cl = core->reg.clients[i];
		if (pod_settings(core, cl) != p) {
			if (quota_pod_find(&core->reg.pods, cl->pod_namespace,
			                   cl->pod_name) == p)
				(*unconfirmed)++;
			continue;
		}
		limit_change_apply(core, cl, now);
		(*applied)++;
	}
	if (!p->has_memory && !p->has_core)
		quota_pod_remove(&core->reg.pods, p); /* nothing left */
	return 0;
}

/* Limits larger than the GPU are accepted: the scheduler then swaps. */
int limit_change_set(struct sched_core *core,
                     const struct nvs_ctl_set_client *m, pid_t pid, uid_t uid,
                     int64_t now, char *reply, size_t len)
{
	const char *what =
	    m->key == NVS_CTL_KEY_MEMORY_LIMIT ? "memory_limit" : "core_limit";
	char err[128], val[32], ns[NVS_POD_NAMESPACE_SIZE];
	char pod[NVS_POD_NAME_SIZE];
	struct limit_source ctl = {.origin = QUOTA_FROM_POD_CTL};
	uint64_t v;
	size_t n = 0, unconfirmed = 0;

	if (quota_value_of(m->key, m->value, &v, err, sizeof(err))) {
		NVS_WARN("event=set_refused key=%s reason=\"%s\" pid=%d uid=%u",
		         what, err, (int)pid, (unsigned)uid);
		snprintf(reply, len, "%s", err);
		return EINVAL;
	}
	quota_limit_text(m->key, v, "none", val, sizeof(val));
	if (m->client_id) {
		struct sched_client *cl =
		    registry_client_find(&core->reg, m->client_id);
		if (!cl) {
			snprintf(reply, len, "no client %llu connected",
			         (unsigned long long)m->client_id);
			return ENOENT;
		}
		set_field(&cl->set, m->key, v, QUOTA_FROM_CLIENT_CTL);
		NVS_INFO("event=set key=%s client=%llu value=%s pid=%d uid=%u",
		         what, (unsigned long long)cl->id, val, (int)pid,
		         (unsigned)uid);
		limit_change_apply(core, cl, now);
		snprintf(reply, len, "ok client=%llu %s=%s",
		         (unsigned long long)cl->id, what, val);
		return 0;
	}
	if (limit_change_pod(core, m->pod_namespace, m->pod_name, m->key, &v,
	                     &ctl, now, &n, &unconfirmed)) {
		snprintf(reply, len,
		         "cannot keep settings for another pod (%d kept)",
		         QUOTA_MAX_PODS);
		return ENOSPC;
	}
	registry_printable(quota_namespace(m->pod_namespace), ns, sizeof(ns));
	registry_printable(m->pod_name, pod, sizeof(pod));
	NVS_INFO("event=set key=%s pod=%s/%s value=%s clients=%zu "
	         "unconfirmed=%zu pid=%d uid=%u",
	         what, ns, pod, val, n, unconfirmed, (int)pid, (unsigned)uid);
	snprintf(reply, len, "ok pod=%s/%s %s=%s clients=%zu%s", ns, pod, what,
	         val, n,
	         unconfirmed ? " (processes that only claim this pod, "
	                       "unconfirmed by the kernel, are not changed)"
	                     : "");
	return 0;
}
