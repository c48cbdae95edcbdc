# Scheduler: the pure policy (exhaustive transitions and a random
# simulation), the wire protocol, and status rendering and permissions.
nvs_unit_test(test_policy SOURCES test_policy.c LIBS nvs_policy)
nvs_unit_test(test_proto SOURCES test_proto.c)
nvs_unit_test(test_status SOURCES test_status.c LIBS nvs_sched_core)
