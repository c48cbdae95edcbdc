"""Oversubscription by clients that grow while they run, on a real GPU
(scripts/gpu-suite.sh --growth).

Three PyTorch processes (tests/gpu/torch_grow.py) each take the GPU with
--start-gib (1 GiB) and grow to 7 GiB in 1 GiB steps while running. The scheduler is
told the GPU has --capacity (16 GiB: 21 GiB wanted, oversubscribed) or
--fit-capacity (24 GiB: they fit), while the real card never fills (the
safety rule: the processes' memory stays far below the card's). For each
it runs the three one after another natively, all at once natively, and
all at once under nvshare, sampling the processes' device memory with
nvidia-smi every 100 ms (the peak of their sum is what the card really
held) and the scheduler's resident bytes.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from suite import Suite  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MIB = 1 << 20


class SmiSampler:
    """The sum of compute processes' used memory, every 100 ms."""

    def __init__(self):
        self.peak_mib = 0
        self.samples = 0
        self.trace = []  # (time, MiB summed over processes)
        self.p = subprocess.Popen(
            ["nvidia-smi", "--query-compute-apps=pid,used_memory",
             "--format=csv,noheader,nounits", "-lms", "100"],
            stdout=subprocess.PIPE, text=True)
        self.t = threading.Thread(target=self.read, daemon=True)
        self.cur, self.last = 0, None
        self.t.start()

    def read(self):
        # nvidia-smi prints one block of lines per sample; a blank-free
        # stream, so a sample ends when a pid repeats.
        seen = set()
        for line in self.p.stdout:
            parts = [x.strip() for x in line.split(",")]
            if len(parts) != 2 or not parts[1].isdigit():
                continue
            if parts[0] in seen:
                self.peak_mib = max(self.peak_mib, self.cur)
                self.samples += 1
                self.trace.append((time.time(), self.cur))
                seen, self.cur = set(), 0
            seen.add(parts[0])
            self.cur += int(parts[1])

    def stop(self):
        self.p.terminate()
        self.p.wait()
        self.peak_mib = max(self.peak_mib, self.cur)
        return self.peak_mib


class StatusSampler:
    """The scheduler's resident bytes, every 100 ms."""

    def __init__(self, suite):
        self.suite, self.peak, self.running = suite, 0, True
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while self.running:
            try:
                g = json.loads(self.suite.status())["gpus"]
                if g:
                    self.peak = max(self.peak, g[0]["resident_bytes"])
            except (ValueError, KeyError, IndexError):
                pass
            time.sleep(0.1)

    def stop(self):
        self.running = False
        self.t.join()
        return self.peak


def measured(suite, cmd, procs, shared):
    smi = SmiSampler()
    st = StatusSampler(suite) if shared else None
    res, t = suite.run(cmd, procs, shared)
    peak = smi.stop()
    # The peak while every process still ran (before the first ended):
    # the memory a process frees at exit is the driver's to release, and
    # it may still be counted while the next one swaps in.
    first_end = min(r["end"] for r in res)
    running = max([m for ts, m in smi.trace if ts < first_end - 0.2] or [0])
    return res, t, (peak, running), st.stop() if st else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--capacity", default="16Gi")
    ap.add_argument("--fit-capacity", default="24Gi")
    ap.add_argument("--iters", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--start-gib", default="1")
    ap.add_argument("--json", default=None)
    ap.add_argument("--debug-log", default=None,
                    help="after the table, one more oversubscribed run with "
                    "the library's debug log written to this file, and a "
                    "count of its swap events")
    a = ap.parse_args()
    cmd = [sys.executable, os.path.join(HERE, "torch_grow.py"), "--gib", "7",
           "--start-gib", a.start_gib,
           "--iters", str(a.iters), "--grow-every", str(a.iters // 20)]
    rows = []
    for label, cap in (("oversubscribed", a.capacity),
                       ("fits", a.fit_capacity)):
        suite = Suite(a.build, cap, "auto")
        try:
            print(suite.smi, "capacity", cap, flush=True)
            seq = 0.0
            for _ in range(3):
                r, t, _, _ = measured(suite, cmd, 1, False)
                seq += t
            for _ in range(a.repeat):
                rn, tn, pn, _ = measured(suite, cmd, 3, False)
                rs, ts, ps, rb = measured(suite, cmd, 3, True)
                st = json.loads(suite.status())["gpus"][0]
                ok = all(x["checksum_ok"] for x in rn + rs)
                rows.append((label, cap, seq, tn, ts, ps, pn, rb,
                             st["swaps"], ok))
                print("%s: seq %.2f s, all %.2f s (peak %s MiB), nvshare "
                      "%.2f s (peak %s MiB: any time, all running; resident "
                      "peak %.2f GiB, swaps %d), data %s" % (
                          label, seq, tn, pn, ts, ps,
                                        rb / (1 << 30), st["swaps"],
                                        "ok" if ok else "BAD"), flush=True)
        finally:
            suite.close()
    print()
    print("%-15s %6s %7s %7s %7s %7s %7s %9s %9s %9s %6s %4s" % (
        "case", "cap", "seq s", "all s", "nvsh s", "vs seq", "vs all",
        "smi MiB", "smi run", "res GiB", "swaps", "data"))
    for r in rows:
        print("%-15s %6s %7.2f %7.2f %7.2f %6.3fx %6.3fx %9d %9d %9.2f %6d "
              "%4s" % (r[0], r[1], r[2], r[3], r[4], r[4] / r[2], r[4] / r[3],
                       r[5][0], r[5][1], r[7] / (1 << 30), r[8],
                       "ok" if r[9] else "BAD"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    if a.debug_log:
        debug_run(a, cmd)


def debug_run(a, cmd):
    """The oversubscribed run once more with debug logs: are host buffers
    made ahead of the swap-outs (event=host_prepared) on the real driver?"""
    suite = Suite(a.build, a.capacity, "auto")
    try:
        env = suite.env(True)
        env["NVSHARE_LOG"] = "debug"
        ps = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
              for _ in range(3)]
        errs = [p.communicate(timeout=600)[1] for p in ps]
    finally:
        suite.close()
    with open(a.debug_log, "w") as f:
        f.write("\n".join(errs))
    for ev in ("host_prepared", "swap", "swap_in_waited", "swap_failed",
               "swap_out_failed", "swap_in_failed", "grant_waited", "oom"):
        print("debug run: event=%s %d lines" % (
            ev, sum(e.count("event=%s " % ev) for e in errs)))
    print("debug run: rc", [p.returncode for p in ps])


if __name__ == "__main__":
    main()
