/*
 * test_history.c - the web page's history ring (scheduler/history.c):
 * frames wrap at the ring's size keeping the newest; a client that leaves
 * keeps its past points until they age out, then its label goes too; a
 * frame larger than the entry rings allow pushes old frames out and never
 * grows the memory; the JSON's series, shares and nulls; a compact copy
 * renders the same JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "history.h"
#include "policy.h"

#define UUID_A "GPU-00000000-0000-0000-0000-000000000001"
#define UUID_B "GPU-00000000-0000-0000-0000-000000000002"
#define S(x) ((int64_t)(x)*1000000000LL)

static struct history_gpu_in gpu(const char *uuid, uint64_t swaps)
{
	struct history_gpu_in g = {.uuid = uuid,
	                           .capacity = 16ull << 30,
	                           .resident = 1ull << 30,
	                           .swaps = swaps};
	return g;
}

static struct history_client_in client(uint64_t id, const char *uuid,
                                       const char *label, int64_t gpu_ns)
{
	struct history_client_in c = {.client = id,
	                              .gpu = uuid,
	                              .label = label,
	                              .state = POLICY_HOLDING,
	                              .metered = 1,
	                              .memory = id << 30,
	                              .gpu_ns = gpu_ns};
	return c;
}

static char *render(const struct history *h)
{
	struct status_buf b = {0};

	CHECK_EQ(history_render_json(h, 0, &b), 0);
	return b.p;
}

/* Frames past the ring's size: the oldest go, in order. */
static void test_wrap(void)
{
	struct history h;
	struct history_gpu_in g = gpu(UUID_A, 0);
	char *j;

	CHECK_EQ(history_init(&h, 5, 100, 100, 10), 0);
	for (int i = 0; i < 12; i++) {
		struct history_client_in c =
		    client(1, UUID_A, "ml/trainer", S(i) / 2);

		g.swaps = (uint64_t)i * 3;
		history_append(&h, S(i), 1000 * i, &g, 1, &c, 1);
	}
	CHECK_EQ(history_frames(&h), 5);
	CHECK_EQ(h.first_seq, 7);
	CHECK_EQ(h.gents_used, 5);
	CHECK_EQ(h.cents_used, 5);
	j = render(&h);
	CHECK(strstr(j, "\"frames\":5,\"t\":[7000,8000,9000,10000,11000]"));
	/* Swaps per interval: 3 each, null at the first kept frame. */
	CHECK(strstr(j, "\"swaps\":[null,3,3,3,3]"));
	/* Half the GPU time between frames: 50%. */
	CHECK(strstr(j, "\"share_pct\":[null,50.0,50.0,50.0,50.0]"));
	CHECK(strstr(j, "\"label\":\"ml/trainer\""));
	free(j);
	history_free(&h);
}

/* Client 2 leaves after frame 2: its series ends there, client 1's goes
 * on; once its frames age out, so do its series and its label. */
static void test_client_leaving(void)
{
	struct history h;
	struct history_gpu_in g = gpu(UUID_A, 0);
	char *j;

	CHECK_EQ(history_init(&h, 4, 100, 100, 10), 0);
	for (int i = 0; i < 3; i++) {
		struct history_client_in c[2] = {
		    client(1, UUID_A, "one", 0),
		    client(2, UUID_A, "two\"<b>", 0)};

		c[1].state = POLICY_WAITING;
		c[1].reason = POLICY_WAIT_MEMORY;
		history_append(&h, S(i), 1000 * i, &g, 1, c, 2);
	}
	{
		struct history_client_in c = client(1, UUID_A, "one", 0);

		history_append(&h, S(3), 3000, &g, 1, &c, 1);
	}
	j = render(&h);
	CHECK(strstr(j, "{\"id\":2,\"gpu\":\"" UUID_A "\",\"label\":"
	                "\"two\\\"<b>\",\"start\":0,\"memory_bytes\":["
	                "2147483648,2147483648,2147483648]"));
	CHECK(strstr(j, "\"state\":[\"waiting\",\"waiting\",\"waiting\"],"
	                "\"wait_reason\":[\"memory\",\"memory\",\"memory\"]"));
	CHECK(strstr(j, "{\"id\":1,"));
	CHECK_EQ(h.nnames, 2);
	free(j);
	for (int i = 4; i < 7; i++) {
		struct history_client_in c = client(1, UUID_A, "one", 0);

		history_append(&h, S(i), 1000 * i, &g, 1, &c, 1);
	}
	j = render(&h);
	CHECK(!strstr(j, "\"id\":2"));
	CHECK(!strstr(j, "two"));
	CHECK_EQ(h.nnames, 1);
	free(j);
	history_free(&h);
}

/* Entry rings smaller than frames x entries: frames of many clients push
 * the oldest out; used entries never pass the capacity. */
