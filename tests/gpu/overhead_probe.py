"""Attributes nvshare's overhead on a real GPU: the launch-bound loop alone
and the bandwidth-bound loop with two processes, each natively, under
nvshare, and under nvshare with flow control off (NVSHARE_QUEUE_WINDOW_MS=0),
interleaved and repeated (--repeat) so that drift hits all three alike.
Prints the median of each.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from suite import Suite  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    loop = [sys.executable, os.path.join(HERE, "torch_loop.py")]
    small = loop + ["--workload", "add-small", "--iters", "50000"]
    large = loop + ["--workload", "add-large", "--iters", "3000"]
    suite = Suite(a.build, "16Gi", "auto")
    cells = {}
    try:
        for _ in range(a.repeat):
            for mode in ("native", "nvshare", "nvshare-nowindow"):
                shared = mode != "native"
                if mode == "nvshare-nowindow":
                    os.environ["NVSHARE_QUEUE_WINDOW_MS"] = "0"
                res, _ = suite.run(small, 1, shared)
                cells.setdefault(("small 1p loop s", mode), []).append(res[0]["seconds"])
                res, _ = suite.run(large, 2, shared)
                cells.setdefault(("large 2p max loop s", mode), []).append(
                    max(r["seconds"] for r in res))
                os.environ.pop("NVSHARE_QUEUE_WINDOW_MS", None)
    finally:
        suite.close()
    for (case, mode), v in sorted(cells.items()):
        print("%-22s %-18s median %.3f  all %s" % (
            case, mode, statistics.median(v), " ".join("%.3f" % x for x in v)))


if __name__ == "__main__":
    main()
