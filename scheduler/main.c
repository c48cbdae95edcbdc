/*
 * main.c - nvshare-scheduler: flags, then the event loop.
 *
 * The scheduler runs in the foreground and logs to stderr, so that a
 * service manager or a container runtime supervises and collects it. Every
 * flag is validated before anything starts; a bad one is named and the
 * program exits with status 2.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gpu_inventory.h"
#include "kube_config.h"
#include "kube_watch.h"
#include "log.h"
#include "metrics_http.h"
#include "parse.h"
#include "proto.h"
#include "server.h"
#include "sock.h"

#define DEFAULT_RELEASE_GRACE_MS 5000
#define DEFAULT_CORE_WINDOW_MS 100 /* see docs/scheduler.md */
#define EXIT_USAGE 2
#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: nvshare-scheduler [--socket PATH] [--mode MODE]\n"
	    "                         [--time-slice auto|MS] [--max-run MS]\n"
	    "                         [--release-grace MS] [--core-window MS]\n"
	    "                         [--gpu-memory UUID=SIZE]...\n"
	    "                         [--host-swap-budget SIZE|none]\n"
	    "                         [--trust-pod-names]\n"
	    "                         [--metrics-address HOST:PORT]\n"
	    "                         [--web-root DIR]\n"
	    "                         [--kube-api URL] [--node-name NAME]\n"
	    "                         [--kube-token-file PATH]\n"
	    "                         [--kube-ca-file PATH] [--help]\n"
	    "\n"
	    "Shares each GPU of this node among the processes running under\n"
	    "libnvshare.so: together while their memory fits, in time\n"
	    "slices (with their memory swapped out) when it does not.\n"
	    "\n"
	    "  --socket PATH          listening socket (default: "
	    "$NVSHARE_SOCKET,\n"
	    "                         else %s)\n"
	    "  --mode MODE            auto: run together what fits, take\n"
	    "                         turns otherwise; serial: one process\n"
	    "                         at a time; concurrent: no gating\n"
	    "                         (default auto)\n"
	    "  --time-slice auto|MS   how long a process keeps a GPU while\n"
	    "                         others wait: auto (5 x the estimated\n"
	    "                         swap time, at least 1 s) "
	    "or " NVS_SETTING_MS_RANGE "\n"
	    "                         ms (default auto)\n"
	    "  --max-run MS           longest slice, whatever the setting,\n"
	    "                         " NVS_SETTING_MS_RANGE " (default %d)\n"
	    "  --release-grace MS     time a process has to release after "
	    "being\n"
	    "                         asked, 100..600000 (default %d)\n"
	    "  --core-window MS       compute-quota window: a process limited\n"
	    "                         to N%% may use N%% of each window of\n"
	    "                         GPU time, 100..10000, a multiple of 10\n"
	    "                         (default %d)\n"
	    "  --gpu-memory UUID=SIZE treat GPU UUID as having SIZE bytes of\n"
	    "                         memory (e.g. GPU-...=4Gi), whatever\n"
	    "                         NVML says; a GPU NVML does not list\n"
	    "                         is added; repeatable\n"
	    "  --host-swap-budget SIZE|none  host memory that memory swapped\n"
	    "                         out of all GPUs may take together\n"
	    "                         (default: half of the host's memory)\n"
	    "  --trust-pod-names      limits set for a pod (nvsharectl set\n"
	    "                         --pod) also apply to processes that\n"
	    "                         only declare that pod, unconfirmed by\n"
	    "                         the kernel: for nodes without\n"
	    "                         Kubernetes whose users are trusted\n"
	    "  --metrics-address HOST:PORT  serve Prometheus metrics at\n"
	    "                         http://HOST:PORT/metrics (default: off)\n"
	    "  --web-root DIR         files of the page at http://HOST:PORT/\n"
	    "                         (default: share/nvshare/web by bin/)\n"
	    "  --kube-api URL         follow this node's pods on the API\n"
	    "                         server at https://HOST[:PORT]\n"
	    "                         (default: from KUBERNETES_SERVICE_HOST\n"
	    "                         and _PORT when both are set, else off)\n"
	    "  --kube-token-file PATH bearer token, read again before each\n"
	    "                         request (default:\n"
	    "                         " KUBE_SA_DIR "/token)\n"
	    "  --kube-ca-file PATH    CA the API server's certificate must\n"
	    "                         chain to (default:\n"
	    "                         " KUBE_SA_DIR "/ca.crt)\n"
	    "  --node-name NAME       this node's name (default: $NODE_NAME)\n"
	    "  --help                 show this text\n",
	    NVS_DEFAULT_SOCKET, REGISTRY_DEFAULT_MAX_RUN_MS,
	    DEFAULT_RELEASE_GRACE_MS, DEFAULT_CORE_WINDOW_MS);
}

