"""The library's environment variables (lib/config.c): each bad value is
reported once, with the variable's name and a printable copy of the value
(a newline in it cannot forge a log line), and its default kept; the
program runs as if the variable were unset. Good values raise no
warning.
"""
from harness import finish, run

BAD = {
    "NVSHARE_IDLE_RELEASE_MS": "0",
    "NVSHARE_GRANT_WAIT_MS": "soon",
    "NVSHARE_QUEUE_WINDOW_MS": "60001",
    "NVSHARE_SINGLE_OVERSUB": "yes",
    "NVSHARE_SWAP": "bad\nnvshare level=error forged=1",
    "NVSHARE_GPU_MEMORY_LIMIT": "0",
    "NVSHARE_GPU_CORE_LIMIT": "250",
}


def main(env, c):
    env.start_scheduler()
    rc, res, err = finish(env.gpuload("--mem", "64Mi", "--kernels", 5,
                                      "--kernel-ms", 2, extra_env=BAD))
    c.check(rc == 0 and res and res["error"] is None,
            "bad values: the program runs (rc %d)" % rc)
    lines = [ln for ln in err.splitlines() if "event=bad_env" in ln]
    for var in BAD:
        n = sum(1 for ln in lines if "var=%s " % var in ln)
        c.check(n == 1, "%s reported once (%d)" % (var, n))
    c.check(not any(ln.startswith("nvshare level=error forged")
                    for ln in err.splitlines()),
            "a newline in a value forges no log line")
    c.check(any('value="bad?nvshare level=error forged=1"' in ln
                for ln in lines),
            "the value is shown with its newline replaced")
    rc, res, err = finish(env.gpuload(
        "--mem", "64Mi", "--kernels", 2, "--kernel-ms", 1,
        extra_env={"NVSHARE_GPU_CORE_LIMIT": "100",
                   "NVSHARE_GPU_MEMORY_LIMIT": "1Gi"}))
    c.check(rc == 0 and "bad_env" not in err,
            "good values: no warning (rc %d)" % rc)


run(main, "config")
