/*
 * billing.c - see billing.h. The state moves forward through two kinds of
 * events, taken in time order by bill_advance():
 *
 *   tick close      tick k closes at (k + 1 + BILL_GRACE_TICKS) * TICK. Its
 *                   reports are billed, scaled by TICK / sum when they add
 *                   up to more than the tick, into the window that is
 *                   current at the close (so every window bills exactly
 *                   window / TICK closes, and debt accounting is exact);
 *   window boundary at window_start + window: each limited client keeps
 *                   what it used beyond its budget as debt (at most
 *                   BILL_MAX_DEBT_WINDOWS budgets of the new window, and
 *                   at least the window itself), or,
 *                   if it used something, up to BILL_CREDIT_TICKS of
 *                   unused budget as credit (negative used_ns); the rest
 *                   is forgotten, and the next window's length (if
 *                   bill_set_window changed it) takes effect.
 *
 * A boundary and a close at the same instant: the boundary goes first, so
 * the tick is billed into the window that it closes in.
 *
 * After every event, and at the time of every call, one rule decides who
 * is throttled: a limited client is throttled exactly when its billed time
 * in the window (debt included) has reached its budget. Billing only adds
 * to used_ns within a window, so the rule throttles a client once its
 * budget is used and lets it go at a boundary that leaves it under its new
 * budget; but budgets also move within a window, and the rule then acts
 * at once in both directions: a limit changed by bill_set_limit, a client
 * removed (others' shares grow: a throttled one whose budget now exceeds
 * what it used is let go at the next bill_advance, instead of waiting for
 * the boundary, because its share is what it may have now), a limited
 * client that becomes active (others' shares shrink: those past their
 * smaller budget are throttled) or that stops being active.
 *
 * Budgets: a limited client's share is limit / max(100, sum), where sum is
 * the limits of the active limited clients (throttled, or billed for a
 * tick ending within BILL_ACTIVE_WINDOWS windows); a client that is not
 * active counts itself in the sum, so its share is what it would get if
 * it ran now. Its budget is share * window, in whole ns (at least 1).
 *
 * Open ticks live in each client's ring of BILL_PENDING_TICKS slots, tick
 * k in slot k % BILL_PENDING_TICKS. Every pending tick is >= next_tick.
 * Ticks nobody reported cost nothing: bill_advance jumps to the earliest
 * pending tick, and over whole windows in which nothing can change (nobody
 * owes, nobody is throttled), so a call after an hour's gap does a few
 * steps, not 360000.
 *
 * Limits of the representation, chosen here:
 *   - a report for a tick whose slot holds another open tick (more than
 *     BILL_PENDING_TICKS ticks open at once for one client) is refused;
 *   - a report for a closed tick is billed at face value at once; reports
 *     for a closed tick are not capped at the tick in total (the tick's
 *     earlier reports are gone);
 *   - a client removed with open ticks takes them along: the others' busy
 *     time in those ticks is billed against a smaller sum (at worst at
 *     face value), so they pay a little more, never less;
 *   - a limit of 100 or more limits nothing and is kept as 0 (unlimited);
 *   - windows are capped at BILL_MAX_WINDOW_NS.
 */
#include "billing.h"

#include <string.h>

#include "settings.h"

/* The longest window: keeps window * limit and the tick arithmetic far
 * from overflowing. An hour is far beyond any sensible quota window. */
#define BILL_MAX_WINDOW_NS (3600LL * 1000000000LL)
/* The highest tick index whose close time fits an int64_t. */
#define BILL_MAX_TICK (INT64_MAX / BILL_TICK_NS - BILL_GRACE_TICKS - 2)
/* Re-evaluations of the rule when throttling changes who is active. */
#define BILL_EVAL_PASSES 4

