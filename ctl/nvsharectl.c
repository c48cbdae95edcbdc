/*
 * nvsharectl.c - the operator's command-line tool: inspect the node's
 * nvshare scheduler and change its settings at run time.
 *
 * Built as a git-style command table: each subcommand is one function with
 * its own usage text and option parsing. Every request opens its own
 * connection to the scheduler socket, sends one CTL_STATUS or CTL_SET
 * message and prints the CTL_REPLY it gets back. Exit codes: 0 when the
 * scheduler accepted the request, 1 when it could not be reached, did not
 * answer or refused, 2 for a usage error.
 */
#include "parse.h"
#include "proto.h"
#include "sock.h"
#include "status_page.h"
#include "top.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CTL_EXIT_OK 0
#define CTL_EXIT_FAIL 1
#define CTL_EXIT_USAGE 2

#define CTL_REPLY_TIMEOUT_MS 10000
#define CTL_WATCH_MAX 86400ull /* one day between two refreshes */

/* State shared by every subcommand. */
struct ctl_ctx {
	char socket[NVS_SOCKET_PATH_MAX]; /* scheduler socket path */
};

/* A subcommand: argv[0] is its name, the rest its arguments. */
typedef int (*ctl_run_fn)(struct ctl_ctx *ctx, int argc, char **argv);

/* One entry of the command table. */
struct ctl_cmd {
	const char *name;    /* word typed after "nvsharectl" */
	const char *summary; /* one line for the overall help */
	const char *usage;   /* full help text of the subcommand */
	ctl_run_fn run;      /* what it does */
};

static int ctl_cmd_status(struct ctl_ctx *ctx, int argc, char **argv);
static int ctl_cmd_set(struct ctl_ctx *ctx, int argc, char **argv);
static int ctl_cmd_on(struct ctl_ctx *ctx, int argc, char **argv);
static int ctl_cmd_off(struct ctl_ctx *ctx, int argc, char **argv);
static int ctl_cmd_help(struct ctl_ctx *ctx, int argc, char **argv);
static int ctl_cmd_top(struct ctl_ctx *ctx, int argc, char **argv)
{
	return ctl_top_run(ctx->socket, argc, argv); /* top.c */
}

static const struct ctl_cmd ctl_cmds[] = {
    {
        "status",
        "show GPUs, lock holders, waiting clients and settings",
        "usage: nvsharectl status [--json] [--watch SECONDS]\n"
        "\n"
        "Prints the scheduler's view of the node: the scheduling\n"
        "settings, each GPU with its lock holder and queue, and each\n"
        "connected client.\n"
        "\n"
        "  --json             machine-readable output (one JSON object)\n"
        "  --watch SECONDS    repeat every SECONDS (1..86400), each\n"
        "                     report preceded by a timestamp line\n",
        ctl_cmd_status,
    },
    {
        "set",
        "change scheduling settings or a client's or pod's quotas",
        "usage: nvsharectl set [--mode MODE] [--time-slice auto|MS]\n"
        "                      [--max-run MS]\n"
        "       nvsharectl set --client ID|--pod [NAMESPACE/]NAME\n"
        "                      [--memory-limit SIZE|none]\n"
        "                      [--core-limit PCT|none]\n"
        "\n"
        "Changes settings of every GPU, or the quotas of one client (an\n"
        "id from 'nvsharectl status') or of every process of a pod, now\n"
        "and later. They apply at once, to running clients too. Several\n"
        "may be given: each is checked before any is sent, and they are\n"
        "applied in the order given.\n"
        "\n"
        "  --mode MODE          auto: clients whose memory fits run\n"
        "                       together, the others take turns with\n"
        "                       their memory swapped out; serial: one\n"
        "                       client at a time; concurrent: no gating\n"
        "  --time-slice auto|MS how long a client may keep running while\n"
        "                       others wait for it: auto (5 x the\n"
        "                       estimated swap time, at least 1 s) or\n"
        "                       " NVS_SETTING_MS_RANGE " ms\n"
        "  --max-run MS         longest slice, whatever the setting\n"
        "                       (" NVS_SETTING_MS_RANGE " ms)\n"
        "  --client ID          the client whose quotas change\n"
        "  --pod [NS/]NAME      the pod whose quotas change (namespace\n"
        "                       default if not given)\n"
        "  --memory-limit SIZE  device memory the process may allocate\n"
        "                       on each GPU: 4Gi, 512Mi, 1.5G, bytes; or\n"
        "                       none. Lowering it below current use\n"
        "                       keeps what is allocated and refuses new\n"
        "                       allocations until use falls below it.\n"
        "  --core-limit PCT     share of each GPU's compute, 1..100 (100:\n"
        "                       unlimited), or none\n",
        ctl_cmd_set,
    },
    {
        "on",
        "turn scheduling on (gate GPU work behind the lock)",
        "usage: nvsharectl on\n"
        "\n"
        "Turns scheduling on: every client gates its GPU work behind the\n"
        "per-GPU lock again.\n",
        ctl_cmd_on,
    },
    {
        "off",
        "turn scheduling off (clients run ungated)",
        "usage: nvsharectl off\n"
        "\n"
        "Turns scheduling off: clients stay connected but submit GPU work\n"
        "without waiting for the lock, as if nvshare were not there.\n",
        ctl_cmd_off,
    },
    {"top", CTL_TOP_SUMMARY, CTL_TOP_USAGE, ctl_cmd_top},
    {
        "help",
        "show this help, or a command's help",
        "usage: nvsharectl help [COMMAND]\n",
        ctl_cmd_help,
    },
};

