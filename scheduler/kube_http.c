/*
 * kube_http.c - see kube_http.h. One easy handle per struct kube_http,
 * reset before each request (which keeps its connection) and set up the
 * same way every time: TLS verification on, the CA file only, HTTPS only.
 */
#include "kube_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define LOW_SPEED_TIME_S 30 /* a plain request stalled this long fails */
#define KEEPALIVE_IDLE_S 30 /* a watch's dead peer shows within ~1 min */
#define KEEPALIVE_INTVL_S 10

struct kube_http {
	CURL *curl;
	char *ca_file;
	const atomic_int *stop;
	char errbuf[CURL_ERROR_SIZE];
	char auth[KUBE_TOKEN_MAX + 32]; /* the Authorization header */
};

/* What one transfer's callbacks share. */
struct transfer {
	struct kube_http *h;
	struct kube_http_reply *r;
	size_t max_body;                  /* buffer mode: the bound */
	const struct kube_http_stream *s; /* NULL: buffer mode */
	int mode;                         /* stream: 0 unknown, 1 lines,
	                                     2 an error answer's body */
	char *line;                       /* the line being read */
	size_t line_len, line_cap;
	int skipping;        /* the line is over the bound: up to '\n' */
	size_t skipped_len;  /* bytes of the line skipped so far */
	int ended_by_caller; /* a line or poll callback ended the stream */
	int too_big;         /* the body went over its bound */
	int no_memory;       /* the body could not grow */
	long code;           /* the answer's status, once data comes */
	size_t body_cap;     /* bytes allocated for r->body */
};

struct kube_http *kube_http_new(const char *ca_file, const atomic_int *stop)
{
	struct kube_http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->curl = curl_easy_init();
	h->ca_file = strdup(ca_file);
	h->stop = stop;
	if (!h->curl || !h->ca_file) {
		NVS_ERROR("event=kube_http_failed reason=\"cannot make a "
		          "libcurl handle\"");
		kube_http_free(h);
		return NULL;
	}
	return h;
}

void kube_http_free(struct kube_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->ca_file);
	explicit_bzero(h->auth, sizeof(h->auth));
	free(h);
}

void kube_http_reply_free(struct kube_http_reply *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* --- callbacks --------------------------------------------------------------
 */

static int progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
                    curl_off_t ultotal, curl_off_t ulnow)
{
	struct transfer *t = ctx;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (atomic_load(t->h->stop)) {
		t->r->stopped = 1;
		return 1;
	}
	if (t->s && t->mode == 1 && t->s->poll && t->s->poll(t->s->ctx)) {
		t->ended_by_caller = 1;
		return 1;
	}
	return 0;
}

/* Appends to the reply's body up to max bytes in all; what goes beyond
 * is cut off. 0 (the transfer ends) when over or out of memory. */
static int keep_body(struct transfer *t, const char *p, size_t n, size_t max)
{
	struct kube_http_reply *r = t->r;
	size_t room = max > r->len ? max - r->len : 0;
	int over = n > room;

	if (over) {
		t->too_big = 1;
		r->truncated = 1;
		n = room;
	}
	if (n && r->len + n + 1 > t->body_cap) {
		size_t cap = t->body_cap ? t->body_cap : 16384;
		char *nb;

		while (cap < r->len + n + 1)
			cap *= 2;
		nb = realloc(r->body, cap);
		if (!nb) {
			t->no_memory = 1;
			return 0;
		}
		r->body = nb;
		t->body_cap = cap;
	}
	if (n) {
		memcpy(r->body + r->len, p, n);
		r->len += n;
		r->body[r->len] = '\0';
	}
	return !over;
}

static int success(long code)
{
	return code >= 200 && code < 300;
}

/* One complete line (without '\n'): to the caller, '\r' and blank lines
 * aside. 0 if the caller ends the stream. */
static int deliver(struct transfer *t)
{
	size_t len = t->line_len;

	if (len && t->line[len - 1] == '\r')
		len--;
	t->line_len = 0;
	if (!len)
		return 1;
	t->line[len] = '\0';
	if (t->s->line(t->s->ctx, t->line, len)) {
		t->ended_by_caller = 1;
		return 0;
	}
	return 1;
}

static int add_to_line(struct transfer *t, const char *p, size_t n)
{
	size_t max = t->s->max_line;

	if (t->skipping || t->line_len + n > max) {
		if (!t->skipping) {
			t->skipping = 1;
			t->skipped_len = t->line_len;
			t->line_len = 0;
		}
		t->skipped_len += n;
		return 1;
	}
	if (t->line_len + n + 1 > t->line_cap) {
		size_t cap = t->line_cap ? t->line_cap : 4096;
		char *nl;

		while (cap < t->line_len + n + 1)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		nl = realloc(t->line, cap);
		if (!nl)
			return 0;
		t->line = nl;
		t->line_cap = cap;
	}
	memcpy(t->line + t->line_len, p, n);
	t->line_len += n;
	return 1;
}

