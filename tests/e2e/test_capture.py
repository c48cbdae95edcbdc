"""nvshare never synchronizes inside a stream capture.

The probe holds the GPU and captures kernels into a graph for 800 ms while
a gpuload waits for the GPU, so the scheduler asks the probe for the lock
(200 ms slice) in the middle of the capture. The library must postpone its
drain until the capture ends: the capture then ends cleanly (a
synchronization inside it would invalidate it, in the simulated driver as in
the real one), the graph runs, and the waiter gets the GPU only once the
capture is over.
Both capture modes are checked, global and relaxed, and a capture begun
through the 10.0 entry point (cuStreamBeginCapture at version 10000, which
the CUDA 13 runtime asks for).
"""
import json
import os
import subprocess

from harness import finish, run


def main(env, c):
    env.start_scheduler("--mode", "serial", "--time-slice", "200")
    probe = env.path("tests", "capture_probe")
    for mode in ("global", "relaxed", "v10000"):
        p = subprocess.Popen([probe, "800", mode], env=env.environ(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        env.wait_holding(p.pid)
        waiter = env.gpuload("--kernel-ms", 10, "--kernels", 5)
        out, err = p.communicate(timeout=60)
        res = json.loads(out.strip().splitlines()[-1])
        c.check(res["begin"] == 0 and res["launch"] == 0 and res["captured"] >= 40,
                "%s: capture began and recorded %d kernels" % (mode, res["captured"]))
        c.check(res["end"] == 0,
                "%s: capture ended cleanly (cuStreamEndCapture=%d)" % (mode, res["end"]))
        c.check(res["instantiate"] == 0 and res["graph_launch"] == 0 and res["sync"] == 0,
                "%s: the graph was instantiated and ran" % mode)
        rc, wres, werr = finish(waiter)
        c.check(rc == 0, "%s: the waiting gpuload ran afterwards" % mode)
        graph = [k for k in env.trace() if k["pid"] == p.pid and k["kind"] == "kernel"]
        w = [k for k in env.trace() if k["pid"] == waiter.pid and k["kind"] == "kernel"]
        if graph and w:
            # The slice ends 200 ms into the capture, but the lock may only
            # move once the 800 ms capture is over.
            held_from = min(k["end_ns"] for k in graph)
            waited_ms = (min(k["start_ns"] for k in w) - held_from) / 1e6
            c.check(waited_ms >= 700,
                    "%s: the GPU moved on only after the capture (%.0f ms "
                    "after the probe's first kernel, >= 700)" % (mode, waited_ms))


run(main, "capture")
