#!/usr/bin/env python3
"""A Kubernetes API-server double, for the tests of the scheduler's watcher.

It speaks the parts of the real API that the watcher uses, over HTTPS with
a bearer token, with the same shapes, status codes and resource-version
rules as kube-apiserver, so that the official Python client can drive it
(tests/e2e/test_kube_apiserver.py proves that):

  pods    create, get, patch (JSON patch, merge patch, strategic merge
          patch applied as a merge patch), replace, delete, /status,
          /binding; lists of all namespaces or one, with fieldSelector,
          labelSelector (equality, existence, in/notin), limit/continue;
          watches of the same URLs (watch=1), from a resourceVersion,
          with allowWatchBookmarks and timeoutSeconds, as chunked JSON
          lines; a pod whose fields move it into or out of a selector is
          ADDED or DELETED for that watch, as the real server does.
  events  events.k8s.io/v1 and core/v1, one store seen through both
          (converted as the real server does), validated like it (422).
  other   /version, /api, /api/v1, /apis, the events.k8s.io group,
          /healthz, /readyz, /livez.

One global resourceVersion counts every change (pods and events), as
etcd's revision does. Watches replay a history of pod changes; versions
older than the compaction point answer 410 Gone.

Faults for tests: down(), drop_watches(), compact(), gone_next_watch(),
break_next_watches() (an ERROR event or a close at once), slow(),
fail_next() (with a Status padded past a client's bound if asked),
clear_faults(), use_cert() (a certificate for a wrong host name, or from
another CA), rotate_token(). Figures for assertions: counts(),
requests() (time, method, path, query, status), written_events() and the
monotonic time at which the watch event that carried a given pod
resourceVersion was written (event_write_time_ns()).

Certificates are made with the `openssl` command at start. Only the
standard library is used; client() and friends import the kubernetes
package (Debian's python3-kubernetes, /usr/bin/python3) when called.

As a program: kube_apiserver.py --dir D [--port P] serves until SIGTERM
or SIGINT and prints the URL and the paths of the CA and the token.
"""

import argparse
import base64
import bisect
import collections
import copy
import datetime
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

Request = collections.namedtuple("Request", "time method path query status")
Written = collections.namedtuple(
    "Written", "time_ns watch type namespace name resource_version")

CERT_KINDS = ("good", "wrong-host", "other-ca")
MAX_BODY = 3 << 20  # the real server's limit for a request body
LOG_LIMIT = 100000  # entries kept in requests() and written_events()
SNAPSHOTS_KEPT = 64  # paginated lists whose continue tokens stay valid


def require_or_skip(test_name):
    """For a test of the double: runs it under the Python that has the
    kubernetes package, or, where nothing here has it or the openssl
    command is missing, prints why and exits as skipped."""
    why = None
    if not use_debian_python():
        why = "python3-kubernetes is not installed (scripts/deps.sh test)"
    elif not shutil.which("openssl"):
        why = "the openssl command is not installed"
    if why:
        print("skip - " + why)
        print("%s: 0 passed, 0 failed, 1 skipped" % test_name)
        sys.exit(0)


def use_debian_python():
    """Re-executes the running script under /usr/bin/python3 when this
    interpreter lacks the kubernetes package (Debian's python3-kubernetes
    belongs to the system Python). Returns False, without re-executing,
    when no interpreter here has it."""
    try:
        import kubernetes  # noqa: F401
        return True
    except ImportError:
        pass
    deb = "/usr/bin/python3"
    if os.path.exists(deb) and \
            os.path.realpath(sys.executable) != os.path.realpath(deb):
        probe = subprocess.run([deb, "-c", "import kubernetes"],
                               capture_output=True)
        if probe.returncode == 0:
            os.execv(deb, [deb] + sys.argv)
    return False


# --- small helpers -------------------------------------------------------


def _now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _status(code, reason, message, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {},
          "status": "Failure", "message": message, "reason": reason,
          "code": code}
    if details:
        st["details"] = details
    return st


class _HTTPError(Exception):
    """An answer other than success: a Status, or the real server's plain
    '404 page not found' for a path no API serves."""

    REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden",
               404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict",
               410: "Expired", 413: "RequestEntityTooLarge",
               415: "UnsupportedMediaType", 422: "Invalid",
               429: "TooManyRequests", 500: "InternalError",
               503: "ServiceUnavailable", 504: "Timeout"}

    def __init__(self, code, message, reason=None, details=None,
                 plain=False):
        super().__init__(message)
        self.code = code
        self.plain = plain
        self.status = _status(code, reason or self.REASONS.get(code, ""),
                              message, details)


def _not_found_page():
    return _HTTPError(404, "404 page not found", plain=True)


def _invalid(kind, name, errors, group=""):
    """422 with the causes, worded as the real server's field errors."""
    words = {"FieldValueRequired": "Required value",
             "FieldValueInvalid": "Invalid value",
             "FieldValueNotSupported": "Unsupported value",
             "FieldValueTooLong": "Too long"}
    causes = [{"reason": r, "message": "%s: %s" % (words[r], m) if m
               else words[r], "field": f} for (f, r, m) in errors]
    what = "%s.%s" % (kind, group) if group else kind
    text = "; ".join("%s: %s" % (c["field"], c["message"]) for c in causes)
    if len(causes) > 1:
        text = "[" + ", ".join("%s: %s" % (c["field"], c["message"])
                               for c in causes) + "]"
    details = {"name": name or "", "kind": kind.lower() + "s",
               "causes": causes}
    if group:
        details["group"] = group
    return _HTTPError(422, '%s "%s" is invalid: %s' % (what, name or "",
                                                       text),
                      "Invalid", details)


def _parse_bool(text, what):
    """strconv.ParseBool, as the real server parses boolean parameters."""
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False", ""):
        return False
    raise _HTTPError(400, "invalid value for %s: %r" % (what, text))


def _parse_int(text, what, low=0):
    try:
        v = int(text)
    except (TypeError, ValueError):
        v = None
    if v is None or v < low or str(v) != text.strip():
        raise _HTTPError(400, "invalid value for %s: %r" % (what, text))
    return v


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?"
                      r"(Z|[+-]\d{2}:\d{2})$")


def _is_dns_label(s):
    return isinstance(s, str) and len(s) <= 63 and bool(_DNS_LABEL.match(s))


def _is_dns_subdomain(s):
    return isinstance(s, str) and len(s) <= 253 and \
        bool(_DNS_SUBDOMAIN.match(s))


def _is_qualified_name(s):
    """prefix/name (prefix a DNS subdomain) or name, as in label and
    annotation keys."""
    if not isinstance(s, str):
        return False
    prefix, _, name = s.rpartition("/")
    if prefix and not _is_dns_subdomain(prefix):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED_NAME.match(name))


def _lookup(obj, dotted):
    """A field's value as a field selector compares it: '' when absent."""
    cur = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


# The field labels the real server supports (others answer 400).
POD_FIELDS = {"metadata.name", "metadata.namespace", "spec.nodeName",
              "spec.restartPolicy", "spec.schedulerName",
              "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
              "status.podIP", "status.nominatedNodeName"}
EVENT_FIELDS = {"metadata.name", "metadata.namespace",
                "involvedObject.kind", "involvedObject.namespace",
                "involvedObject.name", "involvedObject.uid",
                "involvedObject.apiVersion", "involvedObject.resourceVersion",
                "involvedObject.fieldPath", "reason", "reportingComponent",
                "source", "type"}
# events.k8s.io names for the same fields (matched on the stored core form)
EVENT_V1_FIELD_ALIASES = {"regarding": "involvedObject",
                          "reportingController": "reportingComponent",
                          "deprecatedSource": "source"}


def _field_selector(text, allowed, aliases=None):
    """A predicate on an object from a fieldSelector (a=b, a==b, a!=b,
    comma-separated)."""
    terms = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        m = re.match(r"^([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)$", part)
        if not m:
            raise _HTTPError(400, "invalid field selector: %r" % part)
        field, op, value = m.groups()
        if aliases:
            head, _, rest = field.partition(".")
            if head in aliases:
                field = aliases[head] + ("." + rest if rest else "")
        if field == "source":
            field = "source.component"
        elif field not in allowed:
            raise _HTTPError(400, 'field label not supported: %s' % field)
        terms.append((field, op != "!=", value))
    return lambda obj: all((_lookup(obj, f) == v) == eq
                           for (f, eq, v) in terms)


_LABEL_TERM = re.compile(
    r"\s*(?P<not>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|!=|=)\s*(?P<val>[A-Za-z0-9_.-]*)|"
    r"\s+(?P<set>in|notin)\s*\((?P<vals>[^)]*)\))?\s*(?:,|$)")


