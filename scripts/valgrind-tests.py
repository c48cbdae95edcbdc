#!/usr/bin/env python3
"""Runs each unit-test program of a build under valgrind (memcheck).

usage: scripts/valgrind-tests.py BUILD_DIR

The tests are the CTest tests whose program lives in BUILD_DIR/tests/ (the
C unit tests, whatever their label). Each one runs as CTest would run it,
with its ENVIRONMENT and WORKING_DIRECTORY properties, under
`valgrind --error-exitcode=1 --leak-check=full`, where definite leaks
count as errors (see LEAK_KINDS). A program's output is
shown only when it fails. Exit status: 0 if all are clean, 1 otherwise.
"""

import json
import os
import subprocess
import sys
import time

# Only definite leaks fail a test: the preloaded library keeps a scheduler
# link thread running until exit, and its thread stack and TLS show up as
# "possibly lost" by design.
LEAK_KINDS = ["--errors-for-leak-kinds=definite",
              "--show-leak-kinds=definite"]


def tests_of(build):
    out = subprocess.run(["ctest", "--test-dir", build,
                          "--show-only=json-v1"], check=True,
                         capture_output=True, text=True).stdout
    progs = os.path.realpath(os.path.join(build, "tests")) + os.sep
    for t in json.loads(out).get("tests", []):
        cmd = t.get("command") or []
        if not cmd or not os.path.realpath(cmd[0]).startswith(progs):
            continue
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        yield t["name"], cmd, props


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    build = sys.argv[1]
    passed = failed = 0
    for name, cmd, props in tests_of(build):
        env = dict(os.environ)
        for item in props.get("ENVIRONMENT", []):
            key, _, value = item.partition("=")
            env[key] = value
        start = time.monotonic()
        r = subprocess.run(["valgrind", "-q", "--error-exitcode=1",
                            "--leak-check=full"] + LEAK_KINDS + cmd, env=env,
                           cwd=props.get("WORKING_DIRECTORY", build),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        secs = time.monotonic() - start
        if r.returncode == 0:
            passed += 1
            print("ok   - %s under valgrind (%.1f s)" % (name, secs))
        else:
            failed += 1
            print(r.stdout)
            print("FAIL - %s under valgrind (exit %d)" % (name, r.returncode))
    print("valgrind: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
