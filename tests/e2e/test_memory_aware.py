"""Memory-aware scheduling on the simulated GPU (16 GiB per device).

1. Fit: three clients of 2 GiB at a 25% duty cycle run concurrently: the
   makespan stays within 1.3x of one client alone and nothing is swapped.
2. Oversubscribed: three saturating clients of 8 GiB on GPU 0 (1 s
   slice) take turns with swapping: makespan within 1.15x of three solo
   runs, nobody waits longer than two slices between turns, and the bytes
   each wrote are intact at the end. Meanwhile a client alone on GPU 1
   runs as fast as it does solo: the GPUs do not influence each other.
   Run with each swap mechanism: remappable blocks (cuMemAlloc's default)
   and Unified Memory (NVSHARE_SWAP=unified).
3. Exit: in an oversubscribed GPU, once one client exits the other two fit
   and reach full speed together within one slice: no swapping after that.

Bandwidths of the simulated link are raised (NVSHARE_FAKE_BW) so that a
test run takes seconds; the swap costs are still modelled and counted.
"""
import time

from harness import DEFAULT_UUID, SECOND_UUID, finish, run, wait_for

BW = {"NVSHARE_FAKE_BW": "h2d=100G,d2h=50G,fault=20G,pinned=100G"}


def launch(env, *args, device=0):
    return env.gpuload("--device", device, *args, extra_env=BW)


def wall_s(procs):
    results = [finish(p) for p in procs]
    starts = [r[1]["start_ms"] for r in results if r[1]]
    ends = [r[1]["end_ms"] for r in results if r[1]]
    # A run with --verify succeeded only if its bytes survived the swaps.
    ok = all(r[0] == 0 and r[1] and r[1]["error"] is None
             and r[1].get("verified") is not False for r in results)
    return ok, (max(ends) - min(starts)) / 1000.0 if starts else None, results


def turns(trace, pid):
    """Runs of consecutive kernels of pid on device 0: [(start, end)]."""
    runs, cur = [], None
    for k in sorted((k for k in trace if k["kind"] == "kernel" and k["dev"] == 0),
                    key=lambda k: k["start_ns"]):
        if k["pid"] == pid:
            if cur is None:
                cur = [k["start_ns"], k["end_ns"]]
            else:
                cur[1] = k["end_ns"]
        elif cur is not None:
            runs.append(cur)
            cur = None
    if cur is not None:
        runs.append(cur)
    return runs


def fit_case(env, c):
    args = ("--mem", "2Gi", "--kernel-ms", 10, "--kernels", 60, "--duty", 25)
    ok, solo, _ = wall_s([launch(env, *args)])
    c.check(ok, "fit: solo run succeeded (%.2f s)" % (solo or 0))
    swaps_before = env.status()["gpus"][0]["swaps"]
    ok, together, _ = wall_s([launch(env, *args) for _ in range(3)])
    c.check(ok, "fit: three together succeeded")
    c.check(together <= 1.3 * solo,
            "fit: makespan %.2f s <= 1.3 x solo %.2f s" % (together, solo))
    c.check(env.status()["gpus"][0]["swaps"] == swaps_before,
            "fit: no swap recorded")
    evicted = sum(d["evicted_bytes"] for p in env.fake_stat()["processes"]
                  for d in p["devices"])
    c.check(evicted == 0, "fit: the simulated GPU evicted nothing (%d B)" % evicted)


