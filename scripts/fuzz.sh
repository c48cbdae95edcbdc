#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...] - builds the libFuzzer targets of tests/fuzz
# with clang in build-fuzz/ (-fsanitize=fuzzer,address,undefined) and runs
# each for SECONDS (default 60) from its seed corpus in
# tests/fuzz/corpus/<target>/. Fails when a target crashes, leaks, trips a
# sanitizer or an assertion, or cannot be built.
#
# The corpus in the repository is only read: new inputs go to a scratch
# folder under build-fuzz/ (kept between runs, so later runs start further
# on). A crash leaves its input in build-fuzz/crashes/<target>/.
#
#   FUZZ_BUILD=dir      build directory (default build-fuzz)
#   FUZZ_ARGS="..."     more libFuzzer flags, e.g. -runs=100000000 (then
#                       SECONDS 0 means no time limit)
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
case "$secs" in
'' | *[!0-9]*)
	echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
	exit 2
	;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_proto fuzz_control fuzz_kube_decode)
build=${FUZZ_BUILD:-build-fuzz}

bash scripts/deps.sh build
bash scripts/deps.sh fuzz
echo "==> configuring $build/ (clang, libFuzzer + ASan + UBSan)"
CC=clang cmake -S . -B "$build" -DNVSHARE_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
echo "==> building the fuzz targets in $build/"
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" \
	--target "${targets[@]}"

# Leaks fail a run; a sanitizer report aborts it. A small quarantine keeps
# freed memory in use (fuzz_control allocates GPU contexts of 45 KB per
# input: fresh pages for each cost more than the rest of a run).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:quarantine_size_mb=16}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
unset NVSHARE_LOG NVSHARE_SOCKET

failed=()
for t in "${targets[@]}"; do
	work="$build/corpus/$t"
	crashes="$build/crashes/$t"
	mkdir -p "$work" "$crashes"
	# The long campaign's merged corpus (docs/security.md, fuzz_control and
	# 10^8) seeds an empty scratch folder, so that every run goes on from
	# where the campaign stood.
	campaign="tests/fuzz/campaign/$t.tgz"
	if [ -f "$campaign" ] && [ -z "$(ls -A "$work")" ]; then
		tar xzf "$campaign" -C "$work" --strip-components=1
	fi
	limit=()
	[ "$secs" -gt 0 ] && limit=(-max_total_time="$secs")
	echo "==> $t: ${secs}s from tests/fuzz/corpus/$t"
	# -close_fd_mask=2: the scheduler's own log lines go nowhere; the
	# fuzzer's and the sanitizers' reports still come out.
	set +e
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
	"$build/fuzz/$t" "${limit[@]}" -timeout=25 -rss_limit_mb=2048 \
		-max_len=4096 -print_final_stats=1 -close_fd_mask=2 \
		-artifact_prefix="$crashes/" ${FUZZ_ARGS:-} \
		"$work" "tests/fuzz/corpus/$t" >"$build/$t.log" 2>&1
	rc=$?
	set -e
	grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done [0-9]+ runs|stat::)' \
		"$build/$t.log" || true
	if [ "$rc" -ne 0 ]; then
		tail -n 60 "$build/$t.log"
		echo "fuzz.sh: $t FAILED (exit $rc; inputs in $crashes/, log" \
			"$build/$t.log)" >&2
		failed+=("$t")
	else
		echo "fuzz.sh: $t ok"
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz.sh: failed: ${failed[*]}" >&2
	exit 1
fi
