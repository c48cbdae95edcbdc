/*
 * config.c - parsing of the simulated driver's environment (see config.h).
 *
 * The parsers work on a private copy of the text, split it on commas and
 * validate every piece completely before writing any result, so that a bad
 * value never leaves a half-applied configuration behind.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "parse.h"

#define FC_ENV_MAX 4096 /* longest variable value accepted */

/* Splits the next comma-separated item off *cursor (modifying the text). */
static char *config_next_item(char **cursor)
{
	char *item = *cursor, *comma;

	if (!item)
		return NULL;
	comma = strchr(item, ',');
	if (comma) {
		*comma = '\0';
		*cursor = comma + 1;
	} else {
		*cursor = NULL;
	}
	return item;
}

static int config_copy(const char *s, char *buf, size_t len, char *err,
                       size_t errlen)
{
	if (!s || !*s) {
		snprintf(err, errlen, "empty value");
		return -1;
	}
	if (strlen(s) >= len) {
		snprintf(err, errlen, "value longer than %zu characters",
		         len - 1);
		return -1;
	}
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

static int config_parse_device(char *item, struct fc_devcfg *dev, char *err,
                               size_t errlen)
{
	char *colon = strrchr(item, ':');

	if (!colon) {
		snprintf(err, errlen, "\"%.60s\" is not UUID:SIZE", item);
		return -1;
	}
	*colon = '\0';
	if (strlen(item) >= NVS_UUID_SIZE || !nvs_uuid_valid(item)) {
		snprintf(err, errlen, "malformed GPU UUID \"%.60s\"", item);
		return -1;
	}
	if (nvs_parse_size(colon + 1, &dev->capacity) < 0 ||
	    dev->capacity == 0) {
		snprintf(err, errlen, "bad size \"%.30s\" for %s", colon + 1,
		         item);
		return -1;
	}
	snprintf(dev->uuid, sizeof(dev->uuid), "%s", item);
	return 0;
}

static int config_seen_uuid(const struct fc_devcfg *devs, int n,
                            const char *uuid)
{
	for (int i = 0; i < n; i++)
		if (strcasecmp(devs[i].uuid, uuid) == 0)
			return 1;
	return 0;
}

int fc_parse_gpus(const char *s, struct fc_devcfg *out, int max, int *n,
                  char *err, size_t errlen)
{
	char buf[FC_ENV_MAX], *cursor = buf, *item;
	struct fc_devcfg devs[FC_MAX_DEVICES];
	int count = 0;

	if (config_copy(s, buf, sizeof(buf), err, errlen) < 0)
		return -1;
	if (max > FC_MAX_DEVICES)
		max = FC_MAX_DEVICES;
	while ((item = config_next_item(&cursor))) {
		if (!*item) {
			snprintf(err, errlen, "empty device entry");
			return -1;
		}
		if (count == max) {
			snprintf(err, errlen, "more than %d devices", max);
			return -1;
		}
		if (config_parse_device(item, &devs[count], err, errlen) < 0)
			return -1;
		if (config_seen_uuid(devs, count, devs[count].uuid)) {
			snprintf(err, errlen, "duplicate GPU UUID %s",
			         devs[count].uuid);
			return -1;
		}
		count++;
	}
	memcpy(out, devs, sizeof(devs[0]) * (size_t)count);
	*n = count;
	return 0;
}

/* Points at the field of bw that key names, or NULL. */
static uint64_t *config_bw_field(struct fc_bw *bw, const char *key)
{
	if (strcmp(key, "h2d") == 0)
		return &bw->h2d;
	if (strcmp(key, "d2h") == 0)
		return &bw->d2h;
	if (strcmp(key, "fault") == 0)
		return &bw->fault;
	if (strcmp(key, "copy") == 0)
		return &bw->copy;
	if (strcmp(key, "pinned") == 0)
		return &bw->pinned;
	return NULL;
}

int fc_parse_bw(const char *s, struct fc_bw *bw, char *err, size_t errlen)
{
	char buf[FC_ENV_MAX], *cursor = buf, *item, *eq;
	struct fc_bw next = *bw, seen = {0};
	uint64_t *field, *seen_field, value;

	if (config_copy(s, buf, sizeof(buf), err, errlen) < 0)
		return -1;
	while ((item = config_next_item(&cursor))) {
		eq = strchr(item, '=');
		if (!eq) {
			snprintf(err, errlen, "\"%.40s\" is not key=SIZE",
			         item);
			return -1;
		}
		*eq = '\0';
		field = config_bw_field(&next, item);
		seen_field = config_bw_field(&seen, item);
		if (!field) {
			snprintf(err, errlen,
			         "unknown key \"%.20s\" (want h2d, d2h, fault, "
			         "copy, pinned)",
			         item);
			return -1;
		}
		if (*seen_field) {
			snprintf(err, errlen, "key %s given twice", item);
			return -1;
		}
		if (nvs_parse_size(eq + 1, &value) < 0 || value == 0) {
			snprintf(err, errlen, "bad bandwidth \"%.30s\" for %s",
			         eq + 1, item);
			return -1;
		}
		*field = value;
		*seen_field = 1;
	}
	*bw = next;
	return 0;
}

void fc_config_defaults(struct fc_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ndev = 1;
	snprintf(cfg->dev[0].uuid, sizeof(cfg->dev[0].uuid), "%s",
	         FC_DEFAULT_UUID);
	cfg->dev[0].capacity = FC_DEFAULT_CAPACITY;
	cfg->bw.h2d = 49000000000ull;
	cfg->bw.d2h = 9000000000ull;
	cfg->bw.fault = 8000000000ull;
	cfg->bw.copy = 25000000000ull;
	cfg->bw.pinned = 50000000000ull;
	cfg->kernel_ns = FC_DEFAULT_KERNEL_NS;
	cfg->queue_depth = FC_DEFAULT_QUEUE_DEPTH;
}

/* The variable's value, NULL when unset or empty (empty counts as unset). */
static const char *config_env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void config_load_path(const char *name, char *out, size_t len)
{
	const char *v = config_env(name);

	if (!v)
		return;
	if (strlen(v) >= len) {
		NVS_ERROR("msg=\"%s too long, ignored\"", name);
		return;
	}
	memcpy(out, v, strlen(v) + 1);
}

static void config_load_numbers(struct fc_config *cfg)
{
	const char *v;
	uint64_t x;

	v = config_env("NVSHARE_FAKE_KERNEL_US");
	if (v) {
		if (nvs_parse_u64(v, 0, 60000000ull, &x) < 0)
			NVS_ERROR("msg=\"invalid NVSHARE_FAKE_KERNEL_US, want "
			          "0..60000000 us; keeping 5\" value=\"%.30s\"",
			          v);
		else
			cfg->kernel_ns = x * 1000ull;
	}
	v = config_env("NVSHARE_FAKE_QUEUE_DEPTH");
	if (v) {
		if (nvs_parse_u64(v, 1, FC_MAX_QUEUE_DEPTH, &x) < 0)
			NVS_ERROR(
			    "msg=\"invalid NVSHARE_FAKE_QUEUE_DEPTH, want "
			    "1..%u; keeping %u\" value=\"%.30s\"",
			    FC_MAX_QUEUE_DEPTH, FC_DEFAULT_QUEUE_DEPTH, v);
		else
			cfg->queue_depth = (uint32_t)x;
	}
}

int fc_config_load(struct fc_config *cfg)
{
	char err[256];
	const char *v;

	fc_config_defaults(cfg);
	v = config_env("NVSHARE_FAKE_GPUS");
	if (v && fc_parse_gpus(v, cfg->dev, FC_MAX_DEVICES, &cfg->ndev, err,
	                       sizeof(err)) < 0) {
		NVS_ERROR("msg=\"invalid NVSHARE_FAKE_GPUS: %s; no device\"",
		          err);
		return -1;
	}
	v = config_env("NVSHARE_FAKE_BW");
	if (v && fc_parse_bw(v, &cfg->bw, err, sizeof(err)) < 0)
		NVS_ERROR("msg=\"invalid NVSHARE_FAKE_BW: %s; keeping "
		          "defaults\"",
		          err);
	config_load_numbers(cfg);
	config_load_path("NVSHARE_FAKE_STATE", cfg->state_path,
	                 sizeof(cfg->state_path));
	config_load_path("NVSHARE_FAKE_TRACE", cfg->trace_path,
	                 sizeof(cfg->trace_path));
	return 0;
}

uint64_t fc_transfer_ns(uint64_t bytes, uint64_t bw)
{
	unsigned __int128 ns;

	if (!bytes || !bw)
		return 0;
	ns = ((unsigned __int128)bytes * 1000000000u + bw - 1) / bw;
	return ns > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)ns;
}
