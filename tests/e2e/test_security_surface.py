"""Security tests of the operator's surface (issue 11: findings 7, 10, 12).

Status blinding (7): 500 clients of a tenant with the longest identity
strings HELLO allows, full of bytes JSON must escape, each registered on one
of four simulated GPUs, make the whole report larger than a CTL_REPLY can
carry (1 MiB): the unpaged request of an older nvsharectl is refused with
EFBIG, while `nvsharectl status --json` (pages) still lists every client,
the victim's gpuload among them, and the text table has its row too.

nvshare-run (10, 12): another user
  - holding the start lock "<socket>.lock" of a shared directory does not
    hang the victim's nvshare-run (it starts without the lock at once: the
    file is not the victim's), nor does a stuck process of the victim's own
    (the lock is waited for 5 s at most);
  - planting scheduler.log as a symlink to a file of the victim, or as a
    file of its own, gets neither written: the victim's scheduler logs to
    /dev/null and says so;
  - pre-creating the victim's per-user directory (nvshare-<uid> under
    XDG_RUNTIME_DIR, a symlink under TMPDIR) does not block it: it falls
    back to a private nvshare-<uid>.XXXXXX directory, passing over one the
    tenant made under such a name, and a second run finds that directory
    again and shares its scheduler.
"""
import errno
import fcntl
import json
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tenant  # noqa: E402
import wire  # noqa: E402
from harness import DEFAULT_UUID, SECOND_UUID, run  # noqa: E402

FOURTH_UUID = "GPU-00000000-0000-0000-0000-000000000004"
UUIDS = [DEFAULT_UUID, SECOND_UUID, wire.THIRD_UUID, FOURTH_UUID]
GPUS = ",".join("%s:16Gi" % u for u in UUIDS)
NCLIENTS = 500
CTL_TEXT_MAX = 1 << 20
# The longest strings HELLO carries (its fields less their NUL), made of
# bytes that JSON escapes to six characters and a quote it escapes to two.
LONG_COMM = b"\x01" * 31
LONG_NS = b"\x02" * 63
LONG_POD = (b"\x03\"" * 128)[:255]
LONG_CONTAINER = b"\x7f" * 63


# --- status at 500 clients --------------------------------------------------
def open_clients(sock, n, first):
    """n raw clients with long identities, each on one GPU; returns them."""
    peers = []
    for i in range(n):
        try:
            p = wire.Peer(sock, "flood%d" % (first + i))
            p.send(wire.HELLO, wire.hello_payload(
                LONG_COMM, ns=LONG_NS, pod=LONG_POD,
                container=LONG_CONTAINER))
            p.expect(wire.WELCOME, 5.0)
            p.register(UUIDS[(first + i) % len(UUIDS)])
        except (OSError, AssertionError, wire.Closed):
            break
        peers.append(p)
    return peers


