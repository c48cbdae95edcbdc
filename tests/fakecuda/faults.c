/*
 * faults.c - fault injection (see faults.h).
 *
 * The rules are parsed once and never change while calls run, so the
 * matcher reads them without a lock; only the per-entry call counts are
 * shared, and each call takes its number from one atomic increment.
 */
#include "faults.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "parse.h"

#define FC_FAULTS_ENV_MAX 4096     /* longest value accepted */
#define FC_FAULTS_ERROR_MAX 100000 /* largest error given by number */

#define FC_FAULT_NAME(name) #name,
static const char *const entry_names[FC_FAULT_NENTRIES] = {
    FC_FAULT_ENTRIES(FC_FAULT_NAME)};
#undef FC_FAULT_NAME

struct fault_error {
	CUresult code;
	const char *name;
};

#define FC_FAULT_ERROR(name, value) {name, #name},
static const struct fault_error errors[] = {NVS_CU_RESULTS(FC_FAULT_ERROR)};
#undef FC_FAULT_ERROR

static struct {
	pthread_mutex_t mu; /* serialises loading */
	int loaded;         /* rules in place (atomic) */
	int n;              /* rules */
	struct fc_fault_rule rules[FC_FAULT_MAX_RULES];
	uint64_t calls[FC_FAULT_NENTRIES]; /* atomic */
} ft = {.mu = PTHREAD_MUTEX_INITIALIZER};

const char *fc_fault_entry_name(int entry)
{
	return entry >= 0 && entry < FC_FAULT_NENTRIES ? entry_names[entry]
	                                               : "?";
}

static int entry_of(const char *name)
{
	for (int i = 0; i < FC_FAULT_NENTRIES; i++)
		if (strcmp(entry_names[i], name) == 0)
			return i;
	return -1;
}

static const char *error_name(CUresult r)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == r)
			return errors[i].name;
	return NULL;
}

/* An error by name, or by number for codes cuda_api.h does not list. */
static int parse_error(const char *s, CUresult *out)
{
	uint64_t v;

	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		if (strcmp(errors[i].name, s) == 0) {
			*out = errors[i].code;
			return errors[i].code == CUDA_SUCCESS ? -1 : 0;
		}
	}
	if (nvs_parse_u64(s, 1, FC_FAULTS_ERROR_MAX, &v) < 0)
		return -1;
	*out = (CUresult)v;
	return 0;
}

/* "entry:N[+][:error]" into *r (item is modified). */
static int parse_rule(char *item, struct fc_fault_rule *r, char *err,
                      size_t errlen)
{
	char *count = strchr(item, ':'), *error, *end;

	if (!count) {
		snprintf(err, errlen, "\"%.60s\" is not entry:N[+][:error]",
		         item);
		return -1;
	}
	*count++ = '\0';
	error = strchr(count, ':');
	if (error)
		*error++ = '\0';
	r->entry = entry_of(item);
	if (r->entry < 0) {
		snprintf(err, errlen,
		         "\"%.60s\" is not an entry point faults can be "
		         "injected into",
		         item);
		return -1;
	}
	end = count + strlen(count);
	r->onward = end > count && end[-1] == '+';
	if (r->onward)
		end[-1] = '\0';
	if (nvs_parse_u64(count, 1, UINT64_MAX, &r->call) < 0) {
		snprintf(err, errlen,
		         "bad call number \"%.30s\" for %s (want 1, 2, ... "
		         "or N+)",
		         count, item);
		return -1;
	}
	r->error = CUDA_ERROR_OUT_OF_MEMORY;
	if (error && parse_error(error, &r->error) < 0) {
		snprintf(err, errlen,
		         "bad error \"%.60s\" for %s (want a CUDA_ERROR_ "
		         "name or 1..%d)",
		         error, item, FC_FAULTS_ERROR_MAX);
		return -1;
	}
	return 0;
}

