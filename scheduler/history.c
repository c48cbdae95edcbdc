/*
 * history.c - see history.h. Entries of a frame are contiguous in their
 * ring modulo its capacity; evicting the oldest frame frees its entries at
 * the ring's tail, so the used part of each ring is always one run from
 * the oldest frame's start.
 */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing.h"
#include "policy.h"

int history_init(struct history *h, size_t frames, size_t gpu_entries,
                 size_t client_entries, size_t names)
{
	memset(h, 0, sizeof(*h));
	h->frames_cap = frames ? frames : HISTORY_FRAMES;
	h->gents_cap = gpu_entries ? gpu_entries : HISTORY_GPU_ENTRIES;
	h->cents_cap = client_entries ? client_entries : HISTORY_CLIENT_ENTRIES;
	h->names_cap = names ? names : HISTORY_NAMES;
	h->frames = calloc(h->frames_cap, sizeof(*h->frames));
	h->gents = calloc(h->gents_cap, sizeof(*h->gents));
	h->cents = calloc(h->cents_cap, sizeof(*h->cents));
	h->names = calloc(h->names_cap, sizeof(*h->names));
	if (!h->frames || !h->gents || !h->cents || !h->names) {
		history_free(h);
		return -1;
	}
	return 0;
}

void history_free(struct history *h)
{
	free(h->frames);
	free(h->gents);
	free(h->cents);
	free(h->names);
	free(h->gin);
	free(h->cin);
	free(h->lab);
	memset(h, 0, sizeof(*h));
}

size_t history_frames(const struct history *h)
{
	return (size_t)(h->next_seq - h->first_seq);
}

static struct history_frame *frame_at(const struct history *h, uint64_t seq)
{
	return &h->frames[seq % h->frames_cap];
}

static void evict_oldest(struct history *h)
{
	struct history_frame *f = frame_at(h, h->first_seq);

	h->gents_used -= f->gcount;
	h->cents_used -= f->ccount;
	h->first_seq++;
}

/* Drops the labels of clients no kept frame has. */
static void prune_names(struct history *h)
{
	size_t k = 0;

	for (size_t i = 0; i < h->nnames; i++)
		if (h->names[i].last_seq >= h->first_seq)
			h->names[k++] = h->names[i];
	h->nnames = k;
}

static void note_name(struct history *h, uint64_t client, const char *label,
                      uint64_t seq)
{
	for (size_t i = 0; i < h->nnames; i++)
		if (h->names[i].client == client) {
			h->names[i].last_seq = seq;
			return;
		}
	if (h->nnames == h->names_cap)
		return; /* rendered as "client N" */
	h->names[h->nnames].client = client;
	h->names[h->nnames].last_seq = seq;
	snprintf(h->names[h->nnames].label, HISTORY_LABEL_SIZE, "%s",
	         label ? label : "");
	h->nnames++;
}

/* Index of uuid in the GPU table, added if new; -1 if the table is
 * full. */
static int uuid_index(struct history *h, const char *uuid)
{
	for (size_t i = 0; i < h->nuuids; i++)
		if (strncmp(h->uuids[i], uuid, NVS_UUID_SIZE) == 0)
			return (int)i;
	if (h->nuuids == HISTORY_GPUS)
		return -1;
	snprintf(h->uuids[h->nuuids], NVS_UUID_SIZE, "%s", uuid);
	return (int)h->nuuids++;
}

static uint8_t small(int v)
{
	return v < 0 || v > 255 ? 0 : (uint8_t)v;
}

