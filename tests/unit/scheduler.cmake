# Scheduler: the pure policy and the GPU-time billing (exhaustive
# transitions and random simulations), the wire protocol, status
# rendering and permissions, and quota bookkeeping.
nvs_unit_test(test_policy SOURCES test_policy.c LIBS nvs_policy)
nvs_unit_test(test_policy_growth SOURCES test_policy_growth.c LIBS nvs_policy)
nvs_unit_test(test_billing SOURCES test_billing.c LIBS nvs_policy)
nvs_unit_test(test_proto SOURCES test_proto.c)
nvs_unit_test(test_status SOURCES test_status.c LIBS nvs_sched_core)
nvs_unit_test(test_quota SOURCES test_quota.c LIBS nvs_sched_core)
# What a client may claim: the node's GPUs (NVML, the simulated one
# dlopen()ed by absolute path), swap reports, billing shares.
nvs_unit_test(test_gpu_claims SOURCES test_gpu_claims.c
              ${CMAKE_SOURCE_DIR}/scheduler/gpu_inventory.c
              LIBS nvs_policy ${CMAKE_DL_LIBS})
target_include_directories(test_gpu_claims PRIVATE
                           ${CMAKE_SOURCE_DIR}/scheduler)
add_dependencies(test_gpu_claims fakenvml)
target_compile_definitions(test_gpu_claims PRIVATE
                           FAKENVML_LIB="$<TARGET_FILE:fakenvml>")
nvs_unit_test(test_status_pages SOURCES test_status_pages.c LIBS nvs_sched_core)
