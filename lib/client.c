/*
 * client.c - the scheduler link thread: the top of the library. The
 * layers below reach it only through the mailbox (mailbox.h), with which
 * it registers at load.
 *
 * The thread is the only user of the socket. Application threads talk to it
 * through the todo bits of each gate_dev and an eventfd that wakes it. All
 * waiting the thread does (connecting, draining) happens off the
 * application's threads, and every failure path ends in "run unmanaged":
 * the gates open and the program goes on as if nvshare were not there.
 */

#include "config.h"
#include "gate.h"
#include "grant.h"
#include "log.h"
#include "mailbox.h"
#include "parse.h"
#include "quota.h"
#include "remap.h"
#include "sock.h"
#include "swap.h"
#include "usage.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define RECONNECT_NS 1000000000ll /* retry an absent scheduler every 1 s */
#define WELCOME_TIMEOUT_NS                                                     \
	2000000000ll     /* a scheduler that does not answer                   \
	                    HELLO in 2 s counts as absent */
#define IDLE_CHECK_MS 20 /* idle-release check period */

struct link {
	pthread_t thread;           /* the link thread */
	int wake_fd;                /* eventfd: application -> link thread */
	int fd;                     /* socket, -1 when disconnected */
	int welcomed;               /* WELCOME received on this connection */
	long long connected_ns;     /* when fd was connected */
	long long next_connect_ns;  /* earliest next connection attempt */
	int warned_unreachable;     /* said "running unmanaged" already */
	int ever_connected;         /* for the "re-registered" message */
	uint64_t client_id;         /* from WELCOME */
	struct nvs_reader reader;   /* incoming bytes */
	long long heard_ns;         /* when the scheduler last sent anything */
	long long waiting_since_ns; /* since when we wait for it, 0: not */
	long long pinged_ns;        /* when the last PING went out */
	uint64_t ping_seq;          /* its seq */
	char path[108];             /* socket path */
};

static struct link lnk = {.wake_fd = -1, .fd = -1};
/* Set once the first connection attempt has an outcome (WELCOME, refusal,
 * error), so the first GPU use can wait for it: see client_start(). */
static atomic_int link_settled;
static pthread_once_t link_once = PTHREAD_ONCE_INIT;
/* --- sending ----------------------------------------------------------- */

static void link_drop(const char *why);
static void place(struct gate_dev *d);
static void update_metering(void);

static int link_send(uint16_t type, const void *payload, size_t len)
{
	if (lnk.fd < 0)
		return -1;
	if (nvs_msg_send(lnk.fd, type, payload, len) == 0)
		return 0;
	link_drop(strerror(errno));
	return -1;
}

static int send_gpu_ref(uint16_t type, const struct gate_dev *d)
{
	struct nvs_gpu_ref ref = {0};

	memcpy(ref.uuid, d->uuid, sizeof(ref.uuid));
	return link_send(type, &ref, sizeof(ref));
}

static void copy_env(char *dst, size_t size, const char *var)
{
	const char *v = getenv(var);

	if (!v)
		return;
	if (strlen(v) >= size) {
		NVS_WARN("event=bad_env var=%s msg=\"longer than %zu bytes, "
		         "ignored\"",
		         var, size - 1);
		return;
	}
	memcpy(dst, v, strlen(v) + 1);
}

static int send_hello(void)
{
	struct nvs_hello h = {0};
	FILE *f;

	h.pid = (uint32_t)getpid();
	copy_env(h.pod_namespace, sizeof(h.pod_namespace),
	         "NVSHARE_POD_NAMESPACE");
	copy_env(h.pod_name, sizeof(h.pod_name), "NVSHARE_POD_NAME");
	copy_env(h.container, sizeof(h.container), "NVSHARE_CONTAINER_NAME");
	f = fopen("/proc/self/comm", "re");
	if (f) {
		if (fgets(h.comm, sizeof(h.comm), f))
			h.comm[strcspn(h.comm, "\n")] = '\0';
		fclose(f);
	}
	return link_send(NVS_MSG_HELLO, &h, sizeof(h));
}

/* --- state transitions --------------------------------------------------- */

/* Every gate open, nothing held: the process runs as if alone. With
 * link_lost the scheduler is gone, and with it the compute quota's state
 * (metering, throttling): a new scheduler starts afresh. Otherwise (it
 * turned scheduling off) the state is kept for when scheduling resumes;
 * unmanaged, gates open whatever it says. */
