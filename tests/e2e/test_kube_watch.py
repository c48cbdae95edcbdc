#!/usr/bin/env python3
"""The scheduler's Kubernetes watcher against the API-server double
(kube_apiserver.py), driven the way a user would, through the official
Kubernetes Python client (Debian's python3-kubernetes, /usr/bin/python3):

  - flags: http://, credentials in the URL, no node name with --kube-api,
    a bad node name: exit 2; in a cluster's environment without a node
    name: one error line and no watcher;
  - the first list (fieldSelector of this node, paged), then a watch from
    the list's resourceVersion with allowWatchBookmarks; only this node's
    pods are seen; annotation patches arrive (latency printed);
  - a watch cut (and one ended gracefully) resumes from the last version,
    without a list, and misses nothing made meanwhile;
  - 410 Gone at the start of a watch, as an HTTP status and as an ERROR
    event, after compact(): a relist, and the pod made meanwhile seen;
  - 410 as an ERROR event mid-stream (gone_next_watch()): a relist, and a
    pod deleted meanwhile is handed over as deleted by it; a 410 whose
    body is over the watcher's bound for an error answer still relists;
  - a rotated token is read again (no 401); a stale one gives 401s, and
    the watch is back soon after the file is right again;
  - Warning Events for a bad annotation, through events.k8s.io/v1, then
    core/v1 once the server answers 404 for the former;
  - the server down for 30 s while two gpuload clients take turns on the
    simulated GPU: the turn hand-over gaps (the lock grants, from the
    driver's trace) before, during and after are the same within wide
    margins, the watcher backs off (its attempts counted), resumes, and
    sees the changes made meanwhile;
  - SIGTERM with a watch open: the scheduler exits within a second or so;
  - a certificate for a wrong host, and one from another CA, are refused
    (errors counted, no pod seen); the in-cluster environment
    (KUBERNETES_SERVICE_HOST/_PORT, NODE_NAME) works;
  - no spinning: a 410 answer to every watch, an ERROR event at once in
    every watch, every watch closed after one line: the requests over 5 s
    stay few (backing off) and the warnings stay one;
  - a token file that is a FIFO is refused (no hang, SIGTERM works), one
    behind symbolic links as the kubelet makes it is read;
  - 120 pods on the node: a list in pages of 50 followed by continue; 60
    big pods (400 KiB each): the page over 16 MiB is asked again with 25;
  - more pods than the cache holds (1024): the rest refused, and offered
    again by a list about a minute later once deletions made room.
"""
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kube_apiserver as kas  # noqa: E402


kas.require_or_skip("test_kube_watch")

from kubernetes import client as k8s  # noqa: E402

from harness import run, wait_for  # noqa: E402

NODE = "node-1"
NS = "default"
CORE = "nvshare.com/gpu-core-limit"
MEMORY = "nvshare.com/gpu-memory-limit"
DOWN_S = 30


# --- helpers -------------------------------------------------------------


def make_pod(api, name, node=NODE, annotations=None):
    body = k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, annotations=annotations),
        spec=k8s.V1PodSpec(node_name=node, containers=[
            k8s.V1Container(name="main", image="registry.invalid/app")]))
    return api.create_namespaced_pod(NS, body)


def annotate(api, name, annotations):
    return api.patch_namespaced_pod(
        name, NS, {"metadata": {"annotations": annotations}})


def start(env, srv, token_file, extra_env=None, kube_args=None):
    """The scheduler with the watcher (serial mode, 50 ms slices, so that
    gpuload clients take turns), its log appended to scheduler.log."""
    args = kube_args if kube_args is not None else [
        "--kube-api", srv.url, "--kube-ca-file", srv.ca_file,
        "--kube-token-file", token_file, "--node-name", NODE]
    log = open(os.path.join(env.tmp, "scheduler.log"), "ab")
    e = env.environ(preload=False, extra=dict({"NVSHARE_LOG": "debug"},
                                              **(extra_env or {})))
    p = subprocess.Popen(
        [env.path("bin", "nvshare-scheduler"), "--socket", env.socket,
         "--host-swap-budget", "none", "--mode", "serial", "--time-slice",
         "50"] + args, env=e, stdout=log, stderr=subprocess.STDOUT)
    env.procs.append(p)
    wait_for(env._connectable, 5.0, "scheduler socket")
    env.scheduler = p
    return p


def stop(env):
    p = env.scheduler
    t = time.monotonic()
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=20)
    return time.monotonic() - t


