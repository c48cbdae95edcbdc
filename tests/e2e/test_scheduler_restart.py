"""The scheduler dies and comes back while clients run.

Two gpuloads share the GPU. The scheduler is killed with SIGKILL: the
clients must keep running (unmanaged) and say so; a new scheduler is
started on the same socket and both clients must register with it again
within a few seconds, and then be time-sliced by it.
"""
import os
import signal
import time

from harness import finish, run, wait_for


def main(env, c):
    env.start_scheduler("--mode", "serial", "--time-slice", "200")
    procs = [env.gpuload("--kernel-ms", 10, "--seconds", 4) for _ in range(2)]
    pids = {p.pid for p in procs}
    wait_for(lambda: {x["pid"] for x in env.status()["clients"]} == pids,
             10.0, "both clients registered")
    time.sleep(0.5)
    os.kill(env.scheduler.pid, signal.SIGKILL)
    env.scheduler.wait()
    killed_ns = time.monotonic_ns()
    time.sleep(0.7)
    # Both still make progress without a scheduler.
    recent = [k for k in env.trace() if k["start_ns"] > killed_ns
              and k["pid"] in pids]
    c.check({k["pid"] for k in recent} == pids,
            "both clients ran kernels while the scheduler was down")
    env.start_scheduler("--mode", "serial", "--time-slice", "200")
    restarted_ns = time.monotonic_ns()
    wait_for(lambda: {x["pid"] for x in env.status()["clients"]} == pids,
             5.0, "both clients re-registered with the new scheduler")
    c.check(True, "re-registered within 5 s")
    time.sleep(0.6)
    st = env.status()
    c.check(st["gpus"] and st["gpus"][0]["lock_grants"] >= 1,
            "the new scheduler is granting the lock")
    for p in procs:
        rc, res, err = finish(p)
        c.check(rc == 0 and res and res["error"] is None,
                "client %d finished cleanly" % p.pid)
        c.check(res and res["kernels"] == 400, "client %d ran 400 kernels" % p.pid)
        c.check("scheduler_lost" in err,
                "client %d warned that the scheduler was lost" % p.pid)
        c.check(err.count("level=warn") <= 4,
                "client %d was not noisy (%d warnings)"
                % (p.pid, err.count("level=warn")))
    # After the restart the two take turns again: no kernel overlap is
    # possible on the device, so look for slice-sized runs.
    after = sorted((k for k in env.trace() if k["start_ns"] > restarted_ns + 5e8
                    and k["pid"] in pids and k["kind"] == "kernel"),
                   key=lambda k: k["start_ns"])
    switches = sum(1 for a, b in zip(after, after[1:]) if a["pid"] != b["pid"])
    c.check(len(after) < 20 or switches <= len(after) / 5,
            "after the restart kernels run in turns (%d switches in %d kernels)"
            % (switches, len(after)))


run(main, "scheduler_restart")