static int split_lines(struct transfer *t, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t part = nl ? (size_t)(nl - p) : n;

		if (!add_to_line(t, p, part))
			return 0;
		if (!nl)
			return 1;
		if (t->skipping) {
			if (t->s->skipped)
				t->s->skipped(t->s->ctx, t->skipped_len);
			t->skipping = 0;
			t->skipped_len = 0;
		} else if (!deliver(t)) {
			return 0;
		}
		p = nl + 1;
		n -= part + 1;
	}
	return 1;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct transfer *t = ctx;
	size_t n = size * nmemb;

	if (!t->code)
		curl_easy_getinfo(t->h->curl, CURLINFO_RESPONSE_CODE, &t->code);
	if (!t->s) {
		size_t max = t->max_body;

		/* An error answer is kept for its Status only. */
		if (!success(t->code) && max > KUBE_HTTP_ERROR_BODY_MAX)
			max = KUBE_HTTP_ERROR_BODY_MAX;
		return keep_body(t, p, n, max) ? n : 0;
	}
	if (!t->mode)
		t->mode = t->code == 200 ? 1 : 2;
	if (t->mode == 2)
		return keep_body(t, p, n, KUBE_HTTP_ERROR_BODY_MAX) ? n : 0;
	return split_lines(t, p, n) ? n : 0;
}

/* The blank line that ends the headers: the stream is open if it is 200. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct transfer *t = ctx;
	size_t n = size * nmemb;
	long code = 0;

	if (t->s && t->s->opened && (n == 2 || n == 1) &&
	    (p[0] == '\r' || p[0] == '\n')) {
		curl_easy_getinfo(t->h->curl, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200)
			t->s->opened(t->s->ctx);
	}
	return n;
}

/* --- requests ---------------------------------------------------------------
 */

/* Frees a header list, the copies of the bearer token in it zeroed. */
static void free_headers(struct curl_slist *l)
{
	for (struct curl_slist *n = l; n; n = n->next)
		if (n->data)
			explicit_bzero(n->data, strlen(n->data));
	curl_slist_free_all(l);
}

static struct curl_slist *headers(struct kube_http *h, const char *token,
                                  int json_body)
{
	struct curl_slist *l = NULL, *n;

	snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s", token);
	n = curl_slist_append(l, h->auth);
	if (!n) {
		explicit_bzero(h->auth, sizeof(h->auth));
		return NULL;
	}
	l = n;
	n = curl_slist_append(l, "Accept: application/json");
	if (n)
		l = n;
	if (json_body) {
		n = curl_slist_append(l, "Content-Type: application/json");
		if (n)
			l = n;
	}
	return l;
}

/* Options every request gets. */
static void setup(struct kube_http *h, struct transfer *t, const char *url,
                  struct curl_slist *hdrs, long timeout_s)
{
	CURL *c = h->curl;

	curl_easy_reset(c);
	h->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never through a proxy */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* Only the cluster's CA: not the system's store as well. */
	curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)KUBE_HTTP_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, (long)KEEPALIVE_IDLE_S);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, (long)KEEPALIVE_INTVL_S);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "nvshare-scheduler");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
}

/* Runs the set-up transfer and fills r. */
static int perform(struct kube_http *h, struct transfer *t,
                   struct curl_slist *hdrs)
{
	struct kube_http_reply *r = t->r;
	CURLcode rc = curl_easy_perform(h->curl);
	long code = 0;

	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
	/* A last line without its newline, in a stream that ended well. */
	if (rc == CURLE_OK && t->s && t->mode == 1 && !t->skipping &&
	    t->line_len)
		deliver(t);
	free_headers(hdrs);
	explicit_bzero(h->auth, sizeof(h->auth));
	free(t->line);
	r->status = (int)code;
	if (rc == CURLE_OK)
		return 0;
	if ((rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK) &&
	    t->ended_by_caller && !r->stopped)
		return 0;
	/* An error answer cut at its bound is still an answer: its status
	 * (a 410 that must list again) counts, its Status may be cut. */
	if (rc == CURLE_WRITE_ERROR && t->too_big && !success(code) &&
	    !r->stopped)
		return 0;
	if (r->stopped)
		snprintf(r->error, sizeof(r->error), "stopped");
	else if (t->too_big) {
		snprintf(r->error, sizeof(r->error),
		         "the answer is larger than the bound (%zu bytes)",
		         t->s ? (size_t)KUBE_HTTP_ERROR_BODY_MAX : t->max_body);
		return -1; /* a success cut short: the caller may ask less */
	} else if (t->no_memory)
		snprintf(r->error, sizeof(r->error),
		         "out of memory for the answer");
	else
		snprintf(r->error, sizeof(r->error), "%s",
		         h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
	/* An answer cut short is no answer. */
	if (!t->s || t->mode != 1)
		r->status = 0;
	return -1;
}

/* The start every request shares: a clean reply, the headers (with a JSON
 * body for POST), curl set up for t. NULL (said in r) without memory. */
static struct curl_slist *begin(struct kube_http *h, struct transfer *t,
                                const char *url, const char *token,
                                int json_body, long timeout_s)
{
	struct curl_slist *hdrs;

	memset(t->r, 0, sizeof(*t->r));
	hdrs = headers(h, token, json_body);
	if (!hdrs) {
		snprintf(t->r->error, sizeof(t->r->error), "out of memory");
		return NULL;
	}
	setup(h, t, url, hdrs, timeout_s);
	return hdrs;
}

/* A request with an end (not a watch) fails when the server stalls. */
static void stall_limit(struct kube_http *h)
{
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME,
	                 (long)LOW_SPEED_TIME_S);
}