def kube(env):
    return env.status().get("kubernetes")


def wait_kube(env, pred, timeout, what):
    wait_for(lambda: pred(kube(env) or {}), timeout, what)


def log_lines(env, mark, pattern):
    return [ln for ln in env.scheduler_log()[mark:].splitlines()
            if re.search(pattern, ln)]


def pod_line(uid, op, source=None):
    return r"event=kube_watch_pod op=%s uid=%s .*source=%s" % (
        op, uid, source or r"\S+")


def uids_logged(env, mark, op, source):
    """The pod UIDs of the watcher's op lines from source, in one pass."""
    rx = re.compile(r"event=kube_watch_pod op=%s uid=(\S+) .*source=%s"
                    % (op, source))
    return {m.group(1) for m in map(rx.search,
                                    env.scheduler_log()[mark:].splitlines())
            if m}


def wait_uids(env, mark, uids, op, source, timeout, what):
    """Waits until every one of uids has an op line (polled slowly: the
    log is long and the machine small)."""
    deadline = time.monotonic() + timeout
    while not set(uids) <= uids_logged(env, mark, op, source):
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.5)


def wait_log(env, mark, pattern, timeout, what):
    wait_for(lambda: log_lines(env, mark, pattern), timeout, what)


def pod_requests(srv, since=None):
    return [r for r in srv.requests(since) if r.path == "/api/v1/pods"]


def is_watch(r):
    return r.query.get("watch") in ("true", "1")


def write_token(path, token):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(token + "\n")
    os.replace(tmp, path)


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def handoff_gaps(trace, pids, t0, t1):
    """Gaps (ms) between one client's last kernel and the next client's
    first one: a lock hand-over, as the simulated driver saw it."""
    ks = sorted((k for k in trace if k["kind"] == "kernel" and
                 k["pid"] in pids and t0 <= k["start_ns"] < t1),
                key=lambda k: k["start_ns"])
    return [(b["start_ns"] - a["end_ns"]) / 1e6 for a, b in zip(ks, ks[1:])
            if a["pid"] != b["pid"]]


# --- sections ------------------------------------------------------------


def flags(env, c, srv):
    binary = env.path("bin", "nvshare-scheduler")
    base = [binary, "--socket", os.path.join(env.tmp, "flags.sock")]
    e = env.environ(preload=False)
    for k in ("NODE_NAME", "KUBERNETES_SERVICE_HOST",
              "KUBERNETES_SERVICE_PORT"):
        e.pop(k, None)
    cases = [
        (["--kube-api", "http://127.0.0.1:6443", "--node-name", NODE],
         "only HTTPS"),
        (["--kube-api", "https://admin:pw@127.0.0.1:6443", "--node-name",
          NODE], "credentials"),
        (["--kube-api", "https://127.0.0.1:6443/k8s", "--node-name", NODE],
         "no path"),
        (["--kube-api", srv.url], "node name"),
        (["--kube-api", srv.url, "--node-name", "Node_1"], "DNS subdomain"),
        (["--kube-api", srv.url, "--node-name", NODE, "--kube-ca-file", ""],
         "empty"),
    ]
    for args, word in cases:
        r = subprocess.run(base + args, env=e, capture_output=True,
                           text=True, timeout=10)
        c.check(r.returncode == 2 and word in r.stderr,
                "%s: exit %d, says %r" % (" ".join(args[:2]), r.returncode,
                                          word))
    # Turned on by the cluster's environment only, without a node name.
    mark = len(env.scheduler_log()) if os.path.exists(
        os.path.join(env.tmp, "scheduler.log")) else 0
    start(env, srv, srv.token_file, kube_args=[], extra_env={
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(srv.port)})
    st = env.status()
    c.check("kubernetes" not in st,
            "in-cluster environment without NODE_NAME: no watcher")
    c.check(len(log_lines(env, mark, r"event=kube_watch_off .*node "
                          r"name")) == 1,
            "... and one error line saying why")
    stop(env)


