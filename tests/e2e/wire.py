"""Raw frames of the scheduler's wire protocol (the layouts of
common/proto.h, written with the struct module) and a fake client, Peer,
that speaks them: shared by the protocol, memory and security tests.
"""

import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import GIB  # noqa: E402
THIRD_UUID = "GPU-00000000-0000-0000-0000-000000000003"

MAGIC = 0x4853564E
VERSION = 4
HDR = struct.Struct("=IHHII")

HELLO, WELCOME, REGISTER_GPU, GPU_ACCEPTED = 1, 2, 3, 4
REQ_LOCK, LOCK_OK, DROP_LOCK, LOCK_RELEASED = 5, 6, 7, 8
MEM_UPDATE, SET_MANAGED, EVICT, SWAP_REPORT, WAITING = 9, 10, 11, 12, 13
MEM_GRANT, PREPARE_SWAP = 18, 19
CTL_STATUS, CTL_SET, CTL_REPLY = 64, 65, 66
NAMES = {1: "HELLO", 2: "WELCOME", 3: "REGISTER_GPU", 4: "GPU_ACCEPTED",
         5: "REQ_LOCK", 6: "LOCK_OK", 7: "DROP_LOCK", 8: "LOCK_RELEASED",
         9: "MEM_UPDATE", 10: "SET_MANAGED", 11: "EVICT",
         12: "SWAP_REPORT", 13: "WAITING", 64: "CTL_STATUS",
         18: "MEM_GRANT", 19: "PREPARE_SWAP", 65: "CTL_SET",
         66: "CTL_REPLY"}
KEY_TIME_SLICE_MS, KEY_MANAGED, KEY_MODE, KEY_MAX_RUN_MS = 1, 2, 3, 4
MODE_AUTO, MODE_SERIAL, MODE_CONCURRENT = 0, 1, 2
DROP_SWAP_OUT = 1
SWAP_OUT, SWAP_IN = 0, 1
WAIT_TURN, WAIT_MEMORY = 1, 2
FORMAT_TEXT, FORMAT_JSON = 0, 1


# --- frames (layouts of common/proto.h) -----------------------------------
def frame(mtype, payload, magic=MAGIC, version=VERSION, length=None,
          reserved=0):
    n = len(payload) if length is None else length
    return HDR.pack(magic, version, mtype, n, reserved) + payload


def hello_payload(comm, pid=None, ns=b"", pod=b"", container=b""):
    return struct.pack("=II64s256s64s32s", pid or os.getpid(), 0, ns, pod,
                       container, comm)


def uuid_field(uuid):
    return struct.pack("=48s", uuid.encode() if isinstance(uuid, str)
                       else uuid)


def register_payload(uuid, total):
    return uuid_field(uuid) + struct.pack("=Q", total)


MEM_SEQ = [0]


def mem_payload(uuid, nbytes, pinned=0):
    MEM_SEQ[0] += 1
    return uuid_field(uuid) + struct.pack("=QQQQ", nbytes, pinned, 0,
                                          MEM_SEQ[0])


def swap_payload(uuid, direction, nbytes, ns):
    return uuid_field(uuid) + struct.pack("=IIQQ", direction, 0, nbytes, ns)


def drop_flags(payload):
    """Flags of a DROP_LOCK payload (struct nvs_drop_lock)."""
    uuid, flags, reserved = struct.unpack("=48sII", payload)
    assert reserved == 0, "DROP_LOCK reserved field"
    return flags


def waiting_fields(payload):
    """(reason, need_bytes, free_bytes) of a WAITING payload."""
    _, reason, reserved, need, free = struct.unpack("=48sIIQQ", payload)
    assert reserved == 0, "WAITING reserved field"
    return reason, need, free


class Closed(Exception):
    pass


