#!/usr/bin/env python3
"""The scheduler's wire protocol (version 3), spoken with raw frames.

Fake clients built here with the struct module (mirroring common/proto.h)
drive the real nvshare-scheduler in serial mode (one holder at a time): the
lock hand-over between contenders, DROP_LOCK after the time slice, the forced
release after the grace period, hand-over when a holder's socket closes, the
control messages, and the rejection of malformed input from one peer while a
well-behaved client keeps working. Memory-aware scheduling (auto mode) has
its own test, test_scheduler_memory.py, which reuses the Peer defined here.
Timing checks use wide margins: CI machines are small and noisy.
"""


import errno
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import DEFAULT_UUID, GIB, SECOND_UUID  # noqa: E402
from wire import *  # noqa: E402,F401,F403


def garbage_cases():
    """(name, frames to send, text the log must show, hello first)."""
    good_ref = uuid_field(DEFAULT_UUID)
    bad_comm = struct.pack("=II64s256s64s", os.getpid(), 0, b"", b"",
                           b"") + b"x" * 32
    return [
        ("bad magic", frame(HELLO, hello_payload(b"x"), magic=0xDEADBEEF),
         "bad magic 0xdeadbeef", False),
        ("huge length", HDR.pack(MAGIC, VERSION, HELLO, 0x7FFFFFFF, 0),
         "frame length 2147483647 too large", False),
        ("unknown type", frame(99, b""), "unknown message type 99", False),
        ("bad version", frame(HELLO, hello_payload(b"x"), version=7),
         "unsupported protocol version 7", False),
        ("reserved header", frame(HELLO, hello_payload(b"x"), reserved=1),
         "reserved header field set", False),
        ("wrong length", frame(REQ_LOCK, good_ref[:47]),
         "REQ_LOCK with length 47, expected 48", False),
        ("unterminated string", frame(HELLO, bad_comm),
         "unterminated string in HELLO", False),
        ("bad uuid", frame(REGISTER_GPU,
                           register_payload("GPU-not-a-uuid", GIB)),
         "malformed uuid", True),
        ("lock before hello", frame(REQ_LOCK, good_ref),
         "REQ_LOCK before HELLO", False),
        ("unregistered gpu", frame(REQ_LOCK, uuid_field(SECOND_UUID)),
         "REQ_LOCK for unregistered GPU " + SECOND_UUID, True),
        ("second hello", frame(HELLO, hello_payload(b"x")),
         "second HELLO", True),
        ("scheduler-only type", frame(LOCK_OK, good_ref),
         "unexpected LOCK_OK sent to the scheduler", False),
        ("reply to scheduler", HDR.pack(MAGIC, VERSION, CTL_REPLY, 1 << 20,
                                        0) + b"\0" * 64,
         "unexpected CTL_REPLY sent to the scheduler", False),
        ("truncated frame", frame(HELLO, hello_payload(b"x"))[:100],
         "connection closed inside a frame (100 bytes pending)", False),
        ("swap report, unregistered gpu",
         frame(SWAP_REPORT, swap_payload(SECOND_UUID, SWAP_OUT, GIB, 1)),
         "SWAP_REPORT for unregistered GPU " + SECOND_UUID, True),
        ("swap report, bad direction",
         frame(SWAP_REPORT, swap_payload(DEFAULT_UUID, 5, GIB, 1)),
         "unknown swap direction 5", True),
        ("swap report before hello",
         frame(SWAP_REPORT, swap_payload(DEFAULT_UUID, SWAP_OUT, GIB, 1)),
         "SWAP_REPORT before HELLO", False),
        ("version 1 drop", frame(DROP_LOCK, good_ref),
         "DROP_LOCK with length 48, expected 56", False),
        ("evict to scheduler", frame(EVICT, good_ref),
         "unexpected EVICT sent to the scheduler", False),
        ("waiting to scheduler",
         frame(WAITING, good_ref + struct.pack("=IIQQ", 1, 0, 0, 0)),
         "unexpected WAITING sent to the scheduler", False),
    ]