def first_sync(env, c, srv, api, token):
    pods = {n: make_pod(api, n, annotations=a) for n, a in
            [("alpha", {CORE: "40"}), ("beta", None), ("gamma", None)]}
    other = make_pod(api, "elsewhere", node="node-2")
    mark = len(env.scheduler_log())
    t0 = time.monotonic()
    start(env, srv, token)
    wait_kube(env, lambda k: k.get("synced") and k.get("connected"), 10,
              "the watcher synced and watching")
    print("figure: synced and watching %.0f ms after the start" %
          ((time.monotonic() - t0) * 1e3))
    reqs = pod_requests(srv)
    c.check(len(reqs) >= 2 and not is_watch(reqs[0]) and is_watch(reqs[1]),
            "a list first, then a watch")
    lst, w = reqs[0], reqs[1]
    sel = "spec.nodeName=" + NODE
    c.check(lst.query.get("fieldSelector") == sel and
            lst.query.get("limit") and lst.status == 200,
            "the list asks for this node's pods, paged (limit=%s)" %
            lst.query.get("limit"))
    listed = log_lines(env, mark, r"event=kube_listed kind=list ")
    rv = re.search(r"resource_version=(\S+)", listed[0]).group(1) \
        if listed else None
    c.check(w.query.get("fieldSelector") == sel and
            w.query.get("allowWatchBookmarks") == "true" and
            w.query.get("resourceVersion") == rv and
            int(w.query.get("timeoutSeconds", "0")) > 0,
            "the watch: fieldSelector, allowWatchBookmarks, from the list's "
            "resourceVersion %s, with a timeout" % rv)
    for n, p in pods.items():
        c.check(bool(log_lines(env, mark, pod_line(p.metadata.uid, "added",
                                                   "list"))),
                "pod %s seen from the list" % n)
    c.check(not log_lines(env, mark, other.metadata.uid),
            "the pod on another node is not seen")
    c.check(bool(log_lines(env, mark, pod_line(pods["alpha"].metadata.uid,
                                               "added") +
                           r"") and log_lines(env, mark,
                                              r'core_limit="40"')),
            "alpha's core-limit annotation came with it")

    # Live patches: from the patch's answer to the scheduler's status
    # reporting that version (polled through nvsharectl).
    lat = []
    for i in range(10):
        t = time.monotonic()
        p = annotate(api, "beta", {CORE: str(10 + i)})
        want = p.metadata.resource_version
        wait_kube(env, lambda k: int(k.get("resource_version") or 0) >=
                  int(want), 10, "version %s in status" % want)
        lat.append((time.monotonic() - t) * 1e3)
    print("figure: patch to status, ms: p50 %.0f max %.0f (n=%d, status "
          "polled through nvsharectl)" % (pct(lat, 50), max(lat), len(lat)))
    c.check(max(lat) < 2000, "every patch in status within 2 s (max %.0f ms)"
            % max(lat))
    c.check(bool(log_lines(env, mark, pod_line(pods["beta"].metadata.uid,
                                               "modified", "watch") +
                           r"") and log_lines(env, mark, r'core_limit="19"')),
            "the last patch reached the watcher's log")
    return pods


def resume(env, c, srv, api, graceful):
    k0 = kube(env)
    t0 = time.monotonic()
    n = srv.drop_watches(graceful=graceful)
    mark = len(env.scheduler_log())
    p = make_pod(api, "delta" if not graceful else "delta2")
    wait_log(env, mark, pod_line(p.metadata.uid, "added", "watch"), 10,
             "the pod made during the reconnect")
    wait_kube(env, lambda k: k.get("connected") and
              k["watch_restarts"] > k0["watch_restarts"], 10, "watching")
    k1 = kube(env)
    reqs = pod_requests(srv, t0)
    what = "ended gracefully" if graceful else "cut"
    c.check(n == 1 and k1["lists"] == k0["lists"] and
            all(is_watch(r) for r in reqs),
            "a watch %s resumes without a list (lists %d -> %d)" %
            (what, k0["lists"], k1["lists"]))
    c.check(bool(reqs) and int(reqs[0].query["resourceVersion"]) >=
            int(k0["resource_version"]),
            "... from the last version (%s, had %s)" %
            (reqs[0].query.get("resourceVersion") if reqs else None,
             k0["resource_version"]))
    c.check(k1["watch_restarts"] == k0["watch_restarts"] + 1,
            "watch_restarts %d -> %d" % (k0["watch_restarts"],
                                        k1["watch_restarts"]))
    return p