void history_append(struct history *h, int64_t mono_ns, int64_t wall_ms,
                    const struct history_gpu_in *gpus, size_t ngpus,
                    const struct history_client_in *clients, size_t nclients)
{
	struct history_frame *f;
	size_t ng = 0, nc = 0;

	if (ngpus > h->gents_cap)
		ngpus = h->gents_cap;
	if (nclients > h->cents_cap)
		nclients = h->cents_cap;
	while (history_frames(h) && (history_frames(h) == h->frames_cap ||
	                             h->gents_used + ngpus > h->gents_cap ||
	                             h->cents_used + nclients > h->cents_cap))
		evict_oldest(h);
	f = frame_at(h, h->next_seq);
	f->mono_ns = mono_ns;
	f->wall_ms = wall_ms;
	/* The used runs start at the oldest frame; a new frame follows. */
	if (history_frames(h)) {
		const struct history_frame *last = frame_at(h, h->next_seq - 1);

		f->gstart = (last->gstart + last->gcount) % h->gents_cap;
		f->cstart = (last->cstart + last->ccount) % h->cents_cap;
	} else {
		f->gstart = f->cstart = 0;
	}
	for (size_t i = 0; i < ngpus; i++) {
		int u = uuid_index(h, gpus[i].uuid);
		struct history_gpu_entry *e;

		if (u < 0)
			continue;
		e = &h->gents[(f->gstart + ng++) % h->gents_cap];
		e->gpu = (uint16_t)u;
		memcpy(e->waiting, gpus[i].waiting, sizeof(e->waiting));
		e->capacity = gpus[i].capacity;
		e->resident = gpus[i].resident;
		e->swapped = gpus[i].swapped;
		e->swaps = gpus[i].swaps;
	}
	for (size_t i = 0; i < nclients; i++) {
		const struct history_client_in *in = &clients[i];
		int u = uuid_index(h, in->gpu);
		struct history_client_entry *e;

		if (u < 0)
			continue;
		e = &h->cents[(f->cstart + nc++) % h->cents_cap];
		e->client = in->client;
		e->gpu = (uint16_t)u;
		e->state = small(in->state);
		e->reason = small(in->reason);
		e->metered = in->metered ? 1 : 0;
		e->memory = in->memory;
		e->swapped = in->swapped;
		e->gpu_ns = in->gpu_ns;
		e->held_ns = in->held_ns;
	}
	f->gcount = ng;
	f->ccount = nc;
	h->gents_used += ng;
	h->cents_used += nc;
	h->next_seq++;
	prune_names(h);
	for (size_t i = 0; i < nclients; i++)
		note_name(h, clients[i].client, clients[i].label,
		          h->next_seq - 1);
}

/* --- from the registry ---------------------------------------------------- */

static void label_of(const struct sched_client *c, char *out, size_t n)
{
	char raw[HISTORY_LABEL_SIZE];

	if (c->pod_name[0])
		snprintf(raw, sizeof(raw), "%.*s/%.*s",
		         (int)sizeof(c->pod_namespace) - 1, c->pod_namespace,
		         (int)sizeof(c->pod_name) - 1, c->pod_name);
	else
		snprintf(raw, sizeof(raw), "%.*s", (int)sizeof(c->comm) - 1,
		         c->comm);
	snprintf(out, n, "%s", raw);
}

static void gpu_in(const struct sched_gpu *g, struct history_gpu_in *o)
{
	const struct policy_gpu *p = &g->policy;

	memset(o, 0, sizeof(*o));
	o->uuid = g->uuid;
	o->capacity = g->capacity_bytes;
	o->resident = policy_resident_bytes(p);
	for (size_t i = 0; i < p->nmembers; i++) {
		const struct policy_member *m = &p->members[i];

		if (!m->resident)
			o->swapped += m->footprint_bytes - m->pinned_bytes;
	}
	o->swaps = p->swaps;
	for (size_t i = 0; i < p->nqueue; i++) {
		enum policy_wait_reason w =
		    policy_wait_reason_of(p, p->queue[i].client);

		o->waiting[(unsigned)w < 4 ? (unsigned)w : 0]++;
	}
}

static void client_in(const struct sched_client *c,
                      const struct sched_client_gpu *e,
                      const struct metrics_counters *mc, int64_t now,
                      const char *label, struct history_client_in *o)
{
	const struct policy_gpu *p = &e->gpu->policy;
	const struct policy_member *m = policy_member_of(p, c->id);
	const struct bill_client *bc = bill_client_of(&e->gpu->bill, c->id);
	const struct metrics_client_gpu *x =
	    metrics_client_gpu_of(mc, c->id, e->gpu->uuid);
	int64_t since;

	memset(o, 0, sizeof(*o));
	o->client = c->id;
	o->gpu = e->gpu->uuid;
	o->label = label;
	o->state = (int)policy_state_of(p, c->id, &since);
	o->reason = o->state == POLICY_WAITING
	                ? (int)policy_wait_reason_of(p, c->id)
	                : POLICY_WAIT_NONE;
	o->metered = e->gpu->metered;
	if (m) {
		o->memory = m->footprint_bytes;
		o->swapped =
		    m->resident ? 0 : m->footprint_bytes - m->pinned_bytes;
	}
	o->gpu_ns = bc ? (int64_t)bc->billed_ns : 0;
	if (x) {
		o->held_ns = x->hold.sum_ns;
		if (o->state == POLICY_HOLDING && x->granted_at_ns &&
		    now > x->granted_at_ns)
			o->held_ns += now - x->granted_at_ns;
	}
}

