"""Compute quotas on the simulated GPU: the accuracy matrix of `make bench`
in a short version; every cell within 3 points of its target.

Also: a limit changed live takes effect within a second (the matrix's
30% -> 80% cell), and a bad NVSHARE_GPU_CORE_LIMIT is refused with a clear
line while the program runs unlimited.
"""
from core_matrix import run as run_matrix, table
from harness import finish, run

TOLERANCE = 3.0
SECONDS = 10.0


def main(env, c):
    rows = run_matrix(env.build, SECONDS)
    print(table(rows))
    for cell, target, got, err in rows:
        c.check(abs(err) <= TOLERANCE, "%s: %.1f%% for %.1f%% (%+.1f)" %
                (cell, got, target, err))

    env.start_scheduler()
    rc, res, err = finish(env.gpuload(
        "--kernel-ms", 5, "--kernels", 20,
        extra_env={"NVSHARE_GPU_CORE_LIMIT": "150"}))
    c.check(rc == 0 and "NVSHARE_GPU_CORE_LIMIT" in err,
            "a core limit of 150 is reported and the program runs")
    r = env.ctl("set", "--client", "1", "--core-limit", "0", check=False)
    c.check(r.returncode == 2 and "core-limit" in r.stderr,
            "nvsharectl refuses a core limit of 0")


run(main, "compute_quota")
