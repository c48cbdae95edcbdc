#!/usr/bin/env bash
# bench/run.sh BUILD_DIR - the measurements behind `make bench`.
#
# 1. Hot path: ns per cuLaunchKernel over the null driver, native and with
#    libnvshare preloaded (gate open: the lock-held path), median of 5.
# 2. The hot path makes no system call: strace of the timed loop (between
#    two getppid markers, main thread only).
# 3. The hot path allocates nothing: valgrind's heap totals for 1,000 and
#    100,000 launches are equal.
set -euo pipefail
build=${1:-build}
null="$build/bench/null"
prog="$build/bench/launch_overhead"
lib="$build/lib/libnvshare.so"
export NVSHARE_SOCKET=/nonexistent/nvshare-bench.sock NVSHARE_LOG=error

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
per_launch() { sed -E 's/.*"ns_per_launch":([0-9.]+).*/\1/'; }

native=$(for i in 1 2 3 4 5; do LD_LIBRARY_PATH=$null $prog 5000000 | per_launch; done | median)
hooked=$(for i in 1 2 3 4 5; do LD_LIBRARY_PATH=$null LD_PRELOAD=$lib $prog 5000000 | per_launch; done | median)
echo "== hot path: cuLaunchKernel through cuGetProcAddress, null driver"
printf '%-28s %10s\n' "native ns/launch" "$native" "nvshare ns/launch" "$hooked"
awk -v a="$native" -v b="$hooked" 'BEGIN {printf "%-28s %10.2f\n", "hook cost ns/launch", b - a}'

if command -v strace >/dev/null; then
	trace=$(mktemp)
	LD_LIBRARY_PATH=$null LD_PRELOAD=$lib strace -f -o "$trace" $prog 100000 >/dev/null
	main=$(head -1 "$trace" | awk '{print $1}')
	calls=$(awk -v m="$main" '$1 == m' "$trace" |
		awk '/getppid/ {n++; next} n == 1' | wc -l)
	rm -f "$trace"
	printf '%-28s %10s\n' "syscalls in 100k launches" "$calls"
	[ "$calls" -eq 0 ] || { echo "FAIL: the hot path made system calls"; exit 1; }
else
	echo "strace not installed: syscall check skipped"
fi

if command -v valgrind >/dev/null; then
	allocs() {
		LD_LIBRARY_PATH=$null LD_PRELOAD=$lib valgrind "$prog" "$1" 2>&1 >/dev/null |
			sed -nE 's/.*total heap usage: ([0-9,]+) allocs.*/\1/p' | tr -d ,
	}
	few=$(allocs 1000)
	many=$(allocs 100000)
	printf '%-28s %10s\n' "heap allocs, 1k launches" "$few" "heap allocs, 100k launches" "$many"
	[ "$few" = "$many" ] || { echo "FAIL: the hot path allocates"; exit 1; }
else
	echo "valgrind not installed: allocation check skipped"
fi

python3 "$(dirname "$0")/core_accuracy.py" "$build"
