"""Clients that grow their memory while they run, as frameworks do.

PyTorch's caching allocator takes the GPU with a small buffer and a first
kernel, then grows while running, frees and grows again. The scheduler
admits a client by what it holds when it asks; these clients ask for more
afterwards. gpuload --grow-to does that (one 1 GiB buffer at a time over
the first third of its run, every kernel touching every buffer, --verify
checking every buffer). While they run, `nvsharectl status --json` is
sampled every 100 ms.

A. GPU 0, 16 GiB: three clients growing from 1 GiB to 7 GiB (21 GiB in
   all). The scheduler's resident_bytes never exceeds capacity_bytes, they
   swap, all three succeed with their bytes intact, and the makespan is
   within 1.25x of their GPU work (kernels x kernel time, run back to back
   on the simulated GPU).
B. The same with one of them freeing its grown buffers and growing again
   twice (--regrow 2).
D. As A, each client with 4 threads (gpuload --threads 4) on streams of
   their own, each thread growing 256 MiB to 1.75 GiB: allocations of
   some threads while others launch or wait at the gate, as a framework's
   threads do. The same checks as A.
C. GPU 1, 4 GiB: a client holds 3 GiB resident and keeps the GPU busy; a
   second asks for 2 GiB of memory the scheduler cannot move
   (cuMemAllocPitch, then cuMemAllocAsync). It must not fail with out of
   memory: it waits its turn and succeeds; resident_bytes never exceeds
   the capacity.

Each sample also records what the simulated GPU itself holds (device
memory plus resident Unified Memory, fakecuda-stat): printed, not
asserted, since the driver refuses what does not fit.
"""
import threading
import time

from harness import DEFAULT_UUID, GIB, SECOND_UUID, finish, run

BW = {"NVSHARE_FAKE_BW": "h2d=100G,d2h=50G,fault=20G,pinned=100G"}
KERNEL_MS = 20
KERNELS = 100  # 2 s of GPU work per client
GROW = ("--mem", "1Gi", "--grow-to", "7Gi", "--grow-step", "1Gi",
        "--kernel-ms", KERNEL_MS, "--kernels", KERNELS, "--verify", "1Mi")


class Sampler(threading.Thread):
    """Samples the scheduler's view of one GPU every 100 ms."""

    def __init__(self, env, uuid, index):
        super().__init__(daemon=True)
        self.env, self.uuid, self.index = env, uuid, index
        self.samples = []
        self.errors = 0
        self.halt = threading.Event()

    def sample(self):
        st = self.env.status()
        gpu = [g for g in st["gpus"] if g["uuid"] == self.uuid]
        if not gpu:
            return None
        states = {}
        for cl in st["clients"]:
            for g in cl["gpus"]:
                if g["uuid"] == self.uuid:
                    states[cl["pid"]] = g["state"]
        dev = self.env.fake_stat()["devices"][self.index]
        return {"resident": gpu[0]["resident_bytes"],
                "capacity": gpu[0]["capacity_bytes"],
                "swaps": gpu[0]["swaps"], "states": states,
                "physical": dev["device_used"] + dev["resident_managed"]}

    def run(self):
        while not self.halt.is_set():
            t0 = time.monotonic()
            try:
                s = self.sample()
                if s:
                    self.samples.append(s)
            except Exception:  # a sample lost is not a verdict
                self.errors += 1
            self.halt.wait(max(0.0, 0.1 - (time.monotonic() - t0)))

    def stop(self):
        self.halt.set()
        self.join(timeout=10)


def swaps(env, uuid):
    """Swaps the scheduler counted on the GPU (0 before it knows it)."""
    gpu = [g for g in env.status()["gpus"] if g["uuid"] == uuid]
    return gpu[0]["swaps"] if gpu else 0


def gib(n):
    return n / GIB


def ok_result(r):
    rc, res, _ = r
    return rc == 0 and res is not None and res["error"] is None and \
        res["verified"] is True


def describe(r):
    rc, res, err = r
    if res is None:
        return "rc %d, no JSON (%s)" % (rc, err.strip()[-200:])
    return "rc %d, error %r, verified %s, peak %.1f GiB, %d steps, " \
        "%d regrows" % (rc, res["error"], res["verified"],
                        gib(res["peak_bytes"]), res["grow_steps"],
                        res["regrows"])


def memory_bound(c, name, sampler):
    """The samples' verdict on residency, printed for the log."""
    s = sampler.samples
    peak = max(s, key=lambda x: x["resident"]) if s else None
    over = [x for x in s if x["resident"] > x["capacity"]]
    holding = max((sum(1 for v in x["states"].values() if v == "holding")
                   for x in s), default=0)
    physical = max((x["physical"] for x in s), default=0)
    print("# %s: %d samples (%d lost), peak resident %.2f GiB of %.2f GiB "
          "(%d samples over), at most %d holding at once, simulated GPU "
          "peak %.2f GiB" % (name, len(s), sampler.errors,
                             gib(peak["resident"]) if peak else -1,
                             gib(peak["capacity"]) if peak else -1,
                             len(over), holding, gib(physical)))
    c.check(len(s) >= 5, "%s: sampled status %d times" % (name, len(s)))
    c.check(s and not over,
            "%s: resident_bytes never above capacity_bytes (peak %.2f GiB "
            "of %.2f GiB)" % (name, gib(peak["resident"]) if peak else -1,
                              gib(peak["capacity"]) if peak else -1))