static void go_unmanaged(int link_lost)
{
	int n = atomic_load(&gate_ndevs);

	/* Nobody will ask for the GPU back now: memory we moved out returns,
	 * and blocks that waited for a grant get their memory, before any
	 * gate opens (or the program would run on host memory over the bus,
	 * or on no memory at all). */
	for (int i = 0; i < n; i++) {
		struct swap_stats st;
		if (!gate_devs[i].swapped_out)
			place(&gate_devs[i]);
		else if (swap_move(&gate_devs[i], NVS_SWAP_IN, &st) == 0)
			gate_devs[i].swapped_out = 0;
	}
	pthread_mutex_lock(&gate_registry_mu);
	mailbox_set_managed(0);
	n = atomic_load(&gate_ndevs);
	for (int i = 0; i < n; i++) {
		struct gate_dev *d = &gate_devs[i];
		pthread_mutex_lock(&d->mu);
		d->holding = d->requested = 0;
		d->todo &= ~GATE_TODO_REQUEST;
		/* What it holds now (all of it back) is its grant while
		 * unmanaged: say so. */
		d->todo |= GATE_TODO_MEMORY;
		d->ran_unmanaged = 1;
		if (link_lost)
			d->throttled = d->meter = 0;
		gate_update_open(d); /* unmanaged now: open */
		pthread_mutex_unlock(&d->mu);
	}
	pthread_mutex_unlock(&gate_registry_mu);
	update_metering();
}

/* Gates closed and drained: from now on work waits for LOCK_OK. */
static void go_managed(void)
{
	int n;

	pthread_mutex_lock(&gate_registry_mu);
	mailbox_set_managed(1);
	n = atomic_load(&gate_ndevs);
	pthread_mutex_unlock(&gate_registry_mu);
	for (int i = 0; i < n; i++) {
		struct gate_dev *d = &gate_devs[i];
		gate_close_and_drain(d);
		remap_left(d);
		pthread_mutex_lock(&d->mu);
		d->holding = d->requested = 0;
		/* The books start again from what we hold. */
		d->todo |= GATE_TODO_MEMORY;
		/* Threads already waiting re-request when woken. */
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
	}
}

static void link_drop(const char *why)
{
	if (lnk.fd < 0)
		return;
	close(lnk.fd);
	lnk.fd = -1;
	lnk.welcomed = 0;
	lnk.reader.used = 0;
	lnk.next_connect_ns = nvs_now_ns() + RECONNECT_NS;
	go_unmanaged(1);
	atomic_store(&link_settled, 1);
	NVS_WARN("event=scheduler_lost reason=\"%s\" msg=\"running unmanaged; "
	         "reconnecting every second\"",
	         why);
	lnk.warned_unreachable = 1;
}

static void try_connect(void)
{
	int n;

	lnk.fd = nvs_socket_connect(lnk.path);
	if (lnk.fd < 0) {
		if (!lnk.warned_unreachable)
			NVS_WARN("event=scheduler_unreachable socket=%s "
			         "reason=\"%s\" msg=\"running unmanaged; will "
			         "retry every second\"",
			         lnk.path, strerror(errno));
		lnk.warned_unreachable = 1;
		lnk.next_connect_ns = nvs_now_ns() + RECONNECT_NS;
		atomic_store(&link_settled, 1);
		return;
	}
	lnk.connected_ns = nvs_now_ns();
	lnk.welcomed = 0;
	lnk.reader.used = 0;
	if (send_hello())
		return;
	/* Registration happens on WELCOME; mark every device for it. */
	n = atomic_load(&gate_ndevs);
	for (int i = 0; i < n; i++) {
		grant_reset(&gate_devs[i]);
		pthread_mutex_lock(&gate_devs[i].mu);
		gate_devs[i].todo |= GATE_TODO_REGISTER | GATE_TODO_MEMORY;
		gate_devs[i].accepted = 0;
		pthread_mutex_unlock(&gate_devs[i].mu);
	}
}

