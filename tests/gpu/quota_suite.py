"""Quotas on real GPUs (scripts/gpu-suite.sh --quota).

1. Memory: tests/gpu/torch_quota.py under a 1 GiB limit, with PyTorch's
   default allocator and with expandable segments (cuMemCreate).
2. Compute: the accuracy matrix of the issue, with gpuload ("work"
   kernels, a fixed loop calibrated alone to 5 ms; achieved share = kernels
   x kernel time / wall. Spin kernels wait on the GPU clock, so two of them
   time-sliced on one GPU both finish on time: they measure time, not
   work, and cannot show a share) and with a PyTorch matmul
   loop (achieved share = solo time / limited time). Every workload gets
   GPU work in proportion to its target, target x T of solo time, so that
   all of a cell's workloads finish together if the shares are right; the
   achieved share is then work / wall. The 30% -> 80% cell's target is the
   time-weighted mix of the two around the moment of the change.
3. Threads: one process of 4 threads, each on its own stream (gpuload's
   own streams, its per-thread default streams, PyTorch streams), under a
   30 % core limit. Kernels of several streams overlap on a real GPU, so
   the solo speed is that of the same command alone and unlimited:
   achieved share = solo time / limited time for the same work.

Cells run two at a time when there are two GPUs. Safety: the scheduler is
told each GPU has --capacity (16Gi) and the workloads use well under 1 GiB.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from suite import last_json, report_interposition  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
KERNEL_MS = 5.0


def gpus():
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                         check=True).stdout
    return [l.split("UUID: ")[1].split(")")[0].strip()
            for l in out.splitlines() if "UUID: " in l], out.strip()


class Env:
    def __init__(self, build, capacity):
        self.build = os.path.abspath(build)
        self.tmp = tempfile.mkdtemp(prefix="nvshare-quota-")
        self.sock = os.path.join(self.tmp, "scheduler.sock")
        self.uuids, self.smi = gpus()
        args = [os.path.join(self.build, "bin", "nvshare-scheduler"),
                "--socket", self.sock]
        for u in self.uuids:
            args += ["--gpu-memory", "%s=%s" % (u, capacity)]
        self.log = open(os.path.join(self.tmp, "scheduler.log"), "w")
        self.sched = subprocess.Popen(args, stdout=self.log,
                                      stderr=subprocess.STDOUT)
        for _ in range(100):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)

    def env(self, extra=None, gpu=None):
        e = dict(os.environ)
        e["LD_PRELOAD"] = os.path.join(self.build, "lib", "libnvshare.so")
        e["NVSHARE_SOCKET"] = self.sock
        if gpu is not None:
            e["CUDA_VISIBLE_DEVICES"] = str(gpu)
        e.update(extra or {})
        return e

    def ctl(self, *args):
        return subprocess.run([os.path.join(self.build, "bin", "nvsharectl"),
                               "--socket", self.sock] + list(args),
                              capture_output=True, text=True)

    def close(self):
        self.sched.terminate()
        self.sched.wait()


def interposition(env):
    """PyTorch under the library with debug logs, a core limit (so the
    meter and the synchronize hooks run) and a memory limit: look-ups
    answered by name, lock grants, warnings."""
    p = subprocess.run([sys.executable, os.path.join(HERE, "torch_loop.py"),
                        "--workload", "add-small", "--iters", "2000"],
                       env=env.env({"NVSHARE_LOG": "debug",
                                    "NVSHARE_GPU_CORE_LIMIT": "50",
                                    "NVSHARE_GPU_MEMORY_LIMIT": "2Gi"},
                                   gpu=0),
                       capture_output=True, text=True, timeout=300)
    report_interposition(p, "throttle")


def memory_quota(env):
    print("== memory quota: PyTorch under NVSHARE_GPU_MEMORY_LIMIT=1Gi")
    for conf in ("", "expandable_segments:True"):
        extra = {"NVSHARE_GPU_MEMORY_LIMIT": "1Gi"}
        if conf:
            extra["PYTORCH_CUDA_ALLOC_CONF"] = conf
        p = subprocess.run([sys.executable,
                            os.path.join(HERE, "torch_quota.py")],
                           env=env.env(extra, gpu=0), capture_output=True,
                           text=True, timeout=300)
        r = last_json(p.stdout) if p.returncode == 0 else {
            "error": p.stderr[-1500:]}
        print(json.dumps(r))


# (cell, [limits]) - the matrix; a list of two is a pair on one GPU;
# "quad" is two pairs on two GPUs.
CELLS = [("single %d%%" % p, [[p]]) for p in (10, 25, 30, 50, 60, 75, 90)] + [
    ("pair 30+60", [[30, 60]]), ("pair 50+50", [[50, 50]]),
    ("pair 25+75", [[25, 75]]), ("pair 80+80", [[80, 80]]),
    ("quad 30,60 | 30,60", [[30, 60], [30, 60]]),
    ("change 30->80", [[30]]),
]


def expected(limits):
    total = sum(limits)
    return [l * 100.0 / total if total > 100 else float(l) for l in limits]


class Workload:
    """gpuload or the PyTorch loop: command for `target` % of T seconds."""

    def __init__(self, kind, build, solo_iter_s=None):
        self.kind = kind
        self.gpuload = os.path.join(os.path.abspath(build), "bin", "gpuload")
        self.solo_iter_s = solo_iter_s
        self.work_iters = None  # gpuload: calibrated alone, once

    def cmd(self, work_s):
        if self.kind == "gpuload":
            n = max(1, int(round(work_s * 1000 / KERNEL_MS)))
            return [self.gpuload, "--work-iters", str(self.work_iters),
                    "--kernel-ms", str(KERNEL_MS), "--kernels", str(n)], \
                n * KERNEL_MS / 1000.0
        n = max(1, int(round(work_s / self.solo_iter_s)))
        return [sys.executable, os.path.join(HERE, "torch_loop.py"),
                "--workload", "matmul", "--iters", str(n)], \
            n * self.solo_iter_s

    def calibrate(self, env):
        """gpuload: the work kernel's iterations per KERNEL_MS, timed alone
        (run concurrently, each would time its probe against the others'
        work and make its kernels too short). Returns gpuload's JSON."""
        p = subprocess.run([self.gpuload, "--kernel", "work", "--kernel-ms",
                            str(KERNEL_MS), "--kernels", "200"],
                           env=env.env(gpu=0), capture_output=True,
                           text=True, timeout=600)
        r = last_json(p.stdout)
        self.work_iters = r["work_iters"]
        return r

    @staticmethod
    def span(kind, r):
        """(start, end) wall clock seconds of the timed part."""
        if kind == "gpuload":  # from the first launch: no start-up
            return r["first_launch_ms"] / 1000.0, r["end_ms"] / 1000.0
        return r["start"], r["end"]


