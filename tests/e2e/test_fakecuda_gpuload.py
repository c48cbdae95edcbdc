"""gpuload does what its flags say, and refuses what they do not allow.

Runs gpuload straight on the simulated driver (no scheduler, no preload):
  - bad usage exits 2 with a message, before touching any GPU;
  - --seconds becomes ceil(S * 1000 / kernel_ms) kernels;
  - at duty 100 the GPU is kept busy back to back (the trace shows no gaps
    between its kernels); at duty 50 it is idle as long as busy;
  - the JSON line's figures agree with each other and with the trace;
  - --device picks the GPU, an absent one fails with the driver's error;
  - --grow-to grows buffers while running, each kernel touching all of
    them (the trace shows a kernel of no time per grown buffer), and
    --regrow frees and grows them again; --verify covers every buffer;
  - --threads 4 runs all of it four times at once, the report summing it;
    when one thread fails, the others stop instead of running to their end.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DEFAULT_UUID, SECOND_UUID, finish, run  # noqa: E402

MS = 1000000
GPUS = "%s:16Gi,%s:8Gi" % (DEFAULT_UUID, SECOND_UUID)

BAD_USAGE = [
    [],                                      # no amount of work
    ["--kernels", "1", "--seconds", "1"],   # both
    ["--kernels", "0"],
    ["--kernels", "1x"],
    ["--kernels", "1", "--kernels", "2"],   # twice
    ["--kernels", "1", "--duty", "0"],
    ["--kernels", "1", "--duty", "101"],
    ["--kernels", "1", "--kernel-ms", "-1"],
    ["--kernels", "1", "--kernel-ms", "0"],
    ["--kernels", "1", "--kernel-ms", "1e3"],
    ["--kernels", "1", "--kernel-ms", "nan"],
    ["--kernels", "1", "--mem", "1Q"],
    ["--kernels", "1", "--mem"],             # missing value
    ["--kernels", "1", "--inflight", "0"],
    ["--kernels", "1", "--alloc-api", "malloc"],
    ["--kernels", "1", "--device", "-1"],
    ["--kernels", "1", "--frobnicate"],
    ["--kernels", "1", "--kernel", "sleep"],
    ["--kernels", "1", "--work-iters", "0"],
    ["--kernels", "1", "--verify", "0"],
    ["--kernels", "1", "--verify", "6"],      # not whole words
    ["--kernels", "1", "--verify", "65Mi"],   # above 64 MiB
    ["--seconds", "0"],
    ["--kernels", "9", "--mem", "2Gi", "--grow-to", "1Gi"],  # below --mem
    ["--kernels", "9", "--mem", "1Gi", "--grow-to", "1Gi"],  # no growth
    ["--kernels", "9", "--grow-to", "4Gi", "--grow-step", "0"],
    ["--kernels", "9", "--regrow", "2"],      # without --grow-to
    ["--kernels", "9", "--grow-step", "1Gi"],  # without --grow-to
    ["--kernels", "9", "--grow-to", "0"],
    ["--kernels", "9", "--grow-to", "4Gi", "--regrow", "-1"],
    ["--kernels", "4", "--grow-to", "4Gi"],   # 4 steps need 5 kernels
    ["--kernels", "9", "--grow-to", "4Gi", "--regrow", "1"],  # 10
    ["--kernels", "9", "--grow-to", "5000Gi", "--grow-step", "1Mi"],
    ["--kernels", "1", "--threads", "0"],
    ["--kernels", "1", "--threads", "65"],
    ["--kernels", "1", "--threads", "2.5"],
]


def usage_errors(env, c):
    for args in BAD_USAGE:
        r = subprocess.run([env.path("bin", "gpuload")] + args,
                           env=env.environ(preload=False),
                           capture_output=True, text=True, timeout=30)
        c.check(r.returncode == 2 and r.stdout == "" and
                "gpuload:" in r.stderr,
                "refused with exit 2: %s" % " ".join(args))
    r = subprocess.run([env.path("bin", "gpuload"), "--help"],
                       capture_output=True, text=True, timeout=30)
    c.check(r.returncode == 0 and "--kernel-ms" in r.stdout,
            "--help prints the usage and exits 0")


def seconds_to_kernels(env, c):
    for seconds, kernel_ms, want in (("0.2", "20", 10), ("0.25", "0.1", 2500),
                                     ("0.05", "30", 2)):
        rc, res, _ = finish(env.gpuload("--seconds", seconds, "--kernel-ms",
                                        kernel_ms, "--device=1",
                                        preload=False))
        c.check(rc == 0 and res["kernels"] == want,
                "--seconds %s --kernel-ms %s runs %d kernels (%s)"
                % (seconds, kernel_ms, want, res and res["kernels"]))


def full_duty(env, c):
    rc, res, _ = finish(env.gpuload("--kernels", 15, "--kernel-ms", 10,
                                    preload=False))
    c.check(rc == 0 and res["error"] is None, "duty 100 run succeeded")
    c.check(res["uuid"] == DEFAULT_UUID, "default device is GPU 0")
    c.check(res["kernels"] == 15 and abs(res["gpu_ms"] - 150) < 1e-6,
            "15 kernels, gpu_ms 150 (%s)" % res["gpu_ms"])
    c.check(res["wall_ms"] >= 150, "wall %.1f ms >= 150 ms of GPU work"
            % res["wall_ms"])
    c.check(res["start_ms"] <= res["first_launch_ms"] <= res["end_ms"],
            "start <= first launch <= end")
    span = res["end_ms"] - res["start_ms"]
    c.check(abs(span - res["wall_ms"]) < 5,
            "end - start (%.1f) agrees with wall_ms (%.1f)"
            % (span, res["wall_ms"]))
    mine = sorted((r for r in env.trace() if r["pid"] == res["pid"]),
                  key=lambda r: r["start_ns"])
    gaps = [b["start_ns"] - a["end_ns"] for a, b in zip(mine, mine[1:])]
    # A kernel queued behind another starts the moment it ends; only a
    # gpuload descheduled for a whole kernel (noisy CI) could leave a gap.
    c.check(len(mine) == 15 and sum(1 for g in gaps if g == 0) >= 10,
            "two kernels in flight keep the GPU busy back to back "
            "(%d of %d gaps are zero)" % (sum(1 for g in gaps if g == 0),
                                          len(gaps)))


def work_kernels(env, c):
    """--kernel work calibrates to the kernel time (the simulated GPU runs
    an iteration per ns); --work-iters skips the calibration."""
    rc, res, _ = finish(env.gpuload("--kernel", "work", "--kernels", 10,
                                    "--kernel-ms", 5, preload=False))
    c.check(rc == 0 and res["kernel"] == "work" and
            abs(res["work_iters"] - 5000000) <= 50000,
            "calibrated: about 5,000,000 iterations per 5 ms (%s)" %
            (res and res["work_iters"]))
    rc, res, _ = finish(env.gpuload("--work-iters", 2000000, "--kernels", 10,
                                    preload=False))
    mine = [r for r in env.trace() if r["pid"] == res["pid"]]
    c.check(rc == 0 and res["work_iters"] == 2000000 and len(mine) == 10 and
            all(r["end_ns"] - r["start_ns"] == 2000000 for r in mine),
            "--work-iters 2000000: ten kernels of exactly 2 ms")


def half_duty(env, c):
    rc, res, _ = finish(env.gpuload("--kernels", 6, "--kernel-ms", 20,
                                    "--duty", 50, "--device", 1,
                                    preload=False))
    c.check(rc == 0 and res["uuid"] == SECOND_UUID,
            "duty 50 run on GPU 1 (%s)" % (res and res["uuid"]))
    # 6 kernels of 20 ms and 5 rests of 20 ms between them.
    c.check(220 <= res["wall_ms"] < 220 + 500,
            "duty 50: wall %.1f ms ~ 6 x 20 ms busy + 5 x 20 ms idle"
            % res["wall_ms"])
    mine = sorted((r for r in env.trace() if r["pid"] == res["pid"]),
                  key=lambda r: r["start_ns"])
    gaps = [b["start_ns"] - a["end_ns"] for a, b in zip(mine, mine[1:])]
    c.check(len(gaps) == 5 and min(gaps) >= 20 * MS,
            "the GPU idles >= 20 ms between kernels (min %.1f ms)"
            % (min(gaps) / MS if gaps else -1))


def bad_device(env, c):
    rc, res, err = finish(env.gpuload("--kernels", 1, "--device", 5,
                                      preload=False))
    c.check(rc == 1 and res["error"] == "cuDeviceGet: "
            "CUDA_ERROR_INVALID_DEVICE", "an absent device fails (%r)"
            % (res and res["error"]))
    c.check(res["kernels"] == 0 and res["first_launch_ms"] is None and
            res["uuid"] is None, "and reports that nothing ran")
    c.check("cuDeviceGet" in err, "with the reason on stderr")


def verify(env, c):
    """--verify: the pattern written before the kernels reads back after
    them; small buffers are covered whole, large ones at both ends."""
    for mem, check in (("12Ki", "1Mi"), ("64Mi", "1Mi")):
        rc, res, _ = finish(env.gpuload("--mem", mem, "--kernels", 3,
                                        "--verify", check, preload=False))
        c.check(rc == 0 and res["verified"] is True and res["error"] is None,
                "--mem %s --verify %s: verified (%r)"
                % (mem, check, res and res["error"]))
    rc, res, _ = finish(env.gpuload("--kernels", 1, preload=False))
    c.check(res["verified"] is None, "without --verify: verified is null")


def touches(env, pid):
    """(touches of grown buffers, timed kernels) of pid: the simulated GPU
    counts every kernel; the trace leaves out those of no time."""
    timed = sum(1 for r in env.trace()
                if r["pid"] == pid and r["kind"] == "kernel")
    for p in env.fake_stat()["processes"]:
        if p["pid"] == pid:
            return p["devices"][0]["kernels"] - timed, timed
    return None, timed


def grow(env, c):
    """--grow-to 7Gi from 1Gi in 1 GiB steps over 30 kernels: a step every
    ceil(30 / 3 / 6) = 2 kernels, before kernels 2, 4, ..., 12; each kernel
    then touches every grown buffer, so 2 x (0 + 1 + ... + 5) + 18 x 6 =
    138 touches."""
    rc, res, _ = finish(env.gpuload("--mem", "1Gi", "--grow-to", "7Gi",
                                    "--kernels", 30, "--verify", "1Mi",
                                    preload=False))
    c.check(rc == 0 and res["error"] is None and res["verified"] is True,
            "grow: 1 -> 7 GiB ran, every buffer verified (%r)"
            % (res and res["error"]))
    c.check(res["grow_steps"] == 6 and res["peak_bytes"] == 7 << 30 and
            res["regrows"] == 0 and res["mem_bytes"] == 1 << 30,
            "grow: 6 steps, peak 7 GiB, no regrow (%s, %s, %s)"
            % (res["grow_steps"], res["peak_bytes"], res["regrows"]))
    idle, timed = touches(env, res["pid"])
    c.check(timed == 30 and idle == 138,
            "grow: 30 timed kernels and 138 touches of grown buffers "
            "(%d, %d)" % (timed, idle))
    rc, res, _ = finish(env.gpuload("--mem", "1Gi", "--grow-to", "17Gi",
                                    "--kernels", 20, preload=False))
    c.check(rc == 1 and res["error"] == "cuMemAlloc: "
            "CUDA_ERROR_OUT_OF_MEMORY" and res["peak_bytes"] == 16 << 30,
            "grow beyond the 16 GiB GPU: out of memory at 16 GiB (%r, %s)"
            % (res and res["error"], res and res["peak_bytes"]))


def regrow(env, c):
    """--regrow 2: three cycles of 10 kernels, each growing 0.5 -> 3 GiB
    (1 + 1 + 0.5 GiB) before its kernels 2, 4 and 6 and freeing it all
    at the start of the next: 3 x (2 x (0 + 1 + 2) + 4 x 3) = 54
    touches."""
    for api in ("async", "pitch"):
        rc, res, _ = finish(env.gpuload("--mem", "512Mi", "--grow-to", "3Gi",
                                        "--regrow", 2, "--kernels", 30,
                                        "--alloc-api", api, "--verify",
                                        "1Mi", preload=False))
        c.check(rc == 0 and res["error"] is None and
                res["verified"] is True,
                "regrow (%s): ran, every buffer verified (%r)"
                % (api, res and res["error"]))
        c.check(res["grow_steps"] == 9 and res["peak_bytes"] == 3 << 30 and
                res["regrows"] == 2,
                "regrow (%s): 9 steps, peak 3 GiB, 2 regrows (%s, %s, %s)"
                % (api, res["grow_steps"], res["peak_bytes"],
                   res["regrows"]))
        idle, timed = touches(env, res["pid"])
        c.check(timed == 30 and idle == 54,
                "regrow (%s): 30 timed kernels, 54 touches (%d, %d)"
                % (api, timed, idle))


def threads(env, c):
    """--threads 4, each thread 1 GiB growing to 3 GiB over 30 kernels: a
    step before kernels 5 and 10, so 5 x 1 + 20 x 2 = 45 touches a thread;
    120 timed kernels, 180 touches, 12 GiB at the peak in all."""
    rc, res, _ = finish(env.gpuload("--mem", "1Gi", "--grow-to", "3Gi",
                                    "--kernels", 30, "--verify", "1Mi",
                                    "--threads", 4, preload=False))
    c.check(rc == 0 and res["error"] is None and res["verified"] is True,
            "threads: 4 threads ran, every buffer verified (%r)"
            % (res and res["error"]))
    c.check(res["threads"] == 4 and res["kernels"] == 120 and
            res["grow_steps"] == 8 and res["peak_bytes"] == 12 << 30 and
            res["mem_bytes"] == 4 << 30,
            "threads: the report sums them: 120 kernels, 8 steps, 12 GiB "
            "peak, 4 GiB of --mem (%s, %s, %s, %s)"
            % (res["kernels"], res["grow_steps"], res["peak_bytes"],
               res["mem_bytes"]))
    idle, timed = touches(env, res["pid"])
    c.check(timed == 120 and idle == 180,
            "threads: 120 timed kernels, 180 touches (%s, %d)"
            % (idle, timed))
    c.check(res["gpu_ms"] == 1200.0 and res["wall_ms"] >= 1200.0,
            "threads: 1.2 s of GPU work, in no less wall time on the one "
            "simulated GPU (%.1f ms)" % res["wall_ms"])


def thread_failure(env, c):
    """--threads 4 of 3 GiB each on the 8 GiB GPU: two of the four
    allocations fail. The two threads that got their memory stop at their
    next kernel (before: 2 x 100 kernels, 2 s of GPU work)."""
    rc, res, _ = finish(env.gpuload("--mem", "3Gi", "--kernels", 100,
                                    "--kernel-ms", 10, "--threads", 4,
                                    "--device=1", preload=False))
    c.check(rc == 1 and res and "CUDA_ERROR_OUT_OF_MEMORY" in
            (res["error"] or ""),
            "thread failure: exit 1 with the failing thread's error (%s, %r)"
            % (rc, res and res["error"]))
    c.check(res and res["kernels"] < 50,
            "thread failure: the other threads stopped, %s of 200 kernels "
            "launched" % (res and res["kernels"]))


def main(env, c):
    usage_errors(env, c)
    verify(env, c)
    seconds_to_kernels(env, c)
    full_duty(env, c)
    work_kernels(env, c)
    half_duty(env, c)
    bad_device(env, c)
    grow(env, c)
    regrow(env, c)
    threads(env, c)
    thread_failure(env, c)


if __name__ == "__main__":
    run(main, "fakecuda_gpuload", gpus=GPUS)
