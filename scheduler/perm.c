/*
 * perm.c - see perm.h. The "Groups:" line is parsed strictly: decimal ids
 * separated by blanks up to the end of the line; anything else ends the
 * scan, and a garbled line grants nothing.
 */
#include "perm.h"

#include <string.h>

static const char *find_groups_line(const char *text)
{
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, "Groups:", 7) == 0)
			return p + 7;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

long perm_groups_parse(const char *proc_status, gid_t *out, size_t max)
{
	const char *p = find_groups_line(proc_status);
	long n = 0;

	if (!p)
		return -1;
	for (;;) {
		unsigned long long v = 0;
		int digits = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == '\0')
			return n;
		for (; *p >= '0' && *p <= '9' && digits < 20; p++, digits++)
			v = v * 10 + (unsigned long long)(*p - '0');
		if (digits == 0 || digits == 20 || v != (gid_t)v ||
		    (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\0'))
			return -1;
		if ((size_t)n < max)
			out[n] = (gid_t)v;
		n++;
	}
}

int perm_groups_contain(const char *proc_status, gid_t gid)
{
	const char *p = find_groups_line(proc_status);

	if (!p)
		return 0;
	for (;;) {
		unsigned long long v = 0;
		int digits = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == '\0')
			return 0;
		for (; *p >= '0' && *p <= '9' && digits < 20; p++, digits++)
			v = v * 10 + (unsigned long long)(*p - '0');
		if (digits == 0 || digits == 20 ||
		    (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\0'))
			return 0;
		if (v == (unsigned long long)gid)
			return 1;
	}
}

int perm_groups_include(const gid_t *groups, size_t n, gid_t gid)
{
	for (size_t i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

int perm_control_allowed(uid_t peer_uid, gid_t peer_gid, int in_socket_group,
                         uid_t self_uid, gid_t socket_gid)
{
	if (peer_uid == 0 || peer_uid == self_uid)
		return 1;
	return peer_gid == socket_gid || in_socket_group;
}
