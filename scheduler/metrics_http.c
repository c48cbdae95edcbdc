/*
 * metrics_http.c - see metrics_http.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "metrics_counters.h"
#include "parse.h"
#include "sock.h"
#include "web.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A published snapshot: shared by the scrapes rendering it. */
struct shared_snap {
	struct metrics_snap snap;
	int refs; /* under mh.mu: the current pointer, each scrape */
};

static struct {
	struct MHD_Daemon *daemon;
	int efd;                     /* scrape -> loop: take a snapshot */
	pthread_mutex_t mu;          /* guards current, gen, stopping, refs */
	pthread_cond_t cond;         /* gen moved, or stopping */
	struct shared_snap *current; /* the latest, NULL before the first */
	uint64_t gen;                /* snapshots published so far */
	int stopping;                /* waiters leave at once */
	int wanted;                  /* a scrape waits for a snapshot */
} mh = {.efd = -1};

/* Drops a reference (mh.mu held); returns the snapshot to free, if it
 * was the last. */
static struct shared_snap *unref(struct shared_snap *ss)
{
	return ss && --ss->refs == 0 ? ss : NULL;
}

static void free_snap(struct shared_snap *ss)
{
	if (!ss)
		return;
	metrics_snap_free(&ss->snap);
	free(ss);
}

