# Unit tests of the simulated driver (tests/fakecuda) and its model.
#  - config: parsing of NVSHARE_FAKE_GPUS / NVSHARE_FAKE_BW and defaults
#  - faults: NVSHARE_FAKE_FAIL (fault injection): parsing, threaded counts
#  - memory: capacity, LRU eviction, thrashing, dead-process reclaim
#  - procaddr: cuGetProcAddress resolution, against the built library
#  - driver: capture rules, graph replay timing, events, queue depth,
#    copies, against the built library
#  - vmm: virtual memory management, arrays, pools, cuCtxCreate_v3/_v4,
#    against the built library
#  - nvml: the simulated NVML (build/fakecuda/libnvidia-ml.so.1) reporting
#    another process's memory, with fakecuda-stat
# The last four dlopen() build/fakecuda/libcuda.so.1 (and the NVML) by
# absolute path.
nvs_unit_test(test_fakecuda_config SOURCES test_fakecuda_config.c
              LIBS fakecuda_core)
nvs_unit_test(test_fakecuda_faults SOURCES test_fakecuda_faults.c
              LIBS fakecuda_core)
nvs_unit_test(test_fakecuda_memory SOURCES test_fakecuda_memory.c
              LIBS fakecuda_core)
foreach(t test_fakecuda_procaddr test_fakecuda_driver test_fakecuda_vmm
          test_fakecuda_nvml)
  nvs_unit_test(${t} SOURCES ${t}.c LIBS ${CMAKE_DL_LIBS})
  add_dependencies(${t} fakecuda)
  target_compile_definitions(${t} PRIVATE
                             FAKECUDA_LIB="$<TARGET_FILE:fakecuda>")
endforeach()
add_dependencies(test_fakecuda_nvml fakenvml fakecuda-stat)
target_compile_definitions(test_fakecuda_nvml PRIVATE
                           FAKENVML_LIB="$<TARGET_FILE:fakenvml>"
                           FAKECUDA_STAT="$<TARGET_FILE:fakecuda-stat>")
set_tests_properties(unit_test_fakecuda_config unit_test_fakecuda_memory
                     unit_test_fakecuda_procaddr unit_test_fakecuda_driver
                     unit_test_fakecuda_vmm unit_test_fakecuda_nvml
                     PROPERTIES TIMEOUT 120)
