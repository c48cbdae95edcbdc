"""Memory-aware scheduling on a real GPU (scripts/gpu-suite.sh --memory).

The scheduler is told the GPU has 16 GiB (--capacity), so three 8 GiB
workloads oversubscribe it as far as nvshare is concerned, while the real
80 GiB card never is (safety rule: the managed memory of all processes
stays far below the card's free memory). For each case it runs the three
workloads (a) one after another natively, (b) all at once natively and
(c) all at once under nvshare, and prints the makespans.

Cases: gpuload fitting (3 x 4 GiB), gpuload oversubscribed (3 x 8 GiB),
PyTorch fitting (3 x 4 GiB), PyTorch oversubscribed (3 x 8 GiB).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from suite import Suite  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--capacity", default="16Gi")
    ap.add_argument("--json", default=None)
    ap.add_argument("--only", default="",
                    help="run only the cases whose name contains this")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of (b) and (c), interleaved; medians shown")
    a = ap.parse_args()
    gpuload = os.path.join(os.path.abspath(a.build), "bin", "gpuload")
    tm = [sys.executable, os.path.join(HERE, "torch_mem.py")]
    cases = [
        ("gpuload 3 x 4 GiB (fits)", [gpuload, "--mem", "4Gi", "--kernel-ms",
                                      "20", "--seconds", "4", "--verify",
                                      "1Mi"]),
        ("gpuload 3 x 8 GiB (oversubscribed)", [gpuload, "--mem", "8Gi",
                                                "--kernel-ms", "20",
                                                "--seconds", "4", "--verify",
                                                "1Mi"]),
        ("torch 3 x 4 GiB (fits)", tm + ["--gib", "4", "--iters", "10000"]),
        ("torch 3 x 8 GiB (oversubscribed)", tm + ["--gib", "8", "--iters",
                                                   "10000"]),
    ]
    suite = Suite(a.build, a.capacity, "auto")
    rows, raw = [], []
    try:
        print(suite.smi)
        for name, cmd in cases:
            if a.only not in name:
                continue
            seq = 0.0
            for _ in range(3):
                _, t = suite.run(cmd, 1, False)
                seq += t
            togethers, shareds = [], []
            for _ in range(a.repeat):
                res_native, t = suite.run(cmd, 3, False)
                togethers.append(t)
                res_shared, t = suite.run(cmd, 3, True)
                shareds.append(t)
            together = sorted(togethers)[len(togethers) // 2]
            shared = sorted(shareds)[len(shareds) // 2]
            print("%s: all at once %s; nvshare %s" % (
                name, " ".join("%.2f" % t for t in togethers),
                " ".join("%.2f" % t for t in shareds)), flush=True)
            ok = all(r.get("checksum_ok", True) and r.get("error") is None
                     for r in res_native + res_shared)
            st = json.loads(suite.status())
            g = st["gpus"][0]
            rows.append((name, seq, together, shared, shared / seq,
                         shared / together, g["swaps"], ok))
            raw.append({"case": name, "sequential": seq, "together": together,
                        "nvshare": shared, "native": res_native,
                        "shared": res_shared, "status": st})
    finally:
        suite.close()
    print()
    print("%-36s %9s %9s %9s %8s %8s %6s %5s" % (
        "case", "seq s", "all s", "nvshare", "vs seq", "vs all", "swaps", "data"))
    for r in rows:
        print("%-36s %9.2f %9.2f %9.2f %7.3fx %7.3fx %6d %5s" % (
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], "ok" if r[7] else "BAD"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"smi": suite.smi, "rows": rows, "raw": raw}, f, indent=1)


if __name__ == "__main__":
    main()
