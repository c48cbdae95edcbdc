#!/usr/bin/env bash
# fuzz-jobs.sh BINARY CORPUS SECONDS JOBS [OUT] - a long run of one libFuzzer
# target in JOBS parallel jobs, for a machine with cores to spare that has
# neither clang nor the build's packages (the lent GPU machine): BINARY is a
# target built by scripts/fuzz.sh (carried with the shared libraries it
# needs, found through LD_LIBRARY_PATH=its folder), CORPUS a folder of
# inputs to start from (read only). The flags are scripts/fuzz.sh's.
#
# Prints each job's crash, leak or sanitizer lines (none on a clean run)
# and one line "total_executions=N jobs=J seconds=S" summed over the jobs'
# final stats. With OUT, the logs, any crashing inputs and the new corpus
# entries (new-corpus.tgz) are left there. Exit status: 0 clean, 1 a job
# found something, 2 bad usage.
set -uo pipefail
[ $# -ge 4 ] || {
	echo "usage: scripts/fuzz-jobs.sh BINARY CORPUS SECONDS JOBS [OUT]" >&2
	exit 2
}
bin=$(realpath "$1") corpus=$(realpath "$2") secs=$3 jobs=$4 out=${5:-}
work=$(mktemp -d /tmp/fuzz-jobs.XXXXXX)
mkdir -p "$work/new" "$work/crashes"
cd "$work" || exit 2
export LD_LIBRARY_PATH
LD_LIBRARY_PATH=$(dirname "$bin")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:quarantine_size_mb=16}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
unset NVSHARE_LOG NVSHARE_SOCKET
"$bin" -jobs="$jobs" -workers="$jobs" -max_total_time="$secs" \
	-timeout=25 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
	-close_fd_mask=2 -artifact_prefix="$work/crashes/" \
	"$work/new" "$corpus" >"$work/main.log" 2>&1
total=0 found=0
for f in fuzz-*.log; do
	n=$(grep -a "stat::number_of_executed_units" "$f" | awk '{print $2}')
	total=$((total + ${n:-0}))
	if grep -a -E "ERROR|deadly signal|LeakSanitizer|runtime error" "$f" |
		head -3 | grep .; then
		found=1
	fi
done
[ -n "$(ls "$work/crashes")" ] && found=1
echo "total_executions=$total jobs=$jobs seconds=$secs"
if [ -n "$out" ]; then
	mkdir -p "$out/logs"
	cp fuzz-*.log main.log "$out/logs/" 2>/dev/null
	cp -r crashes "$out/"
	tar czf "$out/new-corpus.tgz" -C "$work" new
fi
rm -rf "$work"
exit $found
