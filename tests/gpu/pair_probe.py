"""Two saturating trainings that fit, natively and under nvshare, in
interleaved rounds (the fitting-pair check of docs/benchmarks.md).

Each round runs the pair natively, then under each library given with
--lib NAME=PATH (the scheduler told --capacity, plenty for both), and with
--noidle also under the first library with NVSHARE_IDLE_RELEASE_MS=3600000.
Per configuration it prints every round's per-process loop seconds, the
pair's makespan (first start to last end of the timed loops) and the
medians against native: the makespan is the figure to judge by, since a
process that runs alone part of the time finishes its own loop sooner. --debug-idle counts the idle releases of one
nvshare pair from the library's debug log.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from suite import gpu_uuid, last_json  # noqa: E402


def run_pair(cmd, env):
    ps = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
          for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in ps]
    for p, (o, e) in zip(ps, outs):
        if p.returncode:
            raise RuntimeError("failed: " + e[-2000:])
    js = [last_json(o) for o, _ in outs]
    makespan = max(j["end"] for j in js) - min(j["start"] for j in js)
    return [j["seconds"] for j in js] + [makespan], [e for _, e in outs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scheduler", required=True)
    ap.add_argument("--lib", action="append", default=[],
                    help="NAME=PATH of a libnvshare.so")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--capacity", default="64Gi")
    ap.add_argument("--noidle", action="store_true")
    ap.add_argument("--debug-idle", action="store_true")
    a = ap.parse_args()
    uuid, smi = gpu_uuid()
    print(smi, flush=True)
    tmp = tempfile.mkdtemp(prefix="nvshare-pair-")
    sock = os.path.join(tmp, "s.sock")
    sched = subprocess.Popen([a.scheduler, "--socket", sock, "--gpu-memory",
                              "%s=%s" % (uuid, a.capacity)],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    cmd = [sys.executable, os.path.join(HERE, "torch_train.py"), "--steps",
           str(a.steps)]
    base = dict(os.environ)
    base.pop("LD_PRELOAD", None)
    configs = [("native", base)]
    for spec in a.lib:
        name, path = spec.split("=", 1)
        e = dict(base, LD_PRELOAD=path, NVSHARE_SOCKET=sock)
        configs.append((name, e))
    if a.noidle and a.lib:
        e = dict(configs[1][1], NVSHARE_IDLE_RELEASE_MS="3600000")
        configs.append((configs[1][0] + " idle-off", e))
    res = {n: [] for n, _ in configs}
    try:
        for r in range(a.rounds):
            for name, env in configs:
                secs, _ = run_pair(cmd, env)
                res[name].append(secs)
                print("round %d %-22s loops %s, makespan %.3f" % (
                    r, name, " ".join("%.3f" % s for s in secs[:2]),
                    secs[2]), flush=True)
        if a.debug_idle:
            for name, env in configs[1:]:
                e = dict(env, NVSHARE_LOG="debug")
                _, errs = run_pair(cmd, e)
                idle = sum(x.count("reason=idle") for x in errs)
                grants = sum(x.count("event=lock_granted") for x in errs)
                print("%s: %d idle releases, %d grants in one pair" % (
                    name, idle, grants), flush=True)
    finally:
        sched.terminate()
        sched.wait()
    nat = statistics.median([s for p in res["native"] for s in p[:2]])
    nat_m = statistics.median([p[2] for p in res["native"]])
    print()
    for name, _ in configs:
        allp = [s for p in res[name] for s in p[:2]]
        ms = [p[2] for p in res[name]]
        print("%-22s loop median %.3f s (%.3fx native), makespan median "
              "%.3f s (%.3fx native); makespans: %s" % (
                  name, statistics.median(allp),
                  statistics.median(allp) / nat, statistics.median(ms),
                  statistics.median(ms) / nat_m,
                  " ".join("%.3f" % m for m in ms)))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
