/*
 * test_parse.c - the one parser of sizes and numbers (common/parse.c):
 * every accepted form, every rejected one, and the overflow edges.
 */
#include "check.h"
#include "parse.h"

#include <stdint.h>

static uint64_t size_of(const char *s, int *ok)
{
	uint64_t v = 0;

	*ok = nvs_parse_size(s, &v) == 0;
	return v;
}

static void check_size(const char *s, uint64_t want)
{
	int ok;
	uint64_t v = size_of(s, &ok);

	if (!ok || v != want)
		fprintf(stderr, "size \"%s\": ok=%d got %llu want %llu\n", s,
		        ok, (unsigned long long)v, (unsigned long long)want);
	CHECK(ok && v == want);
}

static void check_bad_size(const char *s)
{
	int ok;

	size_of(s, &ok);
	if (ok)
		fprintf(stderr, "size \"%s\" accepted\n", s);
	CHECK(!ok);
}

int main(void)
{
	check_size("0", 0);
	check_size("1073741824", 1073741824ull);
	check_size("512Mi", 512ull << 20);
	check_size("4Gi", 4ull << 30);
	check_size("16GiB", 16ull << 30);
	check_size("1.5G", 1500000000ull);
	check_size("1.5Gi", 3ull << 29);
	check_size("0.25Ki", 256);
	check_size("100k", 100000);
	check_size("100K", 100000);
	check_size("2T", 2000000000000ull);
	check_size("1Pi", 1ull << 50);
	check_size("7B", 7);
	check_size("8MB", 8000000);
	check_size("15Pi", 15ull << 50);
	check_size("18446744073709551615", UINT64_MAX);

	check_bad_size("");
	check_bad_size("-1");
	check_bad_size("Gi");
	check_bad_size("1.Gi");
	check_bad_size(".5Gi");
	check_bad_size("4 Gi");
	check_bad_size("4gi");
	check_bad_size("4Gix");
	check_bad_size("4Gi ");
	check_bad_size("1e9");
	/* A fraction of a byte is no size: "1.5" was once one byte. */
	check_bad_size("1.5");
	check_bad_size("1.5B");
	check_bad_size("0.9");
	check_size("1.0Ki", 1024);
	check_size("0.5Mi", 512ull << 10);
	check_bad_size("0x10");
	check_bad_size("18446744073709551616");
	check_bad_size("16385Pi");
	check_bad_size("18446744073709551615Ki");
	CHECK(nvs_parse_size(NULL, &(uint64_t){0}) == -1);

	/* Whole bytes only (annotations): the remainder is not dropped. */
	uint64_t e = 0;
	CHECK(nvs_parse_size("0.1Ki", &e) == 0 && e == 102);
	CHECK(nvs_parse_size_exact("0.1Ki", &e) == -1);
	CHECK(nvs_parse_size_exact("0.5Ki", &e) == 0 && e == 512);
	CHECK(nvs_parse_size_exact("1.5Gi", &e) == 0 && e == (3ull << 29));
	CHECK(nvs_parse_size_exact("1.0000000001G", &e) == -1);
	CHECK(nvs_parse_size_exact("1.5", &e) == -1);
	CHECK(nvs_parse_size_exact("1.0000000000001Ki", &e) == -1);
	CHECK(nvs_parse_size_exact("1.50000000000000Gi", &e) == 0 &&
	      e == (3ull << 29));
	CHECK(nvs_parse_size_exact("4Gi", &e) == 0 && e == (4ull << 30));
	CHECK(nvs_parse_size_exact(NULL, &e) == -1);

	uint64_t v = 0;
	CHECK(nvs_parse_u64("42", 1, 100, &v) == 0 && v == 42);
	CHECK(nvs_parse_u64("0", 1, 100, &v) == -1);
	CHECK(nvs_parse_u64("101", 1, 100, &v) == -1);
	CHECK(nvs_parse_u64("", 0, 100, &v) == -1);
	CHECK(nvs_parse_u64("+5", 0, 100, &v) == -1);
	CHECK(nvs_parse_u64("5ms", 0, 100, &v) == -1);
	CHECK(nvs_parse_u64("99999999999999999999", 0, UINT64_MAX, &v) == -1);
	CHECK(nvs_parse_u64("18446744073709551615", 0, UINT64_MAX, &v) == 0 &&
	      v == UINT64_MAX);

	char buf[32];
	nvs_format_size(16ull << 30, buf, sizeof(buf));
	CHECK_STR(buf, "16.0 GiB");
	nvs_format_size(12, buf, sizeof(buf));
	CHECK_STR(buf, "12 B");
	nvs_format_size(1536ull << 20, buf, sizeof(buf));
	CHECK_STR(buf, "1.5 GiB");
	return check_summary("parse");
}
