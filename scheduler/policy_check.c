/*
 * policy_check.c - the policy's invariants (see policy.h). Reads only the
 * public state of a struct policy_gpu.
 */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>

static void broken(const char *what, uint64_t client)
{
	fprintf(stderr, "policy invariant broken: %s (client %llu)\n", what,
	        (unsigned long long)client);
	abort();
}

void policy_check_invariants(const struct policy_gpu *g)
{
	size_t running = 0;

	for (size_t i = 0; i < g->nrunning; i++) {
		const struct policy_member *m =
		    policy_member_of(g, g->running[i].client);

		if (!m || !m->running)
			broken("a holder is not a running member",
			       g->running[i].client);
		for (size_t j = i + 1; j < g->nrunning; j++)
			if (g->running[j].client == g->running[i].client)
				broken("a client holds twice",
				       g->running[i].client);
	}
	for (size_t i = 0; i < g->nqueue; i++) {
		const struct policy_member *m =
		    policy_member_of(g, g->queue[i].client);

		if (!m || m->running || m->unmanaged)
			broken("a waiter is not an idle managed member",
			       g->queue[i].client);
		for (size_t j = i + 1; j < g->nqueue; j++)
			if (g->queue[j].client == g->queue[i].client)
				broken("a client waits twice",
				       g->queue[i].client);
	}
	for (size_t i = 0; i < g->nmembers; i++) {
		const struct policy_member *m = &g->members[i];

		running += m->running ? 1 : 0;
		if (m->pinned_bytes > m->footprint_bytes)
			broken("pinned beyond the footprint", m->client);
		if (m->pinned_held > m->pinned_bytes)
			broken("more pinned memory held than pinned",
			       m->client);
		if (!g->unmanaged && m->granted_bytes > g->capacity_bytes)
			broken("a grant beyond the capacity", m->client);
		if (m->evicting && (m->running || !m->resident))
			broken("an eviction of a running or swapped-out client",
			       m->client);
		if (m->unmanaged &&
		    (m->running || !m->resident || m->evicting ||
		     m->out_asked || m->in_due || m->host_bytes ||
		     m->pinned_held != m->pinned_bytes ||
		     m->granted_bytes != (m->footprint_bytes < g->capacity_bytes
		                              ? m->footprint_bytes
		                              : g->capacity_bytes)))
			broken("an unmanaged client not counted whole on the "
			       "GPU, or scheduled",
			       m->client);
	}
	if (running != g->nrunning)
		broken("running members and holders differ", 0);
}
