/*
 * test_top_json.c - the JSON reader of nvsharectl top (ctl/top_json.c):
 * a status-like document read by key, escapes decoded, and malformed or
 * too deeply nested documents refused whole.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "top_json.h"

static void test_document(void)
{
	struct top_json v;
	const struct top_json *gpus, *clients;

	CHECK_EQ(top_json_parse(
	             " {\"managed\":true,\"mode\":\"auto\",\"gpus\":[{\"uuid\":"
	             "\"GPU-1\",\"capacity_bytes\":17179869184,\"holder\":null}"
	             "],\"clients\":[{\"id\":7,\"comm\":\"a\\\"b\\\\c\\u00e9\\n"
	             "\",\"core_share_pct\":-2.5e1,\"memory_limit_bytes\":null}"
	             ",{}]} ",
	             &v),
	         0);
	CHECK_EQ(v.type, TOP_JSON_OBJECT);
	CHECK_EQ(top_json_num(&v, "managed"), 1);
	CHECK_STR(top_json_str(&v, "mode"), "auto");
	gpus = top_json_get(&v, "gpus");
	CHECK(gpus && gpus->type == TOP_JSON_ARRAY && gpus->n == 1);
	if (gpus && gpus->n == 1) {
		CHECK_EQ(top_json_num(&gpus->items[0], "capacity_bytes"),
		         17179869184LL);
		CHECK(!top_json_has_num(&gpus->items[0], "holder"));
	}
	clients = top_json_get(&v, "clients");
	CHECK(clients && clients->n == 2);
	if (clients && clients->n == 2) {
		const struct top_json *c = &clients->items[0];

		CHECK_EQ(top_json_num(c, "id"), 7);
		CHECK_STR(top_json_str(c, "comm"), "a\"b\\c\xc3\xa9\n");
		CHECK_EQ(top_json_num(c, "core_share_pct") * 10, -250);
		CHECK(!top_json_has_num(c, "memory_limit_bytes"));
		CHECK_EQ(clients->items[1].n, 0);
	}
	/* Absent keys and wrong types read as 0 and "". */
	CHECK_EQ(top_json_num(&v, "nothing"), 0);
	CHECK_STR(top_json_str(&v, "managed"), "");
	CHECK(top_json_get(gpus, "uuid") == NULL);
	top_json_free(&v);
}

static void test_refused(void)
{
	static const char *const bad[] = {
	    "",       "{",       "{\"a\":1,}",    "[1 2]", "{\"a\" 1}",
	    "\"open", "\"\\x\"", "\"\\u12\"",     "tru",   "{\"a\":1} x",
	    "{1:2}",  "[-]",     "\"tab\there\"",
	};
	char deep[200];
	struct top_json v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = top_json_parse(bad[i], &v);

		if (rc == 0)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_EQ(rc, -1);
	}
	/* 40 nested arrays: over TOP_JSON_MAX_DEPTH. */
	for (i = 0; i < 40; i++)
		deep[i] = '[';
	for (; i < 80; i++)
		deep[i] = ']';
	deep[i] = '\0';
	CHECK_EQ(top_json_parse(deep, &v), -1);
	/* 20 is fine. */
	memset(deep, 0, sizeof(deep));
	for (i = 0; i < 20; i++)
		deep[i] = '[';
	for (; i < 40; i++)
		deep[i] = ']';
	CHECK_EQ(top_json_parse(deep, &v), 0);
	top_json_free(&v);
}

int main(void)
{
	test_document();
	test_refused();
	return check_summary("test_top_json");
}
