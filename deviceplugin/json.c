/*
 * json.c - the JSON reader (see json.h): recursive descent with a depth
 * bound, strings unescaped (\uXXXX kept as '?' but for ASCII: the status
 * report's names need no more).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define DP_JSON_MAX_DEPTH 32

struct parser {
	const char *p;
	char *err;
	size_t errlen;
	int failed;
};

static void fail(struct parser *ps, const char *why)
{
	if (!ps->failed)
		snprintf(ps->err, ps->errlen, "%s", why);
	ps->failed = 1;
}

static void skip_ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
	       *ps->p == '\r')
		ps->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *parse_string(struct parser *ps)
{
	const char *s = ++ps->p; /* after the quote */
	size_t cap = 0;
	char *out;
	size_t n = 0;

	while (s[cap] && s[cap] != '"')
		cap += s[cap] == '\\' && s[cap + 1] ? 2 : 1;
	if (s[cap] != '"') {
		fail(ps, "unterminated string");
		return NULL;
	}
	out = malloc(cap + 1);
	if (!out) {
		fail(ps, "out of memory");
		return NULL;
	}
	while (*ps->p != '"') {
		char c = *ps->p++;

		if ((unsigned char)c < 0x20) {
			fail(ps, "control character in string");
			free(out);
			return NULL;
		}
		if (c != '\\') {
			out[n++] = c;
			continue;
		}
		c = *ps->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/': out[n++] = c; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u': {
			int v = 0;

			for (int i = 0; i < 4; i++) {
				int h = hexval(*ps->p);

				if (h < 0) {
					fail(ps, "bad \\u escape");
					free(out);
					return NULL;
				}
				v = v * 16 + h;
				ps->p++;
			}
			out[n++] = v > 0 && v < 0x80 ? (char)v : '?';
			break;
		}
		default:
			fail(ps, "bad escape");
			free(out);
			return NULL;
		}
	}
	ps->p++; /* the closing quote */
	out[n] = '\0';
	return out;
}

static void parse_value(struct parser *ps, struct dp_json *v, int depth);

/* Appends a zeroed member to v's items. */
static struct dp_json *add_item(struct parser *ps, struct dp_json *v)
{
	struct dp_json *items = realloc(v->items, (v->n + 1) * sizeof(*items));

	if (!items) {
		fail(ps, "out of memory");
		return NULL;
	}
	v->items = items;
	memset(&items[v->n], 0, sizeof(items[0]));
	return &items[v->n++];
}

static void parse_container(struct parser *ps, struct dp_json *v, int depth,
                            char close)
{
	int object = close == '}';

	v->kind = object ? DP_JSON_OBJECT : DP_JSON_ARRAY;
	ps->p++;
	skip_ws(ps);
	if (*ps->p == close) {
		ps->p++;
		return;
	}
	for (;;) {
		struct dp_json *item = add_item(ps, v);
		char *key = NULL;

		if (!item)
			return;
		skip_ws(ps);
		if (object) {
			if (*ps->p != '"') {
				fail(ps, "expected a member name");
				return;
			}
			key = parse_string(ps);
			if (!key)
				return;
			item->key = key;
			skip_ws(ps);
			if (*ps->p != ':') {
				fail(ps, "expected ':'");
				return;
			}
			ps->p++;
		}
		parse_value(ps, item, depth + 1);
		if (ps->failed)
			return;
		skip_ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			ps->p++;
			return;
		}
		fail(ps, "expected ',' or the end of a container");
		return;
	}
}

static void parse_number(struct parser *ps, struct dp_json *v)
{
	const char *s = ps->p;
	char *end;
	int integer = 1;

	if (*s == '-')
		integer = 0;
	v->kind = DP_JSON_NUMBER;
	v->num = strtod(s, &end);
	if (end == s || !isfinite(v->num)) {
		fail(ps, "bad number");
		return;
	}
	for (const char *q = s; q < end; q++)
		if (*q == '.' || *q == 'e' || *q == 'E' || *q == '-')
			integer = 0;
	if (integer)
		v->u64 = strtoull(s, NULL, 10);
	else
		v->u64 = v->num > 0 && v->num < 1.8e19 ? (uint64_t)v->num : 0;
	ps->p = end;
}

static int literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(ps->p, word, n) != 0)
		return 0;
	ps->p += n;
	return 1;
}

static void parse_value(struct parser *ps, struct dp_json *v, int depth)
{
	if (depth > DP_JSON_MAX_DEPTH) {
		fail(ps, "nested too deep");
		return;
	}
	skip_ws(ps);
	switch (*ps->p) {
	case '{': parse_container(ps, v, depth, '}'); return;
	case '[': parse_container(ps, v, depth, ']'); return;
	case '"':
		v->kind = DP_JSON_STRING;
		v->str = parse_string(ps);
		return;
	case 't':
	case 'f':
		v->kind = DP_JSON_BOOL;
		v->boolean = *ps->p == 't';
		if (!literal(ps, v->boolean ? "true" : "false"))
			fail(ps, "bad literal");
		return;
	case 'n':
		v->kind = DP_JSON_NULL;
		if (!literal(ps, "null"))
			fail(ps, "bad literal");
		return;
	}
	if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
		parse_number(ps, v);
		return;
	}
	fail(ps, *ps->p ? "unexpected character" : "unexpected end");
}

static void free_members(struct dp_json *v)
{
	for (size_t i = 0; i < v->n; i++)
		free_members(&v->items[i]);
	free(v->items);
	free(v->key);
	free(v->str);
}

void dp_json_free(struct dp_json *v)
{
	if (!v)
		return;
	free_members(v);
	free(v);
}

struct dp_json *dp_json_parse(const char *text, char *err, size_t errlen)
{
	struct parser ps = {.p = text, .err = err, .errlen = errlen};
	struct dp_json *v = calloc(1, sizeof(*v));

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	parse_value(&ps, v, 0);
	skip_ws(&ps);
	if (!ps.failed && *ps.p)
		fail(&ps, "text after the value");
	if (ps.failed) {
		char why[128];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s at offset %zu", why,
		         (size_t)(ps.p - text));
		dp_json_free(v);
		return NULL;
	}
	return v;
}

const struct dp_json *dp_json_get(const struct dp_json *v, const char *key)
{
	if (!v || v->kind != DP_JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (v->items[i].key && strcmp(v->items[i].key, key) == 0)
			return &v->items[i];
	return NULL;
}

uint64_t dp_json_u64(const struct dp_json *v)
{
	return v && v->kind == DP_JSON_NUMBER ? v->u64 : 0;
}

const char *dp_json_str(const struct dp_json *v)
{
	return v && v->kind == DP_JSON_STRING && v->str ? v->str : "";
}
