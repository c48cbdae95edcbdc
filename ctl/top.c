/*
 * top.c - see top.h. Each refresh: fetch the JSON report page by page,
 * parse it with jansson, render a frame into memory (so the screen is
 * redrawn in one write), keep the report to compute the next frame's
 * shares from the GPU time billed in between.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* open_memstream */
#endif
#include "top.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"
#include "proto.h"
#include "sock.h"
#include "status_page.h"

#define TOP_REPLY_TIMEOUT_MS 10000
#define TOP_DOC_MAX (64u << 20) /* a report larger than this is refused */
#define TOP_BAR_MIN 20
#define TOP_BAR_MAX 60

/* --- fetching ------------------------------------------------------------- */

static int fetch_page(const char *socket, struct nvs_ctl_status *req,
                      struct nvs_msg *reply)
{
	char err[160] = "";
	enum nvs_read_status st;
	int fd = nvs_socket_connect(socket);

	if (fd < 0) {
		fprintf(stderr,
		        "nvsharectl: cannot reach the scheduler at %s: %s\n",
		        socket, strerror(errno));
		return -1;
	}
	if (nvs_msg_send(fd, NVS_MSG_CTL_STATUS, req, sizeof(*req)) < 0) {
		fprintf(stderr, "nvsharectl: cannot send to %s: %s\n", socket,
		        strerror(errno));
		close(fd);
		return -1;
	}
	st = nvs_msg_recv(fd, reply, TOP_REPLY_TIMEOUT_MS, err, sizeof(err));
	close(fd);
	if (st != NVS_READ_MSG) {
		fprintf(stderr, "nvsharectl: no status from %s: %s\n", socket,
		        err[0] ? err : "connection closed");
		return -1;
	}
	if (reply->hdr.type != NVS_MSG_CTL_REPLY ||
	    reply->u.ctl_reply.status != 0) {
		fprintf(stderr,
		        "nvsharectl: the scheduler at %s refused the "
		        "status request\n",
		        socket);
		nvs_msg_release(reply);
		return -1;
	}
	return 0;
}

/* The whole JSON report (free it). NULL after printing why. */
static char *fetch_report(const char *socket)
{
	struct nvs_ctl_status req = {.format = NVS_CTL_FORMAT_JSON,
	                             .flags = NVS_CTL_STATUS_PAGED};
	char *doc = NULL;
	size_t len = 0;

	for (;;) {
		struct nvs_msg reply;
		const char *body;
		uint64_t next;
		size_t n;
		char *p;

		if (fetch_page(socket, &req, &reply))
			break;
		if (ctl_page_parse(reply.text, &next, &body) < 0 ||
		    (next && next <= req.after_client)) {
			fprintf(stderr, "nvsharectl: malformed status page\n");
			nvs_msg_release(&reply);
			break;
		}
		n = strlen(body);
		p = len + n < TOP_DOC_MAX ? realloc(doc, len + n + 1) : NULL;
		if (!p) {
			fprintf(stderr,
			        "nvsharectl: status report too large\n");
			nvs_msg_release(&reply);
			break;
		}
		doc = p;
		memcpy(doc + len, body, n + 1);
		len += n;
		nvs_msg_release(&reply);
		if (!next)
			return doc;
		req.after_client = next;
	}
	free(doc);
	return NULL;
}

/* --- rendering ------------------------------------------------------------ */

struct frame {
	FILE *f;            /* the frame being written */
	const json_t *doc;  /* this report */
	const json_t *prev; /* the previous one, or NULL */
	double elapsed_ms;  /* between the two */
	int bar;            /* bar width */
};

/* The report's members as top shows them: absent, null or of another type
 * reads as 0, "" or no array; true reads 1. */
static const json_t *arr(const json_t *v, const char *key)
{
	const json_t *a = json_object_get(v, key);

	return json_is_array(a) ? a : NULL;
}

static double num(const json_t *v, const char *key)
{
	const json_t *m = json_object_get(v, key);

	return json_is_true(m) ? 1.0 : json_number_value(m);
}

static const char *str(const json_t *v, const char *key)
{
	const char *s = json_string_value(json_object_get(v, key));

	return s ? s : "";
}

