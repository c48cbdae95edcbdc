#!/usr/bin/env python3
"""How long the scheduler's NVML rescan keeps its event loop: the calls of
scheduler/gpu_inventory.c's inventory_scan (nvmlInit_v2, then per GPU
GetHandleByIndex_v2, GetUUID and GetMemoryInfo, then nvmlShutdown), timed
on this machine's driver through ctypes. The library stays loaded between
scans, as the scheduler keeps it.

    python3 tests/gpu/nvml_scan_time.py [--scans N]
"""
import argparse
import ctypes
import statistics
import time


class Memory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong),
                ("used", ctypes.c_ulonglong)]


def scan(nvml):
    if nvml.nvmlInit_v2() != 0:
        raise RuntimeError("nvmlInit_v2 failed")
    count = ctypes.c_uint(0)
    nvml.nvmlDeviceGetCount_v2(ctypes.byref(count))
    found = 0
    for i in range(count.value):
        dev = ctypes.c_void_p()
        uuid = ctypes.create_string_buffer(96)
        mem = Memory()
        if nvml.nvmlDeviceGetHandleByIndex_v2(i, ctypes.byref(dev)) == 0 \
                and nvml.nvmlDeviceGetUUID(dev, uuid, 96) == 0 \
                and nvml.nvmlDeviceGetMemoryInfo(dev, ctypes.byref(mem)) == 0:
            found += 1
    nvml.nvmlShutdown()
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scans", type=int, default=20)
    args = ap.parse_args()
    nvml = ctypes.CDLL("libnvidia-ml.so.1")
    times = []
    for _ in range(args.scans):
        t = time.monotonic()
        gpus = scan(nvml)
        times.append((time.monotonic() - t) * 1000.0)
    first = times[0]
    times.sort()
    print("nvml rescan: %d GPUs, %d scans: first %.2f ms, min %.2f ms, "
          "median %.2f ms, max %.2f ms" % (gpus, len(times), first, times[0],
                                           statistics.median(times),
                                           times[-1]))

if __name__ == "__main__":
    main()
