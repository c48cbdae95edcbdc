#!/usr/bin/env python3
"""Does the web page slow scheduling down? The p99 lock-grant latency with
100 clients churning (bench/lock_churn, as in bench/metrics_overhead.py),
with and without 10 viewers of the page: 10 pollers each fetching
/api/status and /api/history once a second, as the page does (their
fetches spread over the second; the history in full at first, then the
frames since the last poll, ?from=NEXT; --full: in full every time, the
worst case), and optionally one headless Chromium showing the page
(--chromium).

The viewers look every other period (2 s on, 2 s off, on
CLOCK_MONOTONIC, which lock_churn stamps its grants with); each grant is
classed by the period it was asked in (the first 100 ms after a switch
are left out), so that both classes see the same noisy machine. Run 0 is
a control without viewers, split the same way: its change is the noise of
the method. Reported per run and pooled over RUNS (the control left out).
With 100 clients reconnecting 450 times a second the history holds its
maximum of client entries, so /api/history is as large as it gets.

usage: bench/web_overhead.py [--build DIR] [--runs N] [--seconds S]
                             [--viewers N] [--full] [--chromium]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics_overhead import (HOLD_US, PAUSE_US, churn,  # noqa: E402
                              latency_table, pcts, read_samples,
                              start_scheduler)

PERIOD_NS = 2 * 10**9  # viewers on during odd periods, off during even
GUARD_NS = 100 * 10**6  # left out after each switch


def phase(t_ns, t0):
    k, into = divmod(t_ns - t0, PERIOD_NS)
    return None if into < GUARD_NS else int(k % 2)


def period_p99s(samples, t0):
    """p99 of each period, by phase: the median of these is not moved by
    a burst of other work on the machine during a few periods."""
    by = {}
    for at, lat in samples:
        if phase(at, t0) is not None:
            by.setdefault((at - t0) // PERIOD_NS, []).append(lat)
    out = {0: [], 1: []}
    for k, lat in by.items():
        if len(lat) >= 1000:
            out[k % 2].append(pcts(lat)["p99"])
    return out


class Viewer(threading.Thread):
    """Polls like the page: both endpoints, once a second."""

    def __init__(self, port, t0, offset, full):
        super().__init__(daemon=True)
        self.full, self.next = full, None
        self.base = "http://127.0.0.1:%d" % port
        self.t0, self.offset = t0, offset
        self.stop = threading.Event()
        self.ok = self.failed = 0
        self.bytes = {}
        self.snapshot_us = []
        self.ms = []

    def fetch(self, path, query=""):
        with urllib.request.urlopen(self.base + path + query,
                                    timeout=5) as r:
            body = r.read()
            self.bytes[path + ("?from" if query else "")] = len(body)
            us = r.headers.get("X-Nvshare-Snapshot-Us")
            if us:
                self.snapshot_us.append(int(us))
            return body

    def run(self):
        nxt = time.monotonic() + self.offset
        while not self.stop.is_set():
            time.sleep(max(0.0, nxt - time.monotonic()))
            nxt += 1.0
            if (time.monotonic_ns() - self.t0) // PERIOD_NS % 2 != 1:
                continue
            t = time.monotonic()
            try:
                self.fetch("/api/status")
                q = "" if self.full or self.next is None else \
                    "?from=%d" % self.next
                h = self.fetch("/api/history", q)
                if not self.full:
                    self.next = json.loads(h)["next"]
                self.ok += 1
                self.ms.append(1000 * (time.monotonic() - t))
            except OSError:
                self.failed += 1


class Browser(threading.Thread):
    """A headless Chromium showing the page during the on periods."""

    def __init__(self, port, t0, seconds):
        super().__init__(daemon=True)
        self.url = "http://127.0.0.1:%d/" % port
        self.t0, self.seconds = t0, seconds
        self.stop = threading.Event()
        self.looks = self.timeouts = 0

    def run(self):
        profile = tempfile.mkdtemp(prefix="nvshare-web-bench-")
        try:
            while not self.stop.is_set():
                into = (time.monotonic_ns() - self.t0) % (2 * PERIOD_NS)
                if into < PERIOD_NS:  # wait for the next on period
                    time.sleep((PERIOD_NS - into) / 1e9)
                    continue
                try:
                    subprocess.run(
                        ["chromium", "--headless=new", "--no-sandbox",
                         "--disable-gpu", "--user-data-dir=" + profile,
                         "--virtual-time-budget=1500", "--dump-dom",
                         self.url], capture_output=True, timeout=30)
                    self.looks += 1
                except subprocess.TimeoutExpired:
                    self.timeouts += 1
        finally:
            shutil.rmtree(profile, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--viewers", type=int, default=10)
    ap.add_argument("--chromium", action="store_true")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--hold-us", type=int, default=HOLD_US)
    ap.add_argument("--pause-us", type=int, default=PAUSE_US)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="nvshare-web-bench-")
    sched, sock, port = start_scheduler(a.build, tmp)
    pooled = {0: [], 1: []}
    periods = {0: [], 1: []}
    rows = []
    try:
        for run in range(a.runs + 1):
            t0 = time.monotonic_ns()
            vs = [Viewer(port, t0, i / a.viewers, a.full)
                  for i in range(a.viewers)]
            br = Browser(port, t0, a.seconds) if a.chromium else None
            if run:
                for v in vs:
                    v.start()
                if br:
                    br.start()
            res = churn(a, sock, os.path.join(tmp, "samples"))
            for v in vs:
                v.stop.set()
            if br:
                br.stop.set()
            if run:
                for v in vs:
                    v.join()
                if br:
                    br.join()
            by = {0: [], 1: []}
            samples = read_samples(os.path.join(tmp, "samples"))
            for at, lat in samples:
                ph = phase(at, t0)
                if ph is not None:
                    by[ph].append(lat)
            pp = period_p99s(samples, t0)
            if run:
                for ph in (0, 1):
                    pooled[ph] += by[ph]
                    periods[ph] += pp[ph]
            off, on = pcts(by[0]), pcts(by[1])
            snaps = [u for v in vs for u in v.snapshot_us]
            ms = [m for v in vs for m in v.ms]
            row = {"run": run, "grants_per_s": res["grants"] / a.seconds,
                   "off": off, "on": on,
                   "p99_change_pct": 100.0 * (on["p99"] - off["p99"]) /
                   off["p99"],
                   "period_p99_change_pct": 100.0 * (
                       statistics.median(pp[1]) - statistics.median(pp[0]))
                   / statistics.median(pp[0]),
                   "polls_per_s": sum(v.ok for v in vs) / (a.seconds / 2),
                   "poll_failures": sum(v.failed for v in vs),
                   "status_bytes": vs[0].bytes.get("/api/status", 0),
                   "history_bytes": vs[0].bytes.get("/api/history", 0),
                   "history_from_bytes": vs[0].bytes.get("/api/history?from",
                                                         0),
                   "poll_p50_ms": statistics.median(ms) if ms else 0,
                   "snapshot_us_median": statistics.median(snaps)
                   if snaps else 0,
                   "snapshot_us_max": max(snaps) if snaps else 0,
                   "chromium_looks": br.looks if br else 0}
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        sched.terminate()
        sched.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    change = latency_table(rows, pooled, "no viewers",
                           "%d viewers" % a.viewers)
    last = rows[-1]
    print("pooled p99 change with viewers: %+.1f%%; polls %.1f/s while on "
          "(%d failed), status %d bytes, history %d bytes (since the last "
          "poll: %d bytes), poll p50 %.1f ms,"
          " copy on the loop: median %d us, max %d us; chromium looks %d"
          % (change, last["polls_per_s"], last["poll_failures"],
             last["status_bytes"], last["history_bytes"],
             last["history_from_bytes"],
             last["poll_p50_ms"], last["snapshot_us_median"],
             last["snapshot_us_max"], last["chromium_looks"]))
    med = {ph: statistics.median(periods[ph]) for ph in (0, 1)}
    print("median of the periods' p99: %.1f us without viewers (%d "
          "periods), %.1f us with (%d): %+.1f%%; the control's: %+.1f%%"
          % (med[0], len(periods[0]), med[1], len(periods[1]),
             100.0 * (med[1] - med[0]) / med[0],
             rows[0]["period_p99_change_pct"]))
    return 0 if change < 5.0 else 1


if __name__ == "__main__":
    sys.exit(main())
