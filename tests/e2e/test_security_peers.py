"""Who is on a connection, and how many (issue 11, findings 3, 5, 8, 12).

Attacks by an unprivileged tenant (tenant.py) against a scheduler started
by root:
- identity: a process whose cgroup puts it in pod A claims pod B in HELLO;
  status shows the kernel's pod UID (A) and the claim unverified, and
  limits set for pod B do not reach it (a made-up /proc under
  NVSHARE_PROC_ROOT says which pod it is in);
- permission by pid: the tenant connects, hands the socket to a child and
  exits; its pid is then given to a root process in the socket's group
  (ns_last_pid); the child's CTL_SET is still refused. A file of the
  tenant's group put at the socket's path does not make it allowed either;
- log flood: 10000 garbage frames over 2000 reconnects give a bounded
  number of log lines, and every error is accounted for (logged or counted
  as suppressed); another user's error is still logged at once;
- connection flood: the tenant opens more idle connections than its share
  under a scheduler started with the default soft RLIMIT_NOFILE (1024);
  the extra ones are refused, the idle ones are cut after the handshake
  deadline, and meanwhile root's nvsharectl and a gpuload are served
  promptly.
"""
import json
import os
import re
import resource
import select
import shutil
import socket
import struct
import subprocess
import threading
import time

from harness import finish, run, wait_for
from tenant import as_tenant, open_to_tenants, tenant_ids
from wire import (CTL_REPLY, CTL_SET, HDR, HELLO, KEY_TIME_SLICE_MS, WELCOME,
                  Peer, client_of, ctl, frame, hello_payload, log_has,
                  status)

SET_LIMITS = 15
POD_A = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
HANDSHAKE_S = 5.0  # CONN_FRAME_DEADLINE_NS
PER_UID = 1024     # a quarter of the 4096-entry table


def set_slice(value):
    return struct.pack("=IIq", KEY_TIME_SLICE_MS, 0, value)


def log_since(env, mark):
    return env.scheduler_log()[mark:]


# --- (5) the pod is what the kernel says ------------------------------------
def identity(env, c, proc_root):
    me = str(os.getpid())
    os.makedirs(os.path.join(proc_root, me))
    with open(os.path.join(proc_root, me, "cgroup"), "w") as f:
        f.write("0::/kubepods.slice/kubepods-burstable.slice/"
                "kubepods-burstable-pod%s.slice/cri-containerd-0123ab.scope\n"
                % POD_A.replace("-", "_"))
    shutil.copy("/proc/%s/stat" % me, os.path.join(proc_root, me, "stat"))
    p = Peer(env.socket, "claims-b")
    p.send(HELLO, hello_payload(b"claimer", ns=b"team", pod=b"podb"))
    cid = struct.unpack("=QII", p.expect(WELCOME))[0]
    cl = client_of(status(env), cid)
    c.check(cl is not None and cl.get("pod_uid") == POD_A,
            "status shows the kernel's pod UID %s (got %r)"
            % (POD_A, cl and cl.get("pod_uid")))
    c.check(cl is not None and cl.get("pod_verified") is False,
            "the declared pod team/podb is shown unverified (got %r)"
            % (cl and cl.get("pod_verified")))
    r = env.ctl("set", "--pod", "team/podb", "--memory-limit", "1Gi")
    c.check("clients=0" in r.stdout and "unconfirmed" in r.stdout,
            "a limit for pod team/podb changes no process that only "
            "claims it, and says so: %r" % r.stdout.strip())
    got = p.recv(1.0)
    c.check(got is None or got[0] != SET_LIMITS,
            "the claimer is not sent pod team/podb's limits (got %r)"
            % (got and got[0]))
    cl = client_of(status(env), cid)
    c.check(cl is not None and cl["memory_limit_bytes"] is None,
            "its memory limit stays none (got %r)"
            % (cl and cl["memory_limit_bytes"]))
    p.close()


# --- (8) permission by the credentials captured at connect ------------------
def spawn_with_pid(target, argv, **kw):
    """A process with pid target (ns_last_pid; root only), or None."""
    for _ in range(100):
        try:
            with open("/proc/sys/kernel/ns_last_pid", "w") as f:
                f.write(str(target - 1))
        except OSError:
            return None
        p = subprocess.Popen(argv, **kw)
        if p.pid == target:
            return p
        p.kill()
        p.wait()
    return None


