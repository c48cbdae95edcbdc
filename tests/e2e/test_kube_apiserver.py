#!/usr/bin/env python3
"""The Kubernetes API-server double (kube_apiserver.py), driven by the
official Kubernetes Python client: that the client works against it is
the check that the double speaks the real API.

  - pods created on two nodes (and one unscheduled) get a uid, a
    resourceVersion and a creation time; duplicates are 409, missing
    pods 404, a pod without containers 422;
  - lists by fieldSelector (all namespaces, one, =, !=), labelSelector,
    limit/continue; an unknown field label is 400;
  - a watch from a resourceVersion sees exactly the changes that concern
    its node: MODIFIED on annotation patches (strategic merge, merge and
    JSON patch), ADDED/DELETED as pods enter and leave the node, no event
    for a no-op patch; bookmarks come; the write time of each event is
    recorded; a replay from the same version sends the same events, as
    chunked JSON lines;
  - 410 Gone after compact(): HTTP 410 at the start, an ERROR event at
    the start in the watch cache's mode, and an ERROR event mid-watch
    after gone_next_watch();
  - 401 for a wrong or missing token and for the old token after
    rotation (not before its grace ends);
  - a dropped watch breaks the client's stream, and a watch resumed from
    its last version misses nothing; a graceful drop ends the stream;
  - down(): connections refused for the time asked, then back with the
    same state and the changes made meanwhile replayed;
  - Events posted through events.k8s.io/v1 and core/v1, read back through
    both; 422 for incomplete ones; 404 for events.k8s.io when off;
  - slow(), fail_next(), certificates for a wrong host and another CA,
    the counters, the request log, and the command-line mode.
"""
import datetime
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kube_apiserver as kas  # noqa: E402


kas.require_or_skip("test_kube_apiserver")

from kubernetes import client as k8s  # noqa: E402
from kubernetes import watch as k8s_watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402

from harness import run  # noqa: E402

NODE_A, NODE_B = "node-a", "node-b"
CORE = "nvshare.com/gpu-core-limit"
MEMORY = "nvshare.com/gpu-memory-limit"


# --- helpers -------------------------------------------------------------


def pod_body(name, node=None, annotations=None, labels=None):
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, annotations=annotations,
                                  labels=labels),
        spec=k8s.V1PodSpec(node_name=node, containers=[
            k8s.V1Container(name="main", image="registry.invalid/app")]))


def api_error(fn, *args, **kw):
    """(status, Status dict or None) of the ApiException fn raises, or
    (None, None) when it succeeds."""
    try:
        fn(*args, **kw)
    except ApiException as e:
        try:
            body = json.loads(e.body) if e.body else None
        except ValueError:
            body = None
        return e.status, body
    return None, None


def raw(srv, method, path, body=None, token=None, ctype=None, ca=None,
        host="127.0.0.1"):
    """One request on a new connection: (status, headers, body bytes)."""
    conn = raw_conn(srv, ca, host)
    conn.request(method, path, body=None if body is None else
                 json.dumps(body), headers=raw_headers(srv, token, ctype))
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), data


def raw_conn(srv, ca=None, host="127.0.0.1"):
    ctx = ssl.create_default_context(cafile=ca or srv.ca_file)
    return http.client.HTTPSConnection(host, srv.port, context=ctx,
                                       timeout=10)


def raw_headers(srv, token=None, ctype=None):
    h = {"Accept": "application/json"}
    if token is not False:
        h["Authorization"] = "Bearer " + (srv.token if token is None
                                          else token)
    if ctype:
        h["Content-Type"] = ctype
    return h


def raw_watch(srv, path):
    """Opens a watch; returns (connection, response) to read lines from."""
    conn = raw_conn(srv)
    conn.request("GET", path, headers=raw_headers(srv))
    return conn, conn.getresponse()


class Collector(threading.Thread):
    """Runs the client's Watch.stream in a thread and keeps every event
    with the monotonic time it arrived."""

    def __init__(self, func, until=None, **kwargs):
        super().__init__(daemon=True)
        self.w = k8s_watch.Watch()
        self.func, self.kwargs, self.until = func, kwargs, until
        self.events = []  # (arrival ns, type, raw object)
        self.error = None
        self.done = threading.Event()
        self.start()

    def run(self):
        try:
            for ev in self.w.stream(self.func, **self.kwargs):
                self.events.append((time.monotonic_ns(), ev["type"],
                                    ev["raw_object"]))
                if self.until and self.until(self.events):
                    self.w.stop()
        except Exception as e:  # kept for the checks
            self.error = e
        finally:
            self.done.set()

    def changes(self):
        """(type, name, resourceVersion) of the non-bookmark events."""
        return [(t, o["metadata"]["name"], o["metadata"]["resourceVersion"])
                for (_, t, o) in self.events if t != "BOOKMARK"]

    def wait(self, pred, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self):
                return True
            if self.done.is_set():
                return pred(self)
            time.sleep(0.01)
        return False


