"""A saturating PyTorch training loop, for the fitting-pair probe.

An MLP (4 x Linear(4096, 4096) with GELU, bf16 autocast) trained with AdamW
on random batches made on the GPU; every --log-every steps the loss is read
back (loss.item(), a synchronization, as training scripts log). One JSON
line at exit: {"steps", "seconds", "start", "end", "pid"}.
"""
import argparse
import json
import os
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--batch", type=int, default=8192)
    ap.add_argument("--log-every", type=int, default=20)
    a = ap.parse_args()
    layers = []
    for _ in range(4):
        layers += [torch.nn.Linear(4096, 4096), torch.nn.GELU()]
    model = torch.nn.Sequential(*layers).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        x = torch.randn(a.batch, 4096, device="cuda")
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(x).float().pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    for _ in range(10):
        step()
    torch.cuda.synchronize()
    start = time.time()
    t0 = time.perf_counter()
    for i in range(a.steps):
        loss = step()
        if (i + 1) % a.log_every == 0:
            loss.item()
    torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    print(json.dumps({"steps": a.steps, "seconds": secs, "start": start,
                      "end": time.time(), "pid": os.getpid()}), flush=True)


if __name__ == "__main__":
    main()
