"""How fast can a swap move device memory to host memory it keeps?

Times, for one buffer of --gib GiB: allocating pinned host memory
(cudaHostAlloc), copying device -> pinned and pinned -> device, copying
device -> pageable host memory the first time (pages not yet present) and
the second time, and pinning that populated pageable buffer afterwards
(cudaHostRegister). Prints one JSON line; the figures decide how the swap
path gets its host buffers (docs/library.md).
"""
import argparse
import ctypes
import json
import mmap
import time

import torch


def gbps(nbytes, s):
    return round(nbytes / s / 1e9, 2) if s > 0 else None


def timed(fn):
    torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=4.0)
    a = ap.parse_args()
    n = int(a.gib * (1 << 30))
    dev = torch.empty(n, dtype=torch.uint8, device="cuda")
    dev.fill_(7)
    out = {"gib": a.gib}
    t = time.perf_counter()
    pinned = torch.empty(n, dtype=torch.uint8, pin_memory=True)
    out["pinned_alloc_s"] = round(time.perf_counter() - t, 3)
    s = timed(lambda: pinned.copy_(dev))
    out["d2h_pinned_first_gbps"] = gbps(n, s)
    s = timed(lambda: pinned.copy_(dev))
    out["d2h_pinned_gbps"] = gbps(n, s)
    s = timed(lambda: dev.copy_(pinned))
    out["h2d_pinned_gbps"] = gbps(n, s)
    del pinned
    page = torch.empty(n, dtype=torch.uint8)  # pages not touched yet
    s = timed(lambda: page.copy_(dev))
    out["d2h_pageable_first_gbps"] = gbps(n, s)
    s = timed(lambda: page.copy_(dev))
    out["d2h_pageable_gbps"] = gbps(n, s)
    s = timed(lambda: dev.copy_(page))
    out["h2d_pageable_gbps"] = gbps(n, s)
    rt = torch.cuda.cudart()
    t = time.perf_counter()
    rc = rt.cudaHostRegister(page.data_ptr(), n, 0)
    out["register_populated_s"] = round(time.perf_counter() - t, 3)
    out["register_rc"] = int(rc) if not isinstance(rc, tuple) else int(rc[0])
    s = timed(lambda: page.copy_(dev))
    out["d2h_registered_gbps"] = gbps(n, s)
    rt.cudaHostUnregister(page.data_ptr())
    del page
    # Fresh anonymous memory, huge pages asked for, pinned by registering
    # it (the driver populates it).
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            out["thp"] = f.read().strip()
    except OSError:
        out["thp"] = None
    for huge in (True, False):
        m = mmap.mmap(-1, n)
        if huge:
            m.madvise(mmap.MADV_HUGEPAGE)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
        t = time.perf_counter()
        rc = rt.cudaHostRegister(addr, n, 1)  # portable
        key = "register_fresh_%s" % ("huge" if huge else "small")
        out[key + "_s"] = round(time.perf_counter() - t, 3)
        out[key + "_rc"] = int(rc) if not isinstance(rc, tuple) else int(rc[0])
        host = torch.frombuffer(m, dtype=torch.uint8)
        s = timed(lambda: host.copy_(dev))
        out[key + "_d2h_gbps"] = gbps(n, s)
        rt.cudaHostUnregister(addr)
        del host
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
