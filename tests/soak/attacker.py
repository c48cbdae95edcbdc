"""A hostile tenant for the churn soak (tests/soak/soak.py runs it as the
unprivileged user): until --seconds have passed it keeps doing, in turn,
what issue 11 found a tenant could do with hand-written frames. Every
attack must cost the attacker only; the soak checks the victims.

usage: attacker.py --socket PATH --uuid UUID --seconds S (the soak calls
attack() in a child that dropped to the tenant)
"""
import argparse
import functools
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
from wire import (HELLO, MEM_UPDATE, REGISTER_GPU,  # noqa: E402
                  SWAP_REPORT, SWAP_OUT, Closed, Peer, frame, hello_payload,
                  mem_payload, register_payload, swap_payload)

GIB = 1 << 30


def quietly(fn):
    """An attack that the scheduler cuts short is an attack that failed:
    fine."""
    @functools.wraps(fn)
    def wrapped(*a):
        try:
            fn(*a)
        except (OSError, Closed, AssertionError):
            pass
    return wrapped


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2.0)
    s.connect(path)
    return s


@quietly
def poison_capacity(path, uuid):
    p = Peer(path, "poison")
    p.send(HELLO, hello_payload(b"poison"))
    p.send(REGISTER_GPU, register_payload(uuid, 1))
    p.quiet(0.1)
    p.close()


@quietly
def fill_gpu_table(path, uuid):
    p = Peer(path, "table")
    p.send(HELLO, hello_payload(b"table"))
    for i in range(64):
        p.send(REGISTER_GPU, register_payload(
            "GPU-%08x-dead-beef-0000-%012d" % (random.getrandbits(32), i),
            16 * GIB))
    p.quiet(0.2)
    p.close()


@quietly
def idle_connections(path, uuid):
    socks = []
    for _ in range(200):
        try:
            socks.append(connect(path))
        except OSError:
            break
    time.sleep(1.0)
    for s in socks:
        s.close()


@quietly
def garbage(path, uuid):
    for _ in range(20):
        try:
            s = connect(path)
            s.sendall(os.urandom(random.randint(1, 4096)))
            s.sendall(frame(random.randint(0, 200), os.urandom(64)))
            s.close()
        except OSError:
            pass


@quietly
def forged_swaps(path, uuid):
    p = Peer(path, "swapper")
    p.send(HELLO, hello_payload(b"swapper"))
    p.send(REGISTER_GPU, register_payload(uuid, 16 * GIB))
    for _ in range(80):
        p.send(SWAP_REPORT, swap_payload(uuid, SWAP_OUT, 1 << 20,
                                         (1 << 64) - 1))
    p.quiet(0.2)
    p.close()


@quietly
def idle_registrations(path, uuid):
    peers = []
    for i in range(40):
        p = Peer(path, "idle%d" % i)
        p.send(HELLO, hello_payload(b"idle"))
        p.send(REGISTER_GPU, register_payload(uuid, 16 * GIB))
        peers.append(p)
    time.sleep(1.0)
    for p in peers:
        p.close()


@quietly
def greedy_holder(path, uuid):
    """Asks for the lock with a huge claimed allocation, then never
    answers anything."""
    p = Peer(path, "greedy")
    p.send(HELLO, hello_payload(b"greedy"))
    p.send(REGISTER_GPU, register_payload(uuid, 16 * GIB))
    p.send(MEM_UPDATE, mem_payload(uuid, 15 * GIB))
    p.req(uuid)
    time.sleep(2.0)
    p.close()


ATTACKS = [poison_capacity, fill_gpu_table, idle_connections, garbage,
           forged_swaps, idle_registrations, greedy_holder]


def attack(path, uuid, seconds):
    """Attacks in turn for `seconds`; prints how many of each it made."""
    end = time.monotonic() + seconds
    counts = dict((f.__name__, 0) for f in ATTACKS)
    while time.monotonic() < end:
        f = random.choice(ATTACKS)
        f(path, uuid)
        counts[f.__name__] += 1
        time.sleep(random.uniform(0.5, 3.0))
    print("attacker: " + " ".join("%s=%d" % kv
                                  for kv in sorted(counts.items())),
          flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--uuid", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    a = ap.parse_args()
    attack(a.socket, a.uuid, a.seconds)


if __name__ == "__main__":
    main()