def gone_at_start(env, c, srv, api, mode):
    srv.expired_at_start = mode
    k0 = kube(env)
    t0 = time.monotonic()
    mark = len(env.scheduler_log())
    srv.slow(1.0)  # the reconnect waits in the server while a pod is
    srv.drop_watches()  # made and the history compacted past it (straight
    p = srv.create_pod("eps-" + mode, NS, node=NODE)  # on the double: the
    srv.compact()  # client's requests would wait too)
    wait_kube(env, lambda k: k["gone"] > k0["gone"], 10, "410 Gone")
    srv.slow(0)
    wait_log(env, mark, pod_line(p["metadata"]["uid"], "added", "relist"),
             10, "the pod made meanwhile, from the relist")
    wait_kube(env, lambda k: k.get("connected"), 10, "watching again")
    k1 = kube(env)
    reqs = pod_requests(srv, t0)
    if mode == "http":
        answer = [r.status for r in reqs if is_watch(r)][:1] == [410]
    else:
        answer = [r.status for r in reqs if is_watch(r)][:1] == [200]
    c.check(answer and k1["gone"] == k0["gone"] + 1 and
            k1["lists"] == k0["lists"] + 1,
            "410 at the start of a watch (%s): gone %d -> %d, lists %d -> %d"
            % ("HTTP status" if mode == "http" else "ERROR event",
               k0["gone"], k1["gone"], k0["lists"], k1["lists"]))
    srv.expired_at_start = "http"


def gone_mid_stream(env, c, srv, api, victim):
    k0 = kube(env)
    g0 = srv.count("gone")
    mark = len(env.scheduler_log())
    srv.slow(1.0)  # the relist that follows waits in the server
    srv.gone_next_watch(count=1, after_events=1)
    srv.drop_watches()
    wait_for(lambda: srv.count("gone") > g0, 10, "the ERROR 410 written")
    # Deleted while the relist waits in the server (straight on the
    # double: a client's request would wait behind the list).
    srv.delete_pod(NS, victim.metadata.name)
    uid = victim.metadata.uid
    wait_log(env, mark, pod_line(uid, "deleted", "relist"), 15,
             "the pod deleted meanwhile, handed over by the relist")
    srv.slow(0)
    wait_kube(env, lambda k: k.get("connected"), 10, "watching again")
    k1 = kube(env)
    c.check(k1["gone"] == k0["gone"] + 1 and k1["lists"] == k0["lists"] + 1,
            "ERROR 410 mid-stream: gone %d -> %d, lists %d -> %d" %
            (k0["gone"], k1["gone"], k0["lists"], k1["lists"]))
    c.check(len(log_lines(env, mark, pod_line(uid, "deleted"))) == 1 and
            not log_lines(env, mark, pod_line(uid, "deleted", "watch")),
            "the deleted pod was handed over once, by the relist")


def gone_big_body(env, c, srv):
    """A 410 whose Status is larger than the watcher keeps of an error
    answer (64 KiB): the status still counts, and it lists again."""
    k0 = kube(env)
    t0 = time.monotonic()
    srv.fail_next("watch", 410, count=1, pad=200 * 1024)
    srv.drop_watches()
    wait_kube(env, lambda k: k["lists"] > k0["lists"] and
              k.get("connected"), 10, "listed again and watching")
    k1 = kube(env)
    reqs = pod_requests(srv, t0)
    first = [(is_watch(r), r.status) for r in reqs][:2]
    c.check(first == [(True, 410), (False, 200)] and
            k1["gone"] == k0["gone"] + 1 and
            k1["lists"] == k0["lists"] + 1,
            "a 410 with a 200 KiB body: gone %d -> %d, a list follows "
            "(lists %d -> %d)" % (k0["gone"], k1["gone"], k0["lists"],
                                  k1["lists"]))


def tokens(env, c, srv, token_copy):
    # Rotated, and the file follows at once (as the kubelet does it).
    u0 = srv.count("unauthorized")
    k0 = kube(env)
    t0 = time.monotonic()
    write_token(token_copy, srv.rotate_token())
    srv.drop_watches()
    wait_kube(env, lambda k: k.get("connected") and
              k["watch_restarts"] > k0["watch_restarts"], 10, "watching")
    reqs = pod_requests(srv, t0)
    c.check(srv.count("unauthorized") == u0 and reqs and
            reqs[0].status == 200,
            "a rotated token is read again: the next watch is 200, no 401")
    # Rotated while the file is stale: 401s, then right again.
    srv.rotate_token()
    srv.drop_watches()
    wait_for(lambda: srv.count("unauthorized") > u0, 10, "a 401")
    time.sleep(1.0)
    n401 = srv.count("unauthorized") - u0
    t_fix = time.monotonic()
    write_token(token_copy, srv.token)
    wait_kube(env, lambda k: k.get("connected"), 35, "watching again")
    back = time.monotonic() - t_fix
    k1 = kube(env)
    print("figure: stale token: %d 401s in 1 s, watching %.0f ms after "
          "the file was right" % (n401, back * 1e3))
    c.check(2 <= n401 <= 12, "401s retried soon, not in a tight loop "
            "(%d in the first second)" % n401)
    c.check(back < 10, "watching again %.1f s after the token was fixed"
            % back)
    c.check(k1["errors"] > k0["errors"] and
            "401" in (k1.get("last_error") or ""),
            "the 401s counted (errors %d -> %d, last: %s)" %
            (k0["errors"], k1["errors"], k1.get("last_error")))


