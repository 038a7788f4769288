/*
 * Shared runner for the CUnit unit tests: see harness.h.
 */
#include "tests/unit/harness.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
sft_run(const char *name, CU_SuiteInfo *suites)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "%s: CUnit registry: %s\n", name, CU_get_error_msg());
        return 2;
    }
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        fprintf(stderr, "%s: CUnit suites: %s\n", name, CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();

    unsigned int run = CU_get_number_of_tests_run();
    unsigned int tests_failed = CU_get_number_of_tests_failed();
    unsigned int suites_failed = CU_get_number_of_suites_failed();
    CU_cleanup_registry();

    /* A suite whose set-up failed ran none of its tests: count it as one
     * failure so that it cannot pass silently. */
    unsigned int passed = run - tests_failed;
    unsigned int failed = tests_failed + suites_failed;
    printf("\nUNIT %s: %u passed, %u failed\n", name, passed, failed);
    return failed || !run ? 1 : 0;
}

const char *
sft_tmpdir(void)
{
    static char path[64];

    snprintf(path, sizeof path, "/tmp/sft-XXXXXX");
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        exit(2);
    }
    return path;
}