def tenant_flood(sock, n, ready_w, stop_r):
    """In the tenant's child: opens the clients, says how many, holds them
    until told to stop."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE,
                       (min(hard, max(soft, n + 64)), hard))
    peers = open_clients(sock, n, 0)
    os.write(ready_w, b"%d\n" % len(peers))
    os.read(stop_r, 1)
    for p in peers:
        p.close()


def test_status(env, c):
    env.start_scheduler()
    tenant.open_to_tenants(env)
    ready_r, ready_w = os.pipe()
    stop_r, stop_w = os.pipe()
    pid = tenant.fork_as_tenant(tenant_flood, env.socket, NCLIENTS, ready_w,
                                stop_r)
    os.close(ready_w)
    os.close(stop_r)
    own = []
    victim = None
    try:
        with os.fdopen(ready_r, "rb") as f:
            line = f.readline()
        ntenant = int(line or b"0")
        # The tenant's share of the connection table may be smaller than
        # 500 on a machine with few descriptors: the rest are root's.
        own = open_clients(env.socket, NCLIENTS - ntenant, ntenant)
        c.check(ntenant + len(own) == NCLIENTS,
                "%d clients with the longest identities connected and "
                "registered (%d of the tenant, %d of root)" %
                (ntenant + len(own), ntenant, len(own)))
        victim = env.gpuload("--kernel-ms", 5, "--seconds", 60)
        env.wait_holding(victim.pid, timeout=20)

        # The older nvsharectl's request (8 bytes, whole report).
        code, text = wire.ctl(env, wire.CTL_STATUS,
                              struct.pack("=II", wire.FORMAT_JSON, 0))
        c.check(code == errno.EFBIG and "pages" in text,
                "the whole report does not fit a reply: EFBIG for an "
                "unpaged request (%d: %s)" % (code, text[:120]))

        t0 = time.monotonic()
        r = env.ctl("status", "--json", check=False)
        took = time.monotonic() - t0
        c.check(r.returncode == 0, "nvsharectl status --json: exit 0 in "
                "%.2f s (%s)" % (took, r.stderr.strip()[:200]))
        st = json.loads(r.stdout) if r.returncode == 0 else {"clients": []}
        c.check(len(r.stdout) > CTL_TEXT_MAX,
                "the report is larger than one reply: %d bytes" %
                len(r.stdout))
        ids = [cl["id"] for cl in st["clients"]]
        c.check(len(ids) == NCLIENTS + 1 and len(set(ids)) == len(ids) and
                ids == sorted(ids),
                "every client listed once, in id order (%d)" % len(ids))
        mine = [cl for cl in st["clients"] if cl["pid"] == victim.pid]
        c.check(len(mine) == 1 and mine[0]["gpus"] and
                mine[0]["gpus"][0]["state"] == "holding",
                "the victim's gpuload is listed, holding its GPU")
        flood = [cl for cl in st["clients"] if cl["pid"] != victim.pid]
        c.check(all(cl["pod_name"] == LONG_POD.decode() and
                    cl["comm"] == LONG_COMM.decode() for cl in flood),
                "identities shown whole, escaped (pod name of 255 bytes)")
        c.check(len(st["gpus"]) == 4 and "mode" in st,
                "the settings and the four GPUs are there once")

        r = env.ctl("status", check=False)
        rows = [ln for ln in r.stdout.splitlines()
                if ln.split()[:1] and ln.split()[0].isdigit()]
        vrows = [ln for ln in rows if ln.split()[1] == str(victim.pid)]
        c.check(r.returncode == 0 and len(rows) == NCLIENTS + 1 and
                len(vrows) == 1 and "holding" in vrows[0],
                "text status: a row for each client (%d), the victim's "
                "holding" % len(rows))
        c.check(("clients: %d" % (NCLIENTS + 1)) in r.stdout.splitlines()[0],
                "text status: the heading counts every client")
    finally:
        os.write(stop_w, b"x")
        os.waitpid(pid, 0)
        for p in own:
            p.close()
        if victim and victim.poll() is None:
            victim.kill()
            victim.wait()


# --- nvshare-run --------------------------------------------------------------
def answers(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def schedulers_in(folder):
    """Pids of nvshare-scheduler processes whose socket is under folder."""
    pids = []
    prefix = os.fsencode(folder.rstrip("/") + "/")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if (os.path.basename(args[0]) == b"nvshare-scheduler" and
                any(a.startswith(prefix) for a in args[1:])):
            pids.append(int(entry))
    return pids


def kill_schedulers(folder):
    for pid in schedulers_in(folder):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def shared_dir(env, name, mode):
    d = os.path.join(env.tmp, name)
    os.mkdir(d)
    os.chmod(d, mode)
    return d


def nvshare_run(env, args, extra=None, timeout=20):
    """nvshare-run as the test's user (the victim); (rc, stdout, stderr,
    seconds), rc None when it did not end within timeout."""
    e = env.environ(preload=False)
    for k in ("NVSHARE_SOCKET", "XDG_RUNTIME_DIR", "TMPDIR"):
        e.pop(k, None)
    e.update(extra or {})
    t0 = time.monotonic()
    p = subprocess.Popen([env.path("bin", "nvshare-run")] + args, env=e,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        rc = None
    return rc, out, err, time.monotonic() - t0


def hold_lock(path, ready_w, stop_r):
    """Creates path for everyone to open, locks it, holds it until told."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    os.fchmod(fd, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(ready_w, b"1")
    os.read(stop_r, 1)


