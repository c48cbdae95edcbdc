"""A real Prometheus server for the metrics tests: Debian's `prometheus`
started on loopback with a generated config (scrape interval 1 s) and a
temporary storage directory, queried through its HTTP API. Also the
scheduler's /metrics page fetched directly and `promtool`.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

from harness import wait_for


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def metrics_port(env, timeout=5.0):
    """The port the scheduler's log says /metrics is served on."""
    found = []

    def logged():
        m = re.search(r"event=metrics_listening \S+ port=(\d+)",
                      env.scheduler_log())
        if m:
            found.append(int(m.group(1)))
        return bool(found)
    wait_for(logged, timeout, "the scheduler serving /metrics")
    return found[0]


def scrape(port, timeout=5.0):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=timeout) as r:
        return r.read().decode()


def promtool(*args, stdin=None):
    """Runs promtool; returns (returncode, stdout + stderr)."""
    r = subprocess.run(["promtool"] + list(args), input=stdin,
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def need_tools():
    missing = [t for t in ("prometheus", "promtool")
               if not shutil.which(t)]
    if missing:
        raise AssertionError("%s not installed: scripts/deps.sh test "
                             "installs Debian's prometheus" %
                             " and ".join(missing))


class Prometheus:
    """prometheus scraping 127.0.0.1:target_port every second."""

    def __init__(self, env, target_port, rules=None):
        need_tools()
        self.dir = os.path.join(env.tmp, "prometheus")
        os.makedirs(os.path.join(self.dir, "data"))
        self.port = free_port()
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n"
                    "  scrape_interval: 1s\n"
                    "  scrape_timeout: 900ms\n"
                    "  evaluation_interval: 1s\n")
            if rules:
                f.write("rule_files:\n  - %s\n" % rules)
            f.write("scrape_configs:\n"
                    "  - job_name: nvshare\n"
                    "    honor_labels: true\n"
                    "    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % target_port)
        self.log = open(os.path.join(self.dir, "prometheus.log"), "wb")
        self.p = subprocess.Popen(
            ["prometheus", "--config.file=" + cfg,
             "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port,
             "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        env.procs.append(self.p)
        wait_for(self._ready, 30.0, "prometheus ready")

    def _ready(self):
        try:
            with urllib.request.urlopen(
                    "http://127.0.0.1:%d/-/ready" % self.port,
                    timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr, at=None):
        """Instant query: [(labels, value)]."""
        q = {"query": expr}
        if at is not None:
            q["time"] = "%.3f" % at
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (
            self.port, urllib.parse.urlencode(q))
        with urllib.request.urlopen(url, timeout=10) as r:
            doc = json.loads(r.read().decode())
        if doc.get("status") != "success":
            raise AssertionError("query %s failed: %s" % (expr, doc))
        return [(s["metric"], float(s["value"][1]))
                for s in doc["data"]["result"]]

    def value(self, expr, at=None):
        """The one value of expr, or None if it has no series."""
        res = self.query(expr, at)
        return res[0][1] if res else None

    def targets_up(self):
        return self.value('up{job="nvshare"}') == 1.0

    def log_text(self):
        with open(os.path.join(self.dir, "prometheus.log"), "rb") as f:
            return f.read().decode(errors="replace")


def wall_of(mono_ns):
    """Wall-clock seconds of a monotonic time in ns (for query times)."""
    return time.time() - (time.monotonic_ns() - mono_ns) / 1e9
