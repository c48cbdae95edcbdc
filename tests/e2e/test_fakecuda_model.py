"""The simulated GPU keeps its promises (no scheduler, no preload).

Whatever nvshare's tests conclude rests on the simulation being honest, so
this checks it directly, with gpuload running straight on the simulated
driver:
  1. one kernel at a time per device: two processes' kernels never overlap
     on the device, and the makespan is at least the sum of their work;
  2. device memory has a capacity (cuMemAlloc beyond it fails with
     CUDA_ERROR_OUT_OF_MEMORY); managed memory does not;
  3. managed memory of two processes that does not fit together is swapped,
     and the swapping costs the modelled time on the device;
  4. fakecuda-stat's per-process figures match what gpuload ran.
Device 0 has 16 GiB, device 1 has 1 GiB.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DEFAULT_UUID, GIB, SECOND_UUID, finish, run  # noqa: E402

MIB = 1 << 20
MS = 1000000
GPUS = "%s:16Gi,%s:1Gi" % (DEFAULT_UUID, SECOND_UUID)
# Bandwidths for the swap test: fast enough to keep it short, and given
# explicitly so the expected cost is computed from known figures.
SWAP_BW = {"fault": 40 * 10**9, "d2h": 40 * 10**9}
SWAP_ENV = {"NVSHARE_FAKE_BW": "fault=40G,d2h=40G"}


def rows(env, dev, kinds, pids=None):
    """Trace rows of one device and kinds (and pids), by start time."""
    return sorted((r for r in env.trace() if r["dev"] == dev
                   and r["kind"] in kinds and (pids is None or
                                               r["pid"] in pids)),
                  key=lambda r: r["start_ns"])


def proc_dev(stat, pid, dev):
    for p in stat["processes"]:
        if p["pid"] == pid:
            return p, p["devices"][dev]
    raise AssertionError("pid %d not in fakecuda-stat" % pid)


def serialised(env, c):
    """(1) Two full-duty processes, 20 kernels x 20 ms each, one device."""
    procs = [env.gpuload("--kernels", 20, "--kernel-ms", 20, "--device", 0,
                         preload=False) for _ in range(2)]
    results = [finish(p) for p in procs]
    for rc, res, err in results:
        c.check(rc == 0 and res and res["error"] is None,
                "gpuload ran (rc=%s err=%s)" % (rc, err.strip()[-200:]))
    kernels = rows(env, 0, ("kernel",))
    c.check(len(kernels) == 40, "trace holds 40 kernels (%d)" % len(kernels))
    overlaps = sum(1 for a, b in zip(kernels, kernels[1:])
                   if b["start_ns"] < a["end_ns"])
    c.check(overlaps == 0, "no two kernels overlap on the device (%d do)"
            % overlaps)
    c.check(all(r["end_ns"] - r["start_ns"] == 20 * MS for r in kernels),
            "every kernel lasted exactly 20 ms on the device")
    pids = {r["pid"] for r in kernels}
    c.check(pids == {res["pid"] for _, res, _ in results},
            "both processes' kernels are in the trace")
    makespan = kernels[-1]["end_ns"] - kernels[0]["start_ns"]
    c.check(makespan >= 0.95 * 800 * MS,
            "makespan %.1f ms >= 0.95 x 800 ms (serialised)" % (makespan / MS))
    span = max(res["end_ms"] for _, res, _ in results) - \
        min(res["start_ms"] for _, res, _ in results)
    c.check(span >= 0.95 * 800,
            "first start to last end took %.1f ms of wall time" % span)
    return [res["pid"] for _, res, _ in results]


def stat_figures(env, c, pids):
    """(4) fakecuda-stat agrees with what the workloads ran."""
    stat = env.fake_stat()
    for pid in pids:
        p, d = proc_dev(stat, pid, 0)
        c.check(p["alive"] is False, "pid %d is reported exited" % pid)
        c.check(d["kernels"] == 20, "pid %d ran 20 kernels (%d)"
                % (pid, d["kernels"]))
        want = 20 * 20 * MS
        c.check(abs(d["gpu_ns"] - want) <= 0.02 * want,
                "pid %d gpu_ns %d within 2%% of %d" % (pid, d["gpu_ns"], want))
        c.check(d["device_bytes"] == 0 and d["managed_bytes"] == 0,
                "pid %d holds no memory after exit" % pid)
    dev0 = stat["devices"][0]
    c.check(dev0["uuid"] == DEFAULT_UUID and dev0["capacity"] == 16 * GIB,
            "device 0 is %s with 16 GiB" % DEFAULT_UUID)
    c.check(dev0["device_used"] == 0 and dev0["resident_managed"] == 0,
            "device 0 memory all returned")


def capacity(env, c):
    """(2) Device memory has a capacity; managed memory does not."""
    for api in ("alloc", "pitch", "async"):
        rc, res, err = finish(env.gpuload(
            "--device", 1, "--mem", "2Gi", "--kernels", 1, "--alloc-api",
            api, preload=False))
        want = {"alloc": "cuMemAlloc", "pitch": "cuMemAllocPitch",
                "async": "cuMemAllocAsync"}[api]
        c.check(rc == 1, "%s 2Gi on a 1Gi device exits 1 (%s)" % (api, rc))
        c.check(res and res["error"] == want + ": CUDA_ERROR_OUT_OF_MEMORY",
                "%s: error is %r" % (api, res and res["error"]))
        c.check(res and res["kernels"] == 0, "%s: no kernel ran" % api)
        c.check("CUDA_ERROR_OUT_OF_MEMORY" in err, "%s: reason on stderr"
                % api)
    rc, res, _ = finish(env.gpuload("--device", 1, "--mem", "512Mi",
                                    "--kernels", 2, preload=False))
    c.check(rc == 0 and res["error"] is None and
            res["mem_bytes"] == 512 * MIB, "512Mi fits on the 1Gi device")
    rc, res, _ = finish(env.gpuload(
        "--device", 1, "--mem", "2Gi", "--alloc-api", "managed", "--kernels",
        1, preload=False, extra_env={"NVSHARE_FAKE_BW":
                                     "fault=200G,d2h=200G"}))
    c.check(rc == 0 and res["error"] is None,
            "managed 2Gi on the 1Gi device is accepted")


def swap_cost(env, c):
    """(3) Two processes' managed memory that does not fit together."""
    procs = [env.gpuload("--device", 1, "--mem", "768Mi", "--alloc-api",
                         "managed", "--kernels", 20, "--kernel-ms", 10,
                         "--inflight", 1, preload=False, extra_env=SWAP_ENV)
             for _ in range(2)]
    results = [finish(p) for p in procs]
    ok = all(rc == 0 and res and res["error"] is None
             for rc, res, _ in results)
    c.check(ok, "both managed workloads ran")
    if not ok:
        return
    stat = env.fake_stat()
    figures = [proc_dev(stat, res["pid"], 1)[1] for _, res, _ in results]
    faulted = sum(d["faulted_bytes"] for d in figures)
    evicted = sum(d["evicted_bytes"] - d["prefetched_out_bytes"]
                  for d in figures)
    c.check(evicted > 0, "managed memory was evicted (%d MiB)"
            % (evicted // MIB))
    c.check(faulted >= 2 * 768 * MIB, "each process faulted its buffer in "
            "(%d MiB in all)" % (faulted // MIB))
    cost_ns = faulted * 10**9 // SWAP_BW["fault"] + \
        evicted * 10**9 // SWAP_BW["d2h"]
    pure_ns = 2 * 20 * 10 * MS
    work = rows(env, 1, ("kernel", "evict"),
                {res["pid"] for _, res, _ in results})
    makespan = work[-1]["end_ns"] - work[0]["start_ns"]
    c.check(makespan >= pure_ns + 0.8 * cost_ns,
            "makespan %.1f ms >= kernels %.1f ms + 0.8 x swap %.1f ms"
            % (makespan / MS, pure_ns / MS, cost_ns / MS))
    gpu_ns = sum(d["gpu_ns"] for d in figures)
    c.check(abs(gpu_ns - (pure_ns + cost_ns)) <= 0.02 * (pure_ns + cost_ns),
            "recorded GPU time %.1f ms = kernels + modelled swap %.1f ms"
            % (gpu_ns / MS, (pure_ns + cost_ns) / MS))
    evict_trace = sum(r["end_ns"] - r["start_ns"] for r in work
                      if r["kind"] == "evict")
    want = evicted * 10**9 // SWAP_BW["d2h"]
    c.check(abs(evict_trace - want) <= 0.01 * want + 1000,
            "trace shows %.1f ms of eviction (model: %.1f ms)"
            % (evict_trace / MS, want / MS))
    c.check(stat["devices"][1]["resident_managed"] == 0,
            "managed memory released when both exited")


def bad_devices(env, c):
    """An invalid NVSHARE_FAKE_GPUS means no device at all."""
    rc, res, err = finish(env.gpuload(
        "--kernels", 1, preload=False,
        extra_env={"NVSHARE_FAKE_GPUS": "GPU-1234:1Gi",
                   "NVSHARE_FAKE_STATE": ""}))
    c.check(rc == 1 and res and res["error"] == "cuInit: CUDA_ERROR_NO_DEVICE",
            "bad NVSHARE_FAKE_GPUS: cuInit fails with NO_DEVICE (%r)"
            % (res and res["error"]))
    c.check("NVSHARE_FAKE_GPUS" in err, "and says why on stderr")


def main(env, c):
    pids = serialised(env, c)
    stat_figures(env, c, pids)
    capacity(env, c)
    swap_cost(env, c)
    bad_devices(env, c)


if __name__ == "__main__":
    run(main, "fakecuda_model", gpus=GPUS)