def run_cell(env, w, cell, groups, gpu_base, T, rows, lock):
    procs = []
    for gi, limits in enumerate(groups):
        for lim, target in zip(limits, expected(limits)):
            work = target / 100.0 * T
            if cell.startswith("change"):
                work = (0.3 + 0.8) / 2 * T
            cmd, work = w.cmd(work)
            p = subprocess.Popen(cmd, env=env.env(
                {"NVSHARE_GPU_CORE_LIMIT": str(lim)}, gpu=gpu_base + gi),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append((p, target, work))
    t_change = None
    if cell.startswith("change"):
        p = procs[0][0]
        cid = None
        for _ in range(200):
            st = json.loads(env.ctl("status", "--json").stdout or "{}")
            ids = [c["id"] for c in st.get("clients", [])
                   if c["pid"] == p.pid and c["gpus"]]
            if ids:
                cid = ids[0]
                break
            time.sleep(0.05)
        time.sleep(T / 2)
        t_change = time.time()
        env.ctl("set", "--client", str(cid), "--core-limit", "80")
    for p, target, work in procs:
        out, err = p.communicate(timeout=600)
        if p.returncode != 0:
            with lock:
                rows.append((w.kind, cell, target, None, err[-300:]))
            continue
        start, end = Workload.span(w.kind, last_json(out))
        wall = end - start
        if t_change is not None:
            before = min(max(t_change - start, 0), wall)
            target = (30.0 * before + 80.0 * (wall - before)) / wall
        got = 100.0 * work / wall
        with lock:
            rows.append((w.kind, cell, target, got, None))


def matrix(env, kind, T, only_cells=None):
    w = Workload(kind, env.build)
    if kind == "gpuload":
        r = w.calibrate(env)
        print("gpuload work kernel: %d iterations per %.0f ms; 200 kernels "
              "alone in %.1f ms (%.1f expected)" %
              (w.work_iters, KERNEL_MS, r["wall_ms"] -
               (r["first_launch_ms"] - r["start_ms"]), 200 * KERNEL_MS))
    if kind == "torch":
        # Solo speed of one matmul iteration, unlimited, under nvshare.
        p = subprocess.run([sys.executable, os.path.join(HERE, "torch_loop.py"),
                            "--workload", "matmul", "--iters", "2000"],
                           env=env.env(gpu=0), capture_output=True, text=True,
                           timeout=600)
        r = last_json(p.stdout)
        w.solo_iter_s = r["seconds"] / r["iters"]
        print("torch matmul solo: %.3f ms per iteration" %
              (w.solo_iter_s * 1e3))
    rows, lock = [], threading.Lock()
    ngpu = len(env.uuids)
    queue = [c for c in CELLS
             if not only_cells or any(c[0].startswith(p) for p in only_cells)]
    while queue:
        batch, used = [], 0
        while queue and used + len(queue[0][1]) <= ngpu:
            cell = queue.pop(0)
            batch.append((cell, used))
            used += len(cell[1])
        if not batch:  # a cell needs more GPUs than there are
            cell = queue.pop(0)
            rows.append((kind, cell[0], 0, None, "needs %d GPUs" %
                         len(cell[1])))
            continue
        ts = [threading.Thread(target=run_cell, args=(
            env, w, c[0], c[1], base, T, rows, lock)) for c, base in batch]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    order = {c[0]: i for i, c in enumerate(CELLS)}
    if not rows:
        print("== compute quotas: %s: no cell selected" % kind)
        return rows
    rows.sort(key=lambda r: (order[r[1]], r[2]))
    print("== compute quotas: %s, T = %.0f s" % (kind, T))
    print("%-22s %8s %10s %8s" % ("cell", "target", "achieved", "error"))
    worst = 0.0
    for _, cell, target, got, err in rows:
        if got is None:
            print("%-22s %7.1f%%  failed: %s" % (cell, target, err))
            continue
        worst = max(worst, abs(got - target))
        print("%-22s %7.1f%% %9.1f%% %+7.1f" % (cell, target, got,
                                                got - target))
    print("worst error: %.2f points" % worst)
    return rows


class ClockSampler:
    """SM clock (MHz) sampled with nvidia-smi while a run lasts (reading
    only: the card's settings are never touched)."""

    def __init__(self):
        self.samples = []
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.loop)
        self.t.start()

    def loop(self):
        while not self.stop.is_set():
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=clocks.sm,power.draw",
                 "--format=csv,noheader,nounits", "-i", "0"],
                capture_output=True, text=True).stdout.strip()
            try:
                mhz, watts = out.split(",")
                self.samples.append((float(mhz), float(watts)))
            except ValueError:
                pass
            time.sleep(0.2)

    def done(self):
        self.stop.set()
        self.t.join()
        if not self.samples:
            return "no clock samples"
        mhz = sorted(s[0] for s in self.samples)
        watts = sorted(s[1] for s in self.samples)
        return "SM clock median %.0f MHz, power median %.0f W (%d samples)" % (
            mhz[len(mhz) // 2], watts[len(watts) // 2], len(mhz))


def baseline(env, T):
    """What sharing costs without any quota, and what a limited PyTorch
    loop's clocks do: two unlimited workloads of each kind together, and
    the matmul loop alone unlimited and at 50 % with the SM clock
    sampled."""
    print("== baseline: two unlimited workloads together (no quota)")
    for kind in ("gpuload", "torch"):
        w = Workload(kind, env.build)
        if kind == "gpuload":
            w.calibrate(env)
        else:
            clk = ClockSampler()
            p = subprocess.run([sys.executable,
                                os.path.join(HERE, "torch_loop.py"),
                                "--workload", "matmul", "--iters", "6000"],
                               env=env.env(gpu=0), capture_output=True,
                               text=True, timeout=600)
            r = last_json(p.stdout)
            w.solo_iter_s = r["seconds"] / r["iters"]
            print("torch matmul alone, unlimited: %.3f ms per iteration; %s"
                  % (w.solo_iter_s * 1e3, clk.done()))
        procs = []
        for _ in range(2):
            cmd, work = w.cmd(0.5 * T)
            procs.append((subprocess.Popen(cmd, env=env.env(gpu=0),
                                           stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True),
                          work))
        for p, work in procs:
            out, _ = p.communicate(timeout=600)
            start, end = Workload.span(kind, last_json(out))
            print("%-8s unlimited pair: achieved %.1f%% of solo speed" %
                  (kind, 100.0 * work / (end - start)))
        if kind == "torch":
            clk = ClockSampler()
            cmd, work = w.cmd(0.5 * T)
            p = subprocess.run(cmd, env=env.env(
                {"NVSHARE_GPU_CORE_LIMIT": "50"}, gpu=0),
                capture_output=True, text=True, timeout=600)
            start, end = Workload.span(kind, last_json(p.stdout))
            print("torch matmul at 50%%: achieved %.1f%% of solo speed; %s" %
                  (100.0 * work / (end - start), clk.done()))


THREAD_CASES = [("gpuload 4 threads, own streams", "gpuload", "own"),
                ("gpuload 4 threads, per-thread default", "gpuload",
                 "per-thread"),
                ("torch 4 threads, 4 streams", "torch", None)]


def threaded(env, T, limit=30, nthreads=4):
    """Each case alone and unlimited, then under `limit` %, the same
    work: a share of GPU time shows as solo time / limited time."""
    print("== compute quota, one process of %d threads at %d%%, T = %.0f s"
          % (nthreads, limit, T))
    gl = Workload("gpuload", env.build)
    gl.calibrate(env)
    worst = 0.0
    for name, kind, stream in THREAD_CASES:
        if kind == "gpuload":
            # Single-warp work kernels of 4 streams run side by side.
            n = max(1, int(round(limit / 100.0 * T * 1000 / KERNEL_MS)))
            cmd = [gl.gpuload, "--work-iters", str(gl.work_iters),
                   "--kernel-ms", str(KERNEL_MS), "--kernels", str(n),
                   "--threads", str(nthreads), "--stream", stream]
        else:
            # A matmul fills the GPU: 4 streams take 4 times as long.
            n = max(1, int(round(limit / 100.0 * T / nthreads / 0.00165)))
            cmd = [sys.executable, os.path.join(HERE, "torch_loop.py"),
                   "--workload", "matmul", "--iters", str(n),
                   "--threads", str(nthreads)]
        spans = []
        for extra in ({}, {"NVSHARE_GPU_CORE_LIMIT": str(limit)}):
            p = subprocess.run(cmd, env=env.env(extra, gpu=0),
                               capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                print("%-40s failed: %s" % (name, p.stderr[-300:]))
                break
            start, end = Workload.span(kind, last_json(p.stdout))
            spans.append(end - start)
        if len(spans) < 2:
            continue
        got = 100.0 * spans[0] / spans[1]
        worst = max(worst, abs(got - limit))
        print("%-40s solo %.2f s, at %d%% %.2f s: achieved %.1f%% (%+.1f)"
              % (name, spans[0], limit, spans[1], got, got - limit))
    print("worst error: %.2f points" % worst)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--capacity", default="16Gi")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--only", choices=["memory", "gpuload", "torch",
                                       "threads", "baseline"])
    ap.add_argument("--cells", nargs="*", default=None,
                    help="only the matrix cells whose names start so "
                         "(e.g. quad)")
    a = ap.parse_args()
    env = Env(a.build, a.capacity)
    try:
        print(env.smi)
        if a.only in (None, "memory"):
            interposition(env)
            memory_quota(env)
        for kind in ("gpuload", "torch"):
            if a.only in (None, kind):
                matrix(env, kind, a.seconds, a.cells)
        if a.only in (None, "threads"):
            threaded(env, a.seconds)
        if a.only in (None, "baseline"):
            baseline(env, a.seconds)
    finally:
        env.close()
        print("--- scheduler log (warnings) ---")
        with open(os.path.join(env.tmp, "scheduler.log")) as f:
            for line in f:
                if "level=warn" in line or "level=error" in line:
                    print(line.rstrip()[:200])


if __name__ == "__main__":
    main()