def names(pod_list):
    return sorted(p.metadata.name for p in pod_list.items)


def rv_of(pod):
    if isinstance(pod, dict):
        return pod["metadata"]["resourceVersion"]
    return pod.metadata.resource_version


# --- sections --------------------------------------------------------------


def check_pods(srv, c, v1):
    ver = k8s.VersionApi(srv.api_client()).get_code()
    c.check(ver.major == "1" and ver.git_version.startswith("v1."),
            "/version through VersionApi (%s)" % ver.git_version)
    made = {}
    plan = [("team-a", "a1", NODE_A), ("team-a", "a2", NODE_A),
            ("team-b", "a3", NODE_A), ("team-a", "b1", NODE_B),
            ("team-b", "b2", NODE_B), ("team-a", "u1", None)]
    for ns, name, node in plan:
        made[name] = v1.create_namespaced_pod(
            ns, pod_body(name, node, labels={"app": name[0]}))
    uids = [p.metadata.uid for p in made.values()]
    c.check(all(uuid.UUID(u).version == 4 for u in uids) and
            len(set(uids)) == len(uids), "each pod has its own uuid4 uid")
    rvs = [int(p.metadata.resource_version) for p in made.values()]
    c.check(rvs == sorted(rvs) and len(set(rvs)) == len(rvs),
            "resourceVersions increase (%s)" % rvs)
    c.check(all(p.metadata.creation_timestamp is not None and
                p.metadata.namespace == ns for (ns, _, _), p in
                zip(plan, made.values())),
            "creationTimestamp and namespace filled in")
    c.check(made["a1"].status.phase == "Pending", "status.phase Pending")
    code, st = api_error(v1.create_namespaced_pod, "team-a",
                         pod_body("a1", NODE_A))
    c.check(code == 409 and st["reason"] == "AlreadyExists",
            "a second a1 is 409 AlreadyExists (%s)" % code)
    code, st = api_error(v1.read_namespaced_pod, "nope", "team-a")
    c.check(code == 404 and st["kind"] == "Status" and
            st["reason"] == "NotFound", "a missing pod is 404 NotFound")
    code, st = raw(srv, "POST", "/api/v1/namespaces/team-a/pods",
                   {"metadata": {"name": "bad"}, "spec": {}})[0:3:2]
    st = json.loads(st)
    c.check(code == 422 and st["reason"] == "Invalid" and
            [x["field"] for x in st["details"]["causes"]] ==
            ["spec.containers"], "a pod without containers is 422 (%s)" %
            st.get("message"))
    got = v1.read_namespaced_pod("a1", "team-a")
    c.check(got.metadata.uid == made["a1"].metadata.uid, "get a1")
    return made


