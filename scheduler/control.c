/*
 * control.c - see control.h. The permission check uses the peer's
 * credentials as captured at connect time and the group of the socket file
 * the scheduler bound (an operator may chgrp it while the scheduler runs;
 * another file put at its path does not count). Settings are validated here
 * (limits in limit_change.c); invalid values are refused with EINVAL and a
 * reason, and nothing changes.
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

/* Decided from the credentials captured when the peer connected
 * (SO_PEERCRED, SO_PEERGROUPS: conn.h), never from its pid now, and from
 * the group of the socket file we bound (sock_file.h). */
static int allowed(struct sched_core *core, const struct sched_conn *c,
                   gid_t *sock_gid)
{
	*sock_gid = sock_file_group(&core->sock, core->cfg->socket_path);
	return perm_control_allowed(
	    c->uid, c->gid,
	    perm_groups_include(c->peer.groups, c->peer.ngroups, *sock_gid),
	    core->self_uid, *sock_gid);
}

static void reply(struct sched_conn *c, int32_t status, const char *text)
{
	conn_send_reply(c, status, text, strlen(text));
}

/* Bytes of a page's text beside its first line, with room to spare. */
#define STATUS_PAGE_BUDGET (NVS_CTL_TEXT_MAX - 64)

/* One page (see CTL_STATUS in proto.h) into b: its first line, then it. */
static int status_page(const struct sched_core *core,
                       const struct nvs_ctl_status *st, int64_t now,
                       struct status_buf *b)
{
	struct status_buf page = {0};
	uint64_t next;
	int rc =
	    st->format == NVS_CTL_FORMAT_JSON
	        ? status_render_json_page(&core->reg, now, st->after_client,
	                                  STATUS_PAGE_BUDGET, &page, &next)
	        : status_render_text_page(&core->reg, now, st->after_client,
	                                  STATUS_PAGE_BUDGET, &page, &next);

	if (rc == 0) {
		status_buf_printf(b, NVS_CTL_PAGE_PREFIX "%llu\n",
		                  (unsigned long long)next);
		if (page.len)
			status_buf_printf(b, "%s", page.p);
		rc = b->failed ? -1 : 0;
	}
	status_buf_free(&page);
	return rc;
}

static void on_status(struct sched_core *core, struct sched_conn *c,
                      const struct nvs_ctl_status *st, int64_t now)
{
	struct status_buf b = {0};
	char msg[160];
	int rc;

	if (st->flags & NVS_CTL_STATUS_PAGED)
		rc = status_page(core, st, now, &b);
	else if (st->format == NVS_CTL_FORMAT_JSON)
		rc = status_render_json(&core->reg, now, &b);
	else
		rc = status_render_text(&core->reg, now, &b);
	if (rc < 0) {
		reply(c, ENOMEM, "status unavailable: out of memory");
	} else if (b.len > NVS_CTL_TEXT_MAX) {
		snprintf(msg, sizeof(msg),
		         "status too large (%zu bytes, %zu clients): this "
		         "nvsharectl does not ask for it in pages; use a newer "
		         "one",
		         b.len, core->reg.nclients);
		reply(c, EFBIG, msg);
	} else {
		conn_send_reply(c, 0, b.p ? b.p : "", b.len);
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
		if (conn_log_ok(c))
			NVS_WARN(
			    "event=control_denied type=%s pid=%d uid=%u gid=%u "
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
