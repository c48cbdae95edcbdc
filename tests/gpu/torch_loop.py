"""A PyTorch loop for the GPU suite: one workload, timed, one JSON line out.

  add-small  64x64 fp32 add: launch-bound (the cost of each launch shows)
  add-large  14000x14000 fp32 add: bandwidth-bound
  matmul     8192x8192 bf16 matrix product: compute-bound

Warm-up iterations run first and are not timed; the timed loop ends with a
synchronize. Prints {"workload", "iters", "seconds", "us_per_iter",
"start", "end", "pid"} (start/end: wall clock, seconds since the epoch).
With --threads N, N Python threads each run --iters on their own stream
with their own tensors, as a framework's data-parallel helpers do; the
report sums their iterations.
"""
import argparse
import json
import os
import threading
import time

import torch

SHAPES = {"add-small": 64, "add-large": 14000, "matmul": 8192}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", choices=sorted(SHAPES), required=True)
    ap.add_argument("--iters", type=int, required=True)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    n = SHAPES[a.workload]
    dtype = torch.bfloat16 if a.workload == "matmul" else torch.float32
    streams = [torch.cuda.current_stream()] if a.threads == 1 else \
        [torch.cuda.Stream() for _ in range(a.threads)]
    steps = []
    for s in streams:
        with torch.cuda.stream(s):
            x = torch.randn(n, n, device="cuda", dtype=dtype)
            y = torch.randn(n, n, device="cuda", dtype=dtype)
            out = torch.empty_like(x)
        steps.append((lambda x=x, y=y, out=out: torch.matmul(x, y, out=out))
                     if a.workload == "matmul" else
                     (lambda x=x, y=y, out=out: torch.add(x, y, out=out)))
    torch.cuda.synchronize()

    def loop(i, iters, go):
        go.wait()
        with torch.cuda.stream(streams[i]):
            for _ in range(iters):
                steps[i]()
        streams[i].synchronize()

    for i in range(len(streams)):
        warm = threading.Event()
        warm.set()
        loop(i, a.warmup, warm)
    go = threading.Event()
    # One thread runs on the main thread, as the loop always did.
    ts = [threading.Thread(target=loop, args=(i, a.iters, go))
          for i in range(len(streams))] if a.threads > 1 else []
    for t in ts:
        t.start()
    start = time.time()
    t0 = time.perf_counter()
    go.set()
    if not ts:
        loop(0, a.iters, go)
    for t in ts:
        t.join()
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    iters = a.iters * len(streams)
    print(json.dumps({"workload": a.workload, "iters": iters,
                      "threads": a.threads, "seconds": secs,
                      "us_per_iter": secs / iters * 1e6,
                      "start": start, "end": time.time(), "pid": os.getpid()}),
          flush=True)

if __name__ == "__main__":
    main()