def _label_selector(text):
    """A predicate on an object's labels from a labelSelector."""
    terms, pos, text = [], 0, (text or "").strip()
    while pos < len(text):
        m = _LABEL_TERM.match(text, pos)
        if not m or m.end() == pos:
            raise _HTTPError(400, "unable to parse requirement: %r" %
                             text[pos:])
        pos = m.end()
        if m.group("not") and (m.group("op") or m.group("set")):
            raise _HTTPError(400, "unable to parse requirement: %r" % text)
        terms.append(m.groupdict())

    def match(obj):
        labels = (obj.get("metadata") or {}).get("labels") or {}
        for t in terms:
            k = t["key"]
            if t["op"]:
                if (labels.get(k) == t["val"]) != (t["op"] != "!="):
                    return False
            elif t["set"]:
                vals = {v.strip() for v in t["vals"].split(",")}
                if (labels.get(k) in vals) != (t["set"] == "in"):
                    return False
            elif (k in labels) == bool(t["not"]):
                return False
        return True
    return match


# --- patches -------------------------------------------------------------


def _merge_patch(target, patch):
    """RFC 7386: objects merge, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge_patch(out.get(k), v)
    return out


def _strip_directives(patch):
    """A strategic merge patch less its $-directives ($patch,
    $setElementOrder/..., $retainKeys): what is left is applied as a merge
    patch, which is what it means for metadata (labels, annotations)."""
    if isinstance(patch, dict):
        return {k: _strip_directives(v) for k, v in patch.items()
                if not k.startswith("$")}
    return patch


def _pointer(path):
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise ValueError("invalid JSON pointer %r" % (path,))
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~")
            for p in path[1:].split("/")]


def _walk(doc, parts):
    for p in parts:
        if isinstance(doc, dict) and p in doc:
            doc = doc[p]
        elif isinstance(doc, list) and p.isdigit() and int(p) < len(doc):
            doc = doc[int(p)]
        else:
            raise ValueError("path not found: /%s" % "/".join(parts))
    return doc


def _json_patch(doc, ops):
    """RFC 6902 on a copy of doc."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise ValueError("a JSON patch is a list of operations")
    for op in ops:
        if not isinstance(op, dict) or "path" not in op:
            raise ValueError("invalid operation %r" % (op,))
        kind = op.get("op")
        parts = _pointer(op["path"])
        if kind in ("move", "copy"):
            value = copy.deepcopy(_walk(doc, _pointer(op.get("from"))))
            if kind == "move":
                doc = _json_patch(doc, [{"op": "remove",
                                         "path": op.get("from")}])
            kind = "add"
        else:
            value = op.get("value")
        if kind == "test":
            if _walk(doc, parts) != value:
                raise ValueError("test failed at %s" % op["path"])
            continue
        if kind not in ("add", "remove", "replace"):
            raise ValueError("unsupported op %r" % (kind,))
        if not parts:
            if kind == "remove":
                raise ValueError("cannot remove the root")
            doc = copy.deepcopy(value)
            continue
        parent, key = _walk(doc, parts[:-1]), parts[-1]
        if isinstance(parent, dict):
            if kind != "add" and key not in parent:
                raise ValueError("path not found: %s" % op["path"])
            if kind == "remove":
                del parent[key]
            else:
                parent[key] = copy.deepcopy(value)
        elif isinstance(parent, list):
            if key == "-" and kind == "add":
                parent.append(copy.deepcopy(value))
                continue
            if not key.isdigit():
                raise ValueError("invalid index in %s" % op["path"])
            i = int(key)
            if i > len(parent) or (kind != "add" and i == len(parent)):
                raise ValueError("index out of range in %s" % op["path"])
            if kind == "add":
                parent.insert(i, copy.deepcopy(value))
            elif kind == "remove":
                del parent[i]
            else:
                parent[i] = copy.deepcopy(value)
        else:
            raise ValueError("path not found: %s" % op["path"])
    return doc


# --- events: the stored (core/v1) form and events.k8s.io/v1 --------------

# (core/v1 name, events.k8s.io/v1 name); the other fields keep their names.
_EVENT_RENAMES = [("involvedObject", "regarding"), ("message", "note"),
                  ("source", "deprecatedSource"),
                  ("firstTimestamp", "deprecatedFirstTimestamp"),
                  ("lastTimestamp", "deprecatedLastTimestamp"),
                  ("count", "deprecatedCount"),
                  ("reportingComponent", "reportingController")]
_EVENT_COMMON = ["metadata", "eventTime", "series", "action", "reason",
                 "type", "related", "reportingInstance"]


def _event_to_core(ev):
    out = {k: ev[k] for k in _EVENT_COMMON if k in ev}
    for core, v1 in _EVENT_RENAMES:
        if v1 in ev:
            out[core] = ev[v1]
    if isinstance(out.get("series"), dict):
        s = out["series"]
        out["series"] = {"count": s.get("count"),
                         "lastObservedTime": s.get("lastObservedTime")}
    return out


def _event_from_core(ev):
    out = {"kind": "Event", "apiVersion": "events.k8s.io/v1"}
    out.update({k: ev[k] for k in _EVENT_COMMON if k in ev})
    for core, v1 in _EVENT_RENAMES:
        if core in ev:
            out[v1] = ev[core]
    # a core/v1 Event without one shows a zero MicroTime, which Go writes
    # as null (the Python client's EventsV1Event refuses it)
    out.setdefault("eventTime", None)
    return out


def _core_event_view(ev):
    out = {"kind": "Event", "apiVersion": "v1"}
    out.update(ev)
    return out


def _validate_event(ev, namespace, v1):
    """The real server's checks (ValidateEventCreate), on the core form;
    v1: posted to events.k8s.io/v1. Returns [(field, reason, detail)]."""
    errs = []
    req, bad, long_ = ("FieldValueRequired", "FieldValueInvalid",
                       "FieldValueTooLong")
    controller = "reportingController" if v1 else "reportingComponent"
    has_time = bool(ev.get("eventTime"))
    inv = ev.get("involvedObject")
    if not isinstance(inv, dict) or not inv:
        errs.append(("regarding" if v1 else "involvedObject", req, ""))
        inv = None
    # the involved object's namespace must agree with the Event's (not
    # checked on top of the object's absence)
    inv_ns = (inv or {}).get("namespace") or ""
    if inv is None:
        ns_ok = True
    elif has_time:
        ns_ok = inv_ns or namespace in ("default", "kube-system")
    else:
        ns_ok = inv_ns == namespace or (not inv_ns and namespace in
                                        ("", "default"))
    if not ns_ok:
        errs.append(("regarding.namespace" if v1 else
                     "involvedObject.namespace", bad,
                     "does not match event.namespace"))
    if has_time:
        if not _RFC3339.match(str(ev["eventTime"])):
            errs.append(("eventTime", bad, "not an RFC 3339 time"))
        if not ev.get("reportingComponent"):
            errs.append((controller, req, ""))
        elif not _is_qualified_name(ev["reportingComponent"]):
            errs.append((controller, bad, "not a qualified name"))
        for field, limit in (("reportingInstance", 128), ("action", 128)):
            if not ev.get(field):
                errs.append((field, req, ""))
            elif len(str(ev[field])) > limit:
                errs.append((field, long_, "at most %d characters" % limit))
        if len(str(ev.get("message") or "")) > 1024:
            errs.append(("note" if v1 else "message", long_,
                         "at most 1024 characters"))
    if not ev.get("reason"):
        errs.append(("reason", req, ""))
    elif len(str(ev["reason"])) > 128:
        errs.append(("reason", long_, "at most 128 characters"))
    if not v1:
        return errs
    # events.k8s.io/v1 only: the new API's stricter rules
    if not has_time:
        errs.append(("eventTime", req, ""))
    if ev.get("type") not in ("Normal", "Warning"):
        errs.append(("type", bad, "has invalid value: %s" %
                     (ev.get("type") or "")))
    for core, v1name in _EVENT_RENAMES[2:6]:
        if ev.get(core):
            errs.append((v1name, bad, "needs to be unset"))
    series = ev.get("series")
    if series is not None:
        if not isinstance(series, dict) or not isinstance(
                series.get("count"), int) or series["count"] < 2:
            errs.append(("series.count", bad, "should be at least 2"))
        if not isinstance(series, dict) or not series.get(
                "lastObservedTime"):
            errs.append(("series.lastObservedTime", req, ""))
    return errs


# --- certificates --------------------------------------------------------