/* 1 if the member is a number (null is "none"). */
static int has_num(const json_t *v, const char *key)
{
	return json_is_number(json_object_get(v, key));
}

/* Client i's letter in the bars and the table. */
static char letter(size_t i)
{
	static const char set[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	return i < sizeof(set) - 1 ? set[i] : '*';
}

static const json_t *client_gpu(const json_t *client, const char *uuid)
{
	const json_t *gs = arr(client, "gpus");

	for (size_t i = 0; i < json_array_size(gs); i++)
		if (strcmp(str(json_array_get(gs, i), "uuid"), uuid) == 0)
			return json_array_get(gs, i);
	return NULL;
}

/* Share of the GPU (percent) client got since the last report, or -1. */
static double share_of(const struct frame *fr, const json_t *client,
                       const json_t *cg)
{
	const json_t *pcs = arr(fr->prev, "clients");
	double id = num(client, "id");

	if (!pcs || fr->elapsed_ms <= 0)
		return -1;
	for (size_t i = 0; i < json_array_size(pcs); i++) {
		const json_t *pg;

		if (num(json_array_get(pcs, i), "id") != id)
			continue;
		pg = client_gpu(json_array_get(pcs, i), str(cg, "uuid"));
		if (!pg)
			return -1;
		return 100.0 *
		       (num(cg, "billed_gpu_ms") - num(pg, "billed_gpu_ms")) /
		       fr->elapsed_ms;
	}
	return -1;
}

static void size_text(double bytes, char *buf, size_t n)
{
	nvs_format_size(bytes > 0 ? (uint64_t)bytes : 0, buf, n);
}

/* Cells for a part of total, rounded, at most what is left. */
static int cells(double part, double total, int width, int left)
{
	int c = total > 0 ? (int)(part / total * width + 0.5) : 0;

	return c < 0 ? 0 : c > left ? left : c;
}

static void memory_bar(struct frame *fr, const json_t *g, double swapped)
{
	double cap = num(g, "capacity_bytes");
	double res = num(g, "resident_bytes");
	int r = cells(res, cap, fr->bar, fr->bar);
	int s = cells(swapped, cap, fr->bar, fr->bar - r);
	char a[32], b[32], c[32];

	fputs("  memory  [", fr->f);
	for (int i = 0; i < fr->bar; i++)
		fputc(i < r ? '#' : i < r + s ? '~' : '.', fr->f);
	size_text(res, a, sizeof(a));
	size_text(swapped, b, sizeof(b));
	size_text(cap, c, sizeof(c));
	fprintf(fr->f, "%c %s resident, %s swapped, of %s\n",
	        res + swapped > cap ? '+' : ']', a, b, c);
}

static void compute_bar(struct frame *fr, const json_t *g)
{
	const json_t *cs = arr(fr->doc, "clients");
	const char *uuid = str(g, "uuid");
	char legend[512] = "";
	int used = 0, known = 0;
	size_t len = 0;

	fputs("  compute [", fr->f);
	if (!num(g, "metered")) {
		/* Only GPUs with a core limit bill GPU time. */
		for (int i = 0; i < fr->bar; i++)
			fputc(' ', fr->f);
		fputs("] not metered (no core limit on this GPU)\n", fr->f);
		return;
	}
	for (size_t i = 0; i < json_array_size(cs); i++) {
		const json_t *cg = client_gpu(json_array_get(cs, i), uuid);
		double sh = cg ? share_of(fr, json_array_get(cs, i), cg) : -1;
		int k;

		if (sh < 0)
			continue;
		known = 1;
		k = cells(sh, 100.0, fr->bar, fr->bar - used);
		for (int j = 0; j < k; j++)
			fputc(letter(i), fr->f);
		used += k;
		if (len < sizeof(legend))
			len +=
			    (size_t)snprintf(legend + len, sizeof(legend) - len,
			                     " %c %.1f%%", letter(i), sh);
	}
	for (int i = used; i < fr->bar; i++)
		fputc('.', fr->f);
	fprintf(fr->f, "]%s\n", known ? legend : " (measuring...)");
}

static void gpu_block(struct frame *fr, size_t index, const json_t *g)
{
	const json_t *cs = arr(fr->doc, "clients");
	const json_t *running = arr(g, "running");
	const json_t *queue = arr(g, "queue");
	const char *uuid = str(g, "uuid");
	double swapped = 0;
	char cap[32];

	for (size_t i = 0; i < json_array_size(cs); i++) {
		const json_t *cg = client_gpu(json_array_get(cs, i), uuid);
		swapped += cg ? num(cg, "swapped_bytes") : 0;
	}
	size_text(num(g, "capacity_bytes"), cap, sizeof(cap));
	fprintf(fr->f, "GPU %zu %s  %s  mode %s  slice %.1f s\n", index, uuid,
	        cap, str(g, "mode"), num(g, "time_slice_ms") / 1000.0);
	fprintf(fr->f,
	        "  clients %zu running, %zu waiting   swaps %.0f   forced "
	        "releases %.0f\n",
	        json_array_size(running), json_array_size(queue),
	        num(g, "swaps"), num(g, "forced_releases"));
	memory_bar(fr, g, swapped);
	compute_bar(fr, g);
}

static size_t gpu_index(const struct frame *fr, const char *uuid)
{
	const json_t *gs = arr(fr->doc, "gpus");

	for (size_t i = 0; i < json_array_size(gs); i++)
		if (strcmp(str(json_array_get(gs, i), "uuid"), uuid) == 0)
			return i;
	return 0;
}

/* Printable ASCII only: names come from clients. */
static void clean(const char *s, char *out, size_t n)
{
	size_t i = 0;

	for (; *s && i + 1 < n; s++)
		out[i++] = (*s > 0x20 && *s < 0x7f) ? *s : '?';
	out[i] = '\0';
}

static void client_row(struct frame *fr, size_t i, const json_t *c,
                       const json_t *cg)
{
	char who[64], raw[400], share[16] = "-", limit[24] = "-";
	char mem[32], mlim[32] = "none", swp[32], why[48] = "";
	double sh = share_of(fr, c, cg);
	double pct = num(c, "core_limit_pct");
	double eff = num(cg, "core_share_pct");
	const char *state = str(cg, "state");

	if (str(c, "pod_name")[0])
		snprintf(raw, sizeof(raw), "%s/%s", str(c, "pod_namespace"),
		         str(c, "pod_name"));
	else
		snprintf(raw, sizeof(raw), "%s", str(c, "comm"));
	clean(raw, who, sizeof(who));
	if (sh >= 0 && num(cg, "billed_gpu_ms") > 0)
		snprintf(share, sizeof(share), "%.1f%%", sh);
	if (pct > 0 && eff > 0 && eff < pct - 0.05)
		snprintf(limit, sizeof(limit), "%.0f%%(%.0f)", eff, pct);
	else if (pct > 0)
		snprintf(limit, sizeof(limit), "%.0f%%", pct);
	size_text(num(cg, "memory_bytes"), mem, sizeof(mem));
	if (has_num(c, "memory_limit_bytes"))
		size_text(num(c, "memory_limit_bytes"), mlim, sizeof(mlim));
	size_text(num(cg, "swapped_bytes"), swp, sizeof(swp));
	if (strcmp(state, "waiting") == 0)
		snprintf(why, sizeof(why), "%s, %.1f s",
		         str(cg, "wait_reason")[0] ? str(cg, "wait_reason")
		                                   : "queued",
		         num(cg, "wait_ms") / 1000.0);
	else if (num(cg, "throttled"))
		snprintf(why, sizeof(why), "throttled");
	if (num(cg, "over_memory_limit"))
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s%s",
		         why[0] ? ", " : "", "over memory limit");
	fprintf(fr->f,
	        "%c %-5.0f %-22.22s %3zu  %-8s %7s %8s %11s/%-10s %11s  %s\n",
	        letter(i), num(c, "id"), who, gpu_index(fr, str(cg, "uuid")),
	        state, share, limit, mem, mlim, swp, why);
}

