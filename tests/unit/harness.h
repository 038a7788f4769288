/*
 * Shared main() for the CUnit unit tests.
 *
 * Every tests/unit/NAME_test.c defines its suites as a NULL-terminated
 * CU_SuiteInfo array and calls sft_run() from main().  sft_run() runs them
 * verbosely and finishes with one line the test runner (tests/run.sh) reads:
 *
 *     UNIT NAME: N passed, M failed
 *
 * It returns the process exit status: 0 when every test passed.
 */
#ifndef SF_TESTS_HARNESS_H
#define SF_TESTS_HARNESS_H 1

#include <CUnit/CUnit.h>

int sft_run(const char *name, CU_SuiteInfo *suites);

/* Makes a fresh temporary directory for one test and returns its path
 * (static storage, valid until the next call).  Aborts the test binary if
 * the directory cannot be made. */
const char *sft_tmpdir(void);

#endif