def check_lists(srv, c, v1):
    before = srv.count("list")
    la = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=" +
                                        NODE_A)
    c.check(names(la) == ["a1", "a2", "a3"],
            "all namespaces, spec.nodeName=node-a: %s" % names(la))
    c.check(la.metadata.resource_version == srv.resource_version(),
            "the list's resourceVersion is the current one (%s)" %
            la.metadata.resource_version)
    ln = v1.list_namespaced_pod("team-a", field_selector="spec.nodeName=" +
                                NODE_A)
    c.check(names(ln) == ["a1", "a2"], "team-a only: %s" % names(ln))
    lu = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=")
    c.check(names(lu) == ["u1"], "spec.nodeName= finds the unscheduled pod")
    lnot = v1.list_pod_for_all_namespaces(
        field_selector="spec.nodeName!=%s,metadata.namespace=team-a" %
        NODE_A)
    c.check(names(lnot) == ["b1", "u1"], "!= and a second term: %s" %
            names(lnot))
    ll = v1.list_pod_for_all_namespaces(label_selector="app=b")
    c.check(names(ll) == ["b1", "b2"], "labelSelector app=b: %s" %
            names(ll))
    code, st = api_error(v1.list_pod_for_all_namespaces,
                         field_selector="spec.node=x")
    c.check(code == 400 and "spec.node" in st["message"],
            "an unknown field label is 400 (%s)" % (st or {}).get("message"))
    pages, token, rest = [], None, []
    while True:
        kw = {"limit": 4}
        if token:
            kw["_continue"] = token
        page = v1.list_pod_for_all_namespaces(**kw)
        pages.append(names(page))
        rest.append(page.metadata.remaining_item_count)
        token = page.metadata._continue
        if not token:
            break
    c.check([len(p) for p in pages] == [4, 2] and rest == [2, None] and
            sorted(sum(pages, [])) == ["a1", "a2", "a3", "b1", "b2", "u1"],
            "limit 4 and continue: pages %s, remaining %s" % (pages, rest))
    status, _, body = raw(srv, "GET", "/api/v1/pods?fieldSelector=" +
                          "spec.nodeName%3D" + NODE_B)
    doc = json.loads(body)
    c.check(status == 200 and doc["kind"] == "PodList" and
            doc["apiVersion"] == "v1" and
            all("kind" not in p for p in doc["items"]),
            "raw PodList: kind, apiVersion, items without kind")
    c.check(srv.count("list") - before == 9,
            "the list counter counted the 9 lists (%d)" %
            (srv.count("list") - before))