static int bad_flag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_flag(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nvshare-scheduler: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'nvshare-scheduler --help'.\n");
	return -1;
}

static int parse_ms(const char *s, uint64_t min, uint64_t max, uint32_t *out,
                    const char *flag)
{
	uint64_t v;

	if (nvs_parse_u64(s, min, max, &v) < 0)
		return bad_flag("invalid %s \"%s\": want an integer number of "
		                "milliseconds in %llu..%llu",
		                flag, s, (unsigned long long)min,
		                (unsigned long long)max);
	*out = (uint32_t)v;
	return 0;
}

static int parse_slice(const char *s, struct sched_config *cfg)
{
	uint64_t v;

	if (strcmp(s, "auto") == 0) {
		cfg->time_slice_ms = REGISTRY_SLICE_AUTO;
		return 0;
	}
	if (nvs_parse_u64(s, NVS_SETTING_MS_MIN, NVS_SETTING_MS_MAX, &v) < 0)
		return bad_flag("invalid --time-slice \"%s\": want auto or an "
		                "integer number of milliseconds "
		                "in " NVS_SETTING_MS_RANGE,
		                s);
	cfg->time_slice_ms = (uint32_t)v;
	return 0;
}

static int parse_mode(const char *s, struct sched_config *cfg)
{
	static const enum policy_mode modes[] = {
	    POLICY_MODE_AUTO, POLICY_MODE_SERIAL, POLICY_MODE_CONCURRENT};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(s, policy_mode_name(modes[i])) == 0) {
			cfg->mode = modes[i];
			return 0;
		}
	}
	return bad_flag("invalid --mode \"%s\": want " NVS_MODE_CHOICES, s);
}

static int parse_override(const char *arg, struct sched_config *cfg)
{
	const char *eq = strchr(arg, '=');
	struct sched_gpu_override *o;
	char uuid[NVS_UUID_SIZE];
	size_t len;

	if (!eq)
		return bad_flag("invalid --gpu-memory \"%s\": want UUID=SIZE",
		                arg);
	len = (size_t)(eq - arg);
	if (len >= sizeof(uuid))
		return bad_flag("invalid --gpu-memory \"%s\": UUID too long",
		                arg);
	memcpy(uuid, arg, len);
	uuid[len] = '\0';
	if (!nvs_uuid_valid(uuid))
		return bad_flag("invalid --gpu-memory \"%s\": UUID must look "
		                "like GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
		                arg);
	for (size_t i = 0; i < cfg->noverrides; i++)
		if (strcasecmp(cfg->overrides[i].uuid, uuid) == 0)
			return bad_flag("duplicate --gpu-memory for %s", uuid);
	if (cfg->noverrides == SCHED_MAX_OVERRIDES)
		return bad_flag("too many --gpu-memory flags (at \"%s\")", arg);
	o = &cfg->overrides[cfg->noverrides];
	if (nvs_parse_size(eq + 1, &o->bytes) < 0 || o->bytes == 0)
		return bad_flag("invalid --gpu-memory \"%s\": SIZE must be a "
		                "nonzero size such as 4Gi, 512Mi or 1073741824",
		                arg);
	inventory_canonical(uuid, o->uuid);
	cfg->noverrides++;
	return 0;
}

static int parse_host_budget(const char *arg, struct sched_config *cfg)
{
	uint64_t v;

	if (strcmp(arg, "none") == 0) {
		cfg->host_swap_budget = 0;
		return 0;
	}
	if (nvs_parse_size(arg, &v) < 0 || v == 0)
		return bad_flag(
		    "invalid --host-swap-budget \"%s\": want none or "
		    "a nonzero size (64Gi, 512Mi, bytes)",
		    arg);
	cfg->host_swap_budget = v;
	return 0;
}

/* Half of MemTotal: page-locked swap buffers cannot be paged out, and the
 * other half is left to the applications' own host memory and the rest
 * of the node. 0 (no budget) if the host's memory cannot be read. */
static uint64_t default_host_budget(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kib = 0;
	char line[128];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return (uint64_t)kib * 1024 / 2;
}

static int parse_socket(const char *arg, struct sched_config *cfg)
{
	if (!*arg || strlen(arg) >= sizeof(cfg->socket_path))
		return bad_flag("invalid --socket \"%s\": empty or longer than "
		                "a UNIX socket path may be",
		                arg);
	snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s", arg);
	return 0;
}

/* The Kubernetes watcher's settings (kube_settings() decides if it runs). */
static struct kube_watch_config kube_cfg = {
    .token_file = KUBE_SA_DIR "/token",
    .ca_file = KUBE_SA_DIR "/ca.crt",
};
static int kube_api_given, node_name_given;

