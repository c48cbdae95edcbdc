"""Memory quotas: a limit from the environment or set live through the
scheduler is enforced on every allocation API, and what the program is told
(cuMemGetInfo, cuDeviceTotalMem, NVML) agrees with it.

alloc_probe allocates through each API on command; gpuload is the workload
of the issue's examples.
"""
import time

from harness import GIB, AllocProbe, finish, run, wait_for

MIB = 1 << 20
OOM = 2  # CUDA_ERROR_OUT_OF_MEMORY


# Per API: arguments of a 768 MiB allocation, its bytes as charged, and the
# arguments of a 512 MiB one (which must then fail under a 1 GiB limit).
# Arrays are charged width x height x depth x 4-byte elements; pitched
# memory its real pitch (rows rounded up to 512 bytes by the driver).
APIS = [
    ("alloc", (768 * MIB,), 768 * MIB, (512 * MIB,)),
    ("managed", (768 * MIB,), 768 * MIB, (512 * MIB,)),
    ("pitch", (1000, 768 * 1024), 1024 * 768 * 1024, (1000, 512 * 1024)),
    ("async", (768 * MIB,), 768 * MIB, (512 * MIB,)),
    ("pool", (768 * MIB,), 768 * MIB, (512 * MIB,)),
    ("vmm", (768 * MIB,), 768 * MIB, (512 * MIB,)),
    ("array", (1 << 14, 12 << 10), 768 * MIB, (1 << 14, 8 << 10)),
    ("array3d", (1 << 12, 1 << 12, 12), 768 * MIB, (1 << 12, 1 << 12, 8)),
    # Levels of 512, 128, 32, 8, 2 MiB...: 682.7 MiB in all; then 512 MiB.
    ("mipmap", (1 << 13, 1 << 14, 14), sum(
        (max(1, (1 << 13) >> l) * max(1, (1 << 14) >> l) * 4)
        for l in range(14)), (1 << 13, 1 << 14, 1)),
]