def check_watch(srv, c, v1):
    rv0 = srv.resource_version()
    marks = []

    def enough(evs):
        seen = [t for (_, t, _) in evs]
        return seen.count("BOOKMARK") >= 2 and \
            len([t for t in seen if t != "BOOKMARK"]) >= 7

    col = Collector(v1.list_pod_for_all_namespaces, until=enough,
                    field_selector="spec.nodeName=" + NODE_A,
                    resource_version=rv0, allow_watch_bookmarks=True,
                    timeout_seconds=20)
    srv.wait_open_watches(1, 5)
    expect = []

    def act(kind, name, fn):
        t = time.monotonic_ns()
        obj = fn()
        marks.append((t, rv_of(obj)))
        expect.append((kind, name, rv_of(obj)))

    act("MODIFIED", "a1", lambda: v1.patch_namespaced_pod(
        "a1", "team-a", {"metadata": {"annotations": {CORE: "40"}}}))
    act("ADDED", "a4", lambda: v1.create_namespaced_pod(
        "team-a", pod_body("a4", NODE_A)))
    act("ADDED", "b1", lambda: srv.move_pod("team-a", "b1", NODE_A))
    act("DELETED", "a2", lambda: v1.patch_namespaced_pod(
        "a2", "team-a", {"spec": {"nodeName": NODE_B}}))
    act("DELETED", "a3", lambda: v1.delete_namespaced_pod("a3", "team-b"))
    b2 = v1.patch_namespaced_pod("b2", "team-b", {"metadata": {
        "annotations": {CORE: "10"}}})
    rv_same = v1.patch_namespaced_pod("a4", "team-a", {"metadata": {
        "labels": None}}).metadata.resource_version
    c.check(rv_same == expect[1][2],
            "a no-op patch keeps the resourceVersion (%s)" % rv_same)
    act("MODIFIED", "a1", lambda: json.loads(raw(
        srv, "PATCH", "/api/v1/namespaces/team-a/pods/a1",
        {"metadata": {"annotations": {CORE: None}}},
        ctype="application/merge-patch+json")[2]))
    act("MODIFIED", "a4", lambda: v1.patch_namespaced_pod(
        "a4", "team-a", [{"op": "add", "path": "/metadata/annotations",
                          "value": {MEMORY: "4Gi"}}]))
    col.wait(lambda x: x.done.is_set(), 10)
    got = col.changes()
    c.check(col.error is None and got == expect,
            "watch from %s: %s (expected %s, error %r)" %
            (rv0, got, expect, col.error))
    objs = {(t, o["metadata"]["name"]): o for (_, t, o) in col.events
            if t != "BOOKMARK"}
    a1 = [o for (_, t, o) in col.events if t == "MODIFIED" and
          o["metadata"]["name"] == "a1"]
    c.check(len(a1) == 2 and a1[0]["metadata"]["annotations"] ==
            {CORE: "40"} and "annotations" not in a1[1]["metadata"],
            "a1 annotated 40 (strategic merge patch), then unannotated "
            "(merge patch, null)")
    c.check(objs.get(("MODIFIED", "a4"), {}).get("metadata", {}).get(
        "annotations") == {MEMORY: "4Gi"}, "a4 annotated (JSON patch)")
    c.check(objs.get(("DELETED", "a2"), {}).get("spec", {}).get(
        "nodeName") == NODE_A, "a2's DELETED carries its last matching "
        "content (nodeName node-a) at the patch's version")
    c.check(b2.metadata.resource_version not in [e[2] for e in got],
            "b2's patch on node-b is not in node-a's watch")
    bms = [(a, o) for (a, t, o) in col.events if t == "BOOKMARK"]
    c.check(len(bms) >= 2 and all(
        o["kind"] == "Pod" and int(o["metadata"]["resourceVersion"]) >=
        int(rv0) for _, o in bms), "%d bookmarks, kind Pod, with a "
        "resourceVersion (%s)" % (len(bms), [o["metadata"]
                                             ["resourceVersion"]
                                             for _, o in bms]))
    last = int(expect[-1][2])
    c.check(int(bms[-1][1]["metadata"]["resourceVersion"]) >= last,
            "the last bookmark is at or past the last change (%s >= %d)" %
            (bms[-1][1]["metadata"]["resourceVersion"], last))
    arrivals = {o["metadata"]["resourceVersion"]: a
                for (a, t, o) in col.events if t != "BOOKMARK"}
    ok, lat = True, []
    for t, rv in marks:
        w = srv.event_write_time_ns(rv)
        ok = ok and w is not None and t <= w <= arrivals.get(rv, 0)
        if w is not None:
            lat.append((arrivals.get(rv, 0) - w) / 1e6)
    c.check(ok, "each change's write time lies between the change and its "
            "arrival (write->arrival ms: %s)" %
            ", ".join("%.1f" % x for x in lat))

    # the same history again, raw: chunked, one JSON object a line
    conn, r = raw_watch(srv, "/api/v1/pods?watch=1&resourceVersion=%s&"
                        "fieldSelector=spec.nodeName%%3D%s" % (rv0, NODE_A))
    lines = [json.loads(r.readline()) for _ in expect]
    conn.close()
    c.check(r.status == 200 and
            r.getheader("Transfer-Encoding") == "chunked" and
            r.getheader("Content-Type") == "application/json" and
            [(e["type"], e["object"]["metadata"]["name"],
              e["object"]["metadata"]["resourceVersion"]) for e in lines] ==
            expect and all(e["object"]["kind"] == "Pod" for e in lines),
            "a replay from %s, raw: chunked JSON lines, the same events" %
            rv0)
    # no resourceVersion: the current state as ADDED
    col = Collector(v1.list_namespaced_pod, namespace="team-a",
                    until=lambda evs: len(evs) >= 3,
                    field_selector="spec.nodeName=" + NODE_A,
                    timeout_seconds=5)
    col.wait(lambda x: x.done.is_set(), 8)
    c.check(sorted(col.changes()) == sorted(
        ("ADDED", p["metadata"]["name"], p["metadata"]["resourceVersion"])
        for p in srv.pods("team-a", NODE_A)) and len(col.changes()) == 3,
        "a watch without a version starts with the current pods as ADDED "
        "(%s)" % [x[1] for x in col.changes()])
    logged = [r for r in srv.requests() if r.query.get("resourceVersion") ==
              rv0 and r.query.get("allowWatchBookmarks") == "True"]
    c.check(len(logged) == 1 and logged[0].status == 200 and
            logged[0].query.get("watch") == "True",
            "the request log has the watch with its query")
    return rv0


