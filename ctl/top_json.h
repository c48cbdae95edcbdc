/*
 * top_json.h - a small JSON reader for nvsharectl top: the scheduler's
 * status report (CTL_STATUS, JSON) parsed into a tree that top walks by
 * key. Depth and size are bounded; a malformed document is refused, never
 * half-read.
 */
#ifndef NVSHARE_TOP_JSON_H
#define NVSHARE_TOP_JSON_H

#include <stddef.h>

#define TOP_JSON_MAX_DEPTH 32

enum top_json_type {
	TOP_JSON_NULL,
	TOP_JSON_BOOL,
	TOP_JSON_NUMBER,
	TOP_JSON_STRING,
	TOP_JSON_ARRAY,
	TOP_JSON_OBJECT,
};

struct top_json {
	enum top_json_type type;
	double number;          /* NUMBER; BOOL: 0 or 1 */
	char *string;           /* STRING (UTF-8, NUL-terminated) */
	struct top_json *items; /* ARRAY, OBJECT: the values */
	char **keys;            /* OBJECT: the keys, one per item */
	size_t n;               /* ARRAY, OBJECT: entries */
};

/* Parses text (the whole of it). Returns 0, or -1 (nothing to free). */
int top_json_parse(const char *text, struct top_json *out);
void top_json_free(struct top_json *v);

/* The member key of an object, or NULL (also when v is not an object). */
const struct top_json *top_json_get(const struct top_json *v, const char *key);
/* Its number (0 if absent or not a number), its string ("" likewise). */
double top_json_num(const struct top_json *v, const char *key);
const char *top_json_str(const struct top_json *v, const char *key);
/* 1 if the member exists and is a number (not null). */
int top_json_has_num(const struct top_json *v, const char *key);

#endif /* NVSHARE_TOP_JSON_H */
