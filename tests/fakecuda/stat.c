/*
 * stat.c - fakecuda-stat: prints the simulated GPUs' shared state as JSON,
 * for tests to read what really happened on the "hardware".
 *
 *   fakecuda-stat STATEFILE
 *
 * It takes the state's lock, first releases the memory of processes that
 * have died (as the driver itself does when it notices), copies the state
 * and prints it after unlocking: devices (capacity, memory in use, end of
 * the compute timeline) and every process slot with its per-device figures.
 * Exit status 0, or 1 with a message when the file is not a state file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sock.h"
#include "state.h"

static void stat_devices(const struct fc_state *st)
{
	printf("\"devices\":[");
	for (int i = 0; i < st->ndev; i++) {
		const struct fc_dev_state *d = &st->dev[i];

		printf("%s{\"index\":%d,\"uuid\":\"%s\",\"capacity\":%llu,"
		       "\"device_used\":%llu,\"resident_managed\":%llu,"
		       "\"busy_until_ns\":%lld,\"kernels\":%llu}",
		       i ? "," : "", i, d->uuid,
		       (unsigned long long)d->capacity,
		       (unsigned long long)d->device_used,
		       (unsigned long long)d->resident_managed,
		       (long long)d->busy_until_ns,
		       (unsigned long long)d->kernels);
	}
	printf("]");
}

static void stat_proc_dev(int index, const struct fc_proc_dev *pd)
{
	printf("{\"index\":%d,\"gpu_ns\":%llu,\"swap_ns\":%llu,"
	       "\"kernels\":%llu,\"device_bytes\":%llu,\"vmm_bytes\":%llu,"
	       "\"array_bytes\":%llu,\"managed_bytes\":%llu,"
	       "\"resident_bytes\":%llu,\"swapped_in_bytes\":%llu,"
	       "\"faulted_bytes\":%llu,\"evicted_bytes\":%llu,"
	       "\"prefetched_out_bytes\":%llu,\"copies\":%llu,"
	       "\"copy_bytes\":%llu,\"memsets\":%llu,\"prefetches\":%llu}",
	       index, (unsigned long long)pd->gpu_ns,
	       (unsigned long long)pd->swap_ns, (unsigned long long)pd->kernels,
	       (unsigned long long)pd->device_bytes,
	       (unsigned long long)pd->vmm_bytes,
	       (unsigned long long)pd->array_bytes,
	       (unsigned long long)pd->managed_bytes,
	       (unsigned long long)pd->resident_bytes,
	       (unsigned long long)pd->swapped_in_bytes,
	       (unsigned long long)pd->faulted_bytes,
	       (unsigned long long)pd->evicted_bytes,
	       (unsigned long long)pd->prefetched_out_bytes,
	       (unsigned long long)pd->copies,
	       (unsigned long long)pd->copy_bytes,
	       (unsigned long long)pd->memsets,
	       (unsigned long long)pd->prefetches);
}

/* The program name, with anything that would need JSON escaping dropped. */
static void stat_clean_comm(const char *in, char *out, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; in[i] && i < 16 && j + 1 < len; i++)
		if (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"' &&
		    in[i] != '\\')
			out[j++] = in[i];
	out[j] = '\0';
}

static void stat_processes(const struct fc_state *st)
{
	int first = 1;

	printf("\"processes\":[");
	for (int i = 0; i < FC_MAX_PROCS; i++) {
		const struct fc_proc *p = &st->proc[i];
		char comm[17];

		if (!p->pid)
			continue;
		stat_clean_comm(p->comm, comm, sizeof(comm));
		printf(
		    "%s{\"pid\":%d,\"alive\":%s,\"comm\":\"%s\",\"devices\":[",
		    first ? "" : ",", p->pid, p->alive ? "true" : "false",
		    comm);
		for (int d = 0; d < st->ndev; d++) {
			if (d)
				printf(",");
			stat_proc_dev(d, &p->dev[d]);
		}
		printf("]}");
		first = 0;
	}
	printf("]");
}

int main(int argc, char **argv)
{
	struct fc_state *st, *copy;
	char err[256];

	if (argc != 2 || !argv[1][0] || argv[1][0] == '-') {
		fprintf(stderr, "usage: fakecuda-stat STATEFILE\n");
		return 2;
	}
	if (fc_state_open_existing(argv[1], &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "fakecuda-stat: %s\n", err);
		return 1;
	}
	copy = malloc(sizeof(*copy));
	if (!copy) {
		fprintf(stderr, "fakecuda-stat: out of memory\n");
		return 1;
	}
	fc_state_lock(st);
	fc_state_reap(st, nvs_now_ns(), 1);
	memcpy(copy, st, sizeof(*copy));
	fc_state_unlock(st);
	printf("{\"now_ns\":%lld,", nvs_now_ns());
	stat_devices(copy);
	printf(",");
	stat_processes(copy);
	printf("}\n");
	free(copy);
	return 0;
}
