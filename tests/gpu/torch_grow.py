"""A PyTorch workload that grows after it starts, as training jobs do.

It takes the GPU with a small tensor (--start-gib) and a first matmul, then
every --grow-every iterations allocates one more --step-gib tensor until it
holds --gib in all (through PyTorch's caching allocator, so cuMemAlloc is
called while the process runs on the GPU). Each iteration adds 1 to a
64 MiB window of one tensor (round-robin over tensors and windows) and runs
a 4096^2 bf16 matmul. With --free-regrow, once grown it frees the grown
tensors, empties PyTorch's cache (torch.cuda.empty_cache) and grows again.
One JSON line at exit: {"gib", "iters", "seconds", "start", "end", "pid",
"checksum_ok", "regrows"}; checksum_ok says every tensor holds what the
adds put there (the data survived any swapping).
"""
import argparse
import json
import os
import time

import torch

WINDOW = (64 << 20) // 4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, required=True)
    ap.add_argument("--start-gib", type=float, default=0.5)
    ap.add_argument("--step-gib", type=float, default=1.0)
    ap.add_argument("--grow-every", type=int, default=400)
    ap.add_argument("--iters", type=int, required=True)
    ap.add_argument("--free-regrow", action="store_true")
    a = ap.parse_args()
    x = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    y = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    bufs = [torch.zeros(int(a.start_gib * (1 << 30)) // 4, device="cuda")]
    adds = [[0] * (bufs[0].numel() // WINDOW)]
    torch.matmul(x, y)
    torch.cuda.synchronize()
    start = time.time()
    t0 = time.perf_counter()
    held = a.start_gib
    regrows = 0
    ok = True
    for i in range(a.iters):
        if i and i % a.grow_every == 0:
            if held + a.step_gib <= a.gib + 1e-9:
                n = int(a.step_gib * (1 << 30)) // 4
                bufs.append(torch.zeros(n, device="cuda"))
                adds.append([0] * (n // WINDOW))
                held += a.step_gib
            elif a.free_regrow and len(bufs) > 1:
                for b, ad in zip(bufs[1:], adds[1:]):
                    ok &= all(float(b[k * WINDOW]) == v
                              for k, v in enumerate(ad))
                del bufs[1:], adds[1:]
                torch.cuda.empty_cache()
                held = a.start_gib
                regrows += 1
        t = i % len(bufs)
        w = (i // len(bufs)) % len(adds[t])
        bufs[t][w * WINDOW:(w + 1) * WINDOW].add_(1.0)
        adds[t][w] += 1
        torch.matmul(x, y)
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    for b, ad in zip(bufs, adds):
        ok &= all(float(b[k * WINDOW]) == v for k, v in enumerate(ad))
    print(json.dumps({"gib": a.gib, "iters": a.iters, "seconds": secs,
                      "start": start, "end": time.time(), "pid": os.getpid(),
                      "checksum_ok": ok, "regrows": regrows}), flush=True)


if __name__ == "__main__":
    main()
