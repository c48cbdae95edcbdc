/*
 * kube_watch.c - see kube_watch.h. Two threads:
 *
 * - the watcher lists the node's pods (in pages), then watches from the
 *   list's resourceVersion and resumes a watch that ends from the last
 *   version it saw. A 410 Gone, as the answer to a watch or as an ERROR
 *   event inside one, means that version is too old: it lists again, and
 *   the pods the new list lacks are handed over as deleted. Failures (the
 *   server down, TLS refused, an error answer, an ERROR event, a watch
 *   that ends before it worked) back off exponentially with full jitter,
 *   0.2 s doubling up to 30 s, and only a watch that worked (open 1 s
 *   with a pod or bookmark event in it, or open 10 s) counts the run of
 *   failures as over: no answer the server gives, a list that succeeds
 *   included, makes the watcher ask faster. A 401 retries soon once the
 *   token file has been read again (a rotated token). Pods the full cache
 *   refused are offered again by a list about a minute later.
 * - the poster takes Warning Events from a bounded queue and posts them,
 *   events.k8s.io/v1 first and core/v1 from the first 404 on, so that a
 *   slow Event never delays the watch.
 *
 * JSON is decoded on the watcher thread with the mutex released; the mutex
 * is held only to put a decoded pod into the cache, to take changes (the
 * loop) and to copy counters.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* eventfd, pthread_sigmask */
#endif
#include "kube_watch.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "kube_cache.h"
#include "kube_config.h"
#include "kube_decode.h"
#include "kube_events.h"
#include "kube_http.h"
#include "log.h"
#include "sock.h"

#define BACKOFF_BASE_MS 200
#define BACKOFF_MAX_MS 30000
#define UNAUTHORIZED_RETRY_MS 200 /* after a 401: the token may be new */
#define UNAUTHORIZED_QUICK 2      /* 401s in a row retried that soon */
#define GONE_QUICK 3              /* 410s in a row relisted at once */
#define LIST_PAGE 50              /* pods per list page, at first */
#define LIST_BODY_MAX (16u << 20) /* one page's body (pods of ~300 KiB) */
#define LIST_TIMEOUT_S 120
#define WATCH_LINE_MAX (4u << 20)   /* a pod is at most ~1.5 MiB (etcd) */
#define WATCH_TIMEOUT_MIN_S 240     /* the server ends a watch after 4..8 */
#define WATCH_TIMEOUT_SPAN_S 240    /* minutes, spread so nodes do not align */
#define WATCH_QUICK_NS 1000000000LL /* a watch shorter: a failure */
/* A watch open this long worked, even without an event. */
#define WATCH_HEALTHY_NS 10000000000LL
#define RELIST_FULL_MIN_MS 45000  /* after the cache refused pods: list */
#define RELIST_FULL_SPAN_MS 30000 /* again in 45..75 s */
#define EVENT_TIMEOUT_S 10
#define EVENT_TRIES 3
#define URL_SIZE (KUBE_URL_MAX + 3 * KUBE_CONTINUE_SIZE + 1024)
#define KUBE_ERROR_SIZE sizeof(((struct kube_watch_stats *)0)->last_error)

enum outcome {
	OUT_OK,
	OUT_GONE,         /* 410: list again */
	OUT_UNAUTHORIZED, /* 401: read the token again, retry soon */
	OUT_ERROR,        /* back off */
	OUT_STOPPED,
};

struct kube_watch {
	struct kube_watch_config cfg;
	pthread_mutex_t mu;      /* cache, st, evq */
	pthread_cond_t watch_cv; /* the watcher's sleeps end on stop */
	pthread_cond_t event_cv; /* the poster waits for Events */
	atomic_int stop;
	int efd; /* readable: changes wait */
	struct kube_cache *cache;
	struct kube_watch_stats st;
	struct kube_event_queue evq;
	pthread_t watch_tid, event_tid;
	int watch_started, event_started;

	/* The watcher thread's own. */
	struct kube_http *http;
	char rv[KUBE_RV_SIZE];                       /* resume from here */
	char selector[3 * KUBE_NODE_NAME_SIZE + 64]; /* escaped */
	unsigned attempt;                            /* failures in a row */
	int warned;             /* the run of failures has had its warning */
	size_t list_page;       /* pods asked per page (halved when too big) */
	uint64_t full_refusals; /* pods the full cache refused */
	int64_t relist_at_ns;   /* list again then (0: no need) */
	uint64_t rng;
	struct kube_pod *gone; /* relist scratch */
	char token[KUBE_TOKEN_MAX];
	const char *source; /* "list", "relist", "watch" */
	int listed_once;
	/* The watch stream under way. */
	uint64_t stream_events; /* pod and bookmark events taken */
	int stream_gone, stream_error, stream_relist;
	int64_t stream_open_ns;
	int watch_worked; /* the last watch counts as working (see top) */

