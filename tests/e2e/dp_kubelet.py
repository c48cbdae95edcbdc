"""A test double of the kubelet's device manager, over real gRPC.

It speaks deviceplugin/api.proto (the stubs are generated into the test's
temporary directory with grpc_tools, from the same file the plugin is
built from): it serves Registration on kubelet.sock, and when a plugin
registers it connects back to the plugin's socket, keeps a ListAndWatch
stream open and records every list it is sent, with the time it came.
restart() does what a restarting kubelet does to the directory: every
socket in it is deleted, then kubelet.sock is created anew.

Debian's python3-grpcio and python3-grpc-tools belong to /usr/bin/python3:
use_debian_python() re-executes a test with it when the interpreter that
started it lacks them.
"""

import os
import subprocess
import sys
import threading
import time
from concurrent import futures


def use_debian_python():
    try:
        import grpc  # noqa: F401
        import grpc_tools  # noqa: F401
        return
    except ImportError:
        pass
    deb = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(deb) and \
            os.path.exists(deb):
        os.execv(deb, [deb] + sys.argv)
    raise SystemExit("python3-grpcio and python3-grpc-tools are needed "
                     "(scripts/deps.sh test installs them)")


def load_stubs(tmp):
    """Generates api_pb2 / api_pb2_grpc from deviceplugin/api.proto."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                       "deviceplugin")
    out = os.path.join(tmp, "stubs")
    os.makedirs(out, exist_ok=True)
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", src,
                    "--python_out=" + out, "--grpc_python_out=" + out,
                    os.path.join(src, "api.proto")], check=True)
    sys.path.insert(0, out)
    import api_pb2
    import api_pb2_grpc
    return api_pb2, api_pb2_grpc


class Kubelet:
    def __init__(self, directory, pb, pbg):
        import grpc
        self.grpc = grpc
        self.dir = directory
        self.pb, self.pbg = pb, pbg
        self.lock = threading.Lock()
        self.registrations = []   # (time, RegisterRequest)
        self.lists = []           # (time, [(id, health, numa)], stream no)
        self.streams = 0
        self.channel = None
        self.stub = None
        self.server = None
        os.makedirs(directory, exist_ok=True)
        self.start()

    @property
    def socket(self):
        return os.path.join(self.dir, "kubelet.sock")

    # --- Registration service ---------------------------------------------
    def start(self):
        kubelet = self

        class Registration(self.pbg.RegistrationServicer):
            def Register(self, request, context):
                with kubelet.lock:
                    kubelet.registrations.append((time.monotonic(), request))
                threading.Thread(target=kubelet._watch,
                                 args=(request.endpoint,),
                                 daemon=True).start()
                return kubelet.pb.Empty()

        self.server = self.grpc.server(futures.ThreadPoolExecutor(4))
        self.pbg.add_RegistrationServicer_to_server(Registration(),
                                                    self.server)
        self.server.add_insecure_port("unix://" + self.socket)
        self.server.start()

    def stop(self):
        if self.server:
            self.server.stop(0)
            self.server = None
        if self.channel:
            self.channel.close()
            self.channel = None

    def restart(self):
        """Stops, deletes every socket of the directory, starts again."""
        self.stop()
        for name in os.listdir(self.dir):
            if name.endswith(".sock"):
                os.unlink(os.path.join(self.dir, name))
        self.start()

    # --- the plugin's side ---------------------------------------------------
    def _watch(self, endpoint):
        ch = self.grpc.insecure_channel(
            "unix://" + os.path.join(self.dir, endpoint))
        stub = self.pbg.DevicePluginStub(ch)
        with self.lock:
            if self.channel:
                self.channel.close()
            self.channel, self.stub = ch, stub
            self.streams += 1
            no = self.streams
        try:
            for resp in stub.ListAndWatch(self.pb.Empty()):
                devs = [(d.ID, d.health,
                         [n.ID for n in d.topology.nodes])
                        for d in resp.devices]
                with self.lock:
                    self.lists.append((time.monotonic(), devs, no))
        except self.grpc.RpcError:
            pass  # the stream ends when the plugin or we go away

    def last_list(self):
        with self.lock:
            return self.lists[-1] if self.lists else None

    def lists_since(self, t):
        with self.lock:
            return [x for x in self.lists if x[0] >= t]

    def options(self):
        return self.stub.GetDevicePluginOptions(self.pb.Empty(), timeout=5)

    def prefer(self, available, size, must=()):
        req = self.pb.PreferredAllocationRequest(container_requests=[
            self.pb.ContainerPreferredAllocationRequest(
                available_deviceIDs=list(available),
                must_include_deviceIDs=list(must), allocation_size=size)])
        r = self.stub.GetPreferredAllocation(req, timeout=10)
        return list(r.container_responses[0].deviceIDs)

    def allocate(self, ids):
        req = self.pb.AllocateRequest(container_requests=[
            self.pb.ContainerAllocateRequest(devices_ids=list(ids))])
        return self.stub.Allocate(req, timeout=10).container_responses[0]


def gpu_of(device_id):
    return device_id.split("::")[0]


def pod_environ(env, resp, extra=None):
    """What a container given resp would see, on this machine. Container
    paths are read through the response's mounts (so that the mounts are
    what makes it work). The simulated driver shows every GPU to every
    process (its shared state is made for one device list), so the GPU a
    runtime would show alone is named by its ordinal: returns the
    environment and the ordinals of NVIDIA_VISIBLE_DEVICES."""
    envs = dict(resp.envs)
    mounts = [(m.container_path, m.host_path) for m in resp.mounts]

    def host(path):
        for c, h in mounts:
            if path == c or path.startswith(c.rstrip("/") + "/"):
                return h + path[len(c):]
        raise AssertionError("%s is in no mount of the response" % path)

    e = env.environ(preload=False, extra=extra)
    uuids = [g.split(":")[0] for g in env.gpus.split(",")]
    ordinals = [uuids.index(u)
                for u in envs["NVIDIA_VISIBLE_DEVICES"].split(",")]
    e["LD_PRELOAD"] = host(envs["LD_PRELOAD"])
    e["NVSHARE_SOCKET"] = host(envs["NVSHARE_SOCKET"])
    e["NVSHARE_ALLOCATION_ID"] = envs["NVSHARE_ALLOCATION_ID"]
    return e, ordinals


def start_plugin(env, kubelet_dir, *args):
    log = open(os.path.join(env.tmp, "plugin.log"), "ab")
    e = env.environ(preload=False, extra={"NVSHARE_LOG": "info"})
    p = subprocess.Popen(
        [env.path("bin", "nvshare-device-plugin"),
         "--kubelet-dir", kubelet_dir,
         "--scheduler-socket", env.socket,
         "--host-lib-dir", env.path("lib"),
         "--nvml", env.path("fakecuda", "libnvidia-ml.so.1")] + list(args),
        env=e, stdout=log, stderr=subprocess.STDOUT)
    env.procs.append(p)
    return p


def plugin_log(env):
    try:
        with open(os.path.join(env.tmp, "plugin.log"), "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""
