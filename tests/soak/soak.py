#!/usr/bin/env python3
"""The churn soak (`make soak`, not in CI): clients join and leave four
simulated 16 GiB GPUs for --seconds (default 600), more memory asked than
there is, a third of them SIGKILLed at chosen points (while registering,
while holding a GPU, at a random moment of their life), and an unprivileged
attacker (attacker.py) doing what issue 11 found a tenant could do.

Afterwards: every client not killed finished with its bytes verified; no
client, holder, queue or resident byte is left on any GPU and no swapped
byte on the host; every GPU still has its 16 GiB; the scheduler's fd count
is back to its baseline and its RSS to its warmed-up figure. While it runs,
the resident bytes the scheduler reports never pass a GPU's capacity.

usage: soak.py [--build DIR] [--seconds S] [--clients N] [--concurrent N]
               [--seed N]
"""
import argparse
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import GIB, Env, finish  # noqa: E402
from tenant import fork_as_tenant, open_to_tenants, tenant_ids  # noqa: E402
from attacker import attack  # noqa: E402

GPUS = 4
CAPACITY = 16 * GIB


def uuid(i):
    return "GPU-00000000-0000-0000-0000-%012d" % (i + 1)


REAL = set(uuid(i) for i in range(GPUS))


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Client:
    def __init__(self, env, rng, n):
        self.n = n
        self.gpu = rng.randrange(GPUS)
        mem = rng.randint(1, 6) * GIB
        args = ["--device", self.gpu, "--mem", mem, "--kernel-ms", 5,
                "--seconds", round(rng.uniform(0.5, 3.0), 2),
                "--verify", "1Mi"]
        if rng.random() < 0.25:
            args += ["--grow-to", mem + 2 * GIB, "--grow-step", "512Mi"]
        r = rng.random()
        self.kill = (None if r >= 1 / 3 else
                     rng.choice(["registering", "holding", "random"]))
        self.kill_at = time.monotonic() + (
            rng.uniform(0.0, 0.05) if self.kill == "registering" else
            rng.uniform(0.1, 3.0))
        self.p = env.gpuload(*args)
        self.state = "starting"  # last state the scheduler showed
        self.killed_in = None

    def due(self, now):
        if self.kill is None or self.killed_in or self.p.poll() is not None:
            return False
        if self.kill == "holding":
            return self.state == "holding"
        return now >= self.kill_at

    def kill_now(self):
        self.killed_in = self.state
        self.p.kill()


