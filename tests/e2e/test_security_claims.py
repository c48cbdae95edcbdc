#!/usr/bin/env python3
"""What a registered client may claim (issue 11, findings 1, 2, 4, 6, 11;
docs/security.md). Attackers run as the unprivileged tenant
(tenant.py); victims are ordinary gpuloads under libnvshare.

1  capacity poisoning: a tenant registers the real GPU with total_bytes=1
   and leaves; the GPU keeps the 16 GiB NVML reports, and an 8 GiB victim
   runs.
2  context table: 4 connections x 64 made-up UUIDs are refused (the
   clients told to run unmanaged); a victim on the real GPU is managed.
   A library refused a GPU runs unmanaged without a reconnect loop.
4  billing table: 256 idle registrations of one uid take at most half of
   the GPU's billing table; a victim with NVSHARE_GPU_CORE_LIMIT=20 is
   still throttled. Two owners (the tenant and root) filling the whole
   table: a 20% victim in a pod takes the entry of the largest owner's
   least recently busy client and is billed at its 20% (before: held
   throttled at 0%, "table full").
6  forged swap reports: 80 reports of 1 MiB in 2^64-1 ns, asked by
   nobody, are ignored: the bandwidth estimate, the automatic slice and a
   victim's wait stay what they were.
11 a stopped holder: its memory stays counted on the GPU; the next tenant
   waits (reason memory) instead of failing, and runs once the holder
   resumes.
12 a client of a known GPU registers one the node does not know: its
   library runs unmanaged on both and brings back what it had swapped
   out. The books count all of it (before: nothing, so a newcomer was
   granted room that was not there), it is never asked to move, and its
   later requests are ignored (before: queued, granted, and its gate
   closed for good by the next DROP_LOCK).
"""
import os
import select
import signal
import subprocess
import threading
import time

from harness import DEFAULT_UUID, GIB, SECOND_UUID, finish, run, wait_for
from pod_cgroups import pods_for
from tenant import (as_tenant, in_child, open_to_tenants, popen_as_tenant,
                    tenant_ids)
from wire import (EVICT, GPU_ACCEPTED, LOCK_OK, REGISTER_GPU, SET_MANAGED,
                  SWAP_OUT, Peer, client_of, gpu_of, log_has,
                  register_payload, status)
import struct
from core_matrix import gpu_share

GPUS = "%s:16Gi,%s:6Gi" % (DEFAULT_UUID, SECOND_UUID)
MIB = 1 << 20


class Held:
    """fn(ready_w, stop_r, *args) as the tenant (as this process with
    as_self), in a thread: it writes a byte to ready_w once its attack is
    in place and holds it until a byte comes on stop_r."""

    def __init__(self, fn, *args, as_self=False):
        self.ready_r, ready_w = os.pipe()
        stop_r, self.stop_w = os.pipe()
        self.result, self.error = None, None
        ids = None if as_self else tenant_ids()

        def body():
            try:
                self.result = in_child(ids, fn, ready_w, stop_r, *args)
            except Exception as e:  # reported by stop()
                self.error = e
        self.t = threading.Thread(target=body, daemon=True)
        self.t.start()

    def ready(self, timeout=30.0):
        r, _, _ = select.select([self.ready_r], [], [], timeout)
        if not r:
            raise AssertionError("tenant attack not in place: %s" %
                                 self.error)
        return os.read(self.ready_r, 1)

    def stop(self):
        os.write(self.stop_w, b"x")
        self.t.join(60)
        if self.error:
            raise self.error
        return self.result


def uuid_n(i):
    return "GPU-deadbeef-0000-0000-0000-%012d" % i


# --- the attacks (run as the tenant) ---------------------------------------
def poison_capacity(sock):
    p = Peer(sock, "poison")
    p.hello("poison")
    p.send(REGISTER_GPU, register_payload(DEFAULT_UUID, 1))
    _, cap = struct.unpack("=48sQ", p.expect(GPU_ACCEPTED))
    p.close()
    return cap


