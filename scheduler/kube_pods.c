/*
 * kube_pods.c - see kube_pods.h. Runs on the event loop, with changes the
 * watcher thread has already decoded: it only compares, validates and
 * hands limits to limit_change.c, as nvsharectl set --pod does.
 */
#include "kube_pods.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "limit_change.h"
#include "log.h"
#include "pod_annotations.h"
#include "quota.h"

/* Binds cl to the pod the kernel puts it in: the watch cache's namespace
 * and name replace what it declared. */
static void bind_client(struct sched_client *cl, const struct pod_entry *e)
{
	char ns[NVS_POD_NAMESPACE_SIZE], name[NVS_POD_NAME_SIZE];
	char cns[NVS_POD_NAMESPACE_SIZE], cname[NVS_POD_NAME_SIZE];

	if (cl->pod_verified)
		return;
	if (cl->pod_name[0] && (strcmp(cl->pod_name, e->pod_name) != 0 ||
	                        strcmp(quota_namespace(cl->pod_namespace),
	                               e->pod_namespace) != 0)) {
		memcpy(cl->claimed_namespace, cl->pod_namespace,
		       sizeof(cl->claimed_namespace));
		memcpy(cl->claimed_name, cl->pod_name,
		       sizeof(cl->claimed_name));
		NVS_WARN(
		    "event=pod_claim_ignored client=%llu uid=%u "
		    "claimed=%s/%s pod=%s/%s pod_uid=%s",
		    (unsigned long long)cl->id, (unsigned)cl->uid,
		    registry_printable(cl->claimed_namespace, cns, sizeof(cns)),
		    registry_printable(cl->claimed_name, cname, sizeof(cname)),
		    registry_printable(e->pod_namespace, ns, sizeof(ns)),
		    registry_printable(e->pod_name, name, sizeof(name)),
		    e->uid);
	}
	memcpy(cl->pod_namespace, e->pod_namespace, sizeof(cl->pod_namespace));
	memcpy(cl->pod_name, e->pod_name, sizeof(cl->pod_name));
	cl->pod_verified = 1;
}

void kube_pods_identify(struct sched_core *core, struct sched_client *cl)
{
	const struct pod_entry *e =
	    pod_table_find(&core->reg.kube_pods, cl->pod_uid);

	cl->pod_verified = 0;
	if (e)
		bind_client(cl, e);
}

static void post_refusal(struct sched_core *core, const struct pod_entry *e,
                         const char *annotation,
                         const struct kube_annotation *a, const char *why,
                         int in_force)
{
	char shown[KUBE_ANNOTATION_SIZE];
	struct kube_event ev;

	if (!core->kube)
		return;
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.pod_namespace, sizeof(ev.pod_namespace), "%s",
	         e->pod_namespace);
	snprintf(ev.pod_name, sizeof(ev.pod_name), "%s", e->pod_name);
	snprintf(ev.pod_uid, sizeof(ev.pod_uid), "%s",
	         e->api_uid[0] ? e->api_uid : e->uid);
	snprintf(ev.reason, sizeof(ev.reason), "InvalidAnnotation");
	snprintf(
	    ev.note, sizeof(ev.note), "%s=\"%s\" refused: %s; %s", annotation,
	    a->too_long ? "(too long)"
	                : registry_printable(a->value, shown, sizeof(shown)),
	    why,
	    in_force ? "the last valid value stays in force"
	             : "no limit from this annotation is in force");
	kube_watch_post_event(core->kube, &ev);
}

/* 1 if a value this pod's annotation set for key is in force. */
static int annotation_in_force(const struct sched_core *core,
                               const struct pod_entry *e, uint32_t key)
{
	const struct quota_pod *q =
	    quota_pod_find(&core->reg.pods, e->pod_namespace, e->pod_name);

	if (!q || strcmp(q->annotation_uid, e->uid) != 0)
		return 0;
	return key == NVS_CTL_KEY_MEMORY_LIMIT
	           ? q->has_memory && q->memory_origin == QUOTA_FROM_ANNOTATION
	           : q->has_core && q->core_origin == QUOTA_FROM_ANNOTATION;
}

/* One annotation of a pod, seen anew: validated, then set or cleared for
 * the pod through limit_change_pod, or refused with the last good value
 * kept. Nothing is done when the value is the one already seen, so that a
 * limit set later with nvsharectl survives unrelated pod updates. */