def check_garbage(env, checks, good):
    for name, data, reason, do_hello in garbage_cases():
        p = Peer(env.socket, name)
        if do_hello:
            p.hello("bad")
        p.raw(data)
        if name == "truncated frame":
            p.close()
        else:
            closed = p.wait_closed(3.0)
            checks.check(closed == "eof",
                         "%s: disconnected (got %s)" % (name, closed))
            p.close()
        checks.check(log_has(env, 'reason="' + reason),
                     "%s: log names the reason (%s)" % (name, reason))
        # The well-behaved client is untouched: still holder, still served.
        good.send(MEM_UPDATE, mem_payload(DEFAULT_UUID, GIB))
        good.req(DEFAULT_UUID)
        m = good.recv(2.0)
        checks.check(m is not None and m[0] == LOCK_OK,
                     "%s: good client still answered LOCK_OK" % name)
    checks.check("event=protocol_error" in env.scheduler_log(),
                 "protocol errors logged as event=protocol_error")


def check_blocked_peer(env, checks, a):
    """A holder that floods requests and never reads its answers is cut off
    once its unsent output passes the bound; nobody else waits for it, and
    its lock goes to the next waiter."""
    x = Peer(env.socket, "X")
    x.hello("sleeper")
    x.register(THIRD_UUID)
    x.req(THIRD_UUID)
    x.expect(LOCK_OK)
    y = Peer(env.socket, "Y")
    y.hello("next")
    y.register(THIRD_UUID)
    y.req(THIRD_UUID)
    flood = frame(REQ_LOCK, uuid_field(THIRD_UUID)) * 20000
    t0 = time.monotonic()
    x.s.settimeout(30.0)  # sends block while the scheduler reads
    try:
        for _ in range(20):
            x.raw(flood)
            # The scheduler keeps serving others meanwhile.
            a.req(DEFAULT_UUID)
            a.expect(LOCK_OK, 2.0)
    except socket.timeout:
        checks.check(False, "flooding peer: send timed out")
    except OSError:
        pass  # cut off while sending: expected
    checks.check(log_has(env, "event=send_overflow client=%d" % x.id),
                 "peer that does not read is disconnected (send_overflow)")
    y.expect(LOCK_OK, 2.0)
    checks.check(time.monotonic() - t0 < 20.0,
                 "its lock went to the next waiter")
    a.req(DEFAULT_UUID)
    a.expect(LOCK_OK, 1.0)
    checks.check(True, "the good client was served throughout")
    x.close()
    y.close()


def check_contention(env, checks, a):
    b = Peer(env.socket, "B")
    b.hello("contender")
    b.register(DEFAULT_UUID)
    b.req(DEFAULT_UUID)
    checks.check(b.quiet(0.5), "B waits while A holds (no LOCK_OK)")
    reason, need, free = b.waiting()
    checks.check(reason == WAIT_TURN and need == 0 and free == 15 * GIB,
                 "B told WAITING(turn, need 0, free 15 GiB): %d %d %d" %
                 (reason, need, free))
    checks.check(not b.waits, "B told once")
    st = status(env)
    g = gpu_of(st, DEFAULT_UUID)
    checks.check(g["holder"] == a.id and g["queue"] == [b.id],
                 "status: A holds, B queued (%s %s)" % (g["holder"],
                                                         g["queue"]))
    b_state = client_of(st, b.id)["gpus"][0]
    checks.check(b_state["state"] == "waiting" and b_state["wait_ms"] >= 300,
                 "status: B waiting for >= 300 ms (%s)" % b_state)
    checks.check(a.quiet(0.2), "no DROP_LOCK to A with a 60 s slice")
    a.release(DEFAULT_UUID)
    t0 = time.monotonic()
    b.expect(LOCK_OK, 1.0)
    checks.check(time.monotonic() - t0 < 1.0,
                 "B granted within 1 s of A's release")
    checks.check(gpu_of(status(env), DEFAULT_UUID)["holder"] == b.id,
                 "status: B holds after A released")
    return b


