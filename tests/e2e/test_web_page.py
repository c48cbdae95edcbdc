"""The node's web page (scheduler/web.c, web/) in headless Chromium on the
simulated GPU. Debian's chromium, run as root in CI (hence --no-sandbox),
loads http://127.0.0.1:PORT/, lets the page's scripts poll the JSON for a
few seconds of virtual time and prints the DOM (--dump-dom); the page
leaves what it shows in data-* attributes, which this test reads.

1. A 30% client (NVSHARE_GPU_CORE_LIMIT=30, with a hostile pod name) and
   an unlimited one: the page lists the GPU and both clients with their
   ids; the pod name is shown as text (no element made of it); the chart
   library loaded; a second look 3 s later has newer chart data (the last
   time and the values moved on).
2. An oversubscribed pair (10 GiB each on the 16 GiB GPU, 1 s slices):
   the page shows the waiting client with reason "memory" and the GPU as
   oversubscribed; a screenshot goes to docs/img/web-page.png when
   NVSHARE_WEB_SCREENSHOT is set (how docs/operations.md's was made).

Also: /api/status is the status JSON nvsharectl prints (same clients and
GPUs), /api/history parses with aligned series, the page refuses POST,
and unknown paths give 404. Chromium missing fails the test with the
package to install (scripts/deps.sh test installs it).
"""
import html.parser
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from harness import DEFAULT_UUID, run, wait_for
from prom import metrics_port

HOSTILE = 'x"><img src=x onerror=alert(1)>'
BW = {"NVSHARE_FAKE_BW": "h2d=100G,d2h=50G,fault=20G,pinned=100G"}
SHOT = os.environ.get("NVSHARE_WEB_SCREENSHOT")


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("chromium not installed: scripts/deps.sh test "
                         "installs Debian's chromium (apt-get install "
                         "chromium)")