/* Moves d's memory and tells the scheduler what it cost. */
static void swap_and_report(struct gate_dev *d, enum nvs_swap_direction dir)
{
	struct swap_stats st;
	struct nvs_swap_report rep = {0};
	int failed = swap_move(d, dir, &st) < 0;

	d->swapped_out = dir == NVS_SWAP_OUT;
	/* What could not leave is still on the GPU: the scheduler must not
	 * give its room away. */
	if (failed && dir == NVS_SWAP_OUT)
		rep.flags = NVS_SWAP_INCOMPLETE;
	if (dir == NVS_SWAP_IN) {
		pthread_mutex_lock(&d->mu);
		d->unplaced = 0;
		pthread_mutex_unlock(&d->mu);
	}
	memcpy(rep.uuid, d->uuid, sizeof(rep.uuid));
	rep.direction = dir;
	rep.bytes = st.bytes;
	rep.ns = st.ns;
	link_send(NVS_MSG_SWAP_REPORT, &rep, sizeof(rep));
}

/* Memory made while the process waited has no home on the GPU yet:
 * remappable blocks have no physical memory, and fresh Unified Memory
 * would be faulted in page by page by the first kernels (about 8 GB/s on
 * an H100). Holding the lock, we place it: blocks backed, Unified Memory
 * prefetched at link speed. Not reported: placing untouched pages says
 * nothing about the swap bandwidth. */
static void place(struct gate_dev *d)
{
	int unified;

	pthread_mutex_lock(&d->mu);
	unified = d->unplaced;
	d->unplaced = 0;
	pthread_mutex_unlock(&d->mu);
	swap_place(d, unified);
}

/* Unmanaged, every block must have memory: one that could not get it
 * when the scheduler went away gets it as soon as it can. */
static void place_leftovers(void)
{
	for (int i = 0; i < atomic_load(&gate_ndevs); i++)
		if (remap_unbacked_bytes(&gate_devs[i]))
			place(&gate_devs[i]);
}

/* Asked to move memory while a stream capture runs: say nothing moved
 * (the scheduler then knows the room was not made). */
static void report_unmoved(struct gate_dev *d)
{
	struct nvs_swap_report rep = {0};

	memcpy(rep.uuid, d->uuid, sizeof(rep.uuid));
	rep.direction = NVS_SWAP_OUT;
	rep.flags = NVS_SWAP_INCOMPLETE;
	link_send(NVS_MSG_SWAP_REPORT, &rep, sizeof(rep));
}

/* Returns the lock of d to the scheduler after draining its work, first
 * moving its memory to the host if the next holder needs the room. */
static void release_lock(struct gate_dev *d, const char *why, int swap_out)
{
	int drained = gate_close_and_drain(d) == 0;

	pthread_mutex_lock(&d->mu);
	d->holding = 0;
	pthread_cond_broadcast(&d->cv); /* allocations may defer now */
	pthread_mutex_unlock(&d->mu);
	/* Our blocks may stay, but may not grow until the next grant. */
	remap_left(d);
	/* Moving memory synchronizes: not while a capture runs. */
	if (swap_out && drained)
		swap_and_report(d, NVS_SWAP_OUT);
	else if (swap_out)
		report_unmoved(d);
	NVS_DEBUG("event=lock_released gpu=%s reason=%s swap_out=%d", d->uuid,
	          why, swap_out);
	send_gpu_ref(NVS_MSG_LOCK_RELEASED, d);
}

/* --- incoming messages ---------------------------------------------------- */

/* Tells the scheduler the limits in force: at connection (it may be a new
 * scheduler, which then learns those set live before it started) and to
 * confirm SET_LIMITS. */
static void send_limits(void)
{
	struct nvs_limits l;

	quota_current(&l);
	link_send(NVS_MSG_LIMITS, &l, sizeof(l));
}

static void on_welcome(const struct nvs_welcome *w)
{
	lnk.welcomed = 1;
	lnk.client_id = w->client_id;
	if (lnk.ever_connected || lnk.warned_unreachable)
		NVS_WARN("event=scheduler_connected client_id=%llu managed=%u "
		         "msg=\"registered with the scheduler\"",
		         (unsigned long long)w->client_id, w->managed);
	lnk.ever_connected = 1;
	lnk.warned_unreachable = 0;
	send_limits();
	if (w->managed)
		go_managed();
	else
		go_unmanaged(0);
	atomic_store(&link_settled, 1);
}

/* Checkpoints come closer together while any device is metered. */
static void update_metering(void)
{
	int any = 0;

	for (int i = 0; i < atomic_load(&gate_ndevs); i++)
		any |= gate_devs[i].meter;
	atomic_store(&flow_metering, any);
}