int history_sample(struct history *h, const struct sched_registry *r,
                   const struct metrics_counters *mc, int64_t now,
                   int64_t wall_ms)
{
	size_t n = 0, need = 0;

	if (!h->gin) {
		h->gin = calloc(REGISTRY_MAX_GPUS, sizeof(*h->gin));
		if (!h->gin)
			return -1;
	}
	for (size_t i = 0; i < r->nclients; i++)
		need += r->clients[i]->ngpus;
	if (need > h->cin_cap) {
		size_t cap = need * 2;
		void *a = realloc(h->cin, cap * sizeof(*h->cin));

		if (!a)
			return -1;
		h->cin = a;
		a = realloc(h->lab, cap * sizeof(*h->lab));
		if (!a)
			return -1;
		h->lab = a;
		h->cin_cap = cap;
	}
	for (size_t i = 0; i < r->ngpus; i++)
		gpu_in(r->gpus[i], &h->gin[i]);
	for (size_t i = 0; i < r->nclients; i++) {
		const struct sched_client *c = r->clients[i];

		for (size_t k = 0; k < c->ngpus; k++, n++) {
			label_of(c, h->lab[n], sizeof(h->lab[n]));
			client_in(c, &c->gpus[k], mc, now, h->lab[n],
			          &h->cin[n]);
		}
	}
	history_append(h, now, wall_ms, h->gin, r->ngpus, h->cin, n);
	return 0;
}

/* --- copying ------------------------------------------------------------- */

/* Every field is written below: malloc, not calloc (the loop pays for
 * zeroing a megabyte otherwise). */
int history_copy(struct history *dst, const struct history *src)
{
	size_t nf = history_frames(src), g = 0, c = 0;

	memset(dst, 0, sizeof(*dst));
	dst->frames_cap = nf ? nf : 1;
	dst->gents_cap = src->gents_used ? src->gents_used : 1;
	dst->cents_cap = src->cents_used ? src->cents_used : 1;
	dst->names_cap = src->nnames ? src->nnames : 1;
	dst->frames = malloc(dst->frames_cap * sizeof(*dst->frames));
	dst->gents = malloc(dst->gents_cap * sizeof(*dst->gents));
	dst->cents = malloc(dst->cents_cap * sizeof(*dst->cents));
	dst->names = malloc(dst->names_cap * sizeof(*dst->names));
	if (!dst->frames || !dst->gents || !dst->cents || !dst->names) {
		history_free(dst);
		return -1;
	}
	memcpy(dst->uuids, src->uuids, sizeof(dst->uuids));
	dst->nuuids = src->nuuids;
	memcpy(dst->names, src->names, src->nnames * sizeof(*src->names));
	dst->nnames = src->nnames;
	dst->first_seq = src->first_seq;
	dst->next_seq = src->next_seq;
	dst->epoch_ms = src->epoch_ms;
	for (size_t i = 0; i < nf; i++) {
		const struct history_frame *f =
		    frame_at(src, src->first_seq + i);
		struct history_frame *o = frame_at(dst, src->first_seq + i);

		*o = *f;
		o->gstart = g;
		o->cstart = c;
		for (size_t k = 0; k < f->gcount; k++)
			dst->gents[g++] =
			    src->gents[(f->gstart + k) % src->gents_cap];
		for (size_t k = 0; k < f->ccount; k++)
			dst->cents[c++] =
			    src->cents[(f->cstart + k) % src->cents_cap];
	}
	dst->gents_used = g;
	dst->cents_used = c;
	return 0;
}

/* --- JSON ----------------------------------------------------------------- */

static const char *state_name(uint8_t s)
{
	switch (s) {
	case POLICY_HOLDING: return "\"holding\"";
	case POLICY_WAITING: return "\"waiting\"";
	default: return "\"idle\"";
	}
}

static const char *reason_name(uint8_t r)
{
	switch (r) {
	case POLICY_WAIT_TURN: return "\"turn\"";
	case POLICY_WAIT_MEMORY: return "\"memory\"";
	case POLICY_WAIT_HOST: return "\"host\"";
	default: return "null";
	}
}

enum gfield { GF_CAP, GF_RES, GF_SWAPPED, GF_SWAPS, GF_TURN, GF_MEM, GF_HOST };

/* Frames [lo, nf) are shown; lo0 (lo, or the frame before it) is the
 * first whose values count, for the figures per interval. */
struct range {
	size_t lo0, lo, nf;
};

