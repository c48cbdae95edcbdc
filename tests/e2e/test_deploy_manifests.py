#!/usr/bin/env python3
"""deploy/kubernetes/*.yaml checked offline against the Kubernetes API
models of the official Python client (python3-kubernetes):

  - every object deserialises into the model of its kind, and has no
    field its model does not know (the client ignores unknown fields by
    itself: a misspelt `tolerations` would be silently dropped, so every
    key is checked against the model's attribute map, recursively);
  - the DaemonSet follows the conventions the docs promise: system-node-
    critical, hostPID, tolerations, a node selector, no surge in updates
    (never two schedulers on a node), resources on every container;
  - its mounts are where the binaries' defaults look (read from the
    sources: common/sock.h, deviceplugin/plugin_core.h): the kubelet's
    device-plugin directory, the scheduler socket's directory (as a
    directory, in both containers), the library directory; every flag
    it passes to the device plugin is one `--help` lists;
  - the init container installs the library by renaming a new file into
    place, never by writing over the old one;
  - the example pods ask for nvshare.com/gpu.
"""
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dp_kubelet  # noqa: E402

try:
    import kubernetes  # noqa: F401
    import yaml  # noqa: F401
except ImportError:
    dp_kubelet.use_debian_python()  # re-executes with Debian's python3
    import kubernetes  # noqa: F401
    import yaml  # noqa: F401

from harness import Checks, parse_args  # noqa: E402
from kubernetes import client  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODELS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "Pod"): "V1Pod",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"):
        "V1ClusterRoleBinding",
}


def unknown_fields(data, type_name, path):
    """Paths in data that the model type_name does not know."""
    out = []
    m = re.fullmatch(r"list\[(.+)\]", type_name)
    if m:
        for i, item in enumerate(data or []):
            out += unknown_fields(item, m.group(1), "%s[%d]" % (path, i))
        return out
    m = re.fullmatch(r"dict\(([^,]+), (.+)\)", type_name)
    if m:
        for k, v in (data or {}).items():
            out += unknown_fields(v, m.group(2), "%s.%s" % (path, k))
        return out
    model = getattr(client, type_name, None)
    if model is None or not isinstance(data, dict):
        return out  # a primitive (str, int, bool, object, datetime)
    by_key = {v: k for k, v in model.attribute_map.items()}
    for key, value in data.items():
        if key not in by_key:
            out.append("%s.%s" % (path, key))
            continue
        out += unknown_fields(value, model.openapi_types[by_key[key]],
                              "%s.%s" % (path, key))
    return out


def define(path, name):
    with open(os.path.join(ROOT, path)) as f:
        m = re.search(r'#define %s "([^"]*)"' % name, f.read())
    return m.group(1)


