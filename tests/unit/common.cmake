# common/: operator-input parsing, and the driver declarations checked
# against a CUDA toolkit's cuda.h where one is installed.
nvs_unit_test(test_parse SOURCES test_parse.c)

find_path(NVS_CUDA_INCLUDE cuda.h
  PATHS /usr/local/cuda/include /usr/include ENV CUDA_HOME
  PATH_SUFFIXES include NO_CACHE)
if(NVS_CUDA_INCLUDE)
  message(STATUS "cuda.h found in ${NVS_CUDA_INCLUDE}: checking common/cuda_api.h against it")
  nvs_unit_test(check_cuda_decls SOURCES check_cuda_decls.c)
  target_include_directories(check_cuda_decls PRIVATE ${NVS_CUDA_INCLUDE})
else()
  message(STATUS "no cuda.h: the declaration check is skipped")
endif()
