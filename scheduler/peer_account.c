/*
 * peer_account.c - see peer_account.h. A linear table: there are as many
 * entries as users with connections, a handful on a real node, at most one
 * per connection.
 */
#include "peer_account.h"

#include <stdlib.h>

#include "log.h"

#define BURST RATELIMIT_BURST
#define PERIOD RATELIMIT_PERIOD_NS

struct peer_account *peer_account_get(struct peer_accounts *t, uid_t uid,
                                      int in_pod)
{
	struct peer_account *a;

	in_pod = in_pod ? 1 : 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i]->uid == uid && t->v[i]->in_pod == in_pod)
			return t->v[i];
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		void *p = realloc(t->v, ncap * sizeof(t->v[0]));
		if (!p)
			return NULL;
		t->v = p;
		t->cap = ncap;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->uid = uid;
	a->in_pod = in_pod;
	t->v[t->n++] = a;
	return a;
}

static void report_suppressed(struct peer_account *a)
{
	uint64_t n = ratelimit_take_suppressed(&a->log);

	if (n)
		NVS_WARN("event=log_suppressed uid=%u suppressed=%llu "
		         "msg=\"warnings about this uid's connections were "
		         "rate-limited\"",
		         (unsigned)a->uid, (unsigned long long)n);
}

int peer_account_log_ok(struct peer_account *a, int64_t now)
{
	if (a->exempt)
		return 1;
	if (!ratelimit_allow(&a->log, now, BURST, PERIOD))
		return 0;
	report_suppressed(a);
	return 1;
}

int64_t peer_accounts_tick(struct peer_accounts *t, int64_t now)
{
	int64_t next = INT64_MAX;
	size_t kept = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct peer_account *a = t->v[i];

		if (a->log.suppressed) {
			if (ratelimit_ready(&a->log, now, BURST, PERIOD)) {
				/* The token is spent on the count itself. */
				ratelimit_allow(&a->log, now, BURST, PERIOD);
				report_suppressed(a);
			} else {
				int64_t at = ratelimit_next_ns(&a->log, now,
				                               BURST, PERIOD);
				if (at < next)
					next = at;
			}
		}
		/* Forgotten only once it could not say more than a new one. */
		if (!a->nconns && !a->log.suppressed &&
		    ratelimit_full(&a->log, now, BURST, PERIOD)) {
			free(a);
			continue;
		}
		t->v[kept++] = a;
	}
	t->n = kept;
	return next;
}

void peer_accounts_free(struct peer_accounts *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}
