"""Three saturating workloads time-slice one simulated GPU.

The scheduler runs with a 200 ms slice. Each gpuload has 1.5 s of GPU work
(150 kernels of 10 ms). Asserted from the simulated driver's kernel trace:
each process gets several separate turns, no process finishes before the
others have started, nobody waits much longer than the others' slices, the
GPU stays busy (makespan close to the sum of the work), and each process
gets exactly its own GPU time. Without gating, kernels would interleave one
by one (about 150 turns each), which the turn count rules out.
"""
import time

from harness import finish, run, wait_for

SLICE_MS = 200
KERNEL_MS = 10
KERNELS = 150


def turns(trace):
    """Maximal runs of consecutive kernels by one pid: [(pid, start, end)]."""
    runs = []
    for k in sorted(trace, key=lambda r: r["start_ns"]):
        if runs and runs[-1][0] == k["pid"]:
            runs[-1][2] = k["end_ns"]
        else:
            runs.append([k["pid"], k["start_ns"], k["end_ns"]])
    return runs


def main(env, c):
    env.start_scheduler("--mode", "serial", "--time-slice", str(SLICE_MS))
    procs = [env.gpuload("--kernel-ms", KERNEL_MS, "--kernels", KERNELS)
             for _ in range(3)]
    pids = {p.pid for p in procs}

    # While they run: one holder, the others queued behind it.
    def three_registered():
        st = env.status()
        return len(st["clients"]) == 3 and st["gpus"] and \
            len(st["gpus"][0]["queue"]) == 2
    wait_for(three_registered, 10.0, "three clients, two queued")
    st = env.status()
    c.check(st["gpus"][0]["holder"] is not None, "the GPU has a holder")

    results = [finish(p) for p in procs]
    for rc, res, err in results:
        c.check(rc == 0 and res is not None and res["error"] is None,
                "gpuload finished cleanly (rc=%s, %s)" % (rc, err.strip()[-200:]))
        c.check(res is not None and res["kernels"] == KERNELS,
                "gpuload ran all %d kernels" % KERNELS)

    kernels = [k for k in env.trace() if k["kind"] == "kernel"
               and k["pid"] in pids]
    c.check(len(kernels) == 3 * KERNELS,
            "trace holds %d kernels (got %d)" % (3 * KERNELS, len(kernels)))
    runs = turns(kernels)
    per_pid = {pid: [r for r in runs if r[0] == pid] for pid in pids}
    for pid, rs in per_pid.items():
        c.check(3 <= len(rs) <= 40,
                "pid %d got %d turns (3..40: sliced, not per kernel)"
                % (pid, len(rs)))
    first = {pid: min(k["start_ns"] for k in kernels if k["pid"] == pid)
             for pid in pids}
    last = {pid: max(k["end_ns"] for k in kernels if k["pid"] == pid)
            for pid in pids}
    c.check(max(first.values()) < min(last.values()),
            "every process started before any finished")
    worst_gap = 0
    for rs in per_pid.values():
        for a, b in zip(rs, rs[1:]):
            worst_gap = max(worst_gap, b[1] - a[2])
    # Two others' slices (2 x 200 ms) plus drains and scheduling delays.
    c.check(worst_gap <= 1.5e9,
            "longest wait between turns %.0f ms <= 1500 ms" % (worst_gap / 1e6))
    total_ms = 3 * KERNELS * KERNEL_MS
    makespan_ms = (max(last.values()) - min(first.values())) / 1e6
    c.check(total_ms * 0.99 <= makespan_ms <= total_ms * 1.25,
            "makespan %.0f ms within [0.99, 1.25] x %d ms of work"
            % (makespan_ms, total_ms))
    stat = env.fake_stat()
    for p in stat["processes"]:
        if p["pid"] in pids:
            gpu_ms = p["devices"][0]["gpu_ns"] / 1e6
            c.check(abs(gpu_ms - KERNELS * KERNEL_MS) <= 0.02 * KERNELS * KERNEL_MS,
                    "pid %d used %.0f ms of GPU (expected %d)"
                    % (p["pid"], gpu_ms, KERNELS * KERNEL_MS))
    st = env.status()
    c.check(st["gpus"][0]["lock_grants"] >= 9,
            "scheduler granted the lock %d times (>= 9)"
            % st["gpus"][0]["lock_grants"])


run(main, "timeslice")