/* --- small helpers -------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t close_time(int64_t tick)
{
	return (tick + 1 + BILL_GRACE_TICKS) * BILL_TICK_NS;
}

static int64_t window_end(const struct bill_gpu *g)
{
	return g->window_start_ns + g->window_ns;
}

static int64_t norm_window(int64_t window_ns)
{
	if (window_ns <= 0)
		window_ns = BILL_WINDOW_NS;
	if (window_ns > BILL_MAX_WINDOW_NS)
		window_ns = BILL_MAX_WINDOW_NS;
	return (window_ns + BILL_TICK_NS - 1) / BILL_TICK_NS * BILL_TICK_NS;
}

static uint32_t norm_limit(uint32_t limit_pct)
{
	return nvs_core_limit_in_force(limit_pct);
}

static long find(const struct bill_gpu *g, uint64_t id)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->clients[i].id == id)
			return (long)i;
	return -1;
}

static struct bill_client *client_of(struct bill_gpu *g, uint64_t id)
{
	long i = find(g, id);

	return i < 0 ? NULL : &g->clients[i];
}

static void bill(struct bill_client *c, int64_t ns, int64_t tick)
{
	int64_t end = (tick + 1) * BILL_TICK_NS;

	c->used_ns += ns;
	c->billed_ns += (uint64_t)ns;
	if (ns > 0 && end > c->last_busy_ns)
		c->last_busy_ns = end;
}

/* --- shares and budgets --------------------------------------------------- */

static int active(const struct bill_gpu *g, const struct bill_client *c,
                  int64_t t)
{
	return c->limit_pct &&
	       (c->throttled ||
	        c->last_busy_ns >= t - BILL_ACTIVE_WINDOWS * g->window_ns);
}

/* The limits of the active limited clients at t. */
static int64_t active_sum(const struct bill_gpu *g, int64_t t)
{
	int64_t sum = 0;

	for (size_t i = 0; i < g->n; i++)
		if (active(g, &g->clients[i], t))
			sum += g->clients[i].limit_pct;
	return sum;
}

/* The denominator of c's share, in percent: the active limits, counting
 * c's own whether or not it is active, and at least 100. */
static int64_t share_den(const struct bill_gpu *g, const struct bill_client *c,
                         int64_t sum, int64_t t)
{
	if (!active(g, c, t))
		sum += c->limit_pct;
	return sum > 100 ? sum : 100;
}

/* c's budget in a window of window_ns (c limited); at least 1 ns. */
static int64_t budget(const struct bill_gpu *g, const struct bill_client *c,
                      int64_t sum, int64_t t, int64_t window_ns)
{
	int64_t b = window_ns * (int64_t)c->limit_pct / share_den(g, c, sum, t);

	return b > 0 ? b : 1;
}

/* --- the rule ------------------------------------------------------------- */

static int out_room(const struct bill_out *out)
{
	return out->n < BILL_OUT_MAX;
}

static void out_push(struct bill_out *out, enum bill_kind kind, uint64_t id)
{
	out->a[out->n].kind = kind;
	out->a[out->n].client = id;
	out->n++;
}

/* Sets c's throttle to what the rule says, with the action for it. Returns
 * -1 if out has no room, 1 if it changed, 0 if not. */
static int decide(const struct bill_gpu *g, struct bill_client *c, int64_t sum,
                  int64_t t, struct bill_out *out)
{
	int want =
	    c->limit_pct && c->used_ns >= budget(g, c, sum, t, g->window_ns);

	if (want == c->throttled)
		return 0;
	if (!out_room(out))
		return -1;
	c->throttled = want;
	out_push(out, want ? BILL_THROTTLE : BILL_UNTHROTTLE, c->id);
	return 1;
}

/* Applies the rule to every client at t. Throttling a client that was not
 * active (a late report billed it) or letting go one that then is not
 * (throttled for longer than BILL_ACTIVE_WINDOWS) changes the others'
 * shares, so the rule runs again while the active set moves, at most
 * BILL_EVAL_PASSES times (the next call settles anything left). Returns 0
 * if out filled up: the rest is decided by the next call. */
