/*
 * web.c - see web.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "web.h"

#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "history.h"
#include "log.h"
#include "metrics_counters.h"
#include "parse.h"
#include "sock.h"
#include "status.h"

/* Where Debian's libjs-chart.js puts the UMD build (chart.umd.js from
 * Chart.js 4, chart.min.js in Debian 12's 3.9). */
static const char *const chart_paths[] = {
    "/usr/share/javascript/chart.js/chart.umd.js",
    "/usr/share/javascript/chart.js/chart.umd.min.js",
    "/usr/share/javascript/chart.js/chart.min.js",
    "/usr/share/javascript/chart.js/chart.js",
};

#define CSP                                                                    \
	"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "   \
	"form-action 'none'; base-uri 'none'"

struct file {
	const char *url, *name, *type;
	char *data; /* NULL: not found at start */
	size_t len;
	char path[PATH_MAX];
};

static struct file files[] = {
    {"/", "index.html", "text/html; charset=utf-8", NULL, 0, ""},
    {"/app.js", "app.js", "text/javascript; charset=utf-8", NULL, 0, ""},
    {"/style.css", "style.css", "text/css; charset=utf-8", NULL, 0, ""},
    {"/assets/chart.js", "chart.js", "text/javascript; charset=utf-8", NULL, 0,
     ""},
};
#define NFILES (sizeof(files) / sizeof(files[0]))
#define CHART (NFILES - 1)

/* A copy for the viewers: shared, freed by the last one. */
struct web_snap {
	struct status_buf status; /* the status JSON */
	struct history hist;      /* the history, compact */
	pthread_mutex_t mu;       /* guards the rendered histories */
	/* Rendered on first ask, for every viewer: all of it, and the
	 * latest part asked for (viewers that polled the same copy before
	 * ask for the same frames). */
	struct status_buf all, part;
	int all_done, part_done;
	uint64_t part_from;
	int64_t taken_ns;  /* monotonic */
	int64_t cost_ns;   /* what the copy cost the loop */
	int64_t status_ns; /* of which rendering the status JSON */
	int64_t tick_ns;   /* the last history frame's cost */
	int refs;          /* under web.mu */
};

static struct {
	int on;
	struct history hist;  /* the scheduling thread's */
	int64_t next_tick_ns; /* the scheduling thread's */
	pthread_mutex_t mu;   /* guards current, gen, wanted */
	pthread_cond_t cond;  /* gen moved */
	struct web_snap *current;
	uint64_t gen;
	int wanted;         /* a viewer waits for a copy */
	void (*wake)(void); /* wakes the loop */
	size_t status_len;  /* of the last status JSON: the next one's room */
	int64_t tick_ns;    /* what the last history frame cost the loop */
} web = {.next_tick_ns = 0};

static int64_t wall_ms(void);

/* --- files ---------------------------------------------------------------- */

static int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    (size_t)n > WEB_FILE_MAX || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -1;
	}
	p = malloc((size_t)n + 1);
	if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		fclose(f);
		return -1;
	}
	fclose(f);
	*data = p;
	*len = (size_t)n;
	return 0;
}

/* share/nvshare/web beside the bin/ the executable is in. */
static void default_root(char *out, size_t n)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	exe[len > 0 ? len : 0] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(exe, sizeof(exe), ".");
	snprintf(out, n, "%.*s/../share/nvshare/web", (int)(n - 24), exe);
}

static void load_files(const char *root)
{
	for (size_t i = 0; i < NFILES; i++) {
		int k = snprintf(files[i].path, sizeof(files[i].path), "%s/%s",
		                 root, files[i].name);

		if (k > 0 && (size_t)k < sizeof(files[i].path) &&
		    read_file(files[i].path, &files[i].data, &files[i].len) ==
		        0)
			continue;
		if (i != CHART) {
			NVS_WARN("event=web_file_missing path=%s reason=\"%s\"",
			         files[i].path, strerror(errno));
			continue;
		}
		for (size_t c = 0;
		     c < sizeof(chart_paths) / sizeof(*chart_paths); c++) {
			snprintf(files[i].path, sizeof(files[i].path), "%s",
			         chart_paths[c]);
			if (read_file(files[i].path, &files[i].data,
			              &files[i].len) == 0)
				break;
		}
		if (!files[i].data)
			NVS_WARN("event=web_chart_library_missing "
			         "reason=\"no chart.js in the web root nor "
			         "Debian's libjs-chart.js\" msg=\"the page "
			         "shows tables only\"");
	}
}

