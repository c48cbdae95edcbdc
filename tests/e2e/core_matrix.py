"""The compute-quota accuracy matrix on the simulated GPU, shared by
`make bench` (bench/core_accuracy.py: long runs, 2-point target) and CI
(test_compute_quota.py: short runs, 3-point bound).

Every cell runs at once, each group of workloads on a simulated GPU of its
own: single workloads at 10..90 %, pairs sharing one GPU (their memory fits,
so they run concurrently), four workloads across two GPUs, and a limit
changed from 30 % to 80 % half-way. Each workload is a saturating gpuload
(2 ms kernels; the simulated GPU runs one kernel at a time, so spin kernels
are work there, unlike on a real GPU). Short kernels, because the simulated
GPU serves processes first come, first served: a client let go at a
window's start waits behind its co-tenant's queue while it counts as busy,
which bills it for the co-tenant's time; with 5 ms kernels that tilted
pairs by 1-2 points, with 2 ms by under 0.3. Its achieved share is its GPU time from the simulated
driver's kernel trace (kernels x kernel time, each kernel runs alone on its
device) divided by the wall time measured, after a warm-up.
"""
import time

from harness import Env, wait_for

KERNEL_MS = 2
WARMUP_S = 1.0
SETTLE_S = 1.0  # after a limit change: "takes effect within one second"

# (cell name, [limits of the workloads sharing one GPU]) - one GPU each.
SINGLES = [("single %d%%" % p, [p]) for p in (10, 25, 30, 50, 60, 75, 90)]
PAIRS = [("pair 30+60", [30, 60]), ("pair 50+50", [50, 50]),
         ("pair 25+75", [25, 75]), ("pair 80+80", [80, 80])]
QUAD = [("quad 30,60 | 30,60", [30, 60]), ("quad 30,60 | 30,60", [30, 60])]
CHANGE = ("change 30->80", [30])
# No limit, alone on its GPU: what this machine lets a saturating workload
# reach right now. A busy CPU delays the workload's wake-ups and leaves its
# GPU idle, limited or not; CI reads its shortfall as the machine's, not
# the quota's (test_compute_quota.py).
CONTROL = ("unlimited (control)", [None])


def uuid(i):
    return "GPU-00000000-0000-0000-0000-%012d" % (i + 1)


def expected(limits):
    """Each limit, scaled in proportion when they add up to more than 100."""
    total = sum(limits)
    return [l * 100.0 / total if total > 100 else float(l) for l in limits]


def gpu_share(trace, pid, t0, t1):
    """Percent of [t0, t1] (ns) the pid's kernels ran."""
    busy = 0
    for k in trace:
        if k["pid"] != pid or k["kind"] != "kernel":
            continue
        busy += max(0, min(k["end_ns"], t1) - max(k["start_ns"], t0))
    return 100.0 * busy / (t1 - t0)


def run(build, seconds, log=print):
    """Runs the matrix for `seconds` of measurement; returns rows of
    (cell, target %, achieved %, error in points, reach), reach being the
    control's share of its GPU over the same window, as a fraction."""
    groups = SINGLES + PAIRS + QUAD + [CONTROL, CHANGE]
    env = Env(build, gpus=",".join("%s:16Gi" % uuid(i)
                                    for i in range(len(groups))),
              name="core-matrix")
    rows = []
    try:
        env.start_scheduler(log_level="warn")
        procs = []  # (cell, gpu, target, Popen)
        span = seconds + WARMUP_S + 2
        for gi, (cell, limits) in enumerate(groups):
            if limits == [None]:
                p = env.gpuload("--device", gi, "--kernel-ms", KERNEL_MS,
                                "--seconds", span)
                procs.append((cell, gi, 100.0, p))
                continue
            for lim, target in zip(limits, expected(limits)):
                p = env.gpuload("--device", gi, "--kernel-ms", KERNEL_MS,
                                "--seconds", span, extra_env={
                                    "NVSHARE_GPU_CORE_LIMIT": str(lim)})
                procs.append((cell, gi, target, p))
        wait_for(lambda: len(env.status()["clients"]) == len(procs), 15.0,
                 "every workload connected")
        t0 = time.monotonic_ns() + int(WARMUP_S * 1e9)
        change = procs[-1][3]
        cid = [c["id"] for c in env.status()["clients"]
               if c["pid"] == change.pid][0]
        time.sleep(WARMUP_S + seconds / 2)
        t_mid = time.monotonic_ns()
        env.ctl("set", "--client", str(cid), "--core-limit", "80")
        time.sleep(seconds / 2 + SETTLE_S)
        t1 = time.monotonic_ns()
        for _, _, _, p in procs:
            p.kill()
        for _, _, _, p in procs:
            p.wait()
        trace = env.trace()
        control = [p for cell, _, _, p in procs if cell == CONTROL[0]][0]
        mid = t_mid + int(SETTLE_S * 1e9)

        def row(cell, target, p, a, b):
            reach = gpu_share(trace, control.pid, a, b) / 100.0
            got = gpu_share(trace, p.pid, a, b)
            rows.append((cell, target, got, got - target, reach))

        for cell, gi, target, p in procs:
            if p is not change:
                row(cell, target, p, t0, t1)
        row("change: 30% phase", 30.0, change, t0, t_mid)
        row("change: 80% phase", 80.0, change, mid, t1)
    except Exception:
        try:
            log("--- scheduler log ---\n" + env.scheduler_log()[-3000:])
        except OSError:
            pass
        raise
    finally:
        env.close()
    return rows


def limited(rows):
    """The rows that measure a quota (all but the control)."""
    return [r for r in rows if r[0] != CONTROL[0]]


def table(rows):
    lines = ["%-22s %8s %10s %8s" % ("cell", "target", "achieved", "error")]
    for cell, target, got, err, _ in rows:
        lines.append("%-22s %7.1f%% %9.1f%% %+7.1f" % (cell, target, got,
                                                       err))
    worst = max(abs(r[3]) for r in limited(rows))
    lines.append("worst error: %.2f points (control excluded)" % worst)
    return "\n".join(lines)
