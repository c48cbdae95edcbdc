"""Real cgroups shaped as the kubelet makes them, for processes the tests
put "in a pod": the scheduler then reads the pod UID from the process's
/proc/<pid>/cgroup as it does on a node.

Both cgroup drivers' shapes:
  cgroupfs: /kubepods/<qos>/pod<uid>/<container>
  systemd:  /kubepods.slice/kubepods-<qos>.slice/
            kubepods-<qos>-pod<uid with _>.slice/cri-containerd-<id>.scope
made in a hierarchy root may write: a cgroup v1 controller (pids, which
limits nothing here) or the cgroup v2 root. Where there is none (a chroot,
a container without cgroupfs), ProcSeam gives the same paths through the
scheduler's NVSHARE_PROC_ROOT seam: each child writes its own
<root>/<pid>/cgroup (as a cgroup v2 line) and a copy of its stat before it
runs the program, so the scheduler reads what a kubelet-made cgroup would
show; the pidfd and start-time checks still see the real process.
"""
import os
import shutil

V1_PIDS = "/sys/fs/cgroup/pids"
V2_ROOT = "/sys/fs/cgroup"


def hierarchy():
    """A hierarchy this process may create cgroups in, or None."""
    if os.geteuid() != 0:
        return None
    for root in (V1_PIDS, V2_ROOT):
        if os.path.exists(os.path.join(root, "cgroup.procs")) and \
                os.access(root, os.W_OK):
            return root
    return None


def kubelet_path(uid, driver="cgroupfs", qos="besteffort", container="ctr"):
    """The cgroup path components the kubelet gives a container."""
    if driver == "cgroupfs":
        return ["kubepods", qos, "pod" + uid, container]
    u = uid.replace("-", "_")
    return ["kubepods.slice", "kubepods-%s.slice" % qos,
            "kubepods-%s-pod%s.slice" % (qos, u),
            "cri-containerd-%s.scope" % container]


class PodCgroups:
    """Creates pod cgroups under one hierarchy; remove() takes them away
    (after their processes ended)."""

    def __init__(self, root):
        self.root = root
        self.made = []  # directories created, in creation order

    proc_root = None  # the scheduler reads the real /proc

    def path(self, uid, driver="cgroupfs", qos="besteffort",
             container="ctr"):
        rel = kubelet_path(uid, driver, qos, container)
        d = self.root
        for part in rel:
            d = os.path.join(d, part)
            if not os.path.isdir(d):
                os.mkdir(d)
                self.made.append(d)
        return d

    @staticmethod
    def enter(directory):
        """A preexec_fn: the child moves itself into directory before it
        runs the program (so it connects from inside the pod)."""
        def move():
            with open(os.path.join(directory, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        return move

    def remove(self):
        for d in reversed(self.made):
            try:
                os.rmdir(d)
            except OSError:
                pass
        self.made = []


class ProcSeam:
    """The same interface as PodCgroups, through NVSHARE_PROC_ROOT (give
    the scheduler proc_root)."""

    def __init__(self, directory):
        self.proc_root = directory
        os.makedirs(directory, exist_ok=True)

    def path(self, uid, driver="cgroupfs", qos="besteffort",
             container="ctr"):
        return "/" + "/".join(kubelet_path(uid, driver, qos, container))

    def enter(self, cgroup_path):
        root = self.proc_root

        def write():
            d = os.path.join(root, str(os.getpid()))
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "cgroup"), "w") as f:
                f.write("0::%s\n" % cgroup_path)
            shutil.copy("/proc/self/stat", os.path.join(d, "stat"))
        return write

    def remove(self):
        shutil.rmtree(self.proc_root, ignore_errors=True)


def pods_for(tmp):
    """PodCgroups where this process can make cgroups, else the ProcSeam
    under tmp (NVSHARE_TEST_POD_SEAM=1 takes the seam anyway, to test the
    fallback). The seam needs NVSHARE_PROC_ROOT in the scheduler's
    environment: it is set in os.environ here, before the scheduler starts."""
    root = None if os.environ.get("NVSHARE_TEST_POD_SEAM") == "1" else \
        hierarchy()
    if root is not None:
        print("pod cgroups: real, under %s" % root)
        return PodCgroups(root)
    seam = ProcSeam(os.path.join(tmp, "proc"))
    os.environ["NVSHARE_PROC_ROOT"] = seam.proc_root
    print("pod cgroups: no writable hierarchy here; through "
          "NVSHARE_PROC_ROOT (cgroup v2 lines)")
    return seam
