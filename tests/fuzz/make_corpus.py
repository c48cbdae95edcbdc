#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/):
one small file per case, so that the fuzzers start from every message type
the protocol has and from the sequences the scheduler sees in real use.

    python3 tests/fuzz/make_corpus.py   # rewrites the corpus in place

The layouts are those of common/proto.h; the record format of fuzz_control
is described at the top of fuzz_control.c.
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MAGIC, VERSION = 0x4853564E, 4
HDR = struct.Struct("=IHHII")
U1 = b"GPU-00000000-0000-0000-0000-000000000001"
U2 = b"GPU-00000000-0000-0000-0000-000000000002"

(HELLO, WELCOME, REGISTER_GPU, GPU_ACCEPTED, REQ_LOCK, LOCK_OK, DROP_LOCK,
 LOCK_RELEASED, MEM_UPDATE, SET_MANAGED, EVICT, SWAP_REPORT, WAITING, LIMITS,
 SET_LIMITS, USAGE, THROTTLE, MEM_GRANT, PREPARE_SWAP, PING,
 PONG) = range(1, 22)
CTL_STATUS, CTL_SET, CTL_REPLY, CTL_SET_CLIENT = 64, 65, 66, 67


def frame(t, payload, length=None):
    return HDR.pack(MAGIC, VERSION, t, len(payload) if length is None
                    else length, 0) + payload


def uuid(u=U1):
    return struct.pack("=48s", u)


def hello(comm=b"gpuload", ns=b"", pod=b"", container=b""):
    return struct.pack("=II64s256s64s32s", 4242, 0, ns, pod, container, comm)


def ctl_status(fmt, flags=0, after=0, legacy=False):
    if legacy:
        return struct.pack("=II", fmt, 0)
    return struct.pack("=IIQ", fmt, flags, after)


def set_client(cid, key, value, ns=b"", pod=b""):
    return struct.pack("=Q64s256sIIq", cid, ns, pod, key, 0, value)


# Every message, valid, as the wire carries it.
MESSAGES = {
    "hello": (HELLO, hello(b"train", b"team-a", b"pod-1", b"main")),
    "welcome": (WELCOME, struct.pack("=QII", 7, 1, 0)),
    "register": (REGISTER_GPU, uuid() + struct.pack("=Q", 16 << 30)),
    "accepted": (GPU_ACCEPTED, uuid() + struct.pack("=Q", 16 << 30)),
    "req_lock": (REQ_LOCK, uuid()),
    "lock_ok": (LOCK_OK, uuid()),
    "drop_lock": (DROP_LOCK, uuid() + struct.pack("=II", 1, 0)),
    "released": (LOCK_RELEASED, uuid()),
    "mem_update": (MEM_UPDATE, uuid() + struct.pack("=QQQQ", 1 << 30,
                                                    1 << 20, 0, 1)),
    "set_managed": (SET_MANAGED, struct.pack("=II", 0, 0)),
    "evict": (EVICT, uuid()),
    "swap_report": (SWAP_REPORT, uuid() + struct.pack("=IIQQ", 0, 0, 1 << 30,
                                                      200000000)),
    "waiting": (WAITING, uuid() + struct.pack("=IIQQ", 2, 0, 8 << 30,
                                              1 << 30)),
    "limits": (LIMITS, struct.pack("=QII", 4 << 30, 40, 0)),
    "set_limits": (SET_LIMITS, struct.pack("=QII", 0, 20, 0)),
    "usage": (USAGE, uuid() + struct.pack("=qQ", 100000, 5000000)),
    "throttle": (THROTTLE, uuid() + struct.pack("=II", 1, 1)),
    "mem_grant": (MEM_GRANT, uuid() + struct.pack("=QQ", 1 << 30, 1)),
    "prepare_swap": (PREPARE_SWAP, uuid()),
    "ping": (PING, struct.pack("=Q", 9)),
    "pong": (PONG, struct.pack("=Q", 9)),
    "ctl_status_text": (CTL_STATUS, ctl_status(0)),
    "ctl_status_json_paged": (CTL_STATUS, ctl_status(1, 1, 12)),
    "ctl_status_legacy": (CTL_STATUS, ctl_status(1, legacy=True)),
    "ctl_set": (CTL_SET, struct.pack("=IIq", 1, 0, 250)),
    "ctl_set_client": (CTL_SET_CLIENT, set_client(0, 5, 1 << 30, b"team-a",
                                                  b"pod-1")),
    "ctl_reply": (CTL_REPLY, struct.pack("=iI", 0, 14) + b"page next=0\nok"),
}

# fuzz_control: the peer's message types by index (fuzz_control.c types[]).
TYPES = [HELLO, REGISTER_GPU, REQ_LOCK, LOCK_RELEASED, MEM_UPDATE,
         SWAP_REPORT, LIMITS, USAGE, PING, CTL_STATUS, CTL_SET,
         CTL_SET_CLIENT]


def op(peer, kind):
    return bytes([(kind << 3) | peer])


