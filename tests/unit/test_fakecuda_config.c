/*
 * test_fakecuda_config.c - parsing of the simulated driver's environment:
 * NVSHARE_FAKE_GPUS (devices), NVSHARE_FAKE_BW (bandwidths), the transfer
 * time they imply, and fc_config_load() applying them with their defaults.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"

#define UUID1 "GPU-00000000-0000-0000-0000-000000000001"
#define UUID2 "GPU-00000000-0000-0000-0000-000000000002"

static void test_gpus_valid(void)
{
	struct fc_devcfg d[FC_MAX_DEVICES];
	char err[128];
	int n = 0;

	CHECK_EQ(fc_parse_gpus(UUID1 ":16Gi," UUID2 ":8Gi", d, FC_MAX_DEVICES,
	                       &n, err, sizeof(err)),
	         0);
	CHECK_EQ(n, 2);
	CHECK_STR(d[0].uuid, UUID1);
	CHECK_EQ(d[0].capacity, 16ll << 30);
	CHECK_STR(d[1].uuid, UUID2);
	CHECK_EQ(d[1].capacity, 8ll << 30);
	CHECK_EQ(fc_parse_gpus("GPU-ABCDEF01-2345-6789-abcd-ef0123456789:1.5G",
	                       d, FC_MAX_DEVICES, &n, err, sizeof(err)),
	         0);
	CHECK_EQ(n, 1);
	CHECK_EQ(d[0].capacity, 1500000000ll);
}

static void check_gpus_invalid(const char *s)
{
	struct fc_devcfg d[FC_MAX_DEVICES];
	char err[128] = "";
	int n = 99;

	CHECK_EQ(fc_parse_gpus(s, d, FC_MAX_DEVICES, &n, err, sizeof(err)), -1);
	CHECK_EQ(n, 99);    /* nothing written on failure */
	CHECK(err[0] != 0); /* with a reason */
}

static void test_gpus_invalid(void)
{
	char many[4096] = "";

	check_gpus_invalid("");
	check_gpus_invalid(UUID1);          /* no size */
	check_gpus_invalid(UUID1 ":");      /* empty size */
	check_gpus_invalid(UUID1 ":0");     /* zero */
	check_gpus_invalid(UUID1 ":16Qi");  /* bad suffix */
	check_gpus_invalid(UUID1 ":-1");    /* negative */
	check_gpus_invalid("GPU-1234:1Gi"); /* malformed UUID */
	check_gpus_invalid("gpu-00000000-0000-0000-0000-000000000001:1Gi");
	check_gpus_invalid(UUID1 ":1Gi,"); /* trailing comma */
	check_gpus_invalid(UUID1 ":1Gi,," UUID2 ":1Gi");
	check_gpus_invalid(UUID1 ":1Gi," UUID1 ":2Gi"); /* duplicate */
	check_gpus_invalid(" " UUID1 ":1Gi");           /* stray space */
	for (int i = 0; i <= FC_MAX_DEVICES; i++) {
		char item[64];

		snprintf(item, sizeof(item),
		         "%sGPU-00000000-0000-0000-0000-0000000000%02x:1Gi",
		         i ? "," : "", i);
		strcat(many, item);
	}
	check_gpus_invalid(many); /* 17 devices */
}

static void test_bw(void)
{
	struct fc_config cfg;
	struct fc_bw bw;
	char err[128];

	fc_config_defaults(&cfg);
	CHECK_EQ(cfg.bw.h2d, 49000000000ll);
	CHECK_EQ(cfg.bw.d2h, 9000000000ll);
	CHECK_EQ(cfg.bw.fault, 8000000000ll);
	CHECK_EQ(cfg.bw.copy, 25000000000ll);
	CHECK_EQ(cfg.bw.pinned, 50000000000ll);
	bw = cfg.bw;
	CHECK_EQ(fc_parse_bw("fault=1Gi,d2h=2G", &bw, err, sizeof(err)), 0);
	CHECK_EQ(bw.fault, 1ll << 30);
	CHECK_EQ(bw.d2h, 2000000000ll);
	CHECK_EQ(bw.h2d, 49000000000ll); /* not given: kept */
	CHECK_EQ(bw.copy, 25000000000ll);
	CHECK_EQ(fc_parse_bw("h2d=49G,d2h=9G,fault=8G,copy=25G", &bw, err,
	                     sizeof(err)),
	         0);
	CHECK_EQ(bw.fault, 8000000000ll);
	CHECK_EQ(fc_parse_bw("pinned=100G", &bw, err, sizeof(err)), 0);
	CHECK_EQ(bw.pinned, 100000000000ll);
	CHECK_EQ(bw.copy, 25000000000ll);
}

