# The Kubernetes watcher's pure parts (nvs_kube): what it accepts from the
# API server (pods, watch lines, lists, Status) and from its flags (URL,
# names), the Event bodies it posts; the pod cache with its coalesced
# hand-over to the loop, and the bounded Event queue.
nvs_unit_test(test_kube_decode SOURCES test_kube_decode.c LIBS nvs_kube)
nvs_unit_test(test_kube_cache SOURCES test_kube_cache.c LIBS nvs_kube)
