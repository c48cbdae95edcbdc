/*
 * cgroup_pod.c - see cgroup_pod.h. Paths are walked component by component
 * against the two layouts; anything unexpected means "not in a pod".
 */
#include "cgroup_pod.h"

#include <stdio.h>
#include <string.h>

#define MAX_COMPONENTS 4 /* root, QoS class, pod: all we look at */

struct comp {
	const char *p;
	size_t len;
};

static int comp_is(const struct comp *c, const char *s)
{
	return c->len == strlen(s) && memcmp(c->p, s, c->len) == 0;
}

static int hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F');
}

/* Copies a pod UID (s, n bytes; sep is what the layout puts for '-') into
 * uid if it is a UUID or a static pod's 32-digit hash. */
static int take_uid(const char *s, size_t n, char sep,
                    char uid[CGROUP_POD_UID_SIZE])
{
	if (n != 32 && n != 36)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int dash_here =
		    n == 36 && (i == 8 || i == 13 || i == 18 || i == 23);
		char ch = s[i];

		if (dash_here ? ch != sep : !hex(ch))
			return 0;
		if (dash_here)
			ch = '-';
		else if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		uid[i] = ch;
	}
	uid[n] = '\0';
	return 1;
}

/* Splits path into its first components; 0 if it leaves the cgroup
 * namespace or is not absolute. */
static int split(const char *path, size_t len, struct comp *out, size_t *n)
{
	size_t i = 0;

	*n = 0;
	if (len == 0 || path[0] != '/')
		return 0;
	while (i < len) {
		size_t start;

		while (i < len && path[i] == '/')
			i++;
		start = i;
		while (i < len && path[i] != '/')
			i++;
		if (i == start)
			break;
		if ((i - start == 2 && memcmp(path + start, "..", 2) == 0) ||
		    (i - start == 1 && path[start] == '.'))
			return -1;
		if (*n < MAX_COMPONENTS)
			out[(*n)++] = (struct comp){path + start, i - start};
	}
	return 1;
}

/* /kubepods[/burstable|/besteffort]/pod<uid>[/...] */
static int cgroupfs_pod(const struct comp *c, size_t n,
                        char uid[CGROUP_POD_UID_SIZE])
{
	size_t i = 1;

	if (n < 2 || !comp_is(&c[0], "kubepods"))
		return 0;
	if (comp_is(&c[1], "burstable") || comp_is(&c[1], "besteffort"))
		i = 2;
	if (i >= n || c[i].len < 3 || memcmp(c[i].p, "pod", 3) != 0)
		return 0;
	return take_uid(c[i].p + 3, c[i].len - 3, '-', uid);
}

/* /kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<u_i_d>.slice */
static int systemd_pod(const struct comp *c, size_t n,
                       char uid[CGROUP_POD_UID_SIZE])
{
	static const char *const qos[] = {"burstable", "besteffort"};
	const size_t sl = sizeof(".slice") - 1;
	char want[48] = "kubepods-pod", parent[48];
	size_t i = 1, wl;

	if (n < 2 || !comp_is(&c[0], "kubepods.slice"))
		return 0;
	for (size_t q = 0; q < sizeof(qos) / sizeof(qos[0]); q++) {
		snprintf(parent, sizeof(parent), "kubepods-%s.slice", qos[q]);
		if (comp_is(&c[1], parent)) {
			/* The pod's slice must be its QoS class's child. */
			snprintf(want, sizeof(want), "kubepods-%s-pod", qos[q]);
			i = 2;
			break;
		}
	}
	wl = strlen(want);
	if (i >= n || c[i].len <= wl + sl || memcmp(c[i].p, want, wl) != 0 ||
	    memcmp(c[i].p + c[i].len - sl, ".slice", sl) != 0)
		return 0;
	return take_uid(c[i].p + wl, c[i].len - wl - sl, '_', uid);
}

int cgroup_pod_of_path(const char *path, size_t len,
                       char uid[CGROUP_POD_UID_SIZE])
{
	struct comp c[MAX_COMPONENTS];
	size_t n;
	int rc;

	uid[0] = '\0';
	rc = split(path, len, c, &n);
	if (rc <= 0)
		return rc;
	if (cgroupfs_pod(c, n, uid) || systemd_pod(c, n, uid))
		return 1;
	uid[0] = '\0';
	return 0;
}

enum cgroup_pod_result cgroup_pod_parse(const char *text,
                                        char uid[CGROUP_POD_UID_SIZE])
{
	const char *line = text;
	int found = 0, outside = 0;

	uid[0] = '\0';
	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *c1 = memchr(line, ':', len), *c2;
		char this_uid[CGROUP_POD_UID_SIZE];
		int in = 0;

		c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line))
		        : NULL;
		if (c2 && c1 > line &&
		    strspn(line, "0123456789") == (size_t)(c1 - line))
			in = cgroup_pod_of_path(
			    c2 + 1, len - (size_t)(c2 + 1 - line), this_uid);
		outside |= in < 0;
		if (in > 0) {
			if (found && strcmp(uid, this_uid) != 0) {
				uid[0] = '\0';
				return CGROUP_POD_CONFLICT;
			}
			memcpy(uid, this_uid, sizeof(this_uid));
			found = 1;
		}
		line = end ? end + 1 : NULL;
	}
	return found     ? CGROUP_POD_FOUND
	       : outside ? CGROUP_POD_OUTSIDE
	                 : CGROUP_POD_NONE;
}