int web_start(const char *root, void (*wake)(void))
{
	char dflt[PATH_MAX];
	pthread_condattr_t ca;

	if (!root) {
		default_root(dflt, sizeof(dflt));
		root = dflt;
	}
	load_files(root);
	if (history_init(&web.hist, 0, 0, 0, 0)) {
		NVS_ERROR("event=start_failed reason=\"out of memory for the "
		          "history\"");
		return -1;
	}
	web.hist.epoch_ms = wall_ms();
	web.wake = wake;
	pthread_mutex_init(&web.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&web.cond, &ca);
	pthread_condattr_destroy(&ca);
	web.on = 1;
	NVS_INFO("event=web_page root=%s page=%s chart_library=%s", root,
	         files[0].data ? "yes" : "missing",
	         files[CHART].data ? files[CHART].path : "missing");
	return 0;
}

static void snap_free(struct web_snap *s)
{
	if (!s)
		return;
	status_buf_free(&s->status);
	status_buf_free(&s->all);
	status_buf_free(&s->part);
	history_free(&s->hist);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Drops a reference (web.mu held); returns the copy to free, if last. */
static struct web_snap *unref(struct web_snap *s)
{
	return s && --s->refs == 0 ? s : NULL;
}

void web_stop(void)
{
	struct web_snap *s;

	if (!web.on)
		return;
	pthread_mutex_lock(&web.mu);
	s = unref(web.current);
	web.current = NULL;
	pthread_mutex_unlock(&web.mu);
	snap_free(s);
	history_free(&web.hist);
	for (size_t i = 0; i < NFILES; i++) {
		free(files[i].data);
		files[i].data = NULL;
	}
	web.on = 0;
}

/* --- the scheduling thread ------------------------------------------------ */

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t web_tick(const struct sched_registry *r, int64_t now)
{
	if (!web.on)
		return INT64_MAX;
	if (now < web.next_tick_ns)
		return web.next_tick_ns;
	if (history_sample(&web.hist, r, &metrics_global, now, wall_ms()))
		NVS_WARN("event=history_sample_failed reason=\"out of "
		         "memory\"");
	web.tick_ns = nvs_now_ns() - now;
	/* On the second grid, not drifting by the loop's lateness. */
	web.next_tick_ns =
	    web.next_tick_ns && now - web.next_tick_ns < WEB_TICK_NS
	        ? web.next_tick_ns + WEB_TICK_NS
	        : now + WEB_TICK_NS;
	return web.next_tick_ns;
}

void web_publish(const struct sched_registry *r, int64_t now)
{
	int64_t t0 = nvs_now_ns();
	struct web_snap *s, *old = NULL;
	int wanted;

	if (!web.on)
		return;
	pthread_mutex_lock(&web.mu);
	wanted = web.wanted;
	web.wanted = 0;
	pthread_mutex_unlock(&web.mu);
	if (!wanted)
		return;
	s = calloc(1, sizeof(*s));
	/* Room for the status as large as the last, and some: no
	 * reallocations while rendering. */
	if (s && web.status_len) {
		s->status.cap = web.status_len + web.status_len / 4 + 4096;
		s->status.p = malloc(s->status.cap);
		if (!s->status.p)
			s->status.cap = 0;
		else
			s->status.p[0] = '\0';
	}
	if (s && status_render_json(r, now, &s->status) == 0)
		s->status_ns = nvs_now_ns() - t0;
	if (s && (s->status.failed || history_copy(&s->hist, &web.hist))) {
		status_buf_free(&s->status);
		history_free(&s->hist);
		free(s);
		s = NULL;
	}
	if (s) {
		web.status_len = s->status.len;
		s->tick_ns = web.tick_ns;
		pthread_mutex_init(&s->mu, NULL);
		s->taken_ns = now;
		s->cost_ns = nvs_now_ns() - t0;
		s->refs = 1;
	} else {
		NVS_WARN("event=web_snapshot_failed reason=\"out of memory\"");
	}
	pthread_mutex_lock(&web.mu);
	if (s) {
		old = unref(web.current);
		web.current = s;
	}
	web.gen++;
	pthread_cond_broadcast(&web.cond);
	pthread_mutex_unlock(&web.mu);
	snap_free(old);
}

/* --- the HTTP threads ----------------------------------------------------- */

/* The latest copy, fresh enough (asking the loop for one if not);
 * referenced: release with put_snap. NULL if there is none. */
static struct web_snap *get_snap(void)
{
	struct timespec until;
	struct web_snap *s;
	int64_t now = nvs_now_ns();
	uint64_t want;

	nvs_deadline_ms(&until, WEB_WAIT_MS);
	pthread_mutex_lock(&web.mu);
	if (!web.current ||
	    now - web.current->taken_ns >= WEB_MAX_AGE_MS * 1000000LL) {
		want = web.gen + 1;
		web.wanted = 1;
		web.wake();
		while (web.gen < want)
			if (pthread_cond_timedwait(&web.cond, &web.mu,
			                           &until) == ETIMEDOUT)
				break;
	}
	s = web.current;
	if (s)
		s->refs++;
	pthread_mutex_unlock(&web.mu);
	return s;
}

static void put_snap(struct web_snap *s)
{
	pthread_mutex_lock(&web.mu);
	s = unref(s);
	pthread_mutex_unlock(&web.mu);
	snap_free(s);
}

static int queue(struct MHD_Connection *conn, unsigned status,
                 struct MHD_Response *r, const char *type, int cache)
{
	int rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "Content-Security-Policy", CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
	                        cache ? "max-age=60" : "no-store");
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static int text(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	return queue(conn, status,
	             MHD_create_response_from_buffer(strlen(msg), (void *)msg,
	                                             MHD_RESPMEM_PERSISTENT),
	             "text/plain; charset=utf-8", 0);
}

/* The history from frame from on (s->mu held), rendered once. */
static const struct status_buf *history_of(struct web_snap *s, uint64_t from)
{
	struct status_buf *b = &s->all;
	int *done = &s->all_done;

	if (from > s->hist.first_seq && from <= s->hist.next_seq) {
		if (s->part_done && s->part_from != from) {
			status_buf_free(&s->part);
			s->part_done = 0;
		}
		b = &s->part;
		done = &s->part_done;
		s->part_from = from;
	}
	if (!*done) {
		if (history_render_json(&s->hist, from, b))
			status_buf_free(b);
		*done = 1;
	}
	return b;
}

static int api(struct MHD_Connection *conn, int history)
{
	const char *arg =
	    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "from");
	struct MHD_Response *r = NULL;
	char cost[32], detail[96];
	struct web_snap *s;
	uint64_t from = 0;

	if (history && arg && nvs_parse_u64(arg, 0, UINT64_MAX, &from))
		return text(conn, MHD_HTTP_BAD_REQUEST,
		            "from: want a frame number\n");
	s = get_snap();
	if (!s)
		return text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		            "no status yet\n");
	if (history) {
		const struct status_buf *b;

		pthread_mutex_lock(&s->mu);
		b = history_of(s, from);
		if (b->p)
			r = MHD_create_response_from_buffer(
			    b->len, b->p, MHD_RESPMEM_MUST_COPY);
		pthread_mutex_unlock(&s->mu);
	} else if (s->status.p) {
		r = MHD_create_response_from_buffer(s->status.len, s->status.p,
		                                    MHD_RESPMEM_MUST_COPY);
	}
	snprintf(cost, sizeof(cost), "%lld", (long long)(s->cost_ns / 1000));
	snprintf(detail, sizeof(detail), "status=%lld history=%lld tick=%lld",
	         (long long)(s->status_ns / 1000),
	         (long long)((s->cost_ns - s->status_ns) / 1000),
	         (long long)(s->tick_ns / 1000));
	put_snap(s);
	if (!r)
		return text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		            "out of memory\n");
	/* What the copy cost the scheduling thread (benchmarks read it). */
	MHD_add_response_header(r, "X-Nvshare-Snapshot-Us", cost);
	MHD_add_response_header(r, "X-Nvshare-Snapshot-Detail-Us", detail);
	return queue(conn, MHD_HTTP_OK, r, "application/json", 0);
}

int web_serve(struct MHD_Connection *conn, const char *url, int *rc)
{
	if (!web.on)
		return 0;
	if (strcmp(url, "/api/status") == 0) {
		*rc = api(conn, 0);
		return 1;
	}
	if (strcmp(url, "/api/history") == 0) {
		*rc = api(conn, 1);
		return 1;
	}
	if (strcmp(url, "/index.html") == 0)
		url = "/";
	for (size_t i = 0; i < NFILES; i++) {
		if (strcmp(url, files[i].url))
			continue;
		if (!files[i].data)
			*rc =
			    text(conn, MHD_HTTP_NOT_FOUND,
			         i == 0 ? "nvshare-scheduler: the web page is "
			                  "not installed (--web-root); "
			                  "metrics at /metrics\n"
			                : "not installed\n");
		else
			*rc = queue(conn, MHD_HTTP_OK,
			            MHD_create_response_from_buffer(
			                files[i].len, files[i].data,
			                MHD_RESPMEM_PERSISTENT),
			            files[i].type, 1);
		return 1;
	}
	return 0;
}