def read_reply(s, timeout):
    s.settimeout(timeout)
    buf = b""
    while True:
        if len(buf) >= HDR.size:
            _, _, mtype, length, _ = HDR.unpack_from(buf)
            if len(buf) >= HDR.size + length:
                body = buf[HDR.size:HDR.size + length]
                st, _ = struct.unpack_from("=iI", body)
                return mtype, st, body[8:].decode(errors="replace")
        data = s.recv(65536)
        if not data:
            return None, None, "closed"
        buf += data


def connector_then_child(sock, go_r, res_w):
    """As the tenant: connect, fork a child that keeps the socket, return
    (and so exit). The child sends CTL_SET once told to."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    if os.fork() == 0:
        keep = {s.fileno(), go_r, res_w, 0, 1, 2}
        for fd in os.listdir("/proc/self/fd"):
            if int(fd) not in keep:
                try:
                    os.close(int(fd))
                except OSError:
                    pass
        out = {"error": None}
        try:
            os.read(go_r, 1)
            s.sendall(frame(CTL_SET, set_slice(4321)))
            mtype, st, text = read_reply(s, 5.0)
            out.update(type=mtype, status=st, text=text)
        except Exception as e:  # reported to the test
            out["error"] = repr(e)
        os.write(res_w, json.dumps(out).encode())
        os._exit(0)
    return os.getpid()


def permission(env, c):
    sock_gid = os.stat(env.socket).st_gid
    go_r, go_w = os.pipe()
    res_r, res_w = os.pipe()
    connector = as_tenant(connector_then_child, env.socket, go_r, res_w)
    os.close(go_r)
    os.close(res_w)
    # The connector has exited: its pid goes to a root process that is in
    # the socket's group, as a privileged daemon reusing it would be.
    root = spawn_with_pid(connector, ["sleep", "30"], extra_groups=[sock_gid])
    c.check(root is not None,
            "the connector's pid %d was reused by a root process in the "
            "socket's group %d" % (connector, sock_gid))
    try:
        os.write(go_w, b"g")
        data = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r, _, _ = select.select([res_r], [], [], 0.5)
            if r:
                chunk = os.read(res_r, 65536)
                if not chunk:
                    break
                data += chunk
        out = json.loads(data.decode()) if data else {"error": "no result"}
    finally:
        if root:
            root.kill()
            root.wait()
        os.close(go_w)
        os.close(res_r)
    c.check(out.get("error") is None and out.get("type") == CTL_REPLY
            and out.get("status") == 1,  # EPERM
            "the connector's child is refused CTL_SET though its recorded "
            "pid is now root's: %r" % out)
    c.check("new=4321" not in env.scheduler_log(),
            "the time slice did not change")

    # A file of the tenant's group at the socket's path (the tenant can
    # write the directory) does not make the tenant a member of it.
    os.chmod(env.tmp, 0o777)
    mark = len(env.scheduler_log())

    def swap_socket(sock):
        real = sock + ".real"
        os.rename(sock, real)
        try:
            open(sock, "w").close()
            gid = os.stat(sock).st_gid
            return gid, ctl(real, CTL_SET, set_slice(4321))
        finally:
            os.unlink(sock)
            os.rename(real, sock)

    try:
        gid, (st, text) = as_tenant(swap_socket, env.socket)
    finally:
        os.chmod(env.tmp, 0o755)
    c.check(st == 1 and "permission denied" in text,
            "with a file of group %d at the socket's path CTL_SET is still "
            "refused: %d %r" % (gid, st, text))
    c.check("event=socket_replaced" in log_since(env, mark),
            "the substituted path is logged")
    st, text = ctl(env, CTL_SET, set_slice(2000))
    c.check(st == 0, "root is still allowed: %d %r" % (st, text))


# --- (12) a garbage flood gives a bounded log -------------------------------
def garbage_flood(sock, nconns, frames):
    junk = HDR.pack(0xDEADBEEF, 1, 999, 0, 0) * frames
    t0 = time.monotonic()
    for _ in range(nconns):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(sock)
            s.sendall(junk)
        except OSError:
            pass
        s.close()
    return time.monotonic() - t0


def timed_status(env):
    t0 = time.monotonic()
    r = env.ctl("status", check=False)
    if r.returncode != 0:
        print("status failed: rc=%d %r" % (r.returncode, r.stderr))
    return r.returncode, time.monotonic() - t0


def log_flood(env, c, tuid):
    nconns, frames = 2000, 5
    mark = len(env.scheduler_log())
    result, lat = {}, []

    def attack():
        result["s"] = as_tenant(garbage_flood, env.socket, nconns, frames)

    t = threading.Thread(target=attack)
    t.start()
    while t.is_alive():
        lat.append(timed_status(env))
        time.sleep(0.1)
    t.join()
    took = result.get("s", 0.0)
    who = "uid=%d " % tuid

    def counts():
        lines = [ln for ln in log_since(env, mark).splitlines() if who in ln]
        errors = sum("event=protocol_error" in ln for ln in lines)
        supp = sum(int(m) for m in re.findall(
            r"event=log_suppressed %ssuppressed=(\d+)" % who,
            "\n".join(lines)))
        return lines, errors, supp

    try:
        wait_for(lambda: sum(counts()[1:]) >= nconns, 5.0,
                 "every error logged or counted")
    except AssertionError:
        pass
    lines, errors, supp = counts()
    bound = 10 + int(took + 6) + 2
    c.check(len(lines) <= 2 * bound,
            "%d garbage frames over %d connections in %.1f s gave %d log "
            "lines about the tenant (at most %d)"
            % (nconns * frames, nconns, took, len(lines), 2 * bound))
    c.check(errors + supp == nconns,
            "each of the %d protocol errors is logged (%d) or counted as "
            "suppressed (%d)" % (nconns, errors, supp))
    worst = max((s for _, s in lat), default=0.0)
    c.check(lat and all(rc == 0 for rc, _ in lat) and worst < 2.0,
            "nvsharectl status answered during the flood (%d times, worst "
            "%.2f s)" % (len(lat), worst))
    # Another user's error is not suppressed with the tenant's.
    mark = len(env.scheduler_log())
    p = Peer(env.socket, "root-garbage")
    p.raw(HDR.pack(0xDEADBEEF, 1, 999, 0, 0))
    p.wait_closed(2.0)
    p.close()
    c.check(log_has(env, "uid=0 conn=", 2.0) and
            "event=protocol_error" in log_since(env, mark),
            "root's protocol error is logged at once (root and the "
            "scheduler's uid are not rate-limited)")


# --- (3) a connection flood costs the flooder -------------------------------
def closed(s):
    try:
        return s.recv(1, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def connect_patiently(sock, timeout):
    """A non-blocking connection, retried while the listen backlog is full
    (EAGAIN) for up to timeout seconds; None if it never got in."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(sock)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > deadline:
                return None
            time.sleep(0.001)
        except OSError:
            s.close()
            return None