def sample(env, clients, peak, claimed):
    st = env.status()
    by_pid = {}
    for c in st["clients"]:
        for g in c["gpus"]:
            # Counted on the GPU before any grant: its first update said
            # it held memory (held_bytes), taken as far as it fits.
            if g["lock_grants"] == 0 and g["resident_bytes"] > 0:
                claimed.add(c["pid"])
            by_pid[c["pid"]] = ("swapped" if g.get("swapped_bytes") and
                                g["state"] != "holding" else g["state"])
    for cl in clients:
        if cl.p.pid in by_pid:
            cl.state = by_pid[cl.p.pid]
    for g in st["gpus"]:
        if g["uuid"] in REAL:
            peak[g["uuid"]] = max(peak.get(g["uuid"], 0),
                                  g["resident_bytes"])
    return st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--concurrent", type=int, default=24)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()
    rng = random.Random(a.seed)
    print("soak: %.0f s, %d clients (%d at once) on %d GPUs, seed %d, "
          "attacker %s" % (a.seconds, a.clients, a.concurrent, GPUS, a.seed,
                           "nvshare-tenant" if tenant_ids() else
                           "(same user: not root)"))
    env = Env(a.build, gpus=",".join("%s:16Gi" % uuid(i)
                                      for i in range(GPUS)), name="soak")
    failures = []

    def check(cond, what):
        print(("ok   - " if cond else "FAIL - ") + what)
        if not cond:
            failures.append(what)

    try:
        sched = env.start_scheduler(log_level="warn")
        open_to_tenants(env)
        time.sleep(0.5)
        fd0, rss0 = fd_count(sched.pid), rss_kib(sched.pid)
        attacker = fork_as_tenant(attack, env.socket, uuid(0), a.seconds)
        start = time.monotonic()
        every = a.seconds / a.clients
        clients, live, peak, claimed = [], [], {}, set()
        next_start = start
        rss_warm = None
        samples = over = 0
        while time.monotonic() - start < a.seconds or live:
            now = time.monotonic()
            if (now - start < a.seconds and now >= next_start and
                    len(live) < a.concurrent):
                cl = Client(env, rng, len(clients))
                clients.append(cl)
                live.append(cl)
                next_start = now + every
            st = sample(env, live, peak, claimed)
            samples += 1
            for g in st["gpus"]:
                if g["resident_bytes"] > g["capacity_bytes"]:
                    over += 1
                    if over <= 3:  # what the books said, to find why
                        print("over capacity: %s" % json.dumps({
                            "gpu": g, "clients": [
                                dict(c, gpus=[e for e in c["gpus"]
                                              if e["uuid"] == g["uuid"]])
                                for c in st["clients"]]}))
            for cl in live:
                if cl.due(time.monotonic()):
                    cl.kill_now()
            live = [cl for cl in live if cl.p.poll() is None]
            if rss_warm is None and now - start > a.seconds / 10:
                rss_warm = rss_kib(sched.pid)
            if now - start > a.seconds + 300:
                check(False, "clients still running 300 s after the end")
                break
            time.sleep(0.1)
        _, status = os.waitpid(attacker, 0)
        check(status == 0, "the attacker ran to its end (status %d)" % status)

        done = verified = 0
        kills = {}
        for cl in clients:
            rc, res, err = finish(cl.p, timeout=60)
            if cl.killed_in:
                kills[cl.kill + "/" + cl.killed_in] = kills.get(
                    cl.kill + "/" + cl.killed_in, 0) + 1
                continue
            done += 1
            if rc == 0 and res and res.get("verified") and not res["error"]:
                verified += 1
            else:
                print("client %d (pid %d): rc %s, %s, %s" % (
                    cl.n, cl.p.pid, rc, res, err.strip()[-300:]))
        killed = sum(kills.values())
        print("clients: %d started, %d SIGKILLed (%s), %d finished" % (
            len(clients), killed, ", ".join(
                "%s %d" % kv for kv in sorted(kills.items())), done))
        mine = set(cl.p.pid for cl in clients)
        print("clients counted on a GPU before their first grant (first "
              "update's held_bytes): %d of %d" % (len(claimed & mine),
                                                   len(clients)))
        check(len(clients) >= min(a.clients, 20),
              "%d clients took part" % len(clients))
        check(verified == done, "%d of %d surviving clients verified their "
              "bytes" % (verified, done))
        check(over == 0, "resident bytes over capacity in %d of %d status "
              "samples (peaks %s GiB)" % (over, samples, ", ".join(
                  "%.2f" % (peak[u] / GIB) for u in sorted(peak))))

        def drained():
            st = env.status()
            return (not st["clients"] and st["host_swapped_bytes"] == 0 and
                    all(g["holder"] is None and not g["queue"] and
                        not g["running"] and g["resident_bytes"] == 0
                        for g in st["gpus"]))
        deadline = time.monotonic() + 20
        while not drained() and time.monotonic() < deadline:
            time.sleep(0.2)
        st = env.status()
        check(drained(), "no client, holder, queue or resident byte left "
              "(%d clients, %d swapped bytes)" % (len(st["clients"]),
                                                  st["host_swapped_bytes"]))
        caps = dict((g["uuid"], g["capacity_bytes"]) for g in st["gpus"])
        check(all(caps.get(u) == CAPACITY for u in REAL),
              "every GPU still has 16 GiB (%s GiB)" % ", ".join(
                  "%.2f" % (caps.get(u, 0) / GIB) for u in sorted(REAL)))
        check(set(caps) == REAL, "no GPU but the node's: %d listed" %
              len(caps))
        check(sched.poll() is None, "the scheduler is running")
        deadline = time.monotonic() + 10
        while fd_count(sched.pid) > fd0 and time.monotonic() < deadline:
            time.sleep(0.2)
        fd1, rss1 = fd_count(sched.pid), rss_kib(sched.pid)
        check(fd1 <= fd0, "scheduler fds %d, baseline %d" % (fd1, fd0))
        warm = rss_warm or rss0
        check(rss1 <= max(warm * 1.25, warm + 4096),
              "scheduler RSS %d KiB: %d at start, %d warmed up" % (
                  rss1, rss0, warm))
        log = env.scheduler_log()
        print("scheduler log: %d lines, %d bytes" % (log.count("\n"),
                                                     len(log)))
    finally:
        env.close()
    print("soak: %s" % ("FAILED: " + "; ".join(failures) if failures
                        else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