/* Splits HOST:PORT into host (may be "") and port. */
static int split(const char *address, char *host, size_t hn, char *port,
                 size_t pn, char *err, size_t n)
{
	const char *colon, *h = address;
	size_t hlen;

	if (address[0] == '[') {
		const char *close = strchr(address, ']');

		if (!close || close[1] != ':') {
			snprintf(err, n, "want [IPV6]:PORT");
			return -1;
		}
		h = address + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(address, ':');
		if (!colon) {
			snprintf(err, n, "want HOST:PORT");
			return -1;
		}
		hlen = (size_t)(colon - address);
		if (memchr(address, ':', hlen)) {
			snprintf(err, n, "an IPv6 address goes in brackets");
			return -1;
		}
	}
	if (hlen >= hn || strlen(colon + 1) >= pn) {
		snprintf(err, n, "too long");
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	snprintf(port, pn, "%s", colon + 1);
	return 0;
}

/* Resolves address into *out (freeaddrinfo it). */
static int resolve(const char *address, struct addrinfo **out, char *err,
                   size_t n)
{
	char host[256], port[16];
	struct addrinfo hints;
	uint64_t p;
	int rc;

	if (split(address, host, sizeof(host), port, sizeof(port), err, n))
		return -1;
	if (nvs_parse_u64(port, 0, 65535, &p)) {
		snprintf(err, n, "port must be 0..65535");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (host[0] ? 0 : AI_PASSIVE);
	hints.ai_family = host[0] ? AF_UNSPEC : AF_INET;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, out);
	if (rc) {
		snprintf(err, n, "%s", gai_strerror(rc));
		return -1;
	}
	return 0;
}

int metrics_http_check_address(const char *address, char *err, size_t n)
{
	struct addrinfo *ai;

	if (resolve(address, &ai, err, n))
		return -1;
	freeaddrinfo(ai);
	return 0;
}

/* The page of a fresh snapshot: asks the loop for one and waits for it
 * (or, past METRICS_HTTP_WAIT_MS, takes the latest). Rendered here, on
 * the HTTP thread, with no lock held. NULL if there is none. */
static char *fresh_page(size_t *len)
{
	uint64_t want;
	struct timespec until;
	struct shared_snap *ss;
	struct status_buf b = {0};

	nvs_deadline_ms(&until, METRICS_HTTP_WAIT_MS);
	pthread_mutex_lock(&mh.mu);
	want = mh.gen + 1;
	mh.wanted = 1;
	metrics_http_wake();
	while (mh.gen < want && !mh.stopping)
		if (pthread_cond_timedwait(&mh.cond, &mh.mu, &until) ==
		    ETIMEDOUT)
			break;
	ss = mh.current;
	if (ss)
		ss->refs++;
	pthread_mutex_unlock(&mh.mu);
	if (!ss)
		return NULL;
	if (metrics_snap_render(&ss->snap, &b) < 0)
		status_buf_free(&b);
	pthread_mutex_lock(&mh.mu);
	ss = unref(ss);
	pthread_mutex_unlock(&mh.mu);
	free_snap(ss);
	*len = b.len;
	return b.p;
}

void metrics_http_wake(void)
{
	uint64_t one = 1;

	/* Fails only with the counter at its maximum: asked already. */
	if (write(mh.efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		NVS_DEBUG("event=metrics_wake_failed reason=\"%s\"",
		          strerror(errno));
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
                             const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        "text/plain; charset=utf-8");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	size_t len = 0;
	char *page;
	int web_rc;

	(void)cls, (void)version, (void)upload, (void)upload_size, (void)state;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		             "only GET and HEAD\n");
	if (strcmp(url, "/metrics") && web_serve(conn, url, &web_rc))
		return web_rc == MHD_YES ? MHD_YES : MHD_NO;
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	page = fresh_page(&len);
	if (!page)
		return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		             "no metrics page yet\n");
	r = MHD_create_response_from_buffer(len, page, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(page);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	for (char *p = msg; *p; p++)
		if (*p == '"')
			*p = '\'';
	NVS_WARN("event=metrics_http_error reason=\"%s\"", msg);
}

int metrics_http_start(const char *address, const char *web_root)
{
	pthread_condattr_t ca;
	struct addrinfo *ai;
	sigset_t all, old;
	const union MHD_DaemonInfo *info;
	char err[160];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
	                 MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;

	if (resolve(address, &ai, err, sizeof(err))) {
		NVS_ERROR("event=start_failed metrics_address=%s reason=\"%s\"",
		          address, err);
		return -1;
	}
	pthread_mutex_init(&mh.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mh.cond, &ca);
	pthread_condattr_destroy(&ca);
	mh.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mh.efd < 0) {
		NVS_ERROR("event=start_failed reason=\"eventfd: %s\"",
		          strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	if (web_start(web_root, metrics_http_wake)) {
		close(mh.efd);
		mh.efd = -1;
		freeaddrinfo(ai);
		return -1;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The HTTP threads take no signal: SIGTERM stays the loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	mh.daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER,
	    mhd_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_MAX_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_HTTP_TIMEOUT_S,
	    MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	freeaddrinfo(ai);
	if (!mh.daemon) {
		NVS_ERROR("event=start_failed metrics_address=%s "
		          "reason=\"cannot serve HTTP there (in use?)\"",
		          address);
		close(mh.efd);
		mh.efd = -1;
		web_stop();
		return -1;
	}
	info = MHD_get_daemon_info(mh.daemon, MHD_DAEMON_INFO_BIND_PORT);
	NVS_INFO("event=metrics_listening address=%s port=%u path=/metrics "
	         "page=/",
	         address, info ? (unsigned)info->port : 0u);
	return 0;
}

void metrics_http_stop(void)
{
	struct shared_snap *ss;

	if (!mh.daemon)
		return;
	pthread_mutex_lock(&mh.mu);
	mh.stopping = 1;
	pthread_cond_broadcast(&mh.cond);
	pthread_mutex_unlock(&mh.mu);
	MHD_stop_daemon(mh.daemon); /* joins the scrapes */
	mh.daemon = NULL;
	web_stop();
	close(mh.efd);
	mh.efd = -1;
	pthread_mutex_lock(&mh.mu);
	ss = unref(mh.current);
	mh.current = NULL;
	pthread_mutex_unlock(&mh.mu);
	free_snap(ss);
}

int metrics_http_fd(void)
{
	return mh.efd;
}

void metrics_http_snapshot(const struct sched_registry *r, int64_t now)
{
	struct shared_snap *ss, *old = NULL;
	uint64_t asked;
	int64_t t0;
	int wanted;

	if (mh.efd < 0 || read(mh.efd, &asked, sizeof(asked)) != sizeof(asked))
		return;
	web_publish(r, now);
	pthread_mutex_lock(&mh.mu);
	wanted = mh.wanted;
	mh.wanted = 0;
	pthread_mutex_unlock(&mh.mu);
	if (!wanted)
		return;
	t0 = nvs_now_ns();
	metrics_counters_gc(&metrics_global, r);
	ss = calloc(1, sizeof(*ss));
	if (ss && metrics_snap_take(r, &metrics_global, now, &ss->snap) < 0) {
		free_snap(ss);
		ss = NULL;
	}
	if (!ss)
		NVS_WARN("event=metrics_snapshot_failed reason=\"out of "
		         "memory\"");
	metrics_global.last_snapshot_ns = nvs_now_ns() - t0;
	pthread_mutex_lock(&mh.mu);
	if (ss) { /* else the scrapes keep the previous one */
		ss->refs = 1;
		old = unref(mh.current);
		mh.current = ss;
	}
	mh.gen++;
	pthread_cond_broadcast(&mh.cond);
	pthread_mutex_unlock(&mh.mu);
	free_snap(old);
}

int64_t metrics_http_tick(const struct sched_registry *r, int64_t now)
{
	return web_tick(r, now);
}
