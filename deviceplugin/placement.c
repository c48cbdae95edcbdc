/*
 * placement.c - the preferred allocation (see placement.h).
 */
#include <string.h>

#include "placement.h"
#include "slots.h"

/* No room under the virtual capacity. */
static int full(const struct dp_gpu_load *l)
{
	return l->vcap && l->committed >= l->vcap;
}

/* Committed memory against the virtual capacity, in thousandths (bytes
 * when there is no capacity: then only their order matters). */
static uint64_t fill(const struct dp_gpu_load *l)
{
	if (!l->vcap)
		return l->committed;
	return l->committed >= l->vcap
	           ? 1000
	           : (uint64_t)((unsigned __int128)l->committed * 1000 /
	                        l->vcap);
}

/* <0 if GPU a (with ta taken in this answer) is the better choice. */
static int compare(const struct dp_gpu_load *a, unsigned ta,
                   const struct dp_gpu_load *b, unsigned tb)
{
	unsigned la = a->clients + a->pending + ta;
	unsigned lb = b->clients + b->pending + tb;

	if ((ta > 0) != (tb > 0))
		return ta > 0 ? 1 : -1; /* spread over distinct GPUs */
	if (!a->healthy != !b->healthy)
		return a->healthy ? -1 : 1;
	if (full(a) != full(b))
		return full(a) ? 1 : -1;
	if (la != lb)
		return la < lb ? -1 : 1;
	if (fill(a) != fill(b))
		return fill(a) < fill(b) ? -1 : 1;
	if (a->core_sum != b->core_sum)
		return a->core_sum < b->core_sum ? -1 : 1;
	return 0;
}

size_t dp_place(const struct dp_gpu_load *load, int ngpus, const int *dev_gpu,
                const unsigned char *must, size_t noffer, size_t size,
                size_t *out)
{
	unsigned taken[DP_MAX_GPUS];
	unsigned char used[noffer ? noffer : 1];
	size_t n = 0;

	memset(taken, 0, sizeof(taken));
	memset(used, 0, sizeof(used));
	for (size_t i = 0; i < noffer && n < size; i++) {
		if (!must[i])
			continue;
		used[i] = 1;
		out[n++] = i;
		if (dev_gpu[i] >= 0 && dev_gpu[i] < ngpus)
			taken[dev_gpu[i]]++;
	}
	while (n < size) {
		size_t best = noffer;

		for (size_t i = 0; i < noffer; i++) {
			int g = dev_gpu[i], b;

			if (used[i] || g < 0 || g >= ngpus)
				continue;
			if (best == noffer) {
				best = i;
				continue;
			}
			b = dev_gpu[best];
			/* ties: the lower GPU index, then the offer's order */
			if (compare(&load[g], taken[g], &load[b], taken[b]) <
			        0 ||
			    (compare(&load[g], taken[g], &load[b], taken[b]) ==
			         0 &&
			     g < b))
				best = i;
		}
		if (best == noffer)
			break;
		used[best] = 1;
		out[n++] = best;
		taken[dev_gpu[best]]++;
	}
	return n;
}