def msg(peer, t, payload, fix_uuid=None, legacy=False):
    """A kind 0 record (raw payload) or, with fix_uuid, a kind 1 one."""
    tb = TYPES.index(t) | (0x80 if legacy else 0)
    size = len(payload)
    if fix_uuid is None:
        return op(peer, 0) + bytes([tb]) + payload[:size]
    return op(peer, 1) + bytes([tb, fix_uuid]) + payload


def pages(peer, fmt):
    return op(peer, 2) + bytes([fmt])


def paging_check(budget_byte):
    return op(0, 3) + bytes([budget_byte])


def tick(peer, ms):
    return op(peer, 4) + struct.pack("=H", ms)


def leave(peer):
    return op(peer, 5)


def raw(peer, data):
    return op(peer, 6) + bytes([len(data)]) + data


def client(peer, comm, ns=b"", pod=b"", gb=1):
    """HELLO, LIMITS, REGISTER_GPU, MEM_UPDATE, REQ_LOCK of one client."""
    return (msg(peer, HELLO, hello(comm, ns, pod)) +
            msg(peer, LIMITS, struct.pack("=QII", 0, 0, 0)) +
            msg(peer, REGISTER_GPU, uuid() + struct.pack("=Q", 16 << 30), 0) +
            msg(peer, MEM_UPDATE, uuid() + struct.pack(
                "=QQQQ", gb << 30, 0, 0, 1), 0) +
            msg(peer, REQ_LOCK, uuid(), 0))


CONTROL = {
    "status_empty": b"\0" + msg(0, CTL_STATUS, ctl_status(1)),
    "status_legacy_text": b"\0" + msg(0, CTL_STATUS, ctl_status(0),
                                      legacy=True),
    "two_clients_status": b"\0" + client(0, b"a") + client(1, b"b", gb=12) +
    tick(0, 50) + pages(2, 1) + pages(2, 0),
    "long_identities": b"\1" + client(0, b"x" * 31, b"n" * 63, b"\x01" * 255)
    + client(1, b"\xff" * 31, b"ns", b"p\"\\" * 80) + paging_check(4) +
    paging_check(40) + pages(3, 1),
    "set_each_key": b"\1" + client(0, b"a") +
    msg(1, CTL_SET, struct.pack("=IIq", 1, 0, 1234)) +
    msg(1, CTL_SET, struct.pack("=IIq", 1, 0, -1)) +
    msg(1, CTL_SET, struct.pack("=IIq", 2, 0, 0)) +
    msg(1, CTL_SET, struct.pack("=IIq", 2, 0, 1)) +
    msg(1, CTL_SET, struct.pack("=IIq", 3, 0, 1)) +
    msg(1, CTL_SET, struct.pack("=IIq", 4, 0, 5000)) +
    msg(1, CTL_SET, struct.pack("=IIq", 1, 0, 0)),
    "set_client_and_pod": b"\0" + client(0, b"a", b"team", b"pod-1") +
    msg(1, CTL_SET_CLIENT, set_client(1, 6, 30)) +
    msg(1, CTL_SET_CLIENT, set_client(0, 5, 1 << 30, b"team", b"pod-1")) +
    msg(1, CTL_SET_CLIENT, set_client(0, 6, -1, b"", b"pod-2")) +
    tick(0, 1000) + pages(1, 0),
    "denied_peer": b"\0" + msg(6, CTL_SET, struct.pack("=IIq", 2, 0, 0)) +
    msg(7, CTL_STATUS, ctl_status(1, 1, 0)),
    "swap_and_usage": b"\0" + client(0, b"a", gb=10) + client(1, b"b", gb=10)
    + tick(0, 3000) +
    msg(0, SWAP_REPORT, uuid() + struct.pack("=IIQQ", 0, 0, 10 << 30,
                                             900000000), 0) +
    msg(0, LOCK_RELEASED, uuid(), 0) + tick(1, 100) +
    msg(1, USAGE, uuid() + struct.pack("=qQ", 100100, 4000000), 0) +
    pages(2, 1) + leave(0) + leave(1) + pages(2, 1),
    "garbage": b"\0" + raw(0, b"\xff" * 20) + raw(1, frame(WELCOME, b"\0" * 16))
    + client(2, b"c") + raw(2, frame(CTL_REPLY, b"\0" * 8, 1 << 20)),
    "second_gpu_and_unknown": b"\0" + client(0, b"a") +
    msg(0, REGISTER_GPU, uuid(U2) + struct.pack("=Q", 1), 1) +
    msg(0, REGISTER_GPU, uuid() + struct.pack("=Q", 1), 2) + pages(1, 1),
}


def write(target, cases):
    d = os.path.join(HERE, "corpus", target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in sorted(cases.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    proto = {}
    for name, (t, p) in MESSAGES.items():
        # Byte 0 of a fuzz_proto input is where the stream is cut.
        proto[name] = b"\x80" + frame(t, p)
    proto["stream"] = b"\x40" + b"".join(
        frame(t, p) for t, p in MESSAGES.values())
    proto["short_length"] = b"\0" + frame(HELLO, hello(), 10)
    proto["bad_magic"] = b"\0" + b"XXXX" + frame(PING, b"\0" * 8)[4:]
    write("fuzz_proto", proto)
    write("fuzz_control", CONTROL)


if __name__ == "__main__":
    main()
