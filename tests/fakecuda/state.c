/*
 * state.c - mapping, locking and bookkeeping of the shared state (state.h).
 *
 * Creation is serialised with flock(): the first process to take the lock
 * on an empty (or never completed) file sizes it, builds the robust mutex
 * and the devices, and writes the magic last. Everyone else checks magic,
 * version, size and devices. All later changes happen under the robust
 * mutex; a lock whose owner died is taken over and marked consistent (the
 * holder's half-done update is lost, as a crashed process's would be).
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int state_init_mutex(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;
	int rc;

	rc = pthread_mutexattr_init(&attr);
	if (rc)
		return rc;
	rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (!rc)
		rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (!rc)
		rc = pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
	return rc;
}

static int state_build(struct fc_state *st, const struct fc_config *cfg,
                       char *err, size_t errlen)
{
	int rc;

	memset(st, 0, sizeof(*st));
	rc = state_init_mutex(&st->lock);
	if (rc) {
		snprintf(err, errlen, "cannot create the state mutex: %s",
		         strerror(rc));
		return -1;
	}
	st->version = FC_STATE_VERSION;
	st->size = sizeof(*st);
	st->ndev = cfg->ndev;
	for (int i = 0; i < cfg->ndev; i++) {
		snprintf(st->dev[i].uuid, sizeof(st->dev[i].uuid), "%s",
		         cfg->dev[i].uuid);
		st->dev[i].capacity = cfg->dev[i].capacity;
	}
	__atomic_store_n(&st->magic, FC_STATE_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

static int state_check_layout(const struct fc_state *st, char *err,
                              size_t errlen)
{
	if (st->magic != FC_STATE_MAGIC || st->version != FC_STATE_VERSION ||
	    st->size != sizeof(*st) || st->ndev < 1 ||
	    st->ndev > FC_MAX_DEVICES) {
		snprintf(err, errlen,
		         "state file has another layout (magic %#x version "
		         "%u); remove it",
		         st->magic, st->version);
		return -1;
	}
	return 0;
}

static int state_check_devices(const struct fc_state *st,
                               const struct fc_config *cfg, char *err,
                               size_t errlen)
{
	int same = st->ndev == cfg->ndev;

	for (int i = 0; same && i < cfg->ndev; i++)
		same = strcasecmp(st->dev[i].uuid, cfg->dev[i].uuid) == 0 &&
		       st->dev[i].capacity == cfg->dev[i].capacity;
	if (!same) {
		snprintf(err, errlen,
		         "state file was made for other devices than "
		         "NVSHARE_FAKE_GPUS names");
		return -1;
	}
	return 0;
}

static int state_open_private(const struct fc_config *cfg,
                              struct fc_state **out, char *err, size_t errlen)
{
	struct fc_state *st;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
	          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED) {
		snprintf(err, errlen, "cannot map private state: %s",
		         strerror(errno));
		return -1;
	}
	if (state_build(st, cfg, err, errlen) < 0) {
		munmap(st, sizeof(*st));
		return -1;
	}
	*out = st;
	return 0;
}

/* With the file flock()ed: size it, map it, build or check it. */
static int state_map_locked(int fd, const struct fc_config *cfg,
                            struct fc_state **out, char *err, size_t errlen)
{
	struct fc_state *st;
	struct stat sb;

	if (fstat(fd, &sb) < 0 ||
	    (sb.st_size == 0 && ftruncate(fd, sizeof(*st)) < 0)) {
		snprintf(err, errlen, "cannot size state file: %s",
		         strerror(errno));
		return -1;
	}
	if (sb.st_size != 0 && sb.st_size != (off_t)sizeof(*st)) {
		snprintf(err, errlen,
		         "state file is %lld bytes, expected %zu; remove it",
		         (long long)sb.st_size, sizeof(*st));
		return -1;
	}
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (st == MAP_FAILED) {
		snprintf(err, errlen, "cannot map state file: %s",
		         strerror(errno));
		return -1;
	}
	if (__atomic_load_n(&st->magic, __ATOMIC_ACQUIRE) == 0 &&
	    state_build(st, cfg, err, errlen) < 0)
		goto fail;
	if (state_check_layout(st, err, errlen) < 0 ||
	    state_check_devices(st, cfg, err, errlen) < 0)
		goto fail;
	*out = st;
	return 0;
fail:
	munmap(st, sizeof(*st));
	return -1;
}

int fc_state_open(const char *path, const struct fc_config *cfg,
                  struct fc_state **out, char *err, size_t errlen)
{
	int fd, rc;

	if (!path || !*path)
		return state_open_private(cfg, out, err, errlen);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open state file %s: %s", path,
		         strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX) < 0) {
		snprintf(err, errlen, "cannot lock state file: %s",
		         strerror(errno));
		close(fd);
		return -1;
	}
	rc = state_map_locked(fd, cfg, out, err, errlen);
	/* Explicitly: the mapping keeps the open file (and so a flock on it)
	 * alive after close(). */
	flock(fd, LOCK_UN);
	close(fd);
	return rc;
}

int fc_state_open_existing(const char *path, struct fc_state **out, char *err,
                           size_t errlen)
{
	struct fc_state *st;
	struct stat sb;
	int fd;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		         strerror(errno));
		return -1;
	}
	/* A process still creating the file holds LOCK_EX: wait for it. */
	if (flock(fd, LOCK_SH) < 0 || fstat(fd, &sb) < 0 ||
	    sb.st_size != (off_t)sizeof(*st)) {
		snprintf(err, errlen, "%s is not a fakecuda state file", path);
		close(fd);
		return -1;
	}
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	flock(fd, LOCK_UN);
	close(fd);
	if (st == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", path,
		         strerror(errno));
		return -1;
	}
	if (state_check_layout(st, err, errlen) < 0) {
		munmap(st, sizeof(*st));
		return -1;
	}
	*out = st;
	return 0;
}