def oversubscribed_case(env, c, mechanism):
    # A fixed 1 s slice, shorter than each client's 3 s of work, so that
    # they must take turns and swap (the auto slice would let two of them
    # finish together before the third needs their memory).
    env.ctl("set", "--time-slice", "1000")
    swap = {"NVSHARE_SWAP": mechanism}
    args = ("--mem", "8Gi", "--kernel-ms", 20, "--seconds", 3, "--verify",
            "1Mi")
    name = "oversubscribed (%s)" % mechanism

    def start(*args, device=0):
        return env.gpuload("--device", device, *args,
                           extra_env=dict(BW, **swap))
    swaps_before = env.status()["gpus"][0]["swaps"]
    ok, solo, _ = wall_s([start(*args)])
    c.check(ok, "%s: solo run succeeded (%.2f s)" % (name, solo or 0))
    ok1, solo1, _ = wall_s([start(*args, device=1)])
    group = [start(*args) for _ in range(3)]
    other = start(*args, device=1)
    ok, makespan, results = wall_s(group)
    ok_other, other_wall, _ = wall_s([other])
    c.check(ok, "%s: three 8 GiB clients succeeded, their bytes intact"
            % name)
    c.check(makespan <= 1.15 * 3 * solo,
            "%s: makespan %.2f s <= 1.15 x 3 x solo %.2f s"
            % (name, makespan, solo))
    st = env.status()["gpus"]
    gpu0 = [g for g in st if g["uuid"] == DEFAULT_UUID][0]
    c.check(gpu0["swaps"] > swaps_before,
            "%s: swaps recorded (%d)" % (name, gpu0["swaps"] - swaps_before))
    slice_ms = gpu0["time_slice_ms"]
    trace = env.trace()
    worst = 0
    for p in group:
        rs = turns(trace, p.pid)
        for a, b in zip(rs, rs[1:]):
            worst = max(worst, (b[0] - a[1]) / 1e6)
    c.check(worst <= 2 * slice_ms + 500,
            "%s: longest wait between turns %.0f ms <= two slices "
            "(%d ms) + 500" % (name, worst, 2 * slice_ms))
    c.check(ok1 and ok_other and other_wall <= 1.1 * solo1 + 0.2,
            "%s: GPU 1 alone ran at its solo speed beside the busy GPU 0 "
            "(%.2f s vs %.2f s)" % (name, other_wall or 0, solo1 or 0))
    env.ctl("set", "--time-slice", "auto")


def exit_case(env, c):
    short = launch(env, "--mem", "8Gi", "--kernel-ms", 20, "--seconds", 1)
    longs = [launch(env, "--mem", "8Gi", "--kernel-ms", 20, "--seconds", 3)
             for _ in range(2)]
    rc, res, _ = finish(short)
    ok, _, results = wall_s(longs)
    c.check(rc == 0 and ok, "exit: all three succeeded")
    slice_ms = [g for g in env.status()["gpus"] if g["uuid"] == DEFAULT_UUID][0]["time_slice_ms"]
    trace = env.trace()
    exit_ns = max(k["end_ns"] for k in trace if k["pid"] == short.pid)
    settle = exit_ns + (slice_ms + 300) * 1e6
    late = [k for k in trace if k["start_ns"] >= settle and k["dev"] == 0]
    late_pids = {k["pid"] for k in late if k["kind"] == "kernel"}
    c.check(late_pids == {p.pid for p in longs},
            "exit: both remaining clients run after the first left")
    # Either mechanism: Unified Memory moves as evictions and prefetches,
    # remappable blocks as copies.
    c.check(not [k for k in late if k["kind"] in ("evict", "prefetch", "copy")],
            "exit: no swapping once the two fit together")
    # Together at full speed: their kernels interleave (no long turns).
    ks = sorted((k for k in late if k["kind"] == "kernel"), key=lambda k: k["start_ns"])
    switches = sum(1 for a, b in zip(ks, ks[1:]) if a["pid"] != b["pid"])
    c.check(len(ks) < 10 or switches >= len(ks) / 3,
            "exit: the two run concurrently (%d switches in %d kernels)"
            % (switches, len(ks)))


def main(env, c):
    env.start_scheduler()
    fit_case(env, c)
    # cuMemAlloc's remappable blocks (the default), and Unified Memory.
    oversubscribed_case(env, c, "remap")
    oversubscribed_case(env, c, "unified")
    exit_case(env, c)


run(main, "memory_aware",
    gpus="%s:16Gi,%s:16Gi" % (DEFAULT_UUID, SECOND_UUID))
