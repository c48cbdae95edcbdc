/*
 * ratelimit.c - see ratelimit.h. Credit is kept in nanoseconds of refill
 * so that no rounding loses or creates tokens.
 */
#include "ratelimit.h"

static int64_t credit_at(const struct ratelimit *r, int64_t now, unsigned burst,
                         int64_t period_ns)
{
	int64_t cap = (int64_t)burst * period_ns, credit;

	if (!r->started)
		return cap;
	credit = r->credit_ns;
	if (now > r->last_ns) {
		/* Capped before adding: no overflow after a long silence. */
		if (now - r->last_ns >= cap)
			return cap;
		credit += now - r->last_ns;
	}
	return credit > cap ? cap : credit;
}

int ratelimit_ready(const struct ratelimit *r, int64_t now, unsigned burst,
                    int64_t period_ns)
{
	return credit_at(r, now, burst, period_ns) >= period_ns;
}

int64_t ratelimit_next_ns(const struct ratelimit *r, int64_t now,
                          unsigned burst, int64_t period_ns)
{
	int64_t credit = credit_at(r, now, burst, period_ns);

	return credit >= period_ns ? now : now + (period_ns - credit);
}

int ratelimit_full(const struct ratelimit *r, int64_t now, unsigned burst,
                   int64_t period_ns)
{
	return credit_at(r, now, burst, period_ns) >=
	       (int64_t)burst * period_ns;
}

int ratelimit_allow(struct ratelimit *r, int64_t now, unsigned burst,
                    int64_t period_ns)
{
	int64_t credit = credit_at(r, now, burst, period_ns);

	if (!r->started || now > r->last_ns)
		r->last_ns = now;
	r->started = 1;
	if (credit >= period_ns) {
		r->credit_ns = credit - period_ns;
		return 1;
	}
	r->credit_ns = credit;
	r->suppressed++;
	return 0;
}

uint64_t ratelimit_take_suppressed(struct ratelimit *r)
{
	uint64_t n = r->suppressed;

	r->suppressed = 0;
	return n;
}