static void check_bw_invalid(const char *s)
{
	struct fc_bw bw = {1, 2, 3, 4, 5};
	char err[128] = "";

	CHECK_EQ(fc_parse_bw(s, &bw, err, sizeof(err)), -1);
	CHECK(err[0] != 0);
	/* On error nothing changes, even the keys that were fine. */
	CHECK(bw.h2d == 1 && bw.d2h == 2 && bw.fault == 3 && bw.copy == 4 &&
	      bw.pinned == 5);
}

static void test_bw_invalid(void)
{
	check_bw_invalid("");
	check_bw_invalid("h2d");
	check_bw_invalid("h2d=");
	check_bw_invalid("h2d=0");
	check_bw_invalid("h2d=10G,pcie=5G");
	check_bw_invalid("h2d=10G,h2d=5G");
	check_bw_invalid("copy=25G,fault=x");
	check_bw_invalid("copy=25G,");
}

static void test_transfer_ns(void)
{
	CHECK_EQ(fc_transfer_ns(1000000000ull, 1000000000ull), 1000000000ll);
	CHECK_EQ(fc_transfer_ns(768ull << 20, 8000000000ull), 100663296ll);
	CHECK_EQ(fc_transfer_ns(1, 3000000000ull), 1); /* rounds up */
	CHECK_EQ(fc_transfer_ns(0, 1), 0);
	/* Enormous sizes saturate instead of wrapping. */
	CHECK(fc_transfer_ns(UINT64_MAX, 1) > (1ull << 62));
}

static void test_load(void)
{
	struct fc_config cfg;

	unsetenv("NVSHARE_FAKE_GPUS");
	setenv("NVSHARE_FAKE_BW", "fault=4G", 1);
	setenv("NVSHARE_FAKE_KERNEL_US", "250", 1);
	setenv("NVSHARE_FAKE_QUEUE_DEPTH", "0", 1); /* invalid: default */
	setenv("NVSHARE_FAKE_STATE", "", 1);        /* empty: unset */
	CHECK_EQ(fc_config_load(&cfg), 0);
	CHECK_EQ(cfg.ndev, 1);
	CHECK_STR(cfg.dev[0].uuid, FC_DEFAULT_UUID);
	CHECK_EQ(cfg.dev[0].capacity, 16ll << 30);
	CHECK_EQ(cfg.bw.fault, 4000000000ll);
	CHECK_EQ(cfg.kernel_ns, 250000);
	CHECK_EQ(cfg.queue_depth, FC_DEFAULT_QUEUE_DEPTH);
	CHECK_STR(cfg.state_path, "");

	setenv("NVSHARE_FAKE_BW", "fault=4G,bogus=1", 1); /* invalid: kept */
	setenv("NVSHARE_FAKE_QUEUE_DEPTH", "8", 1);
	setenv("NVSHARE_FAKE_GPUS", UUID2 ":1Gi", 1);
	CHECK_EQ(fc_config_load(&cfg), 0);
	CHECK_EQ(cfg.bw.fault, 8000000000ll);
	CHECK_EQ(cfg.queue_depth, 8);
	CHECK_STR(cfg.dev[0].uuid, UUID2);
	CHECK_EQ(cfg.dev[0].capacity, 1ll << 30);

	setenv("NVSHARE_FAKE_GPUS", UUID2 ":lots", 1);
	CHECK_EQ(fc_config_load(&cfg), -1); /* no device */
}

int main(void)
{
	setenv("NVSHARE_LOG", "error", 1);
	test_gpus_valid();
	test_gpus_invalid();
	test_bw();
	test_bw_invalid();
	test_transfer_ns();
	test_load();
	return check_summary("fakecuda_config");
}
