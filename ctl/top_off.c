/*
 * top_off.c - nvsharectl built without jansson (cmake -DNVSHARE_HTTP=OFF
 * on a machine without libjansson-dev, as on bare GPU machines): top
 * cannot read the report, so it says why; status --json still works.
 */
#include <stdio.h>

#include "top.h"

int ctl_top_run(const char *socket, int argc, char **argv)
{
	(void)socket;
	(void)argc;
	(void)argv;
	fprintf(stderr, "nvsharectl: this build has no 'top': it needs jansson "
	                "(libjansson-dev) at build time; 'nvsharectl status' "
	                "shows the node\n");
	return 1;
}
