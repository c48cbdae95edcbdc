/*
 * main.c - nvshare-device-plugin: flags, then serve and register for as
 * long as it runs. When the kubelet restarts (kubelet.sock created anew)
 * or the plugin's socket is deleted, it serves again and re-registers.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kubelet_dir.h"
#include "log.h"
#include "parse.h"
#include "plugin_core.h"
#include "transport.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: nvshare-device-plugin [options]\n"
	    "  --kubelet-dir DIR        the kubelet's device-plugin "
	    "directory\n"
	    "                           (default " DP_DEFAULT_KUBELET_DIR ")\n"
	    "  --endpoint NAME          the plugin's socket in it "
	    "(default " DP_DEFAULT_ENDPOINT ")\n"
	    "  --resource-name NAME     (default " DP_DEFAULT_RESOURCE ")\n"
	    "  --slots-per-gpu N        devices each GPU offers, 1..%d "
	    "(default %u)\n"
	    "  --scheduler-socket PATH  the scheduler's socket (default "
	    "/var/run/nvshare/scheduler.sock)\n"
	    "  --host-socket-dir DIR    that socket's directory on the host "
	    "(default: its dirname)\n"
	    "  --container-socket-dir DIR  where containers see it "
	    "(default " DP_DEFAULT_CONTAINER_SOCKET_DIR ")\n"
	    "  --host-lib-dir DIR       libnvshare.so's directory on the "
	    "host (default " DP_DEFAULT_HOST_LIB_DIR ")\n"
	    "  --container-lib-dir DIR  where containers see it "
	    "(default " DP_DEFAULT_CONTAINER_LIB_DIR ")\n"
	    "  --cdi-kind KIND          also name GPUs as CDI devices "
	    "KIND=<UUID> (e.g. nvidia.com/gpu)\n"
	    "  --virtual-memory V       what a GPU's clients may commit "
	    "together: a ratio of\n"
	    "                           its memory (2.0, the default) or a "
	    "size (48Gi)\n"
	    "  --pending-timeout S      seconds an allocation counts "
	    "before its container\n"
	    "                           reaches the scheduler (default %u)\n"
	    "  --xid-hold S             seconds a critical XID keeps a GPU "
	    "unhealthy\n"
	    "                           without a reset (default 0: until "
	    "a reset)\n"
	    "  --nvml PATH              the NVML library (default "
	    "libnvidia-ml.so.1)\n",
	    DP_MAX_SLOTS, DP_DEFAULT_SLOTS, DP_DEFAULT_PENDING_S);
}

static int copy_opt(char *dst, size_t len, const char *flag, const char *v)
{
	if (!v[0] || strlen(v) >= len) {
		fprintf(stderr,
		        "nvshare-device-plugin: %s: empty or longer "
		        "than %zu bytes\n",
		        flag, len - 1);
		return -1;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* --virtual-memory: a ratio ("1.5", at most 100) or a size ("48Gi"). */
static int parse_vmem(const char *v, struct dp_config *c)
{
	char *end;
	double r;

	if (strpbrk(v, "KMGTkmgtiB") == NULL) {
		r = strtod(v, &end);
		if (end == v || *end || !(r >= 0.1 && r <= 100.0))
			return -1;
		c->vmem_ratio_pct = (unsigned)(r * 100 + 0.5);
		c->vmem_bytes = 0;
		return 0;
	}
	return nvs_parse_size(v, &c->vmem_bytes) == 0 && c->vmem_bytes ? 0 : -1;
}

