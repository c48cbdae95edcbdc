/*
 * conn.h - one peer's connection to the scheduler: its credentials and
 * identity as captured at accept (peer_identity.h), its uid's account
 * (peer_account.h), the bytes it sent and not yet parsed, and the bytes
 * queued for it.
 *
 * Output is appended to a per-connection buffer and flushed as the peer
 * reads, so a peer that stops reading never stalls the event loop (past
 * CONN_OUT_MAX it is disconnected). A connection that fails is only marked
 * dead; the event loop tears it down later ("reaps" it), so that a handler
 * sending to it never re-enters another.
 */
#ifndef NVSHARE_CONN_H
#define NVSHARE_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "peer_account.h"
#include "peer_identity.h"
#include "proto.h"

#define CONN_OUT_MAX (4u << 20) /* unsent bytes before a peer is cut */
/* A peer must send its first message (HELLO, or a control request) and
 * then each frame it starts within this long, or it is cut: an idle or
 * trickling connection holds a slot of its uid's share for no one. */
#define CONN_FRAME_DEADLINE_NS 5000000000LL

struct sched_client;

struct sched_conn {
	int fd;                      /* the connection, non-blocking */
	uint64_t seq;                /* connection number, for logs */
	pid_t pid;                   /* SO_PEERCRED pid */
	uid_t uid;                   /* SO_PEERCRED uid */
	gid_t gid;                   /* SO_PEERCRED gid */
	struct peer_identity peer;   /* all the kernel said at accept */
	struct peer_account *acct;   /* its uid's account (counts it) */
	int64_t accepted_ns;         /* monotonic time of accept */
	int64_t frame_since_ns;      /* first byte of an unfinished frame,
	                                0 if none */
	int greeted;                 /* its first message was handled */
	struct nvs_reader reader;    /* bytes received, not yet parsed */
	uint8_t *out;                /* bytes to send */
	size_t out_off;              /* first unsent byte in out */
	size_t out_len;              /* bytes used in out */
	size_t out_cap;              /* bytes allocated in out */
	struct sched_client *client; /* set by HELLO, NULL before */
	int dead;                    /* failed: closed when reaped */
};

/* A connection for an accepted fd with its peer's credentials; NULL if
 * memory ran out (fd is left open). */
struct sched_conn *conn_new(int fd, uint64_t seq, pid_t pid, uid_t uid,
                            gid_t gid);
/* Gives c its peer's identity as captured at accept (taken over: freed
 * with c; its pid/uid/gid replace those of conn_new) and its uid's
 * account (counted while c lives). */
void conn_attach(struct sched_conn *c, struct peer_identity *id,
                 struct peer_account *acct);
/* Closes the fd (after discarding what the peer still sent) and frees c.
 * Its client, if any, must be gone already. */
void conn_free(struct sched_conn *c);

/* 1 if a warning about this peer may be logged now: its uid's bucket
 * (peer_account.h) allows it. Call it only where a warning is due. */
int conn_log_ok(struct sched_conn *c);

/* When c is cut for not finishing its first message or a frame
 * (CONN_FRAME_DEADLINE_NS), or INT64_MAX. */
int64_t conn_deadline(const struct sched_conn *c);
/* Cuts c (with a rate-limited warning) if its deadline has passed. */
void conn_check_deadline(struct sched_conn *c, int64_t now);

/* Queues a message (ignored if c is dead). A peer whose unsent bytes pass
 * CONN_OUT_MAX, or whose socket fails, is marked dead. */
void conn_send(struct sched_conn *c, uint16_t type, const void *payload,
               size_t len);
/* Queues a CTL_REPLY with its text (cut at NVS_CTL_TEXT_MAX). */
void conn_send_reply(struct sched_conn *c, int32_t status, const char *text,
                     size_t len);
/* Sends what the peer's socket takes now. */
void conn_flush(struct sched_conn *c);

/* Marks c dead after invalid input, with a warning naming the reason. */
void conn_protocol_error(struct sched_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Marks c dead after an ordinary end (EOF, socket error). */
void conn_close(struct sched_conn *c, const char *reason);

#endif /* NVSHARE_CONN_H */