static void gpu_series(const struct history *h, size_t u,
                       const struct history_gpu_entry **at,
                       const struct range *rg, int *first, struct status_buf *b)
{
	static const char *const names[] = {
	    "capacity_bytes", "resident_bytes", "swapped_bytes", "swaps",
	    "waiting_turn",   "waiting_memory", "waiting_host"};
	size_t nf = rg->nf, start = nf, end = 0;

	for (size_t i = rg->lo0; i < nf; i++) {
		const struct history_frame *f = frame_at(h, h->first_seq + i);

		at[i] = NULL;
		for (size_t k = 0; k < f->gcount; k++) {
			const struct history_gpu_entry *e =
			    &h->gents[(f->gstart + k) % h->gents_cap];

			if (e->gpu == u)
				at[i] = e;
		}
		if (at[i] && i >= rg->lo) {
			if (start == nf)
				start = i;
			end = i + 1;
		}
	}
	if (start == nf)
		return;
	status_buf_printf(b, "%s{\"uuid\":", *first ? "" : ",");
	*first = 0;
	status_json_string(b, h->uuids[u]);
	status_buf_printf(b, ",\"start\":%zu", start - rg->lo);
	for (int k = GF_CAP; k <= GF_HOST; k++) {
		status_buf_printf(b, ",\"%s\":[", names[k]);
		for (size_t i = start; i < end; i++) {
			const struct history_gpu_entry *e = at[i];
			const char *sep = i > start ? "," : "";
			unsigned long long v = 0;

			if (!e ||
			    (k == GF_SWAPS && (i == rg->lo0 || !at[i - 1]))) {
				status_buf_printf(b, "%snull", sep);
				continue;
			}
			switch (k) {
			case GF_CAP: v = e->capacity; break;
			case GF_RES: v = e->resident; break;
			case GF_SWAPPED: v = e->swapped; break;
			case GF_SWAPS: /* per interval */
				v = e->swaps >= at[i - 1]->swaps
				        ? e->swaps - at[i - 1]->swaps
				        : 0;
				break;
			case GF_TURN: v = e->waiting[POLICY_WAIT_TURN]; break;
			case GF_MEM: v = e->waiting[POLICY_WAIT_MEMORY]; break;
			case GF_HOST: v = e->waiting[POLICY_WAIT_HOST]; break;
			}
			status_buf_printf(b, "%s%llu", sep, v);
		}
		status_buf_printf(b, "]");
	}
	status_buf_printf(b, "}");
}

/* A client-GPU entry with the frame it is in, for sorting. */
struct placed {
	const struct history_client_entry *e;
	size_t frame;
};

static int by_series(const void *a, const void *b)
{
	const struct placed *x = a, *y = b;

	if (x->e->client != y->e->client)
		return x->e->client < y->e->client ? -1 : 1;
	if (x->e->gpu != y->e->gpu)
		return x->e->gpu < y->e->gpu ? -1 : 1;
	return x->frame < y->frame ? -1 : x->frame > y->frame;
}

static const char *label_for(const struct history *h, uint64_t client)
{
	for (size_t i = 0; i < h->nnames; i++)
		if (h->names[i].client == client)
			return h->names[i].label;
	return NULL;
}

/* Share of the GPU between frames i-1 and i, in percent, or -1. */
static double share_at(const struct history *h,
                       const struct history_client_entry **at, size_t i,
                       size_t lo0)
{
	const struct history_client_entry *e = at[i], *p;
	int64_t dt, d;
	double pct;

	if (i == lo0 || !e || !at[i - 1])
		return -1;
	p = at[i - 1];
	dt = frame_at(h, h->first_seq + i)->mono_ns -
	     frame_at(h, h->first_seq + i - 1)->mono_ns;
	if (dt <= 0)
		return -1;
	d = e->metered && p->metered ? e->gpu_ns - p->gpu_ns
	                             : e->held_ns - p->held_ns;
	pct = 100.0 * (double)d / (double)dt;
	return pct < 0 ? 0 : pct > 100 ? 100 : pct;
}

static void client_series(const struct history *h,
                          const struct history_client_entry **at, size_t start,
                          size_t end, const struct range *rg, int first,
                          struct status_buf *b)
{
	const struct history_client_entry *e0 = at[start];
	const char *label = label_for(h, e0->client);

