#!/usr/bin/env bash
# demo.sh - nvshare in about fifteen seconds: one scheduler and three
# workloads sharing one GPU, with the scheduler's live status every second
# and a summary of what each workload got.
#
# Uses the real GPU when `nvidia-smi -L` works (and NVSHARE_DEMO_FAKE is not
# 1), else the simulated driver from build/fakecuda with one 16 GiB GPU.
# Everything it creates lives in a temporary directory removed at exit.
# Environment: NVSHARE_BUILD (default: build), NVSHARE_DEMO_FAKE=1.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${NVSHARE_BUILD:-$root/build}" 2>/dev/null && pwd) || {
	echo "demo: build directory ${NVSHARE_BUILD:-$root/build} not found;" \
		"run 'make build' first" >&2
	exit 1
}
bin=$build/bin
labels=(A B C)

for f in "$bin/nvshare-scheduler" "$bin/nvsharectl" "$bin/nvshare-run" \
	"$bin/gpuload" "$build/lib/libnvshare.so"; do
	if [ ! -e "$f" ]; then
		echo "demo: $f is missing; run 'make build' first" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nvshare-demo.XXXXXX")
sched_pid=
declare -A work_pid=()

cleanup() {
	local pid
	for pid in "${work_pid[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	if [ -n "$sched_pid" ]; then
		kill "$sched_pid" 2>/dev/null || true
		wait "$sched_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "demo: interrupted" >&2; exit 130' INT TERM

now_ms() {
	date +%s%3N
}

if [ "${NVSHARE_DEMO_FAKE:-0}" != 1 ] && command -v nvidia-smi >/dev/null &&
	nvidia-smi -L >/dev/null 2>&1; then
	echo "==> using the real GPU:"
	nvidia-smi -L | head -n 1
else
	if [ ! -e "$build/fakecuda/libcuda.so.1" ]; then
		echo "demo: $build/fakecuda/libcuda.so.1 is missing;" \
			"run 'make build' first" >&2
		exit 1
	fi
	echo "==> no usable GPU (or NVSHARE_DEMO_FAKE=1): using the simulated" \
		"driver, one 16 GiB GPU"
	export LD_LIBRARY_PATH=$build/fakecuda
	export NVSHARE_FAKE_GPUS="GPU-00000000-0000-0000-0000-000000000001:16Gi"
	export NVSHARE_FAKE_STATE=$tmp/fakecuda.state
fi

# nvsharectl and nvshare-run both follow NVSHARE_SOCKET.
export NVSHARE_SOCKET=$tmp/scheduler.sock

echo "==> starting nvshare-scheduler (mode auto: run together what fits)"
"$bin/nvshare-scheduler" --socket "$NVSHARE_SOCKET" \
	>"$tmp/scheduler.log" 2>&1 &
sched_pid=$!
deadline=$(($(now_ms) + 5000))
until "$bin/nvsharectl" status >/dev/null 2>&1; do
	if ! kill -0 "$sched_pid" 2>/dev/null || [ "$(now_ms)" -gt "$deadline" ]; then
		echo "demo: the scheduler did not come up; its log:" >&2
		cat "$tmp/scheduler.log" >&2
		exit 1
	fi
	sleep 0.1
done

echo "==> starting 3 workloads (6 GiB each, 20 ms kernels, 3 s of work):" \
	"${labels[*]}"
start=$(now_ms)
for label in "${labels[@]}"; do
	"$bin/nvshare-run" -- "$bin/gpuload" --mem 6Gi --kernel-ms 20 \
		--seconds 3 >"$tmp/$label.out" 2>"$tmp/$label.err" &
	work_pid[$label]=$!
done

running() {
	local pid
	for pid in "${work_pid[@]}"; do
		kill -0 "$pid" 2>/dev/null && return 0
	done
	return 1
}

while running; do
	sleep 1
	running || break
	echo
	echo "--- nvsharectl status at +$((($(now_ms) - start) / 1000)) s ---"
	"$bin/nvsharectl" status || true
done
end=$(now_ms)

failed=0
for label in "${labels[@]}"; do
	if ! wait "${work_pid[$label]}"; then
		echo "demo: workload $label failed; its stderr:" >&2
		cat "$tmp/$label.err" >&2
		failed=1
	fi
done
work_pid=()

echo
echo "==> results"
python3 - "$tmp" $((end - start)) "${labels[@]}" <<'EOF'
import json, os, sys

tmp, elapsed, labels = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rows = []
for label in labels:
    result = {}
    with open(os.path.join(tmp, label + ".out")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    result = json.loads(line)
                except ValueError:
                    pass
    rows.append((label, result))

print("%-9s %8s %9s %9s  %s" % ("workload", "kernels", "gpu_ms", "wall_ms",
                                "error"))
for label, r in rows:
    def cell(key):
        v = r.get(key)
        return "-" if v is None else str(int(v)) if isinstance(v, (int, float)) else str(v)
    print("%-9s %8s %9s %9s  %s" % (label, cell("kernels"), cell("gpu_ms"),
                                    cell("wall_ms"), r.get("error") or ""))
starts = [r["start_ms"] for _, r in rows if isinstance(r.get("start_ms"), (int, float))]
ends = [r["end_ms"] for _, r in rows if isinstance(r.get("end_ms"), (int, float))]
if len(starts) == len(rows) and len(ends) == len(rows) and rows:
    print("makespan: %d ms (first start to last end)" % (max(ends) - min(starts)))
else:
    print("makespan: %d ms (as seen by the demo)" % elapsed)
EOF

echo
echo "==> stopping the scheduler"
kill "$sched_pid" 2>/dev/null || true
wait "$sched_pid" 2>/dev/null || true
sched_pid=
exit "$failed"