int kube_http_get(struct kube_http *h, const char *url, const char *token,
                  size_t max_body, long timeout_s, struct kube_http_reply *r)
{
	struct transfer t = {.h = h, .r = r, .max_body = max_body};
	struct curl_slist *hdrs = begin(h, &t, url, token, 0, timeout_s);

	if (!hdrs)
		return -1;
	stall_limit(h);
	return perform(h, &t, hdrs);
}

int kube_http_stream(struct kube_http *h, const char *url, const char *token,
                     long timeout_s, const struct kube_http_stream *s,
                     struct kube_http_reply *r)
{
	struct transfer t = {.h = h, .r = r, .s = s};
	struct curl_slist *hdrs = begin(h, &t, url, token, 0, timeout_s);

	if (!hdrs)
		return -1;
	return perform(h, &t, hdrs);
}

int kube_http_post(struct kube_http *h, const char *url, const char *token,
                   const char *body, long timeout_s, struct kube_http_reply *r)
{
	struct transfer t = {
	    .h = h, .r = r, .max_body = KUBE_HTTP_ERROR_BODY_MAX};
	struct curl_slist *hdrs = begin(h, &t, url, token, 1, timeout_s);

	if (!hdrs)
		return -1;
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	stall_limit(h);
	return perform(h, &t, hdrs);
}

/* --- helpers ----------------------------------------------------------------
 */

int kube_http_read_token(const char *path, char *out, size_t n, char *why,
                         size_t why_len)
{
	struct stat st;
	ssize_t got;
	size_t len = 0;
	/* Never waits: a FIFO would block open() (and the watcher's stop)
	 * until a writer came. Links are followed: the kubelet's projected
	 * token is a link into its ..data directory. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	out[0] = '\0';
	if (fd < 0) {
		snprintf(why, why_len, "token file %s: %s", path,
		         strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, why_len, "token file %s is not a regular file",
		         path);
		close(fd);
		return -1;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size + 2 > n) {
		snprintf(why, why_len, "token file %s is larger than %zu bytes",
		         path, n - 2);
		close(fd);
		return -1;
	}
	while (len + 1 < n && (got = read(fd, out + len, n - 1 - len)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			snprintf(why, why_len, "token file %s: %s", path,
			         strerror(errno));
			close(fd);
			explicit_bzero(out, n);
			return -1;
		}
		len += (size_t)got;
	}
	close(fd);
	if (len + 1 >= n) {
		snprintf(why, why_len, "token file %s is larger than %zu bytes",
		         path, n - 2);
		explicit_bzero(out, n);
		return -1;
	}
	while (len && (out[len - 1] == '\n' || out[len - 1] == '\r' ||
	               out[len - 1] == ' ' || out[len - 1] == '\t'))
		len--;
	out[len] = '\0';
	if (!len) {
		snprintf(why, why_len, "token file %s is empty", path);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)out[i] <= 0x20 ||
		    (unsigned char)out[i] >= 0x7f) {
			snprintf(why, why_len,
			         "token file %s holds a space or a "
			         "non-printable byte",
			         path);
			explicit_bzero(out, n);
			return -1;
		}
	return 0;
}

int kube_http_escape(struct kube_http *h, const char *s, char *out, size_t n)
{
	char *e = curl_easy_escape(h->curl, s, 0);
	int rc = -1;

	if (e && strlen(e) < n) {
		memcpy(out, e, strlen(e) + 1);
		rc = 0;
	}
	curl_free(e);
	return rc;
}