/* Holding the lock with a grant that covers our memory: memory first,
 * then work, so that no kernel crawls on page faults or finds its memory
 * unmapped. */
static void arrive(struct gate_dev *d)
{
	if (d->swapped_out && mailbox_managed())
		swap_and_report(d, NVS_SWAP_IN);
	else if (mailbox_managed())
		place(d);
	pthread_mutex_lock(&d->mu);
	d->short_grant = 0;
	/* The idle clock starts when the gate opens: a swap-in longer than
	 * the idle release must not count as idle time. */
	d->idle_mark = atomic_load(&d->submits);
	d->idle_since_ns = nvs_now_ns();
	gate_update_open(d);
	pthread_mutex_unlock(&d->mu);
}

static void on_gpu_message(const struct nvs_msg *m)
{
	struct gate_dev *d = gate_find_uuid(m->u.gpu.uuid);
	int short_grant;

	if (!d) {
		NVS_WARN("event=unknown_gpu type=%s gpu=%s",
		         nvs_msg_type_name(m->hdr.type), m->u.gpu.uuid);
		return;
	}
	switch (m->hdr.type) {
	case NVS_MSG_GPU_ACCEPTED:
		pthread_mutex_lock(&d->mu);
		d->capacity_bytes = m->u.gpu_accepted.capacity_bytes;
		d->accepted = 1;
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		break;
	case NVS_MSG_MEM_GRANT:
		if (!grant_received(d, m->u.mem_grant.granted_bytes,
		                    m->u.mem_grant.seq))
			break;
		pthread_mutex_lock(&d->mu);
		short_grant = d->holding && d->short_grant && grant_covers(d);
		pthread_mutex_unlock(&d->mu);
		if (short_grant)
			arrive(d); /* the rest of our memory is granted now */
		break;
	case NVS_MSG_LOCK_OK:
		pthread_mutex_lock(&d->mu);
		d->requested = 0;
		d->holding = 1;
		/* Memory made after our last update is not granted yet:
		 * the gate stays shut until the scheduler grants it too. */
		d->short_grant = mailbox_managed() && !grant_covers(d);
		short_grant = d->short_grant;
		d->idle_mark = atomic_load(&d->submits);
		d->idle_since_ns = nvs_now_ns();
		pthread_mutex_unlock(&d->mu);
		if (!short_grant)
			arrive(d);
		NVS_DEBUG("event=lock_granted gpu=%s short=%d", d->uuid,
		          short_grant);
		break;
	case NVS_MSG_DROP_LOCK:
		/* Not holding: we released on our own and the messages
		 * crossed; the scheduler ignores nothing we owe it. */
		if (d->holding)
			release_lock(d, "drop_lock",
			             m->u.drop_lock.flags & NVS_DROP_SWAP_OUT);
		break;
	case NVS_MSG_PREPARE_SWAP:
		if (mailbox_managed())
			remap_prepare(d);
		break;
	case NVS_MSG_EVICT:
		/* Idle, but our memory is in someone's way. (Unmanaged, the
		 * gate must stay open: nothing to do.) */
		if (d->holding || !mailbox_managed()) {
			NVS_WARN("event=evict_ignored gpu=%s msg=\"holding the "
			         "lock\"",
			         d->uuid);
			break;
		}
		if (gate_close_and_drain(d) == 0)
			swap_and_report(d, NVS_SWAP_OUT);
		else
			report_unmoved(d);
		break;
	case NVS_MSG_THROTTLE:
		/* Queued work finishes (and is billed); new launches wait. */
		pthread_mutex_lock(&d->mu);
		d->throttled = (int)m->u.throttle.throttled;
		d->meter = (int)m->u.throttle.meter;
		gate_update_open(d);
		pthread_mutex_unlock(&d->mu);
		update_metering();
		NVS_DEBUG("event=throttle gpu=%s throttled=%u meter=%u",
		          d->uuid, m->u.throttle.throttled,
		          m->u.throttle.meter);
		break;
	case NVS_MSG_WAITING:
		NVS_INFO("event=waiting gpu=%s reason=%s need_bytes=%llu "
		         "free_bytes=%llu",
		         d->uuid,
		         m->u.waiting.reason == NVS_WAIT_MEMORY ? "memory"
		         : m->u.waiting.reason == NVS_WAIT_HOST ? "host"
		                                                : "turn",
		         (unsigned long long)m->u.waiting.need_bytes,
		         (unsigned long long)m->u.waiting.free_bytes);
		break;
	}
}

