/*
 * proc_stat.c - see proc_stat.h.
 */
#include "proc_stat.h"

#include <string.h>

#define START_TIME_FIELD 22

int proc_stat_start_time(const char *text, unsigned long long *out)
{
	const char *p = strrchr(text, ')');
	int field = 2; /* the ')' ends field 2 */

	if (!p)
		return -1;
	p++;
	while (*p) {
		unsigned long long v = 0;
		int digits = 0;

		if (*p != ' ')
			return -1;
		p++;
		field++;
		if (field != START_TIME_FIELD) {
			while (*p && *p != ' ' && *p != '\n')
				p++;
			if (*p == '\n' || !*p)
				return -1;
			continue;
		}
		for (; *p >= '0' && *p <= '9' && digits < 20; p++, digits++)
			v = v * 10 + (unsigned long long)(*p - '0');
		if (digits == 0 || digits == 20 ||
		    (*p != ' ' && *p != '\n' && *p != '\0'))
			return -1;
		*out = v;
		return 0;
	}
	return -1;
}
