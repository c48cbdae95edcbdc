/*
 * top_json.c - see top_json.h. Recursive descent over RFC 8259 JSON.
 */
#include "top_json.h"

#include <stdlib.h>
#include <string.h>

struct reader {
	const char *p;
};

static void skip_ws(struct reader *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Appends code point cp as UTF-8 (surrogates and NUL become '?'). */
static size_t put_utf8(char *o, unsigned cp)
{
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
		o[0] = '?';
		return 1;
	}
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	o[0] = (char)(0xe0 | (cp >> 12));
	o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

static char *parse_string(struct reader *r)
{
	const char *s = r->p + 1, *e = s;
	char *out, *o;

	/* The decoded string is never longer than the encoded one. */
	while (*e && *e != '"') {
		if (*e == '\\' && e[1])
			e++;
		e++;
	}
	if (*e != '"')
		return NULL;
	out = o = malloc((size_t)(e - s) + 1);
	if (!out)
		return NULL;
	while (s < e) {
		unsigned cp;

		if ((unsigned char)*s < 0x20)
			goto bad;
		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (e - s < 5 || hex4(s + 1, &cp))
				goto bad;
			o += put_utf8(o, cp);
			s += 4;
			break;
		default: goto bad;
		}
		s++;
	}
	*o = '\0';
	r->p = e + 1;
	return out;
bad:
	free(out);
	return NULL;
}

static int parse_value(struct reader *r, struct top_json *v, int depth);

static int grow(struct top_json *v, size_t *cap, int object)
{
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p;

	p = realloc(v->items, ncap * sizeof(v->items[0]));
	if (!p)
		return -1;
	v->items = p;
	if (object) {
		p = realloc(v->keys, ncap * sizeof(v->keys[0]));
		if (!p)
			return -1;
		v->keys = p;
	}
	*cap = ncap;
	return 0;
}

static int parse_container(struct reader *r, struct top_json *v, int depth,
                           int object)
{
	char close = object ? '}' : ']';
	size_t cap = 0;

	v->type = object ? TOP_JSON_OBJECT : TOP_JSON_ARRAY;
	r->p++;
	skip_ws(r);
	if (*r->p == close) {
		r->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;

		skip_ws(r);
		if (object) {
			if (*r->p != '"' || !(key = parse_string(r)))
				return -1;
			skip_ws(r);
			if (*r->p != ':') {
				free(key);
				return -1;
			}
			r->p++;
		}
		if (v->n == cap && grow(v, &cap, object)) {
			free(key);
			return -1;
		}
		if (object)
			v->keys[v->n] = key;
		memset(&v->items[v->n], 0, sizeof(v->items[0]));
		v->n++;
		if (parse_value(r, &v->items[v->n - 1], depth + 1))
			return -1;
		skip_ws(r);
		if (*r->p == ',') {
			r->p++;
			continue;
		}
		if (*r->p != close)
			return -1;
		r->p++;
		return 0;
	}
}

static int parse_value(struct reader *r, struct top_json *v, int depth)
{
	char *end;

	if (depth > TOP_JSON_MAX_DEPTH)
		return -1;
	skip_ws(r);
	switch (*r->p) {
	case '{': return parse_container(r, v, depth, 1);
	case '[': return parse_container(r, v, depth, 0);
	case '"':
		v->type = TOP_JSON_STRING;
		v->string = parse_string(r);
		return v->string ? 0 : -1;
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = {"true", "false", "null"};

		for (int i = 0; i < 3; i++) {
			size_t n = strlen(words[i]);

			if (strncmp(r->p, words[i], n) == 0) {
				v->type =
				    i == 2 ? TOP_JSON_NULL : TOP_JSON_BOOL;
				v->number = i == 0;
				r->p += n;
				return 0;
			}
		}
		return -1;
	}
	default:
		if (*r->p != '-' && (*r->p < '0' || *r->p > '9'))
			return -1;
		v->type = TOP_JSON_NUMBER;
		v->number = strtod(r->p, &end);
		if (end == r->p)
			return -1;
		r->p = end;
		return 0;
	}
}

void top_json_free(struct top_json *v)
{
	for (size_t i = 0; i < v->n; i++) {
		top_json_free(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->string);
	memset(v, 0, sizeof(*v));
}

int top_json_parse(const char *text, struct top_json *out)
{
	struct reader r = {.p = text};

	memset(out, 0, sizeof(*out));
	if (parse_value(&r, out, 0) == 0) {
		skip_ws(&r);
		if (*r.p == '\0')
			return 0;
	}
	top_json_free(out);
	return -1;
}

const struct top_json *top_json_get(const struct top_json *v, const char *key)
{
	if (!v || v->type != TOP_JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->keys[i], key) == 0)
			return &v->items[i];
	return NULL;
}

double top_json_num(const struct top_json *v, const char *key)
{
	const struct top_json *m = top_json_get(v, key);

	return m && (m->type == TOP_JSON_NUMBER || m->type == TOP_JSON_BOOL)
	           ? m->number
	           : 0.0;
}

const char *top_json_str(const struct top_json *v, const char *key)
{
	const struct top_json *m = top_json_get(v, key);

	return m && m->type == TOP_JSON_STRING ? m->string : "";
}

int top_json_has_num(const struct top_json *v, const char *key)
{
	const struct top_json *m = top_json_get(v, key);

	return m && m->type == TOP_JSON_NUMBER;
}