def main():
    args = parse_args()
    c = Checks("deploy_manifests")
    api = client.ApiClient()
    objs = []
    files = sorted(glob.glob(os.path.join(ROOT, "deploy", "kubernetes",
                                          "*.yaml")))
    c.check(len(files) >= 4, "%d manifest files" % len(files))
    for fn in files:
        with open(fn) as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    objs.append((os.path.basename(fn), doc))
    for fn, doc in objs:
        key = (doc.get("apiVersion"), doc.get("kind"))
        name = "%s %s/%s" % (fn, doc.get("kind"),
                             doc.get("metadata", {}).get("name"))
        model = MODELS.get(key)
        if not c.check(model is not None, "%s: a known kind" % name) \
                and model is None:
            continue
        try:
            api._ApiClient__deserialize(doc, model)
            ok, why = True, ""
        except (ValueError, TypeError) as e:
            ok, why = False, str(e)
        c.check(ok, "%s deserialises into %s %s" % (name, model, why))
        bad = unknown_fields(doc, model, doc["kind"])
        c.check(not bad, "%s: no unknown field %s" % (name, bad))
    kinds = {d["kind"] for _, d in objs}
    c.check({"Namespace", "ServiceAccount", "ClusterRole",
             "ClusterRoleBinding", "DaemonSet", "Pod"} <= kinds,
            "Namespace, ServiceAccount, RBAC, DaemonSet, example pods")

    ds = [d for _, d in objs if d["kind"] == "DaemonSet"]
    c.check(len(ds) == 1, "one DaemonSet")
    spec = ds[0]["spec"]["template"]["spec"]
    c.check(spec.get("priorityClassName") == "system-node-critical",
            "priorityClassName system-node-critical")
    c.check(spec.get("hostPID") is True, "hostPID")
    c.check(any(t.get("key") == "nvidia.com/gpu"
                for t in spec.get("tolerations", [])),
            "tolerates nvidia.com/gpu taints")
    c.check(bool(spec.get("nodeSelector")), "a node selector %s"
            % spec.get("nodeSelector"))
    ru = ds[0]["spec"]["updateStrategy"].get("rollingUpdate", {})
    c.check(ru.get("maxSurge") == 0 and ru.get("maxUnavailable") == 1,
            "rolling update without surge: never two schedulers on a node")
    allc = spec["containers"] + spec.get("initContainers", [])
    c.check(all(x.get("resources", {}).get("requests") and
                x["resources"].get("limits") for x in allc),
            "every container has requests and limits")

    vols = {v["name"]: v for v in spec["volumes"]}

    def host_mount(container, path):
        for m in container.get("volumeMounts", []):
            if m["mountPath"] == path:
                return vols[m["name"]].get("hostPath", {}).get("path")
        return None

    cont = {x["name"]: x for x in spec["containers"]}
    sock_dir = os.path.dirname(define("common/sock.h", "NVS_DEFAULT_SOCKET"))
    kdir = define("deviceplugin/plugin_core.h", "DP_DEFAULT_KUBELET_DIR")
    libdir = define("deviceplugin/plugin_core.h", "DP_DEFAULT_HOST_LIB_DIR")
    c.check(host_mount(cont["device-plugin"], kdir) == kdir,
            "the plugin mounts the kubelet's %s" % kdir)
    c.check(host_mount(cont["scheduler"], sock_dir) == sock_dir and
            host_mount(cont["device-plugin"], sock_dir) == sock_dir,
            "both mount the socket's directory %s (a directory, not the "
            "socket)" % sock_dir)
    init = spec["initContainers"][0]
    c.check(any(vols[m["name"]].get("hostPath", {}).get("path") == libdir
                for m in init["volumeMounts"]),
            "the init container writes the host's %s" % libdir)
    script = " ".join(init.get("command", []) + init.get("args", []))
    c.check(re.search(r"\.new\b.*mv -f [^;]*\.new [^;]*libnvshare\.so",
                      script) is not None,
            "the library is renamed into place (%s)" % script.strip())

    plugin_bin = os.path.join(args.build, "bin", "nvshare-device-plugin")
    if os.path.exists(plugin_bin):
        helptext = subprocess.run([plugin_bin, "--help"], capture_output=True,
                                  text=True).stdout
        flags = [a for a in cont["device-plugin"]["command"]
                 if a.startswith("--")]
        c.check(flags and all(f in helptext for f in flags),
                "every device-plugin flag is one --help lists (%s)" % flags)
        cmd = cont["device-plugin"]["command"]
        c.check(cmd[cmd.index("--host-lib-dir") + 1] == libdir and
                cmd[cmd.index("--scheduler-socket") + 1] ==
                define("common/sock.h", "NVS_DEFAULT_SOCKET"),
                "its paths agree with the defaults")
    pods = [d for _, d in objs if d["kind"] == "Pod"]
    c.check(pods and all(
        x["resources"]["limits"].get("nvshare.com/gpu") == 1
        for p in pods for x in p["spec"]["containers"]),
        "example pods ask for nvshare.com/gpu: 1")
    c.done()


if __name__ == "__main__":
    main()
