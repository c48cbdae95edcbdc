"""The library's error paths, driven by faults the simulated driver injects.

NVSHARE_FAKE_FAIL=entry:N[+][:error] makes the Nth call of a driver entry
point fail (tests/fakecuda/faults.h). Every case ends with each program
either correct (exit 0, its bytes verified) or failing cleanly (exit 1
with a CUDA error named in gpuload's "error"): never a signal, and never
wrong bytes (a verify error, or a check that reads back other bytes).

1. The switch: a bad value is reported and nothing fails.
2. Block backing: cuMemCreate refused while the process holds the GPU
   makes the allocation Unified Memory (1 GiB faulted in, 0 without the
   fault); refused at the grant with out-of-memory it is retried, with a
   hard error the program fails cleanly. A block and Unified Memory both
   refused fail cuMemAlloc and charge nothing, as do refused pitched,
   stream-ordered and pool allocations (the error passed through).
3. Swap-out of a running client whose copy out (cuMemcpyDtoHAsync_v2) or
   whose wait for it (cuStreamSynchronize) fails: its memory stays on the
   GPU, the newcomer waits, both finish with their bytes intact.
4. Swap-in whose copy back (cuMemcpyHtoDAsync_v2) fails: the program
   fails cleanly, or, if it tries again later, finds its bytes: the host
   copy stays the truth.
5. Swap-in whose cuMemMap fails: out of memory is retried (both finish,
   bytes intact); a hard error (cuMemMap, cuMemSetAccess) fails cleanly
   and the next grant brings the bytes back.
6. The first context cannot be made (cuInit, cuDevicePrimaryCtxRetain,
   cuCtxCreate_v2): the program fails cleanly, naming the call.
7. Host buffers: cuMemHostRegister_v2 refused, the swap goes through
   cuMemHostAlloc memory; that refused too, through pageable memory. The
   process really gives its GPU memory back and its bytes come back.

8. An idle client whose eviction fails (its copy out): it reports the
   swap-out incomplete, the scheduler keeps its memory counted and asks
   again after the grace, and the newcomer runs once it has left
   (idle_eviction_case). Before SWAP_REPORT carried INCOMPLETE the
   newcomer never ran.

Two-client cases run with NVSHARE_IDLE_RELEASE_MS=2000: a swap-in longer
than the idle release (100 ms) makes the library give the GPU back before
its first kernel, a separate known problem that would only slow them.
"""
import re
import subprocess
import time

from harness import (DEFAULT_UUID, GIB, SECOND_UUID, AllocProbe, finish,
                     run, wait_for)

MIB = 1 << 20
BW = {"NVSHARE_FAKE_BW": "h2d=100G,d2h=50G,fault=20G,pinned=100G,copy=100G"}
# A process that cannot reach a scheduler runs unmanaged: blocks are
# backed at once, nothing waits for a grant.
UNMANAGED = {"NVSHARE_SOCKET": "/nonexistent/nvshare.sock"}
CUDA_ERROR = re.compile(r"^cu\w+: CUDA_ERROR_[A-Z_]+$")


def fault_env(rules, **more):
    env = dict(BW, NVSHARE_FAKE_FAIL=rules, NVSHARE_IDLE_RELEASE_MS="2000")
    env.update(more)
    return env


def launch(env, rules, *args, device=0, **more):
    return env.gpuload("--device", device, *args,
                       extra_env=fault_env(rules, **more))


def injected(err, entry, call):
    return ("event=fault_injected entry=%s call=%d " % (entry, call)) in err


def ok(r):
    """(rc, json, stderr) of a gpuload that succeeded, bytes verified."""
    rc, res, _ = r
    return (rc == 0 and res is not None and res["error"] is None and
            res.get("verified") is not False)


def clean_failure(r):
    """Exit 1 with a CUDA error named: not a signal, not wrong bytes."""
    rc, res, _ = r
    return (rc == 1 and res is not None and res.get("verified") is not True
            and CUDA_ERROR.match(res["error"] or "") is not None)


def describe(r):
    rc, res, _ = r
    return "rc=%s error=%s verified=%s" % (
        rc, (res or {}).get("error"), (res or {}).get("verified"))


def check(c, cond, what, *results):
    """c.check, with the stderr of the programs involved when it fails."""
    c.check(cond, what)
    for r in results if not cond else ():
        print("     | " + "\n     | ".join(r[2].strip().splitlines()[-6:]))


def held(env, pid, device=0):
    """(vmm_bytes, managed_bytes, faulted_bytes) of pid on device."""
    for p in env.fake_stat()["processes"]:
        if p["pid"] == pid:
            d = p["devices"][device]
            return d["vmm_bytes"], d["managed_bytes"], d["faulted_bytes"]
    return 0, 0, 0