def idle_flood(sock, n, ready_w, wait_s):
    """As the tenant: n idle connections; report which closed when."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks, failed = [], 0
    for _ in range(n):
        s = connect_patiently(sock, 0.5)
        if s:
            socks.append(s)
        else:
            failed += 1
    t_open = time.monotonic()
    time.sleep(1.0)
    early = [s for s in socks if closed(s)]
    held = [s for s in socks if s not in early]
    os.write(ready_w, b"%d\n" % len(held))
    left = {s.fileno(): s for s in held}
    poller = select.poll()
    for fd in left:
        poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + wait_s
    last = 0.0
    while left and time.monotonic() < deadline:
        for fd, _ in poller.poll(200):
            if fd in left and closed(left[fd]):
                last = time.monotonic() - t_open
                poller.unregister(fd)
                del left[fd]
    for s in socks:
        s.close()
    return {"opened": len(socks), "failed": failed, "early": len(early),
            "held": len(held), "still_open": len(left), "last_s": last}


def conn_flood(env, c, sched, tuid):
    n = PER_UID + 100
    mark = len(env.scheduler_log())
    ready_r, ready_w = os.pipe()
    result = {}

    def attack():
        try:
            result["r"] = as_tenant(idle_flood, env.socket, n, ready_w,
                                    HANDSHAKE_S + 5.0)
        except AssertionError as e:
            result["e"] = str(e)
            os.write(ready_w, b"0\n")

    t = threading.Thread(target=attack)
    t.start()
    r, _, _ = select.select([ready_r], [], [], 30.0)
    held = int(os.read(ready_r, 64).split()[0]) if r else -1
    fds_peak = len(os.listdir("/proc/%d/fd" % sched.pid))
    rc, lat = timed_status(env)
    c.check(rc == 0 and lat < 2.0,
            "root's nvsharectl status is served while the tenant holds %d "
            "connections (%.2f s)" % (held, lat))
    t0 = time.monotonic()
    v = env.gpuload("--kernel-ms", 5, "--kernels", 20)
    vrc, res, err = finish(v, timeout=30)
    took = time.monotonic() - t0
    c.check(vrc == 0 and res and res["error"] is None
            and "unmanaged" not in err and took < 5.0,
            "a victim gpuload ran, managed, in %.2f s (rc %d)" % (took, vrc))
    c.check(log_has(env, "event=hello client=", 0.5) and
            re.search(r"event=hello client=\d+ pid=%d " % v.pid,
                      env.scheduler_log()) is not None,
            "the victim was served by the scheduler")
    t.join(60)
    out = result.get("r", {})
    c.check(out.get("opened") == n and out.get("early") == n - PER_UID
            and out.get("held") == PER_UID,
            "of %d connections the tenant keeps its share of %d, the rest "
            "are refused at once: %r" % (n, PER_UID, out or result))
    c.check(out.get("still_open") == 0 and
            HANDSHAKE_S - 1.0 <= out.get("last_s", 0) <= HANDSHAKE_S + 4.0,
            "its idle connections are cut after the %.0f s handshake "
            "deadline (last at %.1f s, %r open)"
            % (HANDSHAKE_S, out.get("last_s", 0), out.get("still_open")))
    fds_after = len(os.listdir("/proc/%d/fd" % sched.pid))
    c.check(fds_peak >= PER_UID and fds_after < 64,
            "scheduler descriptors: %d during the flood, %d after"
            % (fds_peak, fds_after))
    who = "uid=%d " % tuid

    def counts():
        lines = [ln for ln in log_since(env, mark).splitlines() if who in ln]
        refused = sum("event=connection_refused" in ln for ln in lines)
        timeouts = sum("event=handshake_timeout" in ln for ln in lines)
        supp = sum(int(m) for m in re.findall(
            r"event=log_suppressed %ssuppressed=(\d+)" % who,
            "\n".join(lines)))
        return lines, refused, timeouts, supp

    try:
        wait_for(lambda: sum(counts()[1:]) >= n, 5.0,
                 "every refusal and timeout logged or counted")
    except AssertionError:
        pass
    lines, refused, timeouts, supp = counts()
    c.check(refused + timeouts + supp == n and len(lines) < 40,
            "the %d refusals and timeouts are logged (%d, %d) or counted as "
            "suppressed (%d): %d lines" % (n, refused, timeouts, supp,
                                            len(lines)))
    os.close(ready_r)
    os.close(ready_w)


def main(env, c):
    ids = tenant_ids()
    if ids is None:
        print("not root: no second uid, the tenant is the scheduler's own "
              "user (exempt from the per-uid share); uid checks skipped")
    proc_root = os.path.join(env.tmp, "proc")
    os.makedirs(proc_root)
    os.environ["NVSHARE_PROC_ROOT"] = proc_root
    # The default soft limit most daemons start with.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    try:
        sched = env.start_scheduler()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        del os.environ["NVSHARE_PROC_ROOT"]
    open_to_tenants(env)
    m = re.search(r"event=connection_limits fd_limit=(\d+)",
                  env.scheduler_log())
    c.check(m is not None and int(m.group(1)) == hard,
            "the scheduler raised its soft RLIMIT_NOFILE from 1024 to the "
            "hard %d (logged %s)" % (hard, m and m.group(1)))
    identity(env, c, proc_root)
    if ids is None:
        return
    permission(env, c)
    log_flood(env, c, ids[0])
    conn_flood(env, c, sched, ids[0])


run(main, "security_peers")