def fill_contexts(ready_w, stop_r, sock):
    peers, told = [], 0
    for c in range(4):
        p = Peer(sock, "fill%d" % c)
        p.hello("fill")
        for i in range(64):
            p.send(REGISTER_GPU, register_payload(uuid_n(c * 64 + i), GIB))
        peers.append(p)
    for p in peers:
        m = p.recv(3.0)
        told += m is not None and m[0] == SET_MANAGED
    os.write(ready_w, b"x")
    os.read(stop_r, 1)
    closed = sum(p.wait_closed(0.2) is not None for p in peers)
    for p in peers:
        p.close()
    return told, closed


def fill_billing(ready_w, stop_r, sock, n):
    peers = []
    for i in range(n):
        try:
            p = Peer(sock, "bill%d" % i)
            p.hello("idle")
            p.register(DEFAULT_UUID)
            peers.append(p)
        except Exception:  # refused or cut off: fewer registrations
            break
    os.write(ready_w, b"x")
    os.read(stop_r, 1)
    for p in peers:
        p.close()
    return len(peers)


def forge_swaps(sock):
    p = Peer(sock, "forger")
    p.hello("forger")
    p.register(SECOND_UUID)
    p.mem(SECOND_UUID, GIB)
    for _ in range(80):
        p.swap(SECOND_UUID, SWAP_OUT, MIB, (1 << 64) - 1)
    # A lock round trip: every report was read before it.
    p.req(SECOND_UUID)
    p.expect(LOCK_OK, 5.0)
    p.release(SECOND_UUID)
    open_still = p.wait_closed(0.3) is None
    p.close()
    return open_still


# --- the checks -------------------------------------------------------------
def check_capacity(env, c):
    cap = as_tenant(poison_capacity, env.socket)
    c.check(cap == 16 * GIB, "1: the tenant's total_bytes=1 is not the "
            "capacity: GPU_ACCEPTED says %d" % cap)
    g = gpu_of(status(env), DEFAULT_UUID)
    c.check(g["capacity_bytes"] == 16 * GIB,
            "1: status shows capacity 16 GiB (%d)" % g["capacity_bytes"])
    rc, res, err = finish(env.gpuload("--mem", "8Gi", "--kernel-ms", 5,
                                      "--kernels", 5, "--verify", "16Mi"),
                          timeout=60)
    c.check(rc == 0 and res and res["error"] is None and res["verified"],
            "1: an 8 GiB victim runs and verifies its bytes (rc %d, %s)" %
            (rc, (res or {}).get("error")))


def check_contexts(env, c):
    held = Held(fill_contexts, env.socket)
    held.ready()
    v = env.gpuload("--mem", "1Gi", "--kernel-ms", 20, "--seconds", 3)
    try:
        wait_for(lambda: env.gpu_state(v.pid) is not None, 10.0,
                 "the victim managed")
        managed = True
    except AssertionError:
        managed = False
    c.check(managed, "2: a victim on the real GPU is managed (in status)")
    told, closed = held.stop()
    c.check(told == 4, "2: each of the 4 tenant connections was told to run "
            "unmanaged (%d)" % told)
    c.check(closed == 0, "2: and kept, not cut off (%d closed)" % closed)
    st = status(env)
    c.check(all(not g["uuid"].startswith("GPU-deadbeef") for g in st["gpus"]),
            "2: no made-up UUID in the GPU table (%d GPUs)" % len(st["gpus"]))
    c.check(log_has(env, 'event=gpu_refused gpu=' + uuid_n(0)),
            "2: the refusal is logged")
    rc, res, _ = finish(v, timeout=60)
    c.check(rc == 0 and res and res["error"] is None,
            "2: the victim ran (rc %d)" % rc)