int fc_faults_parse(const char *s, struct fc_fault_rule *out, int max, int *n,
                    char *err, size_t errlen)
{
	char buf[FC_FAULTS_ENV_MAX], *cursor = buf, *item, *comma;
	struct fc_fault_rule rules[FC_FAULT_MAX_RULES];
	int count = 0;

	if (!s || !*s) {
		snprintf(err, errlen, "empty value");
		return -1;
	}
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "value longer than %zu characters",
		         sizeof(buf) - 1);
		return -1;
	}
	memcpy(buf, s, strlen(s) + 1);
	if (max > FC_FAULT_MAX_RULES)
		max = FC_FAULT_MAX_RULES;
	while ((item = cursor)) {
		comma = strchr(item, ',');
		cursor = comma ? comma + 1 : NULL;
		if (comma)
			*comma = '\0';
		if (!*item) {
			snprintf(err, errlen, "empty item");
			return -1;
		}
		if (count == max) {
			snprintf(err, errlen, "more than %d items", max);
			return -1;
		}
		if (parse_rule(item, &rules[count], err, errlen) < 0)
			return -1;
		for (int i = 0; i < count; i++) {
			if (rules[i].entry == rules[count].entry &&
			    rules[i].call == rules[count].call) {
				snprintf(err, errlen, "%s:%llu given twice",
				         item,
				         (unsigned long long)rules[i].call);
				return -1;
			}
		}
		count++;
	}
	memcpy(out, rules, sizeof(rules[0]) * (size_t)count);
	*n = count;
	return 0;
}

CUresult fc_faults_match(const struct fc_fault_rule *rules, int n, int entry,
                         uint64_t call)
{
	for (int i = 0; i < n; i++) {
		const struct fc_fault_rule *r = &rules[i];

		if (r->entry == entry &&
		    (call == r->call || (r->onward && call > r->call)))
			return r->error;
	}
	return CUDA_SUCCESS;
}

/* ft.mu held. */
static int install_locked(const char *s)
{
	struct fc_fault_rule rules[FC_FAULT_MAX_RULES];
	char err[256];
	int n = 0, rc = 0;

	if (s && *s &&
	    fc_faults_parse(s, rules, FC_FAULT_MAX_RULES, &n, err,
	                    sizeof(err)) < 0) {
		NVS_ERROR("msg=\"fakecuda: invalid NVSHARE_FAKE_FAIL: %s; no "
		          "fault injected\"",
		          err);
		n = 0;
		rc = -1;
	}
	memcpy(ft.rules, rules, sizeof(rules[0]) * (size_t)n);
	ft.n = n;
	for (int i = 0; i < FC_FAULT_NENTRIES; i++)
		__atomic_store_n(&ft.calls[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ft.loaded, 1, __ATOMIC_RELEASE);
	return rc;
}

int fc_faults_install(const char *s)
{
	int rc;

	pthread_mutex_lock(&ft.mu);
	rc = install_locked(s);
	pthread_mutex_unlock(&ft.mu);
	return rc;
}

static void faults_load(void)
{
	if (__atomic_load_n(&ft.loaded, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&ft.mu);
	if (!ft.loaded)
		install_locked(getenv("NVSHARE_FAKE_FAIL"));
	pthread_mutex_unlock(&ft.mu);
}

CUresult fc_fault(enum fc_fault_entry entry)
{
	uint64_t call;
	CUresult r;
	const char *name;
	char num[16];

	faults_load();
	call = __atomic_add_fetch(&ft.calls[entry], 1, __ATOMIC_RELAXED);
	if (!ft.n)
		return CUDA_SUCCESS;
	r = fc_faults_match(ft.rules, ft.n, entry, call);
	if (r == CUDA_SUCCESS)
		return r;
	/* Logged at the call a rule names (N+ rules: not every later one). */
	for (int i = 0; i < ft.n; i++) {
		if (ft.rules[i].entry != (int)entry || ft.rules[i].call != call)
			continue;
		name = error_name(r);
		if (!name) {
			snprintf(num, sizeof(num), "%d", (int)r);
			name = num;
		}
		NVS_WARN("event=fault_injected entry=%s call=%llu error=%s",
		         entry_names[entry], (unsigned long long)call, name);
		break;
	}
	return r;
}

uint64_t fc_fault_calls(enum fc_fault_entry entry)
{
	return __atomic_load_n(&ft.calls[entry], __ATOMIC_RELAXED);
}