def events(env, c, srv, api):
    k0 = kube(env)
    annotate(api, "alpha", {CORE: "250"})
    ev_api = srv.events_client()

    def v1_events():
        return [e for e in ev_api.list_namespaced_event(NS).items
                if e.regarding and e.regarding.name == "alpha"]
    wait_for(lambda: v1_events(), 10, "a Warning Event for alpha")
    e = v1_events()[0]
    c.check(e.type == "Warning" and e.reason and "250" in (e.note or "")
            and e.reporting_controller == "nvshare.com/scheduler" and
            e.reporting_instance == NODE and e.regarding.kind == "Pod" and
            e.regarding.uid and e.event_time is not None,
            "events.k8s.io/v1 Event: %s %s %r by %s on %s" %
            (e.type, e.reason, e.note, e.reporting_controller,
             e.reporting_instance))
    srv.events_v1 = False  # the server answers 404 for the group now
    annotate(api, "alpha", {CORE: "lots"})

    def core_events():
        return [x for x in api.list_namespaced_event(NS).items
                if x.involved_object.name == "alpha" and
                "lots" in (x.message or "")]
    wait_for(lambda: core_events(), 10, "a core/v1 Event for alpha")
    x = core_events()[0]
    c.check(x.type == "Warning" and x.count == 1 and
            x.source.component == "nvshare-scheduler" and
            srv.count("event_post_core") >= 1,
            "after a 404 for events.k8s.io: core/v1 Event (%s, from %s)" %
            (x.reason, x.source.component))
    wait_kube(env, lambda k: k["events_posted"] >= k0["events_posted"] + 2,
              5, "events_posted counted")
    srv.events_v1 = True
    annotate(api, "alpha", {CORE: "40"})


def outage(env, c, srv, api, pods):
    mark = len(env.scheduler_log())
    procs = [env.gpuload("--kernel-ms", 2, "--seconds", 200)
             for _ in range(2)]
    pids = {p.pid for p in procs}
    wait_for(lambda: sum(1 for cl in env.status()["clients"]
                         if cl["pid"] in pids and cl["gpus"]) == 2, 10,
             "two gpuload clients")
    time.sleep(1.0)
    t_before = time.monotonic_ns()
    time.sleep(8.0)
    k0 = kube(env)
    t_down = time.monotonic_ns()
    srv.down(DOWN_S)
    time.sleep(1.0)
    # Changes while the server is down (the double's state stays).
    z = srv.create_pod("zeta", NS, node=NODE, annotations={CORE: "30"})
    srv.annotate(NS, "gamma", {MEMORY: "2Gi"})
    srv.delete_pod(NS, pods["delta"].metadata.name)
    during = []
    while time.monotonic_ns() - t_down < (DOWN_S - 0.5) * 1e9:
        time.sleep(1.0)
        during.append(kube(env))
    k_mid = during[-1]
    srv.wait_up(10)
    t_up = time.monotonic_ns()
    attempts = k_mid["errors"] - k0["errors"]
    c.check(all(not k["connected"] for k in during[1:]),
            "not connected while the server is down")
    print("figure: attempts while down %d s: %d (errors %d -> %d)" %
          (DOWN_S, attempts, k0["errors"], k_mid["errors"]))
    c.check(3 <= attempts <= 40,
            "the watcher backs off: %d attempts in %d s (3..40)" %
            (attempts, DOWN_S))
    wait_log(env, mark, pod_line(z["metadata"]["uid"], "added"), 45,
             "the pod made while down")
    resumed = (time.monotonic_ns() - t_up) / 1e9
    wait_log(env, mark, pod_line(pods["gamma"].metadata.uid, "modified") +
             r"", 10, "gamma modified while down")
    wait_log(env, mark, pod_line(pods["delta"].metadata.uid, "deleted"), 10,
             "delta deleted while down")
    c.check(bool(log_lines(env, mark, r'memory_limit="2Gi"')),
            "gamma's new memory annotation seen")
    print("figure: changes made while down seen %.1f s after it came back"
          % resumed)
    c.check(resumed < 40, "resumed %.1f s after the server came back "
            "(backoff at most 30 s)" % resumed)
    t_resumed = time.monotonic_ns()
    time.sleep(8.0)
    t_after = time.monotonic_ns()
    for p in procs:
        p.kill()
        p.wait()
    trace = env.trace()
    win = {"before": handoff_gaps(trace, pids, t_before, t_down),
           "during": handoff_gaps(trace, pids, t_down, t_up),
           "after": handoff_gaps(trace, pids, t_resumed, t_after)}
    secs = {"before": (t_down - t_before) / 1e9,
            "during": (t_up - t_down) / 1e9,
            "after": (t_after - t_resumed) / 1e9}
    for name, g in win.items():
        print("figure: hand-over gap %s: n=%d (%.1f/s) p50 %.2f ms p90 "
              "%.2f ms max %.2f ms" % (name, len(g), len(g) / secs[name],
                                       pct(g, 50), pct(g, 90),
                                       max(g) if g else float("nan")))
    b = win["before"]
    c.check(len(b) >= 20, "clients took turns before (%d hand-overs)"
            % len(b))
    for name in ("during", "after"):
        g = win[name]
        rate_ok = len(g) / secs[name] >= 0.5 * len(b) / secs["before"]
        p50_ok = pct(g, 50) <= max(3 * pct(b, 50), pct(b, 50) + 10)
        p90_ok = pct(g, 90) <= max(3 * pct(b, 90), pct(b, 90) + 20)
        c.check(bool(g) and rate_ok and p50_ok and p90_ok,
                "lock hand-overs %s the outage as before: %.1f/s vs %.1f/s, "
                "p50 %.2f vs %.2f ms, p90 %.2f vs %.2f ms" %
                (name, len(g) / secs[name], len(b) / secs["before"],
                 pct(g, 50), pct(b, 50), pct(g, 90), pct(b, 90)))


