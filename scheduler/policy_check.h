/*
 * policy_check.h - the policy's invariants, checked after every event in
 * debug and sanitizer builds (NVSHARE_CHECKS), never in release builds:
 * the event loop of a production node does not pay for them, the unit
 * tests' simulations run them hundreds of thousands of times.
 */
#ifndef NVSHARE_POLICY_CHECK_H
#define NVSHARE_POLICY_CHECK_H

#include "policy.h"

/* Aborts with a message naming the broken invariant and the client. */
void policy_check_invariants(const struct policy_gpu *g);

#endif /* NVSHARE_POLICY_CHECK_H */