def check_refused_library(env, c):
    """A scheduler that knows no GPU (no NVML, no --gpu-memory): the
    library is refused once, runs unmanaged, and does not reconnect."""
    sock = os.path.join(env.tmp, "nogpu.sock")
    log = os.path.join(env.tmp, "nogpu.log")
    senv = env.environ(preload=False)
    senv["LD_LIBRARY_PATH"] = os.path.join(env.tmp, "nowhere")
    with open(log, "ab") as f:
        s = subprocess.Popen([env.path("bin", "nvshare-scheduler"),
                              "--socket", sock, "--host-swap-budget",
                              "none"], env=senv, stdout=f,
                             stderr=subprocess.STDOUT)
    env.procs.append(s)
    wait_for(lambda: os.path.exists(sock), 5.0, "second scheduler")
    rc, res, err = finish(env.gpuload("--kernel-ms", 20, "--seconds", 3,
                                      extra_env={"NVSHARE_SOCKET": sock}),
                          timeout=60)
    s.terminate()
    s.wait(10)
    text = open(log).read()
    c.check("event=nvml_unavailable" in text,
            "2: without NVML the scheduler says so at start")
    c.check(rc == 0 and res and res["error"] is None,
            "2: a client of an unknown GPU runs unmanaged (rc %d)" % rc)
    c.check(text.count("event=hello") == 1 and
            "event=gpu_refused" in text,
            "2: refused once, no reconnect loop (%d HELLOs in 3 s)" %
            text.count("event=hello"))


def check_billing(env, c):
    held = Held(fill_billing, env.socket, 256)
    held.ready(60.0)
    if tenant_ids() is not None:
        unbilled = sum(1 for cl in env.status()["clients"]
                       for g in cl["gpus"] if g.get("billed") is False)
        c.check(unbilled == 128, "4: status shows the 128 registrations "
                "past the tenant's share unbilled (%d)" % unbilled)
    v = env.gpuload("--kernel-ms", 2, "--seconds", 6,
                    extra_env={"NVSHARE_GPU_CORE_LIMIT": "20"})
    t0 = time.monotonic_ns() + int(1.5e9)
    time.sleep(4.5)
    t1 = time.monotonic_ns()
    v.kill()
    v.wait()
    n = held.stop()
    share = gpu_share(env.trace(), v.pid, t0, t1)
    c.check(n > 128, "4: the tenant made %d idle registrations" % n)
    c.check(share < 30.0, "4: the 20%% victim is still throttled (%.1f%% "
            "of the GPU, under 30)" % share)
    if tenant_ids() is not None:
        c.check(share > 5.0, "4: and billed, not held at zero (%.1f%%)" %
                share)
        c.check(log_has(env, 'reason="owner share used"'),
                "4: the tenant's registrations past its share are logged")


def check_billing_two_owners(env, c, pods):
    """The tenant and root fill the GPU's billing table, half each; a
    limited victim in a pod (an owner of its own, holding nothing) is
    billed all the same."""
    if tenant_ids() is None:
        print("4: two owners need a second user (not root): left out")
        return
    tenant = Held(fill_billing, env.socket, 256)
    tenant.ready(60.0)
    own = Held(fill_billing, env.socket, 128, as_self=True)
    own.ready(60.0)
    v = env.gpuload("--kernel-ms", 2, "--seconds", 6,
                    extra_env={"NVSHARE_GPU_CORE_LIMIT": "20"},
                    preexec_fn=pods.enter(pods.path(
                        "5e1f0000-0000-4000-8000-000000000004")))
    t0 = time.monotonic_ns() + int(1.5e9)
    time.sleep(4.5)
    t1 = time.monotonic_ns()
    billed = (env.gpu_state(v.pid) or {}).get("billed")
    v.kill()
    v.wait()
    n_tenant, n_own = tenant.stop(), own.stop()
    share = gpu_share(env.trace(), v.pid, t0, t1)
    # The tenant's first 128 registrations hold its share of entries,
    # root's 128 the rest: the table is full.
    c.check(n_tenant >= 128 and n_own >= 128, "4: the table is full "
            "(%d tenant and %d root registrations, 128 entries each)" %
            (n_tenant, n_own))
    c.check(5.0 < share < 30.0, "4: a 20%% victim in a pod is billed at "
            "its share, not held at zero (%.1f%% of the GPU, 5..30)" % share)
    c.check(log_has(env, "event=billing_evicted"),
            "4: the entry it took is logged")
    c.check(billed is True, "4: status says it is billed (%s)" % billed)


