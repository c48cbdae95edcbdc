# Who is on a connection and how many: the cgroup pod parser, the log
# rate limiter, the per-uid connection share, /proc stat and group parsing.
nvs_unit_test(test_peers SOURCES test_peers.c LIBS nvs_sched_core)