def with_lock_held(path, as_other_user, fn):
    """Runs fn() while a child (the tenant, or one of ours) holds the flock
    on path."""
    ready_r, ready_w = os.pipe()
    stop_r, stop_w = os.pipe()
    if as_other_user:
        pid = tenant.fork_as_tenant(hold_lock, path, ready_w, stop_r)
    else:
        pid = os.fork()
        if pid == 0:
            try:
                hold_lock(path, ready_w, stop_r)
            finally:
                os._exit(0)
    os.close(ready_w)
    os.close(stop_r)
    try:
        if os.read(ready_r, 1) != b"1":
            raise AssertionError("the lock holder did not start")
        return fn()
    finally:
        os.write(stop_w, b"x")
        os.waitpid(pid, 0)
        os.close(ready_r)
        os.close(stop_w)


def test_lock(env, c):
    shared = shared_dir(env, "shared-lock", 0o777)
    sock = os.path.join(shared, "s.sock")
    try:
        # Another user's lock file, held: not the victim's to wait for.
        rc, _, err, took = with_lock_held(
            sock + ".lock", True,
            lambda: nvshare_run(env, ["--socket", sock, "--", "true"]))
        c.check(rc == 0 and took < 4.0,
                "another user holding <socket>.lock: nvshare-run runs the "
                "command in %.1f s (rc %s)" % (took, rc))
        c.check("not a file of this user" in err and answers(sock),
                "it says so and started the scheduler without the lock")
        st = os.stat(sock + ".lock")
        uid = tenant.tenant_ids()[0] if tenant.tenant_ids() else os.getuid()
        c.check(st.st_uid == uid and st.st_size == 0,
                "the tenant's lock file is left as it was")
    finally:
        kill_schedulers(shared)

    sock2 = os.path.join(shared, "own.sock")
    try:
        # One of the victim's own, stuck while holding the lock: waited
        # for 5 s at most.
        open(sock2 + ".lock", "w").close()
        os.chmod(sock2 + ".lock", 0o600)
        rc, _, err, took = with_lock_held(
            sock2 + ".lock", False,
            lambda: nvshare_run(env, ["--socket", sock2, "--", "true"]))
        c.check(rc == 0 and 4.5 <= took < 12.0,
                "a stuck holder of its own lock: nvshare-run waits about "
                "5 s, then runs the command (%.1f s, rc %s)" % (took, rc))
        c.check("still held after 5000 ms" in err and answers(sock2),
                "it says so and started the scheduler")
    finally:
        kill_schedulers(shared)