	status_buf_printf(b, "%s{\"id\":%llu,\"gpu\":", first ? "" : ",",
	                  (unsigned long long)e0->client);
	status_json_string(b, h->uuids[e0->gpu]);
	status_buf_printf(b, ",\"label\":");
	if (label)
		status_json_string(b, label);
	else
		status_buf_printf(b, "\"client %llu\"",
		                  (unsigned long long)e0->client);
	status_buf_printf(b, ",\"start\":%zu", start - rg->lo);
	for (int k = 0; k < 5; k++) {
		static const char *const names[] = {
		    "memory_bytes", "swapped_bytes", "share_pct", "state",
		    "wait_reason"};

		status_buf_printf(b, ",\"%s\":[", names[k]);
		for (size_t i = start; i < end; i++) {
			const struct history_client_entry *e = at[i];
			const char *sep = i > start ? "," : "";
			double s;

			if (!e) {
				status_buf_printf(b, "%snull", sep);
				continue;
			}
			switch (k) {
			case 0:
				status_buf_printf(
				    b, "%s%llu", sep,
				    (unsigned long long)e->memory);
				break;
			case 1:
				status_buf_printf(
				    b, "%s%llu", sep,
				    (unsigned long long)e->swapped);
				break;
			case 2:
				s = share_at(h, at, i, rg->lo0);
				if (s < 0)
					status_buf_printf(b, "%snull", sep);
				else
					status_buf_printf(b, "%s%.1f", sep, s);
				break;
			case 3:
				status_buf_printf(b, "%s%s", sep,
				                  state_name(e->state));
				break;
			default:
				status_buf_printf(b, "%s%s", sep,
				                  e->state == POLICY_WAITING
				                      ? reason_name(e->reason)
				                      : "null");
			}
		}
		status_buf_printf(b, "]");
	}
	status_buf_printf(b, "}");
}

int history_render_json(const struct history *h, uint64_t from_seq,
                        struct status_buf *b)
{
	size_t nf = history_frames(h), n = 0;
	struct range rg = {0, 0, nf};
	int gfirst = 1, first = 1;
	const void **at = calloc(nf ? nf : 1, sizeof(*at));
	struct placed *all =
	    calloc(h->cents_used ? h->cents_used : 1, sizeof(*all));

	if (!at || !all) {
		free(at);
		free(all);
		b->failed = 1;
		return -1;
	}
	/* Past the end: a history from before a restart; all of it then. */
	if (from_seq > h->first_seq && from_seq <= h->next_seq)
		rg.lo = (size_t)(from_seq - h->first_seq);
	rg.lo0 = rg.lo ? rg.lo - 1 : 0;
	status_buf_printf(b,
	                  "{\"interval_ms\":1000,\"epoch\":%lld,\"first\":%llu,"
	                  "\"from\":%llu,\"next\":%llu,\"complete\":%s,"
	                  "\"frames\":%zu,\"t\":[",
	                  (long long)h->epoch_ms,
	                  (unsigned long long)h->first_seq,
	                  (unsigned long long)(h->first_seq + rg.lo),
	                  (unsigned long long)h->next_seq,
	                  rg.lo ? "false" : "true", nf - rg.lo);
	for (size_t i = rg.lo0; i < nf; i++) {
		const struct history_frame *f = frame_at(h, h->first_seq + i);

		if (i >= rg.lo)
			status_buf_printf(b, "%s%lld", i > rg.lo ? "," : "",
			                  (long long)f->wall_ms);
		for (size_t k = 0; k < f->ccount; k++) {
			all[n].e = &h->cents[(f->cstart + k) % h->cents_cap];
			all[n++].frame = i;
		}
	}
	status_buf_printf(b, "],\"gpus\":[");
	for (size_t u = 0; u < h->nuuids; u++)
		gpu_series(h, u, (const struct history_gpu_entry **)at, &rg,
		           &gfirst, b);
	for (size_t i = 0; i < nf; i++)
		at[i] = NULL;
	status_buf_printf(b, "],\"clients\":[");
	qsort(all, n, sizeof(*all), by_series);
	for (size_t i = 0; i < n;) {
		const struct history_client_entry **cat =
		    (const struct history_client_entry **)at;
		size_t j = i, start = all[i].frame;

		while (j < n && all[j].e->client == all[i].e->client &&
		       all[j].e->gpu == all[i].e->gpu) {
			cat[all[j].frame] = all[j].e;
			j++;
		}
		if (start < rg.lo)
			start = rg.lo;
		if (start <= all[j - 1].frame) {
			client_series(h, cat, start, all[j - 1].frame + 1, &rg,
			              first, b);
			first = 0;
		}
		for (size_t k = i; k < j; k++)
			cat[all[k].frame] = NULL;
		i = j;
	}
	status_buf_printf(b, "]}\n");
	free(at);
	free(all);
	return b->failed ? -1 : 0;
}