static void on_message(const struct nvs_msg *m)
{
	switch (m->hdr.type) {
	case NVS_MSG_WELCOME: on_welcome(&m->u.welcome); return;
	case NVS_MSG_PONG: return; /* heard: that is all it is for */
	case NVS_MSG_GPU_ACCEPTED:
	case NVS_MSG_MEM_GRANT:
	case NVS_MSG_PREPARE_SWAP:
	case NVS_MSG_LOCK_OK:
	case NVS_MSG_DROP_LOCK:
	case NVS_MSG_EVICT:
	case NVS_MSG_WAITING:
	case NVS_MSG_THROTTLE:
		if (lnk.welcomed) {
			on_gpu_message(m);
			return;
		}
		break;
	case NVS_MSG_SET_LIMITS:
		if (!lnk.welcomed)
			break;
		quota_apply(&m->u.limits);
		send_limits();
		return;
	case NVS_MSG_SET_MANAGED:
		if (!lnk.welcomed)
			break;
		NVS_WARN("event=set_managed managed=%u",
		         m->u.set_managed.managed);
		if (m->u.set_managed.managed)
			go_managed();
		else
			go_unmanaged(0);
		return;
	}
	NVS_WARN("event=protocol_error msg=\"unexpected %s from scheduler\"",
	         nvs_msg_type_name(m->hdr.type));
	link_drop("unexpected message");
}

static void read_socket(void)
{
	struct nvs_msg m;
	char err[128];
	enum nvs_read_status st = nvs_reader_fill(&lnk.reader, lnk.fd);

	lnk.heard_ns = nvs_now_ns();
	if (st == NVS_READ_EOF || st == NVS_READ_ERROR) {
		link_drop(st == NVS_READ_EOF ? "connection closed"
		                             : "read error");
		return;
	}
	while (lnk.fd >= 0) {
		st = nvs_reader_next(&lnk.reader, &m, err, sizeof(err));
		if (st == NVS_READ_MORE)
			return;
		if (st != NVS_READ_MSG) {
			link_drop(err);
			return;
		}
		on_message(&m);
		nvs_msg_release(&m);
	}
}

/* --- work for the devices ---------------------------------------------------
 */

static void serve_device(struct gate_dev *d)
{
	struct nvs_mem_update u = {0};
	unsigned todo;
	int claim = 0;

	pthread_mutex_lock(&d->mu);
	todo = d->todo;
	d->todo = 0;
	if (todo & GATE_TODO_MEMORY) {
		u.allocated_bytes = d->allocated_bytes;
		u.pinned_bytes = d->pinned_bytes < u.allocated_bytes
		                     ? d->pinned_bytes
		                     : u.allocated_bytes;
		u.seq = d->mem_seq + 1;
		/* Charged but not made yet: not on the GPU. A process that
		 * never ran ungated since registering claims nothing: what it
		 * has was made under grants the scheduler keeps (a charge
		 * between its bookings would otherwise look held). */
		claim = d->ran_unmanaged;
		u.held_bytes = u.allocated_bytes > d->awaiting_bytes
		                   ? u.allocated_bytes - d->awaiting_bytes
		                   : 0;
		grant_update_sent(d, u.allocated_bytes, u.seq);
	}
	if (todo & GATE_TODO_REGISTER)
		d->ran_unmanaged = !mailbox_managed(); /* counted afresh */
	if ((todo & GATE_TODO_REQUEST) &&
	    (d->holding || d->requested || !mailbox_managed()))
		todo &= ~GATE_TODO_REQUEST;
	if (todo & GATE_TODO_REQUEST)
		d->requested = 1;
	pthread_mutex_unlock(&d->mu);

	if (todo & GATE_TODO_REGISTER) {
		struct nvs_gpu_register r = {0};
		memcpy(r.uuid, d->uuid, sizeof(r.uuid));
		r.total_bytes = d->total_bytes;
		if (link_send(NVS_MSG_REGISTER_GPU, &r, sizeof(r)))
			return;
	}
	if (todo & GATE_TODO_MEMORY) {
		uint64_t unbacked = remap_unbacked_bytes(d);
		memcpy(u.uuid, d->uuid, sizeof(u.uuid));
		/* Only read from the first update after registering. */
		u.held_bytes = !claim           ? 0
		               : d->swapped_out ? u.pinned_bytes
		               : u.held_bytes > unbacked
		                   ? u.held_bytes - unbacked
		                   : 0;
		if (link_send(NVS_MSG_MEM_UPDATE, &u, sizeof(u)))
			return;
	}
	if (todo & GATE_TODO_REQUEST)
		send_gpu_ref(NVS_MSG_REQ_LOCK, d);
}