def check_ctl_set(env, checks):
    for bad in (3600001, -5):
        st, text = ctl_set(env, KEY_TIME_SLICE_MS, bad)
        checks.check(st == errno.EINVAL and "1..3600000" in text,
                     "CTL_SET time slice %d refused: %d %s" % (bad, st, text))
    st, text = ctl_set(env, KEY_TIME_SLICE_MS, 0)
    checks.check(st == 0 and text == "ok time_slice_ms=auto",
                 "CTL_SET time slice 0 is auto: %s" % text)
    g = gpu_of(status(env), DEFAULT_UUID)
    checks.check(g["time_slice_setting"] == "auto" and
                 g["time_slice_ms"] == 1000 and
                 g["time_slice_reason"] == "auto: floor 1 s",
                 "status: auto slice, 1 s floor (%s %s %s)" %
                 (g["time_slice_setting"], g["time_slice_ms"],
                  g["time_slice_reason"]))
    for key, bad in ((KEY_MODE, 3), (KEY_MODE, -1), (KEY_MAX_RUN_MS, 0),
                     (KEY_MAX_RUN_MS, 3600001)):
        st, text = ctl_set(env, key, bad)
        checks.check(st == errno.EINVAL, "CTL_SET key %d value %d refused: "
                     "%s" % (key, bad, text))
    st, text = ctl_set(env, KEY_MAX_RUN_MS, 30000)
    checks.check(st == 0 and text == "ok max_run_ms=30000",
                 "CTL_SET max run: %s" % text)
    st, text = ctl_set(env, KEY_MODE, MODE_SERIAL)
    checks.check(st == 0 and text == "ok mode=serial",
                 "CTL_SET mode serial: %s" % text)
    st, text = ctl_set(env, KEY_TIME_SLICE_MS, 200)
    checks.check(st == 0 and text.startswith("ok"),
                 "CTL_SET time slice 200 accepted: %s" % text)
    checks.check(status(env)["time_slice_ms"] == 200,
                 "status shows time_slice_ms 200")


def check_drop_timing(env, checks, a, b):
    # B has held DEFAULT past the new 200 ms slice with nobody waiting.
    checks.check(b.quiet(0.6), "no DROP_LOCK without waiters")
    c = Peer(env.socket, "C")
    c.hello("slicer")
    uuid, cap = c.register(SECOND_UUID, 16 * GIB)
    checks.check(uuid == SECOND_UUID and cap == 4 * GIB,
                 "--gpu-memory override gives capacity 4 GiB (%d)" % cap)
    d = Peer(env.socket, "D")
    d.hello("waiter")
    d.register(SECOND_UUID, 16 * GIB)
    c.req(SECOND_UUID)
    c.expect(LOCK_OK)
    t0 = time.monotonic()
    d.req(SECOND_UUID)
    flags = drop_flags(c.expect(DROP_LOCK, 5.0))
    dt = time.monotonic() - t0
    checks.check(flags == 0, "DROP_LOCK without SWAP_OUT: D, without "
                 "memory, fits beside C (flags %d)" % flags)
    checks.check(0.15 <= dt <= 2.0,
                 "DROP_LOCK after the 200 ms slice (%.3f s)" % dt)
    checks.check(d.quiet(0.1), "D not granted before C releases")
    c.release(SECOND_UUID)
    t0 = time.monotonic()
    d.expect(LOCK_OK, 1.0)
    checks.check(time.monotonic() - t0 < 1.0, "D granted on C's release")
    # Meanwhile A asks for DEFAULT again: B (held past its slice) is asked.
    a.req(DEFAULT_UUID)
    b.expect(DROP_LOCK, 2.0)
    b.release(DEFAULT_UUID)
    a.expect(LOCK_OK, 1.0)
    checks.check(True, "A granted again after B answered DROP_LOCK")
    return c, d


def check_force_release(env, checks, c, d):
    c.req(SECOND_UUID)
    d.expect(DROP_LOCK, 3.0)  # D ignores it
    t0 = time.monotonic()
    c.expect(LOCK_OK, 5.0)
    dt = time.monotonic() - t0
    checks.check(0.2 <= dt <= 3.0,
                 "C granted after the 300 ms grace (%.3f s)" % dt)
    checks.check(log_has(env, "event=force_release gpu=%s client=%d" %
                         (SECOND_UUID, d.id)),
                 "force_release logged with gpu and client")
    st = status(env)
    g = gpu_of(st, SECOND_UUID)
    checks.check(g["forced_releases"] == 1 and st["forced_releases"] == 1,
                 "forced release counted per GPU and in total")
    checks.check(g["holder"] == c.id, "status: C holds after the revoke")
    # D's late answer is stale: ignored. D asking again queues behind C.
    d.release(SECOND_UUID)
    d.req(SECOND_UUID)
    checks.check(d.quiet(0.1), "stale LOCK_RELEASED did not grant D")
    g = gpu_of(status(env), SECOND_UUID)
    checks.check(g["holder"] == c.id and g["queue"] == [d.id],
                 "status: C still holds, D queued (%s %s)" % (g["holder"],
                                                              g["queue"]))
    # C drops its connection: D is granted at once.
    c.close()
    t0 = time.monotonic()
    d.expect(LOCK_OK, 1.0)
    checks.check(time.monotonic() - t0 < 1.0,
                 "D granted within 1 s of the holder's socket closing")