def certificates(env, c, srv, token):
    for kind in ("wrong-host", "other-ca"):
        srv.use_cert(kind)
        served0 = srv.count("requests")
        mark = len(env.scheduler_log())
        start(env, srv, token)
        wait_kube(env, lambda k: k["errors"] >= 2, 10, "failed attempts")
        k = kube(env)
        c.check(not k["synced"] and k["lists"] == 0 and
                not log_lines(env, mark, r"event=kube_watch_pod"),
                "%s certificate refused: not synced, no pod seen (errors "
                "%d)" % (kind, k["errors"]))
        # In TLS 1.3 the server may finish its side of the handshake
        # before the client refuses: what counts is that no request
        # ever reached it.
        c.check(re.search(r"SSL|certificate|subject", k["last_error"] or "")
                is not None and srv.count("requests") == served0,
                "... because of the certificate, before any request: %s"
                % k["last_error"])
        stop(env)
    # The right one, and the cluster's own environment instead of flags.
    srv.use_cert("good")
    start(env, srv, token, kube_args=[
        "--kube-ca-file", srv.ca_file, "--kube-token-file", token],
        extra_env={"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                   "KUBERNETES_SERVICE_PORT": str(srv.port),
                   "NODE_NAME": NODE})
    wait_kube(env, lambda k: k.get("synced") and k.get("connected"), 10,
              "synced with the good certificate")
    k = kube(env)
    c.check(k["synced"] and k["lists"] == 1,
            "the right certificate, URL from KUBERNETES_SERVICE_HOST/_PORT: "
            "synced")
    stop(env)


def spin_guards(env, c, srv, token):
    """Servers that misbehave on every watch, each against a fresh
    scheduler: the requests in the 5 s after the fault stay few. Without
    the backoff they come in hundreds (a list that works, an ERROR line,
    one line then the end, each used to end the backoff)."""
    faults = [
        ("a 410 answer to every watch",
         lambda: srv.fail_next("watch", 410, count=100000), 30),
        ("an ERROR 500 event at once in every watch",
         lambda: srv.break_next_watches(100000, "error", 500), 15),
        ("every watch closed after one bookmark",
         lambda: srv.break_next_watches(100000, "close"), 15),
    ]
    for what, fault, bound in faults:
        mark = len(env.scheduler_log())
        start(env, srv, token)
        wait_kube(env, lambda k: k.get("synced") and k.get("connected"), 10,
                  "watching")
        fault()
        t0 = time.monotonic()
        srv.drop_watches(graceful=True)
        time.sleep(5.0)
        reqs = pod_requests(srv, t0)
        t1 = time.monotonic()
        warns = log_lines(env, mark, r"level=warn .*event=kube_error")
        srv.clear_faults()
        stop(env)
        lists = sum(1 for r in reqs if not is_watch(r))
        print("figure: %s: %d requests (%d lists) in %.1f s, %d warnings"
              % (what, len(reqs), lists, t1 - t0, len(warns)))
        c.check(3 <= len(reqs) <= bound,
                "%s: %d requests in 5 s (3..%d): backing off"
                % (what, len(reqs), bound))
        c.check(len(warns) <= 1, "... and %d kube_error warning(s) (at "
                "most one per run of failures)" % len(warns))