void fc_state_lock(struct fc_state *st)
{
	int rc = pthread_mutex_lock(&st->lock);

	if (rc == EOWNERDEAD) {
		NVS_WARN("msg=\"a process died holding the fakecuda state "
		         "lock; taking it over\"");
		pthread_mutex_consistent(&st->lock);
		return;
	}
	if (rc) {
		NVS_ERROR("msg=\"fakecuda state lock unusable\" err=%s",
		          strerror(rc));
		abort();
	}
}

void fc_state_unlock(struct fc_state *st)
{
	pthread_mutex_unlock(&st->lock);
}

int fc_pid_dead(pid_t pid)
{
	char path[64], buf[512], *paren;
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	paren = strrchr(buf, ')'); /* the name may hold spaces and parens */
	if (!paren || paren[1] != ' ')
		return 0;
	return paren[2] == 'Z' || paren[2] == 'X';
}

static void state_reset_slot(struct fc_proc *p, pid_t pid, const char *comm,
                             int64_t now)
{
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->alive = 1;
	p->attach_ns = now;
	snprintf(p->comm, sizeof(p->comm), "%s", comm ? comm : "");
}

int fc_proc_attach(struct fc_state *st, pid_t pid, const char *comm,
                   int64_t now)
{
	int free_slot = -1, oldest = -1;

	fc_state_reap(st, now, 1);
	for (int i = 0; i < FC_MAX_PROCS; i++) {
		struct fc_proc *p = &st->proc[i];

		if (p->pid == pid) {
			/* A previous process with our pid: its slot is ours. */
			fc_proc_release(st, i);
			state_reset_slot(p, pid, comm, now);
			return i;
		}
		if (p->pid == 0 && free_slot < 0)
			free_slot = i;
		if (p->pid && !p->alive &&
		    (oldest < 0 || p->attach_ns < st->proc[oldest].attach_ns))
			oldest = i;
	}
	if (free_slot < 0)
		free_slot = oldest;
	if (free_slot < 0)
		return -1;
	state_reset_slot(&st->proc[free_slot], pid, comm, now);
	return free_slot;
}

void fc_proc_release(struct fc_state *st, int slot)
{
	for (uint32_t i = 0; i < st->nalloc; i++)
		if (st->alloc[i].pid && st->alloc[i].slot == slot)
			fc_alloc_remove(st, (int)i);
	st->proc[slot].alive = 0;
}

void fc_state_reap(struct fc_state *st, int64_t now, int force)
{
	if (!force && now - st->last_reap_ns < FC_REAP_INTERVAL_NS)
		return;
	st->last_reap_ns = now;
	for (int i = 0; i < FC_MAX_PROCS; i++) {
		struct fc_proc *p = &st->proc[i];

		if (p->pid && p->alive && fc_pid_dead(p->pid))
			fc_proc_release(st, i);
	}
}

int fc_alloc_add(struct fc_state *st, const struct fc_alloc *a)
{
	for (uint32_t i = 0; i < FC_MAX_ALLOCS; i++) {
		if (st->alloc[i].pid)
			continue;
		st->alloc[i] = *a;
		if (i >= st->nalloc)
			st->nalloc = i + 1;
		return (int)i;
	}
	return -1;
}

int fc_alloc_find(const struct fc_state *st, pid_t pid, uint64_t addr)
{
	for (uint32_t i = 0; i < st->nalloc; i++) {
		const struct fc_alloc *a = &st->alloc[i];

		if (a->pid == pid && a->addr == addr &&
		    (a->kind == FC_ALLOC_DEVICE || a->kind == FC_ALLOC_MANAGED))
			return (int)i;
	}
	return -1;
}

int fc_alloc_find_handle(const struct fc_state *st, pid_t pid,
                         enum fc_alloc_kind kind, uint64_t handle)
{
	for (uint32_t i = 0; i < st->nalloc; i++)
		if (st->alloc[i].pid == pid && st->alloc[i].kind == kind &&
		    st->alloc[i].addr == handle)
			return (int)i;
	return -1;
}

/* Gives an entry's bytes back to its device and its owner's figures. */
static void state_uncharge(struct fc_state *st, const struct fc_alloc *a)
{
	struct fc_proc_dev *pd;

	if (a->kind == FC_ALLOC_MAPPING || a->home < 0)
		return;
	pd = &st->proc[a->slot].dev[a->home];
	if (a->kind == FC_ALLOC_MANAGED) {
		if (a->where >= 0) {
			st->dev[a->where].resident_managed -= a->size;
			st->proc[a->slot].dev[a->where].resident_bytes -=
			    a->size;
		}
		pd->managed_bytes -= a->size;
		return;
	}
	st->dev[a->home].device_used -= a->size;
	pd->device_bytes -= a->size;
	if (a->kind == FC_ALLOC_VMM)
		pd->vmm_bytes -= a->size;
	else if (a->kind == FC_ALLOC_ARRAY)
		pd->array_bytes -= a->size;
}

void fc_alloc_remove(struct fc_state *st, int idx)
{
	struct fc_alloc *a = &st->alloc[idx];

	state_uncharge(st, a);
	memset(a, 0, sizeof(*a));
	while (st->nalloc && !st->alloc[st->nalloc - 1].pid)
		st->nalloc--;
}
