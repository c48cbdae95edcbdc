/*
 * usage.h - how long this process has work on a GPU, per usage tick.
 *
 * For compute quotas the scheduler bills GPU time, not lock time: a client
 * that holds the lock but idles, or sleeps between bursts, must pay nothing
 * for the gaps. The link thread samples every held, metered device about
 * once a millisecond; the device counts as busy when a gated call is in
 * flight, a thread waits in a synchronize call, something was submitted
 * since the last sample, or some stream's latest flow checkpoint has not
 * completed (work still queued on the GPU). Busy time is summed per tick of
 * NVS_USAGE_TICK_NS and reported when the tick is over.
 */
#ifndef NVSHARE_LIB_USAGE_H
#define NVSHARE_LIB_USAGE_H

#include "gate.h"

#define USAGE_SAMPLE_MS 1 /* sampling period of a metered device */

/* Samples d at now (link thread, d held and metered). Returns 1 and fills
 * *out when a tick with busy time is complete and must be reported. */
int usage_sample(struct gate_dev *d, long long now, struct nvs_usage *out);

/* Forgets the partial tick (the device stopped being held or metered): the
 * time is reported if there was any. Returns 1 and fills *out then. */
int usage_flush(struct gate_dev *d, struct nvs_usage *out);

#endif /* NVSHARE_LIB_USAGE_H */
