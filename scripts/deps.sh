#!/usr/bin/env bash
# deps.sh MODE - makes sure the Debian packages a task needs are present.
#
# MODE is one of:
#   build   compile nvshare:            cmake gcc make libc6-dev
#   test    build and run every test:   build + python3 valgrind
#   demo    build and run the demo:     build + python3
#   format  check or apply the style:   clang-format
#
# A package counts as present when dpkg lists it as installed or, for the
# tools, when its command is on PATH (a python3 from elsewhere will do).
# Missing packages are installed when running as root where apt-get exists
# (as on CI); otherwise the script says what to install and exits 1.
# It prints nothing when nothing is missing.
set -euo pipefail

usage() {
	echo "usage: scripts/deps.sh build|test|demo|format" >&2
	exit 2
}

[ $# -eq 1 ] || usage
case "$1" in
build) wanted=(cmake gcc make libc6-dev) ;;
test) wanted=(cmake gcc make libc6-dev python3 valgrind) ;;
demo) wanted=(cmake gcc make libc6-dev python3) ;;
format) wanted=(clang-format) ;;
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
