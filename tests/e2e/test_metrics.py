"""Prometheus metrics, scraped by a real Prometheus (Debian's, started on
loopback with a 1 s scrape interval) while the simulated GPU runs:

1. A 30% client (NVSHARE_GPU_CORE_LIMIT=30) and an unlimited one share a
   GPU. rate(nvshare_client_gpu_seconds_total[10s]) of the 30% client
   agrees with the simulated driver's kernel trace over the same 10 s
   within 3 points, and the trace is within the compute-quota test's
   bounds of 30% (3 points above; below, 3 points under 30% scaled by how
   busy the pair kept the GPU, which is what this machine delivered).
2. Two clients of 10 GiB on the 16 GiB GPU (fixed 1 s slice) take turns
   with their memory swapped: the swap counters rise in both directions
   and a waiting client is counted (gpu and client series).
3. Once the clients exit, none of their series remain, on the page and
   in Prometheus.

Also: `promtool check metrics` on a scrape, `promtool check rules` and
`promtool test rules` on deploy/prometheus/, a bad --metrics-address
refused at start, every message timed, and 70 stalled HTTP connections
leaving scheduling untouched.
"""
import os
import socket
import subprocess
import time

from core_matrix import gpu_share
from harness import finish, run, wait_for
from prom import Prometheus, metrics_port, promtool, scrape, wall_of

RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                     "deploy", "prometheus")
BW = {"NVSHARE_FAKE_BW": "h2d=100G,d2h=50G,fault=20G,pinned=100G"}
TOLERANCE = 3.0
WINDOW_S = 10


def ids_by_pid(env, procs):
    st = env.status()
    return {p.pid: str(c["id"]) for p in procs for c in st["clients"]
            if c["pid"] == p.pid}


def rules_case(c):
    rc, out = promtool("check", "rules", os.path.join(RULES, "alerts.yml"))
    c.check(rc == 0, "promtool check rules deploy/prometheus/alerts.yml: "
            + out.strip().splitlines()[-1])
    r = subprocess.run(["promtool", "test", "rules", "alerts_test.yml"],
                       cwd=RULES, capture_output=True, text=True, timeout=60)
    c.check(r.returncode == 0, "promtool test rules: every alert fires on "
            "its scenario (%s)" % (r.stdout + r.stderr).strip()[-300:])
    rc, out = promtool("check", "config",
                       os.path.join(RULES, "prometheus.yml"))
    c.check(rc == 0, "promtool check config deploy/prometheus/prometheus.yml")


def bad_address_case(env, c):
    r = subprocess.run([env.path("bin", "nvshare-scheduler"), "--socket",
                        os.path.join(env.tmp, "x.sock"),
                        "--metrics-address", "127.0.0.1:70000"],
                       capture_output=True, text=True, timeout=10)
    c.check(r.returncode == 2 and "--metrics-address" in r.stderr,
            "a bad --metrics-address is refused with status 2 (%d: %s)" %
            (r.returncode, r.stderr.strip().splitlines()[0]))


def share_phase(env, prom, port, c):
    limited = env.gpuload("--kernel-ms", 2, "--seconds", 40,
                          extra_env={"NVSHARE_GPU_CORE_LIMIT": "30"})
    free = env.gpuload("--kernel-ms", 2, "--seconds", 40)
    wait_for(lambda: len(ids_by_pid(env, [limited, free])) == 2 and
             (env.gpu_state(limited.pid) or {}).get("core_share_pct") ==
             30.0, 10.0, "both clients connected, the 30% one metered")
    ids = ids_by_pid(env, [limited, free])
    page = scrape(port)
    rc, out = promtool("check", "metrics", stdin=page)
    c.check(rc == 0, "promtool check metrics passes on a scrape (%s)" %
            out.strip()[-300:])
    # Warm-up, then a whole window of scrapes.
    time.sleep(1.5 + WINDOW_S + 1.5)
    t1 = time.monotonic_ns() - int(1.5e9)  # scrapes of the window are in
    t0 = t1 - WINDOW_S * 10**9
    lim = 'client="%s"' % ids[limited.pid]
    got = prom.value('rate(nvshare_client_gpu_seconds_total{%s}[%ds])' %
                     (lim, WINDOW_S), at=wall_of(t1))
    got_free = prom.value('rate(nvshare_client_gpu_seconds_total'
                          '{client="%s"}[%ds])' % (ids[free.pid], WINDOW_S),
                          at=wall_of(t1))
    ratio = prom.value('nvshare_client_core_limit_ratio{%s}' % lim)
    eff = prom.value('nvshare_client_core_effective_limit_ratio{%s}' % lim)
    throttled = prom.value('rate(nvshare_client_throttled_seconds_total'
                           '{%s}[%ds])' % (lim, WINDOW_S), at=wall_of(t1))
    trace = env.trace()
    traced = gpu_share(trace, limited.pid, t0, t1)
    busy = (traced + gpu_share(trace, free.pid, t0, t1)) / 100.0
    c.check(got is not None, "Prometheus has the 30%% client's GPU "
            "seconds (%s)" % got)
    got = 100.0 * (got or 0)
    c.check(abs(got - traced) <= TOLERANCE,
            "rate(gpu seconds[10s]) of the 30%% client %.1f%% agrees with "
            "the driver's trace %.1f%% (%+.1f points)" %
            (got, traced, got - traced))
    low = 30.0 * min(1.0, busy) - TOLERANCE
    c.check(low <= traced <= 30.0 + TOLERANCE,
            "the trace has the 30%% client at %.1f%% (bounds %.1f..%.1f; "
            "the pair kept the GPU %.0f%% busy)" %
            (traced, low, 30.0 + TOLERANCE, 100 * busy))
    c.check(abs(got - 30.0) <= TOLERANCE + (30.0 - 30.0 * min(1.0, busy)),
            "so the metric is within 3 points of 30%% (%.1f%%)" % got)
    c.check(got_free is not None and got_free > 0.4,
            "the unlimited client got the rest (%.0f%%)" %
            (100 * (got_free or 0)))
    c.check(ratio == 0.3 and eff == 0.3,
            "core limit configured %.2f, effective %.2f" %
            (ratio or 0, eff or 0))
    c.check(throttled is not None and 0.3 <= throttled <= 0.9,
            "the 30%% client spent %.0f%% of the time throttled" %
            (100 * (throttled or 0)))
    return [limited, free], ids


