# Scheduler: the pure policy and the GPU-time billing (exhaustive
# transitions and random simulations), the wire protocol, status
# rendering and permissions, and quota bookkeeping.
nvs_unit_test(test_policy SOURCES test_policy.c LIBS nvs_policy)
nvs_unit_test(test_policy_growth SOURCES test_policy_growth.c LIBS nvs_policy)
nvs_unit_test(test_billing SOURCES test_billing.c LIBS nvs_policy)
nvs_unit_test(test_proto SOURCES test_proto.c)
nvs_unit_test(test_status SOURCES test_status.c LIBS nvs_sched_core)
nvs_unit_test(test_quota SOURCES test_quota.c LIBS nvs_sched_core)
