/*
 * kube_config.h - the names the Kubernetes watcher checks, from its own
 * settings (the API server's URL, the node name) and from the API server
 * (namespaces, pod names, UIDs). Pure and free of any library, so that the
 * flags are checked the same way in every build of the scheduler.
 */
#ifndef NVSHARE_KUBE_CONFIG_H
#define NVSHARE_KUBE_CONFIG_H

#include <stddef.h>

#include "kube_types.h"

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
