/*
 * parse.c - see parse.h. Sizes are parsed without floating point so that
 * "1.5Gi" is exact and overflow is detected rather than rounded away. A
 * fraction needs a unit above the byte: "1.5" would otherwise be read as
 * one byte, a limit nobody means.
 */
#include "parse.h"

#include <stdio.h>
#include <string.h>

struct unit {
	const char *suffix;
	uint64_t factor;
};

/* Longest suffixes first so that "Gi" is not read as "G". */
static const struct unit units[] = {
    {"KiB", 1ull << 10},
    {"MiB", 1ull << 20},
    {"GiB", 1ull << 30},
    {"TiB", 1ull << 40},
    {"PiB", 1ull << 50},
    {"Ki", 1ull << 10},
    {"Mi", 1ull << 20},
    {"Gi", 1ull << 30},
    {"Ti", 1ull << 40},
    {"Pi", 1ull << 50},
    {"kB", 1000ull},
    {"KB", 1000ull},
    {"MB", 1000000ull},
    {"GB", 1000000000ull},
    {"TB", 1000000000000ull},
    {"PB", 1000000000000000ull},
    {"k", 1000ull},
    {"K", 1000ull},
    {"M", 1000000ull},
    {"G", 1000000000ull},
    {"T", 1000000000000ull},
    {"P", 1000000000000000ull},
    {"B", 1ull},
    {"", 1ull},
};

static int parse_size(const char *s, int whole_bytes, uint64_t *out)
{
	uint64_t whole = 0, frac = 0, frac_scale = 1, factor = 0, result;
	const char *p = s;
	int dropped = 0;

	if (!s)
		return -1;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t digit = (uint64_t)(*p - '0');
		if (whole > (UINT64_MAX - digit) / 10)
			return -1;
		whole = whole * 10 + digit;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (frac_scale >= 1000000000000ull) {
				/* Beyond 1e-12 they cannot matter, but for
				 * whole bytes a dropped digit is no exact
				 * value. */
				dropped |= *p != '0';
				continue;
			}
			frac = frac * 10 + (uint64_t)(*p - '0');
			frac_scale *= 10;
		}
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].suffix) == 0) {
			factor = units[i].factor;
			break;
		}
	}
	if (factor == 0)
		return -1;
	if (whole_bytes && dropped)
		return -1; /* a fraction finer than it can be exact about */
	if (frac_scale > 1 && factor == 1)
		return -1; /* "1.5" or "1.5B": no fraction of a byte */
	if (whole > UINT64_MAX / factor)
		return -1;
	result = whole * factor;
	if (frac) {
		/* frac/frac_scale * factor, computed without overflow:
		 * factor <= 2^50 and frac < frac_scale <= 1e12. */
		unsigned __int128 scaled = (unsigned __int128)frac * factor;
		unsigned __int128 part = scaled / frac_scale;
		if (whole_bytes && scaled % frac_scale)
			return -1; /* "0.1Ki": 102.4 bytes */
		if (part > UINT64_MAX - result)
			return -1;
		result += (uint64_t)part;
	}
	*out = result;
	return 0;
}

int nvs_parse_size(const char *s, uint64_t *out)
{
	return parse_size(s, 0, out);
}

int nvs_parse_size_exact(const char *s, uint64_t *out)
{
	return parse_size(s, 1, out);
}

int nvs_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		uint64_t digit = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - digit) / 10)
			return -1;
		v = v * 10 + digit;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

void nvs_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const names[] = {"B",   "KiB", "MiB",
	                                    "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	int i = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024.0 && i < 5) {
		v /= 1024.0;
		i++;
	}
	snprintf(buf, len, "%.1f %s", v, names[i]);
}
