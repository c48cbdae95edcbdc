"""Real cgroups shaped as the kubelet makes them, for processes the tests
put "in a pod": the scheduler then reads the pod UID from the process's
/proc/<pid>/cgroup as it does on a node.

Both cgroup drivers' shapes:
  cgroupfs: /kubepods/<qos>/pod<uid>/<container>
  systemd:  /kubepods.slice/kubepods-<qos>.slice/
            kubepods-<qos>-pod<uid with _>.slice/cri-containerd-<id>.scope
made in a hierarchy root may write: a cgroup v1 controller (pids, which
limits nothing here) or the cgroup v2 root. Layouts the machine cannot
make are tested through the scheduler's NVSHARE_PROC_ROOT seam instead.
"""
import os

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


class PodCgroups:
    """Creates pod cgroups under one hierarchy; remove() takes them away
    (after their processes ended)."""

    def __init__(self, root):
        self.root = root
        self.made = []  # directories created, in creation order

    def path(self, uid, driver="cgroupfs", qos="besteffort",
             container="ctr"):
        if driver == "cgroupfs":
            rel = ["kubepods", qos, "pod" + uid, container]
        else:
            u = uid.replace("-", "_")
            rel = ["kubepods.slice", "kubepods-%s.slice" % qos,
                   "kubepods-%s-pod%s.slice" % (qos, u),
                   "cri-containerd-%s.scope" % container]
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
