"""Flow control bounds the work a process queues, so switches stay quick.

A holds the GPU and tries to keep 400 kernels of 5 ms queued (2 s of GPU
work). B arrives and waits for A's 200 ms slice to end; A must drain what
it queued before B may run. With the default 50 ms window the library
keeps A's queue short and B starts soon after the slice; with the window
disabled (NVSHARE_QUEUE_WINDOW_MS=0) the drain takes the whole queue.
"""
import time

from harness import finish, run


def b_wait_ms(env, window_ms):
    extra = {"NVSHARE_QUEUE_WINDOW_MS": str(window_ms)}
    a = env.gpuload("--kernel-ms", 5, "--seconds", 30, "--inflight", 400,
                    extra_env=extra)
    env.wait_holding(a.pid)
    time.sleep(1.0)  # let A fill its queue as far as it may
    started = time.monotonic_ns()
    b = env.gpuload("--kernel-ms", 5, "--kernels", 10)
    rc, res, err = finish(b)
    a.kill()
    a.wait()
    kernels = [k["start_ns"] for k in env.trace()
               if k["pid"] == b.pid and k["kind"] == "kernel"]
    return rc, (min(kernels) - started) / 1e6 if kernels else None


def main(env, c):
    env.start_scheduler("--mode", "serial", "--time-slice", "200")
    rc, waited = b_wait_ms(env, 50)
    c.check(rc == 0 and waited is not None, "B ran (window 50 ms)")
    c.check(waited is not None and waited <= 900,
            "with a 50 ms window B started %.0f ms after arriving (<= 900: "
            "slice 200 + drain)" % (waited or -1))
    rc, waited = b_wait_ms(env, 0)
    c.check(rc == 0 and waited is not None, "B ran (window off)")
    c.check(waited is not None and waited >= 1200,
            "with the window off B waited %.0f ms (>= 1200: the 2 s queue)"
            % (waited or -1))


run(main, "flow_control")
