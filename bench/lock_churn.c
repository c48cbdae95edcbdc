/*
 * lock_churn.c - a load of raw protocol clients for bench/metrics_overhead
 * .py: CLIENTS connections to the scheduler, each registering one GPU and
 * cycling REQ_LOCK -> LOCK_OK -> hold HOLD_US -> LOCK_RELEASED -> pause
 * PAUSE_US, reconnecting after CYCLES grants (churn). One thread, one
 * poll() over every socket, so the load itself adds little delay.
 *
 * Prints one JSON line: grants, connections made, and the lock-grant
 * latency (REQ_LOCK sent to LOCK_OK read) percentiles in microseconds.
 * With SAMPLES, also writes every grant there as two int64 (the time it
 * was asked for, CLOCK_MONOTONIC ns, and its latency in ns), so that a
 * caller can split them by what else happened meanwhile.
 *
 * usage: lock_churn SOCKET UUID CLIENTS SECONDS HOLD_US PAUSE_US CYCLES
 *        [SAMPLES]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "sock.h"

enum state { S_REGISTERING, S_ASKED, S_HOLDING, S_PAUSED };

struct client {
	int fd;
	enum state st;
	struct nvs_reader rd;
	int cycles;       /* grants on this connection */
	int64_t asked_ns; /* REQ_LOCK sent */
	int64_t due_ns;   /* end of the hold or the pause */
};

static const char *uuid;
static int64_t *lat;   /* ns */
static int64_t *asked; /* when, ns (same order as lat) */
static size_t nlat, latcap;
static unsigned long connects;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void gpu_msg(struct client *c, uint16_t type)
{
	struct nvs_gpu_ref ref;

	memset(&ref, 0, sizeof(ref));
	snprintf(ref.uuid, sizeof(ref.uuid), "%s", uuid);
	if (nvs_msg_send(c->fd, type, &ref, sizeof(ref)) < 0)
		c->st = S_REGISTERING; /* reconnected below */
}

static int open_client(struct client *c, const char *sock)
{
	struct nvs_hello h;
	struct nvs_gpu_register g;

	c->fd = nvs_socket_connect(sock);
	if (c->fd < 0)
		return -1;
	connects++;
	memset(&h, 0, sizeof(h));
	h.pid = (uint32_t)getpid();
	snprintf(h.comm, sizeof(h.comm), "churn");
	memset(&g, 0, sizeof(g));
	snprintf(g.uuid, sizeof(g.uuid), "%s", uuid);
	g.total_bytes = 16ull << 30;
	if (nvs_msg_send(c->fd, NVS_MSG_HELLO, &h, sizeof(h)) < 0 ||
	    nvs_msg_send(c->fd, NVS_MSG_REGISTER_GPU, &g, sizeof(g)) < 0) {
		close(c->fd);
		return -1;
	}
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	c->st = S_REGISTERING;
	c->cycles = 0;
	nvs_reader_free(&c->rd);
	nvs_reader_init(&c->rd);
	return 0;
}

static void ask(struct client *c)
{
	c->asked_ns = now_ns();
	c->st = S_ASKED;
	gpu_msg(c, NVS_MSG_REQ_LOCK);
}

static void record(int64_t at, int64_t ns)
{
	if (nlat == latcap) {
		latcap = latcap ? latcap * 2 : 65536;
		lat = realloc(lat, latcap * sizeof(lat[0]));
		asked = realloc(asked, latcap * sizeof(asked[0]));
		if (!lat || !asked)
			exit(1);
	}
	asked[nlat] = at;
	lat[nlat++] = ns;
}