# --- 1 ---------------------------------------------------------------------

def switch_case(env, c):
    for bad in ("cuMemCreate:0", "cuMemCreat:1", "cuMemCreate:1:NOPE",
                "cuMemCreate:1,"):
        r = finish(launch(env, bad, "--mem", "64Mi", "--kernels", 3,
                          "--verify", "1Mi"))
        check(c, ok(r) and "invalid NVSHARE_FAKE_FAIL" in r[2] and
              "fault_injected" not in r[2],
              "switch: %r is reported, nothing fails" % bad, r)


# --- 2 ---------------------------------------------------------------------

def backing_case(env, c):
    grow = ("--mem", "1Gi", "--grow-to", "3Gi", "--kernel-ms", 10,
            "--kernels", 30, "--verify", "1Mi")
    p = launch(env, "", *grow)
    r = finish(p)
    base = held(env, p.pid)[2]
    p = launch(env, "cuMemCreate:2", *grow)
    r = finish(p)
    faulted = held(env, p.pid)[2]
    check(c, ok(r) and injected(r[2], "cuMemCreate", 2),
          "backing: the 2nd cuMemCreate (a growth step, holding the GPU) "
          "refused: the run succeeds, bytes verified (%s)" % describe(r), r)
    c.check(faulted == 1 * GIB and base == 0,
            "backing: that 1 GiB became Unified Memory: %d MiB faulted in "
            "(%d without the fault)" % (faulted // MIB, base // MIB))

    one = ("--mem", "1Gi", "--kernel-ms", 10, "--kernels", 20, "--verify",
           "1Mi")
    r = finish(launch(env, "cuMemCreate:1", *one))
    check(c, ok(r) and injected(r[2], "cuMemCreate", 1),
          "backing: cuMemCreate out of memory at the grant is retried: "
          "the run succeeds (%s)" % describe(r), r)
    r = finish(launch(env, "cuMemCreate:1:CUDA_ERROR_UNKNOWN", *one))
    check(c, clean_failure(r) and "event=swap_in_failed" in r[2],
          "backing: a hard cuMemCreate error at the grant fails the run "
          "cleanly (%s)" % describe(r), r)

    rules = ",".join([
        "cuMemCreate:1", "cuMemAllocManaged:1",
        "cuMemAllocPitch_v2:1:CUDA_ERROR_UNKNOWN",
        "cuMemAllocAsync:1:CUDA_ERROR_UNKNOWN",
        "cuMemAllocFromPoolAsync:1:CUDA_ERROR_UNKNOWN"])
    probe = AllocProbe(env, dict(UNMANAGED, NVSHARE_FAKE_FAIL=rules))
    first = probe.alloc("alloc", 64 * MIB)
    used = probe.used()
    again = probe.alloc("alloc", 64 * MIB)
    c.check(first["rc"] == 2 and used == 0 and again["rc"] == 0 and
            probe.used() == 64 * MIB and held(env, probe.pid)[0] == 64 * MIB,
            "backing: block and Unified Memory both refused: cuMemAlloc "
            "fails with out of memory, charging nothing (%d B); the next "
            "one is a block, charged 64 MiB" % used)
    for api, args, size in (("pitch", (4096, 1024), 4 * MIB),
                            ("async", (32 * MIB,), 32 * MIB),
                            ("pool", (32 * MIB,), 32 * MIB)):
        before = probe.used()
        bad = probe.alloc(api, *args)
        after_bad = probe.used()
        good = probe.alloc(api, *args)
        c.check(bad["rc"] == 999 and after_bad == before and
                good["rc"] == 0 and probe.used() == before + size,
                "backing: a refused %s allocation returns the driver's "
                "error (%d), charges nothing (%+d B); the next charges "
                "%d MiB" % (api, bad["rc"], after_bad - before,
                            (probe.used() - before) // MIB))
    err = probe.close()
    c.check(all(injected(err, e, 1) for e in re.findall(r"(cu\w+):1", rules)),
            "backing: every refusal was injected")


# --- 3 ---------------------------------------------------------------------

def two_clients(env, rules, mem="3Gi", seconds=1):
    """A (with the fault) holds the GPU; B, which does not fit beside it,
    arrives; with a 300 ms slice they take turns. Returns both results
    and the makespan."""
    args = ("--mem", mem, "--kernel-ms", 20, "--seconds", seconds,
            "--verify", "1Mi")
    t0 = time.monotonic()
    a = launch(env, rules, *args)
    env.wait_holding(a.pid)
    b = launch(env, "", *args)
    ra, rb = finish(a, timeout=60), finish(b, timeout=60)
    return ra, rb, time.monotonic() - t0


def swap_out_case(env, c, entry):
    ra, rb, span = two_clients(env, entry + ":1")
    waited = re.search(r"event=swap_in_waited .*?ms=(\d+)", rb[2])
    c.check(injected(ra[2], entry, 1),
            "swap-out: A's first %s failed (at its swap-out)" % entry)
    check(c, ok(ra) and ok(rb),
          "swap-out (%s): both finish, bytes intact; %.1f s for 2 s of "
          "work, the newcomer waited %s ms for the GPU memory (A: %s; "
          "B: %s)" % (entry, span, waited.group(1) if waited else "0",
                      describe(ra), describe(rb)), ra, rb)


def idle_eviction_case(env, c):
    # The failed eviction is reported incomplete: the probe's 64 MiB stay
    # counted, the eviction is asked again after the grace, and then it
    # succeeds (only the first copy out fails).
    probe = AllocProbe(env, dict(BW, NVSHARE_FAKE_FAIL="cuMemcpyDtoHAsync_v2:1"))
    a = probe.alloc("alloc", 64 * MIB)
    probe.cmd("touch %d 171" % a["id"])
    wait_for(lambda: (env.gpu_state(probe.pid) or {}).get("state") != "holding",
             5.0, "the probe released the GPU as idle")
    # 64 MiB + 4060 MiB do not fit on the 4 GiB GPU.
    b = launch(env, "", "--mem", "4060Mi", "--kernel-ms", 20, "--seconds", 1,
               "--verify", "1Mi")
    wait_for(lambda: (env.gpu_state(probe.pid) or {}).get("swap_outs"), 10.0,
             "the probe's eviction")
    counted = (env.gpu_state(probe.pid) or {}).get("resident_bytes")
    on_gpu = held(env, probe.pid)[0]
    try:
        rb = finish(b, timeout=15)
    except subprocess.TimeoutExpired:
        b.kill()
        rb = (None, None, b.communicate()[1])
    c.check(counted == on_gpu, "idle eviction: the scheduler counts %d MiB "
            "of the probe resident, the GPU holds %d MiB of it"
            % ((counted or 0) // MIB, on_gpu // MIB))
    back = probe.cmd("check %d 171" % a["id"])
    err = probe.close()
    c.check(injected(err, "cuMemcpyDtoHAsync_v2", 1),
            "idle eviction: the probe's copy out failed")
    check(c, ok(rb), "idle eviction: the newcomer finishes within 15 s, "
          "bytes intact (%s)" % describe(rb), rb)
    c.check(back.get("ok") is True, "idle eviction: the probe's bytes "
            "are intact")


# --- 4, 5 ------------------------------------------------------------------

def failed_swap_in_case(env, c, rules, entry, call, recovers):
    ra, rb, _ = two_clients(env, rules)
    c.check(injected(ra[2], entry, call),
            "swap-in: A's call %d of %s failed (its swap-in)" % (call, entry))
    good = ok(ra) if recovers else clean_failure(ra)
    check(c, good and ok(rb),
          "swap-in (%s): A %s, B succeeds (A: %s; B: %s)" % (
              rules, "retries and succeeds, bytes intact" if recovers
              else "fails cleanly", describe(ra), describe(rb)), ra, rb)


def retry_after_failed_swap_in(env, c, rules, entry, call):
    """An idle probe is evicted for a newcomer; coming back, its swap-in
    fails: the access fails cleanly, and after the next grant the bytes
    are back."""
    probe = AllocProbe(env, dict(BW, NVSHARE_FAKE_FAIL=rules))
    a = probe.alloc("alloc", 64 * MIB)
    probe.cmd("touch %d 171" % a["id"])
    # 64 MiB + 4060 MiB do not fit on the 4 GiB GPU.
    big = launch(env, "", "--mem", "4060Mi", "--kernel-ms", 20, "--seconds",
                 0.3)
    gave_back = False
    while big.poll() is None:
        gave_back |= held(env, probe.pid)[0] == 0
        time.sleep(0.02)
    rbig = finish(big)
    first = probe.cmd("check %d 171" % a["id"])
    wait_for(lambda: (env.gpu_state(probe.pid) or {}).get("state") != "holding",
             5.0, "the probe released the GPU as idle")
    second = probe.cmd("check %d 171" % a["id"])
    err = probe.close()
    c.check(ok(rbig) and gave_back and injected(err, entry, call),
            "retry (%s): the idle probe was swapped out for a newcomer and "
            "its swap-in failed" % rules)
    c.check(first["rc"] != 0 and not first.get("ok"),
            "retry (%s): reading the block then fails (rc %d), no other "
            "bytes returned" % (rules, first["rc"]))
    c.check(second["rc"] == 0 and second.get("ok") is True,
            "retry (%s): after the next grant its bytes are back" % rules)


# --- 6 ---------------------------------------------------------------------

def context_case(env, c):
    for rules, want in (
            ("cuInit:1:CUDA_ERROR_UNKNOWN", "cuInit: CUDA_ERROR_UNKNOWN"),
            ("cuDevicePrimaryCtxRetain:1",
             "cuDevicePrimaryCtxRetain: CUDA_ERROR_OUT_OF_MEMORY")):
        r = finish(launch(env, rules, "--mem", "64Mi", "--kernels", 3))
        check(c, r[0] == 1 and r[1] and r[1]["error"] == want,
              "context: %s: gpuload fails cleanly with %r (%s)"
              % (rules, want, describe(r)), r)
    p = subprocess.run([env.path("tests", "alloc_probe")], input="quit\n",
                       env=env.environ(extra=fault_env("cuCtxCreate_v2:1")),
                       capture_output=True, text=True, timeout=30)
    c.check(p.returncode == 1 and injected(p.stderr, "cuCtxCreate_v2", 1),
            "context: cuCtxCreate_v2 refused: alloc_probe exits 1 (%d)"
            % p.returncode)
    deadline = time.monotonic() + 5
    while env.status()["clients"] and time.monotonic() < deadline:
        time.sleep(0.05)
    c.check(env.status()["clients"] == [],
            "context: no client left behind at the scheduler")


# --- 7 ---------------------------------------------------------------------

def host_memfds(pid):
    """Names of the simulated driver's host memory mapped in pid."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return {m.group(1) for m in
                    (re.search(r"memfd:(fakecuda-\w+)", l) for l in f) if m}
    except OSError:
        return set()


def host_buffer_case(env, c, rules, want):
    args = ("--mem", "128Mi", "--kernel-ms", 20, "--seconds", 1,
            "--verify", "1Mi")
    a = launch(env, rules, *args, device=1)
    env.wait_holding(a.pid)
    b = launch(env, "", *args, device=1)
    seen, gave_back = set(), False
    while a.poll() is None:
        seen |= host_memfds(a.pid)
        gave_back |= held(env, a.pid, 1)[0] == 0
        time.sleep(0.02)
    ra, rb = finish(a), finish(b)
    kinds = seen & {"fakecuda-registered", "fakecuda-host"}
    c.check(injected(ra[2], rules.split(":")[0], 1),
            "host buffer (%s): injected" % rules)
    check(c, gave_back and ok(ra) and ok(rb),
          "host buffer (%s): A gave its GPU memory back while B ran, "
          "both finish with their bytes (A: %s; B: %s)"
          % (rules, describe(ra), describe(rb)), ra, rb)
    c.check(kinds == want, "host buffer (%s): A's host copy lives in %s "
            "(want %s)" % (rules, sorted(kinds) or "pageable memory",
                           sorted(want) or "pageable memory"))


def main(env, c):
    env.start_scheduler("--release-grace", "1000")
    env.ctl("set", "--time-slice", "300")
    switch_case(env, c)
    backing_case(env, c)
    swap_out_case(env, c, "cuMemcpyDtoHAsync_v2")
    swap_out_case(env, c, "cuStreamSynchronize")
    failed_swap_in_case(env, c, "cuMemcpyHtoDAsync_v2:1",
                        "cuMemcpyHtoDAsync_v2", 1, False)
    retry_after_failed_swap_in(env, c, "cuMemcpyHtoDAsync_v2:1",
                               "cuMemcpyHtoDAsync_v2", 1)
    failed_swap_in_case(env, c, "cuMemMap:2", "cuMemMap", 2, True)
    failed_swap_in_case(env, c, "cuMemMap:2:CUDA_ERROR_UNKNOWN", "cuMemMap",
                        2, False)
    retry_after_failed_swap_in(env, c, "cuMemMap:2:CUDA_ERROR_UNKNOWN",
                               "cuMemMap", 2)
    retry_after_failed_swap_in(env, c, "cuMemSetAccess:2:CUDA_ERROR_UNKNOWN",
                               "cuMemSetAccess", 2)
    context_case(env, c)
    host_buffer_case(env, c, "cuMemHostRegister_v2:1+", {"fakecuda-host"})
    host_buffer_case(env, c, "cuMemHostRegister_v2:1+,cuMemHostAlloc:1+",
                     set())
    idle_eviction_case(env, c)


run(main, "fault_injection",
    gpus="%s:4Gi,%s:192Mi" % (DEFAULT_UUID, SECOND_UUID))
