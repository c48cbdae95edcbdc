#!/usr/bin/env bash
# scripts/gpu-suite.sh - nvshare on a real GPU: builds, then runs
# tests/gpu/suite.py (native vs nvshare, one and two processes, gpuload and
# PyTorch workloads) and prints the table that goes into docs/benchmarks.md.
# Extra arguments go to suite.py (--time-slice MS, --capacity SIZE,
# --repeat N, --json FILE). With --memory first, it runs the memory-aware
# suite instead (tests/gpu/memory_suite.py: fitting and oversubscribed
# workloads at a configured 16 GiB capacity); with --quota, the quota suite
# (tests/gpu/quota_suite.py: PyTorch under a memory limit, and the compute
# quota accuracy matrix with gpuload and PyTorch, and one process of 4
# threads on 4 streams at 30 %); with --growth, the growth
# suite (tests/gpu/growth_suite.py: PyTorch jobs that grow while they run).
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi -L >/dev/null || { echo "gpu-suite: no NVIDIA GPU here" >&2; exit 1; }
build=${NVSHARE_GPU_BUILD:-build-gpu}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DNVSHARE_HTTP=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target nvshare nvshare-scheduler nvsharectl gpuload >/dev/null
if [ "${1:-}" = "--memory" ]; then
	shift
	python3 tests/gpu/memory_suite.py --build "$build" "$@"
elif [ "${1:-}" = "--growth" ]; then
	shift
	python3 tests/gpu/growth_suite.py --build "$build" "$@"
elif [ "${1:-}" = "--quota" ]; then
	shift
	python3 tests/gpu/quota_suite.py --build "$build" "$@"
else
	python3 tests/gpu/suite.py --build "$build" "$@"
fi
