/*
 * server.c - see server.h. One turn of the loop: settle (tear down dead
 * connections, let every GPU's policy act on the time, repeat until nothing
 * dies), sleep in poll() until the earliest policy deadline, then handle a
 * signal, every ready connection, and new connections.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* struct ucred, accept4 */
#endif
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "conn_limit.h"
#include "control.h"
#include "kube_pods.h"
#include "kube_watch.h"
#include "lockproto.h"
#include "log.h"
#include "metrics_counters.h"
#include "metrics_http.h"
#include "peer_account.h"
#include "peer_identity.h"
#include "policy.h"
#include "sock.h"
#include "sock_file.h"
#include "status.h"

#define LISTEN_BACKLOG 4096       /* the kernel caps it at somaxconn */
#define ACCEPT_BATCH 64           /* connections accepted per turn */
#define ACCEPT_PAUSE_NS 100000000 /* back-off when out of descriptors */
#define KUBE_BATCH 32             /* pod changes taken at a time */
#define KUBE_BATCHES_PER_TURN 8   /* then clients get their turn */

struct server {
	struct sched_core core;        /* flags, registry: what handlers get */
	int listen_fd;                 /* the listening socket */
	int signal_fd;                 /* SIGTERM/SIGINT as a descriptor */
	struct conn_limits limits;     /* table size, one uid's share */
	struct peer_accounts accounts; /* per uid: connections, log bucket */
	const char *proc_root;         /* where /proc/<pid>/... is read */
	struct sched_conn **conns;     /* open connections */
	size_t nconns;                 /* entries used in conns */
	size_t conns_cap;              /* entries allocated in conns */
	struct pollfd *pfds;           /* poll set, rebuilt every turn */
	size_t pfds_cap;               /* entries allocated in pfds */
	uint64_t next_conn_seq;        /* seq of the next connection */
	int64_t accept_resume_ns;      /* accept paused (fd limit) until */
	int stop;                      /* a signal asked us to stop */
	struct kube_change kube_batch[KUBE_BATCH]; /* taken from the watcher */
};

/* --- connections ---------------------------------------------------------- */

static void conn_destroy(struct server *s, struct sched_conn *c)
{
	if (c->client) {
		lockproto_client_gone(&s->core, c->client, nvs_now_ns());
		metrics_client_gone(&metrics_global, c->client->id);
		registry_client_remove(&s->core.reg, c->client);
		c->client = NULL;
	}
	conn_free(c);
}

/* Tears down dead connections. Returns 1 if any was. */
static int reap(struct server *s)
{
	size_t kept = 0, n = s->nconns;
	int any = 0;

	for (size_t i = 0; i < n; i++) {
		struct sched_conn *c = s->conns[i];

		if (!c->dead) {
			s->conns[kept++] = c;
			continue;
		}
		any = 1;
		/* Its departure may mark others dead: the next pass sees them.
		 * Nothing is appended to conns meanwhile. */
		conn_destroy(s, c);
	}
	s->nconns = kept;
	return any;
}

static int any_dead(const struct server *s)
{
	for (size_t i = 0; i < s->nconns; i++)
		if (s->conns[i]->dead)
			return 1;
	return 0;
}

static int conns_reserve(struct server *s)
{
	size_t ncap;
	void *p;

	if (s->nconns < s->conns_cap)
		return 0;
	ncap = s->conns_cap ? s->conns_cap * 2 : 16;
	p = realloc(s->conns, ncap * sizeof(s->conns[0]));
	if (!p)
		return -1;
	s->conns = p;
	s->conns_cap = ncap;
	return 0;
}

static const char *verdict_text(enum conn_verdict v)
{
	return v == CONN_UID_FULL ? "this uid holds its share of connections"
	                          : "connection table full";
}

/* Admission is decided from SO_PEERCRED alone, before anything is read
 * from /proc, for every uid but root and ours: a refused flood costs an
 * accept and a close. */
