#!/usr/bin/env python3
"""bench/core_accuracy.py BUILD_DIR [SECONDS] - the compute-quota accuracy
table on the simulated GPU (see tests/e2e/core_matrix.py). Exit status 1 if
any cell is off by more than 2 points."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
from core_matrix import limited, run, table  # noqa: E402

TARGET = 2.0


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    rows = run(build, seconds)
    print("== compute quotas: achieved share of a GPU, simulated driver, "
          "%.0f s per cell" % seconds)
    print(table(rows))
    worst = max(abs(r[3]) for r in limited(rows))
    if worst > TARGET:
        print("FAIL: a cell is off by more than %.0f points" % TARGET)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