static int parse_kube_api(const char *arg)
{
	char why[160];

	if (!kube_watch_available(why, sizeof(why)))
		return bad_flag("invalid --kube-api \"%s\": %s", arg, why);
	if (kube_url_check(arg, kube_cfg.api_url, why, sizeof(why)) < 0)
		return bad_flag("invalid --kube-api \"%s\": %s", arg, why);
	kube_api_given = 1;
	return 0;
}

static int parse_kube_path(const char *arg, char *out, const char *flag)
{
	if (!*arg || strlen(arg) >= KUBE_PATH_MAX)
		return bad_flag("invalid %s \"%s\": empty or longer than %d "
		                "bytes",
		                flag, arg, KUBE_PATH_MAX - 1);
	for (const char *p = arg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return bad_flag("invalid %s: a control character in "
			                "the path",
			                flag);
	snprintf(out, KUBE_PATH_MAX, "%s", arg);
	return 0;
}

static int node_name_ok(const char *s)
{
	return kube_dns_subdomain_valid(s, strlen(s)) &&
	       strlen(s) < KUBE_NODE_NAME_SIZE;
}

static int parse_node_name(const char *arg)
{
	if (!node_name_ok(arg))
		return bad_flag(
		    "invalid --node-name \"%s\": want a DNS "
		    "subdomain (lower case letters, digits, '-' and "
		    "'.', at most 253)",
		    arg);
	snprintf(kube_cfg.node_name, sizeof(kube_cfg.node_name), "%s", arg);
	node_name_given = 1;
	return 0;
}

/* Whether the watcher runs: --kube-api, or in a cluster (the environment
 * the kubelet gives every container). Without a node name that is a
 * usage error when --kube-api asked for it, and a logged error (no
 * watcher) when only the environment did. Returns -1 for a usage error. */
static int kube_settings(struct sched_config *cfg)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *node = getenv("NODE_NAME");
	char why[200] = "";

	if (!kube_api_given) {
		if (!host || !port)
			return 0;
		if (kube_url_from_service(host, port, kube_cfg.api_url, why,
		                          sizeof(why)) < 0) {
			NVS_ERROR("event=kube_watch_off reason=\"%s\"", why);
			return 0;
		}
	}
	if (!node_name_given) {
		if (!node || !*node)
			snprintf(
			    why, sizeof(why),
			    "no node name: give --node-name or set "
			    "NODE_NAME (the downward API's spec.nodeName)");
		else if (!node_name_ok(node))
			snprintf(why, sizeof(why),
			         "NODE_NAME is not a DNS subdomain");
		else
			snprintf(kube_cfg.node_name, sizeof(kube_cfg.node_name),
			         "%s", node);
		if (why[0]) {
			if (kube_api_given)
				return bad_flag("--kube-api: %s", why);
			NVS_ERROR("event=kube_watch_off reason=\"%s\"", why);
			return 0;
		}
	}
	cfg->kube = &kube_cfg;
	return 0;
}

static const char *metrics_address; /* --metrics-address, or NULL */
static const char *web_root;        /* --web-root, or NULL */

static int parse_metrics_address(const char *arg)
{
	char why[128];

	if (metrics_http_check_address(arg, why, sizeof(why)))
		return bad_flag("invalid --metrics-address \"%s\": %s", arg,
		                why);
	metrics_address = arg;
	return 0;
}

