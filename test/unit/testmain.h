/* testmain.h - the main() of a unit-test program: runs the cmocka tests it is given.
 *
 * Header-only; include it after <cmocka.h>. Each argument is one cmocka_unit_test*()
 * entry. WL_TEST_MAIN runs them without a group set-up; WL_TEST_MAIN_GROUP runs the group
 * set-up before the first and the tear-down after the last. The program's exit status
 * is the number of failed tests (cmocka's convention).
 *
 * WL_TEST_FIXTURE(test) is the entry for a test that runs between the including file's
 * own static setup() and teardown() (a fresh fixture for each test).
 */
#ifndef WATTLET_TEST_TESTMAIN_H
#define WATTLET_TEST_TESTMAIN_H

#define WL_TEST_MAIN_GROUP(group_setup, group_teardown, ...)                           \
	int main(void)                                                                 \
	{                                                                              \
		const struct CMUnitTest wl_tests_[] = { __VA_ARGS__ };                 \
		return cmocka_run_group_tests(wl_tests_, group_setup, group_teardown); \
	}

#define WL_TEST_MAIN(...) WL_TEST_MAIN_GROUP(NULL, NULL, __VA_ARGS__)

#define WL_TEST_FIXTURE(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

#endif
