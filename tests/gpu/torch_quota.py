"""Memory quota as PyTorch sees it (run under libnvshare with
NVSHARE_GPU_MEMORY_LIMIT set; the GPU suite runs it with and without
PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True).

Prints one JSON line: what torch.cuda.mem_get_info() and NVML (through
ctypes, as pynvml does) report, whether a 512 MiB tensor fits, and whether a
3 GiB tensor raises torch.cuda.OutOfMemoryError.
"""
import ctypes
import json
import os

import torch


class NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong),
                ("used", ctypes.c_ulonglong)]


def nvml_memory():
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
        if nvml.nvmlInit_v2() != 0:
            return None
        dev = ctypes.c_void_p()
        if nvml.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(dev)) != 0:
            return None
        m = NvmlMemory()
        if nvml.nvmlDeviceGetMemoryInfo(dev, ctypes.byref(m)) != 0:
            return None
        return {"total": m.total, "used": m.used, "free": m.free}
    except OSError:
        return None


def main():
    out = {"alloc_conf": os.environ.get("PYTORCH_CUDA_ALLOC_CONF", ""),
           "limit": os.environ.get("NVSHARE_GPU_MEMORY_LIMIT", "")}
    free, total = torch.cuda.mem_get_info()
    out["mem_get_info"] = {"free": free, "total": total}
    small = torch.ones(128 << 20, device="cuda")  # 512 MiB of fp32
    torch.cuda.synchronize()
    out["small_ok"] = bool(small.sum().item() == float(128 << 20))
    free, total = torch.cuda.mem_get_info()
    out["after_small"] = {"free": free, "total": total,
                          "reserved": torch.cuda.memory_reserved()}
    try:
        big = torch.empty(3 << 30, dtype=torch.uint8, device="cuda")
        big.fill_(1)
        torch.cuda.synchronize()
        out["big"] = "allocated"
    except torch.cuda.OutOfMemoryError as e:
        out["big"] = "OutOfMemoryError"
        out["big_message"] = str(e).splitlines()[0][:300]
    out["nvml"] = nvml_memory()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