#define CTL_NCMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static void ctl_print_usage(FILE *f)
{
	fprintf(f, "usage: nvsharectl [--socket PATH] COMMAND [ARGS]\n"
	           "\n"
	           "Inspects and steers the nvshare scheduler of this node.\n"
	           "\n"
	           "Commands:\n");
	for (size_t i = 0; i < CTL_NCMDS; i++)
		fprintf(f, "  %-8s %s\n", ctl_cmds[i].name,
		        ctl_cmds[i].summary);
	fprintf(
	    f,
	    "\n"
	    "Options:\n"
	    "  --socket PATH   scheduler socket (default: $NVSHARE_SOCKET,\n"
	    "                  else %s)\n"
	    "  -h, --help      show this help\n"
	    "\n"
	    "'nvsharectl COMMAND --help' describes a command.\n"
	    "Exit status: 0 ok, 1 failed (scheduler unreachable or request\n"
	    "refused), 2 usage error.\n",
	    NVS_DEFAULT_SOCKET);
}

static const struct ctl_cmd *ctl_find_cmd(const char *name)
{
	for (size_t i = 0; i < CTL_NCMDS; i++)
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return &ctl_cmds[i];
	return NULL;
}

/* Reports a usage error of a subcommand and returns CTL_EXIT_USAGE. */
static int ctl_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nvsharectl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'nvsharectl %s%s--help'\n", cmd ? cmd : "",
	        cmd ? " " : "");
	return CTL_EXIT_USAGE;
}

static int ctl_is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/*
 * Matches argv[*i] against an option that takes a value, given either as
 * "--name VALUE" or "--name=VALUE". Returns 0 if it is another argument,
 * 1 with *value set (and *i advanced past a separate value), -1 if the
 * value is missing.
 */
