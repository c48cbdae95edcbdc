#!/usr/bin/env bash
# deps.sh MODE - makes sure the Debian packages a task needs are present.
#
# MODE is one of:
#   build   compile nvshare:            cmake gcc make libc6-dev
#                                       pkg-config libmicrohttpd-dev
#                                       g++ libgrpc++-dev libprotobuf-dev
#                                       protobuf-compiler
#                                       protobuf-compiler-grpc (the
#                                       device plugin's gRPC transport)
#                                       libjs-chart.js (the web page's
#                                       charts, served by the scheduler)
#                                       libcurl4-openssl-dev libjansson-dev
#                                       (the scheduler's Kubernetes
#                                       watcher: HTTPS and JSON)
#   test    build and run every test:   build + python3 valgrind
#                                       python3-grpcio python3-grpc-tools
#                                       python3-kubernetes (the device
#                                       plugin's kubelet double and the
#                                       manifest check, run by
#                                       /usr/bin/python3)
#                                       prometheus (and its promtool,
#                                       for the metrics test) tmux (the
#                                       nvsharectl top test) chromium
#                                       (headless, the web page test)
#                                       openssl (the API-server double's
#                                       certificates)
#   demo    build and run the demo:     build + python3
#   format  check or apply the style:   clang-format
#   fuzz    build and run the fuzzers:  cmake make clang libclang-rt-dev
#           (clang 14 on Debian 12; libFuzzer's runtime,
#           libclang_rt.fuzzer-x86_64.a, is in libclang-rt-14-dev, which
#           libclang-rt-dev pulls in)
#
# A package counts as present when dpkg lists it as installed or, for the
# tools, when its command is on PATH (a python3 from elsewhere will do).
# Missing packages are installed when running as root where apt-get exists
# (as on CI); otherwise the script says what to install and exits 1.
# It prints nothing when nothing is missing.
set -euo pipefail

usage() {
	echo "usage: scripts/deps.sh build|test|demo|format|fuzz" >&2
	exit 2
}

[ $# -eq 1 ] || usage
case "$1" in
build) wanted=(cmake gcc make libc6-dev pkg-config libmicrohttpd-dev
	g++ libgrpc++-dev libprotobuf-dev protobuf-compiler
	protobuf-compiler-grpc libjs-chart.js libcurl4-openssl-dev
	libjansson-dev) ;;
test) wanted=(cmake gcc make libc6-dev pkg-config libmicrohttpd-dev python3
	valgrind prometheus tmux g++ libgrpc++-dev libprotobuf-dev protobuf-compiler
	protobuf-compiler-grpc
	python3-grpcio python3-grpc-tools python3-kubernetes
	libjs-chart.js chromium libcurl4-openssl-dev libjansson-dev openssl) ;;
demo) wanted=(cmake gcc make libc6-dev pkg-config libmicrohttpd-dev python3
	g++ libgrpc++-dev libprotobuf-dev protobuf-compiler
	protobuf-compiler-grpc libcurl4-openssl-dev libjansson-dev) ;;
format) wanted=(clang-format) ;;
fuzz) wanted=(cmake make clang libclang-rt-dev pkg-config libmicrohttpd-dev
	libcurl4-openssl-dev libjansson-dev) ;;
*) usage ;;
esac

# present PKG: 0 if the package (or, for a tool, its command) is there.
present() {
	local pkg=$1 status
	case "$pkg" in
	libc6-dev)
		[ -f /usr/include/stdio.h ] && return 0 ;;
	*)
		command -v "$pkg" >/dev/null 2>&1 && return 0 ;;
	esac
	if command -v dpkg-query >/dev/null 2>&1; then
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		[ "$status" = "install ok installed" ] && return 0
	fi
	return 1
}

missing() {
	local pkg out=()
	for pkg in "${wanted[@]}"; do
		present "$pkg" || out+=("$pkg")
	done
	echo "${out[*]:-}"
}

need=$(missing)
[ -z "$need" ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "missing: $need; install them with: sudo apt-get install $need" >&2
	exit 1
fi

echo "deps.sh: installing $need"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086 # one word per package
apt-get install -y --no-install-recommends $need

need=$(missing)
if [ -n "$need" ]; then
	echo "deps.sh: still missing after apt-get install: $need" >&2
	exit 1
fi
