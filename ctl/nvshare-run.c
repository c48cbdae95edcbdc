/*
 * nvshare-run.c - runs one command under nvshare.
 *
 *   nvshare-run [--socket PATH] [--] CMD [ARGS...]
 *
 * It finds libnvshare.so, picks the scheduler socket, makes sure a scheduler
 * answers there (starting a private one for the user when none does), then
 * replaces itself with CMD, whose environment gets LD_PRELOAD (the library
 * first, no second copy of it) and NVSHARE_SOCKET.
 *
 * Socket choice: --socket, else NVSHARE_SOCKET, else the node's scheduler
 * at NVS_DEFAULT_SOCKET if it answers, else a per-user socket in a private
 * directory: $XDG_RUNTIME_DIR/nvshare-<uid>/, else ${TMPDIR:-/tmp}/
 * nvshare-<uid>/, else (another user made that one, or planted a symlink
 * there) ${TMPDIR:-/tmp}/nvshare-<uid>.XXXXXX/, one of ours found again or
 * made with mkdtemp. A scheduler started here is detached (double fork,
 * setsid) and logs to scheduler.log beside its socket, a file that must be
 * ours and no symlink. Starting is serialised with an flock on
 * "<socket>.lock" so that two nvshare-run started together end up sharing
 * one scheduler; the lock is waited for RUN_LOCK_WAIT_MS at most, and
 * not used at all when another user owns the file (nobody else must be
 * able to stop us by holding it): a scheduler started without it at the
 * same time as another one finds the socket taken and exits.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* close_range, pipe2 */
#endif
#include "sock.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUN_EXIT_FAIL 1
#define RUN_EXIT_USAGE 2
#define RUN_EXIT_EXEC 127

#define RUN_LIB_NAME "libnvshare.so"
#define RUN_SYSTEM_LIB "/usr/lib/nvshare/" RUN_LIB_NAME
#define RUN_SCHED_NAME "nvshare-scheduler"
#define RUN_START_WAIT_MS 3000 /* how long a new scheduler may take */
#define RUN_LOCK_WAIT_MS                                                       \
	5000 /* how long another start may hold the lock                       \
	        (a start takes RUN_START_WAIT_MS at most) */
#define RUN_LOCK_POLL_MS 20
#define RUN_DIR_SCAN_MAX 64 /* fallback directories looked at */

static void run_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: nvshare-run [--socket PATH] [--] CMD [ARGS...]\n"
	    "\n"
	    "Runs CMD with libnvshare.so preloaded, so that its GPU work\n"
	    "is scheduled by nvshare.\n"
	    "\n"
	    "  --socket PATH   scheduler socket; default: $NVSHARE_SOCKET,\n"
	    "                  else %s if a scheduler\n"
	    "                  answers there, else a per-user socket in\n"
	    "                  $XDG_RUNTIME_DIR/nvshare-<uid>/ or\n"
	    "                  ${TMPDIR:-/tmp}/nvshare-<uid>/ (when another\n"
	    "                  user made that: nvshare-<uid>.XXXXXX there)\n"
	    "  -h, --help      show this help\n"
	    "\n"
	    "If no scheduler answers at the chosen socket, one is started\n"
	    "for the user (logging to scheduler.log beside the socket).\n"
	    "The library is $NVSHARE_LIBRARY, else ../lib/%s next to\n"
	    "this program, else %s.\n"
	    "Exit status: CMD's, or 1 if nvshare could not be set up, 2 for\n"
	    "a usage error, 127 if CMD could not be run.\n",
	    NVS_DEFAULT_SOCKET, RUN_LIB_NAME, RUN_SYSTEM_LIB);
}

static int run_usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "nvshare-run: %s%s%s%s\n", msg, arg ? " '" : "",
	        arg ? arg : "", arg ? "'" : "");
	fprintf(stderr, "see 'nvshare-run --help'\n");
	return RUN_EXIT_USAGE;
}

/* Directory of this program (from /proc/self/exe); -1 if unknown. */
static int run_exe_dir(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s", exe[0] ? exe : "/") >= len)
		return -1;
	return 0;
}