def victim_wait(env):
    """Seconds a 4 GiB victim takes behind a 4 GiB holder on the 6 GiB
    GPU (its own work: 3 kernels of 20 ms)."""
    h = env.gpuload("--device", 1, "--mem", "4Gi", "--kernel-ms", 20,
                    "--seconds", 30)
    env.wait_holding(h.pid)
    t = time.monotonic()
    rc, res, _ = finish(env.gpuload("--device", 1, "--mem", "4Gi",
                                    "--kernel-ms", 20, "--kernels", 3),
                        timeout=60)
    took = time.monotonic() - t
    h.kill()
    h.wait()
    return took if rc == 0 else float("inf")


def check_swaps(env, c):
    before = victim_wait(env)
    g0 = gpu_of(status(env), SECOND_UUID)
    open_still = as_tenant(forge_swaps, env.socket)
    g1 = gpu_of(status(env), SECOND_UUID)
    c.check(g1["swap_bw_out_bps"] == g0["swap_bw_out_bps"],
            "6: 80 forged reports leave the swap-out estimate (%d -> %d "
            "B/s)" % (g0["swap_bw_out_bps"], g1["swap_bw_out_bps"]))
    c.check(g1["swaps"] == g0["swaps"],
            "6: none counted as a swap (%d -> %d)" % (g0["swaps"],
                                                       g1["swaps"]))
    c.check(log_has(env, "event=swap_report_ignored"),
            "6: a warning names them")
    c.check(open_still, "6: the forger is not cut off for 80 reports")
    after = victim_wait(env)
    c.check(after <= before * 1.5 + 1.0,
            "6: the victim's wait behind a holder stays (%.2f s before, "
            "%.2f s after; bound %.2f)" % (before, after,
                                           before * 1.5 + 1.0))