static void annotation_seen(struct sched_core *core, struct pod_entry *e,
                            uint32_t key, struct pod_annotation_state *st,
                            const struct kube_annotation *a, int is_new,
                            int64_t seen_ns, int64_t now)
{
	const char *name = key == NVS_CTL_KEY_MEMORY_LIMIT
	                       ? KUBE_ANNOTATION_MEMORY
	                       : KUBE_ANNOTATION_CORE;
	char ns[NVS_POD_NAMESPACE_SIZE], pod[NVS_POD_NAME_SIZE], val[96];
	char why[POD_REFUSAL_SIZE], shown[KUBE_ANNOTATION_SIZE];
	struct limit_source src = {.origin = QUOTA_FROM_ANNOTATION,
	                           .pod_uid = e->uid};
	struct kube_annotation before = st->seen;
	size_t applied = 0, unconfirmed = 0;
	uint64_t v = 0;
	uint32_t pct = 0;
	int rc, bad;

	if (is_new ? !a->present : kube_annotation_same(&st->seen, a))
		return;
	st->seen = *a;
	registry_printable(e->pod_namespace, ns, sizeof(ns));
	registry_printable(e->pod_name, pod, sizeof(pod));
	if (!a->present) {
		st->refused = 0;
		st->reason[0] = 0;
		limit_change_pod(core, e->pod_namespace, e->pod_name, key, NULL,
		                 &src, now, &applied, &unconfirmed);
		NVS_INFO(
		    "event=pod_limit pod=%s/%s annotation=%s value=removed "
		    "clients=%zu",
		    ns, pod, name, applied);
		return;
	}
	bad = key == NVS_CTL_KEY_MEMORY_LIMIT
	          ? pod_annotation_memory(a, &v, why, sizeof(why))
	          : pod_annotation_core(a, &pct, why, sizeof(why));
	if (bad) {
		st->refused = 1;
		snprintf(st->reason, sizeof(st->reason), "%s", why);
		NVS_WARN("event=annotation_refused pod=%s/%s annotation=%s "
		         "value=%s reason=\"%s\"",
		         ns, pod, name,
		         a->too_long ? "(too long)"
		                     : registry_printable(a->value, shown,
		                                          sizeof(shown)),
		         why);
		post_refusal(core, e, name, a, why,
		             annotation_in_force(core, e, key));
		return;
	}
	if (key == NVS_CTL_KEY_CORE_LIMIT)
		v = pct;
	st->refused = 0;
	st->reason[0] = 0;
	rc = limit_change_pod(core, e->pod_namespace, e->pod_name, key, &v,
	                      &src, now, &applied, &unconfirmed);
	if (rc == ENOSPC) {
		st->seen = before; /* not in force: tried again next time */
		NVS_WARN("event=annotation_dropped pod=%s/%s annotation=%s "
		         "reason=\"settings of %d pods kept already\"",
		         ns, pod, name, QUOTA_MAX_PODS);
		return;
	}
	quota_limit_text(key, v, "none", val, sizeof(val));
	NVS_INFO("event=pod_limit pod=%s/%s annotation=%s value=%s clients=%zu "
	         "delay_us=%lld",
	         ns, pod, name, val, applied,
	         (long long)(now - seen_ns) / 1000);
}

/* A pod is gone: what its annotations set goes with it (only what this
 * pod UID set: a new pod of the same name may have set it since), and its
 * processes, if any still run, are no longer bound to its name, so that a
 * new pod of that name neither counts them nor limits them. nvsharectl's
 * settings for the name stay. */
static void pod_gone(struct sched_core *core, const char *uid, int64_t now)
{
	struct pod_entry *e = pod_table_find(&core->reg.kube_pods, uid);
	struct limit_source src = {.origin = QUOTA_FROM_ANNOTATION,
	                           .pod_uid = uid};
	size_t applied, unconfirmed;

	if (!e)
		return;
	limit_change_pod(core, e->pod_namespace, e->pod_name,
	                 NVS_CTL_KEY_MEMORY_LIMIT, NULL, &src, now, &applied,
	                 &unconfirmed);
	limit_change_pod(core, e->pod_namespace, e->pod_name,
	                 NVS_CTL_KEY_CORE_LIMIT, NULL, &src, now, &applied,
	                 &unconfirmed);
	for (size_t i = 0; i < core->reg.nclients; i++) {
		struct sched_client *cl = core->reg.clients[i];
		if (!cl->pod_verified || strcmp(cl->pod_uid, uid) != 0)
			continue;
		cl->pod_verified = 0;
		limit_change_apply(core, cl, now);
	}
	/* A new pod of that name, if any: its processes' shares without
	 * the old pod's. */
	for (size_t i = 0; i < core->reg.nclients; i++) {
		struct sched_client *cl = core->reg.clients[i];
		if (cl->pod_verified &&
		    strcmp(cl->pod_name, e->pod_name) == 0 &&
		    strcmp(cl->pod_namespace, e->pod_namespace) == 0)
			limit_change_apply(core, cl, now);
	}
	NVS_DEBUG("event=kube_pod op=deleted pod_uid=%s", e->uid);
	pod_table_remove(&core->reg.kube_pods, e);
}

static void pod_seen(struct sched_core *core, const struct kube_pod *p,
                     int64_t now)
{
	struct pod_table *t = &core->reg.kube_pods;
	struct pod_entry *e = pod_table_find(t, p->uid);
	int is_new = !e;

	if (is_new) {
		e = pod_table_get(t, p->uid);
		if (!e) {
			NVS_WARN("event=kube_pod_dropped pod_uid=%s "
			         "reason=\"%d pods kept already\"",
			         p->uid, POD_TABLE_MAX);
			return;
		}
		memcpy(e->pod_namespace, p->pod_namespace,
		       sizeof(e->pod_namespace));
		memcpy(e->pod_name, p->pod_name, sizeof(e->pod_name));
		NVS_DEBUG("event=kube_pod op=added pod_uid=%s", e->uid);
	}
	memcpy(e->api_uid, p->api_uid, sizeof(e->api_uid));
	/* The annotations first, so that a process bound below gets its
	 * pod's limits in one SET_LIMITS. */
	annotation_seen(core, e, NVS_CTL_KEY_MEMORY_LIMIT, &e->memory,
	                &p->memory, is_new, p->seen_ns, now);
	annotation_seen(core, e, NVS_CTL_KEY_CORE_LIMIT, &e->core, &p->core,
	                is_new, p->seen_ns, now);
	if (!is_new)
		return;
	for (size_t i = 0; i < core->reg.nclients; i++) {
		struct sched_client *cl = core->reg.clients[i];
		if (cl->pod_verified || strcmp(cl->pod_uid, e->uid) != 0)
			continue;
		bind_client(cl, e);
		limit_change_apply(core, cl, now);
	}
}

void kube_pods_apply(struct sched_core *core, const struct kube_change *ch,
                     size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		if (ch[i].deleted)
			pod_gone(core, ch[i].pod.uid, now);
		else
			pod_seen(core, &ch[i].pod, now);
	}
}