static int evaluate(struct bill_gpu *g, int64_t t, struct bill_out *out)
{
	for (int pass = 0; pass < BILL_EVAL_PASSES; pass++) {
		int64_t sum = active_sum(g, t);
		int changed = 0;

		for (size_t i = 0; i < g->n; i++) {
			int r = decide(g, &g->clients[i], sum, t, out);

			if (r < 0)
				return 0;
			changed |= r;
		}
		if (!changed || active_sum(g, t) == sum)
			return 1;
	}
	return 1;
}

/* --- events --------------------------------------------------------------- */

/* The earliest pending tick of any client, or INT64_MAX. */
static int64_t first_pending(const struct bill_gpu *g)
{
	int64_t first = INT64_MAX;

	for (size_t i = 0; i < g->n; i++)
		for (int s = 0; s < BILL_PENDING_TICKS; s++) {
			int64_t k = g->clients[i].pending[s].tick;

			if (k >= 0 && k < first)
				first = k;
		}
	return first;
}

/* Moves next_tick over the ticks nobody reported, up to the first one not
 * closed by now. */
static void skip_empty(struct bill_gpu *g, int64_t now)
{
	int64_t limit = floor_div(now, BILL_TICK_NS) - BILL_GRACE_TICKS;
	int64_t first = first_pending(g);

	if (first < limit)
		limit = first;
	if (limit > g->next_tick)
		g->next_tick = limit;
}

/* Bills tick next_tick, whose reports are in: busy * min(1, TICK / sum),
 * rounded down, so the tick never bills more than TICK in total. */
static void close_tick(struct bill_gpu *g)
{
	int64_t k = g->next_tick, sum = 0;
	int s = (int)(k % BILL_PENDING_TICKS);

	for (size_t i = 0; i < g->n; i++)
		if (g->clients[i].pending[s].tick == k)
			sum += g->clients[i].pending[s].busy_ns;
	for (size_t i = 0; i < g->n; i++) {
		struct bill_tick *p = &g->clients[i].pending[s];
		int64_t ns;

		if (p->tick != k)
			continue;
		ns = p->busy_ns;
		if (sum > BILL_TICK_NS)
			ns = ns * BILL_TICK_NS / sum;
		bill(&g->clients[i], ns, k);
		p->tick = -1;
		p->busy_ns = 0;
	}
	g->next_tick++;
}

/* Nothing a boundary does can matter: nobody owes, nobody is throttled,
 * and the window keeps its length. */
static int quiet(const struct bill_gpu *g)
{
	if (g->next_window_ns != g->window_ns)
		return 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->clients[i].used_ns != 0 || g->clients[i].throttled)
			return 0;
	return 1;
}

/* Starts the window at window_end(g): what a client used beyond its budget
 * becomes its debt, capped at BILL_MAX_DEBT_WINDOWS of its new budget;
 * budget it left unused becomes credit, capped at BILL_CREDIT_TICKS and at
 * its new budget, if it used anything (an idle client earns nothing, so
 * quiet GPUs stay quiet). If nothing can change, jumps over every boundary
 * up to limit at once. */
static void new_window(struct bill_gpu *g, int64_t limit)
{
	int64_t t = window_end(g), wold = g->window_ns, wnew, sum;

	if (quiet(g)) {
		g->window_start_ns +=
		    (limit - g->window_start_ns) / wold * wold;
		return;
	}
	wnew = g->next_window_ns;
	sum = active_sum(g, t);
	for (size_t i = 0; i < g->n; i++) {
		struct bill_client *c = &g->clients[i];
		int64_t carry, cap;

		if (!c->limit_pct) {
			c->used_ns = 0;
			continue;
		}
		carry = c->used_ns - budget(g, c, sum, t, wold);
		cap = BILL_MAX_DEBT_WINDOWS * budget(g, c, sum, t, wnew);
		/* Work queued before a throttle can be a whole window for a
		 * small share: never forgive less than that. */
		if (cap < wnew)
			cap = wnew;
		if (carry >= 0) {
			c->used_ns = carry > cap ? cap : carry;
		} else {
			int64_t credit = BILL_CREDIT_TICKS * BILL_TICK_NS;
			if (credit > budget(g, c, sum, t, wnew))
				credit = budget(g, c, sum, t, wnew);
			if (-carry < credit)
				credit = -carry;
			c->used_ns = c->used_ns > 0 ? -credit : 0;
		}
	}
	g->window_start_ns = t;
	g->window_ns = wnew;
}

