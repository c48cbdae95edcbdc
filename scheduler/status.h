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

/* Renders the state at monotonic time now into b (appending). Returns 0, or
 * -1 if memory ran out. */
int status_render_json(const struct sched_registry *r, int64_t now,
                       struct status_buf *b);
int status_render_text(const struct sched_registry *r, int64_t now,
                       struct status_buf *b);

#endif /* NVSHARE_STATUS_H */
