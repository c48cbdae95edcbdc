/*
 * placement.h - which devices to prefer for a container (the answer to
 * GetPreferredAllocation). Pure: the load of each GPU and the devices the
 * kubelet offers in, the choice out.
 *
 * The least-loaded GPU wins: fewest clients (the scheduler's live ones
 * plus allocations not started yet), then least memory committed against
 * its virtual capacity, then the smallest sum of core limits. A GPU with
 * no room left under its virtual capacity, or unhealthy, comes last. A
 * container asking for several devices gets them on distinct GPUs while
 * there are GPUs to spread over. Devices the kubelet requires are always
 * part of the answer.
 */
#ifndef NVSHARE_DP_PLACEMENT_H
#define NVSHARE_DP_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

struct dp_gpu_load {
	int healthy;
	unsigned clients;   /* live clients of the scheduler on it */
	unsigned pending;   /* allocations handed out, not started yet */
	uint64_t committed; /* memory its clients committed (resident plus
	                       swapped out, or their limit if larger) */
	uint64_t vcap;      /* virtual capacity, 0: none */
	unsigned core_sum;  /* sum of its clients' core limits, percent */
};

/* Chooses size devices. Device i of the offer is on GPU dev_gpu[i] (-1:
 * not one of ours, never chosen) and must[i] says whether the kubelet
 * requires it. out receives indices into the offer, in choice order.
 * Returns the count chosen: size, or fewer if the offer is short. */
size_t dp_place(const struct dp_gpu_load *load, int ngpus, const int *dev_gpu,
                const unsigned char *must, size_t noffer, size_t size,
                size_t *out);

#endif /* NVSHARE_DP_PLACEMENT_H */
