/*
 * metrics_http.h - serves GET /metrics (Prometheus text) over HTTP with
 * libmicrohttpd, from a page the scheduling thread renders.
 *
 * The hand-off: a scrape, on an HTTP thread, asks for a fresh snapshot
 * by writing to an eventfd that the event loop polls, and waits (at most
 * METRICS_HTTP_WAIT_MS) for the snapshot generation to move; the loop, on
 * its own thread, copies the figures out of the registry (metrics_snap_
 * take, microseconds) and swaps the snapshot in under a mutex held only
 * for the pointer swap; the scrape takes a reference under the same
 * mutex, then renders the text and writes it to the network with no lock
 * held. Scrapes that arrive together share one snapshot. The HTTP threads
 * never read the registry, and the loop never waits for them: text
 * formatting, the costly part, is off the scheduling thread.
 */
#ifndef NVSHARE_METRICS_HTTP_H
#define NVSHARE_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

/* A scrape waits this long for the loop, then gets the last page. */
#define METRICS_HTTP_WAIT_MS 1000
/* HTTP connections served at once (a thread each): room for ten
 * browsers on the web page (a connection or two each) and scrapers. */
#define METRICS_HTTP_MAX_CONNS 64
#define METRICS_HTTP_TIMEOUT_S 10 /* idle HTTP connections closed */

/* Checks an address HOST:PORT ("127.0.0.1:9400", "[::1]:9400",
 * "localhost:9400", ":9400" for every IPv4 interface; port 0: any free
 * one). Returns 0, or -1 with the reason in err. */
int metrics_http_check_address(const char *address, char *err, size_t n);

/* Starts serving on address (checked), with the web page of web_root
 * (NULL: the default, web.h) at /. Returns 0, or -1 after logging why.
 * Signals stay with the thread that calls it. */
int metrics_http_start(const char *address, const char *web_root);
/* Stops serving (no-op if not started). */
void metrics_http_stop(void);

/* What the event loop polls for POLLIN: a scrape waits for a page. -1
 * when metrics are off (poll ignores it). */
int metrics_http_fd(void);
/* On the scheduling thread, when metrics_http_fd() is readable: takes a
 * snapshot of r at now and hands it to the waiting scrapes (and the web
 * page's copy to its viewers, web.h). */
void metrics_http_snapshot(const struct sched_registry *r, int64_t now);
/* On the scheduling thread before it polls: the web page's history
 * frame when due (web.h); returns when the next is due (INT64_MAX when
 * off). */
int64_t metrics_http_tick(const struct sched_registry *r, int64_t now);
/* On an HTTP thread: wakes the loop (metrics_http_fd readable). */
void metrics_http_wake(void);

#endif /* NVSHARE_METRICS_HTTP_H */
