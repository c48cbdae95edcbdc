"""The host swap budget: memory swapped out to the host is bounded.

The scheduler runs with --host-swap-budget 1Gi and a 1 s slice on a
12 GiB simulated GPU.
A takes 8 GiB and runs 2 s of kernels; B, arriving while A runs, needs 8
GiB too. Making room for B would push A's 8 GiB to the host, more than
the budget, so B waits (reason "host" in nvsharectl status) instead, and
runs once A has finished: no swap at all, both verified. Then, with the
budget raised by a scheduler started with --host-swap-budget none, the
same pair swaps (the budget, not the shape, made B wait), and A, warned
of the planned drop, makes its host buffers before the drop comes.
"""
import time

from harness import DEFAULT_UUID, GIB, finish, run

BW = {"NVSHARE_FAKE_BW": "h2d=100G,d2h=50G,fault=20G,pinned=100G"}
LOAD = ("--mem", "8Gi", "--kernel-ms", 20, "--seconds", 2, "--verify", "1Mi")


def reasons(env):
    """The wait reasons nvsharectl status shows now, by pid."""
    out = {}
    for cl in env.status()["clients"]:
        for g in cl["gpus"]:
            if g["uuid"] == DEFAULT_UUID and g["wait_reason"]:
                out[cl["pid"]] = g["wait_reason"]
    return out


def gpu(env):
    g = [g for g in env.status()["gpus"] if g["uuid"] == DEFAULT_UUID]
    return g[0] if g else {"swaps": 0}


def pair(env, c, name):
    """Runs A (its library logging at debug level), then B while A runs;
    returns (reasons seen for B, swaps, the status, A's log)."""
    before = gpu(env)["swaps"]
    a = env.gpuload("--device", 0, *LOAD,
                    extra_env=dict(BW, NVSHARE_LOG="debug"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
            g["state"] == "holding" for cl in env.status()["clients"]
            if cl["pid"] == a.pid for g in cl["gpus"]):
        time.sleep(0.05)
    time.sleep(0.3)
    b = env.gpuload("--device", 0, *LOAD, extra_env=BW)
    seen = set()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        r = reasons(env).get(b.pid)
        if r:
            seen.add(r)
        time.sleep(0.1)
    st = env.status()
    results = [finish(a, timeout=60), finish(b, timeout=60)]
    swapped = gpu(env)["swaps"] - before
    ok = all(rc == 0 and res and res["verified"] for rc, res, _ in results)
    print("# %s: B waited for %s, %d swaps, budget %r, on the host %r"
          % (name, sorted(seen), swapped, st["host_swap_budget_bytes"],
             st["host_swapped_bytes"]))
    c.check(ok, "%s: both exit 0, verified" % name)
    return seen, swapped, st, results[0][2]


def main(env, c):
    env.start_scheduler("--host-swap-budget", "1Gi", "--time-slice", "1000")
    seen, swapped, st, _ = pair(env, c, "budget 1 GiB")
    c.check(st["host_swap_budget_bytes"] == GIB,
            "status shows the budget (%r)" % st["host_swap_budget_bytes"])
    c.check(seen == {"host"}, "B waits for the host budget (%s)" % seen)
    c.check(swapped == 0, "nothing was swapped (%d)" % swapped)
    env.scheduler.terminate()
    env.scheduler.wait()
    env.start_scheduler("--host-swap-budget", "none", "--time-slice", "1000")
    seen, swapped, st, log = pair(env, c, "no budget")
    c.check(st["host_swap_budget_bytes"] is None,
            "status shows no budget (%r)" % st["host_swap_budget_bytes"])
    c.check("host" not in seen and swapped > 0,
            "without a budget B waits for memory and A swaps (%s, %d swaps)"
            % (sorted(seen), swapped))
    # Warned of the planned drop (PREPARE_SWAP), A made its host buffers
    # before its first swap-out, not during it.
    prepared = log.find("event=host_prepared")
    first_out = log.find("swap_out=1")
    c.check(0 <= prepared < first_out,
            "A prepared its host buffers before its first swap-out (log "
            "offsets %d, %d)" % (prepared, first_out))


run(main, "host_budget", gpus="%s:12Gi" % DEFAULT_UUID)