static void conn_add(struct server *s, int fd)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct peer_identity id;
	struct peer_account *acct;
	struct sched_conn *c = NULL;
	enum conn_verdict v;
	int captured = 0, in_pod = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
		goto no_cred;
	/* Root and our uid are exempt only outside pods: for them (only) the
	 * identity is read first. */
	if (conn_limits_exempt(&s->limits, cred.uid)) {
		if (peer_identity_capture(&id, fd, s->proc_root) < 0)
			goto no_cred;
		captured = 1;
		in_pod = id.pod != PEER_POD_NONE;
	}
	acct = peer_account_get(&s->accounts, cred.uid, in_pod);
	if (!acct) {
		if (captured)
			peer_identity_free(&id);
		goto oom;
	}
	acct->exempt = captured && !in_pod;
	v = conn_limits_admit(&s->limits, cred.uid, in_pod, s->nconns,
	                      acct->nconns);
	if (v != CONN_ADMIT) {
		if (peer_account_log_ok(acct, nvs_now_ns()))
			NVS_WARN("event=connection_refused pid=%d uid=%u "
			         "reason=\"%s\" uid_conns=%zu uid_limit=%zu "
			         "conns=%zu limit=%zu",
			         (int)cred.pid, (unsigned)cred.uid,
			         verdict_text(v), acct->nconns,
			         s->limits.per_uid, s->nconns,
			         s->limits.max_conns);
		if (captured)
			peer_identity_free(&id);
		goto fail;
	}
	if (!captured && peer_identity_capture(&id, fd, s->proc_root) < 0)
		goto no_cred;
	if (conns_reserve(s) ||
	    !(c = conn_new(fd, s->next_conn_seq + 1, id.pid, id.uid, id.gid))) {
		peer_identity_free(&id);
		goto oom;
	}
	conn_attach(c, &id, acct);
	s->next_conn_seq++;
	s->conns[s->nconns++] = c;
	NVS_DEBUG("event=connect conn=%llu pid=%d uid=%u gid=%u groups=%zu "
	          "groups_known=%d pod_uid=%s proc_checked_by=%s",
	          (unsigned long long)c->seq, (int)c->pid, (unsigned)c->uid,
	          (unsigned)c->gid, c->peer.ngroups, c->peer.groups_known,
	          peer_identity_pod_text(&c->peer),
	          peer_check_name(c->peer.check));
	return;
no_cred:
	NVS_WARN("event=connection_refused reason=\"SO_PEERCRED: %s\"",
	         strerror(errno));
	goto fail;
oom:
	NVS_WARN("event=connection_refused reason=\"out of memory\"");
fail:
	metrics_connection_refused(&metrics_global);
	close(fd);
}

static void accept_all(struct server *s)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(s->listen_fd, NULL, NULL,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_add(s, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			NVS_WARN(
			    "event=accept_paused reason=\"%s\" pause_ms=%d",
			    strerror(errno), ACCEPT_PAUSE_NS / 1000000);
			s->accept_resume_ns = nvs_now_ns() + ACCEPT_PAUSE_NS;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			NVS_WARN("event=accept_failed reason=\"%s\"",
			         strerror(errno));
		}
		return;
	}
}

/* --- input ---------------------------------------------------------------- */

/* Message types a peer may send to the scheduler. */
static int inbound_type(uint16_t type)
{
	switch (type) {
	case NVS_MSG_HELLO:
	case NVS_MSG_REGISTER_GPU:
	case NVS_MSG_REQ_LOCK:
	case NVS_MSG_LOCK_RELEASED:
	case NVS_MSG_MEM_UPDATE:
	case NVS_MSG_SWAP_REPORT:
	case NVS_MSG_LIMITS:
	case NVS_MSG_USAGE:
	case NVS_MSG_PING:
	case NVS_MSG_CTL_STATUS:
	case NVS_MSG_CTL_SET:
	case NVS_MSG_CTL_SET_CLIENT: return 1;
	}
	return 0;
}

static void dispatch(struct server *s, struct sched_conn *c,
                     const struct nvs_msg *m)
{
	uint16_t type = m->hdr.type;

	if (!inbound_type(type)) {
		conn_protocol_error(c, "unexpected %s sent to the scheduler",
		                    nvs_msg_type_name(type));
		return;
	}
	if (type == NVS_MSG_CTL_STATUS || type == NVS_MSG_CTL_SET ||
	    type == NVS_MSG_CTL_SET_CLIENT)
		control_handle(&s->core, c, m, nvs_now_ns());
	else
		lockproto_handle(&s->core, c, m, nvs_now_ns());
}

/* A frame of a type we never accept is refused from its header, before a
 * large payload (CTL_REPLY) is buffered. */