def token_files(env, c, srv):
    """A FIFO as the token file must not hang the watcher (nor SIGTERM);
    the kubelet's layout, token -> ..data/token -> a dated directory, is
    links all the way and must be read."""
    fifo = os.path.join(env.tmp, "token-fifo")
    os.mkfifo(fifo)
    start(env, srv, fifo)
    wait_kube(env, lambda k: k["errors"] >= 1, 10, "a failed read")
    k = kube(env)
    took = stop(env)
    c.check("not a regular file" in (k.get("last_error") or "") and
            not k["synced"],
            "a FIFO as token file: refused (%s)" % k.get("last_error"))
    c.check(took < 3.0, "... and SIGTERM still stops it (%.2f s)" % took)
    d = os.path.join(env.tmp, "sa")
    dated = os.path.join(d, "..2026_01_02_03_04_05.123")
    os.makedirs(dated)
    write_token(os.path.join(dated, "token"), srv.token)
    os.symlink(os.path.basename(dated), os.path.join(d, "..data"))
    os.symlink(os.path.join("..data", "token"), os.path.join(d, "token"))
    start(env, srv, os.path.join(d, "token"))
    wait_kube(env, lambda k: k.get("synced") and k.get("connected"), 10,
              "synced through the linked token")
    c.check(kube(env)["synced"], "a token behind the kubelet's links is read")
    stop(env)


def paging(env, c, srv, token):
    """More pods than a page: the list follows continue to the end."""
    made = [srv.create_pod("page-%03d" % i, NS, node=NODE)
            for i in range(120)]
    mark = len(env.scheduler_log())
    t0 = time.monotonic()
    start(env, srv, token)
    wait_kube(env, lambda k: k.get("synced"), 15, "synced")
    lists = [r for r in pod_requests(srv, t0) if not is_watch(r)]
    listed = log_lines(env, mark, r"event=kube_listed kind=list ")
    m = re.search(r"pods=(\d+) .*pages=(\d+) page_size=(\d+)",
                  listed[0]) if listed else None
    on_node = len(srv.pods(node=NODE))
    c.check(len(lists) >= 3 and
            all(r.query.get("limit") == "50" for r in lists) and
            not lists[0].query.get("continue") and
            all(r.query.get("continue") for r in lists[1:]) and
            all(r.status == 200 for r in lists),
            "%d pods on the node: %d list requests of limit=50, the later "
            "ones with continue" % (on_node, len(lists)))
    seen = {p["metadata"]["uid"] for p in made} & \
        uids_logged(env, mark, "added", "list")
    c.check(m is not None and int(m.group(1)) == on_node and
            int(m.group(2)) == (on_node + 49) // 50 and len(seen) == 120,
            "all %d pods listed in %s pages (%d of the 120 new ones seen)"
            % (on_node, m.group(2) if m else "?", len(seen)))
    stop(env)
    for p in made:
        srv.delete_pod(NS, p["metadata"]["name"])


def big_pages(env, c, srv, token):
    """Pods of 400 KiB: a page of 50 is over the 16 MiB a page may take,
    so the watcher asks again for half as many, and lists them all."""
    big = "x" * (400 * 1024)
    made = [srv.create_pod("big-%02d" % i, NS, node=NODE, env={"BLOB": big})
            for i in range(60)]
    mark = len(env.scheduler_log())
    t0 = time.monotonic()
    start(env, srv, token)
    wait_kube(env, lambda k: k.get("synced"), 60, "synced")
    lists = [r for r in pod_requests(srv, t0) if not is_watch(r)]
    limits = [r.query.get("limit") for r in lists]
    listed = log_lines(env, mark, r"event=kube_listed kind=list ")
    halved = log_lines(env, mark, r"event=kube_error .*over 16 MiB: "
                       r"asking for 25 ")
    on_node = len(srv.pods(node=NODE))
    seen = {p["metadata"]["uid"] for p in made} & \
        uids_logged(env, mark, "added", "list")
    c.check(limits[:2] == ["50", "25"] and set(limits[1:]) == {"25"} and
            len(halved) == 1,
            "a page of 50 big pods over 16 MiB: asked again with 25 "
            "(limits %s)" % limits)
    c.check(bool(listed) and "page_size=25" in listed[0] and
            ("pods=%d " % on_node) in listed[0] and len(seen) == 60,
            "... and all %d pods listed (%d of the 60 big ones seen)"
            % (on_node, len(seen)))
    stop(env)
    for p in made:
        srv.delete_pod(NS, p["metadata"]["name"])