def check_gone(srv, c, v1, old_rv):
    gone0 = srv.count("gone")
    at = srv.compact()
    code, st = api_error(v1.list_pod_for_all_namespaces, watch=True,
                         resource_version=old_rv, _preload_content=False)
    c.check(code == 410 and st["reason"] == "Expired" and st["code"] == 410,
            "after compact() at %s, a watch from %s is HTTP 410 Expired (%s)"
            % (at, old_rv, (st or {}).get("message")))
    code, _ = api_error(v1.list_pod_for_all_namespaces, watch=True,
                        resource_version=at, _preload_content=False,
                        timeout_seconds=1)
    c.check(code is None, "a watch from the compaction point is accepted")
    srv.expired_at_start = "event"
    conn, r = raw_watch(srv, "/api/v1/pods?watch=true&resourceVersion=" +
                        old_rv)
    first = json.loads(r.readline())
    rest = r.read()
    conn.close()
    srv.expired_at_start = "http"
    c.check(r.status == 200 and first["type"] == "ERROR" and
            first["object"]["code"] == 410 and
            first["object"]["reason"] == "Expired" and rest == b"",
            "watch-cache mode: HTTP 200, one ERROR 410 Expired event, end")
    # mid-watch: the first event, then ERROR 410
    srv.gone_next_watch()
    col = Collector(v1.list_pod_for_all_namespaces,
                    field_selector="spec.nodeName=" + NODE_A,
                    resource_version=srv.resource_version(),
                    timeout_seconds=10)
    srv.wait_open_watches(1, 5)
    p = v1.patch_namespaced_pod("a1", "team-a", {"metadata": {
        "annotations": {CORE: "55"}}})
    col.wait(lambda x: x.done.is_set(), 8)
    c.check(col.changes() == [("MODIFIED", "a1", rv_of(p))] and
            isinstance(col.error, ApiException) and col.error.status == 410,
            "gone_next_watch: MODIFIED, then the client raises 410 (%r)" %
            col.error)
    c.check(srv.count("gone") - gone0 == 3,
            "3 Gone answers counted (%d)" % (srv.count("gone") - gone0))


def check_tokens(srv, c, v1):
    u0 = srv.count("unauthorized")
    code, st = api_error(srv.client(token="wrong").list_namespaced_pod,
                         "team-a")
    c.check(code == 401 and st["reason"] == "Unauthorized" and
            st["kind"] == "Status", "a wrong token is 401 Unauthorized")
    c.check(raw(srv, "GET", "/api/v1/pods", token=False)[0] == 401,
            "no Authorization header is 401")
    old = srv.client()
    new_token = srv.rotate_token(grace=1.0)
    with open(srv.token_file) as f:
        c.check(f.read() == new_token, "rotate_token wrote the new token")
    t = time.monotonic()
    c.check(api_error(old.list_namespaced_pod, "team-a")[0] is None,
            "the old token still works within the grace")
    c.check(api_error(srv.client().list_namespaced_pod, "team-a")[0] is None,
            "the new token (read from the file) works")
    time.sleep(max(0.0, 1.2 - (time.monotonic() - t)))
    code, _ = api_error(old.list_namespaced_pod, "team-a")
    c.check(code == 401, "the old token is 401 after the grace (%s)" % code)
    srv.rotate_token()
    code, _ = api_error(srv.client(token=new_token).list_namespaced_pod,
                        "team-a")
    c.check(code == 401, "rotated without grace: the previous token is "
            "refused at once")
    c.check(srv.count("unauthorized") - u0 == 4,
            "4 answers of 401 counted (%d)" %
            (srv.count("unauthorized") - u0))


def check_drop(srv, c, v1):
    rv = srv.resource_version()
    col = Collector(v1.list_pod_for_all_namespaces,
                    field_selector="spec.nodeName=" + NODE_A,
                    resource_version=rv)
    srv.wait_open_watches(1, 5)
    p1 = srv.annotate("team-a", "a1", {CORE: "60"})
    col.wait(lambda x: len(x.changes()) >= 1, 5)
    t = time.monotonic()
    n = srv.drop_watches()
    col.wait(lambda x: x.done.is_set(), 5)
    dt = time.monotonic() - t
    c.check(n == 1 and col.done.is_set() and col.error is not None and
            dt < 2.0, "drop_watches cut 1 watch; the client's stream "
            "broke in %.2f s (%s)" % (dt, type(col.error).__name__))
    p2 = srv.annotate("team-a", "a1", {CORE: "61"})
    last = col.w.resource_version
    col2 = Collector(v1.list_pod_for_all_namespaces,
                     until=lambda evs: len(evs) >= 1,
                     field_selector="spec.nodeName=" + NODE_A,
                     resource_version=last, timeout_seconds=5)
    col2.wait(lambda x: x.done.is_set(), 8)
    c.check(last == rv_of(p1) and col2.changes() ==
            [("MODIFIED", "a1", rv_of(p2))],
            "resumed from the last version seen (%s): the change made "
            "after the drop arrives" % last)
    conn, r = raw_watch(srv, "/api/v1/pods?watch=1&resourceVersion=" +
                        srv.resource_version())
    srv.wait_open_watches(1, 5)
    srv.drop_watches(graceful=True)
    try:
        rest = r.read()
        clean = rest == b""
    except (http.client.HTTPException, OSError):
        clean = False
    conn.close()
    c.check(clean, "a graceful drop ends the stream with its end chunk")


