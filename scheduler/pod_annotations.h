/*
 * pod_annotations.h - what the two nvshare annotations of a pod may say,
 * and what they mean (docs/kubernetes.md, "Annotations"):
 *   nvshare.com/gpu-memory-limit: a size in whole bytes above zero, as
 *     Kubernetes writes quantities ("4Gi", "512Mi", "1500M", "1073741824");
 *   nvshare.com/gpu-core-limit: an integer percentage 1..100 of a GPU's
 *     time (100: the whole GPU, no limit).
 * Pure: text in, a value or a reason out.
 */
#ifndef NVSHARE_POD_ANNOTATIONS_H
#define NVSHARE_POD_ANNOTATIONS_H

#include <stddef.h>
#include <stdint.h>

#include "kube_types.h"

/* The memory annotation's value in bytes (> 0). Returns 0, or -1 with the
 * reason (for a log line, status and the pod's Event) in why. */
int pod_annotation_memory(const struct kube_annotation *a, uint64_t *bytes,
                          char *why, size_t n);

/* The core annotation's value as a limit: 1..99, or 0 for 100 (no limit).
 * Returns 0, or -1 with the reason in why. */
int pod_annotation_core(const struct kube_annotation *a, uint32_t *pct,
                        char *why, size_t n);

#endif /* NVSHARE_POD_ANNOTATIONS_H */
