/*
 * test_status_pages.c - the status report in pages (status.h, CTL_STATUS
 * with PAGED): pages joined equal the whole report byte for byte, for JSON
 * and text and every budget; each page but the last fits its budget; the
 * cursor is the last client's id; a client that left between two pages
 * costs nobody else their place; a page after the last client ends the
 * report.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "registry.h"
#include "status.h"

#define UUID_A "GPU-00000000-0000-0000-0000-000000000001"
#define NCLIENTS 12
#define NOW ((int64_t)5000 * 1000000)

static void build(struct sched_registry *r)
{
	struct sched_gpu *a;

	registry_init(r, 2000, 5000);
	a = registry_gpu_add(r, UUID_A, 16ull << 30);
	for (int i = 0; i < NCLIENTS; i++) {
		struct sched_client *c = registry_client_new(r);

		c->pid = 100 + i;
		snprintf(c->comm, sizeof(c->comm), "client\x01%d", i);
		memset(c->pod_name, 'p', (size_t)(i * 20));
		if (i % 3)
			registry_client_attach(c, a);
	}
}

typedef int (*render_page)(const struct sched_registry *, int64_t, uint64_t,
                           size_t, struct status_buf *, uint64_t *);

/* Joins the pages of budget; returns how many there were. */
static int join(const struct sched_registry *r, render_page fn, size_t budget,
                struct status_buf *out)
{
	uint64_t after = 0, next;
	int pages = 0;

	do {
		size_t before = out->len;

		CHECK_EQ(fn(r, NOW, after, budget, out, &next), 0);
		if (next) {
			/* Full pages fit (one client alone may not). */
			CHECK(out->len - before <= budget || pages == 0 ||
			      next == after + 1);
			CHECK(next > after);
		}
		after = next;
		pages++;
	} while (next && pages < 100);
	return pages;
}

static void test_join(int json)
{
	struct sched_registry r;
	struct status_buf whole = {0};
	render_page fn =
	    json ? status_render_json_page : status_render_text_page;

	build(&r);
	if (json)
		status_render_json(&r, NOW, &whole);
	else
		status_render_text(&r, NOW, &whole);
	for (size_t budget = 1; budget < whole.len + 100; budget += 97) {
		struct status_buf joined = {0};
		int pages = join(&r, fn, budget, &joined);

		CHECK_STR(joined.p, whole.p);
		CHECK(pages >= 1 && pages <= NCLIENTS + 1);
		if (budget == 1)
			CHECK_EQ(pages, NCLIENTS); /* one client a page */
		status_buf_free(&joined);
	}
	{
		struct status_buf b = {0};
		uint64_t next = 1;

		/* The whole report in one page: no cursor. */
		CHECK_EQ(fn(&r, NOW, 0, SIZE_MAX, &b, &next), 0);
		CHECK_EQ(next, 0);
		CHECK_STR(b.p, whole.p);
		status_buf_free(&b);
	}
	status_buf_free(&whole);
	registry_destroy(&r);
}

/* A client leaving between two pages: the next page starts after the
 * cursor's id, not at a position, so no one still there is skipped. */
static void test_churn(void)
{
	struct sched_registry r;
	struct status_buf p1 = {0}, p2 = {0}, all = {0};
	uint64_t next, next2;
	char want[64];

	build(&r);
	CHECK_EQ(status_render_json_page(&r, NOW, 0, 1, &p1, &next), 0);
	CHECK_EQ(next, 1);
	CHECK_EQ(status_render_json_page(&r, NOW, 3, 1, &p2, &next2), 0);
	CHECK_EQ(next2, 4); /* clients 4.., one a page */
	status_buf_free(&p2);
	/* Client 1 (shown) and 2 (not yet) go; the page after 1 starts with
	 * client 3 and its separating comma. */
	registry_client_remove(&r, registry_client_find(&r, 1));
	registry_client_remove(&r, registry_client_find(&r, 2));
	CHECK_EQ(status_render_json_page(&r, NOW, 1, 1, &p2, &next2), 0);
	CHECK_EQ(next2, 3);
	snprintf(want, sizeof(want), ",{\"id\":3,\"pid\":102,");
	CHECK(p2.p && strncmp(p2.p, want, strlen(want)) == 0);
	/* After the last client: the end of the document only. */
	CHECK_EQ(status_render_json_page(&r, NOW, 99, 1, &all, &next), 0);
	CHECK_STR(all.p, "]}\n");
	CHECK_EQ(next, 0);
	status_buf_free(&all);
	CHECK_EQ(status_render_text_page(&r, NOW, 99, 1, &all, &next), 0);
	CHECK_EQ(all.len, 0);
	CHECK_EQ(next, 0);
	status_buf_free(&all);
	status_buf_free(&p1);
	status_buf_free(&p2);
	registry_destroy(&r);
}

static void test_empty(void)
{
	struct sched_registry r;
	struct status_buf b = {0}, w = {0};
	uint64_t next = 7;

	registry_init(&r, 2000, 5000);
	CHECK_EQ(status_render_text_page(&r, NOW, 0, 1, &b, &next), 0);
	status_render_text(&r, NOW, &w);
	CHECK_STR(b.p, w.p);
	CHECK_EQ(next, 0);
	status_buf_free(&b);
	status_buf_free(&w);
	registry_destroy(&r);
}

int main(void)
{
	test_join(1);
	test_join(0);
	test_churn();
	test_empty();
	return check_summary("test_status_pages");
}
