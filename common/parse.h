/*
 * parse.h - the one place where nvshare turns operator text (environment
 * variables, flags, annotations) into numbers. Every parser rejects empty
 * input, trailing garbage, negative values and overflow.
 */
#ifndef NVSHARE_PARSE_H
#define NVSHARE_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Sizes: "1073741824", "512Mi", "4Gi", "1.5G", "16GiB", "100k". Binary
 * suffixes Ki Mi Gi Ti Pi (powers of 1024), decimal k/K M G T P (powers of
 * 1000), an optional trailing "B". A fraction needs a unit above the byte
 * ("1.5Gi"; "1.5" and "1.5B" are invalid, never one byte); what a fraction
 * leaves below one byte is dropped. Returns 0, or -1 if invalid. */
int nvs_parse_size(const char *s, uint64_t *out);
/* The same, but a fraction must come to whole bytes ("0.5Ki" is 512;
 * "0.1Ki" is invalid): for values others write by hand, such as pod
 * annotations, where a dropped remainder would be a silent change. */
int nvs_parse_size_exact(const char *s, uint64_t *out);

/* Plain unsigned decimal integer within [min, max]. Returns 0 or -1. */
int nvs_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Formats a byte count as "16.0 GiB", "512.0 MiB", "12 B". */
void nvs_format_size(uint64_t bytes, char *buf, size_t len);

#endif /* NVSHARE_PARSE_H */
