# Pods of the node (Kubernetes): what the two annotations may say, and the
# loop's table of pods.
nvs_unit_test(test_pod_annotations SOURCES test_pod_annotations.c
              LIBS nvs_sched_core)