static void on_msg(struct client *c, const struct nvs_msg *m, int64_t hold)
{
	switch (m->hdr.type) {
	case NVS_MSG_GPU_ACCEPTED:
		if (c->st == S_REGISTERING)
			ask(c);
		return;
	case NVS_MSG_LOCK_OK:
		if (c->st != S_ASKED)
			return;
		record(c->asked_ns, now_ns() - c->asked_ns);
		c->cycles++;
		c->st = S_HOLDING;
		c->due_ns = now_ns() + hold;
		return;
	case NVS_MSG_DROP_LOCK:
		if (c->st == S_HOLDING)
			c->due_ns = 0; /* release at once */
		return;
	default: return;
	}
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(double p)
{
	size_t i = (size_t)(p / 100.0 * (double)(nlat - 1) + 0.5);

	return nlat ? (double)lat[i] / 1000.0 : 0;
}

int main(int argc, char **argv)
{
	struct client *cs;
	struct pollfd *pf;
	int n, cycles;
	int64_t end, hold, pause;

	if (argc != 8 && argc != 9) {
		fprintf(stderr, "usage: lock_churn SOCKET UUID CLIENTS SECONDS "
		                "HOLD_US PAUSE_US CYCLES [SAMPLES]\n");
		return 2;
	}
	uuid = argv[2];
	n = atoi(argv[3]);
	end = now_ns() + (int64_t)(atof(argv[4]) * 1e9);
	hold = atoll(argv[5]) * 1000;
	pause = atoll(argv[6]) * 1000;
	cycles = atoi(argv[7]);
	cs = calloc((size_t)n, sizeof(*cs));
	pf = calloc((size_t)n, sizeof(*pf));
	if (!cs || !pf || n <= 0)
		return 1;
	for (int i = 0; i < n; i++)
		if (open_client(&cs[i], argv[1]) < 0) {
			fprintf(stderr, "lock_churn: connect: %s\n",
			        strerror(errno));
			return 1;
		}
	while (now_ns() < end) {
		int64_t t = now_ns(), next = end;
		struct timespec ts;

		for (int i = 0; i < n; i++) {
			struct client *c = &cs[i];

			if ((c->st == S_HOLDING || c->st == S_PAUSED) &&
			    c->due_ns <= t) {
				if (c->st == S_HOLDING) {
					gpu_msg(c, NVS_MSG_LOCK_RELEASED);
					c->st = S_PAUSED;
					c->due_ns = t + pause;
				} else if (c->cycles >= cycles) {
					close(c->fd); /* churn: a new client */
					if (open_client(c, argv[1]) < 0)
						return 1;
				} else {
					ask(c);
				}
			}
			if ((c->st == S_HOLDING || c->st == S_PAUSED) &&
			    c->due_ns < next)
				next = c->due_ns;
			pf[i] = (struct pollfd){.fd = c->fd, .events = POLLIN};
		}
		t = now_ns();
		next = next > t ? next - t : 0;
		ts.tv_sec = next / 1000000000;
		ts.tv_nsec = next % 1000000000;
		if (ppoll(pf, (nfds_t)n, &ts, NULL) < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			struct client *c = &cs[i];
			struct nvs_msg m;
			char err[128];

			if (!pf[i].revents)
				continue;
			if (nvs_reader_fill(&c->rd, c->fd) != NVS_READ_MORE) {
				fprintf(stderr, "lock_churn: scheduler closed "
				                "a connection\n");
				return 1;
			}
			while (nvs_reader_next(&c->rd, &m, err, sizeof(err)) ==
			       NVS_READ_MSG) {
				on_msg(c, &m, hold);
				nvs_msg_release(&m);
			}
		}
	}
	if (argc == 9) {
		FILE *f = fopen(argv[8], "wb");

		for (size_t i = 0; f && i < nlat; i++) {
			fwrite(&asked[i], sizeof(asked[i]), 1, f);
			fwrite(&lat[i], sizeof(lat[i]), 1, f);
		}
		if (!f || fclose(f))
			return 1;
	}
	qsort(lat, nlat, sizeof(lat[0]), cmp);
	printf("{\"grants\":%zu,\"connects\":%lu,\"p50_us\":%.1f,"
	       "\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
	       "\"max_us\":%.1f}\n",
	       nlat, connects, pct(50), pct(90), pct(99), pct(99.9), pct(100));
	return 0;
}
