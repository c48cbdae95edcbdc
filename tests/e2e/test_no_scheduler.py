"""No scheduler at all: the program runs, unmanaged, and says so once."""
from harness import finish, run


def main(env, c):
    p = env.gpuload("--kernel-ms", 5, "--kernels", 40, "--mem", "1Gi")
    rc, res, err = finish(p)
    c.check(rc == 0 and res and res["error"] is None, "gpuload succeeded")
    c.check(res and res["kernels"] == 40 and abs(res["gpu_ms"] - 200) < 1e-6,
            "all 40 kernels ran (200 ms of GPU time)")
    c.check(err.count("scheduler_unreachable") == 1,
            "exactly one warning about the missing scheduler")
    c.check("running unmanaged" in err, "the warning says it runs unmanaged")
    kernels = [k for k in env.trace() if k["pid"] == p.pid
               and k["kind"] == "kernel"]
    c.check(len(kernels) == 40, "the driver saw 40 kernels")


run(main, "no_scheduler")
