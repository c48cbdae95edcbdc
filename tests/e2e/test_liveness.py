"""A client waiting at the gate does not wait forever for a scheduler that
stopped answering (SIGSTOP here; a wedged one alike): after
NVSHARE_LIVENESS_MS without a word from it (a PING unanswered) the client
runs unmanaged and says so. With the scheduler alive, a long wait in the
queue is not cut short: PINGs are answered at once.
"""
import os
import signal
import time

from harness import finish, run

LIVENESS = {"NVSHARE_LIVENESS_MS": "1500"}


def main(env, c):
    sched = env.start_scheduler("--mode", "serial", "--time-slice", "60000")
    holder = env.gpuload("--kernel-ms", 20, "--seconds", 6, extra_env=LIVENESS)
    env.wait_holding(holder.pid)
    # Alive: a waiter behind a 6 s holder waits its turn, however long.
    t0 = time.monotonic()
    waiter = env.gpuload("--kernel-ms", 20, "--kernels", 10,
                         extra_env=LIVENESS)
    time.sleep(3.0)
    c.check(waiter.poll() is None,
            "with the scheduler alive the waiter still waits after 3 s")
    # Stopped: the waiter gives up on it and runs unmanaged.
    os.kill(sched.pid, signal.SIGSTOP)
    try:
        rc, res, err = finish(waiter, timeout=30)
        waited = time.monotonic() - t0
    finally:
        os.kill(sched.pid, signal.SIGCONT)
    c.check(rc == 0 and res and res["error"] is None,
            "the waiter ran to the end (rc %d)" % rc)
    c.check('reason="scheduler not answering"' in err,
            "it said why it runs unmanaged")
    c.check(waited < 3.0 + 1.5 + 2.5,
            "it stopped waiting about the liveness limit after the "
            "scheduler stopped (%.1f s in all, 3 s of them alive)" % waited)
    rc, _, _ = finish(holder, timeout=30)
    c.check(rc == 0, "the holder finished (rc %d)" % rc)


run(main, "liveness")