static int parse_args(int argc, char **argv, struct dp_config *c)
{
	static const struct option opts[] = {
	    {"kubelet-dir", required_argument, NULL, 'k'},
	    {"endpoint", required_argument, NULL, 'e'},
	    {"resource-name", required_argument, NULL, 'r'},
	    {"slots-per-gpu", required_argument, NULL, 'n'},
	    {"scheduler-socket", required_argument, NULL, 's'},
	    {"host-socket-dir", required_argument, NULL, 'S'},
	    {"container-socket-dir", required_argument, NULL, 'C'},
	    {"host-lib-dir", required_argument, NULL, 'L'},
	    {"container-lib-dir", required_argument, NULL, 'l'},
	    {"cdi-kind", required_argument, NULL, 'c'},
	    {"virtual-memory", required_argument, NULL, 'v'},
	    {"pending-timeout", required_argument, NULL, 'p'},
	    {"xid-hold", required_argument, NULL, 'x'},
	    {"nvml", required_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t u;
	int o, idx = 0;

	while ((o = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		int bad = 0;

		switch (o) {
		case 'k':
			bad = copy_opt(c->kubelet_dir, sizeof(c->kubelet_dir),
			               "--kubelet-dir", optarg);
			break;
		case 'e':
			bad = copy_opt(c->endpoint, sizeof(c->endpoint),
			               "--endpoint", optarg) ||
			      strchr(optarg, '/');
			break;
		case 'r':
			bad =
			    copy_opt(c->resource_name, sizeof(c->resource_name),
			             "--resource-name", optarg) ||
			    !strchr(optarg, '/');
			break;
		case 's':
			bad = copy_opt(c->scheduler_socket,
			               sizeof(c->scheduler_socket),
			               "--scheduler-socket", optarg);
			break;
		case 'S':
			bad = copy_opt(c->host_socket_dir,
			               sizeof(c->host_socket_dir),
			               "--host-socket-dir", optarg);
			break;
		case 'C':
			bad = copy_opt(c->container_socket_dir,
			               sizeof(c->container_socket_dir),
			               "--container-socket-dir", optarg);
			break;
		case 'L':
			bad = copy_opt(c->host_lib_dir, sizeof(c->host_lib_dir),
			               "--host-lib-dir", optarg);
			break;
		case 'l':
			bad = copy_opt(c->container_lib_dir,
			               sizeof(c->container_lib_dir),
			               "--container-lib-dir", optarg);
			break;
		case 'c':
			bad = copy_opt(c->cdi_kind, sizeof(c->cdi_kind),
			               "--cdi-kind", optarg) ||
			      !strchr(optarg, '/');
			break;
		case 'N':
			bad = copy_opt(c->nvml_lib, sizeof(c->nvml_lib),
			               "--nvml", optarg);
			break;
		case 'n':
			bad = nvs_parse_u64(optarg, 1, DP_MAX_SLOTS, &u) < 0;
			c->slots = (unsigned)u;
			break;
		case 'p':
			bad = nvs_parse_u64(optarg, 1, 86400, &u) < 0;
			c->pending_timeout_ns = (int64_t)u * 1000000000;
			break;
		case 'x':
			bad = nvs_parse_u64(optarg, 0, 86400, &u) < 0;
			c->xid_hold_ns = (int64_t)u * 1000000000;
			break;
		case 'v': bad = parse_vmem(optarg, c) < 0; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
		if (bad) {
			fprintf(
			    stderr,
			    "nvshare-device-plugin: invalid value \"%s\" for "
			    "--%s\n",
			    optarg, opts[idx].name);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
		        "nvshare-device-plugin: unexpected argument "
		        "\"%s\"\n",
		        argv[optind]);
		return -1;
	}
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Serves until the kubelet's directory says to start over, or a signal.
 * Returns 0 to start over. */
static int serve_once(struct dp_plugin *p, const struct dp_config *c)
{
	char sock[PATH_MAX + 64], kubelet[PATH_MAX + 64], err[256];
	struct dp_server *srv;
	int kd, registered = 0, warned = 0;
	struct stat st;

	snprintf(sock, sizeof(sock), "%s/%s", c->kubelet_dir, c->endpoint);
	snprintf(kubelet, sizeof(kubelet), "%s/%s", c->kubelet_dir,
	         DP_KUBELET_SOCKET);
	/* watch first, so that no change after serving is missed */
	kd = dp_kdir_open(c->kubelet_dir);
	if (kd < 0) {
		NVS_WARN("event=kubelet_dir_unwatched dir=%s reason=\"%s\" "
		         "msg=\"retrying\"",
		         c->kubelet_dir, strerror(errno));
		sleep_ms(1000);
		return 0;
	}
	srv = dp_server_start(p, sock, err, sizeof(err));
	if (!srv) {
		NVS_WARN("event=serve_failed socket=%s reason=\"%s\"", sock,
		         err);
		close(kd);
		sleep_ms(1000);
		return 0;
	}
	NVS_INFO("event=serving socket=%s resource=%s", sock, c->resource_name);
	while (!stopping) {
		unsigned ev;

		if (!registered) {
			if (dp_register(kubelet, c->endpoint, c->resource_name,
			                2000, err, sizeof(err)) == 0) {
				registered = 1;
				NVS_INFO(
				    "event=registered kubelet=%s resource=%s "
				    "endpoint=%s",
				    kubelet, c->resource_name, c->endpoint);
			} else if (!warned) {
				warned = 1;
				NVS_WARN(
				    "event=register_failed kubelet=%s "
				    "reason=\"%s\" msg=\"retrying every "
				    "second and when kubelet.sock appears\"",
				    kubelet, err);
			}
		}
		ev = dp_kdir_wait(kd, c->endpoint, registered ? 1000 : 500);
		/* inotify can overflow or miss a rename: check the file */
		if (stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode))
			ev |= DP_KDIR_OURS_GONE;
		if (ev & DP_KDIR_OURS_GONE) {
			NVS_INFO("event=socket_gone socket=%s msg=\"serving "
			         "again\"",
			         sock);
			break;
		}
		if (ev & DP_KDIR_KUBELET_NEW) {
			NVS_INFO("event=kubelet_restarted msg=\"registering "
			         "again\"");
			registered = 0;
			warned = 0;
		}
	}
	dp_server_stop(srv);
	close(kd);
	if (stopping)
		unlink(sock);
	return stopping ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct dp_config c;
	struct dp_plugin *p;
	struct sigaction sa;
	char err[256];

	nvs_log_init("nvshare-device-plugin", NVS_LOG_INFO);
	dp_config_defaults(&c);
	if (parse_args(argc, argv, &c) < 0)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	p = dp_plugin_new(&c, err, sizeof(err));
	if (!p) {
		NVS_ERROR("event=start_failed reason=\"%s\"", err);
		return 1;
	}
	while (serve_once(p, &c) == 0 && !stopping)
		;
	dp_plugin_free(p);
	NVS_INFO("event=stopped");
	return 0;
}
