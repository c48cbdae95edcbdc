"""cudaDeviceReset under libnvshare while the compute meter runs: the
primary context (and the events the meter watches) go away mid-run. Prints
one JSON line; the process must survive and keep working after."""
import ctypes
import json
import time

import torch


def cudart():
    with open("/proc/self/maps") as f:
        for line in f:
            if "libcudart.so" in line:
                return ctypes.CDLL(line.split()[-1])
    return None


def main():
    x = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
    for _ in range(200):
        torch.matmul(x, x)
    torch.cuda.synchronize()
    rt = cudart()
    rc = rt.cudaDeviceReset() if rt else -1
    time.sleep(0.5)  # the link thread samples meanwhile
    ok = False
    try:
        y = torch.ones(1024, device="cuda")
        ok = float(y.sum()) == 1024.0
    except RuntimeError as e:  # PyTorch may not expect a reset
        ok = "after reset: %s" % str(e).splitlines()[0][:120]
    print(json.dumps({"reset_rc": rc, "after": ok}), flush=True)


if __name__ == "__main__":
    main()