/* --- entry points --------------------------------------------------------- */

void bill_init(struct bill_gpu *g, int64_t window_ns, int64_t now)
{
	int64_t tick = floor_div(now, BILL_TICK_NS);

	memset(g, 0, sizeof(*g));
	g->window_ns = g->next_window_ns = norm_window(window_ns);
	g->window_start_ns = tick * BILL_TICK_NS;
	/* Ticks still in their grace at now stay open. */
	g->next_tick =
	    tick - BILL_GRACE_TICKS > 0 ? tick - BILL_GRACE_TICKS : 0;
}

void bill_set_window(struct bill_gpu *g, int64_t window_ns)
{
	g->next_window_ns = norm_window(window_ns);
}

size_t bill_owned(const struct bill_gpu *g, uint64_t owner)
{
	size_t n = 0;

	for (size_t i = 0; i < g->n; i++)
		n += g->clients[i].owner == owner;
	return n;
}

int bill_add(struct bill_gpu *g, uint64_t id, uint32_t limit_pct)
{
	return bill_add_owned(g, id, 0, limit_pct, BILL_MAX_CLIENTS);
}

int bill_add_owned(struct bill_gpu *g, uint64_t id, uint64_t owner,
                   uint32_t limit_pct, size_t owner_max)
{
	struct bill_client *c;

	if (find(g, id) >= 0)
		return 0;
	if (g->n >= BILL_MAX_CLIENTS)
		return -1;
	if (bill_owned(g, owner) >= owner_max)
		return -2;
	c = &g->clients[g->n++];
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->owner = owner;
	c->limit_pct = norm_limit(limit_pct);
	c->last_busy_ns = INT64_MIN;
	for (int s = 0; s < BILL_PENDING_TICKS; s++)
		c->pending[s].tick = -1;
	return 0;
}

/* When c last had work here: its last billed tick, or a later tick it
 * reported that is still open (billed ~30 ms late, it is recent). */
static int64_t latest_busy(const struct bill_client *c)
{
	int64_t t = c->last_busy_ns;

	for (int s = 0; s < BILL_PENDING_TICKS; s++)
		if (c->pending[s].tick >= 0 && c->pending[s].busy_ns > 0 &&
		    (c->pending[s].tick + 1) * BILL_TICK_NS > t)
			t = (c->pending[s].tick + 1) * BILL_TICK_NS;
	return t;
}

/* A client that may give up its entry at now: an unlimited one (unbilled,
 * it runs as before), or a limited one idle for BILL_ACTIVE_WINDOWS
 * windows with nothing open. Taking an active limited client's entry
 * would hold it throttled, and a flood of small owners could do that to
 * every limited client of a larger one. */
static int evictable(const struct bill_gpu *g, const struct bill_client *c,
                     int64_t now)
{
	return !c->limit_pct ||
	       (!active(g, c, now) &&
	        latest_busy(c) < now - BILL_ACTIVE_WINDOWS * g->window_ns);
}

/* Whether a (of an owner holding ka) gives up its entry before b (of one
 * holding kb; b is the earlier in the table): an unlimited client first,
 * then the larger owner's, the least recently busy, the latest to join. */
static int evict_before(const struct bill_client *a, size_t ka,
                        const struct bill_client *b, size_t kb)
{
	if (!a->limit_pct != !b->limit_pct)
		return !a->limit_pct;
	if (ka != kb)
		return ka > kb;
	return latest_busy(a) <= latest_busy(b);
}