def check_down(srv, c, v1):
    before = {p["metadata"]["uid"] for p in srv.pods()}
    rv = srv.resource_version()
    conn, r = raw_watch(srv, "/api/v1/pods?watch=1&resourceVersion=" + rv)
    srv.wait_open_watches(1, 5)
    t0 = time.monotonic()
    srv.down(2.0)
    try:
        r.read()
        cut = False
    except (http.client.HTTPException, OSError):
        cut = True
    conn.close()
    c.check(cut, "down(): an open watch is cut")
    refused = 0
    p = srv.annotate("team-a", "a4", {CORE: "70"})
    while time.monotonic() - t0 < 1.5:
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", srv.port))
        except ConnectionRefusedError:
            refused += 1
        finally:
            s.close()
        time.sleep(0.1)
    c.check(refused >= 5, "connections refused while down (%d of ~15)" %
            refused)
    srv.wait_up(5)
    dt = time.monotonic() - t0
    c.check(1.9 <= dt <= 3.5, "back up after %.2f s (2 asked)" % dt)
    after = {x.metadata.uid for x in
             v1.list_pod_for_all_namespaces().items}
    c.check(after == before, "the same pods (uids) after the outage")
    col = Collector(v1.list_pod_for_all_namespaces,
                    until=lambda evs: len(evs) >= 1, resource_version=rv,
                    timeout_seconds=5)
    col.wait(lambda x: x.done.is_set(), 8)
    c.check(col.changes() == [("MODIFIED", "a4", rv_of(p))],
            "the change made while down is replayed from %s" % rv)


