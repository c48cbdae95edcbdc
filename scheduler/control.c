/*
 * control.c - see control.h. The permission check reads the socket file's
 * group at the time of the request (an operator may chgrp it while the
 * scheduler runs) and, only when needed, the peer's supplementary groups
 * from /proc. Settings are validated here (limits in limit_change.c);
 * invalid values are refused with EINVAL and a reason, and nothing
 * changes.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "limit_change.h"
#include "lockproto.h"
#include "log.h"
#include "perm.h"
#include "status.h"

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

static int allowed(const struct sched_core *core, const struct sched_conn *c,
                   gid_t *sock_gid)
{
	struct stat st;

	*sock_gid =
	    stat(core->cfg->socket_path, &st) == 0 ? st.st_gid : core->sock_gid;
	if (perm_control_allowed(c->uid, c->gid, 0, core->self_uid, *sock_gid))
		return 1;
	return perm_control_allowed(c->uid, c->gid,
	                            peer_in_group(c->pid, *sock_gid),
	                            core->self_uid, *sock_gid);
}

static void reply(struct sched_conn *c, int32_t status, const char *text)
{
	conn_send_reply(c, status, text, strlen(text));
}

static void on_status(struct sched_core *core, struct sched_conn *c,
                      const struct nvs_ctl_status *st, int64_t now)
{
	struct status_buf b = {0};
	int rc = st->format == NVS_CTL_FORMAT_JSON
	             ? status_render_json(&core->reg, now, &b)
	             : status_render_text(&core->reg, now, &b);
	char msg[96];

	if (rc < 0) {
		reply(c, ENOMEM, "status unavailable: out of memory");
	} else if (b.len > NVS_CTL_TEXT_MAX) {
		snprintf(msg, sizeof(msg), "status too large (%zu bytes)",
		         b.len);
		reply(c, EFBIG, msg);
	} else {
		conn_send_reply(c, 0, b.p, b.len);
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

static void set_time_slice(struct sched_core *core, struct sched_conn *c,
                           int64_t value)
{
	char msg[96], old[16], now[16];

	if (value != REGISTRY_SLICE_AUTO &&
	    (value < NVS_SETTING_MS_MIN || value > NVS_SETTING_MS_MAX)) {
		snprintf(msg, sizeof(msg),
		         "time slice must be %d (auto) or %d..%d ms, got %lld",
		         REGISTRY_SLICE_AUTO, NVS_SETTING_MS_MIN,
		         NVS_SETTING_MS_MAX, (long long)value);
		reply(c, EINVAL, msg);
		return;
	}
	/* Filled before the log line: its arguments are not evaluated below
	 * the info level, and the reply needs them too. */
	slice_text(core->reg.time_slice_ms, old, sizeof(old));
	slice_text((uint32_t)value, now, sizeof(now));
	NVS_INFO("event=set key=time_slice_ms old=%s new=%s pid=%d uid=%u", old,
	         now, (int)c->pid, (unsigned)c->uid);
	lockproto_set_time_slice(core, (uint32_t)value);
	snprintf(msg, sizeof(msg), "ok time_slice_ms=%s", now);
	reply(c, 0, msg);
}

static void set_max_run(struct sched_core *core, struct sched_conn *c,
                        int64_t value)
{
	char msg[96];

	if (value < NVS_SETTING_MS_MIN || value > NVS_SETTING_MS_MAX) {
		snprintf(
		    msg, sizeof(msg), "max run must be %d..%d ms, got %lld",
		    NVS_SETTING_MS_MIN, NVS_SETTING_MS_MAX, (long long)value);
		reply(c, EINVAL, msg);
		return;
	}
	NVS_INFO("event=set key=max_run_ms old=%u new=%lld pid=%d uid=%u",
	         core->reg.max_run_ms, (long long)value, (int)c->pid,
	         (unsigned)c->uid);
	lockproto_set_max_run(core, (uint32_t)value);
	snprintf(msg, sizeof(msg), "ok max_run_ms=%lld", (long long)value);
	reply(c, 0, msg);
}

