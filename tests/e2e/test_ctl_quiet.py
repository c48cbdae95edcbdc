"""nvsharectl against a scheduler that logs only warnings: every setting's
reply still says what was set (the reply text must not be built inside
the arguments of a log line that is then skipped).
"""
from harness import run


def main(env, c):
    env.start_scheduler(log_level="warn")
    for args, want in ((("--time-slice", "1234"), "time_slice_ms=1234"),
                       (("--time-slice", "auto"), "time_slice_ms=auto"),
                       (("--max-run", "4321"), "max_run_ms=4321"),
                       (("--mode", "serial"), "mode=serial")):
        r = env.ctl("set", *args, check=False)
        c.check(r.returncode == 0 and want in r.stdout,
                "set %s at log level warn: %r" % (" ".join(args),
                                                  r.stdout.strip()))


run(main, "ctl_quiet")