def check_events(srv, c, v1, ev1, a1):
    now = datetime.datetime.now(datetime.timezone.utc)
    ref = k8s.V1ObjectReference(kind="Pod", api_version="v1",
                                namespace="team-a", name="a1",
                                uid=a1.metadata.uid)
    posted = ev1.create_namespaced_event("team-a", k8s.EventsV1Event(
        metadata=k8s.V1ObjectMeta(generate_name="a1."),
        event_time=now, reporting_controller="nvshare.com/scheduler",
        reporting_instance=NODE_A, action="Validate",
        reason="InvalidAnnotation", type="Warning", regarding=ref,
        note="nvshare.com/gpu-core-limit: 250 is not in 1-100"))
    c.check(posted.metadata.name.startswith("a1.") and
            posted.metadata.uid and posted.metadata.resource_version,
            "events.k8s.io/v1 Event created (%s)" % posted.metadata.name)
    core = v1.create_namespaced_event("team-a", k8s.CoreV1Event(
        metadata=k8s.V1ObjectMeta(name="a1.core"), involved_object=ref,
        reason="InvalidAnnotation", message="lots is not a size",
        type="Warning", source=k8s.V1EventSource(component="nvshare")))
    c.check(core.metadata.uid is not None, "core/v1 Event created")
    got = v1.list_namespaced_event(
        "team-a", field_selector="involvedObject.name=a1,"
        "involvedObject.uid=" + a1.metadata.uid)
    by = {e.metadata.name: e for e in got.items}
    c.check(sorted(by) == sorted([posted.metadata.name, "a1.core"]) and
            by[posted.metadata.name].message ==
            "nvshare.com/gpu-core-limit: 250 is not in 1-100" and
            by[posted.metadata.name].reporting_component ==
            "nvshare.com/scheduler",
            "core/v1 lists both, the new one's note as its message")
    # read raw: the client's EventsV1Event refuses the core Event's null
    # eventTime, from a real server too
    r = ev1.list_namespaced_event("team-a", field_selector="regarding.name=a1",
                                  _preload_content=False)
    doc = json.loads(r.data)
    by = {e["metadata"]["name"]: e for e in doc["items"]}
    c.check(doc["kind"] == "EventList" and
            doc["apiVersion"] == "events.k8s.io/v1" and
            sorted(by) == sorted([posted.metadata.name, "a1.core"]) and
            by["a1.core"]["note"] == "lots is not a size" and
            by["a1.core"]["eventTime"] is None and
            by["a1.core"]["regarding"]["uid"] == a1.metadata.uid and
            by[posted.metadata.name]["reportingController"] ==
            "nvshare.com/scheduler",
            "events.k8s.io/v1 lists both, the core one's message as note")
    def causes(st):
        return sorted(x["field"] for x in (st or {}).get(
            "details", {}).get("causes", []))
    regarding = {"kind": "Pod", "namespace": "team-a", "name": "a1"}
    code, st = api_error(ev1.create_namespaced_event, "team-a", {
        "metadata": {"name": "x1"}, "reason": "R", "type": "Warning",
        "regarding": regarding})
    c.check(code == 422 and st["reason"] == "Invalid" and
            causes(st) == ["eventTime"] and
            st["details"]["group"] == "events.k8s.io",
            "events.k8s.io/v1 Event without eventTime: 422 naming it (%s)" %
            causes(st))
    code, st = api_error(ev1.create_namespaced_event, "team-a", {
        "metadata": {"name": "x1"}, "reason": "R", "type": "Warning",
        "eventTime": "2024-05-01T10:00:00.000001Z", "regarding": regarding})
    c.check(code == 422 and causes(st) == ["action", "reportingController",
                                           "reportingInstance"],
            "... with eventTime but no controller, instance, action: 422 "
            "naming them (%s)" % causes(st))
    code, st = api_error(ev1.create_namespaced_event, "team-a", {
        "metadata": {"name": "x1"}, "eventTime": "2024-05-01T10:00:00Z",
        "reportingController": "nvshare.com/scheduler",
        "reportingInstance": "n", "action": "A", "type": "Bad"})
    c.check(code == 422 and causes(st) == ["reason", "regarding", "type"],
            "... without reason, regarding, a valid type: 422 (%s)" %
            causes(st))
    code, st = api_error(v1.create_namespaced_event, "team-a", {
        "metadata": {"name": "x2"}, "message": "m"})
    c.check(code == 422 and causes(st) == ["involvedObject", "reason"],
            "core/v1 Event without involvedObject and reason: 422 (%s)" %
            causes(st))
    code, st = api_error(v1.create_namespaced_event, "team-a", {
        "metadata": {"name": "x2"}, "reason": "R", "involvedObject": {
            "kind": "Pod", "namespace": "team-b", "name": "a1"}})
    c.check(code == 422 and causes(st) == ["involvedObject.namespace"],
            "core/v1 Event about another namespace's object: 422")
    code, _ = api_error(ev1.create_namespaced_event, "team-a", {
        "metadata": {"name": "x3"}, "eventTime": "yesterday",
        "reportingController": "nvshare.com/scheduler",
        "reportingInstance": "n", "action": "A", "reason": "R",
        "type": "Warning", "regarding": {"kind": "Pod",
                                         "namespace": "team-a",
                                         "name": "a1"}})
    c.check(code == 422, "an eventTime that is no time: 422")
    c.check(srv.count("event_post_v1") == 5 and
            srv.count("event_post_core") == 3,
            "event posts counted per API (%d v1, %d core)" %
            (srv.count("event_post_v1"), srv.count("event_post_core")))
    srv.events_v1 = False
    code, _ = api_error(ev1.create_namespaced_event, "team-a",
                        k8s.EventsV1Event(
                            metadata=k8s.V1ObjectMeta(name="off"),
                            event_time=now, reporting_controller="a/b",
                            reporting_instance="n", action="A", reason="R",
                            type="Warning", regarding=ref))
    groups = k8s.ApisApi(srv.api_client()).get_api_versions().groups
    c.check(code == 404 and not any(g.name == "events.k8s.io"
                                    for g in groups),
            "events_v1=False: events.k8s.io is 404 and not discovered")
    c.check(api_error(v1.create_namespaced_event, "team-a", k8s.CoreV1Event(
        metadata=k8s.V1ObjectMeta(name="a1.core2"), involved_object=ref,
        reason="R"))[0] is None, "core/v1 still takes Events")
    srv.events_v1 = True
    c.check(len(srv.events()) == 3 and
            srv.events("events.k8s.io/v1")[0]["regarding"]["name"] == "a1",
            "events() has the 3 stored, in either form")