static void test_bounded(void)
{
	struct history h;
	struct history_gpu_in g[2] = {gpu(UUID_A, 0), gpu(UUID_B, 0)};
	static struct history_client_in c[40];
	size_t max_c = 0;

	CHECK_EQ(history_init(&h, 600, 1200, 100, 8), 0);
	for (int i = 0; i < 40; i++)
		c[i] = client((uint64_t)i + 1, i % 2 ? UUID_B : UUID_A, "x", 0);
	for (int t = 0; t < 50; t++) {
		/* 40 client-GPU entries a frame, then 150 (cut to 100). */
		history_append(&h, S(t), 1000 * t, g, 2, c, 40);
		if (h.cents_used > max_c)
			max_c = h.cents_used;
		CHECK(h.cents_used <= 100);
		CHECK(h.gents_used <= 1200);
	}
	CHECK_EQ(history_frames(&h), 2); /* 2 x 40 fit in 100, 3 do not */
	CHECK_EQ(max_c, 80);
	CHECK(h.nnames <= 8); /* labels past the table: "client N" */
	{
		char *j = render(&h);

		CHECK(strstr(j, "\"label\":\"client 40\""));
		CHECK(strstr(j, "\"uuid\":\"" UUID_B "\""));
		free(j);
	}
	/* A frame bigger than the whole ring: cut, not overflowing. */
	{
		static struct history_client_in big[150];

		for (int i = 0; i < 150; i++)
			big[i] = client((uint64_t)i + 100, UUID_A, "y", 0);
		history_append(&h, S(60), 60000, g, 2, big, 150);
		CHECK_EQ(history_frames(&h), 1);
		CHECK_EQ(h.cents_used, 100);
	}
	history_free(&h);
}

/* The compact copy (what the HTTP threads render) renders the same. */
static void test_copy(void)
{
	struct history h, cp;
	struct history_gpu_in g = gpu(UUID_A, 0);
	char *a, *b;

	CHECK_EQ(history_init(&h, 6, 100, 9, 10), 0);
	for (int i = 0; i < 20; i++) {
		struct history_client_in c[2] = {
		    client(1, UUID_A, "one", S(i) / 4),
		    client(2 + (uint64_t)(i / 5), UUID_A, "n", 0)};

		c[0].metered = 0; /* unmetered: lock held time counts */
		c[0].held_ns = S(i) / 4;
		history_append(&h, S(i), 1000 * i, &g, 1, c, 2);
	}
	CHECK_EQ(history_copy(&cp, &h), 0);
	a = render(&h);
	b = render(&cp);
	CHECK_STR(a, b);
	CHECK(strstr(a, "\"share_pct\":[null,25.0,25.0,25.0]"));
	CHECK_EQ(cp.cents_cap, h.cents_used);
	free(a);
	free(b);
	history_free(&cp);
	history_free(&h);
}

/* Frames from a number on: what a viewer that has the rest asks for;
 * the figures per interval still count from the frame before. */
static void test_from(void)
{
	struct history h;
	struct history_gpu_in g = gpu(UUID_A, 0);
	struct status_buf b = {0};

	CHECK_EQ(history_init(&h, 5, 100, 100, 10), 0);
	for (int i = 0; i < 8; i++) {
		struct history_client_in c = client(1, UUID_A, "one", S(i) / 2);

		g.swaps = (uint64_t)i;
		history_append(&h, S(i), 1000 * i, &g, 1, &c, 1);
	}
	CHECK_EQ(history_render_json(&h, 6, &b), 0);
	CHECK(strstr(b.p, "\"first\":3,\"from\":6,\"next\":8,"
	                  "\"complete\":false,\"frames\":2,\"t\":[6000,7000]"));
	CHECK(strstr(b.p, "\"swaps\":[1,1]"));
	CHECK(strstr(b.p, "\"share_pct\":[50.0,50.0]"));
	CHECK(strstr(b.p, "\"start\":0"));
	status_buf_free(&b);
	/* Nothing new: no frames, no series. */
	CHECK_EQ(history_render_json(&h, 8, &b), 0);
	CHECK(strstr(b.p, "\"frames\":0,\"t\":[],\"gpus\":[],"
	                  "\"clients\":[]"));
	status_buf_free(&b);
	/* Too old, or past the end (a restarted scheduler): all of it. */
	CHECK_EQ(history_render_json(&h, 1, &b), 0);
	CHECK(strstr(b.p, "\"from\":3,\"next\":8,\"complete\":true"));
	status_buf_free(&b);
	CHECK_EQ(history_render_json(&h, 99, &b), 0);
	CHECK(strstr(b.p, "\"complete\":true,\"frames\":5"));
	status_buf_free(&b);
	history_free(&h);
}

int main(void)
{
	test_from();
	test_wrap();
	test_client_leaving();
	test_bounded();
	test_copy();
	return check_summary("test_history");
}
