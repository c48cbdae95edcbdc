"""Compute quotas on the simulated GPU: the accuracy matrix of `make bench`
in a short version; every cell within 3 points of its target.

Above the target the bound is 3 points, always: that is the quota failing
to limit. Below it, the bound is 3 points under the target scaled by what
the matrix's unlimited control workload reached in the same run: on a
busy machine a saturating workload loses GPU time to delayed wake-ups,
limited or not, in proportion to the time it runs (measured on a noisy
2-core VM: control 94.2 %, 90 % at 85.9, 60 % at 57.7, 10 % at 10.5; CI
once had 80 % at 76.3), and that is the machine, not the quota. The
control is measured over each cell's own window (the change cell's two
phases have theirs), and must reach 60 % there, or the run measured
nothing.

Also: a limit changed live takes effect within a second (the matrix's
30% -> 80% cell); scheduling switched off and on again keeps the quota; a
30% client launching from 4 threads on 4 streams (gpuload --threads 4,
streams of their own, then each thread's per-thread default stream) is
held to its 30% as one of a single thread is; a
bad NVSHARE_GPU_CORE_LIMIT is refused with a clear line while the program
runs unlimited.
"""
import time

from core_matrix import gpu_share, limited, run as run_matrix, table
from harness import finish, run, wait_for

TOLERANCE = 3.0
MIN_REACH = 0.6
SECONDS = 10.0


def share_after_settling(env, p):
    """p's share of the GPU over 3 s, after 1 s to settle; p is ended."""
    time.sleep(1.0)
    t0 = time.monotonic_ns()
    time.sleep(3.0)
    t1 = time.monotonic_ns()
    p.kill()
    p.wait()
    return gpu_share(env.trace(), p.pid, t0, t1)


def main(env, c):
    rows = run_matrix(env.build, SECONDS)
    print(table(rows))
    for cell, target, got, err, reach in limited(rows):
        c.check(reach >= MIN_REACH, "%s: the control reached %.0f%% of its "
                "GPU (%.0f%% at least, or the machine starved it)" %
                (cell, 100 * reach, 100 * MIN_REACH))
        low = target * min(1.0, reach) - TOLERANCE
        c.check(low <= got <= target + TOLERANCE,
                "%s: %.1f%% for %.1f%% (%+.1f; bounds %.1f..%.1f)" %
                (cell, got, target, err, low, target + TOLERANCE))

    env.start_scheduler()
    p = env.gpuload("--kernel-ms", 5, "--seconds", 60,
                    extra_env={"NVSHARE_GPU_CORE_LIMIT": "30"})
    wait_for(lambda: (env.gpu_state(p.pid) or {}).get("core_share_pct") ==
             30.0, 10.0, "the 30% client metered")
    env.ctl("off")
    env.ctl("on")
    got = share_after_settling(env, p)
    c.check(abs(got - 30.0) <= 5.0,
            "after nvsharectl off and on the 30%% limit still holds (%.1f%%)"
            % got)

    for stream in ("own", "per-thread"):
        p = env.gpuload("--kernel-ms", 5, "--seconds", 60, "--threads", 4,
                        "--stream", stream,
                        extra_env={"NVSHARE_GPU_CORE_LIMIT": "30"})
        wait_for(lambda: (env.gpu_state(p.pid) or {}).get(
            "core_share_pct") == 30.0, 10.0,
            "the 4-thread 30% client metered")
        got = share_after_settling(env, p)
        c.check(abs(got - 30.0) <= 5.0,
                "4 threads on 4 streams (%s) are held to the 30%% limit "
                "(%.1f%%)" % (stream, got))

    rc, res, err = finish(env.gpuload(
        "--kernel-ms", 5, "--kernels", 20,
        extra_env={"NVSHARE_GPU_CORE_LIMIT": "150"}))
    c.check(rc == 0 and "NVSHARE_GPU_CORE_LIMIT" in err,
            "a core limit of 150 is reported and the program runs")
    r = env.ctl("set", "--client", "1", "--core-limit", "0", check=False)
    c.check(r.returncode == 2 and "core-limit" in r.stderr,
            "nvsharectl refuses a core limit of 0")


run(main, "compute_quota")