def per_api(env, c):
    for api, args, charged, more in APIS:
        p = AllocProbe(env, {"NVSHARE_GPU_MEMORY_LIMIT": "1Gi"})
        a = p.alloc(api, *args)
        c.check(a["rc"] == 0, "%s: the first allocation succeeds (rc=%s)" %
                (api, a["rc"]))
        info = p.cmd("info")
        c.check(info["total"] == GIB and
                info["free"] == GIB - charged,
                "%s: cuMemGetInfo total 1 GiB, free %d MiB (got %s, %s)" %
                (api, (GIB - charged) // MIB, info["total"], info["free"]))
        wait_for(lambda: (env.gpu_state(p.pid) or {}).get("memory_bytes")
                 == charged, 5.0, "%s charged to the scheduler" % api)
        b = p.alloc(api, *more)
        c.check(b["rc"] == OOM,
                "%s: the next allocation beyond 1 GiB is refused with "
                "CUDA_ERROR_OUT_OF_MEMORY (rc=%s)" % (api, b["rc"]))
        c.check(p.used() == charged,
                "%s: a refused allocation charges nothing" % api)
        f = p.cmd("free %d" % a["id"])
        c.check(f["rc"] == 0 and p.used() == 0,
                "%s: freeing gives back every byte (used %d)" %
                (api, p.used()))
        p.close()


def vmm_references(env, c):
    """Physical memory released before it is unmapped stays charged."""
    p = AllocProbe(env, {"NVSHARE_GPU_MEMORY_LIMIT": "1Gi"})
    a = p.alloc("vmm_early", 512 * MIB)
    c.check(a["rc"] == 0 and p.used() == 512 * MIB,
            "VMM: released right after mapping, still charged while mapped")
    c.check(p.alloc("vmm", 768 * MIB)["rc"] == OOM,
            "VMM: the mapped memory still counts against the limit")
    p.cmd("free %d" % a["id"])
    c.check(p.used() == 0, "VMM: unmapping the last mapping frees it")
    p.close()


def reset(env, c):
    """A primary-context reset (cudaDeviceReset) frees the device's
    memory: the charge goes with it."""
    p = AllocProbe(env, {"NVSHARE_GPU_MEMORY_LIMIT": "1Gi"})
    p.alloc("alloc", 768 * MIB)
    c.check(p.cmd("reset")["rc"] == 0 and p.used() == 0,
            "after cuDevicePrimaryCtxReset nothing is charged")
    c.check(p.alloc("alloc", 768 * MIB)["rc"] == 0,
            "and the whole limit is available again")
    p.close()


def views(env, c):
    """cuDeviceTotalMem and NVML say what cuMemGetInfo says."""
    p = AllocProbe(env, {"NVSHARE_GPU_MEMORY_LIMIT": "1536Mi"})
    p.alloc("alloc", 512 * MIB)
    i = p.cmd("info")
    c.check(i["device_total"] == 1536 * MIB,
            "cuDeviceTotalMem reports the 1.5 GiB limit (%d)" %
            i["device_total"])
    c.check(i.get("nvml_rc") == 0 and i["nvml_total"] == 1536 * MIB and
            i["nvml_used"] == 512 * MIB and i["nvml_free"] == GIB,
            "nvmlDeviceGetMemoryInfo: total 1.5 GiB, used 512 MiB, free "
            "1 GiB (%s)" % {k: v for k, v in i.items() if "nvml" in k})
    c.check(i.get("nvml2_rc") == 0 and i["nvml2_total"] == 1536 * MIB and
            i["nvml2_used"] == 512 * MIB and i["nvml2_free"] == GIB,
            "nvmlDeviceGetMemoryInfo_v2 agrees")
    p.close()
    p = AllocProbe(env)
    i = p.cmd("info")
    c.check(i["total"] == 16 * GIB and i["device_total"] == 16 * GIB and
            i.get("nvml_total") == 16 * GIB,
            "without a limit every view shows the whole 16 GiB card")
    p.close()


def gpuload_limits(env, c):
    rc, res, err = finish(env.gpuload(
        "--mem", "3Gi", "--kernels", 1,
        extra_env={"NVSHARE_GPU_MEMORY_LIMIT": "2Gi"}))
    c.check(rc == 1 and res and "CUDA_ERROR_OUT_OF_MEMORY" in
            (res["error"] or ""),
            "gpuload: 3 GiB under a 2 GiB limit exits cleanly with OOM "
            "(rc=%s, %s)" % (rc, res and res["error"]))
    rc, res, err = finish(env.gpuload(
        "--mem", "3Gi", "--kernels", 1,
        extra_env={"NVSHARE_GPU_MEMORY_LIMIT": "4Gi"}))
    c.check(rc == 0 and res and res["mem_bytes"] == 3 * GIB,
            "gpuload: 3 GiB under a 4 GiB limit runs")
    rc, res, err = finish(env.gpuload(
        "--mem", "1Gi", "--kernels", 1,
        extra_env={"NVSHARE_GPU_MEMORY_LIMIT": "lots"}))
    c.check(rc == 0 and "NVSHARE_GPU_MEMORY_LIMIT" in err,
            "a garbage limit is reported and the program runs unlimited")


def client_of(env, pid):
    for cl in env.status()["clients"]:
        if cl["pid"] == pid:
            return cl
    return None


def until_rc(p, api_args, want, timeout=1.0):
    """Retries an allocation until it returns want; seconds taken, or None.
    A successful attempt that was not wanted is freed again."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        r = p.alloc(*api_args)
        if r["rc"] == want:
            return time.monotonic() - t0, r
        if r["rc"] == 0:
            p.cmd("free %d" % r["id"])
        time.sleep(0.01)
    return None, None


def live_changes(env, c):
    p = AllocProbe(env)
    first = p.alloc("alloc", 768 * MIB)
    c.check(first["rc"] == 0, "no limit: 768 MiB allocated")
    wait_for(lambda: client_of(env, p.pid) is not None, 5.0, "client")
    cid = client_of(env, p.pid)["id"]

    t_cmd = time.monotonic()
    env.ctl("set", "--client", str(cid), "--memory-limit", "1Gi")
    dt, _ = until_rc(p, ("alloc", 512 * MIB), OOM)
    c.check(dt is not None and time.monotonic() - t_cmd < 1.0,
            "lowered to 1 GiB: the next allocation fails within 1 s "
            "(%s s)" % dt)
    cl = client_of(env, p.pid)
    c.check(cl["memory_limit_bytes"] == GIB,
            "status shows the 1 GiB limit")
    c.check(p.cmd("info")["total"] == GIB, "cuMemGetInfo follows at once")

    env.ctl("set", "--client", str(cid), "--memory-limit", "2Gi")
    dt, ok = until_rc(p, ("alloc", 512 * MIB), 0)
    c.check(dt is not None, "raised to 2 GiB: the allocation succeeds "
            "within 1 s (%s s)" % dt)

    # Below current use (1.25 GiB held): nothing is taken away, new
    # allocations fail, status says so.
    env.ctl("set", "--client", str(cid), "--memory-limit", "1Gi")
    wait_for(lambda: client_of(env, p.pid)["gpus"] and
             client_of(env, p.pid)["gpus"][0]["over_memory_limit"], 2.0,
             "status showing the client over its limit")
    info = p.cmd("info")
    c.check(env.gpu_state(p.pid)["memory_bytes"] == 1280 * MIB and
            info["total"] == GIB and info["free"] == 0,
            "lowered below use: the 1.25 GiB stay allocated, free is 0")
    c.check(p.alloc("alloc", MIB)["rc"] == OOM,
            "lowered below use: even 1 MiB is refused")
    text = env.ctl("status").stdout
    c.check("1.0 GiB!" in text, "the text status marks the client over "
            "its limit")
    p.cmd("free %d" % ok["id"])
    p.cmd("free %d" % first["id"])
    c.check(p.alloc("alloc", 512 * MIB)["rc"] == 0,
            "below the limit again after frees: allocations succeed")

    r = env.ctl("set", "--client", str(cid), "--memory-limit", "0",
                check=False)
    c.check(r.returncode == 2 and "memory-limit" in r.stderr,
            "a limit of zero is refused by nvsharectl")
    r = env.ctl("set", "--client", str(cid), "--memory-limit", "12XB",
                check=False)
    c.check(r.returncode == 2, "a garbage limit is refused")
    c.check(client_of(env, p.pid)["memory_limit_bytes"] == GIB,
            "after refusals the previous limit stays")
    for args, what in (
            (("--memory-limit", "1Gi"), "a limit without a target"),
            (("--client", str(cid), "--mode", "serial"),
             "a GPU setting with a target"),
            (("--pod", "a/b/c", "--memory-limit", "1Gi"), "a malformed pod"),
            (("--client", str(cid), "--pod", "p", "--memory-limit", "1Gi"),
             "two targets"),
            (("--client", "x1", "--core-limit", "30"), "a malformed id"),
            (("--client", str(cid), "--core-limit", "101"),
             "a core limit over 100")):
        r = env.ctl("set", *args, check=False)
        c.check(r.returncode == 2 and r.stderr.startswith("nvsharectl set:"),
                "nvsharectl refuses %s (exit %d)" % (what, r.returncode))
    r = env.ctl("set", "--client", "999999", "--memory-limit", "1Gi",
                check=False)
    c.check(r.returncode == 1 and "no client" in r.stderr,
            "an unknown client is refused")

    env.ctl("set", "--client", str(cid), "--memory-limit", "none")
    wait_for(lambda: p.cmd("info")["total"] == 16 * GIB, 1.0,
             "the whole card back")
    c.check(p.alloc("alloc", 4 * GIB)["rc"] == 0,
            "limit removed: the whole card is usable again")
    p.close()


def pod_limits(env, c):
    pod = {"NVSHARE_POD_NAMESPACE": "team", "NVSHARE_POD_NAME": "trainer"}
    a = AllocProbe(env, pod)
    a.cmd("info")  # first use of the GPU: the library connects
    wait_for(lambda: client_of(env, a.pid) is not None, 5.0, "client")
    r = env.ctl("set", "--pod", "team/trainer", "--memory-limit", "1Gi")
    c.check("clients=1" in r.stdout, "the pod's one process is limited "
            "(%s)" % r.stdout.strip())
    wait_for(lambda: a.cmd("info")["total"] == GIB, 1.0, "pod limit")
    # A process of the pod started later gets the pod's limit, whatever
    # its environment says.
    b = AllocProbe(env, dict(pod, NVSHARE_GPU_MEMORY_LIMIT="8Gi"))
    wait_for(lambda: b.cmd("info")["total"] == GIB, 2.0,
             "the later process under the pod's limit")
    c.check(b.alloc("alloc", 1536 * MIB)["rc"] == OOM,
            "a later process of the pod is held to the pod's limit")
    other = AllocProbe(env, {"NVSHARE_POD_NAMESPACE": "team",
                        "NVSHARE_POD_NAME": "other"})
    c.check(other.alloc("alloc", 1536 * MIB)["rc"] == 0,
            "another pod is not affected")
    for p in (a, b, other):
        p.close()


def main(env, c):
    # Outside Kubernetes the pods below are only declared (NVSHARE_POD_*):
    # limits set for a pod reach them only when the operator trusts that.
    env.start_scheduler("--trust-pod-names")
    per_api(env, c)
    vmm_references(env, c)
    reset(env, c)
    views(env, c)
    gpuload_limits(env, c)
    live_changes(env, c)
    pod_limits(env, c)


run(main, "memory_quota")