static void render(struct frame *fr)
{
	const json_t *gs = arr(fr->doc, "gpus");
	const json_t *cs = arr(fr->doc, "clients");
	char when[32] = "";
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(fr->f,
	        "nvshare top  %s  scheduling %s  mode %s  GPUs %zu  clients "
	        "%zu  forced releases %.0f\n\n",
	        when, num(fr->doc, "managed") ? "on" : "off",
	        str(fr->doc, "mode"), json_array_size(gs), json_array_size(cs),
	        num(fr->doc, "forced_releases"));
	for (size_t i = 0; i < json_array_size(gs); i++)
		gpu_block(fr, i, json_array_get(gs, i));
	if (!json_array_size(gs))
		fputs("no GPUs registered\n", fr->f);
	fprintf(fr->f, "\n  %-5s %-22s %3s  %-8s %7s %8s %22s %11s  %s\n", "ID",
	        "POD/PROGRAM", "GPU", "STATE", "SHARE", "LIMIT", "MEMORY/LIMIT",
	        "SWAPPED", "WHY");
	for (size_t i = 0; i < json_array_size(cs); i++) {
		const json_t *cgs = arr(json_array_get(cs, i), "gpus");

		for (size_t k = 0; k < json_array_size(cgs); k++)
			client_row(fr, i, json_array_get(cs, i),
			           json_array_get(cgs, k));
	}
	if (!json_array_size(cs))
		fputs("no clients connected\n", fr->f);
}