/* Samples a metered device while it is held; reports each tick it was
 * busy in. */
static void meter(struct gate_dev *d, long long now)
{
	struct nvs_usage u;
	int done;

	if (d->holding && d->meter)
		done = usage_sample(d, now, &u);
	else
		done = usage_flush(d, &u);
	if (done)
		link_send(NVS_MSG_USAGE, &u, sizeof(u));
}

static void check_idle(struct gate_dev *d, long long now)
{
	unsigned long submits = atomic_load(&d->submits);
	int growing;

	if (!d->holding)
		return;
	pthread_mutex_lock(&d->mu);
	growing = d->grant_waiters > 0 || d->short_grant;
	pthread_mutex_unlock(&d->mu);
	/* Idle means no work of ours left on the GPU: a process whose queued
	 * work still runs is busy, however long since its last launch (a
	 * release would drain its queue and stall its pipeline for the
	 * round trip). Waiting for room to grow is not idle either. */
	if (submits != d->idle_mark || growing || gate_work_pending(d)) {
		d->idle_mark = submits;
		d->idle_since_ns = now;
		return;
	}
	if (now - d->idle_since_ns >=
	    (long long)config_get()->idle_release_ms * 1000000)
		release_lock(d, "idle", 0);
}

/* 1 if the process waits for the scheduler now: a lock asked for, an
 * allocation waiting for its grant, a grant that does not cover us yet,
 * launches paused by the compute quota. */
static int waiting_for_scheduler(void)
{
	int waiting = 0;

	for (int i = 0; i < atomic_load(&gate_ndevs) && !waiting; i++) {
		struct gate_dev *d = &gate_devs[i];
		pthread_mutex_lock(&d->mu);
		waiting = d->requested || d->grant_waiters > 0 ||
		          d->short_grant || (d->holding && d->throttled);
		pthread_mutex_unlock(&d->mu);
	}
	return waiting;
}

/* Liveness: while we wait for the scheduler, it must answer something
 * (a PING at least) within NVSHARE_LIVENESS_MS, or we stop waiting and
 * run unmanaged (a wedged or stopped scheduler must not hang us; a live
 * one answers a PING at once, however long its queue). */
static void check_liveness(long long now)
{
	long long limit = (long long)config_get()->liveness_ms * 1000000;
	long long since;

	if (!mailbox_managed() || !waiting_for_scheduler()) {
		lnk.waiting_since_ns = 0;
		return;
	}
	if (!lnk.waiting_since_ns)
		lnk.waiting_since_ns = now;
	since = lnk.heard_ns > lnk.waiting_since_ns ? lnk.heard_ns
	                                            : lnk.waiting_since_ns;
	if (now - since > limit) {
		lnk.waiting_since_ns = 0;
		link_drop("scheduler not answering");
		return;
	}
	if (now - since > limit / 3 && now - lnk.pinged_ns > limit / 3) {
		struct nvs_ping p = {.seq = ++lnk.ping_seq};
		lnk.pinged_ns = now;
		link_send(NVS_MSG_PING, &p, sizeof(p));
	}
}

static int poll_timeout_ms(long long now)
{
	int timeout = -1;

	if (lnk.waiting_since_ns) {
		timeout = (int)(config_get()->liveness_ms / 6);
		if (timeout < 1)
			timeout = 1;
	}

	if (lnk.fd < 0) {
		long long wait = (lnk.next_connect_ns - now) / 1000000 + 1;
		timeout = wait < 0 ? 0 : (int)wait;
	} else if (!lnk.welcomed) {
		timeout = 100;
	}
	for (int i = 0; i < atomic_load(&gate_ndevs); i++) {
		int period =
		    gate_devs[i].meter ? USAGE_SAMPLE_MS : IDLE_CHECK_MS;
		if (gate_devs[i].holding && (timeout < 0 || timeout > period))
			timeout = period;
	}
	return timeout;
}