/* Finds libnvshare.so; fills lib with an absolute path or returns -1. */
static int run_find_library(char *lib, size_t len)
{
	const char *env = getenv("NVSHARE_LIBRARY");
	char dir[PATH_MAX], cand[PATH_MAX + 32];
	char resolved[PATH_MAX];

	if (env && *env) {
		if (access(env, R_OK) != 0) {
			fprintf(stderr, "nvshare-run: NVSHARE_LIBRARY=%s: %s\n",
			        env, strerror(errno));
			return -1;
		}
		if (!realpath(env, resolved) ||
		    (size_t)snprintf(lib, len, "%s", resolved) >= len) {
			fprintf(stderr,
			        "nvshare-run: NVSHARE_LIBRARY=%s: cannot "
			        "resolve the path\n",
			        env);
			return -1;
		}
		return 0;
	}
	cand[0] = '\0';
	if (run_exe_dir(dir, sizeof(dir)) == 0) {
		snprintf(cand, sizeof(cand), "%s/../lib/%s", dir, RUN_LIB_NAME);
		if (access(cand, R_OK) == 0 && realpath(cand, resolved) &&
		    (size_t)snprintf(lib, len, "%s", resolved) < len)
			return 0;
	}
	if (access(RUN_SYSTEM_LIB, R_OK) == 0) {
		snprintf(lib, len, "%s", RUN_SYSTEM_LIB);
		return 0;
	}
	fprintf(stderr,
	        "nvshare-run: cannot find %s (looked at %s%s%s); set "
	        "NVSHARE_LIBRARY to its path\n",
	        RUN_LIB_NAME, cand[0] ? cand : "", cand[0] ? " and " : "",
	        RUN_SYSTEM_LIB);
	return -1;
}

/* Whether an LD_PRELOAD entry names some copy of libnvshare.so. */
static int run_is_nvshare_lib(const char *entry, const char *lib)
{
	const char *base = strrchr(entry, '/');

	base = base ? base + 1 : entry;
	return strcmp(entry, lib) == 0 || strcmp(base, RUN_LIB_NAME) == 0;
}

/*
 * Builds "prefix:rest" where rest is the current LD_PRELOAD (entries are
 * separated by colons or spaces, as ld.so accepts) without empty entries
 * and without any libnvshare.so: two copies of the library would both try
 * to gate. prefix may be NULL. Returns a heap string ("" if nothing is
 * left) or NULL when out of memory.
 */
static char *run_preload(const char *prefix, const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	size_t cap =
	    (prefix ? strlen(prefix) : 0) + (old ? strlen(old) : 0) + 2;
	char *out = malloc(cap), *copy, *save = NULL, *tok;

	if (!out)
		return NULL;
	out[0] = '\0';
	if (prefix)
		strcpy(out, prefix);
	if (!old)
		return out;
	copy = strdup(old);
	if (!copy) {
		free(out);
		return NULL;
	}
	for (tok = strtok_r(copy, ": \t", &save); tok;
	     tok = strtok_r(NULL, ": \t", &save)) {
		if (run_is_nvshare_lib(tok, lib))
			continue;
		if (out[0])
			strcat(out, ":");
		strcat(out, tok);
	}
	free(copy);
	return out;
}

/* Whether a scheduler accepts connections on path. */
static int run_answers(const char *path)
{
	int fd = nvs_socket_connect(path);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Turns a relative socket path absolute (a started scheduler runs in /). */
static int run_absolute(const char *in, char *out, size_t len)
{
	char cwd[PATH_MAX];

	if (in[0] == '/') {
		if ((size_t)snprintf(out, len, "%s", in) >= len)
			goto too_long;
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd))) {
		fprintf(stderr,
		        "nvshare-run: cannot resolve the socket path %s: %s\n",
		        in, strerror(errno));
		return -1;
	}
	if ((size_t)snprintf(out, len, "%s/%s", cwd, in) >= len)
		goto too_long;
	return 0;
too_long:
	fprintf(stderr,
	        "nvshare-run: socket path %s is too long (at most %zu bytes "
	        "as an absolute path)\n",
	        in, len - 1);
	return -1;
}

/* Why st is not a private directory of this user, or NULL if it is one:
 * a real directory (not a symlink), ours, that nobody else may write to,
 * since a scheduler socket and its log in it will be trusted. */
