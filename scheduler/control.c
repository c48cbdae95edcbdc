/*
 * control.c - see control.h. The permission check reads the socket file's
 * group at the time of the request (an operator may chgrp it while the
 * scheduler runs) and, only when needed, the peer's supplementary groups
 * from /proc. Settings are validated here; invalid values are refused with
 * EINVAL and a reason, and nothing changes.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockproto.h"
#include "log.h"
#include "perm.h"
#include "status.h"

#define CTL_SLICE_MIN_MS 1
#define CTL_SLICE_MAX_MS 3600000
#define CTL_MAX_RUN_MIN_MS 1
#define CTL_MAX_RUN_MAX_MS 3600000
#define PROC_STATUS_MAX 65536 /* enough for the "Groups:" line */

/* 1 if /proc/<pid>/status lists gid among the supplementary groups. */
static int peer_in_group(pid_t pid, gid_t gid)
{
	char path[64], *buf;
	ssize_t n;
	size_t used = 0;
	int fd, found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	buf = malloc(PROC_STATUS_MAX);
	if (!buf)
		goto out;
	while (used < PROC_STATUS_MAX - 1 &&
	       (n = read(fd, buf + used, PROC_STATUS_MAX - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	found = perm_groups_contain(buf, gid);
	free(buf);
out:
	close(fd);
	return found;
}

static int allowed(const struct server *s, const struct sched_conn *c,
                   gid_t *sock_gid)
{
	struct stat st;

	*sock_gid =
	    stat(s->cfg->socket_path, &st) == 0 ? st.st_gid : s->sock_gid;
	if (perm_control_allowed(c->uid, c->gid, 0, s->self_uid, *sock_gid))
		return 1;
	return perm_control_allowed(c->uid, c->gid,
	                            peer_in_group(c->pid, *sock_gid),
	                            s->self_uid, *sock_gid);
}

static void reply(struct server *s, struct sched_conn *c, int32_t status,
                  const char *text)
{
	server_send_reply(s, c, status, text, strlen(text));
}

static void on_status(struct server *s, struct sched_conn *c,
                      const struct nvs_ctl_status *st, int64_t now)
{
	struct status_buf b = {0};
	int rc = st->format == NVS_CTL_FORMAT_JSON
	             ? status_render_json(&s->reg, now, &b)
	             : status_render_text(&s->reg, now, &b);
	char msg[96];

	if (rc < 0) {
		reply(s, c, ENOMEM, "status unavailable: out of memory");
	} else if (b.len > NVS_CTL_TEXT_MAX) {
		snprintf(msg, sizeof(msg), "status too large (%zu bytes)",
		         b.len);
		reply(s, c, EFBIG, msg);
	} else {
		server_send_reply(s, c, 0, b.p, b.len);
	}
	status_buf_free(&b);
}

/* "auto" or the number of ms, for logs and replies. */
static const char *slice_text(uint32_t ms, char *buf, size_t len)
{
	if (ms == REGISTRY_SLICE_AUTO)
		snprintf(buf, len, "auto");
	else
		snprintf(buf, len, "%u", ms);
	return buf;
}

static void set_time_slice(struct server *s, struct sched_conn *c,
                           int64_t value)
{
	char msg[96], old[16], now[16];

	if (value != REGISTRY_SLICE_AUTO &&
	    (value < CTL_SLICE_MIN_MS || value > CTL_SLICE_MAX_MS)) {
		snprintf(msg, sizeof(msg),
		         "time slice must be 0 (auto) or %d..%d ms, got %lld",
		         CTL_SLICE_MIN_MS, CTL_SLICE_MAX_MS, (long long)value);
		reply(s, c, EINVAL, msg);
		return;
	}
	NVS_INFO("event=set key=time_slice_ms old=%s new=%s pid=%d uid=%u",
	         slice_text(s->reg.time_slice_ms, old, sizeof(old)),
	         slice_text((uint32_t)value, now, sizeof(now)), (int)c->pid,
	         (unsigned)c->uid);
	lockproto_set_time_slice(s, (uint32_t)value);
	snprintf(msg, sizeof(msg), "ok time_slice_ms=%s", now);
	reply(s, c, 0, msg);
}

static void set_max_run(struct server *s, struct sched_conn *c, int64_t value)
{
	char msg[96];

	if (value < CTL_MAX_RUN_MIN_MS || value > CTL_MAX_RUN_MAX_MS) {
		snprintf(
		    msg, sizeof(msg), "max run must be %d..%d ms, got %lld",
		    CTL_MAX_RUN_MIN_MS, CTL_MAX_RUN_MAX_MS, (long long)value);
		reply(s, c, EINVAL, msg);
		return;
	}
	NVS_INFO("event=set key=max_run_ms old=%u new=%lld pid=%d uid=%u",
	         s->reg.max_run_ms, (long long)value, (int)c->pid,
	         (unsigned)c->uid);
	lockproto_set_max_run(s, (uint32_t)value);
	snprintf(msg, sizeof(msg), "ok max_run_ms=%lld", (long long)value);
	reply(s, c, 0, msg);
}

static void set_mode(struct server *s, struct sched_conn *c, int64_t value)
{
	char msg[96];

	if (value != POLICY_MODE_AUTO && value != POLICY_MODE_SERIAL &&
	    value != POLICY_MODE_CONCURRENT) {
		snprintf(msg, sizeof(msg),
		         "mode must be 0 (auto), 1 (serial) or 2 (concurrent), "
		         "got %lld",
		         (long long)value);
		reply(s, c, EINVAL, msg);
		return;
	}
	NVS_INFO("event=set key=mode old=%s new=%s pid=%d uid=%u",
	         policy_mode_name(s->reg.mode),
	         policy_mode_name((enum policy_mode)value), (int)c->pid,
	         (unsigned)c->uid);
	lockproto_set_mode(s, (enum policy_mode)value);
	snprintf(msg, sizeof(msg), "ok mode=%s",
	         policy_mode_name((enum policy_mode)value));
	reply(s, c, 0, msg);
}

static void set_managed(struct server *s, struct sched_conn *c, int64_t value)
{
	char msg[96];

	if (value != 0 && value != 1) {
		snprintf(msg, sizeof(msg), "managed must be 0 or 1, got %lld",
		         (long long)value);
		reply(s, c, EINVAL, msg);
		return;
	}
	if (value == s->reg.managed) {
		snprintf(msg, sizeof(msg), "ok managed=%lld (unchanged)",
		         (long long)value);
		reply(s, c, 0, msg);
		return;
	}
	NVS_INFO("event=set key=managed new=%lld clients=%zu pid=%d uid=%u",
	         (long long)value, s->reg.nclients, (int)c->pid,
	         (unsigned)c->uid);
	lockproto_set_managed(s, (int)value);
	snprintf(msg, sizeof(msg), "ok managed=%lld", (long long)value);
	reply(s, c, 0, msg);
}

static void set_field(struct quota_pod *p, uint32_t key, uint64_t v)
{
	if (key == NVS_CTL_KEY_MEMORY_LIMIT) {
		p->has_memory = 1;
		p->memory_bytes = v;
	} else {
		p->has_core = 1;
		p->core_pct = (uint32_t)v;
	}
}

/* A limit for one client, or for every process of a pod (now and later).
 * Limits larger than the GPU are accepted: the scheduler then swaps. */
static void set_client_limit(struct server *s, struct sched_conn *c,
                             const struct nvs_ctl_set_client *m, int64_t now)
{
	const char *what =
	    m->key == NVS_CTL_KEY_MEMORY_LIMIT ? "memory_limit" : "core_limit";
	char msg[512], err[128], val[32], ns[64], pod[256];
	uint64_t v;
	size_t n = 0;

	if (quota_value_of(m->key, m->value, &v, err, sizeof(err))) {
		NVS_WARN("event=set_refused key=%s reason=\"%s\" pid=%d uid=%u",
		         what, err, (int)c->pid, (unsigned)c->uid);
		reply(s, c, EINVAL, err);
		return;
	}
	quota_limit_text(m->key, v, "none", val, sizeof(val));
	if (m->client_id) {
		struct sched_client *cl =
		    registry_client_find(&s->reg, m->client_id);
		if (!cl) {
			snprintf(msg, sizeof(msg), "no client %llu connected",
			         (unsigned long long)m->client_id);
			reply(s, c, ENOENT, msg);
			return;
		}
		set_field(&cl->set, m->key, v);
		NVS_INFO("event=set key=%s client=%llu value=%s pid=%d uid=%u",
		         what, (unsigned long long)cl->id, val, (int)c->pid,
		         (unsigned)c->uid);
		lockproto_apply_limits(s, cl, now);
		snprintf(msg, sizeof(msg), "ok client=%llu %s=%s",
		         (unsigned long long)cl->id, what, val);
		reply(s, c, 0, msg);
		return;
	}
	struct quota_pod *p =
	    quota_pod_get(&s->reg.pods, m->pod_namespace, m->pod_name);
	if (!p) {
		snprintf(msg, sizeof(msg),
		         "cannot keep settings for another pod (%d kept)",
		         QUOTA_MAX_PODS);
		reply(s, c, ENOSPC, msg);
		return;
	}
	set_field(p, m->key, v);
	for (size_t i = 0; i < s->reg.nclients; i++) {
		struct sched_client *cl = s->reg.clients[i];
		if (quota_pod_find(&s->reg.pods, cl->pod_namespace,
		                   cl->pod_name) != p)
			continue;
		lockproto_apply_limits(s, cl, now);
		n++;
	}
	registry_printable(p->pod_namespace, ns, sizeof(ns));
	registry_printable(p->pod_name, pod, sizeof(pod));
	NVS_INFO("event=set key=%s pod=%s/%s value=%s clients=%zu pid=%d "
	         "uid=%u",
	         what, ns, pod, val, n, (int)c->pid, (unsigned)c->uid);
	snprintf(msg, sizeof(msg), "ok pod=%s/%s %s=%s clients=%zu", ns, pod,
	         what, val, n);
	reply(s, c, 0, msg);
}

void control_handle(struct server *s, struct sched_conn *c,
                    const struct nvs_msg *m, int64_t now)
{
	gid_t sock_gid;
	char msg[160];

	if (!allowed(s, c, &sock_gid)) {
		NVS_WARN("event=control_denied type=%s pid=%d uid=%u gid=%u "
		         "socket_gid=%u",
		         nvs_msg_type_name(m->hdr.type), (int)c->pid,
		         (unsigned)c->uid, (unsigned)c->gid,
		         (unsigned)sock_gid);
		snprintf(msg, sizeof(msg),
		         "permission denied: uid %u is not root, not the "
		         "scheduler's user and not in group %u of the socket",
		         (unsigned)c->uid, (unsigned)sock_gid);
		reply(s, c, EPERM, msg);
		return;
	}
	if (m->hdr.type == NVS_MSG_CTL_STATUS) {
		on_status(s, c, &m->u.ctl_status, now);
		return;
	}
	if (m->hdr.type == NVS_MSG_CTL_SET_CLIENT) {
		set_client_limit(s, c, &m->u.ctl_set_client, now);
		return;
	}
	/* CTL_SET: nvs_msg_validate already refused unknown keys. */
	switch (m->u.ctl_set.key) {
	case NVS_CTL_KEY_TIME_SLICE_MS:
		set_time_slice(s, c, m->u.ctl_set.value);
		return;
	case NVS_CTL_KEY_MAX_RUN_MS:
		set_max_run(s, c, m->u.ctl_set.value);
		return;
	case NVS_CTL_KEY_MODE: set_mode(s, c, m->u.ctl_set.value); return;
	default: set_managed(s, c, m->u.ctl_set.value); return;
	}
}