static void *link_main(void *arg)
{
	(void)arg;
	for (;;) {
		long long now = nvs_now_ns();
		struct pollfd fds[2] = {{.fd = lnk.wake_fd, .events = POLLIN},
		                        {.fd = lnk.fd, .events = POLLIN}};
		uint64_t count;

		if (lnk.fd < 0 && now >= lnk.next_connect_ns)
			try_connect();
		if (lnk.fd >= 0 && !lnk.welcomed &&
		    now - lnk.connected_ns > WELCOME_TIMEOUT_NS)
			link_drop("no WELCOME from the scheduler");
		fds[1].fd = lnk.fd;
		if (poll(fds, lnk.fd >= 0 ? 2 : 1, poll_timeout_ms(now)) < 0 &&
		    errno != EINTR)
			NVS_WARN("event=poll_failed reason=\"%s\"",
			         strerror(errno));
		if (fds[0].revents & POLLIN) {
			if (read(lnk.wake_fd, &count, sizeof(count)) < 0) {
				/* Spurious wake-up: nothing to consume. */
			}
		}
		if (lnk.fd >= 0 &&
		    (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
			read_socket();
		if (!mailbox_managed())
			place_leftovers();
		if (lnk.fd < 0 || !lnk.welcomed)
			continue;
		now = nvs_now_ns();
		for (int i = 0; i < atomic_load(&gate_ndevs) && lnk.fd >= 0;
		     i++) {
			serve_device(&gate_devs[i]);
			if (mailbox_managed()) {
				meter(&gate_devs[i], now);
				check_idle(&gate_devs[i], now);
			}
		}
		if (lnk.fd >= 0)
			check_liveness(now);
	}
	return NULL;
}

static void after_fork_child(void)
{
	/* The link thread does not exist in the child: start over, unmanaged,
	 * with a fresh connection made on the child's first GPU use. */
	if (lnk.fd >= 0)
		close(lnk.fd);
	if (lnk.wake_fd >= 0)
		close(lnk.wake_fd);
	lnk.fd = -1;
	lnk.wake_fd = -1;
	lnk.welcomed = 0;
	mailbox_set_managed(0);
	atomic_store(&link_settled, 0);
	gate_reset_after_fork();
	remap_reset_after_fork();
	link_once = (pthread_once_t)PTHREAD_ONCE_INIT;
}

static void start_link(void)
{
	sigset_t all, old;

	config_get();
	if (nvs_socket_path(lnk.path, sizeof(lnk.path)))
		NVS_WARN(
		    "event=bad_env var=NVSHARE_SOCKET msg=\"unusable path, "
		    "using %s\"",
		    lnk.path);
	if (nvs_reader_init(&lnk.reader)) {
		NVS_WARN("event=no_memory msg=\"running unmanaged\"");
		atomic_store(&link_settled, 1);
		return;
	}
	lnk.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (lnk.wake_fd < 0) {
		NVS_WARN("event=eventfd_failed reason=\"%s\" msg=\"running "
		         "unmanaged\"",
		         strerror(errno));
		atomic_store(&link_settled, 1);
		return;
	}
	/* Connect once here so that the first kernel already waits for the
	 * lock when a scheduler is present. */
	try_connect();
	static int atfork_done;
	if (!atfork_done) {
		pthread_atfork(NULL, NULL, after_fork_child);
		atfork_done = 1;
	}
	/* The application's signal handlers must never run on our thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&lnk.thread, NULL, link_main, NULL)) {
		NVS_WARN("event=thread_failed msg=\"running unmanaged\"");
		link_drop("no link thread");
	} else {
		pthread_detach(lnk.thread);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Starts the link thread if needed and waits until the first connection
 * attempt has an outcome (see mailbox_start). */
static void link_start(void)
{
	struct timespec ms = {.tv_nsec = 1000000};

	pthread_once(&link_once, start_link);
	/* Bounded by the link thread's own WELCOME timeout. */
	for (int i = 0; i < 2500 && !atomic_load(&link_settled); i++)
		nanosleep(&ms, NULL);
}

static void link_notify(void)
{
	uint64_t one = 1;

	pthread_once(&link_once, start_link);
	if (lnk.wake_fd >= 0 && write(lnk.wake_fd, &one, sizeof(one)) < 0) {
		/* The counter is saturated: the thread is awake anyway. */
	}
}

/* The layers below reach the link through the mailbox. */
__attribute__((constructor)) static void link_connect(void)
{
	mailbox_connect(link_start, link_notify);
}