static int bar_width(int tty)
{
	struct winsize ws;
	int w = 100;

	if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		w = ws.ws_col;
	w -= 64; /* room for the figures after the memory bar */
	return w < TOP_BAR_MIN   ? TOP_BAR_MIN
	       : w > TOP_BAR_MAX ? TOP_BAR_MAX
	                         : w;
}

static int parse_opts(int argc, char **argv, uint64_t *interval,
                      uint64_t *iterations)
{
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(CTL_TOP_USAGE, stdout);
			return 1;
		}
		if (strcmp(argv[i], "--interval") == 0 && v &&
		    nvs_parse_u64(v, 1, 3600, interval) == 0) {
			i++;
			continue;
		}
		if (strcmp(argv[i], "--iterations") == 0 && v &&
		    nvs_parse_u64(v, 1, UINT32_MAX, iterations) == 0) {
			i++;
			continue;
		}
		fprintf(stderr, "nvsharectl top: invalid argument '%s'\n%s",
		        argv[i], CTL_TOP_USAGE);
		return -1;
	}
	return 0;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The report as a tree (json_decref it); NULL after saying why. Every
 * number is read as a double (JSON_DECODE_INT_AS_REAL): top only shows and
 * subtracts them, and so no byte count a client claims is too big. */
static json_t *parse_report(const char *text)
{
	json_error_t err;
	json_t *doc = json_loads(text, JSON_DECODE_INT_AS_REAL, &err);

	if (!doc)
		fprintf(stderr,
		        "nvsharectl: the status report is not valid JSON (byte "
		        "%d: %s)\n",
		        err.position, err.text);
	return doc;
}

int ctl_top_run(const char *socket, int argc, char **argv)
{
	uint64_t interval = 1, iterations = 0;
	json_t *prev = NULL;
	int tty = isatty(STDOUT_FILENO), rc;
	double prev_ms = 0;

	rc = parse_opts(argc, argv, &interval, &iterations);
	if (rc)
		return rc > 0 ? 0 : 2;
	for (uint64_t n = 0; !iterations || n < iterations; n++) {
		struct frame fr = {.bar = bar_width(tty)};
		char *text = fetch_report(socket), *out = NULL;
		json_t *doc = text ? parse_report(text) : NULL;
		size_t outlen = 0;
		double now_ms = mono_ms();

		free(text);
		if (!doc) {
			rc = 1;
			break;
		}
		fr.doc = doc;
		fr.prev = prev;
		fr.elapsed_ms = now_ms - prev_ms;
		fr.f = open_memstream(&out, &outlen);
		if (!fr.f) {
			json_decref(doc);
			rc = 1;
			break;
		}
		if (tty)
			fputs("\033[H\033[2J", fr.f); /* home, clear */
		else
			fputs("---\n", fr.f);
		render(&fr);
		fclose(fr.f);
		fwrite(out, 1, outlen, stdout);
		fflush(stdout);
		free(out);
		json_decref(prev);
		prev = doc;
		prev_ms = now_ms;
		if (!iterations || n + 1 < iterations)
			sleep((unsigned)interval);
	}
	json_decref(prev);
	return rc;
}
