/*
 * test_fakecuda_faults.c - the simulated driver's fault injection
 * (NVSHARE_FAKE_FAIL): parsing, matching, and counting calls from many
 * threads so that exactly the Nth fails.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "faults.h"

static void test_parse_valid(void)
{
	struct fc_fault_rule r[FC_FAULT_MAX_RULES];
	char err[160];
	int n = 0;

	CHECK_EQ(fc_faults_parse("cuMemCreate:3", r, FC_FAULT_MAX_RULES, &n,
	                         err, sizeof(err)),
	         0);
	CHECK_EQ(n, 1);
	CHECK_EQ(r[0].entry, FC_FAULT_cuMemCreate);
	CHECK_EQ(r[0].call, 3);
	CHECK_EQ(r[0].onward, 0);
	CHECK_EQ(r[0].error, CUDA_ERROR_OUT_OF_MEMORY); /* the default */

	CHECK_EQ(fc_faults_parse("cuMemcpyDtoHAsync_v2:1:CUDA_ERROR_UNKNOWN,"
	                         "cuMemMap:2+,cuMemCreate:7:214,"
	                         "cuMemMap:1:CUDA_ERROR_INVALID_VALUE",
	                         r, FC_FAULT_MAX_RULES, &n, err, sizeof(err)),
	         0);
	CHECK_EQ(n, 4);
	CHECK_EQ(r[0].entry, FC_FAULT_cuMemcpyDtoHAsync_v2);
	CHECK_EQ(r[0].call, 1);
	CHECK_EQ(r[0].error, CUDA_ERROR_UNKNOWN);
	CHECK_EQ(r[1].entry, FC_FAULT_cuMemMap);
	CHECK_EQ(r[1].call, 2);
	CHECK_EQ(r[1].onward, 1);
	CHECK_EQ(r[1].error, CUDA_ERROR_OUT_OF_MEMORY);
	CHECK_EQ(r[2].error, 214); /* a code cuda_api.h does not name */
	CHECK_EQ(r[3].call, 1);
	CHECK_EQ(r[3].error, CUDA_ERROR_INVALID_VALUE);

	/* Every covered entry point parses under its own name. */
	for (int e = 0; e < FC_FAULT_NENTRIES; e++) {
		char item[96];

		snprintf(item, sizeof(item), "%s:18446744073709551615+",
		         fc_fault_entry_name(e));
		CHECK_EQ(fc_faults_parse(item, r, FC_FAULT_MAX_RULES, &n, err,
		                         sizeof(err)),
		         0);
		CHECK_EQ(r[0].entry, e);
		CHECK(r[0].call == UINT64_MAX && r[0].onward);
	}
}

static void check_invalid(const char *s)
{
	struct fc_fault_rule r[FC_FAULT_MAX_RULES];
	char err[160] = "";
	int n = 99;

	r[0].entry = -7;
	CHECK_EQ(
	    fc_faults_parse(s, r, FC_FAULT_MAX_RULES, &n, err, sizeof(err)),
	    -1);
	CHECK_EQ(n, 99); /* nothing written */
	CHECK_EQ(r[0].entry, -7);
	CHECK(err[0] != 0); /* with a reason */
}

static void test_parse_invalid(void)
{
	char many[4096] = "";

	check_invalid("");
	check_invalid("cuMemCreate");     /* no N */
	check_invalid("cuMemCreate:");    /* empty N */
	check_invalid("cuMemCreate:0");   /* calls count from 1 */
	check_invalid("cuMemCreate:-1");  /* negative */
	check_invalid("cuMemCreate:x");   /* not a number */
	check_invalid("cuMemCreate:3x");  /* trailing garbage */
	check_invalid("cuMemCreate:+");   /* onward from nothing */
	check_invalid("cuMemCreate:3++"); /* one + only */
	check_invalid("cuMemCreate: 3");  /* stray space */
	check_invalid("cuMemCreate:18446744073709551616"); /* overflow */
	check_invalid("cuMemcreate:1");                    /* names are exact */
	check_invalid("cuMemAlloc:1");     /* the export is cuMemAlloc_v2 */
	check_invalid("cuLaunchKernel:1"); /* not covered */
	check_invalid(":1");
	check_invalid("cuMemCreate:1:");             /* empty error */
	check_invalid("cuMemCreate:1:CUDA_SUCCESS"); /* not a failure */
	check_invalid("cuMemCreate:1:0");
	check_invalid("cuMemCreate:1:CUDA_ERROR_NOPE");
	check_invalid("cuMemCreate:1:cuda_error_unknown");
	check_invalid("cuMemCreate:1:100001"); /* beyond any CUresult */
	check_invalid("cuMemCreate:1:CUDA_ERROR_UNKNOWN:x"); /* extra field */
	check_invalid("cuMemCreate:1,"); /* trailing comma */
	check_invalid("cuMemCreate:1,,cuMemMap:1");
	check_invalid("cuMemCreate:2,cuMemCreate:2+"); /* same call twice */
	for (int i = 0; i <= FC_FAULT_MAX_RULES; i++) {
		char item[32];

		snprintf(item, sizeof(item), "%scuMemMap:%d", i ? "," : "",
		         i + 1);
		strcat(many, item);
	}
	check_invalid(many); /* 17 rules */
	memset(many, 'x', sizeof(many) - 1);
	many[sizeof(many) - 1] = '\0';
	check_invalid(many); /* too long */
}