def browse(url, profile, extra, budget_ms=4000, timeout=60):
    r = subprocess.run(
        [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
         "--no-first-run", "--disable-extensions", "--mute-audio",
         "--disable-dev-shm-usage",
         "--disable-background-networking", "--user-data-dir=" + profile,
         "--virtual-time-budget=%d" % budget_ms] + extra + [url],
        capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("chromium failed (%d): %s" %
                             (r.returncode, r.stderr[-600:]))
    return r.stdout


class Dom(html.parser.HTMLParser):
    """Elements of the dumped DOM as (tag, attrs, text inside)."""

    def __init__(self, text):
        super().__init__()
        self.elems, self.stack = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        e = [tag, dict(attrs), ""]
        self.elems.append(e)
        if tag not in ("meta", "link", "br", "img", "input"):
            self.stack.append(e)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        for e in self.stack:
            e[2] += data

    def find(self, tag=None, **attrs):
        return [e for e in self.elems if (tag is None or e[0] == tag) and
                all(e[1].get(k.replace("_", "-")) == v
                    for k, v in attrs.items())]

    def with_attr(self, name):
        return [e for e in self.elems if name in e[1]]


def look(url, profile):
    return Dom(browse(url, profile, ["--dump-dom"]))


def get(port, path, method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def ids_by_pid(env, procs):
    st = env.status()
    return {p.pid: c["id"] for p in procs for c in st["clients"]
            if c["pid"] == p.pid}


def api_case(env, port, c):
    code, hdr, body = get(port, "/api/status")
    st, ctl = json.loads(body), env.status()
    c.check(code == 200 and hdr["Content-Type"] == "application/json" and
            [x["id"] for x in st["clients"]] ==
            [x["id"] for x in ctl["clients"]] and
            [g["uuid"] for g in st["gpus"]] == [g["uuid"] for g in ctl["gpus"]],
            "/api/status is the status JSON (%d clients, as nvsharectl "
            "status --json)" % len(st["clients"]))
    code, hdr, body = get(port, "/api/history")
    h = json.loads(body)
    ok = all(len(s["memory_bytes"]) + s["start"] <= len(h["t"])
             for s in h["clients"]) and h["frames"] == len(h["t"])
    c.check(code == 200 and ok and h["gpus"][0]["uuid"] == DEFAULT_UUID,
            "/api/history: %d frames at 1 s, series aligned (snapshot "
            "%s us on the loop)" % (h["frames"],
                                    hdr.get("X-Nvshare-Snapshot-Us")))
    code, _, body = get(port, "/api/history?from=%d" % (h["next"] - 1))
    part = json.loads(body)
    c.check(code == 200 and part["frames"] <= 2 and not part["complete"] and
            part["next"] >= h["next"],
            "/api/history?from=N: only the frames since (%d of %d)" %
            (part["frames"], h["frames"]))
    code, _, _ = get(port, "/api/history?from=x")
    c.check(code == 400, "a bad from is refused (%d)" % code)
    code, _, _ = get(port, "/api/status", method="POST")
    c.check(code == 405, "POST is refused (%d): the page is read-only" % code)
    code, _, _ = get(port, "/../etc/passwd")
    c.check(code == 404, "other paths: 404 (%d)" % code)
    code, hdr, page = get(port, "/")
    c.check(code == 200 and "default-src 'self'" in
            hdr.get("Content-Security-Policy", "") and
            'src="/assets/chart.js"' in page and "cdn" not in page.lower(),
            "/ is the page, with a self-only CSP and Chart.js from the "
            "scheduler, no CDN")


def share_phase(env, port, profile, c):
    url = "http://127.0.0.1:%d/" % port
    limited = env.gpuload("--kernel-ms", 2, "--seconds", 25,
                          extra_env={"NVSHARE_GPU_CORE_LIMIT": "30",
                                     "NVSHARE_POD_NAMESPACE": "ml",
                                     "NVSHARE_POD_NAME": HOSTILE})
    free = env.gpuload("--kernel-ms", 2, "--seconds", 25)
    wait_for(lambda: len(ids_by_pid(env, [limited, free])) == 2 and
             (env.gpu_state(limited.pid) or {}).get("core_share_pct") ==
             30.0, 10.0, "both clients connected, the 30% one metered")
    ids = ids_by_pid(env, [limited, free])
    time.sleep(3)  # some history
    api_case(env, port, c)
    d1 = look(url, profile)
    gpus = [e[1]["data-gpu"] for e in d1.find("article")
            if "data-gpu" in e[1]]
    c.check(gpus == [DEFAULT_UUID], "the page lists the GPU (%s)" % gpus)
    rows = {int(e[1]["data-client-id"]): e for e in d1.find("tr")
            if "data-client-id" in e[1]}
    c.check(set(rows) == set(ids.values()),
            "and both clients by id (%s, want %s)" %
            (sorted(rows), sorted(ids.values())))
    lim = rows.get(ids[limited.pid])
    c.check(lim is not None and HOSTILE in lim[2] and
            not d1.find("img") and "/ 30%" in lim[2],
            "the 30%% client's row shows its pod name as text, no element "
            "made of it, and its core limit (%r)" %
            (lim[2][:160] if lim else None))
    body = d1.find("body")[0][1]
    c.check(body.get("data-state") == "ok" and
            body.get("data-chart-lib") == "loaded",
            "the page got its data and Chart.js (state %s, chart library "
            "%s)" % (body.get("data-state"), body.get("data-chart-lib")))
    share1 = d1.find("figure", data_chart="share")[0][1]
    time.sleep(3)
    d2 = look(url, profile)
    share2 = d2.find("figure", data_chart="share")[0][1]
    t1, t2 = int(share1["data-last-t"]), int(share2["data-last-t"])
    c.check(int(share1["data-series"]) == 2 and t2 - t1 >= 2000 and
            int(share2["data-points"]) >= int(share1["data-points"]) + 2,
            "the share chart's data advanced between two looks: last "
            "point %+.1f s, %s -> %s points, 2 series" %
            ((t2 - t1) / 1000, share1["data-points"],
             share2["data-points"]))
    vals = json.loads(share2["data-last-values"])
    rows2 = {int(e[1]["data-client-id"]): e[1] for e in d2.find("tr")
             if "data-client-id" in e[1]}
    s_lim = float(rows2[ids[limited.pid]].get("data-share") or -1)
    c.check(0 < s_lim <= 45 and all(v is not None for v in vals),
            "the 30%% client's achieved share on the page: %.1f%% "
            "(last values %s)" % (s_lim, vals))
    for p in (limited, free):
        p.kill()
        p.wait()


def swap_phase(env, port, profile, c):
    url = "http://127.0.0.1:%d/" % port
    env.ctl("set", "--time-slice", "1000")
    pair = [env.gpuload("--mem", "10Gi", "--kernel-ms", 20, "--seconds", 8,
                        extra_env=BW) for _ in range(2)]
    wait_for(lambda: any((env.gpu_state(p.pid) or {}).get("wait_reason")
                         == "memory" for p in pair), 15.0,
             "a client of the pair waiting for memory")
    time.sleep(1.5)
    d = look(url, profile) if not SHOT else None
    if SHOT:
        # One run makes both: the screenshot, and the DOM to check.
        browse(url, profile, ["--screenshot=" + SHOT,
                              "--window-size=1280,900",
                              "--hide-scrollbars"])
        d = look(url, profile)
    waiting = [e[1] for e in d.find("tr") if e[1].get("data-state") ==
               "waiting"]
    c.check(any(w.get("data-reason") == "memory" for w in waiting),
            "the page shows the waiting client's reason: memory (%s)" %
            [(w.get("data-client-id"), w.get("data-reason"))
             for w in waiting])
    card = [e for e in d.find("article") if e[1].get("data-gpu") ==
            DEFAULT_UUID]
    c.check(card and "Oversubscribed" in card[0][2] and
            "swapped" in card[0][2] and
            int(card[0][1].get("data-swapped", "0")) >= 1 << 30,
            "the GPU's card: oversubscribed, %.1f GiB swapped" %
            (int(card[0][1].get("data-swapped", "0")) / (1 << 30)
             if card else 0))
    waits = d.find("figure", data_chart="waits")[0][1]
    c.check(int(waits.get("data-series", "0")) >= 1,
            "the waits chart has a series (%s)" % waits.get("data-series"))
    if SHOT:
        c.check(os.path.getsize(SHOT) > 20000,
                "screenshot written: %s (%d bytes)" %
                (SHOT, os.path.getsize(SHOT)))
    for p in pair:
        p.kill()
        p.wait()


def no_chart_case(env, profile, c):
    """A web root whose chart.js is empty (as without the library): the
    page says so and still shows its tables."""
    root = os.path.join(env.tmp, "web")
    os.makedirs(root)
    for f in ("index.html", "app.js", "style.css"):
        shutil.copy(env.path("share", "nvshare", "web", f), root)
    open(os.path.join(root, "chart.js"), "w").close()
    log = open(os.path.join(env.tmp, "second.log"), "w+")
    p = subprocess.Popen(
        [env.path("bin", "nvshare-scheduler"), "--socket",
         os.path.join(env.tmp, "second.sock"), "--host-swap-budget", "none",
         "--metrics-address", "127.0.0.1:0", "--web-root", root],
        env=env.environ(preload=False), stdout=log, stderr=subprocess.STDOUT)
    env.procs.append(p)
    found = []

    def port():
        log.seek(0)
        m = re.search(r"event=metrics_listening \S+ port=(\d+)", log.read())
        if m:
            found.append(int(m.group(1)))
        return bool(found)
    wait_for(port, 5.0, "the second scheduler serving")
    d = look("http://127.0.0.1:%d/" % found[0], profile)
    body = d.find("body")[0][1]
    note = d.find("p", id="chart-lib")
    shown = d.find("p", id="no-clients")
    c.check(body.get("data-chart-lib") == "missing" and note and
            "chart library not installed" in note[0][2] and shown and
            "hidden" not in shown[0][1] and body.get("data-state") == "ok",
            "without the chart library the page says so and shows its "
            "tables (%r)" % (note[0][2] if note else None))
    p.terminate()
    p.wait()


def main(env, c):
    chromium()
    env.start_scheduler("--metrics-address", "127.0.0.1:0")
    port = metrics_port(env)
    profile = tempfile.mkdtemp(prefix="nvshare-web-chromium-")
    t0 = time.monotonic()
    try:
        share_phase(env, port, profile, c)
        swap_phase(env, port, profile, c)
        no_chart_case(env, profile, c)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    log = env.scheduler_log()
    m = re.search(r"event=web_page root=\S+ page=(\S+) chart_library=(\S+)",
                  log)
    c.check(m and m.group(1) == "yes",
            "the scheduler found the page's files and Chart.js (%s)" %
            (m.group(0) if m else "no event=web_page line"))
    print("took %.1f s" % (time.monotonic() - t0))


run(main, "web_page")
