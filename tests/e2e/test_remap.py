"""Remappable blocks: what cuMemAlloc gives under nvshare (lib/remap.c).

alloc_probe allocates and touches memory on command; the simulated driver
says what each process really holds on the GPU (fakecuda-stat: vmm_bytes
for physical VMM memory, managed_bytes for Unified Memory).

1. Under a scheduler, a block made before the process ever had the GPU is
   an address only: no GPU memory until its first gated call gets the
   lock. Charged all the same (cuMemGetInfo counts it).
2. Allocations that rounding to 2 MiB would inflate by more than an eighth
   stay Unified Memory; larger or whole ones are blocks.
3. An idle process whose memory is in a newcomer's way is swapped out:
   its GPU memory is really given back while the newcomer runs, and its
   bytes are there again when it next touches them.
4. Frees and a primary-context reset give back GPU memory and charge.
5. After the process gives the GPU back (idle), its new blocks wait for
   the next grant again.
6. Blocks that could not all be backed together (more than the GPU, with
   NVSHARE_SINGLE_OVERSUB=1) are not made, before a grant or while
   holding the GPU: those allocations are Unified Memory, which can
   oversubscribe.
7. Without a scheduler blocks are backed at once; NVSHARE_SWAP=unified
   gives Unified Memory; a bad NVSHARE_SWAP is reported and ignored.
8. The scheduler dies while a thread waits at the gate for a block made
   before any grant: the block gets its memory before the gate opens.
"""
import json
import time

from harness import GIB, AllocProbe, finish, run, wait_for

MIB = 1 << 20


def held(env, pid):
    """(vmm_bytes, managed_bytes) the simulated GPU 0 says pid holds."""
    for p in env.fake_stat()["processes"]:
        if p["pid"] == pid:
            d = p["devices"][0]
            return d["vmm_bytes"], d["managed_bytes"]
    return 0, 0


def deferred_until_grant(env, c):
    p = AllocProbe(env)
    a = p.alloc("alloc", 64 * MIB)
    c.check(a["rc"] == 0, "a 64 MiB cuMemAlloc succeeds before any grant")
    c.check(held(env, p.pid) == (0, 0),
            "before the grant it holds no GPU memory (%d, %d B)"
            % held(env, p.pid))
    c.check(p.used() == 64 * MIB, "but it is charged (%d B)" % p.used())
    c.check(p.cmd("touch %d 171" % a["id"])["rc"] == 0,
            "a memset waits for the lock and succeeds")
    c.check(held(env, p.pid) == (64 * MIB, 0),
            "after the grant the block is GPU memory (%d, %d B)"
            % held(env, p.pid))
    c.check(p.cmd("check %d 171" % a["id"]).get("ok") is True,
            "the memset's bytes read back")
    return p, a