static void test_match(void)
{
	struct fc_fault_rule r[FC_FAULT_MAX_RULES];
	char err[160];
	int n = 0;

	CHECK_EQ(fc_faults_parse("cuMemCreate:3,cuMemMap:2+:CUDA_ERROR_UNKNOWN,"
	                         "cuMemMap:1:CUDA_ERROR_INVALID_VALUE",
	                         r, FC_FAULT_MAX_RULES, &n, err, sizeof(err)),
	         0);
	CHECK_EQ(fc_faults_match(r, n, FC_FAULT_cuMemCreate, 1), CUDA_SUCCESS);
	CHECK_EQ(fc_faults_match(r, n, FC_FAULT_cuMemCreate, 2), CUDA_SUCCESS);
	CHECK_EQ(fc_faults_match(r, n, FC_FAULT_cuMemCreate, 3),
	         CUDA_ERROR_OUT_OF_MEMORY);
	CHECK_EQ(fc_faults_match(r, n, FC_FAULT_cuMemCreate, 4), CUDA_SUCCESS);
	CHECK_EQ(fc_faults_match(r, n, FC_FAULT_cuMemMap, 1),
	         CUDA_ERROR_INVALID_VALUE);
	CHECK_EQ(fc_faults_match(r, n, FC_FAULT_cuMemMap, 2),
	         CUDA_ERROR_UNKNOWN);
	CHECK_EQ(fc_faults_match(r, n, FC_FAULT_cuMemMap, 1000000),
	         CUDA_ERROR_UNKNOWN);
	CHECK_EQ(fc_faults_match(r, n, FC_FAULT_cuMemSetAccess, 3),
	         CUDA_SUCCESS);
	CHECK_EQ(fc_faults_match(r, 0, FC_FAULT_cuMemCreate, 3), CUDA_SUCCESS);
}

#define THREADS 8
#define CALLS 20000

struct worker {
	int failed_sync;   /* cuStreamSynchronize calls that failed */
	int failed_create; /* cuMemCreate calls that failed */
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < CALLS; i++) {
		w->failed_sync +=
		    fc_fault(FC_FAULT_cuStreamSynchronize) != CUDA_SUCCESS;
		w->failed_create +=
		    fc_fault(FC_FAULT_cuMemCreate) == CUDA_ERROR_UNKNOWN;
	}
	return NULL;
}

/* Many threads: exactly the Nth call fails, and from N+ on every one. */
static void test_threads(void)
{
	struct worker w[THREADS] = {0};
	pthread_t t[THREADS];
	int sync = 0, create = 0;

	CHECK_EQ(fc_faults_install("cuStreamSynchronize:77777,"
	                           "cuMemCreate:100001+:CUDA_ERROR_UNKNOWN"),
	         0);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker_run, &w[i]);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		sync += w[i].failed_sync;
		create += w[i].failed_create;
	}
	CHECK_EQ(sync, 1);
	CHECK_EQ(create, THREADS * CALLS - 100000);
	CHECK_EQ(fc_fault_calls(FC_FAULT_cuStreamSynchronize), THREADS * CALLS);
	CHECK_EQ(fc_fault_calls(FC_FAULT_cuMemCreate), THREADS * CALLS);
	CHECK_EQ(fc_fault_calls(FC_FAULT_cuMemMap), 0);
}

/* A bad value installs nothing (and says so); a new value restarts the
 * counts; the environment is read at the first call when nothing was
 * installed. */
static void test_install(void)
{
	CHECK_EQ(fc_faults_install("cuMemMap:1:CUDA_ERROR_NOPE"), -1);
	CHECK_EQ(fc_fault(FC_FAULT_cuMemMap), CUDA_SUCCESS);
	CHECK_EQ(fc_faults_install("cuMemMap:2"), 0);
	CHECK_EQ(fc_fault_calls(FC_FAULT_cuMemMap), 0);
	CHECK_EQ(fc_fault(FC_FAULT_cuMemMap), CUDA_SUCCESS);
	CHECK_EQ(fc_fault(FC_FAULT_cuMemMap), CUDA_ERROR_OUT_OF_MEMORY);
	CHECK_EQ(fc_fault(FC_FAULT_cuMemMap), CUDA_SUCCESS);
	CHECK_EQ(fc_faults_install(NULL), 0);
	CHECK_EQ(fc_fault(FC_FAULT_cuMemMap), CUDA_SUCCESS);
	CHECK_EQ(fc_fault(FC_FAULT_cuMemMap), CUDA_SUCCESS);
	CHECK_EQ(fc_fault_calls(FC_FAULT_cuMemMap), 2);
}

int main(void)
{
	/* Before anything is installed: the environment, read once. */
	setenv("NVSHARE_FAKE_FAIL", "cuMemSetAccess:2:CUDA_ERROR_UNKNOWN", 1);
	CHECK_EQ(fc_fault(FC_FAULT_cuMemSetAccess), CUDA_SUCCESS);
	CHECK_EQ(fc_fault(FC_FAULT_cuMemSetAccess), CUDA_ERROR_UNKNOWN);
	setenv("NVSHARE_FAKE_FAIL", "cuMemSetAccess:3", 1);
	CHECK_EQ(fc_fault(FC_FAULT_cuMemSetAccess), CUDA_SUCCESS);
	test_parse_valid();
	test_parse_invalid();
	test_match();
	test_threads();
	test_install();
	return check_summary("test_fakecuda_faults");
}
