"""Compute quotas on the simulated GPU: the accuracy matrix of `make bench`
in a short version; every cell within 3 points of its target.

Also: a limit changed live takes effect within a second (the matrix's
30% -> 80% cell); scheduling switched off and on again keeps the quota; a
bad NVSHARE_GPU_CORE_LIMIT is refused with a clear line while the program
runs unlimited.
"""
import time

from core_matrix import gpu_share, run as run_matrix, table
from harness import finish, run, wait_for

TOLERANCE = 3.0
SECONDS = 10.0


def main(env, c):
    rows = run_matrix(env.build, SECONDS)
    print(table(rows))
    for cell, target, got, err in rows:
        c.check(abs(err) <= TOLERANCE, "%s: %.1f%% for %.1f%% (%+.1f)" %
                (cell, got, target, err))

    env.start_scheduler()
    p = env.gpuload("--kernel-ms", 5, "--seconds", 60,
                    extra_env={"NVSHARE_GPU_CORE_LIMIT": "30"})
    wait_for(lambda: (env.gpu_state(p.pid) or {}).get("core_share_pct") ==
             30.0, 10.0, "the 30% client metered")
    env.ctl("off")
    env.ctl("on")
    time.sleep(1.0)
    t0 = time.monotonic_ns()
    time.sleep(3.0)
    t1 = time.monotonic_ns()
    p.kill()
    p.wait()
    got = gpu_share(env.trace(), p.pid, t0, t1)
    c.check(abs(got - 30.0) <= 5.0,
            "after nvsharectl off and on the 30%% limit still holds (%.1f%%)"
            % got)

    rc, res, err = finish(env.gpuload(
        "--kernel-ms", 5, "--kernels", 20,
        extra_env={"NVSHARE_GPU_CORE_LIMIT": "150"}))
    c.check(rc == 0 and "NVSHARE_GPU_CORE_LIMIT" in err,
            "a core limit of 150 is reported and the program runs")
    r = env.ctl("set", "--client", "1", "--core-limit", "0", check=False)
    c.check(r.returncode == 2 and "core-limit" in r.stderr,
            "nvsharectl refuses a core limit of 0")


run(main, "compute_quota")