class _Certificates:
    """A CA, another CA, and three server certificates on one EC key:
    'good' (CA, names localhost and 127.0.0.1), 'wrong-host' (CA, names
    wrong-host.invalid only), 'other-ca' (other CA, right names)."""

    def __init__(self, directory):
        self.dir = directory
        self.key_file = self._key("server.key")
        self.ca_file, ca_key = self._ca("ca", "nvshare test CA")
        self.other_ca_file, other_key = self._ca("other-ca",
                                                 "nvshare other test CA")
        right = "DNS:localhost,IP:127.0.0.1"
        self.cert_files = {
            "good": self._leaf("server", "localhost", right,
                               self.ca_file, ca_key),
            "wrong-host": self._leaf("wrong-host", "wrong-host.invalid",
                                     "DNS:wrong-host.invalid",
                                     self.ca_file, ca_key),
            "other-ca": self._leaf("other-ca-server", "localhost", right,
                                   self.other_ca_file, other_key)}

    def _run(self, *args):
        try:
            r = subprocess.run(["openssl"] + list(args), cwd=self.dir,
                               capture_output=True, text=True, timeout=60)
        except FileNotFoundError:
            raise RuntimeError("the openssl command is needed")
        if r.returncode != 0:
            raise RuntimeError("openssl %s failed: %s" %
                               (args[0], r.stderr.strip()))

    def _path(self, name):
        return os.path.join(self.dir, name)

    def _key(self, name):
        self._run("genpkey", "-algorithm", "EC", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-out", self._path(name))
        os.chmod(self._path(name), 0o600)
        return self._path(name)

    def _config(self, name, cn, ext):
        path = self._path(name + ".cnf")
        with open(path, "w") as f:
            f.write("[req]\ndistinguished_name = dn\nprompt = no\n"
                    "[dn]\nCN = %s\n[ext]\n%s\n" % (cn, ext))
        return path

    def _ca(self, name, cn):
        key = self._key(name + ".key")
        cnf = self._config(name, cn,
                           "basicConstraints = critical,CA:TRUE\n"
                           "keyUsage = critical,keyCertSign,cRLSign\n"
                           "subjectKeyIdentifier = hash")
        self._run("req", "-x509", "-new", "-key", key, "-sha256", "-days",
                  "2", "-config", cnf, "-extensions", "ext", "-out",
                  self._path(name + ".crt"))
        return self._path(name + ".crt"), key

    def _leaf(self, name, cn, san, ca, ca_key):
        cnf = self._config(name, cn,
                           "basicConstraints = critical,CA:FALSE\n"
                           "keyUsage = critical,digitalSignature,"
                           "keyEncipherment\n"
                           "extendedKeyUsage = serverAuth\n"
                           "subjectKeyIdentifier = hash\n"
                           "authorityKeyIdentifier = keyid\n"
                           "subjectAltName = " + san)
        csr = self._path(name + ".csr")
        self._run("req", "-new", "-key", self.key_file, "-config", cnf,
                  "-out", csr)
        self._run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                  "-set_serial", "0x" + secrets.token_hex(8), "-days", "2",
                  "-sha256", "-extfile", cnf, "-extensions", "ext", "-out",
                  self._path(name + ".crt"))
        return self._path(name + ".crt")


# --- HTTP plumbing -------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300  # an idle keep-alive connection is closed after that

    def version_string(self):
        return "nvshare-kube-apiserver-double"

    def do_GET(self):
        self.server.api._serve(self, "GET")

    def do_POST(self):
        self.server.api._serve(self, "POST")

    def do_PUT(self):
        self.server.api._serve(self, "PUT")

    def do_PATCH(self):
        self.server.api._serve(self, "PATCH")

    def do_DELETE(self):
        self.server.api._serve(self, "DELETE")

    def log_message(self, fmt, *args):
        if self.server.api.verbose:
            sys.stderr.write("kube-apiserver double: %s\n" % (fmt % args))