int bill_add_evicting(struct bill_gpu *g, uint64_t id, uint64_t owner,
                      uint32_t limit_pct, size_t owner_max, int64_t now,
                      uint64_t *evicted)
{
	int rc = bill_add_owned(g, id, owner, limit_pct, owner_max);
	size_t mine, best_k = 0;
	long pick = -1;

	*evicted = 0;
	if (rc != -1)
		return rc;
	mine = bill_owned(g, owner);
	if (mine >= owner_max)
		return -2;
	/* The table is full: O(n^2) over 256 entries, at a registration. */
	for (size_t i = 0; i < g->n; i++) {
		const struct bill_client *c = &g->clients[i];
		size_t k;

		if (c->owner == owner || !evictable(g, c, now))
			continue;
		k = bill_owned(g, c->owner);
		if (k < mine + 2)
			continue;
		if (pick < 0 || evict_before(c, k, &g->clients[pick], best_k)) {
			pick = (long)i;
			best_k = k;
		}
	}
	if (pick < 0)
		return -1;
	*evicted = g->clients[pick].id;
	bill_remove(g, *evicted);
	return bill_add_owned(g, id, owner, limit_pct, owner_max);
}

void bill_remove(struct bill_gpu *g, uint64_t id)
{
	long i = find(g, id);

	if (i < 0)
		return;
	memmove(&g->clients[i], &g->clients[i + 1],
	        (g->n - (size_t)i - 1) * sizeof(g->clients[0]));
	g->n--;
}

void bill_set_limit(struct bill_gpu *g, uint64_t id, uint32_t limit_pct,
                    int64_t now, struct bill_out *out)
{
	struct bill_client *c = client_of(g, id);

	if (!c)
		return;
	c->limit_pct = norm_limit(limit_pct);
	/* The client itself first, so that its own action is not the one
	 * left out of a full out; then everyone whose share moved. */
	if (decide(g, c, active_sum(g, now), now, out) >= 0)
		evaluate(g, now, out);
}

int bill_report(struct bill_gpu *g, uint64_t id, int64_t tick, int64_t busy_ns)
{
	struct bill_client *c = client_of(g, id);
	struct bill_tick *p;

	if (!c || busy_ns < 0 || busy_ns > BILL_TICK_NS || tick < 0 ||
	    tick > BILL_MAX_TICK)
		return -1;
	if (tick < g->next_tick) {
		bill(c, busy_ns, tick); /* closed: face value, now */
		return 0;
	}
	if (busy_ns == 0)
		return 0;
	p = &c->pending[tick % BILL_PENDING_TICKS];
	if (p->tick != tick && p->tick >= 0)
		return -1; /* its slot holds another open tick */
	p->tick = tick;
	p->busy_ns += busy_ns;
	if (p->busy_ns > BILL_TICK_NS)
		p->busy_ns = BILL_TICK_NS;
	return 0;
}

int64_t bill_advance(struct bill_gpu *g, int64_t now, struct bill_out *out)
{
	for (;;) {
		int64_t tc, tb, te;

		skip_empty(g, now);
		tc = close_time(g->next_tick);
		tb = window_end(g);
		te = tc < tb ? tc : tb;
		/* The rule, as of just before the next event (or now): in a
		 * late call, each event is judged with the shares of its own
		 * time, not those of now. */
		if (!evaluate(g, te <= now ? te - 1 : now, out))
			return now;
		if (te > now)
			return te;
		if (tb <= tc)
			new_window(g, tc < now ? tc : now);
		else
			close_tick(g);
	}
}

double bill_effective_pct(const struct bill_gpu *g, uint64_t id, int64_t now)
{
	long i = find(g, id);
	const struct bill_client *c;

	if (i < 0 || !g->clients[i].limit_pct)
		return 0.0;
	c = &g->clients[i];
	return 100.0 * c->limit_pct /
	       (double)share_den(g, c, active_sum(g, now), now);
}

const struct bill_client *bill_client_of(const struct bill_gpu *g, uint64_t id)
{
	long i = find(g, id);

	return i < 0 ? NULL : &g->clients[i];
}

int bill_throttled(const struct bill_gpu *g, uint64_t id)
{
	const struct bill_client *b = bill_client_of(g, id);

	return b && b->throttled;
}
