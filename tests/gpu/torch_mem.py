"""A PyTorch workload with a memory footprint, for the memory-aware suite.

Holds --gib GiB of GPU memory in one tensor and, each iteration, adds 1 to
a 256 MiB window of it (the window walks the whole buffer, so every byte is
touched again and again) and runs a 4096^2 bf16 matmul for compute. One
JSON line at exit: {"gib", "iters", "seconds", "start", "end", "pid",
"checksum_ok"}; checksum_ok says the buffer holds what the adds put there
(the data survived any swapping).
"""
import argparse
import json
import os
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, required=True)
    ap.add_argument("--iters", type=int, required=True)
    a = ap.parse_args()
    n = int(a.gib * (1 << 30)) // 4
    window = (256 << 20) // 4
    buf = torch.zeros(n, device="cuda", dtype=torch.float32)
    x = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    y = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    torch.cuda.synchronize()
    start = time.time()
    t0 = time.perf_counter()
    windows = max(1, n // window)
    for i in range(a.iters):
        w = (i % windows) * window
        buf[w:w + window].add_(1.0)
        torch.matmul(x, y)
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    # Each window was incremented once per pass over the buffer.
    passes = [a.iters // windows + (1 if k < a.iters % windows else 0)
              for k in range(windows)]
    ok = all(float(buf[k * window]) == passes[k] for k in range(windows))
    print(json.dumps({"gib": a.gib, "iters": a.iters, "seconds": secs,
                      "start": start, "end": time.time(), "pid": os.getpid(),
                      "checksum_ok": ok}), flush=True)


if __name__ == "__main__":
    main()