static int ctl_opt_value(int argc, char **argv, int *i, const char *name,
                         const char **value)
{
	const char *arg = argv[*i];
	size_t n = strlen(name);

	if (strncmp(arg, name, n) != 0)
		return 0;
	if (arg[n] == '=') {
		*value = arg + n + 1;
		return 1;
	}
	if (arg[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*value = argv[++*i];
	return 1;
}

/*
 * Sends one request and waits for its CTL_REPLY. Returns CTL_EXIT_OK with
 * *reply filled (release it with nvs_msg_release), or CTL_EXIT_FAIL after
 * printing why. The reply's status is left to the caller.
 */
static int ctl_request_eof(const struct ctl_ctx *ctx, uint16_t type,
                           const void *payload, size_t len,
                           struct nvs_msg *reply, int *eof);

static int ctl_request(const struct ctl_ctx *ctx, uint16_t type,
                       const void *payload, size_t len, struct nvs_msg *reply)
{
	return ctl_request_eof(ctx, type, payload, len, reply, NULL);
}

/* ctl_request; if eof is given, a connection closed without a reply sets
 * it and is not reported (the caller has another way to ask). */
static int ctl_request_eof(const struct ctl_ctx *ctx, uint16_t type,
                           const void *payload, size_t len,
                           struct nvs_msg *reply, int *eof)
{
	char err[256];
	enum nvs_read_status st;
	int fd;

	fd = nvs_socket_connect(ctx->socket);
	if (fd < 0) {
		fprintf(stderr,
		        "nvsharectl: cannot reach the scheduler at %s: %s\n",
		        ctx->socket, strerror(errno));
		return CTL_EXIT_FAIL;
	}
	if (nvs_msg_send(fd, type, payload, len) < 0) {
		fprintf(stderr,
		        "nvsharectl: cannot send to the scheduler at %s: %s\n",
		        ctx->socket, strerror(errno));
		close(fd);
		return CTL_EXIT_FAIL;
	}
	err[0] = '\0';
	st = nvs_msg_recv(fd, reply, CTL_REPLY_TIMEOUT_MS, err, sizeof(err));
	close(fd);
	if (st == NVS_READ_EOF && eof) {
		*eof = 1;
		return CTL_EXIT_FAIL;
	}
	if (st == NVS_READ_EOF) {
		fprintf(stderr,
		        "nvsharectl: the scheduler at %s closed the connection "
		        "without replying\n",
		        ctx->socket);
		return CTL_EXIT_FAIL;
	}
	if (st != NVS_READ_MSG) {
		fprintf(stderr,
		        "nvsharectl: no valid reply from the scheduler at %s: "
		        "%s\n",
		        ctx->socket, err[0] ? err : "unknown error");
		return CTL_EXIT_FAIL;
	}
	if (reply->hdr.type != NVS_MSG_CTL_REPLY) {
		fprintf(stderr,
		        "nvsharectl: the scheduler at %s answered with %s "
		        "instead of CTL_REPLY\n",
		        ctx->socket, nvs_msg_type_name(reply->hdr.type));
		nvs_msg_release(reply);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

/* Prints reply text, adding a final newline if the text lacks one. */
static void ctl_print_text(FILE *f, const char *text)
{
	size_t n = text ? strlen(text) : 0;

	if (n == 0)
		return;
	fputs(text, f);
	if (text[n - 1] != '\n')
		fputc('\n', f);
}

/*
 * Handles a reply's status: a refusal prints the scheduler's text (or the
 * errno's description if it sent none) on stderr and yields CTL_EXIT_FAIL.
 */
static int ctl_check_reply(const struct nvs_msg *reply)
{
	int32_t status = reply->u.ctl_reply.status;

	if (status == 0)
		return CTL_EXIT_OK;
	if (reply->text && reply->text[0]) {
		fputs("nvsharectl: ", stderr);
		ctl_print_text(stderr, reply->text);
	} else {
		fprintf(stderr, "nvsharectl: the scheduler refused: %s\n",
		        status > 0 ? strerror(status) : "unknown error");
	}
	return CTL_EXIT_FAIL;
}

/* The whole report in one reply, as schedulers before paging send it. */
static int ctl_status_whole(const struct ctl_ctx *ctx, uint32_t format)
{
	struct nvs_ctl_status req = {.format = format};
	struct nvs_msg reply;
	int rc;

	rc = ctl_request(ctx, NVS_MSG_CTL_STATUS, &req,
	                 NVS_CTL_STATUS_LEGACY_SIZE, &reply);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = ctl_check_reply(&reply);
	if (rc == CTL_EXIT_OK)
		ctl_print_text(stdout, reply.text);
	nvs_msg_release(&reply);
	fflush(stdout);
	return rc;
}

/*
 * Prints the report page by page (see CTL_STATUS in proto.h), so that it
 * has no size limit. A scheduler that closes the connection at the first
 * page predates paging: it is asked for the whole report instead.
 */
static int ctl_status_once(const struct ctl_ctx *ctx, uint32_t format)
{
	struct nvs_ctl_status req = {.format = format,
	                             .flags = NVS_CTL_STATUS_PAGED};
	int last = '\n', rc;

	for (;;) {
		struct nvs_msg reply;
		const char *body = "";
		uint64_t next = 0;
		int eof = 0;

		rc = ctl_request_eof(ctx, NVS_MSG_CTL_STATUS, &req, sizeof(req),
		                     &reply, req.after_client ? NULL : &eof);
		if (eof)
			return ctl_status_whole(ctx, format);
		if (rc != CTL_EXIT_OK)
			break;
		rc = ctl_check_reply(&reply);
		if (rc == CTL_EXIT_OK &&
		    ctl_page_parse(reply.text, &next, &body) < 0) {
			fprintf(stderr,
			        "nvsharectl: the scheduler at %s sent a "
			        "malformed status page\n",
			        ctx->socket);
			rc = CTL_EXIT_FAIL;
		} else if (rc == CTL_EXIT_OK && next != 0 &&
		           next <= req.after_client) {
			fprintf(stderr,
			        "nvsharectl: the scheduler at %s sent status "
			        "pages that do not advance (after %llu, next "
			        "%llu)\n",
			        ctx->socket,
			        (unsigned long long)req.after_client,
			        (unsigned long long)next);
			rc = CTL_EXIT_FAIL;
		}
		if (rc == CTL_EXIT_OK && *body) {
			fputs(body, stdout);
			last = (unsigned char)body[strlen(body) - 1];
		}
		nvs_msg_release(&reply);
		if (rc != CTL_EXIT_OK || next == 0)
			break;
		req.after_client = next;
	}
	if (last != '\n')
		fputc('\n', stdout);
	fflush(stdout);
	return rc;
}

static void ctl_print_timestamp(void)
{
	char buf[64];
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm) &&
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z", &tm) > 0)
		printf("--- %s ---\n", buf);
	else
		printf("--- %lld ---\n", (long long)now);
}

static int ctl_cmd_status(struct ctl_ctx *ctx, int argc, char **argv)
{
	uint32_t format = NVS_CTL_FORMAT_TEXT;
	uint64_t watch = 0;
	const char *value;

	for (int i = 1; i < argc; i++) {
		int m;

		if (ctl_is_help(argv[i])) {
			fputs(ctl_find_cmd("status")->usage, stdout);
			return CTL_EXIT_OK;
		}
		if (strcmp(argv[i], "--json") == 0) {
			format = NVS_CTL_FORMAT_JSON;
			continue;
		}
		m = ctl_opt_value(argc, argv, &i, "--watch", &value);
		if (m < 0)
			return ctl_usage_error(
			    "status", "--watch needs a value in seconds");
		if (m > 0) {
			if (nvs_parse_u64(value, 1, CTL_WATCH_MAX, &watch))
				return ctl_usage_error(
				    "status",
				    "invalid --watch '%s': expected whole "
				    "seconds, 1..%llu",
				    value, (unsigned long long)CTL_WATCH_MAX);
			continue;
		}
		return ctl_usage_error("status", "unexpected argument '%s'",
		                       argv[i]);
	}
	if (!watch)
		return ctl_status_once(ctx, format);
	for (;;) {
		int rc;

		ctl_print_timestamp();
		rc = ctl_status_once(ctx, format);
		if (rc != CTL_EXIT_OK)
			return rc;
		sleep((unsigned int)watch);
	}
}

/* Sends a CTL_SET or CTL_SET_CLIENT; on success prints the scheduler's
 * text, or done if none. */
static int ctl_send_setting(const struct ctl_ctx *ctx, uint16_t type,
                            const void *req, size_t len, const char *done)
{
	struct nvs_msg reply;
	int rc;

	rc = ctl_request(ctx, type, req, len, &reply);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = ctl_check_reply(&reply);
	if (rc == CTL_EXIT_OK) {
		if (reply.text && reply.text[0])
			ctl_print_text(stdout, reply.text);
		else
			puts(done);
	}
	nvs_msg_release(&reply);
	return rc;
}

/* One setting of "nvsharectl set", parsed and ready to send. */
struct ctl_setting {
	uint32_t key;  /* enum nvs_ctl_key */
	int64_t value; /* CTL_SET / CTL_SET_CLIENT value */
	char done[64]; /* what to print if the scheduler says nothing */
};

/* The options of "nvsharectl set", in the order of their keys below; the
 * limits (nvs_ctl_key_is_limit) need --client or --pod. */
#define CTL_SET_OPTS 5
static const char *const ctl_set_opts[CTL_SET_OPTS] = {
    "--mode", "--time-slice", "--max-run", "--memory-limit", "--core-limit"};
static const uint32_t ctl_set_keys[CTL_SET_OPTS] = {
    NVS_CTL_KEY_MODE, NVS_CTL_KEY_TIME_SLICE_MS, NVS_CTL_KEY_MAX_RUN_MS,
    NVS_CTL_KEY_MEMORY_LIMIT, NVS_CTL_KEY_CORE_LIMIT};

/* A duration option of "set": whole milliseconds in [min, max] into st;
 * CTL_EXIT_OK or a usage error naming the flag and what it expects. */
static int ctl_parse_ms(const char *value, uint64_t min, uint64_t max,
                        const char *flag, const char *expected,
                        const char *what, struct ctl_setting *st)
{
	uint64_t ms;

	if (nvs_parse_u64(value, min, max, &ms))
		return ctl_usage_error(
		    "set", "invalid %s '%s': expected %s, %llu..%llu", flag,
		    value, expected, (unsigned long long)min,
		    (unsigned long long)max);
	st->value = (int64_t)ms;
	snprintf(st->done, sizeof(st->done), "%s set to %llu ms", what,
	         (unsigned long long)ms);
	return CTL_EXIT_OK;
}

/* Parses the value of option k of "set" into st; CTL_EXIT_OK or a usage
 * error. */
static int ctl_parse_setting(size_t k, const char *value,
                             struct ctl_setting *st)
{
	st->key = ctl_set_keys[k];
	if (nvs_ctl_key_is_limit(st->key) && strcmp(value, "none") == 0) {
		st->value = NVS_CTL_LIMIT_NONE;
		snprintf(st->done, sizeof(st->done), "%s limit removed",
		         st->key == NVS_CTL_KEY_MEMORY_LIMIT ? "memory"
		                                             : "core");
		return CTL_EXIT_OK;
	}
	switch (st->key) {
	case NVS_CTL_KEY_MODE:
		for (unsigned i = 0; i < NVS_MODE_COUNT; i++) {
			if (strcmp(value, nvs_mode_name(i)) != 0)
				continue;
			st->value = (int64_t)i;
			snprintf(st->done, sizeof(st->done), "mode set to %s",
			         nvs_mode_name(i));
			return CTL_EXIT_OK;
		}
		return ctl_usage_error(
		    "set", "invalid --mode '%s': expected " NVS_MODE_CHOICES,
		    value);
	case NVS_CTL_KEY_MEMORY_LIMIT: {
		uint64_t bytes;
		if (nvs_parse_size(value, &bytes) ||
		    !nvs_ctl_limit_valid(st->key, bytes))
			return ctl_usage_error(
			    "set",
			    "invalid --memory-limit '%s': expected a size "
			    "above zero (4Gi, 512Mi, 1.5G, bytes) or none",
			    value);
		st->value = (int64_t)bytes;
		snprintf(st->done, sizeof(st->done), "memory limit set to %s",
		         value);
		return CTL_EXIT_OK;
	}
	case NVS_CTL_KEY_CORE_LIMIT: {
		uint64_t pct;
		if (nvs_parse_u64(value, 0, UINT64_MAX, &pct) ||
		    !nvs_ctl_limit_valid(st->key, pct))
			return ctl_usage_error(
			    "set",
			    "invalid --core-limit '%s': expected a "
			    "percentage 1..%d or none",
			    value, NVS_CORE_LIMIT_MAX);
		st->value = (int64_t)pct;
		snprintf(st->done, sizeof(st->done), "core limit set to %s%%",
		         value);
		return CTL_EXIT_OK;
	}
	case NVS_CTL_KEY_TIME_SLICE_MS:
		if (strcmp(value, "auto") == 0) {
			st->value = NVS_TIME_SLICE_AUTO;
			snprintf(st->done, sizeof(st->done),
			         "time slice set to auto");
			return CTL_EXIT_OK;
		}
		return ctl_parse_ms(value, NVS_SETTING_MS_MIN,
		                    NVS_SETTING_MS_MAX, "--time-slice",
		                    "auto or whole milliseconds", "time slice",
		                    st);
	default:
		return ctl_parse_ms(value, NVS_SETTING_MS_MIN,
		                    NVS_SETTING_MS_MAX, "--max-run",
		                    "whole milliseconds", "max run", st);
	}
}

/* The target of --client ID or --pod [NS/]NAME into req; CTL_EXIT_OK or a
 * usage error. */
static int ctl_parse_target(const char *flag, const char *value,
                            struct nvs_ctl_set_client *req)
{
	const char *slash;
	size_t nslen;

	if (req->client_id || req->pod_name[0])
		return ctl_usage_error("set",
		                       "give one target: --client or --pod");
	if (strcmp(flag, "--client") == 0) {
		if (nvs_parse_u64(value, 1, UINT64_MAX, &req->client_id))
			return ctl_usage_error(
			    "set",
			    "invalid --client '%s': expected a client id "
			    "from 'nvsharectl status'",
			    value);
		return CTL_EXIT_OK;
	}
	slash = strchr(value, '/');
	nslen = slash ? (size_t)(slash - value) : 0;
	if ((slash && (nslen == 0 || strchr(slash + 1, '/'))) ||
	    nslen >= sizeof(req->pod_namespace) ||
	    strlen(slash ? slash + 1 : value) == 0 ||
	    strlen(slash ? slash + 1 : value) >= sizeof(req->pod_name))
		return ctl_usage_error(
		    "set", "invalid --pod '%s': expected [NAMESPACE/]NAME",
		    value);
	memcpy(req->pod_namespace, value, nslen);
	snprintf(req->pod_name, sizeof(req->pod_name), "%s",
	         slash ? slash + 1 : value);
	return CTL_EXIT_OK;
}

static int ctl_cmd_set(struct ctl_ctx *ctx, int argc, char **argv)
{
	struct ctl_setting settings[CTL_SET_OPTS];
	struct nvs_ctl_set_client target = {0};
	size_t n = 0, nclient = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *value = NULL;
		size_t k;
		int m = 0;

		if (ctl_is_help(argv[i])) {
			fputs(ctl_find_cmd("set")->usage, stdout);
			return CTL_EXIT_OK;
		}
		for (const char *const *t =
		         (const char *const[]){"--client", "--pod", NULL};
		     *t && m == 0; t++) {
			m = ctl_opt_value(argc, argv, &i, *t, &value);
			if (m < 0)
				return ctl_usage_error("set",
				                       "%s needs a value", *t);
			if (m > 0) {
				rc = ctl_parse_target(*t, value, &target);
				if (rc != CTL_EXIT_OK)
					return rc;
			}
		}
		if (m > 0)
			continue;
		for (k = 0; k < CTL_SET_OPTS; k++) {
			m = ctl_opt_value(argc, argv, &i, ctl_set_opts[k],
			                  &value);
			if (m != 0)
				break;
		}
		if (m < 0)
			return ctl_usage_error("set", "%s needs a value",
			                       ctl_set_opts[k]);
		if (m == 0)
			return ctl_usage_error(
			    "set", "unexpected argument '%s'", argv[i]);
		for (size_t j = 0; j < n; j++)
			if (settings[j].key == ctl_set_keys[k])
				return ctl_usage_error("set", "%s given twice",
				                       ctl_set_opts[k]);
		rc = ctl_parse_setting(k, value, &settings[n]);
		if (rc != CTL_EXIT_OK)
			return rc;
		nclient += nvs_ctl_key_is_limit(settings[n].key);
		n++;
	}
	if (n == 0)
		return ctl_usage_error(
		    "set", "nothing to set: give --mode, --time-slice, "
		           "--max-run, --memory-limit or --core-limit");
	if (target.client_id || target.pod_name[0] ? nclient != n
	                                           : nclient != 0)
		return ctl_usage_error(
		    "set", "--memory-limit and --core-limit need --client or "
		           "--pod, and the other settings take neither");
	for (size_t j = 0; j < n; j++) {
		if (nvs_ctl_key_is_limit(settings[j].key)) {
			target.key = settings[j].key;
			target.value = settings[j].value;
			rc = ctl_send_setting(ctx, NVS_MSG_CTL_SET_CLIENT,
			                      &target, sizeof(target),
			                      settings[j].done);
		} else {
			struct nvs_ctl_set req = {.key = settings[j].key,
			                          .value = settings[j].value};
			rc = ctl_send_setting(ctx, NVS_MSG_CTL_SET, &req,
			                      sizeof(req), settings[j].done);
		}
		if (rc != CTL_EXIT_OK)
			return rc;
	}
	return CTL_EXIT_OK;
}

/* Shared body of "on" and "off": no arguments besides --help. */
static int ctl_managed(struct ctl_ctx *ctx, int argc, char **argv, int on)
{
	const char *name = on ? "on" : "off";

	for (int i = 1; i < argc; i++) {
		if (ctl_is_help(argv[i])) {
			fputs(ctl_find_cmd(name)->usage, stdout);
			return CTL_EXIT_OK;
		}
		return ctl_usage_error(name, "unexpected argument '%s'",
		                       argv[i]);
	}
	struct nvs_ctl_set req = {.key = NVS_CTL_KEY_MANAGED, .value = on};

	return ctl_send_setting(ctx, NVS_MSG_CTL_SET, &req, sizeof(req),
	                        on ? "scheduling is on" : "scheduling is off");
}

static int ctl_cmd_on(struct ctl_ctx *ctx, int argc, char **argv)
{
	return ctl_managed(ctx, argc, argv, 1);
}

static int ctl_cmd_off(struct ctl_ctx *ctx, int argc, char **argv)
{
	return ctl_managed(ctx, argc, argv, 0);
}

static int ctl_cmd_help(struct ctl_ctx *ctx, int argc, char **argv)
{
	const struct ctl_cmd *cmd;

	if (argc < 2) {
		ctl_print_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (argc > 2)
		return ctl_usage_error("help", "expected at most one command");
	if (ctl_is_help(argv[1])) {
		fputs(ctl_find_cmd("help")->usage, stdout);
		return CTL_EXIT_OK;
	}
	cmd = ctl_find_cmd(argv[1]);
	if (!cmd)
		return ctl_usage_error("help", "unknown command '%s'", argv[1]);
	fputs(cmd->usage, stdout);
	return CTL_EXIT_OK;
}

/* Takes the scheduler socket from --socket, NVSHARE_SOCKET or the default. */
static int ctl_set_socket(struct ctl_ctx *ctx, const char *path)
{
	if (path) {
		if (!*path)
			return ctl_usage_error(NULL, "--socket needs a path");
		if (strlen(path) >= sizeof(ctx->socket))
			return ctl_usage_error(
			    NULL,
			    "--socket path is too long (%zu bytes, "
			    "at most %zu)",
			    strlen(path), sizeof(ctx->socket) - 1);
		snprintf(ctx->socket, sizeof(ctx->socket), "%s", path);
		return CTL_EXIT_OK;
	}
	if (nvs_socket_path(ctx->socket, sizeof(ctx->socket)) < 0)
		fprintf(stderr,
		        "nvsharectl: ignoring NVSHARE_SOCKET (empty or longer "
		        "than %zu bytes); using %s\n",
		        sizeof(ctx->socket) - 1, ctx->socket);
	return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct ctl_ctx ctx;
	const struct ctl_cmd *cmd;
	const char *socket = NULL;
	int i, rc;

	memset(&ctx, 0, sizeof(ctx));
	for (i = 1; i < argc; i++) {
		int m;

		if (ctl_is_help(argv[i])) {
			ctl_print_usage(stdout);
			return CTL_EXIT_OK;
		}
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		m = ctl_opt_value(argc, argv, &i, "--socket", &socket);
		if (m < 0)
			return ctl_usage_error(NULL, "--socket needs a path");
		if (m > 0)
			continue;
		if (argv[i][0] == '-')
			return ctl_usage_error(NULL, "unknown option '%s'",
			                       argv[i]);
		break;
	}
	if (i >= argc) {
		ctl_print_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	cmd = ctl_find_cmd(argv[i]);
	if (!cmd)
		return ctl_usage_error(NULL, "unknown command '%s'", argv[i]);
	rc = ctl_set_socket(&ctx, socket);
	if (rc != CTL_EXIT_OK)
		return rc;
	rc = cmd->run(&ctx, argc - i, argv + i);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "nvsharectl: cannot write the output: %s\n",
		        strerror(errno));
		return CTL_EXIT_FAIL;
	}
	return rc;
}
