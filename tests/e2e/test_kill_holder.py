"""A client killed with SIGKILL while holding the lock releases it at once.

A holds the GPU (long slice, so it would keep it for 5 s); B waits. A is
killed: B must be granted and start its kernels within a second, and A must
vanish from the scheduler's client list.
"""
import os
import signal
import time

from harness import finish, run, wait_for


def client_states(env):
    st = env.status()
    return {c["pid"]: c["gpus"][0]["state"] if c["gpus"] else "none"
            for c in st["clients"]}


def main(env, c):
    env.start_scheduler("--mode", "serial", "--time-slice", "5000")
    a = env.gpuload("--kernel-ms", 50, "--seconds", 20)
    env.wait_holding(a.pid)
    b = env.gpuload("--kernel-ms", 10, "--kernels", 20)
    wait_for(lambda: client_states(env).get(b.pid) == "waiting", 10.0,
             "B waiting for the lock")
    time.sleep(0.3)
    killed_ns = time.monotonic_ns()
    os.kill(a.pid, signal.SIGKILL)
    a.wait()
    rc, res, err = finish(b)
    c.check(rc == 0 and res and res["error"] is None,
            "B finished cleanly after A was killed")
    b_kernels = [k for k in env.trace() if k["pid"] == b.pid
                 and k["kind"] == "kernel"]
    c.check(len(b_kernels) == 20, "B ran its 20 kernels")
    if b_kernels:
        first = min(k["start_ns"] for k in b_kernels)
        delay_ms = (first - killed_ns) / 1e6
        c.check(first >= killed_ns - 5e6,
                "B ran nothing while A held the lock")
        c.check(delay_ms <= 1000,
                "B started %.0f ms after the kill (<= 1000 ms)" % delay_ms)
    states = client_states(env)
    c.check(a.pid not in states, "A is gone from the scheduler's clients")


run(main, "kill_holder")
