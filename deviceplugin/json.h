/*
 * json.h - a small JSON reader for the scheduler's status report: the
 * text is parsed once into a tree of values, which is then looked up by
 * key and index. Numbers are kept as doubles and as exact unsigned 64-bit
 * integers when they are ones.
 */
#ifndef NVSHARE_DP_JSON_H
#define NVSHARE_DP_JSON_H

#include <stddef.h>
#include <stdint.h>

enum dp_json_kind {
	DP_JSON_NULL,
	DP_JSON_BOOL,
	DP_JSON_NUMBER,
	DP_JSON_STRING,
	DP_JSON_ARRAY,
	DP_JSON_OBJECT,
};

struct dp_json {
	enum dp_json_kind kind;
	char *key;             /* member name, inside an object */
	char *str;             /* STRING: the text, unescaped */
	double num;            /* NUMBER */
	uint64_t u64;          /* NUMBER: the value if a non-negative integer */
	int boolean;           /* BOOL */
	size_t n;              /* ARRAY, OBJECT: members */
	struct dp_json *items; /* ARRAY, OBJECT */
};

/* Parses text (NUL-terminated) into a tree (free with dp_json_free).
 * NULL with a reason in err if it is not one JSON value. */
struct dp_json *dp_json_parse(const char *text, char *err, size_t errlen);
void dp_json_free(struct dp_json *v);

/* A member of an object, NULL if absent or v is not an object. */
const struct dp_json *dp_json_get(const struct dp_json *v, const char *key);
/* The value as a u64 (0 if not a number), string ("" if not one). */
uint64_t dp_json_u64(const struct dp_json *v);
const char *dp_json_str(const struct dp_json *v);

#endif /* NVSHARE_DP_JSON_H */