def cache_full(env, c, srv, token):
    """More pods than the cache's 1024: the rest are refused, and a list
    scheduled after the refusal (45..75 s) offers them again once
    deletions have made room."""
    cache_max = 1024
    have = len(srv.pods(node=NODE))
    extra = 6
    made = [srv.create_pod("full-%04d" % i, NS, node=NODE)
            for i in range(cache_max + extra - have)]
    mark = len(env.scheduler_log())
    start(env, srv, token)
    wait_kube(env, lambda k: k.get("synced") and k.get("connected"), 30,
              "synced")
    t_list = time.monotonic()
    refused = [re.search(r"uid=(\S+)", ln).group(1) for ln in
               log_lines(env, mark, r"event=kube_pod_refused .*the cache "
                         r"holds")]
    scheduled = log_lines(env, mark, r"event=kube_relist_scheduled")
    c.check(len(refused) == extra and len(scheduled) == 1,
            "%d pods on the node: %d refused by the full cache, one list "
            "scheduled (%s)" % (len(srv.pods(node=NODE)), len(refused),
                                scheduled[0].split("event=")[1]
                                if scheduled else "none"))
    # Room for them: pods that were kept are deleted (watched).
    kept = [p for p in made if p["metadata"]["uid"] not in refused]
    for p in kept[:extra + 4]:
        srv.delete_pod(NS, p["metadata"]["name"])
    wait_uids(env, mark, [p["metadata"]["uid"] for p in kept[:extra + 4]],
              "deleted", "watch", 10, "the deletions")
    early = uids_logged(env, mark, "added", r"\S+") & set(refused)
    wait_uids(env, mark, refused, "added", "relist", 100,
              "the refused pods from the scheduled list")
    after = time.monotonic() - t_list
    c.check(not early, "the refused pods are not offered before the "
            "scheduled list (%d were)" % len(early))
    print("figure: the refused pods were listed again %.1f s after the "
          "first list" % after)
    c.check(35 <= after <= 90, "all %d refused pods came with the list "
            "scheduled %.1f s after the first (45..75 s)" % (extra, after))
    stop(env)


def main(env, c):
    srv = kas.ApiServer(directory=os.path.join(env.tmp, "kube"),
                        bookmark_interval=1.0)
    try:
        api = srv.client()
        token = os.path.join(env.tmp, "token")
        write_token(token, srv.token)
        flags(env, c, srv)
        pods = first_sync(env, c, srv, api, token)
        pods["delta"] = resume(env, c, srv, api, graceful=False)
        resume(env, c, srv, api, graceful=True)
        gone_at_start(env, c, srv, api, "http")
        gone_at_start(env, c, srv, api, "event")
        gone_mid_stream(env, c, srv, api, pods["beta"])
        gone_big_body(env, c, srv)
        tokens(env, c, srv, token)
        api = srv.client()  # the rotated token
        events(env, c, srv, api)
        outage(env, c, srv, api, pods)
        took = stop(env)
        print("figure: SIGTERM to exit with a watch open: %.0f ms"
              % (took * 1e3))
        c.check(took < 3.0, "the scheduler stops within 3 s with a watch "
                "open (%.2f s)" % took)
        certificates(env, c, srv, token)
        spin_guards(env, c, srv, token)
        token_files(env, c, srv)
        paging(env, c, srv, token)
        big_pages(env, c, srv, token)
        cache_full(env, c, srv, token)
        counts = srv.counts()
        print("figure: requests to the double: %s" % ", ".join(
            "%s %d" % (k, counts[k]) for k in sorted(counts)))
    finally:
        srv.stop()
        if c.failed:
            print("--- the watcher's log lines ---")
            print("\n".join(log_lines(env, 0, r"event=kube")[-80:]))


run(main, "test_kube_watch")
