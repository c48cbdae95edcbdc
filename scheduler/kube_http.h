/*
 * kube_http.h - HTTPS to the API server through libcurl, for the watcher's
 * threads: a GET whose body is kept up to a bound, a streamed GET split
 * into lines (each bounded), a POST of JSON. The server's certificate must
 * chain to the configured CA and name the host (peer and host verification
 * are always on); only HTTPS, no proxy, no redirect. Every request carries
 * the bearer token it is given. A stop flag, checked from the transfer's
 * progress callback (libcurl calls it about once a second even on an idle
 * connection), cuts any request short.
 *
 * One struct kube_http per thread; it keeps its connection between
 * requests.
 */
#ifndef NVSHARE_KUBE_HTTP_H
#define NVSHARE_KUBE_HTTP_H

#include <stdatomic.h>
#include <stddef.h>

#define KUBE_HTTP_CONNECT_TIMEOUT_MS 5000
#define KUBE_HTTP_ERROR_BODY_MAX (64 * 1024) /* an error answer, kept */
#define KUBE_TOKEN_MAX 16384                 /* a bearer token file */

struct kube_http;

/* NULL (logged) if libcurl could not make a handle. */
struct kube_http *kube_http_new(const char *ca_file, const atomic_int *stop);
void kube_http_free(struct kube_http *h);

struct kube_http_reply {
	int status;      /* the HTTP status, 0 if none came */
	int stopped;     /* cut short by the stop flag */
	int truncated;   /* the body went over its bound: what fit is kept */
	char error[256]; /* why no (complete) answer came, else "" */
	char *body;      /* the body (NUL-terminated), or of an error answer
	                    in a stream; NULL if none */
	size_t len;      /* bytes in body */
};

void kube_http_reply_free(struct kube_http_reply *r);

/* GET url; the body is kept up to max_body bytes, an error answer's up
 * to KUBE_HTTP_ERROR_BODY_MAX. Returns 0 when an HTTP answer came (see
 * r->status), -1 otherwise (r->error). An error answer over its bound is
 * still an answer (0, its status, the body cut: r->truncated); a success
 * over max_body is not (-1, r->truncated, r->status kept). */
int kube_http_get(struct kube_http *h, const char *url, const char *token,
                  size_t max_body, long timeout_s, struct kube_http_reply *r);

/* Called when a stream's answer is 200, before its first line. */
typedef void (*kube_http_open_fn)(void *ctx);
/* Called for each line (without its newline, NUL-terminated); a line
 * longer than max_line is skipped (skipped_fn is told). Nonzero ends the
 * stream. */
typedef int (*kube_http_line_fn)(void *ctx, const char *line, size_t len);
typedef void (*kube_http_skip_fn)(void *ctx, size_t len);
/* Called about once a second while the stream is open, lines or not;
 * nonzero ends the stream as a line callback does. */
typedef int (*kube_http_poll_fn)(void *ctx);

struct kube_http_stream {
	size_t max_line;
	kube_http_open_fn opened;
	kube_http_line_fn line;
	kube_http_skip_fn skipped;
	kube_http_poll_fn poll; /* may be NULL */
	void *ctx;
};

/* GET url as a stream of lines (a watch). An answer other than 200 is
 * kept in r->body (bounded, cut beyond: r->truncated, the status kept).
 * Returns 0 when the server ended the stream or a callback did, or an
 * error answer came; -1 on a failed transfer (r->error), with r->stopped
 * when the stop flag ended it. */
int kube_http_stream(struct kube_http *h, const char *url, const char *token,
                     long timeout_s, const struct kube_http_stream *s,
                     struct kube_http_reply *r);

/* POST body (JSON) to url; the answer's body is kept (bounded). */
int kube_http_post(struct kube_http *h, const char *url, const char *token,
                   const char *body, long timeout_s, struct kube_http_reply *r);

/* Reads a bearer token file (re-read before each request, so a rotated
 * token is used at once): a regular file (a symbolic link to one is fine:
 * the kubelet's projected token is one) smaller than n, never waited on
 * (a FIFO or a device is refused, not opened for good); trailing
 * whitespace dropped, printable ASCII without spaces only (a token goes
 * into a header line). Returns 0, or -1 with why. */
int kube_http_read_token(const char *path, char *out, size_t n, char *why,
                         size_t why_len);

/* Escapes s for a URL query into out. Returns 0, or -1 if it does not
 * fit. */
int kube_http_escape(struct kube_http *h, const char *s, char *out, size_t n);

#endif /* NVSHARE_KUBE_HTTP_H */
