#!/usr/bin/env python3
"""nvshare-device-plugin against a kubelet double over real gRPC.

4 simulated GPUs (NUMA nodes 0,0,1,1), 4 slots each:
  - registration: version v1beta1, the resource name, the endpoint, and
    GetPreferredAllocation announced;
  - ListAndWatch lists 16 devices, all healthy, with their NUMA node;
  - a critical XID (79) on one GPU: its 4 devices are pushed unhealthy
    within 1 s, the others stay healthy; an application XID (13) pushes
    nothing; with --xid-hold 2 the GPU is pushed healthy again within 1 s
    of the hold's end; a GPU that disappears is pushed unhealthy, and
    healthy again when it is back, each within 1 s;
  - Allocate's content: NVIDIA_VISIBLE_DEVICES, LD_PRELOAD, NVSHARE_SOCKET,
    the allocation id, the socket's directory (not the socket) and the
    library directory read-only, CDI names; an unknown device is refused;
    a request for 2 devices gets 2 GPUs; must-include is honoured;
  - kubelet restart (sockets deleted, kubelet.sock re-created): registered
    again within 5 s, and a new ListAndWatch stream lists the devices;
  - the plugin killed and restarted while two pods' processes run on the
    scheduler: they keep running and finish their work, and the plugin
    registers again within 5 s.
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dp_kubelet  # noqa: E402

dp_kubelet.use_debian_python()

from harness import finish, run, wait_for  # noqa: E402

UUIDS = ["GPU-00000000-0000-0000-0000-00000000000%d" % i for i in (1, 2, 3, 4)]
GPUS = ",".join("%s:16Gi" % u for u in UUIDS)
SLOTS = 4


def health_of(devs, uuid):
    return {h for (i, h, _) in devs if dp_kubelet.gpu_of(i) == uuid}


def wait_list(k, since, pred, timeout):
    """Seconds after since until a pushed list satisfies pred, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for (t, devs, _) in k.lists_since(since):
            if pred(devs):
                return t - since
        time.sleep(0.01)
    return None