def check_status(env, checks, a, b, d):
    st = status(env)
    for key in ("managed", "time_slice_ms", "release_grace_ms",
                "forced_releases", "gpus", "clients"):
        checks.check(key in st, "status JSON has %s" % key)
    checks.check(st["managed"] is True and st["release_grace_ms"] == 300,
                 "status: managed, release_grace_ms 300")
    ids = [c["id"] for c in st["clients"]]
    checks.check(all(x in ids for x in (a.id, b.id, d.id)),
                 "status lists the connected clients %s" % ids)
    ca = client_of(st, a.id)
    checks.check(ca is not None and ca["pid"] == os.getpid() and
                 ca["uid"] == os.getuid() and ca["comm"] == "good",
                 "client A: pid, uid and comm")
    ga = ca["gpus"][0]
    checks.check(ga["uuid"] == DEFAULT_UUID and ga["state"] == "holding" and
                 ga["memory_bytes"] == GIB and ga["lock_grants"] == 2,
                 "client A on its GPU: %s" % ga)
    checks.check(ga["resident_bytes"] == GIB and ga["swapped_bytes"] == 0
                 and ga["wait_reason"] is None and ga["swap_outs"] == 0 and
                 ga["swap_ins"] == 0, "client A's memory on its GPU: %s" % ga)
    g = gpu_of(st, DEFAULT_UUID)
    checks.check(g["capacity_bytes"] == 16 * GIB and g["lock_grants"] == 3,
                 "GPU: capacity and grants (%s)" % g)
    checks.check(st["mode"] == "serial" and st["time_slice_setting"] == 200
                 and st["max_run_ms"] == 30000,
                 "status: mode serial, slice 200, max run 30000")
    checks.check(g["mode"] == "serial" and g["running"] == [a.id] and
                 g["time_slice_ms"] == 200 and
                 g["time_slice_reason"] == "fixed" and
                 g["time_slice_setting"] == 200 and
                 g["max_run_ms"] == 30000 and g["resident_bytes"] == GIB and
                 g["swaps"] == 0 and g["swap_bw_out_bps"] == 8000000000 and
                 g["swap_bw_in_bps"] == 40000000000,
                 "GPU: mode, running set, slice, memory (%s)" % g)
    code, text = ctl(env, CTL_STATUS, struct.pack("=II", FORMAT_TEXT, 0))
    checks.check(code == 0 and DEFAULT_UUID in text and "CLIENT" in text and
                 "holder: client %d" % a.id in text,
                 "text status shows GPUs, holder and the client table")


def check_managed(env, checks, peers):
    st, text = ctl_set(env, KEY_MANAGED, 2)
    checks.check(st == errno.EINVAL, "CTL_SET managed 2 refused: " + text)
    st, text = ctl_set(env, KEY_MANAGED, 0)
    checks.check(st == 0, "CTL_SET managed 0: " + text)
    for p in peers:
        m = struct.unpack("=II", p.expect(SET_MANAGED))[0]
        checks.check(m == 0, "%s told SET_MANAGED 0" % p.name)
    s = status(env)
    checks.check(s["managed"] is False and
                 all(g["holder"] is None and g["queue"] == []
                     for g in s["gpus"]),
                 "unmanaged: no holders, no queues")
    late = Peer(env.socket, "late")
    cid, managed = late.hello("late")
    checks.check(managed == 0, "WELCOME says managed=0 while off")
    st, text = ctl_set(env, KEY_MANAGED, 1)
    checks.check(st == 0, "CTL_SET managed 1: " + text)
    for p in peers + [late]:
        m = struct.unpack("=II", p.expect(SET_MANAGED))[0]
        checks.check(m == 1, "%s told SET_MANAGED 1" % p.name)
    peers[0].req(DEFAULT_UUID)
    peers[0].expect(LOCK_OK)
    checks.check(True, "locks are granted again once managed")
    late.close()


