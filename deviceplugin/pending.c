/*
 * pending.c - the table of recent allocations (see pending.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

int dp_pending_add(struct dp_pending_table *t, const char *id, uint32_t gpus,
                   const char *const *devs, size_t ndev, int64_t now)
{
	struct dp_pending *e;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;

		e = realloc(t->e, cap * sizeof(*e));
		if (!e)
			return -1;
		t->e = e;
		t->cap = cap;
	}
	e = &t->e[t->n++];
	memset(e, 0, sizeof(*e));
	strncpy(e->id, id, sizeof(e->id) - 1);
	e->gpus = gpus;
	e->at_ns = now;
	for (size_t i = 0; i < ndev && e->ndev < DP_PENDING_DEVS; i++)
		snprintf(e->dev[e->ndev++], DP_ID_MAX, "%s", devs[i]);
	return 0;
}

size_t dp_pending_released(struct dp_pending_table *t, const char *const *avail,
                           size_t n)
{
	size_t keep = 0, gone = 0;

	for (size_t i = 0; i < t->n; i++) {
		int freed = 0;

		for (size_t d = 0; d < t->e[i].ndev && !freed; d++)
			for (size_t a = 0; a < n && !freed; a++)
				freed = strcmp(t->e[i].dev[d], avail[a]) == 0;
		if (freed)
			gone++;
		else
			t->e[keep++] = t->e[i];
	}
	t->n = keep;
	return gone;
}

static int seen(const char *id, const char *const *live, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (live[i] && strcmp(live[i], id) == 0)
			return 1;
	return 0;
}

void dp_pending_refresh(struct dp_pending_table *t, const char *const *live_ids,
                        size_t nlive, int64_t now, int64_t timeout_ns,
                        size_t *ended, size_t *expired)
{
	size_t keep = 0, nend = 0, nexp = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct dp_pending *e = &t->e[i];

		if (seen(e->id, live_ids, nlive))
			e->linked = 1;
		else if (e->linked) {
			nend++;
			continue;
		} else if (now - e->at_ns >= timeout_ns) {
			nexp++;
			continue;
		}
		t->e[keep++] = *e;
	}
	t->n = keep;
	if (ended)
		*ended = nend;
	if (expired)
		*expired = nexp;
}

void dp_pending_counts(const struct dp_pending_table *t, unsigned *counts)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->e[i].linked)
			continue;
		for (int g = 0; g < DP_MAX_GPUS; g++)
			if (t->e[i].gpus & (1u << g))
				counts[g]++;
	}
}

const struct dp_pending *dp_pending_find(const struct dp_pending_table *t,
                                         const char *id)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->e[i].id, id) == 0)
			return &t->e[i];
	return NULL;
}

void dp_pending_free(struct dp_pending_table *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}