def test_log(env, c):
    shared = shared_dir(env, "shared-log", 0o777)
    precious = os.path.join(env.tmp, "victim-file")
    with open(precious, "w") as f:
        f.write("precious\n")
    log = os.path.join(shared, "scheduler.log")
    sock = os.path.join(shared, "v.sock")
    tenant.as_tenant(os.symlink, precious, log)
    try:
        rc, _, err, _ = nvshare_run(env, ["--socket", sock, "--", "true"])
        c.check(rc == 0 and answers(sock),
                "scheduler.log planted as a symlink: nvshare-run works, "
                "its scheduler answers (rc %s)" % rc)
        time.sleep(0.3)  # the scheduler has logged its start by now
        with open(precious) as f:
            body = f.read()
        c.check(body == "precious\n",
                "the file the symlink points to is untouched (%r)" %
                body[:80])
        c.check("not logging to %s (it is a symbolic link)" % log in err,
                "it says why the scheduler does not log there")
    finally:
        kill_schedulers(shared)

    shared2 = shared_dir(env, "shared-log2", 0o777)
    log2 = os.path.join(shared2, "scheduler.log")
    sock2 = os.path.join(shared2, "v.sock")

    def plant():
        with open(log2, "w"):
            pass
        os.chmod(log2, 0o666)
    tenant.as_tenant(plant)
    try:
        rc, _, err, _ = nvshare_run(env, ["--socket", sock2, "--", "true"])
        time.sleep(0.3)
        c.check(rc == 0 and answers(sock2) and os.path.getsize(log2) == 0,
                "scheduler.log planted by another user: not written, the "
                "scheduler runs (rc %s, %d bytes)" %
                (rc, os.path.getsize(log2)))
        c.check(tenant.tenant_ids() is None or "owned by uid" in err,
                "it says whose file it is")
    finally:
        kill_schedulers(shared2)


def test_user_dir(env, c):
    if answers("/var/run/nvshare/scheduler.sock"):
        print("note: a node scheduler answers: nvshare-run would use it; "
              "skipping the per-user directory test")
        return
    xdg = shared_dir(env, "xdg", 0o1777)
    tmp = shared_dir(env, "tmpdir", 0o1777)
    mine = "nvshare-%d" % os.getuid()
    elsewhere = shared_dir(env, "tenant-own", 0o755)

    def plant():
        os.mkdir(os.path.join(xdg, mine), 0o777)
        os.chmod(os.path.join(xdg, mine), 0o777)
        os.symlink(elsewhere, os.path.join(tmp, mine))
        # A decoy with the name of a fallback directory.
        os.mkdir(os.path.join(tmp, mine + ".AAAAAA"))
        os.chmod(os.path.join(tmp, mine + ".AAAAAA"), 0o777)
    if tenant.tenant_ids():
        os.chown(elsewhere, *tenant.tenant_ids())
    tenant.as_tenant(plant)
    extra = {"XDG_RUNTIME_DIR": xdg, "TMPDIR": tmp}
    try:
        rc, out, err, took = nvshare_run(env, ["--", "env"], extra)
        child = dict(ln.split("=", 1) for ln in out.splitlines()
                     if "=" in ln)
        sock = child.get("NVSHARE_SOCKET", "")
        folder = os.path.dirname(sock)
        c.check(rc == 0 and took < 10.0,
                "per-user directories pre-created by another user: "
                "nvshare-run runs the command (rc %s, %.1f s)" % (rc, took))
        ok = False
        if folder:
            st = os.lstat(folder)
            ok = (folder.startswith(os.path.join(tmp, mine + ".")) and
                  not folder.endswith(".AAAAAA") and
                  st.st_uid == os.getuid() and
                  (st.st_mode & 0o777) == 0o700 and answers(sock))
        c.check(ok, "it used a private fallback %s, not the decoy, and "
                "its scheduler answers" % folder)
        c.check(err.count("is not a private directory") == 2 and
                "using %s instead" % folder in err,
                "it said why it passed over both, and where it went")
        c.check(os.listdir(elsewhere) == [] and
                os.listdir(os.path.join(xdg, mine)) == [],
                "nothing was made in the tenant's directories")
        rc, out, err, _ = nvshare_run(env, ["--", "env"], extra)
        child = dict(ln.split("=", 1) for ln in out.splitlines()
                     if "=" in ln)
        c.check(rc == 0 and child.get("NVSHARE_SOCKET") == sock and
                "started" not in err,
                "a second run finds the same directory and shares its "
                "scheduler")
    finally:
        kill_schedulers(tmp)
        kill_schedulers(xdg)


def main(env, c):
    tenant.open_to_tenants(env)  # the tenant reaches the test's folder
    test_lock(env, c)
    test_log(env, c)
    test_user_dir(env, c)
    test_status(env, c)


run(main, "security_surface", gpus=GPUS)
