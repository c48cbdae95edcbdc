/*
 * status.c - see status.h. Both renderings walk the same registry: the GPUs
 * (mode, slice in effect, running set, queue, memory, counters), then the
 * clients with one entry per GPU they registered. Strings that came from
 * clients are escaped for JSON and made printable for the table, so a hostile
 * program name cannot break either.
 */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube_watch.h"
#include "parse.h"

/* Pods with a refused annotation listed in the report's head. */
#define STATUS_REFUSED_PODS_MAX 16

void status_buf_free(struct status_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int buf_reserve(struct status_buf *b, size_t more)
{
	size_t ncap;
	char *p;

	if (b->failed)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 4096;
	while (ncap < b->len + more + 1)
		ncap *= 2;
	p = realloc(b->p, ncap);
	if (!p) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->cap = ncap;
	return 0;
}

void status_buf_printf(struct status_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	/* Straight into the room left; measured first only when it does
	 * not fit (halves the web page's status render on the loop). */
	if (b->cap > b->len) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->p[b->len] = '\0';
	}
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void buf_putc(struct status_buf *b, char ch)
{
	if (buf_reserve(b, 1))
		return;
	b->p[b->len++] = ch;
	b->p[b->len] = '\0';
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static int utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	int n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* Second-byte ranges that rule out overlongs and surrogates. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static void buf_put(struct status_buf *b, const void *s, size_t n)
{
	if (buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Bytes a JSON string takes as they are: printable ASCII but the quote
 * and the backslash. */
static int json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Plain runs are copied whole and escapes written by hand: a report of
 * many clients is mostly strings, and a byte at a time through printf
 * was most of its cost. */
void status_json_string(struct status_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	buf_putc(b, '"');
	while (*p) {
		size_t run = 0;
		int n;

		while (json_plain(p[run]))
			run++;
		if (run) {
			buf_put(b, p, run);
			p += run;
			continue;
		}
		n = utf8_seq_len(p);
		if (n == 0) {
			buf_put(b, "\\ufffd", 6);
			p++;
		} else if (*p == '"' || *p == '\\') {
			char e[2] = {'\\', (char)*p++};
			buf_put(b, e, sizeof(e));
		} else if (*p < 0x20 || *p == 0x7f) {
			char e[6] = {'\\', 'u',          '0',
			             '0',  hex[*p >> 4], hex[*p & 15]};
			buf_put(b, e, sizeof(e));
			p++;
		} else {
			buf_put(b, p, (size_t)n);
			p += n;
		}
	}
	buf_putc(b, '"');
}

static long long ms_since(int64_t now, int64_t since)
{
	return now > since ? (long long)((now - since) / 1000000) : 0;
}

static const struct policy_holder *holder_of(const struct sched_gpu *g)
{
	return g->policy.nrunning ? &g->policy.running[0] : NULL;
}

/* Why the slice in effect has its length: "fixed", "auto: 5 x 0.42 s
 * swap", "auto: floor 1 s", "max-run". */
static void slice_reason(const struct policy_slice *sl, char *buf, size_t len)
{
	switch (sl->why) {
	case POLICY_SLICE_FIXED: snprintf(buf, len, "fixed"); return;
	case POLICY_SLICE_AUTO_SWAP:
		snprintf(buf, len, "auto: %d x %.2f s swap",
		         POLICY_AUTO_SLICE_FACTOR, (double)sl->swap_ns / 1e9);
		return;
	case POLICY_SLICE_AUTO_FLOOR:
		snprintf(buf, len, "auto: floor %g s",
		         (double)POLICY_AUTO_SLICE_FLOOR_NS / 1e9);
		return;
	case POLICY_SLICE_MAX_RUN: snprintf(buf, len, "max-run"); return;
	}
	snprintf(buf, len, "unknown");
}

/* Bytes per ns as bytes per second. */
static unsigned long long bps(double bytes_per_ns)
{
	return (unsigned long long)(bytes_per_ns * 1e9 + 0.5);
}

static void json_gpu(const struct sched_gpu *g, int64_t now,
                     struct status_buf *b)
{
	const struct policy_gpu *p = &g->policy;
	const struct policy_holder *h = holder_of(g);
	struct policy_slice sl;
	char why[64];

	status_buf_printf(b, "{\"uuid\":");
	status_json_string(b, g->uuid);
	status_buf_printf(b, ",\"capacity_bytes\":%llu,\"holder\":",
	                  (unsigned long long)g->capacity_bytes);
	if (h)
		status_buf_printf(b, "%llu", (unsigned long long)h->client);
	else
		status_buf_printf(b, "null");
	status_buf_printf(b, ",\"holder_held_ms\":%lld,\"queue\":[",
	                  h ? ms_since(now, h->granted_at_ns) : 0);
	for (size_t i = 0; i < p->nqueue; i++)
		status_buf_printf(b, "%s%llu", i ? "," : "",
		                  (unsigned long long)p->queue[i].client);
	status_buf_printf(b, "],\"forced_releases\":%llu,\"lock_grants\":%llu",
	                  (unsigned long long)p->forced_releases,
	                  (unsigned long long)p->lock_grants);
	status_buf_printf(b, ",\"metered\":%s,\"core_window_ms\":%lld",
	                  g->metered ? "true" : "false",
	                  (long long)(g->bill.window_ns / 1000000));
	policy_slice_of(p, &sl);
	slice_reason(&sl, why, sizeof(why));
	status_buf_printf(b,
	                  ",\"mode\":\"%s\",\"time_slice_ms\":%lld,"
	                  "\"time_slice_reason\":",
	                  policy_mode_name(p->mode),
	                  (long long)(sl.ns / 1000000));
	status_json_string(b, why);
	if (p->slice_ns == POLICY_SLICE_AUTO)
		status_buf_printf(b, ",\"time_slice_setting\":\"auto\"");
	else
		status_buf_printf(b, ",\"time_slice_setting\":%lld",
		                  (long long)(p->slice_ns / 1000000));
	status_buf_printf(b,
	                  ",\"max_run_ms\":%lld,\"resident_bytes\":%llu,"
	                  "\"running\":[",
	                  (long long)(p->max_run_ns / 1000000),
	                  (unsigned long long)policy_resident_bytes(p));
	for (size_t i = 0; i < p->nrunning; i++)
		status_buf_printf(b, "%s%llu", i ? "," : "",
		                  (unsigned long long)p->running[i].client);
	status_buf_printf(b,
	                  "],\"swap_bw_out_bps\":%llu,\"swap_bw_in_bps\":%llu,"
	                  "\"swaps\":%llu,\"evictions\":%llu,"
	                  "\"evict_timeouts\":%llu}",
	                  bps(p->bw_out), bps(p->bw_in),
	                  (unsigned long long)p->swaps,
	                  (unsigned long long)p->evictions,
	                  (unsigned long long)p->evict_timeouts);
}

static const char *state_name(enum policy_state st)
{
	switch (st) {
	case POLICY_HOLDING: return "holding";
	case POLICY_WAITING: return "waiting";
	case POLICY_IDLE: break;
	}
	return "idle";
}

/* The client's memory on a GPU: footprint, and how much of it is on the
 * GPU or on the host. */
struct mem_view {
	uint64_t footprint; /* allocations (MEM_UPDATE) */
	uint64_t resident;  /* of which on the GPU */
	uint64_t swapped;   /* of which on the host */
	uint64_t granted;   /* what it may back on the GPU */
	uint64_t pinned;    /* what no swap can move */
	int growing;        /* runs, and waits for room to grow */
	int64_t grow_since; /* since when (if growing) */
	uint64_t swap_outs; /* swap-outs reported */
	uint64_t swap_ins;  /* swap-ins reported */
};

static void mem_view_of(const struct sched_client *c,
                        const struct sched_client_gpu *e, struct mem_view *v)
{
	const struct policy_member *m =
	    policy_member_of(&e->gpu->policy, c->id);

	memset(v, 0, sizeof(*v));
	if (!m)
		return;
	v->footprint = m->footprint_bytes;
	v->resident = policy_occupied_bytes(m);
	v->swapped = m->resident ? 0 : m->footprint_bytes - m->pinned_bytes;
	v->granted = m->granted_bytes;
	v->pinned = m->pinned_bytes;
	v->growing = policy_growing(&e->gpu->policy, m);
	v->grow_since = m->grow_since_ns;
	v->swap_outs = m->swap_outs;
	v->swap_ins = m->swap_ins;
}

/* Uses more than its (lowered) memory limit: new allocations fail until
 * use falls below it. */
static int over_limit(const struct sched_client *c, const struct mem_view *v)
{
	return c->limits.memory_bytes && v->footprint > c->limits.memory_bytes;
}

/* Compute quota on a GPU: the share in force (after scaling), GPU time
 * billed, whether paused now (a limited client without a billing entry
 * is held paused: compute.c), whether it has an entry. */
static void json_compute(const struct sched_client *c,
                         const struct sched_client_gpu *e, int64_t now,
                         struct status_buf *b)
{
	const struct bill_client *bc = bill_client_of(&e->gpu->bill, c->id);
	int paused = e->unbilled ? c->limits.core_pct != 0
	                         : bill_throttled(&e->gpu->bill, c->id);

	status_buf_printf(
	    b,
	    ",\"core_share_pct\":%.2f,\"billed_gpu_ms\":%.1f,"
	    "\"throttled\":%s,\"throttles\":%llu,\"billed\":%s",
	    bill_effective_pct(&e->gpu->bill, c->id, now),
	    bc ? (double)bc->billed_ns / 1e6 : 0.0, paused ? "true" : "false",
	    (unsigned long long)e->throttles, e->unbilled ? "false" : "true");
}

static void json_client_gpu(const struct sched_client *c,
                            const struct sched_client_gpu *e, int64_t now,
                            struct status_buf *b)
{
	int64_t since;
	enum policy_state st = policy_state_of(&e->gpu->policy, c->id, &since);
	enum policy_wait_reason why =
	    policy_wait_reason_of(&e->gpu->policy, c->id);
	struct mem_view v;

	mem_view_of(c, e, &v);
	status_buf_printf(b, "{\"uuid\":");
	status_json_string(b, e->gpu->uuid);
	status_buf_printf(
	    b,
	    ",\"state\":\"%s\",\"held_ms\":%lld,\"memory_bytes\":%llu,"
	    "\"lock_grants\":%llu,\"wait_ms\":%lld,\"resident_bytes\":%llu,"
	    "\"swapped_bytes\":%llu,\"wait_reason\":",
	    state_name(st), st == POLICY_HOLDING ? ms_since(now, since) : 0,
	    (unsigned long long)v.footprint, (unsigned long long)e->lock_grants,
	    st == POLICY_WAITING ? ms_since(now, since) : 0,
	    (unsigned long long)v.resident, (unsigned long long)v.swapped);
	if (why == POLICY_WAIT_NONE)
		status_buf_printf(b, "null");
	else
		status_buf_printf(b, "\"%s\"", policy_wait_reason_name(why));
	status_buf_printf(
	    b,
	    ",\"swap_outs\":%llu,\"swap_ins\":%llu,"
	    "\"over_memory_limit\":%s,\"granted_bytes\":%llu,"
	    "\"pinned_bytes\":%llu,\"growing\":%s,"
	    "\"grow_wait_ms\":%lld,\"unmanaged\":%s",
	    (unsigned long long)v.swap_outs, (unsigned long long)v.swap_ins,
	    over_limit(c, &v) ? "true" : "false", (unsigned long long)v.granted,
	    (unsigned long long)v.pinned, v.growing ? "true" : "false",
	    v.growing ? ms_since(now, v.grow_since) : 0,
	    c->refused ? "true" : "false");
	json_compute(c, e, now, b);
	buf_putc(b, '}');
}

/* The refused annotations of pod e (NULL: none), as JSON objects. */
static void json_refusals(const struct pod_entry *e, struct status_buf *b)
{
	const struct pod_annotation_state *st[2];
	const char *name[2] = {KUBE_ANNOTATION_MEMORY, KUBE_ANNOTATION_CORE};
	int n = 0;

	if (!e)
		return;
	st[0] = &e->memory;
	st[1] = &e->core;
	for (int i = 0; i < 2; i++) {
		if (!st[i]->refused)
			continue;
		status_buf_printf(b, "%s{\"annotation\":\"%s\",\"value\":",
		                  n++ ? "," : "", name[i]);
		if (st[i]->seen.too_long)
			status_buf_printf(b, "null");
		else
			status_json_string(b, st[i]->seen.value);
		status_buf_printf(b, ",\"reason\":");
		status_json_string(b, st[i]->reason);
		buf_putc(b, '}');
	}
}

static void json_client(const struct sched_registry *r,
                        const struct sched_client *c, int64_t now,
                        struct status_buf *b)
{
	status_buf_printf(b, "{\"id\":%llu,\"pid\":%d,\"uid\":%u,\"comm\":",
	                  (unsigned long long)c->id, (int)c->pid,
	                  (unsigned)c->uid);
	status_json_string(b, c->comm);
	status_buf_printf(b, ",\"pod_namespace\":");
	status_json_string(b, c->pod_namespace);
	status_buf_printf(b, ",\"pod_name\":");
	status_json_string(b, c->pod_name);
	status_buf_printf(b, ",\"container\":");
	status_json_string(b, c->container);
	/* The kernel's pod UID; the declared pod is unverified unless it
	 * confirms it (peer_identity.h). */
	if (c->pod_uid[0]) {
		status_buf_printf(b, ",\"pod_uid\":");
		status_json_string(b, c->pod_uid);
	} else {
		status_buf_printf(b, ",\"pod_uid\":null");
	}
	status_buf_printf(b, ",\"pod_verified\":%s",
	                  c->pod_verified ? "true" : "false");
	if (c->claimed_name[0]) {
		/* What it declared against the kernel's word: ignored. */
		status_buf_printf(b, ",\"pod_claimed\":{\"namespace\":");
		status_json_string(b, c->claimed_namespace);
		status_buf_printf(b, ",\"name\":");
		status_json_string(b, c->claimed_name);
		buf_putc(b, '}');
	} else {
		status_buf_printf(b, ",\"pod_claimed\":null");
	}
	if (c->limits.memory_bytes)
		status_buf_printf(b,
		                  ",\"memory_limit_bytes\":%llu,"
		                  "\"memory_limit_source\":\"%s\","
		                  "\"memory_limit_pod_shared\":%s",
		                  (unsigned long long)c->limits.memory_bytes,
		                  quota_origin_name(c->memory_origin),
		                  c->pod_memory_shared ? "true" : "false");
	else
		status_buf_printf(b, ",\"memory_limit_bytes\":null,"
		                     "\"memory_limit_source\":null,"
		                     "\"memory_limit_pod_shared\":false");
	if (c->limits.core_pct)
		status_buf_printf(b,
		                  ",\"core_limit_pct\":%u,"
		                  "\"core_limit_source\":\"%s\"",
		                  c->limits.core_pct,
		                  quota_origin_name(c->core_origin));
	else
		status_buf_printf(b, ",\"core_limit_pct\":null,"
		                     "\"core_limit_source\":null");
	status_buf_printf(b, ",\"annotations_refused\":[");
	json_refusals(pod_table_find(&r->kube_pods, c->pod_uid), b);
	buf_putc(b, ']');
	status_buf_printf(b, ",\"gpus\":[");
	for (size_t i = 0; i < c->ngpus; i++) {
		if (i)
			buf_putc(b, ',');
		json_client_gpu(c, &c->gpus[i], now, b);
	}
	status_buf_printf(b, "]}");
}

/* Index of the first client with an id above after (clients are kept in
 * id order). */
static size_t first_after(const struct sched_registry *r, uint64_t after)
{
	size_t lo = 0, hi = r->nclients;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->clients[mid]->id <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Cuts b back to len bytes (a client that did not fit the page). */
static void buf_truncate(struct status_buf *b, size_t len)
{
	if (b->failed || len >= b->len)
		return;
	b->len = len;
	b->p[len] = '\0';
}

/* Pods of the node with a refused annotation, at most
 * STATUS_REFUSED_PODS_MAX of them (a pod's own clients show theirs in
 * full), whether or not a process of theirs is connected. */
static void json_head_refusals(const struct sched_registry *r,
                               struct status_buf *b)
{
	size_t shown = 0;

	for (size_t i = 0; i < r->kube_pods.n; i++) {
		const struct pod_entry *e = &r->kube_pods.pods[i];

		if (!e->memory.refused && !e->core.refused)
			continue;
		if (shown++ == STATUS_REFUSED_PODS_MAX)
			break;
		status_buf_printf(
		    b, "%s{\"pod_namespace\":", shown > 1 ? "," : "");
		status_json_string(b, e->pod_namespace);
		status_buf_printf(b, ",\"pod_name\":");
		status_json_string(b, e->pod_name);
		status_buf_printf(b, ",\"pod_uid\":");
		status_json_string(b, e->uid);
		status_buf_printf(b, ",\"refused\":[");
		json_refusals(e, b);
		status_buf_printf(b, "]}");
	}
}

static status_kube_fn kube_source;
static const void *kube_source_ctx;

void status_set_kube_source(status_kube_fn fn, const void *ctx)
{
	kube_source = fn;
	kube_source_ctx = ctx;
}

/* A string field, null when empty. */
static void json_string_or_null(struct status_buf *b, const char *s)
{
	if (s[0])
		status_json_string(b, s);
	else
		status_buf_printf(b, "null");
}

static void json_kube(struct status_buf *b)
{
	struct kube_watch_stats st;

	kube_source(kube_source_ctx, &st);
	status_buf_printf(
	    b,
	    ",\"kubernetes\":{\"synced\":%s,\"connected\":%s,\"lists\":%llu,"
	    "\"watch_restarts\":%llu,\"gone\":%llu,\"errors\":%llu,"
	    "\"events_posted\":%llu,\"events_dropped\":%llu,"
	    "\"resource_version\":",
	    st.synced ? "true" : "false", st.connected ? "true" : "false",
	    (unsigned long long)st.lists, (unsigned long long)st.watch_restarts,
	    (unsigned long long)st.gone, (unsigned long long)st.errors,
	    (unsigned long long)st.events_posted,
	    (unsigned long long)st.events_dropped);
	json_string_or_null(b, st.resource_version);
	status_buf_printf(b, ",\"last_error\":");
	json_string_or_null(b, st.last_error);
	buf_putc(b, '}');
}

static void json_head(const struct sched_registry *r, int64_t now,
                      struct status_buf *b)
{
	status_buf_printf(b,
	                  "{\"managed\":%s,\"time_slice_ms\":%u,"
	                  "\"release_grace_ms\":%u,\"forced_releases\":%llu,"
	                  "\"mode\":\"%s\",\"time_slice_setting\":",
	                  r->managed ? "true" : "false", r->time_slice_ms,
	                  r->release_grace_ms,
	                  (unsigned long long)r->forced_releases,
	                  policy_mode_name(r->mode));
	if (r->time_slice_ms == REGISTRY_SLICE_AUTO)
		status_buf_printf(b, "\"auto\"");
	else
		status_buf_printf(b, "%u", r->time_slice_ms);
	status_buf_printf(
	    b, ",\"max_run_ms\":%u,\"host_swap_budget_bytes\":", r->max_run_ms);
	if (r->host_swap_budget)
		status_buf_printf(b, "%llu",
		                  (unsigned long long)r->host_swap_budget);
	else
		status_buf_printf(b, "null");
	status_buf_printf(b, ",\"host_swapped_bytes\":%llu",
	                  (unsigned long long)registry_host_bytes(r));
	if (kube_source)
		json_kube(b);
	status_buf_printf(b, ",\"gpus\":[");
	for (size_t i = 0; i < r->ngpus; i++) {
		if (i)
			buf_putc(b, ',');
		json_gpu(r->gpus[i], now, b);
	}
	status_buf_printf(b, "],\"annotations_refused\":[");
	json_head_refusals(r, b);
	status_buf_printf(b, "],\"clients\":[");
}

/* The end of the JSON report, kept free in every page's budget. */
#define JSON_TAIL "]}\n"

int status_render_json_page(const struct sched_registry *r, int64_t now,
                            uint64_t after, size_t budget, struct status_buf *b,
                            uint64_t *next)
{
	size_t start = b->len, shown = 0, i;

	*next = 0;
	if (after == 0)
		json_head(r, now, b);
	for (i = first_after(r, after); i < r->nclients; i++) {
		size_t mark = b->len;

		/* A later page continues a list that has an entry already. */
		if (shown || after)
			buf_putc(b, ',');
		json_client(r, r->clients[i], now, b);
		if (shown && b->len - start + sizeof(JSON_TAIL) - 1 > budget) {
			buf_truncate(b, mark);
			*next = r->clients[i - 1]->id;
			return b->failed ? -1 : 0;
		}
		shown++;
	}
	status_buf_printf(b, JSON_TAIL);
	return b->failed ? -1 : 0;
}

int status_render_json(const struct sched_registry *r, int64_t now,
                       struct status_buf *b)
{
	uint64_t next;

	return status_render_json_page(r, now, 0, SIZE_MAX, b, &next);
}

static void text_gpu(const struct sched_gpu *g, int64_t now,
                     struct status_buf *b)
{
	const struct policy_gpu *p = &g->policy;
	const struct policy_holder *h = holder_of(g);
	char cap[32], res[32], why[64];
	struct policy_slice sl;

	nvs_format_size(g->capacity_bytes, cap, sizeof(cap));
	nvs_format_size(policy_resident_bytes(p), res, sizeof(res));
	policy_slice_of(p, &sl);
	slice_reason(&sl, why, sizeof(why));
	status_buf_printf(b,
	                  "\nGPU %s  capacity %s  clients %u  grants %llu  "
	                  "forced releases %llu\n",
	                  g->uuid, cap, g->nclients,
	                  (unsigned long long)p->lock_grants,
	                  (unsigned long long)p->forced_releases);
	status_buf_printf(b,
	                  "  mode %s  time slice %lld ms (%s)  max run %lld "
	                  "ms\n",
	                  policy_mode_name(p->mode),
	                  (long long)(sl.ns / 1000000), why,
	                  (long long)(p->max_run_ns / 1000000));
	status_buf_printf(b,
	                  "  memory: %s resident  swaps %llu  evictions %llu  "
	                  "swap bandwidth out %.1f GB/s, in %.1f GB/s\n",
	                  res, (unsigned long long)p->swaps,
	                  (unsigned long long)p->evictions, p->bw_out,
	                  p->bw_in);
	if (h)
		status_buf_printf(b, "  holder: client %llu, held %lld ms%s\n",
		                  (unsigned long long)h->client,
		                  ms_since(now, h->granted_at_ns),
		                  h->drop_sent_at_ns != POLICY_NEVER
		                      ? " (asked to release)"
		                      : "");
	else
		status_buf_printf(b, "  holder: none\n");
	status_buf_printf(b, "  running: %s", p->nrunning ? "" : "none");
	for (size_t i = 0; i < p->nrunning; i++)
		status_buf_printf(b, "%sclient %llu", i ? ", " : "",
		                  (unsigned long long)p->running[i].client);
	status_buf_printf(b, "\n  queue: %s", p->nqueue ? "" : "empty");
	for (size_t i = 0; i < p->nqueue; i++) {
		const struct policy_waiter *w = &p->queue[i];
		status_buf_printf(b, "%sclient %llu (waiting %lld ms, %s)",
		                  i ? ", " : "", (unsigned long long)w->client,
		                  ms_since(now, w->since_ns),
		                  policy_wait_reason_name(
		                      policy_wait_reason_of(p, w->client)));
	}
	buf_putc(b, '\n');
}

/* A limit not from the process's environment says where it came from:
 * "a" its pod's annotation, "p" nvsharectl --pod, "c" nvsharectl
 * --client (docs/scheduler.md, "Status"). */
static void origin_mark(uint64_t limit, enum quota_origin o, char *buf,
                        size_t len)
{
	static const char mark[] = {[QUOTA_FROM_OWN] = 0,
	                            [QUOTA_FROM_ANNOTATION] = 'a',
	                            [QUOTA_FROM_POD_CTL] = 'p',
	                            [QUOTA_FROM_CLIENT_CTL] = 'c'};
	size_t n = strlen(buf);

	if (limit && mark[o] && n + 3 <= len)
		snprintf(buf + n, len - n, " %c", mark[o]);
}

static void text_client_row(const struct sched_client *c,
                            const struct sched_client_gpu *e, int64_t now,
                            struct status_buf *b)
{
	char comm[sizeof(c->comm)],
	    pod[sizeof(c->pod_namespace) + sizeof(c->pod_name) + 1];
	char mem[32] = "-", resident[32] = "-", podraw[sizeof(pod)];
	char mlimit[40], core[32];
	const char *uuid = "-", *state = "-", *why = "-";
	long long held = 0, wait = 0, grants = 0;

	registry_printable(c->comm, comm, sizeof(comm));
	if (c->pod_name[0])
		snprintf(podraw, sizeof(podraw), "%s/%s%s", c->pod_namespace,
		         c->pod_name, c->pod_verified ? "" : "?");
	else
		podraw[0] = '\0';
	registry_printable(podraw, pod, sizeof(pod));
	quota_limit_text(NVS_CTL_KEY_MEMORY_LIMIT, c->limits.memory_bytes, "-",
	                 mlimit, sizeof(mlimit));
	quota_limit_text(NVS_CTL_KEY_CORE_LIMIT, c->limits.core_pct, "-", core,
	                 sizeof(core));
	if (e) {
		int64_t since;
		enum policy_state st =
		    policy_state_of(&e->gpu->policy, c->id, &since);
		enum policy_wait_reason r =
		    policy_wait_reason_of(&e->gpu->policy, c->id);
		struct mem_view v;

		mem_view_of(c, e, &v);
		uuid = e->gpu->uuid;
		state = c->refused ? "unmanaged" : state_name(st);
		held = st == POLICY_HOLDING ? ms_since(now, since) : 0;
		wait = st == POLICY_WAITING ? ms_since(now, since) : 0;
		grants = (long long)e->lock_grants;
		nvs_format_size(v.footprint, mem, sizeof(mem));
		nvs_format_size(v.resident, resident, sizeof(resident));
		if (r != POLICY_WAIT_NONE)
			why = policy_wait_reason_name(r);
		else if (v.growing)
			why = "grow";
		if (over_limit(c, &v))
			snprintf(mlimit + strlen(mlimit),
			         sizeof(mlimit) - strlen(mlimit), "!");
		/* Paused by its compute quota now. */
		if (c->limits.core_pct && bill_throttled(&e->gpu->bill, c->id))
			snprintf(core + strlen(core),
			         sizeof(core) - strlen(core), "~");
	}
	origin_mark(c->limits.memory_bytes, c->memory_origin, mlimit,
	            sizeof(mlimit));
	origin_mark(c->limits.core_pct, c->core_origin, core, sizeof(core));
	status_buf_printf(b,
	                  "%-6llu %-8d %-6u %-15s %-24s %-40s %-8s %-6s %8lld "
	                  "%8lld %11s %11s %7lld %11s %5s\n",
	                  (unsigned long long)c->id, (int)c->pid,
	                  (unsigned)c->uid, comm, pod, uuid, state, why, held,
	                  wait, mem, resident, grants, mlimit, core);
}

static void text_client_rows(const struct sched_client *c, int64_t now,
                             struct status_buf *b)
{
	if (c->ngpus == 0)
		text_client_row(c, NULL, now, b);
	for (size_t k = 0; k < c->ngpus; k++)
		text_client_row(c, &c->gpus[k], now, b);
}

/* One line per refused annotation (STATUS_REFUSED_PODS_MAX pods). */
static void text_refusals(const struct sched_registry *r, struct status_buf *b)
{
	size_t shown = 0;

	for (size_t i = 0; i < r->kube_pods.n; i++) {
		const struct pod_entry *e = &r->kube_pods.pods[i];
		const struct pod_annotation_state *st[2] = {&e->memory,
		                                            &e->core};
		const char *name[2] = {KUBE_ANNOTATION_MEMORY,
		                       KUBE_ANNOTATION_CORE};
		char ns[NVS_POD_NAMESPACE_SIZE], pod[NVS_POD_NAME_SIZE];
		char val[KUBE_ANNOTATION_SIZE];

		if (!e->memory.refused && !e->core.refused)
			continue;
		if (shown++ == STATUS_REFUSED_PODS_MAX) {
			status_buf_printf(b, "  (more pods with refused "
			                     "annotations)\n");
			break;
		}
		if (shown == 1)
			buf_putc(b, '\n');
		registry_printable(e->pod_namespace, ns, sizeof(ns));
		registry_printable(e->pod_name, pod, sizeof(pod));
		for (int k = 0; k < 2; k++)
			if (st[k]->refused)
				status_buf_printf(
				    b,
				    "pod %s/%s: %s=%s refused (%s); the last "
				    "valid value stays\n",
				    ns, pod, name[k],
				    st[k]->seen.too_long
				        ? "(too long)"
				        : registry_printable(st[k]->seen.value,
				                             val, sizeof(val)),
				    st[k]->reason);
	}
}

static void text_kube(struct status_buf *b)
{
	struct kube_watch_stats st;
	char rv[sizeof(st.resource_version)], err[sizeof(st.last_error)];

	kube_source(kube_source_ctx, &st);
	registry_printable(st.resource_version, rv, sizeof(rv));
	/* The error is prose: spaces stay, other bytes are made safe. */
	snprintf(err, sizeof(err), "%s",
	         st.last_error[0] ? st.last_error : "-");
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	status_buf_printf(
	    b,
	    "kubernetes: %s, %s   lists: %llu   watch restarts: "
	    "%llu   gone: %llu   errors: %llu   events posted: "
	    "%llu, dropped: %llu   resource version: %s   last "
	    "error: %s\n",
	    st.synced ? "synced" : "not synced",
	    st.connected ? "watching" : "not watching",
	    (unsigned long long)st.lists, (unsigned long long)st.watch_restarts,
	    (unsigned long long)st.gone, (unsigned long long)st.errors,
	    (unsigned long long)st.events_posted,
	    (unsigned long long)st.events_dropped, rv, err);
}

/* Settings, GPUs and the table's heading: the text report's first page. */
static void text_head(const struct sched_registry *r, int64_t now,
                      struct status_buf *b)
{
	char slice[32];

	if (r->time_slice_ms == REGISTRY_SLICE_AUTO)
		snprintf(slice, sizeof(slice), "auto");
	else
		snprintf(slice, sizeof(slice), "%u ms", r->time_slice_ms);
	status_buf_printf(
	    b,
	    "scheduling: %s   mode: %s   time slice: %s   max run: "
	    "%u ms   release grace: %u ms   forced releases: %llu "
	    "  clients: %zu\n",
	    r->managed ? "on" : "off (clients run ungated)",
	    policy_mode_name(r->mode), slice, r->max_run_ms,
	    r->release_grace_ms, (unsigned long long)r->forced_releases,
	    r->nclients);
	if (kube_source)
		text_kube(b);
	if (r->ngpus == 0)
		status_buf_printf(b, "\nno GPUs registered\n");
	for (size_t i = 0; i < r->ngpus; i++)
		text_gpu(r->gpus[i], now, b);
	text_refusals(r, b);
	if (r->nclients == 0) {
		status_buf_printf(b, "\nno clients connected\n");
		return;
	}
	status_buf_printf(
	    b,
	    "\n%-6s %-8s %-6s %-15s %-24s %-40s %-8s %-6s %8s %8s "
	    "%11s %11s %7s %11s %5s\n",
	    "CLIENT", "PID", "UID", "COMM", "POD", "GPU", "STATE", "WAIT",
	    "HELD_MS", "WAIT_MS", "MEMORY", "RESIDENT", "GRANTS", "MEM_LIMIT",
	    "CORE");
}

int status_render_text_page(const struct sched_registry *r, int64_t now,
                            uint64_t after, size_t budget, struct status_buf *b,
                            uint64_t *next)
{
	size_t start = b->len, shown = 0;

	*next = 0;
	if (after == 0)
		text_head(r, now, b);
	for (size_t i = first_after(r, after); i < r->nclients; i++) {
		size_t mark = b->len;

		text_client_rows(r->clients[i], now, b);
		if (shown && b->len - start > budget) {
			buf_truncate(b, mark);
			*next = r->clients[i - 1]->id;
			break;
		}
		shown++;
	}
	return b->failed ? -1 : 0;
}

int status_render_text(const struct sched_registry *r, int64_t now,
                       struct status_buf *b)
{
	uint64_t next;

	return status_render_text_page(r, now, 0, SIZE_MAX, b, &next);
}