def check_faults(srv, c, v1):
    srv.slow(0.6)
    t = time.monotonic()
    v1.list_namespaced_pod("team-a")
    slow = time.monotonic() - t
    srv.slow(0)
    t = time.monotonic()
    v1.list_namespaced_pod("team-a")
    quick = time.monotonic() - t
    c.check(slow >= 0.6 and quick < 0.4,
            "slow(0.6): a list took %.2f s, then %.2f s" % (slow, quick))
    srv.fail_next("list", 503)
    code, st = api_error(v1.list_namespaced_pod, "team-a")
    ok = api_error(v1.list_namespaced_pod, "team-a")[0] is None
    c.check(code == 503 and st["reason"] == "ServiceUnavailable" and ok,
            "fail_next('list', 503): one 503, then lists work")


def check_certs(srv, c, v1):
    def refused():
        return srv.count("tls_failures") + srv.count("empty_connections")
    tls0, req0 = refused(), srv.count("requests")
    srv.use_cert("wrong-host")
    quick = srv.client(retries=0)
    code, err = None, None
    try:
        quick.list_namespaced_pod("team-a")
    except Exception as e:  # urllib3 wraps the TLS error
        err = e
    c.check(err is not None and "hostname" in str(err).lower(),
            "wrong-host certificate: the client refuses it (%s)" %
            str(err)[:120])
    srv.use_cert("other-ca")
    err = None
    try:
        srv.client(retries=0).list_namespaced_pod("team-a")
    except Exception as e:
        err = e
    c.check(err is not None and "certificate verify failed" in str(err),
            "certificate from another CA: the client refuses it")
    # the server notes a refusal just after the client gives up
    deadline = time.monotonic() + 3
    while refused() - tls0 < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    c.check(refused() - tls0 == 2 and srv.count("requests") == req0,
            "the 2 refusals counted (tls_failures %d, empty_connections %d), "
            "no request reached the server" % (srv.count("tls_failures"),
                                               srv.count("empty_connections")))
    code = raw(srv, "GET", "/version", ca=srv.other_ca_file)[0]
    c.check(code == 200, "... and accepts it with that CA (%s)" % code)
    srv.use_cert("good")
    try:  # a bare chroot may have no /etc/hosts: no name to test then
        socket.getaddrinfo("localhost", srv.port)
    except OSError:
        print("note - \"localhost\" does not resolve here: its check of the "
              "certificate's DNS name is left out")
        return
    c.check(api_error(srv.client(host="localhost").list_namespaced_pod,
                      "team-a")[0] is None,
            "good certificate: https://localhost works too")


def check_cli(env, c):
    d = os.path.join(env.tmp, "cli")
    p = subprocess.Popen([sys.executable, os.path.join(HERE,
                                                       "kube_apiserver.py"),
                          "--dir", d, "--port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    env.procs.append(p)
    info = dict(p.stdout.readline().split(None, 1) for _ in range(3))
    info = {k: v.strip() for k, v in info.items()}
    host, port = info["url"][len("https://"):].rsplit(":", 1)
    with open(info["token"]) as f:
        token = f.read()
    ctx = ssl.create_default_context(cafile=info["ca"])
    conn = http.client.HTTPSConnection(host, int(port), context=ctx,
                                       timeout=10)
    conn.request("GET", "/api/v1/pods",
                 headers={"Authorization": "Bearer " + token})
    r = conn.getresponse()
    doc = json.loads(r.read())
    conn.close()
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=10)
    c.check(r.status == 200 and doc["kind"] == "PodList" and rc == 0,
            "command-line mode: %s serves a PodList, exits 0 on SIGTERM "
            "(%s)" % (info["url"], rc))


def main(env, c):
    t0 = time.monotonic()
    srv = kas.ApiServer(os.path.join(env.tmp, "apiserver"),
                        bookmark_interval=0.3)
    try:
        print("double at %s, certificates in %.2f s" %
              (srv.url, time.monotonic() - t0))
        v1 = srv.client()
        made = check_pods(srv, c, v1)
        check_lists(srv, c, v1)
        rv0 = check_watch(srv, c, v1)
        check_gone(srv, c, v1, rv0)
        check_tokens(srv, c, srv.client())
        v1 = srv.client()
        check_drop(srv, c, v1)
        check_down(srv, c, v1)
        check_events(srv, c, v1, srv.events_client(), made["a1"])
        check_faults(srv, c, v1)
        check_certs(srv, c, v1)
        counts = srv.counts()
        print("counts: " + ", ".join("%s=%d" % kv
                                     for kv in sorted(counts.items())))
    finally:
        srv.stop()
    check_cli(env, c)
    print("took %.1f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    run(main, "test_kube_apiserver")
