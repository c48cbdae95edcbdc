/*
 * proc_link.c - a process's allocation id (see proc_link.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocate.h"
#include "proc_link.h"

int dp_env_lookup(const char *env, size_t n, const char *name, char *out,
                  size_t outlen)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < n;) {
		const char *e = env + i;
		size_t len = strnlen(e, n - i);

		if (len > nlen && memcmp(e, name, nlen) == 0 &&
		    e[nlen] == '=') {
			if (len - nlen - 1 >= outlen)
				return 0;
			memcpy(out, e + nlen + 1, len - nlen - 1);
			out[len - nlen - 1] = '\0';
			return 1;
		}
		i += len + 1;
	}
	return 0;
}

/* Environments beyond this are cut (Linux caps a command line and its
 * environment together at a quarter of the stack limit, 2 MiB by
 * default; containers' are far smaller). */
#define ENV_READ_MAX (256u << 10)

int dp_proc_alloc_id(int pid, char *out, size_t outlen)
{
	char path[64], *buf;
	size_t len = 0;
	ssize_t n;
	int fd, found;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	buf = malloc(ENV_READ_MAX);
	if (!buf) {
		close(fd);
		return 0;
	}
	while (len < ENV_READ_MAX &&
	       (n = read(fd, buf + len, ENV_READ_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	found = dp_env_lookup(buf, len, DP_ENV_ALLOCATION_ID, out, outlen);
	free(buf);
	return found;
}
