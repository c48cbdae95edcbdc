"""nvsharectl top in a terminal (a detached tmux session, 150 x 40) for a
known scenario on the simulated 16 GiB GPU: a 30% client with 2 GiB and
an unlimited one with 4 GiB, which fit together and run concurrently.

Asserted on the captured screen: the memory bar has 6/16 of its cells
resident ('#', 23 of 60) and the rest free; the compute bar gives the
30% client about 30% of its cells and the unlimited one most of the
rest; the client lines show the share against the limit (30% +- 5
points, limit 30%), memory against the limit (2.0 GiB/none), state
holding; the screen is redrawn (its clock moves). Then, with stdout a
pipe, top prints plain lines: N frames for --iterations N, no escape
codes. A bad option is a usage error (status 2).
"""
import re
import shutil
import subprocess
import time

from harness import run, wait_for

BAR = 60  # the bar's width at 150 columns (top.c: columns - 64, at most 60)


def tmux(env, *args):
    return subprocess.run(["tmux", "-S", env.tmp + "/tmux.sock"] + list(args),
                          capture_output=True, text=True, timeout=10)


def screen(env):
    return tmux(env, "capture-pane", "-p", "-t", "top").stdout


def client_line(text, letter):
    for line in text.splitlines():
        if line.startswith(letter + " "):
            return line
    return ""


def main(env, c):
    if not shutil.which("tmux"):
        raise AssertionError("tmux not installed: scripts/deps.sh test "
                             "installs it")
    env.start_scheduler()
    limited = env.gpuload("--mem", "2Gi", "--kernel-ms", 2, "--seconds", 30,
                          extra_env={"NVSHARE_GPU_CORE_LIMIT": "30"})
    wait_for(lambda: env.gpu_state(limited.pid) is not None, 10.0,
             "the 30% client connected")
    free = env.gpuload("--mem", "4Gi", "--kernel-ms", 2, "--seconds", 30)
    wait_for(lambda: len(env.status()["clients"]) == 2 and
             all(g["memory_bytes"] > 0 for cl in env.status()["clients"]
                 for g in cl["gpus"]), 10.0, "both clients with memory")
    time.sleep(1.0)
    cmd = "exec %s --socket %s top" % (env.path("bin", "nvsharectl"),
                                       env.socket)
    r = tmux(env, "new-session", "-d", "-s", "top", "-x", "150", "-y", "40",
             cmd)
    c.check(r.returncode == 0, "tmux session started (%s)" % r.stderr)
    time.sleep(3.5)
    first = screen(env)
    print("--- captured screen ---\n" + first.rstrip() + "\n--- end ---")
    mem = re.search(r"memory  \[([#~.]+)([\]+])", first)
    c.check(mem is not None, "a memory bar is shown")
    if mem:
        bar = mem.group(1)
        c.check(len(bar) == BAR and bar.count("#") == 23 and
                bar.count(".") == BAR - 23,
                "memory bar: 23 of %d cells resident (6 of 16 GiB): %r" %
                (BAR, bar))
    c.check("6.0 GiB resident, 0 B swapped, of 16.0 GiB" in first,
            "memory figures: 6.0 GiB resident of 16.0 GiB")
    comp = re.search(r"compute \[([A-Za-z.*]+)\] A ([\d.]+)% B ([\d.]+)%",
                     first)
    c.check(comp is not None, "a compute bar with both clients' shares")
    if comp:
        bar, a, b = comp.group(1), float(comp.group(2)), float(comp.group(3))
        c.check(abs(a - 30.0) <= 5.0 and 13 <= bar.count("A") <= 23,
                "compute bar: the 30%% client %.1f%%, %d of %d cells" %
                (a, bar.count("A"), BAR))
        c.check(b >= 45.0 and bar.count("B") >= 27,
                "compute bar: the unlimited client %.1f%%, %d cells" %
                (b, bar.count("B")))
    line_a = client_line(first, "A")
    m = re.match(r"A 1\s+gpuload\s+0\s+holding\s+([\d.]+)%\s+30%\s+"
                 r"2\.0 GiB/none\s+0 B", line_a)
    c.check(m is not None and abs(float(m.group(1)) - 30.0) <= 5.0,
            "client line A: holding, share ~30%% against a 30%% limit, "
            "2.0 GiB/none: %r" % line_a)
    line_b = client_line(first, "B")
    c.check(re.match(r"B 2\s+gpuload\s+0\s+holding\s+[\d.]+%\s+-\s+"
                     r"4\.0 GiB/none", line_b) is not None,
            "client line B: holding, no limit, 4.0 GiB/none: %r" % line_b)
    clock = re.search(r"nvshare top  (\d\d:\d\d:\d\d)", first)
    time.sleep(1.6)
    again = re.search(r"nvshare top  (\d\d:\d\d:\d\d)", screen(env))
    c.check(clock and again and clock.group(1) != again.group(1),
            "the screen is redrawn every second (%s -> %s)" %
            (clock and clock.group(1), again and again.group(1)))
    tmux(env, "kill-server")

    r = env.ctl("top", "--iterations", "2")
    frames = r.stdout.count("nvshare top  ")
    c.check(frames == 2 and "\033" not in r.stdout and
            r.stdout.count("---\n") == 2,
            "piped: 2 plain frames, no escape codes (%d frames)" % frames)
    c.check("memory  [" in r.stdout and "A 1" in r.stdout,
            "piped frames carry the bars and the client lines")
    r = env.ctl("top", "--interval", "0", check=False)
    c.check(r.returncode == 2, "top --interval 0 is a usage error (%d)" %
            r.returncode)
    for p in (limited, free):
        p.kill()
        p.wait()


run(main, "top")