def growing_group(env, c, name, specs):
    """Runs the clients of specs together on GPU 0 while sampling; checks
    residency, swaps, success and makespan."""
    before = swaps(env, DEFAULT_UUID)
    sampler = Sampler(env, DEFAULT_UUID, 0)
    sampler.start()
    procs = [env.gpuload("--device", 0, *args, extra_env=BW)
             for args in specs]
    results = [finish(p, timeout=90) for p in procs]
    sampler.stop()
    swapped = swaps(env, DEFAULT_UUID) - before
    for i, r in enumerate(results):
        print("# %s: client %d: %s" % (name, i, describe(r)))
    memory_bound(c, name, sampler)
    c.check(all(ok_result(r) for r in results),
            "%s: all three exit 0, every buffer verified" % name)
    c.check(swapped > 0, "%s: swaps recorded (%d)" % (name, swapped))
    done = [r[1] for r in results if r[1]]
    work = sum(res["gpu_ms"] for res in done) / 1000.0
    makespan = (max(res["end_ms"] for res in done) -
                min(res["start_ms"] for res in done)) / 1000.0
    print("# %s: makespan %.2f s, GPU work %.2f s, ratio %.2f, %d swaps"
          % (name, makespan, work, makespan / work if work else 0, swapped))
    c.check(len(done) == 3 and makespan <= 1.25 * work,
            "%s: makespan %.2f s <= 1.25 x GPU work %.2f s"
            % (name, makespan, work))
    return results


def grow_three(env, c):
    results = growing_group(env, c, "A: three grow to 7 GiB", [GROW] * 3)
    c.check(all(r[1] and r[1]["grow_steps"] == 6 and
                r[1]["peak_bytes"] == 7 * GIB for r in results),
            "A: each grew in 6 steps to 7 GiB")


def regrow_beside(env, c):
    results = growing_group(env, c, "B: one regrows twice",
                            [GROW + ("--regrow", 2), GROW, GROW])
    res = results[0][1]
    c.check(res and res["regrows"] == 2 and res["grow_steps"] == 18 and
            res["peak_bytes"] == 7 * GIB,
            "B: the regrowing client grew 3 x 6 steps, 2 regrows")


# Per thread a quarter of A: 25 kernels, 256 MiB growing to 1.75 GiB.
THREADED = ("--mem", "256Mi", "--grow-to", "1792Mi", "--grow-step", "256Mi",
            "--kernel-ms", KERNEL_MS, "--kernels", KERNELS // 4,
            "--verify", "1Mi", "--threads", 4)


def grow_threaded(env, c):
    results = growing_group(env, c, "D: three of 4 threads grow to 7 GiB",
                            [THREADED] * 3)
    c.check(all(r[1] and r[1]["threads"] == 4 and
                r[1]["kernels"] == KERNELS and
                r[1]["grow_steps"] == 24 and
                r[1]["peak_bytes"] == 7 * GIB for r in results),
            "D: each ran 4 x 25 kernels and grew in 4 x 6 steps to 7 GiB")


def unmovable_newcomer(env, c, api):
    """GPU 1 (4 GiB): 3 GiB resident and busy; then 2 GiB of --alloc-api
    api, which the scheduler cannot move once made."""
    name = "C: 2 GiB %s beside 3 GiB" % api
    sampler = Sampler(env, SECOND_UUID, 1)
    sampler.start()
    holder = env.gpuload("--device", 1, "--mem", "3Gi", "--kernel-ms",
                         KERNEL_MS, "--seconds", 2, "--verify", "1Mi",
                         extra_env=BW)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
            s["states"].get(holder.pid) == "holding"
            for s in sampler.samples[-3:]):
        time.sleep(0.05)
    time.sleep(0.3)  # its 3 GiB are resident and its kernels running
    newcomer = env.gpuload("--device", 1, "--mem", "2Gi", "--alloc-api",
                           api, "--kernel-ms", KERNEL_MS, "--seconds",
                           0.5, "--verify", "1Mi", extra_env=BW)
    first = finish(holder, timeout=60)
    second = finish(newcomer, timeout=60)
    sampler.stop()
    print("# %s: holder: %s" % (name, describe(first)))
    print("# %s: newcomer: %s" % (name, describe(second)))
    if second[1] and second[1]["first_launch_ms"]:
        print("# %s: the newcomer's first kernel %.2f s after its start"
              % (name, (second[1]["first_launch_ms"] -
                        second[1]["start_ms"]) / 1000.0))
    memory_bound(c, name, sampler)
    c.check(ok_result(first), "%s: the holder succeeded" % name)
    c.check(ok_result(second),
            "%s: the newcomer waited and succeeded (%r)"
            % (name, second[1] and second[1]["error"]))


def main(env, c):
    env.start_scheduler()
    grow_three(env, c)
    regrow_beside(env, c)
    grow_threaded(env, c)
    unmovable_newcomer(env, c, "pitch")
    unmovable_newcomer(env, c, "async")


run(main, "memory_growth",
    gpus="%s:16Gi,%s:4Gi" % (DEFAULT_UUID, SECOND_UUID))
