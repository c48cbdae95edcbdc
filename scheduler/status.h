/*
 * status.h - renders the scheduler's state for nvsharectl: a human table or
 * JSON (the contract with nvsharectl and the tests; docs/scheduler.md lists
 * the fields). Rendering only reads the registry and the given time, so it
 * is unit-tested with fixed inputs.
 */
#ifndef NVSHARE_STATUS_H
#define NVSHARE_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

/* A growing text buffer; after an allocation failure it stays failed. */
struct status_buf {
	char *p;    /* text, NUL-terminated once anything was written */
	size_t len; /* bytes of text */
	size_t cap; /* bytes allocated */
	int failed; /* 1 once memory ran out: the text is incomplete */
};

void status_buf_free(struct status_buf *b);
void status_buf_printf(struct status_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal: quotes, escapes for '"', '\\' and
 * control bytes; invalid UTF-8 bytes become U+FFFD. */
void status_json_string(struct status_buf *b, const char *s);

/* Where the Kubernetes watcher's figures come from while it runs: set by
 * the event loop when the watcher starts, NULL when it stops. With a
 * source, both reports show them (JSON: "kubernetes"); fn copies them
 * under the watcher's mutex and never waits on the API server. */
struct kube_watch_stats;
typedef void (*status_kube_fn)(const void *ctx, struct kube_watch_stats *out);
void status_set_kube_source(status_kube_fn fn, const void *ctx);

/* Renders the state at monotonic time now into b (appending). Returns 0, or
 * -1 if memory ran out. */
int status_render_json(const struct sched_registry *r, int64_t now,
                       struct status_buf *b);
int status_render_text(const struct sched_registry *r, int64_t now,
                       struct status_buf *b);

/*
 * One page of a report, so that status stays readable at any number of
 * clients (see CTL_STATUS in proto.h): the clients whose ids are above
 * after, as many as fit in budget bytes (at least one, if any is left);
 * the first page (after 0) starts with the settings and the GPUs. *next
 * is the id of the last client shown when more follow, else 0. Pages
 * joined in order are the report of status_render_json/_text, byte for
 * byte when nothing changed in between: a later JSON page starts with
 * the comma that separates its first client from the last one before it,
 * the last page closes the document. Returns 0, or -1 if memory ran out.
 */
int status_render_json_page(const struct sched_registry *r, int64_t now,
                            uint64_t after, size_t budget, struct status_buf *b,
                            uint64_t *next);
int status_render_text_page(const struct sched_registry *r, int64_t now,
                            uint64_t after, size_t budget, struct status_buf *b,
                            uint64_t *next);

#endif /* NVSHARE_STATUS_H */
