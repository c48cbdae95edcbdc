"""A PyTorch loop for the GPU suite: one workload, timed, one JSON line out.

  add-small  64x64 fp32 add: launch-bound (the cost of each launch shows)
  add-large  14000x14000 fp32 add: bandwidth-bound
  matmul     8192x8192 bf16 matrix product: compute-bound

Warm-up iterations run first and are not timed; the timed loop ends with a
synchronize. Prints {"workload", "iters", "seconds", "us_per_iter",
"start", "end", "pid"} (start/end: wall clock, seconds since the epoch).
"""
import argparse
import json
import os
import time

import torch

SHAPES = {"add-small": 64, "add-large": 14000, "matmul": 8192}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", choices=sorted(SHAPES), required=True)
    ap.add_argument("--iters", type=int, required=True)
    ap.add_argument("--warmup", type=int, default=20)
    a = ap.parse_args()
    n = SHAPES[a.workload]
    dtype = torch.bfloat16 if a.workload == "matmul" else torch.float32
    x = torch.randn(n, n, device="cuda", dtype=dtype)
    y = torch.randn(n, n, device="cuda", dtype=dtype)
    out = torch.empty_like(x)
    step = (lambda: torch.matmul(x, y, out=out)) if a.workload == "matmul" \
        else (lambda: torch.add(x, y, out=out))
    for _ in range(a.warmup):
        step()
    torch.cuda.synchronize()
    start = time.time()
    t0 = time.perf_counter()
    for _ in range(a.iters):
        step()
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    print(json.dumps({"workload": a.workload, "iters": a.iters,
                      "seconds": secs, "us_per_iter": secs / a.iters * 1e6,
                      "start": start, "end": time.time(), "pid": os.getpid()}),
          flush=True)


if __name__ == "__main__":
    main()
