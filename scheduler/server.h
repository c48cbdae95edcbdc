/*
 * server.h - the scheduler's event loop: one thread, one poll() over the
 * listening socket, a signalfd and every connection.
 *
 * Connections are non-blocking. Input goes through a struct nvs_reader per
 * connection; output is appended to a per-connection buffer and flushed as
 * the peer reads, so a peer that stops reading never stalls the loop (past
 * a bound it is disconnected). A connection that fails is only marked dead
 * while events are handled and is torn down afterwards ("reaped"), so that
 * applying one decision never re-enters another. Policy deadlines decide
 * how long poll() may sleep.
 */
#ifndef NVSHARE_SERVER_H
#define NVSHARE_SERVER_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "proto.h"
#include "registry.h"

#define SERVER_MAX_CONNS 4096     /* connections served at once */
#define SERVER_OUT_MAX (4u << 20) /* unsent bytes before a peer is cut */
#define SERVER_MAX_OVERRIDES REGISTRY_MAX_GPUS /* --gpu-memory flags */
#define SERVER_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

struct server_gpu_override {
	char uuid[NVS_UUID_SIZE]; /* GPU the override is for */
	uint64_t bytes;           /* capacity to use instead of the driver's */
};

struct server_config {
	char socket_path[SERVER_PATH_MAX]; /* where to listen */
	enum policy_mode mode;             /* initial mode of every GPU */
	uint32_t time_slice_ms;            /* initial time slice, or
	                                      REGISTRY_SLICE_AUTO */
	uint32_t max_run_ms;               /* initial longest slice */
	uint32_t release_grace_ms;         /* time to answer DROP_LOCK */
	uint32_t core_window_ms;           /* compute-quota window */
	uint64_t host_swap_budget;         /* bytes all GPUs' clients may
	                                      have swapped out to the host;
	                                      0: no budget */
	struct server_gpu_override overrides[SERVER_MAX_OVERRIDES]; /* flags */
	size_t noverrides; /* entries used in overrides */
};

struct sched_conn {
	int fd;                      /* the connection, non-blocking */
	uint64_t seq;                /* connection number, for logs */
	pid_t pid;                   /* SO_PEERCRED pid */
	uid_t uid;                   /* SO_PEERCRED uid */
	gid_t gid;                   /* SO_PEERCRED gid */
	struct nvs_reader reader;    /* bytes received, not yet parsed */
	uint8_t *out;                /* bytes to send */
	size_t out_off;              /* first unsent byte in out */
	size_t out_len;              /* bytes used in out */
	size_t out_cap;              /* bytes allocated in out */
	struct sched_client *client; /* set by HELLO, NULL before */
	int dead;                    /* failed: closed when reaped */
};

struct server {
	const struct server_config *cfg; /* flags */
	struct sched_registry reg;       /* GPUs, clients, settings */
	int listen_fd;                   /* the listening socket */
	int signal_fd;                   /* SIGTERM/SIGINT as a descriptor */
	dev_t sock_dev;                  /* socket file identity, so that */
	ino_t sock_ino;                  /* only our own file is removed */
	gid_t sock_gid;                  /* socket file group at start */
	uid_t self_uid;                  /* our effective uid */
	struct sched_conn **conns;       /* open connections */
	size_t nconns;                   /* entries used in conns */
	size_t conns_cap;                /* entries allocated in conns */
	struct pollfd *pfds;             /* poll set, rebuilt every turn */
	size_t pfds_cap;                 /* entries allocated in pfds */
	uint64_t next_conn_seq;          /* seq of the next connection */
	int64_t accept_resume_ns;        /* accept paused (fd limit) until */
	int stop;                        /* a signal asked us to stop */
};

/* Runs the scheduler until SIGTERM/SIGINT. Returns the exit status: 0 after
 * a clean shutdown, 1 if it could not start. */
int server_run(const struct server_config *cfg);

/* Queues a message to a connection (ignored if it is dead). A peer whose
 * unsent bytes pass SERVER_OUT_MAX, or whose socket fails, is marked dead. */
void server_send(struct server *s, struct sched_conn *c, uint16_t type,
                 const void *payload, size_t len);
void server_send_reply(struct server *s, struct sched_conn *c, int32_t status,
                       const char *text, size_t len);

/* Marks c dead after invalid input, with a warning naming the reason. */
void server_protocol_error(struct server *s, struct sched_conn *c,
                           const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* NVSHARE_SERVER_H */