def check_permission(env, checks):
    if os.geteuid() != 0:
        print("skip - permission check needs root to switch users")
        return
    os.chmod(env.tmp, 0o755)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            a = ctl_set(env, KEY_TIME_SLICE_MS, 100)
            b = ctl(env, CTL_STATUS, struct.pack("=II", FORMAT_JSON, 0))
            if a[0] == errno.EPERM and b[0] == errno.EPERM and \
                    "permission denied" in a[1]:
                code = 0
        finally:
            os._exit(code)
    _, rc = os.waitpid(pid, 0)
    checks.check(rc == 0, "CTL_SET and CTL_STATUS refused (EPERM) for an "
                 "unprivileged user")
    checks.check(log_has(env, "event=control_denied"),
                 "refusal logged as event=control_denied")
    checks.check(status(env)["time_slice_ms"] == 200,
                 "refused CTL_SET changed nothing")


def check_lifecycle(env, checks):
    sched = env.scheduler
    r = subprocess.run([env.path("bin", "nvshare-scheduler"), "--socket",
                        env.socket], capture_output=True, text=True,
                       timeout=10)
    checks.check(r.returncode == 1 and "another scheduler" in r.stderr,
                 "second scheduler on the same socket refused (exit %d)" %
                 r.returncode)
    sched.send_signal(signal.SIGTERM)
    rc = sched.wait(timeout=10)
    checks.check(rc == 0, "SIGTERM: clean exit (%d)" % rc)
    checks.check(not os.path.exists(env.socket), "socket file removed")
    # A stale socket file (nobody listening) is replaced.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(env.socket)
    s.close()
    env.start_scheduler()
    checks.check(log_has(env, "event=stale_socket_removed"),
                 "stale socket file replaced on start")
    st = os.stat(env.socket)
    checks.check(st.st_mode & 0o777 == 0o666, "socket mode 0666")
    for bad in (["--time-slice", "0"], ["--time-slice", "autox"],
                ["--release-grace", "99"], ["--mode", "fast"],
                ["--max-run", "0"], ["--max-run", "3600001"],
                ["--gpu-memory", "GPU-1=4Gi"],
                ["--gpu-memory", DEFAULT_UUID + "=0"], ["--nope"]):
        r = subprocess.run([env.path("bin", "nvshare-scheduler"), "--socket",
                            env.socket + ".x"] + bad, capture_output=True,
                           text=True, timeout=10)
        checks.check(r.returncode == 2 and r.stderr,
                     "invalid flags %s: exit 2 with a message" % bad)


def main(env, checks):
    # THIRD_UUID is no GPU of the simulated node: an override makes it one.
    env.start_scheduler("--mode", "serial", "--time-slice", "60000",
                        "--release-grace", "300",
                        "--gpu-memory", SECOND_UUID + "=4Gi",
                        "--gpu-memory", THIRD_UUID + "=16Gi")
    a = Peer(env.socket, "A")
    cid, managed = a.hello("good")
    checks.check(cid == 1 and managed == 1, "WELCOME: id 1, managed")
    uuid, cap = a.register(DEFAULT_UUID)
    checks.check(uuid == DEFAULT_UUID and cap == 16 * GIB,
                 "GPU_ACCEPTED with the reported capacity")
    a.req(DEFAULT_UUID)
    a.expect(LOCK_OK)
    checks.check(True, "free GPU granted at once")
    check_garbage(env, checks, a)
    check_blocked_peer(env, checks, a)
    b = check_contention(env, checks, a)
    check_ctl_set(env, checks)
    c, d = check_drop_timing(env, checks, a, b)
    check_force_release(env, checks, c, d)
    check_status(env, checks, a, b, d)
    check_managed(env, checks, [a, b, d])
    check_permission(env, checks)
    check_lifecycle(env, checks)


if __name__ == "__main__":
    harness.run(main, "scheduler_protocol")
