#!/usr/bin/env python3
"""Placement by live load under churn: 4 simulated GPUs, 60 pods.

The kubelet double asks the plugin for its preference (out of every free
slot) and allocates what it prefers; each pod's process is a real
gpuload under libnvshare, started with the environment Allocate gave it
(its allocation id among it), and a client of the real scheduler. Pods
end (SIGKILL) in random order. The plugin learns of both from the
scheduler's status report, and links each client to its allocation
through the id (read from the process's environment).

  - a burst of 8 allocations before any process starts is spread 2 per
    GPU (the plugin's pending allocations);
  - once the processes run, the pending allocations are linked to their
    clients (the plugin's load line shows no pending one left);
  - then 52 more allocations, interleaved with random ends: after every
    allocation the scheduler's client counts differ by at most 1 between
    the most and least loaded GPU. One end at most comes between two
    allocations: any online placement can be driven further apart by
    several ends in a row, which no placement decision can undo;
  - with a memory limit on every pod (1 GiB each, --virtual-memory 6Gi),
    no GPU's committed memory exceeds its virtual capacity.
"""
import os
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dp_kubelet  # noqa: E402

dp_kubelet.use_debian_python()

from harness import GIB, run, wait_for  # noqa: E402

UUIDS = ["GPU-00000000-0000-0000-0000-00000000000%d" % i for i in (1, 2, 3, 4)]
GPUS = ",".join("%s:16Gi" % u for u in UUIDS)
SLOTS = 16
TOTAL = 60
VCAP = 6 * GIB


class Pod:
    def __init__(self, device, resp):
        self.device = device
        self.gpu = dp_kubelet.gpu_of(device)
        self.resp = resp
        self.proc = None


def main(env, c):
    seed = int(os.environ.get("NVSHARE_TEST_SEED", time.time()))
    rng = random.Random(seed)
    print("seed %d (NVSHARE_TEST_SEED replays it)" % seed)
    pb, pbg = dp_kubelet.load_stubs(env.tmp)
    kdir = os.path.join(env.tmp, "device-plugins")
    env.start_scheduler()
    k = dp_kubelet.Kubelet(kdir, pb, pbg)
    dp_kubelet.start_plugin(env, kdir, "--slots-per-gpu", str(SLOTS),
                            "--virtual-memory", "6Gi")
    wait_for(lambda: k.registrations and k.last_list(), 10, "registration")
    free = [i for (i, _, _) in k.last_list()[1]]
    running = []
    diffs = []
    over = []
    stats = {"allocs": 0, "ends": 0}

    def allocate():
        pick = k.prefer(free, 1)
        assert len(pick) == 1 and pick[0] in free, pick
        free.remove(pick[0])
        pod = Pod(pick[0], k.allocate(pick))
        running.append(pod)
        stats["allocs"] += 1
        return pod

    def start(pod):
        e, dev = dp_kubelet.pod_environ(
            env, pod.resp, extra={"NVSHARE_GPU_MEMORY_LIMIT": "1Gi"})
        pod.proc = subprocess.Popen(
            [env.path("bin", "gpuload"), "--device", str(dev[0]), "--mem",
             "1Gi", "--seconds", "600", "--kernel-ms", "1", "--duty", "1"],
            env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        env.procs.append(pod.proc)

    def clients_by_gpu():
        st = env.status()
        count = {u: 0 for u in UUIDS}
        mem = {u: 0 for u in UUIDS}
        pids = {}
        for cl in st["clients"]:
            for g in cl["gpus"]:
                count[g["uuid"]] += 1
                mem[g["uuid"]] += g["memory_bytes"]
                pids[cl["pid"]] = g["uuid"]
        return count, mem, pids

    def wait_started(pods):
        want = {p.proc.pid: p.gpu for p in pods}

        def ok():
            _, mem, pids = clients_by_gpu()
            return all(pids.get(pid) == g for pid, g in want.items())
        wait_for(ok, 30, "pods' processes registered on their GPUs")

    def measure():
        count, mem, _ = clients_by_gpu()
        diffs.append(max(count.values()) - min(count.values()))
        over.extend(u for u in UUIDS if mem[u] > VCAP)
        return count

    def end():
        pod = running.pop(rng.randrange(len(running)))
        pod.proc.send_signal(signal.SIGKILL)
        pod.proc.wait()
        wait_for(lambda: pod.proc.pid not in clients_by_gpu()[2], 10,
                 "the scheduler to drop an ended pod")
        free.append(pod.device)
        stats["ends"] += 1

    # --- a burst before any process starts: pending allocations ----------
    burst = [allocate() for _ in range(8)]
    per = {u: sum(1 for p in burst if p.gpu == u) for u in UUIDS}
    c.check(sorted(per.values()) == [2, 2, 2, 2],
            "8 allocations before any process starts: 2 per GPU (%s)"
            % sorted(per.values()))
    for p in burst:
        start(p)
    wait_started(burst)
    count = measure()
    k.prefer(free, 1)  # a preference logs the load it saw
    loads = re.findall(r'event=prefer .*load="([^"]*)"',
                       dp_kubelet.plugin_log(env))
    c.check(loads and loads[-1] == "2+0,2+0,2+0,2+0",
            "pending allocations linked to their clients: load %s "
            "(clients+pending per GPU)" % (loads[-1] if loads else None))

    # --- churn ---------------------------------------------------------------
    while stats["allocs"] < TOTAL:
        if len(running) >= 20 or (len(running) > 4 and rng.random() < 0.6):
            end()
        pod = allocate()
        start(pod)
        wait_started([pod])
        count = measure()
    print("allocations %d, ends %d, running at the end %d, last counts %s"
          % (stats["allocs"], stats["ends"], len(running),
             sorted(count.values())))
    print("max-min clients after each allocation: %s" % diffs)
    c.check(stats["allocs"] == TOTAL and stats["ends"] >= 20,
            "%d pods allocated, %d ended in random order"
            % (stats["allocs"], stats["ends"]))
    c.check(max(diffs) <= 1,
            "after every one of %d measurements the most and least loaded "
            "GPU differ by at most 1 client (max %d)"
            % (len(diffs), max(diffs)))
    c.check(not over, "no GPU's committed memory above its 6 GiB virtual "
            "capacity (%d times over)" % len(over))
    for p in running:
        p.proc.send_signal(signal.SIGKILL)
        p.proc.wait()
    k.stop()
    if c.failed:
        print("--- plugin log ---\n" + dp_kubelet.plugin_log(env)[-4000:])


if __name__ == "__main__":
    run(main, "device_plugin_balance", gpus=GPUS)