def swap_phase(env, prom, c):
    env.ctl("set", "--time-slice", "1000")
    t0 = time.time()
    pair = [env.gpuload("--mem", "10Gi", "--kernel-ms", 20, "--seconds", 3,
                        extra_env=BW) for _ in range(2)]
    wait_for(lambda: len(ids_by_pid(env, pair)) == 2, 10.0,
             "the oversubscribed pair connected")
    ids = ids_by_pid(env, pair)
    for p in pair:
        p.wait(timeout=60)
    time.sleep(2.5)  # the last scrapes
    span = int(time.time() - t0) + 2
    gpu = 'gpu="GPU-00000000-0000-0000-0000-000000000001"'
    out = prom.value('increase(nvshare_gpu_swaps_total{%s,direction="out"}'
                     '[%ds])' % (gpu, span))
    sin = prom.value('increase(nvshare_gpu_swaps_total{%s,direction="in"}'
                     '[%ds])' % (gpu, span))
    moved = prom.value('increase(nvshare_gpu_swap_bytes_total{%s,'
                       'direction="out"}[%ds])' % (gpu, span))
    c.check((out or 0) >= 1 and (sin or 0) >= 1,
            "swap counters rose in the oversubscribed phase (out +%.0f, "
            "in +%.0f)" % (out or 0, sin or 0))
    c.check((moved or 0) >= 1 << 30,
            "swap-out bytes rose by %.1f GiB" % ((moved or 0) / (1 << 30)))
    waiting = prom.value('max_over_time(nvshare_gpu_clients{%s,'
                         'state="waiting"}[%ds])' % (gpu, span))
    c.check(waiting == 1, "a waiting client was counted on the GPU "
            "(max %s)" % waiting)
    waited = prom.query('max_over_time(nvshare_client_state{'
                        'state="waiting"}[%ds]) == 1' % span)
    c.check({m["client"] for m, _ in waited} & set(ids.values()),
            "the waiting client's own state series said waiting (%s)" %
            sorted(m["client"] for m, _ in waited))
    reasons = prom.query('max_over_time(nvshare_client_wait_reason[%ds])'
                         % span)
    c.check(any(m.get("reason") in ("memory", "turn") for m, _ in reasons),
            "and why (%s)" % sorted({m.get("reason") for m, _ in reasons}))
    return pair, ids


def gone_case(env, prom, port, procs, ids, c):
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()
    wait_for(lambda: not env.status()["clients"], 10.0, "clients gone")
    page = scrape(port)
    left = [i for i in ids if 'client="%s"' % i in page]
    c.check(not left, "no series of the exited clients on the page (%s)"
            % left)
    time.sleep(2.5)  # a scrape after they left marks their series stale
    sel = "|".join(ids)
    series = prom.query('{client=~"%s"}' % sel)
    c.check(not series, "Prometheus holds no current series of the exited "
            "clients (%d: %s)" % (len(series), sorted(
                {s[0]["__name__"] for s in series})[:5]))
    c.check(prom.value('nvshare_scheduler_clients') == 0,
            "nvshare_scheduler_clients is 0")


def stalled_scrapers_case(env, port, c):
    """HTTP peers that connect and never finish a request hold HTTP
    threads (at most 64), never the scheduling thread."""
    held = []
    for _ in range(70):
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /metr")
        held.append(s)
    t0 = time.monotonic()
    env.status()
    rc, res, err = finish(env.gpuload("--kernel-ms", 1, "--kernels", 20),
                          timeout=30)
    took = time.monotonic() - t0
    c.check(rc == 0 and took < 5.0,
            "with 70 stalled HTTP connections, status and a client's run "
            "are served (%.2f s)" % took)
    for s in held:
        s.close()

    def scraped():
        try:
            return "nvshare_scheduler_clients" in scrape(port, timeout=2)
        except OSError:
            return False
    wait_for(scraped, 15.0, "scrapes served again")
    c.check(True, "scrapes are served again once they close")


def main(env, c):
    rules_case(c)
    bad_address_case(env, c)
    env.start_scheduler("--metrics-address", "127.0.0.1:0")
    port = metrics_port(env)
    prom = Prometheus(env, port)
    wait_for(prom.targets_up, 15.0, "prometheus scraping the scheduler")
    procs, ids = share_phase(env, prom, port, c)
    for p in procs:
        p.kill()
        p.wait()
    pair, pair_ids = swap_phase(env, prom, c)
    all_ids = list(ids.values()) + list(pair_ids.values())
    gone_case(env, prom, port, procs + pair, all_ids, c)
    msgs = prom.value('sum(nvshare_scheduler_messages_total)')
    hist = prom.value('nvshare_scheduler_event_handling_seconds_count')
    c.check(msgs and hist and hist == msgs,
            "every message handled was timed (%s messages, %s timings)" %
            (msgs, hist))
    errs = prom.value('nvshare_scheduler_protocol_errors_total')
    c.check(errs == 0, "no protocol errors (%s)" % errs)
    stalled_scrapers_case(env, port, c)


run(main, "metrics")
