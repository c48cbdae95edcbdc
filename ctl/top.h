/*
 * top.h - nvsharectl top: a live view of the node, refreshed every
 * second: per GPU a bar of memory (resident, swapped, free against the
 * capacity) and one of compute by client (the share each got since the
 * last refresh); per client its pod or program, state, share against its
 * core limit, memory against its limit, and why it waits. Read from the
 * scheduler's JSON status (CTL_STATUS), like `status --json`.
 *
 * On a terminal each refresh redraws the screen; otherwise (a pipe, a
 * file) each refresh is printed as plain lines after a timestamp line.
 */
#ifndef NVSHARE_TOP_H
#define NVSHARE_TOP_H

#define CTL_TOP_SUMMARY "live view of GPUs and clients (like top)"
#define CTL_TOP_USAGE                                                          \
	"usage: nvsharectl top [--interval SECONDS] [--iterations N]\n"        \
	"\n"                                                                   \
	"Shows the node live, refreshed every SECONDS (default 1): per GPU\n"  \
	"a memory bar (# resident, ~ swapped to the host, . free) and a\n"     \
	"compute bar by client (the share of GPU time each got since the\n"    \
	"last refresh, where the GPU is metered), then one line per client\n"  \
	"and GPU: pod or program, state, share against its core limit,\n"      \
	"memory against its limit, why it waits. On a terminal the screen\n"   \
	"is redrawn (Ctrl-C quits); otherwise each refresh is printed as\n"    \
	"plain lines. For scripts, 'nvsharectl status --json' is stable.\n"    \
	"\n"                                                                   \
	"  --interval SECONDS  1..3600\n"                                      \
	"  --iterations N      stop after N refreshes (default: never)\n"

/* Runs top against the scheduler at socket; argv[0] is "top". Returns
 * the exit status (0, 1 if the scheduler cannot be read, 2 for usage). */
int ctl_top_run(const char *socket, int argc, char **argv);

#endif /* NVSHARE_TOP_H */
