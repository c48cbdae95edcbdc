/*
 * health.c - the health verdict of a GPU (see health.h).
 */
#include "health.h"

int dp_xid_critical(unsigned long long xid)
{
	switch (xid) {
	case 13:
	case 31:
	case 43:
	case 45:
	case 68:
	case 109: return 0;
	}
	return 1;
}

int dp_health_xid(struct dp_health *h, unsigned long long xid, int64_t now)
{
	if (!dp_xid_critical(xid))
		return 0;
	h->xid_bad = 1;
	h->xid = xid;
	h->xid_at_ns = now;
	return 1;
}

void dp_health_presence(struct dp_health *h, int present)
{
	if (present && h->lost)
		h->xid_bad = 0; /* it went away and came back: a reset */
	h->lost = !present;
}

int dp_health_ok(const struct dp_health *h, int64_t now, int64_t hold_ns)
{
	if (h->lost)
		return 0;
	if (!h->xid_bad)
		return 1;
	return hold_ns > 0 && now - h->xid_at_ns >= hold_ns;
}
