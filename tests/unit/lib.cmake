# libnvshare: interposition checked against the simulated driver, with the
# library preloaded. Labelled "preload": it cannot run in the sanitizer
# build (the sanitizer runtime must be the first library loaded).
nvs_unit_test(test_interpose SOURCES test_interpose.c LIBS ${CMAKE_DL_LIBS})
add_dependencies(test_interpose nvshare fakecuda)
set_tests_properties(unit_test_interpose PROPERTIES
  LABELS preload
  ENVIRONMENT "LD_PRELOAD=${CMAKE_BINARY_DIR}/lib/libnvshare.so;LD_LIBRARY_PATH=${CMAKE_BINARY_DIR}/fakecuda;NVSHARE_SOCKET=${CMAKE_BINARY_DIR}/tests/no-scheduler-here.sock;NVSHARE_FAKE_GPUS=GPU-00000000-0000-0000-0000-000000000001:16Gi;NVSHARE_FAKE_STATE=")

# The allocation accounting of lib/mem.c on its own, with the client link
# and the quota stubbed by the test.
nvs_unit_test(test_mem SOURCES test_mem.c ${CMAKE_SOURCE_DIR}/lib/mem.c
              ${CMAKE_SOURCE_DIR}/lib/grant.c)
target_include_directories(test_mem PRIVATE ${CMAKE_SOURCE_DIR}/lib)
target_compile_definitions(test_mem PRIVATE _GNU_SOURCE)
