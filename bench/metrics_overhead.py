#!/usr/bin/env python3
"""Does serving /metrics slow scheduling down? The p99 lock-grant latency
with 100 clients churning, with and without 20 scrapes per second.

One scheduler (the build's, --metrics-address on loopback) and
bench/lock_churn: 100 raw protocol clients on one GPU, each cycling
REQ_LOCK -> LOCK_OK -> hold 2 ms -> LOCK_RELEASED -> pause 8 ms and
reconnecting after 20 grants (about 9,000 grants and 450 new clients a
second). A scraper fetches /metrics every 50 ms, every other period
(250 ms on, 250 ms off, on CLOCK_MONOTONIC, which lock_churn stamps its
grants with); each grant is classed by the period it was asked in (the
first 30 ms after a switch are left out). Alternating that fast, the two
classes see the same machine: on a shared, noisy host (other builds,
other tests) the drift that separate runs would measure is not mistaken
for the scrapes'.
Run 0 is a control without any scrapes, split the same way: its change
is the noise of the method on this machine. Reported per run and pooled
over RUNS (the control left out): the latency percentiles of both
classes and the change of the p99.

usage: bench/metrics_overhead.py [--build DIR] [--runs N] [--seconds S]
                                 [--hold-us US] [--pause-us US]
"""
import argparse
import array
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

UUID = "GPU-00000000-0000-0000-0000-000000000001"
CLIENTS, HOLD_US, PAUSE_US, CYCLES = 100, 2000, 8000, 20
SCRAPES_PER_S = 20


PERIOD_NS = 250 * 10**6  # scrapes on during odd periods, off during even
GUARD_NS = 30 * 10**6    # left out after each switch


def phase(t_ns, t0):
    """1 while scrapes run at t_ns, 0 while not, None near a switch."""
    k, into = divmod(t_ns - t0, PERIOD_NS)
    return None if into < GUARD_NS else int(k % 2)


class Scraper(threading.Thread):
    def __init__(self, port, t0):
        super().__init__(daemon=True)
        self.url = "http://127.0.0.1:%d/metrics" % port
        self.t0 = t0
        self.stop = threading.Event()
        self.ok = self.failed = 0
        self.bytes = 0
        self.ms = []

    def run(self):
        step = 1.0 / SCRAPES_PER_S
        nxt = time.monotonic()
        while not self.stop.is_set():
            if (time.monotonic_ns() - self.t0) // PERIOD_NS % 2 == 1:
                t0 = time.monotonic()
                try:
                    with urllib.request.urlopen(self.url, timeout=5) as r:
                        self.bytes = len(r.read())
                    self.ok += 1
                    self.ms.append(1000 * (time.monotonic() - t0))
                except OSError:
                    self.failed += 1
            nxt += step
            time.sleep(max(0.0, nxt - time.monotonic()))


def churn(a, sock, samples):
    r = subprocess.run([os.path.join(a.build, "bench", "lock_churn"), sock,
                        UUID, str(CLIENTS), str(a.seconds), str(a.hold_us),
                        str(a.pause_us), str(CYCLES), samples],
                       capture_output=True, text=True, timeout=a.seconds + 60)
    if r.returncode != 0:
        raise SystemExit("lock_churn failed: " + r.stderr)
    return json.loads(r.stdout)


def read_samples(path):
    a = array.array("q")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    return [(a[i], a[i + 1]) for i in range(0, len(a), 2)]


def pcts(lat_ns):
    lat = sorted(lat_ns)

    def p(q):
        return lat[min(len(lat) - 1, int(q / 100.0 * (len(lat) - 1) + 0.5))
                   ] / 1000.0
    return {"n": len(lat), "p50": p(50), "p90": p(90), "p99": p(99),
            "p999": p(99.9)}


def start_scheduler(build, tmp):
    sock = os.path.join(tmp, "scheduler.sock")
    log = open(os.path.join(tmp, "scheduler.log"), "w+")
    sched = subprocess.Popen(
        [os.path.join(build, "bin", "nvshare-scheduler"), "--socket", sock,
         "--host-swap-budget", "none", "--gpu-memory", UUID + "=16Gi",
         "--metrics-address", "127.0.0.1:0"],
        env=dict(os.environ, NVSHARE_LOG="info"), stdout=log,
        stderr=subprocess.STDOUT)
    for _ in range(100):
        log.seek(0)
        m = re.search(r"event=metrics_listening \S+ port=(\d+)", log.read())
        if m and os.path.exists(sock):
            return sched, sock, int(m.group(1))
        time.sleep(0.05)
    sched.kill()
    raise SystemExit("scheduler did not start")


