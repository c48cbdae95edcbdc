"""End-to-end test of the operator tools: nvsharectl and nvshare-run.

nvsharectl: usage errors exit 2, an unreachable scheduler exits 1 with a
clear message, and against a running scheduler `status --json` follows the
documented schema while `set --time-slice` (a number or auto), `set --mode`,
`set --max-run`, `off` and `on` change what status reports (an invalid
value is refused and changes nothing).

nvshare-run: pointed at a socket where nothing answers, it starts a
scheduler there and runs the command with LD_PRELOAD and NVSHARE_SOCKET
set; a second run reuses that scheduler; runs started together share one.
"""

import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

STATUS_KEYS = {"managed": bool, "time_slice_ms": int, "release_grace_ms": int,
               "forced_releases": int, "gpus": list, "clients": list,
               "mode": str, "max_run_ms": int}


def answers(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def scheduler_pids(sock):
    """Pids of nvshare-scheduler processes serving sock (from /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        # The program itself, or a script run by an interpreter.
        names = [os.path.basename(a) for a in args[:2]]
        if b"nvshare-scheduler" in names and os.fsencode(sock) in args:
            pids.append(int(entry))
    return pids


def kill_schedulers(sock):
    for pid in scheduler_pids(sock):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    harness.wait_for(lambda: not scheduler_pids(sock), 5.0,
                     "schedulers on %s to exit" % sock)


def child_env(stdout):
    out = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def test_ctl(env, checks):
    ctl = env.path("bin", "nvsharectl")

    def run_ctl(*args, **kw):
        return subprocess.run([ctl] + list(args), capture_output=True,
                              text=True, timeout=30,
                              env=env.environ(preload=False), **kw)

    # Usage errors: exit 2 and say something.
    for args in ([], ["bogus"], ["--frob", "status"], ["status", "--bogus"],
                 ["status", "--watch", "0"], ["set"],
                 ["set", "--time-slice", "abc"], ["set", "--time-slice"],
                 ["set", "--time-slice", "0"], ["set", "--mode", "fast"],
                 ["set", "--mode"], ["set", "--max-run", "0"],
                 ["set", "--max-run", "3600001"],
                 ["set", "--mode", "auto", "--mode", "serial"],
                 ["set", "--mode", "auto", "extra"],
                 ["on", "extra"]):
        r = run_ctl("--socket", env.socket, *args) if args else run_ctl()
        checks.check(r.returncode == 2 and r.stderr.strip(),
                     "nvsharectl %s: usage error, exit 2 (got %d)" %
                     (" ".join(args) or "(no command)", r.returncode))
    for cmd in ("status", "set", "on", "off", "help"):
        r = run_ctl(cmd, "--help")
        checks.check(r.returncode == 0 and "usage:" in r.stdout,
                     "nvsharectl %s --help prints usage, exit 0" % cmd)

    # Nothing listens yet.
    r = env.ctl("status", check=False)
    checks.check(r.returncode == 1, "unreachable scheduler: exit 1 (got %d)"
                 % r.returncode)
    checks.check("nvsharectl: cannot reach the scheduler at %s:" % env.socket
                 in r.stderr, "unreachable scheduler: message names the "
                 "socket (%r)" % r.stderr.strip())

    env.start_scheduler()
    r = env.ctl("status", check=False)
    checks.check(r.returncode == 0 and r.stdout.strip(),
                 "status (text) succeeds and prints something")
    st = env.status()
    checks.check(all(isinstance(st.get(k), t) for k, t in
                     STATUS_KEYS.items()),
                 "status --json has the documented keys and types: %s" %
                 sorted(st))

    r = env.ctl("set", "--time-slice", "300", check=False)
    checks.check(r.returncode == 0, "set --time-slice 300: exit 0")
    checks.check(env.status()["time_slice_ms"] == 300,
                 "status shows time_slice_ms 300")
    r = env.ctl("set", "--time-slice", "0", check=False)
    checks.check(r.returncode in (1, 2) and r.stderr.strip(),
                 "set --time-slice 0 refused with a message (exit %d)" %
                 r.returncode)
    checks.check(env.status()["time_slice_ms"] == 300,
                 "time_slice_ms still 300 after the refused value")
    r = env.ctl("set", "--mode", "serial", "--max-run=900", "--time-slice",
                "auto", check=False)
    st = env.status()
    checks.check(r.returncode == 0 and st["mode"] == "serial" and
                 st["max_run_ms"] == 900 and
                 st["time_slice_setting"] == "auto",
                 "set --mode serial --max-run=900 --time-slice auto: %s %s "
                 "%s" % (st["mode"], st["max_run_ms"],
                         st["time_slice_setting"]))
    r = env.ctl("set", "--mode", "concurrent", "--max-run", "0", check=False)
    checks.check(r.returncode == 2 and env.status()["mode"] == "serial",
                 "a bad value refuses the whole set: nothing sent")

    r = env.ctl("off", check=False)
    checks.check(r.returncode == 0, "off: exit 0")
    checks.check(env.status()["managed"] is False, "status shows managed "
                 "false after off")
    r = env.ctl("on", check=False)
    checks.check(r.returncode == 0, "on: exit 0")
    checks.check(env.status()["managed"] is True, "status shows managed "
                 "true after on")

    # NVSHARE_SOCKET is honoured when --socket is not given.
    r = run_ctl("status", "--json")
    checks.check(r.returncode == 0 and '"time_slice_ms"' in r.stdout,
                 "nvsharectl uses NVSHARE_SOCKET without --socket")


def test_run(env, checks):
    run = env.path("bin", "nvshare-run")
    lib = os.path.realpath(env.path("lib", "libnvshare.so"))
    rundir = os.path.join(env.tmp, "run")
    os.mkdir(rundir)
    sock = os.path.join(rundir, "scheduler.sock")

    def nvshare_run(*args, preload=None, socket_path=sock):
        e = env.environ(preload=False,
                        extra={"NVSHARE_SOCKET": socket_path})
        if preload is not None:
            e["LD_PRELOAD"] = preload
        return subprocess.run([run] + list(args), capture_output=True,
                              text=True, timeout=30, env=e)

    r = nvshare_run()
    checks.check(r.returncode == 2, "nvshare-run without a command: exit 2")
    r = nvshare_run("--bogus", "env")
    checks.check(r.returncode == 2, "nvshare-run with an unknown option: "
                 "exit 2")

    try:
        checks.check(not answers(sock), "no scheduler at the temp socket yet")
        r = nvshare_run("--", "env")
        checks.check(r.returncode == 0, "nvshare-run -- env: exit 0 (%s)" %
                     r.stderr.strip())
        checks.check("nvshare-run: started" in r.stderr, "it says it started a "
                     "scheduler")
        checks.check(answers(sock), "the socket answers afterwards")
        checks.check(len(scheduler_pids(sock)) == 1,
                     "exactly one scheduler serves the socket")
        child = child_env(r.stdout)
        checks.check(lib in child.get("LD_PRELOAD", "").split(":"),
                     "child's LD_PRELOAD holds %s (%r)" %
                     (lib, child.get("LD_PRELOAD")))
        checks.check(child.get("NVSHARE_SOCKET") == sock,
                     "child's NVSHARE_SOCKET is the socket used")

        # A second run reuses it; an existing LD_PRELOAD is kept, after
        # the library, and the library is not listed twice.
        other = "/nonexistent/libother.so"
        r = nvshare_run("--", "env", preload="%s:%s" % (lib, other))
        child = child_env(r.stdout)
        checks.check(r.returncode == 0 and "nvshare-run: started" not in r.stderr,
                     "a second nvshare-run reuses the scheduler")
        checks.check(child.get("LD_PRELOAD") == "%s:%s" % (lib, other),
                     "LD_PRELOAD: library first, no duplicate, others kept "
                     "(%r)" % child.get("LD_PRELOAD"))
        checks.check(len(scheduler_pids(sock)) == 1,
                     "still exactly one scheduler")

        r = nvshare_run("--", os.path.join(env.tmp, "no-such-program"))
        checks.check(r.returncode == 127 and "cannot run" in r.stderr,
                     "a command that cannot run: exit 127 with a message")
        r = nvshare_run("--", "sh", "-c", "exit 7")
        checks.check(r.returncode == 7, "the command's exit status is "
                     "nvshare-run's")
    finally:
        kill_schedulers(sock)

    # Three started together share one scheduler.
    sock2 = os.path.join(rundir, "race.sock")
    try:
        e = env.environ(preload=False, extra={"NVSHARE_SOCKET": sock2})
        procs = [subprocess.Popen([run, "--", "true"], env=e,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
        results = [p.communicate(timeout=30) + (p.returncode,)
                   for p in procs]
        checks.check(all(rc == 0 for _, _, rc in results),
                     "concurrent nvshare-run: all exit 0 %s" %
                     [err.strip() for _, err, rc in results if rc])
        time.sleep(0.3)  # a losing scheduler, if any, has time to exit
        checks.check(len(scheduler_pids(sock2)) == 1,
                     "concurrent nvshare-run: one scheduler serves the "
                     "socket (%d)" % len(scheduler_pids(sock2)))
    finally:
        kill_schedulers(sock2)


def main(env, checks):
    test_ctl(env, checks)
    test_run(env, checks)


if __name__ == "__main__":
    harness.run(main, "test_ctl")
