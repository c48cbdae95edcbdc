/*
 * test_plugin_health.c - a GPU's health verdict (deviceplugin/health.c).
 */
#include "check.h"
#include "health.h"

#define S 1000000000LL

static void test_xids(void)
{
	static const unsigned long long app[] = {13, 31, 43, 45, 68, 109};
	static const unsigned long long gpu[] = {48, 62, 63, 64,  74, 79,
	                                         92, 94, 95, 119, 120};

	for (size_t i = 0; i < sizeof(app) / sizeof(app[0]); i++)
		CHECK(!dp_xid_critical(app[i]));
	for (size_t i = 0; i < sizeof(gpu) / sizeof(gpu[0]); i++)
		CHECK(dp_xid_critical(gpu[i]));
}

static void test_until_reset(void)
{
	struct dp_health h = {0};

	CHECK(dp_health_ok(&h, 0, 0));
	CHECK_EQ(dp_health_xid(&h, 13, 1 * S), 0);
	CHECK(dp_health_ok(&h, 1 * S, 0));
	CHECK_EQ(dp_health_xid(&h, 79, 2 * S), 1);
	CHECK(!dp_health_ok(&h, 2 * S, 0));
	CHECK(!dp_health_ok(&h, 3600 * S, 0)); /* no hold: until a reset */
	dp_health_presence(&h, 1);             /* still there: no reset */
	CHECK(!dp_health_ok(&h, 3600 * S, 0));
	dp_health_presence(&h, 0); /* lost ... */
	CHECK(!dp_health_ok(&h, 3600 * S, 0));
	dp_health_presence(&h, 1); /* ... and back: reset */
	CHECK(dp_health_ok(&h, 3600 * S, 0));
}

static void test_hold(void)
{
	struct dp_health h = {0};

	dp_health_xid(&h, 48, 10 * S);
	CHECK(!dp_health_ok(&h, 11 * S, 2 * S));
	CHECK(dp_health_ok(&h, 12 * S, 2 * S));
	dp_health_xid(&h, 48, 12 * S + 1); /* another: the hold restarts */
	CHECK(!dp_health_ok(&h, 13 * S, 2 * S));
	dp_health_presence(&h, 0); /* lost: unhealthy whatever the hold */
	CHECK(!dp_health_ok(&h, 100 * S, 2 * S));
	dp_health_presence(&h, 1);
	CHECK(dp_health_ok(&h, 100 * S, 2 * S));
}

int main(void)
{
	test_xids();
	test_until_reset();
	test_hold();
	return check_summary("plugin_health");
}
