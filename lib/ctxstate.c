/*
 * ctxstate.c - see ctxstate.h.
 */
#include "ctxstate.h"

atomic_uint ctx_generation = 1;
atomic_int ctx_captures;