static void check_pending_header(struct sched_conn *c)
{
	struct nvs_msg_header hdr;

	if (c->reader.used < sizeof(hdr))
		return;
	memcpy(&hdr, c->reader.buf, sizeof(hdr));
	if (!inbound_type(hdr.type))
		conn_protocol_error(c, "unexpected %s sent to the scheduler",
		                    nvs_msg_type_name(hdr.type));
}

/* Notes when the unfinished frame in c's buffer began (its deadline). */
static void note_partial(struct sched_conn *c, int progressed)
{
	if (!c->reader.used)
		c->frame_since_ns = 0;
	else if (progressed || !c->frame_since_ns)
		c->frame_since_ns = nvs_now_ns();
}

static void read_conn(struct server *s, struct sched_conn *c)
{
	enum nvs_read_status st = nvs_reader_fill(&c->reader, c->fd);
	struct nvs_msg m;
	char err[160];
	int progressed = 0;
	int64_t t0;

	if (st == NVS_READ_EOF) {
		if (c->reader.used)
			conn_protocol_error(
			    c,
			    "connection closed inside a frame (%zu bytes "
			    "pending)",
			    c->reader.used);
		else
			conn_close(c, "closed by peer");
		return;
	}
	if (st == NVS_READ_ERROR) {
		snprintf(err, sizeof(err), "recv: %s", strerror(errno));
		conn_close(c, err);
		return;
	}
	while (!c->dead) {
		st = nvs_reader_next(&c->reader, &m, err, sizeof(err));
		if (st == NVS_READ_MORE) {
			check_pending_header(c);
			note_partial(c, progressed);
			return;
		}
		if (st != NVS_READ_MSG) {
			conn_protocol_error(c, "%s", err);
			return;
		}
		t0 = nvs_now_ns();
		dispatch(s, c, &m);
		metrics_message(&metrics_global, m.hdr.type, nvs_now_ns() - t0);
		nvs_msg_release(&m);
		c->greeted = 1;
		progressed = 1;
	}
}

static void conn_events(struct server *s, struct sched_conn *c, short revents)
{
	if (c->dead)
		return;
	if (revents & POLLOUT)
		conn_flush(c);
	if (!c->dead && (revents & (POLLIN | POLLHUP | POLLERR)))
		read_conn(s, c);
}

/* --- setup and teardown --------------------------------------------------- */