class Peer:
    """One connection to the scheduler, sending and reading raw frames."""

    def __init__(self, path, name="peer"):
        self.name = name
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.id = None
        # WAITING messages are set aside as they come (a waiter may be told
        # why it waits at any time); waiting() hands them out in order.
        self.waits = []
        self.grants = []  # MEM_GRANTs set aside: (granted_bytes, seq)
        self.prepares = 0  # PREPARE_SWAPs set aside

    def send(self, mtype, payload=b""):
        self.s.sendall(frame(mtype, payload))

    def raw(self, data):
        self.s.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.s.settimeout(remaining)
        try:
            data = self.s.recv(65536)
        except socket.timeout:
            return False
        if not data:
            raise Closed(self.name)
        self.buf += data
        return True

    def recv(self, timeout, keep_waiting=False):
        """Next (type, payload), or None if nothing came in time. WAITING
        is set aside (see waiting()) unless keep_waiting."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= HDR.size:
                magic, ver, mtype, length, _ = HDR.unpack_from(self.buf)
                if magic != MAGIC or ver != VERSION:
                    raise AssertionError("garbage from scheduler")
                if len(self.buf) >= HDR.size + length:
                    payload = self.buf[HDR.size:HDR.size + length]
                    self.buf = self.buf[HDR.size + length:]
                    if mtype == WAITING and not keep_waiting:
                        self.waits.append(waiting_fields(payload))
                        continue
                    if mtype == MEM_GRANT and not keep_waiting:
                        self.grants.append(
                            struct.unpack_from("=QQ", payload, 48))
                        continue
                    if mtype == PREPARE_SWAP and not keep_waiting:
                        self.prepares += 1
                        continue
                    return mtype, payload
            if not self._fill(deadline):
                return None

    def waiting(self, timeout=2.0):
        """The next WAITING: (reason, need_bytes, free_bytes)."""
        if not self.waits:
            p = self.expect(WAITING, timeout, keep_waiting=True)
            self.waits.append(waiting_fields(p))
        return self.waits.pop(0)

    def expect(self, mtype, timeout=2.0, keep_waiting=False):
        m = self.recv(timeout, keep_waiting)
        if m is None:
            raise AssertionError("%s: no %s within %.1fs" %
                                 (self.name, NAMES[mtype], timeout))
        if m[0] != mtype:
            raise AssertionError("%s: got %s, expected %s" %
                                 (self.name, NAMES.get(m[0], m[0]),
                                  NAMES[mtype]))
        return m[1]

    def quiet(self, seconds):
        """True if nothing arrives for that long."""
        return self.recv(seconds) is None

    def wait_closed(self, timeout=3.0):
        """'eof' once the scheduler closes the connection, 'reset' on a
        reset, None if it stays open."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                if not self._fill(deadline):
                    return None
                self.buf = b""
        except Closed:
            return "eof"
        except ConnectionResetError:
            return "reset"

    # The lock protocol, the way libnvshare speaks it.
    def hello(self, comm):
        self.send(HELLO, hello_payload(comm.encode()))
        cid, managed, _ = struct.unpack("=QII", self.expect(WELCOME))
        self.id = cid
        return cid, managed

    def register(self, uuid, total=16 * GIB):
        self.send(REGISTER_GPU, register_payload(uuid, total))
        p = self.expect(GPU_ACCEPTED)
        u, cap = struct.unpack("=48sQ", p)
        return u.rstrip(b"\0").decode(), cap

    def req(self, uuid):
        self.send(REQ_LOCK, uuid_field(uuid))

    def release(self, uuid):
        self.send(LOCK_RELEASED, uuid_field(uuid))

    def mem(self, uuid, nbytes):
        self.send(MEM_UPDATE, mem_payload(uuid, nbytes))

    def swap(self, uuid, direction, nbytes, ns):
        self.send(SWAP_REPORT, swap_payload(uuid, direction, nbytes, ns))

    def close(self):
        self.s.close()


def ctl(env, mtype, payload):
    """One control request on its own connection: (status, text)."""
    p = Peer(env if isinstance(env, str) else env.socket, "ctl")
    try:
        p.send(mtype, payload)
        body = p.expect(CTL_REPLY, 5.0)
        status, tlen = struct.unpack_from("=iI", body)
        assert tlen == len(body) - 8, "CTL_REPLY text length"
        return status, body[8:].decode()
    finally:
        p.close()


def ctl_set(env, key, value):
    return ctl(env, CTL_SET, struct.pack("=IIq", key, 0, value))


def status(env):
    st, text = ctl(env, CTL_STATUS, struct.pack("=II", FORMAT_JSON, 0))
    assert st == 0, "CTL_STATUS failed: %d %s" % (st, text)
    return json.loads(text)


def gpu_of(st, uuid):
    for g in st["gpus"]:
        if g["uuid"] == uuid:
            return g
    raise AssertionError("GPU %s not in status" % uuid)


def client_of(st, cid):
    for c in st["clients"]:
        if c["id"] == cid:
            return c
    return None


def log_has(env, text, timeout=3.0):
    try:
        harness.wait_for(lambda: text in env.scheduler_log(), timeout, text)
        return True
    except AssertionError:
        return False


# --- scenarios ---------------------------------------------------------------