class _HTTPSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """One thread per connection; the TLS handshake happens in that
    thread, so a stuck client never holds up accept()."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, api):
        self.api = api
        super().__init__(addr, _Handler)

    def finish_request(self, request, client_address):
        api = self.api
        request.settimeout(10)
        try:
            conn = api._ssl_context().wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            api._count("tls_failures")
            api._note("TLS handshake failed: %s" % e)
            return
        conn.settimeout(_Handler.timeout)
        if not api._track(conn):
            conn.close()
            return
        try:
            _Handler(conn, client_address, self)
        except (OSError, ssl.SSLError):
            pass  # the peer went away, or a fault cut the connection
        finally:
            api._untrack(conn)
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        self.api._note("connection error: %s" % (sys.exc_info()[1],))


def _cut(sock):
    """Shuts the connection down under whatever thread is using it (on a
    duplicate of its descriptor, so the TLS object is not touched)."""
    try:
        dup = socket.fromfd(sock.fileno(), socket.AF_INET,
                            socket.SOCK_STREAM)
    except OSError:
        return
    try:
        dup.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        dup.close()


class _Reply:
    def __init__(self, code, obj, plain=None):
        self.code = code
        self.obj = obj
        self.plain = plain


class _Watch:
    """An open watch stream's state (guarded by the server's lock)."""

    def __init__(self, wid, conn, match, pos, initial, bookmarks, deadline,
                 gone_after, breaks=None):
        self.id = wid
        self.conn = conn
        self.match = match
        self.pos = pos          # every pod change up to here is handled
        self.initial = initial  # events to send first
        self.bookmarks = bookmarks
        self.deadline = deadline
        self.gone_after = gone_after  # send ERROR 410 after so many events
        self.breaks = breaks  # (how, code): end at once (break_next_watches)
        self.next_bookmark = None
        self.cut = False
        self.finish = False


class _Cut(Exception):
    pass


_ROUTES = [(re.compile("^" + rx + "$"), what) for rx, what in [
    (r"/api/v1/pods", "pods"),
    (r"/api/v1/watch/pods", "pods_watch"),
    (r"/api/v1/namespaces/(?P<ns>[^/]+)/pods", "pods"),
    (r"/api/v1/watch/namespaces/(?P<ns>[^/]+)/pods", "pods_watch"),
    (r"/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)", "pod"),
    (r"/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)/status",
     "pod_status"),
    (r"/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)/binding",
     "pod_binding"),
    (r"/api/v1/events", "events_core"),
    (r"/api/v1/namespaces/(?P<ns>[^/]+)/events", "events_core"),
    (r"/api/v1/namespaces/(?P<ns>[^/]+)/events/(?P<name>[^/]+)",
     "event_core"),
    (r"/apis/events\.k8s\.io/v1/events", "events_v1"),
    (r"/apis/events\.k8s\.io/v1/namespaces/(?P<ns>[^/]+)/events",
     "events_v1"),
    (r"/apis/events\.k8s\.io/v1/namespaces/(?P<ns>[^/]+)/events/"
     r"(?P<name>[^/]+)", "event_v1"),
]]


# --- the server ----------------------------------------------------------


class ApiServer:
    """The double; it serves from construction until stop().

    directory: where the certificates and the token file go (made if
    missing, kept); None: a temporary directory, removed by stop().
    port: 0 picks a free one (kept across down()). cert: one of
    CERT_KINDS. bookmark_interval: seconds between BOOKMARK events on a
    watch that allows them (0 or None: none). events_v1: False makes
    /apis/events.k8s.io answer 404. history_limit: pod changes kept for
    watches (older ones are compacted away). expired_at_start: how a
    watch from a compacted version is refused: "http" (HTTP 410 with a
    Status) or "event" (HTTP 200, then an ERROR event with the 410
    Status, as kube-apiserver's watch cache answers)."""

    def __init__(self, directory=None, port=0, host="127.0.0.1",
                 cert="good", bookmark_interval=1.0, events_v1=True,
                 history_limit=10000, expired_at_start="http",
                 verbose=False):
        if cert not in CERT_KINDS:
            raise ValueError("cert must be one of %s" % (CERT_KINDS,))
        if expired_at_start not in ("http", "event"):
            raise ValueError('expired_at_start must be "http" or "event"')
        self._owns_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="kube-apiserver-")
        os.makedirs(self.dir, exist_ok=True)
        self.host = host
        self.port = port
        self.bookmark_interval = bookmark_interval
        self.events_v1 = events_v1
        self.history_limit = max(1, int(history_limit))
        self.expired_at_start = expired_at_start
        self.verbose = verbose

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._rv = 0
        self._pods = {}        # (namespace, name) -> pod (never mutated)
        self._history = []     # (rv, type, old, new), rv increasing
        self._history_rvs = []
        self._compacted = 0
        self._events = {}      # (namespace, name) -> (rv, core form)
        self._tokens = {}      # token -> expiry (monotonic) or None
        self._watches = set()
        self._watch_ids = 0
        self._conns = {}  # open connection -> requests it carried
        self._counts = collections.Counter()
        self._log = collections.deque(maxlen=LOG_LIMIT)
        self._written = collections.deque(maxlen=LOG_LIMIT)
        self._write_times = collections.OrderedDict()  # rv -> [ns]
        self._snapshots = collections.OrderedDict()    # id -> (rv, items)
        self._snapshot_ids = 0
        self._gone_next = 0
        self._break_next = None  # [how, code, watches left]
        self._slow = 0.0
        self._failures = []  # [kind, code, remaining]
        self._stopping = False
        self._server = None
        self._serve_thread = None
        self._up_timer = None

        self._certs = _Certificates(self.dir)
        self.ca_file = self._certs.ca_file
        self.other_ca_file = self._certs.other_ca_file
        self.cert_files = dict(self._certs.cert_files)
        self._contexts = {}
        for kind, crt in self.cert_files.items():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(crt, self._certs.key_file)
            ctx.set_alpn_protocols(["http/1.1"])
            self._contexts[kind] = ctx
        self._cert = cert

        self.token_file = os.path.join(self.dir, "token")
        self._write_token(secrets.token_urlsafe(32))
        self._listen()

    # --- lifecycle ------------------------------------------------------
    @property
    def url(self):
        return "https://%s:%d" % (self.host, self.port)

    def url_for(self, host):
        """The URL with another host name (e.g. 'localhost')."""
        return "https://%s:%d" % (host, self.port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        with self._cond:
            self._stopping = True
            if self._up_timer:
                self._up_timer.cancel()
            self._cond.notify_all()
        self._close_listener()
        self._cut_connections(lambda c: True)
        if self._owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _listen(self):
        deadline = time.monotonic() + 5
        while True:
            try:
                srv = _HTTPSServer((self.host, self.port), self)
                break
            except OSError:
                # the port is taken again after down(): retry a while
                if not self.port or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.port = srv.server_address[1]
        t = threading.Thread(target=srv.serve_forever,
                             kwargs={"poll_interval": 0.05},
                             name="kube-apiserver-double", daemon=True)
        with self._lock:
            self._server, self._serve_thread = srv, t
        t.start()

    def _close_listener(self):
        with self._lock:
            srv, self._server = self._server, None
        if srv:
            srv.shutdown()
            srv.server_close()

    def _track(self, conn):
        with self._lock:
            if self._server is None or self._stopping:
                return False
            self._conns[conn] = 0
            self._counts["connections"] += 1
            return True

    def _untrack(self, conn):
        with self._lock:
            if self._conns.pop(conn, 0) == 0:
                # e.g. a client that refused the certificate after the
                # handshake (host names are checked then)
                self._counts["empty_connections"] += 1

    def _cut_connections(self, which):
        with self._cond:
            conns = [c for c in self._conns if which(c)]
            for w in self._watches:
                if which(w.conn):
                    w.cut = True
            self._cond.notify_all()
        for c in conns:
            _cut(c)
        return len(conns)

    def _ssl_context(self):
        return self._contexts[self._cert]

    def _note(self, line):
        if self.verbose:
            sys.stderr.write("kube-apiserver double: %s\n" % line)

    # --- faults ---------------------------------------------------------
    def down(self, seconds):
        """Closes the listener and every connection; connections are
        refused for seconds, then it listens again on the same port with
        the same state. Returns at once; the state can be changed
        meanwhile through the methods below."""
        with self._lock:
            if self._up_timer:
                self._up_timer.cancel()
        self._close_listener()
        self._cut_connections(lambda c: True)
        with self._lock:
            self._counts["downs"] += 1
            self._up_timer = threading.Timer(seconds, self.up)
            self._up_timer.daemon = True
            self._up_timer.start()

    def up(self):
        """Ends a down() early (no-op when up)."""
        with self._lock:
            if self._up_timer:
                self._up_timer.cancel()
                self._up_timer = None
            if self._server is not None or self._stopping:
                return
        self._listen()

    def is_up(self):
        with self._lock:
            return self._server is not None

    def wait_up(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not self.is_up():
            if time.monotonic() > deadline:
                raise TimeoutError("the API server double is still down")
            time.sleep(0.01)

    def drop_watches(self, graceful=False):
        """Ends every open watch: cut mid-stream (the connection closes
        with no end chunk), or graceful (end chunk, as a server-side
        timeout ends it). Returns how many."""
        with self._cond:
            ws = list(self._watches)
            self._counts["dropped_watches"] += len(ws)
            for w in ws:
                if graceful:
                    w.finish = True
            self._cond.notify_all()
        if not graceful:
            ids = {id(w.conn) for w in ws}
            self._cut_connections(lambda c: id(c) in ids)
        return len(ws)

    def compact(self):
        """Drops the history: versions older than the current one answer
        410 Gone (an open watch that is behind gets an ERROR event)."""
        with self._cond:
            self._compacted = self._rv
            self._history, self._history_rvs = [], []
            self._cond.notify_all()
            return self._rv

    def gone_next_watch(self, count=1, after_events=1):
        """The next count watches opened get an ERROR 410 (Expired) event
        after their first after_events events (of any type) and end."""
        with self._lock:
            self._gone_next = (int(count), max(1, int(after_events))) \
                if count > 0 else 0

    def break_next_watches(self, count, how, code=500):
        """The next count watches opened end at once, as a server that
        misbehaves on every watch: how "error": an ERROR event with a
        Status of code (InternalError for 500), then the end; "close": one
        BOOKMARK at the watch's version, then the end chunk."""
        if how not in ("error", "close"):
            raise ValueError('how must be "error" or "close"')
        with self._lock:
            self._break_next = [how, int(code), int(count)] \
                if count > 0 else None

    def clear_faults(self):
        """Forgets the faults still pending: fail_next(),
        gone_next_watch(), break_next_watches()."""
        with self._lock:
            self._failures = []
            self._gone_next = 0
            self._break_next = None

    def slow(self, seconds):
        """Delays the answer to every request by seconds (0: none)."""
        with self._lock:
            self._slow = max(0.0, float(seconds))

    def fail_next(self, kind, code=500, count=1, pad=0):
        """Answers the next count requests of kind (see counts(); "any"
        for every kind) with an error Status of code; pad > 0 makes its
        message that many bytes long (a body over a client's bound)."""
        with self._lock:
            self._failures.append([kind, int(code), int(count), int(pad)])

    def use_cert(self, kind, cut=True):
        """Serves new connections with another certificate (CERT_KINDS);
        cut: also close the open ones, so that clients reconnect."""
        if kind not in CERT_KINDS:
            raise ValueError("cert must be one of %s" % (CERT_KINDS,))
        with self._lock:
            self._cert = kind
        if cut:
            self._cut_connections(lambda c: True)

    def _write_token(self, token):
        tmp = self.token_file + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token)
        os.replace(tmp, self.token_file)
        with self._lock:
            self._tokens[token] = None
            self._token = token

    @property
    def token(self):
        with self._lock:
            return self._token

    def rotate_token(self, grace=0.0):
        """Writes a new token to token_file; the old one is refused after
        grace seconds (at once for 0). Returns the new token."""
        with self._lock:
            old = self._token
        new = secrets.token_urlsafe(32)
        self._write_token(new)
        with self._lock:
            if grace > 0:
                self._tokens[old] = time.monotonic() + grace
            else:
                self._tokens.pop(old, None)
        return new

    def _authorized(self, header):
        if not header or not header.startswith("Bearer "):
            return False
        tok = header[len("Bearer "):].strip()
        now = time.monotonic()
        with self._lock:
            for t, exp in list(self._tokens.items()):
                if exp is not None and exp <= now:
                    del self._tokens[t]
            return tok in self._tokens

    # --- figures --------------------------------------------------------
    def counts(self):
        """Requests per kind: list, watch, get, create, patch, replace,
        delete, bind, status, event_post (event_post_v1, event_post_core),
        event_list, event_get, discovery; and unauthorized (401s), gone
        (410 answers and ERROR events), connections (TLS handshakes
        done), tls_failures (handshakes failed), empty_connections
        (closed with no request: a client that refused the certificate
        after the handshake), dropped_watches, downs, injected
        (fail_next answers), requests (all)."""
        with self._lock:
            return dict(self._counts)

    def count(self, kind):
        with self._lock:
            return self._counts.get(kind, 0)

    def _count(self, kind, n=1):
        with self._lock:
            self._counts[kind] += n

    def requests(self, since=None):
        """Request(time (monotonic s), method, path, query (dict), status)
        for each request answered, oldest first; a watch is logged when
        its stream starts."""
        with self._lock:
            return [r for r in self._log if since is None or r.time >= since]

    def written_events(self):
        """Written(time_ns, watch id, type, namespace, name,
        resource_version) for each watch event written, oldest first."""
        with self._lock:
            return list(self._written)

    def event_write_time_ns(self, resource_version):
        """CLOCK_MONOTONIC (time.monotonic_ns()) just before the first
        watch event carrying this pod resourceVersion was written to a
        client (logged once the write succeeded), or None."""
        with self._lock:
            t = self._write_times.get(str(resource_version))
            return t[0] if t else None

    def event_write_time(self, resource_version):
        t = self.event_write_time_ns(resource_version)
        return None if t is None else t / 1e9

    def event_write_times_ns(self, resource_version):
        """Every write of it (one per watch that carried it)."""
        with self._lock:
            return list(self._write_times.get(str(resource_version), ()))

    def wait_event_written(self, resource_version, timeout=10.0):
        """event_write_time_ns(), waiting up to timeout for the write."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                t = self._write_times.get(str(resource_version))
                if t:
                    return t[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no watch event with resourceVersion "
                                       "%s was written" % resource_version)
                self._cond.wait(left)

    def open_watches(self):
        with self._lock:
            return len(self._watches)

    def wait_open_watches(self, n=1, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._watches) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("%d watches open, not %d" %
                                       (len(self._watches), n))
                self._cond.wait(left)

    def resource_version(self):
        with self._lock:
            return str(self._rv)

    # --- state, for tests (works while down) -----------------------------
    def create_pod(self, name, namespace="default", node=None,
                   annotations=None, labels=None, uid=None, phase=None,
                   env=None):
        """Creates a pod as a POST would (uid: impose one, e.g. to match
        a cgroup path; env: {name: value} for its container, e.g. to make
        a big pod). Returns a copy."""
        body = {"metadata": {"name": name},
                "spec": {"containers": [{"name": "main",
                                         "image": "registry.invalid/x"}]}}
        if env:
            body["spec"]["containers"][0]["env"] = [
                {"name": k, "value": v} for k, v in sorted(env.items())]
        if node:
            body["spec"]["nodeName"] = node
        if annotations:
            body["metadata"]["annotations"] = dict(annotations)
        if labels:
            body["metadata"]["labels"] = dict(labels)
        with self._lock:
            pod = self._create_pod(namespace, body, uid=uid, phase=phase)
        return copy.deepcopy(pod)

    def get_pod(self, namespace, name):
        with self._lock:
            pod = self._pods.get((namespace, name))
            return copy.deepcopy(pod) if pod else None

    def pods(self, namespace=None, node=None):
        with self._lock:
            return [copy.deepcopy(p) for (ns, _), p in sorted(
                self._pods.items()) if (namespace is None or ns == namespace)
                and (node is None or
                     (p.get("spec") or {}).get("nodeName") == node)]

    def patch_pod(self, namespace, name, patch, patch_type="merge"):
        """patch_type: "merge", "strategic" or "json". Status changes are
        kept (unlike a PATCH of the pod). Returns the pod."""
        ctype = {"merge": "application/merge-patch+json",
                 "strategic": "application/strategic-merge-patch+json",
                 "json": "application/json-patch+json"}[patch_type]
        with self._lock:
            pod = self._patch_pod(namespace, name, ctype, patch,
                                  part="all")
        return copy.deepcopy(pod)

    def annotate(self, namespace, name, annotations):
        """Sets annotations ({key: value}; None removes the key)."""
        return self.patch_pod(namespace, name,
                              {"metadata": {"annotations": annotations}})

    def move_pod(self, namespace, name, node):
        """Sets spec.nodeName (None clears it), which the real server only
        lets a binding do once: for tests of a pod entering or leaving a
        node's selector."""
        return self.patch_pod(namespace, name, {"spec": {"nodeName": node}})

    def delete_pod(self, namespace, name):
        with self._lock:
            pod = self._delete_pod(namespace, name, None)
        return copy.deepcopy(pod)

    def events(self, api="v1", namespace=None):
        """The stored Events, oldest first, in core/v1 form (api="v1") or
        events.k8s.io/v1 form (api="events.k8s.io/v1")."""
        view = _core_event_view if api == "v1" else _event_from_core
        with self._lock:
            evs = sorted(self._events.items(), key=lambda kv: kv[1][0])
            return [view(copy.deepcopy(ev)) for (ns, _), (_, ev) in evs
                    if namespace is None or ns == namespace]

    # --- official client -------------------------------------------------
    def api_client(self, token=None, host=None, retries=None):
        """kubernetes.client.ApiClient for this server: its CA, the token
        (default: token_file's, read now), host (default 127.0.0.1);
        retries: urllib3's (None: its default of 3)."""
        from kubernetes import client as k
        cfg = k.Configuration()
        cfg.host = self.url_for(host or self.host)
        cfg.ssl_ca_cert = self.ca_file
        cfg.verify_ssl = True
        if token is None:
            with open(self.token_file) as f:
                token = f.read().strip()
        cfg.api_key = {"authorization": token}
        cfg.api_key_prefix = {"authorization": "Bearer"}
        if retries is not None:
            cfg.retries = retries
        return k.ApiClient(cfg)

    def client(self, token=None, host=None, retries=None):
        """kubernetes.client.CoreV1Api."""
        from kubernetes import client as k
        return k.CoreV1Api(self.api_client(token, host, retries))

    def events_client(self, token=None, host=None, retries=None):
        """kubernetes.client.EventsV1Api."""
        from kubernetes import client as k
        return k.EventsV1Api(self.api_client(token, host, retries))

    # --- requests -------------------------------------------------------
    def _serve(self, h, method):
        t = time.monotonic()
        split = urllib.parse.urlsplit(h.path)
        path = split.path
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(
            split.query, keep_blank_values=True).items()}
        try:
            body = self._read_body(h)
            with self._lock:
                delay = self._slow
            if delay:
                time.sleep(delay)
            reply = self._route(h, method, path, query, body)
        except _HTTPError as e:
            reply = _Reply(e.code, e.status,
                           plain=e.status["message"] if e.plain else None)
        except (OSError, ssl.SSLError):
            raise
        except Exception as e:  # a bug here must not kill the connection
            sys.stderr.write("kube-apiserver double: %s %s: %s: %s\n" %
                             (method, path, type(e).__name__, e))
            reply = _Reply(500, _status(500, "InternalError", str(e)))
            h.close_connection = True
        code = 200 if isinstance(reply, _Watch) else reply.code
        with self._lock:
            self._counts["requests"] += 1
            if h.connection in self._conns:
                self._conns[h.connection] += 1
            self._log.append(Request(t, method, path, query, code))
        if isinstance(reply, _Watch):
            self._stream(h, reply)
        else:
            self._send(h, reply)

    def _read_body(self, h):
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = h.rfile.readline(100)
                try:
                    n = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    h.close_connection = True
                    raise _HTTPError(400, "bad chunked request body")
                if n == 0:
                    while h.rfile.readline(1000) not in (b"\r\n", b"\n",
                                                         b""):
                        pass
                    return data
                if len(data) + n > MAX_BODY:
                    h.close_connection = True
                    raise _HTTPError(413, "request entity too large")
                data += h.rfile.read(n)
                h.rfile.readline(10)
        length = h.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            h.close_connection = True
            raise _HTTPError(413 if n > 0 else 400,
                             "request entity too large" if n > 0 else
                             "bad Content-Length")
        return h.rfile.read(n)

    def _send(self, h, reply):
        if reply.plain is not None:
            data = (reply.plain + "\n").encode()
            ctype = "text/plain; charset=utf-8"
        else:
            data = json.dumps(reply.obj, separators=(",", ":")).encode() \
                + b"\n"
            ctype = "application/json"
        h.send_response(reply.code)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Cache-Control", "no-cache, private")
        if h.close_connection:
            h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(data)

    def _route(self, h, method, path, query, body):
        if not self._authorized(h.headers.get("Authorization")):
            self._count("unauthorized")
            raise _HTTPError(401, "Unauthorized")
        if path.startswith("/apis/events.k8s.io") and not self.events_v1:
            raise _not_found_page()
        discovery = self._discovery(path.rstrip("/") or "/")
        if discovery is not None:
            if method != "GET":
                raise _HTTPError(405, "the server does not allow this "
                                 "method on the requested resource")
            self._count("discovery")
            self._inject("discovery")
            if isinstance(discovery, str):
                return _Reply(200, None, plain=discovery)
            return _Reply(200, discovery)
        for rx, what in _ROUTES:
            m = rx.match(path)
            if m:
                break
        else:
            raise _not_found_page()
        args = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()
                if v is not None}
        ns = args.get("ns")
        if ns is not None and not _is_dns_label(ns):
            raise _HTTPError(404, 'namespaces "%s" not found' % ns)
        name = args.get("name")
        handler = getattr(self, "_r_" + what)
        return handler(h, method, ns, name, query, body)

    def _inject(self, kind):
        with self._lock:
            for f in self._failures:
                if f[0] in (kind, "any") and f[2] > 0:
                    f[2] -= 1
                    self._counts["injected"] += 1
                    code = f[1]
                    self._failures = [x for x in self._failures if x[2] > 0]
                    msg = "injected failure (%s)" % kind
                    if f[3] > len(msg):
                        msg += " " + "x" * (f[3] - len(msg) - 1)
                    raise _HTTPError(code, msg)

    def _kind(self, kind):
        self._count(kind)
        self._inject(kind)

    def _json(self, body):
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise _HTTPError(400, "couldn't get version/kind; json parse "
                             "error: %s" % e)

    def _discovery(self, path):
        if path in ("/healthz", "/readyz", "/livez"):
            return "ok"
        if path == "/version":
            return {"major": "1", "minor": "29", "gitVersion": "v1.29.0",
                    "gitCommit": "0000000000000000000000000000000000000000",
                    "gitTreeState": "clean",
                    "buildDate": "2024-01-01T00:00:00Z",
                    "goVersion": "go1.21.5", "compiler": "gc",
                    "platform": "linux/amd64"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{
                        "clientCIDR": "0.0.0.0/0",
                        "serverAddress": "%s:%d" % (self.host, self.port)}]}
        if path == "/api/v1":
            res = [("pods", "Pod", True, ["create", "delete", "get", "list",
                                          "patch", "update", "watch"]),
                   ("pods/status", "Pod", True, ["get", "patch", "update"]),
                   ("pods/binding", "Binding", True, ["create"]),
                   ("events", "Event", True, ["create", "get", "list"])]
            return self._resource_list("v1", res)
        group = {"name": "events.k8s.io",
                 "versions": [{"groupVersion": "events.k8s.io/v1",
                               "version": "v1"}],
                 "preferredVersion": {"groupVersion": "events.k8s.io/v1",
                                      "version": "v1"}}
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1",
                    "groups": [group] if self.events_v1 else []}
        if path == "/apis/events.k8s.io":
            g = {"kind": "APIGroup", "apiVersion": "v1"}
            g.update(group)
            return g
        if path == "/apis/events.k8s.io/v1":
            return self._resource_list("events.k8s.io/v1", [
                ("events", "Event", True, ["create", "get", "list"])])
        return None

    @staticmethod
    def _resource_list(gv, res):
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": gv,
                "resources": [{"name": n, "singularName": "",
                               "namespaced": nsd, "kind": k, "verbs": v}
                              for (n, k, nsd, v) in res]}

    # --- pods over HTTP ---------------------------------------------------
    def _r_pods_watch(self, h, method, ns, name, query, body):
        query = dict(query, watch="true")
        return self._r_pods(h, method, ns, name, query, body)

    def _r_pods(self, h, method, ns, name, query, body):
        if method == "POST" and ns is not None:
            self._kind("create")
            obj = self._json(body)
            with self._lock:
                pod = self._create_pod(ns, obj)
            return _Reply(201, pod)
        if method != "GET":
            raise _HTTPError(405, "the server does not allow this method "
                             "on the requested resource")
        watch = _parse_bool(query.get("watch", ""), "watch")
        self._kind("watch" if watch else "list")
        fsel = _field_selector(query.get("fieldSelector"), POD_FIELDS)
        lsel = _label_selector(query.get("labelSelector"))

        def match(pod):
            return (ns is None or pod["metadata"]["namespace"] == ns) and \
                fsel(pod) and lsel(pod)
        if watch:
            return self._open_watch(h, match, query)
        return self._list(match, query, "PodList", "v1", self._pods,
                          lambda p: p)

    def _r_pod(self, h, method, ns, name, query, body):
        if method == "GET":
            self._kind("get")
            with self._lock:
                return _Reply(200, self._get_pod(ns, name))
        if method == "PATCH":
            self._kind("patch")
            patch = self._json(body)
            with self._lock:
                return _Reply(200, self._patch_pod(
                    ns, name, h.headers.get("Content-Type", ""), patch))
        if method == "PUT":
            self._kind("replace")
            obj = self._json(body)
            with self._lock:
                return _Reply(200, self._replace_pod(ns, name, obj))
        if method == "DELETE":
            self._kind("delete")
            opts = self._json(body) if body.strip() else {}
            with self._lock:
                return _Reply(200, self._delete_pod(ns, name, opts))
        raise _HTTPError(405, "the server does not allow this method on "
                         "the requested resource")

    def _r_pod_status(self, h, method, ns, name, query, body):
        self._kind("status")
        with self._lock:
            if method == "GET":
                return _Reply(200, self._get_pod(ns, name))
            if method == "PATCH":
                patch = self._json(body)
                return _Reply(200, self._patch_pod(
                    ns, name, h.headers.get("Content-Type", ""), patch,
                    part="status"))
            if method == "PUT":
                obj = self._json(body)
                return _Reply(200, self._replace_pod(ns, name, obj,
                                                     part="status"))
        raise _HTTPError(405, "the server does not allow this method on "
                         "the requested resource")

    def _r_pod_binding(self, h, method, ns, name, query, body):
        if method != "POST":
            raise _HTTPError(405, "the server does not allow this method "
                             "on the requested resource")
        self._kind("bind")
        obj = self._json(body)
        target = obj.get("target") if isinstance(obj, dict) else None
        node = target.get("name") if isinstance(target, dict) else None
        if not node or not isinstance(node, str):
            raise _invalid("Binding", name, [("target.name",
                                              "FieldValueRequired", "")])
        with self._lock:
            pod = self._get_pod(ns, name)
            cur = (pod.get("spec") or {}).get("nodeName")
            if cur:
                raise _HTTPError(409, 'Operation cannot be fulfilled on '
                                 'pods/binding "%s": pod %s is already '
                                 'assigned to node "%s"' % (name, name, cur))
            self._patch_pod(ns, name, "application/merge-patch+json",
                            {"spec": {"nodeName": node}})
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {},
              "status": "Success", "code": 201}
        return _Reply(201, st)

    # --- pods, the store (callers hold the lock) --------------------------
    def _next_rv(self):
        self._rv += 1
        return self._rv

    def _commit(self, kind, old, new):
        rv = int(new["metadata"]["resourceVersion"])
        self._history.append((rv, kind, old, new))
        self._history_rvs.append(rv)
        if len(self._history) > self.history_limit:
            drop = len(self._history) - self.history_limit // 2
            self._compacted = max(self._compacted, self._history_rvs[drop - 1])
            self._history = self._history[drop:]
            self._history_rvs = self._history_rvs[drop:]
        self._cond.notify_all()

    def _get_pod(self, ns, name):
        pod = self._pods.get((ns, name))
        if pod is None:
            raise _HTTPError(404, 'pods "%s" not found' % name, details={
                "name": name, "kind": "pods"})
        return pod

    def _validate_pod(self, pod):
        md = pod.get("metadata")
        for key in ("labels", "annotations"):
            if isinstance(md, dict) and md.get(key) == {}:
                del md[key]  # an empty map is left out, as Go's omitempty
        name = md.get("name") if isinstance(md, dict) else None
        errs = []
        req, bad = "FieldValueRequired", "FieldValueInvalid"
        if not _is_dns_subdomain(name):
            errs.append(("metadata.name", req if not name else bad,
                         "" if not name else "a lowercase RFC 1123 "
                         "subdomain"))
        for key in ("labels", "annotations"):
            val = md.get(key) if isinstance(md, dict) else None
            if val is None:
                continue
            if not isinstance(val, dict):
                errs.append(("metadata." + key, bad, "must be a map"))
                continue
            for k, v in val.items():
                if not _is_qualified_name(k):
                    errs.append(("metadata.%s" % key, bad,
                                 "%r: not a qualified name" % k))
                elif not isinstance(v, str):
                    errs.append(("metadata.%s" % key, bad,
                                 "%r: value must be a string" % k))
        if isinstance(md, dict) and len(json.dumps(
                md.get("annotations") or {})) > 256 * 1024:
            errs.append(("metadata.annotations", "FieldValueTooLong",
                         "must have at most 262144 bytes"))
        spec = pod.get("spec")
        containers = spec.get("containers") if isinstance(spec, dict) \
            else None
        if not isinstance(containers, list) or not containers:
            errs.append(("spec.containers", req, ""))
        else:
            for i, c in enumerate(containers):
                if not isinstance(c, dict) or not _is_dns_label(
                        c.get("name")):
                    errs.append(("spec.containers[%d].name" % i, req, ""))
                if not isinstance(c, dict) or not c.get("image"):
                    errs.append(("spec.containers[%d].image" % i, req, ""))
        if isinstance(spec, dict) and spec.get("nodeName") is not None \
                and not _is_dns_subdomain(spec["nodeName"]):
            errs.append(("spec.nodeName", bad, "a lowercase RFC 1123 "
                         "subdomain"))
        if errs:
            raise _invalid("Pod", name if isinstance(name, str) else "",
                           errs)

    def _create_pod(self, ns, obj, uid=None, phase=None):
        if not isinstance(obj, dict) or not isinstance(
                obj.get("metadata", {}), dict):
            raise _HTTPError(400, "the body of the request was in an "
                             "unknown format")
        if obj.get("kind", "Pod") != "Pod" or \
                obj.get("apiVersion", "v1") != "v1":
            raise _HTTPError(400, "the API version in the data (%s) does "
                             "not match the expected API version (v1)" %
                             obj.get("apiVersion"))
        pod = copy.deepcopy(obj)
        md = pod.setdefault("metadata", {})
        if md.get("namespace") not in (None, "", ns):
            raise _HTTPError(400, "the namespace of the provided object "
                             "does not match the namespace sent on the "
                             "request")
        if not md.get("name") and isinstance(md.get("generateName"), str):
            md["name"] = md["generateName"] + "".join(
                secrets.choice("bcdfghjklmnpqrstvwxz2456789")
                for _ in range(5))
        self._validate_pod(pod)
        if (ns, md["name"]) in self._pods:
            raise _HTTPError(409, 'pods "%s" already exists' % md["name"],
                             "AlreadyExists",
                             {"name": md["name"], "kind": "pods"})
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            md.pop(k, None)
        md["namespace"] = ns
        md["uid"] = uid or str(uuid.uuid4())
        md["creationTimestamp"] = _now_rfc3339()
        md["resourceVersion"] = str(self._next_rv())
        pod["kind"], pod["apiVersion"] = "Pod", "v1"
        pod["status"] = {"phase": phase or "Pending", "qosClass":
                         "BestEffort"}
        self._pods[(ns, md["name"])] = pod
        self._commit("ADDED", None, pod)
        return pod

    def _finish_update(self, ns, name, old, new, part):
        """Keeps what an update of part ("main", "status", "all") may not
        change, validates, stores; a no-op leaves the version alone."""
        if not isinstance(new, dict) or not isinstance(
                new.get("metadata"), dict):
            raise _HTTPError(400, "the body of the request was in an "
                             "unknown format")
        new = copy.deepcopy(new)  # a merge patch shares untouched parts
        if part == "status":
            kept = copy.deepcopy(old)
            kept["status"] = new.get("status") or {}
            new = kept
        elif part == "main":
            new["status"] = copy.deepcopy(old.get("status"))
        md, omd = new["metadata"], old["metadata"]
        errs = []
        for k in ("name", "namespace", "uid", "creationTimestamp"):
            if md.get(k) != omd.get(k):
                errs.append(("metadata." + k, "FieldValueInvalid",
                             "field is immutable"))
        if errs:
            raise _invalid("Pod", name, errs)
        rv = md.get("resourceVersion")
        if rv not in (None, "") and rv != omd["resourceVersion"]:
            raise _HTTPError(409, 'Operation cannot be fulfilled on pods '
                             '"%s": the object has been modified; please '
                             'apply your changes to the latest version and '
                             'try again' % name, "Conflict",
                             {"name": name, "kind": "pods"})
        md["resourceVersion"] = omd["resourceVersion"]
        new["kind"], new["apiVersion"] = "Pod", "v1"
        self._validate_pod(new)
        if new == old:
            return old
        md["resourceVersion"] = str(self._next_rv())
        self._pods[(ns, name)] = new
        self._commit("MODIFIED", old, new)
        return new

    def _patch_pod(self, ns, name, content_type, patch, part="main"):
        old = self._get_pod(ns, name)
        ctype = content_type.split(";")[0].strip().lower()
        try:
            if ctype == "application/json-patch+json":
                new = _json_patch(old, patch)
            elif ctype == "application/merge-patch+json":
                if not isinstance(patch, dict):
                    raise ValueError("a merge patch is a JSON object")
                new = _merge_patch(old, patch)
            elif ctype == "application/strategic-merge-patch+json":
                if not isinstance(patch, dict):
                    raise ValueError("a strategic merge patch is a JSON "
                                     "object")
                new = _merge_patch(old, _strip_directives(patch))
            else:
                raise _HTTPError(415, 'the body of the request was in an '
                                 'unknown format - accepted media types '
                                 'include: application/json-patch+json, '
                                 'application/merge-patch+json, '
                                 'application/strategic-merge-patch+json')
        except ValueError as e:
            raise _HTTPError(422, str(e), "Invalid")
        return self._finish_update(ns, name, old, new, part)

    def _replace_pod(self, ns, name, obj, part="main"):
        old = self._get_pod(ns, name)
        if not isinstance(obj, dict) or not isinstance(
                obj.get("metadata"), dict):
            raise _HTTPError(400, "the body of the request was in an "
                             "unknown format")
        if not obj["metadata"].get("resourceVersion"):
            raise _invalid("Pod", name, [("metadata.resourceVersion",
                                          "FieldValueInvalid",
                                          "must be specified for an "
                                          "update")])
        new = copy.deepcopy(obj)
        for k in ("uid", "creationTimestamp", "namespace"):
            new["metadata"].setdefault(k, old["metadata"].get(k))
        return self._finish_update(ns, name, old, new, part)

    def _delete_pod(self, ns, name, opts):
        old = self._get_pod(ns, name)
        pre = (opts or {}).get("preconditions") if isinstance(
            opts, dict) else None
        if isinstance(pre, dict):
            for k in ("uid", "resourceVersion"):
                if pre.get(k) and pre[k] != old["metadata"][k]:
                    raise _HTTPError(409, "Precondition failed: %s in "
                                     "precondition: %s, %s in object meta: "
                                     "%s" % (k, pre[k], k,
                                             old["metadata"][k]),
                                     "Conflict")
        gone = copy.deepcopy(old)
        gone["metadata"]["resourceVersion"] = str(self._next_rv())
        del self._pods[(ns, name)]
        self._commit("DELETED", old, gone)
        return gone

    # --- lists ------------------------------------------------------------
    def _list(self, match, query, kind, api_version, store, view):
        limit = _parse_int(query.get("limit") or "0", "limit")
        token = query.get("continue")
        with self._lock:
            if token:
                snap_id, offset = self._decode_continue(token)
                if snap_id not in self._snapshots:
                    raise _HTTPError(410, "The provided continue parameter "
                                     "is too old to display a consistent "
                                     "list result. You can start a new "
                                     "list without the continue "
                                     "parameter.", "Expired")
                rv, items = self._snapshots[snap_id]
                if rv < self._compacted:
                    raise _HTTPError(410, "The provided continue parameter "
                                     "is too old to display a consistent "
                                     "list result. You can start a new "
                                     "list without the continue "
                                     "parameter.", "Expired")
            else:
                rv, offset, snap_id = self._rv, 0, None
                items = []
                for key in sorted(store):
                    obj = view(store[key] if store is self._pods
                               else store[key][1])
                    if match(obj):
                        items.append(obj)
            page = items[offset:offset + limit] if limit else items[offset:]
            meta = {"resourceVersion": str(rv)}
            rest = len(items) - offset - len(page)
            if rest > 0:
                if snap_id is None:
                    self._snapshot_ids += 1
                    snap_id = self._snapshot_ids
                    self._snapshots[snap_id] = (rv, items)
                    while len(self._snapshots) > SNAPSHOTS_KEPT:
                        self._snapshots.popitem(last=False)
                meta["continue"] = self._encode_continue(
                    snap_id, offset + len(page))
                meta["remainingItemCount"] = rest
            out = []
            for obj in page:
                obj = copy.deepcopy(obj)
                obj.pop("kind", None)  # list items carry neither, as in
                obj.pop("apiVersion", None)  # the real server's lists
                out.append(obj)
        return _Reply(200, {"kind": kind, "apiVersion": api_version,
                            "metadata": meta, "items": out})

    @staticmethod
    def _encode_continue(snap_id, offset):
        raw = json.dumps({"v": "double", "id": snap_id, "off": offset})
        return base64.urlsafe_b64encode(raw.encode()).decode()

    def _decode_continue(self, token):
        try:
            d = json.loads(base64.urlsafe_b64decode(token.encode()))
            snap_id, off = int(d["id"]), int(d["off"])
            if snap_id <= 0 or off < 0 or snap_id > self._snapshot_ids:
                raise ValueError
            return snap_id, off
        except (ValueError, KeyError, TypeError):
            raise _HTTPError(400, "continue key is not valid")

    # --- watches ----------------------------------------------------------
    def _expired(self, n):
        self._counts["gone"] += 1
        return _status(410, "Expired", "too old resource version: %d (%d)" %
                       (n, self._compacted))

    def _open_watch(self, h, match, query):
        rv_s = query.get("resourceVersion", "")
        bookmarks = _parse_bool(query.get("allowWatchBookmarks", ""),
                                "allowWatchBookmarks")
        tmo = query.get("timeoutSeconds")
        tmo = _parse_int(tmo, "timeoutSeconds") if tmo else 0
        with self._lock:
            initial = []
            if rv_s in ("", "0"):
                # "most recent" / "any": the current state as ADDED
                pods = sorted((p for p in self._pods.values() if match(p)),
                              key=lambda p: int(p["metadata"]
                                                ["resourceVersion"]))
                initial = [({"type": "ADDED", "object": p},
                            p["metadata"]["resourceVersion"]) for p in pods]
                pos = self._rv
            else:
                try:
                    n = int(rv_s)
                    if n < 0:
                        raise ValueError
                except ValueError:
                    raise _HTTPError(400, "invalid resource version: %r" %
                                     rv_s)
                if n > self._rv:
                    raise _HTTPError(
                        504, "Too large resource version: %d, current: %d" %
                        (n, self._rv), "Timeout",
                        {"causes": [{"reason": "ResourceVersionTooLarge",
                                     "message": "Too large resource "
                                     "version"}], "retryAfterSeconds": 1})
                if n < self._compacted:
                    st = self._expired(n)
                    if self.expired_at_start == "http":
                        raise _HTTPError(410, st["message"], "Expired")
                    initial = [({"type": "ERROR", "object": st}, None)]
                pos = n
            gone_after = 0
            if self._gone_next:
                left, after = self._gone_next
                gone_after = after
                self._gone_next = (left - 1, after) if left > 1 else 0
            breaks = None
            if self._break_next and not initial:
                how, code, left = self._break_next
                breaks = (how, code)
                self._break_next = [how, code, left - 1] if left > 1 \
                    else None
            self._watch_ids += 1
            w = _Watch(self._watch_ids, h.connection, match, pos, initial,
                       bookmarks, time.monotonic() + tmo if tmo else None,
                       gone_after, breaks)
            self._watches.add(w)
            self._cond.notify_all()
        return w

    def _collect(self, w):
        """The events w has not had yet (caller holds the lock)."""
        if w.pos < self._compacted:
            st = self._expired(w.pos)
            w.pos = self._rv
            return [({"type": "ERROR", "object": st}, None)]
        out = []
        i = bisect.bisect_right(self._history_rvs, w.pos)
        for rv, kind, old, new in self._history[i:]:
            was = old is not None and w.match(old)
            if kind == "DELETED":
                if was:
                    out.append(({"type": "DELETED", "object": new}, str(rv)))
                continue
            now = w.match(new)
            if now:
                out.append(({"type": "MODIFIED" if was else "ADDED",
                             "object": new}, str(rv)))
            elif was:
                # out of the selector: DELETED with the last content that
                # matched, at this change's version (as the real server)
                last = copy.deepcopy(old)
                last["metadata"]["resourceVersion"] = str(rv)
                out.append(({"type": "DELETED", "object": last}, str(rv)))
        w.pos = self._rv
        return out

    def _next_batch(self, w):
        """Waits for what w must write next: [(event, rv)], or None when
        the stream should end with its end chunk."""
        with self._cond:
            while True:
                if w.cut or self._stopping:
                    raise _Cut()
                if w.finish:
                    return None
                batch = self._collect(w)
                if batch:
                    return batch
                now = time.monotonic()
                if w.deadline is not None and now >= w.deadline:
                    return None
                wait = 1.0
                interval = self.bookmark_interval
                if w.bookmarks and interval:
                    if w.next_bookmark is None:
                        w.next_bookmark = now + interval
                    if now >= w.next_bookmark:
                        w.next_bookmark = now + interval
                        return [({"type": "BOOKMARK", "object": {
                            "kind": "Pod", "apiVersion": "v1",
                            "metadata": {"resourceVersion": str(w.pos),
                                         "creationTimestamp": None},
                            "spec": {"containers": None}, "status": {}}},
                            None)]
                    wait = min(wait, w.next_bookmark - now)
                if w.deadline is not None:
                    wait = min(wait, w.deadline - now)
                self._cond.wait(max(wait, 0.001))

    def _stream(self, h, w):
        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Transfer-Encoding", "chunked")
            h.send_header("Cache-Control", "no-cache, private")
            h.end_headers()
            sent = 0
            batch = w.initial
            if w.breaks:
                how, code = w.breaks
                if how == "error":
                    if code == 410:
                        with self._lock:
                            st = self._expired(w.pos)
                    else:
                        st = _HTTPError(code, "injected watch error").status
                    ev = {"type": "ERROR", "object": st}
                else:
                    ev = {"type": "BOOKMARK", "object": {
                        "kind": "Pod", "apiVersion": "v1",
                        "metadata": {"resourceVersion": str(w.pos)}}}
                self._write_event(h, w, ev, None)
                batch = None
            while batch is not None:
                for ev, rv in batch:
                    self._write_event(h, w, ev, rv)
                    sent += 1
                    if ev["type"] == "ERROR":
                        batch = None  # the real server ends a watch here
                        break
                    if w.gone_after and sent >= w.gone_after:
                        with self._lock:
                            st = self._expired(w.pos)
                        self._write_event(h, w, {"type": "ERROR",
                                                 "object": st}, None)
                        batch = None
                        break
                if batch is None:
                    break
                batch = self._next_batch(w)
                if batch is None:
                    break
            h.wfile.write(b"0\r\n\r\n")
        except (_Cut, OSError, ssl.SSLError):
            h.close_connection = True
            _cut(h.connection)
        finally:
            with self._cond:
                self._watches.discard(w)
                self._cond.notify_all()

    def _write_event(self, h, w, ev, rv):
        data = json.dumps(ev, separators=(",", ":")).encode() + b"\n"
        # stamped before the write: the client may read it before this
        # thread runs again; logged only once the write went through
        t = time.monotonic_ns()
        h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        md = ev["object"].get("metadata") or {}
        with self._cond:
            self._written.append(Written(t, w.id, ev["type"],
                                         md.get("namespace"), md.get("name"),
                                         md.get("resourceVersion")))
            if rv is not None:
                self._write_times.setdefault(rv, []).append(t)
                while len(self._write_times) > LOG_LIMIT:
                    self._write_times.popitem(last=False)
            self._cond.notify_all()

    # --- events over HTTP -------------------------------------------------
    def _r_events_core(self, h, method, ns, name, query, body):
        return self._events_collection(method, ns, query, body, False)

    def _r_events_v1(self, h, method, ns, name, query, body):
        return self._events_collection(method, ns, query, body, True)

    def _r_event_core(self, h, method, ns, name, query, body):
        return self._event_get(method, ns, name, False)

    def _r_event_v1(self, h, method, ns, name, query, body):
        return self._event_get(method, ns, name, True)

    def _event_get(self, method, ns, name, v1):
        if method != "GET":
            raise _HTTPError(405, "the server does not allow this method "
                             "on the requested resource")
        self._kind("event_get")
        with self._lock:
            got = self._events.get((ns, name))
            if got is None:
                raise _HTTPError(404, 'events%s "%s" not found' % (
                    ".events.k8s.io" if v1 else "", name))
            ev = copy.deepcopy(got[1])
        return _Reply(200, _event_from_core(ev) if v1 else
                      _core_event_view(ev))

    def _events_collection(self, method, ns, query, body, v1):
        api_version = "events.k8s.io/v1" if v1 else "v1"
        if method == "POST" and ns is not None:
            self._kind("event_post")
            self._count("event_post_v1" if v1 else "event_post_core")
            obj = self._json(body)
            with self._lock:
                ev = self._create_event(ns, obj, v1)
            return _Reply(201, _event_from_core(ev) if v1 else
                          _core_event_view(ev))
        if method != "GET":
            raise _HTTPError(405, "the server does not allow this method "
                             "on the requested resource")
        if _parse_bool(query.get("watch", ""), "watch"):
            raise _HTTPError(405, "this double does not watch events")
        self._kind("event_list")
        fsel = _field_selector(query.get("fieldSelector"), EVENT_FIELDS,
                               EVENT_V1_FIELD_ALIASES if v1 else None)

        def match(ev):
            return (ns is None or ev["metadata"]["namespace"] == ns) and \
                fsel(ev)
        reply = self._list(match, query, "EventList", api_version,
                           self._events, lambda ev: ev)
        reply.obj["items"] = [_event_from_core(e) if v1 else e
                              for e in reply.obj["items"]]
        if v1:
            for e in reply.obj["items"]:
                e.pop("kind", None)
                e.pop("apiVersion", None)
        return reply

    def _create_event(self, ns, obj, v1):
        api_version = "events.k8s.io/v1" if v1 else "v1"
        if not isinstance(obj, dict) or not isinstance(
                obj.get("metadata", {}), dict):
            raise _HTTPError(400, "the body of the request was in an "
                             "unknown format")
        if obj.get("kind", "Event") != "Event" or \
                obj.get("apiVersion", api_version) != api_version:
            raise _HTTPError(400, "the API version in the data (%s) does "
                             "not match the expected API version (%s)" %
                             (obj.get("apiVersion"), api_version))
        ev = _event_to_core(obj) if v1 else {
            k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        ev = copy.deepcopy(ev)
        md = ev.setdefault("metadata", {})
        if md.get("namespace") not in (None, "", ns):
            raise _HTTPError(400, "the namespace of the provided object "
                             "does not match the namespace sent on the "
                             "request")
        if not md.get("name") and isinstance(md.get("generateName"), str):
            md["name"] = md["generateName"] + secrets.token_hex(8)
        errs = []
        if not md.get("name"):
            errs.append(("metadata.name", "FieldValueRequired",
                         "name or generateName is required"))
        elif not _is_dns_subdomain(md["name"]):
            errs.append(("metadata.name", "FieldValueInvalid",
                         "a lowercase RFC 1123 subdomain"))
        errs += _validate_event(ev, ns, v1)
        if errs:
            raise _invalid("Event", md.get("name"), errs,
                           "events.k8s.io" if v1 else "")
        if (ns, md["name"]) in self._events:
            raise _HTTPError(409, 'events "%s" already exists' % md["name"],
                             "AlreadyExists")
        md["namespace"] = ns
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = _now_rfc3339()
        md["resourceVersion"] = str(self._next_rv())
        self._events[(ns, md["name"])] = (self._rv, ev)
        self._cond.notify_all()
        return ev


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True,
                    help="directory for the certificates and the token")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert", choices=CERT_KINDS, default="good")
    ap.add_argument("--bookmark-interval", type=float, default=1.0)
    ap.add_argument("--no-events-v1", action="store_true",
                    help="answer 404 for events.k8s.io")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    srv = ApiServer(directory=args.dir, port=args.port, cert=args.cert,
                    bookmark_interval=args.bookmark_interval,
                    events_v1=not args.no_events_v1, verbose=args.verbose)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print("url %s" % srv.url)
    print("ca %s" % srv.ca_file)
    print("token %s" % srv.token_file, flush=True)
    while not done.wait(1.0):
        pass
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