	/* The poster thread's own. */
	struct kube_http *ehttp;
	enum kube_event_api api;
	uint64_t event_seq;
	char etoken[KUBE_TOKEN_MAX];
};

static int stopping(struct kube_watch *w)
{
	return atomic_load(&w->stop);
}

/* --- counters ---------------------------------------------------------------
 */

static void set_error(struct kube_watch *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Counts a failed request (either thread) and keeps its reason for
 * status, made safe for a log line; safe (KUBE_ERROR_SIZE) gets it too. */
static void note_error(struct kube_watch *w, const char *msg, char *safe)
{
	kube_printable(msg, strlen(msg), safe, KUBE_ERROR_SIZE,
	               KUBE_TEXT_PHRASE);
	pthread_mutex_lock(&w->mu);
	w->st.errors++;
	snprintf(w->st.last_error, sizeof(w->st.last_error), "%s", safe);
	pthread_mutex_unlock(&w->mu);
}

/* The watcher thread's failures: one warning per run of them (a run ends
 * when a watch works), the rest at debug. */
static void set_error(struct kube_watch *w, const char *fmt, ...)
{
	char msg[KUBE_ERROR_SIZE], safe[KUBE_ERROR_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	note_error(w, msg, safe);
	if (!w->warned) {
		w->warned = 1;
		NVS_WARN("event=kube_error reason=\"%s\"", safe);
	} else {
		NVS_DEBUG("event=kube_error reason=\"%s\" in_a_row=%u", safe,
		          w->attempt + 1);
	}
}

static void set_rv(struct kube_watch *w, const char *rv)
{
	if (!rv[0])
		return;
	snprintf(w->rv, sizeof(w->rv), "%s", rv);
	pthread_mutex_lock(&w->mu);
	snprintf(w->st.resource_version, sizeof(w->st.resource_version), "%s",
	         rv);
	pthread_mutex_unlock(&w->mu);
}

/* Makes the loop's descriptor readable. */
static void notify(struct kube_watch *w)
{
	uint64_t one = 1;

	if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		NVS_WARN("event=kube_notify_failed reason=\"%s\"",
		         strerror(errno));
}

/* --- sleeping ----------------------------------------------------------------
 */

static uint64_t next_random(struct kube_watch *w)
{
	/* xorshift64: spreading retries needs no better randomness. */
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

/* Sleeps ms on cv, or until stop. */
static void nap(struct kube_watch *w, pthread_cond_t *cv, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (!stopping(w) &&
	       pthread_cond_timedwait(cv, &w->mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&w->mu);
}

/* Full jitter: uniform in [0, min(max, base * 2^attempt)]. */
static long backoff_ms(struct kube_watch *w)
{
	long cap = BACKOFF_BASE_MS;

	for (unsigned i = 0; i < w->attempt && cap < BACKOFF_MAX_MS; i++)
		cap *= 2;
	if (cap > BACKOFF_MAX_MS)
		cap = BACKOFF_MAX_MS;
	w->attempt++;
	return (long)(next_random(w) % (uint64_t)(cap + 1));
}

/* --- pods
 * --------------------------------------------------------------------- */

/* An annotation for a log line. */
static void shown(const struct kube_annotation *a, char *out, size_t n)
{
	if (!a->present) {
		snprintf(out, n, "-");
		return;
	}
	if (a->too_long) {
		snprintf(out, n, "(too long)");
		return;
	}
	kube_printable(a->value, strlen(a->value), out, n, KUBE_TEXT_WORD);
}

static void log_pod(const char *op, const struct kube_pod *p,
                    const char *source)
{
	char mem[KUBE_ANNOTATION_SIZE], core[KUBE_ANNOTATION_SIZE];

	if (!nvs_log_enabled(NVS_LOG_DEBUG))
		return;
	shown(&p->memory, mem, sizeof(mem));
	shown(&p->core, core, sizeof(core));
	NVS_DEBUG("event=kube_watch_pod op=%s uid=%s namespace=%s name=%s "
	          "memory_limit=\"%s\" core_limit=\"%s\" source=%s",
	          op, p->uid, p->pod_namespace, p->pod_name, mem, core, source);
}

/* One line per bad object, however often the server sends it. */
static void refuse_object(struct kube_watch *w,
                          const struct kube_decoded_pod *d)
{
	char key[sizeof(d->pod.uid) + sizeof(d->resource_version) +
	         sizeof(d->why) + 4];
	char why[sizeof(d->why)];
	int first;

	snprintf(key, sizeof(key), "%s|%s", d->uid_ok ? d->pod.uid : "?",
	         d->why);
	pthread_mutex_lock(&w->mu);
	first = kube_cache_note_bad(w->cache, key);
	pthread_mutex_unlock(&w->mu);
	/* The decoder made the server's words safe; its own are too, but a
	 * log line is not the place to trust that. */
	if (first)
		NVS_WARN("event=kube_pod_refused uid=%s resource_version=%s "
		         "reason=\"%s\" source=%s",
		         d->uid_ok ? d->pod.uid : "?",
		         d->resource_version[0] ? d->resource_version : "?",
		         kube_printable(d->why, strlen(d->why), why,
		                        sizeof(why), KUBE_TEXT_PHRASE),
		         w->source);
}

static void pod_gone(struct kube_watch *w, const char *uid)
{
	struct kube_pod p;
	const struct kube_pod *was;
	int had, wake;

	pthread_mutex_lock(&w->mu);
	was = kube_cache_find(w->cache, uid);
	if (was)
		p = *was;
	wake = kube_cache_pending(w->cache) == 0;
	had = kube_cache_delete(w->cache, uid, nvs_now_ns());
	pthread_mutex_unlock(&w->mu);
	if (!had)
		return;
	if (wake)
		notify(w);
	log_pod("deleted", &p, w->source);
}

static int relist_due(const struct kube_watch *w)
{
	return w->relist_at_ns && nvs_now_ns() >= w->relist_at_ns;
}

/* The full cache refused p: a list in a minute or so offers it again (by
 * then a deletion may have made room), once whatever the number refused;
 * one line per pod, however many lists refuse it. */
static void refused_full(struct kube_watch *w, const struct kube_pod *p)
{
	char key[sizeof(p->uid) + 8];
	int first;

	w->full_refusals++;
	snprintf(key, sizeof(key), "%s|full", p->uid);
	pthread_mutex_lock(&w->mu);
	first = kube_cache_note_bad(w->cache, key);
	pthread_mutex_unlock(&w->mu);
	if (first)
		NVS_WARN("event=kube_pod_refused uid=%s namespace=%s name=%s "
		         "reason=\"the cache holds %d pods already\"",
		         p->uid, p->pod_namespace, p->pod_name, KUBE_CACHE_MAX);
	if (!w->relist_at_ns) {
		long ms = RELIST_FULL_MIN_MS +
		          (long)(next_random(w) % (RELIST_FULL_SPAN_MS + 1));

		w->relist_at_ns = nvs_now_ns() + (int64_t)ms * 1000000;
		NVS_INFO("event=kube_relist_scheduled in_ms=%ld reason=\"the "
		         "cache is full: a list offers the pods it refused "
		         "again\"",
		         ms);
	}
}

/* A pod as listed or watched. */
static void pod_seen(struct kube_watch *w, const struct kube_decoded_pod *d)
{
	enum kube_cache_result r;
	struct kube_pod p;
	int wake;

	if (!d->ok) {
		refuse_object(w, d);
		return;
	}
	/* The field selector asked for this node's pods; one bound elsewhere
	 * is not ours whatever the server sent. */
	if (d->node_name[0] && strcmp(d->node_name, w->cfg.node_name) != 0) {
		struct kube_decoded_pod other = *d;

		other.ok = 0;
		snprintf(other.why, sizeof(other.why),
		         "spec.nodeName %.64s is not this node", d->node_name);
		refuse_object(w, &other);
		pod_gone(w, d->pod.uid);
		return;
	}
	p = d->pod;
	p.seen_ns = nvs_now_ns();
	pthread_mutex_lock(&w->mu);
	wake = kube_cache_pending(w->cache) == 0;
	r = kube_cache_put(w->cache, &p);
	wake = wake && kube_cache_pending(w->cache) > 0;
	pthread_mutex_unlock(&w->mu);
	if (wake)
		notify(w);
	if (r == KUBE_CACHE_ADDED)
		log_pod("added", &p, w->source);
	else if (r == KUBE_CACHE_MODIFIED)
		log_pod("modified", &p, w->source);
	else if (r == KUBE_CACHE_FULL)
		refused_full(w, &p);
}

/* --- requests
 * ------------------------------------------------------------------ */

/* The token, read again for every request. */
static int read_token(struct kube_watch *w, char *token)
{
	char why[KUBE_PATH_MAX + 128];

	if (kube_http_read_token(w->cfg.token_file, token, KUBE_TOKEN_MAX, why,
	                         sizeof(why)) == 0)
		return 0;
	set_error(w, "%s", why);
	return -1;
}

/* An error answer's words, for the log and status. */
static void answer_text(const struct kube_http_reply *r, char *out, size_t n)
{
	struct kube_status st;

	if (r->body && kube_decode_status(r->body, r->len, &st) == 0 &&
	    (st.reason[0] || st.message[0]))
		snprintf(out, n, "%.40s: %.120s", st.reason, st.message);
	else
		snprintf(out, n, "no Status in the answer");
}

static int is_gone_answer(const struct kube_http_reply *r)
{
	struct kube_status st;

	if (r->status == 410)
		return 1;
	return r->body && kube_decode_status(r->body, r->len, &st) == 0 &&
	       st.gone && st.code == r->status;
}

/* What a failed or non-200 answer means. */
static enum outcome judge(struct kube_watch *w, int rc,
                          const struct kube_http_reply *r, const char *what)
{
	char text[200];

	if (r->stopped)
		return OUT_STOPPED;
	if (rc < 0) {
		set_error(w, "%s: %s", what, r->error);
		return OUT_ERROR;
	}
	if (is_gone_answer(r)) {
		pthread_mutex_lock(&w->mu);
		w->st.gone++;
		pthread_mutex_unlock(&w->mu);
		NVS_INFO("event=kube_gone during=%s resource_version=%s "
		         "msg=\"410 Gone: listing again\"",
		         what, w->rv[0] ? w->rv : "-");
		return OUT_GONE;
	}
	answer_text(r, text, sizeof(text));
	set_error(w, "%s: HTTP %d (%s)", what, r->status, text);
	return r->status == 401 ? OUT_UNAUTHORIZED : OUT_ERROR;
}

static void list_item(void *ctx, const struct kube_decoded_pod *p)
{
	pod_seen(ctx, p);
}

/* One page, asked with w->list_page pods and halved while a page is over
 * LIST_BODY_MAX. Returns 0 with r filled (r.status 200 or an error
 * answer), or the outcome of a failure. */
static int list_page(struct kube_watch *w, char *url, const char *cont,
                     struct kube_http_reply *r, enum outcome *o)
{
	for (;;) {
		int rc;

		if (read_token(w, w->token) < 0) {
			*o = OUT_ERROR;
			return -1;
		}
		snprintf(url, URL_SIZE,
		         "%s/api/v1/pods?fieldSelector=%s&limit=%zu%s%s",
		         w->cfg.api_url, w->selector, w->list_page,
		         cont[0] ? "&continue=" : "", cont);
		rc = kube_http_get(w->http, url, w->token, LIST_BODY_MAX,
		                   LIST_TIMEOUT_S, r);
		explicit_bzero(w->token, sizeof(w->token));
		if (rc == 0 && r->status == 200)
			return 0;
		/* A page of big pods: ask for fewer (a continue token does
		 * not fix the page size). */
		if (rc < 0 && r->truncated && r->status == 200 &&
		    w->list_page > 1 && !r->stopped) {
			kube_http_reply_free(r);
			w->list_page /= 2;
			set_error(w,
			          "list: a page is over %u MiB: asking for %zu "
			          "pods a page",
			          LIST_BODY_MAX >> 20, w->list_page);
			continue;
		}
		*o = judge(w, rc, r, "list");
		kube_http_reply_free(r);
		return -1;
	}
}

static enum outcome do_list(struct kube_watch *w)
{
	char *url = malloc(URL_SIZE), cont[3 * KUBE_CONTINUE_SIZE];
	struct kube_list_page page = {0};
	struct kube_http_reply r;
	size_t items = 0, refused = 0, ngone;
	uint64_t full0 = w->full_refusals;
	int pages = 0;
	enum outcome o = OUT_OK;

	if (!url) {
		set_error(w, "list: out of memory");
		return OUT_ERROR;
	}
	w->source = w->listed_once ? "relist" : "list";
	w->relist_at_ns = 0; /* this list offers every pod again */
	pthread_mutex_lock(&w->mu);
	kube_cache_relist_begin(w->cache);
	pthread_mutex_unlock(&w->mu);
	cont[0] = '\0';
	for (;;) {
		char why[KUBE_WHY_SIZE];
		int rc;

		if (list_page(w, url, cont, &r, &o) < 0)
			break;
		rc = kube_decode_list(r.body ? r.body : "", r.len, &page,
		                      list_item, w, why, sizeof(why));
		kube_http_reply_free(&r);
		if (rc < 0) {
			set_error(w, "list: %s", why);
			o = OUT_ERROR;
			break;
		}
		pages++;
		items += page.items;
		refused += page.refused;
		if (!page.cont[0])
			break;
		if (kube_http_escape(w->http, page.cont, cont, sizeof(cont)) <
		    0) {
			set_error(w, "list: continue token does not fit");
			o = OUT_ERROR;
			break;
		}
	}
	free(url);
	if (o != OUT_OK)
		return o;
	pthread_mutex_lock(&w->mu);
	ngone = kube_cache_relist_end(w->cache, nvs_now_ns(), w->gone,
	                              KUBE_CACHE_MAX);
	w->st.lists++;
	w->st.synced = 1;
	pthread_mutex_unlock(&w->mu);
	if (ngone)
		notify(w);
	for (size_t i = 0; i < ngone && i < KUBE_CACHE_MAX; i++)
		log_pod("deleted", &w->gone[i], w->source);
	set_rv(w, page.resource_version);
	NVS_INFO("event=kube_listed kind=%s pods=%zu refused=%zu "
	         "refused_full=%llu deleted=%zu pages=%d page_size=%zu "
	         "resource_version=%s",
	         w->source, items, refused,
	         (unsigned long long)(w->full_refusals - full0), ngone, pages,
	         w->list_page, w->rv);
	w->listed_once = 1;
	return OUT_OK;
}

static void stream_opened(void *ctx)
{
	struct kube_watch *w = ctx;

	pthread_mutex_lock(&w->mu);
	w->st.connected = 1;
	pthread_mutex_unlock(&w->mu);
	w->stream_open_ns = nvs_now_ns();
}

static void stream_skipped(void *ctx, size_t len)
{
	struct kube_watch *w = ctx;

	set_error(w,
	          "watch: a line of %zu bytes is over the bound of %u; "
	          "skipped",
	          len, WATCH_LINE_MAX);
}

/* Ends the watch when the full cache wants a list. */
static int stream_poll(void *ctx)
{
	struct kube_watch *w = ctx;

	w->stream_relist = relist_due(w);
	return w->stream_relist;
}

static int stream_line(void *ctx, const char *line, size_t len)
{
	struct kube_watch *w = ctx;
	struct kube_watch_line *ev = malloc(sizeof(*ev));
	char why[KUBE_WHY_SIZE];
	int end = 0;

	if (!ev)
		return 0;
	if (kube_decode_watch_line(line, len, ev, why, sizeof(why)) < 0) {
		struct kube_decoded_pod bad = {0};

		snprintf(bad.why, sizeof(bad.why), "watch line: %.140s", why);
		refuse_object(w, &bad);
		free(ev);
		return 0;
	}
	switch (ev->type) {
	case KUBE_WATCH_ERROR:
		if (ev->status.gone) {
			pthread_mutex_lock(&w->mu);
			w->st.gone++;
			pthread_mutex_unlock(&w->mu);
			NVS_INFO("event=kube_gone during=watch "
			         "resource_version=%s msg=\"ERROR event 410 "
			         "Gone: listing again\"",
			         w->rv);
			w->stream_gone = 1;
		} else {
			set_error(w, "watch: ERROR event %d %s: %s",
			          ev->status.code, ev->status.reason,
			          ev->status.message);
			w->stream_error = 1;
		}
		end = 1;
		break;
	case KUBE_WATCH_BOOKMARK: w->stream_events++; break;
	case KUBE_WATCH_ADDED:
	case KUBE_WATCH_MODIFIED:
		w->stream_events += ev->obj.ok;
		pod_seen(w, &ev->obj);
		break;
	case KUBE_WATCH_DELETED:
		if (ev->obj.uid_ok) {
			w->stream_events++;
			pod_gone(w, ev->obj.pod.uid);
		} else {
			refuse_object(w, &ev->obj);
		}
		break;
	}
	if (!end)
		set_rv(w, ev->obj.resource_version);
	free(ev);
	return end;
}

static enum outcome do_watch(struct kube_watch *w, int first)
{
	const struct kube_http_stream s = {
	    .max_line = WATCH_LINE_MAX,
	    .opened = stream_opened,
	    .line = stream_line,
	    .skipped = stream_skipped,
	    .poll = stream_poll,
	    .ctx = w,
	};
	long timeout =
	    WATCH_TIMEOUT_MIN_S + (long)(next_random(w) % WATCH_TIMEOUT_SPAN_S);
	char url[URL_SIZE];
	struct kube_http_reply r;
	enum outcome o = OUT_OK;
	int64_t open_ns = 0;
	int rc;

	w->watch_worked = 0;
	if (read_token(w, w->token) < 0)
		return OUT_ERROR;
	w->source = "watch";
	w->stream_events = 0;
	w->stream_gone = w->stream_error = w->stream_relist = 0;
	w->stream_open_ns = 0;
	snprintf(url, sizeof(url),
	         "%s/api/v1/pods?watch=true&fieldSelector=%s&resourceVersion=%s"
	         "&allowWatchBookmarks=true&timeoutSeconds=%ld",
	         w->cfg.api_url, w->selector, w->rv, timeout);
	if (!first) {
		pthread_mutex_lock(&w->mu);
		w->st.watch_restarts++;
		pthread_mutex_unlock(&w->mu);
	}
	NVS_DEBUG("event=kube_watch resource_version=%s restart=%d", w->rv,
	          !first);
	rc = kube_http_stream(w->http, url, w->token, timeout + 30, &s, &r);
	explicit_bzero(w->token, sizeof(w->token));
	pthread_mutex_lock(&w->mu);
	w->st.connected = 0;
	pthread_mutex_unlock(&w->mu);
	if (w->stream_open_ns) {
		open_ns = nvs_now_ns() - w->stream_open_ns;
		/* Only a watch that worked ends a run of failures: an ERROR
		 * event, a line or two and the end, a quick close all keep
		 * backing off. */
		w->watch_worked =
		    open_ns >= WATCH_HEALTHY_NS ||
		    (open_ns >= WATCH_QUICK_NS && w->stream_events > 0);
	}
	if (w->stream_gone)
		o = OUT_GONE;
	else if (w->stream_error)
		o = OUT_ERROR;
	else if (r.stopped)
		o = OUT_STOPPED;
	else if (w->stream_relist)
		o = OUT_OK; /* ended here, for the list the full cache wants */
	else if (w->stream_open_ns) {
		/* The stream was open: it ended (the server's timeout, or
		 * the connection broke). Resume at once if it worked. */
		if (rc < 0) {
			char why[sizeof(r.error)];

			NVS_INFO("event=kube_watch_ended reason=\"%s\" "
			         "events=%llu",
			         kube_printable(r.error, strlen(r.error), why,
			                        sizeof(why), KUBE_TEXT_PHRASE),
			         (unsigned long long)w->stream_events);
		}
		if (!w->watch_worked) {
			set_error(
			    w,
			    "watch: the stream ended after %lld ms with %llu "
			    "events",
			    (long long)(open_ns / 1000000),
			    (unsigned long long)w->stream_events);
			o = OUT_ERROR;
		}
	} else {
		o = judge(w, rc, &r, "watch");
		if (o == OUT_OK) /* an answer other than 200 */
			o = OUT_ERROR;
	}
	kube_http_reply_free(&r);
	return o;
}

static void *watch_main(void *arg)
{
	struct kube_watch *w = arg;
	int need_list = 1, first = 1;
	unsigned unauthorized = 0, gone = 0;

	while (!stopping(w)) {
		enum outcome o;
		long ms;

		if (!need_list && relist_due(w)) {
			NVS_INFO(
			    "event=kube_relist reason=\"the cache was full: "
			    "offering the pods it refused again\"");
			need_list = 1;
		}
		if (need_list) {
			/* A list that succeeds does not end a run of
			 * failures: a server that answers every watch with
			 * 410 is listed ever more slowly. */
			o = do_list(w);
			if (o == OUT_OK) {
				need_list = 0;
				first = 1;
				unauthorized = 0;
				continue;
			}
		} else {
			o = do_watch(w, first);
			first = 0;
			if (w->watch_worked) {
				w->attempt = 0;
				w->warned = 0;
				unauthorized = gone = 0;
			}
			if (o == OUT_OK)
				continue;
		}
		if (o == OUT_STOPPED)
			break;
		if (o == OUT_GONE) {
			need_list = 1;
			if (++gone <= GONE_QUICK)
				continue;
			ms = backoff_ms(w);
		} else if (o == OUT_UNAUTHORIZED &&
		           ++unauthorized <= UNAUTHORIZED_QUICK) {
			ms = UNAUTHORIZED_RETRY_MS;
		} else {
			ms = backoff_ms(w);
		}
		NVS_DEBUG("event=kube_backoff ms=%ld in_a_row=%u", ms,
		          w->attempt);
		nap(w, &w->watch_cv, ms);
	}
	return NULL;
}

/* --- Events ------------------------------------------------------------------
 */

static void event_done(struct kube_watch *w, const struct kube_event *ev,
                       int posted, const char *why)
{
	char safe[KUBE_ERROR_SIZE];

	if (!posted)
		kube_printable(why, strlen(why), safe, sizeof(safe),
		               KUBE_TEXT_PHRASE);
	pthread_mutex_lock(&w->mu);
	if (posted)
		w->st.events_posted++;
	else
		w->st.events_dropped++;
	pthread_mutex_unlock(&w->mu);
	if (posted)
		NVS_DEBUG("event=kube_event_posted namespace=%s name=%s "
		          "reason=%s api=%s",
		          ev->pod_namespace, ev->pod_name, ev->reason,
		          w->api == KUBE_EVENTS_V1 ? "events.k8s.io/v1" : "v1");
	else
		NVS_WARN("event=kube_event_dropped namespace=%s name=%s "
		         "reason=\"%s\"",
		         ev->pod_namespace, ev->pod_name, safe);
}

static void post_event(struct kube_watch *w, const struct kube_event *ev)
{
	char url[KUBE_URL_MAX + 256], path[256], why[200] = "";
	struct kube_http_reply r;

	if (!kube_dns_label_valid(ev->pod_namespace,
	                          strlen(ev->pod_namespace))) {
		event_done(w, ev, 0, "the namespace is not a DNS label");
		return;
	}
	for (int tries = 0; tries < EVENT_TRIES && !stopping(w);) {
		struct timespec now;
		char *body;
		int rc;

		clock_gettime(CLOCK_REALTIME, &now);
		if (kube_http_read_token(w->cfg.token_file, w->etoken,
		                         sizeof(w->etoken), why,
		                         sizeof(why)) < 0) {
			tries++;
			nap(w, &w->event_cv, 500L << tries);
			continue;
		}
		body =
		    kube_event_body(w->api, ev, w->cfg.node_name, &now,
		                    ((uint64_t)now.tv_sec << 20) ^
		                        (uint64_t)now.tv_nsec ^ ++w->event_seq);
		if (!body) {
			event_done(w, ev, 0, "no body (out of memory)");
			return;
		}
		kube_event_path(w->api, ev, path, sizeof(path));
		snprintf(url, sizeof(url), "%s%s", w->cfg.api_url, path);
		rc = kube_http_post(w->ehttp, url, w->etoken, body,
		                    EVENT_TIMEOUT_S, &r);
		explicit_bzero(w->etoken, sizeof(w->etoken));
		free(body);
		if (rc == 0 && r.status >= 200 && r.status < 300) {
			kube_http_reply_free(&r);
			event_done(w, ev, 1, NULL);
			return;
		}
		if (rc == 0 && r.status == 404 && w->api == KUBE_EVENTS_V1) {
			struct kube_status st;

			/* A missing namespace is named in the Status; a
			 * missing API group is not. */
			if (r.body &&
			    kube_decode_status(r.body, r.len, &st) == 0 &&
			    strcmp(st.details_kind, "namespaces") == 0) {
				kube_http_reply_free(&r);
				event_done(w, ev, 0, "the namespace is gone");
				return;
			}
			kube_http_reply_free(&r);
			w->api = KUBE_EVENTS_CORE;
			NVS_INFO(
			    "event=kube_events_api api=v1 msg=\"the server "
			    "has no events.k8s.io/v1: posting core/v1 "
			    "Events from now on\"");
			continue;
		}
		if (rc < 0)
			snprintf(why, sizeof(why), "%.190s", r.error);
		else
			answer_text(&r, why, sizeof(why));
		{
			char msg[KUBE_ERROR_SIZE], safe[KUBE_ERROR_SIZE];

			snprintf(msg, sizeof(msg), "event: HTTP %d (%s)",
			         r.status, why);
			note_error(w, msg, safe);
		}
		tries++;
		/* 401 (a token about to be replaced), 429 and 5xx and no
		 * answer at all may pass; any other refusal will not. */
		if (rc == 0 && r.status != 401 && r.status != 429 &&
		    r.status < 500) {
			kube_http_reply_free(&r);
			break;
		}
		kube_http_reply_free(&r);
		if (tries < EVENT_TRIES)
			nap(w, &w->event_cv, 250L << tries);
	}
	event_done(w, ev, 0, why[0] ? why : "stopped");
}

static void *event_main(void *arg)
{
	struct kube_watch *w = arg;
	struct kube_event ev;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!stopping(w) && !w->evq.len)
			pthread_cond_wait(&w->event_cv, &w->mu);
		if (stopping(w)) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		kube_event_pop(&w->evq, &ev);
		pthread_mutex_unlock(&w->mu);
		post_event(w, &ev);
	}
}

/* --- the interface -----------------------------------------------------------
 */

static int make_threads(struct kube_watch *w)
{
	sigset_t all, old;
	int rc;

	/* Signals are the loop's (its signalfd): never delivered here. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&w->watch_tid, NULL, watch_main, w);
	w->watch_started = rc == 0;
	if (rc == 0) {
		rc = pthread_create(&w->event_tid, NULL, event_main, w);
		w->event_started = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static int init_sync(struct kube_watch *w)
{
	pthread_condattr_t ca;

	if (pthread_mutex_init(&w->mu, NULL))
		return -1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&w->watch_cv, &ca)) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&w->mu);
		return -1;
	}
	if (pthread_cond_init(&w->event_cv, &ca)) {
		pthread_condattr_destroy(&ca);
		pthread_cond_destroy(&w->watch_cv);
		pthread_mutex_destroy(&w->mu);
		return -1;
	}
	pthread_condattr_destroy(&ca);
	return 0;
}

struct kube_watch *kube_watch_start(const struct kube_watch_config *cfg)
{
	static int curl_ready;
	struct kube_watch *w;
	char node_sel[KUBE_NODE_NAME_SIZE + 32];

	if (!kube_dns_subdomain_valid(cfg->node_name, strlen(cfg->node_name)) ||
	    strncmp(cfg->api_url, "https://", 8) != 0) {
		NVS_ERROR("event=kube_watch_failed reason=\"bad settings\"");
		return NULL;
	}
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			NVS_ERROR("event=kube_watch_failed reason=\"libcurl "
			          "would not initialise\"");
			return NULL;
		}
		curl_ready = 1;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		goto oom;
	w->cfg = *cfg;
	w->efd = -1;
	w->api = KUBE_EVENTS_V1;
	w->list_page = LIST_PAGE;
	w->rng = (uint64_t)nvs_now_ns() ^ ((uint64_t)getpid() << 32) ^
	         0x9e3779b97f4a7c15ULL;
	if (!w->rng)
		w->rng = 1;
	if (init_sync(w) < 0)
		goto oom_free;
	w->cache = malloc(sizeof(*w->cache));
	w->gone = calloc(KUBE_CACHE_MAX, sizeof(*w->gone));
	w->http = kube_http_new(cfg->ca_file, &w->stop);
	w->ehttp = kube_http_new(cfg->ca_file, &w->stop);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!w->cache || !w->gone || !w->http || !w->ehttp || w->efd < 0)
		goto oom_sync;
	kube_cache_init(w->cache);
	snprintf(node_sel, sizeof(node_sel), "spec.nodeName=%s",
	         cfg->node_name);
	if (kube_http_escape(w->http, node_sel, w->selector,
	                     sizeof(w->selector)) < 0)
		goto oom_sync;
	if (make_threads(w)) {
		NVS_ERROR("event=kube_watch_failed reason=\"no thread: %s\"",
		          strerror(errno));
		kube_watch_stop(w);
		return NULL;
	}
	NVS_INFO("event=kube_watch_start api=%s node=%s token_file=%s "
	         "ca_file=%s",
	         cfg->api_url, cfg->node_name, cfg->token_file, cfg->ca_file);
	return w;
oom_sync:
	kube_watch_stop(w);
	goto oom;
oom_free:
	free(w);
oom:
	NVS_ERROR("event=kube_watch_failed reason=\"out of memory\"");
	return NULL;
}

int kube_watch_available(char *why, size_t n)
{
	(void)why;
	(void)n;
	return 1;
}

int kube_watch_fd(const struct kube_watch *w)
{
	return w->efd;
}

size_t kube_watch_take(struct kube_watch *w, struct kube_change *out,
                       size_t max)
{
	size_t n, left;

	pthread_mutex_lock(&w->mu);
	n = kube_cache_take(w->cache, out, max);
	left = kube_cache_pending(w->cache);
	pthread_mutex_unlock(&w->mu);
	/* A caller that stops taking early is woken again for the rest. */
	if (left)
		notify(w);
	return n;
}

void kube_watch_post_event(struct kube_watch *w, const struct kube_event *ev)
{
	struct kube_event e = *ev;
	enum kube_event_push r;

	/* Strings the poster will read to their end. */
	e.pod_namespace[sizeof(e.pod_namespace) - 1] = '\0';
	e.pod_name[sizeof(e.pod_name) - 1] = '\0';
	e.pod_uid[sizeof(e.pod_uid) - 1] = '\0';
	e.reason[sizeof(e.reason) - 1] = '\0';
	e.note[sizeof(e.note) - 1] = '\0';
	pthread_mutex_lock(&w->mu);
	r = kube_event_push(&w->evq, &e);
	if (r == KUBE_EVENT_FULL)
		w->st.events_dropped++;
	else if (r == KUBE_EVENT_QUEUED)
		pthread_cond_signal(&w->event_cv);
	pthread_mutex_unlock(&w->mu);
}

void kube_watch_stats(const struct kube_watch *w, struct kube_watch_stats *out)
{
	struct kube_watch *mw = (struct kube_watch *)w; /* the mutex */

	pthread_mutex_lock(&mw->mu);
	*out = w->st;
	pthread_mutex_unlock(&mw->mu);
}

void kube_watch_stop(struct kube_watch *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, 1);
	pthread_mutex_lock(&w->mu);
	pthread_cond_broadcast(&w->watch_cv);
	pthread_cond_broadcast(&w->event_cv);
	pthread_mutex_unlock(&w->mu);
	if (w->watch_started)
		pthread_join(w->watch_tid, NULL);
	if (w->event_started)
		pthread_join(w->event_tid, NULL);
	kube_http_free(w->http);
	kube_http_free(w->ehttp);
	if (w->efd >= 0)
		close(w->efd);
	free(w->cache);
	free(w->gone);
	pthread_cond_destroy(&w->watch_cv);
	pthread_cond_destroy(&w->event_cv);
	pthread_mutex_destroy(&w->mu);
	explicit_bzero(w->token, sizeof(w->token));
	explicit_bzero(w->etoken, sizeof(w->etoken));
	free(w);
}
