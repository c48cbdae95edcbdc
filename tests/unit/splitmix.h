/*
 * splitmix.h - the random simulations' generator (splitmix64): each test
 * keeps its own state, fixed at start, so that a failure replays.
 */
#ifndef NVSHARE_TEST_SPLITMIX_H
#define NVSHARE_TEST_SPLITMIX_H

#include <stdint.h>

static inline uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif /* NVSHARE_TEST_SPLITMIX_H */