def check_stopped_holder(env, c):
    env.scheduler.terminate()
    env.scheduler.wait(10)
    env.start_scheduler("--time-slice", "1000", "--release-grace", "1000")
    open_to_tenants(env)
    holder = popen_as_tenant(
        [env.path("bin", "gpuload"), "--mem", "10Gi", "--kernel-ms", "20",
         "--seconds", "30"], env.environ(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    env.procs.append(holder)
    env.wait_holding(holder.pid, timeout=20.0)
    os.kill(holder.pid, signal.SIGSTOP)
    try:
        v = env.gpuload("--mem", "10Gi", "--kernel-ms", 20, "--kernels", 10,
                        "--verify", "64Mi")
        # Slice 1 s, drop unanswered 1 s, eviction unanswered 1 s: by 6 s
        # the old scheduler had given the stopped holder's room away.
        time.sleep(6.0)
        s = env.gpu_state(v.pid) or {}
        c.check(v.poll() is None, "11: the victim has not failed while "
                "the holder is stopped")
        c.check(s.get("state") == "waiting" and
                s.get("wait_reason") == "memory",
                "11: it waits, for memory (%s, %s)" %
                (s.get("state"), s.get("wait_reason")))
        c.check(log_has(env, "event=evict_timeout"),
                "11: the unanswered eviction is logged")
    finally:
        os.kill(holder.pid, signal.SIGCONT)
    rc, res, err = finish(v, timeout=60)
    c.check(rc == 0 and res and res["error"] is None and res["verified"],
            "11: after SIGCONT the victim runs and verifies its bytes "
            "(rc %d, %s)" % (rc, (res or {}).get("error")))
    c.check("CUDA_ERROR" not in err, "11: no CUDA error in its output")
    holder.kill()
    holder.wait()


def check_refused_beside_known(env, c):
    """R (the library's messages) holds 10 GiB on the 16 GiB GPU, is
    evicted for an 8 GiB victim and swaps out, then registers a GPU the
    node does not know. A 4 GiB newcomer must wait for memory: 8 + 10 GiB
    are on the GPU (the old books said 8, and granted it at once)."""
    r = Peer(env.socket, "mixed")
    r.hello("mixed")
    r.register(DEFAULT_UUID)
    r.mem(DEFAULT_UUID, 10 * GIB)
    r.req(DEFAULT_UUID)
    r.expect(LOCK_OK, 5.0)
    r.release(DEFAULT_UUID)
    v1 = env.gpuload("--mem", "8Gi", "--kernel-ms", 20, "--seconds", 4,
                     "--verify", "64Mi")
    r.expect(EVICT, 10.0)
    r.swap(DEFAULT_UUID, SWAP_OUT, 10 * GIB, 500000000)
    env.wait_holding(v1.pid)
    r.send(REGISTER_GPU, register_payload(uuid_n(900), GIB))
    managed, = struct.unpack_from("=I", r.expect(SET_MANAGED))
    c.check(managed == 0, "12: the client is told to run unmanaged")
    st = status(env)
    mine = [e for e in client_of(st, r.id)["gpus"]
            if e["uuid"] == DEFAULT_UUID][0]
    c.check(mine["unmanaged"] and mine["resident_bytes"] == 10 * GIB and
            mine["swapped_bytes"] == 0,
            "12: status counts its 10 GiB on the GPU, unmanaged (%s, %d, "
            "%d)" % (mine["unmanaged"], mine["resident_bytes"],
                     mine["swapped_bytes"]))
    rows = [l.split() for l in env.ctl("status").stdout.splitlines()
            if l.split()[:1] == [str(r.id)]]
    c.check(any(DEFAULT_UUID in row and "unmanaged" in row for row in rows),
            "12: the text status says unmanaged (%s)" % rows)
    g = gpu_of(st, DEFAULT_UUID)
    c.check(g["resident_bytes"] == 18 * GIB,
            "12: the GPU's books hold 8 + 10 GiB (%.1f GiB)" %
            (g["resident_bytes"] / GIB))
    r.req(DEFAULT_UUID)
    v2 = env.gpuload("--mem", "4Gi", "--kernel-ms", 20, "--kernels", 10,
                     "--verify", "16Mi")
    seen = set()
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and v2.poll() is None:
        s = env.gpu_state(v2.pid) or {}
        seen.add((s.get("state"), s.get("wait_reason")))
        if ("waiting", "memory") in seen:
            break
        time.sleep(0.02)
    c.check(("waiting", "memory") in seen,
            "12: a 4 GiB newcomer waits for memory (seen %s)" % sorted(
                seen, key=str))
    c.check(r.quiet(2.0),
            "12: the client is sent nothing more: no lock for its later "
            "request, no EVICT, no DROP_LOCK")
    mine = [e for e in client_of(status(env), r.id)["gpus"]
            if e["uuid"] == DEFAULT_UUID][0]
    c.check(mine["state"] == "idle",
            "12: its later request is ignored: idle, not queued (%s)" %
            mine["state"])
    r.close()
    for name, v in (("the 8 GiB victim", v1), ("the newcomer", v2)):
        rc, res, _ = finish(v, timeout=60)
        c.check(rc == 0 and res and res["error"] is None and res["verified"],
                "12: %s runs and verifies its bytes (rc %d, %s)" %
                (name, rc, (res or {}).get("error")))


def main(env, c):
    pods = pods_for(env.tmp)
    env.start_scheduler()
    open_to_tenants(env)
    if tenant_ids() is None:
        print("not root: attackers run as this user")
    check_capacity(env, c)
    check_contexts(env, c)
    check_refused_library(env, c)
    check_billing(env, c)
    try:
        check_billing_two_owners(env, c, pods)
    finally:
        pods.remove()
    check_swaps(env, c)
    check_stopped_holder(env, c)
    check_refused_beside_known(env, c)


run(main, "security_claims", gpus=GPUS)