def latency_table(rows, pooled, off_name, on_name):
    """Prints each run's grant latencies off and on (run 0, the control,
    as its two halves) and the pooled ones as a markdown table, then the
    per-run p99 change; returns the pooled p99 change in percent."""
    print("\n| run | grants/s | phase | grants | p50 us | p90 us | p99 us "
          "| p99.9 us | p99 change |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        names = ((off_name, "off"), (on_name, "on")) if r["run"] \
            else (("control, A", "off"), ("control, B", "on"))
        for name, key in names:
            x = r[key]
            print("| %d | %.0f | %s | %d | %.1f | %.1f | %.1f | %.1f | %s |"
                  % (r["run"], r["grants_per_s"], name, x["n"], x["p50"],
                     x["p90"], x["p99"], x["p999"],
                     "%+.1f%%" % r["p99_change_pct"] if key == "on" else ""))
    off, on = pcts(pooled[0]), pcts(pooled[1])
    change = 100.0 * (on["p99"] - off["p99"]) / off["p99"]
    for name, x, note in ((off_name, off, ""),
                          (on_name, on, "%+.1f%%" % change)):
        print("| all | | %s | %d | %.1f | %.1f | %.1f | %.1f | %s |" % (
            name, x["n"], x["p50"], x["p90"], x["p99"], x["p999"], note))
    ch = [r["p99_change_pct"] for r in rows[1:]]
    sem = statistics.stdev(ch) / len(ch) ** 0.5 if len(ch) > 1 else 0.0
    print("\nper-run p99 change: mean %+.1f%% +- %.1f (standard error), "
          "median %+.1f%%; the control's: %+.1f%%" % (
              statistics.mean(ch), sem, statistics.median(ch),
              rows[0]["p99_change_pct"]))
    return change


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--hold-us", type=int, default=HOLD_US)
    ap.add_argument("--pause-us", type=int, default=PAUSE_US)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="nvshare-metrics-bench-")
    sched, sock, port = start_scheduler(a.build, tmp)
    pooled = {0: [], 1: []}
    rows = []
    try:
        # Run 0 is the control: no scrapes at all, the grants split the
        # same way; its "change" is the noise of the method here.
        for run in range(a.runs + 1):
            t0 = time.monotonic_ns()
            s = Scraper(port, t0)
            if run:
                s.start()
            res = churn(a, sock, os.path.join(tmp, "samples"))
            s.stop.set()
            if run:
                s.join()
            by = {0: [], 1: []}
            for at, lat in read_samples(os.path.join(tmp, "samples")):
                ph = phase(at, t0)
                if ph is not None:
                    by[ph].append(lat)
            for ph in (0, 1):
                if run:
                    pooled[ph] += by[ph]
            off, on = pcts(by[0]), pcts(by[1])
            row = {"run": run, "grants_per_s": res["grants"] /
                   a.seconds, "connects_per_s": res["connects"] / a.seconds,
                   "off": off, "on": on,
                   "p99_change_pct": 100.0 * (on["p99"] - off["p99"]) /
                   off["p99"],
                   "scrapes_per_s": s.ok / (a.seconds / 2),
                   "scrape_failures": s.failed, "page_bytes": s.bytes,
                   "scrape_p50_ms": statistics.median(s.ms) if s.ms else 0}
            rows.append(row)
            print(json.dumps(row), flush=True)
        page = urllib.request.urlopen(
            "http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
        snap = re.search(r"^nvshare_scheduler_metrics_snapshot_seconds "
                         r"(\S+)", page, re.M)
    finally:
        sched.terminate()
        sched.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    change = latency_table(rows, pooled, "no scrapes", "20 scrapes/s")
    print("pooled p99 change with scrapes: %+.1f%%; scrapes served %.1f/s "
          "while on, page %d bytes, snapshot %.3f ms on the loop (last)"
          % (change, statistics.median(r["scrapes_per_s"] for r in rows[1:]),
             rows[-1]["page_bytes"],
             1000 * float(snap.group(1)) if snap else -1))
    return 0 if change < 5.0 else 1


if __name__ == "__main__":
    sys.exit(main())
