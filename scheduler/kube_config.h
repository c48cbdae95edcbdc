/*
 * kube_config.h - the names the Kubernetes watcher checks, from its own
 * settings (the API server's URL, the node name) and from the API server
 * (namespaces, pod names, UIDs), and the one way the watcher makes foreign
 * text safe for a log line. Pure and free of any library, so that the
 * flags are checked the same way in every build of the scheduler.
 */
#ifndef NVSHARE_KUBE_CONFIG_H
#define NVSHARE_KUBE_CONFIG_H

#include <stddef.h>

#include "kube_types.h"

/* --- text ------------------------------------------------------------------
 */

enum kube_text {
	KUBE_TEXT_WORD,   /* a name, a type, a value: spaces become '?' too */
	KUBE_TEXT_PHRASE, /* a server's or a library's sentence, shown only
	                     inside quotes: spaces kept */
};

/* Copies len bytes of s into out (size n), cut to fit, with double
 * quotes, backslashes, control characters and bytes outside printable
 * ASCII (and, for a word, spaces) as '?': safe inside reason="..." or as a bare
 * key=value. Every text from outside (the API server, jansson, libcurl, a file)
 * goes through it before a log line or status has it. Returns out. */
char *kube_printable(const char *s, size_t len, char *out, size_t n,
                     enum kube_text kind);

/* snprintf into why (size n) when why is not NULL: a refusal's reason. */
void kube_say(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --- names -----------------------------------------------------------------
 */

/* RFC 1123 label (a namespace): [a-z0-9]([-a-z0-9]*[a-z0-9])?, 1..63. */
int kube_dns_label_valid(const char *s, size_t len);
/* RFC 1123 subdomain as Kubernetes checks it (a pod's or a node's name):
 * dot-separated parts of a label's shape, 1..253 in all. */
int kube_dns_subdomain_valid(const char *s, size_t len);
/* A pod UID of the kubelet's shape; on success out holds it lower case. */
int kube_uid_take(const char *s, size_t len, char out[CGROUP_POD_UID_SIZE]);

/* Checks an API server URL: https only, no user:password@, a host name,
 * an IPv4 address or an IPv6 address in brackets, an optional port
 * 1..65535, no path (a single trailing "/" is dropped), no query. On
 * success out (KUBE_URL_MAX) holds https://host[:port]. Returns 0 or -1
 * with why. */
int kube_url_check(const char *url, char out[KUBE_URL_MAX], char *why,
                   size_t why_len);

/* The in-cluster URL from KUBERNETES_SERVICE_HOST and _PORT (an IPv6 host
 * goes in brackets). Returns 0 or -1 with why. */
int kube_url_from_service(const char *host, const char *port,
                          char out[KUBE_URL_MAX], char *why, size_t why_len);

#endif /* NVSHARE_KUBE_CONFIG_H */