/* mkdir -p of the socket's directory, mode 0755 for what it creates. */
static int make_parent_dirs(const char *path)
{
	char dir[NVS_SOCKET_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Makes path free for bind: absent, or a socket nobody answers on. */
static int claim_path(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		NVS_ERROR("event=start_failed socket=%s reason=\"stat: %s\"",
		          path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		NVS_ERROR("event=start_failed socket=%s reason=\"path exists "
		          "and is not a socket; not replacing it\"",
		          path);
		return -1;
	}
	fd = nvs_socket_connect(path);
	if (fd >= 0 || errno != ECONNREFUSED) {
		NVS_ERROR("event=start_failed socket=%s reason=\"%s\"", path,
		          fd >= 0
		              ? "another scheduler is running on this socket"
		              : strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		NVS_ERROR("event=start_failed socket=%s reason=\"unlink stale "
		          "socket: %s\"",
		          path, strerror(errno));
		return -1;
	}
	NVS_INFO("event=stale_socket_removed socket=%s", path);
	return 0;
}

static int open_listener(struct server *s, const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	if (make_parent_dirs(path) < 0) {
		NVS_ERROR("event=start_failed socket=%s reason=\"mkdir: %s\"",
		          path, strerror(errno));
		return -1;
	}
	if (claim_path(path) < 0)
		return -1;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	s->listen_fd =
	    socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0 ||
	    bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		NVS_ERROR("event=start_failed socket=%s reason=\"bind: %s\"",
		          path, strerror(errno));
		return -1;
	}
	/* From here on the file is ours: remove it if we cannot go on. Its
	 * identity and group are recorded now, before anyone can swap it. */
	if (sock_file_record(&s->core.sock, path) < 0 ||
	    chmod(path, 0666) < 0 || listen(s->listen_fd, LISTEN_BACKLOG) < 0) {
		NVS_ERROR("event=start_failed socket=%s reason=\"%s\"", path,
		          strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

static int open_signals(struct server *s)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	s->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return s->signal_fd < 0 ? -1 : 0;
}

/* Removes the socket file if it is still the one we created. */
static void remove_socket_file(const struct server *s)
{
	const char *path = s->core.cfg->socket_path;

	if (sock_file_is_ours(&s->core.sock, path))
		unlink(path);
}

static void server_cleanup(struct server *s, int listening)
{
	for (size_t i = 0; i < s->nconns; i++)
		s->conns[i]->dead = 1;
	reap(s);
	if (listening)
		remove_socket_file(s);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->signal_fd >= 0)
		close(s->signal_fd);
	free(s->conns);
	free(s->pfds);
	if (s->core.kube) {
		status_set_kube_source(NULL, NULL);
		kube_watch_stop(s->core.kube);
		s->core.kube = NULL;
	}
	peer_accounts_free(&s->accounts);
	registry_destroy(&s->core.reg);
}

/* --- the loop ------------------------------------------------------------- */

/* Cuts connections past their deadline (conn.h); returns the next one. */
static int64_t expire(struct server *s, int64_t now)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < s->nconns; i++) {
		int64_t d;

		conn_check_deadline(s->conns[i], now);
		d = conn_deadline(s->conns[i]);
		if (d < next)
			next = d;
	}
	return next;
}

static int64_t settle(struct server *s)
{
	int64_t deadline, now = nvs_now_ns(), conns = expire(s, now), logs;

	do {
		while (reap(s))
			;
		deadline = lockproto_tick(&s->core, nvs_now_ns());
	} while (any_dead(s));
	logs = peer_accounts_tick(&s->accounts, nvs_now_ns());
	if (conns < deadline)
		deadline = conns;
	if (logs < deadline)
		deadline = logs;
	if (s->accept_resume_ns && s->accept_resume_ns < deadline)
		deadline = s->accept_resume_ns;
	return deadline;
}

static int timeout_ms(int64_t deadline, int64_t now)
{
	int64_t ms;

	if (deadline == POLICY_NO_DEADLINE)
		return -1;
	if (deadline <= now)
		return 0;
	ms = (deadline - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int build_pollset(struct server *s, int64_t now)
{
	size_t need = s->nconns + 4; /* + signals, listener, metrics, kube */

	if (need > s->pfds_cap) {
		void *p = realloc(s->pfds, need * sizeof(s->pfds[0]));
		if (!p)
			return -1;
		s->pfds = p;
		s->pfds_cap = need;
	}
	if (s->accept_resume_ns && now >= s->accept_resume_ns)
		s->accept_resume_ns = 0;
	s->pfds[0] = (struct pollfd){.fd = s->signal_fd, .events = POLLIN};
	s->pfds[1] = (struct pollfd){
	    .fd = s->accept_resume_ns ? -1 : s->listen_fd,
	    .events = POLLIN,
	};
	for (size_t i = 0; i < s->nconns; i++) {
		struct sched_conn *c = s->conns[i];
		short ev = POLLIN;

		if (c->out_off < c->out_len)
			ev |= POLLOUT;
		s->pfds[i + 2] = (struct pollfd){.fd = c->fd, .events = ev};
	}
	s->pfds[s->nconns + 2] =
	    (struct pollfd){.fd = metrics_http_fd(), .events = POLLIN};
	s->pfds[s->nconns + 3] = (struct pollfd){
	    .fd = s->core.kube ? kube_watch_fd(s->core.kube) : -1,
	    .events = POLLIN,
	};
	return 0;
}

static void handle_signal(struct server *s)
{
	struct signalfd_siginfo si;

	if (read(s->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	NVS_INFO("event=shutdown signal=%s",
	         si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
	s->stop = 1;
}

/* Pod changes the watcher decoded: a mutex held for a copy, then
 * kube_pods.c. A flood is taken in bounded batches per turn (the watcher
 * wakes the descriptor again for the rest), so clients are never starved. */
static void kube_changes(struct server *s)
{
	uint64_t count;

	if (read(kube_watch_fd(s->core.kube), &count, sizeof(count)) < 0 &&
	    errno != EAGAIN)
		NVS_WARN("event=kube_fd_failed reason=\"%s\"", strerror(errno));
	for (int i = 0; i < KUBE_BATCHES_PER_TURN; i++) {
		size_t n =
		    kube_watch_take(s->core.kube, s->kube_batch, KUBE_BATCH);

		if (n)
			kube_pods_apply(&s->core, s->kube_batch, n,
			                nvs_now_ns());
		if (n < KUBE_BATCH)
			return;
	}
}

static void kube_stats_source(const void *ctx, struct kube_watch_stats *out)
{
	kube_watch_stats(ctx, out);
}

static int turn(struct server *s)
{
	int64_t deadline = settle(s), now = nvs_now_ns();
	int64_t tick = metrics_http_tick(&s->core.reg, now); /* web history */
	size_t n = s->nconns;
	int rc;

	if (tick < deadline)
		deadline = tick;

	if (build_pollset(s, now) < 0) {
		NVS_ERROR("event=fatal reason=\"out of memory for poll set\"");
		return -1;
	}
	rc = poll(s->pfds, n + 4, timeout_ms(deadline, now));
	if (rc < 0) {
		if (errno == EINTR)
			return 0;
		NVS_ERROR("event=fatal reason=\"poll: %s\"", strerror(errno));
		return -1;
	}
	if (s->pfds[0].revents & POLLIN)
		handle_signal(s);
	for (size_t i = 0; i < n; i++)
		if (s->pfds[i + 2].revents)
			conn_events(s, s->conns[i], s->pfds[i + 2].revents);
	if (s->pfds[1].revents & POLLIN)
		accept_all(s);
	if (s->pfds[n + 2].revents & POLLIN)
		metrics_http_snapshot(&s->core.reg, nvs_now_ns());
	if (s->pfds[n + 3].revents & POLLIN)
		kube_changes(s);
	return 0;
}

/* Raises the soft RLIMIT_NOFILE to the hard one: the default soft 1024
 * would hold about 1000 connections whatever the table allows. Returns
 * the soft limit in force. */
static unsigned long long raise_fd_limit(void)
{
	struct rlimit rl;
	unsigned long long was;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			NVS_WARN("event=fd_limit_not_raised soft=%llu "
			         "hard=%llu reason=\"%s\"",
			         was, (unsigned long long)rl.rlim_max,
			         strerror(errno));
			return was;
		}
	}
	return rl.rlim_cur;
}

int server_run(const struct sched_config *cfg)
{
	struct server s = {
	    .core = {.cfg = cfg, .self_uid = geteuid()},
	    .listen_fd = -1,
	    .signal_fd = -1,
	};
	struct sched_registry *reg = &s.core.reg;
	int listening = 0, rc = 0;

	unsigned long long fds = raise_fd_limit();

	conn_limits_init(&s.limits, fds, s.core.self_uid);
	s.proc_root = peer_proc_root();
	registry_init(reg, cfg->time_slice_ms, cfg->release_grace_ms);
	reg->mode = cfg->mode;
	reg->max_run_ms = cfg->max_run_ms;
	reg->host_swap_budget = cfg->host_swap_budget;
	if (open_signals(&s) < 0) {
		NVS_ERROR("event=start_failed reason=\"signals: %s\"",
		          strerror(errno));
		rc = 1;
		goto out;
	}
	if (open_listener(&s, cfg->socket_path) < 0) {
		rc = 1;
		goto out;
	}
	listening = 1;
	/* After the signals are blocked: its threads inherit the mask. */
	if (cfg->kube && (s.core.kube = kube_watch_start(cfg->kube)))
		status_set_kube_source(kube_stats_source, s.core.kube);
	NVS_INFO("event=connection_limits fd_limit=%llu max_conns=%zu "
	         "per_uid=%zu reserved_for_root=%d frame_deadline_ms=%lld",
	         fds, s.limits.max_conns, s.limits.per_uid, CONN_LIMIT_RESERVE,
	         (long long)(CONN_FRAME_DEADLINE_NS / 1000000));
	NVS_INFO("event=start socket=%s mode=%s time_slice_ms=%u%s "
	         "max_run_ms=%u release_grace_ms=%u gpu_overrides=%zu "
	         "host_swap_budget=%llu",
	         cfg->socket_path, policy_mode_name(cfg->mode),
	         cfg->time_slice_ms,
	         cfg->time_slice_ms == REGISTRY_SLICE_AUTO ? "(auto)" : "",
	         cfg->max_run_ms, cfg->release_grace_ms, cfg->noverrides,
	         (unsigned long long)cfg->host_swap_budget);
	while (!s.stop) {
		if (turn(&s) < 0) {
			rc = 1;
			break;
		}
	}
	NVS_INFO("event=stopped clients=%zu forced_releases=%llu",
	         reg->nclients, (unsigned long long)reg->forced_releases);
out:
	server_cleanup(&s, listening);
	return rc;
}