def main(env, c):
    pb, pbg = dp_kubelet.load_stubs(env.tmp)
    kdir = os.path.join(env.tmp, "device-plugins")
    events = os.path.join(env.tmp, "nvml-events")
    open(events, "w").close()
    os.environ["NVSHARE_FAKE_NVML_EVENTS"] = events
    os.environ["NVSHARE_FAKE_NUMA"] = "0,0,1,1"

    def nvml_event(line):
        with open(events, "a") as f:
            f.write(line + "\n")

    env.start_scheduler()
    k = dp_kubelet.Kubelet(kdir, pb, pbg)
    plugin = dp_kubelet.start_plugin(env, kdir, "--slots-per-gpu", str(SLOTS),
                                     "--xid-hold", "2",
                                     "--cdi-kind", "nvidia.com/gpu")
    t0 = time.monotonic()
    wait_for(lambda: k.registrations and k.last_list(), 10, "registration")
    _, reg = k.registrations[0]
    c.check(reg.version == "v1beta1", "registers with version v1beta1 (%s)"
            % reg.version)
    c.check(reg.resource_name == "nvshare.com/gpu",
            "resource name nvshare.com/gpu (%s)" % reg.resource_name)
    c.check(reg.endpoint == "nvshare-device-plugin.sock" and
            os.path.exists(os.path.join(kdir, reg.endpoint)),
            "endpoint %s, its socket in the kubelet's directory"
            % reg.endpoint)
    c.check(reg.options.get_preferred_allocation_available,
            "announces GetPreferredAllocation")
    print("registered %.2f s after start" % (k.registrations[0][0] - t0))
    opts = k.options()
    c.check(opts.get_preferred_allocation_available and
            not opts.pre_start_required, "GetDevicePluginOptions agrees")

    _, devs, _ = k.last_list()
    ids = [i for (i, _, _) in devs]
    c.check(len(devs) == 4 * SLOTS and len(set(ids)) == 4 * SLOTS,
            "ListAndWatch lists 4 GPUs x %d slots = %d devices (%d)"
            % (SLOTS, 4 * SLOTS, len(devs)))
    c.check(all(h == "Healthy" for (_, h, _) in devs), "all healthy")
    numa = {dp_kubelet.gpu_of(i): tuple(n) for (i, _, n) in devs}
    c.check(numa == {UUIDS[0]: (0,), UUIDS[1]: (0,), UUIDS[2]: (1,),
                     UUIDS[3]: (1,)}, "topology: NUMA nodes 0,0,1,1 (%s)"
            % sorted(numa.values()))
    c.check(all(len(i) <= 63 for i in ids), "device IDs fit 63 characters")

    # --- health ------------------------------------------------------------
    def only_bad(devs, bad):
        return all(health_of(devs, u) == ({"Unhealthy"} if u in bad
                                           else {"Healthy"}) for u in UUIDS)

    n_before = len(k.lists)
    t = time.monotonic()
    nvml_event("xid %s 13" % UUIDS[2])
    time.sleep(1.0)
    c.check(len(k.lists) == n_before and only_bad(k.last_list()[1], ()),
            "application XID 13: nothing pushed in 1 s")

    t = time.monotonic()
    nvml_event("xid %s 79" % UUIDS[1])
    dt = wait_list(k, t, lambda d: only_bad(d, {UUIDS[1]}), 3)
    c.check(dt is not None and dt < 1.0,
            "critical XID 79: GPU 2's devices pushed unhealthy in %s s "
            "(< 1 s), the rest healthy" % (None if dt is None else
                                            "%.3f" % dt))
    dt = wait_list(k, t, lambda d: only_bad(d, ()), 5)
    c.check(dt is not None and 2.0 <= dt < 3.0,
            "XID cleared after the 2 s hold: pushed healthy %s s after the "
            "XID (within 1 s of the hold's end)"
            % (None if dt is None else "%.3f" % dt))

    t = time.monotonic()
    nvml_event("lost %s" % UUIDS[3])
    dt = wait_list(k, t, lambda d: only_bad(d, {UUIDS[3]}), 3)
    c.check(dt is not None and dt < 1.0,
            "GPU 4 disappears: pushed unhealthy in %s s"
            % (None if dt is None else "%.3f" % dt))
    t = time.monotonic()
    nvml_event("back %s" % UUIDS[3])
    dt = wait_list(k, t, lambda d: only_bad(d, ()), 3)
    c.check(dt is not None and dt < 1.0,
            "GPU 4 back: pushed healthy in %s s"
            % (None if dt is None else "%.3f" % dt))

    # --- allocation ----------------------------------------------------------
    avail = list(ids)
    pick = k.prefer(avail, 1)
    c.check(len(pick) == 1 and pick[0] in avail, "prefers 1 of the offer")
    resp = k.allocate(pick)
    envs = dict(resp.envs)
    uuid = dp_kubelet.gpu_of(pick[0])
    sockdir = os.path.dirname(env.socket)
    c.check(envs.get("NVIDIA_VISIBLE_DEVICES") == uuid,
            "NVIDIA_VISIBLE_DEVICES=%s" % envs.get("NVIDIA_VISIBLE_DEVICES"))
    c.check(envs.get("LD_PRELOAD") == "/usr/local/nvshare/lib/libnvshare.so",
            "LD_PRELOAD=%s" % envs.get("LD_PRELOAD"))
    c.check(envs.get("NVSHARE_SOCKET") == "/var/run/nvshare/scheduler.sock",
            "NVSHARE_SOCKET=%s" % envs.get("NVSHARE_SOCKET"))
    c.check(re.fullmatch(r"[0-9a-f]{32}",
                         envs.get("NVSHARE_ALLOCATION_ID", "")) is not None,
            "NVSHARE_ALLOCATION_ID is 128 random bits (%s)"
            % envs.get("NVSHARE_ALLOCATION_ID"))
    mounts = {(m.container_path, m.host_path, m.read_only)
              for m in resp.mounts}
    c.check(mounts == {("/var/run/nvshare", sockdir, False),
                       ("/usr/local/nvshare/lib", env.path("lib"), True)},
            "mounts: the socket's directory read-write, the library "
            "directory read-only (%s)" % sorted(mounts))
    c.check(all(not m.host_path.endswith(".sock") for m in resp.mounts),
            "the socket file itself is not mounted")
    c.check([d.name for d in resp.cdi_devices] == ["nvidia.com/gpu=" + uuid],
            "CDI device %s" % [d.name for d in resp.cdi_devices])
    c.check(dict(resp.annotations).get("nvshare.com/allocation-id") ==
            envs.get("NVSHARE_ALLOCATION_ID"), "annotation with the id")
    ids2 = {dict(k.allocate(pick).envs)["NVSHARE_ALLOCATION_ID"]
            for _ in range(3)}
    c.check(len(ids2) == 3 and envs["NVSHARE_ALLOCATION_ID"] not in ids2,
            "every Allocate gets a new id")

    try:
        k.allocate(["GPU-00000000-0000-0000-0000-0000000000ff::0"])
        refused = None
    except k.grpc.RpcError as e:
        refused = e.code()
    c.check(refused == k.grpc.StatusCode.INVALID_ARGUMENT,
            "unknown device refused (%s)" % refused)

    two = k.prefer(avail, 2)
    c.check(len(two) == 2 and len({dp_kubelet.gpu_of(i) for i in two}) == 2,
            "2 devices spread over 2 GPUs (%s)" % two)
    resp2 = k.allocate(two)
    vis = dict(resp2.envs)["NVIDIA_VISIBLE_DEVICES"].split(",")
    c.check(sorted(vis) == sorted({dp_kubelet.gpu_of(i) for i in two}),
            "both GPUs visible (%s)" % vis)
    must = [i for i in avail if dp_kubelet.gpu_of(i) == UUIDS[3]][0]
    got = k.prefer(avail, 2, must=[must])
    c.check(must in got and len(got) == 2 and
            dp_kubelet.gpu_of(got[1]) != UUIDS[3],
            "must-include honoured, the other on another GPU (%s)" % got)

    # --- kubelet restart -------------------------------------------------------
    nreg = len(k.registrations)
    t = time.monotonic()
    k.restart()
    wait_for(lambda: len(k.registrations) > nreg, 10, "re-registration")
    dt = k.registrations[-1][0] - t
    c.check(dt < 5.0, "kubelet restart: registered again in %.2f s (< 5 s)"
            % dt)
    dt = wait_list(k, t, lambda d: len(d) == 4 * SLOTS, 5)
    c.check(dt is not None, "a new ListAndWatch stream lists the devices")

    # --- plugin restart while pods run ---------------------------------------
    pods = []
    for _ in range(2):
        r = k.allocate(k.prefer(avail, 1))
        e, dev = dp_kubelet.pod_environ(env, r)
        pods.append(subprocess.Popen(
            [env.path("bin", "gpuload"), "--device", str(dev[0]),
             "--seconds", "3", "--kernel-ms", "5"],
            env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
        env.procs.append(pods[-1])
    wait_for(lambda: len([cl for cl in env.status()["clients"]
                          if cl["pid"] in {p.pid for p in pods} and
                          cl["gpus"]]) == 2, 10, "pods' processes on GPUs")
    plugin.send_signal(signal.SIGKILL)
    plugin.wait()
    nreg = len(k.registrations)
    t = time.monotonic()
    plugin = dp_kubelet.start_plugin(env, kdir, "--slots-per-gpu", str(SLOTS))
    wait_for(lambda: len(k.registrations) > nreg, 10, "re-registration")
    c.check(k.registrations[-1][0] - t < 5.0,
            "plugin restarted: registered again in %.2f s"
            % (k.registrations[-1][0] - t))
    live = [cl for cl in env.status()["clients"]
            if cl["pid"] in {p.pid for p in pods}]
    c.check(len(live) == 2, "both pods' clients still at the scheduler")
    for p in pods:
        rc, res, err = finish(p, timeout=60)
        c.check(rc == 0 and res and res.get("kernels", 0) > 0,
                "pod process finished its work (rc %s, %s kernels)"
                % (rc, res and res.get("kernels")))
    plugin.send_signal(signal.SIGTERM)
    c.check(plugin.wait(timeout=10) == 0, "SIGTERM: the plugin exits 0")
    c.check(not os.path.exists(os.path.join(kdir, reg.endpoint)),
            "and removes its socket")
    k.stop()
    if c.failed:
        print("--- plugin log ---\n" + dp_kubelet.plugin_log(env)[-4000:])


if __name__ == "__main__":
    run(main, "device_plugin", gpus=GPUS)
