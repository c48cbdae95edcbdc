"""Memory the process sees follows the scheduler's capacity for the GPU.

The scheduler says the 16 GiB simulated card has 4 GiB (--gpu-memory): a
single process asking for more gets CUDA_ERROR_OUT_OF_MEMORY, unless
single-process oversubscription is enabled; what it allocates is reported
to the scheduler and shown in status.
"""
from harness import DEFAULT_UUID, GIB, finish, run, wait_for


def main(env, c):
    env.start_scheduler("--gpu-memory", DEFAULT_UUID + "=4Gi")
    rc, res, err = finish(env.gpuload("--mem", "6Gi", "--kernels", 1))
    c.check(rc == 1, "6 GiB on a 4 GiB GPU fails (rc=%s)" % rc)
    c.check(res and res["error"] and "CUDA_ERROR_OUT_OF_MEMORY" in res["error"],
            "the error is CUDA_ERROR_OUT_OF_MEMORY (%s)" % (res and res["error"]))

    rc, res, err = finish(env.gpuload("--mem", "6Gi", "--kernels", 1,
                                      extra_env={"NVSHARE_SINGLE_OVERSUB": "1"}))
    c.check(rc == 0, "with NVSHARE_SINGLE_OVERSUB=1 it succeeds")

    p = env.gpuload("--mem", "3Gi", "--kernel-ms", 10, "--seconds", 1.5)

    wait_for(lambda: (env.gpu_state(p.pid) or {}).get("memory_bytes") == 3 * GIB,
             5.0, "3 GiB reported to the scheduler")
    c.check(True, "status shows the client's 3 GiB")
    st = env.status()
    c.check(st["gpus"][0]["capacity_bytes"] == 4 * GIB,
            "status shows the GPU's 4 GiB capacity")
    rc, res, err = finish(p)
    c.check(rc == 0, "3 GiB on a 4 GiB GPU succeeds")


run(main, "memory_capacity")
