/*
 * check.h - the unit tests' assertion macros. A failed CHECK reports file,
 * line and the values involved, and the test goes on, so one run shows every
 * failure; check_summary() prints "N passed, N failed" and gives the exit
 * status.
 */
#ifndef NVSHARE_TEST_CHECK_H
#define NVSHARE_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (cond) {                                                    \
			check_passed++;                                        \
		} else {                                                       \
			check_failed++;                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
			        __LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long check_a_ = (long long)(a),                           \
		          check_b_ = (long long)(b);                           \
		if (check_a_ == check_b_) {                                    \
			check_passed++;                                        \
		} else {                                                       \
			check_failed++;                                        \
			fprintf(stderr,                                        \
			        "%s:%d: CHECK_EQ failed: %s == %s "            \
			        "(%lld vs %lld)\n",                            \
			        __FILE__, __LINE__, #a, #b, check_a_,          \
			        check_b_);                                     \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *check_a_ = (a), *check_b_ = (b);                   \
		if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) { \
			check_passed++;                                        \
		} else {                                                       \
			check_failed++;                                        \
			fprintf(stderr,                                        \
			        "%s:%d: CHECK_STR failed: \"%s\" vs "          \
			        "\"%s\"\n",                                    \
			        __FILE__, __LINE__,                            \
			        check_a_ ? check_a_ : "(null)",                \
			        check_b_ ? check_b_ : "(null)");               \
		}                                                              \
	} while (0)

static inline int check_summary(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif /* NVSHARE_TEST_CHECK_H */