static const char *run_dir_unsafe(const struct stat *st, char *why, size_t len)
{
	if (S_ISLNK(st->st_mode))
		return "a symbolic link";
	if (!S_ISDIR(st->st_mode))
		return "not a directory";
	if (st->st_uid != getuid()) {
		snprintf(why, len, "owned by uid %u", (unsigned)st->st_uid);
		return why;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, len, "writable by others (mode %04o)",
		         (unsigned)(st->st_mode & 07777));
		return why;
	}
	return NULL;
}

/* Makes dir (mode 0700) if it is not there and checks it. Returns 0, or -1
 * with the reason in why. */
static int run_private_dir(const char *dir, char *why, size_t len)
{
	struct stat st;
	const char *bad;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(why, len, "cannot be created: %s", strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) != 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	bad = run_dir_unsafe(&st, why, len);
	if (bad) {
		if (bad != why)
			snprintf(why, len, "%s", bad);
		return -1;
	}
	return 0;
}

/* A fallback under base: one of our nvshare-<uid>.XXXXXX directories from
 * an earlier run (so that runs still share a scheduler), else a new one.
 * Directories others made under that name are passed over. */
static int run_fallback_dir(const char *base, char *dir, size_t len)
{
	char pattern[PATH_MAX], why[96];
	glob_t g;
	int found = -1;

	if ((size_t)snprintf(pattern, sizeof(pattern), "%s/nvshare-%u.??????",
	                     base, (unsigned)getuid()) >= sizeof(pattern))
		return -1;
	if (glob(pattern, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc && i < RUN_DIR_SCAN_MAX;
		     i++) {
			struct stat st;

			if (lstat(g.gl_pathv[i], &st) == 0 &&
			    !run_dir_unsafe(&st, why, sizeof(why)) &&
			    (size_t)snprintf(dir, len, "%s", g.gl_pathv[i]) <
			        len) {
				found = 0;
				break;
			}
		}
	}
	globfree(&g);
	if (found == 0)
		return 0;
	if ((size_t)snprintf(dir, len, "%s/nvshare-%u.XXXXXX", base,
	                     (unsigned)getuid()) >= len ||
	    !mkdtemp(dir)) {
		fprintf(stderr,
		        "nvshare-run: cannot create a directory in "
		        "%s: %s\n",
		        base, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Finds (or makes) the per-user directory, passing over one that another
 * user made, a symlink or one others may write to (each said once).
 */
static int run_user_dir(char *dir, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *tmp = getenv("TMPDIR");
	const char *bases[2];
	char why[96];
	size_t n = 0;

	if (xdg && xdg[0] == '/')
		bases[n++] = xdg;
	bases[n++] = tmp && tmp[0] == '/' ? tmp : "/tmp";
	for (size_t i = 0; i < n; i++) {
		if ((size_t)snprintf(dir, len, "%s/nvshare-%u", bases[i],
		                     (unsigned int)getuid()) >= len)
			continue;
		if (run_private_dir(dir, why, sizeof(why)) == 0)
			return 0;
		fprintf(stderr,
		        "nvshare-run: %s is not a private directory of this "
		        "user (%s): not using it\n",
		        dir, why);
	}
	if (run_fallback_dir(bases[n - 1], dir, len) < 0)
		return -1;
	fprintf(stderr, "nvshare-run: using %s instead\n", dir);
	return 0;
}

/* Picks the socket; fills path (absolute). */
static int run_pick_socket(const char *opt, char *path, size_t len)
{
	const char *env = getenv("NVSHARE_SOCKET");
	char dir[PATH_MAX];

	if (opt)
		return run_absolute(opt, path, len);
	if (env && *env)
		return run_absolute(env, path, len);
	if (run_answers(NVS_DEFAULT_SOCKET)) {
		snprintf(path, len, "%s", NVS_DEFAULT_SOCKET);
		return 0;
	}
	if (run_user_dir(dir, sizeof(dir)) < 0)
		return -1;
	if ((size_t)snprintf(path, len, "%s/scheduler.sock", dir) >= len) {
		fprintf(stderr,
		        "nvshare-run: %s/scheduler.sock is too long for a "
		        "socket path; set XDG_RUNTIME_DIR or --socket\n",
		        dir);
		return -1;
	}
	return 0;
}

/* Finds the scheduler program: beside this one, else on PATH. */
static int run_find_scheduler(char *out, size_t len)
{
	char dir[PATH_MAX];
	const char *path = getenv("PATH");
	char *copy, *save = NULL, *tok;

	if (run_exe_dir(dir, sizeof(dir)) == 0 &&
	    (size_t)snprintf(out, len, "%s/%s", dir, RUN_SCHED_NAME) < len &&
	    access(out, X_OK) == 0)
		return 0;
	if (!path || !*path)
		return -1;
	copy = strdup(path);
	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ":", &save); tok;
	     tok = strtok_r(NULL, ":", &save)) {
		if (tok[0] != '/')
			continue; /* relative PATH entries are not trusted */
		if ((size_t)snprintf(out, len, "%s/%s", tok, RUN_SCHED_NAME) <
		        len &&
		    access(out, X_OK) == 0) {
			free(copy);
			return 0;
		}
	}
	free(copy);
	return -1;
}

static long long run_now_ms(void)
{
	return nvs_now_ns() / 1000000;
}

/* Closes every descriptor from 3 up, except keep. */
static void run_close_fds(int keep)
{
	long max;

	if (close_range(3, (unsigned int)keep - 1, 0) == 0 &&
	    close_range((unsigned int)keep + 1, ~0u, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	for (long fd = 3; fd < (max > 0 ? max : 1024); fd++)
		if (fd != keep)
			close((int)fd);
}

/*
 * Opens the scheduler's log for appending: never through a symlink, and
 * only a regular file of ours with one name (a log beside a socket in a
 * shared directory may have been planted, to make our scheduler append to
 * a file of ours somewhere else). Anything else is refused, said, and the
 * log goes to /dev/null. Returns the descriptor, or -1.
 */
static int run_open_log(const char *log)
{
	struct stat st;
	const char *why = NULL;
	char buf[64];
	int fd = open(log,
	              O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
	                  O_NOCTTY | O_NONBLOCK,
	              0600);

	if (fd < 0) {
		why = errno == ELOOP ? "it is a symbolic link" : buf;
		if (why == buf)
			snprintf(buf, sizeof(buf), "%s", strerror(errno));
	} else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		why = "not a regular file";
	} else if (st.st_uid != getuid()) {
		snprintf(buf, sizeof(buf), "owned by uid %u",
		         (unsigned)st.st_uid);
		why = buf;
	} else if (st.st_nlink != 1) {
		why = "it has other names (hard links)";
	}
	if (!why)
		return fd;
	if (fd >= 0)
		close(fd);
	fprintf(stderr,
	        "nvshare-run: not logging to %s (%s); the scheduler's log "
	        "goes to /dev/null\n",
	        log, why);
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "nvshare-run: /dev/null: %s\n",
		        strerror(errno));
	return fd;
}

/*
 * Starts the scheduler detached from us: the first child makes a new
 * session and forks the daemon, then exits, so the daemon is reparented
 * to init and survives CMD's process group. The daemon reports a failed
 * exec through a close-on-exec pipe; end-of-file on it means the exec
 * worked. preload is the LD_PRELOAD the daemon gets ("" unsets it).
 */
static int run_spawn_scheduler(const char *sched, const char *sock,
                               const char *log, const char *preload,
                               pid_t *daemon_pid)
{
	int pipefd[2], out, null, status, err = 0;
	pid_t child, pid = 0;
	ssize_t n;

	out = run_open_log(log);
	if (out < 0)
		return -1;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "nvshare-run: %s\n", strerror(errno));
		close(out);
		if (null >= 0)
			close(null);
		return -1;
	}
	child = fork();
	if (child == 0) {
		pid_t daemon;

		close(pipefd[0]);
		if (setsid() < 0)
			_exit(1);
		daemon = fork();
		if (daemon < 0)
			_exit(1);
		if (daemon > 0) {
			/* Tell nvshare-run whom to watch while it waits. */
			n = write(pipefd[1], &daemon, sizeof(daemon));
			_exit(n == (ssize_t)sizeof(daemon) ? 0 : 1);
		}
		if (dup2(null, STDIN_FILENO) < 0 ||
		    dup2(out, STDOUT_FILENO) < 0 ||
		    dup2(out, STDERR_FILENO) < 0 || chdir("/") != 0)
			err = errno;
		/* Keep none of the caller's descriptors (pipes a caller may
		 * wait on to reach end-of-file) open in a long-lived daemon. */
		run_close_fds(pipefd[1]);
		if (!err) {
			if (*preload)
				setenv("LD_PRELOAD", preload, 1);
			else
				unsetenv("LD_PRELOAD");
			execl(sched, RUN_SCHED_NAME, "--socket", sock,
			      (char *)NULL);
			err = errno;
		}
		if (write(pipefd[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pipefd[1]);
	close(out);
	close(null);
	if (child < 0) {
		fprintf(stderr, "nvshare-run: fork: %s\n", strerror(errno));
		close(pipefd[0]);
		return -1;
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	do {
		n = read(pipefd[0], &pid, sizeof(pid));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(pid))
		pid = 0;
	do {
		n = read(pipefd[0], &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	*daemon_pid = pid;
	if (n == (ssize_t)sizeof(err)) {
		fprintf(stderr, "nvshare-run: cannot run %s: %s\n", sched,
		        strerror(err));
		return -1;
	}
	if (n != 0 || pid <= 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr,
		        "nvshare-run: could not start %s in the "
		        "background\n",
		        sched);
		return -1;
	}
	return 0;
}

/* Whether pid still runs: it exists and is not a zombie waiting for a
 * (possibly lazy, in containers) init to reap it. */
static int run_alive(pid_t pid)
{
	char path[64], buf[256], *paren;
	ssize_t n;
	int fd;

	if (kill(pid, 0) != 0 && errno == ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last parenthesis. */
	paren = strrchr(buf, ')');
	return !(paren && paren[1] == ' ' && paren[2] == 'Z');
}

/*
 * Takes the start lock: "<sock>.lock", ours (never a symlink, never a file
 * of another user, who could hold it forever), waited for at most
 * RUN_LOCK_WAIT_MS. Returns the locked descriptor, or -1 when starting
 * goes on without it (said why; the scheduler itself refuses a socket
 * that another one serves, so the worst is a second start that exits).
 */
static int run_lock(const char *lockpath, const char *sock)
{
	long long deadline = run_now_ms() + RUN_LOCK_WAIT_MS;
	struct stat st;
	int fd = open(lockpath,
	              O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
	                  O_NONBLOCK,
	              0600);

	if (fd < 0) {
		fprintf(stderr,
		        "nvshare-run: cannot use the start lock %s (%s); "
		        "starting without it\n",
		        lockpath,
		        errno == ELOOP ? "a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != getuid()) {
		fprintf(stderr,
		        "nvshare-run: the start lock %s is not a file of this "
		        "user; starting without it\n",
		        lockpath);
		close(fd);
		return -1;
	}
	for (;;) {
		struct timespec ts = {0, RUN_LOCK_POLL_MS * 1000 * 1000};

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		/* Whoever holds it may have started the scheduler. */
		if (run_answers(sock) || run_now_ms() >= deadline)
			break;
		nanosleep(&ts, NULL);
	}
	if (!run_answers(sock))
		fprintf(stderr,
		        "nvshare-run: the start lock %s is still held after "
		        "%d ms; starting without it\n",
		        lockpath, RUN_LOCK_WAIT_MS);
	close(fd);
	return -1;
}

/*
 * Makes sure a scheduler answers at sock, starting one if needed. The
 * check and the start happen under an exclusive flock on "<sock>.lock"
 * (when it can be created) so that concurrent nvshare-run processes start
 * one scheduler between them; the others find it answering.
 */
static int run_ensure_scheduler(const char *sock, const char *lib)
{
	char lockpath[PATH_MAX], dir[PATH_MAX], log[PATH_MAX + 16];
	char sched[PATH_MAX];
	char *preload, *slash;
	long long deadline;
	pid_t daemon = 0;
	int lock, rc = -1;

	if (run_answers(sock))
		return 0;
	snprintf(dir, sizeof(dir), "%s", sock);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	snprintf(lockpath, sizeof(lockpath), "%s.lock", sock);
	lock = run_lock(lockpath, sock);
	if (run_answers(sock)) {
		if (lock >= 0)
			close(lock);
		return 0; /* another nvshare-run started it */
	}
	if (run_find_scheduler(sched, sizeof(sched)) < 0) {
		fprintf(stderr,
		        "nvshare-run: no scheduler answers at %s and %s was "
		        "not found (next to nvshare-run or on PATH)\n",
		        sock, RUN_SCHED_NAME);
		goto out;
	}
	snprintf(log, sizeof(log), "%s/scheduler.log",
	         strcmp(dir, "/") == 0 ? "" : dir);
	preload = run_preload(NULL, lib);
	if (!preload) {
		fprintf(stderr, "nvshare-run: out of memory\n");
		goto out;
	}
	if (run_spawn_scheduler(sched, sock, log, preload, &daemon) < 0) {
		free(preload);
		goto out;
	}
	free(preload);
	deadline = run_now_ms() + RUN_START_WAIT_MS;
	while (!run_answers(sock)) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		if (!run_alive(daemon)) {
			/* Gone: it may have refused because another one
			 * started at the same time; use that one. */
			if (run_answers(sock)) {
				rc = 0;
				goto out;
			}
			fprintf(stderr,
			        "nvshare-run: the scheduler started for %s "
			        "exited at once; see %s\n",
			        sock, log);
			goto out;
		}
		if (run_now_ms() >= deadline) {
			fprintf(stderr,
			        "nvshare-run: the scheduler did not answer at "
			        "%s within %d ms; see %s\n",
			        sock, RUN_START_WAIT_MS, log);
			goto out;
		}
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "nvshare-run: started %s for uid %u at %s (log: %s)\n",
	        RUN_SCHED_NAME, (unsigned int)getuid(), sock, log);
	rc = 0;
out:
	if (lock >= 0)
		close(lock);
	return rc;
}

int main(int argc, char **argv)
{
	const char *opt_socket = NULL;
	char lib[PATH_MAX], sock[NVS_SOCKET_PATH_MAX];
	char *preload;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			run_usage(stdout);
			return 0;
		}
		if (strcmp(a, "--socket") == 0) {
			if (i + 1 >= argc)
				return run_usage_error("--socket needs a path",
				                       NULL);
			opt_socket = argv[++i];
		} else if (strncmp(a, "--socket=", 9) == 0) {
			opt_socket = a + 9;
		} else if (a[0] == '-') {
			return run_usage_error("unknown option", a);
		} else {
			break;
		}
		if (!*opt_socket)
			return run_usage_error("--socket needs a path", NULL);
	}
	if (i >= argc)
		return run_usage_error("no command given", NULL);

	if (run_find_library(lib, sizeof(lib)) < 0)
		return RUN_EXIT_FAIL;
	if (strpbrk(lib, ": \t")) {
		fprintf(stderr,
		        "nvshare-run: the library path %s contains a colon or "
		        "a blank, which LD_PRELOAD cannot carry\n",
		        lib);
		return RUN_EXIT_FAIL;
	}
	if (run_pick_socket(opt_socket, sock, sizeof(sock)) < 0)
		return RUN_EXIT_FAIL;
	if (run_ensure_scheduler(sock, lib) < 0)
		return RUN_EXIT_FAIL;

	preload = run_preload(lib, lib);
	if (!preload) {
		fprintf(stderr, "nvshare-run: out of memory\n");
		return RUN_EXIT_FAIL;
	}
	if (setenv("LD_PRELOAD", preload, 1) != 0 ||
	    setenv("NVSHARE_SOCKET", sock, 1) != 0) {
		fprintf(stderr, "nvshare-run: cannot set the environment: %s\n",
		        strerror(errno));
		free(preload);
		return RUN_EXIT_FAIL;
	}
	free(preload);
	fflush(stdout);
	execvp(argv[i], argv + i);
	fprintf(stderr, "nvshare-run: cannot run '%s': %s\n", argv[i],
	        strerror(errno));
	return RUN_EXIT_EXEC;
}
