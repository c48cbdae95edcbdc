/*
 * web.h - the node's web page on the metrics address: static files (/,
 * /app.js, /style.css, /assets/chart.js) and two JSON endpoints,
 * /api/status (the status JSON of nvsharectl status --json) and
 * /api/history (history.h). Read-only: nothing served changes the
 * scheduler.
 *
 * The files are read into memory once, at start, from the web root
 * (--web-root, else share/nvshare/web beside the executable's bin/);
 * Chart.js from the web root's chart.js or Debian's libjs-chart.js. The
 * HTTP threads never touch the file system or the registry afterwards.
 *
 * The JSON is made the way the metrics snapshot is: an HTTP thread that
 * finds the last copy older than WEB_MAX_AGE_MS asks the event loop
 * (metrics_http's eventfd) and waits at most WEB_WAIT_MS; the
 * loop renders the status JSON and copies the history (web_publish),
 * then swaps the copy in under a mutex held for the pointer swap. So the
 * loop does that work at most once a second, and only while someone
 * looks; the history JSON is rendered from the copy on an HTTP thread,
 * once per copy, shared by every viewer.
 */
#ifndef NVSHARE_WEB_H
#define NVSHARE_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

#define WEB_MAX_AGE_MS 1000      /* a copy serves viewers this long */
#define WEB_WAIT_MS 1000         /* a viewer waits this long for the loop */
#define WEB_TICK_NS 1000000000LL /* history resolution */
#define WEB_FILE_MAX (4u << 20)  /* largest static file read */

struct MHD_Connection;

/* Reads the page's files from root (NULL: share/nvshare/web beside the
 * executable's bin/) and allocates the history; wake (any thread) makes
 * the loop call web_publish soon. Logs what is missing; the page
 * then says so. Returns 0, or -1 if memory ran out. */
int web_start(const char *root, void (*wake)(void));
void web_stop(void);

/* On an HTTP thread: answers url if it is one of the page's; returns
 * 1 with *rc set, or 0 if url is not the page's. */
int web_serve(struct MHD_Connection *conn, const char *url, int *rc);

/* On the scheduling thread: a history frame when one is due; returns
 * the monotonic time the next is due (INT64_MAX when off). */
int64_t web_tick(const struct sched_registry *r, int64_t now);
/* On the scheduling thread, after metrics_http's eventfd fired: makes a
 * fresh copy if a viewer asked for one. */
void web_publish(const struct sched_registry *r, int64_t now);

#endif /* NVSHARE_WEB_H */
