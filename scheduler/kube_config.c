/*
 * kube_config.c - see kube_config.h.
 */
#include "kube_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KUBE_LABEL_MAX 63
#define KUBE_SUBDOMAIN_MAX 253

/* --- text ------------------------------------------------------------------
 */

char *kube_printable(const char *s, size_t len, char *out, size_t n,
                     enum kube_text kind)
{
	size_t i;

	if (!n)
		return out;
	for (i = 0; i < len && i + 1 < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		int ok = ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\';

		if (ch == ' ' && kind == KUBE_TEXT_PHRASE)
			ok = 1;
		out[i] = ok ? (char)ch : '?';
	}
	out[i] = '\0';
	return out;
}

void kube_say(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (!why || !n)
		return;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
}

/* --- names ------------------------------------------------------------------
 */

static int alnum_lower(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])?, of any length. */
static int label_shape(const char *s, size_t len)
{
	if (len == 0 || !alnum_lower(s[0]) || !alnum_lower(s[len - 1]))
		return 0;
	for (size_t i = 1; i + 1 < len; i++)
		if (!alnum_lower(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int kube_dns_label_valid(const char *s, size_t len)
{
	return len <= KUBE_LABEL_MAX && label_shape(s, len);
}

/* As Kubernetes checks names (IsDNS1123Subdomain): the whole at most 253,
 * its dot-separated parts of a label's shape (not held to 63 each). */
int kube_dns_subdomain_valid(const char *s, size_t len)
{
	size_t start = 0;

	if (len == 0 || len > KUBE_SUBDOMAIN_MAX)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (!label_shape(s + start, i - start))
			return 0;
		start = i + 1;
	}
	return 1;
}

static int hex_digit(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F');
}

int kube_uid_take(const char *s, size_t len, char out[CGROUP_POD_UID_SIZE])
{
	if (len != 32 && len != 36)
		return 0;
	for (size_t i = 0; i < len; i++) {
		int dash =
		    len == 36 && (i == 8 || i == 13 || i == 18 || i == 23);
		char ch = s[i];

		if (dash ? ch != '-' : !hex_digit(ch))
			return 0;
		out[i] = ch >= 'A' && ch <= 'F' ? (char)(ch - 'A' + 'a') : ch;
	}
	out[len] = '\0';
	return 1;
}

/* --- settings ---------------------------------------------------------------
 */

static int host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
}

static int ipv6_char(char ch)
{
	return hex_digit(ch) || ch == ':' || ch == '.';
}

static int port_valid(const char *s, size_t len)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

int kube_url_check(const char *url, char out[KUBE_URL_MAX], char *why,
                   size_t why_len)
{
	static const char scheme[] = "https://";
	const char *host, *end, *port = NULL;
	size_t len = strlen(url), hlen;

	if (len >= KUBE_URL_MAX) {
		kube_say(why, why_len, "longer than %d bytes",
		         KUBE_URL_MAX - 1);
		return -1;
	}
	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0) {
		kube_say(why, why_len,
		         "want https://HOST[:PORT]: only HTTPS is "
		         "spoken to the API server");
		return -1;
	}
	host = url + sizeof(scheme) - 1;
	end = url + len;
	if (end > host && end[-1] == '/')
		end--;
	for (const char *p = host; p < end; p++) {
		if (*p == '@') {
			kube_say(why, why_len,
			         "credentials in the URL are refused: "
			         "use --kube-token-file");
			return -1;
		}
		if (*p == '/' || *p == '?' || *p == '#') {
			kube_say(why, why_len,
			         "want no path or query after the "
			         "host and port");
			return -1;
		}
	}
	if (host < end && *host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));

		if (!close || close == host + 1) {
			kube_say(why, why_len,
			         "an IPv6 address needs its closing "
			         "bracket");
			return -1;
		}
		for (const char *p = host + 1; p < close; p++)
			if (!ipv6_char(*p)) {
				kube_say(why, why_len,
				         "bad character in the IPv6 "
				         "address");
				return -1;
			}
		if (close + 1 < end) {
			if (close[1] != ':') {
				kube_say(why, why_len,
				         "want :PORT after the IPv6 "
				         "address");
				return -1;
			}
			port = close + 2;
		}
		hlen = (size_t)(close + 1 - host);
	} else {
		const char *colon = memchr(host, ':', (size_t)(end - host));
		const char *hend = colon ? colon : end;

		if (hend == host) {
			kube_say(why, why_len, "no host");
			return -1;
		}
		for (const char *p = host; p < hend; p++)
			if (!host_char(*p)) {
				kube_say(
				    why, why_len,
				    "bad character in the host name (an IPv6 "
				    "address goes in brackets)");
				return -1;
			}
		if (host[0] == '.' || host[0] == '-') {
			kube_say(why, why_len, "bad host name");
			return -1;
		}
		if (colon)
			port = colon + 1;
		hlen = (size_t)(hend - host);
	}
	if (port && !port_valid(port, (size_t)(end - port))) {
		kube_say(why, why_len, "the port must be a number in 1..65535");
		return -1;
	}
	snprintf(out, KUBE_URL_MAX, "%s%.*s%s%.*s", scheme, (int)hlen, host,
	         port ? ":" : "", port ? (int)(end - port) : 0,
	         port ? port : "");
	return 0;
}

int kube_url_from_service(const char *host, const char *port,
                          char out[KUBE_URL_MAX], char *why, size_t why_len)
{
	char url[KUBE_URL_MAX + 8];
	int ipv6 = strchr(host, ':') != NULL;
	int n;

	if (!*host || !*port) {
		kube_say(why, why_len,
		         "KUBERNETES_SERVICE_HOST or _PORT is empty");
		return -1;
	}
	if (strchr(host, '[') || strchr(host, ']') || strchr(host, '/') ||
	    strchr(host, '@')) {
		kube_say(why, why_len, "KUBERNETES_SERVICE_HOST is not a host");
		return -1;
	}
	n = snprintf(url, sizeof(url), "https://%s%s%s:%s", ipv6 ? "[" : "",
	             host, ipv6 ? "]" : "", port);
	if (n < 0 || (size_t)n >= KUBE_URL_MAX) {
		kube_say(why, why_len, "KUBERNETES_SERVICE_HOST is too long");
		return -1;
	}
	if (!port_valid(port, strlen(port))) {
		kube_say(why, why_len, "KUBERNETES_SERVICE_PORT is not a port");
		return -1;
	}
	return kube_url_check(url, out, why, why_len);
}
