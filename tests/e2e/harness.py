"""Shared plumbing for the end-to-end tests.

Each test gets a private temporary directory holding the scheduler socket,
the simulated driver's shared state file and its kernel trace, so tests can
run in parallel without seeing each other. Everything runs the real binaries
from the build tree: nvshare-scheduler, nvsharectl, gpuload preloaded with
libnvshare.so, on the simulated driver build/fakecuda/libcuda.so.1.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

GIB = 1 << 30
DEFAULT_UUID = "GPU-00000000-0000-0000-0000-000000000001"
SECOND_UUID = "GPU-00000000-0000-0000-0000-000000000002"


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="CMake build directory")
    return ap.parse_args()


class AllocProbe:
    """alloc_probe under libnvshare, driven line by line."""

    def __init__(self, env, extra_env=None, preexec_fn=None):
        self.p = subprocess.Popen(
            [env.path("tests", "alloc_probe")],
            env=env.environ(extra=extra_env), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=preexec_fn)
        env.procs.append(self.p)
        self.pid = self.p.pid
        ready = self.p.stdout.readline()
        if "ready" not in ready:
            raise AssertionError("alloc_probe did not start: %r %s" %
                                 (ready, self.p.stderr.read()))

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline()
        if not out:
            raise AssertionError("alloc_probe died: " + self.p.stderr.read())
        return json.loads(out)

    def alloc(self, api, *args):
        return self.cmd("alloc %s %s" % (api, " ".join(str(a) for a in args)))

    def used(self):
        i = self.cmd("info")
        return i["total"] - i["free"]

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        self.p.wait(timeout=10)
        return self.p.stderr.read()


class Env:
    """A test's world: build paths, temp dir, simulated GPUs."""

    def __init__(self, build, gpus=None, name="e2e"):
        self.build = os.path.abspath(build)
        self.tmp = tempfile.mkdtemp(prefix="nvshare-%s-" % name)
        self.socket = os.path.join(self.tmp, "scheduler.sock")
        self.state = os.path.join(self.tmp, "fakecuda.state")
        self.trace_path = os.path.join(self.tmp, "fakecuda.trace")
        self.gpus = gpus or "%s:16Gi" % DEFAULT_UUID
        self.procs = []

    def path(self, *parts):
        return os.path.join(self.build, *parts)

    def environ(self, preload=True, extra=None):
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = self.path("fakecuda")
        env["NVSHARE_FAKE_GPUS"] = self.gpus
        env["NVSHARE_FAKE_STATE"] = self.state
        env["NVSHARE_FAKE_TRACE"] = self.trace_path
        env["NVSHARE_SOCKET"] = self.socket
        env.pop("LD_PRELOAD", None)
        if preload:
            env["LD_PRELOAD"] = self.path("lib", "libnvshare.so")
        if extra:
            env.update(extra)
        return env

    # --- scheduler ---------------------------------------------------------
    def start_scheduler(self, *args, log_level="info"):
        log = open(os.path.join(self.tmp, "scheduler.log"), "ab")
        env = self.environ(preload=False, extra={"NVSHARE_LOG": log_level})
        # The simulated GPU's swapped-out bytes are sparse and take no host
        # memory: no host swap budget (its default is half of this
        # machine's memory) unless the test sets one.
        if not any(str(a).startswith("--host-swap-budget") for a in args):
            args = ("--host-swap-budget", "none") + tuple(args)
        p = subprocess.Popen(
            [self.path("bin", "nvshare-scheduler"), "--socket", self.socket]
            + list(args),
            env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        wait_for(lambda: self._connectable(), 5.0, "scheduler socket")
        self.scheduler = p
        return p

    def _connectable(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.socket)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def scheduler_log(self):
        with open(os.path.join(self.tmp, "scheduler.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def ctl(self, *args, check=True):
        r = subprocess.run(
            [self.path("bin", "nvsharectl"), "--socket", self.socket]
            + list(args),
            env=self.environ(preload=False), capture_output=True, text=True,
            timeout=30)
        if check and r.returncode != 0:
            raise AssertionError("nvsharectl %s failed (%d): %s" %
                                 (args, r.returncode, r.stderr))
        return r

    def status(self):
        return json.loads(self.ctl("status", "--json").stdout)

    def gpu_state(self, pid, gpu=0):
        """The scheduler's view of pid on its gpu-th GPU: its status entry
        ("state": holding|waiting|idle, "memory_bytes", ...), or None."""
        for cl in self.status()["clients"]:
            if cl["pid"] == pid and len(cl["gpus"]) > gpu:
                return cl["gpus"][gpu]
        return None

    def wait_holding(self, pid, timeout=10.0):
        wait_for(lambda: (self.gpu_state(pid) or {}).get("state") == "holding",
                 timeout, "pid %d holding the GPU" % pid)

    # --- workloads ---------------------------------------------------------
    def gpuload(self, *args, preload=True, extra_env=None, preexec_fn=None):
        """Starts gpuload; returns the Popen (stdout piped). preexec_fn
        runs in the child before it (to put it in a pod's cgroup)."""
        p = subprocess.Popen(
            [self.path("bin", "gpuload")] + [str(a) for a in args],
            env=self.environ(preload=preload, extra=extra_env),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=preexec_fn)
        self.procs.append(p)
        return p

    def fake_stat(self):
        r = subprocess.run([self.path("fakecuda", "fakecuda-stat"), self.state],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError("fakecuda-stat failed: " + r.stderr)
        return json.loads(r.stdout)

    def trace(self):
        """Kernel trace of the simulated driver: list of dicts."""
        rows = []
        if not os.path.exists(self.trace_path):
            return rows
        with open(self.trace_path) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 5:
                    continue
                rows.append({"pid": int(parts[0]), "dev": int(parts[1]),
                             "start_ns": int(parts[2]),
                             "end_ns": int(parts[3]), "kind": parts[4]})
        return rows

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def finish(p, timeout=120):
    """Waits for a gpuload; returns (returncode, parsed JSON or None, stderr)."""
    out, err = p.communicate(timeout=timeout)
    result = None
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            result = json.loads(line)
    return p.returncode, result, err


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Checks:
    """Collects assertions and prints the closing 'N passed, N failed' line."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
            print("ok   - " + what)
        else:
            self.failed += 1
            print("FAIL - " + what)

    def done(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed,
                                            self.failed))
        sys.exit(1 if self.failed else 0)


def run(main, name, gpus=None):
    """Runs main(env, checks) with cleanup; any exception fails the test."""
    args = parse_args()
    env = Env(args.build, gpus=gpus, name=name)
    checks = Checks(name)
    try:
        main(env, checks)
    except Exception as e:  # report, clean up, fail
        import traceback
        traceback.print_exc()
        checks.check(False, "test body raised %s: %s" % (type(e).__name__, e))
        try:
            print("--- scheduler log ---\n" + env.scheduler_log()[-4000:])
        except OSError:
            pass
    finally:
        env.close()
    checks.done()


__all__ = ["Env", "Checks", "run", "finish", "wait_for", "GIB",
           "DEFAULT_UUID", "SECOND_UUID", "signal"]