/* Returns 0 to run, 1 after --help, -1 on a bad flag. */
static int parse_args(int argc, char **argv, struct sched_config *cfg)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"mode", required_argument, NULL, 'o'},
	    {"time-slice", required_argument, NULL, 't'},
	    {"max-run", required_argument, NULL, 'r'},
	    {"release-grace", required_argument, NULL, 'g'},
	    {"gpu-memory", required_argument, NULL, 'm'},
	    {"core-window", required_argument, NULL, 'w'},
	    {"host-swap-budget", required_argument, NULL, 'b'},
	    {"trust-pod-names", no_argument, NULL, 'P'},
	    {"metrics-address", required_argument, NULL, 'M'},
	    {"web-root", required_argument, NULL, 'W'},
	    {"kube-api", required_argument, NULL, 'K'},
	    {"kube-token-file", required_argument, NULL, 'T'},
	    {"kube-ca-file", required_argument, NULL, 'C'},
	    {"node-name", required_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt, rc = 0;

	while (rc == 0 &&
	       (opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 's': rc = parse_socket(optarg, cfg); break;
		case 'o': rc = parse_mode(optarg, cfg); break;
		case 't': rc = parse_slice(optarg, cfg); break;
		case 'r':
			rc = parse_ms(optarg, NVS_SETTING_MS_MIN,
			              NVS_SETTING_MS_MAX, &cfg->max_run_ms,
			              "--max-run");
			break;
		case 'g':
			rc =
			    parse_ms(optarg, 100, 600000,
			             &cfg->release_grace_ms, "--release-grace");
			break;
		case 'm': rc = parse_override(optarg, cfg); break;
		case 'b': rc = parse_host_budget(optarg, cfg); break;
		case 'w':
			rc = parse_ms(optarg, 100, 10000, &cfg->core_window_ms,
			              "--core-window");
			if (rc == 0 &&
			    cfg->core_window_ms % (NVS_USAGE_TICK_NS / 1000000))
				rc = bad_flag("invalid --core-window \"%s\": "
				              "want a multiple of 10 ms (the "
				              "usage tick)",
				              optarg);
			break;
		case 'P': cfg->trust_pod_names = 1; break;
		case 'M': rc = parse_metrics_address(optarg); break;
		case 'W':
			web_root = optarg;
			if (!*optarg || strlen(optarg) > 3000)
				rc = bad_flag("invalid --web-root \"%s\"",
				              optarg);
			break;
		case 'K': rc = parse_kube_api(optarg); break;
		case 'T':
			rc = parse_kube_path(optarg, kube_cfg.token_file,
			                     "--kube-token-file");
			break;
		case 'C':
			rc = parse_kube_path(optarg, kube_cfg.ca_file,
			                     "--kube-ca-file");
			break;
		case 'N': rc = parse_node_name(optarg); break;
		case 'h': usage(stdout); return 1;
		default: return bad_flag("invalid flag");
		}
	}
	if (rc == 0 && optind < argc)
		rc = bad_flag("unexpected argument \"%s\"", argv[optind]);
	if (rc == 0)
		rc = kube_settings(cfg);
	return rc;
}

/* The node's GPUs: the overrides, then what NVML lists (one line says
 * where they came from, and if NVML could not be asked, why). */
static void learn_gpus(struct sched_config *cfg, struct gpu_inventory *inv)
{
	char why[160];
	int n;

	inventory_init(inv, NULL);
	for (size_t i = 0; i < cfg->noverrides; i++)
		inventory_set(inv, cfg->overrides[i].uuid, 0,
		              cfg->overrides[i].bytes);
	n = inventory_scan(inv, nvs_now_ns(), why, sizeof(why));
	if (n < 0)
		NVS_WARN("event=nvml_unavailable reason=\"%s\" gpus=%zu "
		         "msg=\"GPUs known from --gpu-memory only; clients of "
		         "other GPUs run unmanaged\"",
		         why, inv->n);
	else
		NVS_INFO("event=gpus_found nvml=%d overrides=%zu gpus=%zu", n,
		         cfg->noverrides, inv->n);
	for (size_t i = 0; i < inv->n; i++) {
		const struct inventory_gpu *g = &inv->gpus[i];
		char size[32];

		nvs_format_size(inventory_capacity(g), size, sizeof(size));
		NVS_INFO("event=gpu_known gpu=%s capacity_bytes=%llu "
		         "capacity=\"%s\" driver_bytes=%llu override=%d",
		         g->uuid, (unsigned long long)inventory_capacity(g),
		         size, (unsigned long long)g->driver_bytes,
		         g->override_bytes != 0);
	}
	cfg->gpus = inv;
}

int main(int argc, char **argv)
{
	static struct gpu_inventory inventory;
	static struct sched_config cfg = {
	    .mode = POLICY_MODE_AUTO,
	    .time_slice_ms = REGISTRY_SLICE_AUTO,
	    .max_run_ms = REGISTRY_DEFAULT_MAX_RUN_MS,
	    .release_grace_ms = DEFAULT_RELEASE_GRACE_MS,
	    .core_window_ms = DEFAULT_CORE_WINDOW_MS,
	};
	int rc;

	nvs_log_init("scheduler", NVS_LOG_INFO);
	cfg.host_swap_budget = default_host_budget();
	rc = parse_args(argc, argv, &cfg);
	if (rc > 0)
		return 0;
	if (rc < 0)
		return EXIT_USAGE;
	if (!cfg.socket_path[0] &&
	    nvs_socket_path(cfg.socket_path, sizeof(cfg.socket_path)) < 0)
		NVS_WARN("event=bad_env var=NVSHARE_SOCKET reason=\"too long "
		         "for a socket path\" using=%s",
		         cfg.socket_path);
	learn_gpus(&cfg, &inventory);
	if (metrics_address &&
	    metrics_http_start(metrics_address, web_root) < 0)
		return 1;
	rc = server_run(&cfg);
	metrics_http_stop();
	return rc;
}
