/* test_kube_quantity.c - resource.Quantity parsing (CPU requests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <math.h>

#include "agent/kube/kube_quantity.h"

static void ok(const char *s, double want)
{
	double v = -12345;
	assert_int_equal(kube_quantity_parse(s, &v), 0);
	if (fabs(v - want) > fabs(want) * 1e-12 + 1e-15)
		fail_msg("%s -> %.17g, want %.17g", s, v, want);
}

static void test_valid(void **st)
{
	(void)st;
	ok("250m", 0.25);
	ok("1", 1);
	ok("0.5", 0.5);
	ok("2k", 2000);
	ok("100u", 100e-6);
	ok("5n", 5e-9);
	ok("1.5", 1.5);
	ok(".5", 0.5);
	ok("1Ki", 1024);
	ok("128Mi", 134217728.0);
	ok("1Gi", 1073741824.0);
	ok("3M", 3e6);
	ok("1e3", 1000);
	ok("1E3", 1000);
	ok("2e-3", 0.002);
	ok("1E", 1e18);
	ok("1Ei", 1152921504606846976.0);
	ok("-1", -1);
	ok("+2", 2);
	ok("0", 0);
	ok("0m", 0);
}

static void test_invalid(void **st)
{
	static const char *bad[] = { "", " 1", "1 ", "m", "1x", "1mi", "1..2", "--1", "1e",
				     "1e+", "1Kb", "0x10", "lots", "1,5", "1.2.3", "NaN", "Inf",
				     "1K", "1ki", "e3" };
	double v = 7;
	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (kube_quantity_parse(bad[i], &v) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_true(v == 7); /* untouched */
	}
	assert_int_equal(kube_quantity_parse(NULL, &v), -EINVAL);
	assert_int_equal(kube_quantity_parse("1", NULL), -EINVAL);
	assert_int_equal(kube_quantity_parse("1e999", &v), -ERANGE);
}

static void test_cores(void **st)
{
	double v = 0;
	(void)st;
	assert_int_equal(kube_quantity_cores("250m", &v), 0);
	assert_true(v == 0.25);
	assert_int_equal(kube_quantity_cores("-100m", &v), -ERANGE);
	assert_true(v == 0.25);
	assert_int_equal(kube_quantity_cores("2", &v), 0);
	assert_true(v == 2);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_valid),
	cmocka_unit_test(test_invalid),
	cmocka_unit_test(test_cores))