def sizes(env, c, p):
    vmm0, man0 = held(env, p.pid)
    cases = [(1 * MIB, "unified"), (3 * MIB, "unified"),
             (15 * MIB, "block"), (4 * MIB, "block")]
    ids = []
    for n, want in cases:
        r = p.alloc("alloc", n)
        ids.append(r["id"])
        vmm, man = held(env, p.pid)
        got = ("block" if vmm > vmm0 and man == man0 else
               "unified" if man > man0 and vmm == vmm0 else "?")
        c.check(r["rc"] == 0 and got == want,
                "%d MiB: %s (vmm +%d, managed +%d)"
                % (n // MIB, got, vmm - vmm0, man - man0))
        vmm0, man0 = vmm, man
    for i in ids:
        p.cmd("free %d" % i)
    c.check(held(env, p.pid) == (64 * MIB, 0),
            "after the frees only the first block is held (%d, %d B)"
            % held(env, p.pid))


def swapped_out(env, c, p, a):
    # 16 GiB GPU: the probe's 64 MiB and this newcomer do not fit together.
    big = env.gpuload("--mem", "16340Mi", "--kernel-ms", 20, "--seconds", 1)
    gave_back = False
    while big.poll() is None and not gave_back:
        gave_back = held(env, p.pid)[0] == 0
        time.sleep(0.02)
    c.check(gave_back,
            "while the newcomer ran, the idle probe held no GPU memory")
    rc, res, _ = finish(big)
    c.check(rc == 0 and res and res["error"] is None,
            "the newcomer of 16340 MiB ran (%s)" % (res or {}).get("error"))
    c.check(p.cmd("check %d 171" % a["id"]).get("ok") is True,
            "the probe's bytes came back with its next gated call")
    c.check(held(env, p.pid)[0] == 64 * MIB,
            "and its block is GPU memory again (%d B)" % held(env, p.pid)[0])


def after_idle_release(env, c, p, a):
    before = held(env, p.pid)[0]
    deadline = time.monotonic() + 5
    while ((env.gpu_state(p.pid) or {}).get("state") == "holding" and
           time.monotonic() < deadline):
        time.sleep(0.05)
    b = p.alloc("alloc", 32 * MIB)
    c.check(b["rc"] == 0 and held(env, p.pid)[0] == before,
            "after an idle release a new block waits for the grant "
            "(held %d B, before %d B)" % (held(env, p.pid)[0], before))
    p.cmd("touch %d 2" % b["id"])
    c.check(held(env, p.pid)[0] == before + 32 * MIB,
            "and is backed by the next one")
    p.cmd("free %d" % b["id"])


def beyond_capacity(env, c):
    p = AllocProbe(env, {"NVSHARE_SINGLE_OVERSUB": "1"})
    small = p.alloc("alloc", 2 * MIB)
    rcs = [p.alloc("alloc", 2 * GIB)["rc"] for _ in range(9)]
    vmm, man = held(env, p.pid)
    c.check(rcs == [0] * 9 and (vmm, man) == (0, 4 * GIB),
            "18 GiB asked of a 16 GiB GPU before any grant: the last two "
            "2 GiB allocations are Unified Memory (held %d, %d B)"
            % (vmm, man))
    touch = p.cmd("touch %d 3" % small["id"])["rc"]
    vmm, man = held(env, p.pid)
    c.check(touch == 0 and vmm == 14 * GIB + 2 * MIB,
            "at the grant every block is backed (%d B)" % vmm)
    more = p.alloc("alloc", 2 * GIB)
    vmm2, man2 = held(env, p.pid)
    c.check(more["rc"] == 0 and (vmm2, man2) == (vmm, man + 2 * GIB),
            "holding the GPU, one more 2 GiB is Unified Memory too "
            "(%d, %d B)" % (vmm2, man2))
    err = p.close()
    c.check("swap_in_failed" not in err, "and none failed to be")


def frees_and_reset(env, c, p, a):
    c.check(p.cmd("free %d" % a["id"])["rc"] == 0 and
            held(env, p.pid) == (0, 0) and p.used() == 0,
            "cuMemFree gives back the GPU memory and the charge")
    b = p.alloc("alloc", 32 * MIB)
    p.cmd("touch %d 1" % b["id"])
    c.check(held(env, p.pid)[0] == 32 * MIB, "a new block is backed (held)")
    c.check(p.cmd("reset")["rc"] == 0 and held(env, p.pid) == (0, 0) and
            p.used() == 0,
            "a primary-context reset releases it: nothing held, nothing "
            "charged")
    # cudaDeviceReset of the CUDA 13 runtime takes the 7.0 entry point.
    b = p.alloc("alloc", 32 * MIB)
    p.cmd("touch %d 1" % b["id"])
    c.check(p.cmd("reset7000")["rc"] == 0 and held(env, p.pid) == (0, 0) and
            p.used() == 0,
            "so does a reset through the entry point cuGetProcAddress gives "
            "for version 7000")
    p.close()


def without_scheduler_and_env(env, c):
    nosched = {"NVSHARE_SOCKET": env.socket + ".absent"}
    p = AllocProbe(env, nosched)
    p.alloc("alloc", 64 * MIB)
    c.check(held(env, p.pid) == (64 * MIB, 0),
            "without a scheduler a block is GPU memory at once")
    p.close()
    p = AllocProbe(env, dict(nosched, NVSHARE_SWAP="unified"))
    p.alloc("alloc", 64 * MIB)
    c.check(held(env, p.pid) == (0, 64 * MIB),
            "NVSHARE_SWAP=unified: Unified Memory")
    p.close()
    p = AllocProbe(env, dict(nosched, NVSHARE_SWAP="vmm"))
    p.alloc("alloc", 64 * MIB)
    c.check(held(env, p.pid) == (64 * MIB, 0), "a bad NVSHARE_SWAP: blocks")
    err = p.close()
    c.check("var=NVSHARE_SWAP" in err, "and it is reported")


def scheduler_dies_while_waiting(env, c):
    env.ctl("set", "--mode", "serial", "--time-slice", "60000")
    holder = env.gpuload("--kernel-ms", 20, "--seconds", 20)
    wait_for(lambda: (env.gpu_state(holder.pid) or {}).get("state")
             == "holding", 10.0, "gpuload holding the GPU")
    p = AllocProbe(env)
    a = p.alloc("alloc", 64 * MIB)
    p.p.stdin.write("touch %d 5\n" % a["id"])  # waits at the gate
    p.p.stdin.flush()
    time.sleep(0.3)
    env.scheduler.kill()
    r = json.loads(p.p.stdout.readline())
    c.check(r["rc"] == 0 and held(env, p.pid)[0] == 64 * MIB,
            "the waiting memset ran on a backed block once the scheduler "
            "was gone (rc %d)" % r["rc"])
    c.check(p.cmd("check %d 5" % a["id"]).get("ok") is True,
            "and its bytes read back")
    p.close()
    holder.kill()


def main(env, c):
    env.start_scheduler()
    p, a = deferred_until_grant(env, c)
    sizes(env, c, p)
    swapped_out(env, c, p, a)
    after_idle_release(env, c, p, a)
    frees_and_reset(env, c, p, a)
    beyond_capacity(env, c)
    without_scheduler_and_env(env, c)
    scheduler_dies_while_waiting(env, c)


run(main, "remap")
