/*
 * status_page.c - see status_page.h.
 */
#include "status_page.h"

#include <string.h>

#include "proto.h"

int ctl_page_parse(const char *text, uint64_t *next, const char **body)
{
	size_t plen = strlen(NVS_CTL_PAGE_PREFIX);
	const char *p;
	uint64_t v = 0;

	if (!text || strncmp(text, NVS_CTL_PAGE_PREFIX, plen) != 0)
		return -1;
	p = text + plen;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\n'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (*p != '\n')
		return -1;
	*next = v;
	*body = p + 1;
	return 0;
}