static void set_mode(struct sched_core *core, struct sched_conn *c,
                     int64_t value)
{
	char msg[96];

	if (value < 0 || value >= NVS_MODE_COUNT) {
		snprintf(msg, sizeof(msg),
		         "mode must be %d (%s), %d (%s) or %d (%s), got %lld",
		         NVS_MODE_AUTO, NVS_MODE_NAME_AUTO, NVS_MODE_SERIAL,
		         NVS_MODE_NAME_SERIAL, NVS_MODE_CONCURRENT,
		         NVS_MODE_NAME_CONCURRENT, (long long)value);
		reply(c, EINVAL, msg);
		return;
	}
	NVS_INFO("event=set key=mode old=%s new=%s pid=%d uid=%u",
	         policy_mode_name(core->reg.mode),
	         policy_mode_name((enum policy_mode)value), (int)c->pid,
	         (unsigned)c->uid);
	lockproto_set_mode(core, (enum policy_mode)value);
	snprintf(msg, sizeof(msg), "ok mode=%s",
	         policy_mode_name((enum policy_mode)value));
	reply(c, 0, msg);
}

static void set_managed(struct sched_core *core, struct sched_conn *c,
                        int64_t value)
{
	char msg[96];

	if (value != 0 && value != 1) {
		snprintf(msg, sizeof(msg), "managed must be 0 or 1, got %lld",
		         (long long)value);
		reply(c, EINVAL, msg);
		return;
	}
	if (value == core->reg.managed) {
		snprintf(msg, sizeof(msg), "ok managed=%lld (unchanged)",
		         (long long)value);
		reply(c, 0, msg);
		return;
	}
	NVS_INFO("event=set key=managed new=%lld clients=%zu pid=%d uid=%u",
	         (long long)value, core->reg.nclients, (int)c->pid,
	         (unsigned)c->uid);
	lockproto_set_managed(core, (int)value);
	snprintf(msg, sizeof(msg), "ok managed=%lld", (long long)value);
	reply(c, 0, msg);
}

/* A limit for one client, or for every process of a pod (now and later). */
static void set_client_limit(struct sched_core *core, struct sched_conn *c,
                             const struct nvs_ctl_set_client *m, int64_t now)
{
	char msg[512];
	int status =
	    limit_change_set(core, m, c->pid, c->uid, now, msg, sizeof(msg));

	reply(c, status, msg);
}

void control_handle(struct sched_core *core, struct sched_conn *c,
                    const struct nvs_msg *m, int64_t now)
{
	gid_t sock_gid;
	char msg[160];

	if (!allowed(core, c, &sock_gid)) {
		NVS_WARN("event=control_denied type=%s pid=%d uid=%u gid=%u "
		         "socket_gid=%u",
		         nvs_msg_type_name(m->hdr.type), (int)c->pid,
		         (unsigned)c->uid, (unsigned)c->gid,
		         (unsigned)sock_gid);
		snprintf(msg, sizeof(msg),
		         "permission denied: uid %u is not root, not the "
		         "scheduler's user and not in group %u of the socket",
		         (unsigned)c->uid, (unsigned)sock_gid);
		reply(c, EPERM, msg);
		return;
	}
	if (m->hdr.type == NVS_MSG_CTL_STATUS) {
		on_status(core, c, &m->u.ctl_status, now);
		return;
	}
	if (m->hdr.type == NVS_MSG_CTL_SET_CLIENT) {
		set_client_limit(core, c, &m->u.ctl_set_client, now);
		return;
	}
	/* CTL_SET: nvs_msg_validate already refused unknown keys. */
	switch (m->u.ctl_set.key) {
	case NVS_CTL_KEY_TIME_SLICE_MS:
		set_time_slice(core, c, m->u.ctl_set.value);
		return;
	case NVS_CTL_KEY_MAX_RUN_MS:
		set_max_run(core, c, m->u.ctl_set.value);
		return;
	case NVS_CTL_KEY_MODE: set_mode(core, c, m->u.ctl_set.value); return;
	default: set_managed(core, c, m->u.ctl_set.value); return;
	}
}
